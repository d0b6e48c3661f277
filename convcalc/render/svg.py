"""`convcalc draw`: the convolution-arithmetic figure of one window layer.

In the style of Dumoulin & Visin's guide, for the last two spatial axes (a 1-D layer is
one row): the input grid with its padding shaded, the taps the chosen output unit reads,
the outline of the next window along the last axis (the stride), the output grid with the
chosen unit; a transposed convolution adds its equivalent direct convolution over the
zero-inserted input; a ceil_mode pool marks the window that hangs over the padded input.

Geometry comes from the layer protocol only: `rf_effect()` steps (`taps`, `bounds`),
`pad_pairs()` and, for a transposed convolution, `direct_terms()`.  `layout()` places it on a
`canvas.Canvas`, written as SVG text (no plotting dependency) or painted as a PNG (Pillow);
`text()` is the compact terminal rendering.

Elements a reader (or a test) can parse: each grid is `<g class="grid" data-role=...
data-rows=... data-cols=...>` holding one `<rect class="cell KIND">` per shown cell
(KIND: input, pad, zero, output; `tap` or `chosen` added when highlighted) with `data-r`
and `data-c` in full-grid coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ConvcalcError, Location
from ..layers.rf import TransposedStep, WindowStep
from ..layers.windows import axis_name
from .canvas import Canvas, to_svg, write_png

#: the most cells drawn along one axis; larger grids are cropped around the chosen window
LIMIT = 64
CELL = 18

LEGEND = ("legend: . input  p padding  0 inserted zero  # tap on input  * tap on padding or zero\n"
          "        + next window's tap  x ceil_mode window beyond the padded input  o output  @ chosen")


@dataclass
class Panel:
    """One grid: kinds per row and column (full size), taps and window outlines in grid
    coordinates (they may lie outside the grid: the ceil_mode window)."""

    title: str
    role: str
    rows: list[str]  # kind of each row: "input", "pad" or "zero"
    cols: list[str]
    taps: list[tuple[int, int]] = field(default_factory=list)
    window: tuple[int, int, int, int] | None = None  # r0, r1, c0, c1 (inclusive)
    next_window: tuple[int, int, int, int] | None = None
    next_taps: list[tuple[int, int]] = field(default_factory=list)
    extra_window: tuple[int, int, int, int] | None = None
    chosen: tuple[int, int] | None = None  # output panels

    def kind(self, r: int, c: int) -> str:
        if self.role == "output":
            return "output"
        a, b = self.rows[r], self.cols[c]
        if "pad" in (a, b):
            return "pad"
        if "zero" in (a, b):
            return "zero"
        return "input"

    def inside(self, r: int, c: int) -> bool:
        return 0 <= r < len(self.rows) and 0 <= c < len(self.cols)

    def shown_taps(self) -> list[tuple[int, int]]:
        """The taps that land inside the grid (highlighted)."""
        return sorted({t for t in self.taps if self.inside(*t)})


@dataclass
class Figure:
    layer: str
    panels: list[list[Panel]]  # rows of panels: [input, output] (+ [direct input, output])
    notes: list[str]


#: taps of the drawn window: a 1024x1024 kernel, far past what a figure shows uncropped
MAX_TAPS = 1 << 20


def _fail(message: str) -> ConvcalcError:
    return ConvcalcError(message, Location("draw"))


def _steps(layer, in_shape, out_shape):
    """The layer's window steps for the drawn axes (last two, or last one)."""
    effect = layer.rf_effect([in_shape], out_shape)
    steps = effect.steps if effect is not None else {}
    kinds = {type(s) for s in steps.values()}
    if not steps or not (kinds <= {WindowStep} or kinds <= {TransposedStep}):
        raise _fail(f"expected a window layer (convolution, transposed convolution or pooling); "
                    f"got {layer.name}")
    n = len(steps)
    axes = [-2, -1] if n >= 2 else [-1]
    if any(a not in steps for a in axes):
        raise _fail(f"expected a window layer with steps on its last spatial axes; got {layer.name}")
    return n, axes, [steps[a] for a in axes]


def _parse_at(at: str | None, outs: list[int]) -> list[int]:
    if at is None:
        return [0] * len(outs)
    try:
        vals = [int(v) for v in at.replace("x", ",").split(",")]
    except ValueError:
        raise ConvcalcError(f"expected integers i,j; got {at!r}", Location("--at")) from None
    if len(vals) != len(outs):
        raise ConvcalcError(f"expected {len(outs)} index(es) for the drawn output axes of size "
                            f"{'x'.join(map(str, outs))}; got {at!r}", Location("--at"))
    for v, o in zip(vals, outs):
        if not 0 <= v < o:
            raise ConvcalcError(f"expected an output unit inside the output grid "
                                f"{'x'.join(map(str, outs))}; got {at!r}", Location("--at"))
    return vals


