"""Choosing the torch device and the precision to compute in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from nmtcli.errors import ConfigError

if TYPE_CHECKING:  # torch loads on first use: option lists and help need none of it
    import torch

PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8")
DEVICES = ("auto", "cpu", "cuda")


def device_kind(choice: str, cuda_available: bool) -> str:
    """`cuda` or `cpu` for a --device choice: `auto` is CUDA when available (no torch needed)."""
    if choice not in DEVICES:
        raise ConfigError(f"device must be auto, cpu or cuda, not {choice!r}")
    if choice == "cuda" and not cuda_available:
        raise ConfigError("--device cuda was asked for but no CUDA device is available")
    return "cuda" if choice == "cuda" or (choice == "auto" and cuda_available) else "cpu"


def check_precision(precision: str) -> None:
    """Refuse a --precision nmtcli does not know."""
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, not {precision!r}")


def resolve_device(choice: str, local_rank: int = 0) -> torch.device:
    """The torch device of a --device choice (`device_kind`)."""
    import torch

    if device_kind(choice, torch.cuda.is_available()) == "cuda":
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `precision` (None: plain fp32).

    `auto` is bf16 on CUDA when supported (else fp16) and fp32 on the CPU; bf16 also runs on the
    CPU when asked (fast on CPUs with AVX512-BF16 or AMX); fp16 needs CUDA; int8 (`quantized`)
    is CPU-only and has no autocast.
    """
    import torch

    check_precision(precision)
    if precision == "int8" and device.type != "cpu":
        raise ConfigError("--precision int8 runs on the CPU; on CUDA use bf16 or fp16")
    if precision in ("fp32", "int8"):  # int8 computes its activations in fp32
        return None
    if device.type != "cuda":
        if precision == "fp16":
            raise ConfigError("--precision fp16 needs CUDA; on the CPU use bf16 or fp32")
        return torch.bfloat16 if precision == "bf16" else None
    if precision == "fp16":
        return torch.float16
    if precision == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


@contextmanager
def autocast(dtype: torch.dtype | None, device: torch.device) -> Iterator[None]:
    """An autocast context for `autocast_dtype`'s answer (disabled when it is None).

    On a CPU whose oneDNN has no bf16 kernels (no AVX512-BF16 or AMX), oneDNN cannot build a
    bf16 LSTM at all ("could not create a primitive descriptor"), so oneDNN is switched off for
    the duration: PyTorch's own kernels then run the bf16 matrix products and the fp32 LSTM.
    """
    import torch

    emulated = dtype == torch.bfloat16 and device.type == "cpu" and not _onednn_has_bf16()
    previous = torch.backends.mkldnn.enabled
    if emulated:
        torch.backends.mkldnn.enabled = False
    try:
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            yield
    finally:
        torch.backends.mkldnn.enabled = previous


def _onednn_has_bf16() -> bool:
    """Whether oneDNN has native bf16 kernels on this CPU."""
    import torch

    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def quantized(model: torch.nn.Module) -> torch.nn.Module:
    """`model` with its linear and recurrent layers dynamically quantized to int8, in place.

    Weights are stored as int8 and each activation is quantized on the fly, with PyTorch's own
    `torch.ao.quantization.quantize_dynamic` (its x86 kernels). On the shipped model it decodes
    about 1.5x faster than fp32 on one core (`bench.int8_backends`), where torchao
    0.18's int8 configurations were no faster than fp32 on the CPU (the README's performance
    section). PyTorch marks torch.ao as deprecated; its warning is silenced here, and a PyTorch
    without it is a clear error.
    """
    import warnings

    import torch

    try:
        from torch.ao.quantization import quantize_dynamic
    except ImportError:
        raise ConfigError(
            f"--precision int8 needs torch.ao.quantization, which PyTorch {torch.__version__} "
            "no longer has; use fp32 or bf16"
        ) from None
    layers = {torch.nn.Linear, torch.nn.LSTM, torch.nn.GRU}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return quantize_dynamic(model, layers, dtype=torch.qint8, inplace=True)
