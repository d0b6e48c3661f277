"""The command line: formats, exit codes, one-line errors on stderr, never a traceback."""

import ast
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from convcalc.cli import main

GOLDEN = Path(__file__).parent / "golden"
CHAIN = ["Conv2d(3, 16, 3, stride=2, padding=1, bias=False)", "BatchNorm2d(16)", "ReLU()",
         "MaxPool2d(3, stride=2, padding=1) -> SeparableConv2d(16, 32, 3, padding=1)",
         "AdaptiveAvgPool2d(1)", "Flatten()", "Linear(32, 10)"]


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_contract_json_example(capsys):
    code, out, err = run(capsys, "shape", "Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)",
                         "--input", "1,3,224,224", "--format", "json")
    assert code == 0 and err == ""
    doc = json.loads(out)
    assert doc["input_shape"] == [1, 3, 224, 224]
    (layer,) = doc["layers"]
    expected = {"index": 0, "type": "Conv2d", "spec": "Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)",
                "inputs": ["input"], "input_shape": [1, 3, 224, 224], "output_shape": [1, 64, 112, 112],
                "params": 9408, "trainable_params": 9408, "macs": 118013952, "flops": 236027904,
                "output_bytes": 3211264,
                "receptive_field": {"size": [7, 7], "stride": [2, 2], "start": [-3, -3]}}
    assert {k: layer[k] for k in expected} == expected
    assert doc["total"] == {**doc["total"], "params": 9408, "trainable_params": 9408, "macs": 118013952,
                            "flops": 236027904, "output_shape": [1, 64, 112, 112]}


def test_json_is_alone_on_stdout_and_warnings_go_to_stderr(capsys):
    code, out, err = run(capsys, "shape", "Conv2d(1, 1, 2, stride=2)", "-i", "1x1x5x5", "-f", "json")
    assert code == 0
    json.loads(out)
    assert "warning:" in err and "read by no window" in err


def test_fractional_stride_is_a_json_number(capsys):
    code, out, _ = run(capsys, "shape", "ConvTranspose1d(1, 1, 3, stride=3)", "-i", "1x1x8", "-f", "json")
    rf = json.loads(out)["layers"][0]["receptive_field"]
    assert rf["size"] == [1] and rf["stride"] == [pytest.approx(1 / 3)]


def test_start_is_null_when_no_input_reaches_unit_zero(capsys):
    code, out, _ = run(capsys, "shape", "ConvTranspose1d(1, 1, 1, stride=2, padding=1)", "-i", "1x1x8", "-f", "json")
    assert json.loads(out)["layers"][0]["receptive_field"]["start"] == [None]


def test_chain_by_arguments_and_by_arrows_agree(capsys):
    _, by_args, _ = run(capsys, "shape", "Conv2d(3, 8, 3)", "ReLU()", "MaxPool2d(2)", "-i", "1x3x32x32", "-f", "json")
    _, by_arrow, _ = run(capsys, "shape", "Conv2d(3, 8, 3) -> ReLU() -> MaxPool2d(2)", "-i", "1x3x32x32", "-f", "json")
    strip = lambda doc: [{k: v for k, v in l.items() if k != "spec"} for l in json.loads(doc)["layers"]]
    assert strip(by_args) == strip(by_arrow)


