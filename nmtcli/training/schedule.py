"""Learning-rate schedules as pure functions of the training progress (trivially resumable).

- `inverse_sqrt` (Vaswani et al. 2017, eq. 3, rescaled to a peak): linear warm-up to the peak
  at `warmup` steps, then lr = peak · √(warmup / step).
- `plateau`: the peak (after the same linear warm-up), multiplied by `plateau_factor` each time
  the validation metric has not improved for `plateau_patience` validations.
- `constant`: the peak after warm-up.
- `linear` (the usual fine-tuning schedule: BERT, fairseq's `polynomial_decay`): the same linear
  warm-up, then a straight line down to zero at the end of the run, lr = peak · (1 − done),
  where `done` is the share of the run behind it (of --max-steps, --max-epochs or --max-time,
  whichever ends it first).
"""

from __future__ import annotations

import math


def learning_rate(
    kind: str,
    peak: float,
    step: int,
    warmup: int,
    reductions: int = 0,
    factor: float = 0.5,
    done: float = 0.0,
) -> float:
    """The learning rate for optimizer step `step` (1-based); `done` is used by `linear` only."""
    step = max(step, 1)
    ramp = min(1.0, step / warmup) if warmup > 0 else 1.0
    if kind == "inverse_sqrt":
        return peak * min(ramp, math.sqrt(warmup / step) if warmup > 0 else 1.0 / math.sqrt(step))
    if kind == "plateau":
        return peak * ramp * factor**reductions
    if kind == "linear":
        return peak * min(ramp, max(0.0, 1.0 - done))
    return peak * ramp


def time_share(start: float, elapsed: float, limit: float) -> float:
    """The share of a run behind it after `elapsed` of this invocation's `limit` seconds.

    --max-time counts one invocation, so a run resumed at share `start` spends its new limit on
    the rest: the `linear` decay continues where it stopped instead of starting over.
    """
    return start + (1.0 - start) * elapsed / limit
