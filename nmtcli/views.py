"""Rich renderables of typed results: heatmap recordings, score tables, the model card view.

Builds what the terminal shows and never prints on its own: the CLI hands in the console.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console, Group, RenderableType
from rich.markdown import Markdown
from rich.markup import escape
from rich.table import Table
from rich.tree import Tree

from nmtcli.errors import ConfigError
from nmtcli.evaluation import bucket_values
from nmtcli.vocab import SideStats, side_stats

if TYPE_CHECKING:
    from nmtcli.card import ModelSummary
    from nmtcli.evaluation import Report, Scores
    from nmtcli.heatmap import AttentionMatrix
    from nmtcli.models.base import ParamNode
    from nmtcli.runconfig import RunConfig
    from nmtcli.translation import Translation
    from nmtcli.vocab import TrainedVocab

HEATMAP_SUFFIXES = (".svg", ".html", ".htm")
SCORE_COLUMNS = ("n", "BLEU", "chrF", "exact", "length", "repeats", "short", "long")
CATEGORY_COLUMNS = ("n", "BLEU", "chrF", "verbatim", "degenerate")


def check_heatmap_file(path: Path | None, force: bool = False) -> None:
    """Refuse a heatmap file nmtcli cannot write (or must not replace), before any work is done."""
    from nmtcli.outputs import check_output

    if path is not None and path.suffix.lower() not in HEATMAP_SUFFIXES:
        raise ConfigError(f"--attention-out {path}: the name must end in .svg or .html")
    check_output(path, force=force)


class HeatmapSink:
    """Shows heatmaps on a console and, optionally, records them for an SVG/HTML file."""

    def __init__(self, console: Console, color: bool, out_file: Path | None) -> None:
        """`out_file`: checked by the caller (`check_heatmap_file`)."""
        self.console, self.color, self.out_file = console, color, out_file
        self.recorder = None
        if out_file is not None:
            width = max(console.width, 100)
            self.recorder = Console(record=True, width=width, file=io.StringIO())

    def show(self, matrix: AttentionMatrix, title: str, **notes: Any) -> None:
        """Render one heatmap."""
        from nmtcli.heatmap import render_heatmap

        self.console.print(render_heatmap(matrix, self.console.width, self.color, title, **notes))
        self.console.print()
        if self.recorder is not None:
            self.recorder.print(render_heatmap(matrix, self.recorder.width, True, title, **notes))
            self.recorder.print()

    def show_translation(
        self,
        translation: Translation,
        matrix: AttentionMatrix,
        layout: tuple[int, int],
        view: tuple[int | None, int | None],
    ) -> None:
        """Render a translated line's heatmap, titled with the line, its translation and view."""
        from nmtcli.heatmap import view_label  # (torch: not loaded for plain CTranslate2 output)

        label = view_label(layout, *view)
        title = f"{translation.source} → {translation.best.text}"
        self.show(matrix, title + (f"   [{label}]" if label else ""))

    def save(self) -> None:
        """Write the recorded heatmaps (SVG or HTML, by the file's suffix)."""
        if self.recorder is None or self.out_file is None:
            return
        if self.out_file.suffix.lower() == ".svg":
            self.recorder.save_svg(str(self.out_file), title="nmtcli attention")
        else:
            self.recorder.save_html(str(self.out_file))


def scores_row(label: str, scores: Scores) -> list[str]:
    """One table row of metrics."""
    return [
        label,
        f"{scores.sentences:,}",
        f"{scores.bleu:.2f}",
        f"{scores.chrf:.2f}",
        f"{scores.exact_match:.1%}",
        f"{scores.length_ratio:.3f}",
        f"{scores.repetition:.1%}",
        f"{scores.too_short:.1%}",
        f"{scores.too_long:.1%}",
    ]


def scores_table(title: str, rows: list[list[str]], first: str) -> Table:
    """A table of metric rows, with a caption that defines the failure-mode columns."""
    table = Table(title=title, title_justify="left")
    for header in (first, *SCORE_COLUMNS):
        table.add_column(header, justify="left" if header == first else "right")
    table.caption = (
        "exact: identical to the reference; length: hypothesis/reference words; repeats: an "
        "n-gram repeated more than in the reference; short/long: < 0.8× / > 1.2× the reference"
    )
    for row in rows:
        table.add_row(*row)
    return table


def evaluation_tables(title: str, report: Report, by_length: bool) -> list[Table]:
    """What `evaluate` shows: the whole set, then by length if asked, by category if scored."""
    tables = [scores_table(title, [scores_row("all", report.overall)], "set")]
    if by_length:
        rows = [scores_row(b.label, b.scores) for b in report.buckets]
        tables.append(scores_table("by source length (words)", rows, "length"))
    if report.categories:
        tables.append(category_table(report))
    return tables


def _category_row(label: str, scores: Scores) -> list[str]:
    """One row of the category table."""
    share, spans = scores.kept_verbatim, scores.verbatim_spans
    kept = "–" if share is None else f"{share:.1%} ({round(share * spans)}/{spans})"
    corpus = (f"{scores.sentences:,}", f"{scores.bleu:.2f}", f"{scores.chrf:.2f}")
    return [label, *corpus, kept, f"{scores.degenerate:,}"]


def category_table(report: Report) -> Table:
    """Per category, then the whole set: sentences, BLEU, chrF, kept verbatim, degenerate."""
    table = Table(title="by category", title_justify="left")
    for header in ("category", *CATEGORY_COLUMNS):
        table.add_column(header, justify="left" if header == "category" else "right")
    table.caption = (
        "verbatim: must-copy spans (numbers, names, symbols of the source that the reference "
        "copies) found in the output; degenerate: outputs with a runaway repetition or over 3× "
        "the source's words"
    )
    for category in report.categories:
        table.add_row(*_category_row(category.name, category.scores))
    table.add_row(*_category_row("all", report.overall), style="bold")
    return table


