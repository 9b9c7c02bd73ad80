"""RNN encoder–decoder: fixed context vector, Bahdanau attention, or Luong attention.

- `attention: none` (Sutskever et al. 2014; Cho et al. 2014): the decoder starts from the
  encoder's final state and never sees the source again: the bottleneck baseline.
- `attention: bahdanau` (Bahdanau et al. 2014, A.1.2 / A.2.2): energies from the *previous*
  state s_{i-1}; the context c_i joins the embedding at the RNN input; output from
  tanh(W_t [s_i; c_i; E y_{i-1}]).
- `attention: dot | general | concat` (Luong et al. 2015, section 3): scores from the *current*
  state s_i; attentional vector h̃_i = tanh(W_c [c_i; s_i]) feeds the output layer and, with
  `input_feeding`, the next step's RNN input (section 3.3).

Bridge: a bidirectional encoder has H/2 units per direction; for each layer the decoder's
initial state is the concatenation [→h_S; ←h_1] of that layer's two final states (for an LSTM the
cell states likewise), so no extra parameters are needed. `reverse_source` feeds the encoder the
source backwards (Sutskever et al. 2014) and flips its outputs back, so attention columns stay in
source order.

Shapes: B batch, S source length, T target length, E embedding size, H hidden size,
V vocabulary, Y layers.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from nmtcli.batch import PAD_ID, Batch
from nmtcli.models.attention import make_attention
from nmtcli.models.base import Memory, Seq2Seq, StepOutput, step_log_probs
from nmtcli.models.config import RNNConfig, VocabSizes


class RNNState(NamedTuple):
    """Decoder state; `hidden`/`cell` are in the RNN's own (Y, B, H) layout."""

    hidden: Tensor  # (Y, B, H)
    cell: Tensor | None  # (Y, B, H) for an LSTM
    feed: Tensor | None  # (B, H) previous attentional vector h̃ (Luong input feeding)


def _rnn(
    cell: str, input_size: int, hidden_size: int, config: RNNConfig, bidirectional: bool
) -> nn.RNNBase:
    """An `nn.LSTM` or `nn.GRU` with inter-layer dropout."""
    rnn_class = nn.LSTM if cell == "lstm" else nn.GRU
    return rnn_class(
        input_size,
        hidden_size,
        num_layers=config.layers,
        batch_first=True,
        dropout=config.dropout if config.layers > 1 else 0.0,
        bidirectional=bidirectional,
    )


def reverse_padded(x: Tensor, lengths: Tensor) -> Tensor:
    """Reverse each row's first `lengths[b]` positions, leaving padding in place (self-inverse).

    Args:
        x: (B, S, ...) batch-first tensor.
        lengths: (B,) real lengths.
    """
    positions = torch.arange(x.size(1), device=x.device).unsqueeze(0)  # (1, S)
    flipped = lengths.unsqueeze(1) - 1 - positions  # (B, S)
    index = torch.where(flipped >= 0, flipped, positions)  # (B, S)
    index = index.view(*index.shape, *([1] * (x.dim() - 2))).expand_as(x)  # (B, S, ...)
    return x.gather(1, index)


