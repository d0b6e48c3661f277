"""A zero-size dimension mid-chain: convcalc accepts and refuses what PyTorch does (and
gives the shape it gives).  Chains: a producer of a zero-size tensor (a cropping
ZeroPad1d, area Upsample, AdaptiveAvgPool to 0, Linear(L, 0)) and then every
single-input family; recorded by tests/fixtures/record_zero_size.py into
tests/fixtures/zero_size.json, and drawn afresh against live torch when it is installed.
"""
from __future__ import annotations

import importlib.util
import json
import random
from collections import defaultdict
from pathlib import Path

import pytest

import convcalc
from convcalc.errors import ConvcalcError

HERE = Path(__file__).parent
FIXTURE = json.loads((HERE / "fixtures" / "zero_size.json").read_text())
BY_NAME: dict[str, list[dict]] = defaultdict(list)
for _case in FIXTURE["cases"]:
    BY_NAME[_case["name"]].append(_case)


def verdict(expr: str, shape) -> tuple[bool, object]:
    try:
        return True, list(convcalc.analyze([expr], tuple(shape)).total.output_shape)
    except ConvcalcError as exc:
        assert "\n" not in str(exc)
        return False, str(exc)


def mismatches(cases) -> list[str]:
    out = []
    for case in cases:
        accepted, result = verdict(case["expr"], case["input"])
        if accepted != case["accepted"] or accepted and result != case["output_shape"]:
            torch_said = case["output_shape"] if case["accepted"] else f"refuses ({case['error']})"
            out.append(f"{case['expr']} on {case['input']} (zero-size {case['zero_shape']}): torch "
                       f"{torch_said}, convcalc {result if accepted else f'refuses ({result})'}")
    return out


def test_the_fixture_covers_every_single_input_family_and_both_verdicts():
    from convcalc.layers.registry import table
    names = {spec.name for key, spec in table().items() if key == spec.name.lower() and not spec.any_args
             and spec.family.arity == 1 and not spec.name.startswith("SeparableConv")}
    assert names <= set(BY_NAME), f"re-run the recording script: {sorted(names - set(BY_NAME))}"
    assert all(0 in case["zero_shape"] for case in FIXTURE["cases"])
    verdicts = [case["accepted"] for case in FIXTURE["cases"]]
    assert 0.2 < sum(verdicts) / len(verdicts) < 0.8


def test_the_cases_the_issue_names():
    examples = FIXTURE["cases"][:FIXTURE["examples"]]
    assert examples[0]["expr"] == "ZeroPad1d((0, -4)) -> Conv1d(2, 2, 3, padding=2)" and not examples[0]["accepted"]
    assert examples[1]["expr"].endswith("ReplicationPad1d(2)") and not examples[1]["accepted"]
    assert mismatches(examples) == []


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_recorded_chains_match_torch(name):
    bad = mismatches(BY_NAME[name])
    assert not bad, "\n".join(bad)


def test_a_fresh_sweep_matches_live_torch():
    torch = pytest.importorskip("torch")
    spec = importlib.util.spec_from_file_location("record_zero_size", HERE / "fixtures" / "record_zero_size.py")
    recorder = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recorder)  # type: ignore[union-attr]

    def live(exprs, shape):  # in-process: these small chains do not crash torch
        try:
            x = torch.zeros(shape)
            with torch.no_grad():
                for text in exprs:
                    x = recorder.call(text).eval()(x)
        except Exception as exc:  # noqa: BLE001 - any refusal counts
            return {"accepted": False, "error": f"{type(exc).__name__}: {exc}"[:160], "output_shape": None}
        return {"accepted": True, "error": None, "output_shape": list(x.shape)}

    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = recorder.generate(random.Random(FIXTURE["seed"] + 1), recorder.single_input_names(), 2, live)
    assert len(cases) >= 150
    bad = mismatches(cases)
    assert not bad, "\n".join(bad[:30])


def test_a_zero_size_input_gets_the_verdict_of_the_same_tensor_made_mid_chain():
    """An input shape with a 0 in it (an empty batch, no channels, an empty axis) is a
    tensor PyTorch holds: each follower, given the producer's zero-size shape directly,
    must be accepted or refused as torch did behind the producer."""
    bad = []
    for case in FIXTURE["cases"]:
        producer, _, follower = case["expr"].partition(" -> ")
        accepted, result = verdict(follower, case["zero_shape"])
        if accepted != case["accepted"] or accepted and result != case["output_shape"]:
            bad.append(f"{follower} on {case['zero_shape']}: torch "
                       f"{case['output_shape'] if case['accepted'] else 'refuses'}, convcalc {result}")
    assert not bad, "\n".join(bad[:30])
    assert len(FIXTURE["cases"]) > 300


def _zeroed(shape: str):
    dims = shape.split("x")
    for i in range(len(dims)):
        yield "x".join("0" if j == i else d for j, d in enumerate(dims))


def test_every_command_takes_a_zero_size_input_or_refuses_it_in_one_line(capsys):
    """Every family's sample with a 0 in each position, through every command that takes
    a layer and a shape: exit 0, or exit 2 with one error line; never exit 3."""
    from support import cli
    from test_protocol import ALL_SAMPLES
    seen = set()
    for expr, shape, *rest in ALL_SAMPLES.values():
        if rest or expr in seen:
            continue  # several inputs: not a single-layer command line
        seen.add(expr)
        for zero in _zeroed(shape):
            for command in (["shape", expr], ["explain", expr], ["verify", expr], ["draw", expr],
                            ["compare", expr]):
                code, _, err = cli(capsys, *command, "-i", zero)
                assert code in (0, 2), (command, zero, err)
                if code == 2:
                    assert err.startswith("error: ") and "Traceback" not in err, (command, zero, err)
    assert len(seen) > 60
