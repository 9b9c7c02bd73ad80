"""Typed records a model directory keeps: one per validation, one per recorded test score.

Each is written as one JSON object (`metrics.jsonl` lines, `evaluations.json` rows) and read
back field by field, so a record missing a field or holding a wrong type is an error that
names it, never a `KeyError` far away.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, TypeVar

from nmtcli.fieldtypes import type_problem

R = TypeVar("R", bound="_Record")


class _Record:
    """JSON round trip shared by the record types."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form."""
        return asdict(self)  # type: ignore[call-overload]

    @classmethod
    def from_dict(cls: type[R], values: Any) -> R:
        """Read a record, keeping only known fields; ValueError names what is wrong."""
        if not isinstance(values, dict):
            raise ValueError(f"expected an object, not {type(values).__name__}")
        known = {}
        for spec in fields(cls):  # type: ignore[arg-type]
            if spec.name in values:
                known[spec.name] = _checked(spec.name, values[spec.name], spec.type)
            elif spec.default is MISSING:
                raise ValueError(f"missing {spec.name!r}")
        return cls(**known)


def _checked(name: str, value: Any, kind: Any) -> Any:
    """`value` if it has the field's JSON type (ints read as floats where a float is wanted)."""
    problem = type_problem(value, kind)
    if problem:
        raise ValueError(f"{name!r} is {value!r}, not {problem}")
    return float(value) if str(kind) == "float" else value


@dataclass(frozen=True)
class ValidationRecord(_Record):
    """One validation of a training run (a line of `metrics.jsonl`)."""

    step: int
    epoch: float
    train_loss: float
    train_ppl: float
    valid_loss: float
    valid_ppl: float
    valid_bleu: float
    lr: float
    tokens_per_second: float
    train_seconds: float
    tokens: int
    best: bool
    empty_outputs: float = 0.0  # share of greedy validation translations that are empty
    same_outputs: float = 0.0  # share equal to the most frequent one


@dataclass(frozen=True)
class EvaluationRecord(_Record):
    """A test-set score recorded with `nmtcli evaluate --record` (a row of `evaluations.json`)."""

    test: str
    bleu: float
    chrf: float
    sentences: int
    decoding: str = ""
    signature: str = ""
    chrf_signature: str = ""
    kept_verbatim: float | None = None  # share of must-copy spans kept (None: no span)
    degenerate: int | None = None  # count of degenerate outputs
    categories: dict[str, dict] | None = None  # category → its scores (robustness sets)

    def same_test(self, other: EvaluationRecord) -> bool:
        """Whether `other` scores the same test set with the same decoding (it replaces this)."""
        return (self.test, self.decoding) == (other.test, other.decoding)


NOT_LEARNED_BLEU = 1.0
DEGENERATE_SHARE = 0.5


def learning_problem(records: list[ValidationRecord], bleu_measured: bool = True) -> str | None:
    """Why the validations say a model has not learned to translate, or None if they do not."""
    if not records:
        return None
    last, problems = records[-1], []
    if bleu_measured and max(r.valid_bleu for r in records) < NOT_LEARNED_BLEU:
        problems.append(f"validation BLEU never reached {NOT_LEARNED_BLEU:g}")
    if last.empty_outputs > DEGENERATE_SHARE:
        problems.append(f"{last.empty_outputs:.0%} of its validation translations are empty")
    if last.same_outputs > DEGENERATE_SHARE:
        problems.append(f"{last.same_outputs:.0%} of them are the same sentence")
    if len(records) > 1 and min(r.valid_loss for r in records[1:]) >= records[0].valid_loss:
        problems.append("the validation loss never fell")
    if not problems:
        return None
    return (
        "this model has not learned to translate (" + "; ".join(problems) + "): train longer "
        "(--max-steps, --max-time), on more data, or with a smaller model"
    )
