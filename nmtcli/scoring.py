"""Corpus-level BLEU, chrF and TER through the sacrebleu library, formatted as sacrebleu does.

`format_scores` reproduces the `sacrebleu` command's single-system output (`-f text` and the
default JSON), so `nmtcli bleu` prints the same scores and signatures for the same inputs.
Pure: no I/O. Does not import torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nmtcli.corpus import STDIN, read_lines
from nmtcli.errors import ConfigError, NmtError

METRICS = ("bleu", "chrf", "ter")
BLEU_TOKENIZERS = ("none", "zh", "13a", "char", "intl", "ja-mecab", "ko-mecab", "spm", "flores101")


@dataclass(frozen=True)
class ScoreOptions:
    """Which metrics to compute and how, with the same meaning as the `sacrebleu` options."""

    metrics: tuple[str, ...] = ("bleu",)
    tokenize: str | None = None  # BLEU tokenizer; None is sacrebleu's default (13a)
    lowercase: bool = False  # applies to BLEU and chrF, as in sacrebleu
    width: int = 1  # decimals
    score_only: bool = False

    def __post_init__(self) -> None:
        unknown = [name for name in self.metrics if name not in METRICS]
        if unknown:
            raise ConfigError(f"unknown metric {unknown[0]!r}; choose from bleu, chrf, ter")
        if self.tokenize is not None and self.tokenize not in BLEU_TOKENIZERS:
            raise ConfigError(f"--tokenize: unknown tokenizer {self.tokenize!r}")


@dataclass(frozen=True)
class MetricResult:
    """One metric's corpus score with its sacrebleu signature."""

    name: str  # sacrebleu's name: BLEU, chrF2, TER
    score: float
    signature: str
    text: str  # the line sacrebleu prints with -f text
    json: str  # the object sacrebleu prints by default


def _make_metric(name: str, options: ScoreOptions, references: list[list[str]]) -> Any:
    """Build a sacrebleu metric object configured like the `sacrebleu` command would."""
    from sacrebleu.metrics import BLEU, CHRF, TER

    if name == "bleu":
        try:
            return BLEU(
                lowercase=options.lowercase, tokenize=options.tokenize, references=references
            )
        except (ImportError, RuntimeError, OSError) as error:
            raise NmtError(_tokenizer_problem(options.tokenize, error)) from None
    if name == "chrf":
        return CHRF(lowercase=options.lowercase, references=references)
    if name == "ter":
        return TER(references=references)
    raise NmtError(f"unknown metric {name!r}: choose from {', '.join(METRICS)}")


def _tokenizer_problem(tokenize: str | None, error: Exception) -> str:
    """One line on why a sacrebleu tokenizer cannot run (a missing extra, no network)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    install = next((line for line in lines if line.startswith("pip install")), None)
    if install:
        return f"the {tokenize} BLEU tokenizer needs an extra package: {install}"
    reason = lines[0] if lines else type(error).__name__
    return f"the {tokenize} BLEU tokenizer cannot start ({reason}; it downloads its model)"


def corpus_scores(
    hypotheses: list[str], references: list[list[str]], options: ScoreOptions
) -> list[MetricResult]:
    """Score hypotheses against one or more reference sets, each a list aligned with them."""
    if not hypotheses:
        raise NmtError("no hypotheses to score (empty input)")
    results = []
    for name in sorted(set(options.metrics), key=str.upper):  # sacrebleu's order
        metric = _make_metric(name, options, references)
        score = metric.corpus_score(hypotheses, None)
        text_signature = metric.get_signature().format(False)
        results.append(
            MetricResult(
                name=score.name,
                score=score.score,
                signature=text_signature,
                text=score.format(options.width, options.score_only, text_signature, False),
                json=score.format(options.width, options.score_only, text_signature, True),
            )
        )
    return results


def format_scores(results: list[MetricResult], as_json: bool, score_only: bool) -> str:
    """Render results exactly as the `sacrebleu` command does for one system."""
    if as_json:
        lines = [r.json for r in results]
        return lines[0] if len(lines) == 1 else "[\n" + ",\n".join(lines) + "\n]"
    lines = [r.text for r in results]
    if score_only or len(lines) == 1:
        return "\n".join(lines)
    # sacrebleu right-aligns the metric names so that the '=' signs line up.
    offsets = [line.index("=") - 1 for line in lines]
    width = max(offsets)
    return "\n".join(f"{line[:at]:>{width}}{line[at:]}" for at, line in zip(offsets, lines))


def read_scoring_lines(path: str) -> list[str]:
    """Lines as sacrebleu reads them: trailing whitespace removed, a byte-order mark kept."""
    return [line.rstrip() for line in read_lines(path, strip_bom=False)]


def read_for_scoring(hypotheses: str, references: list[str]) -> tuple[list[str], list[list[str]]]:
    """Hypotheses and each reference set, which must have as many lines as the hypotheses."""
    hypothesis_lines = read_scoring_lines(hypotheses)
    reference_sets = [read_scoring_lines(path) for path in references]
    source = "stdin" if hypotheses == STDIN else hypotheses
    for path, lines in zip(references, reference_sets):
        if len(lines) != len(hypothesis_lines):
            raise NmtError(
                f"{path} has {len(lines)} lines but {source} has {len(hypothesis_lines)} hypotheses"
            )
    return hypothesis_lines, reference_sets
