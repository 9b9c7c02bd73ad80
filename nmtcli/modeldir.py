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
`torch.load(weights_only=True)`. Every write is atomic (temp file + rename).
"""

from __future__ import annotations

import json
import shutil
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from nmtcli.card import ModelSummary, card_markdown
from nmtcli.errors import ConfigError, ModelDirError
from nmtcli.io import atomic_write, atomic_write_text
from nmtcli.models import Seq2Seq, build_model, parameter_tree
from nmtcli.records import EvaluationRecord, ValidationRecord
from nmtcli.runconfig import RunConfig
from nmtcli.vocab import VOCAB_META, Vocabulary

if TYPE_CHECKING:
    from nmtcli.models.config import VocabSizes

CONFIG = "config.json"
BEST = "model.safetensors"
LAST = "last.safetensors"
STATE = "train_state.pt"
METRICS = "metrics.jsonl"
EVALUATIONS = "evaluations.json"
NOTES = "CARD_NOTES.md"
CARD = "MODEL_CARD.md"
OWN_FILES = (CONFIG, BEST, LAST, STATE, METRICS, EVALUATIONS, CARD)


class ModelDir:
    """A model directory: its run configuration, vocabulary, weights, records and card."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @classmethod
    def load(cls, path: Path) -> ModelDir:
        """An existing model directory, its `config.json` read and checked."""
        model_dir = cls(path)
        if not model_dir.path.is_dir():
            raise ModelDirError(f"{path}: no such model directory")
        if not (model_dir.path / CONFIG).is_file():
            raise ModelDirError(f"{path}: not a model directory (no {CONFIG})")
        _ = model_dir.run
        return model_dir

    @classmethod
    def holds_model(cls, path: Path) -> bool:
        """Whether `path` looks like a model directory (has a run configuration)."""
        return (Path(path) / CONFIG).is_file()

    # -- creating ------------------------------------------------------------------------------

    def prepare_new(self, force: bool, hint: str = " or --resume DIR to continue training") -> None:
        """Create the directory for a new model; an existing non-empty one needs `force`.

        With `force`, only files nmtcli writes are removed, never anything else kept there.
        """
        path = self.path
        if path.exists() and not path.is_dir():
            raise ModelDirError(f"{path} exists and is not a directory")
        if path.is_dir() and any(path.iterdir()):
            if not force:
                raise ModelDirError(
                    f"{path} already exists and is not empty; use --force to overwrite it"
                    + hint.replace("DIR", str(path))
                )
            for name in OWN_FILES:
                (path / name).unlink(missing_ok=True)
        path.mkdir(parents=True, exist_ok=True)
        self.__dict__.pop("run", None)

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
        """A freshly initialised model of the configured architecture."""
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
        """All validation records (empty if none)."""
        path = self.path / METRICS
        if not path.is_file():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        return [_record(ValidationRecord, line, path, n) for n, line in enumerate(lines, 1) if line]

    def evaluations(self) -> list[EvaluationRecord]:
        """The recorded test scores (empty if none)."""
        path = self.path / EVALUATIONS
        if not path.is_file():
            return []
        rows = _json(path)
        if not isinstance(rows, list):
            raise ModelDirError(f"{path}: malformed (not a list of scores)")
        return [_record(EvaluationRecord, row, path, n) for n, row in enumerate(rows, 1)]

    def notes(self) -> str:
        """The free text of CARD_NOTES.md (empty if none)."""
        path = self.path / NOTES
        return path.read_text(encoding="utf-8") if path.is_file() else ""

    def summary(self) -> ModelSummary:
        """Everything the card shows (no weights are loaded)."""
        # Build on the meta device: no memory, no weights, and the global random state (which a
        # resumable training run depends on) is left untouched.
        with torch.random.fork_rng(devices=[]), torch.device("meta"):
            model = self.new_model()
        records = self.metrics()
        best = [r for r in records if r.best]
        return ModelSummary(
            name=self.path.resolve().name,
            run=self.run,
            parameters=parameter_tree(model),
            last=records[-1] if records else None,
            best=best[-1] if best else None,
            evaluations=self.evaluations(),
            notes=self.notes(),
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

    def save_train_state(self, state: dict[str, Any]) -> None:
        """Write the resumable training state in one atomic file."""
        atomic_write(self.path / STATE, lambda temp: torch.save(state, temp))

    def load_train_state(self, device: torch.device) -> dict[str, Any]:
        """Read `train_state.pt` safely (tensors and plain data only)."""
        path = self.path / STATE
        if not path.is_file():
            raise ModelDirError(f"{self.path}: no {STATE} to resume from")
        try:
            return torch.load(path, map_location=device, weights_only=True)
        except (OSError, RuntimeError, EOFError) as error:
            raise ModelDirError(f"{path}: unreadable training state ({error})") from None

    def append_metric(self, record: ValidationRecord) -> None:
        """Append one validation record (the file is rewritten atomically, so never torn)."""
        path = self.path / METRICS
        previous = path.read_text(encoding="utf-8") if path.is_file() else ""
        atomic_write_text(path, previous + json.dumps(record.to_dict()) + "\n")

    def record_evaluation(self, record: EvaluationRecord) -> None:
        """Add a test score, replacing one of the same test set and decoding; update the card."""
        rows = [row for row in self.evaluations() if not row.same_test(record)] + [record]
        text = json.dumps([row.to_dict() for row in rows], indent=2) + "\n"
        atomic_write_text(self.path / EVALUATIONS, text)
        self.write_card()

    def write_card(self) -> None:
        """(Re)write MODEL_CARD.md."""
        atomic_write_text(self.path / CARD, card_markdown(self.summary()))

    # -- sharing -------------------------------------------------------------------------------

    def export(self, target: Path, half: bool, force: bool) -> int:
        """Copy the best weights, config, vocabulary, records and card into `target`, to share.

        The training state and last weights are left out; with `half` the weights are stored
        as float16 (loaded back into float32). Returns the size of the new directory in bytes.
        """
        vocabulary = self.vocabulary()
        model = self.build()
        exported = ModelDir(target)
        exported.prepare_new(force, hint="")
        exported.save_weights(model, BEST, torch.float16 if half else None)
        vocabulary.copy_to(exported.path)
        for name in (CONFIG, METRICS, EVALUATIONS, NOTES):
            if (self.path / name).is_file():
                _copy_file(self.path / name, exported.path / name)
        exported.write_card()
        return sum(path.stat().st_size for path in exported.path.iterdir() if path.is_file())


def load_weights(model: Seq2Seq, path: Path) -> None:
    """Load safetensors weights into `model`, converting dtype; a mismatch is a clear error."""
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


def _json(path: Path) -> Any:
    """A JSON file's content; an unreadable one is a `ModelDirError` naming it."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise ModelDirError(f"{path}: unreadable ({error})") from None


def _record(kind: Any, value: str | dict[str, Any], path: Path, number: int) -> Any:
    """One record (a JSON line, or an already parsed row); errors name the file and line."""
    try:
        return kind.from_dict(json.loads(value) if isinstance(value, str) else value)
    except ValueError as error:
        raise ModelDirError(f"{path}:{number}: malformed record ({error})") from None


def _copy_file(source: Path, target: Path) -> None:
    """Copy one file atomically."""
    atomic_write(target, lambda temp: shutil.copyfile(source, temp))
