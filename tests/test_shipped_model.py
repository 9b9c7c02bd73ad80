"""The shipped English→French model: found without -m, translates everyday sentences, is small."""

from __future__ import annotations

import json

from nmtcli.shipped import default_model_dir

# Tatoeba dev sentences (never trained on) with the shipped model's output, each one of the dev
# references. A retrained or re-exported model that changes them must be checked by a human.
DEV_SENTENCES = {
    "I need a pen.": "J'ai besoin d'un stylo.",
    "We need a car.": "Il nous faut une voiture.",
    "My cat is white.": "Mon chat est blanc.",
    "Turn off the radio.": "Éteins la radio.",
    "This is my new car.": "C'est ma nouvelle voiture.",
    "Let's do the dishes.": "Faisons la vaisselle.",
    "How can we thank you?": "Comment pouvons-nous vous remercier ?",
}


def test_translate_without_model_uses_the_shipped_one(cli):
    result = cli("translate", *DEV_SENTENCES)
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == list(DEV_SENTENCES.values())


def test_shipped_model_translates_the_quick_start_example(cli):
    args = ("turn off the lights", "--format", "json", "--show-attention")
    result = cli("translate", *args, "--attention-level", "word")
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert record["translation"] == "Éteignez les lumières !"
    weights = record["attention"]["weights"]
    # A sharp heatmap: every target word puts most of its weight on one source word (pieces
    # inside a word, such as `igne` of `▁É te igne z`, may spread theirs).
    assert min(max(row) for row in weights) > 0.3


def test_shipped_model_is_small_and_carries_its_card():
    directory = default_model_dir()
    size = sum(path.stat().st_size for path in directory.iterdir())
    assert size <= 25 * 1024 * 1024
    card = (directory / "MODEL_CARD.md").read_text()
    for needed in ("CC-BY 2.0", "tatoeba.org", "manythings.org/anki", "nrefs:1|case:mixed"):
        assert needed in card
