"""Model cards: a pure renderer of what a model directory holds, as Markdown.

`ModelDir.summary()` gathers the typed pieces (run configuration, parameter tree, validation
records, recorded test scores, free-text notes); this module only turns them into text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nmtcli.models.base import ParamNode
    from nmtcli.records import EvaluationRecord, ValidationRecord
    from nmtcli.runconfig import RunConfig


@dataclass
class ModelSummary:
    """Everything a model card shows."""

    name: str
    run: RunConfig
    parameters: ParamNode
    last: ValidationRecord | None  # the latest validation
    best: ValidationRecord | None
    evaluations: list[EvaluationRecord] = field(default_factory=list)
    notes: str = ""
    problem: str | None = None  # why the model has not learned, if its validations say so

    def to_dict(self) -> dict[str, Any]:
        """What `nmtcli info --format json` prints."""
        return {
            "name": self.name,
            "parameters": self.parameters.count,
            "config": self.run.to_dict(),
            "training": self.last.to_dict() if self.last else {},
            "best": self.best.to_dict() if self.best else None,
            "evaluations": [row.to_dict() for row in self.evaluations],
            "warning": self.problem,
        }


def format_hours(seconds: float) -> str:
    """`1 h 05 min` or `12 min` or `40 s`."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"


def vocabulary_line(summary: ModelSummary) -> str:
    """`joint SentencePiece, 8,000 / 8,000 pieces`."""
    vocab = summary.run.vocab
    kind = "joint" if vocab.joint else "separate"
    return f"{kind} SentencePiece, {vocab.src:,} / {vocab.tgt:,} pieces"


def training_line(record: ValidationRecord) -> str:
    """`3,804 steps, 9.3 epochs, 2 h 40 min`."""
    return f"{record.step:,} steps, {record.epoch:.1f} epochs, {format_hours(record.train_seconds)}"


def _tree_lines(node: ParamNode, depth: int, max_depth: int) -> list[str]:
    """Markdown bullet lines of the parameter tree."""
    lines = [f"{'  ' * depth}- `{node.name}` ({node.kind}): {node.count:,}"]
    if depth < max_depth:
        for child in node.children:
            lines += _tree_lines(child, depth + 1, max_depth)
    return lines


def card_markdown(summary: ModelSummary) -> str:
    """The model card as Markdown (written to MODEL_CARD.md)."""
    run = summary.run
    lines = [f"# {summary.name}", "", f"Trained with nmtcli {run.nmtcli_version}.", ""]
    lines += [
        "## Architecture",
        "",
        run.model.describe(),
        "",
        f"Parameters: {summary.parameters.count:,}",
        "",
        *_tree_lines(summary.parameters, 0, 2),
        "",
    ]
    lines += ["## Vocabulary", "", _vocabulary_sentence(summary), ""]
    lines += _data_markdown(summary)
    lines += _training_markdown(summary)
    lines += _evaluations_markdown(summary.evaluations)
    if summary.notes:
        lines += [summary.notes.strip(), ""]
    return "\n".join(lines)


def _vocabulary_sentence(summary: ModelSummary) -> str:
    """The vocabulary section's sentence."""
    vocab = summary.run.vocab
    kind = "joint" if vocab.joint else "separate"
    return (
        f"SentencePiece {summary.run.train.model_type}, {kind}, "
        f"{vocab.src:,} source / {vocab.tgt:,} target pieces."
    )


def _data_markdown(summary: ModelSummary) -> list[str]:
    """The data section (absent for a model without a data description)."""
    data = summary.run.data
    if data is None:
        return []
    corpus = data.corpus
    files = [corpus.tsv] if corpus.tsv else [corpus.src, corpus.tgt]
    source = " + ".join(_short_path(name) for name in files)
    stages = [
        f"- fine-tuned from `{_short_path(stage.model)}`: trained on `{_short_path(stage.corpus)}`"
        f", {stage.train_pairs:,} pairs, {stage.steps:,} steps"
        for stage in reversed(summary.run.lineage)
    ]
    return [
        "## Data",
        "",
        f"- training: `{source}`, {data.train_pairs:,} pairs",
        f"- validation: {data.valid_pairs:,} pairs",
        *stages,
        "",
    ]


def _short_path(name: str | None) -> str:
    """A corpus path as the card shows it: its folder and file name, not the trainer's home."""
    if not name:
        return "?"
    path = Path(name)
    return str(Path(path.parent.name) / path.name) if path.parent.name else path.name


def _training_markdown(summary: ModelSummary) -> list[str]:
    """The training section of the card."""
    last, best = summary.last, summary.best
    if last is None:
        return ["## Training", "", "Not trained yet.", ""]
    hardware = summary.run.hardware
    lines = [
        "## Training",
        "",
        f"- {last.step:,} steps, {last.epoch:.1f} epochs, {last.tokens:,} target tokens",
        f"- training time: {format_hours(last.train_seconds)}"
        + (f" on {hardware.description}" if hardware and hardware.description else ""),
        f"- training-time transforms: {summary.run.train.transform_rates.describe()}",
    ]
    if best:
        lines.append(
            f"- best validation (step {best.step:,}): BLEU {best.valid_bleu:.2f}, "
            f"loss {best.valid_loss:.3f}, perplexity {best.valid_ppl:.2f}"
        )
    if summary.problem:
        lines += ["", f"**Warning:** {summary.problem}."]
    return [*lines, ""]


def _evaluations_markdown(evaluations: list[EvaluationRecord]) -> list[str]:
    """The test-score table (absent when nothing was recorded)."""
    if not evaluations:
        return []
    lines = [
        "## Test scores",
        "",
        "| test set | BLEU | chrF | decoding | sacreBLEU signature |",
        "|---|---:|---:|---|---|",
    ]
    for row in evaluations:
        lines.append(
            f"| {row.test} | {row.bleu:.2f} | {row.chrf:.2f} | {row.decoding} | `{row.signature}` |"
        )
    return [*lines, ""]
