"""Training options resolved in one place: defaults, then a YAML file, then the flags typed.

Every option is a field of a model config (`nmtcli.models.config`), of `TrainConfig`, or one of
the data options below; the field declares its default and help text once. The CLI passes only
the flags the user actually typed (Click's parameter source), so a flag always wins over the
YAML file and the YAML file over the defaults.
"""

from __future__ import annotations

import os
from dataclasses import Field, dataclass, fields, replace
from pathlib import Path
from typing import Any

from nmtcli.corpus import STDIN, CorpusSpec
from nmtcli.errors import ConfigError
from nmtcli.models.config import (
    DEFAULT_ARCH,
    MODEL_FIELDS,
    ModelConfig,
    check_applies,
    model_config_from_dict,
)
from nmtcli.training.config import TRAIN_FIELDS, TrainConfig, parse_duration
from nmtcli.training.finetune import inherited_model, parent_directory, parse_freeze

DATA_FIELDS = frozenset(
    {"corpus", "src_file", "tgt_file", "valid", "valid_src_file", "valid_tgt_file"}
    | {"vocab", "output", "skip_invalid"}
)
# Fine-tuning learns the new data as it is: on Multi30k En->Fr the training-time transforms
# cost 4 val BLEU after 360 updates (docs/transfer.md); `--transforms` turns them back on.
FINETUNE_DEFAULTS = {"transforms": False}
VOCAB_BUILDING = ("vocab_size", "model_type", "separate_vocab")  # options of a vocabulary to train
RESUME_OVERRIDES = frozenset(  # what decides when to stop, validate or keep, not what is learnt
    {"max_epochs", "max_steps", "max_time", "device", "log_every", "patience"}
    | {"valid_every", "keep_checkpoints"}
)


@dataclass(frozen=True)
class OptionSpec:
    """One model or training option as a command line shows it, read off its config field."""

    name: str  # the field name, `hidden_size`
    flags: str  # `--hidden-size`, or `--bidirectional/--no-bidirectional` for a boolean
    kind: type  # int, float, bool or str (a duration like `10m` is typed as text)
    choices: tuple[str, ...] | None
    help: str
    panel: str


def option_specs() -> list[OptionSpec]:
    """Every model field (of every architecture, first seen first) and every training field."""
    from nmtcli.models.config import CONFIG_CLASSES, field_help
    from nmtcli.training.config import TrainConfig, option_help

    model = {}
    for cls in CONFIG_CLASSES.values():
        for spec in fields(cls):
            model.setdefault(spec.name, _option_spec(spec, field_help(spec.name), "Model"))
    train = [
        _option_spec(spec, option_help(spec.name), "Training")
        for spec in fields(TrainConfig)
        if spec.name in TRAIN_FIELDS
    ]
    return [*model.values(), *train]


def _option_spec(spec: Field[Any], help: str, panel: str) -> OptionSpec:
    """The option of one config field."""
    meta, flag = spec.metadata, "--" + spec.name.replace("_", "-")
    kind = str if meta.get("text") else _KINDS[str(spec.type).split(" |")[0]]
    if kind is bool:
        flag = f"{flag}/{meta.get('flag', '--no-' + flag[2:])}"
    return OptionSpec(spec.name, flag, kind, meta.get("choices"), help, meta.get("panel", panel))


_KINDS: dict[str, type] = {"int": int, "float": float, "bool": bool, "str": str}


@dataclass(frozen=True)
class DataOptions:
    """Where the data comes from."""

    corpus: CorpusSpec
    valid: CorpusSpec | None = None
    vocab: Path | None = None
    skip_invalid: bool = False


@dataclass(frozen=True)
class TrainRequest:
    """A new training run, fully resolved."""

    model: ModelConfig
    train: TrainConfig
    data: DataOptions
    output: Path


