"""The model shipped with nmtcli, used when `-m` is not given."""

from __future__ import annotations

from pathlib import Path

from nmtcli.errors import ModelDirError

DEFAULT_MODEL = "en-fr"


def shipped_roots() -> list[Path]:
    """Where shipped models can be: inside an installed package, or a source checkout's models/."""
    package = Path(__file__).resolve().parent
    return [package / "shipped_models", package.parent / "models"]


def default_model_dir() -> Path:
    """The default English→French model directory, or a clear error if it is not installed."""
    from nmtcli.modeldir import ModelDir

    for root in shipped_roots():
        candidate = root / DEFAULT_MODEL
        if ModelDir.holds_model(candidate):
            return candidate
    raise ModelDirError(
        f"no model given (-m DIR) and the default {DEFAULT_MODEL} model is not installed; "
        "train one with `nmtcli train` and pass it with -m"
    )


def model_or_default(model: Path | None) -> Path:
    """`model` if given, else the shipped default model directory."""
    return model if model is not None else default_model_dir()
