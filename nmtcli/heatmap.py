"""Attention matrices: choosing a view, merging pieces into words, alignments, terminal heatmaps.

Pure: functions take numbers and labels and return new values or Rich renderables; nothing here
prints or knows which architecture produced the weights.

Shapes: T target tokens (EOS included), S source tokens (EOS included), L layers, N heads.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from rich import box
from rich.console import Group, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

from nmtcli.errors import NmtError

WORD_START = "\u2581"  # SentencePiece's word-boundary marker
SPECIALS = ("</s>", "<s>", "<unk>", "<pad>")
SHADES = " ░▒▓█"
ARGMAX_MARK = "●"
MAX_LABEL = 12
# Five anchor colours of the viridis colour map, from α = 0 to α = 1.
VIRIDIS = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


@dataclass
class AttentionMatrix:
    """Weights (rows: target tokens, columns: source tokens) with their labels."""

    weights: list[list[float]]
    rows: list[str]
    cols: list[str]


def attention_view(
    attention: torch.Tensor, layer: int | None = None, head: int | None = None
) -> torch.Tensor:
    """One (T, S) matrix from (T, L, N, S) weights.

    Args:
        layer: 1-based layer; default the penultimate (the last for a one-layer model): its
            cross-attention aligns most sharply (Garg et al. 2019; on the shipped model the mean
            row maximum over 200 dev sentences is 0.69 there against 0.58 in the last layer).
        head: 1-based head; default the mean over heads.
    """
    _, layers, heads, _ = attention.shape
    layer = default_layer(layers) if layer is None else layer
    if not 1 <= layer <= layers:
        raise NmtError(f"--attention-layer must be between 1 and {layers}")
    chosen = attention[:, layer - 1]  # (T, N, S)
    if head is None:
        return chosen.mean(dim=1)  # (T, S)
    if not 1 <= head <= heads:
        raise NmtError(f"--attention-head must be between 1 and {heads}")
    return chosen[:, head - 1]  # (T, S)


def default_layer(layers: int) -> int:
    """The 1-based layer shown when none is asked for: the penultimate, or the only one."""
    return max(1, layers - 1)


def view_label(layout: tuple[int, int], layer: int | None, head: int | None) -> str:
    """A caption naming the view, e.g. `layer 3/3, mean of 4 heads` (empty for an RNN)."""
    layers, heads = layout
    if layers <= 1 and heads <= 1:
        return ""
    which_head = f"head {head}/{heads}" if head is not None else f"mean of {heads} heads"
    return f"layer {layer or default_layer(layers)}/{layers}, {which_head}"


def word_groups(pieces: list[str]) -> list[list[int]]:
    """Indices of the pieces forming each word (a piece starting with ▁ starts a word)."""
    groups: list[list[int]] = []
    for index, piece in enumerate(pieces):
        if (
            not groups
            or piece.startswith(WORD_START)
            or piece in SPECIALS
            or pieces[index - 1] in SPECIALS
        ):
            groups.append([index])
        else:
            groups[-1].append(index)
    return groups


def _word_label(pieces: list[str], group: list[int]) -> str:
    """The surface form of a word."""
    return "".join(pieces[i] for i in group).replace(WORD_START, "") or WORD_START


def merge_words(matrix: AttentionMatrix) -> AttentionMatrix:
    """Word-level weights: summed over a source word's pieces, averaged over a target word's.

    Rows still sum to 1: a target word's row is the mean of its pieces' rows, and grouping
    source columns only adds up probability mass.
    """
    weights = torch.tensor(matrix.weights)  # (T, S)
    src_groups, tgt_groups = word_groups(matrix.cols), word_groups(matrix.rows)
    by_source = torch.stack([weights[:, g].sum(dim=1) for g in src_groups], dim=1)  # (T, Sw)
    by_word = torch.stack([by_source[g].mean(dim=0) for g in tgt_groups])  # (Tw, Sw)
    return AttentionMatrix(
        by_word.tolist(),
        [_word_label(matrix.rows, g) for g in tgt_groups],
        [_word_label(matrix.cols, g) for g in src_groups],
    )


def pharaoh(matrix: AttentionMatrix) -> str:
    """Pharaoh word alignments `i-j` (source i, target j, 0-based), by argmax attention.

    End-of-sentence rows and columns are left out. Expects a word-level matrix.
    """
    src_words = [i for i, label in enumerate(matrix.cols) if label not in SPECIALS]
    if not src_words:
        return ""
    links = []
    tgt_words = [j for j, label in enumerate(matrix.rows) if label not in SPECIALS]
    for position, row in enumerate(tgt_words):
        best = max(src_words, key=lambda column: matrix.weights[row][column])
        links.append(f"{src_words.index(best)}-{position}")
    return " ".join(links)


def _viridis(alpha: float) -> tuple[int, int, int]:
    """Interpolated viridis colour for α in [0, 1]."""
    position = min(max(alpha, 0.0), 1.0) * (len(VIRIDIS) - 1)
    low = min(int(position), len(VIRIDIS) - 2)
    fraction = position - low
    start, end = VIRIDIS[low], VIRIDIS[low + 1]
    red, green, blue = (round(a + (b - a) * fraction) for a, b in zip(start, end))
    return red, green, blue


def _cell(alpha: float, width: int, is_max: bool, color: bool) -> Text:
    """One heatmap cell: a coloured percentage, or shading characters without colour."""
    if not color:
        shade = SHADES[min(int(alpha * len(SHADES)), len(SHADES) - 1)] if alpha >= 0.05 else " "
        if not is_max:
            return Text(shade * width)
        left = (width - 1) // 2
        return Text(shade * left + ARGMAX_MARK + shade * (width - 1 - left))
    red, green, blue = _viridis(alpha)
    foreground = "black" if alpha > 0.55 else "white"
    style = Style.parse(f"{foreground} on rgb({red},{green},{blue})")
    if is_max:
        style += Style(bold=True, underline=True)
    label = f"{round(alpha * 100)}" if alpha >= 0.005 else ""
    return Text(label.center(width), style=style)


def _truncate(label: str, limit: int = MAX_LABEL) -> str:
    """Shorten a long label with an ellipsis."""
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _column_blocks(widths: list[int], available: int) -> list[list[int]]:
    """Split columns into consecutive blocks whose total width fits `available`."""
    blocks: list[list[int]] = [[]]
    used = 0
    for index, width in enumerate(widths):
        if blocks[-1] and used + width + 1 > available:
            blocks.append([])
            used = 0
        blocks[-1].append(index)
        used += width + 1
    return blocks


def _block_table(
    matrix: AttentionMatrix,
    labels: list[Text],
    columns: list[str],
    widths: list[int],
    block: list[int],
    label_width: int,
    color: bool,
) -> Table:
    """One table of the heatmap: every row, the columns in `block`."""
    table = Table(
        box=box.SIMPLE_HEAD, padding=(0, 0), pad_edge=False, collapse_padding=True, show_edge=False
    )
    table.add_column("", justify="right", no_wrap=True, min_width=label_width)
    for index in block:
        table.add_column(
            columns[index],
            justify="center",
            no_wrap=True,
            width=widths[index],
            min_width=widths[index],
        )
    for row, label in enumerate(labels):
        weights = matrix.weights[row]
        maximum = max(range(len(weights)), key=weights.__getitem__) if weights else -1
        table.add_row(label, *(_cell(weights[i], widths[i], maximum == i, color) for i in block))
    return table


def render_heatmap(
    matrix: AttentionMatrix,
    width: int,
    color: bool,
    title: str | None = None,
    row_notes: list[str] | None = None,
    row_styles: list[str] | None = None,
) -> RenderableType:
    """A terminal heatmap: one row per target token, one column per source token.

    Long sentences are split into blocks of columns that fit `width`, each a table with the same
    row labels. The maximum of each row is underlined (colour) or marked ● (no colour).

    Args:
        row_notes: text appended to each row label (e.g. a token probability).
        row_styles: Rich style per row label (e.g. red for unlikely tokens).
    """
    labels = [_truncate(label) for label in matrix.rows]
    if row_notes is not None:
        labels = [f"{label} {note}" for label, note in zip(labels, row_notes)]
    labels_text = [
        Text(label, style=row_styles[row] if row_styles else "") for row, label in enumerate(labels)
    ]
    columns = [_truncate(label) for label in matrix.cols]
    widths = [max(3, len(label)) for label in columns]
    label_width = max((len(label) for label in labels), default=1)
    blocks = _column_blocks(widths, max(width - label_width - 4, 4))
    tables = [
        _block_table(matrix, labels_text, columns, widths, block, label_width, color)
        for block in blocks
    ]
    if len(blocks) > 1:
        for number, (table, block) in enumerate(zip(tables, blocks), start=1):
            first, last = block[0] + 1, block[-1] + 1
            table.caption = (
                f"source tokens {first}–{last} of {len(columns)} ({number}/{len(blocks)})"
            )
    header = [Text(title, style="bold")] if title else []
    return Group(*header, *tables)
