"""`nmtcli info`: a model card in the terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from nmtcli.cli.app import app
from nmtcli.cli.common import (
    ForceOpt,
    FormatOpt,
    OutputFormat,
    boundary,
    color_enabled,
    plain_option,
    stdout,
    warn,
)
from nmtcli.ct2 import ExportFormat

MODEL = "Model directory (default: the shipped model)."
DEPTH = "Levels of the architecture tree to show."
DIAGRAM = "Draw the model's encoder–decoder: its boxes, where the source enters the decoder."
DIAGRAM_OUT = "Also save the diagram as SVG."


@app.command(
    epilog="Examples: nmtcli info runs/en-fr   (no argument: the shipped model)  ·  "
    "nmtcli info --diagram --diagram-out model.svg"
)
@boundary
def info(
    model: Annotated[Path | None, typer.Argument(help=MODEL, show_default=False)] = None,
    depth: Annotated[int, typer.Option("--depth", help=DEPTH, min=1)] = 3,
    output_format: FormatOpt = OutputFormat.text,
    diagram: Annotated[bool, typer.Option("--diagram", help=DIAGRAM)] = False,
    diagram_out: Annotated[Path | None, plain_option("--diagram-out", help=DIAGRAM_OUT)] = None,
    force: ForceOpt = False,
) -> None:
    """Show a model card: architecture with parameter counts, vocabulary, data, training, scores."""
    from nmtcli.modeldir import ModelDir
    from nmtcli.shipped import model_or_default
    from nmtcli.views import model_card, show_diagram

    model_dir = ModelDir.load(model_or_default(model))
    if diagram or diagram_out:
        show_diagram(model_dir.run, stdout(), diagram_out, color_enabled(), force)
        return
    summary = model_dir.summary()
    for message in model_dir.warnings:
        warn(message)
    if output_format == OutputFormat.json:
        typer.echo(json.dumps(summary.to_dict(), indent=2))
        return
    stdout().print(model_card(summary, depth))


STEP = "Export the weights kept from this validation step (step-N.safetensors), not the best."
QUANTIZATION = "CTranslate2 weights: int8 (the default), int16, float16 or float32."
HalfOpt = Annotated[bool, typer.Option("--half", help="Store weights as float16.")]
PARENT = "Interpolate with the run's --init-from parent at this weight (WiSE-FT); 0: off."


@app.command(
    epilog="Examples: nmtcli export runs/en-fr models/en-fr --half  ·  "
    "nmtcli export runs/en-fr runs/en-fr-ct2 --format ctranslate2 --quantization int8"
)
@boundary
def export(
    model: Annotated[Path, typer.Argument(help="Trained model directory.")],
    output: Annotated[Path, typer.Argument(help="New directory for the exported model.")],
    half: HalfOpt = False,
    step: Annotated[int | None, typer.Option("--step", help=STEP, show_default=False)] = None,
    export_format: Annotated[
        ExportFormat, typer.Option("--format", help="nmtcli, or a CTranslate2 model (Transformer).")
    ] = ExportFormat.nmtcli,
    quantization: Annotated[
        str | None, typer.Option("--quantization", help=QUANTIZATION, show_default=False)
    ] = None,
    force: ForceOpt = False,
) -> None:
    """Copy a model's best weights, vocabulary, config and card into a lean directory to share."""
    from nmtcli.ct2_export import export_ctranslate2
    from nmtcli.modeldir import ModelDir

    source = ModelDir.load(model)
    if export_format == ExportFormat.ctranslate2:
        weights = source.weights_name(step)
        size = export_ctranslate2(source, output, quantization or "int8", force, half, weights)
    elif quantization is not None:
        raise typer.BadParameter("--quantization is for --format ctranslate2")
    else:
        size = source.export_step(output, half, force, step)
    stdout().print(f"exported {model} to {output}/ ({size / 1e6:.1f} MB)", highlight=False)


@app.command(epilog="Example: nmtcli average runs/en-fr runs/en-fr-avg --last 5")
@boundary
def average(
    model: Annotated[Path, typer.Argument(help="Model directory trained with kept checkpoints.")],
    output: Annotated[Path, typer.Argument(help="New directory for the averaged model.")],
    last: Annotated[int, typer.Option("--last", help="Newest checkpoints to average.", min=1)] = 5,
    parent: Annotated[float, typer.Option("--parent", help=PARENT, min=0.0, max=1.0)] = 0.0,
    half: HalfOpt = False,
    force: ForceOpt = False,
) -> None:
    """Average the weights of a run's last validation checkpoints into a new model directory."""
    from nmtcli.modeldir import ModelDir

    note, size = ModelDir.load(model).export_average(output, last, force, parent, half)
    stdout().print(f"{note}\nwrote {output}/ ({size / 1e6:.1f} MB)", highlight=False)
