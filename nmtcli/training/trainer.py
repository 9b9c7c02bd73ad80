"""The training loop, read top to bottom: batches, forward, loss, backward, update, validate.

Batch order is a function of (seed, epoch), so a resumed run replays exactly the batches an
uninterrupted run would see. Under `torchrun`, gradients are averaged by
DistributedDataParallel, batches are sharded by rank, and rank 0 alone validates, writes and
reports; the other ranks follow its decisions.

The pieces live beside this module: the objective (`loss`), validation (`validation`), the
counters and best-score rule (`state`), and checkpoints (`checkpoint`).
"""

from __future__ import annotations

import math
import time

import torch

from nmtcli.batch import Batch
from nmtcli.device import autocast, autocast_dtype
from nmtcli.errors import TrainingError
from nmtcli.records import ValidationRecord
from nmtcli.training.checkpoint import save_checkpoint
from nmtcli.training.data import collate, epoch_batches, transformed
from nmtcli.training.loss import scheduled_sampling, smoothed_loss
from nmtcli.training.schedule import learning_rate, time_share
from nmtcli.training.state import Outcome, Reporter, StepReport, TrainingJob, Window
from nmtcli.training.validation import ValidationResult, Validator


class Trainer:
    """Runs a `TrainingJob` to one of its stopping criteria, reporting to `reporter`."""

    def __init__(self, job: TrainingJob, reporter: Reporter) -> None:
        self.job, self.config, self.reporter = job, job.config, reporter
        self.progress, self.dist = job.progress, job.dist
        self.defaults = job.run.model.training_defaults
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
        self.validator = Validator(
            job.valid,
            job.vocabulary.tgt,
            self.config.batch_tokens,
            self.config.valid_bleu_sentences,
            self.device,
            self.autocast_dtype,
        )
        self.epoch_length = len(self._batches(self.progress.epoch))  # the same every epoch
        self.run_start, self.start_step = time.monotonic(), self.progress.step
        self.saved_seconds = self.progress.train_seconds
        self.done_at_start = self.progress.run_done
        self.window = Window()
        self.stop_requested = False

    def request_stop(self) -> None:
        """Ask for a clean stop after the current step (what Ctrl-C does)."""
        self.stop_requested = True

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

    def _batches(self, epoch: int) -> list[list[int]]:
        """This rank's batches of `epoch` (of its transformed pairs, kept in `self.data`)."""
        config, dist, job = self.config, self.dist, self.job
        self.data = job.train
        if config.transform_rates.active:
            self.data = transformed(
                job.train,
                job.vocabulary,
                config.transform_rates,
                config.seed,
                epoch,
                config.max_length,
            )
        batches = epoch_batches(
            self.data, config.batch_tokens, config.seed, epoch, dist.rank, dist.world
        )
        if not batches:
            raise TrainingError("no training batches: the corpus is empty after filtering")
        return batches

    def _train_epoch(self) -> str | None:
        """Train on the rest of the current epoch; a stop reason, or None at its end."""
        progress, every = self.progress, self.config.valid_every or 0
        batches = self._batches(progress.epoch)
        for index in range(progress.batch_in_epoch, len(batches)):
            if self.dist.any(self.stop_requested):
                return "interrupted"
            self._train_step(collate(self.data, batches[index]))
            end_of_epoch = index + 1 == len(batches)
            progress.batch_in_epoch = 0 if end_of_epoch else index + 1
            progress.epoch += end_of_epoch
            due = progress.step % every == 0 if every else end_of_epoch
            if due and self._validate_and_save():
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
        if config.max_epochs is not None and progress.epoch >= config.max_epochs:
            return "max epochs"
        elapsed = time.monotonic() - self.run_start
        if config.max_time is not None and self.dist.any(elapsed >= config.max_time):
            return "max time"
        return None

    def _train_step(self, batch: Batch) -> None:
        """Forward, backward, clip, update; raise on a non-finite loss or out of memory."""
        batch = batch.to(self.device)
        if self.config.teacher_forcing < 1.0:
            batch = scheduled_sampling(self.model, batch, self.config.teacher_forcing)
        try:
            with autocast(self.autocast_dtype, self.device):
                logits, _ = self.network(batch)
            loss_sum, nll_sum, tokens = smoothed_loss(
                logits, batch.tgt_out, self.config.label_smoothing
            )
            loss = loss_sum / tokens
            value = loss.item()
            if self.dist.any(not math.isfinite(value)):
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
        self._update_run_done()
        lr = self._lr(self.progress.step + 1)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.progress.step += 1
        self.progress.tokens += tokens * self.dist.world
        self.window.add(value, float(nll_sum), tokens, self.dist.world)
        if self.dist.is_main:
            self.reporter.step(self._step_report(lr))

    def _non_finite(self, value: float) -> TrainingError:
        """The error for a NaN/inf loss, naming the checkpoint that is kept."""
        saved = self.progress.last_save_step
        kept = (
            f"the last good checkpoint (step {saved}) is kept in {self.job.model_dir.path}"
            if saved >= 0
            else "no checkpoint had been saved yet"
        )
        return TrainingError(
            f"loss became {value} at step {self.progress.step + 1}; training stopped and "
            f"{kept}; try a lower --lr or --clip-norm"
        )

    def _lr(self, step: int | None = None) -> float:
        """The learning rate for `step` (default: the current one)."""
        config, defaults = self.config, self.defaults
        return learning_rate(
            config.schedule(defaults),
            config.peak_lr(defaults),
            self.progress.step if step is None else step,
            config.warmup_steps(defaults),
            self.progress.reductions,
            config.plateau_factor,
            self.progress.run_done,
        )

    def _update_run_done(self) -> None:
        """Bring the share of the run behind it up to now (the `linear` decay; rank 0's clock)."""
        if self.config.schedule(self.defaults) != "linear":
            return
        shares = [share for share, _ in self._limits(time_from=self.done_at_start)]
        self.progress.run_done = self.dist.broadcast_float(
            min(max(shares, default=0.0), 1.0) if self.dist.is_main else None
        )

    def _limits(self, time_from: float = 0.0) -> list[tuple[float, float]]:
        """(fraction done, seconds left) for each stopping limit, at this run's pace.

        `time_from`: the share the time limit starts from (`schedule.time_share`).
        """
        config, progress = self.config, self.progress
        elapsed = time.monotonic() - self.run_start
        steps_done = progress.step - self.start_step
        per_step = elapsed / steps_done if steps_done else float("inf")
        epochs, limits = progress.epochs(self.epoch_length), []
        if config.max_epochs is not None:
            epochs_left = (config.max_epochs - epochs) * self.epoch_length * per_step
            limits.append((epochs / config.max_epochs, epochs_left))
        if config.max_steps is not None:
            left = config.max_steps - progress.step
            limits.append((progress.step / config.max_steps, left * per_step))
        if config.max_time is not None:
            share = time_share(time_from, elapsed, config.max_time)
            limits.append((share, config.max_time - elapsed))
        return limits

    def _step_report(self, lr: float) -> StepReport:
        """The numbers the progress display shows; progress and ETA follow the nearest limit."""
        progress, limits = self.progress, self._limits()
        done, eta = max(f for f, _ in limits), min(t for _, t in limits)
        loss, ppl, rate = self.window.summary()
        finite_eta = eta if eta != float("inf") else None
        epochs = progress.epochs(self.epoch_length)
        return StepReport(progress.step, epochs, loss, ppl, rate, lr, min(done, 1.0), finite_eta)

    def _validate_and_save(self) -> bool:
        """Validate on rank 0, update best/patience/plateau everywhere, save; True: stop early."""
        metric = self.config.early_stop_metric
        result = self.validator(self.model) if self.dist.is_main else None
        score = self.dist.broadcast_float(None if result is None else result.score(metric))
        loss = self.dist.broadcast_float(None if result is None else result.loss)
        improved = self.progress.update_best(score, loss, metric, self.config.plateau_patience)
        if result is not None:
            self._stamp_time()
            record = self._record(result, improved)
            self._save(best=improved, record=record)
            self.window = Window()
            self.job.model_dir.write_card()
            self.reporter.validation(record)
        self.dist.barrier()
        done = max(fraction for fraction, _ in self._limits())  # rank 0's clock decides
        stop = self.progress.out_of_patience(self.config.patience, done)
        return bool(self.dist.broadcast_float(float(stop) if self.dist.is_main else None))

    def _record(self, result: ValidationResult, improved: bool) -> ValidationRecord:
        """One `metrics.jsonl` line: the training window since the last one and the result."""
        loss, ppl, rate = self.window.summary()
        progress = self.progress
        return ValidationRecord(
            step=progress.step,
            epoch=round(progress.epochs(self.epoch_length), 3),
            train_loss=round(loss, 4),
            train_ppl=round(ppl, 3),
            valid_loss=round(result.loss, 4),
            valid_ppl=round(result.ppl, 4),
            valid_bleu=round(result.bleu, 4),
            empty_outputs=round(result.empty, 4),
            same_outputs=round(result.same, 4),
            lr=self._lr(),
            tokens_per_second=round(rate, 1),
            train_seconds=round(progress.train_seconds, 1),
            tokens=progress.tokens,
            best=improved,
        )

    def _save(self, best: bool, record: ValidationRecord | None = None) -> None:
        """Checkpoint on the main rank, with the training time up to now (and `record`)."""
        if not self.dist.is_main:
            return
        progress, job = self.progress, self.job
        if record is None:  # a validation's checkpoint keeps the time its record shows
            self._stamp_time()
        progress.last_save_step = progress.step
        save_checkpoint(
            job.model_dir,
            self.model,
            self.optimizer,
            self.scaler,
            progress,
            best,
            record,
            job.config.keep_checkpoints,
        )

    def _stamp_time(self) -> None:
        """Bring the training time over all runs up to now."""
        self.progress.train_seconds = self.saved_seconds + (time.monotonic() - self.run_start)
