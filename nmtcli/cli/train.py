"""`nmtcli train`: one command from a parallel corpus to a model directory.

Each model or training option is declared once, as a field of its config dataclass, with its
default and help text; this module only names its flag and help panel. Only the flags the user
typed (Click's parameter source) override the YAML file, which overrides the defaults.
"""

from __future__ import annotations

import inspect
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
    plain_option,
    stderr,
    warn,
)
from nmtcli.cli.options import keyword, with_options
from nmtcli.progress import end_line, reporter_for, start_line
from nmtcli.training.options import option_specs

if TYPE_CHECKING:
    from nmtcli.training.state import Outcome
    from nmtcli.training.trainer import Trainer

DATA = "Data"
# Parameters that steer the command rather than describe the run.
CONTROLS = frozenset({"config", "resume", "force"})
TYPED = frozenset({"COMMANDLINE", "ENVIRONMENT"})  # Click parameter sources the user chose


def _config_options() -> list[inspect.Parameter]:
    """One Typer option per model and training field (`option_specs`), each defaulting to None."""
    parameters = []
    for spec in option_specs():
        kind: Any = spec.kind
        if spec.choices:
            kind = Enum(spec.name.title(), {c: c for c in spec.choices}, type=str)
        option = plain_option(spec.flags, help=spec.help, rich_help_panel=spec.panel)
        parameters.append(keyword(spec.name, Annotated[kind | None, option], None))
    return parameters


DATA_HELP = {
    "--output": "Model directory (default runs/CORPUS-NAME).",
    "--valid": "Validation TSV (default: hold out part of the corpus).",
    "--valid-src-file": "Validation source file.",
    "--valid-tgt-file": "Validation target file.",
    "--vocab": "Use this vocabulary directory instead of training one.",
    "--config": "YAML file of options (flags override it).",
    "--resume": "Continue the run saved in this model directory.",
    "--force": "Overwrite a non-empty output directory.",
}


def _data(*flags: str) -> Any:
    """A data option, its help from DATA_HELP."""
    return plain_option(*flags, help=DATA_HELP[flags[0]], rich_help_panel=DATA)


def with_config_options(command: Any) -> Any:
    """Give `train` an option per config field; it reads the typed ones from its context."""
    return with_options(command, _config_options(), lambda _values: {})


@app.command(
    epilog="Examples: nmtcli train corpus.tsv -o runs/en-fr  ·  "
    "nmtcli train --src-file train.en --tgt-file train.de --arch rnn --attention bahdanau  ·  "
    "nmtcli train --config recipe.yaml  ·  nmtcli train --resume runs/en-fr  ·  "
    "torchrun --nproc-per-node 2 -m nmtcli train corpus.tsv",
)
@with_config_options
@boundary
def train(
    ctx: typer.Context,
    corpus: CorpusArg = None,
    src_file: SrcFileOpt = None,
    tgt_file: TgtFileOpt = None,
    output: Annotated[Path | None, _data("--output", "-o")] = None,
    valid: Annotated[str | None, _data("--valid")] = None,
    valid_src_file: Annotated[str | None, _data("--valid-src-file")] = None,
    valid_tgt_file: Annotated[str | None, _data("--valid-tgt-file")] = None,
    vocab: Annotated[Path | None, _data("--vocab")] = None,
    config: Annotated[Path | None, _data("--config", "-c")] = None,
    resume: Annotated[Path | None, _data("--resume")] = None,
    force: Annotated[bool, _data("--force")] = False,
    skip_invalid: SkipInvalidOpt = False,
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
    from nmtcli.training.setup import open_job
    from nmtcli.training.trainer import Trainer

    job = open_job(typed, config, resume, force, dist, say)
    if dist.is_main:
        note(start_line(job))
    reporter = reporter_for(dist.is_main, stderr(), job.config.log_every)
    return Trainer(job, reporter)


def _run(trainer: Trainer) -> Outcome:
    """Train, stopping cleanly on Ctrl-C, and take the progress display down at the end."""
    from nmtcli.training.interrupt import stop_on_interrupt

    try:
        with stop_on_interrupt(trainer, note):
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
    note(end_line(outcome, trainer.config.early_stop_metric))
    note(f"model saved in {directory}/")
    if problem := trainer.job.model_dir.summary().problem:
        warn(problem)
