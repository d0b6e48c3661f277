"""Bad input is normal input: whatever is typed, convcalc answers or raises ConvcalcError, fast."""

import contextlib
import io
import os
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import convcalc
from convcalc.cli import main
from convcalc.layers import layer_names

NAMES = layer_names() + ["Frob", "nn.Conv2d", "torch.nn.ReLU", "conv2D"]
KEYWORDS = ["kernel_size", "stride", "padding", "dilation", "groups", "bias", "padding_mode", "output_padding",
            "k", "s", "p", "d", "g", "op", "ceil_mode", "size", "scale_factor", "mode", "align_corners", "dim",
            "output_size", "start_dim", "end_dim", "in_features", "out_features", "num_features", "value",
            "upscale_factor", "downscale_factor", "count_include_pad", "divisor_override", "affine", "eps"]

scalars = st.one_of(
    st.integers(-3, 12), st.integers(-10**12, 10**12), st.booleans(), st.none(),
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda f: round(f, 3)),
    st.sampled_from(["'same'", "'valid'", "'zeros'", "reflect", "'bilinear'", "nearest", "'circular'", "1e309",
                     "-1e309", "'x'", "torch.float16"]))
values = st.one_of(scalars, st.lists(scalars, max_size=4).map(tuple))


def render(value):
    if isinstance(value, tuple):
        return "(" + ", ".join(render(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return value if isinstance(value, str) else repr(value)


@st.composite
def expressions(draw):
    name = draw(st.sampled_from(NAMES))
    args = [render(v) for v in draw(st.lists(values, max_size=5))]
    kwargs = [f"{k}={render(v)}" for k, v in draw(st.dictionaries(st.sampled_from(KEYWORDS), values, max_size=3)).items()]
    return f"{name}({', '.join(args + kwargs)})"


shapes = st.lists(st.integers(1, 40), min_size=1, max_size=6).map(tuple)


@settings(max_examples=1500, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(st.lists(expressions(), min_size=1, max_size=3), shapes)
def test_random_expressions_only_raise_convcalc_errors(layers, shape):
    start = time.perf_counter()
    try:
        result = convcalc.analyze(layers, shape)
    except convcalc.ConvcalcError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert result.total.params >= 0 and result.total.macs >= 0
        result.to_dict()
    assert time.perf_counter() - start < 2.0


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(max_size=40), st.text(max_size=20))
def test_random_text_exits_0_or_2(text, shape):
    import contextlib
    import io
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = main(["shape", text, "--input", shape, "--format", "json"])
    assert code in (0, 2), err.getvalue()
    if code == 2:
        assert err.getvalue().startswith("error: ")


# Hostile command lines, by class: each is refused with exit 2, one line of error (plus the
# source and caret lines), no traceback, and fast. The timing is a regression guard with a
# generous bound: every case here answers in well under 0.5 s on a laptop.
BIG = 10_000_000  # 10 MB of text in one argument
SECONDS = 1.0


def fsdecode(raw: bytes) -> str:
    """An argv element as Python hands it over when the bytes are not UTF-8."""
    return os.fsdecode(raw)


def run_cli(argv):
    """Exit code, output, errors and the CPU seconds spent: CPU time, not wall time, so
    that other work on a shared machine does not fail the bound."""
    out, err = io.StringIO(), io.StringIO()
    start = time.process_time()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue(), time.process_time() - start


@pytest.fixture(scope="module", autouse=True)
def _warm():
    run_cli(["shape", "Conv2d(3, 8, 3)", "-i", "1x3x8x8"])  # imports, outside the timed runs


def refused(argv):
    """The error lines for argv, after checking the class-wide promises."""
    code, out, err, seconds = run_cli(argv)
    lines = err.splitlines()
    assert code == 2, err[:500]
    assert out == "" and "Traceback" not in err
    assert lines[0].startswith("error: ")
    assert len(lines) in (1, 3), lines  # the error, then the source and a caret under it
    if len(lines) == 3:
        # at most 120 characters of the input and two "…" (none of these inputs needs escapes there)
        assert lines[2].strip() == "^" and len(lines[1]) <= 2 + 120 + 2
    assert len(lines[0]) <= 500
    assert seconds < SECONDS, f"{seconds:.2f} s"
    return lines


NON_UTF8 = {
    "in a layer's arguments": ["shape", fsdecode(b"Conv2d(3, 64, \xff\xfe)"), "--input", "1x3x32x32"],
    "in a layer's name": ["shape", fsdecode(b"Conv\xe92d(3, 8, 3)"), "-i", "1x3x8x8"],
    "in a string value": ["shape", fsdecode(b"Conv2d(3, 8, 3, padding_mode='\xff')"), "-i", "1x3x8x8"],
    "in a chain's second layer": ["shape", fsdecode(b"ReLU() -> Conv2d(3, 8, \x80)"), "-i", "1x3x8x8"],
    "as UTF-16": ["shape", fsdecode("Conv2d(3, 8, 3)".encode("utf-16")), "-i", "1x3x8x8"],
    "as a NUL byte": ["shape", "Conv2d(3, 8,\x00 3)", "-i", "1x3x8x8"],
    "in --input": ["shape", "ReLU()", "--input", fsdecode(b"1x3\xffx8")],
    "in --format": ["shape", "ReLU()", "-i", "1x3", "-f", fsdecode(b"js\xffon")],
    "in --dtype": ["shape", "ReLU()", "-i", "1x3", "--dtype", fsdecode(b"float\xff")],
    "as the command": [fsdecode(b"sh\xffape"), "ReLU()", "-i", "1x3"],
}


@pytest.mark.parametrize("argv", NON_UTF8.values(), ids=NON_UTF8.keys())
def test_non_utf8_bytes(argv):
    refused(argv)


def test_non_utf8_byte_is_named_and_pointed_at():
    lines = refused(["shape", fsdecode(b"Conv2d(3, 64, \xff\xfe)"), "-i", "1x3x32x32"])
    assert "got the byte 0xff" in lines[0] and lines[0].startswith("error: <arg 1>:1:15:")
    assert lines[2].index("^") == lines[1].index("\\xff")


SIZES = {  # built when the test runs, so collection does not hold 200 MB
    "unknown name": lambda: ["shape", "A" * BIG, "-i", "1x3x8x8"],
    "unknown call": lambda: ["shape", "A" * BIG + "()", "-i", "1x3x8x8"],
    "unknown name under the length limit": lambda: ["shape", "A" * 90_000 + "()", "-i", "1x3x8x8"],
    "arguments": lambda: ["shape", "Conv2d(3, 64, " + "1, " * (BIG // 3) + ")", "-i", "1x3x8x8"],
    "arguments under the length limit": lambda: ["shape", "Conv2d(3, 64, " + "1, " * 30_000 + ")", "-i", "1x3x8x8"],
    "a tuple under the length limit": lambda: ["shape", "Conv2d(3, 64, (" + "1, " * 30_000 + "))", "-i", "1x3x8x8"],
    "unclosed": lambda: ["shape", "Conv2d(" + "1," * (BIG // 2), "-i", "1x3x8x8"],
    "string": lambda: ["shape", "Conv2d(3, 64, 3, padding_mode='" + "x" * BIG + "')", "-i", "1x3x8x8"],
    "brackets between arrows": lambda: ["shape", "ReLU() -> " + "[]" * (BIG // 2) + " -> ReLU()", "-i", "1x3x8x8"],
    "--input dims": lambda: ["shape", "ReLU()", "--input", "1x" * (BIG // 2) + "1"],
    "--input number": lambda: ["shape", "ReLU()", "--input", "9" * BIG],
    "--input garbage": lambda: ["shape", "ReLU()", "--input", "y" * BIG],
    "command": lambda: ["a" * BIG],
    "option": lambda: ["shape", "ReLU()", "-i", "1x3", "--" + "a" * BIG],
    "--format": lambda: ["shape", "ReLU()", "-i", "1x3", "-f", "a" * BIG],
    "--dtype": lambda: ["shape", "ReLU()", "-i", "1x3", "--dtype", "a" * BIG],
}


@pytest.mark.parametrize("name", SIZES)
def test_sizes_up_to_10_mb(name):
    refused(SIZES[name]())


DEPTHS = {
    "parentheses": "Conv2d(3, 64, " + "(" * 1000 + "3" + ")" * 1000 + ")",
    "lists": "Conv2d(3, 64, " + "[" * 1000 + "3" + "]" * 1000 + ")",
    "signs": "Conv2d(3, 64, " + "-" * 1500 + "3)",
    "signs the parser gives up on": "Conv2d(3, 64, " + "-" * 99_000 + "3)",
    "sums": "Conv2d(3, 64, " + "+".join(["1"] * 40_000) + ")",
    "attributes": ".".join(["a"] * 45_000) + "()",
    "calls": "f" + "()" * 40_000,
    "Sequentials": "Sequential(" * 300 + "ReLU()" + ")" * 300,
}


@pytest.mark.parametrize("expr", DEPTHS.values(), ids=DEPTHS.keys())
def test_nesting_depth(expr):
    refused(["shape", expr, "-i", "1x3x8x8"])


HUGE = {
    "5,000 digits in --input": ["shape", "Conv2d(3, 64, 3)", "--input", "1x3x" + "9" * 5000],
    "2**63 in --input": ["shape", "ReLU()", "--input", f"1x{2**63}"],
    "2**64 elements in --input": ["shape", "ReLU()", "--input", f"{2**32}x{2**32}"],
    "5,000 digits in a layer": ["shape", "Conv2d(3, 64, " + "9" * 5000 + ")", "-i", "1x3x8x8"],
    "5,000 negative digits": ["shape", "Conv2d(3, 64, 3, padding=-" + "9" * 5000 + ")", "-i", "1x3x8x8"],
    "20,000 hex bits": ["shape", "Conv2d(3, 64, 0x" + "f" * 5000 + ")", "-i", "1x3x8x8"],
    "10**400 in a keyword": ["shape", "Conv2d(3, 64, 3, stride=1" + "0" * 400 + ")", "-i", "1x3x8x8"],
    "a 5,000-digit float": ["shape", "Conv2d(3, 64, " + "9" * 5000 + ".0)", "-i", "1x3x8x8"],
}


@pytest.mark.parametrize("argv", HUGE.values(), ids=HUGE.keys())
def test_huge_integers(argv):
    refused(argv)


WRONG_TYPES = {
    "a string for an int": "Conv2d('3', 64, 3)",
    "a float for an int": "Conv2d(3.0, 64, 3)",
    # flags that torch hands to an operator as a bool (bias, inplace... are tested with `if`)
    "a string for a bool": "MaxPool2d(2, ceil_mode='yes')",
    "None for a bool": "AvgPool2d(2, count_include_pad=None)",
    "a string in a tuple": "Conv2d(3, 64, kernel_size=(3, 'a'))",
    "None for an int": "Linear(None, 3)",
    "a string for a float": "Dropout('0.5')",
    "a float for a pooling window": "MaxPool2d(2.5)",
    "an int for a mode": "Conv2d(3, 64, 3, padding_mode=3)",
    "bytes": "Conv2d(3, 64, 3, stride=b'1')",
    "a complex number": "Conv2d(3, 64, 3, padding=1j)",
    "a dict": "Conv2d(3, 64, 3, padding={1: 2})",
    "a list for a layer": "[Conv2d(3, 8, 3)]",
    "a number for a layer": "3",
    "a number in a Sequential": "Sequential(3)",
}


@pytest.mark.parametrize("expr", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_wrong_types_in_layers(expr):
    refused(["shape", expr, "-i", "1x3x8x8"])


@pytest.mark.parametrize("option", [["--input", "1.5x3"], ["--input", "True"], ["--input", "[1, [3]]"],
                                    ["--input", "torch.Size([1, 'a'])"], ["-i", "1x3", "-f", "3"],
                                    ["-i", "1x3", "--dtype", "4"], ["-i", "1x3", "--dtype", "torch.float7"]])
def test_wrong_types_in_options(option):
    refused(["shape", "ReLU()", *option])


@settings(max_examples=200, deadline=None, derandomize=True)
@given(st.binary(min_size=1, max_size=12), st.integers(0, len("Conv2d(3, 8, 3)")))
def test_random_bytes_in_an_expression(raw, at):
    expr = "Conv2d(3, 8, 3)"
    code, _, err, _ = run_cli(["shape", expr[:at] + fsdecode(raw) + expr[at:], "-i", "1x3x8x8"])
    assert code in (0, 2) and "Traceback" not in err
    if code == 2:
        assert err.startswith("error: ") and len(err.splitlines()) in (1, 3)
