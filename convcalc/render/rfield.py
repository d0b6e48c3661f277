"""`convcalc draw --rf`: the positions one unit depends on, one panel per tensor.

Input to the chosen entry, along the last two spatial axes (one row for a 1-D network),
each tensor's grid grown by the padding its readers read: positions the unit depends on,
padding it reads, and the counts (from `analysis.dependence`).  `layout()` places the
panels on a `canvas.Canvas` (SVG or PNG); `text()` is the terminal rendering.

Parsable SVG: each panel is `<g class="grid" data-role="rf" data-name=... data-rows=...
data-cols=... data-pad="top,bottom,left,right" data-seen=... data-padding-read=...>` with
one `<rect class="cell KIND [seen|read] [chosen]" data-r data-c data-n>` per run of `n`
equal cells along a row, starting at r, c (KIND: input or pad; tensor coordinates,
negative in the leading padding); the cell borders are lines drawn over them.
"""

from __future__ import annotations

import textwrap

import numpy as np

from ..analysis.dependence import Dependence, Tensor
from .canvas import Canvas, to_svg, write_png

#: the most cells drawn along one axis; larger grids are cropped around what is seen
LIMIT = 512
#: panels wrap onto a new row past this width (SVG units)
ROW_WIDTH = 1400
SEEN, UNSEEN, PAD_READ, PAD = "■", "·", "□", "◦"
LEGEND = f"legend: {SEEN} depends on  {UNSEEN} does not  {PAD_READ} padding read  {PAD} padding not read"
SVG_LEGEND = ("blue: positions the unit depends on (count of all positions); dark grey: padding it reads; "
              "light: not read; green: the unit")
_FILL = {("input", False): "#dbe9f6", ("input", True): "#2b6cb0", ("pad", False): "#eeeeee",
         ("pad", True): "#8a8a8a"}


def title(dep: Dependence) -> str:
    if dep.unit is None:
        return f"receptive field of {dep.entry} (every unit: its output does not carry the input's spatial axes)"
    at = f"{dep.unit[0]},{dep.unit[1]}" if dep.axes == 2 else str(dep.unit[1])
    return f"receptive field of {dep.entry} at {at}"


def notes(dep: Dependence) -> list[str]:
    gone = [t.name for t in dep.tensors if not t.spatial]
    if not gone:
        return list(dep.notes)
    return list(dep.notes) + [f"not drawn (no spatial axes left): {', '.join(gone)}; a layer that reads its "
                              "whole input (Flatten, Linear, pooling to size 1) makes every position visible"]


def heading(t: Tensor) -> str:
    return t.name if t.name == "input" else f"{t.name} ({t.label})"


def caption(t: Tensor, axes: int = 2) -> str:
    pad = f" +{t.padding_read} padding" if t.padding_read else ""
    size = f"{t.rows}x{t.cols}" if axes == 2 else f"{t.cols}"
    return f"{t.count} of {t.rows * t.cols} ({size}){pad}"


