"""Search options, scores and length limits: what every decoding engine shares.

nmtcli's own search (`nmtcli.search`) and CTranslate2's (`nmtcli.ct2`) both take these.
No torch here, so that a CTranslate2 translation never loads it. `search`'s docstring defines
the score and the length limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

LENGTH_SLACK = 10  # tokens allowed beyond ratio × source length


# Wider beams translate worse, not better (Koehn & Knowles, 2017, "Six Challenges for NMT"),
# and each step scores K·V candidates: `-k 100000` is a typo, not a search.
MAX_BEAM = 1000


@dataclass(frozen=True)
class SearchOptions:
    """How to decode: the search, and how a line is read before it (`translation.Engine`)."""

    beam_size: int = 1
    n_best: int = 1
    length_penalty: float = 1.0  # GNMT α
    max_length: int = 256
    max_length_ratio: float = 2.0
    min_length: int = 0
    no_repeat_ngram: int = 0
    need_attention: bool = False
    trace: bool = False  # record every step of the search (`nmtcli.trace`)
    split: bool = False  # translate each line sentence by sentence (`splitting`)
    recase: bool = False  # ALL CAPS / Title Case read in sentence case, answered in kind (`casing`)
    placeholders: bool | None = None  # hide spans to copy (`placeholders`); None: if trained so

    def __post_init__(self) -> None:
        if not 1 <= self.beam_size <= MAX_BEAM:
            raise ValueError(f"beam size must be between 1 and {MAX_BEAM}")
        if not 1 <= self.n_best <= self.beam_size:
            raise ValueError(f"n-best must be between 1 and the beam size ({self.beam_size})")
        if self.max_length < 1 or self.min_length < 0:
            raise ValueError("lengths must be positive")
        if self.min_length > self.max_length:
            raise ValueError(
                f"--min-length {self.min_length} can never be met: --max-length "
                f"{self.max_length} ends every translation first"
            )
        if not (math.isfinite(self.max_length_ratio) and self.max_length_ratio > 0):
            raise ValueError(
                f"max-length-ratio must be a positive number, not {self.max_length_ratio}"
            )
        if not math.isfinite(self.length_penalty):
            raise ValueError(f"length-penalty must be a finite number, not {self.length_penalty}")

    def label(self) -> str:
        """How reports name this decoding: `greedy` or `beam 5, α 1.0`."""
        if self.beam_size == 1:
            return "greedy"
        return f"beam {self.beam_size}, α {self.length_penalty:g}"


def length_penalty(length: int, alpha: float) -> float:
    """GNMT lp(y) = ((5 + |y|) / 6)^α."""
    return ((5.0 + length) / 6.0) ** alpha


def sequence_score(log_prob: float, length: int, alpha: float) -> float:
    """The score search reports for a hypothesis of `length` tokens (EOS included)."""
    return log_prob / length_penalty(length, alpha)


def min_length_unmet(source_length: int, options: SearchOptions) -> bool:
    """Whether the length limit for a source of `source_length` pieces ends before min_length."""
    by_ratio = math.floor(source_length * options.max_length_ratio) + LENGTH_SLACK
    return options.min_length > min(by_ratio, options.max_length)