def build(layer, in_shape: tuple, out_shape: tuple, at: str | None = None) -> Figure:
    """The figure of `layer` (resolved, as analysed) from `in_shape` to `out_shape`."""
    n, axes, steps = _steps(layer, in_shape, out_shape)
    sizes = [in_shape[a] for a in axes]
    outs = [out_shape[a] for a in axes]
    pos = _parse_at(at, outs)
    if len(axes) == 1:  # one row: a dummy axis of size 1 whose only tap is row 0
        sizes, outs, pos = [1] + sizes, [1] + outs, [0] + pos
        steps = [WindowStep(1)] + steps
    counts = [len(steps[i].taps(pos[i])) for i in range(2)]
    if counts[0] * counts[1] > MAX_TAPS:  # the figure lists every tap: billions for a 50000x50000 kernel
        raise _fail(f"expected a window of at most {MAX_TAPS:,} taps to draw; got "
                    f"{'x'.join(map(str, counts[2 - len(axes):]))} (shape and explain give this layer's numbers)")
    notes: list[str] = []
    output = Panel("output", "output", ["input"] * outs[0], ["input"] * outs[1], chosen=(pos[0], pos[1]))
    transposed = isinstance(steps[-1], TransposedStep)
    if not transposed:
        pairs = list(layer.pad_pairs()) if hasattr(layer, "pad_pairs") else [(s.padding, s.padding)
                                                                           for s in steps[-len(axes):]]
        pairs = pairs[len(pairs) - len(axes):]
        if len(axes) == 1:
            pairs = [(0, 0)] + pairs
        kinds = [["pad"] * lo + ["input"] * size + ["pad"] * hi for size, (lo, hi) in zip(sizes, pairs)]
        lefts = [lo for lo, _ in pairs]
        panel = Panel("input (padding shaded)", "input", kinds[0], kinds[1])
        _windows(panel, steps, lefts, pos, outs)
        if getattr(layer, "ceil", False):
            last = [o - 1 for o in outs]
            hang = [steps[i].bounds(last[i])[1] + lefts[i] >= len(kinds[i]) for i in range(2)]
            if any(hang):
                panel.extra_window = _bounds(steps, lefts, last)
                at_last = ",".join(str(v) for v in last[2 - len(axes):])
                notes.append(f"ceil_mode: the last window (output {at_last}, marked x / dashed) hangs "
                             "over the padded input; it reads only its taps inside")
        figure = Figure(layer.name, [[panel, output]], notes)
    else:
        plain = Panel("input (taps: the units that reach the chosen output)", "input",
                      ["input"] * sizes[0], ["input"] * sizes[1])
        plain.taps = [(r, c) for r in steps[0].taps(pos[0]) for c in steps[1].taps(pos[1])]
        terms = {(t.name, t.axis): t.value for t in layer.direct_terms([in_shape])}
        names = [axis_name(i, n) for i in range(n)][-len(axes):]
        dsteps, dkinds, dlefts = [], [], []
        if len(axes) == 1:
            dsteps, dkinds, dlefts = [WindowStep(1)], [["input"]], [0]
        for step, a in zip(steps[-len(axes):], names):
            inserted = terms[("{a}_zero_inserted", a)]
            pad = terms[("{a}_pad", a)]
            padded = terms[("{a}_padded", a)]
            row = []
            for q in range(padded):
                t = q - pad
                row.append("pad" if t < 0 or t >= inserted else ("zero" if t % step.stride else "input"))
            dkinds.append(row)
            dlefts.append(pad)
            dsteps.append(WindowStep(step.kernel, 1, step.dilation, 0))
        direct = Panel("equivalent direct convolution (zero-inserted, padded input; stride 1, "
                       "kernel flipped)", "direct", dkinds[0], dkinds[1])
        _windows(direct, dsteps, [0, 0], pos, outs)
        if any(p < 0 for p in dlefts):
            notes.append("padding larger than dilation×(kernel−1): the equivalent direct convolution "
                         "crops the zero-inserted input instead of padding it")
        figure = Figure(layer.name, [[plain, output], [direct, output]], notes)
    for panel in {id(p): p for row in figure.panels for p in row}.values():
        for what, size in (("rows", len(panel.rows)), ("columns", len(panel.cols))):
            if size > LIMIT:
                notes.append(f"{panel.role} grid: {size} {what}, drawn cropped to {LIMIT} around the "
                             f"chosen window (… marks the cut)")
    return figure


def _bounds(steps, lefts, pos) -> tuple[int, int, int, int]:
    (r0, r1), (c0, c1) = (steps[i].bounds(pos[i]) for i in range(2))
    return r0 + lefts[0], r1 + lefts[0], c0 + lefts[1], c1 + lefts[1]


