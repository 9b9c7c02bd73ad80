"""Greedy and beam search on small trained models: the properties search must have."""

from __future__ import annotations

import itertools

import pytest
import torch

from nmtcli.modeldir import ModelDir
from nmtcli.models import make_batch
from nmtcli.search import (
    SearchOptions,
    banned_ngrams,
    beam_search,
    forced_decode,
    greedy_search,
    length_penalty,
)
from nmtcli.vocab import Vocabulary
from tests.conftest import tiny_pairs


@pytest.fixture(scope="module")
def model_and_sources(trained_model):
    model = ModelDir.load(trained_model).build()
    vocabulary = Vocabulary.load(trained_model)
    # Held-out-style inputs of varied length, including unseen word orders and a long one.
    texts = [s for s, _ in tiny_pairs(12, seed=99)] + [
        "dog",
        "the the the cat cat",
        " ".join(["red"] * 14),
    ]
    return model, [vocabulary.src.encode(t) for t in texts]


def _forced_log_prob(model, source: list[int], tokens: list[int]) -> float:
    log_probs, _ = forced_decode(model, make_batch([source], [tokens]), need_attention=False)
    return float(log_probs.sum())


def test_beam_size_one_equals_greedy(model_and_sources):
    model, sources = model_and_sources
    batch = make_batch(sources)
    greedy = greedy_search(model, batch, SearchOptions())
    beam = beam_search(model, batch, SearchOptions(beam_size=1))
    for g, b in zip(greedy, beam):
        assert g[0].tokens == b[0].tokens
        assert g[0].log_prob == pytest.approx(b[0].log_prob, abs=1e-4)


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_reported_scores_equal_forced_decoding(model_and_sources, alpha):
    model, sources = model_and_sources
    options = SearchOptions(beam_size=4, n_best=4, length_penalty=alpha)
    for source, hypotheses in zip(sources, beam_search(model, make_batch(sources), options)):
        for hypothesis in hypotheses:
            forced = _forced_log_prob(model, source, hypothesis.tokens)
            assert hypothesis.log_prob == pytest.approx(forced, abs=1e-4)
            expected = forced / length_penalty(len(hypothesis.tokens) + 1, alpha)
            assert hypothesis.score == pytest.approx(expected, abs=1e-4)
    for source, hypotheses in zip(sources, greedy_search(model, make_batch(sources), options)):
        assert hypotheses[0].log_prob == pytest.approx(
            _forced_log_prob(model, source, hypotheses[0].tokens), abs=1e-4
        )


def test_n_best_lists_are_full_distinct_and_sorted(model_and_sources):
    model, sources = model_and_sources
    results = beam_search(model, make_batch(sources), SearchOptions(beam_size=5, n_best=5))
    for hypotheses in results:
        assert len(hypotheses) == 5  # nothing dropped when beams finish at different steps
        scores = [h.score for h in hypotheses]
        assert scores == sorted(scores, reverse=True)
        assert len({tuple(h.tokens) for h in hypotheses}) == 5


@pytest.mark.parametrize("beam", [1, 4])
def test_a_batch_equals_each_sentence_alone(model_and_sources, beam):
    model, sources = model_and_sources
    options = SearchOptions(beam_size=beam, n_best=beam)
    together = (
        beam_search(model, make_batch(sources), options)
        if beam > 1
        else greedy_search(model, make_batch(sources), options)
    )
    for source, batched in zip(sources, together):
        search = beam_search if beam > 1 else greedy_search
        alone = search(model, make_batch([source]), options)[0]
        assert [h.tokens for h in alone] == [h.tokens for h in batched]
        assert [h.score for h in alone] == pytest.approx([h.score for h in batched], abs=1e-4)


@pytest.mark.parametrize("beam", [1, 3])
def test_maximum_and_minimum_lengths_are_respected(model_and_sources, beam):
    model, sources = model_and_sources
    short = SearchOptions(beam_size=beam, n_best=beam, max_length=3)
    for hypotheses in (
        beam_search(model, make_batch(sources), short)
        if beam > 1
        else greedy_search(model, make_batch(sources), short)
    ):
        assert all(len(h.tokens) <= 3 for h in hypotheses)
    long = SearchOptions(beam_size=beam, n_best=1, min_length=12)
    search = beam_search if beam > 1 else greedy_search
    for hypotheses in search(model, make_batch(sources), long):
        assert len(hypotheses[0].tokens) >= 12
    ratio = SearchOptions(beam_size=beam, max_length_ratio=0.5)
    for source, hypotheses in zip(sources, search(model, make_batch(sources), ratio)):
        assert len(hypotheses[0].tokens) <= int(len(source) * 0.5) + 10


def test_beam_finds_a_score_at_least_as_good_as_greedy(model_and_sources):
    model, sources = model_and_sources
    batch = make_batch(sources)
    for alpha in (0.0, 1.0):
        greedy = greedy_search(model, batch, SearchOptions(length_penalty=alpha))
        beam = beam_search(model, batch, SearchOptions(beam_size=5, length_penalty=alpha))
        for g, b in zip(greedy, beam):
            assert b[0].score >= g[0].score - 1e-5


def test_no_repeat_ngram_blocks_repeats(model_and_sources):
    model, sources = model_and_sources
    for beam in (1, 3):
        options = SearchOptions(beam_size=beam, no_repeat_ngram=2)
        search = beam_search if beam > 1 else greedy_search
        for hypotheses in search(model, make_batch(sources), options):
            tokens = hypotheses[0].tokens
            bigrams = list(itertools.pairwise(tokens))
            assert len(bigrams) == len(set(bigrams))


def test_banned_ngrams_by_hand():
    history = torch.tensor([[5, 6, 7, 5], [1, 1, 1, 1]])
    banned = banned_ngrams(history, 2, 10)
    assert banned[0].nonzero().flatten().tolist() == [6]  # "5 6" seen, history ends in 5
    assert banned[1].nonzero().flatten().tolist() == [1]
    assert banned_ngrams(history, 1, 10)[0].nonzero().flatten().tolist() == [5, 6, 7]
    assert not banned_ngrams(history[:, :1], 3, 10).any()


def test_attention_comes_back_per_output_token(model_and_sources):
    model, sources = model_and_sources
    if model.attention_layout == (0, 0):
        pytest.skip("no attention")
    for search in (greedy_search, beam_search):
        options = SearchOptions(beam_size=1 if search is greedy_search else 3, need_attention=True)
        for source, hypotheses in zip(sources, search(model, make_batch(sources), options)):
            attention = hypotheses[0].attention
            assert attention.shape[0] == len(hypotheses[0].tokens) + 1
            assert attention.shape[-1] == len(source) + 1
            assert torch.allclose(attention.sum(-1), torch.ones(attention.shape[:-1]), atol=1e-4)


def test_batches_of_long_sentences_hold_fewer_of_them():
    from nmtcli.search import TOKENS_PER_SENTENCE, _chunks

    lengths = [3, 50, 4, 7, 120, 5, 60, 2, 9, 80] * 7
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    chunks = _chunks(order, lengths, batch_size=8)
    assert [i for chunk in chunks for i in chunk] == order  # every sentence once, in order
    budget = 8 * TOKENS_PER_SENTENCE
    for chunk in chunks:
        assert len(chunk) <= 8
        assert len(chunk) == 1 or max(lengths[i] + 1 for i in chunk) * len(chunk) <= budget
    assert len(chunks[0]) == 8 and len(chunks[-1]) < 8  # short ones fill the batch, long do not
