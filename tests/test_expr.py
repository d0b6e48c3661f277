"""Layer expressions: PyTorch constructor syntax, parsed safely, with precise errors.

Where torch is importable, a parsed expression is held against the module it stands
for: the same output shape and parameter count, a `spec()` that builds in torch to a
module printing and computing as the original, and torch's own printout read back
to the same layer.
"""

import ast
import warnings

import os
import time

import pytest

import convcalc
from convcalc.errors import ExpressionError, LayerConfigError
from convcalc.parsing import parse_call, split_chain


def layer(expr):
    return convcalc.build_layer(expr)


def printed_call(text):
    """(class name, args, kwargs) of a printed module; bare words (`padding=same`) as strings."""
    call = ast.parse(text, mode="eval").body

    def value(node):
        return node.id if isinstance(node, ast.Name) else ast.literal_eval(node)
    name = call.func.id if isinstance(call.func, ast.Name) else call.func.attr
    return name, [value(a) for a in call.args], {k.arg: value(k.value) for k in call.keywords}


def same_value(a, b):
    """Equal, counting an int and a tuple repeating it as the same (`3` vs `(3, 3)`)."""
    if isinstance(a, tuple) != isinstance(b, tuple):
        scalar, items = (b, a) if isinstance(a, tuple) else (a, b)
        return all(item == scalar for item in items)
    return a == b


def same_arguments(printed, other):
    """Two printouts with the same arguments (the class names are compared by the caller)."""
    _, args, kwargs = printed_call(printed)
    _, other_args, other_kwargs = printed_call(other)
    return (len(args) == len(other_args) and all(map(same_value, args, other_args))
            and kwargs.keys() == other_kwargs.keys()
            and all(same_value(kwargs[k], other_kwargs[k]) for k in kwargs))


def torch_from_spec(torch, spec):
    name, args, kwargs = printed_call(spec)
    return getattr(torch.nn, name)(*args, **kwargs)


def assert_spec_prints_as(torch, spec, module):
    """`spec` builds in torch to `module`'s class (or the class an alias such as
    UpsamplingNearest2d derives from) with the same printed arguments; returns it."""
    rebuilt = torch_from_spec(torch, spec).eval()
    where = f"spec {spec} builds {rebuilt!r}; torch's module prints {module!r}"
    assert isinstance(module, type(rebuilt)), where
    if type(rebuilt) is type(module):
        assert printed_call(repr(rebuilt))[0] == printed_call(repr(module))[0], where
    assert same_arguments(repr(rebuilt), repr(module)), where
    return rebuilt


def run_torch(torch, module, x):
    """Output and parameter count of `module` (eval mode) on `x`."""
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = module.eval()(x)
    return y, sum(p.numel() for p in module.parameters())


def assert_matches_torch(expr, torch_source, shape):
    """`expr` read by convcalc is the module `torch_source` builds, on input `shape`;
    and the module's printout, read back by convcalc, is a layer that prints the same."""
    torch = pytest.importorskip("torch")
    nn = torch.nn
    module = eval(torch_source, {"nn": nn, "torch": torch})  # test-owned source text
    printed = repr(module)  # before a lazy module materialises
    lazy = isinstance(module, nn.modules.lazy.LazyModuleMixin)
    dtype = torch.float32 if lazy else next(module.parameters(), torch.zeros(())).dtype
    x = torch.rand(shape, dtype=dtype)
    y, params = run_torch(torch, module, x)

    (row,) = convcalc.analyze([expr], shape).layers
    assert (row.output_shape, row.params) == (tuple(y.shape), params), expr
    # the spec builds the same module: same printout, same weights, same output
    spec = row.layer.spec()
    rebuilt = assert_spec_prints_as(torch, spec, module).to(dtype)
    state = module.state_dict()
    assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {k: v.shape for k, v in state.items()}
    rebuilt.load_state_dict(state)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), y), f"{spec} computes otherwise than {module!r}"

    # print(model) read back: a layer whose spec prints as the module does, and whose
    # shape and params are torch's for that spec (torch's printout can lose arguments,
    # e.g. AvgPool's ceil_mode, Upsample's align_corners, so not always `module`'s)
    (back,) = convcalc.analyze([printed], shape).layers
    reread = assert_spec_prints_as(torch, back.layer.spec(), module).to(dtype)
    y_back, params_back = run_torch(torch, reread, x)
    assert (back.output_shape, back.params) == (tuple(y_back.shape), params_back), printed


