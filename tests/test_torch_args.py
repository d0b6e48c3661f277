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
