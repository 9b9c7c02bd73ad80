"""How `nmtcli train` shows progress: a live Rich bar on a terminal, plain lines otherwise.

The reporters draw on the console the CLI hands them; the trainer only calls `Reporter`.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.markup import escape

if TYPE_CHECKING:
    from rich.console import Console

    from nmtcli.records import ValidationRecord
    from nmtcli.training.state import Outcome, StepReport, TrainingJob


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


def valid_line(record: ValidationRecord) -> str:
    """One validation line."""
    best = " (best)" if record.best else ""
    return (
        f"validation at step {record.step} (epoch {record.epoch:.2f}): "
        f"loss {record.valid_loss:.3f} | ppl {record.valid_ppl:.2f} | "
        f"BLEU {record.valid_bleu:.2f}{best}"
    )


def start_line(job: TrainingJob) -> str:
    """What is being trained, on what."""
    from nmtcli.models import parameter_tree

    model, dist = job.run.model, job.dist
    params = parameter_tree(job.model).count
    return (
        f"training {model.arch} ({model.summary()}, {params:,} parameters) on "
        f"{len(job.train):,} pairs, validating on {len(job.valid):,}, device {dist.device}"
        + (f" × {dist.world} processes" if dist.world > 1 else "")
    )


def end_line(outcome: Outcome, metric: str) -> str:
    """How training ended: the reason, steps, time and the best validation score."""
    progress = outcome.progress
    best = ""
    if progress.best_score is not None:
        best = f"; best validation {metric} {progress.best_score:.2f} at step {progress.best_step}"
    return (
        f"finished ({outcome.reason}) after {progress.step} steps, "
        f"{format_duration(progress.train_seconds)}{best}"
    )


class PlainReporter:
    """Periodic plain lines on stderr (when it is not a terminal)."""

    def __init__(self, console: Console, every: float) -> None:
        self.console, self.every, self.last = console, every, 0.0

    def _line(self, text: str) -> None:
        """One line, never wrapped."""
        self.console.print(escape(text), soft_wrap=True)

    def step(self, report: StepReport) -> None:
        """Print a line at most every `every` seconds."""
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self._line(step_line(report))

    def validation(self, record: ValidationRecord) -> None:
        """Print every validation."""
        self._line(valid_line(record))

    def close(self) -> None:
        """Nothing to clean up."""


class RichReporter:
    """A live Rich progress bar on stderr, with validation lines printed above it."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, Progress, TextColumn

        self.progress = Progress(
            TextColumn("[bold]step {task.fields[step]}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[stats]}"),
            console=console,
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

    def validation(self, record: ValidationRecord) -> None:
        """Print the validation result above the bar."""
        self.progress.console.print(valid_line(record), highlight=False)

    def close(self) -> None:
        """Remove the bar."""
        self.progress.stop()


class SilentReporter:
    """For ranks other than 0."""

    def step(self, report: StepReport) -> None:
        """Nothing."""

    def validation(self, record: ValidationRecord) -> None:
        """Nothing."""

    def close(self) -> None:
        """Nothing."""


def reporter_for(
    is_main: bool, console: Console, every: float
) -> PlainReporter | RichReporter | SilentReporter:
    """The reporter for this process: silent off rank 0, a bar on a terminal, else lines."""
    if not is_main:
        return SilentReporter()
    return RichReporter(console) if console.is_terminal else PlainReporter(console, every)
