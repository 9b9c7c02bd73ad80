"""Placeholders: rare names, numbers and symbols hidden from the model and put back after."""

from __future__ import annotations

import random

import pytest

from nmtcli.decoding import SearchOptions
from nmtcli.placeholders import (
    as_typed,
    mask,
    placeholder,
    protected_spans,
    shared_spans,
    unmask,
)
from nmtcli.training.transforms import TransformRates, placeholders, transformed_epoch
from nmtcli.translator import Translator

KNOWN = {"Tom", "Paris", "Monday", "French", "send", "visit", "the", "my", "call", "write", "i"}


def known(word: str) -> bool:
    return word in KNOWN


@pytest.mark.parametrize(
    ("sentence", "spans"),
    [
        ("Priya works at Siemens.", ["Siemens"]),  # a first word is capitalised anyway
        ("He met Priya's brother at Siemens.", ["Priya", "Siemens"]),
        ("Tom speaks French in Paris on Monday.", []),  # the vocabulary knows them whole
        ("We met on Thursday in January.", []),  # months and weekdays are translated
        ("I'm sure it's Léa.", ["Léa"]),  # a non-ASCII letter: copied wherever it is
        ("Send it to anna.k@mail.com.", ["anna.k@mail.com"]),  # `Send`: known in lower case
        ("Visit www.example.org for details.", ["www.example.org"]),
        ("The rent is 800 euros, not 3.5 or 3.", ["800", "3.5", "3"]),
        ("I love pizza 🍕", ["🍕"]),
        ("My friend from 北京 is visiting.", ["北京"]),
        ("PRIYA WORKS AT SIEMENS NOW.", []),  # capitals say nothing in ALL CAPS
        ("Write ⦅1⦆ here, Priya.", []),  # typed placeholders: left as typed
    ],
)
def test_protected_spans(sentence, spans):
    assert protected_spans(sentence, known) == spans


def test_mask_and_unmask_round_trip_without_touching_a_placeholders_digits():
    sentence = "Call me at +33 6 12 34 56 78, or 3.5 and 3 and 12."
    spans = protected_spans(sentence, known)
    masked = mask(sentence, spans)
    assert masked == "Call me at ⦅1⦆ ⦅2⦆ ⦅3⦆ ⦅4⦆ ⦅5⦆ ⦅6⦆, or ⦅7⦆ and ⦅8⦆ and ⦅3⦆."
    assert unmask(masked, spans) == sentence


def test_spans_come_back_as_typed_after_recasing():
    assert as_typed(["anna@mail.com", "10:30"], "WRITE TO ANNA@MAIL.COM AT 10:30.") == [
        "ANNA@MAIL.COM",
        "10:30",
    ]


def test_unmask_drops_a_placeholder_with_no_span_and_keeps_repeats():
    assert unmask("⦅2⦆ et ⦅1⦆ voient ⦅1⦆.", ["Priya", "Léa"]) == "Léa et Priya voient Priya."
    assert unmask("Appelle ⦅7⦆ demain.", ["Priya"]) == "Appelle demain."


def test_training_hides_the_spans_both_sides_share_with_the_same_random_numbers():
    pair = ("Tom and Priya met 3 times in Berlin.", "Tom et Priya se sont vus 3 fois à Berlin.")
    assert shared_spans(pair) == ["Tom", "Priya", "3", "Berlin"]
    source, target = placeholders(pair, random.Random(0))
    numbers = [source.split().index(w) for w in source.split() if w.startswith("⦅")]
    assert len(numbers) == 4 and "Tom" not in source and "Tom" not in target
    for token in {w.strip(".") for w in source.split() if "⦅" in w}:
        assert token in target
    assert placeholders(("I see a cat.", "Je vois un chat."), random.Random(0)) == (
        "I see a cat.",
        "Je vois un chat.",
    )


def test_placeholder_rate_zero_draws_nothing_so_older_runs_see_their_epochs():
    pairs = [("Tom is 30.", "Tom a 30 ans."), ("Hello Priya.", "Bonjour Priya.")] * 50
    off, _ = transformed_epoch(pairs, TransformRates(copy=0.3, concat=0.1), 1, 0)
    tiny, _ = transformed_epoch(
        pairs, TransformRates(copy=0.3, concat=0.1, placeholder=1e-12), 1, 0
    )
    assert not any("⦅" in source for source, _ in tiny)  # a rate that never hides anything...
    assert off != tiny  # ...still draws, so 0 must not: its epochs are those before the option
    hidden, _ = transformed_epoch(pairs, TransformRates(placeholder=1.0), 1, 0)
    assert all("⦅" in source and "Tom" not in source for source, _ in hidden[::2])


def test_engine_hides_spans_when_asked_and_puts_them_back(trained_model, monkeypatch):
    translator = Translator(trained_model)
    assert not translator.placeholders  # a model trained without them: off by default
    seen: list[list[str]] = []

    def echo(texts, options, batch_size):
        seen.append(list(texts))
        return original(texts, options, batch_size)

    original = translator._translate_sentences
    monkeypatch.setattr(translator, "_translate_sentences", echo)
    line = "the cat sees zq-17 ."
    hidden = list(translator.translate([line], SearchOptions(placeholders=True)))
    plain = list(translator.translate([line], SearchOptions()))
    assert seen == [["the cat sees ⦅1⦆ ."], [line]]
    assert placeholder(1) not in hidden[0].best.text
    assert hidden[0].source == line and plain[0].source == line