def test_csv_has_exact_integers_and_a_total_row(capsys):
    code, out, _ = run(capsys, "shape", *CHAIN, "-i", "2x3x64x64", "-f", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    layers, total = rows[:-1], rows[-1]
    assert total["name"] == "total"
    for key in ("params", "macs", "flops", "output_bytes"):
        assert int(total[key]) == sum(int(r[key]) for r in layers)
    assert [r["name"] for r in layers][3:6] == ["3", "4.depthwise", "4.pointwise"]


def test_totals_equal_the_sum_of_rows(capsys):
    _, out, _ = run(capsys, "shape", *CHAIN, "-i", "2x3x64x64", "-f", "json")
    doc = json.loads(out)
    for key in ("params", "trainable_params", "macs", "flops"):
        assert doc["total"][key] == sum(layer[key] for layer in doc["layers"])
    assert doc["total"]["output_shape"] == doc["layers"][-1]["output_shape"]


@pytest.mark.parametrize("fmt", ["table", "markdown", "csv"])
def test_golden_rendering(capsys, fmt):
    code, out, _ = run(capsys, "shape", *CHAIN, "-i", "2x3x64x64", "-f", fmt)
    assert code == 0
    golden = GOLDEN / f"shape_chain.{fmt}.txt"
    if os.environ.get("CONVCALC_REGEN_GOLDEN"):  # regenerate, review the diff, commit
        golden.write_text(out)
    assert out == golden.read_text()


def test_dtype_changes_memory(capsys):
    _, out, _ = run(capsys, "shape", "Conv2d(3, 8, 3)", "-i", "1x3x10x10", "-f", "json", "--dtype", "float16")
    assert json.loads(out)["layers"][0]["output_bytes"] == 8 * 8 * 8 * 2


def test_explain_text(capsys):
    code, out, _ = run(capsys, "explain", "Conv1d(64, 32, 4, stride=2)", "--input", "3,64,128")
    assert code == 0
    assert "L_out = floor((L_in + 2×padding − dilation×(kernel−1) − 1) / stride) + 1" in out
    assert "floor((128 + 2×0 − 1×(4−1) − 1) / 2) + 1 = floor(124 / 2) + 1 = 63" in out
    assert "weight = C_out × C_in/groups × k_L = 32 × 64/1 × 4 = 8,192" in out
    assert "= 3 × 32 × 63 × 64/1 × 4 = 1,548,288" in out


def test_explain_json(capsys):
    code, out, _ = run(capsys, "explain", "MaxPool2d(3, ceil_mode=True)", "-i", "1x1x5x5", "-f", "json")
    (doc,) = json.loads(out)
    assert doc["layer"]["output_shape"] == [1, 1, 2, 2]
    shape = next(s for s in doc["sections"] if s["title"] == "shape")
    by_name = {q["name"]: q for q in shape["quantities"]}
    # ceil((5 − 2 − 1) / 3) + 1 = 2, and the last window starts at 3 < 5: kept
    assert by_name["H_ceil"]["formula"].startswith("ceil((H_in + 2×padding")
    assert by_name["H_ceil"]["values"] == {"H_in": 5, "padding": 0, "dilation": 1, "kernel": 3, "stride": 3}
    assert by_name["H_ceil"]["result"] == 2 and by_name["H_out"]["result"] == 2
    assert "ceil_mode" in by_name["H_out"]["note"]


@pytest.mark.parametrize("argv, fragment", [
    (["shape", "Conv2d(3,64,k=3", "--input", "1,3,32,32"], "<arg 1>:1:7: syntax error"),
    (["shape", "Conv2d(3,64,3)", "--input", "1,4,32,32"], "expected input with 3 channels; got 4"),
    (["shape", '__import__("os").system("true")', "--input", "1,3,8,8"], "expected a layer class name"),
    (["shape", "Conv2d(3,64,3)", "--input", "1,3,x,8"], "--input: expected whole numbers"),
    (["shape", "Conv2d(3,64,3)"], "Missing option '--input'"),
    (["shape", "Conv2d(3,64,3)", "-i", "1x3x8x8", "-f", "xml"], "'xml' is not one of"),
    (["shape", "Conv2d(3,64,3)", "-i", "1x3x8x8", "--dtype", "float7"], "unknown dtype 'float7'"),
    (["shape", "Conv2d(3,64,3)", "ReLU()", "Conv2d(3, 8, 3)", "-i", "1x3x8x8"], "<arg 3>:1:1 (entry '2'): Conv2d: expected input with 3 channels; got 64"),
    (["shape", "Conv2d(3, 8, 9)", "-i", "1x3x8x8"], "effective kernel 9"),
    (["shape", "Add()", "-i", "1x3x8x8"], "needs at least two inputs"),
    (["frobnicate"], "No such command"),
])
def test_bad_input_exits_2_with_one_line(capsys, argv, fragment):
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    first = err.splitlines()[0]
    assert first.startswith("error: ") and fragment in first
    assert "Traceback" not in err


def test_syntax_error_shows_a_caret(capsys):
    _, _, err = run(capsys, "shape", "Conv2d(3, 64, 3, stride=0)", "-i", "1x3x8x8")
    lines = err.splitlines()
    assert lines[1].strip() == "Conv2d(3, 64, 3, stride=0)"
    assert lines[2].index("^") == lines[1].index("0)")


def test_module_entry_point_has_no_traceback():
    proc = subprocess.run([sys.executable, "-m", "convcalc", "shape", "Conv2d(3,64,3)", "--input", "1,4,32,32"],
                          capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stderr.startswith("error: ")


def test_layers_lists_every_family(capsys):
    code, out, _ = run(capsys, "layers")
    names = {line.split("(", 1)[0] for line in out.splitlines()}
    for name in ("Conv1d", "ConvTranspose3d", "MaxPool2d", "AdaptiveMaxPool3d", "LazyConvTranspose1d",
                 "SeparableConv2d", "ChannelShuffle", "PixelUnshuffle", "ReflectionPad3d", "Concat"):
        assert name in names


def test_layer_file_names_and_errors(capsys, tmp_path):
    good = tmp_path / "net.txt"
    good.write_text("# a comment\nSequential(\n  (0): Conv2d(3, 8, 3)\n  (block): Sequential(\n"
                    "    (relu): ReLU(inplace=True)\n  )\n)\n(head): Flatten(start_dim=1, end_dim=-1)\n")
    code, out, _ = run(capsys, "shape", f"@{good}", "-i", "1x3x8x8", "-f", "json")
    assert code == 0
    assert [l["name"] for l in json.loads(out)["layers"]] == ["0", "block.relu", "head"]
    bad = tmp_path / "bad.txt"
    bad.write_text("Conv2d(3, 8, 3)\n\n  (x): Conv2d(8, 8, 3, stride=0)\n")
    code, _, err = run(capsys, "shape", f"@{bad}", "-i", "1x3x8x8")
    assert code == 2 and err.startswith(f"error: {bad}:3:31: Conv2d: stride must be positive")
    code, _, err = run(capsys, "shape", f"@{tmp_path / 'missing.txt'}", "-i", "1x3x8x8")
    assert code == 2 and "cannot read layer file" in err
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    code, _, err = run(capsys, "shape", f"@{empty}", "-i", "1x3x8x8")
    assert code == 2 and "no layers in the file" in err


def test_explain_flop_rule_uses_the_counted_figure(capsys):
    # GELU's tanh approximation costs 9 per element (README), not the erf form's 5
    _, out, _ = run(capsys, "explain", "GELU(approximate='tanh')", "-i", "1x2x4x4")
    assert f"= 9 × 32 = {9 * 32}" in out


def test_explain_transposed_grouped_weight(capsys):
    _, out, _ = run(capsys, "explain", "ConvTranspose2d(8, 4, 3, stride=2, groups=2, bias=False)", "-i", "1x8x8x8")
    assert "weight = C_in × C_out/groups × k_H × k_W = 8 × 4/2 × 3 × 3 = 144" in out
    assert "= 1 × 8 × 8 × 8 × 4/2 × 3 × 3 = 9,216" in out  # N·C_in·in_spatial·(C_out/groups)·kernel


def test_an_unexpected_exception_is_one_line_and_exit_3(capsys, monkeypatch):
    import convcalc.api

    def broken(*args, **kwargs):
        raise RuntimeError("injected fault\nwith a second line")

    monkeypatch.setattr(convcalc.api, "analyze", broken)
    code, out, err = run(capsys, "shape", "Conv2d(3, 8, 3)", "-i", "1x3x8x8")
    assert code == 3 and out == ""
    assert err.splitlines() == ["error: internal error (RuntimeError: injected fault\\nwith a second line); "
                                "please report it with the command line"]


class ClosedPipe(io.StringIO):
    """A stdout whose reader has gone, as after `| head -1`."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("argv", [["explain", "Conv2d(3, 8, 3)", "-i", "1x3x8x8"],
                                  ["shape", "Conv2d(3, 8, 3)", "-i", "1x3x8x8", "-f", "json"],
                                  ["layers"]])
def test_a_closed_pipe_ends_quietly(capsys, monkeypatch, argv):
    closed = ClosedPipe()
    monkeypatch.setattr(sys, "stdout", closed)
    stderr = sys.stderr
    assert main(argv) == 0
    assert capsys.readouterr().err == ""
    assert sys.stdout is closed and sys.stderr is stderr  # click's stand-in wrappers are undone


def _cli(*argv, **kwargs):
    """convcalc in a subprocess with stdout buffered, as users run it (so that Python's flush
    at exit meets a closed pipe too)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return subprocess.Popen([sys.executable, "-m", "convcalc", *argv], cwd=Path(__file__).parent.parent,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, **kwargs)


@pytest.mark.parametrize("argv", [
    ["explain", " -> ".join(["Conv2d(3, 3, 1)"] * 300), "-i", "1x3x8x8"],  # print(), ~350 KB
    ["shape", " -> ".join(["ReLU()"] * 1000), "-i", "1x3x8x8"],  # a rich table, ~100 KB
])
def test_head_closing_the_pipe_ends_quietly(argv):
    proc = _cli(*argv)
    first = proc.stdout.readline()  # then go away, as `| head -1` does, with most still unwritten
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 0 and first and err == ""


@pytest.mark.parametrize("argv", [["layers"], ["explain", "ReLU()", "-i", "1x3"], ["shape", "ReLU()", "-i", "1x3"],
                                  ["shape", "ReLU()", "-i", "1x3", "-f", "json"]])
def test_a_reader_gone_before_any_output_ends_quietly(argv):
    proc = _cli(*argv)
    proc.stdout.close()  # before convcalc has started: its first write meets a closed pipe
    err = proc.stderr.read().decode()
    assert proc.wait() == 0 and err == ""


def test_closed_stdout_and_a_full_disk():
    proc = _cli("layers", preexec_fn=lambda: os.close(1))  # `convcalc layers >&-`
    assert proc.wait() == 0 and proc.stderr.read() == b""
    if not os.path.exists("/dev/full"):
        return
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "convcalc", "layers"], stdout=full, stderr=subprocess.PIPE,
                              cwd=Path(__file__).parent.parent, text=True)
    assert proc.returncode == 3 and proc.stderr.splitlines() == ["error: [Errno 28] No space left on device"]


