"""Reading text and parallel corpora: one module for every command that reads data.

A parallel corpus is either one TSV file (`source<TAB>target` per line) or two line-aligned
files. Files ending in `.gz` (or starting with the gzip magic bytes) are decompressed on the fly,
and `-` means standard input. Everything is streamed line by line, so a corpus larger than
memory can be scanned. Malformed input raises `CorpusError` naming the file and line number,
unless the caller asked to skip invalid lines, in which case a `SkipReport` counts them.
"""

from __future__ import annotations

import gzip
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from nmtcli.errors import ConfigError, CorpusError

STDIN = "-"
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class CorpusSpec:
    """Where a parallel corpus comes from: one TSV file, or a source file and a target file."""

    tsv: str | None = None
    src: str | None = None
    tgt: str | None = None

    def __post_init__(self) -> None:
        paired = self.src is not None or self.tgt is not None
        if self.tsv is not None and paired:
            raise CorpusError("give either a TSV corpus or --src-file/--tgt-file, not both")
        if self.tsv is None and not (self.src and self.tgt):
            raise CorpusError(
                "a parallel corpus needs a TSV file or both --src-file and --tgt-file"
            )

    def describe(self) -> str:
        """A short human-readable name for messages and model cards."""
        if self.tsv is not None:
            return display_name(self.tsv)
        return f"{display_name(self.src or '')} + {display_name(self.tgt or '')}"


@dataclass
class SkipReport:
    """Counts the lines skipped under `--skip-invalid`, keeping the first reason as an example."""

    skipped: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, reason: str) -> None:
        """Record one skipped line."""
        self.skipped += 1
        if len(self.examples) < 3:
            self.examples.append(reason)


def display_name(path: str) -> str:
    """The name used for `path` in messages (`<stdin>` for `-`)."""
    return "<stdin>" if path == STDIN else path


def _open_binary(path: str) -> BinaryIO:
    """Open `path` for binary reading, decompressing gzip transparently."""
    if path == STDIN:
        return stdin_bytes()
    try:
        handle = open(path, "rb")  # noqa: SIM115 - returned to the caller, closed there
    except IsADirectoryError:
        raise CorpusError(f"{path}: is a directory, expected a text file") from None
    except OSError as error:
        raise CorpusError(f"{path}: {error.strerror or error}") from None
    if path.endswith(".gz") or handle.peek(2)[:2] == _GZIP_MAGIC:
        return gzip.GzipFile(fileobj=handle, mode="rb")  # type: ignore[return-value]
    return handle


def read_raw_lines(path: str) -> Iterator[tuple[int, bytes]]:
    """Yield `(line_number, raw_bytes)` for each line of `path`, without the line ending."""
    handle = _open_binary(path)
    number = 0
    try:
        for number, raw in enumerate(handle, start=1):
            yield number, raw.rstrip(b"\r\n")
    except (OSError, EOFError, zlib.error) as error:
        kind = "damaged gzip data" if isinstance(handle, gzip.GzipFile) else "cannot read"
        raise CorpusError(f"{display_name(path)}:{number + 1}: {kind} ({error})") from None
    finally:
        if path != STDIN:
            handle.close()