@pytest.mark.parametrize("expr", [
    "Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)",
    "nn.Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False)",
    "torch.nn.Conv2d(3, 64, 7, 2, 3, bias=False)",
    "conv2d(3, 64, k=7, s=2, p=3, bias=False)",
    "CONV2D(3, 64, [7, 7], stride=[2, 2], padding=3, bias=False)",
    "Conv2d(3, 64, 7, 2, 3, 1, 1, False, 'zeros')",
    "Conv2d(3, 64, kernel_size=(7, 7), stride=(2, 2), padding=(3, 3), bias=False, padding_mode=zeros)",
])
def test_same_layer_many_spellings(expr):
    conv = layer(expr)
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.bias) == \
        (3, 64, (7, 7), (2, 2), (3, 3), False)
    assert_matches_torch(expr, "nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)", (1, 3, 9, 9))


def test_convtranspose_positional_order():
    # ..., output_padding, groups, bias, dilation
    t = layer("ConvTranspose2d(4, 8, 3, 2, 1, 1, 2, False, 3)")
    assert (t.output_padding, t.groups, t.bias, t.dilation) == ((1, 1), 2, False, (3, 3))
    assert_matches_torch("ConvTranspose2d(4, 8, 3, 2, 1, 1, 2, False, 3)",
                         "nn.ConvTranspose2d(4, 8, 3, 2, 1, 1, 2, False, 3)", (1, 4, 3, 3))


def test_own_keyword_wins_over_alias():
    assert layer("Dropout(p=0.25)").option("p") == 0.25
    assert layer("Conv1d(1, 1, 3, p=2)").padding == (2,)


@pytest.mark.parametrize("expr, torch_source, shape", [
    ("Conv2d(3, 8, kernel_size=(3, 3), stride=(1, 1), padding=same, padding_mode=reflect)",
     "nn.Conv2d(3, 8, (3, 3), padding='same', padding_mode='reflect')", (1, 3, 5, 5)),
    ("Upsample(scale_factor=2.0, mode=bilinear)", "nn.Upsample(scale_factor=2.0, mode='bilinear')", (1, 2, 3, 3)),
    ("Upsample(scale_factor=2.0, mode='bilinear')", "nn.Upsample(scale_factor=2.0, mode='bilinear')", (1, 2, 3, 3)),
    ("BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)",
     "nn.BatchNorm2d(64, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)", (1, 64, 2, 2)),
    ("LazyConv2d(0, 8, kernel_size=(3, 3), stride=(1, 1))", "nn.LazyConv2d(8, (3, 3), stride=(1, 1))", (1, 5, 6, 6)),
    ("LazyLinear(in_features=0, out_features=8, bias=True)", "nn.LazyLinear(8, bias=True)", (2, 5)),
    ("MaxPool2d(kernel_size=3, stride=2, padding=1, dilation=1, ceil_mode=False)",
     "nn.MaxPool2d(3, 2, 1, 1, ceil_mode=False)", (1, 2, 7, 7)),
    ("AdaptiveAvgPool2d(output_size=(None, 3))", "nn.AdaptiveAvgPool2d((None, 3))", (1, 2, 5, 7)),
    ("ZeroPad2d((1, 1, 1, 1))", "nn.ZeroPad2d((1, 1, 1, 1))", (1, 2, 3, 3)),
    ("ConstantPad2d(padding=(1, 1, 1, 1), value=3.5)", "nn.ConstantPad2d((1, 1, 1, 1), 3.5)", (1, 2, 3, 3)),
    ("GELU(approximate='none')", "nn.GELU()", (2, 3)),
    ("LeakyReLU(negative_slope=0.2, inplace=True)", "nn.LeakyReLU(0.2, inplace=True)", (2, 3)),
    ("Flatten(start_dim=1, end_dim=-1)", "nn.Flatten()", (2, 3, 4)),
    ("Identity()", "nn.Identity()", (2, 3)),
    ("Identity(54, unused_argument1=0.1)", "nn.Identity(54, unused_argument1=0.1)", (2, 3)),
    ("ReLU", "nn.ReLU()", (2, 3)),
    ("nn.ReLU(inplace=True)", "nn.ReLU(inplace=True)", (2, 3)),
    ("Conv2d(3, 8, 3, dtype=torch.float16, device='cpu')",
     "nn.Conv2d(3, 8, 3, dtype=torch.float16, device='cpu')", (1, 3, 5, 5)),
    ("UpsamplingNearest2d(scale_factor=2.0, mode='nearest')", "nn.UpsamplingNearest2d(scale_factor=2.0)", (1, 2, 3, 3)),
    ("UpsamplingBilinear2d(size=(4, 4), mode='bilinear')", "nn.UpsamplingBilinear2d(size=(4, 4))", (1, 2, 3, 3)),
    ("LazyBatchNorm2d(0, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)",
     "nn.LazyBatchNorm2d(eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)", (2, 4, 3, 3)),
    ("AvgPool3d(kernel_size=2, stride=2, padding=0)", "nn.AvgPool3d(2, 2, 0)", (1, 2, 4, 4, 4)),
    ("MaxPool2d(kernel_size=(2, 2), stride=(2, 2), padding=0, dilation=1, ceil_mode=False)",
     "nn.MaxPool2d((2, 2), (2, 2), 0, 1, ceil_mode=False)", (1, 2, 4, 4)),
    ("Softmax(dim=1)", "nn.Softmax(dim=1)", (2, 3)),
    ("PReLU(num_parameters=1)", "nn.PReLU(1)", (2, 3)),
    ("Hardtanh(min_val=-1.0, max_val=1.0)", "nn.Hardtanh(-1.0, 1.0)", (2, 3)),
    ("Softplus(beta=1.0, threshold=20.0)", "nn.Softplus(1.0, 20.0)", (2, 3)),
    ("Upsample(size=4, mode='linear', align_corners=True)", "nn.Upsample(size=4, mode='linear', align_corners=True)",
     (1, 2, 3)),
    ("ZeroPad3d((1, 1, 2, 2, 0, 0))", "nn.ZeroPad3d((1, 1, 2, 2, 0, 0))", (1, 2, 3, 3, 3)),
])
def test_print_model_forms_parse(expr, torch_source, shape):
    assert_matches_torch(expr, torch_source, shape)


