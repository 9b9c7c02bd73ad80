"""Training-time transforms: what each does to a pair, determinism, and their place in a run."""

from __future__ import annotations

import json
import random

import pytest
from conftest import write_tsv

from nmtcli.batch import UNK_ID
from nmtcli.corpus import CorpusSpec
from nmtcli.runconfig import migrate
from nmtcli.training.transforms import (
    TransformRates,
    _lower_first,
    _name,
    copy_through,
    enumeration,
    list_items,
    title,
    transformed_epoch,
    unpunctuated,
    upper,
    vocabulary_variants,
)
from nmtcli.vocab import VocabOptions, train_vocab

PAIRS = [
    ("Tom is sick.", "Tom est malade."),
    ("I have three brothers.", "J'ai trois frères."),
    ("Where is the station?", "Où est la gare ?"),
    ("Thank you.", "Merci !"),
    ("It's 5 o'clock.", "Il est 5 heures."),
    ("Don't touch that!", "Ne touche pas à ça !"),
] * 20


def test_casing_transforms():
    assert upper(("Où est-il ?", "Where is he?")) == ("OÙ EST-IL ?", "WHERE IS HE?")
    assert title(("turn off the lights.", "éteins la lumière.")) == (
        "Turn Off The Lights.",
        "Éteins La Lumière.",
    )
    assert title(("don't go", "n'y va pas")) == ("Don't Go", "N'y Va Pas")
    assert unpunctuated(("Where is it, Tom?", "Où est-il, Tom ?")) == (
        "where is it tom",
        "Où est-il, Tom ?",
    )


@pytest.mark.parametrize("seed", range(30))
def test_copy_through_puts_one_span_on_both_sides(seed):
    rng = random.Random(seed)
    source, target = copy_through(("Tom is sick.", "Tom est malade."), rng)
    assert "Tom" not in source and "Tom" not in target
    new = source.split(" is sick.")[0]
    assert new and target == f"{new} est malade."


def test_copy_through_replaces_number_words_with_digits():
    outcomes = {copy_through(PAIRS[1], random.Random(s)) for s in range(40)}
    digits = [(s, t) for s, t in outcomes if any(c.isdigit() for c in s)]
    assert digits, outcomes
    for source, target in digits:
        number = next(w for w in source.split() if any(c.isdigit() for c in w))
        assert number in target and "trois" not in target


def test_copy_through_inserts_a_span_when_nothing_is_shared():
    for seed in range(20):
        source, target = copy_through(("Thank you.", "Merci !"), random.Random(seed))
        added = set(source.split()) - {"Thank", "you.", "thank"}
        assert added, source
        assert any(word.strip(",.!") in target for word in added), (source, target)


LIST_PAIRS = [
    ("I like cats.", "J'aime les chats."),
    ("It's a red car.", "C'est une voiture rouge."),
    ("Where is the station?", "Où est la gare ?"),
    ("Tom left.", "Tom est parti."),
    ("Get up!", "Lève-toi !"),
    ("I have read this very long book twice.", "J'ai lu ce très long livre deux fois."),
]


def test_list_items_come_from_frames_and_short_sentences():
    phrases, sentences = list_items(LIST_PAIRS)
    assert phrases[0] == ("cats", "les chats") and ("the station", "la gare") in phrases
    assert ("a red car", "une voiture rouge") in phrases and len(phrases) == 3
    assert ("Tom left", "Tom est parti") in sentences  # a name keeps its capital
    assert ("get up", "lève-toi") in sentences and len(sentences) == 3  # up to three words


@pytest.mark.parametrize("seed", range(20))
def test_an_enumeration_has_the_same_items_on_both_sides(seed):
    items = list_items(LIST_PAIRS)
    source, target = enumeration(items, random.Random(seed))
    assert source[0].isupper() and target[0].isupper()
    assert source[-1] in ".?" and target.endswith((".", " ?"))
    count = source.count(",") + (" and " in source or " or " in source) + 1
    assert 2 <= count <= 5
    assert count == target.count(",") + (" et " in target or " ou " in target) + 1


def test_lower_first_keeps_names_and_i():
    assert _lower_first("Tom's here", "Tom est là") == "Tom's here"
    assert _lower_first("Get up", "Lève-toi") == "get up"
    assert _lower_first("I'm shy", "Je suis timide") == "I'm shy"


def test_an_epoch_with_lists_replaces_a_share_of_pairs():
    pairs, origin = transformed_epoch(LIST_PAIRS * 50, TransformRates(lists=0.2), seed=1, epoch=0)
    lists = [p for p, i in zip(pairs, origin) if i is None]
    assert 30 < len(lists) < 90 and len(pairs) == len(LIST_PAIRS) * 50
    assert all("," in s or " and " in s or " or " in s for s, _ in lists)


def test_an_epoch_is_a_pure_function_of_seed_and_epoch():
    rates = TransformRates(upper=0.1, title=0.1, lower=0.1, copy=0.2, concat=0.2)
    first = transformed_epoch(PAIRS, rates, seed=1, epoch=3)
    assert transformed_epoch(PAIRS, rates, seed=1, epoch=3) == first
    assert transformed_epoch(PAIRS, rates, seed=1, epoch=4) != first
    assert transformed_epoch(PAIRS, rates, seed=2, epoch=3) != first


