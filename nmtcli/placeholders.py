"""Placeholders: spans a translation must copy are hidden from the model and put back after.

Pure text. A small model copies a rare name or a URL piece by piece and often mangles it
(`Siemens` → `Simens`, `www.example.org` → `les détails.org`). Production systems (OpenNMT's
`｟ph｠` placeholders, Marian's and ModernMT's tags) hide such spans behind a token the model
has learnt to copy whole: `Send it to anna.k@mail.com.` is translated as `Send it to ⦅1⦆.`,
and `⦅1⦆` in the output becomes `anna.k@mail.com` again.

The spans hidden are the candidates of `verbatim` (the rule that measures what was kept): a
word with a digit, a symbol or a non-ASCII letter (`10:30`, `#summer`, `北京`, `🍕`, `Zoë`),
anywhere; and a capitalised word inside the sentence (`Priya`, `WhatsApp`, the `Priya` of
`Priya's`), unless
- the source vocabulary holds it, or its lower case, as one piece: a word the model has seen
  often (`Tom`, `Paris`, `French`) is left to it, since it may have to be translated;
- it is a month or a weekday (`on Thursday` → `jeudi`), which English capitalises and French
  does not; or a single letter (`I`).
A sentence's first word is capitalised whatever it is (`Although`, `Millions`), so only a
symbol gets it hidden.

Training (`training.transforms.placeholders`) hides the spans a pair's two sides share, with
numbers drawn at random, so the model learns to copy each `⦅k⦆` it reads, not to count.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from nmtcli.verbatim import candidate_words, has_symbol, must_copy_spans, strip_token, whole_word

OPEN, CLOSE = "\u2985", "\u2986"  # ⦅ ⦆: NFKC of OpenNMT's ｟ ｠, so SentencePiece keeps them
_PLACEHOLDER = re.compile(rf"{OPEN}(\d+){CLOSE}")
_SPACES = re.compile(r" {2,}")
_APOSTROPHE = re.compile(r"['’]")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August")
MONTHS += ("September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
CALENDAR = frozenset(MONTHS + WEEKDAYS)


def placeholder(number: int) -> str:
    """The `number`-th placeholder (1-based): `⦅1⦆`."""
    return f"{OPEN}{number}{CLOSE}"


def protected_spans(sentence: str, known: Callable[[str], bool]) -> list[str]:
    """The distinct spans of `sentence` to hide, in order (the rule in the module docstring).

    Args:
        known: whether the source vocabulary holds a word as a single piece.
    """
    if OPEN in sentence or CLOSE in sentence:
        return []  # typed placeholders would be ambiguous: translate as typed
    inner = {strip_token(token) for token in sentence.split()[1:]}
    spans = []
    for word in candidate_words(sentence):
        name = _APOSTROPHE.split(word)[0]  # `Priya's` hides `Priya`; `I'm` is `I`
        if has_symbol(word):
            spans.append(word)
        elif word in inner and _name_like(name) and not _known(name, known):
            spans.append(name)
    return list(dict.fromkeys(spans))


def _name_like(word: str) -> bool:
    """Two letters or more, and not a month or a weekday (capitalised in English, not in French)."""
    return sum(c.isalpha() for c in word) > 1 and word not in CALENDAR


def _known(word: str, is_whole_piece: Callable[[str], bool]) -> bool:
    """Whether the vocabulary holds a capitalised word, or its lower case, whole."""
    return is_whole_piece(word) or is_whole_piece(word.lower())


def mask(text: str, spans: list[str], numbers: list[int] | None = None) -> str:
    """`text` with each whole-word occurrence of `spans[k]` replaced by placeholder k + 1.

    One pass over the text, longest span first (`3.5` before `3`), so a placeholder's own digits
    are never taken for a span. Training gives its own `numbers` (one per span).
    """
    if not spans:
        return text
    numbers = {span: n for n, span in zip(numbers or range(1, len(spans) + 1), spans)}
    pattern = whole_word(*sorted(spans, key=len, reverse=True))
    return re.sub(pattern, lambda match: placeholder(numbers[match.group()]), text)


def as_typed(spans: list[str], typed: str) -> list[str]:
    """Each span as it was typed in `typed`, of which the spans' text is a recased copy."""

    def typed_form(span: str) -> str:
        found = re.search(whole_word(span), typed, flags=re.IGNORECASE)
        return span if found is None else found.group()

    return [typed_form(span) for span in spans]


def unmask(text: str, spans: list[str]) -> str:
    """`text` with each placeholder replaced by its span; one with no span is dropped."""

    def span(match: re.Match[str]) -> str:
        number = int(match.group(1))
        return spans[number - 1] if 1 <= number <= len(spans) else ""

    return _SPACES.sub(" ", _PLACEHOLDER.sub(span, text)).strip()


def shared_spans(pair: tuple[str, str]) -> list[str]:
    """The spans a training pair hides: its must-copy spans (`verbatim`), but single letters.

    Wider than what translation hides: `Tom` and `Boston`, which the model copies unaided, are
    hidden too, so that training has many sentences with two or more placeholders.
    """
    source, target = pair
    return [span for span in must_copy_spans(source, target) if len(span) > 1 or has_symbol(span)]
