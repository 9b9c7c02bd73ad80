"""Translating text with a model directory: tokenize, batch by length, search, detokenize.

Sits between the CLI and the search/models layers; no terminal I/O.
"""

from __future__ import annotations

import torch

from nmtcli.models import Seq2Seq, make_batch
from nmtcli.search import Hypothesis, SearchOptions, search


def translate_ids(
    model: Seq2Seq,
    sources: list[list[int]],
    options: SearchOptions,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
) -> list[list[Hypothesis]]:
    """Decode many id sequences, batched by similar length; results in input order."""
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    results: list[list[Hypothesis]] = [[] for _ in sources]
    for start in range(0, len(order), batch_size):
        chunk = order[start : start + batch_size]
        batch = make_batch([sources[i] for i in chunk]).to(device)
        for index, hypotheses in zip(chunk, search(model, batch, options)):
            results[index] = hypotheses
    return results
