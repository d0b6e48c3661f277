"""The executor's kernels for pooling, normalisation, activations, resampling, padding,
shuffles, merges, Unfold and Fold, against recorded PyTorch outputs (no torch needed).

tests/fixtures/torch_ops.json is written by tests/fixtures/record_torch_ops.py: small
random tensors through real PyTorch modules.  Each case is run here through the kernel
registered for the layer's class, with hand-made parameters and a fresh Context:
float64 within 1e-10 absolute, float32 within 1e-5 of the output's scale (or, where
torch's float32 output is further than that from its float64 one, recorded as
"exact", no further from it than torch's is), integers and bools exactly, same dtype
and shape; a dtype that PyTorch refused must be refused
with a ConvcalcError that names the layer and the dtype.  None of these families
multiplies-and-accumulates in the analytic engine, so `ctx.macs` must stay 0.
"""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pytest

from convcalc import ConvcalcError, build_layer
from convcalc.layers import registry
from convcalc.numeric import kernels
from convcalc.numeric.kernels import KERNELS, PARAMETERS, Context

kernels.load_all()

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "torch_ops.json"
with FIXTURE.open() as _f:
    CASES = json.load(_f)["cases"]

#: the families these kernels cover (ConvNd, ConvTransposeNd and Linear live elsewhere;
#: DeformConv2d is held to torchvision in tests/test_deform.py)
OTHERS = {"ConvNd", "ConvTransposeNd", "Linear", "DeformConv2d"}


def decode(entry: dict) -> np.ndarray:
    return np.array(entry["data"], dtype=entry["dtype"]).reshape(entry["shape"])


def run_case(case: dict, chunk_bytes: int = 64 << 20):
    layer = build_layer(case["expr"])
    inputs = [decode(e) for e in case["inputs"]]
    params = {k: decode(v) for k, v in case["params"].items()}
    ctx = Context(chunk_bytes)
    out = KERNELS.lookup(type(layer))(layer, inputs, params, ctx)
    return layer, out, ctx


def assert_matches(out: np.ndarray, expected: np.ndarray, what: str = "",
                   exact: np.ndarray | None = None) -> None:
    """`exact`: torch's float64 output for a float32 case.  Where torch's own float32
    output is further than the bound from it (a normalisation of nearly equal values,
    whose large terms cancel), convcalc's must be no further from it than torch's is."""
    assert out.shape == expected.shape, what
    assert out.dtype == expected.dtype, what
    if expected.dtype.kind == "f":
        finite = np.isfinite(expected)
        assert np.array_equal(np.isfinite(out), finite), what
        assert np.array_equal(out[~finite], expected[~finite], equal_nan=True), what
        if finite.any():
            a, b = out[finite].astype(np.float64), expected[finite].astype(np.float64)
            if expected.dtype == np.float64:
                bound = 1e-10
            else:
                bound = 1e-5 * max(1.0, float(np.abs(b).max()))
            error = np.abs(a - b).max()
            if error > bound and exact is not None:
                e = np.asarray(exact, dtype=np.float64)[finite]
                torch_error = np.abs(b - e).max()
                assert torch_error > bound, f"{what}: max error {error:.3g} > {bound:.3g}"
                error, bound = np.abs(a - e).max(), torch_error
                what += " (against torch's float64 output)"
            assert error <= bound, f"{what}: max error {error:.3g} > {bound:.3g}"
    else:
        assert np.array_equal(out, expected), what


def _case_id(case: dict) -> str:
    shapes = ",".join("x".join(map(str, e["shape"])) for e in case["inputs"])
    return f"{case['id']}-{case['expr']}@{shapes}:{case['inputs'][0]['dtype']}"


@pytest.mark.parametrize("case", [c for c in CASES if "output" in c], ids=_case_id)
def test_kernel_matches_recorded_torch(case):
    layer, out, ctx = run_case(case)
    exact = decode(case["exact"]) if "exact" in case else None
    assert_matches(out, decode(case["output"]), case["expr"], exact)
    assert out.shape == layer.output_shape([tuple(e["shape"]) for e in case["inputs"]])
    assert ctx.macs == 0


