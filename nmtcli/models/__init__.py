"""Model architectures behind one `Seq2Seq` interface, built from a typed config."""

from __future__ import annotations

from nmtcli.models.base import Batch, Memory, Seq2Seq, StepOutput, make_batch, parameter_tree
from nmtcli.models.config import (
    ModelConfig,
    RNNConfig,
    TransformerConfig,
    VocabSizes,
    model_config_from_dict,
    model_config_to_dict,
)

__all__ = [
    "Batch",
    "Memory",
    "ModelConfig",
    "RNNConfig",
    "Seq2Seq",
    "StepOutput",
    "TransformerConfig",
    "VocabSizes",
    "build_model",
    "make_batch",
    "model_config_from_dict",
    "model_config_to_dict",
    "parameter_tree",
]


def build_model(config: ModelConfig, vocab: VocabSizes) -> Seq2Seq:
    """Instantiate the architecture a config describes."""
    if isinstance(config, TransformerConfig):
        from nmtcli.models.transformer import TransformerSeq2Seq

        return TransformerSeq2Seq(config, vocab)
    from nmtcli.models.rnn import RNNSeq2Seq

    return RNNSeq2Seq(config, vocab)
