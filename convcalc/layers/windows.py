"""What sliding-window layers share (convolution, pooling, padding): the output-size
formulas, axis names, warnings and F.pad's limits."""

from __future__ import annotations

import math
from typing import Sequence

from ..record import record
from .formula import IfAtLeast, Sym, ceil, floor

IN, OUT = Sym("in", "{a}_in"), Sym("out", "{a}_out")
PAD, BEFORE, AFTER = Sym("padding"), Sym("before", "pad_before"), Sym("after", "pad_after")
DIL, K, S = Sym("dilation"), Sym("kernel"), Sym("stride")
OP = Sym("output_padding")
CEIL = Sym("ceil", "{a}_ceil")

#: PyTorch's convolution and pooling output size (floor mode)
WINDOW = floor((IN + 2 * PAD - DIL * (K - 1) - 1) / S) + 1
#: the same with unequal padding ('same' with an even effective kernel)
WINDOW_UNEVEN = floor((IN + BEFORE + AFTER - DIL * (K - 1) - 1) / S) + 1
#: pooling with ceil_mode=True: round up ...
WINDOW_CEIL = ceil((IN + 2 * PAD - DIL * (K - 1) - 1) / S) + 1
#: ... but the last window must start inside the input or its left padding
CEIL_LAST_WINDOW = IfAtLeast((CEIL - 1) * S, IN + PAD, CEIL - 1, CEIL)
#: transposed convolution
TRANSPOSED = (IN - 1) * S - 2 * PAD + DIL * (K - 1) + OP + 1
#: 'same' padding: the total dilation×(kernel−1), the odd one after
SAME_TOTAL = DIL * (K - 1)
SAME_BEFORE = floor(Sym("total", "{a}_pad_total") / 2)
SAME_AFTER = Sym("total", "{a}_pad_total") - Sym("before", "{a}_pad_before")


def axis_name(i: int, n: int) -> str:
    """A readable name for spatial axis i of n: L; H, W; D, H, W."""
    return {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}.get(n, tuple(f"dim{k}" for k in range(n)))[i]


# ------------------------------------------------------------------ warnings
#
# Along one axis a window (convolution, pooling) o reads input positions o*s - left + j*d,
# j < k; a transposed convolution adds input i into outputs i*s - p + j*d.  Taps are grouped
# by their offset modulo the stride: offsets j*d - shift = rho + c*s, and within one residue
# class rho the c's step by D = d / gcd(d, s).  Everything below counts positions exactly,
# class by class, in O(min(k, s)) -- independent of the sizes.

#: residue classes beyond which a check is skipped (a kernel and a stride both this large)
MAX_TAP_CLASSES = 100_000


