"""Atomic file writes: a temporary file in the same directory, fsync, then rename.

A process killed at any moment leaves either the old file or the new one, never a torn one.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

from nmtcli.errors import OutputError


def umask() -> int:
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


def atomic_write(path: Path, write: Callable[[str], None], follow: bool = False) -> None:
    """Create `path` atomically: `write(temp_path)` fills a temporary file that is then renamed.

    With `follow` (a file the user named), a symbolic link is written through (its target is
    replaced) and a FIFO, device or standard stream (`/dev/null`, `/dev/stdout`) is written in
    place: renaming over them would replace them by a file. Without it (nmtcli's own files), a
    link is replaced, never followed out of a model directory.
    """
    if follow and writes_in_place(path):
        _write_in_place(path, write)
        return
    path = write_target(path) if follow else path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as error:
        raise OutputError(f"{path}: cannot write ({error.strerror or error})") from None
    os.close(handle)
    try:
        write(temp)
        os.chmod(temp, 0o666 & ~umask())  # mkstemp makes 0600; give the usual permissions
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


def atomic_write_bytes(path: Path, data: bytes, follow: bool = False) -> None:
    """Write `data` to `path` atomically (`follow`: as `atomic_write`)."""
    atomic_write(path, lambda temp: Path(temp).write_bytes(data), follow)


def atomic_write_text(path: Path, text: str, follow: bool = False) -> None:
    """Write `text` (UTF-8) to `path` atomically (`follow`: as `atomic_write`)."""
    atomic_write_bytes(path, text.encode("utf-8"), follow)


def write_target(path: Path) -> Path:
    """The file a write to `path` reaches: a symbolic link's target (`path` itself if none)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def writes_in_place(path: Path) -> bool:
    """Whether a write to `path` must go in place rather than by a rename over it.

    So it is for a FIFO, a device (`/dev/null`), a pipe reached through `/dev/stdout` or
    `/dev/fd/N`, and the file this process's stdout or stderr already writes (`>> log`).
    """
    try:
        status = path.stat()  # follows links
    except OSError:
        return False
    if not stat.S_ISREG(status.st_mode):
        return not stat.S_ISDIR(status.st_mode)
    return any(_is_stream(status, descriptor) for descriptor in (1, 2))


def _is_stream(status: os.stat_result, descriptor: int) -> bool:
    """Whether the open file `descriptor` is the file of `status`."""
    try:
        return os.path.samestat(os.fstat(descriptor), status)
    except OSError:
        return False


def _write_in_place(path: Path, write: Callable[[str], None]) -> None:
    """Write to a FIFO, device or standard stream: to a temporary file, then appended to it.

    Appended, so that `>> log` keeps what the log held.
    """
    with tempfile.TemporaryDirectory(prefix="nmtcli-") as scratch:
        temp = Path(scratch) / path.name
        try:
            write(str(temp))
            with open(path, "ab") as out:
                out.write(temp.read_bytes())
        except OSError as error:
            raise OutputError(f"{path}: cannot write ({error.strerror or error})") from None
