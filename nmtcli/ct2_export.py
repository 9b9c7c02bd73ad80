"""`nmtcli export --format ctranslate2`: a Transformer model directory as a CTranslate2 model.

The directory holds what CTranslate2 loads (`model.bin`, its `config.json` and vocabulary)
beside nmtcli's SentencePiece model and `ctranslate2.json` (`ct2.MARKER`), which marks it as
nmtcli's export for `ct2.CT2Translator`.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from nmtcli.ct2 import MARKER, QUANTIZATIONS, ctranslate2, is_ct2_export
from nmtcli.errors import ConfigError, ModelDirError
from nmtcli.modeldir import BEST, CARD, ModelDir
from nmtcli.translation import pieces_of


def export_ctranslate2(
    model_dir: ModelDir,
    target: Path,
    quantization: str,
    force: bool,
    half: bool = False,
    weights: str = BEST,
) -> int:
    """Write `model_dir`'s best weights as a CTranslate2 model in `target`; its size in bytes.

    Everything is converted and saved in a hidden directory beside `target` first; only then is
    `target` (empty, or with `force` an earlier export) replaced.
    """
    from nmtcli.models.ctranslate2 import ctranslate2_spec

    if half:
        raise ConfigError("a CTranslate2 export takes --quantization float16, not --half")
    if quantization not in QUANTIZATIONS:
        raise ConfigError(f"quantization must be one of {', '.join(QUANTIZATIONS)}")
    ctranslate2()
    _check_target(model_dir.path, target, force)
    vocabulary = model_dir.vocabulary()
    spec = ctranslate2_spec(model_dir.build(weights))
    for register, tokenizer in (
        (spec.register_source_vocabulary, vocabulary.src),
        (spec.register_target_vocabulary, vocabulary.tgt),
    ):  # every piece in id order: CTranslate2's vocabulary
        register(pieces_of(tokenizer, range(tokenizer.size)))
    spec.validate()
    spec.optimize(quantization=quantization)
    parent = target.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{target.name}.new-", dir=parent))
    umask = os.umask(0)
    os.umask(umask)
    staged.chmod(0o777 & ~umask)  # mkdtemp makes it private; the export is a normal directory
    try:
        spec.save(str(staged))
        vocabulary.copy_to(staged)
        card = model_dir.path / CARD
        if card.is_file():
            shutil.copyfile(card, staged / card.name)
        record = {
            "format_version": 1,
            "exported_from": str(model_dir.path.resolve()),
            "quantization": quantization,
            "placeholders": model_dir.run.train.transform_rates.placeholder > 0,
        }
        (staged / MARKER).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
        _install(staged, target)
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    return sum(path.stat().st_size for path in target.iterdir() if path.is_file())


def _check_target(source: Path, target: Path, force: bool) -> None:
    """`target` must be new or empty; with `force`, an earlier export (never the source)."""
    if target.exists() and not target.is_dir():
        raise ModelDirError(f"{target} exists and is not a directory")
    if target.exists() and target.resolve() == source.resolve():
        raise ModelDirError(f"{target}: is the model being exported; export to a new directory")
    if not target.is_dir() or not any(target.iterdir()):
        return
    if not force:
        raise ModelDirError(
            f"{target} already exists and is not empty; use --force to overwrite it"
        )
    if not is_ct2_export(target):
        raise ModelDirError(
            f"{target} is not a CTranslate2 export of nmtcli, and --force would replace it; "
            "choose another directory"
        )


def _install(staged: Path, target: Path) -> None:
    """Swap the finished export in for `target` (an empty directory or an earlier export)."""
    old = None
    if target.is_dir():
        old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=staged.parent))
        os.replace(target, old / target.name)
    os.replace(staged, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
