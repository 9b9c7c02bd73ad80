"""Greedy search, batched beam search and forced decoding, written once against `Seq2Seq`.

Pure functions: no I/O, no globals, no knowledge of the architecture.

Scores. A hypothesis y = y_1 … y_n followed by EOS has log-probability
log P(y|x) = Σ_{i=1}^{n+1} log p(y_i | y_<i, x), EOS included, and its score is
log P(y|x) / lp(y) with the GNMT length penalty lp(y) = ((5 + |y|) / 6)^α (Wu et al. 2016,
section 7), where |y| = n + 1 counts EOS. α = 0 ranks by raw log-probability.

Length limit. Sentence b may produce at most
min(max_length, ⌊max_length_ratio · n_b⌋ + 10) tokens before EOS, n_b being its source length in
pieces (EOS excluded); at the limit EOS is the only choice.

Shapes: B batch, K beam, V vocabulary, S source length, t steps so far, L layers, N heads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from nmtcli.batch import BOS_ID, EOS_ID, PAD_ID, Batch, make_batch
from nmtcli.decoding import (  # re-exported: the options and scores belong with the search
    LENGTH_SLACK,
    SearchOptions,
    length_penalty,
    sequence_score,
)
from nmtcli.models.base import Seq2Seq

if TYPE_CHECKING:
    from nmtcli.trace import Tracer

NEG_INF = float("-inf")
TOKENS_PER_SENTENCE = 16  # padded source tokens per sentence of --batch-size a batch may hold


@dataclass
class Hypothesis:
    """One output: tokens without EOS, their log-probability (EOS included) and score."""

    tokens: list[int]
    log_prob: float
    score: float
    attention: Tensor | None  # (n + 1, L, N, S_b): one row per output token, EOS last


def length_limits(batch: Batch, options: SearchOptions) -> Tensor:
    """Per-sentence maximum number of tokens before EOS, (B,)."""
    source = batch.src_mask.sum(1) - 1  # (B,) pieces without EOS
    by_ratio = (source.float() * options.max_length_ratio).floor().long() + LENGTH_SLACK
    return by_ratio.clamp(max=options.max_length)  # (B,)


def banned_ngrams(history: Tensor, n: int, vocab_size: int) -> Tensor:
    """Tokens that would repeat an n-gram already in each row's history.

    Args:
        history: (R, t) tokens generated so far.

    Returns:
        (R, V) True where the next token would complete a repeated n-gram.
    """
    rows, steps = history.shape
    banned = torch.zeros(rows, vocab_size, dtype=torch.bool, device=history.device)
    if steps < n:
        return banned
    if n == 1:
        return banned.scatter_(1, history, True)
    windows = history.unfold(1, n, 1)  # (R, W, n)
    prefix = history[:, steps - n + 1 :].unsqueeze(1)  # (R, 1, n-1)
    match = (windows[:, :, :-1] == prefix).all(-1).float()  # (R, W)
    counts = torch.zeros(rows, vocab_size, device=history.device)
    return counts.scatter_add_(1, windows[:, :, -1], match) > 0  # (R, V)


def constrain(
    log_probs: Tensor, step: int, limits: Tensor, history: Tensor, options: SearchOptions
) -> Tensor:
    """Apply min length, the length limit and no-repeat-ngram to step log-probs (R, V).

    At the length limit EOS is always allowed (even before `min_length`), so every search ends.
    fp32 `log_probs` (the step's own) are modified in place and returned.
    """
    # fp32 even when decoding in bf16/fp16. A step's log-probabilities belong to the search, so
    # fp32 ones are constrained in place: no second (R, V) tensor.
    log_probs = log_probs.float()
    eos_log_probs = log_probs[:, EOS_ID].clone()  # (R,)
    log_probs[:, PAD_ID] = NEG_INF
    log_probs[:, BOS_ID] = NEG_INF
    if step < options.min_length:
        log_probs[:, EOS_ID] = NEG_INF
    if options.no_repeat_ngram:
        log_probs.masked_fill_(
            banned_ngrams(history, options.no_repeat_ngram, log_probs.size(1)), NEG_INF
        )
    at_limit = limits <= step  # (R,)
    if at_limit.any():
        log_probs[at_limit] = NEG_INF
        log_probs[at_limit, EOS_ID] = eos_log_probs[at_limit]
    return log_probs


def search(
    model: Seq2Seq, batch: Batch, options: SearchOptions, tracer: Tracer | None = None
) -> list[list[Hypothesis]]:
    """Decode a batch: greedy when `beam_size == 1`, else beam search.

    A `tracer` (`nmtcli.trace.Tracer`) records every step of the search.

    Returns:
        For each sentence, its `n_best` hypotheses sorted by score (best first).
    """
    if options.beam_size == 1:
        return greedy_search(model, batch, options, tracer)
    return beam_search(model, batch, options, tracer)


@torch.inference_mode()
def translate_ids(
    model: Seq2Seq,
    sources: list[list[int]],
    options: SearchOptions,
    device: torch.device | str = "cpu",
    batch_size: int = 64,
    tracer: Tracer | None = None,
) -> list[list[Hypothesis]]:
    """Decode many id sequences, batched by similar length; results in input order.

    A batch holds at most `batch_size` sentences and at most `batch_size` · TOKENS_PER_SENTENCE
    padded source tokens, so the batches of long sentences are smaller: a search's memory grows
    with the batch's padded length, and a fixed count of long sentences set the peak.
    """
    order = sorted(range(len(sources)), key=lambda i: len(sources[i]))
    results: list[list[Hypothesis]] = [[] for _ in sources]
    for chunk in _chunks(order, [len(s) for s in sources], batch_size):
        batch = make_batch([sources[i] for i in chunk]).to(device)
        if tracer is not None:
            tracer.begin_batch(chunk)
        for index, hypotheses in zip(chunk, search(model, batch, options, tracer)):
            results[index] = hypotheses
    return results


def _chunks(order: list[int], lengths: list[int], batch_size: int) -> list[list[int]]:
    """`order` (by length) cut into batches within both limits of `translate_ids`."""
    budget = batch_size * TOKENS_PER_SENTENCE
    chunks: list[list[int]] = []
    for index in order:
        longest = lengths[index] + 1  # sorted: this one is the longest so far (+ EOS)
        if chunks and len(chunks[-1]) < batch_size and longest * (len(chunks[-1]) + 1) <= budget:
            chunks[-1].append(index)
        else:
            chunks.append([index])
    return chunks


@torch.inference_mode()
def greedy_search(
    model: Seq2Seq, batch: Batch, options: SearchOptions, tracer: Tracer | None = None
) -> list[list[Hypothesis]]:
    """Pick the most probable token at each step; finished sentences leave the batch."""
    memory = model.encode(batch.src, batch.src_mask)
    state = model.init_state(memory)
    limits = length_limits(batch, options)  # (B,)
    size, device = batch.size, batch.src.device
    alive = torch.arange(size, device=device)  # original index of each row
    history = torch.empty(size, 0, dtype=torch.long, device=device)  # (R, t)
    total = torch.zeros(size, device=device)  # (R,)
    attention_history: list[Tensor] = []  # per step (R, L, N, S) for the rows alive then
    results: list[list[Hypothesis]] = [[] for _ in range(size)]
    prev = torch.full((size,), BOS_ID, dtype=torch.long, device=device)
    for step in range(int(limits.max()) + 1):
        out = model.decode_step(prev, state, memory, options.need_attention)
        state = out.state
        log_probs = constrain(out.log_probs, step, limits[alive], history, options)  # (R, V)
        if tracer is not None:
            tracer.greedy_step(step, alive, history, total, log_probs)
        best_log_prob, best = log_probs.max(dim=-1)  # (R,), (R,)
        total = total + best_log_prob
        history = torch.cat([history, best.unsqueeze(1)], dim=1)  # (R, t+1)
        if out.attention is not None:
            attention_history.append(out.attention)
        finished = best == EOS_ID  # (R,)
        for row in finished.nonzero().flatten().tolist():
            index = int(alive[row])
            tokens = history[row, :-1].tolist()
            attention = _greedy_attention(attention_history, row, batch.src_mask[index])
            log_prob = float(total[row])
            score = sequence_score(log_prob, len(tokens) + 1, options.length_penalty)
            results[index] = [Hypothesis(tokens, log_prob, score, attention)]
        if finished.all():
            break
        if finished.any():
            keep = (~finished).nonzero().flatten()  # (R',)
            state, memory = model.reorder(state, keep), memory.select(keep)
            alive, history, total, best = alive[keep], history[keep], total[keep], best[keep]
            attention_history = [a.index_select(0, keep) for a in attention_history]
        prev = best
    return results


def _greedy_attention(history: list[Tensor], row: int, src_mask: Tensor) -> Tensor | None:
    """One finished row's attention (n + 1, L, N, S_b), trimmed to its real source length."""
    if not history:
        return None
    length = int(src_mask.sum())
    return torch.stack([step[row] for step in history])[..., :length].float().cpu()


@torch.inference_mode()
def beam_search(
    model: Seq2Seq, batch: Batch, options: SearchOptions, tracer: Tracer | None = None
) -> list[list[Hypothesis]]:
    """Batched beam search: all sentences × beams in one tensor (B·K rows).

    At each step the 2K best continuations of each sentence are ranked; those ending in EOS
    within the top K become finished hypotheses (the best K are kept), and the best K others form
    the next beam. A sentence is done when its best live beam, scored at its current length,
    cannot beat its n-th best finished hypothesis (see `_BeamState._is_done`), or at its length
    limit, where every beam finishes; done sentences leave the batch.
    """
    beam, size = options.beam_size, batch.size
    memory = model.encode(batch.src, batch.src_mask)
    device = batch.src.device
    memory = memory.select(torch.arange(size, device=device).repeat_interleave(beam))
    state = model.init_state(memory)
    search = _BeamState.start(size, beam, device, length_limits(batch, options), tracer)
    for step in range(int(search.limits.max()) + 1):
        # Unpacked at once, so that the previous step's cache is freed before the reorder below
        # copies this one: two caches alive at the peak, not three.
        log_probs, attention, state = model.decode_step(
            search.prev, state, memory, options.need_attention
        )
        row_limits = search.limits.repeat_interleave(beam)  # (R,)
        log_probs = constrain(log_probs, step, row_limits, search.history, options)
        rows = search.advance(log_probs, attention, options, batch.src_mask)
        del log_probs  # (R, V), not needed while the reorder below copies the cache
        if search.active.numel() == 0:
            break
        state = model.reorder(state, rows)
        if search.dropped:
            memory = memory.select(rows)
    return [sorted(found, key=lambda h: -h.score)[: options.n_best] for found in search.finished]


@dataclass
class _BeamState:
    """The bookkeeping of a batched beam search (everything but the model state)."""

    beam: int
    active: Tensor  # (A,) original indices of the sentences still searching
    limits: Tensor  # (A,)
    scores: Tensor  # (A, K) raw log-probabilities of the live beams
    history: Tensor  # (A·K, t) tokens so far
    attention: Tensor | None  # (A·K, t, L, N, S)
    finished: list[list[Hypothesis]]
    prev: Tensor  # (A·K,) last tokens
    dropped: bool = False  # whether the last step removed finished sentences
    tracer: Tracer | None = None

    @classmethod
    def start(
        cls, size: int, beam: int, device: torch.device, limits: Tensor, tracer: Tracer | None
    ) -> _BeamState:
        """All sentences active; only beam 0 is live at the first step."""
        scores = torch.full((size, beam), NEG_INF, device=device)
        scores[:, 0] = 0.0
        return cls(
            beam=beam,
            active=torch.arange(size, device=device),
            limits=limits,
            scores=scores,
            history=torch.empty(size * beam, 0, dtype=torch.long, device=device),
            attention=None,
            finished=[[] for _ in range(size)],
            prev=torch.full((size * beam,), BOS_ID, dtype=torch.long, device=device),
            tracer=tracer,
        )

    def advance(
        self, log_probs: Tensor, attention: Tensor | None, options: SearchOptions, src_mask: Tensor
    ) -> Tensor:
        """Take one step; return the state rows (A'·K,) the model should keep, in order."""
        count, beam = self.active.numel(), self.beam
        vocab = log_probs.size(-1)
        # In place: the step's log-probabilities are not read again.
        candidates = log_probs.view(count, beam, vocab).add_(self.scores.unsqueeze(-1))
        candidates = candidates.view(count, -1)  # (A, K·V)
        top_scores, top_index = candidates.topk(2 * beam, dim=1)  # (A, 2K)
        origin, token = top_index // vocab, top_index % vocab  # (A, 2K)
        if attention is not None:
            step_attention = attention.unsqueeze(1)  # (R, 1, L, N, S)
            self.attention = (
                step_attention
                if self.attention is None
                else torch.cat([self.attention, step_attention], 1)
            )
        self._finish(top_scores, origin, token, options, src_mask)
        live_scores = top_scores.masked_fill(token == EOS_ID, NEG_INF)  # (A, 2K)
        scores, position = live_scores.topk(beam, dim=1)  # (A, K)
        if self.tracer is not None:
            ranked = (top_scores, origin, token)
            self.tracer.beam_step(self.active, self.history, self.scores, ranked, position)
        self.scores = scores
        origin, token = origin.gather(1, position), token.gather(1, position)  # (A, K)
        rows = (torch.arange(count, device=origin.device).unsqueeze(1) * beam + origin).flatten()
        self.history = torch.cat([self.history[rows], token.reshape(-1, 1)], dim=1)  # (R, t+1)
        if self.attention is not None:
            self.attention = self.attention[rows]
        self.prev = token.flatten()
        return self._drop_done(rows, options)

    def _finish(
        self,
        top_scores: Tensor,
        origin: Tensor,
        token: Tensor,
        options: SearchOptions,
        src_mask: Tensor,
    ) -> None:
        """Record EOS continuations ranked within the top K as finished hypotheses."""
        ends = (token[:, : self.beam] == EOS_ID) & (top_scores[:, : self.beam] > NEG_INF)  # (A, K)
        for sentence, rank in ends.nonzero().tolist():
            index = int(self.active[sentence])
            row = sentence * self.beam + int(origin[sentence, rank])
            tokens = self.history[row].tolist()
            log_prob = float(top_scores[sentence, rank])
            score = sequence_score(log_prob, len(tokens) + 1, options.length_penalty)
            attention = None
            if self.attention is not None:
                attention = self.attention[row, :, ..., : int(src_mask[index].sum())].float().cpu()
            found = self.finished[index]
            found.append(Hypothesis(tokens, log_prob, score, attention))
            found.sort(key=lambda h: -h.score)
            del found[self.beam :]

    def _is_done(self, found: list[Hypothesis], best_live: float, options: SearchOptions) -> bool:
        """Whether an active sentence (its finished hypotheses `found`) is settled.

        It is once it holds n finished hypotheses and the best live beam (raw log-probability
        `best_live`), scored as if it ended at the next step (over the length penalty at its
        current length + 1), cannot beat the n-th of them. This is the usual heuristic (GNMT,
        Hugging Face's default): a live beam could still gain by growing longer under α > 0, but
        stopping here keeps beam search about as many steps as greedy search instead of running
        to the length limit.
        """
        if len(found) < options.n_best:
            return False
        if best_live == NEG_INF:
            return True
        return found[options.n_best - 1].score >= self._bound(best_live, options.length_penalty)

    def _bound(self, best_live: float, alpha: float) -> float:
        """The best score a live beam of raw log-probability `best_live` could still reach."""
        return best_live / length_penalty(self.history.size(1) + 1, alpha)

    def _trace_stops(
        self, done: list[bool], active: list[int], best_live: list[float], options: SearchOptions
    ) -> None:
        """Tell the tracer why each done sentence stopped."""
        assert self.tracer is not None
        n, length = options.n_best, self.history.size(1) + 1
        for index, best, finished in zip(active, best_live, done):
            if finished:
                live = best, self._bound(best, options.length_penalty), length
                self.tracer.beam_stop(index, live, (n, self.finished[index][n - 1].score))

    def _drop_done(self, rows: Tensor, options: SearchOptions) -> Tensor:
        """Remove finished sentences; return the surviving state rows."""
        best_live = self.scores.max(dim=1).values.tolist()  # (A,), read once
        active = self.active.tolist()
        done = torch.tensor(
            [
                self._is_done(self.finished[index], best, options)
                for index, best in zip(active, best_live)
            ],
            dtype=torch.bool,
            device=rows.device,
        )
        self.dropped = bool(done.any())
        if not self.dropped:
            return rows
        if self.tracer is not None:
            self._trace_stops(done.tolist(), active, best_live, options)
        keep = (~done).nonzero().flatten()  # (A',)
        keep_rows = (
            keep.unsqueeze(1) * self.beam + torch.arange(self.beam, device=rows.device)
        ).flatten()
        self.active, self.limits, self.scores = (
            self.active[keep],
            self.limits[keep],
            self.scores[keep],
        )
        self.history, self.prev = self.history[keep_rows], self.prev[keep_rows]
        if self.attention is not None:
            self.attention = self.attention[keep_rows]
        return rows[keep_rows]


@torch.inference_mode()
def forced_decode(
    model: Seq2Seq, batch: Batch, need_attention: bool = True
) -> tuple[Tensor, Tensor | None]:
    """Teacher-forced log-probabilities of the given targets (EOS included).

    Returns:
        Per-token log-probabilities (B, T), 0 on padding, and attention (B, T, L, N, S) or None.
    """
    assert batch.tgt_out is not None
    logits, attention = model(batch, need_attention=need_attention)  # (B, T, V)
    log_probs = torch.log_softmax(logits.float(), dim=-1)
    token_log_probs = log_probs.gather(2, batch.tgt_out.unsqueeze(-1)).squeeze(-1)  # (B, T)
    return token_log_probs.masked_fill(batch.tgt_out == PAD_ID, 0.0), attention
