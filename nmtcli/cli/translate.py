"""`nmtcli translate`: sentences in, translations out; heatmaps and alignments on request."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from nmtcli.cli.app import app
from nmtcli.cli.common import ForceOpt, boundary, color_enabled, plain_option, stderr, stdout, warn
from nmtcli.cli.options import (
    ATTENTION,
    SEARCH,
    AttentionOutOpt,
    BatchSizeOpt,
    DeviceOpt,
    HeadOpt,
    LayerOpt,
    LevelOpt,
    ModelOpt,
    PrecisionOpt,
    with_search_options,
)
from nmtcli.corpus import STDIN, input_lines, stdin_is_terminal
from nmtcli.output import Format, Level, OutputPlan
from nmtcli.outputs import check_output, output_stream

if TYPE_CHECKING:
    from nmtcli.decoding import SearchOptions
    from nmtcli.translation import Translation
    from nmtcli.views import HeatmapSink

OUTPUT = "Output"
SENTENCES = "Sentences to translate (default: stdin, one per line)."
INPUT, OUTPUT_FILE = "Read sentences from this file.", "Write translations to this file."
N_BEST = "Hypotheses to print per input."
FORMAT = "text, json (one object per line) or tsv."
ALIGN = "Word alignments (Pharaoh i-j) from the attention."
SHOW = "Show an attention heatmap per input line (stderr when piped)."
TRACE = "Show each step of the search (stderr when piped; in each object with --format json)."


def _shown(*names: str, help: str) -> Any:
    """An option of the Output help panel."""
    return typer.Option(*names, help=help, rich_help_panel=OUTPUT)


@app.command(
    epilog='Examples: nmtcli translate "turn off the lights" --show-attention  ·  '
    "nmtcli translate -m runs/x --beam-size 5 < test.en > hyp.fr  ·  "
    "nmtcli translate -m runs/x --align --attention-level word < test.en",
)
@with_search_options
@boundary
def translate(
    sentences: Annotated[
        list[str] | None, typer.Argument(help=SENTENCES, show_default=False)
    ] = None,
    model: ModelOpt = None,
    input_file: Annotated[str | None, plain_option("--input", "-i", help=INPUT)] = None,
    output_file: Annotated[Path | None, plain_option("--output", "-o", help=OUTPUT_FILE)] = None,
    n_best: Annotated[
        int, typer.Option("--n-best", help=N_BEST, rich_help_panel=SEARCH, min=1)
    ] = 1,
    batch_size: BatchSizeOpt = 64,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = None,
    output_format: Annotated[Format, _shown("--format", "-f", help=FORMAT)] = Format.text,
    align: Annotated[bool, _shown("--align", help=ALIGN)] = False,
    trace: Annotated[bool, _shown("--trace", help=TRACE)] = False,
    show_attention: Annotated[
        bool, typer.Option("--show-attention", help=SHOW, rich_help_panel=ATTENTION)
    ] = False,
    attention_level: LevelOpt = Level.piece,
    attention_layer: LayerOpt = None,
    attention_head: HeadOpt = None,
    attention_out: AttentionOutOpt = None,
    force: ForceOpt = False,
    *,
    search: SearchOptions,
) -> None:
    """Translate sentences (arguments, --input or stdin): one output line per input, in order."""
    from dataclasses import replace

    from nmtcli.engines import open_engine
    from nmtcli.traceview import translation_traces
    from nmtcli.views import HeatmapSink, check_heatmap_file

    if n_best > search.beam_size:
        raise typer.BadParameter(f"--n-best {n_best} needs --beam-size of at least {n_best}")
    wants_attention = show_attention or align or attention_out is not None
    search = replace(search, n_best=n_best, need_attention=wants_attention, trace=trace)
    check_heatmap_file(attention_out, force)
    inputs = (input_file or (None if sentences else STDIN),)
    check_output(output_file, inputs, force, dash_is_stdout=True)
    lines = input_lines(sentences, input_file, stdin_is_terminal())
    translator = open_engine(model, device, precision)
    if wants_attention:
        translator.require_attention("to show or align with")
    if trace:
        translator.require_trace()
    plan = OutputPlan(
        output_format, align, attention_level, attention_layer, attention_head, wants_attention
    )
    sink = None
    console = stdout() if sys.stdout.isatty() else stderr()  # keep pipelines clean
    color = color_enabled() and console.is_terminal
    if show_attention or attention_out:
        sink = HeatmapSink(console, color, attention_out)
    tracing = trace and output_format != Format.json
    interactive = not sentences and input_file is None and stdin_is_terminal()
    chunk = 1 if interactive else batch_size * 16
    layout = translator.attention_layout
    translations = translator.translate(lines, search, batch_size, chunk)
    with output_stream(output_file, inputs, force) as out:
        for index, translation in enumerate(translations):
            if tracing:
                console.print(*translation_traces(translation, search.label(), color))
            _emit(translation, index, out, plan, sink, layout)
    if sink is not None:
        sink.save()
    if message := translator.min_length_warning(search):
        warn(message)


def _emit(
    translation: Translation,
    index: int,
    out: TextIO,
    plan: OutputPlan,
    sink: HeatmapSink | None,
    layout: tuple[int, int],
) -> None:
    """Write one input's output lines (and show its heatmap)."""
    lines, matrix = plan.lines(translation, index)
    out.write("".join(line + "\n" for line in lines))
    out.flush()
    if sink is not None and matrix is not None:
        sink.show_translation(translation, matrix, layout, (plan.layer, plan.head))
