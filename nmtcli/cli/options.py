"""Command-line options shared by the commands that load a model and decode."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from nmtcli.search import SearchOptions

SEARCH, ATTENTION = "Search", "Attention"


class Level(str, Enum):
    """Heatmap granularity."""

    piece = "piece"
    word = "word"


def _search(*names: str, help: str, **extra: object) -> typer.models.OptionInfo:
    """A search option in the Search help panel."""
    return typer.Option(*names, help=help, rich_help_panel=SEARCH, **extra)


ModelOpt = Annotated[
    Path | None,
    typer.Option(
        "--model",
        "-m",
        help="Model directory (default: the shipped English→French model).",
        show_default=False,
    ),
]
DeviceOpt = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]
PrecisionOpt = Annotated[
    str,
    typer.Option(
        "--precision",
        help="fp32, bf16 (faster on CPUs with AVX512-BF16 or AMX, and on CUDA), fp16 (CUDA) "
        "or auto (bf16/fp16 on CUDA, fp32 on CPU).",
    ),
]
BeamOpt = Annotated[int, _search("--beam-size", "-k", help="Beam size (1 = greedy).", min=1)]
LengthPenaltyOpt = Annotated[
    float, _search("--length-penalty", help="GNMT length-penalty α (0: raw log-probability).")
]
MaxLengthOpt = Annotated[
    int, _search("--max-length", help="Most output pieces per sentence.", min=1)
]
MaxRatioOpt = Annotated[
    float, _search("--max-length-ratio", help="Most output pieces per source piece (plus 10).")
]
MinLengthOpt = Annotated[
    int, _search("--min-length", help="Fewest output pieces before EOS.", min=0)
]
NoRepeatOpt = Annotated[
    int,
    _search("--no-repeat-ngram", help="Forbid repeating any n-gram of this size (0: off).", min=0),
]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", help="Sentences per batch.", min=1)]
LevelOpt = Annotated[
    Level,
    typer.Option(
        "--attention-level",
        help="Heatmap of pieces, or of words (pieces merged).",
        rich_help_panel=ATTENTION,
    ),
]
LayerOpt = Annotated[
    int | None,
    typer.Option(
        "--attention-layer",
        help="Transformer layer to show (1-based; default: the penultimate).",
        rich_help_panel=ATTENTION,
        show_default=False,
    ),
]
HeadOpt = Annotated[
    int | None,
    typer.Option(
        "--attention-head",
        help="Transformer head to show (1-based; default: the mean of all heads).",
        rich_help_panel=ATTENTION,
        show_default=False,
    ),
]
AttentionOutOpt = Annotated[
    Path | None,
    typer.Option(
        "--attention-out",
        help="Also save the heatmaps as .svg or .html.",
        rich_help_panel=ATTENTION,
        show_default=False,
    ),
]

DEFAULT_BEAM = 5
DEFAULT_LENGTH_PENALTY = 1.0
DEFAULT_MAX_LENGTH = 256
DEFAULT_MAX_RATIO = 2.0


def search_options(
    beam_size: int,
    length_penalty: float,
    max_length: int,
    max_length_ratio: float,
    min_length: int,
    no_repeat_ngram: int,
    n_best: int = 1,
    need_attention: bool = False,
) -> SearchOptions:
    """`SearchOptions` from the command-line values (a usage error if inconsistent)."""
    from nmtcli.search import SearchOptions

    try:
        return SearchOptions(
            beam_size,
            n_best,
            length_penalty,
            max_length,
            max_length_ratio,
            min_length,
            no_repeat_ngram,
            need_attention,
        )
    except ValueError as error:
        raise typer.BadParameter(str(error)) from None