def test_an_epoch_keeps_every_pair_once_and_marks_the_changed_ones():
    rates = TransformRates(upper=0.1, concat=0.3)
    pairs, origin = transformed_epoch(PAIRS, rates, seed=1, epoch=0)
    for pair, index in zip(pairs, origin):
        if index is not None:
            assert pair == PAIRS[index]
    kept = [i for i in origin if i is not None]
    assert len(kept) == len(set(kept))
    sentences = sum(p[0].count(".") + p[0].count("?") + p[0].count("!") for p in pairs)
    assert sentences == sum(p[0].count(".") + p[0].count("?") + p[0].count("!") for p in PAIRS)
    joined = [p for p in pairs if p[0].count(". ") + p[0].count("? ") + p[0].count("! ") >= 1]
    assert joined and len(pairs) < len(PAIRS)


def test_no_rates_no_change():
    pairs, origin = transformed_epoch(PAIRS, TransformRates(), seed=1, epoch=0)
    assert pairs == PAIRS and origin == list(range(len(PAIRS)))
    assert TransformRates().describe() == "none"
    assert TransformRates(upper=0.05, copy=0.1).describe() == "upper 5%, copy 10%"


def test_vocabulary_variants_are_cased_copies():
    variants = vocabulary_variants(TransformRates(upper=0.5, title=0.5), seed=1)
    made = [v for pair in PAIRS for v in variants(pair)]
    assert len(made) == len(PAIRS)
    assert all(s.isupper() or s.istitle() or "'" in s for s, _ in made)


def test_a_version_1_run_config_has_no_transforms():
    old = {"format_version": 1, "model": {"arch": "rnn"}, "train": {"lr": 0.001}}
    train = migrate(json.loads(json.dumps(old)))["train"]
    assert train["upper_rate"] == 0.0 and train["concat_rate"] == 0.0 and train["lr"] == 0.001


def test_train_records_the_transforms(tmp_path, tiny_tsv, cli):
    out = tmp_path / "model"
    result = cli(
        "train",
        tiny_tsv,
        "-o",
        out,
        "--max-steps",
        "3",
        "--copy-rate",
        "0.5",
        "--upper-rate",
        "0.2",
    )
    assert result.exit_code == 0, result.output
    train = json.loads((out / "config.json").read_text())["train"]
    assert train["copy_rate"] == 0.5 and train["upper_rate"] == 0.2
    assert "training-time transforms: upper 20%, title 3%" in (out / "MODEL_CARD.md").read_text()


def test_a_vocabulary_falls_back_to_bytes(tmp_path):
    rng = random.Random(0)
    words = [_name(rng).lower() for _ in range(3000)]
    pairs = [
        (f"{' '.join(rng.sample(words, 6))} {n}", f"{' '.join(rng.sample(words, 6))} {n}")
        for n in range(3000)
    ]
    corpus = write_tsv(tmp_path / "words.tsv", pairs)
    trained = train_vocab(
        CorpusSpec(tsv=str(corpus)), tmp_path / "v", VocabOptions(vocab_size=1000)
    )
    tokenizer = trained.vocabulary.src
    ids = tokenizer.encode("pizza 🍕 北京 2024")
    assert UNK_ID not in ids  # characters the corpus never had are their UTF-8 bytes
    assert tokenizer.decode(ids) == "pizza 🍕 北京 2024"
    assert tokenizer.pieces("2024")[-4:] == ["2", "0", "2", "4"]  # digits split


def test_rates_are_checked(tmp_path, tiny_tsv, cli):
    result = cli("train", tiny_tsv, "-o", tmp_path / "m", "--copy-rate", "2")
    assert result.exit_code == 1 and "copy-rate must be in [0, 1]" in result.stderr
    result = cli(
        "train", tiny_tsv, "-o", tmp_path / "m", "--upper-rate", "0.6", "--lower-rate", "0.6"
    )
    assert result.exit_code == 1 and "add up to at most 1" in result.stderr
    assert not (tmp_path / "m").exists()


def test_a_resumed_run_sees_the_same_transformed_epochs(tmp_path, tiny_tsv, cli):
    import torch
    from safetensors.torch import load_file

    args = ["--vocab-size", "59", "--valid-size", "30", "--batch-tokens", "1000", "--seed", "3"]
    args += ["--arch", "transformer", "--layers", "1", "--d-model", "32", "--heads", "2"]
    args += ["--ff-size", "64", "--valid-every", "5", "--copy-rate", "0.3", "--concat-rate", "0.3"]
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    assert cli("train", tiny_tsv, "-o", whole, *args, "--max-steps", "24").exit_code == 0
    assert cli("train", tiny_tsv, "-o", parts, *args, "--max-steps", "11").exit_code == 0
    assert cli("train", "--resume", parts, "--max-steps", "24").exit_code == 0
    epochs = [json.loads(line)["epoch"] for line in (whole / "metrics.jsonl").open()]
    assert epochs[-1] > 2  # several epochs, each with its own variants
    first, second = load_file(whole / "last.safetensors"), load_file(parts / "last.safetensors")
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
