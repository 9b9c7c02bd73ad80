"""Opening the right engine for a model directory: nmtcli's own search, or CTranslate2."""

from __future__ import annotations

from pathlib import Path

from nmtcli.translation import Engine


def open_engine(model: Path | None, device: str = "auto", precision: str | None = None) -> Engine:
    """The engine for a model directory (the shipped model when `model` is None).

    A CTranslate2 export (`nmtcli export --format ctranslate2`) runs on CTranslate2; any other
    model directory on nmtcli's own search. `precision` None is the model's own: fp32, or the
    quantization a CTranslate2 model was exported with.
    """
    from nmtcli.ct2 import CT2Translator, is_ct2_export
    from nmtcli.shipped import model_or_default

    path = model_or_default(model)
    if is_ct2_export(path):
        return CT2Translator(path, device, precision)
    from nmtcli.translator import Translator

    return Translator(path, device, precision=precision or "fp32")