@pytest.mark.parametrize("case", [c for c in CASES if "error" in c], ids=_case_id)
def test_kernel_refuses_the_dtype_torch_refuses(case):
    dtype = case["inputs"][0]["dtype"]
    with pytest.raises(ConvcalcError) as info:
        run_case(case)
    message = str(info.value)
    assert dtype in message and "\n" not in message
    assert message.startswith(build_layer(case["expr"]).name + ":")


def test_the_fixture_covers_every_family_and_activation():
    covered = {type(build_layer(c["expr"])).__name__ for c in CASES}
    mine = {f.__name__ for f in registry.families() if not f.wrapper} - OTHERS
    assert mine <= covered, sorted(mine - covered)
    exprs = " ".join(c["expr"] for c in CASES)
    for name in registry.elementwise_types():
        assert f"nn.{name}(" in exprs, name
    for mode in ("nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"):
        assert f"mode={mode!r}" in exprs, mode
    for mode in ("Zero", "Constant", "Reflection", "Replication", "Circular"):
        assert f"nn.{mode}Pad" in exprs, mode


def test_every_family_but_the_products_has_a_kernel_here():
    assert set(kernels.missing()) <= OTHERS


def test_every_kernel_counts_no_macs():
    """The analytic MACs of these families are 0: no kernel may route work through
    ctx.matmul / ctx.einsum (one case per family is enough to see a stray product)."""
    seen = {}
    for case in CASES:
        if "output" in case:
            seen.setdefault(type(build_layer(case["expr"])), case)
    mine = {f for f in registry.families() if not f.wrapper and f.__name__ not in OTHERS}
    assert mine <= set(seen)
    for cls, case in seen.items():
        assert run_case(case)[2].macs == 0, cls.__name__


@pytest.mark.parametrize("family", ["MaxPool2d", "AvgPool3d", "AdaptiveAvgPool2d", "Upsample",
                                    "BatchNorm2d", "GELU", "LocalResponseNorm"])
def test_small_chunks_give_the_same_result(family):
    """Work split into blocks under a tiny ctx.chunk_bytes gives the same values."""
    cases = [c for c in CASES if c["family"] == family and "output" in c]
    assert cases
    for case in cases[:4]:
        _, whole, _ = run_case(case)
        _, split, _ = run_case(case, chunk_bytes=64)
        assert np.array_equal(whole, split, equal_nan=True), case["expr"]


@pytest.mark.parametrize("family", ["GroupNorm", "LayerNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d"])
def test_small_chunks_give_the_same_statistics(family):
    """Statistics summed in pieces of a row (the tiny budget splits every row) agree
    with whole-row sums up to float64 rounding."""
    cases = [c for c in CASES if c["family"] == family and "output" in c]
    assert cases
    for case in cases[:6]:
        _, whole, _ = run_case(case)
        _, split, _ = run_case(case, chunk_bytes=64)
        # float32 results are the float64 ones rounded: at most one unit in the last place apart
        tol = 1e-13 if whole.dtype == np.float64 else 1.2e-7
        np.testing.assert_allclose(split, whole, rtol=tol, atol=tol, err_msg=case["expr"])


@pytest.mark.parametrize("expr", ["GELU()", "Mish()", "Hardswish()"])
def test_element_wise_blocks_give_the_same_result(expr):
    x = np.random.default_rng(1).standard_normal((3, 7000))
    layer = build_layer(expr)
    run = KERNELS.lookup(type(layer))
    whole = run(layer, [x], {}, Context())
    split = run(layer, [x], {}, Context(chunk_bytes=1))  # blocks of the smallest size
    assert np.array_equal(whole, split)


# ------------------------------------------------------------------ parameter layouts

