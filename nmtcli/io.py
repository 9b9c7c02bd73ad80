"""Atomic file writes: a temporary file in the same directory, fsync, then rename.

A process killed at any moment leaves either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from nmtcli.errors import OutputError


def _umask() -> int:
    """The process umask (read without changing it for good)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


_write_points = 0


def write_point(label: str) -> None:
    """A moment at which a crash must leave every file consistent (the fault-injection tests).

    With NMTCLI_FAULT_LOG set, each point appends its label there; with NMTCLI_FAULT_AT=N, the
    process dies at the N-th point as if killed (no clean-up runs). Unset, nothing happens.
    """
    global _write_points
    _write_points += 1
    log = os.environ.get("NMTCLI_FAULT_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as out:
            out.write(f"{_write_points}\t{label}\n")
    if os.environ.get("NMTCLI_FAULT_AT") == str(_write_points):
        os._exit(137)


def atomic_write(path: Path, write: Callable[[str], None]) -> None:
    """Create `path` atomically: `write(temp_path)` fills a temporary file that is then renamed."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise OutputError(f"{path}: cannot write ({error.strerror or error})") from None
    os.close(handle)
    try:
        write(temp)
        os.chmod(temp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        with open(temp, "rb") as written:
            os.fsync(written.fileno())
        write_point(f"{path.name} written, not renamed")
        os.replace(temp, path)
    except OSError as error:
        Path(temp).unlink(missing_ok=True)
        raise OutputError(f"{path}: cannot write ({error.strerror or error})") from None
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    write_point(f"{path.name} renamed")


def fsync_directory(path: Path) -> None:
    """Make renames inside `path` durable (a no-op where directories cannot be opened)."""
    try:
        handle = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    atomic_write(path, lambda temp: Path(temp).write_bytes(data))


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def check_output(path: Path, inputs: tuple[str | None, ...] = ()) -> None:
    """Refuse an output file that cannot be written, or that is one of the `inputs`."""
    if path.is_dir():
        raise OutputError(f"{path}: is a directory, not a file to write")
    if not path.parent.is_dir():
        raise OutputError(f"{path}: the folder {path.parent} does not exist")
    for name in inputs:
        if (
            name not in (None, "-")
            and path.exists()
            and Path(name).exists()
            and os.path.samefile(name, path)
        ):
            raise OutputError(f"{path}: is also the input {name}; write to another file")


@contextmanager
def replacing_output(path: Path, inputs: tuple[str | None, ...] = ()) -> Iterator[TextIO]:
    """A text stream that replaces `path` only when the block finishes without an error.

    Until then the old file is untouched: a failed or interrupted run never empties it.
    """
    check_output(path, inputs)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            yield stream
        os.chmod(temp, 0o666 & ~_umask())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


@contextmanager
def output_stream(path: Path | None, inputs: tuple[str | None, ...] = ()) -> Iterator[TextIO]:
    """stdout when `path` is None, else a `replacing_output` for it."""
    if path is None:
        yield sys.stdout
        return
    with replacing_output(path, inputs) as stream:
        yield stream
