"""Terminal bar charts and a matplotlib line plot of a metric per source-length bucket.

`bar_chart` is pure (returns a Rich renderable). `save_plot` writes an image file with
matplotlib, which is an optional dependency (`pip install 'nmtcli[plot]'`).
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from nmtcli.errors import NmtError

COLOURS = ("cyan", "magenta", "yellow", "green", "blue", "red")
FILLS = ("█", "▓", "▒", "░", "▚", "▞")  # one fill per series, readable without colour
METRIC_LABELS = {"bleu": "BLEU", "chrf": "chrF", "exact_match": "exact match (%)"}


def bar_chart(
    buckets: list[str],
    series: dict[str, list[float | None]],
    width: int,
    color: bool,
    unit: str = "",
) -> RenderableType:
    """Horizontal bars grouped by bucket, one bar per series (model).

    Args:
        buckets: the group labels (e.g. source-length ranges).
        series: name -> one value per bucket (None where the bucket is empty).
        width: the console width; bars are scaled to fit.
    """
    names = list(series)
    peak = (
        max((v for values in series.values() for v in values if v is not None), default=0.0) or 1.0
    )
    name_width = max(len(n) for n in names)
    bucket_width = max(len(b) for b in buckets)
    bar_room = max(width - name_width - bucket_width - 12, 10)
    table = Table(box=None, show_header=False, padding=(0, 1), pad_edge=False)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    for index, bucket in enumerate(buckets):
        for number, name in enumerate(names):
            value = series[name][index]
            style = COLOURS[number % len(COLOURS)] if color else ""
            fill = "█" if color else FILLS[number % len(FILLS)]
            bar = (
                ""
                if value is None
                else fill * max(1 if value > 0 else 0, round(value / peak * bar_room))
            )
            shown = "–" if value is None else f"{value:.1f}{unit}"
            table.add_row(
                bucket if number == 0 else "",
                Text(name, style=style),
                Text(f"{bar} {shown}", style=style),
            )
        if index < len(buckets) - 1:
            table.add_row("", "", "")
    return Group(table)


def save_plot(
    path: Path,
    buckets: list[str],
    series: dict[str, list[float | None]],
    metric: str,
    title: str,
    xlabel: str = "source sentence length (words)",
) -> None:
    """A line plot of `metric` against `buckets`, one line per model (PNG, SVG or PDF)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise NmtError("--plot needs matplotlib: pip install 'nmtcli[plot]'") from None
    if path.suffix.lower() not in (".png", ".svg", ".pdf"):
        raise NmtError("--plot must end in .png, .svg or .pdf")
    figure, axes = plt.subplots(figsize=(7, 4.5))
    positions = list(range(len(buckets)))
    for name, values in series.items():
        points = [(x, v) for x, v in zip(positions, values) if v is not None]
        axes.plot([x for x, _ in points], [v for _, v in points], marker="o", label=name)
    axes.set_xticks(positions, buckets)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(METRIC_LABELS.get(metric, metric))
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
