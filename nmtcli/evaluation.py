"""Evaluation of translations against references: corpus scores, failure modes, length buckets.

Pure: takes lists of strings, returns numbers. Words are whitespace-separated tokens.

- BLEU and chrF: sacreBLEU corpus scores with default settings (signatures kept).
- exact match: share of hypotheses identical to their reference.
- length ratio: total hypothesis words / total reference words.
- repetition: share of hypotheses in which some n-gram (2 ≤ n ≤ 4) occurs at least twice and
  more often than in the reference (a repetition the reference does not justify).
- too short / too long: share of hypotheses with fewer than 0.8× / more than 1.2× the
  reference's words.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

from nmtcli.records import EvaluationRecord

SHORT, LONG = 0.8, 1.2
NGRAM_RANGE = (2, 4)


@dataclass(frozen=True)
class Scores:
    """Metrics of one set of sentences."""

    sentences: int
    bleu: float
    chrf: float
    exact_match: float
    length_ratio: float
    repetition: float
    too_short: float
    too_long: float

    def as_dict(self) -> dict[str, float]:
        """JSON-ready, rounded."""
        return {
            key: round(value, 4) if isinstance(value, float) else value
            for key, value in asdict(self).items()
        }


@dataclass(frozen=True)
class Bucket:
    """A source-length bucket and its scores."""

    label: str
    low: int
    high: int | None  # inclusive; None is open-ended
    scores: Scores


@dataclass(frozen=True)
class Report:
    """Scores for a whole test set, and per source-length bucket."""

    overall: Scores
    buckets: list[Bucket]
    bleu_signature: str
    chrf_signature: str


def _ngrams(words: list[str], n: int) -> Counter[tuple[str, ...]]:
    """Counts of the n-grams of a word list."""
    return Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))


def has_unjustified_repetition(hypothesis: str, reference: str) -> bool:
    """Whether the hypothesis repeats an n-gram (2 ≤ n ≤ 4) more often than the reference does."""
    hyp, ref = hypothesis.split(), reference.split()
    for n in range(NGRAM_RANGE[0], NGRAM_RANGE[1] + 1):
        reference_counts = _ngrams(ref, n)
        for gram, count in _ngrams(hyp, n).items():
            if count >= 2 and count > reference_counts[gram]:
                return True
    return False


def score_set(hypotheses: list[str], references: list[str]) -> tuple[Scores, str, str]:
    """Scores of aligned hypotheses and references, with the BLEU and chrF signatures."""
    from sacrebleu.metrics import BLEU, CHRF

    count = len(hypotheses)
    if count == 0:
        return Scores(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0), "", ""
    bleu, chrf = BLEU(), CHRF()
    bleu_score = bleu.corpus_score(hypotheses, [references]).score
    chrf_score = chrf.corpus_score(hypotheses, [references]).score
    hyp_lengths = [len(h.split()) for h in hypotheses]
    ref_lengths = [len(r.split()) for r in references]
    scores = Scores(
        sentences=count,
        bleu=bleu_score,
        chrf=chrf_score,
        exact_match=sum(h.strip() == r.strip() for h, r in zip(hypotheses, references)) / count,
        length_ratio=sum(hyp_lengths) / max(sum(ref_lengths), 1),
        repetition=sum(has_unjustified_repetition(h, r) for h, r in zip(hypotheses, references))
        / count,
        too_short=sum(h < SHORT * r for h, r in zip(hyp_lengths, ref_lengths)) / count,
        too_long=sum(h > LONG * r for h, r in zip(hyp_lengths, ref_lengths)) / count,
    )
    return scores, bleu.get_signature().format(), chrf.get_signature().format()


def bucket_edges(width: int, last: int) -> list[tuple[int, int | None]]:
    """[(1, w), (w+1, 2w), …, (last+1, None)] source-length ranges (in words)."""
    edges: list[tuple[int, int | None]] = [
        (low, low + width - 1) for low in range(1, last + 1, width)
    ]
    edges.append((edges[-1][1] + 1 if edges else 1, None))  # type: ignore[operator]
    return edges


def _label(low: int, high: int | None) -> str:
    """`1–10` or `61+`."""
    return f"{low}+" if high is None else f"{low}–{high}"


def evaluate(
    sources: list[str],
    hypotheses: list[str],
    references: list[str],
    width: int = 10,
    last: int = 60,
) -> Report:
    """Overall scores and scores per source-length bucket (empty buckets left out)."""
    overall, bleu_signature, chrf_signature = score_set(hypotheses, references)
    lengths = [len(s.split()) for s in sources]
    buckets = []
    for low, high in bucket_edges(width, last):
        members = [i for i, n in enumerate(lengths) if n >= low and (high is None or n <= high)]
        if members:
            scores, _, _ = score_set(
                [hypotheses[i] for i in members], [references[i] for i in members]
            )
            buckets.append(Bucket(_label(low, high), low, high, scores))
    return Report(overall, buckets, bleu_signature, chrf_signature)


def report_dict(report: Report) -> dict:
    """JSON-ready form of a report."""
    return {
        "overall": report.overall.as_dict(),
        "buckets": [
            {"label": b.label, "low": b.low, "high": b.high, **b.scores.as_dict()}
            for b in report.buckets
        ],
        "bleu_signature": report.bleu_signature,
        "chrf_signature": report.chrf_signature,
    }


def bucket_labels(reports: list[Report]) -> list[str]:
    """Every bucket label of some report, in length order."""
    seen = {b.label: b.low for report in reports for b in report.buckets}
    return sorted(seen, key=seen.__getitem__)


def bucket_values(report: Report, labels: list[str], metric: str) -> list[float | None]:
    """The metric per bucket label (None for an empty bucket)."""
    by_label = {b.label: getattr(b.scores, metric) for b in report.buckets}
    return [by_label.get(label) for label in labels]


def evaluation_record(test: str, report: Report, decoding: str) -> EvaluationRecord:
    """The record `evaluate --record` keeps in a model directory."""
    return EvaluationRecord(
        test=test,
        bleu=round(report.overall.bleu, 2),
        chrf=round(report.overall.chrf, 2),
        sentences=report.overall.sentences,
        decoding=decoding,
        signature=report.bleu_signature,
        chrf_signature=report.chrf_signature,
    )
