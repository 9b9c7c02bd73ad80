"""Model cards: what a model directory holds, as data, as Markdown, and as a terminal view.

The summary is built from `config.json`, `metrics.jsonl`, the rebuilt model's parameter tree,
and, when present, `evaluations.json` (test scores recorded by `nmtcli evaluate --record`) and
`CARD_NOTES.md` (free text such as data licences, kept verbatim).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from nmtcli.modeldir import CARD, ModelDir, read_metrics
from nmtcli.models import build_model, parameter_tree
from nmtcli.models.base import ParamNode

EVALUATIONS = "evaluations.json"
NOTES = "CARD_NOTES.md"


@dataclass
class ModelSummary:
    """Everything a model card shows."""

    name: str
    config: dict[str, Any]
    parameters: ParamNode
    training: dict[str, Any]
    best: dict[str, Any] | None
    evaluations: list[dict[str, Any]] = field(default_factory=list)
    notes: str = ""


def summarize(path: Path) -> ModelSummary:
    """Collect a model directory's card data (no weights are loaded)."""
    model_dir = ModelDir.load(path)
    # Build on the meta device: no memory, no weights, and the global random state (which a
    # resumable training run depends on) is left untouched.
    with torch.random.fork_rng(devices=[]), torch.device("meta"):
        model = build_model(model_dir.model_config, model_dir.vocab_sizes)
    records = read_metrics(path)
    best_records = [r for r in records if r.get("best")]
    evaluations_path, notes_path = path / EVALUATIONS, path / NOTES
    return ModelSummary(
        name=path.resolve().name,
        config=model_dir.config,
        parameters=parameter_tree(model),
        training=records[-1] if records else {},
        best=best_records[-1] if best_records else None,
        evaluations=json.loads(evaluations_path.read_text()) if evaluations_path.is_file() else [],
        notes=notes_path.read_text(encoding="utf-8") if notes_path.is_file() else "",
    )


def architecture_line(model: dict[str, Any]) -> str:
    """A one-line description of the architecture."""
    if model["arch"] == "transformer":
        tied = ", tied embeddings" if model.get("tie_embeddings") else ""
        return (
            f"Transformer, {model['layers']}+{model['layers']} layers, d_model {model['d_model']}, "
            f"{model['heads']} heads, feed-forward {model['ff_size']}, "
            f"dropout {model['dropout']}{tied}"
        )
    direction = "bidirectional " if model.get("bidirectional") else ""
    feeding = (
        ", input feeding"
        if model["attention"] in ("dot", "general", "concat") and model.get("input_feeding")
        else ""
    )
    reverse = ", reversed source" if model.get("reverse_source") else ""
    return (
        f"RNN encoder–decoder, {direction}{model['cell'].upper()} × {model['layers']}, "
        f"hidden {model['hidden_size']}, embeddings {model['emb_size']}, "
        f"attention {model['attention']}{feeding}{reverse}, dropout {model['dropout']}"
    )


def _hours(seconds: float) -> str:
    """`1 h 05 min` or `12 min` or `40 s`."""
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    return f"{seconds // 60} min" if seconds >= 60 else f"{seconds} s"


def _tree_lines(node: ParamNode, depth: int, max_depth: int) -> list[str]:
    """Markdown bullet lines of the parameter tree."""
    lines = [f"{'  ' * depth}- `{node.name}` ({node.kind}): {node.count:,}"]
    if depth < max_depth:
        for child in node.children:
            lines += _tree_lines(child, depth + 1, max_depth)
    return lines


def card_markdown(summary: ModelSummary) -> str:
    """The model card as Markdown (written to MODEL_CARD.md)."""
    config = summary.config
    data, vocab, train = config.get("data", {}), config["vocab"], config.get("train", {})
    lines = [
        f"# {summary.name}",
        "",
        f"Trained with nmtcli {config.get('nmtcli_version', '?')}.",
        "",
    ]
    lines += [
        "## Architecture",
        "",
        architecture_line(config["model"]),
        "",
        f"Parameters: {summary.parameters.count:,}",
        "",
        *_tree_lines(summary.parameters, 0, 2),
        "",
    ]
    kind = "joint" if vocab["joint"] else "separate"
    lines += [
        "## Vocabulary",
        "",
        f"SentencePiece {train.get('model_type', '?')}, {kind}, "
        f"{vocab['src_size']:,} source / {vocab['tgt_size']:,} target pieces.",
        "",
    ]
    if data:
        corpus = data.get("corpus") or {}
        files = [corpus.get("tsv")] if corpus.get("tsv") else [corpus.get("src"), corpus.get("tgt")]
        source = " + ".join(_short_path(name) for name in files)
        lines += [
            "## Data",
            "",
            f"- training: `{source}`, {data.get('train_pairs', 0):,} pairs",
            f"- validation: {data.get('valid_pairs', 0):,} pairs",
            "",
        ]
    lines += _training_markdown(summary)
    if summary.evaluations:
        lines += [
            "## Test scores",
            "",
            "| test set | BLEU | chrF | decoding | sacreBLEU signature |",
            "|---|---:|---:|---|---|",
        ]
        for row in summary.evaluations:
            lines.append(
                f"| {row['test']} | {row['bleu']:.2f} | {row['chrf']:.2f} | "
                f"{row.get('decoding', '')} | `{row.get('signature', '')}` |"
            )
        lines.append("")
    if summary.notes:
        lines += [summary.notes.strip(), ""]
    return "\n".join(lines)


def _short_path(name: str | None) -> str:
    """A corpus path as the card shows it: its folder and file name, not the trainer's home."""
    if not name:
        return "?"
    path = Path(name)
    return str(Path(path.parent.name) / path.name) if path.parent.name else path.name


def _training_markdown(summary: ModelSummary) -> list[str]:
    """The training section of the card."""
    training, best = summary.training, summary.best
    if not training:
        return ["## Training", "", "Not trained yet.", ""]
    hardware = summary.config.get("hardware", {})
    lines = [
        "## Training",
        "",
        f"- {training['step']:,} steps, {training['epoch']:.1f} epochs, "
        f"{training.get('tokens', 0):,} target tokens",
        f"- training time: {_hours(training.get('train_seconds', 0))}"
        + (f" on {hardware.get('description')}" if hardware.get("description") else ""),
    ]
    if best:
        lines.append(
            f"- best validation (step {best['step']:,}): BLEU {best['valid_bleu']:.2f}, "
            f"loss {best['valid_loss']:.3f}, perplexity {best['valid_ppl']:.2f}"
        )
    return [*lines, ""]


def write_card(path: Path) -> None:
    """(Re)write MODEL_CARD.md in a model directory."""
    from nmtcli.io import atomic_write_text

    atomic_write_text(path / CARD, card_markdown(summarize(path)))
