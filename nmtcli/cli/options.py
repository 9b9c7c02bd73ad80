"""Command-line options shared by the commands that load a model and decode."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from nmtcli.decoding import LENGTH_SLACK, SearchOptions
from nmtcli.output import Level

F = TypeVar("F", bound=Callable[..., Any])

SEARCH, ATTENTION = "Search", "Attention"


def _search(*names: str, help: str, **extra: Any) -> Any:
    """A search option in the Search help panel."""
    return typer.Option(*names, help=help, rich_help_panel=SEARCH, **extra)


def _attention(name: str, help: str, shown: bool = False) -> Any:
    """An option of the Attention help panel (its default shown only if `shown`)."""
    return typer.Option(name, help=help, rich_help_panel=ATTENTION, show_default=shown)


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
PRECISION_HELP = (
    "fp32, bf16 (faster on CPUs with AVX512-BF16 or AMX, and on CUDA), fp16 (CUDA), int8 "
    "(CPU: int8 linear and RNN layers) or auto (bf16/fp16 on CUDA, fp32 on CPU). "
    "Default: fp32, or a CTranslate2 export's own quantization."
)
PrecisionOpt = Annotated[
    str | None, typer.Option("--precision", help=PRECISION_HELP, show_default=False)
]
BeamOpt = Annotated[int, _search("--beam-size", "-k", help="Beam size (1 = greedy).", min=1)]
LengthPenaltyOpt = Annotated[
    float, _search("--length-penalty", help="GNMT length-penalty α (0: raw log-probability).")
]
MaxLengthOpt = Annotated[
    int, _search("--max-length", help="Most output pieces per sentence.", min=1)
]
RATIO_HELP = f"Most output pieces per source piece (plus {LENGTH_SLACK})."
MaxRatioOpt = Annotated[float, _search("--max-length-ratio", help=RATIO_HELP)]
MinLengthOpt = Annotated[
    int, _search("--min-length", help="Fewest output pieces before EOS.", min=0)
]
NOREPEAT_HELP = "Forbid repeating any n-gram of this size (0: off)."
NoRepeatOpt = Annotated[int, _search("--no-repeat-ngram", help=NOREPEAT_HELP, min=0)]
BatchSizeOpt = Annotated[int, typer.Option("--batch-size", help="Sentences per batch.", min=1)]
SPLIT = "Translate each line sentence by sentence (English rules), joined back into one line."
SplitOpt = Annotated[bool, _search("--split/--no-split", help=SPLIT)]
LEVEL_HELP = "Heatmap of pieces, or of words (pieces merged)."
LevelOpt = Annotated[Level, _attention("--attention-level", LEVEL_HELP, shown=True)]
LAYER_HELP = "Transformer layer to show (1-based; default: the penultimate)."
LayerOpt = Annotated[int | None, _attention("--attention-layer", LAYER_HELP)]
HEAD_HELP = "Transformer head to show (1-based; default: the mean of all heads)."
HeadOpt = Annotated[int | None, _attention("--attention-head", HEAD_HELP)]
RECASE = "Translate ALL CAPS and Title Case sentences in sentence case, then recase the output."
RecaseOpt = Annotated[bool, _search("--recase/--no-recase", help=RECASE)]
HIDE = "Hide rare names, numbers and symbols behind ⦅k⦆ (default: if the model learnt to)."
HideOpt = Annotated[bool | None, _search("--placeholders/--no-placeholders", help=HIDE)]
AttentionOutOpt = Annotated[
    Path | None, _attention("--attention-out", "Also save the heatmaps as .svg or .html.")
]


CORE = SearchOptions()  # the library's defaults; the command line departs from four of them
SEARCH_OPTIONS = (  # (name, option, default): declared once for every decoding command
    ("beam_size", BeamOpt, 5),  # a user at the terminal wants the better search, not greedy
    ("length_penalty", LengthPenaltyOpt, CORE.length_penalty),
    ("max_length", MaxLengthOpt, CORE.max_length),
    ("max_length_ratio", MaxRatioOpt, CORE.max_length_ratio),
    ("min_length", MinLengthOpt, 1),  # as fairseq: a non-empty input never gets an empty line
    ("no_repeat_ngram", NoRepeatOpt, CORE.no_repeat_ngram),
    ("split", SplitOpt, True),  # pasted paragraphs are the common case at the terminal
    ("recase", RecaseOpt, True),  # typed ALL CAPS or Title Case, read in sentence case
    ("placeholders", HideOpt, CORE.placeholders),
)


def with_options(
    command: F, added: list[inspect.Parameter], gather: Callable[[dict[str, Any]], dict[str, Any]]
) -> F:
    """Give a command extra Typer parameters; `gather` turns their values into its arguments.

    Typer reads a command's options from its signature, so the wrapper shows the command's own
    parameters, less its keyword-only ones (which `gather` supplies), followed by `added`.
    """
    signature = inspect.signature(command)
    namespace = inspect.unwrap(command).__globals__
    names = [p.name for p in added]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in names}
        return command(*args, **kwargs, **gather(values))

    own = [
        _resolved(p, namespace)
        for p in signature.parameters.values()
        if p.kind != inspect.Parameter.KEYWORD_ONLY
    ]
    parameters = [*own, *added]
    wrapper.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
    return wrapper  # type: ignore[return-value]


def keyword(name: str, annotation: Any, default: Any) -> inspect.Parameter:
    """A keyword parameter for `with_options`."""
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default
    )


def with_search_options(command: F) -> F:
    """Add the search options to a command, which receives them as one `search` argument.

    The command names `*, search: SearchOptions` last; Typer sees the six options instead.
    """

    def gather(values: dict[str, Any]) -> dict[str, Any]:
        try:
            return {"search": SearchOptions(**values)}
        except ValueError as error:
            raise typer.BadParameter(str(error)) from None

    added = [keyword(name, kind, default) for name, kind, default in SEARCH_OPTIONS]
    return with_options(command, added, gather)


def _resolved(parameter: inspect.Parameter, namespace: dict[str, Any]) -> inspect.Parameter:
    """A parameter whose postponed (string) annotation is evaluated, as Typer needs it."""
    if not isinstance(parameter.annotation, str):
        return parameter
    return parameter.replace(annotation=eval(parameter.annotation, namespace))
