"""`nmtcli bleu`: corpus BLEU / chrF / TER of hypotheses on stdin, as sacrebleu computes them."""

from __future__ import annotations

from typing import Annotated

import typer

from nmtcli.cli.app import app
from nmtcli.cli.common import OutputFormat, boundary
from nmtcli.corpus import STDIN, stdin_is_terminal
from nmtcli.scoring import (
    BLEU_TOKENIZERS,
    METRICS,
    ScoreOptions,
    corpus_scores,
    format_scores,
    read_for_scoring,
)

METRIC_NAMES = frozenset(METRICS)


@app.command(
    epilog="Example: nmtcli translate -m runs/x < test.en | nmtcli bleu test.fr -m bleu chrf",
)
@boundary
def bleu(
    references: Annotated[
        list[str], typer.Argument(help="Reference file(s), one per reference set (.gz ok).")
    ],
    input_file: Annotated[
        str, typer.Option("--input", "-i", help="Hypotheses file (default: stdin).")
    ] = STDIN,
    metrics: Annotated[
        list[str] | None,
        typer.Option(
            "--metrics", "-m", help="Metrics: bleu, chrf, ter (several after one -m, as sacrebleu)."
        ),
    ] = None,
    score_only: Annotated[
        bool, typer.Option("--score-only", "-b", help="Print only the score(s).")
    ] = False,
    width: Annotated[
        int, typer.Option("--width", "-w", help="Decimals in scores.", min=0, max=20)
    ] = 1,
    tokenize: Annotated[
        str | None,
        typer.Option(
            "--tokenize",
            "-tok",
            help=f"BLEU tokenizer ({', '.join(BLEU_TOKENIZERS)}); default 13a.",
        ),
    ] = None,
    lowercase: Annotated[
        bool, typer.Option("--lowercase", "-lc", help="Case-insensitive BLEU and chrF.")
    ] = False,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text, or json as sacrebleu prints it.")
    ] = OutputFormat.text,
) -> None:
    """Score hypotheses (stdin or -i) against references: sacreBLEU's numbers and signature."""
    chosen = tuple(name.lower() for name in (metrics or ["bleu"]))
    if input_file == STDIN and stdin_is_terminal():
        raise typer.BadParameter("pipe hypotheses on stdin or give --input FILE")
    options = ScoreOptions(chosen, tokenize, lowercase, width, score_only)
    hypotheses, reference_sets = read_for_scoring(input_file, references)
    results = corpus_scores(hypotheses, reference_sets, options)
    typer.echo(format_scores(results, output_format == OutputFormat.json, score_only))
