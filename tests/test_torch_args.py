"""Every keyword of every registered layer, given wrongly typed or out-of-range values,
is accepted or refused as PyTorch accepted or refused it (at construction or at the first
forward: only the verdict per expression and input is compared).

The verdicts are recorded by tests/fixtures/record_torch_args.py into
tests/fixtures/torch_args.json; re-run it after adding a family or a parameter.
"""
from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

import pytest

import convcalc
from convcalc.errors import ConvcalcError
from convcalc.layers.registry import table

FIXTURE = json.loads((Path(__file__).parent / "fixtures" / "torch_args.json").read_text())
BY_NAME: dict[str, list[dict]] = defaultdict(list)
for _case in FIXTURE["cases"]:
    BY_NAME[_case["name"]].append(_case)


INT64_MAX = 2**63 - 1


def divergence(case: dict) -> str | None:
    """Why convcalc deliberately answers otherwise (README, "Choices where the contract is
    silent"), or None.  Each is asserted to still be a divergence, so none can go stale."""
    value = case["value"]
    if case["accepted"] and case["param"] in ("dilation", "padding") and value in (str(INT64_MAX), str(-INT64_MAX - 1)):
        return "torch's 64-bit size arithmetic wraps around and it answers a meaningless size; convcalc refuses"
    if not case["accepted"] and case["param"] == "stride" and value == str(INT64_MAX) and "primitive" in case["error"]:
        return "oneDNN (torch's CPU convolution) refuses this stride for some channel counts; convcalc accepts"
    return None


def convcalc_verdict(expr: str, shape: list[int]) -> tuple[bool, str | None]:
    try:
        convcalc.analyze([expr], tuple(shape))
    except ConvcalcError as exc:
        return False, str(exc)
    return True, None


def test_every_registered_name_is_recorded_or_has_no_torch_counterpart():
    names = {spec.name for spec in table().values()}
    skipped = {key.split(".")[0] for key in FIXTURE["skipped"] if "." not in key}
    skipped.add("DeformConv2d")  # torchvision's: tests/fixtures/torchvision_deform.json records its arguments
    missing = sorted(names - set(BY_NAME) - skipped)
    assert not missing, f"re-run tests/fixtures/record_torch_args.py: {missing} have no recorded cases"


def test_the_fixture_tries_the_64_bit_edges_and_wrong_types():
    values = set(FIXTURE["values"])
    assert {str(2**63 - 1), str(2**63), str(2**64), str(-2**63 - 1), str(10**68)} <= values
    assert {"'nan'", "3.0", "2.5", "True", "None", "(2, 2, 2, 2)"} <= values
    # every parameter of every recorded name meets every value
    per_param = defaultdict(set)
    for case in FIXTURE["cases"]:
        if case["param"] is None:  # the sample itself, which torch accepts
            assert case["accepted"], case
            continue
        per_param[case["name"], case["param"]].add(case["value"])
    assert all(v == values for v in per_param.values())
    assert len(per_param) > 200
    assert sum(1 for case in FIXTURE["cases"] if divergence(case)) <= 25  # a handful, all explained


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_accept_reject_matches_torch(name):
    mismatches = []
    for case in BY_NAME[name]:
        if case["resource"]:  # torch ran out of memory; a calculator allocates nothing
            continue
        accepted, error = convcalc_verdict(case["expr"], case["input"])
        if case["phase"] == "crash":  # no verdict from torch to compare with
            continue
        if divergence(case):
            assert accepted != case["accepted"], f"{case['expr']}: no longer a divergence ({divergence(case)})"
            continue
        if accepted != case["accepted"]:
            mismatches.append(f"{case['expr']} on {case['input']}: torch "
                              f"{'accepts' if case['accepted'] else 'refuses (' + case['error'] + ')'}, "
                              f"convcalc {'accepts' if accepted else 'refuses (' + str(error) + ')'}")
    assert not mismatches, f"{len(mismatches)} of {len(BY_NAME[name])}:\n" + "\n".join(mismatches[:40])


# ---------------------------------------------------------------- outputs beyond 64 bits

