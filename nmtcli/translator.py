"""Translating text with a model directory: tokenize, batch by length, search, detokenize.

Sits between the CLI and the search/models layers; no terminal I/O. Attention comes back as
(target pieces + EOS) × (source pieces + EOS) matrices per layer and head.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from nmtcli.batch import EOS_PIECE, make_batch
from nmtcli.device import autocast, autocast_dtype, quantized, resolve_device
from nmtcli.modeldir import ModelDir
from nmtcli.search import (
    Hypothesis,
    SearchOptions,
    forced_decode,
    min_length_unmet,
    translate_ids,
)
from nmtcli.splitting import DEFAULT_LANGUAGE, regroup, sentences_of_lines
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
    """A source line and its n-best translations.

    A line split into several sentences is one `Translation` put together by `join_sentences`:
    its `src_pieces` hold each sentence's pieces followed by its EOS, and `sentences` the
    sentences' own translations, in order (empty when the line was translated whole).
    """

    source: str
    src_pieces: list[str]  # source pieces followed by EOS (per sentence, for a split line)
    candidates: list[Candidate]
    sentences: list[Translation] = field(default_factory=list)

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


def join_sentences(source: str, parts: list[Translation]) -> Translation:
    """One line's translation from its sentences' translations, joined with single spaces.

    The k-th candidate of the line joins the k-th candidates of its sentences; its score and
    log-probability are their sums (the sentences were searched independently). Its attention
    is block-diagonal: each sentence's target pieces attend only to that sentence's source
    pieces and EOS, and only the last sentence's EOS row is kept, so it still has
    len(pieces) + 1 rows.
    """
    if not parts:
        return Translation(source, [EOS_PIECE], [Candidate("", [], 0.0, 0.0, None)])
    if len(parts) == 1:
        return replace(parts[0], source=source)
    widths = [len(part.src_pieces) for part in parts]
    ranks = min(len(part.candidates) for part in parts)
    candidates = [_join_candidates([p.candidates[k] for p in parts], widths) for k in range(ranks)]
    src_pieces = [piece for part in parts for piece in part.src_pieces]
    return Translation(source, src_pieces, candidates, parts)


def _join_candidates(candidates: list[Candidate], widths: list[int]) -> Candidate:
    """Sentence candidates as one candidate of their line."""
    attentions = [c.attention for c in candidates]
    return Candidate(
        " ".join(c.text for c in candidates if c.text),
        [piece for c in candidates for piece in c.pieces],
        sum(c.score for c in candidates),
        sum(c.log_prob for c in candidates),
        None if any(a is None for a in attentions) else _block_attention(attentions, widths),
    )


def _block_attention(attentions: list[Tensor], widths: list[int]) -> Tensor:
    """Per-sentence (n_i + 1, L, N, S_i) weights as one (Σn_i + 1, L, N, ΣS_i) matrix."""
    rows = sum(a.shape[0] - 1 for a in attentions) + 1
    _, layers, heads, _ = attentions[0].shape
    out = torch.zeros(rows, layers, heads, sum(widths), dtype=attentions[0].dtype)  # (T, L, N, S)
    row = column = 0
    for index, (attention, width) in enumerate(zip(attentions, widths)):
        last = index == len(attentions) - 1
        kept = attention if last else attention[:-1]  # (n_i [+ 1], L, N, S_i)
        out[row : row + kept.shape[0], :, :, column : column + width] = kept
        row, column = row + kept.shape[0], column + width
    return out


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
        if precision == "int8":
            self.model = quantized(self.model)
        self.min_length_unmet = 0  # sentences whose length limit came before --min-length
        self.source_language = DEFAULT_LANGUAGE  # for sentence splitting

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
        split: bool = False,
    ) -> Iterator[Translation]:
        """Translate lines lazily, in order; reading `chunk_size` lines ahead to batch by length.

        With `split`, each line is split into sentences (`splitting.split_sentences`, in
        `source_language`), the sentences of a chunk are translated as one batch, and each
        line's translations are joined back (`join_sentences`): still one `Translation` a line.
        """
        iterator = iter(lines)
        while chunk := list(islice(iterator, chunk_size)):
            groups = sentences_of_lines(chunk, split, self.source_language)
            flat = self._translate_sentences(
                [s for group in groups for s in group], options, batch_size
            )
            for line, parts in zip(chunk, regroup(flat, groups)):
                yield join_sentences(line.strip(), parts)

    def _translate_sentences(
        self, texts: list[str], options: SearchOptions, batch_size: int
    ) -> list[Translation]:
        """Translate non-empty sentences as one batch, in order."""
        src_tokenizer = self.vocabulary.src
        ids = src_tokenizer.encode_many(texts)
        self.min_length_unmet += sum(min_length_unmet(len(sentence), options) for sentence in ids)
        with autocast(self.autocast_dtype, self.device):
            decoded = translate_ids(self.model, ids, options, self.device, batch_size)
        return [
            Translation(
                text, [*_pieces(src_tokenizer, sentence), EOS_PIECE], self._candidates(found)
            )
            for text, sentence, found in zip(texts, ids, decoded)
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
        split: bool = False,
    ) -> tuple[Report, list[str]]:
        """Translate `sources` (`split`: by sentence) and score them, overall and by length."""
        from nmtcli.evaluation import evaluate

        translations = self.translate(sources, options, batch_size, split=split)
        hypotheses = [t.best.text for t in translations]
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
