"""Fine-tuning: a new run that starts from a trained model (`--init-from`), and `--freeze`.

The parent gives the architecture, the vocabulary and the weights; everything about training
starts fresh: the optimizer's moments, the learning-rate schedule (its warm-up included), the
step and epoch counters and the best validation score, so the first validation on the new data
is saved as best. Only dropout may differ from the parent's model options.
"""

from __future__ import annotations

from dataclasses import fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nmtcli.errors import ConfigError
from nmtcli.models.config import ModelConfig
from nmtcli.runconfig import RunConfig, Stage

if TYPE_CHECKING:
    from nmtcli.models import Seq2Seq

PARTS = ("embeddings", "encoder", "decoder")
CHANGEABLE = frozenset({"dropout"})  # model options a fine-tuned model may set anew


def parent_directory(name: str) -> Path:
    """The model directory `--init-from` names: a path, or a shipped model's name (`en-fr`)."""
    from nmtcli.modeldir import ModelDir
    from nmtcli.shipped import shipped_roots

    candidates = [Path(name)] + [root / name for root in shipped_roots() if "/" not in name]
    for candidate in candidates:
        if ModelDir.holds_model(candidate):
            return candidate.resolve()
    raise ConfigError(f"--init-from {name}: not a model directory or a shipped model's name")


def inherited_model(parent: RunConfig, values: dict[str, Any], source: str) -> ModelConfig:
    """The parent's model config, with `dropout` if given; any other model option is an error."""
    parent_values = {f.name: getattr(parent.model, f.name) for f in fields(parent.model)}
    for name, value in values.items():
        if name in CHANGEABLE or value is None:
            continue
        if parent_values.get(name) != value:
            shown = parent_values.get(name, f"not an option of its {parent.model.arch}")
            raise ConfigError(
                f"--init-from {source}: --{name.replace('_', '-')} is {shown} in that model, "
                f"not {value}; a fine-tuned model keeps its parent's architecture"
            )
    return replace(parent.model, **{k: v for k, v in values.items() if k in CHANGEABLE})


def parse_freeze(spec: str | None) -> list[tuple[str, int | None]]:
    """`embeddings,encoder:2` as [(`embeddings`, None), (`encoder`, 2)]."""
    parts = []
    for item in (spec or "").split(","):
        if not item.strip():
            continue
        name, _, count = item.strip().partition(":")
        if name not in PARTS or (count and (not count.isdigit() or int(count) < 1)):
            raise ConfigError(
                f"--freeze {spec}: {item.strip()!r} is not one of embeddings, encoder, decoder, "
                "encoder:N or decoder:N (its first N layers)"
            )
        parts.append((name, int(count) if count else None))
    return parts


def freeze(model: Seq2Seq, spec: str | None) -> int:
    """Stop gradients to the parameters `spec` names; the number of values frozen.

    Tied embeddings are one tensor: freezing `embeddings` freezes the output projection too.
    """
    wanted = parse_freeze(spec)
    frozen = 0
    for name, parameter in model.named_parameters():
        part, layer = model.part_of(name)
        for want, below in wanted:
            if part == want and (below is None or (layer is not None and layer < below)):
                parameter.requires_grad_(False)
                frozen += parameter.numel()
                break
    if wanted and not frozen:
        raise ConfigError(f"--freeze {spec}: no parameter of this model is in it")
    if not any(parameter.requires_grad for parameter in model.parameters()):
        raise ConfigError(f"--freeze {spec}: freezes every parameter, so nothing would train")
    return frozen


def parent_stage(parent: RunConfig, path: Path, steps: int) -> Stage:
    """What the card says about the parent: where it is, its data and its training."""
    data = parent.data
    corpus = "?" if data is None else data.corpus.describe()
    return Stage(str(path), corpus, 0 if data is None else data.train_pairs, steps)
