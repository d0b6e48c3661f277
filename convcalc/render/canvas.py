"""One geometry model for `convcalc draw`, two backends: SVG text and a Pillow PNG.

A figure is laid out once, as a `Canvas` of SVG-like elements (rect, text, line, and
groups that carry data attributes for readers); `to_svg` writes them as they are,
`write_png` paints the same coordinates with Pillow's ImageDraw (an optional extra).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

STYLE = ('<style>.title{font-size:15px;font-weight:bold}.label{font-size:12px}'
         '.note{font-size:11px;fill:#444}.arrow{font-size:20px}</style>')
#: font sizes of the text classes in STYLE (the PNG backend has no CSS)
CLASS_SIZE = {"title": 15, "label": 12, "note": 11, "arrow": 20}
INSTALL = 'PNG output needs Pillow: pip install "convcalc[image]"'


@dataclass
class Element:
    tag: str  # "rect", "text", "line", "g" (opens a group) or "/g" (closes it)
    attrs: tuple[tuple[str, object], ...] = ()
    text: str | None = None

    def get(self, name: str, default=None):
        for k, v in self.attrs:
            if k == name:
                return v
        return default


@dataclass
class Canvas:
    width: int = 0
    height: int = 0
    elements: list[Element] = field(default_factory=list)

    def add(self, tag: str, *attrs: tuple[str, object], text: str | None = None) -> None:
        self.elements.append(Element(tag, tuple(attrs), text))


def _attrs(attrs) -> str:
    return " ".join(f"{k}={quoteattr(str(v))}" for k, v in attrs)


def to_svg(canvas: Canvas) -> str:
    w, h = canvas.width, canvas.height
    lines = []
    for e in canvas.elements:
        if e.tag == "/g":
            lines.append("</g>")
        elif e.tag == "g":
            lines.append(f"<g {_attrs(e.attrs)}>")
        elif e.text is not None:
            lines.append(f"<{e.tag} {_attrs(e.attrs)}>{escape(e.text)}</{e.tag}>")
        else:
            lines.append(f"<{e.tag} {_attrs(e.attrs)}/>")
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
            f'viewBox="0 0 {w} {h}" font-family="sans-serif" font-size="12">\n{STYLE}\n'
            f'<rect x="0" y="0" width="{w}" height="{h}" fill="white"/>\n')
    return head + "\n".join(lines) + "\n</svg>\n"


def write_png(canvas: Canvas, path: str, scale: int = 2) -> None:
    """Paint the canvas with Pillow at `scale` pixels per unit; ImportError names the extra."""
    try:
        from PIL import Image, ImageDraw
    except ImportError:
        raise ImportError(INSTALL) from None
    image = Image.new("RGB", (max(1, canvas.width * scale), max(1, canvas.height * scale)), "white")
    draw = ImageDraw.Draw(image)
    fonts: dict[int, object] = {}
    for e in canvas.elements:
        if e.tag == "rect":
            _rect(draw, e, scale)
        elif e.tag == "line":
            x1, y1, x2, y2 = (float(e.get(k)) * scale for k in ("x1", "y1", "x2", "y2"))
            draw.line((x1, y1, x2, y2), fill=e.get("stroke", "#000"),
                      width=max(1, round(float(e.get("stroke-width", 1)) * scale)))
        elif e.tag == "text" and e.text:
            size = int(e.get("font-size", CLASS_SIZE.get(str(e.get("class")), 12)))
            font = fonts.get(size) or fonts.setdefault(size, _font(size * scale))
            # SVG places text by its baseline, Pillow by the top-left corner: anchor "ls"
            draw.text((float(e.get("x")) * scale, float(e.get("y")) * scale), e.text,
                      fill=e.get("fill", "#444" if e.get("class") == "note" else "black"), font=font,
                      anchor="ls")
    image.save(path, format="PNG")


def _rect(draw, e: Element, scale: int) -> None:
    x, y, w, h = (float(e.get(k)) * scale for k in ("x", "y", "width", "height"))
    fill = e.get("fill")
    stroke = e.get("stroke")
    width = max(1, round(float(e.get("stroke-width", 1)) * scale)) if stroke else 0
    box = (x, y, x + w, y + h)
    if fill not in (None, "none"):
        draw.rectangle(box, fill=fill)
    if not stroke:
        return
    dash = e.get("stroke-dasharray")
    if dash is None:
        draw.rectangle(box, outline=stroke, width=width)
        return
    on, off = (float(v) * scale for v in str(dash).split(","))
    for a, b in (((x, y), (x + w, y)), ((x + w, y), (x + w, y + h)), ((x + w, y + h), (x, y + h)),
                 ((x, y + h), (x, y))):
        length = abs(b[0] - a[0]) + abs(b[1] - a[1])
        t = 0.0
        while t < length:
            t2 = min(t + on, length)
            p = [a[i] + (b[i] - a[i]) * t / length for i in range(2)]
            q = [a[i] + (b[i] - a[i]) * t2 / length for i in range(2)]
            draw.line((*p, *q), fill=stroke, width=width)
            t = t2 + off


def _font(size: int):
    from PIL import ImageFont
    for name in ("DejaVuSans.ttf", "Arial.ttf"):
        try:
            return ImageFont.truetype(name, size)
        except OSError:
            continue
    try:
        return ImageFont.load_default(size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        return ImageFont.load_default()
