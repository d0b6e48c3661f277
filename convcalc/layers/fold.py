"""im2col and col2im as layers: Unfold and Fold.

`Unfold` copies every sliding block of a (N, C, H, W) input into a column: the output is
(N, C×k_H×k_W, L), one column per block, the L = H_blocks × W_blocks blocks in row-major
order. A convolution is exactly this followed by a matrix product with the weight
reshaped to (C_out, C×k_H×k_W), which is how the im2col explanations of convolution
arithmetic compute it. `Fold` is the reverse: it sums each column back into its block
of an (N, C, output_size) tensor, adding where blocks overlap.

Both use the convolution's block count along each axis,
floor((size + 2×padding − dilation×(kernel−1) − 1) / stride) + 1, and PyTorch supports
them on two spatial axes only.
"""

from __future__ import annotations

import math

from ..record import record, set_field
from .base import Layer, Parameterless, Shape, fmt_shape, ntuple, positional
from .formula import Sym, product, term
from .windows import WINDOW, along, axis_name, window_notes

_KERNEL = [Sym("k0", "k_H"), Sym("k1", "k_W")]
BLOCK_VALUES = product([Sym("C_in")] + _KERNEL)  # Unfold: C × k_H × k_W values per column
FOLDED_C = Sym("C_in") / product(_KERNEL)  # Fold: columns hold C × k_H × k_W values
BLOCKS = Sym("H_blocks") * Sym("W_blocks")


def _pair(layer: Layer, param: str, minimum: int) -> None:
    """An int or a pair of ints, as im2col/col2im's argument parser reads it: no bare bool
    and no bool first, but a later bool passes as an int ((2, True) is (2, 1))."""
    set_field(layer, param, ntuple(param, getattr(layer, param), 2, minimum=minimum))


class _Blocks:
    """What Unfold and Fold share: the block geometry along H and W (their fields are
    PyTorch's arguments, in PyTorch's order, each class its own)."""

    kernel_size: tuple[int, int]
    dilation: tuple[int, int]
    padding: tuple[int, int]
    stride: tuple[int, int]

    def check(self) -> None:
        _pair(self, "kernel_size", 1)
        _pair(self, "dilation", 1)
        _pair(self, "padding", 0)
        _pair(self, "stride", 1)

    def blocks(self, sizes, terms) -> tuple[int, int]:
        """Blocks along H and W for spatial sizes `sizes` (the input's, or Fold's output_size)."""
        found = []
        for i, size in enumerate(sizes):
            a = axis_name(i, 2)
            env = {"in": size, "padding": self.padding[i], "dilation": self.dilation[i],
                   "kernel": self.kernel_size[i], "stride": self.stride[i]}
            found.append(term(terms, "{a}_blocks", WINDOW, env, a))
        return found[0], found[1]

    def kernel_env(self) -> dict:
        return {"k0": self.kernel_size[0], "k1": self.kernel_size[1]}

    def geometry(self) -> str:
        return (f"kernel_size={_two(self.kernel_size)}, dilation={_two(self.dilation)}, "
                f"padding={_two(self.padding)}, stride={_two(self.stride)}")

    def spec(self) -> str:
        # as print(model) shows them: every argument by keyword, a square pair as one int
        head = f"output_size={_two(self.output_size)}, " if isinstance(self, Fold) else ""
        return f"{self.type_name}({head}{self.geometry()})"


