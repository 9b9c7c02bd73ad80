"""Single-process or DistributedDataParallel (launched by `torchrun`), behind one small object.

`torchrun` sets RANK, LOCAL_RANK and WORLD_SIZE; with WORLD_SIZE > 1 the process group is
initialised with NCCL on GPUs and gloo on CPUs. Rank 0 is the main process: it alone writes files
and reports; collective helpers here let the other ranks follow its decisions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
from torch import nn

from nmtcli.errors import ConfigError


@dataclass
class DistInfo:
    """This process's place in the job and its device."""

    rank: int
    world: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Whether this is rank 0."""
        return self.rank == 0

    def wrap(self, model: nn.Module) -> nn.Module:
        """The model wrapped in DistributedDataParallel when there are several ranks."""
        if self.world == 1:
            return model
        from torch.nn.parallel import DistributedDataParallel

        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)

    def any(self, flag: bool) -> bool:
        """Whether `flag` is true on any rank (so every rank takes the same branch)."""
        if self.world == 1:
            return flag
        value = torch.tensor([1.0 if flag else 0.0], device=self.device)
        torch.distributed.all_reduce(value, op=torch.distributed.ReduceOp.MAX)
        return bool(value.item())

    def broadcast_float(self, value: float | None) -> float:
        """Rank 0's `value`, on every rank."""
        if self.world == 1:
            assert value is not None
            return value
        tensor = torch.tensor(
            [value if value is not None else 0.0], device=self.device, dtype=torch.float64
        )
        torch.distributed.broadcast(tensor, src=0)
        return float(tensor.item())

    def barrier(self) -> None:
        """Wait for every rank."""
        if self.world > 1:
            torch.distributed.barrier()


def resolve_device(choice: str, local_rank: int = 0) -> torch.device:
    """`auto` is CUDA when available, else the CPU; asking for CUDA without one is an error."""
    if choice == "cuda" or (choice == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda was asked for but no CUDA device is available")
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def init_distributed(device_choice: str) -> DistInfo:
    """Join the `torchrun` process group if there is one; otherwise a single process."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo(0, 1, resolve_device(device_choice))
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device_choice, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return DistInfo(rank, world, device)


def shutdown_distributed() -> None:
    """Leave the process group, if joined."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()
