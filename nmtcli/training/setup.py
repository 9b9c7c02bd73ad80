"""Preparing a training run: the model directory, the vocabulary, the data, and resuming.

The resolved run configuration is saved in `config.json`, which is all `--resume` needs.
"""

from __future__ import annotations

import hashlib
import random
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from nmtcli.corpus import STDIN, CorpusSpec, SkipReport, display_name, read_pairs, stdin_bytes
from nmtcli.device import autocast_dtype
from nmtcli.errors import CorpusError, ModelDirError
from nmtcli.modeldir import BEST, ModelDir, load_weights
from nmtcli.models import Seq2Seq, VocabSizes
from nmtcli.runconfig import DataDescription, Hardware, RunConfig, Stage
from nmtcli.training.checkpoint import restore_rng
from nmtcli.training.config import TrainConfig
from nmtcli.training.data import (
    ParallelData,
    encode_corpus,
    epoch_batches,
    padded_tokens,
    split_off_valid,
    within_length,
)
from nmtcli.training.distributed import DistInfo
from nmtcli.training.finetune import freeze, parent_stage
from nmtcli.training.options import (
    DataOptions,
    TrainRequest,
    request_from,
    resumed_train_config,
)
from nmtcli.training.plan import (
    derive_batch_tokens,
    derive_epochs,
    derive_schedule,
    derive_vocab_size,
)
from nmtcli.training.state import Progress, TrainingJob
from nmtcli.training.transforms import vocabulary_variants
from nmtcli.vocab import VocabOptions, Vocabulary, train_vocab

Notify = Callable[[str], None]
SPOOLED = "stdin.tsv"  # a corpus read from stdin, copied to a file of this name


def spool_stdin(spec: CorpusSpec, directory: Path) -> CorpusSpec:
    """Copy a corpus read from stdin to a file, since training reads it more than once."""
    if STDIN not in (spec.tsv, spec.src, spec.tgt):
        return spec
    if spec.tsv != STDIN:
        raise CorpusError("only a TSV corpus can come from stdin (-), not --src-file/--tgt-file")
    target = directory / SPOOLED
    with target.open("wb") as out:
        shutil.copyfileobj(stdin_bytes(), out)
    return CorpusSpec(tsv=str(target))


def _prepare_vocab(
    data: DataOptions, train: TrainConfig, model_dir: ModelDir, notify: Notify
) -> Vocabulary:
    """Copy the given vocabulary into the model directory, or train one there."""
    if data.vocab is not None:
        return model_dir.install_vocabulary(Vocabulary.load(data.vocab))
    report = SkipReport() if data.skip_invalid else None
    options = VocabOptions(train.model_type, train.vocab_size, not train.separate_vocab)
    variants = vocabulary_variants(train.transform_rates, train.seed)
    trained = train_vocab(data.corpus, model_dir.path, options, report, variants)
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
    keep_text = train.transform_rates.active  # the transforms vary the text each epoch
    training = _length_filtered(
        corpus.subset(train_indices, keep_text=keep_text), train, "training", notify
    )
    valid = _length_filtered(valid, train, "validation", notify)
    if len(training) == 0:
        raise CorpusError(
            f"{data.corpus.describe()}: no training pairs left after holding out validation"
        )
    if len(valid) == 0:
        raise CorpusError(f"no validation pairs of at most {train.max_length} pieces")
    if train.mix_parent > 0:
        training = _with_parent_pairs(training, train, vocabulary, notify)
    description = DataDescription(
        data.corpus,
        data.valid,
        data.skip_invalid,
        len(corpus),
        len(training),
        len(valid),
        fingerprint(data),
    )
    return training, valid, description


def _with_parent_pairs(
    training: ParallelData, train: TrainConfig, vocabulary: Vocabulary, notify: Notify
) -> ParallelData:
    """`training` with a seeded sample of the parent's corpus, `--mix-parent` of the total."""
    parent = ModelDir.load(Path(str(train.init_from))).run.data
    if parent is None or parent.from_stdin:
        raise CorpusError(f"--mix-parent: {train.init_from} does not say what it was trained on")
    try:
        corpus = encode_corpus(read_pairs(parent.corpus), vocabulary, training.src_text is not None)
    except CorpusError as error:
        raise CorpusError(f"--mix-parent: the parent's corpus cannot be read ({error})") from None
    wanted = min(round(train.mix_parent / (1 - train.mix_parent) * len(training)), len(corpus))
    chosen = sorted(random.Random(train.seed).sample(range(len(corpus)), wanted))
    mixed = corpus.subset(chosen, keep_text=training.src_text is not None)
    notify(f"mixing in {wanted:,} pairs of the parent's corpus ({parent.corpus.describe()})")
    return _length_filtered(training.joined(mixed), train, "mixed-in", lambda _: None)