def _tap_classes(k: int, s: int, d: int, shift: int) -> list[tuple[int, int, int]] | None:
    """(rho, c0, M) per residue class: offsets j*d - shift = rho + (c0 + m*D)*s, m < M."""
    period = s // math.gcd(d, s)  # taps j and j + period fall in the same class
    n = min(k, period)
    if n > MAX_TAP_CLASSES:
        return None
    found = []
    for j in range(n):
        offset = j * d - shift
        rho = offset % s
        found.append((rho, (offset - rho) // s, (k - 1 - j) // period + 1))
    return found


def _covered(c0: int, m: int, step: int, width: int, lo: int, hi: int) -> int:
    """|union of [c0 + i*step, c0 + i*step + width), i < m, within [lo, hi)|."""
    if hi <= lo or m <= 0 or width <= 0:
        return 0
    if step <= width:  # the intervals touch or overlap: one interval
        return max(0, min(hi, c0 + (m - 1) * step + width) - max(lo, c0))

    def below(t: int) -> int:
        if t <= c0:
            return 0
        full = min(m, (t - c0 - width) // step + 1) if t - c0 >= width else 0
        part = min(width, max(0, t - (c0 + full * step))) if full < m else 0
        return full * width + part

    return below(hi) - below(lo)


def _q_range(rho: int, s: int, lo: int, hi: int) -> tuple[int, int]:
    """The q with lo <= rho + q*s < hi."""
    return -((rho - lo) // s), -((rho - hi) // s)


@record
class WindowReadout:
    """Input positions along one axis that no window reads, by cause, and windows that read
    no input position.  `positions`: the input positions left after any crop."""

    positions: int
    gaps: int  # no window reads them at any output size: the stride skips them
    rounded: int  # only windows after the last would read them: the output size is rounded down
    before: int  # only windows before the first would read them (a dilated kernel, little padding)
    blind: int  # windows that read only padding


def window_readout(size: int, out: int, k: int, s: int, d: int, left: int, right: int) -> WindowReadout | None:
    """None when a kernel and a stride are both too large to classify (MAX_TAP_CLASSES)."""
    x0, x1 = max(0, -left), size + min(0, right)  # negative padding crops
    classes = _tap_classes(k, s, d, left)
    if classes is None or out <= 0 or x1 <= x0:
        return None
    step = d // math.gcd(d, s)
    gaps, rounded, before = x1 - x0, 0, 0
    for rho, c0, m in classes:
        qa, qb = _q_range(rho, s, x0, x1)
        gaps -= qb - qa
        # windows o read q in [c + o, ...): actual ones o < out, further ones o >= out
        further = max(qa, c0 + out)
        rounded += max(0, qb - further) - _covered(c0, m, step, out, further, qb)
        earlier = min(qb, c0 + (m - 1) * step, c0 + out)
        before += max(0, earlier - qa) - _covered(c0, m, step, out, qa, earlier)
    blind = _blind_windows(out, k, s, d, left, x0, x1)
    if blind is None:
        return None
    return WindowReadout(x1 - x0, gaps, rounded, before, blind)


def _blind_windows(out: int, k: int, s: int, d: int, left: int, x0: int, x1: int) -> int | None:
    """Windows o < out none of whose taps o*s - left + j*d (j < k) lands in [x0, x1)."""
    reach = (k - 1) * d
    past = max(0, out - max(0, -(-(x1 + left) // s)))  # windows starting at or after x1
    ended = min(out, max(0, -(-(x0 + left - reach) // s)))  # windows whose last tap is before x0
    # windows starting before x0 whose last tap reaches x0: they read the input unless the
    # gap between two taps spans all of it, i.e. the first tap at or after x0 is >= x1
    first = ended
    last = min(out, max(first, -(-(x0 + left) // s)))  # the first window starting at or after x0
    straddle = 0
    if x1 - x0 < d and last > first:
        period = d // math.gcd(s, d)
        span = last - first
        if min(span, period) > MAX_TAP_CLASSES:
            return None
        hits = [((o * s - left - x0) % d) >= x1 - x0 for o in range(first, first + min(span, period))]
        full, rest = divmod(span, period) if span > period else (0, span)
        straddle = full * sum(hits) + sum(hits[:rest])
    return past + ended + straddle


def join_names(names: Sequence[str]) -> str:
    """L; H and W; D, H and W."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def along(items: Sequence[tuple[str, int, str]]) -> tuple[str, bool]:
    """Per-axis (axis, count, detail) as one phrase, and whether its verb is plural:
    '2 of the 8 input positions along each of H and W' when the details agree,
    '1 input position along H and 2 input positions along W' otherwise."""
    if len({detail for _, _, detail in items}) == 1:
        axes = [a for a, _, _ in items]
        where = axes[0] if len(axes) == 1 else "each of " + join_names(axes)
        return f"{items[0][2]} along {where}", items[0][1] != 1
    return join_names([f"{detail} along {a}" for a, _, detail in items]), True


def _positions(n: int, of: int | None = None, what: str = "input position") -> str:
    noun = what if n == 1 else what + "s"
    return f"{n} {noun}" if of is None else f"{n} of the {of} {what}s"


def window_notes(layer, sizes: Sequence[int], outs: Sequence[int], kernel, stride, dilation,
                 pads: Sequence[tuple[int, int]]) -> list[str]:
    """Warnings shared by convolution and pooling windows, one per cause, naming every axis
    it holds for (README, "Warnings", gives the exact conditions)."""
    n = len(sizes)
    gaps, rounded, before, blind = [], [], [], []  # type: ignore[var-annotated]
    for i, (size, out) in enumerate(zip(sizes, outs)):
        left, right = pads[i]
        found = window_readout(size, out, kernel[i], stride[i], dilation[i], left, right)
        if found is None:
            continue
        a = axis_name(i, n)
        if found.gaps:
            gaps.append((a, found.gaps, _positions(found.gaps, found.positions)))
        if found.rounded:
            rounded.append((a, found.rounded, _positions(found.rounded)))
        if found.before:
            before.append((a, found.before, _positions(found.before)))
        if found.blind:
            blind.append((a, found.blind, _positions(found.blind, what="output position")))
    notes = []
    if gaps:
        what, many = along(gaps)
        notes.append(f"{layer.name}: {what} {'fall' if many else 'falls'} between the windows' taps and "
                     f"{'are' if many else 'is'} read by no window, whatever the input size (the stride "
                     f"skips {'them' if many else 'it'})")
    if rounded:
        what, many = along(rounded)
        notes.append(f"{layer.name}: {what} {'are' if many else 'is'} read by no window: the output size "
                     f"is rounded down (a further window would read {'them' if many else 'it'})")
    if before:
        what, many = along(before)
        notes.append(f"{layer.name}: {what} {'are' if many else 'is'} read by no window: only windows "
                     f"before the first would reach {'them' if many else 'it'} (more padding would)")
    if blind:
        what, many = along(blind)
        notes.append(f"{layer.name}: {what} {'see' if many else 'sees'} only padding, never the input")
    return notes


@record
class TransposedReadout:
    """Along one axis of a transposed convolution: outputs no input reaches, and the numbers
    of contributions that interior outputs receive (interior: every kernel tap landing on
    the output finds its input inside the input)."""

    no_input: int
    interior_counts: frozenset


def transposed_readout(size: int, out: int, k: int, s: int, d: int, p: int) -> TransposedReadout | None:
    classes = _tap_classes(k, s, d, p)  # output o = i*s + (j*d - p)
    if classes is None or out <= 0:
        return None
    step = d // math.gcd(d, s)
    reached, in_classes, counts = 0, 0, set()
    for rho, c0, m in classes:
        qa, qb = _q_range(rho, s, 0, out)
        in_classes += qb - qa
        reached += _covered(c0, m, step, size, qa, qb)  # tap c reaches q in [c, c + size)
        if max(qa, c0 + (m - 1) * step) < min(qb, c0 + size):
            counts.add(m)
    if in_classes < out:  # outputs in a class that no tap reaches: interior with 0 contributions
        counts.add(0)
    return TransposedReadout(out - reached, frozenset(counts))


def transposed_notes(layer, sizes: Sequence[int], outs: Sequence[int], kernel, stride, dilation,
                     padding) -> list[str]:
    n = len(sizes)
    uneven, silent = [], []
    for i, (size, out) in enumerate(zip(sizes, outs)):
        found = transposed_readout(size, out, kernel[i], stride[i], dilation[i], padding[i])
        if found is None:
            continue
        a = axis_name(i, n)
        counts = found.interior_counts
        if len(counts) > 1 and max(counts) >= 2:
            uneven.append((a, 2, f"{min(counts)} to {max(counts)} per output"))
        if found.no_input:
            silent.append((a, found.no_input, _positions(found.no_input, out, "output position")))
    notes = []
    if uneven:
        details = {d for _, _, d in uneven}
        if len(details) == 1:
            what = f"along {join_names([a for a, _, _ in uneven])} receive uneven numbers of contributions " \
                   f"({details.pop()})"
        else:
            what = ("receive uneven numbers of contributions ("
                    + ", ".join(f"{d} along {a}" for a, _, d in uneven) + ")")
        notes.append(f"{layer.name}: interior outputs {what}: checkerboard artefacts")
    if silent:
        what, many = along(silent)
        notes.append(f"{layer.name}: {what} {'receive' if many else 'receives'} no input, only the bias")
    return notes


def check_padding_fits(layer, mode: str, before: int, after: int, size: int, axis: str) -> None:
    """F.pad's limits for the modes that read the input to pad it."""
    widest = max(before, after)
    if mode == "reflect" and widest >= size:
        raise layer.fail(f"reflect padding {widest} must be smaller than the input size {size} along {axis}")
    if mode == "circular" and widest > size:
        raise layer.fail(f"circular padding {widest} must not exceed the input size {size} along {axis} "
                         "(it would wrap more than once)")