def comparison_table(reports: dict[str, Report], labels: list[str], metric: str) -> Table:
    """Rows: buckets and the whole set; columns: the metric for each model."""
    table = Table(title=f"{metric} by source length (words)", title_justify="left")
    table.add_column("length")
    table.add_column("sentences", justify="right")
    for name in reports:
        table.add_column(name, justify="right")
    first = next(iter(reports.values()))
    counts = {b.label: b.scores.sentences for b in first.buckets}
    fmt = (lambda v: f"{v:.1%}") if metric == "exact_match" else (lambda v: f"{v:.2f}")
    for label in labels:
        values = [bucket_values(r, [label], metric)[0] for r in reports.values()]
        table.add_row(
            label, f"{counts.get(label, 0):,}", *("–" if v is None else fmt(v) for v in values)
        )
    table.add_row(
        "all",
        f"{first.overall.sentences:,}",
        *(fmt(getattr(r.overall, metric)) for r in reports.values()),
        style="bold",
    )
    return table


def comparison_chart(
    labels: list[str], series: dict[str, list[float | None]], metric: str, width: int, color: bool
) -> RenderableType:
    """The bar chart of `compare`: the metric per bucket for each model (exact match in %)."""
    from nmtcli.charts import bar_chart

    unit = "%" if metric == "exact_match" else ""
    scaled = {
        name: [None if v is None else (v * 100 if unit else v) for v in values]
        for name, values in series.items()
    }
    return bar_chart(labels, scaled, width, color, unit)


def parameter_tree(node: ParamNode, max_depth: int = 3, tree: Tree | None = None) -> Tree:
    """The architecture as a tree with parameter counts, `max_depth` levels deep."""
    label = f"[bold]{node.name}[/] [dim]{node.kind}[/] {node.count:,}"
    branch = Tree(label) if tree is None else tree.add(label)
    if max_depth > 0:
        for child in node.children:
            parameter_tree(child, max_depth - 1, branch)
    return branch


def model_facts(summary: ModelSummary) -> Table:
    """A model's key facts as a two-column table."""
    from nmtcli.card import training_line, vocabulary_line

    run, best = summary.run, summary.best
    table = Table(show_header=False, box=None, padding=(0, 2))
    table.add_column(style="bold")
    table.add_column()
    table.add_row("architecture", run.model.describe())
    table.add_row("parameters", f"{summary.parameters.count:,}")
    table.add_row("vocabulary", vocabulary_line(summary))
    if run.data is not None:
        pairs = f"{run.data.train_pairs:,} training / {run.data.valid_pairs:,} validation pairs"
        table.add_row("data", pairs)
    if summary.last is not None:
        table.add_row("training", training_line(summary.last))
    if best is not None:
        table.add_row(
            "best validation",
            f"BLEU {best.valid_bleu:.2f}, perplexity {best.valid_ppl:.2f} (step {best.step:,})",
        )
    for row in summary.evaluations:
        table.add_row(
            f"test: {row.test}", f"BLEU {row.bleu:.2f}, chrF {row.chrf:.2f} ({row.decoding})"
        )
    if summary.problem:
        table.add_row("[yellow]warning[/]", escape(summary.problem))
    return table


def model_card(summary: ModelSummary, depth: int) -> Group:
    """What `nmtcli info` shows: name, facts, the parameter tree and the card notes."""
    parts: list[Any] = [
        f"[bold]{summary.name}[/]",
        model_facts(summary),
        "",
        parameter_tree(summary.parameters, depth),
    ]
    if summary.notes:
        parts += ["", Markdown(summary.notes)]
    return Group(*parts)


def vocabulary_table(trained: TrainedVocab) -> Table:
    """Vocabulary size, pieces per sentence, coverage and unknown rate per side."""
    vocabulary, sample = trained.vocabulary, trained.sample
    sides: list[tuple[str, SideStats]] = [
        ("source", side_stats(vocabulary.src, [s for s, _ in sample])),
        ("target", side_stats(vocabulary.tgt, [t for _, t in sample])),
    ]
    kind = "joint" if vocabulary.joint else "separate"
    table = Table(title=f"{kind} {vocabulary.model_type} vocabulary, {trained.pairs_read:,} pairs")
    for header in ("side", "vocab size", "pieces/sentence", "char coverage", "unknown rate"):
        table.add_column(header, justify="left" if header == "side" else "right")
    for name, stats in sides:
        table.add_row(
            name,
            f"{stats.vocab_size:,}",
            f"{stats.pieces_per_sentence:.1f}",
            f"{stats.character_coverage:.4%}",
            f"{stats.unknown_rate:.4%}",
        )
    if len(sample) < trained.pairs_read:
        table.caption = f"statistics on the first {len(sample):,} pairs"
    return table


def show_diagram(
    run: RunConfig, console: Console, svg: Path | None, color: bool, force: bool = False
) -> None:
    """Print a model's encoder–decoder diagram; with `svg`, also write it there (`force`: anew)."""
    from nmtcli.diagram import diagram_view, save_svg
    from nmtcli.models.diagram import model_diagram
    from nmtcli.outputs import check_output

    diagram = model_diagram(run.model, run.vocab)
    console.print(diagram_view(diagram, color and console.is_terminal))
    if svg is not None:
        check_output(svg, force=force)
        save_svg(diagram, svg)
        console.print(f"wrote {svg}", highlight=False)
