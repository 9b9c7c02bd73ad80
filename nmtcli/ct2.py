"""CTranslate2 as a translation engine for the directories `ct2_export` writes.

`translate`, `evaluate` and `compare` given such a directory decode with CTranslate2, with
nmtcli's sentence splitting, options and output formats. This module never imports torch
(only the export, and heatmaps or alignments, do).

CTranslate2's beam search ranks hypotheses by log P / |y|^α; nmtcli reports each one's score
with its own GNMT length penalty (`decoding.sequence_score`), from the log-probability.
"""

from __future__ import annotations

import json
import math
import os
from enum import Enum
from pathlib import Path
from typing import Any

from nmtcli.batch import EOS_PIECE
from nmtcli.decoding import LENGTH_SLACK, SearchOptions, sequence_score
from nmtcli.device import check_precision, device_kind
from nmtcli.errors import ConfigError, ModelDirError
from nmtcli.translation import Candidate, Engine, Translation, pieces_of
from nmtcli.vocab import Vocabulary

MARKER = "ctranslate2.json"  # nmtcli's record of an export; CTranslate2 ignores it
QUANTIZATIONS = ("int8", "int16", "float16", "float32")
COMPUTE_TYPES = {  # nmtcli --precision to CTranslate2 compute type (None: as exported)
    None: "default",
    "auto": "auto",
    "fp32": "float32",
    "bf16": "bfloat16",
    "fp16": "float16",
    "int8": "int8",
}
INSTALL = "pip install 'nmtcli[ct2]'"


class ExportFormat(str, Enum):
    """What `nmtcli export` writes."""

    nmtcli = "nmtcli"
    ctranslate2 = "ctranslate2"


def is_ct2_export(path: Path) -> bool:
    """Whether `path` is a CTranslate2 model exported by nmtcli."""
    return (Path(path) / MARKER).is_file()


def ctranslate2() -> Any:
    """The `ctranslate2` module, or a clear error saying how to install it."""
    try:
        import ctranslate2 as module
    except ImportError:
        raise ConfigError(
            f"the CTranslate2 engine needs the ctranslate2 package: {INSTALL}"
        ) from None
    return module


def _marker(path: Path) -> dict[str, Any]:
    """The export's own record (`MARKER`); {} if it cannot be read (an older export)."""
    try:
        return json.loads((Path(path) / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


# -- translation -------------------------------------------------------------------------------


class CT2Translator(Engine):
    """A CTranslate2 export loaded for translation on CTranslate2."""

    traceable = False  # CTranslate2 returns results, not the steps of its search

    def __init__(self, path: Path, device: str = "auto", precision: str | None = None) -> None:
        module = ctranslate2()
        if precision is not None:
            check_precision(precision)
        device = device_kind(device, module.get_cuda_device_count() > 0)
        self.vocabulary = Vocabulary.load(path)
        try:
            self.model = module.Translator(
                str(path),
                device=device,
                compute_type=COMPUTE_TYPES[precision],
                intra_threads=_threads(),
            )
        except (RuntimeError, ValueError) as error:
            raise ModelDirError(f"{path}: CTranslate2 cannot load it ({error})") from None
        self.min_length_unmet = 0
        self.attention_layout = (1, 1)  # one view: the penultimate layer, mean of its heads
        self.placeholders = bool(_marker(path).get("placeholders", False))

    def _translate_sentences(
        self, texts: list[str], options: SearchOptions, batch_size: int
    ) -> list[Translation]:
        """Translate non-empty sentences in batches of similar length, in order."""
        src = self.vocabulary.src
        ids = self._encode(texts, options)
        sources = [[*pieces_of(src, sentence), EOS_PIECE] for sentence in ids]
        order = sorted(range(len(texts)), key=lambda i: len(ids[i]))
        results: list[Translation | None] = [None] * len(texts)
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            found = self._search([sources[i] for i in chunk], options)
            for index, result in zip(chunk, found):
                candidates = self._candidates(result, len(sources[index]), options)
                results[index] = Translation(texts[index], sources[index], candidates)
        return [result for result in results if result is not None]

    def _search(self, sources: list[list[str]], options: SearchOptions) -> list[Any]:
        """CTranslate2's search over one batch, limited as nmtcli limits its own."""
        longest = max(len(source) - 1 for source in sources)
        limit = min(
            options.max_length, math.floor(longest * options.max_length_ratio) + LENGTH_SLACK
        )
        return self.model.translate_batch(
            sources,
            beam_size=options.beam_size,
            num_hypotheses=options.n_best,
            length_penalty=options.length_penalty,
            max_decoding_length=limit + 1,  # + EOS
            min_decoding_length=min(options.min_length, limit),
            no_repeat_ngram_size=options.no_repeat_ngram,
            max_input_length=0,
            return_scores=True,
            return_end_token=True,
            return_attention=options.need_attention,
        )

    def _candidates(self, result: Any, width: int, options: SearchOptions) -> list[Candidate]:
        """nmtcli candidates of one CTranslate2 result (log-probabilities recovered, EOS cut)."""
        tgt, candidates = self.vocabulary.tgt, []
        attentions = result.attention if options.need_attention else [None] * len(result.hypotheses)
        for tokens, score, attention in zip(result.hypotheses, result.scores, attentions):
            pieces = tokens[:-1] if tokens and tokens[-1] == EOS_PIECE else list(tokens)
            length = len(pieces) + 1  # EOS counted, as nmtcli scores
            log_prob = score * len(tokens) ** options.length_penalty
            candidates.append(
                Candidate(
                    tgt.decode(tgt.piece_ids(pieces)),
                    pieces,
                    sequence_score(log_prob, length, options.length_penalty),
                    log_prob,
                    None if attention is None else _attention(attention, length, width),
                )
            )
        return candidates


def _attention(rows: list[list[float]], length: int, width: int) -> Any:
    """CTranslate2's (target × source) weights as nmtcli's (T, L=1, N=1, S) tensor.

    A hypothesis cut at the length limit has no EOS row; it gets a row of zeros.
    """
    import torch

    matrix = torch.zeros(length, 1, 1, width)
    values = torch.tensor(rows[:length], dtype=torch.float32)  # (t, S)
    matrix[: values.shape[0], 0, 0, :] = values[:, :width]
    return matrix


def _threads() -> int:
    """Computation threads: OMP_NUM_THREADS if set, else the CPUs this process may use."""
    configured = os.environ.get("OMP_NUM_THREADS", "")
    if configured.isdigit() and int(configured) > 0:
        return int(configured)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
