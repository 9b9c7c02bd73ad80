"""Evaluation of translations against references: scores, failure modes, buckets, categories.

Pure: takes lists of strings (a robustness set: its raw lines), returns numbers. Words are
whitespace-separated tokens.

- BLEU and chrF: sacreBLEU corpus scores with default settings (signatures kept).
- exact match: share of hypotheses identical to their reference.
- length ratio: total hypothesis words / total reference words.
- repetition: share of hypotheses in which some n-gram (2 ≤ n ≤ 4) occurs at least twice and
  more often than in the reference (a repetition the reference does not justify).
- too short / too long: share of hypotheses with fewer than 0.8× / more than 1.2× the
  reference's words.
- kept verbatim: share of the must-copy spans (numbers, names, symbols; `verbatim.py` has the
  rule) that occur verbatim in their hypothesis; None when the set has no such span.
- degenerate: number of hypotheses that run away, in a way the reference does not justify:
  the same character 6+ times in a row, the same 2–6 characters 4+ times in a row (`lalalala`),
  the same word 4+ times in a row, unless the reference has that run too; or more than 3× the
  source's words.

A robustness set is a TSV whose first line is `category<TAB>source<TAB>reference`; its scores
are also given per category (`with_categories`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from nmtcli.corpus import (
    CorpusSpec,
    SkipReport,
    decode_line,
    display_name,
    read_lines,
    read_pairs,
    read_raw_lines,
)
from nmtcli.errors import ConfigError, CorpusError
from nmtcli.records import EvaluationRecord
from nmtcli.verbatim import kept_spans

SHORT, LONG = 0.8, 1.2
NGRAM_RANGE = (2, 4)
RUNAWAY = 3  # more than this many times the source's words is degenerate
# The same character 6+ times, the same 2–6 characters 4+ times, the same word 4+ times, in a row.
_RUNS = re.compile(r"(\S)\1{5,}|(\S{2,6}?)\2{3,}|(?<!\S)(\S+)(?:\s+\3(?!\S)){3,}")
CATEGORY_HEADER = ("category", "source", "reference")


@dataclass(frozen=True)
class Scores:
    """Metrics of one set of sentences."""

    sentences: int
    bleu: float
    chrf: float
    exact_match: float
    length_ratio: float
    repetition: float
    too_short: float
    too_long: float
    kept_verbatim: float | None  # None when no pair has a must-copy span
    verbatim_spans: int
    degenerate: int  # a count, not a share

    def as_dict(self) -> dict[str, float | None]:
        """JSON-ready, rounded."""
        return {
            key: round(value, 4) if isinstance(value, float) else value
            for key, value in asdict(self).items()
        }


@dataclass(frozen=True)
class Bucket:
    """A source-length bucket and its scores."""

    label: str
    low: int
    high: int | None  # inclusive; None is open-ended
    scores: Scores


@dataclass(frozen=True)
class Category:
    """A category of a robustness set and its scores."""

    name: str
    scores: Scores


@dataclass(frozen=True)
class Report:
    """Scores for a whole test set, per source-length bucket, and per category when asked."""

    overall: Scores
    buckets: list[Bucket]
    bleu_signature: str
    chrf_signature: str
    categories: list[Category] = field(default_factory=list)


@dataclass(frozen=True)
class CategorisedSet:
    """A robustness set: aligned categories, sources and references."""

    categories: list[str]
    sources: list[str]
    references: list[str]


def _ngrams(words: list[str], n: int) -> Counter[tuple[str, ...]]:
    """Counts of the n-grams of a word list."""
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def has_unjustified_repetition(hypothesis: str, reference: str) -> bool:
    """Whether the hypothesis repeats an n-gram (2 ≤ n ≤ 4) more often than the reference does."""
    hyp, ref = hypothesis.split(), reference.split()
    for n in range(NGRAM_RANGE[0], NGRAM_RANGE[1] + 1):
        reference_counts = _ngrams(ref, n)
        for gram, count in _ngrams(hyp, n).items():
            if count >= 2 and count > reference_counts[gram]:
                return True
    return False


def is_degenerate(hypothesis: str, source: str, reference: str) -> bool:
    """Whether a hypothesis runs away: a run (`_RUNS`) its reference lacks, or is too long."""
    if len(hypothesis.split()) > RUNAWAY * max(len(source.split()), 1):
        return True
    return any(run.group(0) not in reference for run in _RUNS.finditer(hypothesis))


def score_set(
    sources: list[str], hypotheses: list[str], references: list[str]
) -> tuple[Scores, str, str]:
    """Scores of aligned sources, hypotheses and references, with the BLEU and chrF signatures."""
    from sacrebleu.metrics import BLEU, CHRF

    count = len(hypotheses)
    if count == 0:
        return Scores(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, None, 0, 0), "", ""
    bleu, chrf = BLEU(), CHRF()
    bleu_score = bleu.corpus_score(hypotheses, [references]).score
    chrf_score = chrf.corpus_score(hypotheses, [references]).score
    hyp_lengths = [len(h.split()) for h in hypotheses]
    ref_lengths = [len(r.split()) for r in references]
    triples = list(zip(sources, hypotheses, references))
    verbatim = [kept_spans(s, r, h) for s, h, r in triples]  # (kept, spans) per pair
    kept, spans = sum(k for k, _ in verbatim), sum(n for _, n in verbatim)
    scores = Scores(
        sentences=count,
        bleu=bleu_score,
        chrf=chrf_score,
        exact_match=sum(h.strip() == r.strip() for h, r in zip(hypotheses, references)) / count,
        length_ratio=sum(hyp_lengths) / max(sum(ref_lengths), 1),
        repetition=sum(has_unjustified_repetition(h, r) for h, r in zip(hypotheses, references))
        / count,
        too_short=sum(h < SHORT * r for h, r in zip(hyp_lengths, ref_lengths)) / count,
        too_long=sum(h > LONG * r for h, r in zip(hyp_lengths, ref_lengths)) / count,
        kept_verbatim=kept / spans if spans else None,
        verbatim_spans=spans,
        degenerate=sum(is_degenerate(h, s, r) for s, h, r in triples),
    )
    return scores, bleu.get_signature().format(), chrf.get_signature().format()


def bucket_edges(width: int, last: int) -> list[tuple[int, int | None]]:
    """[(1, w), (w+1, 2w), …, (last+1, None)] source-length ranges (in words)."""
    edges: list[tuple[int, int | None]] = [
        (low, low + width - 1) for low in range(1, last + 1, width)
    ]
    edges.append((edges[-1][1] + 1 if edges else 1, None))  # type: ignore[operator]
    return edges


def _label(low: int, high: int | None) -> str:
    """`1–10` or `61+`."""
    return f"{low}+" if high is None else f"{low}–{high}"


def evaluate(
    sources: list[str],
    hypotheses: list[str],
    references: list[str],
    width: int = 10,
    last: int = 60,
) -> Report:
    """Overall scores and scores per source-length bucket (empty buckets left out)."""
    overall, bleu_signature, chrf_signature = score_set(sources, hypotheses, references)
    lengths = [len(s.split()) for s in sources]
    buckets = []
    for low, high in bucket_edges(width, last):
        members = [i for i, n in enumerate(lengths) if n >= low and (high is None or n <= high)]
        if members:
            scores = _subset_scores(members, sources, hypotheses, references)
            buckets.append(Bucket(_label(low, high), low, high, scores))
    return Report(overall, buckets, bleu_signature, chrf_signature)


def _subset_scores(
    members: list[int], sources: list[str], hypotheses: list[str], references: list[str]
) -> Scores:
    """Scores of the pairs at indices `members`."""
    picked = ([texts[i] for i in members] for texts in (sources, hypotheses, references))
    return score_set(*picked)[0]


def with_categories(
    report: Report,
    categories: list[str],
    sources: list[str],
    hypotheses: list[str],
    references: list[str],
) -> Report:
    """`report` with the scores of each category added, in order of first appearance."""
    members: dict[str, list[int]] = {}
    for index, name in enumerate(categories):
        members.setdefault(name, []).append(index)
    rows = [
        Category(name, _subset_scores(indices, sources, hypotheses, references))
        for name, indices in members.items()
    ]
    return replace(report, categories=rows)


def has_category_header(line: str) -> bool:
    """Whether `line` is a robustness set's header, `category<TAB>source<TAB>reference`."""
    return tuple(column.strip().lower() for column in line.split("\t")) == CATEGORY_HEADER


