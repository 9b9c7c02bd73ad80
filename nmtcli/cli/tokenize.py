"""`nmtcli tokenize`: text to SentencePiece pieces or ids and back, one line in, one line out."""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from nmtcli.cli.app import app
from nmtcli.cli.common import boundary
from nmtcli.corpus import STDIN, display_name, read_lines
from nmtcli.errors import CorpusError
from nmtcli.vocab import Vocabulary, line_converter


class Side(str, Enum):
    """Which side's tokenizer to use (the same one when the vocabulary is joint)."""

    src = "src"
    tgt = "tgt"


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
    convert = line_converter(tokenizer, ids, decode)
    write = sys.stdout.write
    for number, line in enumerate(read_lines(input_file), start=1):
        try:
            write(convert(line) + "\n")
        except ValueError as error:
            raise CorpusError(f"{display_name(input_file)}:{number}: {error}") from None
    sys.stdout.flush()