def test_batch_norm_parameters_are_pytorchs():
    layout = PARAMETERS.lookup(type(build_layer("BatchNorm2d(8)")))
    assert layout(build_layer("BatchNorm2d(8)")) == {
        "weight": (8,), "bias": (8,), "running_mean": (8,), "running_var": (8,)}
    assert layout(build_layer("BatchNorm1d(3, affine=False)")) == {"running_mean": (3,), "running_var": (3,)}
    assert layout(build_layer("BatchNorm3d(5, track_running_stats=False)")) == {"weight": (5,), "bias": (5,)}
    assert layout(build_layer("BatchNorm2d(4, bias=False)")) == {
        "weight": (4,), "running_mean": (4,), "running_var": (4,)}


def layout(expr: str) -> dict:
    layer = build_layer(expr)
    return PARAMETERS.lookup(type(layer))(layer)


def test_norm_parameters_are_pytorchs():
    assert layout("GroupNorm(2, 6)") == {"weight": (6,), "bias": (6,)}
    assert layout("GroupNorm(2, 6, bias=False)") == {"weight": (6,)}
    assert layout("GroupNorm(2, 6, affine=False)") == {}
    assert layout("LayerNorm((3, 4))") == {"weight": (3, 4), "bias": (3, 4)}
    assert layout("LayerNorm(5, bias=False)") == {"weight": (5,)}
    assert layout("LayerNorm(5, elementwise_affine=False)") == {}
    assert layout("InstanceNorm2d(3)") == {}
    assert layout("InstanceNorm1d(3, affine=True)") == {"weight": (3,), "bias": (3,)}
    assert layout("InstanceNorm3d(4, affine=True, bias=False, track_running_stats=True)") == {
        "weight": (4,), "running_mean": (4,), "running_var": (4,)}


def test_parameter_free_families_have_no_layout():
    for expr in ("LocalResponseNorm(3)", "Softmax2d()", "Unfold(2)", "Fold(4, 2)"):
        assert not PARAMETERS.covers(type(build_layer(expr))), expr


def test_prelu_parameters_are_pytorchs():
    layer = build_layer("PReLU(6)")
    assert PARAMETERS.lookup(type(layer))(layer) == {"weight": (6,)}
    layer = build_layer("PReLU()")
    assert PARAMETERS.lookup(type(layer))(layer) == {"weight": (1,)}


# ------------------------------------------------------------------ hand-computed values

def run(expr: str, *inputs, params=None):
    layer = build_layer(expr)
    return KERNELS.lookup(type(layer))(layer, list(inputs), params or {}, Context())


def test_max_pool_ceil_mode_example():
    """The seed's 4x4 example, by hand: ceil_mode keeps a last, partial window."""
    x = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)
    assert run("MaxPool2d(3, stride=2)", x).tolist() == [[[[10.0]]]]
    assert run("MaxPool2d(3, stride=2, ceil_mode=True)", x).tolist() == [[[[10.0, 11.0], [14.0, 15.0]]]]


def test_avg_pool_divisors_by_hand():
    x = np.ones((1, 1, 3, 3))
    # windows at the corner cover 4 of 9 padded positions: 4/9 with padding counted
    assert run("AvgPool2d(3, stride=2, padding=1)", x)[0, 0, 0, 0] == pytest.approx(4 / 9)
    assert run("AvgPool2d(3, stride=2, padding=1, count_include_pad=False)", x)[0, 0, 0, 0] == 1.0
    assert run("AvgPool2d(3, stride=2, padding=1, divisor_override=2)", x)[0, 0, 0, 0] == 2.0


def test_integer_avg_pool_truncates_toward_zero():
    x = np.array([[[-7, -6, 5, 2]]], dtype=np.int64)  # pairs sum to -13 and 7
    assert run("AvgPool1d(2)", x).tolist() == [[[int(-13 / 2), int(7 / 2)]]]


def test_adaptive_windows_by_hand():
    x = np.arange(5, dtype=np.float64).reshape(1, 1, 5)
    # windows of 5 -> 3: [0, 2), [1, 4), [3, 5)
    assert run("AdaptiveAvgPool1d(3)", x).tolist() == [[[0.5, 2.0, 3.5]]]
    assert run("AdaptiveMaxPool1d(3)", x).tolist() == [[[1.0, 3.0, 4.0]]]


