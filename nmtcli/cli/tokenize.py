"""`nmtcli tokenize`: text to SentencePiece pieces or ids and back, one line in, one line out."""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from nmtcli.cli.app import app
from nmtcli.cli.common import boundary
from nmtcli.corpus import STDIN, display_name, read_lines
from nmtcli.errors import CorpusError
from nmtcli.vocab import Tokenizer, Vocabulary


class Side(str, Enum):
    """Which side's tokenizer to use (the same one when the vocabulary is joint)."""

    src = "src"
    tgt = "tgt"


def _parse_ids(text: str, size: int) -> list[int]:
    """Ids from a space-separated line; raises ValueError with the reason."""
    try:
        ids = [int(token) for token in text.split()]
    except ValueError:
        raise ValueError("expected space-separated integer ids") from None
    bad = next((i for i in ids if not 0 <= i < size), None)
    if bad is not None:
        raise ValueError(f"id {bad} is outside the vocabulary (0..{size - 1})")
    return ids


def _converter(tokenizer: Tokenizer, ids: bool, decode: bool) -> Callable[[str], str]:
    """The function applied to each line."""
    if decode and ids:
        return lambda line: tokenizer.decode(_parse_ids(line, tokenizer.size))
    if decode:
        return lambda line: tokenizer.decode_pieces(line.split())
    if ids:
        return lambda line: " ".join(map(str, tokenizer.encode(line)))
    return lambda line: " ".join(tokenizer.pieces(line))


@app.command(
    epilog="Example: echo 'turn off the lights' | nmtcli tokenize --vocab vocab/ "
    "| nmtcli tokenize --vocab vocab/ --decode",
)
@boundary
def tokenize(
    vocab: Annotated[
        Path,
        typer.Option("--vocab", "-v", help="Vocabulary or model directory.", show_default=False),
    ],
    input_file: Annotated[str, typer.Argument(help="Input text (default: stdin).")] = STDIN,
    side: Annotated[
        Side, typer.Option(help="Which side's model (separate vocabularies).")
    ] = Side.src,
    ids: Annotated[bool, typer.Option("--ids", help="Token ids instead of pieces.")] = False,
    decode: Annotated[
        bool, typer.Option("--decode", help="Reverse direction: pieces (or --ids) back to text.")
    ] = False,
) -> None:
    """Tokenize stdin line by line with a SentencePiece vocabulary (or detokenize with --decode)."""
    tokenizer = Vocabulary.load(vocab).side(side.value)
    convert = _converter(tokenizer, ids, decode)
    write = sys.stdout.write
    for number, line in enumerate(read_lines(input_file), start=1):
        try:
            write(convert(line) + "\n")
        except ValueError as error:
            raise CorpusError(f"{display_name(input_file)}:{number}: {error}") from None
    sys.stdout.flush()