class RNNEncoder(nn.Module):
    """Embeddings and a (bi)directional multi-layer RNN over packed sequences."""

    def __init__(self, config: RNNConfig, vocab_size: int) -> None:
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(vocab_size, config.emb_size, padding_idx=PAD_ID)
        units = config.hidden_size // 2 if config.bidirectional else config.hidden_size
        self.rnn = _rnn(config.cell, config.emb_size, units, config, config.bidirectional)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, src: Tensor, src_mask: Tensor) -> tuple[Tensor, Tensor, Tensor | None]:
        """Outputs (B, S, H) and final hidden / cell states (Y, B, H) after the bridge."""
        lengths = src_mask.sum(1)  # (B,)
        if self.config.reverse_source:
            src = reverse_padded(src, lengths)  # (B, S)
        embedded = self.dropout(self.embed(src))  # (B, S, E)
        packed = pack_padded_sequence(
            embedded, lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        outputs, final = self.rnn(packed)
        states, _ = pad_packed_sequence(
            outputs, batch_first=True, total_length=src.size(1)
        )  # (B, S, H)
        if self.config.reverse_source:
            states = reverse_padded(states, lengths)  # (B, S, H)
        hidden, cell = final if isinstance(final, tuple) else (final, None)
        return states, self._bridge(hidden), None if cell is None else self._bridge(cell)

    def _bridge(self, final: Tensor) -> Tensor:
        """(Y·D, B, H/D) final states to (Y, B, H): concatenate each layer's directions."""
        if not self.config.bidirectional:
            return final  # (Y, B, H)
        layers, batch = self.config.layers, final.size(1)
        both = final.view(layers, 2, batch, -1)  # (Y, 2, B, H/2)
        return torch.cat([both[:, 0], both[:, 1]], dim=-1)  # (Y, B, H)


_RNN_LAYER = re.compile(r"\.rnn\.\w+_l(\d+)(?:_reverse)?$")


class RNNSeq2Seq(Seq2Seq):
    """RNN encoder–decoder; see the module docstring for the equations of each attention."""

    def __init__(self, config: RNNConfig, vocab: VocabSizes) -> None:
        super().__init__()
        self.config = config
        hidden, emb = config.hidden_size, config.emb_size
        self.attention_layout = (0, 0) if config.attention == "none" else (1, 1)
        self.encoder = RNNEncoder(config, vocab.src)
        self.embed = nn.Embedding(vocab.tgt, emb, padding_idx=PAD_ID)
        self.input_feeding = config.luong and config.input_feeding
        extra = hidden if config.attention == "bahdanau" or self.input_feeding else 0
        self.rnn = _rnn(config.cell, emb + extra, hidden, config, bidirectional=False)
        self.attention = (
            None if config.attention == "none" else make_attention(config.attention, hidden)
        )
        if config.attention == "bahdanau":
            self.pre_output = nn.Linear(2 * hidden + emb, hidden)  # W_t [s_i; c_i; E y_{i-1}]
        elif config.luong:
            self.pre_output = nn.Linear(2 * hidden, hidden, bias=False)  # W_c [c_i; s_i]
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(hidden, vocab.tgt)

    # -- the Seq2Seq interface -------------------------------------------------------------

    def encode(self, src: Tensor, src_mask: Tensor) -> Memory:
        """Run the encoder; precompute attention keys and keep the bridged final state."""
        states, hidden, cell = self.encoder(src, src_mask)
        cache = {"hidden": hidden.transpose(0, 1)}  # (B, Y, H): Memory is batch-first
        if cell is not None:
            cache["cell"] = cell.transpose(0, 1)  # (B, Y, H)
        if self.attention is not None:
            cache["keys"] = self.attention.keys(states)  # (B, S, H)
        return Memory(states, src_mask, cache)

    def init_state(self, memory: Memory) -> RNNState:
        """The bridged encoder final state; a zero attentional vector for input feeding."""
        hidden = memory.cache["hidden"].transpose(0, 1).contiguous()  # (Y, B, H)
        cell = memory.cache.get("cell")
        cell = None if cell is None else cell.transpose(0, 1).contiguous()  # (Y, B, H)
        feed = (
            hidden.new_zeros(hidden.size(1), self.config.hidden_size)
            if self.input_feeding
            else None
        )
        return RNNState(hidden, cell, feed)

    def decode_step(
        self, prev_tokens: Tensor, state: RNNState, memory: Memory, need_attention: bool = True
    ) -> StepOutput:
        """One step: previous tokens (B,) to log-probabilities (B, V) and weights (B, 1, 1, S)."""
        embedded = self.dropout(self.embed(prev_tokens))  # (B, E)
        pre, weights, state = self._step(embedded, state, memory)
        log_probs = step_log_probs(self.output(self.dropout(pre)))  # (B, V)
        attention = None if weights is None or not need_attention else weights[:, None, None, :]
        return StepOutput(log_probs, attention, state)

    def reorder(self, state: RNNState, index: Tensor) -> RNNState:
        """Rows `index` of the state (batch is axis 1 of hidden/cell)."""
        return RNNState(
            state.hidden.index_select(1, index),
            None if state.cell is None else state.cell.index_select(1, index),
            None if state.feed is None else state.feed.index_select(0, index),
        )

    def part_of(self, name: str) -> tuple[str, int | None]:
        """`encoder.embed`/`embed` are embeddings; `*.rnn.*_lN` is layer N of its side."""
        if name.split(".")[-2] == "embed":
            return "embeddings", None
        layer = _RNN_LAYER.search(name)
        side = "encoder" if name.startswith("encoder.") else "decoder"
        return side, int(layer.group(1)) if layer else None

    def forward(self, batch: Batch, need_attention: bool = False) -> tuple[Tensor, Tensor | None]:
        """Teacher-forced logits (B, T, V) and attention (B, T, 1, 1, S) or None."""
        assert batch.tgt_in is not None
        memory = self.encode(batch.src, batch.src_mask)
        state = self.init_state(memory)
        embedded = self.dropout(self.embed(batch.tgt_in))  # (B, T, E)
        if self.config.attention == "bahdanau" or self.input_feeding:
            pre, weights = self._loop(embedded, state, memory)
        else:
            pre, weights = self._parallel(embedded, state, memory)
        logits = self.output(self.dropout(pre))  # (B, T, V)
        if weights is None or not need_attention:
            return logits, None
        return logits, weights[:, :, None, None, :]  # (B, T, 1, 1, S)

    # -- internals ---------------------------------------------------------------------------

    def _run_rnn(self, inputs: Tensor, state: RNNState) -> tuple[Tensor, RNNState]:
        """The decoder RNN over inputs (B, T', ·) from `state`: outputs (B, T', H).

        A single step runs the cells on the RNN's weights; an int8-quantized RNN (no plain
        weights, `device.quantized`) runs its own kernel instead.
        """
        if inputs.size(1) == 1 and isinstance(self.rnn, nn.RNNBase):
            return self._run_cells(inputs.squeeze(1), state)
        if state.cell is None:
            outputs, hidden = self.rnn(inputs, state.hidden)
            return outputs, RNNState(hidden, None, state.feed)
        outputs, (hidden, cell) = self.rnn(inputs, (state.hidden, state.cell))
        return outputs, RNNState(hidden, cell, state.feed)

    def _run_cells(self, inputs: Tensor, state: RNNState) -> tuple[Tensor, RNNState]:
        """One time step (B, ·) through each layer's cell, with `self.rnn`'s weights.

        Same result as `self.rnn` on a length-1 sequence, but on CPUs a fused RNN kernel costs
        several times more per single step (forward and backward) than the cell's two products.
        """
        layer_input, hiddens, cells = inputs, [], []
        for layer in range(self.config.layers):
            weights = [
                getattr(self.rnn, f"{name}_l{layer}")
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            ]
            if state.cell is None:
                hidden = torch.gru_cell(layer_input, state.hidden[layer], *weights)  # (B, H)
            else:
                hidden, cell = torch.lstm_cell(
                    layer_input, (state.hidden[layer], state.cell[layer]), *weights
                )
                cells.append(cell)
            hiddens.append(hidden)
            last = layer == self.config.layers - 1
            layer_input = hidden if last else F.dropout(hidden, self.rnn.dropout, self.training)
        cell_state = torch.stack(cells) if cells else None  # (Y, B, H)
        return hiddens[-1].unsqueeze(1), RNNState(torch.stack(hiddens), cell_state, state.feed)

    def _attend(self, query: Tensor, memory: Memory) -> tuple[Tensor, Tensor]:
        """Context (B, Q, H) and weights (B, Q, S) for queries (B, Q, H)."""
        assert self.attention is not None
        return self.attention(query, memory.cache["keys"], memory.states, memory.mask)

    def _step(
        self, embedded: Tensor, state: RNNState, memory: Memory
    ) -> tuple[Tensor, Tensor | None, RNNState]:
        """One decoder step from embeddings (B, E): pre-output (B, H), weights (B, S), state."""
        if self.config.attention == "bahdanau":
            context, weights = self._attend(state.hidden[-1].unsqueeze(1), memory)  # s_{i-1}
            inputs = torch.cat([embedded.unsqueeze(1), context], dim=-1)  # (B, 1, E + H)
            output, state = self._run_rnn(inputs, state)  # (B, 1, H)
            pre = torch.tanh(
                self.pre_output(torch.cat([output, context, embedded.unsqueeze(1)], -1))
            )
            return pre.squeeze(1), weights.squeeze(1), state
        inputs = embedded.unsqueeze(1)  # (B, 1, E)
        if self.input_feeding:
            inputs = torch.cat([inputs, state.feed.unsqueeze(1)], dim=-1)  # (B, 1, E + H)
        output, state = self._run_rnn(inputs, state)  # (B, 1, H)
        if self.attention is None:
            return output.squeeze(1), None, state
        pre, weights = self._luong_output(output, memory)  # (B, 1, H), (B, 1, S)
        feed = pre.squeeze(1) if self.input_feeding else None
        return pre.squeeze(1), weights.squeeze(1), state._replace(feed=feed)

    def _luong_output(self, output: Tensor, memory: Memory) -> tuple[Tensor, Tensor]:
        """h̃ = tanh(W_c [c; s]) for RNN outputs (B, Q, H): (B, Q, H) and weights (B, Q, S)."""
        context, weights = self._attend(output, memory)
        return torch.tanh(self.pre_output(torch.cat([context, output], dim=-1))), weights

    def _loop(
        self, embedded: Tensor, state: RNNState, memory: Memory
    ) -> tuple[Tensor, Tensor | None]:
        """Step by step (the RNN input depends on the previous step's attention)."""
        pres, all_weights = [], []
        for t in range(embedded.size(1)):
            pre, weights, state = self._step(embedded[:, t], state, memory)
            pres.append(pre)
            all_weights.append(weights)
        stacked = None if all_weights[0] is None else torch.stack(all_weights, dim=1)  # (B, T, S)
        return torch.stack(pres, dim=1), stacked  # (B, T, H)

    def _parallel(
        self, embedded: Tensor, state: RNNState, memory: Memory
    ) -> tuple[Tensor, Tensor | None]:
        """All steps at once (no attention, or Luong attention without input feeding)."""
        output, _ = self._run_rnn(embedded, state)  # (B, T, H)
        if self.attention is None:
            return output, None
        return self._luong_output(output, memory)  # (B, T, H), (B, T, S)