def _length_filtered(
    data: ParallelData, train: TrainConfig, label: str, notify: Notify
) -> ParallelData:
    """The pairs of at most --max-length pieces on both sides, saying how many were skipped."""
    kept = within_length(data, train.max_length)
    if len(kept) == len(data):
        return data
    notify(f"skipped {len(data) - len(kept):,} {label} pairs longer than {train.max_length} pieces")
    return data.subset(kept, keep_text=data.tgt_text is not None)


def fingerprint(data: DataOptions) -> str:
    """A SHA-256 of the corpus and validation files' bytes, to recognise them on --resume."""
    digest = hashlib.sha256()
    for spec in (data.corpus, data.valid):
        for name in () if spec is None else (spec.tsv, spec.src, spec.tgt):
            if name is not None:
                with open(name, "rb") as handle:
                    for block in iter(lambda: handle.read(1 << 20), b""):
                        digest.update(block)
            digest.update(b"\0")
    return digest.hexdigest()


def open_job(
    typed: dict[str, Any],
    config: Path | None,
    resume: Path | None,
    force: bool,
    dist: DistInfo,
    notify: Notify,
) -> TrainingJob:
    """The job `train` runs: `resume` continued, or a new one from the typed options and YAML."""
    if resume is not None:
        return resume_job(resume, typed, dist, notify)
    return new_job(request_from(typed, config), force, dist, notify)


def new_job(request: TrainRequest, force: bool, dist: DistInfo, notify: Notify) -> TrainingJob:
    """Set up a fresh run: vocabulary, data, model and `config.json`.

    They are built and checked beside the output directory, which is replaced only once all of
    them are ready, so a bad corpus never costs the model already there (`--force` or not).
    """
    model_dir, data = ModelDir(request.output), request.data
    with tempfile.TemporaryDirectory(prefix="nmtcli-train-") as scratch:
        spooled = replace(data, corpus=spool_stdin(data.corpus, Path(scratch)))
        if dist.is_main:
            created = not model_dir.path.exists()
            model_dir.claim(force)
            staged = model_dir.staging()
            try:
                run, training, valid = _build_run(request, spooled, staged, dist, notify)
                model = _starting_model(staged, run.train, dist, notify)
                model_dir.install(staged)
            except BaseException as error:
                if created:  # leave no empty directory behind a run that never started
                    shutil.rmtree(model_dir.path, ignore_errors=True)
                if isinstance(error, CorpusError):  # stdin named as the user gave it
                    spool = str(Path(scratch) / SPOOLED)
                    raise CorpusError(str(error).replace(spool, display_name(STDIN))) from None
                raise
            finally:
                shutil.rmtree(staged.path, ignore_errors=True)
        dist.barrier()
        vocabulary = Vocabulary.load(model_dir.path)
        if not dist.is_main:  # the main rank's configuration, derived values included
            run = model_dir.run
            training, valid, _ = prepare_data(spooled, run.train, vocabulary, notify)
            model = _starting_model(model_dir, run.train, dist, lambda _: None)
    return TrainingJob(model, run, vocabulary, training, valid, model_dir, dist)


def _starting_model(
    model_dir: ModelDir, train: TrainConfig, dist: DistInfo, notify: Notify
) -> Seq2Seq:
    """The seeded new model, with the parent's weights and --freeze applied, its precision checked.

    Built before the run is installed, so that a parent whose weights cannot be read, a frozen
    model with nothing left to train or a precision the device lacks fails with the old
    directory still in place.
    """
    autocast_dtype(train.precision, dist.device)  # raises for fp16 on a CPU, int8 on CUDA
    torch.manual_seed(train.seed)
    model = model_dir.new_model()
    if train.init_from is not None:
        load_weights(model, Path(train.init_from) / BEST)
    _freeze(model, train, notify)
    return model


def _freeze(model: Any, train: TrainConfig, notify: Notify) -> None:
    """Apply --freeze, saying how much of the model it holds fixed."""
    if train.freeze:
        frozen = freeze(model, train.freeze)
        total = sum(p.numel() for p in model.parameters())
        notify(f"frozen ({train.freeze}): {frozen:,} of {total:,} parameters")


