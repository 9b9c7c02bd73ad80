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

from nmtcli.batch import Batch


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


def step_log_probs(logits: Tensor) -> Tensor:
    """Log-softmax over the vocabulary of one decoding step's logits (B, V).

    A step's logits are its own and never read again, so when no gradient is taken and they are
    fp32 the log-probabilities overwrite them (bit-identical to `torch.log_softmax`): one (B, V)
    tensor at the step's memory peak instead of two. Otherwise (training, bf16 autocast, which
    returns fp32 log-probabilities) it is the usual call.
    """
    if logits.dtype == torch.float32 and not torch.is_grad_enabled():
        return torch.log_softmax(logits, dim=-1, out=logits)
    return torch.log_softmax(logits, dim=-1)


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

    @abstractmethod
    def part_of(self, name: str) -> tuple[str, int | None]:
        """Where parameter `name` sits: (`embeddings`, `encoder` or `decoder`, layer or None).

        Fine-tuning's `--freeze` selects parameters by these parts; a layer index counts from
        the input side, and None is a part's parameters outside its stacked layers.
        """


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
