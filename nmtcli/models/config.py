"""Typed, frozen model configurations: saved in every model directory and used to rebuild it.

The field names are the public option names: the CLI, YAML configs, docs and benchmarks use
exactly these words (with dashes on the command line: `--hidden-size 256`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any, ClassVar

from nmtcli.errors import ConfigError
from nmtcli.fieldtypes import type_problem

ARCHS = ("rnn", "transformer")
DEFAULT_ARCH = "transformer"
CELLS = ("lstm", "gru")
ATTENTIONS = ("none", "bahdanau", "dot", "general", "concat")
LUONG = ("dot", "general", "concat")


def option(default: Any, help: str, **metadata: Any) -> Any:
    """A config field with the help text its command-line option and YAML key show.

    `metadata` may name the option's `choices`, its help `panel`, its `flag` (for a boolean
    whose negative is not `--no-NAME`) and the `text` type a value is typed as (`10m`).
    """
    return field(default=default, metadata={"help": help, **metadata})


@dataclass(frozen=True)
class TrainingDefaults:
    """How an architecture trains unless told otherwise (measured on Tatoeba and Multi30k)."""

    lr: float  # peak learning rate
    scheduler: str  # inverse_sqrt, plateau, constant or linear
    finetune_lr: float | None = None  # peak rate with --init-from, where measured (else lr)
    finetune_scheduler: str | None = None  # schedule with --init-from, where measured


MAX_LAYERS = 64  # beyond any published encoder–decoder; a typo (1000000) fails at once
MAX_WIDTH = 65_536  # embedding, hidden, model and feed-forward sizes
MAX_HEADS = 1024


def _bounded(name: str, value: int, low: int, high: int) -> None:
    """Refuse a size outside [low, high] before anything is allocated."""
    _require(low <= value <= high, f"{name} must be between {low} and {high:,}, not {value:,}")


def _require(condition: bool, message: str) -> None:
    """Raise `ConfigError(message)` unless `condition`."""
    if not condition:
        raise ConfigError(message)


@dataclass(frozen=True)
class RNNConfig:
    """An RNN encoder–decoder, with or without attention."""

    training_defaults: ClassVar = TrainingDefaults(lr=1e-3, scheduler="plateau")

    arch: str = option("rnn", "rnn or transformer.", choices=ARCHS)
    cell: str = option("lstm", "RNN cell: lstm or gru.", choices=CELLS)
    attention: str = option(
        "general", "RNN attention: none, bahdanau, dot, general, concat.", choices=ATTENTIONS
    )
    layers: int = option(1, "Layers in each of the encoder and decoder.")
    emb_size: int = option(256, "RNN embedding size.")
    hidden_size: int = option(256, "RNN hidden size.")
    bidirectional: bool = option(True, "RNN: bidirectional encoder.")
    reverse_source: bool = option(False, "RNN: read the source backwards.")
    input_feeding: bool = option(True, "Luong input feeding.")
    dropout: float = option(0.2, "Dropout probability.")

    def __post_init__(self) -> None:
        _require(self.cell in CELLS, f"cell must be one of {', '.join(CELLS)}, not {self.cell!r}")
        _require(
            self.attention in ATTENTIONS,
            f"attention must be one of {', '.join(ATTENTIONS)}, not {self.attention!r}",
        )
        _check_types(type(self), {f.name: getattr(self, f.name) for f in fields(self)})
        _bounded("layers", self.layers, 1, MAX_LAYERS)
        _bounded("emb-size", self.emb_size, 1, MAX_WIDTH)
        _bounded("hidden-size", self.hidden_size, 2, MAX_WIDTH)
        _require(
            not self.bidirectional or self.hidden_size % 2 == 0,
            "a bidirectional encoder needs an even hidden-size (each direction has half)",
        )
        _require(0.0 <= self.dropout < 1.0, "dropout must be in [0, 1)")

    @property
    def luong(self) -> bool:
        """Whether the attention is one of Luong et al.'s (scored from the current state)."""
        return self.attention in LUONG

    def describe(self) -> str:
        """One line for the model card and `info`."""
        direction = "bidirectional " if self.bidirectional else ""
        feeding = ", input feeding" if self.luong and self.input_feeding else ""
        reverse = ", reversed source" if self.reverse_source else ""
        return (
            f"RNN encoder–decoder, {direction}{self.cell.upper()} × {self.layers}, "
            f"hidden {self.hidden_size}, embeddings {self.emb_size}, "
            f"attention {self.attention}{feeding}{reverse}, dropout {self.dropout}"
        )

    def summary(self) -> str:
        """A few words for the line `train` prints as it starts."""
        return f"{self.cell} {self.attention} attention"

    def parameter_count(self, vocab: VocabSizes) -> int:
        """How many weights `models.rnn.RNNSeq2Seq` has with this config, without building it."""
        gates, emb, hidden, layers = (
            4 if self.cell == "lstm" else 3,
            self.emb_size,
            self.hidden_size,
            self.layers,
        )
        directions = 2 if self.bidirectional else 1
        unit = hidden // directions  # per direction

        def rnn(first_input: int, size: int, layer_input: int) -> int:
            per_layer = [gates * size * (first_input + size) + 2 * gates * size]
            per_layer += [gates * size * (layer_input + size) + 2 * gates * size] * (layers - 1)
            return sum(per_layer)

        encoder = vocab.src * emb + directions * rnn(emb, unit, unit * directions)
        fed = self.attention == "bahdanau" or (self.luong and self.input_feeding)
        decoder = vocab.tgt * emb + rnn(emb + (hidden if fed else 0), hidden, hidden)
        attention = {"none": 0, "dot": 0, "general": hidden**2}.get(
            self.attention,
            2 * hidden**2 + 2 * hidden,  # additive: Bahdanau and concat
        )
        pre_output = 0
        if self.attention == "bahdanau":
            pre_output = (2 * hidden + emb) * hidden + hidden
        elif self.luong:
            pre_output = 2 * hidden * hidden
        return encoder + decoder + attention + pre_output + hidden * vocab.tgt + vocab.tgt


