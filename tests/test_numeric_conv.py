"""The ConvNd, ConvTransposeNd and Linear kernels against PyTorch.

Three sources of expected values: the recorded fixture (tests/fixtures/torch_numeric_conv.json,
written by record_torch_numeric.py with real torch), hypothesis against live torch when it is
importable, and arithmetic written here (the seeds' worked examples, relations between
configurations). float64 must match to 1e-10; float32 within the rounding bound of a sum of
K products (2·K·eps·Σ|x||w| between two float32 computations); integers exactly.
"""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np
import pytest

import convcalc
from convcalc.errors import ConvcalcError
from convcalc.numeric.execute import execute
from convcalc.numeric.kernels import KERNELS, Context, load_all
from convcalc.numeric.ops_conv import chunks

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "torch_numeric_conv.json"
CASES = json.loads(FIXTURE.read_text())["cases"]

# the 5x5 example of seed 001 and its kernel
SEED_INPUT = [[1, 2, 0, 3, 1], [0, 1, 2, 3, 1], [1, 2, 1, 0, 0], [5, 2, 3, 1, 1], [2, 1, 0, 1, 1]]
SEED_KERNEL = [[1, 2, 1], [0, 1, 0], [2, 1, 0]]


def run_layer(expr: str, x: np.ndarray, weight=None, bias=None, **options):
    """One layer through the engine; returns (output, executed MACs, analytic MACs)."""
    analysis = convcalc.analyze([expr], x.shape)
    given = {}
    if weight is not None:
        given["weight"] = weight
    if bias is not None:
        given["bias"] = bias
    result = execute(analysis, x, params={"0": given}, **options)
    return result.output, result.steps[0].macs, analysis.layers[0].macs


# ------------------------------------------------------------------ recorded PyTorch values

@pytest.mark.parametrize("case", CASES, ids=[f"{i}-{c['expr']}" for i, c in enumerate(CASES)])
def test_recorded_torch_values(case):
    x = np.array(case["input"], dtype=np.float64).reshape(case["input_shape"])
    w = np.array(case["weight"], dtype=np.float64).reshape(case["weight_shape"])
    b = np.array(case["bias"], dtype=np.float64) if "bias" in case else None
    out, macs, analytic = run_layer(case["expr"], x, w, b)
    expected = np.array(case["output"]).reshape(case["output_shape"])
    assert out.dtype == np.float64 and out.shape == expected.shape
    assert np.max(np.abs(out - expected)) <= 1e-10
    assert macs == analytic


def test_fixture_covers_the_features():
    exprs = [c["expr"] for c in CASES]
    for needle in ("Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
                   "Linear", "'reflect'", "'replicate'", "'circular'", "'zeros'", "'same'", "groups=2",
                   "groups=3"):
        assert any(needle in e for e in exprs), needle
    assert any("output_padding=(1" in e for e in exprs)
    # 'same' with an even effective kernel: the odd position goes after
    assert any("'same'" in e and any(k % 2 == 0 for k in convcalc.build_layer(e).kernel_size) for e in exprs)
    # PyTorch's quirk: 'same', a padding_mode other than zeros, a 1-element dilation tuple
    assert any(getattr(convcalc.build_layer(e), "same_first_axis_only", False) for e in exprs)
    # unbatched inputs: C, *spatial
    assert any(len(c["input_shape"]) == convcalc.build_layer(c["expr"]).ndim + 1
               for c in CASES if "Conv" in c["expr"])


@pytest.mark.parametrize("chunk", [1, 100, 5000])
def test_chunked_work_gives_the_same_values(chunk):
    """Tiny chunks split the im2col and col2im work into many blocks: same values, same MACs."""
    for case in CASES[:60]:
        if case["expr"].startswith("Linear"):
            continue
        x = np.array(case["input"]).reshape(case["input_shape"])
        w = np.array(case["weight"]).reshape(case["weight_shape"])
        b = np.array(case["bias"]) if "bias" in case else None
        out, macs, analytic = run_layer(case["expr"], x, w, b, chunk_bytes=chunk)
        expected = np.array(case["output"]).reshape(case["output_shape"])
        assert np.max(np.abs(out - expected)) <= 1e-10, case["expr"]
        assert macs == analytic


def test_chunks_cover_every_index_once():
    seen = np.zeros((3, 4, 5), dtype=int)
    for block in chunks((3, 4, 5), 8, 8 * 7):  # 7 positions per block: splits the middle axis
        seen[block] += 1
    assert (seen == 1).all()
    assert len(list(chunks((2, 3), 8, 1))) == 6  # a single index never splits
    assert list(chunks((0, 3), 8, 100)) == []


