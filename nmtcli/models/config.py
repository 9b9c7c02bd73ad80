"""Typed, frozen model configurations: saved in every model directory and used to rebuild it.

The field names are the public option names: the CLI, YAML configs, docs and benchmarks use
exactly these words (with dashes on the command line: `--hidden-size 256`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from nmtcli.errors import ConfigError

ARCHS = ("rnn", "transformer")
CELLS = ("lstm", "gru")
ATTENTIONS = ("none", "bahdanau", "dot", "general", "concat")
LUONG = ("dot", "general", "concat")


def _require(condition: bool, message: str) -> None:
    """Raise `ConfigError(message)` unless `condition`."""
    if not condition:
        raise ConfigError(message)


@dataclass(frozen=True)
class RNNConfig:
    """An RNN encoder–decoder, with or without attention."""

    arch: str = "rnn"
    cell: str = "lstm"
    attention: str = "general"
    layers: int = 1
    emb_size: int = 256
    hidden_size: int = 256
    bidirectional: bool = True
    reverse_source: bool = False
    input_feeding: bool = True
    dropout: float = 0.2

    def __post_init__(self) -> None:
        _require(self.cell in CELLS, f"cell must be one of {', '.join(CELLS)}, not {self.cell!r}")
        _require(
            self.attention in ATTENTIONS,
            f"attention must be one of {', '.join(ATTENTIONS)}, not {self.attention!r}",
        )
        _require(self.layers >= 1, "layers must be at least 1")
        _require(self.emb_size >= 1 and self.hidden_size >= 2, "sizes must be positive")
        _require(
            not self.bidirectional or self.hidden_size % 2 == 0,
            "a bidirectional encoder needs an even hidden-size (each direction has half)",
        )
        _require(0.0 <= self.dropout < 1.0, "dropout must be in [0, 1)")

    @property
    def luong(self) -> bool:
        """Whether the attention is one of Luong et al.'s (scored from the current state)."""
        return self.attention in LUONG


@dataclass(frozen=True)
class TransformerConfig:
    """A pre-norm Transformer encoder–decoder (`layers` in each of encoder and decoder)."""

    arch: str = "transformer"
    layers: int = 3
    d_model: int = 256
    heads: int = 4
    ff_size: int = 1024
    dropout: float = 0.1
    tie_embeddings: bool = True

    def __post_init__(self) -> None:
        _require(self.layers >= 1, "layers must be at least 1")
        _require(self.heads >= 1, "heads must be at least 1")
        _require(
            self.d_model % self.heads == 0,
            f"d-model ({self.d_model}) must be divisible by heads ({self.heads})",
        )
        _require(self.ff_size >= 1, "ff-size must be positive")
        _require(0.0 <= self.dropout < 1.0, "dropout must be in [0, 1)")


ModelConfig = RNNConfig | TransformerConfig
CONFIG_CLASSES: dict[str, type[RNNConfig] | type[TransformerConfig]] = {
    "rnn": RNNConfig,
    "transformer": TransformerConfig,
}


def model_config_from_dict(values: dict[str, Any]) -> ModelConfig:
    """Build a model config from a dict (e.g. `config.json`), rejecting unknown keys."""
    arch = values.get("arch", "rnn")
    _require(arch in CONFIG_CLASSES, f"arch must be rnn or transformer, not {arch!r}")
    cls = CONFIG_CLASSES[arch]
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    _require(not unknown, f"unknown option(s) for arch {arch}: {', '.join(unknown)}")
    return cls(**values)


def model_config_to_dict(config: ModelConfig) -> dict[str, Any]:
    """The JSON-ready form of a model config."""
    return asdict(config)


@dataclass(frozen=True)
class VocabSizes:
    """What a model needs to know about its vocabularies."""

    src: int
    tgt: int
    joint: bool
