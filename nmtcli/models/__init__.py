"""Model architectures behind one `Seq2Seq` interface, built from a typed config.

The configs (`nmtcli.models.config`) import no torch, so commands that only need their option
names and help (`nmtcli --help`) start fast; the torch-bound names load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from nmtcli.models.config import (
    ModelConfig,
    RNNConfig,
    TransformerConfig,
    VocabSizes,
    model_config_from_dict,
    model_config_to_dict,
)

if TYPE_CHECKING:
    from nmtcli.batch import Batch, make_batch
    from nmtcli.models.base import Memory, Seq2Seq, StepOutput, parameter_tree

_LAZY = {
    "Batch": "nmtcli.batch",
    "make_batch": "nmtcli.batch",
    "Memory": "nmtcli.models.base",
    "Seq2Seq": "nmtcli.models.base",
    "StepOutput": "nmtcli.models.base",
    "parameter_tree": "nmtcli.models.base",
}

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


def __getattr__(name: str) -> Any:
    """The torch-bound names, imported on first use."""
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def build_model(config: ModelConfig, vocab: VocabSizes) -> Seq2Seq:
    """Instantiate the architecture a config describes."""
    if isinstance(config, TransformerConfig):
        from nmtcli.models.transformer import TransformerSeq2Seq

        return TransformerSeq2Seq(config, vocab)
    from nmtcli.models.rnn import RNNSeq2Seq

    return RNNSeq2Seq(config, vocab)
