"""What sliding-window layers share (convolution, pooling, padding): the output-size
formulas, axis names, warnings and F.pad's limits."""

from __future__ import annotations

from typing import Sequence

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


def window_notes(layer, sizes: Sequence[int], outs: Sequence[int], kernel, stride, dilation,
                 pads: Sequence[tuple[int, int]]) -> list[str]:
    """Warnings shared by convolution and pooling windows along each spatial axis."""
    notes = []
    n = len(sizes)
    for i, (size, out) in enumerate(zip(sizes, outs)):
        k, s, d, (left, _) = kernel[i], stride[i], dilation[i], pads[i]
        if out <= 0:
            continue
        last_read = (out - 1) * s - left + d * (k - 1)
        if last_read < size - 1:
            dropped = size - 1 - last_read
            what = "position is" if dropped == 1 else "positions are"
            notes.append(f"{layer.name}: the last {dropped} input {what} read by no window along "
                         f"{axis_name(i, n)} (size {size}): the output size is rounded down")
        blind = _padding_only_windows(size, out, k, s, d, left)
        if blind:
            what = "position sees" if blind == 1 else "positions see"
            notes.append(f"{layer.name}: {blind} output {what} only padding along {axis_name(i, n)}, "
                         "never the input")
    return notes


def _padding_only_windows(size: int, out: int, k: int, s: int, d: int, left: int) -> int:
    """How many windows read no input position.

    A window that starts inside the input reads it, so only windows starting in the
    padding (before or after) are tested, each in O(1); absurdly many are not counted.
    """
    def blind(o: int) -> bool:
        start = o * s - left
        if start >= size:
            return True  # starts past the input, and so do its later taps
        if start >= 0:
            return False
        j = (-start + d - 1) // d  # the first tap at or after position 0
        return j >= k or start + j * d >= size

    after_from = min(out, max(0, -(-(size + left) // s)))  # the first window starting past the input
    if d == 1:  # contiguous windows: blind iff they end before the input or start after it
        ending_before = min(after_from, max(0, -(-(left - k + 1) // s)))
        return ending_before + (out - after_from)
    before = range(0, min(after_from, left // s + 1))  # windows starting before the input
    after = range(after_from, out)
    if len(before) + len(after) > 100_000:
        return 0
    return sum(1 for o in before if blind(o)) + sum(1 for o in after if blind(o))


def check_padding_fits(layer, mode: str, before: int, after: int, size: int, axis: str) -> None:
    """F.pad's limits for the modes that read the input to pad it."""
    widest = max(before, after)
    if mode == "reflect" and widest >= size:
        raise layer.fail(f"reflect padding {widest} must be smaller than the input size {size} along {axis}")
    if mode == "circular" and widest > size:
        raise layer.fail(f"circular padding {widest} must not exceed the input size {size} along {axis} "
                         "(it would wrap more than once)")
