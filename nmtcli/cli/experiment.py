"""The seq2seq laboratory: `nmtcli toy`, `nmtcli evaluate` and `nmtcli compare`."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from nmtcli.cli.app import app
from nmtcli.cli.common import (
    ForceOpt,
    FormatOpt,
    OutputFormat,
    SkipInvalidOpt,
    SrcFileOpt,
    boundary,
    color_enabled,
    note,
    plain_option,
    stdout,
)
from nmtcli.cli.options import BatchSizeOpt, DeviceOpt, ModelOpt, PrecisionOpt, with_search_options
from nmtcli.corpus import CorpusSpec, SkipReport
from nmtcli.evaluation import read_test_set, with_categories
from nmtcli.toy import TASKS

if TYPE_CHECKING:
    from nmtcli.decoding import SearchOptions


Task = Enum("Task", {name: name for name in TASKS}, type=str)  # type: ignore[misc]


class Metric(str, Enum):
    """Metric to chart."""

    bleu = "bleu"
    chrf = "chrf"
    exact_match = "exact_match"


@app.command(epilog="Example: nmtcli toy reverse --size 20000 --max-len 50 > reverse.tsv")
@boundary
def toy(
    task: Annotated[Task, typer.Argument(help="copy, reverse, sort, or swap (phrase reordering).")],
    size: Annotated[int, typer.Option("--size", help="Number of pairs.", min=1)] = 10000,
    min_len: Annotated[
        int, typer.Option("--min-len", help="Shortest source, in symbols.", min=1)
    ] = 3,
    max_len: Annotated[
        int, typer.Option("--max-len", help="Longest source, in symbols.", min=1)
    ] = 20,
    vocab_size: Annotated[int, typer.Option("--vocab-size", help="Distinct symbols.", min=2)] = 20,
    seed: Annotated[int, typer.Option("--seed", help="Random seed (same seed, same corpus).")] = 1,
) -> None:
    """Write a synthetic parallel corpus (TSV) to stdout, for experiments with seq2seq models."""
    from nmtcli.toy import toy_pairs

    write = sys.stdout.write
    for source, target in toy_pairs(task.value, size, min_len, max_len, vocab_size, seed):
        write(f"{source}\t{target}\n")


def _test_pairs(
    test: str | None, src_file: str | None, ref_file: str | None, skip: bool, by_category: bool
) -> tuple[list[str], list[str], list[str]]:
    """Sources, references and categories (`evaluation.read_test_set`), noting skipped lines."""
    spec, report = CorpusSpec(tsv=test, src=src_file, tgt=ref_file), SkipReport() if skip else None
    pairs = read_test_set(spec, report, by_category)
    if report and report.skipped:
        note(f"warning: skipped {report.skipped} invalid line(s); first: {report.examples[0]}")
    return pairs


HYPOTHESES = "Also write the translations here."
RECORD = "Save the scores under this test-set name in the model's card."
BY_CATEGORY = "Add a table per category (TSV with the header category<TAB>source<TAB>reference)."
PLOT = "Also save a line plot (.png, .svg, .pdf; needs matplotlib)."
TestArg = Annotated[
    str | None,
    typer.Argument(help="Test set: TSV `source<TAB>reference` (.gz ok).", show_default=False),
]
RefFileOpt = Annotated[
    str | None, plain_option("--ref-file", help="References, line-aligned with --src-file.")
]
WidthOpt = Annotated[
    int, typer.Option("--bucket-width", help="Source-length bucket width, in words.", min=1)
]
LastOpt = Annotated[
    int, typer.Option("--bucket-max", help="Sources longer than this share the last bucket.", min=1)
]


@app.command(epilog="Example: nmtcli evaluate -m runs/en-fr test.tsv --by-length")
@with_search_options
@boundary
def evaluate(
    test: TestArg = None,
    model: ModelOpt = None,
    src_file: SrcFileOpt = None,
    ref_file: RefFileOpt = None,
    by_length: Annotated[
        bool, typer.Option("--by-length", help="Add a table per source-length bucket.")
    ] = False,
    by_category: Annotated[bool, typer.Option("--by-category", help=BY_CATEGORY)] = False,
    bucket_width: WidthOpt = 10,
    bucket_max: LastOpt = 60,
    output_format: FormatOpt = OutputFormat.text,
    hypotheses_out: Annotated[Path | None, plain_option("--hypotheses", help=HYPOTHESES)] = None,
    record: Annotated[str | None, plain_option("--record", help=RECORD)] = None,
    batch_size: BatchSizeOpt = 64,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = None,
    skip_invalid: SkipInvalidOpt = False,
    force: ForceOpt = False,
    *,
    search: SearchOptions,
) -> None:
    """Translate a test set and report BLEU, chrF, exact match, length and repetition problems."""
    from nmtcli.engines import open_engine
    from nmtcli.evaluation import evaluation_record, report_dict
    from nmtcli.modeldir import ModelDir
    from nmtcli.outputs import check_output, replacing_output
    from nmtcli.shipped import model_or_default
    from nmtcli.views import evaluation_tables

    check_output(hypotheses_out, (test, src_file, ref_file), force)
    *pairs, categories = _test_pairs(test, src_file, ref_file, skip_invalid, by_category)
    translator, limits = open_engine(model, device, precision), (bucket_width, bucket_max)
    report, hypotheses = translator.evaluate(*pairs, search, batch_size, *limits)
    if by_category:
        report = with_categories(report, categories, pairs[0], hypotheses, pairs[1])
    decoding = search.label()
    if hypotheses_out is not None:
        with replacing_output(hypotheses_out, (test, src_file, ref_file), force) as stream:
            stream.write("".join(h + "\n" for h in hypotheses))
    if record is not None:
        ModelDir.load(model_or_default(model)).record_evaluation(
            evaluation_record(record, report, decoding)
        )
    if output_format == OutputFormat.json:
        typer.echo(json.dumps(report_dict(report, by_length) | {"decoding": decoding}, indent=2))
        return
    console = stdout()
    for table in evaluation_tables(f"{test or src_file or 'test'} ({decoding})", report, by_length):
        console.print(table)
    console.print(f"BLEU: {report.bleu_signature}\nchrF: {report.chrf_signature}", soft_wrap=True)


@app.command(
    epilog="Example: nmtcli compare -m runs/none -m runs/bahdanau test.tsv --plot bleu.png",
)
@with_search_options
@boundary
def compare(
    test: TestArg = None,
    models: Annotated[
        list[Path], typer.Option("--model", "-m", help="Model directories (repeat -m).")
    ] = ...,  # type: ignore[assignment]
    src_file: SrcFileOpt = None,
    ref_file: RefFileOpt = None,
    metric: Annotated[Metric, typer.Option("--metric", help="What the chart shows.")] = Metric.bleu,
    plot: Annotated[Path | None, plain_option("--plot", help=PLOT)] = None,
    bucket_width: WidthOpt = 10,
    bucket_max: LastOpt = 60,
    output_format: FormatOpt = OutputFormat.text,
    batch_size: BatchSizeOpt = 64,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = None,
    skip_invalid: SkipInvalidOpt = False,
    force: ForceOpt = False,
    *,
    search: SearchOptions,
) -> None:
    """Evaluate several models on one test set, per source-length bucket, with a chart."""
    from nmtcli.charts import save_plot
    from nmtcli.engines import open_engine
    from nmtcli.evaluation import bucket_labels, bucket_values, model_labels, report_dict
    from nmtcli.outputs import check_output
    from nmtcli.views import comparison_chart, comparison_table

    check_output(plot, force=force)
    pairs = _test_pairs(test, src_file, ref_file, skip_invalid, False)[:2]
    reports = {
        name: open_engine(path, device, precision).evaluate(
            *pairs, search, batch_size, bucket_width, bucket_max
        )[0]
        for name, path in zip(model_labels(models), models)
    }
    labels, decoding = bucket_labels(list(reports.values())), search.label()
    series = {name: bucket_values(r, labels, metric.value) for name, r in reports.items()}
    if plot is not None:
        title = f"{metric.value} by source length ({decoding})"
        save_plot(plot, labels, series, metric.value, title)
    if output_format == OutputFormat.json:
        payload = {name: report_dict(r) for name, r in reports.items()} | {"decoding": decoding}
        typer.echo(json.dumps(payload, indent=2))
        return
    console = stdout()
    console.print(comparison_table(reports, labels, metric.value))
    color = color_enabled() and console.is_terminal
    console.print(comparison_chart(labels, series, metric.value, console.width, color))
    if plot is not None:
        note(f"wrote {plot}")