@dataclass(frozen=True)
class TransformerConfig:
    """A pre-norm Transformer encoder–decoder (`layers` in each of encoder and decoder)."""

    # fine-tuning at 1.5e-3 led 7e-4 by 1.7 val BLEU after 480 updates; decaying linearly to 0
    # led inverse_sqrt by 0.5 after 20 minutes, and then a 2e-3 peak led 1.5e-3 by 0.7
    # (docs/transfer.md)
    training_defaults: ClassVar = TrainingDefaults(
        lr=7e-4, scheduler="inverse_sqrt", finetune_lr=2e-3, finetune_scheduler="linear"
    )

    arch: str = option("transformer", "rnn or transformer.", choices=ARCHS)
    layers: int = option(3, "Layers in each of the encoder and decoder.")
    d_model: int = option(256, "Transformer model size.")
    heads: int = option(4, "Transformer attention heads.")
    ff_size: int = option(1024, "Transformer feed-forward size.")
    dropout: float = option(0.1, "Dropout probability.")
    tie_embeddings: bool = option(True, "Share embedding and output matrices.")

    def __post_init__(self) -> None:
        _check_types(type(self), {f.name: getattr(self, f.name) for f in fields(self)})
        _bounded("layers", self.layers, 1, MAX_LAYERS)
        _bounded("heads", self.heads, 1, MAX_HEADS)
        _bounded("d-model", self.d_model, 1, MAX_WIDTH)
        _bounded("ff-size", self.ff_size, 1, MAX_WIDTH)
        _require(
            self.d_model % self.heads == 0,
            f"d-model ({self.d_model}) must be divisible by heads ({self.heads})",
        )
        _require(0.0 <= self.dropout < 1.0, "dropout must be in [0, 1)")

    def describe(self) -> str:
        """One line for the model card and `info`."""
        tied = ", tied embeddings" if self.tie_embeddings else ""
        return (
            f"Transformer, {self.layers}+{self.layers} layers, d_model {self.d_model}, "
            f"{self.heads} heads, feed-forward {self.ff_size}, dropout {self.dropout}{tied}"
        )

    def summary(self) -> str:
        """A few words for the line `train` prints as it starts."""
        return f"{self.layers} layer{'s' if self.layers > 1 else ''}"

    def parameter_count(self, vocab: VocabSizes) -> int:
        """How many weights `models.transformer.TransformerSeq2Seq` has, without building it."""
        d, ff = self.d_model, self.ff_size
        attention, norm, feed_forward = 4 * d * d + 4 * d, 2 * d, 2 * d * ff + ff + d
        encoder_layer = attention + 2 * norm + feed_forward
        decoder_layer = 2 * attention + 3 * norm + feed_forward
        embeddings = vocab.tgt * d
        if not (self.tie_embeddings and vocab.joint):
            embeddings += vocab.src * d
        if not self.tie_embeddings:
            embeddings += vocab.tgt * d  # the output projection
        return self.layers * (encoder_layer + decoder_layer) + 2 * norm + embeddings


