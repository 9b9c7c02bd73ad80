"""The files a user names for output (`-o`, `--hypotheses`, `--plot`): checked, then replaced.

Checked before any work is done: not a directory, not one of the inputs (stdin included), not
a file of a model directory, and an existing file only with `--force`. Then written to a
temporary file renamed over the old one when the command succeeds; a symbolic link is written
through and a FIFO or device in place (as `io.atomic_write` does).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from nmtcli.corpus import STDIN
from nmtcli.errors import OutputError
from nmtcli.io import is_special, umask, write_target


def check_output(
    path: Path | None, inputs: tuple[str | None, ...] = (), force: bool = False
) -> None:
    """Refuse an output file that cannot be written, is an input, or would replace a file.

    `inputs` are the command's input files (`-`: stdin); an existing regular file is replaced
    only with `force`, and a file of a model directory never is. No `path` (or `-`, stdout):
    nothing to check.
    """
    if path is None or str(path) == STDIN:
        return
    if path.is_dir():
        raise OutputError(f"{path}: is a directory, not a file to write")
    if not path.parent.is_dir():
        raise OutputError(f"{path}: the folder {path.parent} does not exist")
    for name in inputs:
        if name is not None and _same_file(name, path):
            shown = "stdin" if name == "-" else name
            raise OutputError(f"{path}: is also the input {shown}; write to another file")
    if not path.is_file():
        return
    from nmtcli.modeldir import ModelDir  # (torch: loaded only when a file would be replaced)

    folder = write_target(path).parent
    if ModelDir.holds_model(folder):
        raise OutputError(f"{path}: is in the model directory {folder}; write it elsewhere")
    if not force:
        raise OutputError(f"{path}: already exists; use --force to replace it")


def _same_file(name: str, path: Path) -> bool:
    """Whether the input `name` (`-`: stdin, when it is a file) is the file at `path`."""
    if not path.exists():
        return False
    if name == "-":
        try:
            return os.path.samestat(os.fstat(sys.stdin.fileno()), path.stat())
        except (AttributeError, OSError, ValueError):  # closed, or not a file (a test's stream)
            return False
    return Path(name).exists() and os.path.samefile(name, path)


@contextmanager
def replacing_output(
    path: Path, inputs: tuple[str | None, ...] = (), force: bool = False
) -> Iterator[TextIO]:
    """A text stream that replaces `path` only when the block finishes without an error.

    Until then the old file is untouched: a failed or interrupted run never empties it. A FIFO
    or device is written in place, a symbolic link through (as `atomic_write` does).
    """
    check_output(path, inputs, force)
    path = write_target(path)
    if is_special(path):
        with open(path, "w", encoding="utf-8") as stream:
            yield stream
        return
    try:
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise OutputError(f"{path}: cannot write ({error.strerror or error})") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            yield stream
        os.chmod(temp, 0o666 & ~umask())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@contextmanager
def output_stream(
    path: Path | None, inputs: tuple[str | None, ...] = (), force: bool = False
) -> Iterator[TextIO]:
    """stdout when `path` is None or `-`, else a `replacing_output` for it."""
    if path is None or str(path) == STDIN:
        yield sys.stdout
        return
    with replacing_output(path, inputs, force) as stream:
        yield stream
