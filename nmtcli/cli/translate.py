"""`nmtcli translate`: sentences in, translations out; heatmaps and alignments on request."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from nmtcli.cli.app import app
from nmtcli.cli.common import boundary, color_enabled, stderr, stdout
from nmtcli.cli.options import (
    ATTENTION,
    DEFAULT_BEAM,
    DEFAULT_LENGTH_PENALTY,
    DEFAULT_MAX_LENGTH,
    DEFAULT_MAX_RATIO,
    SEARCH,
    AttentionOutOpt,
    BatchSizeOpt,
    BeamOpt,
    DeviceOpt,
    HeadOpt,
    LayerOpt,
    LengthPenaltyOpt,
    Level,
    LevelOpt,
    MaxLengthOpt,
    MaxRatioOpt,
    MinLengthOpt,
    ModelOpt,
    NoRepeatOpt,
    PrecisionOpt,
    search_options,
)
from nmtcli.corpus import STDIN, read_lines

if TYPE_CHECKING:
    from rich.console import Console

    from nmtcli.heatmap import AttentionMatrix
    from nmtcli.translator import Translation, Translator

OUTPUT = "Output"


class Format(str, Enum):
    """Output format."""

    text = "text"
    json = "json"
    tsv = "tsv"


def default_model() -> Path:
    """The shipped default model directory."""
    from nmtcli.shipped import default_model_dir

    return default_model_dir()


def load_translator(model: Path | None, device: str, precision: str = "fp32") -> Translator:
    """The translator for `-m` (or the default model)."""
    from nmtcli.translator import Translator

    return Translator(model if model is not None else default_model(), device, precision=precision)


def _inputs(sentences: list[str] | None, input_file: str | None) -> Iterator[str]:
    """Sentences from arguments, a file, or stdin."""
    if sentences and input_file:
        raise typer.BadParameter("give sentences as arguments or --input, not both")
    if sentences:
        return iter(sentences)
    if input_file is None and sys.stdin.isatty():
        raise typer.BadParameter("give a sentence, pipe text on stdin, or use --input FILE")
    return read_lines(input_file or STDIN)


def heatmap_matrix(
    attention: Any,
    rows: list[str],
    cols: list[str],
    level: Level,
    layer: int | None,
    head: int | None,
) -> AttentionMatrix:
    """The matrix a heatmap or alignment shows, at piece or word level."""
    from nmtcli.heatmap import AttentionMatrix, attention_view, merge_words

    matrix = AttentionMatrix(attention_view(attention, layer, head).tolist(), rows, cols)
    return merge_words(matrix) if level == Level.word else matrix


def heatmap_console(stdout_is_terminal: bool) -> Console:
    """Heatmaps go to stdout on a terminal, else to stderr so pipelines stay clean."""
    return stdout() if stdout_is_terminal else stderr()


class HeatmapSink:
    """Renders heatmaps to the terminal and, optionally, records them for an SVG/HTML file."""

    def __init__(self, console: Console, out_file: Path | None) -> None:
        from rich.console import Console

        self.console = console
        self.color = color_enabled() and self.console.is_terminal
        self.out_file = out_file
        self.recorder = None
        if out_file is not None:
            width = max(self.console.width, 100)
            self.recorder = Console(record=True, width=width, file=io.StringIO())

    def show(self, matrix: AttentionMatrix, title: str, **notes: Any) -> None:
        """Render one heatmap."""
        from nmtcli.heatmap import render_heatmap

        self.console.print(render_heatmap(matrix, self.console.width, self.color, title, **notes))
        self.console.print()
        if self.recorder is not None:
            self.recorder.print(render_heatmap(matrix, self.recorder.width, True, title, **notes))
            self.recorder.print()

    def save(self) -> None:
        """Write the recorded heatmaps."""
        if self.recorder is None or self.out_file is None:
            return
        suffix = self.out_file.suffix.lower()
        if suffix == ".svg":
            self.recorder.save_svg(str(self.out_file), title="nmtcli attention")
        elif suffix in (".html", ".htm"):
            self.recorder.save_html(str(self.out_file))
        else:
            raise typer.BadParameter("--attention-out must end in .svg or .html")


def _json_line(
    translation: Translation, index: int, matrix: AttentionMatrix | None, alignment: str | None
) -> str:
    """One JSON object per input."""
    best = translation.best
    record: dict[str, Any] = {
        "index": index,
        "source": translation.source,
        "translation": best.text,
        "pieces": best.pieces,
        "score": round(best.score, 6),
        "log_prob": round(best.log_prob, 6),
    }
    if len(translation.candidates) > 1:
        record["nbest"] = [
            {
                "translation": c.text,
                "pieces": c.pieces,
                "score": round(c.score, 6),
                "log_prob": round(c.log_prob, 6),
            }
            for c in translation.candidates
        ]
    if matrix is not None:
        record["attention"] = {
            "src": matrix.cols,
            "tgt": matrix.rows,
            "weights": [[round(w, 5) for w in row] for row in matrix.weights],
        }
    if alignment is not None:
        record["alignment"] = alignment
    return json.dumps(record, ensure_ascii=False)


def _text_lines(
    translation: Translation, index: int, fmt: Format, alignment: str | None
) -> list[str]:
    """The text or TSV lines for one input."""
    candidates = translation.candidates
    if fmt == Format.tsv:
        extra = "" if alignment is None else f"\t{alignment}"
        return [f"{translation.source}\t{c.text}\t{c.score:.4f}{extra}" for c in candidates]
    if alignment is not None:
        return [alignment]
    if len(candidates) > 1:
        return [f"{index} ||| {c.text} ||| {c.score:.4f}" for c in candidates]
    return [candidates[0].text]


@dataclass(frozen=True)
class OutputPlan:
    """What to write for each translated input."""

    fmt: Format
    align: bool
    level: Level
    layer: int | None
    head: int | None
    need_attention: bool

    def matrix(
        self, translation: Translation, level: Level | None = None
    ) -> AttentionMatrix | None:
        """The best candidate's attention at `level` (default: the plan's), if it has any."""
        best = translation.best
        if best.attention is None:
            return None
        rows = [*best.pieces, "</s>"]
        chosen = level or self.level
        return heatmap_matrix(
            best.attention, rows, translation.src_pieces, chosen, self.layer, self.head
        )


@app.command(
    epilog='Examples: nmtcli translate "turn off the lights" --show-attention  ·  '
    "nmtcli translate -m runs/x --beam-size 5 < test.en > hyp.fr  ·  "
    "nmtcli translate -m runs/x --align --attention-level word < test.en",
)
@boundary
def translate(
    sentences: Annotated[
        list[str] | None,
        typer.Argument(
            help="Sentences to translate (default: stdin, one per line).", show_default=False
        ),
    ] = None,
    model: ModelOpt = None,
    input_file: Annotated[
        str | None,
        typer.Option("--input", "-i", help="Read sentences from this file.", show_default=False),
    ] = None,
    output_file: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write translations to this file.", show_default=False),
    ] = None,
    beam_size: BeamOpt = DEFAULT_BEAM,
    n_best: Annotated[
        int,
        typer.Option(
            "--n-best", help="Hypotheses to print per input.", rich_help_panel=SEARCH, min=1
        ),
    ] = 1,
    length_penalty: LengthPenaltyOpt = DEFAULT_LENGTH_PENALTY,
    max_length: MaxLengthOpt = DEFAULT_MAX_LENGTH,
    max_length_ratio: MaxRatioOpt = DEFAULT_MAX_RATIO,
    min_length: MinLengthOpt = 0,
    no_repeat_ngram: NoRepeatOpt = 0,
    batch_size: BatchSizeOpt = 64,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "fp32",
    output_format: Annotated[
        Format,
        typer.Option(
            "--format",
            "-f",
            help="text, json (one object per line) or tsv.",
            rich_help_panel=OUTPUT,
        ),
    ] = Format.text,
    align: Annotated[
        bool,
        typer.Option(
            "--align",
            help="Word alignments (Pharaoh i-j) from the attention.",
            rich_help_panel=OUTPUT,
        ),
    ] = False,
    show_attention: Annotated[
        bool,
        typer.Option(
            "--show-attention",
            help="Show an attention heatmap per sentence (stderr when piped).",
            rich_help_panel=ATTENTION,
        ),
    ] = False,
    attention_level: LevelOpt = Level.piece,
    attention_layer: LayerOpt = None,
    attention_head: HeadOpt = None,
    attention_out: AttentionOutOpt = None,
) -> None:
    """Translate sentences (arguments, --input or stdin): one output line per input, in order."""
    if n_best > beam_size:
        raise typer.BadParameter(f"--n-best {n_best} needs --beam-size of at least {n_best}")
    lines = _inputs(sentences, input_file)
    translator = load_translator(model, device, precision)
    wants_attention = show_attention or align or attention_out is not None
    if wants_attention and not translator.has_attention:
        raise typer.BadParameter(
            "this model has no attention (attention: none) to show or align with"
        )
    options = search_options(
        beam_size,
        length_penalty,
        max_length,
        max_length_ratio,
        min_length,
        no_repeat_ngram,
        n_best,
        wants_attention,
    )
    plan = OutputPlan(
        output_format, align, attention_level, attention_layer, attention_head, wants_attention
    )
    sink = (
        HeatmapSink(heatmap_console(sys.stdout.isatty()), attention_out)
        if show_attention or attention_out
        else None
    )
    interactive = not sentences and input_file is None and sys.stdin.isatty()
    chunk = 1 if interactive else batch_size * 16
    layout = translator.model.attention_layout
    out: TextIO = open(output_file, "w", encoding="utf-8") if output_file else sys.stdout  # noqa: SIM115
    try:
        for index, translation in enumerate(
            translator.translate(lines, options, batch_size, chunk)
        ):
            _emit(translation, index, out, plan, sink, layout)
    finally:
        if out is not sys.stdout:
            out.close()
    if sink is not None:
        sink.save()


def _emit(
    translation: Translation,
    index: int,
    out: TextIO,
    plan: OutputPlan,
    sink: HeatmapSink | None,
    layout: tuple[int, int],
) -> None:
    """Write one input's output lines (and show its heatmap)."""
    from nmtcli.heatmap import pharaoh, view_label

    matrix = plan.matrix(translation) if plan.need_attention else None
    alignment = None
    if plan.align:
        words = plan.matrix(translation, Level.word)
        alignment = "" if words is None else pharaoh(words)
    if plan.fmt == Format.json:
        out.write(_json_line(translation, index, matrix, alignment) + "\n")
    else:
        lines = _text_lines(translation, index, plan.fmt, alignment)
        out.write("".join(line + "\n" for line in lines))
    out.flush()
    if sink is not None and matrix is not None:
        view = view_label(layout, plan.layer, plan.head)
        title = f"{translation.source} → {translation.best.text}"
        sink.show(matrix, title + (f"   [{view}]" if view else ""))