def test_softmax_implicit_dim_follows_pytorch():
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4)
    out = run("Softmax()", x)  # a 3-D input: dim 0
    assert np.allclose(out.sum(axis=0), 1.0)
    out = run("Softmax()", x.reshape(1, 2, 3, 4))  # 4-D: dim 1
    assert np.allclose(out.sum(axis=1), 1.0)


def test_fold_of_unfold_counts_the_blocks_over_each_position():
    """col2im(im2col(x)) adds each value once per block that covers it: with 2×2 blocks at
    stride 1 on 3×3, the corners are in 1 block, the edges' middles in 2, the centre in 4."""
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)
    columns = run("Unfold(2)", x)
    assert columns.shape == (1, 4, 4)
    # column 0 is the top-left block, read row by row; row 1 is tap (0, 1) of every block
    assert columns[0, :, 0].tolist() == [1.0, 2.0, 4.0, 5.0]
    assert columns[0, 1].tolist() == [2.0, 3.0, 5.0, 6.0]
    counts = np.array([[1, 2, 1], [2, 4, 2], [1, 2, 1]], dtype=np.float64)
    assert run("Fold(3, 2)", columns).tolist() == (x * counts).tolist()
    # padding: blocks reach outside the 3×3 output, those values are dropped
    padded = run("Unfold(2, padding=1)", x)
    assert padded.shape == (1, 4, 16)
    assert run("Fold(3, 2, padding=1)", padded).tolist() == (x * 4).tolist()


def test_bool_fold_ors_overlapping_values():
    columns = np.zeros((1, 4, 4), dtype=bool)
    columns[0, 3, 0] = True  # tap (1, 1) of the top-left block: position (1, 1)
    columns[0, 0, 3] = True  # tap (0, 0) of the bottom-right block: position (1, 1) again
    out = run("Fold(3, 2)", columns)
    assert out.dtype == bool and out.sum() == 1 and out[0, 0, 1, 1]


