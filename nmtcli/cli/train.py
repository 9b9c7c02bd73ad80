"""`nmtcli train`: one command from a parallel corpus to a model directory.

Each model or training option is declared once, as a field of its config dataclass, with its
default and help text; this module only names its flag and help panel. Only the flags the user
typed (Click's parameter source) override the YAML file, which overrides the defaults.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from nmtcli.cli.app import app
from nmtcli.cli.common import CorpusArg, SkipInvalidOpt, SrcFileOpt, TgtFileOpt, boundary, note
from nmtcli.cli.progress import format_duration, reporter_for
from nmtcli.models.config import ARCHS, ATTENTIONS, CELLS, field_help
from nmtcli.training.config import option_help

if TYPE_CHECKING:
    from collections.abc import Iterator

    from nmtcli.training.state import Outcome
    from nmtcli.training.trainer import Trainer

DATA, MODEL, TRAIN, VALID, RUN = "Data", "Model", "Training", "Validation", "Runtime"
Arch = Enum("Arch", {name: name for name in ARCHS}, type=str)  # type: ignore[misc]
Cell = Enum("Cell", {name: name for name in CELLS}, type=str)  # type: ignore[misc]
Attention = Enum("Attention", {name: name for name in ATTENTIONS}, type=str)  # type: ignore[misc]
# Parameters that steer the command rather than describe the run.
CONTROLS = frozenset({"config", "resume", "force"})
TYPED = frozenset({"COMMANDLINE", "ENVIRONMENT"})  # Click parameter sources the user chose


def _model(flag: str, name: str) -> Any:
    """A model option; its help (with each architecture's default) comes from the model configs."""
    return typer.Option(flag, help=field_help(name), rich_help_panel=MODEL, show_default=False)


def _train(flag: str, name: str, panel: str = TRAIN) -> Any:
    """A training option; its help and default come from `TrainConfig`."""
    return typer.Option(flag, help=option_help(name), rich_help_panel=panel, show_default=False)


def _data(*flags: str, help: str) -> Any:
    """A data option."""
    return typer.Option(*flags, help=help, rich_help_panel=DATA, show_default=False)


@app.command(
    epilog="Examples: nmtcli train corpus.tsv -o runs/en-fr  ·  "
    "nmtcli train --src-file train.en --tgt-file train.de --arch rnn --attention bahdanau  ·  "
    "nmtcli train --config recipe.yaml  ·  nmtcli train --resume runs/en-fr  ·  "
    "torchrun --nproc-per-node 2 -m nmtcli train corpus.tsv",
)
@boundary
def train(
    ctx: typer.Context,
    corpus: CorpusArg = None,
    src_file: SrcFileOpt = None,
    tgt_file: TgtFileOpt = None,
    output: Annotated[
        Path | None, _data("--output", "-o", help="Model directory (default runs/CORPUS-NAME).")
    ] = None,
    valid: Annotated[
        str | None, _data("--valid", help="Validation TSV (default: hold out part of the corpus).")
    ] = None,
    valid_src_file: Annotated[
        str | None, _data("--valid-src-file", help="Validation source file.")
    ] = None,
    valid_tgt_file: Annotated[
        str | None, _data("--valid-tgt-file", help="Validation target file.")
    ] = None,
    vocab: Annotated[
        Path | None, _data("--vocab", help="Use this vocabulary directory instead of training one.")
    ] = None,
    config: Annotated[
        Path | None, _data("--config", "-c", help="YAML file of options (flags override it).")
    ] = None,
    resume: Annotated[
        Path | None, _data("--resume", help="Continue the run saved in this model directory.")
    ] = None,
    force: Annotated[
        bool, _data("--force", help="Overwrite a non-empty output directory.")
    ] = False,
    skip_invalid: SkipInvalidOpt = False,
    arch: Annotated[Arch | None, _model("--arch", "arch")] = None,
    cell: Annotated[Cell | None, _model("--cell", "cell")] = None,
    attention: Annotated[Attention | None, _model("--attention", "attention")] = None,
    layers: Annotated[int | None, _model("--layers", "layers")] = None,
    emb_size: Annotated[int | None, _model("--emb-size", "emb_size")] = None,
    hidden_size: Annotated[int | None, _model("--hidden-size", "hidden_size")] = None,
    bidirectional: Annotated[
        bool | None, _model("--bidirectional/--no-bidirectional", "bidirectional")
    ] = None,
    reverse_source: Annotated[
        bool | None, _model("--reverse-source/--no-reverse-source", "reverse_source")
    ] = None,
    input_feeding: Annotated[
        bool | None, _model("--input-feeding/--no-input-feeding", "input_feeding")
    ] = None,
    dropout: Annotated[float | None, _model("--dropout", "dropout")] = None,
    d_model: Annotated[int | None, _model("--d-model", "d_model")] = None,
    heads: Annotated[int | None, _model("--heads", "heads")] = None,
    ff_size: Annotated[int | None, _model("--ff-size", "ff_size")] = None,
    tie_embeddings: Annotated[
        bool | None, _model("--tie-embeddings/--no-tie-embeddings", "tie_embeddings")
    ] = None,
    vocab_size: Annotated[int | None, _train("--vocab-size", "vocab_size")] = None,
    model_type: Annotated[str | None, _train("--model-type", "model_type")] = None,
    separate_vocab: Annotated[
        bool | None, _train("--separate-vocab/--joint-vocab", "separate_vocab")
    ] = None,
    valid_size: Annotated[int | None, _train("--valid-size", "valid_size", VALID)] = None,
    max_length: Annotated[int | None, _train("--max-length", "max_length")] = None,
    batch_tokens: Annotated[int | None, _train("--batch-tokens", "batch_tokens")] = None,
    lr: Annotated[float | None, _train("--lr", "lr")] = None,
    scheduler: Annotated[str | None, _train("--scheduler", "scheduler")] = None,
    warmup: Annotated[int | None, _train("--warmup", "warmup")] = None,
    label_smoothing: Annotated[float | None, _train("--label-smoothing", "label_smoothing")] = None,
    clip_norm: Annotated[float | None, _train("--clip-norm", "clip_norm")] = None,
    teacher_forcing: Annotated[float | None, _train("--teacher-forcing", "teacher_forcing")] = None,
    max_epochs: Annotated[int | None, _train("--max-epochs", "max_epochs")] = None,
    max_steps: Annotated[int | None, _train("--max-steps", "max_steps")] = None,
    max_time: Annotated[str | None, _train("--max-time", "max_time")] = None,
    valid_every: Annotated[int | None, _train("--valid-every", "valid_every", VALID)] = None,
    valid_bleu_sentences: Annotated[
        int | None, _train("--valid-bleu-sentences", "valid_bleu_sentences", VALID)
    ] = None,
    early_stop_metric: Annotated[
        str | None, _train("--early-stop-metric", "early_stop_metric", VALID)
    ] = None,
    patience: Annotated[int | None, _train("--patience", "patience", VALID)] = None,
    seed: Annotated[int | None, _train("--seed", "seed", RUN)] = None,
    device: Annotated[str | None, _train("--device", "device", RUN)] = None,
    precision: Annotated[str | None, _train("--precision", "precision", RUN)] = None,
    log_every: Annotated[float | None, _train("--log-every", "log_every", RUN)] = None,
) -> None:
    """Train a model: builds the vocabulary, holds out validation data, checkpoints as it goes."""
    from nmtcli.training.distributed import init_distributed, shutdown_distributed

    typed = typed_options(ctx)
    dist = init_distributed(typed.get("device") or "auto")
    say = note if dist.is_main else (lambda _: None)
    try:
        trainer = _make_trainer(typed, config, resume, force, dist, say)
        outcome = _run(trainer)
    finally:
        shutdown_distributed()
    if dist.is_main:
        _report_end(outcome, trainer)


def typed_options(ctx: typer.Context) -> dict[str, Any]:
    """The options the user typed (not defaults), as plain values."""
    typed = {}
    for name, value in ctx.params.items():
        source = ctx.get_parameter_source(name)
        if name not in CONTROLS and source is not None and source.name in TYPED:
            typed[name] = value.value if isinstance(value, Enum) else value
    return typed


def _make_trainer(
    typed: dict[str, Any],
    config: Path | None,
    resume: Path | None,
    force: bool,
    dist: Any,
    say: Any,
) -> Trainer:
    """Set up a new or resumed job and its trainer, reporting to the terminal."""
    from nmtcli.training.options import merge, resolve_request
    from nmtcli.training.setup import new_job, resume_job
    from nmtcli.training.trainer import Trainer

    if resume is not None:
        job = resume_job(resume, typed, dist, say)
    else:
        job = new_job(resolve_request(merge(typed, config)), force, dist, say)
    if dist.is_main:
        _describe_start(job)
    reporter = reporter_for(dist.is_main, sys.stderr.isatty(), job.config.log_every)
    return Trainer(job, reporter)


def _describe_start(job: Any) -> None:
    """What is being trained, on what."""
    from nmtcli.models import parameter_tree

    model = job.run.model
    params = parameter_tree(job.model).count
    note(
        f"training {model.arch} ({model.summary()}, {params:,} parameters) on "
        f"{len(job.train):,} pairs, validating on {len(job.valid):,}, device {job.dist.device}"
        + (f" × {job.dist.world} processes" if job.dist.world > 1 else "")
    )


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


def _run(trainer: Trainer) -> Outcome:
    """Train, stopping cleanly on Ctrl-C, and take the progress display down at the end."""
    try:
        with stop_on_interrupt(trainer):
            return trainer.run()
    finally:
        trainer.reporter.close()


def _report_end(outcome: Outcome, trainer: Trainer) -> None:
    """Say how training ended, where the model is, and how to resume if interrupted."""
    progress, directory = outcome.progress, trainer.job.model_dir.path
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