def test_non_utf8_argv_from_the_shell():
    proc = subprocess.run([sys.executable, "-m", "convcalc", "shape", b"Conv2d(3, 64, \xff\xfe)", "--input", "1x3x32x32"],
                          capture_output=True, cwd=Path(__file__).parent.parent)
    lines = proc.stderr.decode().splitlines()
    assert proc.returncode == 2 and proc.stdout == b""
    assert lines == ["error: <arg 1>:1:15: expected UTF-8 text; got the byte 0xff",
                     "  Conv2d(3, 64, \\xff\\xfe)", "  " + " " * len("Conv2d(3, 64, ") + "^"]


def _help(capsys, *argv):
    code, out, err = run(capsys, *argv, "-h")
    assert code == 0 and err == ""
    return out


def _examples(help_text):
    """The lines of the help's Examples paragraph."""
    paragraph = help_text.split("Examples:\n")[1].split("\n\n")[0]
    return [line.strip() for line in paragraph.splitlines()]


@pytest.mark.parametrize("command", [[], ["shape"], ["explain"], ["layers"]])
def test_help_has_usage_syntax_and_examples(capsys, command):
    out = _help(capsys, *command)
    assert out == run(capsys, *command, "--help")[1]  # -h is --help
    usage = out.splitlines()[0]
    assert usage.startswith(f"Usage: convcalc {' '.join(command)}".rstrip()) and "{" not in usage
    flat = " ".join(out.split())
    for needed in ("@FILE", "'->'", "nn.Sequential(...)", "Examples:"):
        assert needed in flat, needed
    examples = _examples(out)
    assert 2 <= len(examples) <= 3 and all(e.startswith("convcalc ") for e in examples)
    assert max(len(line) for line in out.splitlines()) <= 80


