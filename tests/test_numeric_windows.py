"""numeric/windows.py: pad in PyTorch's modes (negative values crop) and strided window views.

Expected values come from index rules written here (PyTorch's documented semantics,
one output position at a time) and, when torch is importable, from F.pad itself.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from convcalc.numeric.windows import out_size, pad, windows


def _source(j: int, size: int, before: int, mode: str) -> int | None:
    """The input index output position j reads along one axis (None: the constant)."""
    i = j - before
    if 0 <= i < size:
        return i
    if mode == "constant":
        return None
    if mode == "replicate":
        return min(max(i, 0), size - 1)
    if mode == "reflect":
        return -i if i < 0 else 2 * (size - 1) - i
    raise AssertionError(mode)


def _by_rule(x: np.ndarray, pairs, mode: str, value: float) -> np.ndarray:
    n = len(pairs)
    sizes = x.shape[-n:]
    outs = [s + b + a for s, (b, a) in zip(sizes, pairs)]
    out = np.empty(x.shape[:-n] + tuple(outs))
    for pos in itertools.product(*(range(o) for o in outs)):
        src = [_source(j, s, b, mode) for j, s, (b, _) in zip(pos, sizes, pairs)]
        out[(...,) + pos] = value if None in src else x[(...,) + tuple(src)]
    return out


@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate"])
def test_pad_follows_the_index_rule(mode):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 5, 6))
    for _ in range(40):
        pairs = [tuple(int(v) for v in rng.integers(-3, 5, 2)) for _ in range(2)]
        if mode == "reflect" and any(max(p) >= s for p, s in zip(pairs, x.shape[-2:])):
            continue
        np.testing.assert_array_equal(pad(x, pairs, mode, 1.5), _by_rule(x, pairs, mode, 1.5))


def test_circular_wraps_what_the_crop_leaves():
    x = np.arange(6.0)
    # pad 2 before, crop 1 after: the cropped row is [0..4], wrapped
    np.testing.assert_array_equal(pad(x, [(2, -1)], "circular"), [3, 4, 0, 1, 2, 3, 4])
    np.testing.assert_array_equal(pad(x, [(1, 2)], "circular"), [5, 0, 1, 2, 3, 4, 5, 0, 1])


def test_zeros_mode_and_identity():
    x = np.ones((1, 2, 3))
    assert pad(x, [(0, 0), (0, 0)]) is x
    y = pad(x, [(1, 0)], "zeros")
    assert y.shape == (1, 2, 4) and (y[..., 0] == 0).all()
    with pytest.raises(ValueError, match="mode"):
        pad(x, [(1, 1)], "mirror")


def test_windows_are_views_reading_stride_and_dilation():
    x = np.arange(2 * 9 * 8, dtype=float).reshape(2, 9, 8)
    v = windows(x, (3, 2), stride=(2, 3), dilation=(2, 1))
    assert v.shape == (2, out_size(9, 3, 2, 2), out_size(8, 2, 3, 1), 3, 2) == (2, 3, 3, 3, 2)
    assert np.shares_memory(v, x) and not v.flags.writeable
    for n, o1, o2, k1, k2 in itertools.product(*(range(s) for s in v.shape)):
        assert v[n, o1, o2, k1, k2] == x[n, o1 * 2 + k1 * 2, o2 * 3 + k2]


def test_windows_match_sliding_window_view():
    x = np.random.default_rng(0).standard_normal((3, 7, 6))
    ours = windows(x, (2, 3))
    theirs = np.lib.stride_tricks.sliding_window_view(x, (2, 3), axis=(1, 2))
    np.testing.assert_array_equal(ours, theirs)


def test_a_window_larger_than_the_input_gives_no_window():
    assert windows(np.zeros(4), (5,)).shape == (0, 5)
    assert out_size(4, 3, 1, 2) == 0


try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover
    torch = None


@pytest.mark.skipif(torch is None, reason="torch is not installed")
@pytest.mark.parametrize("mode", ["constant", "reflect", "replicate", "circular"])
def test_pad_matches_torch(mode):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((1, 2, 5, 6, 4))
    checked = 0
    for _ in range(200):
        pairs = [tuple(int(v) for v in rng.integers(-3, 5, 2)) for _ in range(3)]
        sizes = x.shape[-3:]
        if mode == "circular" and any(b > s + min(a, 0) or a > s + min(b, 0) for (b, a), s in zip(pairs, sizes)):
            continue  # wider than what the crop leaves: torch copies memory it has not written yet
        flat = [v for b, a in reversed(pairs) for v in (b, a)]
        try:
            expected = F.pad(torch.from_numpy(x), flat, mode=mode, **({"value": -2.5} if mode == "constant" else {}))
        except RuntimeError:
            continue
        np.testing.assert_array_equal(pad(x, pairs, mode, -2.5), expected.numpy())
        checked += 1
    assert checked > 40
