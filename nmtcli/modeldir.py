"""The self-contained model directory: layout, atomic saving, and safe loading.

```
config.json        format version, model config, training config, vocabulary sizes, data
model.safetensors  the best weights (what `translate` uses)
last.safetensors   the latest weights (what `--resume` continues from)
train_state.pt     optimizer, schedule, random states and progress; tensors and plain data only
vocab.json, *.model  the SentencePiece vocabulary
metrics.jsonl      one JSON line per validation
MODEL_CARD.md      a human-readable summary
```

Weights are safetensors (never unpickled code); the training state is read with
`torch.load(weights_only=True)`. Every write is atomic (temp file + rename).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from nmtcli import __version__
from nmtcli.errors import ModelDirError
from nmtcli.io import atomic_write, atomic_write_text
from nmtcli.models import ModelConfig, Seq2Seq, VocabSizes, build_model, model_config_from_dict
from nmtcli.vocab import VOCAB_META, Vocabulary

FORMAT_VERSION = 1
CONFIG = "config.json"
BEST = "model.safetensors"
LAST = "last.safetensors"
STATE = "train_state.pt"
METRICS = "metrics.jsonl"
CARD = "MODEL_CARD.md"
OWN_FILES = (CONFIG, BEST, LAST, STATE, METRICS, CARD)


def prepare_output_dir(
    path: Path, force: bool, hint: str = " or --resume DIR to continue training"
) -> None:
    """Create `path` for a new model; an existing non-empty directory needs `force`.

    With `force`, only files nmtcli writes are removed, never anything else the user keeps there.
    """
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


def save_weights(model: Seq2Seq, path: Path, dtype: torch.dtype | None = None) -> None:
    """Write the model's weights as safetensors, atomically (tied tensors stored once).

    With `dtype` (e.g. float16) a converted copy is written and `model` is left as it is.
    """
    import copy

    from safetensors.torch import save_model

    converted = model if dtype is None else copy.deepcopy(model).cpu().to(dtype)
    atomic_write(path, lambda temp: save_model(converted, temp))


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
            raise ModelDirError(f"{path}: unexpected tensor {name!r}; does config.json match?")
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


@dataclass
class ModelDir:
    """A model directory, loaded: its config and how to rebuild the model and vocabulary."""

    path: Path
    config: dict[str, Any]
    model_config: ModelConfig
    vocab_sizes: VocabSizes

    @classmethod
    def load(cls, path: Path) -> ModelDir:
        """Read `config.json`, checking the format version."""
        config_path = path / CONFIG
        if not path.is_dir():
            raise ModelDirError(f"{path}: no such model directory")
        if not config_path.is_file():
            raise ModelDirError(f"{path}: not a model directory (no {CONFIG})")
        try:
            config = json.loads(config_path.read_text(encoding="utf-8"))
            version = config["format_version"]
            vocab = config["vocab"]
            sizes = VocabSizes(int(vocab["src_size"]), int(vocab["tgt_size"]), bool(vocab["joint"]))
        except (ValueError, KeyError, TypeError) as error:
            raise ModelDirError(f"{config_path}: malformed ({error})") from None
        if version > FORMAT_VERSION:
            raise ModelDirError(
                f"{config_path}: format version {version} is newer than this nmtcli "
                f"({__version__}) understands; upgrade nmtcli"
            )
        return cls(path, config, model_config_from_dict(config["model"]), sizes)

    def vocabulary(self) -> Vocabulary:
        """The model's vocabulary, checked against the sizes the model was built for."""
        if not (self.path / VOCAB_META).is_file():
            raise ModelDirError(f"{self.path}: the vocabulary ({VOCAB_META}) is missing")
        vocabulary = Vocabulary.load(self.path)
        check_vocab_fits(vocabulary, self.vocab_sizes, str(self.path))
        return vocabulary

    def build(self, weights: str = BEST, device: str | torch.device = "cpu") -> Seq2Seq:
        """Rebuild the model and load `weights` (model.safetensors by default), in eval mode."""
        path = self.path / weights
        if not path.is_file():
            raise ModelDirError(f"{self.path}: no {weights} (has training saved a checkpoint yet?)")
        model = build_model(self.model_config, self.vocab_sizes)
        load_weights(model, path)
        return model.to(device).eval()


def check_vocab_fits(vocabulary: Vocabulary, sizes: VocabSizes, where: str) -> None:
    """Raise unless a vocabulary has the sizes a model was built for."""
    actual = (vocabulary.src.size, vocabulary.tgt.size)
    if actual != (sizes.src, sizes.tgt):
        raise ModelDirError(
            f"{where}: vocabulary/model mismatch: the vocabulary has {actual[0]}/{actual[1]} "
            f"source/target pieces but the model was built for {sizes.src}/{sizes.tgt}"
        )


def write_config(path: Path, config: dict[str, Any]) -> None:
    """Write `config.json` atomically, stamped with the format and nmtcli versions."""
    stamped = {"format_version": FORMAT_VERSION, "nmtcli_version": __version__, **config}
    atomic_write_text(path / CONFIG, json.dumps(stamped, indent=2) + "\n")


def append_metrics(path: Path, record: dict[str, Any]) -> None:
    """Append one JSON line to `metrics.jsonl` (rewritten atomically, so it is never torn)."""
    metrics = path / METRICS
    previous = metrics.read_text(encoding="utf-8") if metrics.is_file() else ""
    atomic_write_text(metrics, previous + json.dumps(record) + "\n")


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """All validation records of a model directory (empty if none)."""
    metrics = path / METRICS
    if not metrics.is_file():
        return []
    return [json.loads(line) for line in metrics.read_text(encoding="utf-8").splitlines() if line]


def copy_file(source: Path, target: Path) -> None:
    """Copy one file atomically."""
    atomic_write(target, lambda temp: shutil.copyfile(source, temp))


def export(source: Path, target: Path, half: bool, force: bool) -> int:
    """Copy a model directory's best weights, config, vocabulary, metrics and card, for shipping.

    The training state and last weights are left out; with `half` the weights are stored as
    float16 (loaded back into float32). Returns the size of the new directory in bytes.
    """
    model_dir = ModelDir.load(source)
    vocabulary = model_dir.vocabulary()
    model = model_dir.build()
    prepare_output_dir(target, force, hint="")
    save_weights(model, target / BEST, torch.float16 if half else None)
    vocabulary.copy_to(target)
    for name in (CONFIG, METRICS, "evaluations.json", "CARD_NOTES.md"):
        if (source / name).is_file():
            copy_file(source / name, target / name)
    from nmtcli.card import write_card

    write_card(target)
    return sum(path.stat().st_size for path in target.iterdir() if path.is_file())
