"""The Seq2Seq contract, checked on every architecture and attention variant."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from nmtcli.errors import ConfigError
from nmtcli.models import (
    RNNConfig,
    TransformerConfig,
    VocabSizes,
    build_model,
    make_batch,
    model_config_from_dict,
    model_config_to_dict,
    parameter_tree,
)
from nmtcli.models.attention import (
    AdditiveAttention,
    DotAttention,
    GeneralAttention,
    masked_softmax,
)
from nmtcli.models.rnn import reverse_padded
from tests.models_zoo import CONFIGS, copy_data, tiny_model, train_copy

SRC = [[5, 6, 7, 8, 9, 10, 11], [12, 13], [14, 15, 16, 17]]  # mixed lengths
TGT = [[5, 6, 7], [8, 9, 10, 11, 12, 13], [14]]
ALL = list(CONFIGS)
WITH_ATTENTION = [name for name in ALL if "none" not in name]


def _batch():
    return make_batch(SRC, TGT)


@pytest.mark.parametrize("name", ALL)
def test_output_shapes_for_a_mixed_length_batch(name):
    model = tiny_model(name)
    batch = _batch()
    logits, attention = model(batch, need_attention=True)
    vocab = model.output.out_features
    assert logits.shape == (3, 7, vocab)
    layers, heads = model.attention_layout
    if "none" in name:
        assert attention is None
        assert model.attention_layout == (0, 0)
    else:
        assert attention.shape == (3, 7, layers, heads, 8)
    memory = model.encode(batch.src, batch.src_mask)
    assert memory.states.shape[:2] == (3, 8)
    out = model.decode_step(batch.tgt_in[:, 0], model.init_state(memory), memory)
    assert out.log_probs.shape == (3, vocab)
    if "none" not in name:
        assert out.attention.shape == (3, layers, heads, 8)


@pytest.mark.parametrize("name", WITH_ATTENTION)
def test_attention_rows_sum_to_one_and_are_zero_on_padding(name):
    model = tiny_model(name)
    batch = _batch()
    _, attention = model(batch, need_attention=True)  # (B, T, L, N, S)
    padding = ~batch.src_mask  # (B, S)
    assert torch.allclose(attention.sum(-1), torch.ones(attention.shape[:-1]), atol=1e-5)
    assert (
        attention.masked_select(padding[:, None, None, None, :].expand_as(attention)) == 0
    ).all()
    memory = model.encode(batch.src, batch.src_mask)
    step = model.decode_step(batch.tgt_in[:, 0], model.init_state(memory), memory).attention
    assert (step.masked_select(padding[:, None, None, :].expand_as(step)) == 0).all()


@pytest.mark.parametrize("name", ALL)
def test_incremental_decoding_equals_teacher_forcing(name):
    model = tiny_model(name)
    batch = _batch()
    logits, attention = model(batch, need_attention=True)
    expected = torch.log_softmax(logits, dim=-1)  # (B, T, V)
    memory = model.encode(batch.src, batch.src_mask)
    state = model.init_state(memory)
    for t in range(batch.tgt_in.size(1)):
        out = model.decode_step(batch.tgt_in[:, t], state, memory)
        state = out.state
        torch.testing.assert_close(out.log_probs, expected[:, t], atol=1e-5, rtol=0)
        if attention is not None:
            torch.testing.assert_close(out.attention, attention[:, t], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ALL)
def test_reorder_selects_rows_of_the_state(name):
    model = tiny_model(name)
    batch = _batch()
    memory = model.encode(batch.src, batch.src_mask)
    state = model.decode_step(batch.tgt_in[:, 0], model.init_state(memory), memory).state
    index = torch.tensor([2, 0, 0])
    reordered = model.reorder(state, index)
    step_all = model.decode_step(batch.tgt_in[:, 1], state, memory).log_probs
    step_reordered = model.decode_step(
        batch.tgt_in[index, 1], reordered, memory.select(index)
    ).log_probs
    torch.testing.assert_close(step_reordered, step_all[index], atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", ALL)
def test_a_batch_equals_its_sentences_one_by_one(name):
    model = tiny_model(name)
    logits, attention = model(_batch(), need_attention=True)
    for row, (src, tgt) in enumerate(zip(SRC, TGT)):
        alone_logits, alone_attention = model(make_batch([src], [tgt]), need_attention=True)
        length, source = len(tgt) + 1, len(src) + 1
        torch.testing.assert_close(logits[row, :length], alone_logits[0], atol=1e-5, rtol=0)
        if attention is not None:
            torch.testing.assert_close(
                attention[row, :length, ..., :source], alone_attention[0], atol=1e-5, rtol=0
            )


def test_scores_match_the_equations_on_a_hand_computed_example():
    states = torch.tensor([[[1.0, 0.0], [0.0, 2.0], [9.0, 9.0]]])  # (1, 3, 2), last is padding
    mask = torch.tensor([[True, True, False]])
    query = torch.tensor([[[1.0, 1.0]]])  # (1, 1, 2)
    # dot: e = sᵀh = [1, 2] -> softmax [e^1, e^2] / (e^1 + e^2)
    dot = DotAttention()
    context, weights = dot(query, dot.keys(states), states, mask)
    e1, e2 = torch.exp(torch.tensor(1.0)), torch.exp(torch.tensor(2.0))
    expected = torch.tensor([e1 / (e1 + e2), e2 / (e1 + e2), 0.0])
    torch.testing.assert_close(weights[0, 0], expected)
    torch.testing.assert_close(
        context[0, 0], expected[0] * states[0, 0] + expected[1] * states[0, 1]
    )
    # general: e = sᵀ W h with W = [[2, 0], [0, -1]]: [2, -2]
    general = GeneralAttention(2, 2)
    general.w_a.weight.data = torch.tensor([[2.0, 0.0], [0.0, -1.0]])
    _, weights = general(query, general.keys(states), states, mask)
    torch.testing.assert_close(weights[0, 0, :2], torch.softmax(torch.tensor([2.0, -2.0]), 0))
    # additive: e = vᵀ tanh(W_s s + W_h h + b) with W_s = I, W_h = I, b = 0, v = [1, 0.5]
    additive = AdditiveAttention(2, 2, 2)
    additive.w_s.weight.data = torch.eye(2)
    additive.w_h.weight.data = torch.eye(2)
    additive.w_h.bias.data.zero_()
    additive.v.weight.data = torch.tensor([[1.0, 0.5]])
    _, weights = additive(query, additive.keys(states), states, mask)
    energies = torch.tensor(
        [
            torch.tanh(torch.tensor(2.0)) + 0.5 * torch.tanh(torch.tensor(1.0)),
            torch.tanh(torch.tensor(1.0)) + 0.5 * torch.tanh(torch.tensor(3.0)),
        ]
    )
    torch.testing.assert_close(weights[0, 0, :2], torch.softmax(energies, 0))
    assert weights[0, 0, 2] == 0


def test_masked_softmax_is_exactly_zero_on_padding():
    weights = masked_softmax(
        torch.randn(2, 3, 4), torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]]).bool()
    )
    assert (weights[0, :, 2:] == 0).all()


def test_reverse_padded_reverses_only_real_tokens():
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]])
    reversed_x = reverse_padded(x, torch.tensor([3, 2]))
    assert reversed_x.tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]
    assert torch.equal(reverse_padded(reversed_x, torch.tensor([3, 2])), x)


@pytest.mark.parametrize(
    "name",
    [
        "rnn-none-lstm",
        "rnn-none-gru-reversed",
        "rnn-bahdanau-lstm",
        "rnn-dot",
        "rnn-general",
        "rnn-concat-reversed-2layer",
        "transformer",
    ],
)
def test_each_architecture_overfits_a_copy_task(name):
    config = CONFIGS[name]
    if isinstance(config, RNNConfig):
        config = dataclasses.replace(config, emb_size=32, hidden_size=128, dropout=0.0)
        lr = 3e-3
    else:
        config = dataclasses.replace(config, d_model=64, ff_size=128, dropout=0.0)
        lr = 1e-3
    torch.manual_seed(0)
    model = build_model(config, VocabSizes(24, 24, True))
    steps, accuracy = train_copy(model, copy_data(), max_steps=1000, lr=lr)
    assert accuracy == 1.0, f"{name}: {accuracy:.1%} exact match after {steps} steps"


@pytest.mark.parametrize("name", ALL)
def test_parameter_counts_per_module_add_up(name):
    model = tiny_model(name)
    tree = parameter_tree(model)
    unique = {id(p): p.numel() for p in model.parameters()}
    assert tree.count == sum(unique.values())
    assert tree.count == sum(child.count for child in tree.children)
    names = {child.name for child in tree.children}
    assert names >= (
        {"encoder", "output"} if "rnn" in name else {"encoder_layers", "decoder_layers"}
    )
    assert ("output" in names) == ("untied" in name or "rnn" in name)  # tied weights count once


def test_tied_embeddings_share_one_matrix():
    model = tiny_model("transformer")
    assert model.output.weight is model.tgt_embed.weight
    assert model.src_embed is model.tgt_embed
    untied = tiny_model("transformer-untied-separate")
    assert untied.output.weight is not untied.tgt_embed.weight
    assert untied.src_embed is not untied.tgt_embed


def test_configs_round_trip_and_reject_bad_values():
    for config in CONFIGS.values():
        assert model_config_from_dict(model_config_to_dict(config)) == config
    with pytest.raises(ConfigError, match="attention must be one of"):
        RNNConfig(attention="luong")
    with pytest.raises(ConfigError, match="divisible by heads"):
        TransformerConfig(d_model=30, heads=4)
    with pytest.raises(ConfigError, match="unknown option"):
        model_config_from_dict({"arch": "rnn", "d_model": 3})
    with pytest.raises(ConfigError, match="even hidden-size"):
        RNNConfig(hidden_size=33)


@pytest.mark.parametrize(
    "config",
    [
        TransformerConfig(layers=2, d_model=8, heads=2, ff_size=12),
        TransformerConfig(layers=1, d_model=8, heads=2, ff_size=12, tie_embeddings=False),
        *(
            RNNConfig(attention=a, cell=c, bidirectional=b, layers=2, emb_size=5, hidden_size=6)
            for a in ("none", "bahdanau", "dot", "general", "concat")
            for c, b in (("lstm", True), ("gru", False))
        ),
        RNNConfig(attention="general", input_feeding=False, emb_size=5, hidden_size=6),
    ],
)
@pytest.mark.parametrize("vocab", [VocabSizes(11, 13, False), VocabSizes(17, 17, True)])
def test_parameter_count_from_the_config_equals_the_built_model(config, vocab):
    model = build_model(config, vocab)
    assert config.parameter_count(vocab) == sum(p.numel() for p in model.parameters())


def test_a_model_too_big_for_memory_is_refused_before_it_is_built(trained_model, monkeypatch):
    from nmtcli import modeldir
    from nmtcli.errors import ModelDirError

    model_dir = modeldir.ModelDir.load(trained_model)
    needed = 4 * model_dir.run.model.parameter_count(model_dir.vocab_sizes)
    monkeypatch.setattr(modeldir, "_memory_bytes", lambda: needed - 1)
    with pytest.raises(ModelDirError, match="for its weights alone"):
        model_dir.new_model()
    monkeypatch.setattr(modeldir, "_memory_bytes", lambda: needed)
    assert sum(p.numel() for p in model_dir.new_model().parameters()) * 4 == needed
