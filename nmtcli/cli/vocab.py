"""`nmtcli vocab`: train a SentencePiece vocabulary on a parallel corpus and summarise it."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from nmtcli.cli.app import app
from nmtcli.cli.common import (
    CorpusArg,
    ForceOpt,
    SkipInvalidOpt,
    SrcFileOpt,
    TgtFileOpt,
    boundary,
    fail,
    note,
    stdout,
    warn,
)
from nmtcli.corpus import CorpusSpec, SkipReport
from nmtcli.vocab import VOCAB_META, SideStats, TrainedVocab, VocabOptions, side_stats, train_vocab


class ModelType(str, Enum):
    """SentencePiece segmentation algorithm."""

    unigram = "unigram"
    bpe = "bpe"


def report_skipped(report: SkipReport | None) -> None:
    """Tell the user how many invalid lines `--skip-invalid` skipped."""
    if report and report.skipped:
        warn(f"skipped {report.skipped} invalid line(s); first: {report.examples[0]}")


def summary_table(trained: TrainedVocab) -> Table:
    """Vocabulary size, pieces per sentence, coverage and unknown rate per side."""
    vocabulary, sample = trained.vocabulary, trained.sample
    sides: list[tuple[str, SideStats]] = [
        ("source", side_stats(vocabulary.src, [s for s, _ in sample])),
        ("target", side_stats(vocabulary.tgt, [t for _, t in sample])),
    ]
    kind = "joint" if vocabulary.joint else "separate"
    table = Table(title=f"{kind} {vocabulary.model_type} vocabulary, {trained.pairs_read:,} pairs")
    for header in ("side", "vocab size", "pieces/sentence", "char coverage", "unknown rate"):
        table.add_column(header, justify="left" if header == "side" else "right")
    for name, stats in sides:
        table.add_row(
            name,
            f"{stats.vocab_size:,}",
            f"{stats.pieces_per_sentence:.1f}",
            f"{stats.character_coverage:.4%}",
            f"{stats.unknown_rate:.4%}",
        )
    if len(sample) < trained.pairs_read:
        table.caption = f"statistics on the first {len(sample):,} pairs"
    return table


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
    if (output / VOCAB_META).exists() and not force:
        fail(f"{output} already holds a vocabulary; use --force to replace it")
    spec = CorpusSpec(tsv=corpus, src=src_file, tgt=tgt_file)
    report = SkipReport() if skip_invalid else None
    options = VocabOptions(model_type.value, vocab_size, not separate, character_coverage)
    trained = train_vocab(spec, output, options, report)
    report_skipped(report)
    for message in trained.warnings:
        warn(message)
    stdout().print(summary_table(trained))
    note(f"wrote {output}/")