# ------------------------------------------------------------------ the seeds' worked examples

@pytest.mark.parametrize("stride, padding, expected", [
    (1, 0, [[10, 12, 12], [18, 16, 16], [13, 9, 3]]),
    (2, 0, [[10, 12], [13, 3]]),
    (2, 1, [[1, 4, 8], [7, 16, 8], [14, 9, 4]]),
])
def test_seed_001_integer_convolution(stride, padding, expected):
    x = np.array(SEED_INPUT).reshape(1, 1, 5, 5)
    w = np.array(SEED_KERNEL).reshape(1, 1, 3, 3)
    out, macs, analytic = run_layer(f"Conv2d(1, 1, 3, stride={stride}, padding={padding}, bias=False)", x, w)
    assert out.dtype == np.int64
    assert out[0, 0].tolist() == expected
    assert macs == analytic == len(expected) ** 2 * 9


def test_seed_001_first_value_by_hand():
    # the top-left window times the kernel, written out
    window = [[1, 2, 0], [0, 1, 2], [1, 2, 1]]
    by_hand = sum(window[i][j] * SEED_KERNEL[i][j] for i in range(3) for j in range(3))
    x = np.array(SEED_INPUT).reshape(1, 1, 5, 5)
    out, _, _ = run_layer("Conv2d(1, 1, 3, bias=False)", x, np.array(SEED_KERNEL).reshape(1, 1, 3, 3))
    assert out[0, 0, 0, 0] == by_hand == 10


def test_seed_004_padding_crops_the_full_output():
    """ConvTranspose2d(k=3, padding=1) is the padding=0 output with its outer ring removed."""
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((1, 1, 3, 3)), rng.standard_normal((1, 1, 3, 3))
    cropped, _, _ = run_layer("ConvTranspose2d(1, 1, 3, stride=1, padding=1, bias=False)", x, w)
    full, _, _ = run_layer("ConvTranspose2d(1, 1, 3, stride=1, padding=0, bias=False)", x, w)
    assert full.shape == (1, 1, 5, 5) and cropped.shape == (1, 1, 3, 3)
    np.testing.assert_array_equal(cropped, full[:, :, 1:-1, 1:-1])
    # and the full output is the sum of the kernel placed at every input position
    by_hand = np.zeros((5, 5))
    for i in range(3):
        for j in range(3):
            by_hand[i:i + 3, j:j + 3] += x[0, 0, i, j] * w[0, 0]
    assert np.max(np.abs(full[0, 0] - by_hand)) <= 1e-12


def test_seed_004_output_padding_adds_a_row_and_column():
    """stride 2, output_padding=1: one more row and column, which no input reaches (zero
    without a bias, the bias with one)."""
    rng = np.random.default_rng(5)
    x, w = rng.standard_normal((1, 1, 3, 3)), rng.standard_normal((1, 1, 3, 3))
    base, _, _ = run_layer("ConvTranspose2d(1, 1, kernel_size=3, stride=2, padding=0, output_padding=0, "
                           "bias=False)", x, w)
    padded, _, _ = run_layer("ConvTranspose2d(1, 1, kernel_size=3, stride=2, padding=0, output_padding=1, "
                             "bias=False)", x, w)
    assert base.shape == (1, 1, 7, 7) and padded.shape == (1, 1, 8, 8)
    np.testing.assert_array_equal(padded[:, :, :7, :7], base)
    assert (padded[0, 0, 7, :] == 0).all() and (padded[0, 0, :, 7] == 0).all()
    with_bias, _, _ = run_layer("ConvTranspose2d(1, 1, 3, stride=2, output_padding=1)", x, w, np.array([0.25]))
    assert (with_bias[0, 0, 7, :] == 0.25).all()


# ------------------------------------------------------------------ dtypes and exact integers

def test_dtype_follows_the_input():
    x64 = np.random.default_rng(0).standard_normal((1, 2, 6, 6))
    assert run_layer("Conv2d(2, 3, 3)", x64)[0].dtype == np.float64
    assert run_layer("Conv2d(2, 3, 3)", x64.astype(np.float32))[0].dtype == np.float32
    assert run_layer("Conv2d(2, 3, 3)", x64.astype(np.float16))[0].dtype == np.float32
    ints = np.arange(72).reshape(1, 2, 6, 6)
    out, _, _ = run_layer("ConvTranspose2d(2, 3, 3, stride=2)", ints)
    assert out.dtype == np.int64
    out, _, _ = run_layer("Linear(6, 4)", ints.astype(np.uint8))
    assert out.dtype == np.int64


