"""The training loop: token-budget batches, label-smoothed cross-entropy, validation, checkpoints.

Everything needed to continue a run exactly lives in `train_state.pt`, written atomically in one
file: weights, optimizer moments, progress counters (which also fully determine the learning
rate), and the torch random state (dropout, scheduled sampling). Batch order is a function of
(seed, epoch), so a resumed run replays exactly the batches an uninterrupted run would see.

Under `torchrun`, gradients are averaged by DistributedDataParallel, batches are sharded by rank,
and rank 0 alone validates, writes and reports; the other ranks follow its decisions.

Shapes: B batch, T target length, V vocabulary.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import Tensor

from nmtcli.card import write_card
from nmtcli.device import autocast, autocast_dtype
from nmtcli.errors import TrainingError
from nmtcli.io import atomic_write
from nmtcli.modeldir import BEST, LAST, STATE, append_metrics, save_weights
from nmtcli.models import ModelConfig, Seq2Seq
from nmtcli.models.base import Batch
from nmtcli.search import SearchOptions
from nmtcli.training.config import TrainConfig
from nmtcli.training.data import ParallelData, collate, epoch_batches, sequential_batches
from nmtcli.training.distributed import DistInfo
from nmtcli.training.schedule import learning_rate
from nmtcli.vocab import PAD_ID, Vocabulary


@dataclass
class Progress:
    """Counters that say where training is; saved with every checkpoint."""

    step: int = 0
    epoch: int = 0  # completed epochs
    batch_in_epoch: int = 0  # batches done in the current epoch
    best_score: float | None = None
    best_step: int = 0
    bad_validations: int = 0  # since the best, for early stopping
    plateau_bad: int = 0  # since the last improvement or reduction, for `plateau`
    reductions: int = 0  # learning-rate reductions so far
    last_valid_step: int = -1
    last_save_step: int = -1
    train_seconds: float = 0.0  # over all runs, this one included up to the last save
    tokens: int = 0  # target tokens trained on, over all ranks and runs


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


@dataclass
class ValidReport:
    """The result of one validation."""

    step: int
    epoch: float
    loss: float
    ppl: float
    bleu: float
    is_best: bool
    lr: float
    record: dict[str, Any] = field(default_factory=dict)


class Reporter(Protocol):
    """Where the trainer sends progress (the CLI draws it; the core never prints)."""

    def step(self, report: StepReport) -> None:
        """A training step finished."""

    def validation(self, report: ValidReport) -> None:
        """A validation finished."""


@dataclass
class TrainingJob:
    """Everything a training run needs, prepared by the caller."""

    model: Seq2Seq
    model_config: ModelConfig
    config: TrainConfig
    vocabulary: Vocabulary
    train: ParallelData
    valid: ParallelData
    directory: Path
    dist: DistInfo
    progress: Progress = field(default_factory=Progress)
    optimizer_state: dict[str, Any] | None = None
    scaler_state: dict[str, Any] | None = None


@dataclass
class Outcome:
    """How training ended."""

    reason: str  # max steps / max epochs / max time / early stopping / interrupted
    progress: Progress


def smoothed_loss(logits: Tensor, targets: Tensor, smoothing: float) -> tuple[Tensor, Tensor, int]:
    """Label-smoothed cross-entropy (Szegedy et al. 2016, section 7) summed over real tokens.

    loss = (1 - ε) · (-log p(y)) + ε · mean_v(-log p(v)), padding ignored.

    Returns:
        (loss sum, negative log-likelihood sum without smoothing, number of target tokens)
    """
    log_probs = torch.log_softmax(logits.float(), dim=-1)  # (B, T, V)
    real = targets != PAD_ID  # (B, T)
    nll = -log_probs.gather(-1, targets.unsqueeze(-1)).squeeze(-1)  # (B, T)
    uniform = -log_probs.mean(dim=-1)  # (B, T)
    loss = ((1.0 - smoothing) * nll + smoothing * uniform).masked_fill(~real, 0.0).sum()
    nll = nll.detach().masked_fill(~real, 0.0).sum()
    return loss, nll, int(real.sum())


class Trainer:
    """Runs a `TrainingJob` to one of its stopping criteria."""

    def __init__(self, job: TrainingJob, reporter: Reporter) -> None:
        self.job, self.config, self.reporter = job, job.config, reporter
        self.progress = job.progress
        self.arch = job.model_config.arch
        self.device = job.dist.device
        self.model = job.model.to(self.device)
        self.network = job.dist.wrap(self.model)
        self.optimizer = torch.optim.Adam(
            self.model.parameters(), lr=self._lr(), betas=(0.9, 0.98), eps=1e-9
        )
        if job.optimizer_state is not None:
            self.optimizer.load_state_dict(job.optimizer_state)
        self.autocast_dtype = autocast_dtype(self.config.precision, self.device)
        self.scaler = torch.amp.GradScaler(enabled=self.autocast_dtype == torch.float16)
        if job.scaler_state:
            self.scaler.load_state_dict(job.scaler_state)
        self.stop_requested = False
        self.run_start = time.monotonic()
        self.saved_seconds = self.progress.train_seconds
        self.window = _Window(self.progress.step)
        self.start_step = self.progress.step
        self.epoch_length = 1

    def request_stop(self) -> None:
        """Ask for a clean stop after the current step (what Ctrl-C does)."""
        self.stop_requested = True

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Train until a stopping criterion; checkpoint and return how it ended."""
        self.model.train()
        reason = self._limit_reached()
        while reason is None:
            reason = self._train_epoch()
        if reason == "interrupted":
            self._save(best=False)
        elif self.progress.last_valid_step != self.progress.step:
            self._validate_and_save()
        elif self.progress.last_save_step != self.progress.step:
            self._save(best=False)
        return Outcome(reason, self.progress)

    def _train_epoch(self) -> str | None:
        """Train on the rest of the current epoch; a stop reason, or None at its end."""
        config, progress, dist = self.config, self.progress, self.job.dist
        batches = epoch_batches(
            self.job.train, config.batch_tokens, config.seed, progress.epoch, dist.rank, dist.world
        )
        if not batches:
            raise TrainingError("no training batches: the corpus is empty after filtering")
        self.epoch_length = len(batches)
        for index in range(progress.batch_in_epoch, len(batches)):
            if dist.any(self.stop_requested):
                return "interrupted"
            self._train_step(collate(self.job.train, batches[index]))
            progress.batch_in_epoch = index + 1
            end_of_epoch = index + 1 == len(batches)
            if end_of_epoch:
                progress.epoch, progress.batch_in_epoch = progress.epoch + 1, 0
            every = config.valid_every
            if (
                (every and progress.step % every == 0) or (not every and end_of_epoch)
            ) and self._validate_and_save():
                return "early stopping"
            reason = self._limit_reached()
            if reason:
                return reason
        return None

    def _limit_reached(self) -> str | None:
        """Which stopping limit is reached, if any."""
        config, progress = self.config, self.progress
        if config.max_steps is not None and progress.step >= config.max_steps:
            return "max steps"
        if progress.epoch >= config.max_epochs:
            return "max epochs"
        if config.max_time is not None and self.job.dist.any(
            time.monotonic() - self.run_start >= config.max_time
        ):
            return "max time"
        return None

    # -- one step ----------------------------------------------------------------------------

    def _train_step(self, batch: Batch) -> None:
        """Forward, backward, clip, update; raise on a non-finite loss or out of memory."""
        batch = batch.to(self.device)
        if self.config.teacher_forcing < 1.0:
            batch = self._scheduled_sampling(batch)
        try:
            with autocast(self.autocast_dtype, self.device):
                logits, _ = self.network(batch)
            loss_sum, nll_sum, tokens = smoothed_loss(
                logits, batch.tgt_out, self.config.label_smoothing
            )
            loss = loss_sum / tokens
            value = loss.item()
            if self.job.dist.any(not math.isfinite(value)):
                raise self._non_finite(value)
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
        except torch.OutOfMemoryError:
            raise TrainingError(
                f"out of memory at step {self.progress.step + 1} (a batch of {batch.size} "
                f"sentences); lower --batch-tokens (now {self.config.batch_tokens}) or --max-length"
            ) from None
        self.scaler.unscale_(self.optimizer)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.config.clip_norm)
        lr = self._lr(self.progress.step + 1)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.progress.step += 1
        self.progress.tokens += tokens * self.job.dist.world
        self.window.add(value, float(nll_sum), tokens, self.job.dist.world)
        if self.job.dist.is_main:
            self.reporter.step(self._step_report(lr))

    def _scheduled_sampling(self, batch: Batch) -> Batch:
        """Replace reference decoder inputs by the model's own predictions with prob. 1 - p.

        Two-pass scheduled sampling (Mihaylova & Martins 2019): a teacher-forced pass without
        gradients predicts every position; each input token y_{t-1} (t > 1) is then swapped for
        the prediction made at t - 1 with probability 1 - teacher_forcing. Architecture-blind.
        """
        assert batch.tgt_in is not None
        with torch.no_grad():
            logits, _ = self.model(batch)
        predictions = logits.argmax(dim=-1)  # (B, T): prediction for tgt_out, i.e. tgt_in shifted
        swap = (
            torch.rand(batch.tgt_in.shape, device=self.device) >= self.config.teacher_forcing
        )  # (B, T)
        swap[:, 0] = False  # BOS stays
        swap &= batch.tgt_in != PAD_ID
        shifted = torch.cat([predictions[:, :1], predictions[:, :-1]], dim=1)  # (B, T)
        mixed = torch.where(swap, shifted, batch.tgt_in)
        return Batch(batch.src, batch.src_mask, mixed, batch.tgt_out)

    def _non_finite(self, value: float) -> TrainingError:
        """The error for a NaN/inf loss, naming the checkpoint that is kept."""
        step = self.progress.step + 1
        saved = self.progress.last_save_step
        kept = (
            f"the last good checkpoint (step {saved}) is kept in {self.job.directory}"
            if saved >= 0
            else "no checkpoint had been saved yet"
        )
        return TrainingError(
            f"loss became {value} at step {step}; training stopped and {kept}; "
            "try a lower --lr or --clip-norm"
        )

    # -- learning rate and progress ------------------------------------------------------------

    def _lr(self, step: int | None = None) -> float:
        """The learning rate for `step` (default: the current one)."""
        config = self.config
        return learning_rate(
            config.schedule(self.arch),
            config.peak_lr(self.arch),
            self.progress.step if step is None else step,
            config.warmup_steps(self.arch),
            self.progress.reductions,
            config.plateau_factor,
        )

    def _remaining(self) -> list[tuple[float, float]]:
        """For each limit: (fraction done, seconds left at this run's pace so far)."""
        config, progress = self.config, self.progress
        elapsed = time.monotonic() - self.run_start
        steps_done = progress.step - self.start_step
        per_step = elapsed / steps_done if steps_done else float("inf")
        epochs_done = progress.epoch + progress.batch_in_epoch / self.epoch_length
        batches_left = (config.max_epochs - epochs_done) * self.epoch_length
        limits = [(epochs_done / config.max_epochs, batches_left * per_step)]
        if config.max_steps is not None:
            limits.append(
                (progress.step / config.max_steps, (config.max_steps - progress.step) * per_step)
            )
        if config.max_time is not None:
            limits.append((elapsed / config.max_time, config.max_time - elapsed))
        return limits

    def _step_report(self, lr: float) -> StepReport:
        """The numbers the progress display shows; progress and ETA follow the nearest limit."""
        loss, ppl, rate = self.window.summary()
        limits = self._remaining()
        done, eta = max(f for f, _ in limits), min(t for _, t in limits)
        epoch = self.progress.epoch + self.progress.batch_in_epoch / self.epoch_length
        finite_eta = eta if eta != float("inf") else None
        return StepReport(
            self.progress.step, epoch, loss, ppl, rate, lr, min(done, 1.0), finite_eta
        )

    # -- validation and checkpoints --------------------------------------------------------------

    def _validate_and_save(self) -> bool:
        """Validate on rank 0, update best/patience/plateau everywhere, save; True: stop early."""
        dist, progress, config = self.job.dist, self.progress, self.config
        result = self._validate() if dist.is_main else None
        score = dist.broadcast_float(
            None if result is None else result["valid_" + config.early_stop_metric]
        )
        improved = progress.best_score is None or (
            score > progress.best_score
            if config.early_stop_metric == "bleu"
            else score < progress.best_score
        )
        if improved:
            progress.best_score, progress.best_step = score, progress.step
            progress.bad_validations = progress.plateau_bad = 0
        else:
            progress.bad_validations += 1
            progress.plateau_bad += 1
            if progress.plateau_bad >= config.plateau_patience:
                progress.reductions, progress.plateau_bad = progress.reductions + 1, 0
        progress.last_valid_step = progress.step
        if dist.is_main and result is not None:
            self._save(best=improved)
            record = self._record(result, improved)
            append_metrics(self.job.directory, record)
            self.reporter.validation(self._valid_report(record, improved))
        dist.barrier()
        return config.patience > 0 and progress.bad_validations >= config.patience

    def _validate(self) -> dict[str, float]:
        """Validation loss, perplexity and BLEU of greedy translations."""
        self.model.eval()
        try:
            loss, ppl = self._valid_loss()
            bleu = self._valid_bleu()
        finally:
            self.model.train()
        return {"valid_loss": loss, "valid_ppl": ppl, "valid_bleu": bleu}

    @torch.inference_mode()
    def _valid_loss(self) -> tuple[float, float]:
        """Per-token negative log-likelihood (no smoothing) and perplexity on the validation set."""
        valid, nll, tokens = self.job.valid, 0.0, 0
        for indices in sequential_batches(valid, self.config.batch_tokens):
            batch = collate(valid, indices).to(self.device)
            with autocast(self.autocast_dtype, self.device):
                logits, _ = self.model(batch)
            _, nll_sum, count = smoothed_loss(logits, batch.tgt_out, 0.0)
            nll, tokens = nll + float(nll_sum), tokens + count
        per_token = nll / max(tokens, 1)
        return per_token, math.exp(min(per_token, 50.0))

    def _valid_bleu(self) -> float:
        """Corpus BLEU (sacreBLEU defaults) of greedy translations of the first N valid pairs."""
        from sacrebleu.metrics import BLEU

        from nmtcli.translator import translate_ids

        valid = self.job.valid
        count = min(self.config.valid_bleu_sentences, len(valid))
        if count == 0 or valid.tgt_text is None:
            return 0.0
        sources = [valid.src.get(i).tolist() for i in range(count)]
        hypotheses = translate_ids(self.model, sources, SearchOptions(), self.device, batch_size=64)
        detokenized = [self.job.vocabulary.tgt.decode(h[0].tokens) for h in hypotheses]
        return BLEU().corpus_score(detokenized, [valid.tgt_text[:count]]).score

    def _record(self, result: dict[str, float], improved: bool) -> dict[str, Any]:
        """One `metrics.jsonl` line."""
        loss, ppl, rate = self.window.summary()
        self.window.reset(self.progress.step)
        progress = self.progress
        return {
            "step": progress.step,
            "epoch": round(progress.epoch + progress.batch_in_epoch / self.epoch_length, 3),
            "train_loss": round(loss, 4),
            "train_ppl": round(ppl, 3),
            **{key: round(value, 4) for key, value in result.items()},
            "lr": self._lr(),
            "tokens_per_second": round(rate, 1),
            "train_seconds": round(progress.train_seconds, 1),
            "tokens": progress.tokens,
            "best": improved,
        }

    def _valid_report(self, record: dict[str, Any], improved: bool) -> ValidReport:
        """The validation summary for the display."""
        return ValidReport(
            record["step"],
            record["epoch"],
            record["valid_loss"],
            record["valid_ppl"],
            record["valid_bleu"],
            improved,
            record["lr"],
            record,
        )

    def _save(self, best: bool) -> None:
        """Write the resumable state (one atomic file), `last` weights, and `best` if improved."""
        if not self.job.dist.is_main:
            return
        directory, progress = self.job.directory, self.progress
        progress.train_seconds = self.saved_seconds + (time.monotonic() - self.run_start)
        progress.last_save_step = progress.step
        state = {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
            "progress": asdict(progress),
            "rng": torch.get_rng_state(),
        }
        if self.device.type == "cuda":
            state["cuda_rng"] = torch.cuda.get_rng_state(self.device)
        atomic_write(directory / STATE, lambda temp: torch.save(state, temp))
        save_weights(self.model, directory / LAST)
        if best:
            save_weights(self.model, directory / BEST)
        write_card(directory)


class _Window:
    """Running loss / perplexity / throughput since the last validation."""

    def __init__(self, step: int) -> None:
        self.reset(step)

    def reset(self, step: int) -> None:
        """Start a new window."""
        self.start, self.step = time.monotonic(), step
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


def load_train_state(path: Path, device: torch.device) -> dict[str, Any]:
    """Read `train_state.pt` safely (tensors and plain data only)."""
    try:
        return torch.load(path, map_location=device, weights_only=True)
    except (OSError, RuntimeError, EOFError) as error:
        raise TrainingError(f"{path}: unreadable training state ({error})") from None


def restore_rng(state: dict[str, Any], device: torch.device) -> None:
    """Restore the random state saved with a checkpoint."""
    torch.set_rng_state(state["rng"].cpu())
    if device.type == "cuda" and "cuda_rng" in state:
        torch.cuda.set_rng_state(state["cuda_rng"].cpu(), device)
