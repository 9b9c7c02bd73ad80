"""The one seam every architecture implements, and the batch and memory types it exchanges.

Search, forced decoding, heatmaps and training are written once against `Seq2Seq`; nothing
outside `nmtcli.models` knows which architecture it holds. Attention weights are returned
values, never stashed on modules.

Shapes: B batch, S source length, T target length, H hidden size, V target vocabulary,
L attention layers, N heads per layer (an RNN has L = N = 1).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from nmtcli.vocab import BOS_ID, EOS_ID, PAD_ID


@dataclass
class Batch:
    """Padded source and target ids. Targets are optional (translation has none)."""

    src: Tensor  # (B, S) source ids ending in EOS, padded with PAD
    src_mask: Tensor  # (B, S) True on real tokens
    tgt_in: Tensor | None = None  # (B, T) BOS y_1 ... y_n, padded
    tgt_out: Tensor | None = None  # (B, T) y_1 ... y_n EOS, padded

    def to(self, device: torch.device | str) -> Batch:
        """The same batch on `device`."""
        move = lambda t: None if t is None else t.to(device, non_blocking=True)  # noqa: E731
        return Batch(move(self.src), move(self.src_mask), move(self.tgt_in), move(self.tgt_out))

    @property
    def size(self) -> int:
        """Number of sentences."""
        return self.src.size(0)

    @property
    def tgt_tokens(self) -> int:
        """Number of real target tokens (EOS included), as counted for throughput."""
        assert self.tgt_out is not None
        return int((self.tgt_out != PAD_ID).sum())


def pad(sequences: list[list[int]], value: int = PAD_ID) -> Tensor:
    """Right-pad integer sequences into one tensor."""
    width = max(len(s) for s in sequences)
    out = torch.full((len(sequences), width), value, dtype=torch.long)  # (B, W)
    for row, sequence in enumerate(sequences):
        out[row, : len(sequence)] = torch.tensor(sequence, dtype=torch.long)
    return out


def make_batch(src: list[list[int]], tgt: list[list[int]] | None = None) -> Batch:
    """A batch from unpadded token ids; EOS is appended to sources, BOS/EOS framed on targets."""
    src_ids = pad([[*s, EOS_ID] for s in src])  # (B, S)
    if tgt is None:
        return Batch(src_ids, src_ids != PAD_ID)
    tgt_in = pad([[BOS_ID, *t] for t in tgt])  # (B, T)
    tgt_out = pad([[*t, EOS_ID] for t in tgt])  # (B, T)
    return Batch(src_ids, src_ids != PAD_ID, tgt_in, tgt_out)


@dataclass
class Memory:
    """What the decoder needs from the encoder. Every tensor is batch-first."""

    states: Tensor  # (B, S, H) encoder outputs
    mask: Tensor  # (B, S) True on real tokens
    cache: dict[str, Tensor] = field(default_factory=dict)  # per-architecture precomputations

    def select(self, index: Tensor) -> Memory:
        """Rows `index` of every tensor (to expand for beams or drop finished sentences)."""
        return Memory(
            self.states.index_select(0, index),
            self.mask.index_select(0, index),
            {name: t.index_select(0, index) for name, t in self.cache.items()},
        )


class StepOutput(NamedTuple):
    """One incremental decoding step."""

    log_probs: Tensor  # (B, V)
    attention: Tensor | None  # (B, L, N, S), None for a model without attention or if not asked
    state: Any


class Seq2Seq(nn.Module, ABC):
    """An encoder–decoder with incremental decoding; the only interface search relies on."""

    #: (L, N): attention layers and heads per layer; (0, 0) for a model without attention.
    attention_layout: tuple[int, int] = (1, 1)

    @abstractmethod
    def encode(self, src: Tensor, src_mask: Tensor) -> Memory:
        """Encode source ids (B, S) with mask (B, S) into a `Memory`."""

    @abstractmethod
    def init_state(self, memory: Memory) -> Any:
        """The decoder state before the first step."""

    @abstractmethod
    def decode_step(
        self, prev_tokens: Tensor, state: Any, memory: Memory, need_attention: bool = True
    ) -> StepOutput:
        """Advance one token: previous tokens (B,) to next-token log-probabilities (B, V)."""

    @abstractmethod
    def reorder(self, state: Any, index: Tensor) -> Any:
        """Rows `index` of a decoder state (beam search reorders and prunes with this)."""

    @abstractmethod
    def forward(self, batch: Batch, need_attention: bool = False) -> tuple[Tensor, Tensor | None]:
        """Teacher-forced pass: logits (B, T, V) and attention (B, T, L, N, S) or None."""


@dataclass
class ParamNode:
    """A module's trainable parameter count, with its children (tied weights counted once)."""

    name: str
    kind: str
    count: int
    children: list[ParamNode]


def parameter_tree(
    module: nn.Module, name: str = "model", seen: set[int] | None = None
) -> ParamNode:
    """Parameter counts per module, as a tree; a shared (tied) tensor counts where first met."""
    seen = set() if seen is None else seen
    own = 0
    for parameter in module.parameters(recurse=False):
        if id(parameter) not in seen and parameter.requires_grad:
            seen.add(id(parameter))
            own += parameter.numel()
    children = [
        parameter_tree(child, child_name, seen) for child_name, child in module.named_children()
    ]
    total = own + sum(child.count for child in children)
    return ParamNode(name, type(module).__name__, total, [c for c in children if c.count])
