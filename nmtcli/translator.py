"""Translating with a model directory on nmtcli's own search: tokenize, search, detokenize.

Sits between the CLI and the search/models layers; no terminal I/O (`translation.Engine` does
the line-level work). Attention comes back as
(target pieces + EOS) × (source pieces + EOS) matrices per layer and head.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import Tensor

from nmtcli.batch import EOS_PIECE, make_batch
from nmtcli.decoding import SearchOptions
from nmtcli.device import autocast, autocast_dtype, quantized, resolve_device
from nmtcli.modeldir import ModelDir
from nmtcli.search import Hypothesis, forced_decode, translate_ids
from nmtcli.trace import Tracer
from nmtcli.translation import Candidate, Engine, Translation, pieces_of


@dataclass
class ForcedResult:
    """A forced decoding of a given target: where the model looked and how likely each token was."""

    src_pieces: list[str]  # + EOS
    tgt_pieces: list[str]  # + EOS
    token_log_probs: list[float]  # one per target piece, EOS included
    attention: Tensor | None  # (T, L, N, S)


class Translator(Engine):
    """A model directory loaded for nmtcli's own search."""

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
        self.min_length_unmet = 0
        self.attention_layout = self.model.attention_layout
        self.placeholders = self.model_dir.run.train.transform_rates.placeholder > 0

    def _translate_sentences(
        self, texts: list[str], options: SearchOptions, batch_size: int
    ) -> list[Translation]:
        """Translate non-empty sentences as one batch, in order."""
        src_tokenizer = self.vocabulary.src
        ids = self._encode(texts, options)
        tracer = None
        if options.trace:
            tracer = Tracer(self.vocabulary.tgt.id_to_piece, options.length_penalty)
        with autocast(self.autocast_dtype, self.device):
            decoded = translate_ids(self.model, ids, options, self.device, batch_size, tracer)
        return [
            Translation(
                text,
                [*pieces_of(src_tokenizer, sentence), EOS_PIECE],
                self._candidates(found),
                trace=None if tracer is None else tracer.traces[index],
            )
            for index, (text, sentence, found) in enumerate(zip(texts, ids, decoded))
        ]

    def _candidates(self, hypotheses: list[Hypothesis]) -> list[Candidate]:
        """Detokenized candidates (one empty candidate for an empty input)."""
        if not hypotheses:
            return [Candidate("", [], 0.0, 0.0, None)]
        tgt = self.vocabulary.tgt
        return [
            Candidate(
                tgt.decode(h.tokens), pieces_of(tgt, h.tokens), h.score, h.log_prob, h.attention
            )
            for h in hypotheses
        ]

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
            [*pieces_of(self.vocabulary.src, src_ids), EOS_PIECE],
            [*pieces_of(self.vocabulary.tgt, tgt_ids), EOS_PIECE],
            log_probs[0].tolist(),
            None if attention is None else attention[0].float().cpu(),
        )
