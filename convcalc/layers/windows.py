"""Helpers shared by sliding-window layers (convolution, pooling, padding)."""

from __future__ import annotations

from typing import Sequence


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
            notes.append(f"{layer.name}: the last {dropped} input position{'s' if dropped > 1 else ''} "
                         f"along {axis_name(i, n)} (size {size}) are read by no window "
                         f"(the output size is rounded down)")
        blind = _padding_only_windows(size, out, k, s, d, left)
        if blind:
            notes.append(f"{layer.name}: {blind} output position{'s' if blind > 1 else ''} along "
                         f"{axis_name(i, n)} see only padding, never the input")
    return notes


def _padding_only_windows(size: int, out: int, k: int, s: int, d: int, left: int) -> int:
    """How many windows read no input position. Only windows near the borders can."""
    def blind(o: int) -> bool:
        start = o * s - left
        return not any(0 <= start + j * d < size for j in range(k))
    near_left = range(0, min(out, left // s + 2))
    near_right = range(max(0, out - (left // s + 2) - (k * d) // s - 1), out)
    candidates = set(near_left) | set(near_right)
    if d > 1:  # dilated windows can straddle the input anywhere when it is small
        candidates |= set(range(min(out, 4096)))
    return sum(1 for o in candidates if blind(o))