def test_help_examples_run(capsys):
    import shlex
    for example in (e for command in ([], ["shape"], ["explain"], ["layers"])
                    for e in _examples(_help(capsys, *command))):
        argv = shlex.split(example.split("|")[0])[1:]
        if any(a.startswith("@") for a in argv):
            continue  # the user's own file
        code, _, err = run(capsys, *argv)
        assert code == 0, (example, err)


def test_no_arguments_prints_help_on_stderr(capsys):
    code, out, err = run(capsys)
    assert code == 2 and out == "" and err.startswith("Usage: convcalc")


def test_dtype_takes_torch_names_and_help_lists_them(capsys):
    from convcalc.dtypes import DTYPE_BYTES
    for name, size in [("torch.float16", 2), ("torch.half", 2), ("torch.float64", 8), ("torch.int8", 1)]:
        _, out, _ = run(capsys, "shape", "Conv2d(3, 8, 3)", "-i", "1x3x10x10", "-f", "json", "--dtype", name)
        assert json.loads(out)["layers"][0]["output_bytes"] == 8 * 8 * 8 * size
    flat = "".join(_help(capsys, "shape").split())
    assert all(name in flat for name in DTYPE_BYTES) and "torch.float16" in flat


def test_input_as_torch_prints_it(capsys):
    _, plain, _ = run(capsys, "shape", "Conv2d(3, 8, 3)", "-i", "1x3x32x32", "-f", "json")
    _, pasted, _ = run(capsys, "shape", "Conv2d(3, 8, 3)", "-i", "torch.Size([1, 3, 32, 32])", "-f", "json")
    assert json.loads(pasted) == json.loads(plain)


