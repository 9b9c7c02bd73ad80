"""Spans a translation must copy from its source unchanged: numbers, names and symbols.

Pure: takes strings, returns strings and counts. The rule, applied to one (source, reference) pair:

1. Split the source on whitespace and strip each token's surrounding punctuation (quotes,
   brackets, dashes and `. , ; : ! ? …`; but not `# @ % & * / _`, which belong to the span).
2. A stripped token is a candidate when it
   - has a character other than an ASCII letter, an apostrophe or a hyphen: a digit (`10:30`,
     `1969`, `3.5`), a symbol (`@`, `#`, `/`, `.`, `%`, `€`, an emoji) or a non-ASCII letter
     (`東京`, `Москва`, `café`); or
   - has an upper-case letter (`Tom`, `Paris`, `iPhone`, `NASA`), unless the source has three
     or more words with letters and each starts with an upper-case letter (Title Case or ALL CAPS
     input, where capitals say nothing about names).
3. A candidate is a *must-copy span* when it occurs verbatim in the reference, as a whole word:
   not directly preceded or followed by a letter, a digit or `_` (`Anna` occurs in `d'Anna`,
   `Tom` does not occur in `Tomate`). The reference is the judge: a word the reference
   translates (`Monday` → `lundi`, `Hello` → `Bonjour`) is not a span, however it looks, so
   capitalised words opening a sentence need no rule of their own.

A pair's spans are distinct strings (a name said twice is one span). A span is *kept* when it
occurs, by the same whole-word rule, in the hypothesis.
"""

from __future__ import annotations

import re
import unicodedata

from nmtcli.casing import capitalised_throughout

_KEPT_PUNCTUATION = frozenset("#@%&*/_")
_WORD_CHARACTERS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'’-")


def strip_token(token: str) -> str:
    """`token` without its surrounding punctuation (Unicode category P, but # @ % & * / _)."""
    start, end = 0, len(token)
    while start < end and _is_stripped(token[start]):
        start += 1
    while end > start and _is_stripped(token[end - 1]):
        end -= 1
    return token[start:end]


def _is_stripped(character: str) -> bool:
    """Whether `character` is punctuation that surrounds a word rather than belongs to it."""
    return unicodedata.category(character).startswith("P") and character not in _KEPT_PUNCTUATION


def has_symbol(word: str) -> bool:
    """Whether a word has a character other than an ASCII letter, an apostrophe or a hyphen."""
    return any(character not in _WORD_CHARACTERS for character in word)


def _is_candidate(word: str, capitals_matter: bool) -> bool:
    """Whether a stripped token looks like a number, a symbol or a name (rule 2)."""
    if has_symbol(word):
        return True
    return capitals_matter and any(character.isupper() for character in word)


def whole_word(*spans: str) -> str:
    """A pattern matching any of `spans` as a whole word (no letter, digit or `_` beside it)."""
    return rf"(?<!\w)(?:{'|'.join(re.escape(span) for span in spans)})(?!\w)"


def occurs(span: str, text: str) -> bool:
    """Whether `span` occurs in `text` as a whole word."""
    return re.search(whole_word(span), text) is not None


def candidate_words(source: str) -> list[str]:
    """The distinct stripped words of `source` that look like numbers, symbols or names (rule 2)."""
    words = [word for word in map(strip_token, source.split()) if word]
    capitals_matter = not capitalised_throughout(words)
    return list(dict.fromkeys(w for w in words if _is_candidate(w, capitals_matter)))


def must_copy_spans(source: str, reference: str) -> list[str]:
    """The distinct must-copy spans of a source, in source order (the rule in the module doc)."""
    return [word for word in candidate_words(source) if occurs(word, reference)]


def kept_spans(source: str, reference: str, hypothesis: str) -> tuple[int, int]:
    """(spans kept verbatim in `hypothesis`, must-copy spans of the pair)."""
    spans = must_copy_spans(source, reference)
    return sum(occurs(span, hypothesis) for span in spans), len(spans)