def test_lazy_printed_form_drops_zero_in_channels():
    a = convcalc.analyze(["LazyConv2d(0, 8, kernel_size=(3, 3), stride=(1, 1))"], (1, 5, 10, 10))
    assert a.layers[0].params == 8 * 5 * 9 + 8
    assert a.layers[0].type == "Conv2d"
    b = convcalc.analyze(["LazyConv2d(8, 3)"], (1, 5, 10, 10))
    assert b.layers[0].params == a.layers[0].params


def test_split_chain_keeps_arrows_inside_strings():
    assert [p.strip() for p, _ in split_chain("A('->') -> B()")] == ["A('->')", "B()"]


def test_split_chain_stops_at_an_overlong_piece():
    text = "ReLU() -> " + "[]" * 100_000 + " -> ReLU()"
    assert split_chain(text) == [("ReLU() ", 0), (text[len("ReLU() ->"):], len("ReLU() ->"))]
    assert split_chain("A() -> B('->', [1, (2, 3)]) ->C") == [("A() ", 0), (" B('->', [1, (2, 3)]) ", 6), ("C", 30)]


@pytest.mark.parametrize("expr, fragment, column", [
    (os.fsdecode(b"Conv2d(3, \xff)"), "expected UTF-8 text; got the byte 0xff", 11),
    ("Conv2d(3,\x00 8)", "got a NUL character", 10),
    ("Conv2d(3, \ud800)", "got the unpaired surrogate U+D800", 11),
    ("Conv2d(3, " + "9" * 5000 + ")", "got a 5,000-digit number", 11),
    ("Conv2d(3, 0x" + "f" * 300 + ")", "got one of 1,200 bits", 11),
    ("Conv2d(3, -" + "9" * 400 + ")", "got one of 1,329 bits", 12),
    ("Conv2d(3, " + "(" * 300 + "1" + ")" * 300 + ")", "too many nested parentheses", None),
    ("Conv2d(3, " + "-" * 2000 + "1)", "nested deeper", 1),
    ("A" * 100_001, "at most 100,000 characters; got 100,001", 1),
    ("Conv2d(" + "1, " * 101 + ")", "at most 100 arguments, more than any PyTorch layer takes; got 101", 1),
    ("Conv2d('éé', 3 3)", "syntax error", len("Conv2d('éé', ") + 1),  # columns count characters,
    ("Conv2d(3, 8, 3, ×=1)", "invalid character '×'", len("Conv2d(3, 8, 3, ") + 1),  # not UTF-8 bytes
    ("Conv2d(3, 8,\n 3 3)", "syntax error", len("Conv2d(3, 8,\n ") + 1),  # and run on past a newline
])
def test_parser_refuses_hostile_text(expr, fragment, column):
    start = time.perf_counter()
    with pytest.raises(ExpressionError) as info:
        parse_call(expr, "<arg 1>")
    assert time.perf_counter() - start < 1.0
    err = info.value
    assert fragment in err.message and "\n" not in str(err) and len(str(err)) < 300
    if column is not None:
        assert err.location.column == column, str(err)


