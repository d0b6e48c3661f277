"""`convcalc solve`: the unknowns of a layer template that give a target shape.

Expected answers come from PyTorch's output-size formulas written out here (and from live
torch, which skips without torch), never from convcalc's own output.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from convcalc.analysis.solve import Solution, solve
from convcalc.layers import build_layer
from convcalc.parsing.expr import parse_call
from support import cli

UP = "ConvTranspose2d(64, 32, k=?, s=2, p=?, op=?)"
UP_IN, UP_OUT = (1, 64, 16, 16), (1, 32, 32, 32)


def transposed_size(n, k, s, p, op, d=1):
    """PyTorch's ConvTranspose output length."""
    return (n - 1) * s - 2 * p + d * (k - 1) + op + 1


def conv_size(n, k, s, p, d=1):
    """PyTorch's Conv output length (floor)."""
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def test_seed_004_upsampling_recipes_are_among_the_answers():
    found = {(s.values["kernel_size"], s.values["padding"], s.values["output_padding"]) for s in solve(UP, UP_IN, UP_OUT)}
    assert (3, 1, 1) in found  # nn.ConvTranspose2d(c, c, 3, stride=2, padding=1, output_padding=1)
    assert (4, 1, 0) in found  # the DCGAN-style k=4, s=2, p=1
    assert (2, 0, 0) in found  # seed 004's kernel=2, stride=2


def test_transposed_answers_are_exactly_the_documented_space():
    """Every (k, p, op) in kernel 1..11, padding < kernel, op < stride giving 32, by the formula."""
    expected = {(k, p, op) for k in range(1, 12) for p in range(k) for op in range(2)
                if transposed_size(16, k, 2, p, op) == 32}
    found = [(s.values["kernel_size"], s.values["padding"], s.values["output_padding"]) for s in solve(UP, UP_IN, UP_OUT)]
    assert len(found) == len(set(found))
    assert set(found) == expected


def test_conv_answers_match_the_formula_and_simplest_come_first():
    sols = solve("Conv2d(3, 8, k=?, s=?, p=?, d=?)", (1, 3, 64, 64), (1, 8, 32, 32))
    expected = {(k, s, p, d) for k in range(1, 12) for s in range(1, 5) for d in range(1, 5)
                for p in range(d * (k - 1) + 1) if conv_size(64, k, s, p, d) == 32}
    found = {(s.values["kernel_size"], s.values["stride"], s.values["padding"], s.values["dilation"]) for s in sols}
    assert found == expected
    first = sols[0].values
    assert first["dilation"] == 1 and first["kernel_size"] % 2 == 1
    assert first["padding"] == (first["kernel_size"] - 1) // 2
    dilations = [s.values["dilation"] for s in sols]
    assert dilations.index(2) > dilations.index(1)


def test_marks_come_from_the_layers_warnings():
    sols = {(s.values["kernel_size"], s.values["padding"], s.values["output_padding"]): s for s in solve(UP, UP_IN, UP_OUT)}
    assert "uneven overlap" in sols[(3, 1, 1)].marks  # k=3, s=2: 1 or 2 taps per output
    assert sols[(4, 1, 0)].marks == []  # k divisible by s: even overlap
    assert "outputs without input" in sols[(1, 0, 1)].marks  # every other output receives no input
    drops = solve("Conv1d(1, 1, k=?, s=3)", (1, 1, 10), (1, 1, 4))
    by_k = {s.values["kernel_size"]: s for s in drops}
    # k=1, s=3 over 10 positions reads 0, 3, 6, 9 only: 1, 2, 4, 5, ... are read by no window
    assert "drops input" in by_k[1].marks
    assert conv_size(10, 1, 3, 0) == 4


def test_tuple_unknowns_and_pooling():
    sols = solve("Conv2d(3, 8, k=(?, 3), s=2, p=(1, ?))", (1, 3, 16, 12), (1, 8, 8, 6))
    for s in sols:
        kh, kw = s.values["kernel_size"]
        ph, pw = s.values["padding"]
        assert kw == 3 and ph == 1
        assert conv_size(16, kh, 2, 1) == 8 and conv_size(12, 3, 2, pw) == 6
    assert {s.values["kernel_size"][0] for s in sols} == {k for k in range(2, 12) if conv_size(16, k, 2, 1) == 8}
    pools = solve("MaxPool2d(?, stride=2, padding=?)", (1, 4, 9, 9), (1, 4, 5, 5))
    # PyTorch's pooling also needs padding <= kernel_size / 2
    expected = {(k, p) for k in range(1, 12) for p in range(k) if 2 * p <= k and conv_size(9, k, 2, p) == 5}
    assert {(s.values["kernel_size"], s.values["padding"]) for s in pools} == expected


def test_every_answer_reproduces_the_target_in_the_analytic_engine():
    for template, x, y in ((UP, UP_IN, UP_OUT),
                           ("Conv2d(3, 8, k=?, s=?, p=?)", (1, 3, 64, 64), (1, 8, 32, 32)),
                           ("AvgPool1d(?, ?, ?)", (2, 3, 20), (2, 3, 7)),
                           ("LazyConv2d(8, k=?, s=2, p=?)", (1, 3, 16, 16), (1, 8, 8, 8))):
        sols = solve(template, x, y)
        assert sols
        for s in sols:
            assert tuple(build_layer(s.spec).output_shape([x])) == y


