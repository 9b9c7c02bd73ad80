"""Checkpoints: everything needed to continue a run exactly, saved through the model directory.

`train_state.pt` holds weights, optimizer moments, the gradient scaler, progress counters (which
also determine the learning rate) and the torch random state (dropout, scheduled sampling);
`last.safetensors` the latest weights, `model.safetensors` the best ones, and `metrics.jsonl`
the validation record the checkpoint was saved for.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch

from nmtcli.modeldir import BEST, LAST, METRICS, ModelDir
from nmtcli.models import Seq2Seq
from nmtcli.records import ValidationRecord
from nmtcli.training.state import Progress


def save_checkpoint(
    model_dir: ModelDir,
    model: Seq2Seq,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    progress: Progress,
    best: bool,
    record: ValidationRecord | None = None,
    keep: int = 0,
) -> None:
    """Commit the resumable state with the last weights, the best ones if `best`, and `record`.

    The files are committed together (`ModelDir.commit_checkpoint`), so a run killed at any
    instant resumes from a checkpoint whose files agree with each other. A validation's
    checkpoint also keeps its weights as `step-N.safetensors`, the newest `keep` of them.
    """
    device = next(model.parameters()).device
    state: dict[str, Any] = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scaler": scaler.state_dict() if scaler.is_enabled() else {},
        "progress": asdict(progress),
        "rng": torch.get_rng_state(),
    }
    if device.type == "cuda":
        state["cuda_rng"] = torch.cuda.get_rng_state(device)
    weights = model_dir.weights_writer(model)
    files = {LAST: weights} | ({BEST: weights} if best else {})
    if record is not None:
        files[METRICS] = model_dir.metrics_with(record)
        if keep > 0:
            files[f"step-{progress.step}.safetensors"] = weights
    model_dir.commit_checkpoint(progress.step, state, files)
    if record is not None:
        model_dir.prune_step_weights(keep)


def restore_rng(state: dict[str, Any], device: torch.device) -> None:
    """Restore the random state saved with a checkpoint."""
    torch.set_rng_state(state["rng"].cpu())
    if device.type == "cuda" and "cuda_rng" in state:
        torch.cuda.set_rng_state(state["cuda_rng"].cpu(), device)