@pytest.mark.parametrize("expr, before", [
    ("Conv2d(3, 8, 3, device='cpü', stride=0)", "Conv2d(3, 8, 3, device='cpü', stride="),
    ("Conv2d(3, 8,\n 3, stride=0)", None),  # a call over two lines is shown on one
    ("Identity('→') -> Conv2d(3, 8, 3, device='ü', stride=0)", "Identity('→') -> Conv2d(3, 8, 3, device='ü', stride="),
])
def test_columns_after_non_ascii_text_and_newlines(expr, before):
    with pytest.raises(LayerConfigError) as info:
        convcalc.analyze([expr], (1, 3, 8, 8), sources=["<arg 1>"])
    if before is not None:
        assert info.value.location.column == len(before) + 1
    source, caret = info.value.caret().splitlines()
    assert caret.index("^") == source.index("0)")


@pytest.mark.parametrize("expr, fragment, column", [
    ("Conv2d(3,64,k=3", "unclosed '('", 7),
    ("Conv2d(3, 1+2)", "only literal values", 11),
    ('__import__("os").system("true")', "expected a layer class name", 1),
    ("Conv2d(3, 64, foo=1)", "unexpected keyword 'foo'", 15),
    ("Conv2d(3, 64, 3, stride=0)", "stride must be positive", 25),
    ("Conv2d(3, 64, 3, padding='full')", "padding must be one of 'same', 'valid'", 26),
    ("Conv2d(3, 64, 3, groups=2)", "in_channels=3 must be divisible by groups=2", 25),
    ("Conv2d(3, 64)", "missing the required argument 'kernel_size'", 1),
    ("Conv2d(3, 64, 3, stride=2, stride=1)", "given twice", None),
    ("Conv2d(3, 64, 3, 1, 0, 1, 1, True, 'zeros', None, None, 7)", "at most 11 positional", 57),
    ("Frobnicate(3)", "unknown layer 'Frobnicate'", 1),
    ("Conv2dd(3, 8, 3)", "did you mean 'Conv2d'", 1),
    ("Conv2d(3, 8, 3.5)", "kernel_size must be an integer or a tuple of 2 integers; got 3.5", 14),
    ("Conv2d(3, 8, (3, 3, 3))", "tuple of 2 integers; got (3, 3, 3)", 14),
    ("Dropout(1.5)", "between 0 and 1", 9),
    ("Conv2d(*x)", "'*' arguments", 8),
    ("lambda: 1", "expected a layer constructor call", 1),
    ("Conv2d(3, 8, 3, ...)", "'...' is not a value", 17),
    ("", "got nothing", 1),
    ("ConvTranspose2d(3, 8, 3, padding='same')", "takes integer padding", 34),
    ("Conv2d(3, 8, 3, padding='same', stride=2)", "not supported for strided", 25),
    ("ConvTranspose2d(3, 8, 3, padding_mode='reflect')", 'only "zeros" padding mode', 39),
    ("Upsample(size=4, scale_factor=2)", "only one of size or scale_factor", 15),
    ("Upsample(scale_factor=2, align_corners=True)", "align_corners can only be set", 40),
    ("AdaptiveAvgPool1d((None,))", "must be an integer", 19),
    # YAML's spellings would be truthy bare-word strings: bias=false would keep the bias
    ("Conv2d(3, 8, 3, bias=false)", "expected Python's False; got the bare word 'false'", 22),
    ("MaxPool2d(2, ceil_mode=true)", "expected Python's True", 24),
    ("AdaptiveAvgPool2d((null, 2))", "expected Python's None", 20),
])
def test_errors_name_what_and_where(expr, fragment, column):
    with pytest.raises((ExpressionError, LayerConfigError)) as info:
        convcalc.analyze([expr], (1, 3, 8, 8), sources=["<arg 1>"])
    err = info.value
    assert fragment in err.message
    assert "\n" not in str(err)
    assert str(err).startswith("<arg 1>:1")
    if column is not None:
        assert err.location.column == column, str(err)


