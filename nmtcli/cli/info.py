"""`nmtcli info`: a model card in the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Group
from rich.markdown import Markdown
from rich.table import Table
from rich.tree import Tree

from nmtcli.cli.app import app
from nmtcli.cli.common import OutputFormat, boundary, stdout

if TYPE_CHECKING:
    from nmtcli.card import ModelSummary
    from nmtcli.models.base import ParamNode


def _tree(node: ParamNode, tree: Tree | None = None, depth: int = 0, max_depth: int = 3) -> Tree:
    """The architecture as a Rich tree with parameter counts."""
    label = f"[bold]{node.name}[/] [dim]{node.kind}[/] {node.count:,}"
    branch = Tree(label) if tree is None else tree.add(label)
    if depth < max_depth:
        for child in node.children:
            _tree(child, branch, depth + 1, max_depth)
    return branch


def _facts(summary: ModelSummary) -> Table:
    """Key facts as a two-column table."""
    from nmtcli.card import training_line, vocabulary_line

    run, best = summary.run, summary.best
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("architecture", run.model.describe())
    table.add_row("parameters", f"{summary.parameters.count:,}")
    table.add_row("vocabulary", vocabulary_line(summary))
    if run.data is not None:
        pairs = f"{run.data.train_pairs:,} training / {run.data.valid_pairs:,} validation pairs"
        table.add_row("data", pairs)
    if summary.last is not None:
        table.add_row("training", training_line(summary.last))
    if best is not None:
        table.add_row(
            "best validation",
            f"BLEU {best.valid_bleu:.2f}, perplexity {best.valid_ppl:.2f} (step {best.step:,})",
        )
    for row in summary.evaluations:
        table.add_row(
            f"test: {row.test}", f"BLEU {row.bleu:.2f}, chrF {row.chrf:.2f} ({row.decoding})"
        )
    return table


@app.command(epilog="Example: nmtcli info runs/en-fr   (no argument: the shipped model)")
@boundary
def info(
    model: Annotated[
        Path | None,
        typer.Argument(help="Model directory (default: the shipped model).", show_default=False),
    ] = None,
    depth: Annotated[
        int, typer.Option("--depth", help="Levels of the architecture tree to show.", min=1)
    ] = 3,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text or json.")
    ] = OutputFormat.text,
) -> None:
    """Show a model card: architecture with parameter counts, vocabulary, data, training, scores."""
    from nmtcli.modeldir import ModelDir
    from nmtcli.shipped import default_model_dir

    summary = ModelDir.load(model if model is not None else default_model_dir()).summary()
    if output_format == OutputFormat.json:
        payload = {
            "name": summary.name,
            "parameters": summary.parameters.count,
            "config": summary.run.to_dict(),
            "training": summary.last.to_dict() if summary.last else {},
            "best": summary.best.to_dict() if summary.best else None,
            "evaluations": [row.to_dict() for row in summary.evaluations],
        }
        typer.echo(json.dumps(payload, indent=2))
        return
    parts = [
        f"[bold]{summary.name}[/]",
        _facts(summary),
        "",
        _tree(summary.parameters, max_depth=depth),
    ]
    if summary.notes:
        parts += ["", Markdown(summary.notes)]
    stdout().print(Group(*parts))


@app.command(epilog="Example: nmtcli export runs/en-fr models/en-fr --half")
@boundary
def export(
    model: Annotated[Path, typer.Argument(help="Trained model directory.")],
    output: Annotated[Path, typer.Argument(help="New directory for the exported model.")],
    half: Annotated[
        bool, typer.Option("--half", help="Store weights as float16 (half the size).")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite a non-empty output directory.")
    ] = False,
) -> None:
    """Copy a model's best weights, vocabulary, config and card into a lean directory to share."""
    from nmtcli.modeldir import ModelDir

    size = ModelDir.load(model).export(output, half, force)
    stdout().print(f"exported {model} to {output}/ ({size / 1e6:.1f} MB)", highlight=False)
