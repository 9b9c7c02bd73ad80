"""`nmtcli vocab`: train a SentencePiece vocabulary on a parallel corpus and summarise it."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer

from nmtcli.cli.app import app
from nmtcli.cli.common import (
    CorpusArg,
    ForceOpt,
    SkipInvalidOpt,
    SrcFileOpt,
    TgtFileOpt,
    boundary,
    note,
    stdout,
    warn,
)
from nmtcli.corpus import CorpusSpec, SkipReport
from nmtcli.vocab import VocabOptions, train_vocab


class ModelType(str, Enum):
    """SentencePiece segmentation algorithm."""

    unigram = "unigram"
    bpe = "bpe"


def report_skipped(report: SkipReport | None) -> None:
    """Tell the user how many invalid lines `--skip-invalid` skipped."""
    if report and report.skipped:
        warn(f"skipped {report.skipped} invalid line(s); first: {report.examples[0]}")


@app.command(
    epilog="Example: nmtcli vocab corpus.tsv -o vocab/ --vocab-size 8000 --model-type unigram",
)
@boundary
def vocab(
    output: Annotated[
        Path, typer.Option("--output", "-o", help="Directory to write the vocabulary to.")
    ],
    corpus: CorpusArg = None,
    src_file: SrcFileOpt = None,
    tgt_file: TgtFileOpt = None,
    model_type: Annotated[
        ModelType, typer.Option(help="SentencePiece algorithm.")
    ] = ModelType.unigram,
    vocab_size: Annotated[
        int, typer.Option(help="Pieces per model, including the 4 reserved ids.")
    ] = 8000,
    separate: Annotated[
        bool, typer.Option("--separate", help="One model per side instead of a joint one.")
    ] = False,
    character_coverage: Annotated[
        float, typer.Option(min=0.9, max=1.0, help="Share of characters the vocabulary must cover.")
    ] = 1.0,
    skip_invalid: SkipInvalidOpt = False,
    force: ForceOpt = False,
) -> None:
    """Train a SentencePiece vocabulary (joint by default) and print a summary.

    Reserved ids: <pad>=0, <s>=1, </s>=2, <unk>=3.
    """
    from nmtcli.modeldir import check_vocabulary_output
    from nmtcli.views import vocabulary_table

    check_vocabulary_output(output, force)
    spec = CorpusSpec(tsv=corpus, src=src_file, tgt=tgt_file)
    report = SkipReport() if skip_invalid else None
    options = VocabOptions(model_type.value, vocab_size, not separate, character_coverage)
    trained = train_vocab(spec, output, options, report)
    report_skipped(report)
    for message in trained.warnings:
        warn(message)
    stdout().print(vocabulary_table(trained))
    note(f"wrote {output}/")
