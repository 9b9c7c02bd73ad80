"""`nmtcli train`: one command from a parallel corpus to a model directory."""

from __future__ import annotations

import signal
import sys
import time
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nmtcli.cli.app import app
from nmtcli.cli.common import (
    CorpusArg,
    SkipInvalidOpt,
    SrcFileOpt,
    TgtFileOpt,
    boundary,
    note,
    stderr,
)
from nmtcli.corpus import CorpusSpec

if TYPE_CHECKING:
    from collections.abc import Iterator

    from nmtcli.training.trainer import StepReport, Trainer, ValidReport

DATA, MODEL, TRAIN, VALID, RUN = "Data", "Model", "Training", "Validation", "Runtime"


class Arch(str, Enum):
    """Model architecture."""

    rnn = "rnn"
    transformer = "transformer"


class Cell(str, Enum):
    """RNN cell."""

    lstm = "lstm"
    gru = "gru"


class AttentionKind(str, Enum):
    """RNN attention."""

    none = "none"
    bahdanau = "bahdanau"
    dot = "dot"
    general = "general"
    concat = "concat"


def _option(*names: str, panel: str, help: str) -> Any:
    """A `typer.Option` in a help panel, defaulting to None (= config file or built-in default)."""
    return typer.Option(*names, help=help, rich_help_panel=panel, show_default=False)


def format_duration(seconds: float | None) -> str:
    """`1h02m`, `5m12s`, `42s`, or `?`."""
    if seconds is None or seconds != seconds or seconds == float("inf"):
        return "?"
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


def step_stats(report: StepReport) -> str:
    """Epoch, loss, perplexity, throughput, learning rate and ETA of one step."""
    return (
        f"epoch {report.epoch:.2f} | loss {report.loss:.3f} | ppl {report.ppl:.2f} | "
        f"{report.tokens_per_second:,.0f} tok/s | lr {report.lr:.2e} | "
        f"ETA {format_duration(report.eta_seconds)}"
    )


def step_line(report: StepReport) -> str:
    """One plain progress line."""
    done = "" if report.fraction_done is None else f" ({report.fraction_done:.0%})"
    return f"step {report.step}{done} | {step_stats(report)}"


def valid_line(report: ValidReport) -> str:
    """One validation line."""
    best = " (best)" if report.is_best else ""
    return (
        f"validation at step {report.step} (epoch {report.epoch:.2f}): loss {report.loss:.3f} | "
        f"ppl {report.ppl:.2f} | BLEU {report.bleu:.2f}{best}"
    )


class PlainReporter:
    """Periodic plain lines on stderr (when it is not a terminal)."""

    def __init__(self, every: float) -> None:
        self.every, self.last = every, 0.0

    def step(self, report: StepReport) -> None:
        """Print a line at most every `every` seconds."""
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            note(step_line(report))

    def validation(self, report: ValidReport) -> None:
        """Print every validation."""
        note(valid_line(report))


class RichReporter:
    """A live Rich progress bar on stderr, with validation lines printed above it."""

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn("[bold]step {task.fields[step]}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[stats]}"),
            console=stderr(),
            transient=True,
        )
        self.task = self.progress.add_task("train", total=1.0, step=0, stats="")
        self.progress.start()

    def step(self, report: StepReport) -> None:
        """Update the bar."""
        self.progress.update(
            self.task,
            completed=report.fraction_done or 0.0,
            step=report.step,
            stats=step_stats(report),
        )

    def validation(self, report: ValidReport) -> None:
        """Print the validation result above the bar."""
        self.progress.console.print(valid_line(report), highlight=False)

    def close(self) -> None:
        """Remove the bar."""
        self.progress.stop()


class SilentReporter:
    """For ranks other than 0."""

    def step(self, report: StepReport) -> None:
        """Nothing."""

    def validation(self, report: ValidReport) -> None:
        """Nothing."""


@contextmanager
def stop_on_interrupt(trainer: Trainer) -> Iterator[None]:
    """First Ctrl-C: finish the step, save, exit; a second one aborts at once."""

    def handler(_signum: int, _frame: Any) -> None:
        if trainer.stop_requested:
            raise KeyboardInterrupt
        trainer.request_stop()
        note("stopping after this step to save a checkpoint (Ctrl-C again to abort)")

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _describe_start(trainer: Trainer) -> None:
    """What is being trained, on what."""
    from nmtcli.models import parameter_tree

    job = trainer.job
    config = job.model_config
    detail = (
        f"{config.cell} {config.attention} attention"
        if config.arch == "rnn"
        else f"{config.layers} layer{'s' if config.layers > 1 else ''}"
    )
    params = parameter_tree(job.model).count
    note(
        f"training {config.arch} ({detail}, {params:,} parameters) on {len(job.train):,} pairs, "
        f"validating on {len(job.valid):,}, device {job.dist.device}"
        + (f" × {job.dist.world} processes" if job.dist.world > 1 else "")
    )


