"""A model as a CTranslate2 model specification, built with the `ctranslate2` package's own API.

Only the Transformer has one: CTranslate2 runs Transformers, not nmtcli's RNNs. nmtcli's
Transformer is within what `TransformerSpec` describes: pre-norm layers with a final norm, ReLU
feed-forward blocks, embeddings scaled by √D plus a sinusoid table (nmtcli's own, interleaved
sin/cos, stored in the spec), PyTorch's LayerNorm ε of 1e-5. Self-attention's query and
key/value projections are fused into CTranslate2's one QKV matrix; cross-attention keeps its
query and fused key/value projections as they are. The attention CTranslate2 returns is the
mean over all heads of the penultimate layer: the heatmap nmtcli shows by default.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from nmtcli.errors import ConfigError
from nmtcli.models.base import Seq2Seq
from nmtcli.models.transformer import MultiHeadAttention, TransformerSeq2Seq, sinusoids

POSITIONS = 1024  # rows of the stored position table: CTranslate2's default input limit
LAYER_NORM_EPSILON = 1e-5  # torch.nn.LayerNorm's default


def ctranslate2_spec(model: Seq2Seq) -> Any:
    """`model` as a `ctranslate2.specs.TransformerSpec` (weights in float32, no vocabulary)."""
    if not isinstance(model, TransformerSeq2Seq):
        raise ConfigError(
            "this model is not supported by CTranslate2, which runs Transformer models "
            f"only ({model.config.summary()})"
        )
    from ctranslate2.specs import common_spec, transformer_spec

    config = model.config
    spec = transformer_spec.TransformerSpec.from_config(
        config.layers,
        config.heads,
        pre_norm=True,
        activation=common_spec.Activation.RELU,
        alignment_layer=-2 if config.layers > 1 else -1,
        alignment_heads=config.heads,
    )
    spec.config.layer_norm_epsilon = LAYER_NORM_EPSILON
    positions = _array(sinusoids(POSITIONS, config.d_model))
    spec.encoder.embeddings[0].weight = _array(model.src_embed.weight)
    spec.decoder.embeddings.weight = _array(model.tgt_embed.weight)
    for side in (spec.encoder, spec.decoder):
        side.scale_embeddings = True
        side.position_encodings.encodings = positions
    _norm(spec.encoder.layer_norm, model.encoder_norm)
    _norm(spec.decoder.layer_norm, model.decoder_norm)
    _linear(spec.decoder.projection, model.output.weight, None)
    for layer_spec, layer in zip(spec.encoder.layer, model.encoder_layers):
        _self_attention(layer_spec.self_attention, layer.self_attention, layer.self_norm)
        _feed_forward(layer_spec.ffn, layer)
    for layer_spec, layer in zip(spec.decoder.layer, model.decoder_layers):
        _self_attention(layer_spec.self_attention, layer.self_attention, layer.self_norm)
        cross = layer_spec.attention
        _norm(cross.layer_norm, layer.cross_norm)
        attention = layer.cross_attention
        _linear(cross.linear[0], attention.query.weight, attention.query.bias)
        _linear(cross.linear[1], attention.key_value.weight, attention.key_value.bias)
        _linear(cross.linear[2], attention.out.weight, attention.out.bias)
        _feed_forward(layer_spec.ffn, layer)
    return spec


def _array(tensor: Tensor) -> np.ndarray:
    """A float32 numpy copy of a tensor."""
    return tensor.detach().float().cpu().numpy().copy()


def _linear(spec: Any, weight: Tensor, bias: Tensor | None) -> None:
    spec.weight = _array(weight)
    if bias is not None:
        spec.bias = _array(bias)


def _norm(spec: Any, norm: Any) -> None:
    spec.gamma, spec.beta = _array(norm.weight), _array(norm.bias)


def _self_attention(spec: Any, attention: MultiHeadAttention, norm: Any) -> None:
    """Query and key/value projections fused as [Q; K; V] (nmtcli's key_value is [K; V])."""
    _norm(spec.layer_norm, norm)
    weight = _cat(attention.query.weight, attention.key_value.weight)
    _linear(spec.linear[0], weight, _cat(attention.query.bias, attention.key_value.bias))
    _linear(spec.linear[1], attention.out.weight, attention.out.bias)


def _feed_forward(spec: Any, layer: Any) -> None:
    _norm(spec.layer_norm, layer.ff_norm)
    inner, outer = layer.feed_forward[0], layer.feed_forward[2]
    _linear(spec.linear_0, inner.weight, inner.bias)
    _linear(spec.linear_1, outer.weight, outer.bias)


def _cat(first: Tensor, second: Tensor) -> Tensor:
    return torch.cat([first, second], dim=0)
