"""The files a user names for output (`-o`, `--hypotheses`, `--plot`): checked, then replaced.

Checked before any work is done: not a directory, not one of the inputs (stdin included), not
a file of a model directory, and an existing file only with `--force`. Then written to a
temporary file renamed over the old one when the command succeeds; a symbolic link is written
through and a FIFO or device in place (as `io.atomic_write` does).
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from nmtcli.corpus import STDIN
from nmtcli.errors import OutputError
from nmtcli.io import umask, write_target, writes_in_place
from nmtcli.modeldir import ModelDir


def check_output(
    path: Path | None,
    inputs: tuple[str | None, ...] = (),
    force: bool = False,
    dash_is_stdout: bool = False,
) -> None:
    """Refuse an output file that cannot be written, is an input, or would replace a file.

    `inputs` are the command's input files (`-`: stdin). An existing regular file is replaced
    only with `force`; a file nmtcli keeps in a model directory never is. A FIFO, device or
    standard stream (`/dev/stdout`) is written in place. No `path`: nothing to check; `-` is
    stdout where `dash_is_stdout`, and refused elsewhere.
    """
    if path is None or (str(path) == STDIN and dash_is_stdout):
        return
    if str(path) == STDIN:
        raise OutputError("-: this output needs a file name (stdout carries the report)")
    if path.is_dir():
        raise OutputError(f"{path}: is a directory, not a file to write")
    if writes_in_place(path):
        return
    target = write_target(path)
    if not target.parent.is_dir():
        raise OutputError(f"{path}: the folder {target.parent} does not exist")
    for name in inputs:
        if name is not None and _same_file(name, path):
            shown = "stdin" if name == STDIN else name
            raise OutputError(f"{path}: is also the input {shown}; write to another file")
    if ModelDir.owns(target):
        raise OutputError(f"{path}: is a file of the model in {target.parent}; write elsewhere")
    if target.is_file() and not force:
        raise OutputError(f"{path}: already exists; use --force to replace it")


def _same_file(name: str, path: Path) -> bool:
    """Whether the input `name` (`-`: stdin, when it is a file) is the file at `path`."""
    if not path.exists():
        return False
    if name == STDIN:
        try:
            status = os.fstat(sys.stdin.fileno())
        except (AttributeError, OSError, ValueError):  # closed, or not a file (a test's stream)
            return False
        return stat.S_ISREG(status.st_mode) and os.path.samestat(status, path.stat())
    return Path(name).exists() and os.path.samefile(name, path)


@contextmanager
def replacing_output(
    path: Path, inputs: tuple[str | None, ...] = (), force: bool = False
) -> Iterator[TextIO]:
    """A text stream that replaces `path` only when the block finishes without an error.

    Until then the old file is untouched: a failed or interrupted run never empties it. A FIFO,
    device or standard stream is written in place (appended to, so `>> log` keeps the log), a
    symbolic link through.
    """
    check_output(path, inputs, force)
    if writes_in_place(path):
        with _cannot_write(path), open(path, "a", encoding="utf-8") as stream:  # `>> log`
            yield stream
        return
    path = write_target(path)
    with _cannot_write(path):
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            yield stream
        os.chmod(temp, 0o666 & ~umask())
        with _cannot_write(path):
            os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@contextmanager
def _cannot_write(path: Path) -> Iterator[None]:
    """Turn an `OSError` of the block into a one-line `OutputError` naming `path`."""
    try:
        yield
    except OSError as error:
        raise OutputError(f"{path}: cannot write ({error.strerror or error})") from None


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
