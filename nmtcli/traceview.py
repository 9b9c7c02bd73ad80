"""The terminal view of a search trace (`translate --trace`): one table per step.

Each step's table lists the continuations the search ranked, best first: the live hypothesis
each extends, the piece it adds, the log-probability of the result and, once it ends in EOS, its
length-normalised score; and what became of it (kept, finished, pruned). Builds renderables and
never prints on its own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from nmtcli.trace import FINISHED, KEPT, PRUNED

if TYPE_CHECKING:
    from nmtcli.trace import SearchTrace, TraceStep
    from nmtcli.translation import Translation

FATE_STYLES = {KEPT: "green", FINISHED: "bold cyan", PRUNED: "dim"}
START = "⟨start⟩"


def hypothesis_text(pieces: list[str]) -> str:
    """Pieces as the words they spell (`▁Éteins ▁les` → `Éteins les`), or ⟨start⟩."""
    return "".join(pieces).replace("▁", " ").strip() or START


def step_table(step: TraceStep, color: bool) -> RenderableType:
    """One step: every continuation ranked, with its fate."""
    fates = [c.fate for c in step.considered]
    counts = ", ".join(f"{fates.count(f)} {f}" for f in (KEPT, FINISHED, PRUNED) if f in fates)
    heading = f"step {step.step} · {len(step.live)} live · {len(fates)} ranked: {counts}"
    table = Table(box=None, padding=(0, 1))
    for header, justify in (("extends", "left"), ("+ piece", "left"), ("log P", "right")):
        table.add_column(header, justify=justify)  # type: ignore[arg-type]
    table.add_column("score", justify="right")
    table.add_column("fate")
    for candidate in step.considered:
        pieces, _ = step.live[candidate.extends]
        score = "" if candidate.score is None else f"{candidate.score:.3f}"
        style = FATE_STYLES[candidate.fate] if color else ""
        table.add_row(
            escape(hypothesis_text(pieces)),
            escape(candidate.piece),
            f"{candidate.log_prob:.3f}",
            score,
            Text(candidate.fate, style=style),
        )
    return Group(Text(heading, style="bold" if color else ""), table)


def trace_view(trace: SearchTrace, title: str, color: bool) -> RenderableType:
    """A whole search: a heading, each step's table, why it stopped and what it returned."""
    parts: list[RenderableType] = [Text(title, style="bold" if color else "")]
    parts += [step_table(step, color) for step in trace.steps]
    parts.append(Text(f"stopped after {len(trace.steps)} steps: {trace.stop}"))
    found = trace.finished()
    if found:
        pieces, log_prob, score = found[0]
        best = f"best finished: {hypothesis_text(pieces)}"
        numbers = f"  (log P {log_prob:.3f}, score {score:.3f})"
        parts.append(Text(best + numbers, style="bold" if color else ""))
    return Group(*parts, Text(""))


def translation_traces(translation: Translation, label: str, color: bool) -> list[RenderableType]:
    """The trace of each sentence of a translated line (one for a line translated whole)."""
    sentences = translation.sentences or [translation]
    return [
        trace_view(s.trace, f"search trace ({label}): {s.source}", color)
        for s in sentences
        if s.trace is not None
    ]
