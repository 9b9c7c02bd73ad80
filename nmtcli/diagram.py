"""Drawing a model's encoder–decoder (`nmtcli info --diagram`): in the terminal and as SVG.

The boxes, links, loops and ties come from `nmtcli.models.diagram`; this module lays them out
in two columns (encoder left, decoder right, data flowing down), placing the encoder's box that
feeds the decoder first level with the decoder box it feeds. The SVG is written by hand: a few
rectangles, lines and labels, no plotting library needed.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from nmtcli.errors import ConfigError
from nmtcli.io import atomic_write_text
from nmtcli.models.diagram import Box, Diagram


@dataclass(frozen=True)
class Layout:
    """Which row each side's boxes sit in."""

    encoder_offset: int
    decoder_offset: int
    rows: int

    @classmethod
    def of(cls, diagram: Diagram) -> Layout:
        """Rows such that the first link runs level, from its encoder box to its decoder box."""
        first = diagram.links[0] if diagram.links else None
        shift = 0 if first is None else first.target - first.source
        encoder, decoder = max(shift, 0), max(-shift, 0)
        rows = max(encoder + len(diagram.encoder), decoder + len(diagram.decoder))
        return cls(encoder, decoder, rows)

    def cell(self, boxes: list[Box], offset: int, row: int) -> Box | None:
        """The box of a side in `row`, if any."""
        index = row - offset
        return boxes[index] if 0 <= index < len(boxes) else None


def _marks(diagram: Diagram, side: str, index: int) -> str:
    """Symbols for a box that a loop enters (↺) or that shares its weights (⇔)."""
    marks = ""
    if side == "decoder" and any(loop.target == index for loop in diagram.loops):
        marks += " ↺"
    if any((side, index) in (tie.first, tie.second) for tie in diagram.ties):
        marks += " ⇔"
    return marks


def _panel(diagram: Diagram, box: Box | None, side: str, index: int, color: bool) -> Panel | str:
    if box is None:
        return ""
    style = ("cyan" if side == "encoder" else "magenta") if color else ""
    title = f"[bold]{escape(box.title)}[/]{_marks(diagram, side, index)}"
    return Panel(Text(box.detail), title=title, title_align="left", border_style=style)


def diagram_view(diagram: Diagram, color: bool) -> RenderableType:
    """The diagram as Rich renderables: a three-column grid, then the loops and ties."""
    layout = Layout.of(diagram)
    grid = Table.grid(padding=(0, 1), expand=True)
    grid.add_column("encoder", ratio=4)
    grid.add_column("link", ratio=3, justify="center")
    grid.add_column("decoder", ratio=5)
    grid.add_row(Text("ENCODER", style="bold"), "", Text("DECODER (one step i)", style="bold"))
    for row in range(layout.rows):
        encoder = layout.cell(diagram.encoder, layout.encoder_offset, row)
        decoder = layout.cell(diagram.decoder, layout.decoder_offset, row)
        if row:
            above_enc = layout.cell(diagram.encoder, layout.encoder_offset, row - 1)
            above_dec = layout.cell(diagram.decoder, layout.decoder_offset, row - 1)
            grid.add_row(
                "  ↓" if encoder and above_enc else "", "", "  ↓" if decoder and above_dec else ""
            )
        links = [
            f"{link.label}\n──▶"
            if link.source + layout.encoder_offset == row
            else f"(from {diagram.encoder[link.source].title}) {link.label}\n──▶"
            for link in diagram.links
            if link.target + layout.decoder_offset == row
        ]
        grid.add_row(
            _panel(diagram, encoder, "encoder", row - layout.encoder_offset, color),
            Text("\n".join(links), style="yellow" if color else ""),
            _panel(diagram, decoder, "decoder", row - layout.decoder_offset, color),
        )
    notes = [
        f"↺ {diagram.decoder[loop.source].title} → {diagram.decoder[loop.target].title}, "
        f"next step: {loop.label}"
        for loop in diagram.loops
    ]
    notes += [
        f"⇔ {_named(diagram, tie.first)} and {_named(diagram, tie.second)}: {tie.label}"
        for tie in diagram.ties
    ]
    return Group(Text(diagram.title, style="bold"), grid, *(Text(n) for n in notes))


def _named(diagram: Diagram, where: tuple[str, int]) -> str:
    side, index = where
    boxes = diagram.encoder if side == "encoder" else diagram.decoder
    return f"{side} {boxes[index].title}"


# -- SVG --------------------------------------------------------------------------------------

COLUMN_X = {"encoder": 20, "decoder": 560}
COLUMN_WIDTH = {"encoder": 300, "decoder": 340}
LINE, GAP, WRAP = 15, 34, 46
COLOURS = {"encoder": "#2a7ab0", "decoder": "#a03c8c", "link": "#c07a00", "loop": "#555"}


def _box_lines(box: Box) -> list[str]:
    return textwrap.wrap(box.detail, WRAP) if box.detail else []


def _box_height(box: Box) -> int:
    return 26 + LINE * len(_box_lines(box))