def test_integer_convolution_is_exact_beyond_float64():
    """Values whose sums float64 cannot hold (above 2**53) come out exact in int64."""
    big = 2 ** 30  # products near 2**60: inside int64, far beyond float64's 2**53
    x = np.array([[[big + 1, big + 3, 7]]], dtype=np.int64)  # 1 x 1 x 3
    w = np.array([[[big - 1, 5]]], dtype=np.int64)
    out, _, _ = run_layer("Conv1d(1, 1, 2, bias=False)", x, w)
    expected = [(big + 1) * (big - 1) + (big + 3) * 5, (big + 3) * (big - 1) + 7 * 5]
    assert out[0, 0].tolist() == expected
    assert float(expected[0]) != expected[0]  # float64 would have rounded it


def test_integer_overflow_is_refused():
    x = np.full((1, 1, 4), 2 ** 40, dtype=np.int64)
    w = np.full((1, 1, 3), 2 ** 30, dtype=np.int64)
    with pytest.raises(ConvcalcError, match="beyond int64"):
        run_layer("Conv1d(1, 1, 3, bias=False)", x, w)


# ------------------------------------------------------------------ MAC counts by construction

@pytest.mark.parametrize("expr, shape, macs", [
    # N * C_out * prod(out) * C_in/groups * prod(kernel)
    ("Conv2d(4, 6, 3, padding=1, groups=2)", (2, 4, 5, 5), 2 * 6 * 5 * 5 * 2 * 9),
    ("Conv1d(8, 8, 3, groups=8, dilation=2)", (1, 8, 10), 1 * 8 * 6 * 1 * 3),
    ("Conv3d(2, 3, (1, 2, 3), stride=2)", (2, 6, 6, 6), 3 * 3 * 3 * 2 * 2 * 6),  # unbatched: N=1
    # N * C_in * prod(in) * C_out/groups * prod(kernel)
    ("ConvTranspose2d(4, 6, 3, stride=2, groups=2, padding=1)", (2, 4, 3, 3), 2 * 4 * 9 * 3 * 9),
    # prod(leading) * in * out
    ("Linear(7, 3)", (2, 4, 7), 2 * 4 * 7 * 3),
    ("Linear(7, 3)", (7,), 7 * 3),
])
def test_executed_macs(expr, shape, macs):
    x = np.ones(shape, dtype=np.float32)
    out, executed, analytic = run_layer(expr, x)
    assert executed == analytic == macs


def test_context_counts_matmul_operands():
    ctx = Context()
    ctx.matmul(np.ones((3, 2, 4, 5)), np.ones((2, 5, 6)))
    assert ctx.macs == 3 * 2 * 4 * 5 * 6


def test_kernels_are_registered_for_the_weighted_families():
    from convcalc.layers.conv import ConvNd, ConvTransposeNd
    from convcalc.layers.linear import Linear
    load_all()
    for cls in (ConvNd, ConvTransposeNd, Linear):
        assert KERNELS.covers(cls)


# ------------------------------------------------------------------ live PyTorch (hypothesis)

torch_missing = False
try:
    import torch
except ImportError:  # pragma: no cover - the live tests skip
    torch_missing = True

live = pytest.mark.skipif(torch_missing, reason="torch is not installed")

