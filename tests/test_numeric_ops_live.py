"""The executor's pooling, normalisation, activation, resampling, padding, shuffle,
merge, Unfold and Fold kernels against live PyTorch (skipped where torch is not importable).

Configurations come from the generators of tests/fixtures/record_torch_ops.py, driven
by a seed that hypothesis draws: torch runs the module in eval(), convcalc runs the
kernel registered for the layer's class.  Values must agree (float64 within 1e-10,
float32 within 1e-5 of the output's scale, or no further from torch's float64 output
than torch's float32 one where that is further, integers exactly), and convcalc must
refuse exactly the dtypes torch refuses.
"""

from __future__ import annotations

import importlib.util
import pathlib
import random
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from convcalc import ConvcalcError, build_layer  # noqa: E402
from convcalc.numeric.kernels import KERNELS, Context, load_all  # noqa: E402

try:
    from test_numeric_ops import assert_matches  # noqa: E402
except ImportError:  # tests/ imported as a package
    from tests.test_numeric_ops import assert_matches  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "record_torch_ops", pathlib.Path(__file__).parent / "fixtures" / "record_torch_ops.py")
recorder = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(recorder)  # type: ignore[union-attr]

load_all()
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


def check_against_torch(case) -> None:
    family, expr, inputs, params, expected, error = case
    layer = build_layer(expr)
    run = KERNELS.lookup(type(layer))
    ctx = Context()
    if error is not None:
        with pytest.raises(ConvcalcError, match=np.asarray(inputs[0]).dtype.name):
            run(layer, inputs, params, ctx)
        return
    out = run(layer, inputs, params, ctx)
    exact = None
    if expected.dtype == np.float32:  # torch's float64 answer, for where its float32 one strays
        exact = recorder.run_torch(expr, [a.astype(np.float64) for a in inputs],
                                   {k: v.astype(np.float64) for k, v in params.items()})
    assert_matches(out, expected, f"{expr} on {[a.shape for a in inputs]} {inputs[0].dtype}", exact)
    assert ctx.macs == 0


@settings(max_examples=120, **SETTINGS)
@given(seed=st.integers(0, 2**32 - 1), generator=st.sampled_from(sorted(recorder.GENERATORS)))
def test_kernels_match_live_torch(seed, generator):
    check_against_torch(recorder.draw_case(random.Random(seed), recorder.GENERATORS[generator]))


@settings(max_examples=120, **SETTINGS)
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(sorted(recorder.ACTIVATION_OPTIONS)))
def test_activations_match_live_torch(seed, name):
    check_against_torch(recorder.draw_case(random.Random(seed), lambda r: recorder.gen_activation(r, name)))


@settings(max_examples=100, **SETTINGS)
@given(seed=st.integers(0, 2**32 - 1), generator=st.sampled_from(sorted(recorder.ADDED)))
def test_norms_fold_and_unfold_match_live_torch(seed, generator):
    """GroupNorm, LayerNorm, InstanceNorm, LocalResponseNorm, Softmax2d, Unfold, Fold."""
    check_against_torch(recorder.draw_case(random.Random(seed), recorder.ADDED[generator]))


@settings(max_examples=60, **SETTINGS)
@given(seed=st.integers(0, 2**32 - 1))
def test_upsample_matches_live_torch(seed):
    check_against_torch(recorder.draw_case(random.Random(seed), recorder.gen_upsample))


@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "int64", "bool"])
def test_integer_support_is_torchs(dtype):
    """For one configuration of every kind, convcalc computes an integer dtype exactly
    when torch does, and then gives torch's values and dtype."""
    r = random.Random(7)
    draws = [recorder.gen_maxpool, recorder.gen_avgpool, recorder.gen_adaptive, recorder.gen_pad,
             recorder.gen_shuffle, recorder.gen_plumbing, recorder.gen_merge, *recorder.ADDED.values()]
    draws += [lambda rr, n=name: recorder.gen_activation(rr, n) for name in recorder.ACTIVATION_OPTIONS]
    for draw in draws:
        for _ in range(4):
            family, expr, inputs, params = draw(r)
            inputs = [recorder.draw_array(r, a.shape, dtype) for a in inputs]
            try:
                expected, error = recorder.run_torch(expr, inputs, params), None
            except Exception as exc:  # noqa: BLE001 - torch's refusal is the expectation
                expected, error = None, exc
            refusals = ("not implemented", "Type promoting", "mixed dtype")  # mixed: int input, float weights
            if error is not None and not any(text in str(error) for text in refusals):
                continue  # an invalid configuration, not a dtype refusal
            check_against_torch((family, expr, inputs, params, expected, error))


