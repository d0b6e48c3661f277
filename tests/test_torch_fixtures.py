"""convcalc against recorded PyTorch ground truth (no torch needed at test time).

The fixture tests/fixtures/torch_layers.json is produced by
tests/fixtures/record_torch_layers.py, which ran every single-layer configuration
through real PyTorch modules.  Accepted configurations must give the same output
shape, parameter count and MACs; rejected ones must raise convcalc.ConvcalcError
with a non-empty one-line message.
"""
from __future__ import annotations

import json
import pathlib
import re

import pytest

FIXTURE = pathlib.Path(__file__).parent / "fixtures" / "torch_layers.json"

with FIXTURE.open() as _f:
    DATA = json.load(_f)
CASES = DATA["cases"]

# Every family named in CONTRACT.md section 1 that is a single-input layer
# (the merges Add/Mul/Concat need several inputs and are not recorded here).
REQUIRED_FAMILIES = [
    "Conv1d", "Conv2d", "Conv3d",
    "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
    "MaxPool1d", "MaxPool2d", "MaxPool3d",
    "AvgPool1d", "AvgPool2d", "AvgPool3d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d",
    "AdaptiveMaxPool1d", "AdaptiveMaxPool2d", "AdaptiveMaxPool3d",
    "Linear", "Flatten", "Identity",
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d",
    "ReLU", "ReLU6", "LeakyReLU", "GELU", "SiLU", "Sigmoid", "Tanh", "Hardswish",
    "Hardsigmoid",
    "Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
    "Upsample",
    "ZeroPad1d", "ZeroPad2d", "ZeroPad3d",
    "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
    "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d",
    "ReplicationPad1d", "ReplicationPad2d", "ReplicationPad3d",
    "PixelShuffle", "PixelUnshuffle", "ChannelShuffle",
    "LazyConv1d", "LazyConv2d", "LazyConv3d",
    "LazyConvTranspose1d", "LazyConvTranspose2d", "LazyConvTranspose3d",
    "SeparableConv1d", "SeparableConv2d", "SeparableConv3d",
    "GroupNorm", "LayerNorm", "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d",
    "LocalResponseNorm", "Unfold", "Fold", "Softmax2d",
]


def class_name(expr: str) -> str:
    """`torch.nn.Conv2d(3, 8, 3)` -> `conv2d` (lower-cased, prefix stripped)."""
    name = expr.split("(", 1)[0].strip()
    name = re.sub(r"^(torch\.)?nn\.", "", name)
    return name.lower()


def case_id(case) -> str:
    shape = "x".join(str(d) for d in case["input_shape"])
    return "%d-%s@%s" % (case["id"], case["expr"], shape)


# ---------------------------------------------------------------------------- fixture meta

def test_fixture_is_large_enough():
    assert len(CASES) >= 500


def test_fixture_rejection_ratio():
    rejected = sum(1 for c in CASES if not c["ok"])
    ratio = rejected / len(CASES)
    assert 0.20 <= ratio <= 0.35, ratio


def test_fixture_covers_every_family():
    seen = {class_name(c["expr"]) for c in CASES}
    missing = [f for f in REQUIRED_FAMILIES if f.lower() not in seen]
    assert not missing, missing


def test_fixture_families_have_accepted_and_rejected_examples():
    """Sanity: every family has accepted cases; the conv families have rejected ones."""
    ok = {class_name(c["expr"]) for c in CASES if c["ok"]}
    bad = {class_name(c["expr"]) for c in CASES if not c["ok"]}
    assert not [f for f in REQUIRED_FAMILIES if f.lower() not in ok]
    for fam in ("conv1d", "conv2d", "conv3d", "convtranspose2d", "maxpool2d",
                "avgpool2d", "linear", "upsample", "batchnorm2d", "groupnorm", "layernorm",
                "instancenorm1d", "instancenorm2d", "instancenorm3d", "localresponsenorm",
                "unfold", "fold", "softmax2d"):
        assert fam in bad, fam


def test_fixture_records_are_well_formed():
    for c in CASES:
        if c["ok"]:
            assert isinstance(c["output_shape"], list) and c["torch_error"] is None
            assert isinstance(c["params"], int) and isinstance(c["macs"], int)
        else:
            assert c["output_shape"] is None and c["torch_error"]


# ---------------------------------------------------------------------------- convcalc

@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_layer_matches_torch(case):
    import convcalc

    expr, shape = case["expr"], tuple(case["input_shape"])
    if case["ok"]:
        a = convcalc.analyze([expr], input_shape=shape)
        got = (tuple(a.total.output_shape), a.total.params, a.total.macs)
        want = (tuple(case["output_shape"]), case["params"], case["macs"])
        assert got == want, (
            "%s on %s: convcalc (shape, params, macs)=%r, torch=%r"
            % (expr, list(shape), got, want))
    else:
        with pytest.raises(convcalc.ConvcalcError) as excinfo:
            convcalc.analyze([expr], input_shape=shape)
        msg = str(excinfo.value).strip()
        assert msg, "empty error message (torch said: %s)" % case["torch_error"]
        assert "\n" not in msg, "multi-line error message: %r" % msg
