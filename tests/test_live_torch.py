"""Property tests against live PyTorch: accept/reject parity, shapes, params, MACs.

For every generated configuration torch is the oracle: construct the module, `.eval()`,
run it on zeros.  convcalc must accept exactly when torch does, and then agree on the
output shape, `sum(p.numel() for p in m.parameters())`, and the contract's MAC count
computed from torch's real tensors:

    ConvNd           N * prod(out_spatial) * weight.numel()
    ConvTransposeNd  N * prod(in_spatial)  * weight.numel()
    Linear           prod(input.shape[:-1]) * weight.numel()
    anything else    0

(N is 1 for unbatched input.)  Skips cleanly where torch is not installed.
"""

from __future__ import annotations

import ast
import math
import os
import warnings
from dataclasses import dataclass
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import event as _event  # noqa: E402
from hypothesis.control import currently_in_test_context  # noqa: E402

import convcalc  # noqa: E402

try:
    from strategies import FAMILIES, LayerSpec, chain_cases  # noqa: E402
except ImportError:  # tests/ imported as a package
    from tests.strategies import FAMILIES, LayerSpec, chain_cases  # noqa: E402

nn = torch.nn

# CONVCALC_LIVE_EXAMPLES=5000 for a longer hunt (the default keeps the suite quick)
EXAMPLES = int(os.environ.get("CONVCALC_LIVE_EXAMPLES", "150"))
PROPERTY = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@dataclass
class TorchLayer:
    output_shape: tuple[int, ...]
    params: int
    macs: int


def event(label: str) -> None:
    """Hypothesis statistics (--hypothesis-show-statistics); a no-op outside @given."""
    if currently_in_test_context():
        _event(label)


def torch_macs(module, x, y) -> int:
    """The contract's MAC definition, evaluated on torch's actual tensors."""
    if isinstance(module, nn.modules.conv._ConvTransposeNd):  # before _ConvNd: a subclass
        n = len(module.kernel_size)
        batch = x.shape[0] if x.dim() == n + 2 else 1
        return batch * math.prod(x.shape[-n:]) * module.weight.numel()
    if isinstance(module, nn.modules.conv._ConvNd):
        n = len(module.kernel_size)
        batch = x.shape[0] if x.dim() == n + 2 else 1
        return batch * math.prod(y.shape[-n:]) * module.weight.numel()
    if isinstance(module, nn.Linear):
        return math.prod(x.shape[:-1]) * module.weight.numel()
    return 0


def run_torch(specs, input_shape):
    """Per-layer results, and the exception of the first layer torch refuses (or None)."""
    x = torch.zeros(input_shape)
    results: list[TorchLayer] = []
    for spec in specs:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                module = spec.build()
                module.eval()
                with torch.no_grad():
                    y = module(x)
        except Exception as exc:  # any refusal, at construction or in forward
            return results, exc
        params = sum(p.numel() for p in module.parameters())
        results.append(TorchLayer(tuple(y.shape), params, torch_macs(module, x, y)))
        x = y
    return results, None


def run_convcalc(exprs, input_shape):
    try:
        return convcalc.analyze(list(exprs), input_shape=tuple(input_shape)), None
    except convcalc.ConvcalcError as exc:  # anything else is a bug and propagates
        return None, exc


def refused_empty_transposed_output(case, expected) -> bool:
    """The one documented divergence (README, "Choices"): PyTorch's CPU backends disagree
    on a transposed convolution whose output size is exactly 0 (ConvTranspose2d(1, 1, 4,
    1, 2) on 1x1 gives 0x0, ConvTranspose1d on 1 raises), and convcalc refuses it.  True
    only when the first empty output torch gave is a ConvTranspose's and convcalc refuses
    exactly there: it accepts the chain before that layer and refuses it with the layer."""
    empty = [i for i, t in enumerate(expected) if 0 in t.output_shape]
    if not empty:
        return False
    i = empty[0]
    if not case.specs[i].cls_name.startswith("ConvTranspose"):
        return False
    if i and run_convcalc(case.exprs[:i], case.input_shape)[1] is not None:
        return False
    return run_convcalc(case.exprs[:i + 1], case.input_shape)[1] is not None