@pytest.mark.parametrize("expr, shape", [
    ("nn.Upsample(size=(140, 3), mode='nearest')", (1, 2, 50, 3)),
    ("nn.Upsample(scale_factor=(1.01, 2.003), mode='nearest')", (1, 4, 70, 41)),
    ("nn.Upsample(scale_factor=(1.01, 2.003), mode='nearest-exact')", (1, 1, 70, 41)),
    ("nn.Upsample(scale_factor=2.6, mode='bilinear')", (2, 3, 60, 45)),
    ("nn.Upsample(scale_factor=1.7, mode='bicubic', align_corners=True)", (1, 2, 40, 33)),
    ("nn.Upsample(scale_factor=(1.3, 0.7, 2.2), mode='trilinear')", (1, 2, 9, 20, 11)),
])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_large_upsampling_matches_live_torch(expr, shape, dtype):
    """Sizes where the float32 source index has few bits to spare, and where PyTorch's
    nearest kernel switches (out_H + out_W > 128)."""
    x = np.random.default_rng(3).standard_normal(shape).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = recorder.run_torch(expr, [x], {})
    check_against_torch(("Upsample", expr, [x], {}, expected, None))


@pytest.mark.parametrize("expr, shape", [
    ("nn.MaxPool2d(3, stride=2, padding=1)", (1, 3, 9, 9)), ("nn.AvgPool2d(3, ceil_mode=True)", (1, 2, 8, 7)),
    ("nn.AdaptiveAvgPool2d((3, 2))", (1, 2, 7, 5)), ("nn.GELU()", (2, 10)), ("nn.Softmax(dim=1)", (3, 5)),
    ("nn.Upsample(scale_factor=1.5, mode='bilinear')", (1, 2, 5, 5)), ("nn.SiLU()", (4, 4)),
    ("nn.GroupNorm(2, 4, affine=False)", (2, 4, 3, 3)), ("nn.LayerNorm((3, 5), elementwise_affine=False)", (2, 3, 5)),
    ("nn.InstanceNorm2d(3)", (2, 3, 4, 4)),
    ("nn.LocalResponseNorm(3, alpha=0.5)", (2, 5, 6)), ("nn.Softmax2d()", (2, 4, 3, 3)),
    ("nn.Unfold(2, padding=1)", (1, 2, 4, 4)), ("nn.Fold(4, 2, stride=1)", (1, 8, 9)),
])
def test_float16_is_computed_in_float32_and_rounded(expr, shape):
    x = np.random.default_rng(5).standard_normal(shape).astype(np.float16)
    expected = recorder.run_torch(expr, [x], {})
    layer = build_layer(expr)
    out = KERNELS.lookup(type(layer))(layer, [x], {}, Context())
    assert out.dtype == np.float16 and out.shape == expected.shape
    assert np.abs(out.astype(np.float64) - expected).max() <= 2e-3 * max(1.0, np.abs(expected).max())


@pytest.mark.parametrize("expr, shape", [
    ("nn.AdaptiveAvgPool1d(0)", (1, 2, 3)), ("nn.AdaptiveAvgPool2d((0, 3))", (2, 3, 3)),
    ("nn.AdaptiveAvgPool3d((0, 3, 3))", (1, 2, 3, 3, 3)), ("nn.AdaptiveMaxPool2d((0, 3))", (1, 2, 3, 3)),
    ("nn.Upsample(scale_factor=0.3, mode='area')", (1, 2, 3)),
    ("nn.Upsample(scale_factor=(1.0, 1.0, 0.3), mode='area')", (1, 2, 3, 3, 3)),
])
@pytest.mark.parametrize("dtype", ["int32", "float64"])
def test_empty_outputs_and_dtypes_as_torch(expr, shape, dtype):
    """PyTorch returns an empty adaptive average (1-D, 2-D) before it checks the dtype;
    the 3-D one and the adaptive max check it first."""
    x = np.zeros(shape, dtype=dtype)
    try:
        expected, error = recorder.run_torch(expr, [x], {}), None
    except Exception as exc:  # noqa: BLE001 - torch's refusal is the expectation
        expected, error = None, exc
    check_against_torch(("", expr, [x], {}, expected, error))


@pytest.mark.parametrize("expr", [
    "GroupNorm(2, 6)", "GroupNorm(3, 6, bias=False)", "GroupNorm(1, 4, affine=False)",
    "LayerNorm((3, 4))", "LayerNorm(5, bias=False)", "LayerNorm(5, elementwise_affine=False)",
    "InstanceNorm1d(3)", "InstanceNorm2d(3, affine=True)", "InstanceNorm3d(2, track_running_stats=True)",
    "InstanceNorm2d(4, affine=True, bias=False, track_running_stats=True)",
    "BatchNorm2d(3)", "PReLU(4)", "LocalResponseNorm(3)", "Softmax2d()", "Unfold(2)", "Fold(4, 2)",
])
def test_parameter_layouts_are_torchs_state_dict(expr):
    """Names and shapes of every parameter and buffer, num_batches_tracked (a training
    counter) aside."""
    from convcalc.numeric.execute import parameter_layout
    module = eval(f"nn.{expr}", {"nn": torch.nn})  # literals only: the list above
    expected = {k: tuple(v.shape) for k, v in module.state_dict().items() if k != "num_batches_tracked"}
    assert parameter_layout(build_layer(expr)) == expected
