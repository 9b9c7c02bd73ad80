"""What a new run will do, derived from its corpus and the stopping limits the user gave.

Fixed defaults tuned on one corpus fail on others: 1,000 warm-up steps are longer than a whole
30-epoch run on 5,000 pairs at 4,096-token batches (13 updates an epoch). Every option the user
left unset (None) is derived here instead: the vocabulary size from the number of pairs, the batch
size from the tokens of an epoch, the warm-up and the validation interval from the planned number
of updates. The derived values are written into the run's `TrainConfig`, so `--resume` continues
with exactly them, and `derived` says what each one is and why.
"""

from __future__ import annotations

import math
from dataclasses import replace

from nmtcli.models.config import TrainingDefaults
from nmtcli.training.config import DEFAULT_EPOCHS, WARMED_UP, TrainConfig

VOCAB_BOUNDS = (1000, 8000)  # pieces; about 28·√pairs: 2,000 for 5k pairs, 8,000 from 82k on
BATCH_BOUNDS = (1024, 4096)  # padded tokens
UPDATES_PER_EPOCH = 200  # the batch size aims at this many updates an epoch (docs/benchmarks.md)
WARMUP_SHARE, WARMUP_BOUNDS = 0.08, (50, 1000)  # of the planned updates
FINETUNE_WARMUP = 100  # steps: a trained model needs no long warm-up (docs/experiments.md)
SHORT_RUN_EPOCHS = 10  # runs of fewer epochs validate every tenth of the run, not each epoch
MIN_VALID_EVERY = 25


def vocab_size_for(pairs: int) -> int:
    """A joint vocabulary size for a corpus of `pairs` pairs: 28·√pairs, to the thousand."""
    size = round(28 * math.sqrt(pairs) / 1000) * 1000
    return min(max(size, VOCAB_BOUNDS[0]), VOCAB_BOUNDS[1])


def batch_tokens_for(epoch_tokens: int) -> int:
    """The largest power of two that still gives UPDATES_PER_EPOCH updates, within bounds."""
    wanted = max(epoch_tokens // UPDATES_PER_EPOCH, 1)
    power = 2 ** int(math.log2(wanted))
    return min(max(power, BATCH_BOUNDS[0]), BATCH_BOUNDS[1])


def planned_steps(train: TrainConfig, steps_per_epoch: int) -> int:
    """The updates the run will make if no time limit or early stop ends it first."""
    by_epochs = (train.max_epochs or DEFAULT_EPOCHS) * steps_per_epoch
    return by_epochs if train.max_steps is None else min(train.max_steps, by_epochs)


def derive_epochs(train: TrainConfig) -> TrainConfig:
    """`train` with its epoch limit: DEFAULT_EPOCHS, unless steps or time limit the run."""
    if train.max_epochs is not None or train.max_steps is not None or train.max_time is not None:
        return train
    return _with(train, "max_epochs", DEFAULT_EPOCHS, f"{DEFAULT_EPOCHS}, as no other limit is set")


def derive_vocab_size(train: TrainConfig, pairs: int) -> TrainConfig:
    """`train` with the vocabulary size filled in, if unset."""
    if train.vocab_size is not None:
        return train
    size = vocab_size_for(pairs)
    return _with(train, "vocab_size", size, f"{size:,} pieces for {pairs:,} pairs")


def derive_batch_tokens(train: TrainConfig, epoch_tokens: int) -> TrainConfig:
    """`train` with the batch size filled in, if unset (`epoch_tokens`: padded tokens per epoch)."""
    if train.batch_tokens is not None:
        return train
    size = batch_tokens_for(epoch_tokens)
    reason = f"{size:,} tokens: about {max(epoch_tokens // size, 1):,} updates an epoch"
    return _with(train, "batch_tokens", size, reason)


def derive_schedule(
    train: TrainConfig, defaults: TrainingDefaults, steps_per_epoch: int
) -> TrainConfig:
    """`train` with the warm-up and validation interval filled in from the planned updates."""
    planned = planned_steps(train, steps_per_epoch)
    limit = "" if train.max_time is None else " (fewer if --max-time comes first)"
    if train.warmup is None and train.init_from is not None:
        reason = f"{FINETUNE_WARMUP} steps, as the model starts trained (--init-from)"
        train = _with(train, "warmup", FINETUNE_WARMUP, reason)
    if train.lr is None and train.init_from is not None and defaults.finetune_lr is not None:
        reason = f"{defaults.finetune_lr:g}, this architecture's fine-tuning rate (--init-from)"
        train = _with(train, "lr", defaults.finetune_lr, reason)
    tuned = train.scheduler == "auto" and train.init_from is not None
    if tuned and defaults.finetune_scheduler is not None:
        reason = f"{defaults.finetune_scheduler}, this architecture's fine-tuning schedule"
        train = _with(train, "scheduler", defaults.finetune_scheduler, reason)
    if train.warmup is None and train.schedule(defaults) in WARMED_UP:
        warmup = min(max(round(WARMUP_SHARE * planned), WARMUP_BOUNDS[0]), WARMUP_BOUNDS[1])
        reason = f"{warmup:,} steps: {WARMUP_SHARE:.0%} of {planned:,} planned updates{limit}"
        train = _with(train, "warmup", warmup, reason)
    if train.valid_every is None:
        epochs = planned / steps_per_epoch
        every = 0 if epochs >= SHORT_RUN_EPOCHS else max(MIN_VALID_EVERY, planned // 10)
        reason = "each epoch" if every == 0 else f"every {every:,} steps, a tenth of the run"
        train = _with(train, "valid_every", every, reason)
    return train


def _with(train: TrainConfig, name: str, value: float, reason: str) -> TrainConfig:
    """`train` with one derived value, and the reason recorded."""
    return replace(train, **{name: value}, derived={**train.derived, name: reason})
