"""What a translation is, and the line-level work every engine shares.

An engine (`translator.Translator`, nmtcli's own PyTorch search; `ct2.CT2Translator`,
CTranslate2's; `engines.open_engine` picks one) translates non-empty sentences; `Engine`
splits lines into sentences, batches them, joins each line back and scores test sets. No torch
at import: a CTranslate2 translation never loads it (only its attention views do).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from itertools import islice
from typing import TYPE_CHECKING

from nmtcli.batch import EOS_PIECE
from nmtcli.casing import casing, restore, sentence_case
from nmtcli.decoding import LENGTH_SLACK, SearchOptions, min_length_unmet
from nmtcli.errors import ConfigError
from nmtcli.placeholders import as_typed, mask, protected_spans, unmask
from nmtcli.splitting import DEFAULT_LANGUAGE, regroup, sentences_of_lines

if TYPE_CHECKING:
    from torch import Tensor

    from nmtcli.evaluation import Report
    from nmtcli.trace import SearchTrace
    from nmtcli.vocab import Tokenizer, Vocabulary


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
    trace: SearchTrace | None = None  # the search, step by step (`SearchOptions.trace`)

    @property
    def best(self) -> Candidate:
        """The highest-scoring candidate."""
        return self.candidates[0]


def pieces_of(tokenizer: Tokenizer, ids: Iterable[int]) -> list[str]:
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
    import torch

    out = torch.zeros(rows, layers, heads, sum(widths), dtype=attentions[0].dtype)  # (T, L, N, S)
    row = column = 0
    for index, (attention, width) in enumerate(zip(attentions, widths)):
        last = index == len(attentions) - 1
        kept = attention if last else attention[:-1]  # (n_i [+ 1], L, N, S_i)
        out[row : row + kept.shape[0], :, :, column : column + width] = kept
        row, column = row + kept.shape[0], column + width
    return out


def _restored(
    translation: Translation, source: str, kind: str | None, spans: list[str]
) -> Translation:
    """A sentence's translation with its typed source, recased (`kind`) and unmasked (`spans`)."""
    if kind is None and not spans:
        return translation
    typed = as_typed(spans, source)  # `ANNA@MAIL.COM` was read as `anna@mail.com`
    candidates = [
        replace(c, text=unmask(restore(c.text, kind), typed)) for c in translation.candidates
    ]
    return replace(translation, source=source, candidates=candidates)


class Engine(ABC):
    """A loaded model that translates lines: sentence splitting, batching and joining."""

    vocabulary: Vocabulary
    min_length_unmet: int  # sentences whose length limit came before --min-length
    attention_layout: tuple[int, int]  # (layers, heads) of the attention it returns; (0, 0): none
    source_language: str = DEFAULT_LANGUAGE  # for sentence splitting
    traceable: bool = True  # whether it can record its search (`translate --trace`)
    placeholders: bool = False  # whether the model was trained with placeholders (`⦅k⦆`)

    @property
    def has_attention(self) -> bool:
        """Whether the model has attention to show."""
        return self.attention_layout != (0, 0)

    def require_attention(self, purpose: str) -> None:
        """Refuse attention views of a model without attention."""
        if not self.has_attention:
            raise ConfigError(f"this model has no attention (attention: none) {purpose}")

    def require_trace(self) -> None:
        """Refuse --trace on an engine whose search cannot be recorded."""
        if not self.traceable:
            raise ConfigError(
                "--trace records nmtcli's own search, which a CTranslate2 model does not run: "
                "trace the nmtcli model directory it was exported from"
            )

    def min_length_warning(self, options: SearchOptions) -> str | None:
        """What to tell the user when --min-length could not be met for some sentences."""
        if not self.min_length_unmet:
            return None
        return (
            f"--min-length {options.min_length} was not met for {self.min_length_unmet:,} "
            f"sentence(s): --max-length-ratio {options.max_length_ratio:g} allows only that many "
            f"pieces per source piece, plus {LENGTH_SLACK}"
        )

    def _encode(self, texts: list[str], options: SearchOptions) -> list[list[int]]:
        """Source ids of sentences, counting those whose length limit comes before --min-length."""
        ids = self.vocabulary.src.encode_many(texts)
        self.min_length_unmet += sum(min_length_unmet(len(sentence), options) for sentence in ids)
        return ids

    @abstractmethod
    def _translate_sentences(
        self, texts: list[str], options: SearchOptions, batch_size: int
    ) -> list[Translation]:
        """Translate non-empty sentences as one batch, in order."""

    def translate(
        self,
        lines: Iterable[str],
        options: SearchOptions,
        batch_size: int = 64,
        chunk_size: int = 1024,
    ) -> Iterator[Translation]:
        """Translate lines lazily, in order; reading `chunk_size` lines ahead to batch by length.

        With `options.split`, each line is split into sentences (`splitting.split_sentences`, in
        `source_language`), the sentences of a chunk are translated as one batch, and each
        line's translations are joined back (`join_sentences`): still one `Translation` a line.
        With `options.recase`, an ALL CAPS or Title Case sentence is translated in sentence case
        and its candidates recased to match (`casing`); with placeholders (`hides_spans`), the
        spans to copy are hidden behind `⦅k⦆` and put back (`placeholders`). Pieces and
        attention stay what the model read and wrote.
        """
        iterator = iter(lines)
        hide = self.hides_spans(options)
        whole = self.vocabulary.src.is_whole_piece
        while chunk := list(islice(iterator, chunk_size)):
            groups = sentences_of_lines(chunk, options.split, self.source_language)
            sentences = [s for group in groups for s in group]
            kinds = [casing(s, whole) if options.recase else None for s in sentences]
            read = [sentence_case(s, kind, whole) for s, kind in zip(sentences, kinds)]
            hidden = [protected_spans(text, whole) if hide else [] for text in read]
            masked = [mask(text, spans) for text, spans in zip(read, hidden)]
            flat = self._translate_sentences(masked, options, batch_size)
            flat = [_restored(*item) for item in zip(flat, sentences, kinds, hidden)]
            for line, parts in zip(chunk, regroup(flat, groups)):
                yield join_sentences(line.strip(), parts)

    def hides_spans(self, options: SearchOptions) -> bool:
        """Whether to hide spans behind placeholders: as asked, else if the model learnt them."""
        return self.placeholders if options.placeholders is None else options.placeholders

    def evaluate(
        self,
        sources: list[str],
        references: list[str],
        options: SearchOptions,
        batch_size: int = 64,
        bucket_width: int = 10,
        bucket_max: int = 60,
    ) -> tuple[Report, list[str]]:
        """Translate `sources` and score them, overall and by length."""
        from nmtcli.evaluation import evaluate

        translations = self.translate(sources, options, batch_size)
        hypotheses = [t.best.text for t in translations]
        return evaluate(sources, hypotheses, references, bucket_width, bucket_max), hypotheses
