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

from nmtcli.device import resolve_device


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

    def describe(self) -> str:
        """The hardware, for the model card: `2× NVIDIA H100`, `CPU (AMD EPYC, 2 threads)`."""
        count = f"{self.world}× " if self.world > 1 else ""
        if self.device.type == "cuda":
            return f"{count}{torch.cuda.get_device_name(self.device)}"
        processor = _cpu_name()
        return f"{count}CPU ({processor}, {torch.get_num_threads()} threads)"

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


def _cpu_name() -> str:
    """The CPU model name from /proc/cpuinfo, or the platform's processor string."""
    import platform

    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"