def test_local_response_norm_by_its_definition():
    """x_c / (k + alpha × mean of the squares of channels c−1, c)^beta (size 2: one channel
    of zero padding before the first)."""
    x = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1)
    out = run("LocalResponseNorm(2, alpha=1.0, beta=1.0, k=1.0)", x)
    expected = [1 / (1 + (0 + 1) / 2), 2 / (1 + (1 + 4) / 2), 3 / (1 + (4 + 9) / 2)]
    assert np.abs(out.reshape(-1) - expected).max() < 1e-15
    # int64: the mean of the squares truncates toward zero, the result is float32
    out = run("LocalResponseNorm(2, alpha=1.0, beta=1.0, k=0.0)", np.array([[[-7], [-6]]], dtype=np.int64))
    assert out.dtype == np.float32
    assert out.reshape(-1).tolist() == pytest.approx([-7 / (49 // 2), -6 / ((49 + 36) // 2)], rel=1e-6)


def test_group_norm_by_hand():
    x = np.array([1.0, 3.0, 0.0, 4.0]).reshape(1, 4, 1)
    # two groups of 2 channels: means 2 and 2, biased variances 1 and 4
    out = run("GroupNorm(2, 4, eps=0.0, affine=False)", x)
    assert out.reshape(-1).tolist() == [-1.0, 1.0, -1.0, 1.0]
    weight, bias = np.array([2.0, 3.0, 1.0, 1.0]), np.array([0.5, 0.0, 0.0, -1.0])
    out = run("GroupNorm(2, 4, eps=0.0)", x, params={"weight": weight, "bias": bias})
    assert out.reshape(-1).tolist() == [-2.0 + 0.5, 3.0, -1.0, 0.0]
    # a group of equal values normalises to 0 (then the bias), eps keeping 1/σ finite
    equal = np.full((1, 2, 1), 10.0, dtype=np.float32)
    out = run("GroupNorm(1, 2, eps=1e-5)", equal, params={"weight": np.ones(2), "bias": np.array([0.25, 0.0])})
    assert out.dtype == np.float32 and out.reshape(-1).tolist() == [0.25, 0.0]


def test_layer_and_instance_norm_by_hand():
    x = np.array([[1.0, 3.0], [0.0, 4.0]]).reshape(1, 2, 2)
    # LayerNorm(2): each row of 2 values; InstanceNorm1d: each channel's 2 positions — the same rows here
    assert run("LayerNorm(2, eps=0.0, elementwise_affine=False)", x).tolist() == [[[-1.0, 1.0], [-1.0, 1.0]]]
    assert run("InstanceNorm1d(2, eps=0.0)", x).tolist() == [[[-1.0, 1.0], [-1.0, 1.0]]]
    # LayerNorm((2, 2)): one group of 4 values, mean 2, variance 2.5
    out = run("LayerNorm((2, 2), eps=0.0)", x, params={"weight": np.full((2, 2), 2.0), "bias": np.ones((2, 2))})
    assert np.abs(out.reshape(-1) - (2 * (x.reshape(-1) - 2) / math.sqrt(2.5) + 1)).max() < 1e-15
    # running statistics (eval): (x − running_mean) / sqrt(running_var + eps), unbatched too
    stats = {"running_mean": np.array([1.0, 2.0]), "running_var": np.array([4.0, 0.25])}
    out = run("InstanceNorm1d(2, eps=0.0, track_running_stats=True)", x[0], params=stats)
    assert out.tolist() == [[0.0, 1.0], [-4.0, 4.0]]


def test_softmax2d_is_a_softmax_over_the_channels():
    x = np.log(np.array([1.0, 3.0, 2.0, 2.0]).reshape(2, 2, 1, 1)).transpose(1, 0, 2, 3).copy()
    out = run("Softmax2d()", x)  # channel pairs (1, 2) and (3, 2) at the two samples' one position
    assert np.abs(out.reshape(2, 2) - [[1 / 3, 2 / 3], [3 / 5, 2 / 5]]).max() < 1e-15


def test_erf_is_accurate():
    from convcalc.numeric.ops_activation import erf
    xs = np.concatenate([np.linspace(-7, 7, 4001), [0.0, -0.0, 1e-300, 2.0, -2.0, 6.0, 30.0, -np.inf, np.inf]])
    expected = np.array([math.erf(v) for v in xs])
    assert np.abs(erf(xs) - expected).max() < 5e-15
    assert np.isnan(erf(np.array([np.nan]))[0])


def test_gelu_by_its_definition():
    x = np.linspace(-6, 6, 121)
    expected = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x])
    assert np.abs(run("GELU()", x) - expected).max() < 1e-14


def test_dropout_is_the_identity():
    x = np.arange(6, dtype=np.int16).reshape(2, 3)
    assert run("Dropout(p=0.9)", x) is x


def test_circular_padding_crops_before_it_wraps():
    x = np.arange(5.0).reshape(1, 1, 5)
    # F.pad crops one from the left, then wraps the remaining [1, 2, 3, 4]
    assert run("CircularPad1d((-1, 2))", x).tolist() == [[[1.0, 2.0, 3.0, 4.0, 1.0, 2.0]]]
    assert run("ReflectionPad1d((2, -1))", x).tolist() == [[[2.0, 1.0, 0.0, 1.0, 2.0, 3.0]]]


def test_merges_promote_like_torch():
    a = np.ones((2, 1), dtype=np.int64)
    b = np.full((3,), 0.5, dtype=np.float32)
    out = run("Add()", a, b)
    assert out.dtype == np.float32 and out.shape == (2, 3)  # NumPy alone would give float64
    assert run("Concat(dim=0)", np.zeros((1, 2), np.int32), np.ones((1, 2), np.float64)).dtype == np.float64


# ------------------------------------------------------------------ refusals

@pytest.mark.parametrize("expr, dtype", [
    ("AvgPool2d(2)", "int32"), ("AdaptiveAvgPool2d(1)", "int64"), ("GELU()", "int64"),
    ("Upsample(scale_factor=2, mode='bilinear')", "uint8"), ("Upsample(scale_factor=2)", "int32"),
    ("BatchNorm2d(3)", "int32"), ("MaxPool1d(2)", "int64"),
    ("ReflectionPad2d(1)", "bool"), ("Softmax(dim=1)", "int8"), ("PReLU()", "int16"),
    ("GroupNorm(1, 3, affine=False)", "int64"), ("LayerNorm(4)", "int32"), ("InstanceNorm2d(3)", "uint8"),
    ("LocalResponseNorm(2)", "int32"), ("Softmax2d()", "int16"), ("Unfold(2)", "int64"),
    ("LocalResponseNorm(2)", "float16"), ("LocalResponseNorm(2)", "bool"),
])
def test_refusals_name_the_layer_and_the_dtype(expr, dtype):
    x = np.zeros((1, 3, 4, 4) if "1d" not in expr else (1, 3, 4), dtype=dtype)
    layer = build_layer(expr)
    with pytest.raises(ConvcalcError, match=rf"^{layer.name}: .*got {dtype}$"):
        KERNELS.lookup(type(layer))(layer, [x], {"weight": np.ones(1)}, Context())


def test_constant_pad_value_must_fit_an_integer_input():
    with pytest.raises(ConvcalcError, match=r"ConstantPad1d: value -1.0 does not fit .* uint8"):
        run("ConstantPad1d(1, -1)", np.zeros((1, 2, 3), dtype=np.uint8))
    assert run("ConstantPad1d(1, -2.7)", np.zeros((1, 1, 1), dtype=np.int32)).tolist() == [[[-2, 0, -2]]]


def test_missing_or_misshapen_parameters_are_named():
    x = np.zeros((1, 3, 2, 2))
    with pytest.raises(ConvcalcError, match=r"^BatchNorm2d: expected the parameter 'running_var' \(3 values\); got none$"):
        run("BatchNorm2d(3)", x, params={"weight": np.ones(3), "bias": np.zeros(3), "running_mean": np.zeros(3)})
    with pytest.raises(ConvcalcError, match=r"^PReLU: expected the parameter 'weight' to hold 3 values; got shape \[2\]$"):
        run("PReLU(3)", x, params={"weight": np.ones(2)})
    # affine=False: no weight or bias is asked for, PyTorch's 1 and 0 are used
    out = run("BatchNorm2d(3, affine=False)", x + 2.0, params={"running_mean": np.full(3, 2.0),
                                                             "running_var": np.ones(3)})
    assert np.abs(out).max() == 0.0


def test_missing_norm_parameters_are_named():
    x = np.zeros((1, 3, 2, 2))
    with pytest.raises(ConvcalcError, match=r"^GroupNorm: expected the parameter 'bias' \(3 values\); got none$"):
        run("GroupNorm(1, 3)", x, params={"weight": np.ones(3)})
    with pytest.raises(ConvcalcError, match=r"^LayerNorm: expected the parameter 'weight' to hold 4 values; got shape \[5\]$"):
        run("LayerNorm((2, 2))", x, params={"weight": np.ones(5), "bias": np.zeros(4)})
    with pytest.raises(ConvcalcError, match=r"^InstanceNorm2d: expected the parameter 'running_mean'"):
        run("InstanceNorm2d(3, track_running_stats=True)", x, params={"running_var": np.ones(3)})


def test_fold_refuses_integers_and_takes_bool():
    with pytest.raises(ConvcalcError, match=r"^Fold: .*got int32$"):
        run("Fold(3, 2)", np.zeros((1, 4, 4), dtype=np.int32))
    assert run("Fold(3, 2)", np.ones((4, 4), dtype=bool)).tolist() == np.ones((1, 3, 3), bool).tolist()