def _run(trainer: Trainer, every: float) -> Any:
    """Train with the right reporter for stderr."""
    if not trainer.job.dist.is_main:
        trainer.reporter = SilentReporter()
        return trainer.run()
    _describe_start(trainer)
    live = sys.stderr.isatty()
    reporter = RichReporter() if live else PlainReporter(every)
    trainer.reporter = reporter
    try:
        with stop_on_interrupt(trainer):
            return trainer.run()
    finally:
        if isinstance(reporter, RichReporter):
            reporter.close()


@app.command(
    epilog="Examples: nmtcli train corpus.tsv -o runs/en-fr  ·  "
    "nmtcli train --src-file train.en --tgt-file train.de --arch rnn --attention bahdanau  ·  "
    "nmtcli train --config recipe.yaml  ·  nmtcli train --resume runs/en-fr  ·  "
    "torchrun --nproc-per-node 2 -m nmtcli train corpus.tsv",
)
@boundary
def train(
    corpus: CorpusArg = None,
    src_file: SrcFileOpt = None,
    tgt_file: TgtFileOpt = None,
    output: Annotated[
        Path | None,
        _option("--output", "-o", panel=DATA, help="Model directory (default runs/CORPUS-NAME)."),
    ] = None,
    valid: Annotated[
        str | None,
        _option(
            "--valid", panel=DATA, help="Validation TSV (default: hold out part of the corpus)."
        ),
    ] = None,
    valid_src_file: Annotated[
        str | None, _option("--valid-src-file", panel=DATA, help="Validation source file.")
    ] = None,
    valid_tgt_file: Annotated[
        str | None, _option("--valid-tgt-file", panel=DATA, help="Validation target file.")
    ] = None,
    vocab: Annotated[
        Path | None,
        _option(
            "--vocab", panel=DATA, help="Use this vocabulary directory instead of training one."
        ),
    ] = None,
    config: Annotated[
        Path | None,
        _option("--config", "-c", panel=DATA, help="YAML file of options (flags override it)."),
    ] = None,
    resume: Annotated[
        Path | None,
        _option("--resume", panel=DATA, help="Continue the run saved in this model directory."),
    ] = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Overwrite a non-empty output directory.", rich_help_panel=DATA
        ),
    ] = False,
    skip_invalid: SkipInvalidOpt = False,
    arch: Annotated[
        Arch | None,
        _option("--arch", panel=MODEL, help="rnn or transformer (default transformer)."),
    ] = None,
    cell: Annotated[
        Cell | None, _option("--cell", panel=MODEL, help="RNN cell: lstm or gru.")
    ] = None,
    attention: Annotated[
        AttentionKind | None,
        _option(
            "--attention", panel=MODEL, help="RNN attention: none, bahdanau, dot, general, concat."
        ),
    ] = None,
    layers: Annotated[
        int | None, _option("--layers", panel=MODEL, help="Layers (encoder and decoder each).")
    ] = None,
    emb_size: Annotated[
        int | None, _option("--emb-size", panel=MODEL, help="RNN embedding size.")
    ] = None,
    hidden_size: Annotated[
        int | None, _option("--hidden-size", panel=MODEL, help="RNN hidden size.")
    ] = None,
    bidirectional: Annotated[
        bool | None,
        _option(
            "--bidirectional/--no-bidirectional", panel=MODEL, help="RNN: bidirectional encoder."
        ),
    ] = None,
    reverse_source: Annotated[
        bool | None,
        _option(
            "--reverse-source/--no-reverse-source",
            panel=MODEL,
            help="RNN: read the source backwards.",
        ),
    ] = None,
    input_feeding: Annotated[
        bool | None,
        _option("--input-feeding/--no-input-feeding", panel=MODEL, help="Luong input feeding."),
    ] = None,
    dropout: Annotated[
        float | None, _option("--dropout", panel=MODEL, help="Dropout probability.")
    ] = None,
    d_model: Annotated[
        int | None, _option("--d-model", panel=MODEL, help="Transformer model size.")
    ] = None,
    heads: Annotated[
        int | None, _option("--heads", panel=MODEL, help="Transformer attention heads.")
    ] = None,
    ff_size: Annotated[
        int | None, _option("--ff-size", panel=MODEL, help="Transformer feed-forward size.")
    ] = None,
    tie_embeddings: Annotated[
        bool | None,
        _option(
            "--tie-embeddings/--no-tie-embeddings",
            panel=MODEL,
            help="Share embedding and output matrices.",
        ),
    ] = None,
    vocab_size: Annotated[
        int | None,
        _option(
            "--vocab-size",
            panel=TRAIN,
            help="SentencePiece size when building the vocabulary (8000).",
        ),
    ] = None,
    model_type: Annotated[
        str | None, _option("--model-type", panel=TRAIN, help="SentencePiece unigram or bpe.")
    ] = None,
    separate_vocab: Annotated[
        bool | None,
        _option("--separate-vocab/--joint-vocab", panel=TRAIN, help="One vocabulary per side."),
    ] = None,
    valid_size: Annotated[
        int | None,
        _option(
            "--valid-size", panel=VALID, help="Pairs to hold out when --valid is not given (1000)."
        ),
    ] = None,
    max_length: Annotated[
        int | None,
        _option(
            "--max-length",
            panel=TRAIN,
            help="Skip training pairs longer than this many pieces (128).",
        ),
    ] = None,
    batch_tokens: Annotated[
        int | None, _option("--batch-tokens", panel=TRAIN, help="Padded tokens per batch (4096).")
    ] = None,
    lr: Annotated[
        float | None,
        _option("--lr", panel=TRAIN, help="Peak learning rate (rnn 1e-3, transformer 7e-4)."),
    ] = None,
    scheduler: Annotated[
        str | None,
        _option("--scheduler", panel=TRAIN, help="auto, inverse_sqrt, plateau or constant."),
    ] = None,
    warmup: Annotated[
        int | None,
        _option("--warmup", panel=TRAIN, help="Warm-up steps (1000 for inverse_sqrt, else 0)."),
    ] = None,
    label_smoothing: Annotated[
        float | None, _option("--label-smoothing", panel=TRAIN, help="Label smoothing ε (0.1).")
    ] = None,
    clip_norm: Annotated[
        float | None, _option("--clip-norm", panel=TRAIN, help="Gradient norm clipping (1.0).")
    ] = None,
    teacher_forcing: Annotated[
        float | None,
        _option(
            "--teacher-forcing",
            panel=TRAIN,
            help="Probability of feeding the reference token (1.0; <1 is scheduled sampling).",
        ),
    ] = None,
    max_epochs: Annotated[
        int | None, _option("--max-epochs", panel=TRAIN, help="Stop after this many epochs (30).")
    ] = None,
    max_steps: Annotated[
        int | None, _option("--max-steps", panel=TRAIN, help="Stop after this many updates.")
    ] = None,
    max_time: Annotated[
        str | None,
        _option(
            "--max-time", panel=TRAIN, help="Stop after this long, e.g. 600, 10m, 2h (this run)."
        ),
    ] = None,
    valid_every: Annotated[
        int | None,
        _option("--valid-every", panel=VALID, help="Validate every N steps (0: each epoch)."),
    ] = None,
    valid_bleu_sentences: Annotated[
        int | None,
        _option(
            "--valid-bleu-sentences",
            panel=VALID,
            help="Sentences translated for validation BLEU (500).",
        ),
    ] = None,
    early_stop_metric: Annotated[
        str | None, _option("--early-stop-metric", panel=VALID, help="bleu or loss.")
    ] = None,
    patience: Annotated[
        int | None,
        _option(
            "--patience",
            panel=VALID,
            help="Validations without improvement before stopping (5; 0: never).",
        ),
    ] = None,
    seed: Annotated[int | None, _option("--seed", panel=RUN, help="Random seed (1).")] = None,
    device: Annotated[str | None, _option("--device", panel=RUN, help="auto, cpu or cuda.")] = None,
    precision: Annotated[
        str | None,
        _option(
            "--precision",
            panel=RUN,
            help="auto (bf16/fp16 on CUDA, fp32 on CPU), fp32, bf16 (CPU too), fp16.",
        ),
    ] = None,
    log_every: Annotated[
        float | None,
        _option(
            "--log-every",
            panel=RUN,
            help="Seconds between log lines when stderr is not a terminal (30).",
        ),
    ] = None,
) -> None:
    """Train a model: builds the vocabulary, holds out validation data, checkpoints as it goes."""
    values = {
        name: (value.value if isinstance(value, Enum) else value)
        for name, value in locals().items()
    }
    options = {key: value for key, value in values.items() if key not in _NOT_OPTIONS}
    from nmtcli.training.distributed import init_distributed, shutdown_distributed

    dist = init_distributed(options.get("device") or "auto")
    say = note if dist.is_main else (lambda _: None)
    try:
        trainer = _make_trainer(values, options, dist, say)
        outcome = _run(trainer, trainer.config.log_every)
    finally:
        shutdown_distributed()
    if dist.is_main:
        _report_end(outcome, trainer)