def _lineage(train: TrainConfig) -> tuple[Stage, ...]:
    """The training stages before this run: its parent's, then the parent itself."""
    if train.init_from is None:
        return ()
    parent = ModelDir.load(Path(train.init_from))
    records = parent.metrics()
    steps = records[-1].step if records else 0
    return (*parent.run.lineage, parent_stage(parent.run, parent.path, steps))


def _build_run(
    request: TrainRequest, data: DataOptions, staged: ModelDir, dist: DistInfo, notify: Notify
) -> tuple[RunConfig, ParallelData, ParallelData]:
    """Vocabulary, data and `config.json` of a new run in `staged`, unset options derived."""
    train = derive_epochs(request.train)
    if data.vocab is None:
        pairs = sum(1 for _ in read_pairs(data.corpus, SkipReport() if data.skip_invalid else None))
        train = derive_vocab_size(train, pairs)
    vocabulary = _prepare_vocab(data, train, staged, notify)
    training, valid, description = prepare_data(data, train, vocabulary, notify)
    train = derive_batch_tokens(train, padded_tokens(training))
    batches = epoch_batches(training, train.batch_tokens, train.seed, 0, 0, dist.world)
    train = derive_schedule(train, request.model.training_defaults, len(batches))
    if train.derived:
        notify(
            "derived from the corpus: "
            + "; ".join(f"{k.replace('_', '-')} {v}" for k, v in train.derived.items())
        )
    run = RunConfig(
        model=request.model,
        vocab=VocabSizes(vocabulary.src.size, vocabulary.tgt.size, vocabulary.joint),
        train=train,
        data=replace(description, corpus=request.data.corpus),
        hardware=Hardware(dist.describe(), dist.world),
        lineage=_lineage(train),
    )
    staged.write_run(run)
    return run, training, valid


def resume_job(
    directory: Path, typed: dict[str, Any], dist: DistInfo, notify: Notify
) -> TrainingJob:
    """Continue the run saved in `directory` exactly where it stopped."""
    model_dir = ModelDir.load(directory)
    model_dir.check_resumable()
    if dist.is_main:
        model_dir.lock()
        model_dir.recover()
    dist.barrier()
    run = model_dir.run
    state = model_dir.load_train_state(dist.device)
    train = resumed_train_config(run.train, typed)
    vocabulary = model_dir.vocabulary()
    saved = _saved_data(run)
    data = DataOptions(saved.corpus, saved.valid, skip_invalid=saved.skip_invalid)
    training, valid, description = prepare_data(data, train, vocabulary, lambda _: None)
    _check_same_data(data, saved, description)
    model, progress = _restored(model_dir, state, dist.device)
    _freeze(model, train, notify)
    notify(f"resuming {directory} at step {progress.step} (epoch {progress.epoch + 1})")
    if train != run.train:
        run = replace(run, train=train)
        if dist.is_main:
            model_dir.write_run(run)
    job = TrainingJob(model, run, vocabulary, training, valid, model_dir, dist, progress)
    job.optimizer_state, job.scaler_state = state["optimizer"], state.get("scaler") or None
    return job


def _check_same_data(data: DataOptions, saved: DataDescription, now: DataDescription) -> None:
    """Refuse to resume on data other than the run started with."""
    changed = now.corpus_pairs != saved.corpus_pairs or (
        saved.fingerprint and now.fingerprint != saved.fingerprint
    )
    if changed:
        raise CorpusError(
            f"{data.corpus.describe()}: the training data changed since the run started "
            f"({now.corpus_pairs:,} pairs, was {saved.corpus_pairs:,}; SHA-256 "
            f"{now.fingerprint[:12]}, was {saved.fingerprint[:12] or '?'}); resuming would not "
            "continue the same run: restore the data, or start a new run"
        )


def _restored(
    model_dir: ModelDir, state: dict[str, Any], device: torch.device
) -> tuple[Any, Progress]:
    """The model and progress counters of a saved training state."""
    model = model_dir.new_model()
    try:
        model.load_state_dict(state["model"])
        progress = Progress(**state["progress"])
    except (RuntimeError, TypeError) as error:
        message = " ".join(line.strip() for line in str(error).splitlines()[:2])
        raise ModelDirError(f"{model_dir.path}: training state does not fit ({message})") from None
    restore_rng(state, device)
    return model, progress


def _saved_data(run: RunConfig) -> DataDescription:
    """The data a run was started with, if it can be read again."""
    if run.data is None:
        raise CorpusError("this model directory does not say what data it was trained on")
    if run.data.from_stdin:
        raise CorpusError("this run was trained from stdin, which cannot be read again to resume")
    return run.data