ModelConfig = RNNConfig | TransformerConfig
CONFIG_CLASSES: dict[str, type[RNNConfig] | type[TransformerConfig]] = {
    "rnn": RNNConfig,
    "transformer": TransformerConfig,
}


MODEL_FIELDS = frozenset(f.name for cls in CONFIG_CLASSES.values() for f in fields(cls))


def config_class(arch: Any) -> type[RNNConfig] | type[TransformerConfig]:
    """The config class of an architecture name."""
    _require(
        isinstance(arch, str) and arch in CONFIG_CLASSES,
        f"arch must be {' or '.join(ARCHS)}, not {arch!r}",
    )
    return CONFIG_CLASSES[arch]


def check_applies(values: dict[str, Any], arch: Any) -> None:
    """Refuse options of another architecture (`--d-model` with `--arch rnn`)."""
    known = {f.name for f in fields(config_class(arch))}
    wrong = sorted(name for name in values if name in MODEL_FIELDS and name not in known)
    if wrong:
        raise ConfigError(f"option {wrong[0].replace('_', '-')} does not apply to --arch {arch}")


def model_config_from_dict(values: dict[str, Any], default_arch: str = "rnn") -> ModelConfig:
    """Build a model config from a dict (`config.json`, options), rejecting unknown keys."""
    arch = values.get("arch", default_arch)
    cls = config_class(arch)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known)
    _require(not unknown, f"unknown option(s) for arch {arch}: {', '.join(unknown)}")
    _check_types(cls, values)
    return cls(**{**values, "arch": arch})


def _check_types(cls: type, values: dict[str, Any]) -> None:
    """Refuse values of the wrong JSON type (`layers: "2"`) before they reach a constructor."""
    for spec in fields(cls):
        if spec.name in values and (problem := type_problem(values[spec.name], spec.type)):
            name = spec.name.replace("_", "-")
            raise ConfigError(f"{name} must be {problem}, not {values[spec.name]!r}")


def field_help(name: str) -> str:
    """The help text of a model option, with its default for each architecture."""
    specs = [(cls, f) for cls in CONFIG_CLASSES.values() for f in fields(cls) if f.name == name]
    defaults = {f.default for _, f in specs}
    text = specs[0][1].metadata["help"]
    if name == "arch":
        return f"{text[:-1]} (default {DEFAULT_ARCH})."
    if len(specs) > 1 and len(defaults) > 1:
        shown = ", ".join(f"{cls().arch} {f.default}" for cls, f in specs)
        return f"{text[:-1]} ({shown})."
    return f"{text[:-1]} ({_shown(specs[0][1].default)})."


def _shown(value: Any) -> str:
    """A default as help text shows it."""
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def model_config_to_dict(config: ModelConfig) -> dict[str, Any]:
    """The JSON-ready form of a model config."""
    return asdict(config)


@dataclass(frozen=True)
class VocabSizes:
    """What a model needs to know about its vocabularies."""

    src: int
    tgt: int
    joint: bool
