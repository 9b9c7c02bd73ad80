"""The seq2seq laboratory: `nmtcli toy`, `nmtcli evaluate` and `nmtcli compare`."""

from __future__ import annotations

import json
import sys
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from nmtcli.cli.app import app
from nmtcli.cli.common import (
    OutputFormat,
    SkipInvalidOpt,
    SrcFileOpt,
    boundary,
    color_enabled,
    note,
    stdout,
)
from nmtcli.cli.options import (
    DEFAULT_BEAM,
    DEFAULT_LENGTH_PENALTY,
    DEFAULT_MAX_LENGTH,
    DEFAULT_MAX_RATIO,
    BatchSizeOpt,
    BeamOpt,
    DeviceOpt,
    LengthPenaltyOpt,
    MaxLengthOpt,
    MaxRatioOpt,
    MinLengthOpt,
    NoRepeatOpt,
    PrecisionOpt,
    search_options,
)
from nmtcli.corpus import CorpusSpec, SkipReport, read_pairs

if TYPE_CHECKING:
    from nmtcli.evaluation import Report, Scores
    from nmtcli.search import SearchOptions


class Task(str, Enum):
    """Toy tasks."""

    copy = "copy"
    reverse = "reverse"
    sort = "sort"
    swap = "swap"


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
    test: str | None, src_file: str | None, ref_file: str | None, skip: bool
) -> tuple[list[str], list[str]]:
    """Sources and references of a test set."""
    report = SkipReport() if skip else None
    pairs = list(read_pairs(CorpusSpec(tsv=test, src=src_file, tgt=ref_file), report))
    if report and report.skipped:
        note(f"warning: skipped {report.skipped} invalid line(s); first: {report.examples[0]}")
    return [s for s, _ in pairs], [t for _, t in pairs]


def _evaluate_model(
    model: Path | None,
    sources: list[str],
    references: list[str],
    options: SearchOptions,
    batch_size: int,
    device: str,
    precision: str,
    width: int,
    last: int,
) -> tuple[Report, list[str]]:
    """Translate the sources with one model and score the output."""
    from nmtcli.cli.translate import load_translator
    from nmtcli.evaluation import evaluate as evaluate_set

    translator = load_translator(model, device, precision)
    hypotheses = [t.best.text for t in translator.translate(sources, options, batch_size)]
    return evaluate_set(sources, hypotheses, references, width, last), hypotheses


def _scores_row(label: str, scores: Scores) -> list[str]:
    """One table row of metrics."""
    return [
        label,
        f"{scores.sentences:,}",
        f"{scores.bleu:.2f}",
        f"{scores.chrf:.2f}",
        f"{scores.exact_match:.1%}",
        f"{scores.length_ratio:.3f}",
        f"{scores.repetition:.1%}",
        f"{scores.too_short:.1%}",
        f"{scores.too_long:.1%}",
    ]


def _scores_table(title: str, rows: list[list[str]], first: str) -> Table:
    """A Rich table of metric rows."""
    table = Table(title=title, title_justify="left")
    for header in (first, "n", "BLEU", "chrF", "exact", "length", "repeats", "short", "long"):
        table.add_column(header, justify="left" if header == first else "right")
    table.caption = (
        "exact: identical to the reference; length: hypothesis/reference words; repeats: an "
        "n-gram repeated more than in the reference; short/long: < 0.8× / > 1.2× the reference"
    )
    for row in rows:
        table.add_row(*row)
    return table


def _decoding_label(options: SearchOptions) -> str:
    """`greedy` or `beam 5, α 1.0`."""
    return (
        "greedy"
        if options.beam_size == 1
        else f"beam {options.beam_size}, α {options.length_penalty:g}"
    )


TestArg = Annotated[
    str | None,
    typer.Argument(help="Test set: TSV `source<TAB>reference` (.gz ok).", show_default=False),
]
RefFileOpt = Annotated[
    str | None,
    typer.Option(
        "--ref-file", help="References, line-aligned with --src-file.", show_default=False
    ),
]
WidthOpt = Annotated[
    int, typer.Option("--bucket-width", help="Source-length bucket width, in words.", min=1)
]
LastOpt = Annotated[
    int, typer.Option("--bucket-max", help="Sources longer than this share the last bucket.", min=1)
]