# ------------------------------------------------------------------ convcalc layers [NAME]

def _signatures(out: str) -> dict:
    """Each `Name(a, b=1, *, c=2)` line of `convcalc layers` read as a Python signature:
    name -> [(parameter, default or REQUIRED, keyword-only)]."""
    found = {}
    for line in out.splitlines():
        fn = ast.parse(f"def {line}: pass").body[0]
        args = fn.args
        defaults = [REQUIRED] * (len(args.args) - len(args.defaults)) + [ast.literal_eval(d) for d in args.defaults]
        params = [(a.arg, d, False) for a, d in zip(args.args, defaults)]
        params += [(a.arg, ast.literal_eval(d), True) for a, d in zip(args.kwonlyargs, args.kw_defaults)]
        if args.vararg or args.kwarg:
            params.append(("*args, **kwargs", REQUIRED, False))
        found[fn.name] = params
    return found


REQUIRED = object()
#: keywords convcalc accepts beyond PyTorch's signature, because print(model) shows them
PRINTED_ONLY = {"UpsamplingNearest2d": {"mode"}, "UpsamplingBilinear2d": {"mode", "align_corners"},
                # output_size is what forward() takes, accepted in the expression (seed 004)
                **{f"{lazy}ConvTranspose{n}d": {"output_size"} for n in (1, 2, 3) for lazy in ("", "Lazy")}}
