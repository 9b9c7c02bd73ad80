"""The run configuration: what a model is, how it was trained, on what, on which hardware.

One frozen, typed object, written to a model directory as JSON with a format version and read
back through `migrate`, so directories written by older nmtcli versions keep loading.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from nmtcli import __version__
from nmtcli.corpus import STDIN, CorpusSpec
from nmtcli.errors import ConfigError
from nmtcli.models.config import ModelConfig, VocabSizes, model_config_from_dict
from nmtcli.training.config import RATES, TrainConfig

FORMAT_VERSION = 2


@dataclass(frozen=True)
class DataDescription:
    """The data a model was trained on (absolute paths, so `--resume` finds it again)."""

    corpus: CorpusSpec
    valid: CorpusSpec | None = None
    skip_invalid: bool = False
    corpus_pairs: int = 0
    train_pairs: int = 0
    valid_pairs: int = 0
    fingerprint: str = ""  # SHA-256 of the data files ("" in directories of older versions)

    @property
    def from_stdin(self) -> bool:
        """Whether the corpus was read from stdin (which cannot be read again)."""
        return self.corpus.tsv == STDIN


@dataclass(frozen=True)
class Hardware:
    """Where a model was trained, for the card."""

    description: str = ""
    world_size: int = 1


@dataclass(frozen=True)
class Stage:
    """An earlier training stage of a fine-tuned model: its directory, data and updates."""

    model: str
    corpus: str
    train_pairs: int = 0
    steps: int = 0


@dataclass(frozen=True)
class RunConfig:
    """Everything `config.json` says about a model directory."""

    model: ModelConfig
    vocab: VocabSizes
    train: TrainConfig = field(default_factory=TrainConfig)
    data: DataDescription | None = None
    hardware: Hardware | None = None
    lineage: tuple[Stage, ...] = ()  # the stages before this one, oldest first (--init-from)
    nmtcli_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form, stamped with the format and nmtcli versions."""
        data = None
        if self.data is not None:
            data = asdict(self.data) | {
                "corpus": _spec_dict(self.data.corpus),
                "valid": None if self.data.valid is None else _spec_dict(self.data.valid),
            }
        return {
            "format_version": FORMAT_VERSION,
            "nmtcli_version": __version__,
            "model": asdict(self.model),
            "train": asdict(self.train),
            "vocab": {
                "src_size": self.vocab.src,
                "tgt_size": self.vocab.tgt,
                "joint": self.vocab.joint,
            },
            "hardware": None if self.hardware is None else asdict(self.hardware),
            "data": data,
            "lineage": [asdict(stage) for stage in self.lineage],
        }

    @classmethod
    def from_dict(cls, values: Any) -> RunConfig:
        """Read any supported format version; `ConfigError` says what is wrong."""
        values = migrate(values)
        vocab = _section(values, "vocab", required=True)
        data, hardware = _section(values, "data"), _section(values, "hardware")
        try:
            return cls(
                model=model_config_from_dict(_section(values, "model", required=True)),
                vocab=VocabSizes(
                    _int(vocab, "src_size"), _int(vocab, "tgt_size"), bool(vocab["joint"])
                ),
                train=TrainConfig(**_known(_section(values, "train"), _names(TrainConfig))),
                data=None if not data else _data(data),
                hardware=None if not hardware else Hardware(**_known(hardware, _names(Hardware))),
                lineage=tuple(Stage(**stage) for stage in _list(values, "lineage")),
                nmtcli_version=str(values.get("nmtcli_version", "?")),
            )
        except (KeyError, TypeError) as error:
            raise ConfigError(f"malformed ({type(error).__name__}: {error})") from None


def migrate(values: Any) -> dict[str, Any]:
    """Bring a config of any older format version up to FORMAT_VERSION.

    Version 1 (nmtcli versions before the typed run configuration wrote it without `hardware`,
    and exported models may lack `train` and `data`, which `from_dict` fills with defaults) had
    no training-time transforms: version 2 records their rates, and a version-1 run is read as
    trained with all of them at 0, so resuming it goes on as it began.
    """
    if not isinstance(values, dict):
        raise ConfigError("malformed (not a JSON object)")
    version = values.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(f"malformed (format_version is {version!r}, not a positive integer)")
    if version > FORMAT_VERSION:
        raise ConfigError(
            f"format version {version} is newer than this nmtcli ({__version__}) understands; "
            "upgrade nmtcli"
        )
    if version == 1 and isinstance(values.get("train"), dict):
        none = {"transforms": False, **dict.fromkeys(RATES, 0.0)}
        values = {**values, "train": {**none, **values["train"]}}
    return values


def _section(values: dict[str, Any], name: str, required: bool = False) -> dict[str, Any]:
    """A nested object of the config (empty if absent and optional)."""
    section = values.get(name)
    if section is None and not required:
        return {}
    if section is None:
        raise ConfigError(f"malformed (no {name!r} section)")
    if not isinstance(section, dict):
        raise ConfigError(f"malformed ({name!r} is {section!r}, not an object)")
    return section


def _list(values: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """A list of objects of the config (empty if absent)."""
    items = values.get(name) or []
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise ConfigError(f"malformed ({name!r} is {items!r}, not a list of objects)")
    return items


def _int(section: dict[str, Any], name: str) -> int:
    """An integer field."""
    value = section[name]
    if not isinstance(value, int) or isinstance(value, bool):
        raise ConfigError(f"malformed ({name!r} is {value!r}, not an integer)")
    return value


def _names(cls: type) -> frozenset[str]:
    """Field names of a dataclass."""
    return frozenset(f.name for f in fields(cls))


def _known(values: dict[str, Any], names: frozenset[str]) -> dict[str, Any]:
    """The entries of `values` that are fields (older versions may have written others)."""
    return {key: value for key, value in values.items() if key in names}


def _data(values: dict[str, Any]) -> DataDescription:
    """The data section."""
    valid = values.get("valid")
    known = _known(values, _names(DataDescription)) | {
        "corpus": CorpusSpec(**_section(values, "corpus", required=True)),
        "valid": None if valid is None else CorpusSpec(**_section(values, "valid")),
    }
    return DataDescription(**known)


def _spec_dict(spec: CorpusSpec) -> dict[str, str | None]:
    """A corpus spec with absolute paths."""
    absolute = lambda p: p if p in (None, STDIN) else str(Path(p).resolve())  # noqa: E731
    return {"tsv": absolute(spec.tsv), "src": absolute(spec.src), "tgt": absolute(spec.tgt)}
