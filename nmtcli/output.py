"""What `translate` writes for each input: text, n-best, TSV, JSON lines, alignments.

Pure, and free of torch until a heatmap is drawn: turns a `Translation` into output lines
and the attention matrix a heatmap shows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from nmtcli.batch import EOS_PIECE

if TYPE_CHECKING:  # torch loads with the model, not with `nmtcli --help`
    from torch import Tensor

    from nmtcli.heatmap import AttentionMatrix
    from nmtcli.translation import Candidate, Translation


class Format(str, Enum):
    """Output format."""

    text = "text"
    json = "json"
    tsv = "tsv"


class Level(str, Enum):
    """Heatmap granularity."""

    piece = "piece"
    word = "word"


def heatmap_matrix(
    attention: Tensor,
    rows: list[str],
    cols: list[str],
    level: Level,
    layer: int | None,
    head: int | None,
) -> AttentionMatrix:
    """The matrix a heatmap or alignment shows, at piece or word level."""
    from nmtcli.heatmap import AttentionMatrix, attention_view, merge_words

    matrix = AttentionMatrix(attention_view(attention, layer, head).tolist(), rows, cols)
    return merge_words(matrix) if level == Level.word else matrix


@dataclass(frozen=True)
class OutputPlan:
    """What to write for each translated input."""

    fmt: Format
    align: bool
    level: Level
    layer: int | None
    head: int | None
    need_attention: bool

    def matrix(
        self, translation: Translation, level: Level | None = None
    ) -> AttentionMatrix | None:
        """The best candidate's attention at `level` (default: the plan's), if it has any."""
        best = translation.best
        if best.attention is None:
            return None
        rows = [*best.pieces, EOS_PIECE]
        return heatmap_matrix(
            best.attention, rows, translation.src_pieces, level or self.level, self.layer, self.head
        )

    def lines(
        self, translation: Translation, index: int
    ) -> tuple[list[str], AttentionMatrix | None]:
        """The output lines for one input, and its heatmap matrix (if attention is wanted)."""
        matrix = self.matrix(translation) if self.need_attention else None
        alignment = None
        if self.align:
            from nmtcli.heatmap import pharaoh

            words = self.matrix(translation, Level.word)
            alignment = "" if words is None else pharaoh(words)
        if self.fmt == Format.json:
            return [json_line(translation, index, matrix, alignment)], matrix
        return text_lines(translation, index, self.fmt, alignment), matrix


def _candidate_dict(candidate: Candidate) -> dict[str, Any]:
    """A candidate as JSON."""
    return {
        "translation": candidate.text,
        "pieces": candidate.pieces,
        "score": round(candidate.score, 6),
        "log_prob": round(candidate.log_prob, 6),
    }


def _sentence_dict(sentence: Translation) -> dict[str, Any]:
    """One sentence of a split line as JSON (with its search trace, if recorded)."""
    best = sentence.best
    record = {"source": sentence.source, "translation": best.text, "score": round(best.score, 6)}
    if sentence.trace is not None:
        record["trace"] = sentence.trace.to_dict()
    return record


def json_line(
    translation: Translation, index: int, matrix: AttentionMatrix | None, alignment: str | None
) -> str:
    """One JSON object per input."""
    record: dict[str, Any] = {"index": index, "source": translation.source}
    record |= _candidate_dict(translation.best)
    if len(translation.candidates) > 1:
        record["nbest"] = [_candidate_dict(c) for c in translation.candidates]
    if translation.trace is not None:  # translate --trace
        record["trace"] = translation.trace.to_dict()
    if translation.sentences:  # a line split into sentences (translate --split)
        record["sentences"] = [_sentence_dict(s) for s in translation.sentences]
    if matrix is not None:
        record["attention"] = {
            "src": matrix.cols,
            "tgt": matrix.rows,
            "weights": [[round(w, 5) for w in row] for row in matrix.weights],
        }
    if alignment is not None:
        record["alignment"] = alignment
    return json.dumps(record, ensure_ascii=False)


def text_lines(
    translation: Translation, index: int, fmt: Format, alignment: str | None
) -> list[str]:
    """The text or TSV lines for one input."""
    candidates = translation.candidates
    if fmt == Format.tsv:
        extra = "" if alignment is None else f"\t{alignment}"
        return [f"{translation.source}\t{c.text}\t{c.score:.4f}{extra}" for c in candidates]
    if alignment is not None:
        return [alignment]
    if len(candidates) > 1:
        return [f"{index} ||| {c.text} ||| {c.score:.4f}" for c in candidates]
    return [candidates[0].text]