#: PyTorch's deprecated spellings, which convcalc does not take (PyTorch warns about them)
DEPRECATED = {"Hardtanh": {"min_value", "max_value"}}


def test_layers_prints_one_signature_a_line_for_every_name(capsys):
    from convcalc.layers.registry import layer_names
    code, out, err = run(capsys, "layers")
    assert code == 0 and err == ""
    signatures = _signatures(out)
    assert list(signatures) == layer_names() and len(out.splitlines()) == len(layer_names())
    assert out.splitlines()[layer_names().index("Conv2d")] == (
        "Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, "
        "bias=True, padding_mode='zeros')")
    assert signatures["Identity"] == [("*args, **kwargs", REQUIRED, False)]
    assert ("bias", True, True) in signatures["GroupNorm"]  # keyword-only, as in PyTorch


def test_layers_signatures_are_pytorchs(capsys):
    """Every name that is a torch.nn class lists PyTorch's own parameters, in PyTorch's
    order, with PyTorch's defaults (device= and dtype= aside)."""
    torch = pytest.importorskip("torch")
    import inspect
    _, out, _ = run(capsys, "layers")
    checked = 0
    for name, params in _signatures(out).items():
        cls = getattr(torch.nn, name, None)
        if cls is None:
            continue  # convcalc's own: SeparableConv*, Add, Mul, Concat
        want = []
        own_init = cls.__init__ is not torch.nn.Module.__init__  # Sigmoid(), Tanh(): no arguments
        for p in list(inspect.signature(cls.__init__).parameters.values())[1:] if own_init else ():
            if p.name in DEPRECATED.get(name, ()):
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                want = [("*args, **kwargs", REQUIRED, False)]
                break
            if p.name in ("device", "dtype"):
                continue
            want.append((p.name, REQUIRED if p.default is p.empty else p.default, p.kind == p.KEYWORD_ONLY))
        got = [p for p in params if p[0] not in PRINTED_ONLY.get(name, ())]
        assert got == want, name
        checked += 1
    assert checked > 80


def test_layers_describes_one_family(capsys):
    code, out, err = run(capsys, "layers", "Conv2d")
    assert code == 0 and err == ""
    lines = out.splitlines()
    signature = " ".join(line.strip() for line in lines[:lines.index("")])
    assert signature == ("Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, "
                         "groups=1, bias=True, padding_mode='zeros')")
    flat = " ".join(out.split())
    assert "required: in_channels, out_channels, kernel_size" in flat
    assert "defaults: stride=1, padding=0, dilation=1, groups=1, bias=True, padding_mode='zeros'" in flat
    assert "aliases: k=kernel_size, s=stride, p=padding, d=dilation, g=groups" in flat
    assert "op=" not in flat and "dtype=" in flat
    assert max(len(line) for line in lines) <= 80
    for spelling in ("conv2d", "nn.Conv2d", "torch.nn.CONV2D", "Conv2d(3, 64, 3)"):
        assert run(capsys, "layers", spelling)[1] == out, spelling


@pytest.mark.parametrize("name, fragments", [
    ("ConvTranspose1d", ["op=output_padding", "k=kernel_size", "g=groups"]),
    ("LocalResponseNorm", ["aliases: none (k is its own argument)"]),  # LRN's own k wins
    ("Dropout", ["aliases: none (p is its own argument)"]),
    ("Fold", ["required: output_size, kernel_size", "k=kernel_size, s=stride, p=padding, d=dilation"]),
    ("GroupNorm", ["keyword-only: bias=True"]),
    ("cat", ["Concat(dim=1)", "also written: cat"]),
    ("Identity", ["Identity(*args, **kwargs)", "any; PyTorch ignores them"]),
])
def test_layers_shows_the_aliases_that_apply(capsys, name, fragments):
    code, out, _ = run(capsys, "layers", name)
    flat = " ".join(out.split())
    assert code == 0 and all(f in flat for f in fragments), flat


