"""Synthetic parallel corpora for seq2seq experiments: copy, reverse, sort, and phrase swapping.

Sentences are sequences of symbols (`a`…`z`, then `ab`, `ac`, …) separated by spaces. For a
seed, the output is identical on every machine (only Python's `random.Random` is used).

- `copy`: the target is the source.
- `reverse`: the target is the source backwards (every target token aligns far away).
- `sort`: the target is the source's symbols in vocabulary order.
- `swap`: the source is two phrases `X ; Y`, the target is `Y ; X`: whole phrases move, so a
  model must align across the sentence (the reordering a fixed context vector struggles with).
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable, Iterator

from nmtcli.errors import NmtError

SEPARATOR = ";"


def symbols(count: int) -> list[str]:
    """`count` distinct symbols: single letters first, then two-letter ones."""
    letters = list(string.ascii_lowercase)
    pairs = [a + b for a in string.ascii_lowercase for b in string.ascii_lowercase if a != b]
    alphabet = letters + pairs
    if not 2 <= count <= len(alphabet):
        raise NmtError(f"--vocab-size must be between 2 and {len(alphabet)}")
    return alphabet[:count]


def _swap(words: list[str], rng: random.Random) -> tuple[list[str], list[str]]:
    """`X ; Y` -> `Y ; X` with a random split point (both phrases non-empty)."""
    cut = rng.randint(1, len(words) - 1)
    first, second = words[:cut], words[cut:]
    return [*first, SEPARATOR, *second], [*second, SEPARATOR, *first]


def _sort_key(alphabet: list[str]) -> Callable[[str], int]:
    """Sort by position in the alphabet."""
    order = {symbol: index for index, symbol in enumerate(alphabet)}
    return order.__getitem__


TASKS = ("copy", "reverse", "sort", "swap")


def toy_pairs(
    task: str, size: int, min_len: int, max_len: int, vocab_size: int, seed: int
) -> Iterator[tuple[str, str]]:
    """Generate `size` (source, target) pairs of lengths in [min_len, max_len] symbols."""
    if task not in TASKS:
        raise NmtError(f"unknown task {task!r}: choose from {', '.join(TASKS)}")
    if not 1 <= min_len <= max_len:
        raise NmtError("lengths must satisfy 1 <= --min-len <= --max-len")
    if task == "swap" and max_len < 2:
        raise NmtError("swap needs --max-len of at least 2 (two non-empty phrases)")
    alphabet = symbols(vocab_size)
    rng = random.Random(seed)
    key = _sort_key(alphabet)
    for _ in range(size):
        low = max(min_len, 2) if task == "swap" else min_len
        words = [rng.choice(alphabet) for _ in range(rng.randint(low, max_len))]
        if task == "copy":
            source, target = words, words
        elif task == "reverse":
            source, target = words, words[::-1]
        elif task == "sort":
            source, target = words, sorted(words, key=key)
        else:
            source, target = _swap(words, rng)
        yield " ".join(source), " ".join(target)
