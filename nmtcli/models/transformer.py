"""Transformer encoder–decoder (Vaswani et al. 2017) with pre-norm layers (Xiong et al. 2020).

Sinusoidal positions (section 3.5), embeddings scaled by √d_model (section 3.4), scaled
dot-product attention softmax(QKᵀ/√d_k)V (eq. 1). With `tie_embeddings` the target embedding
and the output projection share one matrix, and when the vocabulary is joint the source
embedding shares it too (Press & Wolf 2017).

Incremental decoding keeps a key/value cache per decoder layer; the cross-attention keys and
values depend only on the source, so `encode` computes them once into the `Memory`.
Attention weights are computed only when asked (`need_attention`); otherwise PyTorch's fused
`scaled_dot_product_attention` runs.

Attention returned for heatmaps: cross-attention of every decoder layer and head,
(B, T, L, N, S). The documented default view is the penultimate layer averaged over heads
(`nmtcli.heatmap.attention_view`).

Shapes: B batch, S source length, T target length, D d_model, N heads, K = D / N per head,
F feed-forward size, V vocabulary, L layers.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

import torch
import torch.nn.functional as F  # noqa: N812 - the conventional name
from torch import Tensor, nn

from nmtcli.batch import PAD_ID, Batch
from nmtcli.models.base import Memory, Seq2Seq, StepOutput, step_log_probs
from nmtcli.models.config import TransformerConfig, VocabSizes


def sinusoids(length: int, size: int, offset: int = 0) -> Tensor:
    """Positional encodings PE(pos, 2i) = sin(pos / 10000^(2i/D)), PE(pos, 2i+1) = cos(...)."""
    positions = torch.arange(offset, offset + length, dtype=torch.float32).unsqueeze(1)  # (T, 1)
    rates = torch.exp(torch.arange(0, size, 2, dtype=torch.float32) * (-math.log(10000.0) / size))
    table = torch.zeros(length, size)  # (T, D)
    table[:, 0::2] = torch.sin(positions * rates)
    table[:, 1::2] = torch.cos(positions * rates[: size // 2])
    return table


class MultiHeadAttention(nn.Module):
    """Multi-head scaled dot-product attention with separate query and key/value projections."""

    def __init__(self, d_model: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.dropout = heads, dropout
        self.query = nn.Linear(d_model, d_model)
        self.key_value = nn.Linear(d_model, 2 * d_model)
        self.out = nn.Linear(d_model, d_model)

    def split(self, x: Tensor) -> Tensor:
        """(B, T, D) to heads (B, N, T, K)."""
        batch, length, _ = x.shape
        return x.view(batch, length, self.heads, -1).transpose(1, 2)

    def project_kv(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Keys and values (B, N, S, K) of inputs (B, S, D)."""
        keys, values = self.key_value(x).chunk(2, dim=-1)  # (B, S, D) each
        return self.split(keys), self.split(values)

    def attend(
        self, x: Tensor, keys: Tensor, values: Tensor, mask: Tensor, need_weights: bool
    ) -> tuple[Tensor, Tensor | None]:
        """Attend from inputs x (B, Q, D) over keys/values (B, N, S, K).

        Args:
            mask: (B, 1 or Q, S) True where attending is allowed.

        Returns:
            Outputs (B, Q, D) and, if asked, weights (B, N, Q, S).
        """
        queries = self.split(self.query(x))  # (B, N, Q, K)
        mask = mask.unsqueeze(1)  # (B, 1, 1|Q, S)
        dropout = self.dropout if self.training else 0.0
        if need_weights or queries.size(2) == 1:
            # Explicit when the weights are wanted, and for one query (a decoding step), where
            # these two products are 1.4-2.8x faster than scaled_dot_product_attention on a CPU
            # (bench in the commit message; the fused kernel wins for whole sequences).
            scores = queries @ keys.transpose(-2, -1) / math.sqrt(queries.size(-1))  # (B, N, Q, S)
            weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
            context = F.dropout(weights, dropout, self.training) @ values  # (B, N, Q, K)
        else:
            weights = None
            context = F.scaled_dot_product_attention(queries, keys, values, mask, dropout)
        batch, _, length, _ = context.shape
        merged = context.transpose(1, 2).reshape(batch, length, -1)  # (B, Q, D)
        return self.out(merged), weights


class FeedForward(nn.Sequential):
    """Position-wise W_2 relu(W_1 x) (section 3.3).

    No dropout on the inner activation (as in the paper; residual dropout follows the block):
    on CPUs, drawing a mask for the 4×-wider inner tensor costs more than a matrix product.
    """

    def __init__(self, d_model: int, ff_size: int) -> None:
        super().__init__(nn.Linear(d_model, ff_size), nn.ReLU(), nn.Linear(ff_size, d_model))