def decode_line(path: str, number: int, raw: bytes, strip_bom: bool = True) -> str:
    """Decode one line as UTF-8, or raise `CorpusError` naming its file and line.

    A byte-order mark opening the file is dropped unless `strip_bom` is False (sacreBLEU
    keeps it, and `nmtcli bleu` scores as sacreBLEU does).
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise CorpusError(
            f"{display_name(path)}:{number}: invalid UTF-8 (byte {error.start + 1} of the line)"
        ) from None
    return text.lstrip("\ufeff") if number == 1 and strip_bom else text


def read_lines(path: str, strip_bom: bool = True) -> Iterator[str]:
    """Yield each line of a text file as a `str` (no line ending); invalid UTF-8 is an error."""
    for number, raw in read_raw_lines(path):
        yield decode_line(path, number, raw, strip_bom)


def stdin_bytes() -> BinaryIO:
    """stdin, as bytes; a `CorpusError` when it is closed (`<&-`)."""
    if sys.stdin is None:
        raise CorpusError("<stdin>: is closed; give the input as a file or an argument")
    return sys.stdin.buffer


def stdin_is_terminal() -> bool:
    """Whether stdin is an open terminal (not a pipe, a file, or closed)."""
    return sys.stdin is not None and sys.stdin.isatty()


def input_lines(sentences: list[str] | None, path: str | None, tty: bool) -> Iterator[str]:
    """What `translate` reads: its sentence arguments, the file `path`, or stdin (not a `tty`)."""
    if sentences and path:
        raise ConfigError("give sentences as arguments or --input, not both")
    if sentences:
        return iter(sentences)
    if path is None and tty:
        raise ConfigError("give a sentence, pipe text on stdin, or use --input FILE")
    return read_lines(path or STDIN)


def _parse_tsv_line(text: str) -> tuple[str, str]:
    """Split one TSV line into a (source, target) pair, or raise `ValueError` with the reason."""
    columns = text.split("\t")
    if len(columns) == 1:
        raise ValueError("missing tab between source and target")
    if len(columns) > 2:
        raise ValueError(f"{len(columns)} tab-separated columns, expected 2 (source, target)")
    return _check_sides(columns[0], columns[1])


def _check_sides(src: str, tgt: str) -> tuple[str, str]:
    """Strip both sides and reject an empty one."""
    src, tgt = src.strip(), tgt.strip()
    if not src:
        raise ValueError("empty source side")
    if not tgt:
        raise ValueError("empty target side")
    return src, tgt


def _skip_or_raise(error: CorpusError, report: SkipReport | None) -> None:
    """Raise `error`, or count it as a skipped line when skipping invalid lines."""
    if report is None:
        raise error
    report.add(str(error))


def _tsv_pairs(path: str, report: SkipReport | None) -> Iterator[tuple[str, str]]:
    """Pairs from a TSV file; bad lines raise, or are counted in `report` when one is given."""
    for number, raw in read_raw_lines(path):
        try:
            pair = _parse_tsv_line(decode_line(path, number, raw))
        except ValueError as error:
            _skip_or_raise(CorpusError(f"{display_name(path)}:{number}: {error}"), report)
            continue
        except CorpusError as error:
            _skip_or_raise(error, report)
            continue
        yield pair


def _mismatch(short: str, long_: str, number: int) -> CorpusError:
    """The error for two paired files of different lengths."""
    return CorpusError(
        f"{display_name(long_)}:{number}: line-count mismatch: "
        f"{display_name(short)} has only {number - 1} lines"
    )


def _paired_pairs(src: str, tgt: str, report: SkipReport | None) -> Iterator[tuple[str, str]]:
    """Pairs from two line-aligned files; a line-count mismatch is always an error."""
    src_lines, tgt_lines = read_raw_lines(src), read_raw_lines(tgt)
    for src_item in src_lines:
        tgt_item = next(tgt_lines, None)
        if tgt_item is None:
            raise _mismatch(tgt, src, src_item[0])
        number = src_item[0]
        try:
            pair = _check_sides(
                decode_line(src, number, src_item[1]), decode_line(tgt, number, tgt_item[1])
            )
        except ValueError as error:
            where = f"{display_name(src)}:{number}"
            _skip_or_raise(CorpusError(f"{where}: {error} (with {display_name(tgt)})"), report)
            continue
        except CorpusError as error:
            _skip_or_raise(error, report)
            continue
        yield pair
    extra = next(tgt_lines, None)
    if extra is not None:
        raise _mismatch(src, tgt, extra[0])


def read_pairs(spec: CorpusSpec, report: SkipReport | None = None) -> Iterator[tuple[str, str]]:
    """Stream the (source, target) pairs of a corpus.

    Args:
        spec: where the corpus is.
        report: when given, invalid lines are skipped and counted here instead of raising.

    Yields:
        `(source, target)` strings, stripped, both non-empty.

    Raises:
        CorpusError: on the first bad line (file:line in the message), a line-count mismatch,
            or when the corpus holds no valid pair at all.
    """
    pairs = (
        _tsv_pairs(spec.tsv, report)
        if spec.tsv is not None
        else _paired_pairs(spec.src or "", spec.tgt or "", report)
    )
    count = 0
    for count, pair in enumerate(pairs, start=1):  # noqa: B007 - count is read after the loop
        yield pair
    if count == 0:
        skipped = f" ({report.skipped} invalid lines skipped)" if report and report.skipped else ""
        raise CorpusError(f"{spec.describe()}: empty corpus, no sentence pairs{skipped}")