def test_layers_unknown_name_is_one_line_with_a_suggestion(capsys):
    code, out, err = run(capsys, "layers", "Conv2")
    assert (code, out) == (2, "")
    assert err.splitlines() == ["error: <arg 1>: expected a layer name that 'convcalc layers' lists; got "
                                "'Conv2'; did you mean 'Conv2d'?"]
    code, _, err = run(capsys, "layers", "nn.groupnrom")
    assert code == 2 and err.rstrip().endswith("did you mean 'GroupNorm'?")


def test_layers_huge_unknown_name_answers_fast(capsys):
    import time
    start = time.perf_counter()
    code, _, err = run(capsys, "layers", "Conv" * 2_500_000)
    assert code == 2 and time.perf_counter() - start < 1.0
    assert len(err.splitlines()) == 1 and len(err) < 300


@pytest.mark.parametrize("args", [
    ["shape", "Conv2d(3, 4, 3)", "-i", "1x3x8x8", "--dtype", "\udcff\udcfe"],
    ["shape", "Conv2d(3, 4, 3)", "-i", "1x3x8x8", "--convention", "\udcff"],
    ["run", "ReLU()", "-i", "[1.0]", "--max-memory", "\udcff"],
    ["import", "\udcff:f"],
    ["draw", "examples/tiny_resnet.yaml", "--rf", "\udcff"],
])
def test_a_non_utf8_byte_is_quoted_as_a_byte_escape(args, capsys):
    """Python's stand-in for an argv byte that is not UTF-8 (\\udcff) is quoted as the byte, \\xff,
    by every message, not only by those built with errors.quote."""
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "\\xff" in err and "udc" not in err and err.count("\n") == 1, err


@pytest.mark.parametrize("kind,args", [
    ("spec.yaml", ["summary", "{f}"]),
    ("spec.yaml", ["check", "{f}"]),
    ("spec.yaml", ["verify", "{f}"]),
    ("spec.yaml", ["draw", "{f}"]),
    ("spec.yaml", ["compare", "{f}"]),
    ("layers.txt", ["shape", "@{f}", "-i", "1x3x8x8"]),
    ("x.npy", ["run", "ReLU()", "-i", "{f}"]),
    ("x.png", ["run", "ReLU()", "-i", "{f}"]),
    ("m.onnx", ["import", "{f}"]),
])
def test_an_unreadable_file_is_one_line_exit_2(kind, args, tmp_path, monkeypatch, capsys):
    """A file that exists but cannot be opened (no read permission; the tests may run as root,
    who can read anything, so opening it is made to fail as it would for another user)."""
    import builtins
    import io as io_module

    path = tmp_path / kind
    path.write_bytes(b"input: [1, 3, 8, 8]\nlayers: [ReLU()]\n" if kind.endswith(".yaml") else b"ReLU()\n")
    real_open, real_os_open = builtins.open, os.open

    def refuse(file, *a, **k):
        if os.fspath(file) == str(path) if isinstance(file, (str, os.PathLike)) else False:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(file, *a, **k)

    def refuse_os(file, *a, **k):
        if os.fspath(file) == str(path):
            raise PermissionError(13, "Permission denied", str(path))
        return real_os_open(file, *a, **k)

    monkeypatch.setattr(builtins, "open", refuse)
    monkeypatch.setattr(io_module, "open", refuse)
    monkeypatch.setattr(os, "open", refuse_os)
    code = main([a.replace("{f}", str(path)) for a in args])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Permission denied" in err and "Traceback" not in err, err


@pytest.mark.parametrize("command", ["import", "summary", "verify"])
def test_a_directory_named_onnx_is_called_a_directory(command, tmp_path, capsys):
    (tmp_path / "model.onnx").mkdir()
    assert main([command, str(tmp_path / "model.onnx")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("expected an ONNX file; got a directory\n"), err
