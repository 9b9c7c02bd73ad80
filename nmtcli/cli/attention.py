"""`nmtcli attention`: forced decoding: where the model looked, and how likely each token was."""

from __future__ import annotations

import json
import math
from typing import Annotated

import typer

from nmtcli.cli.app import app
from nmtcli.cli.common import ForceOpt, FormatOpt, OutputFormat, boundary, color_enabled, stdout
from nmtcli.cli.options import (
    AttentionOutOpt,
    DeviceOpt,
    HeadOpt,
    LayerOpt,
    LevelOpt,
    ModelOpt,
    PrecisionOpt,
)
from nmtcli.output import Level, heatmap_matrix

UNLIKELY = 0.1  # tokens below this probability are highlighted


def _row_log_probs(log_probs: list[float], pieces: list[str], level: Level) -> list[float]:
    """Per-row log-probabilities: per piece, or summed over each word's pieces."""
    if level == Level.piece:
        return log_probs
    from nmtcli.heatmap import word_groups

    return [sum(log_probs[i] for i in group) for group in word_groups(pieces)]


@app.command(
    epilog='Example: nmtcli attention -m runs/en-fr "turn off the lights" "éteins les lumières"',
)
@boundary
def attention(
    source: Annotated[str, typer.Argument(help="Source sentence.")],
    target: Annotated[str, typer.Argument(help="Its translation (for example a reference).")],
    model: ModelOpt = None,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = None,
    attention_level: LevelOpt = Level.piece,
    attention_layer: LayerOpt = None,
    attention_head: HeadOpt = None,
    attention_out: AttentionOutOpt = None,
    output_format: FormatOpt = OutputFormat.text,
    force: ForceOpt = False,
) -> None:
    """Forced decoding: the heatmap of a given translation and each target token's probability."""
    from nmtcli.heatmap import view_label
    from nmtcli.translator import Translator
    from nmtcli.views import HeatmapSink, check_heatmap_file

    check_heatmap_file(attention_out, force)
    translator = Translator.open(model, device, precision or "fp32")
    translator.require_attention("to show")
    forced = translator.force(source, target)
    matrix = heatmap_matrix(
        forced.attention,
        forced.tgt_pieces,
        forced.src_pieces,
        attention_level,
        attention_layer,
        attention_head,
    )
    row_log_probs = _row_log_probs(forced.token_log_probs, forced.tgt_pieces, attention_level)
    total = sum(forced.token_log_probs)
    if output_format == OutputFormat.json:
        typer.echo(
            json.dumps(
                {
                    "source": source,
                    "target": target,
                    "src": matrix.cols,
                    "tgt": matrix.rows,
                    "probabilities": [round(math.exp(lp), 6) for lp in row_log_probs],
                    "log_prob": round(total, 6),
                    "weights": [[round(w, 5) for w in row] for row in matrix.weights],
                },
                ensure_ascii=False,
            )
        )
        return
    notes = [f"{math.exp(lp):.2f}" for lp in row_log_probs]
    styles = ["bold red" if math.exp(lp) < UNLIKELY else "" for lp in row_log_probs]
    view = view_label(translator.attention_layout, attention_layer, attention_head)
    title = f"{source} → {target} (forced)" + (f"   [{view}]" if view else "")
    console = stdout()
    sink = HeatmapSink(console, color_enabled() and console.is_terminal, attention_out)
    sink.show(matrix, title, row_notes=notes, row_styles=styles)
    sink.save()
    worst = min(range(len(row_log_probs)), key=row_log_probs.__getitem__)
    count = len(forced.token_log_probs)
    stdout().print(
        f"log P(target | source) = {total:.3f}; "
        f"per-token perplexity {math.exp(-total / count):.2f}; "
        f"least likely: {matrix.rows[worst]!r} (p = {math.exp(row_log_probs[worst]):.3f})",
        highlight=False,
        soft_wrap=True,
    )
