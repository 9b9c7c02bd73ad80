"""`translate --trace`: a search recorded step by step, and what the CLI shows of it."""

from __future__ import annotations

import json

import pytest

from nmtcli.decoding import SearchOptions
from nmtcli.trace import FINISHED, KEPT, PRUNED
from nmtcli.translator import Translator
from tests.conftest import tiny_pairs

TEXTS = [s for s, _ in tiny_pairs(8, seed=7)] + ["dog", " ".join(["red"] * 9)]


def _kept(step) -> list[list[str]]:
    """A step's kept hypotheses: the live one each extends, plus its piece."""
    return [step.live[c.extends][0] + [c.piece] for c in step.considered if c.fate == KEPT]


@pytest.mark.parametrize("beam", [1, 4])
def test_a_trace_ends_in_the_translation_it_returns(trained_model, beam):
    translator = Translator(trained_model)
    options = SearchOptions(beam_size=beam, trace=True)
    for translation in translator.translate(TEXTS, options, batch_size=3):
        trace = translation.trace
        assert trace is not None and trace.steps and trace.stop
        pieces, log_prob, score = trace.finished()[0]
        assert pieces == translation.best.pieces
        assert log_prob == pytest.approx(translation.best.log_prob, abs=1e-4)
        assert score == pytest.approx(translation.best.score, abs=1e-4)
        for step, following in zip(trace.steps, trace.steps[1:]):
            assert [pieces for pieces, _ in following.live] == _kept(step)


def test_each_step_is_ranked_and_keeps_the_beam(trained_model):
    translator = Translator(trained_model)
    (translation,) = translator.translate(["the red cat"], SearchOptions(beam_size=3, trace=True))
    for step in translation.trace.steps:
        log_probs = [c.log_prob for c in step.considered]
        assert log_probs == sorted(log_probs, reverse=True)
        fates = [c.fate for c in step.considered]
        assert fates.count(KEPT) <= 3 and set(fates) <= {KEPT, FINISHED, PRUNED}
        assert all((c.score is not None) == (c.piece == "</s>") for c in step.considered)
    assert len(translation.trace.steps[0].live) == 1  # only the start hypothesis at step 0


def test_a_greedy_trace_keeps_the_best_and_shows_alternatives(trained_model):
    translator = Translator(trained_model)
    (translation,) = translator.translate(["the dog"], SearchOptions(trace=True))
    for step in translation.trace.steps:
        assert step.considered[0].fate in (KEPT, FINISHED)
        assert {c.fate for c in step.considered[1:]} <= {PRUNED}
    assert translation.trace.stop


def test_no_trace_unless_asked(trained_model):
    (translation,) = Translator(trained_model).translate(["the dog"], SearchOptions())
    assert translation.trace is None


def test_translate_trace_shows_steps_and_json_carries_them(cli, trained_model):
    shown = cli("translate", "-m", str(trained_model), "the red cat", "--trace", "-k", "3")
    assert shown.exit_code == 0, shown.output
    assert "step 0 · 1 live" in shown.output and "stopped after" in shown.output
    plain = cli("translate", "-m", str(trained_model), "the red cat", "-k", "3")
    assert plain.output.strip().splitlines()[-1] in shown.output
    as_json = cli("translate", "-m", str(trained_model), "the red cat", "--trace", "-f", "json")
    record = json.loads(as_json.output)
    assert record["trace"]["steps"][0]["considered"] and record["trace"]["stop"]
    last = record["trace"]["steps"][-1]
    ends = [c for c in last["considered"] if c["fate"] == FINISHED]
    assert ends and "step 0" not in as_json.output