def _torch_module(torch, spec: str):
    call = parse_call(spec)
    args = [a.value for a in call.args]
    kwargs = {k: a.value for k, a in call.kwargs.items()}
    return getattr(torch.nn, call.name)(*args, **kwargs)


@pytest.mark.parametrize("template,x,y", [
    (UP, UP_IN, UP_OUT),
    ("Conv2d(3, 8, k=?, s=?, p=?, d=?)", (1, 3, 24, 24), (1, 8, 12, 12)),
    ("ConvTranspose1d(2, 2, k=?, s=?, p=?, op=?, d=?)", (1, 2, 5), (1, 2, 11)),
    ("MaxPool2d(?, stride=2, padding=?, dilation=?)", (1, 2, 9, 9), (1, 2, 5, 5)),
])
def test_every_answer_reproduces_the_target_in_torch(template, x, y):
    torch = pytest.importorskip("torch")
    sols = solve(template, x, y)
    assert sols
    with torch.no_grad():
        for s in sols:
            out = _torch_module(torch, s.spec)(torch.zeros(x))
            assert tuple(out.shape) == y, s.spec


def test_cli_table_json_and_exit_codes(capsys):
    code, out, err = cli(capsys, "solve", UP, "--input", "1,64,16,16", "--output", "1,32,32,32")
    assert code == 0 and err == ""
    assert "kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), output_padding=(1, 1)" in out
    code, out, _ = cli(capsys, "solve", UP, "-i", "1,64,16,16", "-o", "1,32,32,32", "--format", "json")
    data = json.loads(out)
    assert code == 0 and isinstance(data, list)
    assert any(d["kernel_size"] == 4 and d["padding"] == 1 and d["output_padding"] == 0 for d in data)
    assert all(set(d) >= {"kernel_size", "padding", "output_padding", "spec"} and "stride" not in d for d in data)


def test_impossible_target_exits_1(capsys):
    code, out, err = cli(capsys, "solve", UP, "-i", "1,64,16,16", "-o", "1,32,33,31")
    assert code == 1
    assert "no configuration in the search space gives" in err
    code, out, err = cli(capsys, "solve", "Conv2d(3, 8, k=?)", "-i", "1,3,16,16", "-o", "1,9,14,14", "-f", "json")
    assert code == 1 and json.loads(out) == []


@pytest.mark.parametrize("template,column", [
    ("Conv2d(3, ?, 3)", 11),  # out_channels is not geometry
    ("ReLU(?)", 6),
    ("Linear(?, 4)", 8),
    ("Conv2d(3, 8, k=?+1)", None),
    ("Conv2d(3, 8, k=?3)", 16),
    ("Conv2d(3, 8, 3)", 1),  # no unknown
    ("?(3, 8, 3)", None),
    ("Conv2d(3, 8, k=?, bogus=1)", None),
    ("Conv2d(3, 8, k=?, groups=?)", 26),
    ("__import__('os').system('true')", None),
])
def test_malformed_templates_exit_2(capsys, template, column):
    code, out, err = cli(capsys, "solve", template, "-i", "1,3,16,16", "-o", "1,8,8,8")
    assert code == 2 and out == ""
    first = err.splitlines()[0]
    assert first.startswith("error: TEMPLATE:1:") and "Traceback" not in err
    if column is not None:
        assert first.startswith(f"error: TEMPLATE:1:{column}:")


def test_question_mark_inside_a_string_is_text():
    with pytest.raises(Exception) as info:
        solve("Conv2d(3, 8, k=?, padding_mode='?')", (1, 3, 8, 8), (1, 8, 8, 8))
    assert "padding_mode" in str(info.value)


def test_solution_type():
    s = solve(UP, UP_IN, UP_OUT)[0]
    assert isinstance(s, Solution) and s.output_shape == UP_OUT


_RECORDED = json.loads((Path(__file__).parent / "fixtures/solve.json").read_text())


@pytest.mark.parametrize("case", _RECORDED["cases"], ids=lambda c: c["template"])
def test_answers_are_exactly_what_torch_accepts_in_the_space(case):
    """tests/fixtures/record_solve.py tried every assignment of the documented space in
    PyTorch/torchvision: solve must give exactly those that reach the target."""
    sols = solve(case["template"], tuple(case["input"]), tuple(case["target"]))
    found = sorted(json.dumps(s.values, sort_keys=True) for s in sols)
    recorded = sorted(json.dumps(a, sort_keys=True) for a in case["answers"])
    assert found == recorded
    assert case["answers"], "a template without answers tests nothing here"


def test_a_space_too_large_is_refused_before_any_layer_is_built():
    """Counted first (11 kernels x 100,000 output paddings); it was refused only after building
    200,000 layers, 10 s later."""
    import time
    from convcalc.analysis.solve import solve as solve_template
    from convcalc.errors import ConvcalcError
    start = time.perf_counter()
    with pytest.raises(ConvcalcError, match="at most 200,000 assignments; got 1,100,000"):
        solve_template("ConvTranspose1d(1, 1, k=?, stride=100000, output_padding=?)", (1, 1, 3), (1, 1, 300000))
    assert time.perf_counter() - start < 2
