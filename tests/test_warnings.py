"""Warnings about windows and transposed convolutions, checked against brute force.

The brute force here lists, for every output position, the input positions it reads
(index arithmetic written independently of convcalc), then classifies:

windows (convolution, pooling) along one axis, window o reads o*s - left + j*d, j < k;
positions cut by a negative padding (a crop) are not input positions:
  gaps     input positions no window reads at any output size (the stride skips them)
  rounded  unread positions that a window after the last one would read
  before   unread positions that only windows before the first would read
  blind    windows that read no input position (only padding)
transposed convolutions, input i adds into outputs i*s - p + j*d:
  no input     outputs that receive nothing (only the bias)
  checkerboard interior outputs (every tap landing on them finds its input inside the
               input) receive different numbers of contributions, some two or more

PyTorch checks the brute force itself (with torch installed): a transposed convolution
with every weight 1 on an input of ones outputs exactly the number of contributions; a
convolution's input gradient is non-zero exactly on the positions it reads.
"""

from __future__ import annotations

import random
import re

import pytest

import convcalc
from convcalc.errors import ConvcalcError

try:
    import torch
except ImportError:  # the brute-force comparisons still run
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="needs torch")


# ============================================================== brute force


def window_taps(o, k, s, d, left):
    return [o * s - left + j * d for j in range(k)]


