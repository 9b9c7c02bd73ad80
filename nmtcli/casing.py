"""Input casing: translate ALL CAPS and Title Case in sentence case, then give the output that case.

Pure text. A model trained on sentence-cased text reads `WHERE IS THE BATHROOM?` as rare
upper-case pieces (`▁WH ERE ▁IS ...`) and `Turn Off The Lights.` as a run of names; in sentence
case both are ordinary sentences. So a sentence in one of these casings is translated as
`Where is the bathroom?` / `Turn off the lights.` and the translation is upper-cased or
title-cased (each word's first letter) to match the input, the way a person would answer.

Casings (of one sentence):
- `upper`: every cased letter is upper-case and there are at least MIN_UPPER_LETTERS
  (`OK` or `USA` alone stay as typed: acronyms).
- `title`: not `upper`, at least TITLE_CASE_WORDS words with letters, and each starts with an
  upper-case letter (a short `Thanks, Anna!` is not Title Case).
- `lowered`: neither, and the first word is capitalised only because it opens the sentence: the
  vocabulary holds it as one piece only in lower case (`Milk` is `▁M il k`, `milk` one piece),
  so the model knows it better that way. The sentence is read with that word in lower case, and
  the translation's first letter is capitalised (`milk, eggs.` → `lait, œufs.` → `Lait, œufs.`).
  A name the vocabulary holds capitalised (`Tom`) or in neither form (`Portugal`) stays as typed.
- anything else is translated as typed.

Words that keep their case in the sentence-case form: the pronoun `I` (and `I'm`, `I'll`), in
Title Case any word with a capital after its first letter (`iPhone`, `NASA`, `McDonald`), and in
ALL CAPS a word the vocabulary knows only capitalised (`PARIS` → `Paris`).
"""

from __future__ import annotations

import re
from collections.abc import Callable

TITLE_CASE_WORDS = 3
MIN_UPPER_LETTERS = 4
UPPER, TITLE, LOWERED = "upper", "title", "lowered"

_LETTERS = re.compile(r"[^\W\d_]+")
_PRONOUN = re.compile(r"^i(?=$|['’])", re.IGNORECASE)  # I, I'm, I'll, I’d


def casing(sentence: str, is_whole_piece: Callable[[str], bool] | None = None) -> str | None:
    """`upper`, `title`, `lowered` or None: how `sentence` is cased (the module docstring).

    Args:
        is_whole_piece: the source vocabulary's test (as for `sentence_case`); without it,
            never `lowered`.
    """
    cased = [character for character in sentence if character.isupper() or character.islower()]
    if len(cased) >= MIN_UPPER_LETTERS and all(character.isupper() for character in cased):
        return UPPER
    if capitalised_throughout(sentence.split()):
        return TITLE
    if is_whole_piece is not None and _reads_better_lowered(sentence, is_whole_piece):
        return LOWERED
    return None


def capitalised_throughout(words: list[str]) -> bool:
    """Whether 3+ words have letters and each starts with an upper-case one (Title Case, CAPS)."""
    lettered = [word for word in words if any(character.isalpha() for character in word)]
    return len(lettered) >= TITLE_CASE_WORDS and all(_first_letter_is_upper(w) for w in lettered)


def sentence_case(
    sentence: str, kind: str | None, is_whole_piece: Callable[[str], bool] = lambda _: False
) -> str:
    """`sentence` as the model should read it: in sentence case if `kind` is upper or title.

    Args:
        is_whole_piece: the source vocabulary's test; an ALL CAPS word it holds whole only when
            capitalised (`PARIS` → `Paris`, `MONDAY` → `Monday`) is written so, as a truecaser
            would choose the form seen most.
    """
    if kind is None:
        return sentence
    if kind == LOWERED:
        return sentence[0].lower() + sentence[1:]
    words = sentence.split(" ")
    if kind == UPPER:
        words = [_LETTERS.sub(lambda m: _seen_form(m.group(), is_whole_piece), w) for w in words]
    else:
        words = [word if _keeps_capitals(word) else word.lower() for word in words]
    words = [_PRONOUN.sub("I", word) for word in words]
    return _capitalise_first(" ".join(words))


def restore(translation: str, kind: str | None) -> str:
    """`translation` in the casing of its source: upper-cased, title-cased, or as it is."""
    if kind == UPPER:
        return translation.upper()
    if kind == TITLE:
        return " ".join(_capitalise_first(word) for word in translation.split(" "))
    if kind == LOWERED and translation[:1].isalpha():  # not `3 pommes` → `3 Pommes`
        return translation[0].upper() + translation[1:]
    return translation


def _reads_better_lowered(sentence: str, is_whole_piece: Callable[[str], bool]) -> bool:
    """Whether `sentence` opens as `lowered` says (the module docstring)."""
    opening = _LETTERS.match(sentence)
    if opening is None or sentence[opening.end() : opening.end() + 1] in ("'", "’", "-"):
        return False  # not a letter first; or `Don't`, `Jean-Pierre`: left as typed
    word = opening.group()
    if len(word) < 2 or not word[0].isupper() or not word[1:].islower():
        return False
    return is_whole_piece(word.lower()) and not is_whole_piece(word)


def _seen_form(letters: str, is_whole_piece: Callable[[str], bool]) -> str:
    """An upper-case run of letters in lower case, or capitalised if only that form is a piece."""
    lower, capitalised = letters.lower(), letters.capitalize()
    if is_whole_piece(capitalised) and not is_whole_piece(lower):
        return capitalised
    return lower


def _first_letter_is_upper(word: str) -> bool:
    """Whether the first letter of `word` (after any quote or bracket) is upper-case."""
    return next(character for character in word if character.isalpha()).isupper()


def _keeps_capitals(word: str) -> bool:
    """Whether a Title Case word has a capital after its first letter (iPhone, NASA, McDonald)."""
    letters = [character for character in word if character.isalpha()]
    return any(character.isupper() for character in letters[1:])


def _capitalise_first(text: str) -> str:
    """`text` with its first letter upper-cased (`«bonjour` → `«Bonjour`, `l'eau` → `L'eau`)."""
    for index, character in enumerate(text):
        if character.isalpha():
            return text[:index] + character.upper() + text[index + 1 :]
    return text
