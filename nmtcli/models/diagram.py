"""What an encoder–decoder is made of, read off its config: the boxes `info --diagram` draws.

Each side is a list of boxes in the order data flows through them (input first). Links say
where the encoder's output enters the decoder (its initial state, its attention, every
layer's cross-attention); loops say what a decoder step hands the next one; ties say which
boxes share one weight matrix. Drawing is `nmtcli.diagram`'s job; this module only describes
the model, so that the drawing needs no knowledge of the architectures.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nmtcli.models.config import ModelConfig, RNNConfig, TransformerConfig, VocabSizes


@dataclass(frozen=True)
class Box:
    """One stage of a side: what it is, and its sizes or equation."""

    title: str
    detail: str = ""


@dataclass(frozen=True)
class Link:
    """The encoder's box `source` feeds the decoder's box `target`."""

    source: int
    target: int
    label: str


@dataclass(frozen=True)
class Loop:
    """The decoder's box `source` feeds box `target` at the next step."""

    source: int
    target: int
    label: str


@dataclass(frozen=True)
class Tie:
    """Two boxes that share one weight matrix; sides are `encoder` or `decoder`."""

    first: tuple[str, int]
    second: tuple[str, int]
    label: str


@dataclass(frozen=True)
class Diagram:
    """A model's encoder and decoder and what connects them."""

    title: str
    encoder: list[Box]
    decoder: list[Box]
    links: list[Link]
    loops: list[Loop] = field(default_factory=list)
    ties: list[Tie] = field(default_factory=list)


LUONG_SCORES = {
    "dot": "e_ij = s_iᵀ h_j",
    "general": "e_ij = s_iᵀ W_a h_j",
    "concat": "e_ij = vᵀ tanh(W_a [s_i; h_j])",
}


def model_diagram(config: ModelConfig, vocab: VocabSizes) -> Diagram:
    """The diagram of a model with these options and vocabulary sizes."""
    if isinstance(config, TransformerConfig):
        return _transformer(config, vocab)
    return _rnn(config, vocab)


def _rnn_inputs(config: RNNConfig, vocab: VocabSizes) -> tuple[list[Box], list[Box]]:
    """The source, target and embedding boxes and the encoder RNN every RNN model has."""
    hidden, cell = config.hidden_size, config.cell.upper()
    order = ", read backwards" if config.reverse_source else ""
    if config.bidirectional:
        rnn = Box(
            f"bidirectional {cell} × {config.layers}",
            f"{hidden // 2} units each way; states h_j = [→h_j; ←h_j] ({hidden})",
        )
    else:
        rnn = Box(f"{cell} × {config.layers}", f"{hidden} units; states h_1…h_S")
    encoder = [
        Box("source pieces x_1…x_S", f"vocabulary {vocab.src:,}{order}"),
        Box("embedding", f"{vocab.src:,} × {config.emb_size}"),
        rnn,
    ]
    decoder = [
        Box("previous piece y_{i-1}", f"BOS first; vocabulary {vocab.tgt:,}"),
        Box("embedding", f"{vocab.tgt:,} × {config.emb_size}"),
    ]
    return encoder, decoder


def _output(config: RNNConfig, vocab: VocabSizes) -> Box:
    return Box("output layer + softmax", f"{config.hidden_size} → {vocab.tgt:,}: p(y_i | y_<i, x)")


BRIDGE = "final states → s_0"