def brute_windows(size, out, k, s, d, left, right) -> dict:
    lo, hi = max(0, -left), size + min(0, right)
    read = {t for o in range(out) for t in window_taps(o, k, s, d, left) if lo <= t < hi}
    unread = [x for x in range(lo, hi) if x not in read]

    def windows_reading(x):  # every window index, in or out of range, with a tap on x
        return [(x + left - j * d) // s for j in range(k) if (x + left - j * d) % s == 0]

    gaps = [x for x in unread if not windows_reading(x)]
    rounded = [x for x in unread if any(o >= out for o in windows_reading(x))]
    before = [x for x in unread if x not in gaps and x not in rounded]
    blind = [o for o in range(out) if not any(lo <= t < hi for t in window_taps(o, k, s, d, left))]
    return {"gaps": len(gaps), "rounded": len(rounded), "before": len(before), "blind": len(blind),
            "positions": hi - lo, "read": read}


def brute_transposed(size, out, k, s, d, p) -> dict:
    contributions, interior = [0] * out, [True] * out
    for o in range(out):
        for j in range(k):
            num = o + p - j * d
            if num % s == 0:
                if 0 <= num // s < size:
                    contributions[o] += 1
                else:
                    interior[o] = False
    counts = {c for c, inside in zip(contributions, interior) if inside}
    return {"no_input": contributions.count(0), "checkerboard": len(counts) > 1 and max(counts) >= 2,
            "counts": counts, "contributions": contributions}


def test_brute_force_by_hand():
    # Conv1d(k=3, s=2) on 6: windows 0-2, 2-4; position 5 would be read by window 2
    assert brute_windows(6, 2, 3, 2, 1, 0, 0) | {"read": None} == {
        "gaps": 0, "rounded": 1, "before": 0, "blind": 0, "positions": 6, "read": None}
    # Conv1d(k=1, s=2) on 4: windows read 0 and 2; 1 and 3 are never read, whatever the size
    assert brute_windows(4, 2, 1, 2, 1, 0, 0)["gaps"] == 2
    # ConvTranspose1d(k=2, s=2, d=2) on 4: outputs 2, 0, 2, 0, ... (the example)
    found = brute_transposed(4, 9, 2, 2, 2, 0)
    assert found["contributions"] == [1, 0, 2, 0, 2, 0, 2, 0, 1] and found["checkerboard"]
    # ConvTranspose1d(k=1, s=3): 1, 0, 0, 1, ...: no window overlaps another
    assert not brute_transposed(4, 10, 1, 3, 1, 0)["checkerboard"]


# ============================================================== reading the warnings


def warnings_of(expr, shape):
    return convcalc.analyze([expr], shape).warnings


def _count(pattern, text_list) -> int:
    found = [m for w in text_list for m in [re.search(pattern, w)] if m]
    assert len(found) <= 1, f"{pattern} matched twice: {text_list}"
    return int(found[0].group(1)) if found else 0


def window_counts(warnings) -> dict:
    return {
        "gaps": _count(r"(\d+) of the \d+ input positions? along L falls? between the windows' taps", warnings),
        "rounded": _count(r"(\d+) input positions? along L (?:is|are) read by no window: the output size is "
                          r"rounded down", warnings),
        "before": _count(r"(\d+) input positions? along L (?:is|are) read by no window: only windows before",
                         warnings),
        "blind": _count(r"(\d+) output positions? along L sees? only padding, never the input", warnings),
    }


def transposed_counts(warnings) -> dict:
    return {
        "no_input": _count(r"(\d+) of the \d+ output positions? along L receives? no input, only the bias",
                           warnings),
        "checkerboard": any("checkerboard" in w for w in warnings),
    }


# ============================================================== the cases


@pytest.mark.parametrize("expr, shape, want", [
    # the dilation puts both taps on even outputs: 1, 0, 2, 0, 2, 0, 2, 0, 1
    ("ConvTranspose1d(1, 1, 2, stride=2, dilation=2)", (1, 1, 4), {"no_input": 4, "checkerboard": True}),
    # one tap per output at most: gaps, but no overlap
    ("ConvTranspose1d(1, 1, 1, stride=3)", (1, 1, 4), {"no_input": 6, "checkerboard": False}),
    # L_out = 4*2 + 3 + 1 + 1 = 13; output 12 = 2i + j needs i = 5 (j = 2) or more: past the input
    ("ConvTranspose1d(1, 1, 4, stride=2, output_padding=1)", (1, 1, 5), {"no_input": 1, "checkerboard": False}),
    # outputs 3i, 3i + 2, 3i + 4 for i < 8, L_out = 26: 1 and 24 receive nothing
    ("ConvTranspose1d(1, 1, 3, stride=3, dilation=2)", (1, 1, 8), {"no_input": 2, "checkerboard": False}),
])
def test_transposed_regressions(expr, shape, want):
    assert transposed_counts(warnings_of(expr, shape)) == want


def test_a_single_reached_output_is_not_warned():
    # H: L_out = 0*4 - 4 + 2 + 2 + 1 = 1, and output 0 = 0*4 - 2 + 2 (tap j = 2) is reached
    found = warnings_of("ConvTranspose2d(2, 2, 3, stride=(4, 5), padding=2, output_padding=(2, 4))", (1, 2, 1, 13))
    assert not any("along H" in w for w in found)
    # W: L_out = 12*5 - 4 + 2 + 4 + 1 = 63; o + 2 = 5i + j reaches residues 0, 1, 2 of o + 2 only
    assert any("26 of the 63 output positions along W receive no input" in w for w in found)


@pytest.mark.parametrize("expr, shape, want", [
    # one window, positions 0-1; the next would start at 5: 2 and 3 lie in the stride's gap
    ("MaxPool1d(2, stride=5, ceil_mode=True)", (1, 1, 4), {"gaps": 2, "rounded": 0, "before": 0, "blind": 0}),
    # windows read 0 and 2: the odd positions are skipped on either size; nothing is rounded
    ("Conv1d(1, 1, 1, stride=2)", (1, 1, 4), {"gaps": 2, "rounded": 0, "before": 0, "blind": 0}),
    ("Conv1d(1, 1, 1, stride=2)", (1, 1, 3), {"gaps": 1, "rounded": 0, "before": 0, "blind": 0}),
    # windows 0-2, 2-4 on 6: the window at 4-6 would read position 5
    ("Conv1d(1, 1, 3, stride=2)", (1, 1, 6), {"gaps": 0, "rounded": 1, "before": 0, "blind": 0}),
    # reflect padding -1 crops one position at each end: they are not input positions left to read
    ("Conv1d(1, 1, 1, padding=-1, padding_mode='reflect')", (1, 1, 6), {"gaps": 0, "rounded": 0, "before": 0,
                                                                        "blind": 0}),
    # window o reads o - 1 and o + 2, and out = 1: window 0 reads -1 and 2, both padding (blind);
    # position 0 is read by window 1, position 1 by window 2 (or -1): further windows, rounded down
    ("MaxPool1d(2, stride=1, padding=1, dilation=3)", (1, 1, 2), {"gaps": 0, "rounded": 2, "before": 0,
                                                                   "blind": 1}),
])
def test_window_regressions(expr, shape, want):
    assert window_counts(warnings_of(expr, shape)) == want


def test_windows_before_the_first():
    # window o reads 2o and 2o + 5 (k=2, d=5, s=2); on 6 positions out = 1: window 0 reads 0 and 5.
    # 1 and 3 are read only by window -2/-1 (1 = 2*(-2) + 5, 3 = 2*(-1) + 5); 2 and 4 by windows 1, 2
    found = warnings_of("Conv1d(1, 1, 2, stride=2, dilation=5)", (1, 1, 6))
    assert window_counts(found) == {"gaps": 0, "rounded": 2, "before": 2, "blind": 0}


# ============================================================== random configurations


def _window_case(rng):
    size = rng.randint(1, 30)
    kind = rng.choice(["conv", "conv", "maxpool", "avgpool"])
    k, s, d = rng.randint(1, 6), rng.randint(1, 7), rng.randint(1, 4)
    if kind == "conv":
        mode = rng.choice(["zeros", "zeros", "reflect", "replicate", "circular"])
        if rng.random() < 0.15 and s == 1:
            total = d * (k - 1)
            return (f"Conv1d(1, 1, {k}, padding='same', dilation={d}, padding_mode={mode!r})", size, k, s, d,
                    total // 2, total - total // 2)
        p = rng.randint(0, 4) if mode == "zeros" else rng.randint(-2, 4)
        return (f"Conv1d(1, 1, {k}, stride={s}, padding={p}, dilation={d}, padding_mode={mode!r})", size, k, s, d,
                p, p)
    p = rng.randint(0, k // 2)
    ceil = rng.choice([False, True])
    if kind == "maxpool":
        return (f"MaxPool1d({k}, stride={s}, padding={p}, dilation={d}, ceil_mode={ceil})", size, k, s, d, p, p)
    return f"AvgPool1d({k}, stride={s}, padding={p}, ceil_mode={ceil})", size, k, s, 1, p, p


def test_random_windows_match_brute_force():
    rng = random.Random(10)
    checked = seen = 0
    for _ in range(4000):
        expr, size, k, s, d, left, right = _window_case(rng)
        try:
            analysis = convcalc.analyze([expr], (1, 1, size))
        except ConvcalcError:
            continue  # refused, as PyTorch refuses it
        out = analysis.total.output_shape[-1]
        want = brute_windows(size, out, k, s, d, left, right)
        got = window_counts(analysis.warnings)
        assert got == {key: want[key] for key in got}, f"{expr} on {size}: brute force {want}"
        checked += 1
        seen += any(got.values())
    assert checked > 2000 and seen > 500


def test_random_transposed_match_brute_force():
    rng = random.Random(11)
    checked = warned = 0
    for _ in range(4000):
        size, k, s, d, p = rng.randint(1, 12), rng.randint(1, 6), rng.randint(1, 6), rng.randint(1, 4), \
            rng.randint(0, 4)
        op = rng.randint(0, max(s, d) - 1)
        expr = f"ConvTranspose1d(1, 1, {k}, stride={s}, padding={p}, output_padding={op}, dilation={d})"
        try:
            analysis = convcalc.analyze([expr], (1, 1, size))
        except ConvcalcError:
            continue
        out = analysis.total.output_shape[-1]
        want = brute_transposed(size, out, k, s, d, p)
        got = transposed_counts(analysis.warnings)
        assert got == {key: want[key] for key in got}, f"{expr} on {size}: brute force {want}"
        checked += 1
        warned += got["checkerboard"]
    assert checked > 3000 and warned > 300


# ============================================================== several axes, one warning


def test_a_warning_for_several_axes_is_printed_once():
    found = warnings_of("Conv2d(1, 1, 3, stride=2)", (1, 1, 8, 8))
    assert [w for w in found if "read by no window" in w] == [
        "0: Conv2d: 1 input position along each of H and W is read by no window: the output size is rounded "
        "down (a further window would read it)"]
    # windows 0-2, 3-5 on 8 leave 6, 7; 0-2, 3-5, 6-8 on 9 leave none; 0-8 on 10 leave 9
    found = warnings_of("Conv3d(1, 1, 3, stride=3)", (1, 1, 8, 9, 10))
    assert [w for w in found if "read by no window" in w] == [
        "0: Conv3d: 2 input positions along D and 1 input position along W are read by no window: the output "
        "size is rounded down (a further window would read them)"]
    found = warnings_of("ConvTranspose2d(1, 1, 3, stride=2)", (1, 1, 4, 4))
    assert [w for w in found if "checkerboard" in w] == [
        "0: ConvTranspose2d: interior outputs along H and W receive uneven numbers of contributions "
        "(1 to 2 per output): checkerboard artefacts"]
    found = warnings_of("ConvTranspose2d(1, 1, 1, stride=(2, 3))", (1, 1, 4, 4))
    assert found == ("0: ConvTranspose2d: 3 of the 7 output positions along H and 6 of the 10 output positions "
                     "along W receive no input, only the bias",)
    found = warnings_of("Conv2d(1, 1, 4, padding='same')", (1, 1, 9, 9))
    assert found == ("0: Conv2d: padding='same' pads H and W unevenly (1 before, 2 after)",)
    found = warnings_of("MaxPool2d(1, stride=2, padding=0)", (1, 1, 5, 6))
    assert found == ("0: MaxPool2d: 2 of the 5 input positions along H and 3 of the 6 input positions along W "
                     "fall between the windows' taps and are read by no window, whatever the input size "
                     "(the stride skips them)",)


# ============================================================== the brute force against PyTorch


@requires_torch
def test_brute_force_matches_torch_live():
    rng = random.Random(12)
    checked = 0
    for _ in range(300):
        size, k, s, d, p = rng.randint(1, 12), rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 3), \
            rng.randint(0, 3)
        op = rng.randint(0, max(s, d) - 1)
        try:
            conv = torch.nn.ConvTranspose1d(1, 1, k, stride=s, padding=p, output_padding=op, dilation=d,
                                            bias=False).double()
            with torch.no_grad():
                conv.weight.fill_(1.0)
                y = conv(torch.ones(1, 1, size, dtype=torch.float64))
        except RuntimeError:
            continue
        want = brute_transposed(size, y.shape[-1], k, s, d, p)["contributions"]
        assert y[0, 0].round().long().tolist() == want
        checked += 1
    for _ in range(300):
        size, k, s, d, p = rng.randint(1, 20), rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 3), \
            rng.randint(0, 3)
        try:
            conv = torch.nn.Conv1d(1, 1, k, stride=s, padding=p, dilation=d, bias=False).double()
            with torch.no_grad():
                conv.weight.fill_(1.0)
            x = torch.ones(1, 1, size, dtype=torch.float64, requires_grad=True)
            y = conv(x)
        except RuntimeError:
            continue
        (grad,) = torch.autograd.grad(y.sum(), x)
        read = set(torch.nonzero(grad[0, 0]).flatten().tolist())
        assert read == brute_windows(size, y.shape[-1], k, s, d, p, p)["read"]
        checked += 1
    assert checked > 300