@app.command(epilog="Example: nmtcli evaluate -m runs/en-fr test.tsv --by-length")
@boundary
def evaluate(
    test: TestArg = None,
    model: Annotated[
        Path | None,
        typer.Option(
            "--model",
            "-m",
            help="Model directory (default: the shipped model).",
            show_default=False,
        ),
    ] = None,
    src_file: SrcFileOpt = None,
    ref_file: RefFileOpt = None,
    by_length: Annotated[
        bool, typer.Option("--by-length", help="Add a table per source-length bucket.")
    ] = False,
    bucket_width: WidthOpt = 10,
    bucket_max: LastOpt = 60,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text or json.")
    ] = OutputFormat.text,
    hypotheses_out: Annotated[
        Path | None,
        typer.Option("--hypotheses", help="Also write the translations here.", show_default=False),
    ] = None,
    record: Annotated[
        str | None,
        typer.Option(
            "--record",
            help="Save the scores under this test-set name in the model's card.",
            show_default=False,
        ),
    ] = None,
    beam_size: BeamOpt = DEFAULT_BEAM,
    length_penalty: LengthPenaltyOpt = DEFAULT_LENGTH_PENALTY,
    max_length: MaxLengthOpt = DEFAULT_MAX_LENGTH,
    max_length_ratio: MaxRatioOpt = DEFAULT_MAX_RATIO,
    min_length: MinLengthOpt = 0,
    no_repeat_ngram: NoRepeatOpt = 0,
    batch_size: BatchSizeOpt = 64,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "fp32",
    skip_invalid: SkipInvalidOpt = False,
) -> None:
    """Translate a test set and report BLEU, chrF, exact match, length and repetition problems."""
    from nmtcli.evaluation import report_dict

    options = search_options(
        beam_size, length_penalty, max_length, max_length_ratio, min_length, no_repeat_ngram
    )
    sources, references = _test_pairs(test, src_file, ref_file, skip_invalid)
    report, hypotheses = _evaluate_model(
        model, sources, references, options, batch_size, device, precision, bucket_width, bucket_max
    )
    if hypotheses_out is not None:
        hypotheses_out.write_text("".join(h + "\n" for h in hypotheses), encoding="utf-8")
    if record is not None:
        _record(model, record, report, options)
    if output_format == OutputFormat.json:
        payload = report_dict(report) | {"decoding": _decoding_label(options)}
        if not by_length:
            payload.pop("buckets")
        typer.echo(json.dumps(payload, indent=2))
        return
    console = stdout()
    name = test or src_file or "test"
    console.print(
        _scores_table(
            f"{name} ({_decoding_label(options)})", [_scores_row("all", report.overall)], "set"
        )
    )
    if by_length:
        rows = [_scores_row(b.label, b.scores) for b in report.buckets]
        console.print(_scores_table("by source length (words)", rows, "length"))
    console.print(
        f"BLEU: {report.bleu_signature}\nchrF: {report.chrf_signature}",
        highlight=False,
        soft_wrap=True,
    )


def _record(model: Path | None, name: str, report: Report, options: SearchOptions) -> None:
    """Add (or replace) a test result in the model directory's records and card."""
    from nmtcli.modeldir import ModelDir
    from nmtcli.records import EvaluationRecord
    from nmtcli.shipped import default_model_dir

    model_dir = ModelDir.load(model if model is not None else default_model_dir())
    model_dir.record_evaluation(
        EvaluationRecord(
            test=name,
            bleu=round(report.overall.bleu, 2),
            chrf=round(report.overall.chrf, 2),
            sentences=report.overall.sentences,
            decoding=_decoding_label(options),
            signature=report.bleu_signature,
            chrf_signature=report.chrf_signature,
        )
    )


