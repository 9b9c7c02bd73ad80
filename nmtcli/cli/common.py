"""What every command shares: the error boundary, terminal output helpers, common options.

This is the only layer that talks to the terminal. Domain errors (`NmtError`) raised anywhere
below become one line on stderr and exit code 1 here; nothing else is caught.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console

from nmtcli.errors import NmtError

F = TypeVar("F", bound=Callable[..., Any])


class OutputFormat(str, Enum):
    """Machine-readable or human output."""

    text = "text"
    json = "json"


@functools.cache
def stderr() -> Console:
    """The console for messages, progress and heatmaps shown beside a pipeline."""
    return Console(stderr=True, highlight=False)


@functools.cache
def stdout() -> Console:
    """The console for a command's own results (tables, heatmaps on a terminal)."""
    return Console(highlight=False)


def error_line(message: str) -> None:
    """Print one `error:` line on stderr, never wrapped."""
    stderr().print(f"[bold red]error:[/] {_escape(message)}", soft_wrap=True)


def warn(message: str) -> None:
    """Print one `warning:` line on stderr."""
    stderr().print(f"[yellow]warning:[/] {_escape(message)}", soft_wrap=True)


def note(message: str) -> None:
    """Print an informational line on stderr (stdout stays clean for pipelines)."""
    stderr().print(_escape(message), soft_wrap=True)


def fail(message: str) -> NoReturn:
    """Report a user error and exit with status 1."""
    error_line(message)
    raise typer.Exit(1)


def _escape(text: str) -> str:
    """Escape Rich markup in user-provided text."""
    from rich.markup import escape

    return escape(text)


def boundary(function: F) -> F:
    """Turn `NmtError` (and a full disk under stdout) into one line and status 1; Ctrl-C: 130."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = function(*args, **kwargs)
            sys.stdout.flush()  # a full disk shows here, not as a traceback at exit
            return result
        except NmtError as error:
            fail(str(error))
        except BrokenPipeError:  # stdout's reader left (`| head -1`): quiet, SIGPIPE's 128 + 13
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            raise typer.Exit(141) from None
        except OSError as error:
            if error.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):  # else a bug: shown
                raise
            fail(f"cannot write the output ({error.strerror})")
        except KeyboardInterrupt:
            error_line("interrupted")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def color_enabled() -> bool:
    """Whether colour output is allowed (https://no-color.org)."""
    return not os.environ.get("NO_COLOR")


def plain_option(*names: str, help: str, **extra: Any) -> Any:
    """A `typer.Option` whose default the help does not show (None, or said in the help)."""
    return typer.Option(*names, help=help, show_default=False, **extra)


# Options shared by every command that reads a parallel corpus.
CorpusArg = Annotated[
    str | None,
    typer.Argument(
        help="Parallel corpus: TSV with `source<TAB>target` per line (.gz ok, - for stdin).",
        show_default=False,
    ),
]
SrcFileOpt = Annotated[
    str | None, plain_option("--src-file", help="Source side as its own file (with --tgt-file).")
]
TgtFileOpt = Annotated[
    str | None, plain_option("--tgt-file", help="Target side, line-aligned with --src-file.")
]
SKIP_INVALID = "Skip malformed lines (and report how many) instead of stopping."
SkipInvalidOpt = Annotated[bool, typer.Option("--skip-invalid", help=SKIP_INVALID)]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite existing output.")]
DirOpt = Annotated[Path, typer.Option("--output", "-o", help="Output directory.")]
FormatOpt = Annotated[OutputFormat, typer.Option("--format", "-f", help="text or json.")]
