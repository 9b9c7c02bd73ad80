"""Validation: perplexity on the whole validation set and BLEU of greedy translations."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import torch

from nmtcli.device import autocast
from nmtcli.models import Seq2Seq
from nmtcli.search import SearchOptions, translate_ids
from nmtcli.training.data import ParallelData, collate, sequential_batches
from nmtcli.training.loss import smoothed_loss
from nmtcli.vocab import Tokenizer


@dataclass(frozen=True)
class ValidationResult:
    """Validation loss (per-token NLL, no smoothing), perplexity and BLEU."""

    loss: float
    ppl: float
    bleu: float
    empty: float = 0.0  # share of greedy translations that are empty
    same: float = 0.0  # share of greedy translations equal to the most frequent one

    def score(self, metric: str) -> float:
        """The early-stopping score: `bleu` or `loss`."""
        return self.bleu if metric == "bleu" else self.loss


@dataclass(frozen=True)
class Validator:
    """Scores a model on the validation set (on the main rank only)."""

    data: ParallelData
    tgt_tokenizer: Tokenizer
    batch_tokens: int
    bleu_sentences: int
    device: torch.device
    dtype: torch.dtype | None  # autocast

    def __call__(self, model: Seq2Seq) -> ValidationResult:
        """Validate `model` in eval mode, restoring training mode afterwards."""
        model.eval()
        try:
            loss = self.loss(model)
            bleu, empty, same = self.bleu(model)
            return ValidationResult(loss, math.exp(min(loss, 50.0)), bleu, empty, same)
        finally:
            model.train()

    @torch.inference_mode()
    def loss(self, model: Seq2Seq) -> float:
        """Per-token negative log-likelihood over the whole validation set."""
        nll, tokens = 0.0, 0
        for indices in sequential_batches(self.data, self.batch_tokens):
            batch = collate(self.data, indices).to(self.device)
            with autocast(self.dtype, self.device):
                logits, _ = model(batch)
            _, nll_sum, count = smoothed_loss(logits, batch.tgt_out, 0.0)
            nll, tokens = nll + float(nll_sum), tokens + count
        return nll / max(tokens, 1)

    def bleu(self, model: Seq2Seq) -> tuple[float, float, float]:
        """Corpus BLEU (sacreBLEU defaults) of greedy translations of the first N pairs.

        Also the shares of those translations that are empty and that repeat the most frequent
        one: a model that has not learned says the same thing, or nothing, to every input.
        """
        from sacrebleu.metrics import BLEU

        count = min(self.bleu_sentences, len(self.data))
        if count == 0 or self.data.tgt_text is None:
            return 0.0, 0.0, 0.0
        sources = [self.data.src.get(i).tolist() for i in range(count)]
        hypotheses = translate_ids(model, sources, SearchOptions(), self.device, batch_size=64)
        detokenized = [self.tgt_tokenizer.decode(h[0].tokens) for h in hypotheses]
        bleu = BLEU().corpus_score(detokenized, [self.data.tgt_text[:count]]).score
        empty = sum(not text.strip() for text in detokenized) / count
        same = Counter(detokenized).most_common(1)[0][1] / count
        return bleu, empty, same