@app.command(
    epilog="Example: nmtcli compare -m runs/none -m runs/bahdanau test.tsv --plot bleu.png",
)
@boundary
def compare(
    test: TestArg = None,
    models: Annotated[
        list[Path], typer.Option("--model", "-m", help="Model directories (repeat -m).")
    ] = ...,  # type: ignore[assignment]
    src_file: SrcFileOpt = None,
    ref_file: RefFileOpt = None,
    metric: Annotated[Metric, typer.Option("--metric", help="What the chart shows.")] = Metric.bleu,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot",
            help="Also save a line plot (.png, .svg, .pdf; needs matplotlib).",
            show_default=False,
        ),
    ] = None,
    bucket_width: WidthOpt = 10,
    bucket_max: LastOpt = 60,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", "-f", help="text or json.")
    ] = OutputFormat.text,
    beam_size: BeamOpt = DEFAULT_BEAM,
    length_penalty: LengthPenaltyOpt = DEFAULT_LENGTH_PENALTY,
    max_length: MaxLengthOpt = DEFAULT_MAX_LENGTH,
    max_length_ratio: MaxRatioOpt = DEFAULT_MAX_RATIO,
    min_length: MinLengthOpt = 0,
    no_repeat_ngram: NoRepeatOpt = 0,
    batch_size: BatchSizeOpt = 64,
    device: DeviceOpt = "auto",
    precision: PrecisionOpt = "fp32",
    skip_invalid: SkipInvalidOpt = False,
) -> None:
    """Evaluate several models on one test set, per source-length bucket, with a chart."""
    from nmtcli.charts import bar_chart, save_plot
    from nmtcli.evaluation import report_dict

    options = search_options(
        beam_size, length_penalty, max_length, max_length_ratio, min_length, no_repeat_ngram
    )
    sources, references = _test_pairs(test, src_file, ref_file, skip_invalid)
    names = _model_names(models)
    reports = {
        name: _evaluate_model(
            path,
            sources,
            references,
            options,
            batch_size,
            device,
            precision,
            bucket_width,
            bucket_max,
        )[0]
        for name, path in zip(names, models)
    }
    labels = _bucket_labels(reports)
    series = {
        name: _bucket_values(report, labels, metric.value) for name, report in reports.items()
    }
    if plot is not None:
        save_plot(
            plot,
            labels,
            series,
            metric.value,
            f"{metric.value} by source length ({_decoding_label(options)})",
        )
    if output_format == OutputFormat.json:
        typer.echo(
            json.dumps(
                {name: report_dict(r) for name, r in reports.items()}
                | {"decoding": _decoding_label(options)},
                indent=2,
            )
        )
        return
    console = stdout()
    console.print(_comparison_table(reports, labels, metric.value))
    unit = "%" if metric == Metric.exact_match else ""
    scaled = {
        n: [None if v is None else (v * 100 if unit else v) for v in vs] for n, vs in series.items()
    }
    console.print(
        bar_chart(labels, scaled, console.width, color_enabled() and console.is_terminal, unit)
    )
    if plot is not None:
        note(f"wrote {plot}")


def _model_names(models: list[Path]) -> list[str]:
    """Short unique names for the models (directory names, or paths if those collide)."""
    names = [path.resolve().name for path in models]
    return names if len(set(names)) == len(names) else [str(path) for path in models]


def _bucket_labels(reports: dict[str, Report]) -> list[str]:
    """All bucket labels, in length order."""
    seen = {b.label: b.low for report in reports.values() for b in report.buckets}
    return sorted(seen, key=seen.__getitem__)


def _bucket_values(report: Report, labels: list[str], metric: str) -> list[float | None]:
    """The metric per bucket label (None for an empty bucket)."""
    by_label = {b.label: getattr(b.scores, metric) for b in report.buckets}
    return [by_label.get(label) for label in labels]


def _comparison_table(reports: dict[str, Report], labels: list[str], metric: str) -> Table:
    """Rows: buckets and the whole set; columns: the metric for each model."""
    table = Table(title=f"{metric} by source length (words)", title_justify="left")
    table.add_column("length")
    table.add_column("sentences", justify="right")
    for name in reports:
        table.add_column(name, justify="right")
    first = next(iter(reports.values()))
    counts = {b.label: b.scores.sentences for b in first.buckets}
    fmt = (lambda v: f"{v:.1%}") if metric == "exact_match" else (lambda v: f"{v:.2f}")
    for label in labels:
        values = [_bucket_values(r, [label], metric)[0] for r in reports.values()]
        table.add_row(
            label, f"{counts.get(label, 0):,}", *("–" if v is None else fmt(v) for v in values)
        )
    table.add_row(
        "all",
        f"{first.overall.sentences:,}",
        *(fmt(getattr(r.overall, metric)) for r in reports.values()),
        style="bold",
    )
    return table