def _windows(panel: Panel, steps, lefts, pos, outs) -> None:
    """Taps and window of output unit `pos`, and the next window along the last axis
    (or the first, for a one-column output)."""
    panel.taps = [(r + lefts[0], c + lefts[1]) for r in steps[0].taps(pos[0]) for c in steps[1].taps(pos[1])]
    panel.window = _bounds(steps, lefts, pos)
    nxt = None
    if pos[1] + 1 < outs[1]:
        nxt = [pos[0], pos[1] + 1]
    elif pos[0] + 1 < outs[0]:
        nxt = [pos[0] + 1, pos[1]]
    if nxt is not None:
        panel.next_window = _bounds(steps, lefts, nxt)
        panel.next_taps = [(r + lefts[0], c + lefts[1]) for r in steps[0].taps(nxt[0])
                           for c in steps[1].taps(nxt[1])]


# ------------------------------------------------------------------ cropping

def _span(size: int, lo: int, hi: int) -> tuple[int, int]:
    """The shown range [a, b) of an axis of `size` cells, at most LIMIT, around lo..hi."""
    if size <= LIMIT:
        return 0, size
    centre = (max(lo, 0) + min(hi, size - 1)) // 2
    a = min(max(centre - LIMIT // 2, 0), size - LIMIT)
    return a, a + LIMIT


def _shown(panel: Panel) -> tuple[tuple[int, int], tuple[int, int]]:
    if panel.role == "output":
        r, c = panel.chosen  # type: ignore[misc]
        return _span(len(panel.rows), r, r), _span(len(panel.cols), c, c)
    if panel.window is not None:
        r0, r1, c0, c1 = panel.window
    elif panel.taps:
        r0, r1 = min(r for r, _ in panel.taps), max(r for r, _ in panel.taps)
        c0, c1 = min(c for _, c in panel.taps), max(c for _, c in panel.taps)
    else:
        r0 = r1 = c0 = c1 = 0
    return _span(len(panel.rows), r0, r1), _span(len(panel.cols), c0, c1)


# ------------------------------------------------------------------ text

def text(figure: Figure) -> str:
    """The compact terminal rendering: each panel row side by side."""
    blocks = []
    for row in figure.panels:
        grids = [_text_grid(p) for p in row]
        height = max(len(g) for g in grids)
        width = [max(len(line) for line in g) for g in grids]
        titles = [p.title if p.role == "output" else p.title.split(" (")[0] for p in row]
        width = [max(w, len(t)) for w, t in zip(width, titles)]
        lines = ["   ".join(t.ljust(w) for t, w in zip(titles, width)).rstrip()]
        for i in range(height):
            lines.append("   ".join((g[i] if i < len(g) else "").ljust(w)
                                    for g, w in zip(grids, width)).rstrip())
        blocks.append("\n".join(lines))
    tail = "\n".join([LEGEND] + [f"note: {n}" for n in figure.notes])
    return "\n\n".join([figure.layer] + blocks + [tail]) + "\n"


def _text_grid(panel: Panel) -> list[str]:
    (ra, rb), (ca, cb) = _shown(panel)
    taps = set(panel.shown_taps())
    nxt = {t for t in panel.next_taps if panel.inside(*t)} - taps
    extra = panel.extra_window
    if extra is not None and rb == len(panel.rows) and cb == len(panel.cols):
        rb_x, cb_x = max(rb, extra[1] + 1), max(cb, extra[3] + 1)
    else:
        rb_x, cb_x = rb, cb
    lines = []
    if ra > 0:
        lines.append("…")
    for r in range(ra, rb_x):
        chars = ["…"] if ca > 0 else []
        for c in range(ca, cb_x):
            if not panel.inside(r, c):
                inside_extra = extra is not None and extra[0] <= r <= extra[1] and extra[2] <= c <= extra[3]
                chars.append("x" if inside_extra else " ")
                continue
            kind = panel.kind(r, c)
            if panel.role == "output":
                chars.append("@" if (r, c) == panel.chosen else "o")
            elif (r, c) in taps:
                chars.append("#" if kind == "input" else "*")
            elif (r, c) in nxt:
                chars.append("+")
            else:
                chars.append({"input": ".", "pad": "p", "zero": "0"}[kind])
        if cb < len(panel.cols):
            chars.append("…")
        lines.append("".join(chars).rstrip())
    if rb < len(panel.rows):
        lines.append("…")
    return lines


# ------------------------------------------------------------------ SVG

_FILL = {"input": "#dbe9f6", "pad": "#d9d9d9", "zero": "#ffffff", "output": "#d5ecd4"}
_TAP = {"input": "#2b6cb0", "pad": "#7a7a7a", "zero": "#7a7a7a"}


def svg(figure: Figure) -> str:
    """The figure as a standalone SVG document."""
    return to_svg(layout(figure))


def png(figure: Figure, path: str) -> None:
    """The figure as a PNG (Pillow), painted from the same layout as the SVG."""
    write_png(layout(figure), path)


def layout(figure: Figure) -> Canvas:
    """Where every cell, outline and label goes: the geometry both backends draw."""
    canvas = Canvas()
    add = canvas.add
    y = 30
    width = 0
    add("text", ("x", 10), ("y", 20), ("class", "title"), text=figure.layer)
    for row in figure.panels:
        x = 10
        height = 0
        for i, panel in enumerate(row):
            if i:
                add("text", ("x", x), ("y", y + 40), ("class", "arrow"), text="→")
                x += 30
            add("text", ("x", x), ("y", y + 12), ("class", "label"), text=panel.title)
            w, h = _svg_panel(canvas, panel, x, y + 20)
            x += max(w, 8 * len(panel.title) if i == 0 else 0) + 20
            height = max(height, h + 30)
        width = max(width, x)
        y += height + 10
    for note in figure.notes:
        add("text", ("x", 10), ("y", y + 4), ("class", "note"), text=f"note: {note}")
        width = max(width, 20 + 7 * len(note))
        y += 18
    canvas.width, canvas.height = width, y + 10
    return canvas


def _svg_panel(canvas: Canvas, panel: Panel, x0: int, y0: int) -> tuple[int, int]:
    (ra, rb), (ca, cb) = _shown(panel)
    off_x = x0 + (CELL if ca > 0 else 0)
    off_y = y0 + (CELL if ra > 0 else 0)
    taps = set(panel.shown_taps())
    add = canvas.add
    add("g", ("class", "grid"), ("data-role", panel.role), ("data-rows", len(panel.rows)),
        ("data-cols", len(panel.cols)), ("data-shown", f"{ra}:{rb},{ca}:{cb}"))

    def px(r: int, c: int) -> tuple[int, int]:
        return off_x + (c - ca) * CELL, off_y + (r - ra) * CELL

    for r in range(ra, rb):
        for c in range(ca, cb):
            kind = panel.kind(r, c)
            classes = ["cell", kind]
            fill = _FILL[kind]
            if panel.role == "output" and (r, c) == panel.chosen:
                classes.append("chosen")
                fill = "#2f855a"
            elif (r, c) in taps:
                classes.append("tap")
                fill = _TAP[kind]
            x, y = px(r, c)
            add("rect", ("class", " ".join(classes)), ("data-r", r), ("data-c", c), ("x", x), ("y", y),
                ("width", CELL), ("height", CELL), ("fill", fill), ("stroke", "#555"), ("stroke-width", 0.6))
            if kind == "zero":
                add("text", ("x", x + CELL // 2 - 3), ("y", y + CELL - 5), ("font-size", 10), ("fill", "#999"),
                    text="0")
    add("/g")
    for name, box, style in (("next-window", panel.next_window, (("stroke", "#d69e2e"), ("stroke-width", 2))),
                             ("window", panel.window, (("stroke", "#c53030"), ("stroke-width", 2.5))),
                             ("extra-window", panel.extra_window,
                              (("stroke", "#805ad5"), ("stroke-width", 2), ("stroke-dasharray", "5,3")))):
        if box is None:
            continue
        r0, r1, c0, c1 = box
        if name != "extra-window" or (ra, ca) != (0, 0):
            r0, c0 = max(r0, ra - 1), max(c0, ca - 1)
            r1, c1 = min(r1, rb), min(c1, cb)
        x, y = px(r0, c0)
        add("rect", ("class", name), ("x", x), ("y", y), ("width", (c1 - c0 + 1) * CELL),
            ("height", (r1 - r0 + 1) * CELL), ("fill", "none"), *style)
    if ca > 0:
        add("text", ("class", "ellipsis"), ("x", x0), ("y", off_y + 12), text="…")
    if cb < len(panel.cols):
        add("text", ("class", "ellipsis"), ("x", off_x + (cb - ca) * CELL + 3), ("y", off_y + 12), text="…")
    if ra > 0:
        add("text", ("class", "ellipsis"), ("x", off_x), ("y", y0 + 12), text="…")
    if rb < len(panel.rows):
        add("text", ("class", "ellipsis"), ("x", off_x), ("y", off_y + (rb - ra) * CELL + 12), text="…")
    w = (cb - ca + 2) * CELL + (CELL if ca > 0 else 0)
    h = (rb - ra + 2) * CELL + (CELL if ra > 0 else 0)
    if panel.extra_window is not None:
        w += max(0, panel.extra_window[3] + 1 - cb) * CELL
        h += max(0, panel.extra_window[1] + 1 - rb) * CELL
    return w, h