class EncoderLayer(nn.Module):
    """x + SelfAttn(LN(x)), then x + FF(LN(x))."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        self.self_norm = nn.LayerNorm(config.d_model)
        self.self_attention = MultiHeadAttention(config.d_model, config.heads, config.dropout)
        self.ff_norm = nn.LayerNorm(config.d_model)
        self.feed_forward = FeedForward(config.d_model, config.ff_size)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """(B, S, D) with key mask (B, 1, S) to (B, S, D)."""
        normed = self.self_norm(x)
        keys, values = self.self_attention.project_kv(normed)
        attended, _ = self.self_attention.attend(normed, keys, values, mask, need_weights=False)
        x = x + self.dropout(attended)
        return x + self.dropout(self.feed_forward(self.ff_norm(x)))


class DecoderLayer(nn.Module):
    """Masked self-attention, cross-attention over the source, feed-forward; all pre-norm."""

    def __init__(self, config: TransformerConfig) -> None:
        super().__init__()
        d_model, heads, dropout = config.d_model, config.heads, config.dropout
        self.self_norm = nn.LayerNorm(d_model)
        self.self_attention = MultiHeadAttention(d_model, heads, dropout)
        self.cross_norm = nn.LayerNorm(d_model)
        self.cross_attention = MultiHeadAttention(d_model, heads, dropout)
        self.ff_norm = nn.LayerNorm(d_model)
        self.feed_forward = FeedForward(d_model, config.ff_size)
        self.dropout = nn.Dropout(dropout)

    def forward(
        self,
        x: Tensor,
        past: tuple[Tensor, Tensor] | None,
        self_mask: Tensor,
        cross_kv: tuple[Tensor, Tensor],
        cross_mask: Tensor,
        need_weights: bool,
    ) -> tuple[Tensor, Tensor | None, tuple[Tensor, Tensor]]:
        """x (B, Q, D) attending to itself (after `past` keys/values) and to the source.

        Returns:
            (B, Q, D), cross-attention weights (B, N, Q, S) if asked, and the self-attention
            keys/values (B, N, t, K) including this call's positions (the new cache).
        """
        normed = self.self_norm(x)
        keys, values = self.self_attention.project_kv(normed)  # (B, N, Q, K)
        if past is not None:
            keys = torch.cat([past[0], keys], dim=2)  # (B, N, t, K)
            values = torch.cat([past[1], values], dim=2)  # (B, N, t, K)
        attended, _ = self.self_attention.attend(
            normed, keys, values, self_mask, need_weights=False
        )
        x = x + self.dropout(attended)
        attended, weights = self.cross_attention.attend(
            self.cross_norm(x), *cross_kv, cross_mask, need_weights
        )
        x = x + self.dropout(attended)
        x = x + self.dropout(self.feed_forward(self.ff_norm(x)))
        return x, weights, (keys, values)


_LAYER = re.compile(r"(?:en|de)coder_layers\.(\d+)\.")


class TransformerState(NamedTuple):
    """Self-attention key/value cache per decoder layer, batch-first, and the next position."""

    keys: list[Tensor]  # L × (B, N, t, K)
    values: list[Tensor]  # L × (B, N, t, K)
    position: int


class TransformerSeq2Seq(Seq2Seq):
    """Pre-norm Transformer encoder–decoder behind the `Seq2Seq` interface."""

    def __init__(self, config: TransformerConfig, vocab: VocabSizes) -> None:
        super().__init__()
        self.config = config
        self.attention_layout = (config.layers, config.heads)
        self.scale = math.sqrt(config.d_model)
        self.tgt_embed = nn.Embedding(vocab.tgt, config.d_model, padding_idx=PAD_ID)
        share_src = config.tie_embeddings and vocab.joint
        self.src_embed = self.tgt_embed if share_src else nn.Embedding(vocab.src, config.d_model)
        self.encoder_layers = nn.ModuleList(EncoderLayer(config) for _ in range(config.layers))
        self.encoder_norm = nn.LayerNorm(config.d_model)
        self.decoder_layers = nn.ModuleList(DecoderLayer(config) for _ in range(config.layers))
        self.decoder_norm = nn.LayerNorm(config.d_model)
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(config.d_model, vocab.tgt, bias=False)
        self.register_buffer("positions", sinusoids(256, config.d_model), persistent=False)
        self._init_weights()
        if config.tie_embeddings:
            self.output.weight = self.tgt_embed.weight

    def _init_weights(self) -> None:
        """Xavier-uniform matrices; N(0, 1/D) embeddings (unit variance once scaled by √D)."""
        for name, parameter in self.named_parameters():
            if "embed" in name:
                nn.init.normal_(parameter, std=self.config.d_model**-0.5)
            elif parameter.dim() > 1:
                nn.init.xavier_uniform_(parameter)
        with torch.no_grad():
            for embedding in (self.tgt_embed, self.src_embed):
                embedding.weight[PAD_ID].zero_()

    def _embed(self, embedding: nn.Embedding, ids: Tensor, offset: int = 0) -> Tensor:
        """Scaled embeddings plus positions: (B, T) to (B, T, D)."""
        length = ids.size(1)
        if offset + length > self.positions.size(0):
            positions = sinusoids(length, self.config.d_model, offset).to(self.positions.device)
        else:
            positions = self.positions[offset : offset + length]
        return self.dropout(embedding(ids) * self.scale + positions)  # (B, T, D)

    # -- the Seq2Seq interface -------------------------------------------------------------

    def encode(self, src: Tensor, src_mask: Tensor) -> Memory:
        """Encoder states (B, S, D) and each decoder layer's cross-attention keys/values."""
        x = self._embed(self.src_embed, src)  # (B, S, D)
        key_mask = src_mask.unsqueeze(1)  # (B, 1, S)
        for layer in self.encoder_layers:
            x = layer(x, key_mask)
        states = self.encoder_norm(x)  # (B, S, D)
        cache = {}
        for index, layer in enumerate(self.decoder_layers):
            keys, values = layer.cross_attention.project_kv(states)  # (B, N, S, K) each
            cache[f"keys{index}"], cache[f"values{index}"] = keys, values
        return Memory(states, src_mask, cache)

    def init_state(self, memory: Memory) -> TransformerState:
        """An empty self-attention cache at position 0."""
        empty = memory.states.new_zeros(memory.states.size(0), self.config.heads, 0, self.head_size)
        layers = self.config.layers
        return TransformerState([empty] * layers, [empty] * layers, 0)

    @property
    def head_size(self) -> int:
        """K = D / N."""
        return self.config.d_model // self.config.heads

    def decode_step(
        self,
        prev_tokens: Tensor,
        state: TransformerState,
        memory: Memory,
        need_attention: bool = True,
    ) -> StepOutput:
        """One position: tokens (B,) to log-probabilities (B, V) and weights (B, L, N, S)."""
        x = self._embed(self.tgt_embed, prev_tokens.unsqueeze(1), state.position)  # (B, 1, D)
        self_mask = memory.mask.new_ones(x.size(0), 1, state.position + 1)  # (B, 1, t)
        cross_mask = memory.mask.unsqueeze(1)  # (B, 1, S)
        new_keys, new_values, all_weights = [], [], []
        for index, layer in enumerate(self.decoder_layers):
            past = (state.keys[index], state.values[index])
            cross = (memory.cache[f"keys{index}"], memory.cache[f"values{index}"])
            x, weights, (keys, values) = layer(
                x, past, self_mask, cross, cross_mask, need_attention
            )
            new_keys.append(keys)
            new_values.append(values)
            all_weights.append(weights)
        logits = self.output(self.decoder_norm(x).squeeze(1))  # (B, V)
        attention = (
            torch.stack(all_weights, 1).squeeze(3) if need_attention else None
        )  # (B, L, N, S)
        state = TransformerState(new_keys, new_values, state.position + 1)
        return StepOutput(step_log_probs(logits), attention, state)

    def reorder(self, state: TransformerState, index: Tensor) -> TransformerState:
        """Rows `index` of every cached key/value tensor."""
        return TransformerState(
            [k.index_select(0, index) for k in state.keys],
            [v.index_select(0, index) for v in state.values],
            state.position,
        )

    def part_of(self, name: str) -> tuple[str, int | None]:
        """`*_embed` are embeddings; `encoder_layers.N` / `decoder_layers.N` are layer N."""
        if name.split(".")[0].endswith("_embed"):
            return "embeddings", None
        layer = _LAYER.match(name)
        side = "encoder" if name.startswith("encoder") else "decoder"
        return side, int(layer.group(1)) if layer else None

    def forward(self, batch: Batch, need_attention: bool = False) -> tuple[Tensor, Tensor | None]:
        """Teacher-forced logits (B, T, V) and cross-attention (B, T, L, N, S) or None."""
        assert batch.tgt_in is not None
        memory = self.encode(batch.src, batch.src_mask)
        x = self._embed(self.tgt_embed, batch.tgt_in)  # (B, T, D)
        length = x.size(1)
        causal = torch.ones(length, length, dtype=torch.bool, device=x.device).tril()  # (T, T)
        self_mask = causal.unsqueeze(0)  # (1, T, T)
        cross_mask = memory.mask.unsqueeze(1)  # (B, 1, S)
        all_weights = []
        for index, layer in enumerate(self.decoder_layers):
            cross = (memory.cache[f"keys{index}"], memory.cache[f"values{index}"])
            x, weights, _ = layer(x, None, self_mask, cross, cross_mask, need_attention)
            all_weights.append(weights)
        logits = self.output(self.decoder_norm(x))  # (B, T, V)
        if not need_attention:
            return logits, None
        return logits, torch.stack(all_weights, dim=1).permute(0, 3, 1, 2, 4)  # (B, T, L, N, S)