def test_error_columns_point_into_a_chain_argument():
    with pytest.raises(LayerConfigError) as info:
        convcalc.analyze(["ReLU() -> Conv2d(3, 8, 3, stride=-1)"], (1, 3, 8, 8), sources=["<arg 1>"])
    assert info.value.location.column == len("ReLU() -> Conv2d(3, 8, 3, stride=") + 1
    assert "^" in info.value.caret()


def test_no_evaluation_ever(tmp_path):
    marker = tmp_path / "pwned"
    with pytest.raises(ExpressionError):
        parse_call(f"__import__('pathlib').Path({str(marker)!r}).touch()")
    with pytest.raises(ExpressionError):
        parse_call(f"Conv2d(open({str(marker)!r}, 'w'), 8, 3)")
    assert not marker.exists()


@pytest.mark.parametrize("torch_source, shape", [
    ("nn.Conv1d(2, 4, 3, padding_mode='circular', padding=1)", (1, 2, 6)),
    ("nn.Conv2d(3, 8, 3, padding='same', padding_mode='reflect')", (1, 3, 5, 5)),
    ("nn.Conv3d(2, 4, 3, padding='valid')", (1, 2, 4, 4, 4)),
    ("nn.ConvTranspose2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2), output_padding=(1, 0))", (1, 16, 9, 7)),
    ("nn.ConvTranspose3d(2, 4, 3, groups=2, bias=False, dilation=2)", (1, 2, 3, 3, 3)),
    ("nn.LazyConv1d(4, 3)", (2, 3, 7)),
    ("nn.LazyConvTranspose3d(4, 3)", (1, 2, 3, 3, 3)),
    ("nn.MaxPool1d(3, 2, 1, dilation=2, ceil_mode=True)", (1, 2, 9)),
    ("nn.MaxPool2d((2, 2))", (1, 2, 5, 5)),
    ("nn.AvgPool1d(3)", (1, 2, 7)),
    ("nn.AvgPool2d(3, 2, 1, True, False, 4)", (1, 2, 6, 6)),
    ("nn.AvgPool3d(2, divisor_override=3)", (1, 2, 4, 4, 4)),
    ("nn.AdaptiveAvgPool1d(3)", (1, 2, 7)),
    ("nn.AdaptiveAvgPool2d((None, 3))", (1, 2, 5, 7)),
    ("nn.AdaptiveMaxPool3d(2)", (1, 2, 5, 4, 3)),
    ("nn.Linear(4, 2)", (3, 4)),
    ("nn.LazyLinear(4)", (3, 5)),
    ("nn.Flatten()", (2, 3, 4)),
    ("nn.Identity()", (2, 3)),
    ("nn.BatchNorm1d(4, affine=False)", (2, 4, 3)),
    ("nn.BatchNorm2d(64)", (1, 64, 2, 2)),
    ("nn.BatchNorm3d(4, track_running_stats=False)", (2, 4, 2, 2, 2)),
    ("nn.LazyBatchNorm2d()", (2, 3, 2, 2)),
    ("nn.ReLU(inplace=True)", (2, 3)),
    ("nn.ReLU6()", (2, 3)),
    ("nn.LeakyReLU(0.2, True)", (2, 3)),
    ("nn.GELU(approximate='tanh')", (2, 3)),
    ("nn.SiLU()", (2, 3)),
    ("nn.Sigmoid()", (2, 3)),
    ("nn.Tanh()", (2, 3)),
    ("nn.Hardswish()", (2, 3)),
    ("nn.Hardsigmoid()", (2, 3)),
    ("nn.Hardtanh()", (2, 3)),
    ("nn.ELU()", (2, 3)),
    ("nn.CELU()", (2, 3)),
    ("nn.SELU()", (2, 3)),
    ("nn.Mish()", (2, 3)),
    ("nn.Softplus()", (2, 3)),
    ("nn.Softsign()", (2, 3)),
    ("nn.Tanhshrink()", (2, 3)),
    ("nn.Softmax(dim=1)", (2, 3)),
    ("nn.LogSoftmax(dim=1)", (2, 3)),
    ("nn.PReLU()", (2, 3)),
    ("nn.Dropout()", (2, 3)),
    ("nn.Dropout1d()", (2, 3, 4)),
    ("nn.Dropout2d(0.1)", (2, 3, 4, 4)),
    ("nn.Dropout3d()", (2, 3, 2, 2, 2)),
    ("nn.AlphaDropout()", (2, 3)),
    ("nn.FeatureAlphaDropout()", (2, 3, 4)),
    ("nn.Upsample(scale_factor=2, mode='bilinear')", (1, 2, 3, 3)),
    ("nn.Upsample(size=(4, 5))", (1, 2, 3, 3)),
    ("nn.Upsample(scale_factor=(2.0, 3.0), mode='nearest-exact')", (1, 2, 3, 3)),
    ("nn.UpsamplingNearest2d(scale_factor=2)", (1, 2, 3, 3)),
    ("nn.UpsamplingBilinear2d(size=(4, 4))", (1, 2, 3, 3)),
    ("nn.ZeroPad1d(1)", (1, 2, 3)),
    ("nn.ZeroPad2d((1, 2, 3, 4))", (1, 2, 3, 3)),
    ("nn.ZeroPad3d(1)", (1, 2, 3, 3, 3)),
    ("nn.ConstantPad1d(2, 1.5)", (1, 2, 3)),
    ("nn.ConstantPad3d(1, 0.0)", (1, 2, 3, 3, 3)),
    ("nn.ReflectionPad1d((1, 2))", (1, 2, 4)),
    ("nn.ReflectionPad2d(2)", (1, 2, 4, 4)),
    ("nn.ReplicationPad3d(1)", (1, 2, 3, 3, 3)),
    ("nn.CircularPad2d(1)", (1, 2, 3, 3)),
    ("nn.PixelShuffle(2)", (1, 8, 3, 3)),  # once printed as 'PixelShuffle()': the factor equalled a default
    ("nn.PixelUnshuffle(2)", (1, 2, 4, 6)),
    ("nn.ChannelShuffle(2)", (1, 6, 2, 2)),
    ("nn.PixelShuffle(3)", (1, 18, 2, 3)),
    ("nn.PixelUnshuffle(3)", (1, 2, 6, 3)),
    ("nn.ChannelShuffle(3)", (1, 6, 2, 2)),
])
def test_every_printed_module_parses_back(torch_source, shape):
    # the constructor call itself is a convcalc expression too
    assert_matches_torch(torch_source, torch_source, shape)


