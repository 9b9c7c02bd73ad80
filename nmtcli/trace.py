"""A record of a search, step by step: what `translate --trace` shows.

At each step the search extends its live hypotheses; the trace keeps, for each sentence, the
hypotheses it extended (with their log-probabilities), the continuations it ranked (the top
`width` pieces for greedy search, the 2K best of all K × V for beam search) and what became of
each: `kept` for the next step, `finished` (it ended in EOS), or `pruned`; and, at the end, why
the search stopped. The recorder (`Tracer`) is handed to `search.search`, which calls it once a
step; it turns ids into pieces as it records, so a trace is plain data, ready for JSON.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from nmtcli.batch import EOS_ID
from nmtcli.decoding import sequence_score

if TYPE_CHECKING:
    from torch import Tensor

KEPT, FINISHED, PRUNED = "kept", "finished", "pruned"
GREEDY_WIDTH = 5  # alternatives a greedy trace shows per step


@dataclass
class Considered:
    """One continuation the search ranked: a live hypothesis (by index) and one more piece."""

    extends: int  # index into the step's `live`
    piece: str
    log_prob: float  # of the whole hypothesis with this piece
    fate: str  # kept, finished or pruned
    score: float | None = None  # length-normalised, for a finished hypothesis


@dataclass
class TraceStep:
    """One step of the search: the live hypotheses and the continuations ranked."""

    step: int
    live: list[tuple[list[str], float]]  # (pieces so far, log-probability)
    considered: list[Considered]


@dataclass
class SearchTrace:
    """The steps of one sentence's search and why it stopped."""

    steps: list[TraceStep] = field(default_factory=list)
    stop: str = ""

    def finished(self) -> list[tuple[list[str], float, float]]:
        """Every finished hypothesis as (pieces, log-probability, score), best score first."""
        found = [
            (step.live[c.extends][0], c.log_prob, c.score or 0.0)
            for step in self.steps
            for c in step.considered
            if c.fate == FINISHED
        ]
        return sorted(found, key=lambda item: -item[2])

    def to_dict(self) -> dict[str, Any]:
        """The trace as JSON-ready data."""
        return {
            "steps": [
                {
                    "step": step.step,
                    "live": [{"pieces": p, "log_prob": round(lp, 6)} for p, lp in step.live],
                    "considered": [_rounded(asdict(c)) for c in step.considered],
                }
                for step in self.steps
            ],
            "stop": self.stop,
        }


def _rounded(values: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 6) if isinstance(v, float) else v for k, v in values.items()}


class Tracer:
    """Records the searches of a batch; `traces[i]` is sentence i's (in the caller's order)."""

    def __init__(self, piece: Callable[[int], str], alpha: float) -> None:
        self.piece, self.alpha = piece, alpha
        self.traces: dict[int, SearchTrace] = {}
        self._index: list[int] = []

    def begin_batch(self, indices: list[int]) -> None:
        """The caller's sentence index of each row of the next batch."""
        self._index = indices
        for index in indices:
            self.traces[index] = SearchTrace()

    def _pieces(self, ids: list[int]) -> list[str]:
        return [self.piece(i) for i in ids]

    def greedy_step(
        self, step: int, alive: Tensor, history: Tensor, total: Tensor, log_probs: Tensor
    ) -> None:
        """Record a greedy step: each row's top pieces; the first is taken."""
        values, tokens = log_probs.topk(min(GREEDY_WIDTH, log_probs.size(1)), dim=1)
        for row, index in enumerate(alive.tolist()):
            trace = self.traces[self._index[index]]
            prefix, before = history[row].tolist(), float(total[row])
            considered = []
            for rank, (value, token) in enumerate(zip(values[row].tolist(), tokens[row].tolist())):
                if value == float("-inf"):
                    break
                fate = (FINISHED if token == EOS_ID else KEPT) if rank == 0 else PRUNED
                considered.append(self._considered(0, token, before + value, fate, len(prefix)))
            trace.steps.append(TraceStep(step, [(self._pieces(prefix), before)], considered))
            if tokens[row, 0] == EOS_ID:
                forced = int((log_probs[row] > float("-inf")).sum()) == 1
                trace.stop = (
                    f"the length limit ({len(prefix)} pieces) left EOS as the only choice"
                    if forced
                    else "EOS was the most probable piece"
                )

    def beam_step(
        self,
        active: Tensor,
        history: Tensor,
        scores: Tensor,
        ranked: tuple[Tensor, Tensor, Tensor],
        kept: Tensor,
    ) -> None:
        """Record a beam step: the 2K continuations ranked and which were kept or finished.

        Args:
            active: (A,) batch indices of the sentences still searching.
            history: (A·K, t) tokens of the live beams; scores: (A, K) their log-probabilities.
            ranked: (top_scores, origin, token), each (A, 2K), best first.
            kept: (A, K) positions into the 2K that form the next beam.
        """
        top_scores, origin, token = (t.tolist() for t in ranked)
        beam, steps = scores.size(1), history.size(1)
        for sentence, index in enumerate(active.tolist()):
            live_rows = [k for k, s in enumerate(scores[sentence].tolist()) if s > float("-inf")]
            live = [
                (self._pieces(history[sentence * beam + k].tolist()), float(scores[sentence, k]))
                for k in live_rows
            ]
            chosen = set(kept[sentence].tolist())
            considered = []
            for rank, (value, k, piece) in enumerate(
                zip(top_scores[sentence], origin[sentence], token[sentence])
            ):
                if value == float("-inf") or k not in live_rows:
                    continue
                if piece == EOS_ID:
                    fate = FINISHED if rank < beam else PRUNED
                else:
                    fate = KEPT if rank in chosen else PRUNED
                considered.append(self._considered(live_rows.index(k), piece, value, fate, steps))
            self.traces[self._index[index]].steps.append(TraceStep(steps, live, considered))

    def beam_stop(self, index: int, live: tuple[float, float, int], nth: tuple[int, float]) -> None:
        """Record why a sentence's beam search ended.

        `live` is its best live beam's raw log-probability (-inf when none is left), the best
        score it could still reach (search's bound) and the length that bound assumes; `nth`
        is (n, score) of its n-th best finished hypothesis.
        """
        trace = self.traces[self._index[index]]
        (best_live, bound, length), (n, score) = live, nth
        if best_live == float("-inf"):
            trace.stop = "no live hypothesis was left: every one had ended in EOS"
            return
        trace.stop = (
            f"the best live hypothesis could score at most {bound:.3f} (log-prob "
            f"{best_live:.3f} over the length penalty at {length} pieces), no better than "
            f"finished hypothesis {n}'s {score:.3f}"
        )

    def _considered(
        self, extends: int, token: int, log_prob: float, fate: str, length: int
    ) -> Considered:
        score = sequence_score(log_prob, length + 1, self.alpha) if token == EOS_ID else None
        return Considered(extends, self.piece(token), log_prob, fate, score)