def categorised_set(
    name: str, lines: Iterable[tuple[int, bytes]], report: SkipReport | None = None
) -> CategorisedSet:
    """Parse a robustness set from its numbered raw lines (`corpus.read_raw_lines(name)`).

    Blank lines are ignored. Raises `CorpusError` naming the file and line: no header, a line
    without exactly three tab-separated columns, an empty column, invalid UTF-8. With `report`,
    bad lines after the header are counted there and skipped instead.
    """
    where, numbered = display_name(name), iter(lines)
    first = next(numbered, None)
    if first is None or not has_category_header(decode_line(name, *first)):
        header = "<TAB>".join(CATEGORY_HEADER)
        raise CorpusError(f"{where}:1: a robustness set starts with the header line `{header}`")
    result = CategorisedSet([], [], [])
    for number, raw in numbered:
        try:
            columns = _category_columns(decode_line(name, number, raw), where, number)
        except CorpusError as error:
            if report is None:
                raise
            report.add(str(error))
            continue
        for values, value in zip((result.categories, result.sources, result.references), columns):
            values.append(value)
    if not result.sources:
        raise CorpusError(f"{where}: no sentence pairs after the header")
    return result


def read_test_set(
    spec: CorpusSpec, report: SkipReport | None, by_category: bool
) -> tuple[list[str], list[str], list[str]]:
    """Sources, references and categories (of a TSV with the robustness header, else empty).

    A TSV whose first line is the robustness header is read as a categorised set; asking for
    categories of anything else is a `CorpusError`.
    """
    test = spec.tsv
    if test and (by_category or (test != "-" and has_category_header(next(read_lines(test), "")))):
        found = categorised_set(test, read_raw_lines(test), report)
        return found.sources, found.references, found.categories
    if by_category:
        raise CorpusError("--by-category needs a TSV test set: category<TAB>source<TAB>reference")
    pairs = list(read_pairs(spec, report))
    return [s for s, _ in pairs], [t for _, t in pairs], []


