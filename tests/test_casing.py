"""Input casing: ALL CAPS and Title Case are read in sentence case and answered in kind; a first
word the vocabulary knows better in lower case is read so."""

from __future__ import annotations

import pytest

from nmtcli.casing import LOWERED, TITLE, UPPER, casing, restore, sentence_case
from nmtcli.decoding import SearchOptions
from nmtcli.translator import Translator


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("WHERE IS THE BATHROOM?", UPPER),
        ("I CAN'T FIND MY KEYS.", UPPER),
        ("HELP!", UPPER),
        ("OK", None),  # too short to tell shouting from an acronym
        ("I work at NASA.", None),
        ("Turn Off The Lights.", TITLE),
        ("Where Is The «Train» Station?", TITLE),
        ("Thanks, Anna!", None),  # two words: not Title Case
        ("Tom and Mary are here.", None),
        ("where is the station", None),
        ("", None),
        ("123 456", None),
    ],
)
def test_casing_of_a_sentence(sentence, kind):
    assert casing(sentence) == kind


@pytest.mark.parametrize(
    ("sentence", "kind", "read"),
    [
        ("WHERE IS THE BATHROOM?", UPPER, "Where is the bathroom?"),
        ("I THINK I'M LATE.", UPPER, "I think I'm late."),
        ("DON'T FORGET YOUR UMBRELLA.", UPPER, "Don't forget your umbrella."),
        ("Turn Off The Lights In The Kitchen.", TITLE, "Turn off the lights in the kitchen."),
        ("My New iPhone Is At NASA.", TITLE, "My new iPhone is at NASA."),
        ("Where Am I Now?", TITLE, "Where am I now?"),
        ('"Stop The Car Now!"', TITLE, '"Stop the car now!"'),
        ("Tom is here.", None, "Tom is here."),
    ],
)
def test_sentence_case_keeps_the_pronoun_and_inner_capitals(sentence, kind, read):
    assert sentence_case(sentence, kind) == read


def test_all_caps_words_the_vocabulary_knows_only_capitalised_stay_capitalised():
    pieces = {"Paris", "Monday", "love", "Love", "i"}
    read = sentence_case("I LOVE PARIS ON MONDAY.", UPPER, pieces.__contains__)
    assert read == "I love Paris on Monday."


WHOLE = {"milk", "Tom", "don"}  # `portugal`, `Portugal`, `Milk`, `tom`: several pieces


@pytest.mark.parametrize(
    ("sentence", "kind"),
    [
        ("Milk, eggs and bread.", LOWERED),  # only `milk` is one piece
        ("Tom is here.", None),  # the vocabulary knows the name capitalised
        ("Portugal is warm.", None),  # one piece in neither form: a name, kept
        ("Don't go.", None),  # a contraction is left as typed
        ("milk, eggs.", None),
        ("MILK, EGGS AND BREAD.", UPPER),
        ("«Milk», she said.", None),  # not a letter first
    ],
)
def test_a_first_word_known_only_in_lower_case_is_read_in_lower_case(sentence, kind):
    assert casing(sentence, WHOLE.__contains__) == kind
    assert casing(sentence) == (None if kind == LOWERED else kind)  # no vocabulary: never


def test_a_lowered_sentence_is_answered_with_a_capital_first_letter():
    assert sentence_case("Milk, eggs and bread.", LOWERED) == "milk, eggs and bread."
    assert restore("lait, œufs et pain.", LOWERED) == "Lait, œufs et pain."
    assert restore("3 litres de lait.", LOWERED) == "3 litres de lait."  # no letter first: as is
    assert restore("", LOWERED) == ""


def test_restore_gives_the_translation_its_source_casing():
    assert restore("Où sont les toilettes ?", UPPER) == "OÙ SONT LES TOILETTES ?"
    assert restore("Ma sœur est là.", UPPER) == "MA SŒUR EST LÀ."
    title = restore("Ferme la porte du garage, s'il te plaît.", TITLE)
    assert title == "Ferme La Porte Du Garage, S'il Te Plaît."
    assert restore("l'eau « froide »", TITLE) == "L'eau « Froide »"
    assert restore("Il est là.", None) == "Il est là."


def test_engine_translates_the_sentence_cased_form_and_recases_it(trained_model, monkeypatch):
    translator = Translator(trained_model)
    seen: list[list[str]] = []
    original = translator._translate_sentences

    def spy(texts, options, batch_size):
        seen.append(list(texts))
        return original(texts, options, batch_size)

    monkeypatch.setattr(translator, "_translate_sentences", spy)
    lines = ["THE CAT EATS FISH.", "The Cat Eats Fish.", "the cat eats fish."]
    recased = list(translator.translate(lines, SearchOptions(split=True, recase=True)))
    typed = list(translator.translate(lines, SearchOptions(split=True)))
    assert seen[0] == ["The cat eats fish.", "The cat eats fish.", "the cat eats fish."]
    assert seen[1] == lines
    upper, title, lower = (t.best.text for t in recased)
    assert upper == upper.upper() and upper.lower() == title.lower()
    assert title == restore(title, TITLE)
    assert lower == typed[2].best.text  # neither casing: translated as typed
    assert [t.source for t in recased] == lines
    assert recased[0].best.pieces == recased[1].best.pieces  # the model's pieces, not recased