if not torch_missing:
    from hypothesis import HealthCheck, assume, given, settings
    from hypothesis import strategies as st

    @st.composite
    def conv_configs(draw):
        n = draw(st.sampled_from((1, 2, 3)))
        transposed = draw(st.booleans())
        groups = draw(st.sampled_from((1, 1, 2, 3)))
        cin = groups * draw(st.integers(1, 3))
        cout = groups * draw(st.integers(1, 3))
        per_axis = lambda lo, hi: st.tuples(*[st.integers(lo, hi)] * n)  # noqa: E731
        kernel, stride, dilation = draw(per_axis(1, 4)), draw(per_axis(1, 3)), draw(per_axis(1, 3))
        spatial = draw(per_axis(1, 6 if n == 3 else 9))
        batch = draw(st.sampled_from(((), (1,), (2,))))
        if transposed:
            padding = draw(per_axis(0, 3))
            op = tuple(draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation))
            kwargs = dict(kernel_size=kernel, stride=stride, padding=padding, output_padding=op, groups=groups,
                          dilation=dilation, bias=draw(st.booleans()))
            cls = f"ConvTranspose{n}d"
        else:
            mode = draw(st.sampled_from(("zeros", "reflect", "replicate", "circular")))
            padding = draw(st.one_of(per_axis(0, 3), st.just("same"), st.just("valid")))
            if padding == "same":
                stride = (1,) * n
            kwargs = dict(kernel_size=kernel, stride=stride, padding=padding, dilation=dilation, groups=groups,
                          bias=draw(st.booleans()), padding_mode=mode)
            cls = f"Conv{n}d"
        return cls, (cin, cout), kwargs, batch + (cin,) + spatial

    def _torch_module(cls, args, kwargs):
        return getattr(torch.nn, cls)(*args, **kwargs).eval()

    def _expr(cls, args, kwargs):
        return f"{cls}({', '.join(map(repr, args))}, " + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"

    def _prepare(config):
        cls, args, kwargs, shape = config
        expr = _expr(cls, args, kwargs)
        try:
            convcalc.analyze([expr], shape)
        except ConvcalcError:
            assume(False)  # accept/reject parity is tests/test_live_torch.py's subject
        return expr, _torch_module(cls, args, kwargs), shape

    SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

    @live
    @SETTINGS
    @given(conv_configs(), st.integers(0, 2 ** 32 - 1))
    def test_live_float64(config, seed):
        expr, module, shape = _prepare(config)
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(shape)
        module = module.double()
        with torch.no_grad():
            expected = module(torch.from_numpy(x)).numpy()
        b = None if module.bias is None else module.bias.detach().numpy()
        out, macs, analytic = run_layer(expr, x, module.weight.detach().numpy(), b)
        assert out.shape == expected.shape and out.dtype == np.float64
        if out.size:
            assert np.max(np.abs(out - expected)) <= 1e-10
        assert macs == analytic

    @live
    @SETTINGS
    @given(conv_configs(), st.integers(0, 2 ** 32 - 1))
    def test_live_float32(config, seed):
        expr, module, shape = _prepare(config)
        x = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
        w = module.weight.detach().clone()
        b = None if module.bias is None else module.bias.detach().clone()
        with torch.no_grad():
            expected = module(torch.from_numpy(x)).numpy()
            # Σ|x||w| per output (the bias counted too): the scale of every rounding error
            module.weight.copy_(w.abs())
            if b is not None:
                module.bias.copy_(b.abs())
            scale = module(torch.from_numpy(np.abs(x))).numpy()
        out, _, _ = run_layer(expr, x, w.numpy(), None if b is None else b.numpy())
        assert out.dtype == np.float32 and out.shape == expected.shape
        terms = math.prod(w.shape[1:]) + 1
        bound = 2 * terms * np.finfo(np.float32).eps * scale + 1e-30
        assert (np.abs(out.astype(np.float64) - expected) <= bound).all()

    @live
    @SETTINGS
    @given(conv_configs(), st.integers(0, 2 ** 32 - 1))
    def test_live_integers_exact(config, seed):
        expr, module, shape = _prepare(config)
        rng = np.random.default_rng(seed)
        x = rng.integers(-9, 10, size=shape)
        w = rng.integers(-9, 10, size=tuple(module.weight.shape))
        b = None if module.bias is None else rng.integers(-9, 10, size=tuple(module.bias.shape))
        module = module.double()
        with torch.no_grad():  # float64 holds these sums exactly
            module.weight.copy_(torch.from_numpy(w.astype(np.float64)))
            if b is not None:
                module.bias.copy_(torch.from_numpy(b.astype(np.float64)))
            expected = module(torch.from_numpy(x.astype(np.float64))).numpy()
        out, _, _ = run_layer(expr, x, w, b)
        assert out.dtype == np.int64
        assert (out == expected).all()

    @live
    @SETTINGS
    @given(st.integers(1, 9), st.integers(1, 9), st.lists(st.integers(1, 4), max_size=3), st.booleans(),
           st.integers(0, 2 ** 32 - 1))
    def test_live_linear(fin, fout, lead, bias, seed):
        module = torch.nn.Linear(fin, fout, bias=bias).double()
        x = np.random.default_rng(seed).standard_normal(tuple(lead) + (fin,))
        with torch.no_grad():
            expected = module(torch.from_numpy(x)).numpy()
        b = None if module.bias is None else module.bias.detach().numpy()
        out, macs, analytic = run_layer(f"Linear({fin}, {fout}, bias={bias})", x, module.weight.detach().numpy(), b)
        assert out.shape == expected.shape
        if out.size:
            assert np.max(np.abs(out - expected)) <= 1e-10
        assert macs == analytic
