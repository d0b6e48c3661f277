"""Bad input is normal input: whatever is typed, convcalc answers or raises ConvcalcError, fast."""

import time

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