def save_svg(diagram: Diagram, path: Path) -> None:
    """Write the diagram as an SVG file."""
    if path.suffix.lower() != ".svg":
        raise ConfigError(f"--diagram-out {path}: the name must end in .svg")
    layout = Layout.of(diagram)
    tops, y = [], 70
    for row in range(layout.rows):
        boxes = [
            layout.cell(diagram.encoder, layout.encoder_offset, row),
            layout.cell(diagram.decoder, layout.decoder_offset, row),
        ]
        tops.append(y)
        y += max(_box_height(b) for b in boxes if b is not None) + GAP
    where: dict[tuple[str, int], tuple[int, int, int, int]] = {}  # (x, y, width, height)
    parts = [
        f'<text x="20" y="28" font-size="18" font-weight="bold">{xml_escape(diagram.title)}</text>',
        _heading("ENCODER", "encoder"),
        _heading("DECODER (one step i)", "decoder"),
    ]
    for side, boxes, offset in (
        ("encoder", diagram.encoder, layout.encoder_offset),
        ("decoder", diagram.decoder, layout.decoder_offset),
    ):
        for index, box in enumerate(boxes):
            x, top, width = COLUMN_X[side], tops[index + offset], COLUMN_WIDTH[side]
            where[side, index] = (x, top, width, _box_height(box))
            parts.append(_svg_box(box, x, top, width, COLOURS[side]))
            if index:
                _, above, _, height = where[side, index - 1]
                middle = x + width // 2
                parts.append(_arrow(middle, above + height, middle, top, COLOURS[side]))
    parts += [_svg_link(link.source, link.target, link.label, where) for link in diagram.links]
    parts += [
        _svg_loop(n, loop.source, loop.target, loop.label, where)
        for n, loop in enumerate(diagram.loops)
    ]
    parts += [
        _svg_tie(n, tie.first, tie.second, tie.label, where) for n, tie in enumerate(diagram.ties)
    ]
    width = COLUMN_X["decoder"] + COLUMN_WIDTH["decoder"] + 300
    atomic_write_text(path, _document(parts, width, y + 10), follow=True)


def _document(parts: list[str], width: int, height: int) -> str:
    marker = (
        '<marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="context-stroke"/></marker>'
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" '
        f'font-size="12"><defs>{marker}</defs><rect width="100%" height="100%" fill="white"/>'
        + "".join(parts)
        + "</svg>\n"
    )


def _heading(text: str, side: str) -> str:
    return (
        f'<text x="{COLUMN_X[side]}" y="56" font-weight="bold" fill="{COLOURS[side]}">{text}</text>'
    )


def _svg_box(box: Box, x: int, y: int, width: int, colour: str) -> str:
    height = _box_height(box)
    lines = "".join(
        f'<text x="{x + 8}" y="{y + 36 + LINE * n}">{xml_escape(line)}</text>'
        for n, line in enumerate(_box_lines(box))
    )
    return (
        f'<rect x="{x}" y="{y}" width="{width}" height="{height}" rx="6" fill="#fafafa" '
        f'stroke="{colour}" stroke-width="1.5"/>'
        f'<text x="{x + 8}" y="{y + 18}" font-weight="bold" fill="{colour}">'
        f"{xml_escape(box.title)}</text>{lines}"
    )


def _arrow(x1: float, y1: float, x2: float, y2: float, colour: str, dashed: bool = False) -> str:
    dash = ' stroke-dasharray="5,4"' if dashed else ""
    return (
        f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="{colour}" stroke-width="1.5"'
        f'{dash} marker-end="url(#head)"/>'
    )


def _label(x: float, y: float, text: str, colour: str, anchor: str = "middle") -> str:
    lines = textwrap.wrap(text, 30)
    return "".join(
        f'<text x="{x}" y="{y + LINE * n}" text-anchor="{anchor}" fill="{colour}" '
        f'font-style="italic">{xml_escape(line)}</text>'
        for n, line in enumerate(lines)
    )


def _svg_link(source: int, target: int, label: str, where: dict) -> str:
    sx, sy, sw, sh = where["encoder", source]
    tx, ty, _, th = where["decoder", target]
    start, end = (sx + sw, sy + sh / 2), (tx, ty + th / 2)
    lines = len(textwrap.wrap(label, 30))
    along = 0.5 if start[1] == end[1] else 0.62  # a sloping link is labelled nearer its end
    middle = (
        start[0] + along * (end[0] - start[0]),
        start[1] + along * (end[1] - start[1]) - 8 - LINE * (lines - 1),
    )
    colour = COLOURS["link"]
    return _arrow(*start, *end, colour) + _label(middle[0], middle[1], label, colour)


def _svg_loop(number: int, source: int, target: int, label: str, where: dict) -> str:
    sx, sy, sw, sh = where["decoder", source]
    _, ty, _, th = where["decoder", target]
    out = sx + sw + 18 + 16 * number
    a, b = sy + sh / 2 + 6 * number, ty + th / 2 - 6 * number
    if source == target:  # a box feeding itself: out of its lower half, back into its upper
        a, b = sy + sh * 0.7, sy + sh * 0.3
    colour = COLOURS["loop"]
    path = (
        f'<path d="M{sx + sw},{a} H{out} V{b} H{sx + sw}" fill="none" stroke="{colour}" '
        f'stroke-width="1.2" stroke-dasharray="2,3" marker-end="url(#head)"/>'
    )
    return path + _label(out + 6, (a + b) / 2 + 4, f"↺ {label}", colour, "start")


def _svg_tie(number: int, first: tuple, second: tuple, label: str, where: dict) -> str:
    fx, fy, fw, fh = where[first]
    sx, sy, _, sh = where[second]
    colour = "#2e8b57"
    if first[0] == second[0]:  # same column: a bracket on its left
        x = fx - 8 - 6 * number
        line = (
            f'<path d="M{fx},{fy + fh / 2} H{x} V{sy + sh / 2} H{sx}" fill="none" '
            f'stroke="{colour}" stroke-dasharray="5,4"/>'
        )
        return line + _label(x - 4, (fy + sy) / 2 + fh, f"⇔ {label}", colour, "end")
    line = (
        f'<line x1="{fx + fw}" y1="{fy + fh - 6}" x2="{sx}" y2="{sy + sh - 6}" stroke="{colour}" '
        'stroke-dasharray="5,4"/>'
    )
    return line + _label((fx + fw + sx) / 2, fy + fh + 12, f"⇔ {label}", colour)
