"""Translating text with a model directory: tokenize, batch by length, search, detokenize.

Sits between the CLI and the search/models layers; no terminal I/O. Attention comes back as
(target pieces + EOS) × (source pieces + EOS) matrices per layer and head.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

from torch import Tensor

from nmtcli.batch import EOS_PIECE, make_batch
from nmtcli.device import autocast, autocast_dtype, resolve_device
from nmtcli.modeldir import ModelDir
from nmtcli.search import (
    Hypothesis,
    SearchOptions,
    forced_decode,
    min_length_unmet,
    translate_ids,
)
from nmtcli.vocab import Tokenizer

if TYPE_CHECKING:
    from nmtcli.evaluation import Report


@dataclass
class Candidate:
    """One translation of a sentence."""

    text: str
    pieces: list[str]  # target pieces, EOS excluded
    score: float  # length-normalised, as ranked by search
    log_prob: float
    attention: Tensor | None  # (len(pieces) + 1, L, N, len(src_pieces))


@dataclass
class Translation:
    """A source sentence and its n-best translations."""

    source: str
    src_pieces: list[str]  # source pieces followed by EOS
    candidates: list[Candidate]

    @property
    def best(self) -> Candidate:
        """The highest-scoring candidate."""
        return self.candidates[0]


@dataclass
class ForcedResult:
    """A forced decoding of a given target: where the model looked and how likely each token was."""

    src_pieces: list[str]  # + EOS
    tgt_pieces: list[str]  # + EOS
    token_log_probs: list[float]  # one per target piece, EOS included
    attention: Tensor | None  # (T, L, N, S)


def _pieces(tokenizer: Tokenizer, ids: list[int]) -> list[str]:
    """Piece strings of ids."""
    return [tokenizer.id_to_piece(i) for i in ids]


class Translator:
    """A loaded model directory ready to translate."""

    @classmethod
    def open(cls, model: Path | None, device: str = "auto", precision: str = "fp32") -> Translator:
        """The translator of a model directory, or of the shipped model when `model` is None."""
        from nmtcli.shipped import model_or_default

        return cls(model_or_default(model), device, precision=precision)

    def __init__(
        self,
        path: Path,
        device: str = "auto",
        weights: str = "model.safetensors",
        precision: str = "fp32",
    ) -> None:
        self.model_dir = ModelDir.load(path)
        self.vocabulary = self.model_dir.vocabulary()
        self.device = resolve_device(device)
        self.autocast_dtype = autocast_dtype(precision, self.device)
        self.model = self.model_dir.build(weights, self.device)
        self.min_length_unmet = 0  # sentences whose length limit came before --min-length

    @property
    def has_attention(self) -> bool:
        """Whether the model has attention to show."""
        return self.model.attention_layout != (0, 0)

    def translate(
        self,
        lines: Iterable[str],
        options: SearchOptions,
        batch_size: int = 64,
        chunk_size: int = 1024,
    ) -> Iterator[Translation]:
        """Translate lines lazily, in order; reading `chunk_size` lines ahead to batch by length."""
        iterator = iter(lines)
        while chunk := list(islice(iterator, chunk_size)):
            yield from self._translate_chunk(chunk, options, batch_size)

    def _translate_chunk(
        self, lines: list[str], options: SearchOptions, batch_size: int
    ) -> list[Translation]:
        """Translate one chunk; empty lines give empty translations without decoding."""
        src_tokenizer = self.vocabulary.src
        texts = [line.strip() for line in lines]
        ids = src_tokenizer.encode_many(texts)
        wanted = [i for i, text in enumerate(texts) if text]
        self.min_length_unmet += sum(min_length_unmet(len(ids[i]), options) for i in wanted)
        with autocast(self.autocast_dtype, self.device):
            decoded = translate_ids(
                self.model, [ids[i] for i in wanted], options, self.device, batch_size
            )
        found = dict(zip(wanted, decoded))
        return [
            Translation(
                text,
                [*_pieces(src_tokenizer, ids[i]), EOS_PIECE],
                self._candidates(found.get(i, [])),
            )
            for i, text in enumerate(texts)
        ]

    def _candidates(self, hypotheses: list[Hypothesis]) -> list[Candidate]:
        """Detokenized candidates (one empty candidate for an empty input)."""
        if not hypotheses:
            return [Candidate("", [], 0.0, 0.0, None)]
        tgt = self.vocabulary.tgt
        return [
            Candidate(
                tgt.decode(h.tokens), _pieces(tgt, h.tokens), h.score, h.log_prob, h.attention
            )
            for h in hypotheses
        ]

    def evaluate(
        self,
        sources: list[str],
        references: list[str],
        options: SearchOptions,
        batch_size: int = 64,
        bucket_width: int = 10,
        bucket_max: int = 60,
    ) -> tuple[Report, list[str]]:
        """Translate `sources` and score them against `references`, overall and by length."""
        from nmtcli.evaluation import evaluate

        hypotheses = [t.best.text for t in self.translate(sources, options, batch_size)]
        return evaluate(sources, hypotheses, references, bucket_width, bucket_max), hypotheses

    def force(self, source: str, target: str) -> ForcedResult:
        """Forced decoding of `target` given `source` (EOS appended to both)."""
        src_ids = self.vocabulary.src.encode(source.strip())
        tgt_ids = self.vocabulary.tgt.encode(target.strip())
        batch = make_batch([src_ids], [tgt_ids]).to(self.device)
        with autocast(self.autocast_dtype, self.device):
            log_probs, attention = forced_decode(
                self.model, batch, need_attention=self.has_attention
            )
        return ForcedResult(
            [*_pieces(self.vocabulary.src, src_ids), EOS_PIECE],
            [*_pieces(self.vocabulary.tgt, tgt_ids), EOS_PIECE],
            log_probs[0].tolist(),
            None if attention is None else attention[0].float().cpu(),
        )
