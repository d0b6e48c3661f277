"""Receptive fields through interpolation and adaptive pooling, checked with torch gradients.

For interior output units (away from the borders, where PyTorch clamps source indices),
the input positions with a non-zero gradient are exactly the positions that influence
the unit; their largest extent over a period must equal convcalc's `size`, and the
region must move by `stride` per unit on average.
"""

from fractions import Fraction

import pytest

torch = pytest.importorskip("torch")

import convcalc  # noqa: E402


def influence(chain_expr, build, length, units):
    """For each output unit along the last axis, (first, last) input positions with a gradient."""
    regions = []
    for u in units:
        x = torch.rand(1, 1, length, dtype=torch.float64, requires_grad=True)
        y = build()(x)
        y[0, 0, u].backward()
        nz = torch.nonzero(x.grad[0, 0]).flatten().tolist()
        regions.append((nz[0], nz[-1]) if nz else None)
    return regions


CASES = [
    ("Upsample(scale_factor=2, mode='linear')", lambda: torch.nn.Upsample(scale_factor=2, mode="linear")),
    ("Upsample(scale_factor=3, mode='linear')", lambda: torch.nn.Upsample(scale_factor=3, mode="linear")),
    ("Upsample(scale_factor=1.5, mode='linear')", lambda: torch.nn.Upsample(scale_factor=1.5, mode="linear")),
    ("Upsample(scale_factor=2, mode='nearest-exact')", lambda: torch.nn.Upsample(scale_factor=2, mode="nearest-exact")),
    ("Upsample(scale_factor=0.5, mode='linear')", lambda: torch.nn.Upsample(scale_factor=0.5, mode="linear")),
    ("Upsample(scale_factor=0.5, mode='area')", lambda: torch.nn.Upsample(scale_factor=0.5, mode="area")),
    ("AdaptiveAvgPool1d(24)", lambda: torch.nn.AdaptiveAvgPool1d(24)),
    ("AvgPool1d(3, 2) -> Upsample(scale_factor=2, mode='linear')",
     lambda: torch.nn.Sequential(torch.nn.AvgPool1d(3, 2), torch.nn.Upsample(scale_factor=2, mode="linear"))),
    ("Upsample(scale_factor=2, mode='linear') -> AvgPool1d(3)",
     lambda: torch.nn.Sequential(torch.nn.Upsample(scale_factor=2, mode="linear"), torch.nn.AvgPool1d(3))),
]


@pytest.mark.parametrize("expr, build", CASES, ids=[c[0] for c in CASES])
def test_interior_units_match_gradients(expr, build):
    length = 64
    rf = convcalc.analyze([expr], (1, 1, length)).layers[-1].receptive_field
    out_len = convcalc.analyze([expr], (1, 1, length)).total.output_shape[-1]
    period = 12  # a multiple of every index-map period in these cases
    units = [u for u in range(out_len // 4, out_len // 4 + 2 * period) if u < out_len - 2]
    regions = influence(expr, build, length, units)
    assert all(r is not None for r in regions)
    assert max(hi - lo + 1 for lo, hi in regions) == rf.size[0]
    # moving by a whole period of units moves the region by period * stride positions
    shift = rf.stride[0] * period
    for (lo, _), (lo2, _) in zip(regions, regions[period:]):
        assert Fraction(lo2 - lo) == shift
