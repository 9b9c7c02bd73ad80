"""Learning-rate schedules as pure functions of the training progress (trivially resumable).

- `inverse_sqrt` (Vaswani et al. 2017, eq. 3, rescaled to a peak): linear warm-up to the peak
  at `warmup` steps, then lr = peak · √(warmup / step).
- `plateau`: the peak (after the same linear warm-up), multiplied by `plateau_factor` each time
  the validation metric has not improved for `plateau_patience` validations.
- `constant`: the peak after warm-up.
"""

from __future__ import annotations

import math


def learning_rate(
    kind: str, peak: float, step: int, warmup: int, reductions: int = 0, factor: float = 0.5
) -> float:
    """The learning rate for optimizer step `step` (1-based)."""
    step = max(step, 1)
    ramp = min(1.0, step / warmup) if warmup > 0 else 1.0
    if kind == "inverse_sqrt":
        return peak * min(ramp, math.sqrt(warmup / step) if warmup > 0 else 1.0 / math.sqrt(step))
    if kind == "plateau":
        return peak * ramp * factor**reductions
    return peak * ramp
