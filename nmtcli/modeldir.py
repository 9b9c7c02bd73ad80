"""The self-contained model directory: the only code that reads or writes its files.

```
config.json        the run configuration (`RunConfig`): format version, model, training, data
model.safetensors  the best weights (what `translate` uses)
last.safetensors   the latest weights (what `--resume` continues from)
train_state.pt     optimizer, schedule, random states and progress; tensors and plain data only
vocab.json, *.model  the SentencePiece vocabulary
metrics.jsonl      one `ValidationRecord` per line
evaluations.json   the `EvaluationRecord`s of `nmtcli evaluate --record`
CARD_NOTES.md      free text kept verbatim in the card (licences, provenance)
MODEL_CARD.md      a human-readable summary, rendered from the above
```

Weights are safetensors (never unpickled code); the training state is read with
`torch.load(weights_only=True)`. Every write is atomic (temp file + rename), and a checkpoint is
crash-consistent: its files are first written as `.NAME.pending-STEP`, then `train_state.pt`
(which names them) is replaced, and only then are they moved into place. Whatever instant the
process dies, the next writer rolls a committed checkpoint forward and an uncommitted one back
(`recover`), so the best weights are always those the state calls best and each validation
record is kept exactly once. One process at a time writes a directory (`lock`, an advisory
`flock` the kernel releases when the process dies, so a killed run never blocks the next).

torch is imported by the methods that need it, not with the module: checking an output path
(`ModelDir.owns`), `nmtcli vocab` and the CTranslate2 engine never load it.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import warnings
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nmtcli.card import ModelSummary, card_markdown
from nmtcli.errors import ConfigError, ModelDirError, NmtError, OutputError, TrainingError
from nmtcli.io import atomic_write, atomic_write_text, fsync_directory, write_point
from nmtcli.records import EvaluationRecord, ValidationRecord, learning_problem
from nmtcli.runconfig import RunConfig
from nmtcli.vocab import VOCAB_META, Vocabulary, vocabulary_files

if TYPE_CHECKING:
    import torch

    from nmtcli.models import Seq2Seq
    from nmtcli.models.config import VocabSizes

CONFIG = "config.json"
BEST = "model.safetensors"
LAST = "last.safetensors"
STATE = "train_state.pt"
METRICS = "metrics.jsonl"
EVALUATIONS = "evaluations.json"
NOTES = "CARD_NOTES.md"
CARD = "MODEL_CARD.md"
LOCK = ".nmtcli.lock"
OWN_FILES = (CONFIG, BEST, LAST, STATE, METRICS, EVALUATIONS, CARD)
STEP_WEIGHTS = re.compile(r"step-(\d+)\.safetensors")  # a validation's weights, kept to average
PENDING = ".pending-"  # `.model.safetensors.pending-200`: written, not yet committed
STATE_KEYS = ("model", "optimizer", "progress", "rng")


class ModelDir:
    """A model directory: its run configuration, vocabulary, weights, records and card."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.name = self.path.resolve().name  # what its card is titled
        self.warnings: list[str] = []  # damaged records skipped while reading
        self._lock: Any = None

    @classmethod
    def load(cls, path: Path) -> ModelDir:
        """An existing model directory, its `config.json` read and checked."""
        model_dir = cls(path)
        if model_dir.path.is_file():
            raise ModelDirError(f"{path}: is a file; a model is a directory (give its folder)")
        if not model_dir.path.is_dir():
            raise ModelDirError(f"{path}: no such model directory")
        if not (model_dir.path / CONFIG).is_file():
            raise ModelDirError(f"{path}: not a model directory (no {CONFIG})")
        from nmtcli.ct2 import is_ct2_export

        if is_ct2_export(model_dir.path):
            raise ModelDirError(
                f"{path}: a CTranslate2 export, which only translate, evaluate and compare "
                "use; give the nmtcli model directory it was exported from"
            )
        _ = model_dir.run
        return model_dir

    @classmethod
    def holds_model(cls, path: Path) -> bool:
        """Whether `path` looks like a model directory (has a run configuration of nmtcli's)."""
        try:
            values = json.loads((Path(path) / CONFIG).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            return False
        return isinstance(values, dict) and {"format_version", "model"} <= values.keys()

    @classmethod
    def owns(cls, path: Path) -> bool:
        """Whether `path` is (or would be) one of the files nmtcli keeps in a model directory."""
        folder = Path(path).parent
        return cls.holds_model(folder) and Path(path).name in cls(folder)._own_names()

    # -- one writer ----------------------------------------------------------------------------

    def lock(self) -> None:
        """Become this directory's only writer until the process exits (or `unlock`)."""
        if self._lock is not None:
            return
        try:
            import fcntl
        except ImportError:  # no advisory locks on this platform: nothing to hold
            return
        try:
            handle = open(self.path / LOCK, "a+", encoding="utf-8")  # noqa: SIM115 - held open
        except OSError as error:
            raise ModelDirError(f"{self.path}: cannot write there ({error.strerror})") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            owner = handle.read().strip() or "another process"
            handle.close()
            raise ModelDirError(
                f"{self.path} is in use by another nmtcli run ({owner}); wait for it to finish "
                "or stop it first"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        self._lock = handle

    def unlock(self) -> None:
        """Stop being the writer (closing the file releases the lock)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # -- creating ------------------------------------------------------------------------------

    def claim(self, force: bool, hint: str = " or --resume DIR to continue training") -> None:
        """Lock the directory a new model will go to; a non-empty one needs `force`.

        Nothing is deleted here: the new model is built beside it and swapped in by `install`.
        """
        path = self.path
        if path.exists() and not path.is_dir():
            raise ModelDirError(f"{path} exists and is not a directory")
        if path.is_dir() and any(e.name != LOCK for e in path.iterdir()) and not force:
            raise ModelDirError(
                f"{path} already exists and is not empty; use --force to overwrite it"
                + hint.replace("DIR", str(path))
            )
        clashes = [name for name in OWN_FILES if (path / name).exists()]
        if force and clashes and not self.holds_model(path):
            raise ModelDirError(
                f"{path} is not an nmtcli model directory, and --force would replace its "
                f"{clashes[0]}; choose another directory"
            )
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ModelDirError(f"{path}: cannot create the directory ({error.strerror})") from None
        self.lock()

    def staging(self) -> ModelDir:
        """A fresh hidden directory beside this one, where a replacement is built."""
        import tempfile

        parent = self.path.resolve().parent
        staged = ModelDir(Path(tempfile.mkdtemp(prefix=f".{self.path.name}.new-", dir=parent)))
        staged.name = self.name  # its card is written there, under the name it will have
        return staged

    def install(self, staged: ModelDir) -> None:
        """Replace this directory's nmtcli files by those of `staged` (which is then removed).

        Only files nmtcli writes are removed (its own names, the vocabulary `vocab.json`
        lists, stale temporaries); anything else the user keeps here stays.
        """
        for name in self._own_names():
            (self.path / name).unlink(missing_ok=True)
        for entry in staged.path.iterdir():
            os.replace(entry, self.path / entry.name)
        staged.path.rmdir()
        fsync_directory(self.path)
        self.__dict__.pop("run", None)

    def _own_names(self) -> list[str]:
        """The files nmtcli wrote here (a vocabulary that cannot be read is left alone)."""
        names = list(OWN_FILES) + [path.name for _, path in self.step_weights()]
        with contextlib.suppress(NmtError):
            names += vocabulary_files(self.path)
        leftovers = [
            e.name for e in self.path.iterdir() if _is_temporary(e.name) or PENDING in e.name
        ]
        return names + leftovers

    def write_run(self, run: RunConfig) -> None:
        """Write `config.json` atomically."""
        atomic_write_text(self.path / CONFIG, json.dumps(run.to_dict(), indent=2) + "\n")
        self.__dict__["run"] = run

    def install_vocabulary(self, vocabulary: Vocabulary) -> Vocabulary:
        """Copy a vocabulary into the directory and load the copy."""
        vocabulary.copy_to(self.path)
        return Vocabulary.load(self.path)

    # -- reading -------------------------------------------------------------------------------

    @cached_property
    def run(self) -> RunConfig:
        """The run configuration in `config.json`."""
        path = self.path / CONFIG
        try:
            values = json.loads(path.read_text(encoding="utf-8"))
            return RunConfig.from_dict(values)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise ModelDirError(f"{path}: unreadable ({error})") from None
        except ConfigError as error:
            raise ModelDirError(f"{path}: {error}") from None

    @property
    def vocab_sizes(self) -> VocabSizes:
        """The vocabulary sizes the model was built for."""
        return self.run.vocab

    def vocabulary(self) -> Vocabulary:
        """The model's vocabulary, checked against the sizes the model was built for."""
        if not (self.path / VOCAB_META).is_file():
            raise ModelDirError(f"{self.path}: the vocabulary ({VOCAB_META}) is missing")
        vocabulary = Vocabulary.load(self.path)
        actual = (vocabulary.src.size, vocabulary.tgt.size)
        sizes = self.vocab_sizes
        if actual != (sizes.src, sizes.tgt):
            raise ModelDirError(
                f"{self.path}: vocabulary/model mismatch: the vocabulary has {actual[0]}/"
                f"{actual[1]} source/target pieces but the model was built for "
                f"{sizes.src}/{sizes.tgt}"
            )
        return vocabulary

    def new_model(self) -> Seq2Seq:
        """A freshly initialised model of the configured architecture, if memory can hold it.

        The weights are counted from the config (building the model on the `meta` device
        instead would load PyTorch's symbolic-shape machinery: 80 MB more for every command).
        """
        from nmtcli.models import build_model

        needed = 4 * self.run.model.parameter_count(self.vocab_sizes)
        available = _memory_bytes()
        if available and needed > available:
            raise ModelDirError(
                f"{self.path / CONFIG}: the model it describes needs {needed / 2**30:,.1f} GiB "
                f"for its weights alone, more than this machine's {available / 2**30:,.1f} GiB"
            )
        return build_model(self.run.model, self.vocab_sizes)

    def build(self, weights: str = BEST, device: str | torch.device = "cpu") -> Seq2Seq:
        """Rebuild the model and load `weights` (model.safetensors by default), in eval mode."""
        path = self.path / weights
        if not path.is_file():
            raise ModelDirError(f"{self.path}: no {weights} (has training saved a checkpoint yet?)")
        model = self.new_model()
        load_weights(model, path)
        return model.to(device).eval()

    def metrics(self) -> list[ValidationRecord]:
        """All readable validation records (a damaged line is skipped, with a warning)."""
        path = self.path / METRICS
        if not path.is_file():
            return []
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        records = [self._record(ValidationRecord, line, path, n) for n, line in enumerate(lines, 1)]
        return [record for record in records if record is not None]

    def evaluations(self) -> list[EvaluationRecord]:
        """The readable test scores (a damaged file or row is skipped, with a warning)."""
        path = self.path / EVALUATIONS
        if not path.is_file():
            return []
        try:
            rows = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as error:
            self.warnings.append(f"{path}: unreadable, test scores not shown ({error})")
            return []
        if not isinstance(rows, list):
            self.warnings.append(f"{path}: malformed (not a list of scores), not shown")
            return []
        records = [self._record(EvaluationRecord, row, path, n) for n, row in enumerate(rows, 1)]
        return [record for record in records if record is not None]

    def _record(self, kind: Any, value: Any, path: Path, number: int) -> Any:
        """One record (a JSON line or a parsed row), or None with a warning naming file:line."""
        if value == "":
            return None
        try:
            return kind.from_dict(json.loads(value) if isinstance(value, str) else value)
        except ValueError as error:
            self.warnings.append(f"{path}:{number}: malformed record skipped ({error})")
            return None

    def notes(self) -> str:
        """The free text of CARD_NOTES.md (empty if none)."""
        path = self.path / NOTES
        return self._inside(path).read_text(encoding="utf-8") if path.is_file() else ""

    def _inside(self, path: Path) -> Path:
        """`path`, refused if it is a link leading out of the directory."""
        if path.is_symlink() and self.path.resolve() not in path.resolve().parents:
            raise ModelDirError(
                f"{path}: links outside the model directory; nmtcli won't follow it"
            )
        return path

    def summary(self) -> ModelSummary:
        """Everything the card shows (no weights are loaded)."""
        # Build on the meta device: no memory, no weights, and the global random state (which a
        # resumable training run depends on) is left untouched.
        import torch

        from nmtcli.models import parameter_tree

        with torch.random.fork_rng(devices=[]), torch.device("meta"):
            model = self.new_model()
        records = self.metrics()
        best = [r for r in records if r.best]
        return ModelSummary(
            name=self.name,
            run=self.run,
            parameters=parameter_tree(model),
            last=records[-1] if records else None,
            best=best[-1] if best else None,
            evaluations=self.evaluations(),
            notes=self.notes(),
            problem=learning_problem(records, self.run.train.valid_bleu_sentences > 0),
        )

    # -- writing during and after training ------------------------------------------------------

    def save_weights(self, model: Seq2Seq, name: str, dtype: torch.dtype | None = None) -> None:
        """Write the model's weights as `name`, atomically (tied tensors stored once).

        With `dtype` (e.g. float16) a converted copy is written and `model` is left as it is.
        """
        import copy

        from safetensors.torch import save_model

        converted = model if dtype is None else copy.deepcopy(model).cpu().to(dtype)
        atomic_write(self.path / name, lambda temp: save_model(converted, temp))

    def commit_checkpoint(
        self, step: int, state: dict[str, Any], files: dict[str, Callable[[str], None]]
    ) -> None:
        """Write a checkpoint crash-consistently: stage `files`, commit `state`, move them in.

        `files` maps each name (model.safetensors, metrics.jsonl, ...) to a function that writes
        its new content to a given path. A failure to write (a full disk) leaves the previous
        checkpoint as it was and says so.
        """
        import torch
        from safetensors import SafetensorError

        pending = {name: self.path / f".{name}{PENDING}{step}" for name in files}
        try:
            for name, write in files.items():
                atomic_write(pending[name], write)
            state = state | {"commit": {"step": step, "files": list(files)}}
            atomic_write(self.path / STATE, lambda temp: torch.save(state, temp))
        except (OutputError, RuntimeError, SafetensorError) as error:
            # torch.save and safetensors report a failed write (a full disk) as their own errors
            for path in pending.values():
                path.unlink(missing_ok=True)
            reason = (
                str(error).rpartition("(")[2].rstrip(")")
                if isinstance(error, OutputError)
                else None
            )
            raise TrainingError(
                f"could not write the checkpoint of step {step} to {self.path} "
                f"({reason or 'the write failed: is the disk full?'}); "
                "the previous checkpoint there is intact"
            ) from None
        for name, path in pending.items():
            os.replace(path, self.path / name)
            write_point(f"{name} moved into place")
        fsync_directory(self.path)

    def recover(self) -> None:
        """Finish a checkpoint a killed run committed, undo one it did not; drop temporaries."""
        leftovers = [e for e in self.path.iterdir() if _is_temporary(e.name) or PENDING in e.name]
        if not leftovers:
            return
        commit = self._commit() if any(PENDING in e.name for e in leftovers) else None
        for entry in leftovers:
            final, _, step = entry.name[1:].rpartition(PENDING)
            if commit is not None and step == str(commit["step"]) and final in commit["files"]:
                os.replace(entry, self.path / final)
            else:
                entry.unlink()
        fsync_directory(self.path)

    def _commit(self) -> dict[str, Any] | None:
        """The checkpoint `train_state.pt` commits, if it can be read."""
        import torch

        try:
            commit = self.load_train_state(torch.device("cpu")).get("commit")
        except NmtError:
            return None
        return commit if isinstance(commit, dict) else None

    def check_resumable(self) -> None:
        """Refuse, before anything is locked or written, a directory with no training state."""
        path = self.path / STATE
        if not (path.is_file() or path.is_symlink()):
            raise ModelDirError(f"{self.path}: no {STATE} to resume from")

    def load_train_state(self, device: torch.device) -> dict[str, Any]:
        """Read `train_state.pt` safely (tensors and plain data only) and check its keys."""
        import torch

        path = self.path / STATE
        if path.is_symlink():
            raise ModelDirError(f"{path}: is a symbolic link; nmtcli reads only the state it wrote")
        if not path.is_file():
            raise ModelDirError(f"{self.path}: no {STATE} to resume from")
        try:
            with warnings.catch_warnings():  # a forged file's pickle warnings are not the user's
                warnings.simplefilter("ignore")
                state = torch.load(path, map_location=device, weights_only=True)
        except Exception:
            raise ModelDirError(
                f"{path}: not a training state written by nmtcli (damaged or replaced)"
            ) from None
        missing = [key for key in STATE_KEYS if not isinstance(state, dict) or key not in state]
        if missing:
            raise ModelDirError(f"{path}: damaged training state (no {missing[0]!r})")
        return state

    def metrics_with(self, record: ValidationRecord) -> Callable[[str], None]:
        """A writer of `metrics.jsonl` with `record` appended, for `commit_checkpoint`."""
        path = self.path / METRICS
        previous = path.read_bytes() if path.is_file() else b""
        if previous and not previous.endswith(b"\n"):
            previous += b"\n"
        line = (json.dumps(record.to_dict()) + "\n").encode("utf-8")
        return lambda temp: Path(temp).write_bytes(previous + line)

    def step_weights(self) -> list[tuple[int, Path]]:
        """The kept validation weights (`step-N.safetensors`), oldest first."""
        found = [(STEP_WEIGHTS.fullmatch(e.name), e) for e in self.path.iterdir()]
        return sorted((int(match.group(1)), entry) for match, entry in found if match)

    def weights_name(self, step: int | None) -> str:
        """The weights file of validation `step` (None: the best), which must be kept."""
        if step is None:
            return BEST
        kept = dict(self.step_weights())
        if step not in kept:
            listed = ", ".join(map(str, kept)) or "none (train with --keep-checkpoints N)"
            raise ModelDirError(f"{self.path}: no weights kept for step {step}; kept: {listed}")
        return kept[step].name

    def prune_step_weights(self, keep: int) -> None:
        """Delete all but the newest `keep` validation weights."""
        kept = self.step_weights()
        for _, path in kept[: max(len(kept) - keep, 0)]:
            path.unlink(missing_ok=True)

    def averaged(self, last: int, parent: float = 0.0) -> tuple[Seq2Seq, str]:
        """A model with the mean of the newest `last` validation weights, and what it is.

        Vaswani et al. (2017) average a run's last checkpoints for their final models. With
        `parent` > 0 the mean is then interpolated with the weights a fine-tuned run started
        from, `parent` × parent + (1 − `parent`) × mean: WiSE-FT (Wortsman et al., 2022), which
        keeps more of what the parent knew while keeping much of what fine-tuning taught.
        """
        import torch

        kept = self.step_weights()
        chosen = kept[-last:]
        if len(chosen) < (1 if parent else 2):
            raise ModelDirError(
                f"{self.path}: --last {last} of {len(kept)} validation checkpoint(s) kept "
                "(step-N.safetensors); averaging needs two or more, or one with --parent (train "
                "with --keep-checkpoints N)"
            )
        parent_dir = self._parent() if parent else None
        model = self.new_model()
        sums = {
            name: torch.zeros_like(p, dtype=torch.float32) for name, p in model.state_dict().items()
        }
        for _, path in chosen:
            load_weights(model, path)
            for name, tensor in model.state_dict().items():
                sums[name] += tensor.float()
        means = {name: total / len(chosen) for name, total in sums.items()}
        if parent_dir is not None:
            load_weights(model, parent_dir.path / BEST)
            for name, tensor in model.state_dict().items():
                means[name] = parent * tensor.float() + (1 - parent) * means[name]
        with torch.no_grad():
            for name, tensor in model.state_dict().items():
                tensor.copy_(means[name])
        steps = ", ".join(str(step) for step, _ in chosen)
        what = (
            f"the average of {len(chosen)} checkpoints, steps {steps}"
            if len(chosen) > 1
            else f"those of the validation at step {steps}"
        )
        if parent_dir is not None:
            what += f", interpolated with the parent {parent_dir.path.name} at weight {parent:g}"
        return model.eval(), what

    def _parent(self) -> ModelDir:
        """The model directory this run was fine-tuned from, with the same vocabulary."""
        init_from = self.run.train.init_from
        if init_from is None:
            raise ModelDirError(
                f"{self.path}: not fine-tuned (no --init-from), so it has no parent"
            )
        parent = ModelDir.load(Path(init_from))
        for name in vocabulary_files(self.path):  # the SentencePiece models, not their options
            if not name.endswith(".model"):
                continue
            mine, theirs = self.path / name, parent.path / name
            if not theirs.is_file() or theirs.read_bytes() != mine.read_bytes():
                raise ModelDirError(f"{parent.path}: its vocabulary differs from {self.path}'s")
        return parent

    def weights_writer(self, model: Seq2Seq) -> Callable[[str], None]:
        """A writer of the model's current weights, for `commit_checkpoint`."""
        from safetensors.torch import save_model

        return lambda temp: save_model(model, temp)

    def record_evaluation(self, record: EvaluationRecord) -> None:
        """Add a test score, replacing one of the same test set and decoding; update the card."""
        self.lock()
        warned = len(self.warnings)
        kept = self.evaluations()
        if len(self.warnings) > warned:  # rewriting the file would lose the scores not read
            raise ModelDirError(f"{self.warnings[-1]}; repair or remove it to record new scores")
        rows = [row for row in kept if not row.same_test(record)] + [record]
        text = json.dumps([row.to_dict() for row in rows], indent=2) + "\n"
        atomic_write_text(self.path / EVALUATIONS, text)
        self.write_card()

    def write_card(self) -> None:
        """(Re)write MODEL_CARD.md."""
        atomic_write_text(self.path / CARD, card_markdown(self.summary()))

    # -- sharing -------------------------------------------------------------------------------

    def export_step(self, target: Path, half: bool, force: bool, step: int | None) -> int:
        """`export` the best weights, or those kept from the validation at `step`."""
        note = f"Weights: those of the validation at step {step}." if step else ""
        return self.export(target, half, force, self.build(self.weights_name(step)), note)

    def export_average(
        self, target: Path, last: int, force: bool, parent: float = 0.0, half: bool = False
    ) -> tuple[str, int]:
        """`export` the mean of the `last` kept checkpoints; what the card says, and the size.

        With `parent` > 0 the mean is interpolated with the parent's weights (`averaged`).
        """
        averaged, what = self.averaged(last, parent)
        note = f"Weights: {what}."
        return note, self.export(target, half, force, averaged, note)

    def export(
        self, target: Path, half: bool, force: bool, model: Seq2Seq | None = None, note: str = ""
    ) -> int:
        """Copy the best weights, config, vocabulary, records and card into `target`, to share.

        The training state and last weights are left out; with `half` the weights are stored
        as float16 (loaded back into float32). `model` replaces the best weights (averaged
        ones), and `note` is added to the card's notes. Returns the new directory's size in bytes.
        """
        import torch

        vocabulary = self.vocabulary()
        model = model if model is not None else self.build()
        exported = ModelDir(target)
        if exported.path.exists() and exported.path.resolve() == self.path.resolve():
            raise ModelDirError(f"{target}: is the model it is made from; write to a new directory")
        exported.claim(force, hint="")
        staged = exported.staging()
        try:
            staged.save_weights(model, BEST, torch.float16 if half else None)
            vocabulary.copy_to(staged.path)
            for name in (CONFIG, METRICS, EVALUATIONS, NOTES):
                if (self.path / name).is_file():
                    _copy_file(self._inside(self.path / name), staged.path / name)
            if note:
                notes = staged.path / NOTES
                kept = notes.read_text(encoding="utf-8") if notes.is_file() else ""
                atomic_write_text(notes, kept + ("\n" if kept else "") + note + "\n")
            staged.write_card()
            exported.install(staged)
        finally:
            shutil.rmtree(staged.path, ignore_errors=True)
        return sum(path.stat().st_size for path in exported.path.iterdir() if path.is_file())


def load_weights(model: Seq2Seq, path: Path) -> None:
    """Load safetensors weights into `model`, converting dtype; a mismatch is a clear error."""
    import torch
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        tensors = load_file(str(path))
    except (OSError, SafetensorError) as error:
        raise ModelDirError(f"{path}: unreadable weights ({error})") from None
    state = model.state_dict()
    for name, tensor in tensors.items():
        if name not in state:
            raise ModelDirError(f"{path}: unexpected tensor {name!r}; does {CONFIG} match?")
        if state[name].shape != tensor.shape:
            raise ModelDirError(
                f"{path}: {name} has shape {tuple(tensor.shape)} but the model expects "
                f"{tuple(state[name].shape)} (vocabulary or config mismatch)"
            )
    missing = [name for name in state if name not in tensors and not _is_tied(model, name, tensors)]
    if missing:
        raise ModelDirError(f"{path}: missing tensor {missing[0]!r}")
    with torch.no_grad():
        for name, tensor in tensors.items():
            state[name].copy_(tensor.to(state[name].dtype))


def _is_tied(model: Seq2Seq, name: str, stored: dict[str, torch.Tensor]) -> bool:
    """Whether parameter `name` shares storage with a stored one (tied embeddings)."""
    parameters = dict(model.named_parameters(remove_duplicate=False))
    if name not in parameters:
        return False
    target = parameters[name]
    return any(other is target for key, other in parameters.items() if key in stored)


def _memory_bytes() -> int:
    """Physical memory in bytes (0 where the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return 0


def _is_temporary(name: str) -> bool:
    """Whether `name` is an atomic write's temporary file (`.NAME.XXXX.tmp`)."""
    return name.startswith(".") and name.endswith(".tmp")


def _copy_file(source: Path, target: Path) -> None:
    """Copy one file atomically."""
    atomic_write(target, lambda temp: shutil.copyfile(source, temp))


def check_vocabulary_output(path: Path, force: bool) -> None:
    """Refuse to write a vocabulary over one without `force`, or ever into a model directory.

    A model's weights are tied to its vocabulary's ids: a new one there would break the model.
    """
    if ModelDir.holds_model(path):
        raise OutputError(f"{path}: is a model directory; write the vocabulary elsewhere")
    if (path / VOCAB_META).exists() and not force:
        raise OutputError(f"{path} already holds a vocabulary; use --force to replace it")
