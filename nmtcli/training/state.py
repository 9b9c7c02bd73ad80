"""Where a training run stands: its counters, the best-score rule beside them, and its reports.

`Progress` is saved with every checkpoint; together with the seed it determines the learning
rate, the batch order and the early-stopping decision, so a resumed run continues exactly.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from nmtcli.modeldir import ModelDir
    from nmtcli.models import Seq2Seq
    from nmtcli.records import ValidationRecord
    from nmtcli.runconfig import RunConfig
    from nmtcli.training.config import TrainConfig
    from nmtcli.training.data import ParallelData
    from nmtcli.training.distributed import DistInfo
    from nmtcli.vocab import Vocabulary


EARLY_STOP_FLOOR = 0.25  # share of the planned training before early stopping may end a run


@dataclass
class Progress:
    """Counters that say where training is, and the best-score rule that updates them."""

    step: int = 0
    epoch: int = 0  # completed epochs
    batch_in_epoch: int = 0  # batches done in the current epoch
    best_score: float | None = None
    best_loss: float | None = None  # validation loss of the best checkpoint (breaks BLEU ties)
    lowest_loss: float | None = None  # lowest validation loss so far (learning while it falls)
    best_step: int = 0
    bad_validations: int = 0  # since the best, for early stopping
    plateau_bad: int = 0  # since the last improvement or reduction, for `plateau`
    reductions: int = 0  # learning-rate reductions so far
    last_valid_step: int = -1
    last_save_step: int = -1
    train_seconds: float = 0.0  # over all runs, this one included up to the last save
    tokens: int = 0  # target tokens trained on, over all ranks and runs
    run_done: float = 0.0  # share of the run behind it at the last save (the `linear` decay)

    def is_better(self, score: float, loss: float, metric: str) -> bool:
        """Whether a validation beats the best so far: higher BLEU or lower loss.

        A BLEU tie is broken by the loss, so a model that has not reached any BLEU yet (0.00
        for every validation) still keeps its best weights rather than its first.
        """
        if self.best_score is None:
            return True
        if metric == "loss":
            return score < self.best_score
        tie = score == self.best_score and self.best_loss is not None and loss < self.best_loss
        return score > self.best_score or tie

    def update_best(self, score: float, loss: float, metric: str, plateau_patience: int) -> bool:
        """Account for one validation (its score and loss); True if it is the new best.

        A validation counts against patience only if neither the score nor the validation loss
        improved: while the loss still falls the model is learning, even if BLEU does not show it
        yet. `plateau_patience` such validations in a row reduce the learning rate once.
        """
        improved = self.is_better(score, loss, metric)
        learning = self.lowest_loss is None or loss < self.lowest_loss
        self.lowest_loss = loss if learning else self.lowest_loss
        if improved:
            self.best_score, self.best_loss, self.best_step = score, loss, self.step
        if improved or learning:
            self.bad_validations = self.plateau_bad = 0
        else:
            self.bad_validations += 1
            self.plateau_bad += 1
            if self.plateau_bad >= plateau_patience:
                self.reductions, self.plateau_bad = self.reductions + 1, 0
        self.last_valid_step = self.step
        return improved

    def out_of_patience(self, patience: int, fraction_done: float) -> bool:
        """Whether early stopping should end the run (`patience` 0 never stops).

        Never before EARLY_STOP_FLOOR of the planned training: small models often sit at BLEU 0
        for their first validations before they learn anything.
        """
        stalled = patience > 0 and self.bad_validations >= patience
        return stalled and fraction_done >= EARLY_STOP_FLOOR

    def epochs(self, epoch_length: int) -> float:
        """Fractional epochs done."""
        return self.epoch + self.batch_in_epoch / epoch_length


@dataclass
class TrainingJob:
    """Everything a training run needs, prepared by `nmtcli.training.setup`."""

    model: Seq2Seq
    run: RunConfig
    vocabulary: Vocabulary
    train: ParallelData
    valid: ParallelData
    model_dir: ModelDir
    dist: DistInfo
    progress: Progress = field(default_factory=Progress)
    optimizer_state: dict[str, Any] | None = None
    scaler_state: dict[str, Any] | None = None

    @property
    def config(self) -> TrainConfig:
        """The training configuration."""
        return self.run.train


@dataclass
class StepReport:
    """What the progress display shows after each step."""

    step: int
    epoch: float  # fractional
    loss: float  # label-smoothed, per target token
    ppl: float  # exp(per-token negative log-likelihood)
    tokens_per_second: float
    lr: float
    fraction_done: float | None
    eta_seconds: float | None


class Reporter(Protocol):
    """Where the trainer sends progress (the CLI draws it; the core never prints)."""

    def step(self, report: StepReport) -> None:
        """A training step finished."""

    def validation(self, record: ValidationRecord) -> None:
        """A validation finished (`record.best`: it is the best so far)."""

    def close(self) -> None:
        """Training ended: take any live display down."""


@dataclass
class Outcome:
    """How training ended."""

    reason: str  # max steps / max epochs / max time / early stopping / interrupted
    progress: Progress


class Window:
    """Running loss, perplexity and throughput since the last validation."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.loss = self.nll = 0.0
        self.local_tokens = self.tokens = self.steps = 0

    def add(self, loss: float, nll_sum: float, local_tokens: int, world: int) -> None:
        """Account for one step: this rank's loss and tokens; throughput counts every rank."""
        self.loss, self.nll = self.loss + loss, self.nll + nll_sum
        self.local_tokens += local_tokens
        self.tokens += local_tokens * world
        self.steps += 1

    def summary(self) -> tuple[float, float, float]:
        """(mean loss, perplexity, target tokens per second)."""
        if self.steps == 0:
            return 0.0, 0.0, 0.0
        per_token = self.nll / max(self.local_tokens, 1)
        elapsed = max(time.monotonic() - self.start, 1e-9)
        return self.loss / self.steps, math.exp(min(per_token, 50.0)), self.tokens / elapsed
