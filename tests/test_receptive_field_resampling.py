"""Receptive fields through interpolation and adaptive pooling, checked with torch gradients.

For interior output units (away from the borders, where PyTorch clamps source indices),
the input positions with a non-zero gradient are exactly the positions that influence
the unit; their largest extent over a period must equal convcalc's `size`, and the
region must move by `stride` per unit on average.
"""

import math
from fractions import Fraction

import pytest

import convcalc

try:
    import torch
except ImportError:  # the recorded comparisons still run
    torch = None

requires_torch = pytest.mark.skipif(torch is None, reason="needs torch")


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


CASES = [] if torch is None else [
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


@requires_torch
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


# ------------------------------------------------------------------ Upsample index maps, unit by unit
#
# PyTorch's forward kernels, recorded by tests/fixtures/record_upsample_maps.py: which input
# positions each output position reads.  convcalc's step must give the same positions for
# every unit away from the borders (where PyTorch clamps and convcalc, treating the input
# as unbounded, reads past the border).

import json  # noqa: E402
from pathlib import Path  # noqa: E402

from convcalc.layers import build_layer  # noqa: E402

MAPS = Path(__file__).parent / "fixtures" / "upsample_maps.json"


def _upsample_expr(case) -> str:
    args = []
    if case.get("scale_factor") is not None:
        args.append(f"scale_factor={tuple(case['scale_factor'])!r}")
    else:
        args.append(f"size={tuple(case['size'])!r}")
    args.append(f"mode={case['mode']!r}")
    if case.get("align_corners") is not None:
        args.append(f"align_corners={case['align_corners']!r}")
    return f"Upsample({', '.join(args)})"


def convcalc_reads(case):
    """Per axis, per output unit: the input positions convcalc's step says it reads."""
    layer = build_layer(_upsample_expr(case))
    x = (1, 2, *case["input"])
    out = layer.output_shape([x])
    assert list(out[2:]) == case["output"]
    effect = layer.rf_effect([x], out)
    n = len(case["input"])
    found = []
    for a in range(n):
        step = effect.steps.get(a - n)
        found.append([sorted(set(step.taps(o))) if step is not None else [o] for o in range(out[2 + a])])
    return found


def interior_agrees(case, found) -> list[str]:
    wrong = []
    for a, (torch_map, ours) in enumerate(zip(case["maps"], found)):
        size = case["input"][a]
        for o, (theirs, mine) in enumerate(zip(torch_map, ours)):
            if all(0 < i < size - 1 for i in mine) and mine != theirs:
                wrong.append(f"axis {a} unit {o}: torch reads {theirs}, convcalc {mine}")
    return wrong


RECORDED = [json.loads(line) for line in MAPS.read_text().splitlines()]


@pytest.mark.parametrize("case", RECORDED, ids=[_upsample_expr(c) + f" on {c['input']}" for c in RECORDED])
def test_upsample_reads_what_torch_reads(case):
    found = convcalc_reads(case)
    assert interior_agrees(case, found) == []
    # the comparison is not vacuous: most units are interior
    n_units = sum(len(m) for m in found)
    interior = sum(1 for a, m in enumerate(found) for taps in m
                   if all(0 < i < case["input"][a] - 1 for i in taps))
    assert interior >= n_units // 2


def test_recorded_maps_show_the_copy_rules():
    """The facts the copy rule encodes, read from the recording itself: along an axis whose
    output size equals its input size (and a scale factor that would move positions),
    the linear modes copy, 2-D nearest copies, the rest compute their indices."""
    copies, computes = set(), set()
    for case in RECORDED:
        if case.get("scale_factor") is None or case["align_corners"]:
            continue  # align_corners=True: (in - 1)/(out - 1) = 1 maps each unit to itself anyway
        for a, (size, out) in enumerate(zip(case["input"], case["output"])):
            if size != out or case["scale_factor"][a] == 1:
                continue
            identity = case["maps"][a] == [[o] for o in range(out)]
            (copies if identity else computes).add((case["mode"], len(case["input"])))
    assert copies >= {("linear", 1), ("bilinear", 2), ("trilinear", 3), ("nearest", 2), ("area", 1)}
    assert computes >= {("nearest", 1), ("nearest", 3), ("nearest-exact", 1), ("nearest-exact", 2),
                        ("bicubic", 2)}
    assert not copies & computes


@pytest.mark.parametrize("exprs, shape, want", [
    # the output size equals the input size: the interpolating kernels copy
    (["Upsample(scale_factor=1.05, mode='bilinear')"], (1, 1, 10, 10), ((1, 1), (1, 1), (0, 0))),
    (["Upsample(scale_factor=1.05, mode='linear', align_corners=False)"], (1, 1, 10), ((1,), (1,), (0,))),
    (["Upsample(scale_factor=(1.04, 1.04, 1.04), mode='trilinear')"], (1, 1, 12, 12, 12),
     ((1, 1, 1), (1, 1, 1), (0, 0, 0))),
    # ... 2-D nearest too, but not 1-D nearest: floor(o / 1.04) = floor(o * 25/26)
    (["Upsample(scale_factor=1.04)"], (1, 1, 20, 20), ((1, 1), (1, 1), (0, 0))),
    (["Upsample(scale_factor=1.04)"], (1, 1, 20), ((1,), (Fraction(25, 26),), (0,))),
    # bicubic computes: src = (o + 1/2) * 25/26 - 1/2, four taps around it
    (["Upsample(scale_factor=1.04, mode='bicubic')"], (1, 1, 20, 20),
     ((4, 4), (Fraction(25, 26),) * 2, (-2, -2))),
    # 2-D nearest with the output twice the input: o >> 1, not floor(o / 2.05)
    (["Upsample(scale_factor=2.05)"], (1, 1, 8, 8), ((1, 1), (Fraction(1, 2),) * 2, (0, 0))),
    (["Upsample(scale_factor=2.05)"], (1, 1, 8), ((1,), (Fraction(20, 41),), (0,))),
])
def test_upsample_regressions(exprs, shape, want):
    rf = convcalc.analyze(exprs, shape).layers[-1].receptive_field
    assert (rf.size, tuple(Fraction(s) for s in rf.stride), rf.start) == want


@requires_torch
@pytest.mark.parametrize("seed", range(40))
def test_random_upsample_reads_what_torch_reads_live(seed):
    """Random modes, sizes and scale factors, probed live."""
    import random
    import sys

    sys.path.insert(0, str(MAPS.parent))
    from record_upsample_maps import forward_maps

    rng = random.Random(seed)
    mode, n = rng.choice([("nearest", 1), ("nearest", 2), ("nearest", 3), ("nearest-exact", 1),
                          ("nearest-exact", 2), ("area", 2), ("linear", 1), ("bilinear", 2),
                          ("bicubic", 2), ("trilinear", 3)])
    align = rng.choice([None, False, True]) if mode in ("linear", "bilinear", "bicubic", "trilinear") else None
    spatial = [rng.randint(3, 18 if n < 3 else 8) for _ in range(n)]
    if rng.random() < 0.5:
        scale = [rng.choice([round(rng.uniform(0.3, 3.5), 2), 1 + rng.randint(1, 9) / 100, 2.0, 3.0])
                 for _ in range(n)]
        if any(math.floor(s * f) < 1 for s, f in zip(spatial, scale)):
            return
        case = {"mode": mode, "align_corners": align, "scale_factor": scale, "input": spatial}
    else:
        case = {"mode": mode, "align_corners": align, "size": [rng.randint(1, 30) for _ in range(n)],
                "input": spatial}
    case["output"], case["maps"] = forward_maps(mode, align, case.get("scale_factor"), case.get("size"), spatial)
    assert interior_agrees(case, convcalc_reads(case)) == []
