"""Training-time transforms: each epoch sees new variants of some training pairs.

What users type is not what a curated corpus holds: ALL CAPS, Title Case, no punctuation,
numbers, names, e-mail addresses, emoji, several sentences at once. Each transform turns a share
of the pairs (its rate) into such a pair, on both sides, before the epoch's batches are made:

- casing: upper-cased or title-cased on both sides; or the source lower-cased with its
  punctuation removed (the target keeps its own, so the model learns to restore it);
- copy-through: a name or number that both sides share (`Tom`, `3`), or a number word and its
  translation (`three` / `trois`), is replaced on both sides by one random span (a number, a time,
  a year, an invented name, an e-mail address, a URL, a hashtag, an emoji, a word in another
  script); a pair with nothing to replace gets one inserted (a name addressed, a trailing emoji);
- concatenation: a share of the pairs is joined, two to six at a time, into multi-sentence
  examples;
- lists: a share of the pairs is replaced by an enumeration of two to five short items on both
  sides (`Cats, a red car and the station.` / `Les chats, une voiture rouge et la gare.`), the
  items taken from the corpus's short sentences and from the noun and adjective phrases of a few
  sentence frames both sides share (`I like X.` / `J'aime X.`), so the model learns to keep
  every item once;
- placeholders: in a share of the pairs, every name, number or symbol both sides share (the
  must-copy spans of `nmtcli.verbatim`, wider than what translation hides) is replaced on both
  by the same `⦅k⦆` (`nmtcli.placeholders`), so the model learns to carry `⦅k⦆` to where its
  span belongs.

An epoch's variants are a pure function of (seed, epoch), so a resumed run sees exactly what an
uninterrupted one would have. Validation data is never transformed.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass

from nmtcli.placeholders import mask, shared_spans

Pair = tuple[str, str]

_WORD = re.compile(r"[^\W_][\w'’-]*")  # a word, apostrophes and hyphens inside it
_PUNCTUATION = re.compile(r"[.,!?;:«»\"“”…¡¿]+")
_SPACES = re.compile(r"\s+")
_FINAL = re.compile(r"[\s\u202f]*[.!?…]+[\s\u202f]*$")
_NUMBER_WORDS = {  # English number word → its French forms (one and un/une are too ambiguous)
    "two": ("deux",),
    "three": ("trois",),
    "four": ("quatre",),
    "five": ("cinq",),
    "six": ("six",),
    "seven": ("sept",),
    "eight": ("huit",),
    "nine": ("neuf",),
    "ten": ("dix",),
    "eleven": ("onze",),
    "twelve": ("douze",),
    "fifteen": ("quinze",),
    "twenty": ("vingt",),
    "thirty": ("trente",),
    "forty": ("quarante",),
    "fifty": ("cinquante",),
    "hundred": ("cent",),
}
_SYLLABLES = (  # noqa: SIM905 - the syllables read better as one string
    "ka la mi ro sa te no vi da lu be ri an el or is mar jo han ne li sven ta ku "
    "pri ya zo ra kwe zi mei chen ol ga ni ko fa ti ma ur su ba de wa ye lin"
).split()
_ACCENTS = str.maketrans("aeiou", "áéíóú")
_TLDS = ("com", "org", "net", "fr", "de", "io", "ca")
_EMOJI = (0x1F300, 0x1F64F), (0x1F680, 0x1F6FF), (0x1F90C, 0x1F9FF), (0x2600, 0x26FF)
_SCRIPTS = (  # code point ranges of letters in other scripts, and a typical word length
    ((0x4E00, 0x9FFF), 2),  # CJK ideographs
    ((0xAC00, 0xD7A3), 2),  # Hangul syllables
    ((0x3041, 0x3096), 3),  # Hiragana
    ((0x0430, 0x044F), 6),  # Cyrillic
    ((0x03B1, 0x03C9), 6),  # Greek
    ((0x0627, 0x064A), 5),  # Arabic
    ((0x0905, 0x0939), 4),  # Devanagari
)


PLACEHOLDER_NUMBERS = 9  # training draws each span's placeholder number from 1-9
TRANSFORMS = ("upper", "title", "lower", "copy", "concat", "placeholder", "lists")
_FRAMES = tuple(  # sentence frames whose slot holds the same phrase on both sides
    (re.compile(source), re.compile(target))
    for source, target in (
        (r"I (?:like|love) (.+)\.$", r"J'(?:aime|adore) (.+)\.$"),
        (r"(?:It|This|That)(?: i|')s (.+)\.$", r"C'est (.+)\.$"),
        (r"Where is (.+)\?$", r"Où est (.+) \?$"),
        (r"I (?:have|bought) (.+)\.$", r"J'ai (?:acheté )?(.+)\.$"),
    )
)
_CONJUNCTIONS = (("and", "et"), ("or", "ou"), (",", ","))


@dataclass(frozen=True)
class TransformRates:
    """The share of training pairs each transform turns into a variant (0 turns it off)."""

    upper: float = 0.0
    title: float = 0.0
    lower: float = 0.0
    copy: float = 0.0
    concat: float = 0.0
    placeholder: float = 0.0
    lists: float = 0.0

    @property
    def active(self) -> bool:
        """Whether any transform is on."""
        return any(getattr(self, name) for name in TRANSFORMS)

    def describe(self) -> str:
        """`upper 5%, title 3%, ...` for the card and the log, or `none`."""
        shares = [(n, getattr(self, n)) for n in TRANSFORMS]
        return ", ".join(f"{name} {rate:.0%}" for name, rate in shares if rate) or "none"


def upper(pair: Pair) -> Pair:
    """Both sides in capitals."""
    return pair[0].upper(), pair[1].upper()


def title(pair: Pair) -> Pair:
    """Both sides with every word capitalised (the rest of each word unchanged)."""
    return _title(pair[0]), _title(pair[1])


def _title(text: str) -> str:
    return _WORD.sub(lambda m: m.group()[0].upper() + m.group()[1:], text)


def unpunctuated(pair: Pair) -> Pair:
    """The source lower-cased without punctuation, as typed in a hurry; the target unchanged."""
    source = _SPACES.sub(" ", _PUNCTUATION.sub(" ", pair[0].lower())).strip()
    return (source or pair[0].lower()), pair[1]


def random_span(rng: random.Random, kind: str) -> str:
    """A random span to copy: `number` (digits, a time or a year) or `symbol` (anything else)."""
    if kind == "number":
        form = rng.random()
        if form < 0.2:
            return f"{rng.randint(0, 23)}:{rng.randint(0, 59):02d}"
        if form < 0.35:
            return str(rng.randint(1900, 2035))
        return str(int(10 ** rng.uniform(0, 4)))
    maker = rng.choices(
        (_name, _email, _url, _hashtag, _emoji, _foreign_word, _code),
        weights=(0.4, 0.1, 0.1, 0.05, 0.12, 0.15, 0.08),
    )[0]
    return maker(rng)


def _name(rng: random.Random) -> str:
    """An invented name: two to four syllables, sometimes accented or hyphenated."""
    word = "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice((2, 2, 3, 3, 4))))
    if rng.random() < 0.15:  # one accented vowel
        vowels = [i for i, c in enumerate(word) if c in "aeiou"]
        at = rng.choice(vowels) if vowels else 0
        word = word[:at] + word[at].translate(_ACCENTS) + word[at + 1 :]
    name = word.capitalize()
    return f"{name}-{_name(rng)}" if rng.random() < 0.1 else name


def _email(rng: random.Random) -> str:
    user = _name(rng).lower().replace("-", ".")
    return f"{user}@{_name(rng).lower()}.{rng.choice(_TLDS)}"


def _url(rng: random.Random) -> str:
    host = f"{_name(rng).lower()}.{rng.choice(_TLDS)}"
    if rng.random() < 0.5:
        return f"www.{host}"
    return f"https://{host}/{_name(rng).lower()}"


def _hashtag(rng: random.Random) -> str:
    return f"#{_name(rng)}"


def _emoji(rng: random.Random) -> str:
    low, high = rng.choice(_EMOJI)
    return chr(rng.randint(low, high))


def _foreign_word(rng: random.Random) -> str:
    (low, high), length = rng.choice(_SCRIPTS)
    return "".join(chr(rng.randint(low, high)) for _ in range(rng.randint(1, length)))


def _code(rng: random.Random) -> str:
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    return f"{rng.choice(letters)}{rng.randint(1, 99)}-{rng.randint(10, 999)}{rng.choice(letters)}"


def _shared_spans(pair: Pair) -> list[tuple[str, str, str]]:
    """(source span, target span, kind) that a copy can replace on both sides."""
    source, target = pair
    target_words = set(_WORD.findall(target)) | set(re.findall(r"\d+", target))
    spans = [
        (word, word, "number" if word.isdigit() else "symbol")
        for word in dict.fromkeys(_WORD.findall(source) + re.findall(r"\d+", source))
        if word in target_words and (word[0].isupper() or word.isdigit()) and word != "I"
    ]
    for word in _WORD.findall(source.lower()):
        french = next((f for f in _NUMBER_WORDS.get(word, ()) if f in target_words), None)
        if french:
            spans.append((word, french, "number"))
    return spans


def _replace(text: str, old: str, new: str) -> str:
    """`text` with the whole word `old` replaced by `new` (case-insensitively for number words)."""
    flags = 0 if old[0].isupper() or old.isdigit() else re.IGNORECASE
    return re.sub(rf"(?<![\w]){re.escape(old)}(?![\w])", lambda _: new, text, flags=flags)


def copy_through(pair: Pair, rng: random.Random) -> Pair:
    """Replace a shared name or number on both sides by one random span, or insert one."""
    spans = _shared_spans(pair)
    if spans:
        old_source, old_target, kind = rng.choice(spans)
        new = random_span(rng, kind if rng.random() < 0.8 else "symbol")
        return _replace(pair[0], old_source, new), _replace(pair[1], old_target, new)
    source, target = pair
    if rng.random() < 0.5:  # a name addressed: "Emma, where are you?" / "Emma, où es-tu ?"
        name = _name(rng) if rng.random() < 0.7 else random_span(rng, "symbol")
        return f"{name}, {_lower_first(source, target)}", f"{name}, {_lower_first(target, source)}"
    if rng.random() < 0.6:  # "I love pizza 🍕"
        span = _emoji(rng)
        return f"{source} {span}", f"{target} {span}"
    span = random_span(rng, "symbol")  # "Thank you, Emma!" / "Merci, Emma !"
    return _before_end(source, span), _before_end(target, span)


def placeholders(pair: Pair, rng: random.Random) -> Pair:
    """Both sides with the spans they share hidden behind the same placeholders (numbers 1-9)."""
    spans = shared_spans(pair)
    if not spans:
        return pair
    numbers = rng.sample(range(1, max(PLACEHOLDER_NUMBERS, len(spans)) + 1), len(spans))
    return mask(pair[0], spans, numbers), mask(pair[1], spans, numbers)


def _before_end(text: str, span: str) -> str:
    """`text` with `, span` inserted before its final punctuation."""
    end = _FINAL.search(text)
    cut = end.start() if end else len(text)
    return f"{text[:cut]}, {span}{text[cut:]}"


def _lower_first(text: str, other: str) -> str:
    """`text` with its first letter lower-cased, unless it starts with `I`, an acronym or a name.

    A name is a capitalised word the other side also has (`Tom`, or the `Tom` of `Tom's`).
    """
    first = text.split(" ", 1)[0]
    if first in ("I", "I'm", "I've", "I'd", "I'll") or len(first) < 2 or first.isupper():
        return text
    letters = re.match(r"[^\W\d_]*", first).group()  # `Tom` of `Tom's`
    if letters[:1].isupper() and letters in _WORD.findall(other):
        return text
    return text[0].lower() + text[1:]


def list_items(pairs: list[Pair]) -> tuple[list[Pair], list[Pair]]:
    """The corpus's list items: (phrases from the sentence frames, short sentences).

    Each has at most three source words, no final punctuation and, for a sentence, its first
    letter lowered unless it is a name.
    """
    phrases, sentences = [], []
    for source, target in pairs:
        for source_frame, target_frame in _FRAMES:
            found, translated = source_frame.match(source), target_frame.match(target)
            if found and translated:
                if len(found.group(1).split()) <= 3:
                    phrases.append((found.group(1), translated.group(1)))
                break
        if len(source.split()) <= 3 and _FINAL.search(source) and _FINAL.search(target):
            cut = _FINAL.sub("", source), _FINAL.sub("", target)
            sentences.append((_lower_first(cut[0], cut[1]), _lower_first(cut[1], cut[0])))
    return phrases, sentences


def enumeration(items: tuple[list[Pair], list[Pair]], rng: random.Random) -> Pair:
    """Two to five items joined on both sides as `A, B and C.` (or `or`, or commas only)."""
    phrases, sentences = items
    count = rng.choice((2, 3, 3, 4, 4, 5))
    chosen = [rng.choice(phrases if rng.random() < 0.75 else sentences) for _ in range(count)]
    conjunction = rng.choices(_CONJUNCTIONS, weights=(0.5, 0.2, 0.3))[0]
    question = conjunction[0] == "or" and rng.random() < 0.5
    ends = ("?", " ?") if question else (".", ".")  # French puts a space before `?`
    sides = []
    for side, (word, end) in enumerate(zip(conjunction, ends)):
        words = [item[side] for item in chosen]
        text = ", ".join(words[:-1]) + (", " if word == "," else f" {word} ") + words[-1]
        sides.append(text[0].upper() + text[1:] + end)
    return sides[0], sides[1]


PAIR_TRANSFORMS: tuple[tuple[str, Callable[[Pair], Pair]], ...] = (
    ("upper", upper),
    ("title", title),
    ("lower", unpunctuated),
)


def transformed_epoch(
    pairs: list[Pair],
    rates: TransformRates,
    seed: int,
    epoch: int,
) -> tuple[list[Pair], list[int | None]]:
    """The epoch's pairs and, for each, the index of the corpus pair it still is (or None).

    Pairs chosen for concatenation are grouped (in random order) into examples of two to six
    sentences; then each example may be replaced by an enumeration, get a copy-through span,
    its shared spans hidden behind placeholders and one casing transform.
    """
    rng = random.Random(f"nmtcli-transforms:{seed}:{epoch}")
    joined = [i for i in range(len(pairs)) if rng.random() < rates.concat]
    rng.shuffle(joined)
    taken = set(joined)
    examples: list[list[int]] = [[i] for i in range(len(pairs)) if i not in taken]
    while joined:
        size = rng.randint(2, 6)
        examples.append(joined[:size])
        joined = joined[size:]
    items = list_items(pairs) if rates.lists else ([], [])
    out: list[Pair] = []
    origin: list[int | None] = []
    for group in examples:
        pair = pairs[group[0]] if len(group) == 1 else _join([pairs[i] for i in group])
        changed = len(group) > 1
        if rates.lists and all(items) and rng.random() < rates.lists:  # no draw when off
            pair, changed = enumeration(items, rng), True
        if rng.random() < rates.copy:
            pair, changed = copy_through(pair, rng), True
        if rates.placeholder and rng.random() < rates.placeholder:  # no draw when off: older
            hidden = placeholders(pair, rng)  # runs see the epochs they saw
            pair, changed = hidden, changed or hidden != pair
        draw = rng.random()
        for name, transform in PAIR_TRANSFORMS:
            rate = getattr(rates, name)
            if draw < rate:
                pair, changed = transform(pair), True
                break
            draw -= rate
        out.append(pair)
        origin.append(None if changed else group[0])
    return out, origin


def _join(pairs: list[Pair]) -> Pair:
    return " ".join(s for s, _ in pairs), " ".join(t for _, t in pairs)


def vocabulary_variants(rates: TransformRates, seed: int) -> Callable[[Pair], list[Pair]]:
    """For each corpus pair, the cased variants (if any) for the vocabulary to learn pieces of.

    Only casing: `WHERE` and `Lights` then get pieces of their own, instead of one per letter.
    Copy-through spans are left out on purpose: with full character coverage each random
    ideograph would take a piece of its own, and byte fallback represents them anyway.
    """
    rng = random.Random(f"nmtcli-vocabulary:{seed}")

    def variants(pair: Pair) -> list[Pair]:
        draw = rng.random()
        for name, transform in PAIR_TRANSFORMS:
            rate = getattr(rates, name)
            if draw < rate:
                return [transform(pair)]
            draw -= rate
        return []

    return variants
