"""ConvTranspose's `output_size=` (what its forward() takes, seed 004): it picks
output_padding per axis as PyTorch's `_output_padding` does, and refuses sizes outside
[(in−1)·stride − 2·padding + dilation·(kernel−1) + 1, that + stride − 1]."""

from __future__ import annotations

import random

import pytest

import convcalc


def expected_range(size, k, s, p, d):
    low = (size - 1) * s - 2 * p + d * (k - 1) + 1
    return low, low + s - 1


def test_seed_004_output_size_picks_output_padding():
    # seed 004: downsample = Conv2d(16, 16, 3, stride=2, padding=1) takes 12×12 to 6×6;
    # upsample = ConvTranspose2d(16, 16, 3, stride=2, padding=1) gives (6−1)·2 − 2 + 2 + 1 = 11,
    # and upsample(h, output_size=input.size()) gives back 12×12 (output_padding 1)
    chain = ["Conv2d(16, 16, 3, stride=2, padding=1)",
             "ConvTranspose2d(16, 16, 3, stride=2, padding=1, output_size=(1, 16, 12, 12))"]
    analysis = convcalc.analyze(chain, (1, 16, 12, 12))
    assert analysis.layers[0].output_shape == (1, 16, 6, 6)
    assert analysis.total.output_shape == (1, 16, 12, 12)
    assert analysis.layers[1].layer.output_padding == (1, 1)
    plain = convcalc.analyze(chain[:1] + ["ConvTranspose2d(16, 16, 3, stride=2, padding=1)"], (1, 16, 12, 12))
    assert plain.total.output_shape == (1, 16, 11, 11)


@pytest.mark.parametrize("size, low, high", [((1, 1, 15, 16), 15, 16), ((15, 16), 15, 16)])
def test_full_or_spatial_output_size(size, low, high):
    out = convcalc.analyze([f"ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_size={size})"],
                           (1, 1, 8, 8)).total.output_shape
    assert out[-2:] == tuple(size[-2:])


@pytest.mark.parametrize("size, fragment", [
    ((17, 16), "valid sizes range from [15, 15] to [16, 16]"),
    ((14, 16), "valid sizes range from [15, 15] to [16, 16]"),
    ((16,), "output_size must have 2 or 4 elements; got 1"),
])
def test_sizes_outside_the_range_are_refused(size, fragment):
    with pytest.raises(convcalc.ConvcalcError) as info:
        convcalc.analyze([f"ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_size={size})"], (1, 1, 8, 8))
    assert fragment in info.value.message


def test_output_size_matches_torch_on_random_configurations():
    torch = pytest.importorskip("torch")
    rng = random.Random(20261201)
    checked = 0
    for _ in range(300):
        n = rng.choice((1, 2))
        k, s, p, d = rng.randint(1, 5), rng.randint(1, 4), rng.randint(0, 2), rng.randint(1, 2)
        spatial = tuple(rng.randint(1, 6) for _ in range(n))
        low_high = [expected_range(x, k, s, p, d) for x in spatial]
        want = tuple(rng.randint(lo - 1, hi + 1) for lo, hi in low_high)
        if rng.random() < 0.3:
            want = (1, 2) + want
        expr = f"ConvTranspose{n}d(2, 3, {k}, stride={s}, padding={p}, dilation={d}, output_size={want})"
        module = getattr(torch.nn, f"ConvTranspose{n}d")(2, 3, k, stride=s, padding=p, dilation=d).eval()
        try:
            with torch.no_grad():
                torch_shape = tuple(module(torch.zeros((1, 2) + spatial), output_size=list(want)).shape)
        except Exception:
            torch_shape = None
        try:
            ours = convcalc.analyze([expr], (1, 2) + spatial).total.output_shape
        except convcalc.ConvcalcError:
            ours = None
        assert ours == torch_shape, expr
        checked += torch_shape is not None
    assert checked > 50
