"""explain on ceil_mode pooling whose window is larger than the padded input (issue 10):
`AvgPool1d(2, stride=2, ceil_mode=True)` on [1, 1, 1] once printed "the kernel does not
fit" and no value, although PyTorch (and convcalc's own shape) give 1."""

from __future__ import annotations

import math
import re

import pytest

import convcalc
from convcalc.cli import main


def torch_pool_length(n: int, k: int, s: int, p: int, d: int = 1) -> int:
    """PyTorch's pooling output size with ceil_mode=True (pooling_output_shape)."""
    out = math.ceil((n + 2 * p - d * (k - 1) - 1) / s) + 1
    if (out - 1) * s >= n + p:  # the last window must start inside the input or the left padding
        out -= 1
    return out


def test_the_reported_case_prints_its_value(capsys):
    assert main(["explain", "AvgPool1d(2, stride=2, ceil_mode=True)", "--input", "1,1,1"]) == 0
    out = capsys.readouterr().out
    assert "does not fit" not in out
    # "L_out = <formula>" then "      = <numbers> = 1  (ceil_mode: ...)"
    assert re.search(r"L_out = .*\n\s+= .* = 1  \(ceil_mode", out), out


@pytest.mark.parametrize("n, k, s, p", [(1, 2, 2, 0), (1, 3, 1, 1), (2, 3, 2, 1), (1, 2, 1, 1), (3, 4, 3, 2),
                                        (1, 2, 3, 1)])
@pytest.mark.parametrize("family", ["AvgPool1d", "MaxPool1d"])
def test_ceil_mode_windows_larger_than_the_input(family, n, k, s, p):
    expr = f"{family}({k}, stride={s}, padding={p}, ceil_mode=True)"
    want = torch_pool_length(n, k, s, p)
    assert want >= 1  # PyTorch accepts each of these
    (explanation,) = convcalc.explain([expr], (1, 1, n))
    assert explanation.derived_shape == explanation.row.output_shape == (1, 1, want)
    text = explanation.text()
    assert "does not fit" not in text
    assert text.count("L_out") >= 1 and f"= {want}  (ceil_mode" in text
