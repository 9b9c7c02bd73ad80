"""Checkpoints: everything needed to continue a run exactly, saved through the model directory.

`train_state.pt` holds weights, optimizer moments, the gradient scaler, progress counters (which
also determine the learning rate) and the torch random state (dropout, scheduled sampling);
`last.safetensors` the latest weights and `model.safetensors` the best ones.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import torch

from nmtcli.modeldir import BEST, LAST, ModelDir
from nmtcli.models import Seq2Seq
from nmtcli.training.state import Progress


def save_checkpoint(
    model_dir: ModelDir,
    model: Seq2Seq,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    progress: Progress,
    best: bool,
) -> None:
    """Write the resumable state, the last weights, and the best weights if `best`."""
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
    model_dir.save_train_state(state)
    model_dir.save_weights(model, LAST)
    if best:
        model_dir.save_weights(model, BEST)


def restore_rng(state: dict[str, Any], device: torch.device) -> None:
    """Restore the random state saved with a checkpoint."""
    torch.set_rng_state(state["rng"].cpu())
    if device.type == "cuda" and "cuda_rng" in state:
        torch.cuda.set_rng_state(state["cuda_rng"].cpu(), device)
