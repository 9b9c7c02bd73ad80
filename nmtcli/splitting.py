"""Splitting a line of text into sentences, and putting per-sentence results back per line.

Pure text: no torch, no I/O. The rules are sentencex's (Wikimedia's segmenter: abbreviation lists
and boundary rules for ~300 languages, so `Dr. Smith`, `e.g.`, `3.5`, `www.example.org` and
e-mail addresses stay inside their sentence).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

import sentencex

DEFAULT_LANGUAGE = "en"  # run configurations do not record the source language

Item = TypeVar("Item")


def split_sentences(text: str, language: str = DEFAULT_LANGUAGE) -> list[str]:
    """The sentences of `text`, stripped; [] for blank text, [text] if no boundary is found.

    Args:
        language: an ISO 639 code; sentencex falls back to general rules for codes it lacks.
    """
    text = text.strip()
    if not text:
        return []
    sentences = [s.strip() for s in sentencex.segment(language, text)]
    return [s for s in sentences if s] or [text]


def sentences_of_lines(
    lines: Sequence[str], split: bool, language: str = DEFAULT_LANGUAGE
) -> list[list[str]]:
    """Each line's sentences (one, the stripped line, when not splitting; none for a blank line)."""
    if split:
        return [split_sentences(line, language) for line in lines]
    return [[text] if (text := line.strip()) else [] for line in lines]


def regroup(items: Sequence[Item], groups: Sequence[Sequence[object]]) -> list[list[Item]]:
    """Cut the flat `items` back into lists as long as each of `groups`, in order."""
    out, start = [], 0
    for group in groups:
        out.append(list(items[start : start + len(group)]))
        start += len(group)
    if start != len(items):
        raise ValueError(f"{len(items)} items for groups holding {start}")
    return out