def _rnn(config: RNNConfig, vocab: VocabSizes) -> Diagram:
    """None, Bahdanau or Luong: where the source reaches the decoder differs."""
    encoder, decoder = _rnn_inputs(config, vocab)
    cell, emb, hidden = config.cell.upper(), config.emb_size, config.hidden_size
    state = f"{cell} × {config.layers}"
    title = f"RNN encoder–decoder, attention {config.attention}"
    if config.attention == "none":
        decoder += [
            Box(state, f"input E y_{{i-1}} ({emb}); state s_i ({hidden})"),
            _output(config, vocab),
        ]
        bridge = Link(2, 2, f"{BRIDGE}: the only path from the source (a fixed context)")
        return Diagram(title, encoder, decoder, [bridge], [Loop(2, 2, "s_i")])
    if config.attention == "bahdanau":
        decoder += [
            Box(
                "additive attention (Bahdanau)",
                "e_ij = vᵀ tanh(W_s s_{i-1} + W_h h_j), scored from the previous state; "
                "α_i = softmax(e_i); c_i = Σ_j α_ij h_j",
            ),
            Box(state, f"input [E y_{{i-1}}; c_i] ({emb} + {hidden}); state s_i"),
            Box("pre-output", "tanh(W_t [s_i; c_i; E y_{i-1}])"),
            _output(config, vocab),
        ]
        links = [Link(2, 2, "h_1…h_S: keys and values"), Link(2, 3, BRIDGE)]
        loops = [Loop(3, 2, "s_i scores the next step's attention"), Loop(3, 3, "s_i")]
        return Diagram(title, encoder, decoder, links, loops)
    feeding = config.input_feeding
    rnn_input = (
        f"[E y_{{i-1}}; h̃_{{i-1}}] ({emb} + {hidden})" if feeding else f"E y_{{i-1}} ({emb})"
    )
    decoder += [
        Box(state, f"input {rnn_input}; state s_i"),
        Box(
            f"{config.attention} attention (Luong)",
            f"{LUONG_SCORES[config.attention]}, scored from the current state; "
            "α_i = softmax(e_i); c_i = Σ_j α_ij h_j",
        ),
        Box("attentional vector", "h̃_i = tanh(W_c [c_i; s_i])"),
        _output(config, vocab),
    ]
    links = [Link(2, 2, BRIDGE), Link(2, 3, "h_1…h_S: keys and values")]
    loops = [Loop(2, 2, "s_i")]
    if feeding:
        loops.append(Loop(4, 2, "h̃_i fed to the next input (input feeding)"))
    return Diagram(title, encoder, decoder, links, loops)


def _transformer(config: TransformerConfig, vocab: VocabSizes) -> Diagram:
    """Pre-norm layers; the encoder's output is every decoder layer's cross-attention memory."""
    d, heads, ff, layers = config.d_model, config.heads, config.ff_size, config.layers
    positions = f"scaled by √{d}, plus sinusoidal positions"
    encoder = [
        Box("source pieces x_1…x_S", f"vocabulary {vocab.src:,}"),
        Box("embedding", f"{vocab.src:,} × {d}, {positions}"),
        Box(
            f"encoder layer × {layers}",
            f"pre-norm: self-attention ({heads} heads), feed-forward {d}→{ff}→{d}; residuals",
        ),
        Box("layer norm", f"memory: S × {d}"),
    ]
    decoder = [
        Box("previous pieces y_<i", f"BOS first; vocabulary {vocab.tgt:,}"),
        Box("embedding", f"{vocab.tgt:,} × {d}, {positions}"),
        Box(
            f"decoder layer × {layers}",
            f"pre-norm: masked self-attention ({heads} heads), cross-attention to the "
            f"memory ({heads} heads), feed-forward {d}→{ff}→{d}; residuals",
        ),
        Box("layer norm", "the last layer's output, normalised"),
        Box("output projection + softmax", f"{d} → {vocab.tgt:,}: p(y_i | y_<i, x)"),
    ]
    links = [Link(3, 2, "memory: keys and values of every layer's cross-attention")]
    loops = [Loop(2, 2, "self-attention keys and values, cached")]
    ties = []
    if config.tie_embeddings:
        ties.append(Tie(("decoder", 1), ("decoder", 4), "one matrix (tied embeddings)"))
        if vocab.joint:
            ties.append(Tie(("encoder", 1), ("decoder", 1), "one matrix (joint vocabulary)"))
    title = f"Transformer encoder–decoder, {layers}+{layers} layers"
    return Diagram(title, encoder, decoder, links, loops, ties)