# Parameters of `train` that are not model or training options.
_NOT_OPTIONS = frozenset(
    {"corpus", "src_file", "tgt_file", "output", "valid", "valid_src_file", "valid_tgt_file"}
    | {"vocab", "config", "resume", "force", "skip_invalid"}
)


def _make_trainer(values: dict[str, Any], options: dict[str, Any], dist: Any, say: Any) -> Trainer:
    """Set up a new or resumed job and its trainer."""
    from nmtcli.training.setup import new_job, resolve_configs, resume_job
    from nmtcli.training.trainer import Trainer

    if values["resume"] is not None:
        job = resume_job(values["resume"], options, dist, say)
        return Trainer(job, SilentReporter())
    merged = _merge_config(values, options)
    model_config, train_config = resolve_configs(merged)
    data = _data_options(merged)
    output = merged.get("output") or Path("runs") / _corpus_name(data.corpus)
    job = new_job(data, model_config, train_config, Path(output), values["force"], dist, say)
    return Trainer(job, SilentReporter())


def _merge_config(values: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """YAML config values overridden by the flags given on the command line."""
    from nmtcli.training.setup import DATA_FIELDS, load_yaml

    merged = load_yaml(values["config"]) if values["config"] is not None else {}
    merged.update({key: values[key] for key in DATA_FIELDS if values[key] is not None})
    merged.update({key: value for key, value in options.items() if value is not None})
    merged["skip_invalid"] = values["skip_invalid"] or bool(merged.get("skip_invalid"))
    return merged


def _data_options(merged: dict[str, Any]) -> Any:
    """Corpus, validation and vocabulary locations."""
    from nmtcli.training.setup import DataOptions

    if merged.get("corpus") is None and merged.get("src_file") is None:
        raise typer.BadParameter(
            "give a corpus (TSV, or --src-file and --tgt-file), or --resume DIR"
        )
    corpus = CorpusSpec(
        tsv=merged.get("corpus"), src=merged.get("src_file"), tgt=merged.get("tgt_file")
    )
    valid = None
    if merged.get("valid") or merged.get("valid_src_file") or merged.get("valid_tgt_file"):
        valid = CorpusSpec(
            tsv=merged.get("valid"),
            src=merged.get("valid_src_file"),
            tgt=merged.get("valid_tgt_file"),
        )
    vocab = Path(merged["vocab"]) if merged.get("vocab") else None
    return DataOptions(corpus, valid, vocab, bool(merged.get("skip_invalid")))


def _corpus_name(spec: CorpusSpec) -> str:
    """A directory name from the corpus file name (`train.tsv.gz` -> `train`)."""
    path = spec.tsv if spec.tsv is not None else spec.src
    if path in (None, "-"):
        return "stdin"
    return Path(path).name.split(".")[0] or "model"


def _report_end(outcome: Any, trainer: Trainer) -> None:
    """Say how training ended, where the model is, and how to resume if interrupted."""
    progress, directory = outcome.progress, trainer.job.directory
    if outcome.reason == "interrupted":
        note(f"interrupted at step {progress.step}; checkpoint saved in {directory}")
        note(f"resume with: nmtcli train --resume {directory}")
        raise typer.Exit(130)
    metric = trainer.config.early_stop_metric
    best = (
        ""
        if progress.best_score is None
        else f"; best validation {metric} {progress.best_score:.2f} at step {progress.best_step}"
    )
    note(
        f"finished ({outcome.reason}) after {progress.step} steps, "
        f"{format_duration(progress.train_seconds)}{best}"
    )
    note(f"model saved in {directory}/")