def _category_columns(line: str, where: str, number: int) -> list[str]:
    """The stripped (category, source, reference) of one line; none for a blank line."""
    if not line.strip():
        return []
    columns = [column.strip() for column in line.split("\t")]
    if len(columns) != len(CATEGORY_HEADER):
        raise CorpusError(
            f"{where}:{number}: {len(columns)} tab-separated columns, expected 3 "
            "(category, source, reference)"
        )
    for label, column in zip(CATEGORY_HEADER, columns):
        if not column:
            raise CorpusError(f"{where}:{number}: empty {label}")
    return columns


def report_dict(report: Report, buckets: bool = True) -> dict:
    """JSON-ready form of a report (categories only when it has them)."""
    payload: dict = {"overall": report.overall.as_dict()}
    if buckets:
        payload["buckets"] = [
            {"label": b.label, "low": b.low, "high": b.high, **b.scores.as_dict()}
            for b in report.buckets
        ]
    if report.categories:
        payload["categories"] = [
            {"category": c.name, **c.scores.as_dict()} for c in report.categories
        ]
    return payload | {
        "bleu_signature": report.bleu_signature,
        "chrf_signature": report.chrf_signature,
    }


def bucket_labels(reports: list[Report]) -> list[str]:
    """Every bucket label of some report, in length order."""
    seen = {b.label: b.low for report in reports for b in report.buckets}
    return sorted(seen, key=seen.__getitem__)


def bucket_values(report: Report, labels: list[str], metric: str) -> list[float | None]:
    """The metric per bucket label (None for an empty bucket)."""
    by_label = {b.label: getattr(b.scores, metric) for b in report.buckets}
    return [by_label.get(label) for label in labels]


def evaluation_record(test: str, report: Report, decoding: str) -> EvaluationRecord:
    """The record `evaluate --record` keeps in a model directory."""
    if not test.strip():
        raise ConfigError("--record needs a name for the test set (for example --record newstest)")
    overall = report.overall
    return EvaluationRecord(
        test=test,
        bleu=round(overall.bleu, 2),
        chrf=round(overall.chrf, 2),
        sentences=overall.sentences,
        decoding=decoding,
        signature=report.bleu_signature,
        chrf_signature=report.chrf_signature,
        kept_verbatim=None if overall.kept_verbatim is None else round(overall.kept_verbatim, 4),
        degenerate=overall.degenerate,
        categories={c.name: c.scores.as_dict() for c in report.categories} or None,
    )


def model_labels(models: list[Path]) -> list[str]:
    """Short unique names for models compared (directory names, or paths if those collide)."""
    names = [path.resolve().name for path in models]
    return names if len(set(names)) == len(names) else [str(path) for path in models]
