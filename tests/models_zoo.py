"""Tiny seeded models of every architecture and attention variant, shared by the tests."""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F  # noqa: N812

from nmtcli.models import (
    ModelConfig,
    RNNConfig,
    Seq2Seq,
    TransformerConfig,
    VocabSizes,
    build_model,
    make_batch,
)
from nmtcli.search import SearchOptions, greedy_search

VOCAB = VocabSizes(src=24, tgt=24, joint=True)
SMALL_RNN = {"emb_size": 16, "hidden_size": 32}
CONFIGS: dict[str, ModelConfig] = {
    "rnn-none-lstm": RNNConfig(attention="none", **SMALL_RNN),
    "rnn-none-gru-reversed": RNNConfig(
        attention="none", cell="gru", reverse_source=True, **SMALL_RNN
    ),
    "rnn-bahdanau-lstm": RNNConfig(attention="bahdanau", **SMALL_RNN),
    "rnn-bahdanau-gru-2layer": RNNConfig(attention="bahdanau", cell="gru", layers=2, **SMALL_RNN),
    "rnn-dot": RNNConfig(attention="dot", **SMALL_RNN),
    "rnn-general": RNNConfig(attention="general", **SMALL_RNN),
    "rnn-general-no-feeding-unidirectional": RNNConfig(
        attention="general", input_feeding=False, bidirectional=False, **SMALL_RNN
    ),
    "rnn-concat-reversed-2layer": RNNConfig(
        attention="concat", reverse_source=True, layers=2, **SMALL_RNN
    ),
    "transformer": TransformerConfig(layers=2, d_model=32, heads=4, ff_size=64),
    "transformer-untied-separate": TransformerConfig(
        layers=1, d_model=32, heads=2, ff_size=64, tie_embeddings=False
    ),
}


def tiny_model(name: str, seed: int = 0) -> Seq2Seq:
    """A randomly initialised model in eval mode."""
    torch.manual_seed(seed)
    vocab = VOCAB if "separate" not in name else VocabSizes(src=20, tgt=24, joint=False)
    return build_model(CONFIGS[name], vocab).eval()


def copy_data(count: int = 200, seed: int = 0) -> list[list[int]]:
    """Random sequences of length 5–12 over ids 4..23."""
    rng = random.Random(seed)
    return [[rng.randint(4, 23) for _ in range(rng.randint(5, 12))] for _ in range(count)]


def exact_match(model: Seq2Seq, data: list[list[int]]) -> float:
    """Share of sequences whose greedy output equals the target (a copy)."""
    model.eval()
    hypotheses = greedy_search(model, make_batch(data), SearchOptions())
    return sum(h[0].tokens == d for h, d in zip(hypotheses, data)) / len(data)


def train_copy(
    model: Seq2Seq, data: list[list[int]], max_steps: int, lr: float = 3e-3
) -> tuple[int, float]:
    """Train on the copy task until greedy output is 100% exact; return (steps, accuracy)."""
    rng = random.Random(1)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    warmup = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / 50))
    accuracy = 0.0
    for step in range(1, max_steps + 1):
        model.train()
        chosen = rng.sample(data, 50)
        batch = make_batch(chosen, chosen)
        logits, _ = model(batch)
        loss = F.cross_entropy(logits.flatten(0, 1), batch.tgt_out.flatten(), ignore_index=0)
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        warmup.step()
        if step % 50 == 0:
            accuracy = exact_match(model, data)
            if accuracy == 1.0:
                return step, accuracy
    return max_steps, accuracy