#: layers whose output has a size, or a byte count (float32), beyond PyTorch's 64-bit sizes
OVERFLOWING = [
    ("Upsample(scale_factor=1e300)", (1, 1, 4)),
    ("Upsample(scale_factor=1e308)", (1, 1, 4)),  # 4 × 1e308 is beyond a double too
    ("Upsample(scale_factor=1e300, mode='area')", (1, 1, 4)),
    ("Upsample(scale_factor=3e9, mode='bilinear')", (1, 1, 4, 4)),  # each size fits, their product not
    ("Upsample(size=9223372036854775807)", (1, 1, 4)),
    ("ConvTranspose1d(1, 1, 3, stride=4611686018427387904)", (1, 1, 9)),
    ("ZeroPad1d(4611686018427387904)", (1, 1, 4)),
    ("ConstantPad2d(3037000499, 0.0)", (1, 1, 4, 4)),
    ("AdaptiveAvgPool2d((3037000500, 3037000500))", (1, 1, 4, 4)),
]


def _refusal(expr, shape):
    with pytest.raises(ConvcalcError) as info:
        convcalc.analyze([expr], shape)
    return info.value


@pytest.mark.parametrize("expr, shape", OVERFLOWING)
def test_an_output_beyond_64_bits_is_an_incompatible_input(expr, shape):
    from convcalc.errors import IncompatibleInputError
    error = _refusal(expr, shape)
    assert isinstance(error, IncompatibleInputError), repr(error)
    assert "64-bit" in str(error) and len(str(error)) < 300


@pytest.mark.parametrize("fmt", ["table", "json", "csv"])
@pytest.mark.parametrize("expr, shape", OVERFLOWING[:3])
def test_the_command_line_exits_2_for_an_output_beyond_64_bits(expr, shape, fmt, capsys):
    from convcalc.cli import main
    code = main(["shape", expr, "--input", "x".join(map(str, shape)), "--format", fmt])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.startswith("error: ") and "64-bit size" in err and "Traceback" not in err


@pytest.mark.parametrize("expr", ["Linear(9223372036854775808, 10)", "Linear(2305843009213693952, 1)",
                                  "Conv1d(4, 6, 9223372036854775807)", "BatchNorm1d(9223372036854775807)",
                                  "Conv1d(4, 6, 3, stride=100000000000000000000000000000000000000000000000000000000000000000000)",
                                  "Conv1d(4, 6, 3, dilation=18446744073709551616)"])
def test_arguments_beyond_64_bits_are_refused_at_construction(expr):
    from convcalc.errors import LayerConfigError
    assert isinstance(_refusal(expr, (2, 4, 9)), LayerConfigError)


def test_torch_refuses_the_same_outputs_and_arguments():
    torch = pytest.importorskip("torch")
    import ast

    def call(text):
        tree = ast.parse(text, mode="eval").body
        return getattr(torch.nn, tree.func.id)(*[ast.literal_eval(a) for a in tree.args],
                                               **{k.arg: ast.literal_eval(k.value) for k in tree.keywords})

    for expr, shape in OVERFLOWING:
        with pytest.raises((RuntimeError, ValueError, TypeError, OverflowError)):
            with torch.no_grad():
                call(expr).eval()(torch.zeros(shape))


def test_local_response_norm_pads_the_squares_within_64_bit_sizes():
    """LocalResponseNorm pads the squares of an (N, C, H, W) input into (N, 1, C + size - 1, H, W)
    float32 values: the largest size whose byte count fits in 64 bits passes, one more is refused."""
    from convcalc.errors import IncompatibleInputError
    shape = (2, 4, 5, 5)
    per_channel_bytes = 2 * 5 * 5 * 4
    largest = INT64_MAX // per_channel_bytes - 4 + 1  # C + size - 1 padded channels
    convcalc.analyze([f"LocalResponseNorm({largest})"], shape)
    assert isinstance(_refusal(f"LocalResponseNorm({largest + 1})", shape), IncompatibleInputError)
    torch = pytest.importorskip("torch")
    with pytest.raises(RuntimeError, match="overflow"):
        with torch.no_grad():
            torch.nn.LocalResponseNorm(largest + 1)(torch.zeros(shape))
