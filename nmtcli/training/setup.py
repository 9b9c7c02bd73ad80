"""Preparing a training run: the model directory, the vocabulary, the data, and resuming.

The resolved run configuration is saved in `config.json`, which is all `--resume` needs.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from nmtcli.corpus import STDIN, CorpusSpec, SkipReport, read_pairs
from nmtcli.errors import CorpusError
from nmtcli.modeldir import ModelDir
from nmtcli.models import VocabSizes, build_model
from nmtcli.runconfig import DataDescription, Hardware, RunConfig
from nmtcli.training.checkpoint import restore_rng
from nmtcli.training.config import TrainConfig
from nmtcli.training.data import ParallelData, encode_corpus, split_off_valid, within_length
from nmtcli.training.distributed import DistInfo
from nmtcli.training.options import DataOptions, TrainRequest, resumed_train_config
from nmtcli.training.state import Progress, TrainingJob
from nmtcli.vocab import VocabOptions, Vocabulary, train_vocab

Notify = Callable[[str], None]


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
    data: DataOptions, train: TrainConfig, model_dir: ModelDir, notify: Notify
) -> Vocabulary:
    """Copy the given vocabulary into the model directory, or train one there."""
    if data.vocab is not None:
        return model_dir.install_vocabulary(Vocabulary.load(data.vocab))
    report = SkipReport() if data.skip_invalid else None
    options = VocabOptions(train.model_type, train.vocab_size, not train.separate_vocab)
    trained = train_vocab(data.corpus, model_dir.path, options, report)
    for warning in trained.warnings:
        notify(f"warning: {warning}")
    vocabulary = trained.vocabulary
    sizes = f"{vocabulary.src.size}" + ("" if vocabulary.joint else f"/{vocabulary.tgt.size}")
    notify(
        f"trained a {'joint' if vocabulary.joint else 'separate'} "
        f"{train.model_type} vocabulary of {sizes} pieces"
    )
    return vocabulary


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
) -> tuple[ParallelData, ParallelData, DataDescription]:
    """Training and validation data, and their description for the run configuration."""
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
    description = DataDescription(
        data.corpus, data.valid, data.skip_invalid, len(corpus), len(training), len(valid)
    )
    return training, valid, description


def new_job(request: TrainRequest, force: bool, dist: DistInfo, notify: Notify) -> TrainingJob:
    """Set up a fresh run: output directory, vocabulary, data, model, `config.json`."""
    model_dir, data, train = ModelDir(request.output), request.data, request.train
    with tempfile.TemporaryDirectory(prefix="nmtcli-train-") as scratch:
        spooled = replace(data, corpus=spool_stdin(data.corpus, Path(scratch)))
        if dist.is_main:
            model_dir.prepare_new(force)
            _prepare_vocab(spooled, train, model_dir, notify)
        dist.barrier()
        vocabulary = Vocabulary.load(model_dir.path)
        training, valid, description = prepare_data(spooled, train, vocabulary, notify)
    sizes = VocabSizes(vocabulary.src.size, vocabulary.tgt.size, vocabulary.joint)
    run = RunConfig(
        model=request.model,
        vocab=sizes,
        train=train,
        data=replace(description, corpus=data.corpus),
        hardware=Hardware(dist.describe(), dist.world),
    )
    torch.manual_seed(train.seed)
    model = build_model(request.model, sizes)
    if dist.is_main:
        model_dir.write_run(run)
    return TrainingJob(model, run, vocabulary, training, valid, model_dir, dist)


def resume_job(
    directory: Path, typed: dict[str, Any], dist: DistInfo, notify: Notify
) -> TrainingJob:
    """Continue the run saved in `directory` exactly where it stopped."""
    model_dir = ModelDir.load(directory)
    run = model_dir.run
    state = model_dir.load_train_state(dist.device)
    train = resumed_train_config(run.train, typed)
    vocabulary = model_dir.vocabulary()
    saved = _saved_data(run)
    data = DataOptions(saved.corpus, saved.valid, skip_invalid=saved.skip_invalid)
    training, valid, description = prepare_data(data, train, vocabulary, lambda _: None)
    if description.corpus_pairs != saved.corpus_pairs:
        raise CorpusError(
            f"{data.corpus.describe()}: the corpus changed since training started "
            f"({description.corpus_pairs:,} pairs, was {saved.corpus_pairs:,}); "
            "resuming would not continue the same run"
        )
    model = model_dir.new_model()
    model.load_state_dict(state["model"])
    restore_rng(state, dist.device)
    progress = Progress(**state["progress"])
    notify(f"resuming {directory} at step {progress.step} (epoch {progress.epoch + 1})")
    if train != run.train:
        run = replace(run, train=train)
        if dist.is_main:
            model_dir.write_run(run)
    job = TrainingJob(model, run, vocabulary, training, valid, model_dir, dist, progress)
    job.optimizer_state, job.scaler_state = state["optimizer"], state.get("scaler") or None
    return job


def _saved_data(run: RunConfig) -> DataDescription:
    """The data a run was started with, if it can be read again."""
    if run.data is None:
        raise CorpusError("this model directory does not say what data it was trained on")
    if run.data.from_stdin:
        raise CorpusError("this run was trained from stdin, which cannot be read again to resume")
    return run.data
