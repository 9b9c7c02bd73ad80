"""Preparing a training run: resolving options, the vocabulary, the data, and resuming.

Options come from three layers, later ones winning: the architecture's defaults, a YAML config
file, and command-line flags. The resolved configuration is saved in `config.json`, which is
all `--resume` needs.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

import torch

from nmtcli.corpus import STDIN, CorpusSpec, SkipReport, read_pairs
from nmtcli.errors import ConfigError, CorpusError, ModelDirError
from nmtcli.modeldir import STATE, ModelDir, check_vocab_fits, prepare_output_dir, write_config
from nmtcli.models import (
    ModelConfig,
    RNNConfig,
    TransformerConfig,
    VocabSizes,
    build_model,
    model_config_to_dict,
)
from nmtcli.training.config import TRAIN_FIELDS, TrainConfig, parse_duration, train_config_to_dict
from nmtcli.training.data import ParallelData, encode_corpus, split_off_valid, within_length
from nmtcli.training.distributed import DistInfo
from nmtcli.training.trainer import Progress, TrainingJob, load_train_state, restore_rng
from nmtcli.vocab import VocabOptions, Vocabulary, train_vocab

DEFAULT_ARCH = "transformer"
MODEL_FIELDS = frozenset(f.name for f in fields(RNNConfig)) | frozenset(
    f.name for f in fields(TransformerConfig)
)
DATA_FIELDS = frozenset(
    {
        "corpus",
        "src_file",
        "tgt_file",
        "valid",
        "valid_src_file",
        "valid_tgt_file",
        "vocab",
        "output",
    }
)
RESUME_OVERRIDES = frozenset(
    {"max_epochs", "max_steps", "max_time", "device", "log_every", "patience"}
)
Notify = Callable[[str], None]


@dataclass(frozen=True)
class DataOptions:
    """Where the data comes from."""

    corpus: CorpusSpec
    valid: CorpusSpec | None = None
    vocab: Path | None = None
    skip_invalid: bool = False


def load_yaml(path: Path) -> dict[str, Any]:
    """A YAML config as a flat dict with `dash-names` normalised to `underscore_names`."""
    import yaml

    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ConfigError(f"{path}: {error.strerror or error}") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"{where}: invalid YAML ({getattr(error, 'problem', error)})") from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"{path}: expected a mapping of option names to values")
    values = {str(key).replace("-", "_"): value for key, value in loaded.items()}
    unknown = sorted(set(values) - MODEL_FIELDS - TRAIN_FIELDS - DATA_FIELDS - {"skip_invalid"})
    if unknown:
        raise ConfigError(f"{path}: unknown option(s): {', '.join(unknown)}")
    return values


def resolve_configs(values: dict[str, Any]) -> tuple[ModelConfig, TrainConfig]:
    """Build the model and training configs from merged option values (None = not given)."""
    given = {key: value for key, value in values.items() if value is not None}
    arch = given.get("arch", DEFAULT_ARCH)
    model_class = TransformerConfig if arch == "transformer" else RNNConfig
    if arch not in ("rnn", "transformer"):
        raise ConfigError(f"arch must be rnn or transformer, not {arch!r}")
    model_fields = {f.name for f in fields(model_class)}
    wrong = sorted(key for key in given if key in MODEL_FIELDS and key not in model_fields)
    if wrong:
        raise ConfigError(f"option {wrong[0].replace('_', '-')} does not apply to --arch {arch}")
    model_values = {key: value for key, value in given.items() if key in model_fields}
    train_values = {key: value for key, value in given.items() if key in TRAIN_FIELDS}
    if "max_time" in train_values:
        train_values["max_time"] = parse_duration(train_values["max_time"])
    try:
        return model_class(**model_values), TrainConfig(**train_values)
    except TypeError as error:
        raise ConfigError(f"invalid option value: {error}") from None


def spool_stdin(spec: CorpusSpec, directory: Path) -> CorpusSpec:
    """Copy a corpus read from stdin to a file, since training reads it more than once."""
    if STDIN not in (spec.tsv, spec.src, spec.tgt):
        return spec
    if spec.tsv != STDIN:
        raise CorpusError("only a TSV corpus can come from stdin (-), not --src-file/--tgt-file")
    target = directory / "stdin.tsv"
    with target.open("wb") as out:
        shutil.copyfileobj(sys.stdin.buffer, out)
    return CorpusSpec(tsv=str(target))


def _prepare_vocab(
    data: DataOptions, train: TrainConfig, directory: Path, notify: Notify
) -> Vocabulary:
    """Copy the given vocabulary into the model directory, or train one there."""
    if data.vocab is not None:
        vocabulary = Vocabulary.load(data.vocab)
        vocabulary.copy_to(directory)
        return Vocabulary.load(directory)
    report = SkipReport() if data.skip_invalid else None
    options = VocabOptions(train.model_type, train.vocab_size, not train.separate_vocab)
    trained = train_vocab(data.corpus, directory, options, report)
    for warning in trained.warnings:
        notify(f"warning: {warning}")
    sizes = f"{trained.vocabulary.src.size}" + (
        "" if trained.vocabulary.joint else f"/{trained.vocabulary.tgt.size}"
    )
    notify(
        f"trained a {'joint' if trained.vocabulary.joint else 'separate'} "
        f"{train.model_type} vocabulary of {sizes} pieces"
    )
    return trained.vocabulary


def _read(
    spec: CorpusSpec, vocabulary: Vocabulary, skip_invalid: bool, notify: Notify
) -> ParallelData:
    """Encode a corpus, reporting skipped lines."""
    report = SkipReport() if skip_invalid else None
    data = encode_corpus(read_pairs(spec, report), vocabulary, keep_text=True)
    if report and report.skipped:
        notify(
            f"warning: {spec.describe()}: skipped {report.skipped} invalid line(s); "
            f"first: {report.examples[0]}"
        )
    return data


def prepare_data(
    data: DataOptions, train: TrainConfig, vocabulary: Vocabulary, notify: Notify
) -> tuple[ParallelData, ParallelData, dict[str, Any]]:
    """Training and validation data, and a summary for `config.json`."""
    corpus = _read(data.corpus, vocabulary, data.skip_invalid, notify)
    if data.valid is not None:
        valid = _read(data.valid, vocabulary, data.skip_invalid, notify)
        train_indices = list(range(len(corpus)))
    else:
        train_indices, valid_indices = split_off_valid(len(corpus), train.valid_size, train.seed)
        valid = corpus.subset(valid_indices, keep_text=True)
        notify(
            f"held out {len(valid_indices):,} of {len(corpus):,} pairs for validation "
            f"(seed {train.seed})"
        )
    training = corpus.subset(train_indices, keep_text=False)
    kept = within_length(training, train.max_length)
    if len(kept) < len(training):
        notify(
            f"skipped {len(training) - len(kept):,} training pairs longer than "
            f"{train.max_length} pieces"
        )
        training = training.subset(kept, keep_text=False)
    if len(training) == 0:
        raise CorpusError(
            f"{data.corpus.describe()}: no training pairs left after holding out validation"
        )
    summary = {"corpus_pairs": len(corpus), "train_pairs": len(training), "valid_pairs": len(valid)}
    return training, valid, summary


def _spec_dict(spec: CorpusSpec | None) -> dict[str, str | None] | None:
    """A corpus spec with absolute paths, for `config.json`."""
    if spec is None:
        return None
    absolute = lambda p: p if p in (None, STDIN) else str(Path(p).resolve())  # noqa: E731
    return {"tsv": absolute(spec.tsv), "src": absolute(spec.src), "tgt": absolute(spec.tgt)}


def new_job(
    data: DataOptions,
    model_config: ModelConfig,
    train: TrainConfig,
    directory: Path,
    force: bool,
    dist: DistInfo,
    notify: Notify,
) -> TrainingJob:
    """Set up a fresh run: output directory, vocabulary, data, model, `config.json`."""
    given = data.corpus
    with tempfile.TemporaryDirectory(prefix="nmtcli-train-") as scratch:
        data = replace(data, corpus=spool_stdin(data.corpus, Path(scratch)))
        if dist.is_main:
            prepare_output_dir(directory, force)
            _prepare_vocab(data, train, directory, notify)
        dist.barrier()
        vocabulary = Vocabulary.load(directory)
        training, valid, summary = prepare_data(data, train, vocabulary, notify)
        data = replace(data, corpus=given)
    sizes = VocabSizes(vocabulary.src.size, vocabulary.tgt.size, vocabulary.joint)
    torch.manual_seed(train.seed)
    model = build_model(model_config, sizes)
    if dist.is_main:
        write_config(
            directory,
            {
                "model": model_config_to_dict(model_config),
                "train": train_config_to_dict(train),
                "vocab": {"src_size": sizes.src, "tgt_size": sizes.tgt, "joint": sizes.joint},
                "hardware": {"description": dist.describe(), "world_size": dist.world},
                "data": {
                    "corpus": _spec_dict(data.corpus),
                    "valid": _spec_dict(data.valid),
                    "skip_invalid": data.skip_invalid,
                    **summary,
                },
            },
        )
    return TrainingJob(model, model_config, train, vocabulary, training, valid, directory, dist)


def _resumed_train_config(saved: dict[str, Any], overrides: dict[str, Any]) -> TrainConfig:
    """The saved training config with the few options a resumed run may change."""
    given = {key: value for key, value in overrides.items() if value is not None}
    bad = sorted(key for key in given if key not in RESUME_OVERRIDES)
    if bad:
        allowed = ", ".join(f"--{k.replace('_', '-')}" for k in sorted(RESUME_OVERRIDES))
        raise ConfigError(
            f"--resume continues the saved configuration; only {allowed} may change, "
            f"not --{bad[0].replace('_', '-')}"
        )
    if "max_time" in given:
        given["max_time"] = parse_duration(given["max_time"])
    return TrainConfig(**{**saved, **given})


def _check_same_corpus(data: DataOptions, pairs: int, saved_pairs: int) -> None:
    """Refuse to resume on a corpus that is not the one training started with."""
    if pairs != saved_pairs:
        raise CorpusError(
            f"{data.corpus.describe()}: the corpus changed since training started "
            f"({pairs:,} pairs, was {saved_pairs:,}); resuming would not continue the same run"
        )


def resume_job(
    directory: Path, overrides: dict[str, Any], dist: DistInfo, notify: Notify
) -> TrainingJob:
    """Continue the run saved in `directory` exactly where it stopped."""
    model_dir = ModelDir.load(directory)
    if not (directory / STATE).is_file():
        raise ModelDirError(f"{directory}: no {STATE} to resume from")
    train = _resumed_train_config(model_dir.config["train"], overrides)
    vocabulary = Vocabulary.load(directory)
    check_vocab_fits(vocabulary, model_dir.vocab_sizes, str(directory))
    data = _data_from_config(model_dir.config["data"])
    training, valid, summary = prepare_data(data, train, vocabulary, lambda _: None)
    _check_same_corpus(data, summary["corpus_pairs"], model_dir.config["data"]["corpus_pairs"])
    state = load_train_state(directory / STATE, dist.device)
    model = build_model(model_dir.model_config, model_dir.vocab_sizes)
    model.load_state_dict(state["model"])
    restore_rng(state, dist.device)
    progress = Progress(**state["progress"])
    notify(f"resuming {directory} at step {progress.step} (epoch {progress.epoch + 1})")
    if dist.is_main and train != TrainConfig(**model_dir.config["train"]):
        saved = {
            k: v
            for k, v in model_dir.config.items()
            if k not in ("format_version", "nmtcli_version")
        }
        write_config(directory, saved | {"train": asdict(train)})
    job = TrainingJob(
        model, model_dir.model_config, train, vocabulary, training, valid, directory, dist
    )
    job.progress, job.optimizer_state, job.scaler_state = (
        progress,
        state["optimizer"],
        state.get("scaler") or None,
    )
    return job


def _data_from_config(saved: dict[str, Any]) -> DataOptions:
    """The data options a run was started with."""
    corpus = saved["corpus"]
    if corpus["tsv"] == STDIN:
        raise CorpusError("this run was trained from stdin, which cannot be read again to resume")
    valid = saved.get("valid")
    return DataOptions(
        corpus=CorpusSpec(**corpus),
        valid=None if valid is None else CorpusSpec(**valid),
        skip_invalid=saved.get("skip_invalid", False),
    )