def check_parity(case) -> None:
    expected, torch_error = run_torch(case.specs, case.input_shape)
    analysis, cc_error = run_convcalc(case.exprs, case.input_shape)
    where = f"{' -> '.join(case.exprs)} on input {case.input_shape}"
    event("torch accepts" if torch_error is None else "torch refuses")
    if torch_error is not None:
        assert cc_error is not None, (
            f"torch refuses but convcalc accepts {where}\n"
            f"  torch: {type(torch_error).__name__}: {torch_error}\n"
            f"  convcalc output shape: {analysis.total.output_shape}")
        return
    if cc_error is not None and refused_empty_transposed_output(case, expected):
        event("torch gave an empty ConvTranspose output that convcalc refuses")
        return
    assert cc_error is None, (
        f"torch accepts but convcalc refuses {where}\n"
        f"  convcalc: {cc_error}\n  torch output shape: {expected[-1].output_shape}")

    assert len(analysis.layers) == len(expected), where
    for i, (got, want) in enumerate(zip(analysis.layers, expected)):
        at = f"layer {i} ({case.exprs[i]}) of {where}"
        assert tuple(got.output_shape) == want.output_shape, f"output shape, {at}"
        assert got.params == want.params, f"params, {at}"
        assert got.macs == want.macs, f"macs, {at}"
    assert tuple(analysis.total.output_shape) == expected[-1].output_shape, where
    assert analysis.total.params == sum(t.params for t in expected), where
    assert analysis.total.macs == sum(t.macs for t in expected), where


# ----------------------------------------------------------------- one test per family


@PROPERTY
@given(FAMILIES["conv"])
def test_conv(case):
    check_parity(case)


@PROPERTY
@given(FAMILIES["conv_transpose"])
def test_conv_transpose(case):
    check_parity(case)


@PROPERTY
@given(FAMILIES["max_pool"])
def test_max_pool(case):
    check_parity(case)


@PROPERTY
@given(FAMILIES["avg_pool"])
def test_avg_pool(case):
    check_parity(case)


@PROPERTY
@given(FAMILIES["adaptive_pool"])
def test_adaptive_pool(case):
    check_parity(case)


@PROPERTY
@given(FAMILIES["upsample"])
def test_upsample(case):
    check_parity(case)


@PROPERTY
@given(FAMILIES["pad"])
def test_pad(case):
    check_parity(case)


@PROPERTY
@given(FAMILIES["pixel_shuffle"])
def test_pixel_shuffle(case):
    check_parity(case)


@PROPERTY
@given(FAMILIES["linear"])
def test_linear(case):
    check_parity(case)


@PROPERTY
@given(chain_cases())
def test_chain(case):
    check_parity(case)


# ----------------------------------------------------------------- fixed anchors


@pytest.mark.parametrize("exprs, shape", [
    (["Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)"], (1, 3, 224, 224)),
    (["ConvTranspose2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), output_padding=(1, 0))"],
     (2, 16, 9, 7)),
    (["MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)"],
     (1, 8, 15, 15)),
    (["Conv1d(4, 4, 3, padding='same', groups=2, padding_mode='circular')", "Linear(10, 3)"],
     (2, 4, 10)),
])
def test_anchor_cases(exprs, shape):
    def spec_of(expr: str):
        call = ast.parse(expr, mode="eval").body
        args = tuple(ast.literal_eval(a) for a in call.args)
        kwargs = tuple((k.arg, ast.literal_eval(k.value)) for k in call.keywords)
        return LayerSpec(expr, call.func.id, args, kwargs)

    check_parity(SimpleNamespace(specs=tuple(spec_of(e) for e in exprs), exprs=exprs,
                                 input_shape=shape))


@PROPERTY
@given(FAMILIES["unfold"])
def test_unfold(case):
    check_parity(case)


@PROPERTY
@given(FAMILIES["fold"])
def test_fold(case):
    check_parity(case)