def load_yaml(path: Path) -> dict[str, Any]:
    """A YAML config as a flat dict with `dash-names` normalised to `underscore_names`."""
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: {getattr(error, 'strerror', None) or error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: invalid YAML ({getattr(error, 'problem', error)})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of option names to values")
    values = {str(key).replace("-", "_"): value for key, value in loaded.items()}
    unknown = sorted(set(values) - MODEL_FIELDS - TRAIN_FIELDS - DATA_FIELDS)
    if unknown:
        raise ConfigError(f"{path}: unknown option(s): {', '.join(unknown)}")
    yaml_lines(path)  # refuses an option given twice
    return values


def yaml_lines(path: Path) -> dict[str, int]:
    """The line of each top-level option of a YAML file (`dash-names` as `underscore_names`).

    An option given twice is an error: YAML would silently keep the last value.
    """
    import yaml

    node, lines = yaml.compose(path.read_text(encoding="utf-8")), {}
    for key, _ in node.value if isinstance(node, yaml.MappingNode) else []:
        if key.tag == "tag:yaml.org,2002:merge":  # `<<: *base` may come more than once
            continue
        name, line = str(key.value).replace("-", "_"), key.start_mark.line + 1
        if name in lines:
            raise ConfigError(
                f"{path}:{line}: {key.value} is given twice (first on line {lines[name]})"
            )
        lines[name] = line
    return lines


def merge(typed: dict[str, Any], config_file: Path | None) -> dict[str, Any]:
    """The YAML file's values (if any) overridden by the flags the user typed."""
    merged = load_yaml(config_file) if config_file is not None else {}
    return merged | typed


def request_from(typed: dict[str, Any], config_file: Path | None) -> TrainRequest:
    """The new run the typed flags and the YAML file ask for; a bad YAML value names its line."""
    values = merge(typed, config_file)
    try:
        return resolve_request(values)
    except ConfigError as error:
        if config_file is None:
            raise
        message = str(error)
        named = message.lstrip("-").split(" ")[0].rstrip(":").replace("-", "_")
        line = yaml_lines(config_file).get(named)
        if line is None or named in typed:
            raise
        raise ConfigError(f"{config_file}:{line}: {message}") from None


def resolve_configs(values: dict[str, Any]) -> tuple[ModelConfig, TrainConfig]:
    """The model and training configs from merged option values."""
    model_values = {key: value for key, value in values.items() if key in MODEL_FIELDS}
    check_applies(model_values, model_values.get("arch", DEFAULT_ARCH))
    model = model_config_from_dict(model_values, default_arch=DEFAULT_ARCH)
    return model, train_config(values)


def train_config(values: dict[str, Any]) -> TrainConfig:
    """The training config from merged option values."""
    train_values = {key: value for key, value in values.items() if key in TRAIN_FIELDS}
    if "max_time" in train_values and train_values["max_time"] is not None:
        train_values["max_time"] = parse_duration(train_values["max_time"])
    try:
        return TrainConfig(**train_values)
    except TypeError as error:
        raise ConfigError(f"invalid option value: {error}") from None


def resolve_request(values: dict[str, Any]) -> TrainRequest:
    """A new run from merged option values (YAML and typed flags)."""
    if values.get("init_from") is not None:
        model, train, data = _fine_tuning(values)
    else:
        (model, train), data = resolve_configs(values), data_options(values)
    parse_freeze(train.freeze)
    output = Path(values.get("output") or Path("runs") / corpus_name(data.corpus))
    if train.init_from is not None and _same_directory(output, Path(train.init_from)):
        raise ConfigError(
            f"--init-from {train.init_from} is the output directory: the fine-tuned model would "
            "replace its own parent; give -o a new directory"
        )
    return TrainRequest(model, train, data, output)


def _same_directory(first: Path, second: Path) -> bool:
    """Whether two paths name one existing directory (however spelt, through links)."""
    return first.exists() and second.exists() and os.path.samefile(first, second)


def _fine_tuning(values: dict[str, Any]) -> tuple[ModelConfig, TrainConfig, DataOptions]:
    """Model, training and data options of a run that starts from `--init-from`'s model."""
    from nmtcli.modeldir import ModelDir

    source = values["init_from"]
    if not isinstance(source, str | Path):
        raise ConfigError(f"init-from must be a model directory, not {source!r}")
    parent = parent_directory(str(source))
    if values.get("vocab") is not None:
        raise ConfigError(
            f"--init-from {source} uses that model's vocabulary (its weights are tied to it); "
            "drop --vocab"
        )
    model_values = {key: value for key, value in values.items() if key in MODEL_FIELDS}
    model = inherited_model(ModelDir.load(parent).run, model_values, str(source))
    train = train_config(FINETUNE_DEFAULTS | values | {"init_from": str(parent)})
    return model, train, replace(data_options(values), vocab=parent)


def data_options(values: dict[str, Any]) -> DataOptions:
    """Corpus, validation and vocabulary locations."""
    for name in DATA_FIELDS & values.keys():
        kind = bool if name == "skip_invalid" else (str, Path)
        if values[name] is not None and not isinstance(values[name], kind):
            wanted = "true or false" if kind is bool else "a file or directory name"
            raise ConfigError(f"{name.replace('_', '-')} must be {wanted}, not {values[name]!r}")
    if values.get("corpus") is None and values.get("src_file") is None:
        raise ConfigError("give a corpus (TSV, or --src-file and --tgt-file), or --resume DIR")
    corpus = CorpusSpec(values.get("corpus"), values.get("src_file"), values.get("tgt_file"))
    valid = None
    if values.get("valid") or values.get("valid_src_file") or values.get("valid_tgt_file"):
        valid = CorpusSpec(
            values.get("valid"), values.get("valid_src_file"), values.get("valid_tgt_file")
        )
    vocab = Path(values["vocab"]) if values.get("vocab") else None
    building = [name for name in VOCAB_BUILDING if values.get(name) is not None]
    if (vocab is not None or values.get("init_from") is not None) and building:
        given = "--vocab" if vocab is not None else "--init-from"
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in building)
        raise ConfigError(f"{given} brings its own vocabulary, so {flags} cannot apply; drop it")
    return DataOptions(corpus, valid, vocab, bool(values.get("skip_invalid")))


def corpus_name(spec: CorpusSpec) -> str:
    """A directory name from the corpus file name (`train.tsv.gz` -> `train`)."""
    path = spec.tsv if spec.tsv is not None else spec.src
    if path in (None, STDIN):
        return "stdin"
    return Path(path).name.split(".")[0] or "model"


def resumed_train_config(saved: TrainConfig, typed: dict[str, Any]) -> TrainConfig:
    """The saved training config with the few options a resumed run may change."""
    bad = sorted(key for key in typed if key not in RESUME_OVERRIDES)
    if bad:
        allowed = ", ".join(f"--{k.replace('_', '-')}" for k in sorted(RESUME_OVERRIDES))
        raise ConfigError(
            f"--resume continues the saved configuration; only {allowed} may change, "
            f"not --{bad[0].replace('_', '-')}"
        )
    given = dict(typed)
    if "max_time" in given:
        given["max_time"] = parse_duration(given["max_time"])
    return replace(saved, **given)