def _shown(t: Tensor) -> tuple[tuple[int, int], tuple[int, int]]:
    """Rows and columns of the grown grid shown: all, or LIMIT around what is read."""
    h, w = t.read.shape
    rows, cols = np.nonzero(t.read)
    spans = []
    for size, found in ((h, rows), (w, cols)):
        if size <= LIMIT:
            spans.append((0, size))
            continue
        lo, hi = (int(found.min()), int(found.max())) if len(found) else (0, 0)
        a = min(max((lo + hi) // 2 - LIMIT // 2, 0), size - LIMIT)
        spans.append((a, a + LIMIT))
    return spans[0], spans[1]


# ------------------------------------------------------------------ geometry

def layout(dep: Dependence) -> Canvas:
    canvas = Canvas()
    add = canvas.add
    add("text", ("x", 10), ("y", 20), ("class", "title"), text=title(dep))
    x, y, row_h, width = 10, 34, 0, 10
    panels = [t for t in dep.tensors if t.spatial]
    for i, t in enumerate(panels):
        (ra, rb), (ca, cb) = _shown(t)
        cell = max(1, min(18, 384 // max(rb - ra, cb - ca, 1)))
        grid_w = (cb - ca) * cell
        label_w = 7 * max(len(heading(t)), len(caption(t, dep.axes)))
        w = max(grid_w, label_w)
        if i and x + 30 + w > ROW_WIDTH:
            x, y, row_h = 10, y + row_h + 16, 0
        if i and x > 10:
            add("text", ("x", x + 4), ("y", y + 46), ("class", "arrow"), text="→")
            x += 30
        add("text", ("x", x), ("y", y + 12), ("class", "label"), text=heading(t))
        add("text", ("x", x), ("y", y + 27), ("class", "note"), text=caption(t, dep.axes))
        _grid(canvas, t, x, y + 36, cell, (ra, rb), (ca, cb))
        x += w + 10
        width = max(width, x)
        row_h = max(row_h, 36 + (rb - ra) * cell + 18)
    y += row_h + 8
    for note in notes(dep) + [SVG_LEGEND]:
        add("text", ("x", 10), ("y", y + 4), ("class", "note"), text=note)
        width = max(width, 20 + 6 * len(note))
        y += 18
    canvas.width, canvas.height = width + 10, y + 6
    return canvas


def _grid(canvas: Canvas, t: Tensor, x0: int, y0: int, cell: int, rspan, cspan) -> None:
    """One rect per run of equal cells along a row (a 224x224 grid stays small), then the
    cell borders as lines."""
    (ra, rb), (ca, cb) = rspan, cspan
    top, bottom, left, right = t.padding_cells()
    add = canvas.add
    add("g", ("class", "grid"), ("data-role", "rf"), ("data-name", t.name), ("data-rows", t.rows),
        ("data-cols", t.cols), ("data-pad", f"{top},{bottom},{left},{right}"), ("data-seen", t.count),
        ("data-padding-read", t.padding_read), ("data-shown", f"{ra}:{rb},{ca}:{cb}"))
    inside = np.zeros(t.read.shape, dtype=bool)
    inside[t.top:t.top + t.rows, t.left:t.left + t.cols] = True
    on = t.read.copy()
    on[inside] = t.seen.ravel()
    code = inside.astype(np.int8) + 2 * on
    if t.chosen is not None:
        code[t.chosen[0] + t.top, t.chosen[1] + t.left] = 4
    for gr in range(ra, rb):
        line = code[gr, ca:cb]
        cuts = np.flatnonzero(np.diff(line)) + 1
        for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(line)]):
            value = int(line[a])
            kind = "input" if value in (1, 3, 4) else "pad"
            classes = ["cell", kind] + (["seen" if kind == "input" else "read"] if value in (2, 3, 4) else [])
            fill = _FILL[(kind, value in (2, 3, 4))]
            if value == 4:
                classes.append("chosen")
                fill = "#2f855a"
            add("rect", ("class", " ".join(classes)), ("data-r", gr - t.top), ("data-c", ca + int(a) - t.left),
                ("data-n", int(b - a)), ("x", x0 + int(a) * cell), ("y", y0 + (gr - ra) * cell),
                ("width", int(b - a) * cell), ("height", cell), ("fill", fill))
    add("/g")
    w, h = (cb - ca) * cell, (rb - ra) * cell
    if cell >= 5:
        for i in range(1, rb - ra):
            add("line", ("x1", x0), ("y1", y0 + i * cell), ("x2", x0 + w), ("y2", y0 + i * cell),
                ("stroke", "#666"), ("stroke-width", 0.5))
        for i in range(1, cb - ca):
            add("line", ("x1", x0 + i * cell), ("y1", y0), ("x2", x0 + i * cell), ("y2", y0 + h),
                ("stroke", "#666"), ("stroke-width", 0.5))
    add("rect", ("class", "border"), ("x", x0), ("y", y0), ("width", w), ("height", h), ("fill", "none"),
        ("stroke", "#666"), ("stroke-width", 0.5))
    if (ra, rb, ca, cb) != (0, t.read.shape[0], 0, t.read.shape[1]):
        add("text", ("x", x0), ("y", y0 + h + 12), ("class", "note"),
            text=f"cropped to {rb - ra}x{cb - ca} of {t.read.shape[0]}x{t.read.shape[1]}")


def svg(dep: Dependence) -> str:
    return to_svg(layout(dep))


def png(dep: Dependence, path: str) -> None:
    write_png(layout(dep), path)


# ------------------------------------------------------------------ text

def text(dep: Dependence, width: int = 80) -> str:
    """Panels side by side as far as `width` allows; a grid too large to draw is summarised
    by the bounding box of what the unit depends on, and the counts."""
    blocks = [_block(t, width, dep.axes) for t in dep.tensors if t.spatial]
    lines = [textwrap.fill(title(dep), width), ""]
    row: list[list[str]] = []
    used = 0
    for block in blocks:
        w = max(len(line) for line in block)
        if row and used + 3 + w > width:
            lines.extend(_side_by_side(row))
            lines.append("")
            row, used = [], 0
        row.append(block)
        used += w + (3 if used else 0)
    if row:
        lines.extend(_side_by_side(row))
        lines.append("")
    lines.append(LEGEND)
    lines.extend(textwrap.fill(f"note: {n}", width, subsequent_indent="      ") for n in notes(dep))
    return "\n".join(lines) + "\n"


def _side_by_side(blocks: list[list[str]]) -> list[str]:
    widths = [max(len(line) for line in b) for b in blocks]
    height = max(len(b) for b in blocks)
    return ["   ".join((b[i] if i < len(b) else "").ljust(w) for b, w in zip(blocks, widths)).rstrip()
            for i in range(height)]


def _block(t: Tensor, width: int, axes: int) -> list[str]:
    head = [heading(t)[:width], caption(t, axes)[:width]]
    h, w = t.read.shape
    rows, cols = np.nonzero(t.read)
    spaced = 2 * w - 1 <= min(width, 48)
    if (spaced or w <= width) and h <= 24:
        return head + _rows(t, 0, h, 0, w, " " if spaced else "")
    if len(rows):  # the part that is read, with a margin of one cell, when that fits
        r0, r1 = max(int(rows.min()) - 1, 0), min(int(rows.max()) + 2, h)
        c0, c1 = max(int(cols.min()) - 1, 0), min(int(cols.max()) + 2, w)
        if c1 - c0 <= width - 2 and r1 - r0 <= 24:
            sep = " " if 2 * (c1 - c0) + 1 <= min(width, 48) else ""
            return head + [f"rows {r0 - t.top}..{r1 - 1 - t.top}, cols {c0 - t.left}..{c1 - 1 - t.left}:"] + \
                _rows(t, r0, r1, c0, c1, sep)
    seen_r, seen_c = np.nonzero(t.seen)
    if not len(seen_r):
        return head + ["depends on no position"]
    return head + [f"box rows {seen_r.min()}..{seen_r.max()}, cols {seen_c.min()}..{seen_c.max()}",
                   f"({seen_r.max() - seen_r.min() + 1}x{seen_c.max() - seen_c.min() + 1}); grid too large"]


def _rows(t: Tensor, r0: int, r1: int, c0: int, c1: int, sep: str) -> list[str]:
    out = []
    for gr in range(r0, r1):
        r = gr - t.top
        chars = []
        for gc in range(c0, c1):
            c = gc - t.left
            if 0 <= r < t.rows and 0 <= c < t.cols:
                chars.append(SEEN if t.seen[r, c] else UNSEEN)
            else:
                chars.append(PAD_READ if t.read[gr, gc] else PAD)
        out.append(sep.join(chars))
    return out
