"""Attention for RNN decoders: additive (Bahdanau / Luong concat), dot and general scoring.

Each module splits scoring into `keys(states)`, computed once per source sentence, and
`forward(query, ...)`, computed per decoder step (Q = 1) or for a whole target (Q = T).

Shapes: B batch, S source length, Q queries, H hidden size.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


def masked_softmax(scores: Tensor, mask: Tensor) -> Tensor:
    """Softmax over the last axis with padded positions set to exactly zero.

    Args:
        scores: (B, Q, S) energies.
        mask: (B, S) True on real source tokens.
    """
    scores = scores.masked_fill(~mask.unsqueeze(1), float("-inf"))  # (B, Q, S)
    return torch.softmax(scores, dim=-1)  # (B, Q, S)


class RNNAttention(nn.Module):
    """Base: weights α = softmax(score(query, keys)); context c = Σ_j α_j h_j."""

    def keys(self, states: Tensor) -> Tensor:
        """Per-sentence precomputation of the source side: (B, S, H) -> (B, S, H)."""
        return states

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """Energies e (B, Q, S) for queries (B, Q, H) against keys (B, S, H)."""
        raise NotImplementedError

    def forward(
        self, query: Tensor, keys: Tensor, values: Tensor, mask: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Context vectors (B, Q, H) and attention weights (B, Q, S)."""
        weights = masked_softmax(self.score(query, keys), mask)  # (B, Q, S)
        return torch.bmm(weights, values), weights  # (B, Q, H), (B, Q, S)


class DotAttention(RNNAttention):
    """Luong et al. 2015, eq. 8 (dot): e_ij = s_iᵀ h_j."""

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """s_iᵀ h_j for every query and source position."""
        return torch.bmm(query, keys.transpose(1, 2))  # (B, Q, S)


class GeneralAttention(RNNAttention):
    """Luong et al. 2015, eq. 8 (general): e_ij = s_iᵀ W_a h_j, with W_a h_j precomputed."""

    def __init__(self, query_size: int, key_size: int) -> None:
        super().__init__()
        self.w_a = nn.Linear(key_size, query_size, bias=False)

    def keys(self, states: Tensor) -> Tensor:
        """W_a h_j for every source position."""
        return self.w_a(states)  # (B, S, H)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """s_iᵀ (W_a h_j)."""
        return torch.bmm(query, keys.transpose(1, 2))  # (B, Q, S)


class AdditiveAttention(RNNAttention):
    """e_ij = vᵀ tanh(W_s s + W_h h_j).

    Bahdanau et al. 2014, appendix A.1.2, with s = s_{i-1} (the previous decoder state); also
    Luong et al. 2015's `concat` score, vᵀ tanh(W_a [s_i; h_j]), with s = s_i, since
    W_a [s; h] = W_s s + W_h h. W_h h_j is precomputed once per sentence.
    """

    def __init__(self, query_size: int, key_size: int, attention_size: int) -> None:
        super().__init__()
        self.w_s = nn.Linear(query_size, attention_size, bias=False)
        self.w_h = nn.Linear(key_size, attention_size, bias=True)
        self.v = nn.Linear(attention_size, 1, bias=False)

    def keys(self, states: Tensor) -> Tensor:
        """W_h h_j for every source position."""
        return self.w_h(states)  # (B, S, A)

    def score(self, query: Tensor, keys: Tensor) -> Tensor:
        """vᵀ tanh(W_s s + W_h h_j)."""
        hidden = torch.tanh(self.w_s(query).unsqueeze(2) + keys.unsqueeze(1))  # (B, Q, S, A)
        return self.v(hidden).squeeze(-1)  # (B, Q, S)


def make_attention(kind: str, hidden_size: int) -> RNNAttention:
    """The attention module for an `attention:` config value (not `none`)."""
    if kind == "dot":
        return DotAttention()
    if kind == "general":
        return GeneralAttention(hidden_size, hidden_size)
    return AdditiveAttention(hidden_size, hidden_size, hidden_size)