def test_sequential_from_code_is_a_chain():
    a = convcalc.analyze(["nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=True), "
                          "nn.Sequential(nn.MaxPool2d(2), nn.Flatten()), nn.Linear(512, 10))"], (1, 3, 16, 16))
    assert [r.type for r in a.layers] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    assert a.layers[0].spec == "nn.Conv2d(3, 8, 3, padding=1)"
    assert a.total.output_shape == (1, 10)


@pytest.mark.parametrize("expr, fragment, column", [
    ("Sequential(Conv2d(3, 8, 3), 5)", "expected a layer constructor call", 29),
    ("Sequential(Conv2d(3, 8, 3, stride=0))", "stride must be positive", 35),
    ("Sequential(Conv2d(3, 8, 3), inplace=True)", "positional arguments only", 1),
    ("Conv2d(3, ReLU())", "only literal values", 11),
])
def test_sequential_errors(expr, fragment, column):
    with pytest.raises(convcalc.ConvcalcError) as info:
        convcalc.analyze([expr], (1, 3, 8, 8))
    assert fragment in info.value.message and info.value.location.column == column


@pytest.mark.parametrize("width", [120, 40])
def test_caret_line_shows_a_window_of_the_source(width):
    chain = " -> ".join(["ReLU()"] * 40 + ["Conv2d(3, 8, 3, stride=0)"] + ["ReLU()"] * 40)
    with pytest.raises(LayerConfigError) as info:
        convcalc.analyze([chain], (1, 3, 8, 8), sources=["<arg 1>"])
    source, caret = info.value.caret(width).splitlines()
    assert source.startswith("  …") and source.endswith("…") and len(source) == 2 + width + 2
    assert source[caret.index("^"):].startswith("0)")