def _two(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"({pair[0]}, {pair[1]})"


@record
class Unfold(_Blocks, Parameterless, Layer):
    kernel_size: tuple[int, int] = positional()
    dilation: tuple[int, int] = 1
    padding: tuple[int, int] = 0
    stride: tuple[int, int] = 1

    type_name = "Unfold"

    def spatial_ndim(self, shape: Shape) -> int:
        return 2

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        if len(x) not in (3, 4) or 0 in x[-3:]:
            raise self.fail("expected a 3-D (unbatched) or 4-D (batched) input with no empty dim but "
                            f"the batch; got shape {fmt_shape(x)}")
        c, h, w = x[-3:]
        hb, wb = self.blocks((h, w), terms)
        if hb < 1 or wb < 1:
            raise self.fail(f"expected at least 1 block along H and W; got {hb}×{wb} blocks for spatial "
                            f"size {h}×{w} ({self.geometry()})")
        env = {"C_in": c, **self.kernel_env()}
        channels = term(terms, "C_out", BLOCK_VALUES, env, note="each column holds one block of every channel")
        length = term(terms, "L_out", BLOCKS, {"H_blocks": hb, "W_blocks": wb}, note="one column per block")
        return x[:-3] + (channels, length)

    def rf_effect(self, inputs, output):
        from .rf import RFEffect, WindowStep
        # A column reads the window of its block along H and W. The output's L axis lists
        # the blocks row by row: it is no spatial axis, so nothing after Unfold moves the
        # receptive field (README, "Choices").
        steps = {i - 2: WindowStep(self.kernel_size[i], self.stride[i], self.dilation[i], self.padding[i])
                 for i in range(2)}
        return RFEffect(steps, remap={})

    def notes(self, inputs, output) -> list[str]:
        x = inputs[0]
        outs = self.blocks(x[-2:], None)
        return window_notes(self, x[-2:], outs, self.kernel_size, self.stride, self.dilation,
                            [(p, p) for p in self.padding])


@record
class Fold(_Blocks, Parameterless, Layer):
    output_size: tuple[int, int] = positional()
    kernel_size: tuple[int, int] = positional()
    dilation: tuple[int, int] = 1
    padding: tuple[int, int] = 0
    stride: tuple[int, int] = 1

    type_name = "Fold"

    def check(self) -> None:
        _pair(self, "output_size", 1)
        super().check()

    def spatial_ndim(self, shape: Shape) -> int:
        return 0  # its input's last axis lists blocks, not positions

    def derive(self, inputs, terms) -> Shape:
        (x,) = inputs
        if len(x) not in (2, 3) or 0 in x[-2:]:
            raise self.fail("expected a 2-D (unbatched) or 3-D (batched) input (N, C×k_H×k_W, L) with no "
                            f"empty dim but the batch; got shape {fmt_shape(x)}")
        values, length = x[-2:]
        per_block = math.prod(self.kernel_size)
        if values % per_block:
            raise self.fail(f"expected dim {len(x) - 2} divisible by k_H×k_W = {per_block} "
                            f"(kernel_size={_two(self.kernel_size)}); got shape {fmt_shape(x)}")
        hb, wb = self.blocks(self.output_size, terms)
        if hb < 1 or wb < 1 or hb * wb != length:
            raise self.fail(f"output_size={_two(self.output_size)} holds {max(hb, 0)}×{max(wb, 0)} blocks "
                            f"({self.geometry()}), so the last dim must be {max(hb, 0) * max(wb, 0)}; "
                            f"got shape {fmt_shape(x)}")
        if terms is not None:
            term(terms, "L", BLOCKS, {"H_blocks": hb, "W_blocks": wb}, note="the input's last dim: one column per block")
        channels = term(terms, "C_out", FOLDED_C, {"C_in": values, **self.kernel_env()})
        h, w = (term(terms, "{a}_out", Sym("output_size"), {"output_size": o}, axis_name(i, 2))
                for i, o in enumerate(self.output_size))
        return x[:-2] + (channels, h, w)

    def landings(self, i: int) -> int:
        """(kernel offset j, block b) pairs along axis i that land inside the output, not in
        its padding: 0 <= b×stride − padding + j×dilation < size. Counted in closed form
        (O(log) in the sizes), so an absurdly large kernel or output answers at once."""
        size, k, s, d, p = (self.output_size[i], self.kernel_size[i], self.stride[i], self.dilation[i],
                            self.padding[i])
        blocks = (size + 2 * p - d * (k - 1) - 1) // s + 1
        return _pairs_up_to(size - 1 + p, blocks, k, s, d) - _pairs_up_to(p - 1, blocks, k, s, d)

    def rf_effect(self, inputs, output):
        from .rf import RFEffect
        # Its input's last axis lists blocks (see Unfold); its H and W continue no axis.
        return RFEffect({}, remap={})

    def notes(self, inputs, output) -> list[str]:
        items = []
        for i in range(2):
            missed = self._uncovered(i)
            if missed:
                items.append((axis_name(i, 2), missed, f"{missed} output position{'s' if missed != 1 else ''}"))
        if not items:
            return []
        phrase, plural = along(items)  # once, naming every axis it holds for
        return [f"Fold: {phrase} {'receive' if plural else 'receives'} no block value (left at zero)"]

    def _uncovered(self, i: int) -> int:
        size, k, s, d, p = (self.output_size[i], self.kernel_size[i], self.stride[i], self.dilation[i],
                            self.padding[i])
        blocks = (size + 2 * p - d * (k - 1) - 1) // s + 1
        if blocks * k > 1_000_000:  # not counted for absurd sizes
            return 0
        covered = {o for b in range(blocks) for j in range(k) if 0 <= (o := b * s - p + j * d) < size}
        return size - len(covered)


def _pairs_up_to(t: int, blocks: int, k: int, s: int, d: int) -> int:
    """#{(b, j): 0 <= b < blocks, 0 <= j < k, b×s + j×d <= t}.

    For block b the offsets j <= (t − b×s)/d count, at most k: blocks up to
    (t − (k−1)×d)/s take all k, later ones floor((t − b×s)/d) + 1 while b×s <= t, and
    those floors are summed by `_floor_sum`."""
    if t < 0 or blocks <= 0:
        return 0
    last = min(blocks - 1, t // s)  # the last block with b×s <= t
    full = min(last, (t - (k - 1) * d) // s) if t >= (k - 1) * d else -1  # blocks that take all k
    n = last - full  # blocks full+1 .. last, written b = last − i for i < n
    partial = _floor_sum(n, d, s, t - last * s) + n if n > 0 else 0
    return (full + 1) * k + partial


def _floor_sum(n: int, m: int, a: int, b: int) -> int:
    """sum(floor((a×i + b) / m) for i in range(n)), for a, b >= 0 and m >= 1, in O(log)
    steps (the Euclidean-like reduction of the classic floor-sum algorithm)."""
    total = 0
    while True:
        if a >= m:
            total += n * (n - 1) // 2 * (a // m)
            a %= m
        if b >= m:
            total += n * (b // m)
            b %= m
        y_max = a * n + b
        if y_max < m:
            return total
        n, b = divmod(y_max, m)
        m, a = a, m
