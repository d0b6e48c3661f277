"""Reading real pasted text: `@file`s and arguments holding code, `->` chains and
`print(model)` dumps, in any encoding a user's editor may have saved.

Ground truth comes from tests/fixtures/record_dumps.py: the real `str(model)` of small
models (torch 2.13) and of torchvision's vgg11_bn and resnet18 (torch 2.14.1,
torchvision 0.29.1), the code that built the small ones, and every leaf module's name,
output shape and parameters from forward hooks (tests/fixtures/dumps.json,
tests/fixtures/torchvision_dumps.json).
"""
from __future__ import annotations

import json
import pathlib
import time

import pytest

import convcalc
from convcalc.cli import main

ROOT = pathlib.Path(__file__).parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SMALL = json.loads((FIXTURES / "dumps.json").read_text())["models"]
(VGG,) = json.loads((FIXTURES / "torchvision_dumps.json").read_text())["models"]


def run(capsys, *argv):
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def analyse_file(path, shape):
    return convcalc.analyze(["@" + str(path)], tuple(shape))


def assert_matches_torch(analysis, model, implied=()):
    """Every leaf torch ran, in order, with its name, type, output shape and parameters;
    `implied` are the names of rows convcalc adds for a flatten forward() does."""
    rows = [r for r in analysis.layers if r.name not in implied]
    assert [r.name for r in analysis.layers if r.name in implied] == list(implied)
    got = [(r.name, r.type, list(r.output_shape), r.params) for r in rows]
    want = [(t["name"], t["type"], t["output_shape"], t["params"]) for t in model["layers"]]
    assert got == want
    assert analysis.total.params == model["params"]
    assert list(analysis.total.output_shape) == model["output_shape"]


# ---------------------------------------------------------------------- dumps and code

@pytest.mark.parametrize("model", SMALL, ids=[m["name"] for m in SMALL])
def test_printed_model_reads_with_pytorch_names(model):
    implied = ("classifier.0.flatten",) if model["name"] == "flatten_in_forward" else ()
    analysis = analyse_file(FIXTURES / model["dump"], model["input_shape"])
    assert_matches_torch(analysis, model, implied)
    assert len(analysis.warnings) == len(implied)
    assert all(w.startswith(f"{name}: ") and "'classifier.0'" in w for w, name in zip(analysis.warnings, implied))
    # the same text pasted as one argument
    text = (FIXTURES / model["dump"]).read_text()
    assert_matches_torch(convcalc.analyze([text], tuple(model["input_shape"])), model, implied)


@pytest.mark.parametrize("model", [m for m in SMALL if "code" in m], ids=lambda m: m["name"])
def test_code_reads_with_pytorch_names(model):
    code = (FIXTURES / model["code"]).read_text()
    assert_matches_torch(analyse_file(FIXTURES / model["code"], model["input_shape"]), model)
    # the same text pasted as one argument
    assert_matches_torch(convcalc.analyze([code], tuple(model["input_shape"])), model)


def test_collapsed_repeats_are_in_the_fixture():
    text = (FIXTURES / "dumps" / "repeats.txt").read_text()
    assert "(0-2): 3 x Conv2d(16, 16" in text and "(4-5): 2 x Sequential(" in text
    assert "(0-1): 2 x ModuleList(" in text and "(empty): ModuleList()" in text


def test_vgg11_bn_matches_torchvision(capsys):
    assert VGG["params"] == 132_868_840  # torchvision's count, recorded
    code, out, err = run(capsys, "shape", f"@{ROOT / 'examples' / 'vgg11_bn.txt'}", "--input", "1,3,224,224", "-f", "json")
    assert code == 0
    doc = json.loads(out)
    rows = [r for r in doc["layers"] if r["name"] != "classifier.0.flatten"]
    assert [(r["name"], r["type"], r["output_shape"], r["params"]) for r in rows] == \
        [(t["name"], t["type"], t["output_shape"], t["params"]) for t in VGG["layers"]]
    assert doc["total"]["params"] == VGG["params"] and doc["total"]["output_shape"] == VGG["output_shape"]
    flatten = next(r for r in doc["layers"] if r["name"] == "classifier.0.flatten")
    assert flatten["input_shape"] == [1, 512, 7, 7] and flatten["output_shape"] == [1, 512 * 7 * 7]
    (warning,) = err.splitlines()
    assert warning.startswith("warning: classifier.0.flatten: ") and "'classifier.0'" in warning
    assert "Flatten" in warning


def test_vgg11_bn_example_is_the_real_printout():
    text = (ROOT / "examples" / "vgg11_bn.txt").read_text()
    assert text.startswith("VGG(\n  (features): Sequential(\n")
    assert "(classifier): Sequential(" in text and "flatten" not in text.lower()


def test_residual_dump_says_it_has_branches(capsys):
    path = FIXTURES / "dumps" / "resnet18.txt"
    code, out, err = run(capsys, "shape", f"@{path}", "--input", "1,3,224,224")
    assert code == 2 and out == ""
    (line,) = err.splitlines()
    assert line.startswith(f"error: {path}:7 (entry 'layer1.0'): ")
    for fragment in ("branches (BasicBlock 'layer1.0')", "YAML network format (coming)", "importers coming"):
        assert fragment in line


@pytest.mark.parametrize("text, entry, why", [
    # a custom block holding a `downsample` path (a re-implemented ResNet)
    ("Net(\n  (block): ResBlk(\n    (conv): Conv2d(8, 8, 3)\n    (downsample): Conv2d(8, 8, 1)\n  )\n)\n",
     "block.downsample", "('block.downsample' bypasses ResBlk 'block')"),
    ("(stage): Bottleneck(\n  (conv1): Conv2d(8, 8, 1)\n)\n", "stage", "(Bottleneck 'stage')"),
    ("(0-1): 2 x InvertedResidual(\n  (conv): Conv2d(8, 8, 1)\n)\n", "0", "(InvertedResidual '0')"),
])
def test_branches_are_refused(tmp_path, text, entry, why):
    path = tmp_path / "net.txt"
    path.write_text(text)
    with pytest.raises(convcalc.ConvcalcError) as info:
        analyse_file(path, (1, 8, 9, 9))
    assert info.value.location.entry == entry and why in info.value.message


def test_downsample_in_a_plain_sequential_is_a_chain(tmp_path):
    path = tmp_path / "net.txt"
    path.write_text("Sequential(\n  (conv): Conv2d(8, 8, 3)\n  (downsample): Conv2d(8, 16, 2, stride=2)\n)\n")
    assert analyse_file(path, (1, 8, 9, 9)).total.output_shape == (1, 16, 3, 3)


def test_flatten_missing_from_a_dump_is_named(tmp_path):
    path = tmp_path / "net.txt"
    path.write_text("Net(\n  (conv): Conv2d(3, 8, kernel_size=(3, 3))\n"
                    "  (fc): Linear(in_features=100, out_features=10, bias=True)\n)\n")
    with pytest.raises(convcalc.ConvcalcError) as info:
        analyse_file(path, (1, 3, 5, 5))
    message = info.value.message
    assert "no Flatten before 'fc'" in message and f"{8 * 3 * 3} values, not 100" in message
    assert info.value.location.line == 3


def test_linear_on_the_last_dim_of_a_dump_is_not_flattened(tmp_path):
    path = tmp_path / "net.txt"
    path.write_text("(conv): Conv1d(2, 4, kernel_size=(3,), stride=(1,))\n"
                    "(fc): Linear(in_features=6, out_features=5, bias=True)\n")
    a = analyse_file(path, (1, 2, 8))  # conv gives [1, 4, 6]: Linear acts on the last dim
    assert [r.name for r in a.layers] == ["conv", "fc"] and a.total.output_shape == (1, 4, 5)
    assert a.warnings == ()


def test_typed_chain_is_not_flattened():
    # outside a dump nothing is hidden: PyTorch's own error stands
    with pytest.raises(convcalc.ConvcalcError, match="in_features=72"):
        convcalc.analyze(["Conv2d(3, 8, 3) -> Linear(72, 10)"], (1, 3, 5, 5))


# ---------------------------------------------------------------------- code in files

def test_sequential_block_with_comments_blank_lines_and_trailing_commas(tmp_path):
    path = tmp_path / "net.py"
    path.write_text(
        "# pasted from train.py\n"
        "self.features = nn.Sequential(  # the stem\n"
        "    nn.Conv2d(3, 8, 3, padding=1),\n"
        "\n"
        "    nn.Conv2d(\n"
        "        8, 16, kernel_size=3,  # a call over three lines\n"
        "        stride=2),\n"
        "    nn.ReLU('#' == '#'),\n"
        ")\n"
        "self.head = nn.Flatten()\n")
    with pytest.raises(convcalc.ConvcalcError):  # ReLU('#' == '#'): a comparison, not a literal
        analyse_file(path, (1, 3, 8, 8))
    path.write_text(path.read_text().replace("nn.ReLU('#' == '#')", "nn.ReLU(inplace=True)"))
    a = analyse_file(path, (1, 3, 8, 8))
    assert [r.name for r in a.layers] == ["features.0", "features.1", "features.2", "head"]
    assert a.total.output_shape == (1, 16 * 3 * 3)  # (8 - 3) // 2 + 1 = 3


def test_arrow_chains_in_files(tmp_path):
    path = tmp_path / "chain.txt"
    path.write_text("Conv2d(3, 8, 3) -> ReLU()\n"
                    "MaxPool2d(2)\n"
                    "  -> Conv2d(8, 4, 1) ->\n"
                    "  Flatten(),\n")
    a = analyse_file(path, (1, 3, 10, 10))
    assert [r.type for r in a.layers] == ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "Flatten"]
    assert a.total.output_shape == (1, 4 * 4 * 4)


def test_ordered_dict_with_a_dict_literal():
    a = convcalc.analyze(["nn.Sequential(collections.OrderedDict({'conv': nn.Conv2d(1, 2, 3), "
                          "'act': nn.ReLU()}))"], (1, 1, 5, 5))
    assert [r.name for r in a.layers] == ["conv", "act"]
    a = convcalc.analyze(["nn.Sequential(OrderedDict(conv=nn.Conv2d(1, 2, 3), act=nn.ReLU()))"], (1, 1, 5, 5))
    assert [r.name for r in a.layers] == ["conv", "act"]


@pytest.mark.parametrize("text, fragment, line, column", [
    ("nn.Sequential(\n    nn.Conv2d(3, 8, 3),\n    nn.Conv2d(8, 8, 3, stride=0),\n)\n",
     "stride must be positive", 3, 31),
    ("nn.Sequential(\n    nn.Conv2d(3, 8, 3),\n    nn.ReLU(\n", "unclosed '('", 1, 1),
    ("nn.Sequential(\n    nn.Conv2d(3, 8, 3),\n    nn.Linear(32 * 4, 10),\n)\n",
     "only literal values", 3, 15),
    ("nn.Sequential(OrderedDict([\n    ('a', nn.ReLU()),\n    ('a', nn.ReLU()),\n]))\n",
     "layer name 'a' given twice", 3, 6),
    ("nn.Sequential(OrderedDict([\n    nn.ReLU(),\n]))\n", "expected a (name, layer) pair", 2, 5),
    ("nn.Sequential(*layers)\n", "'*' arguments are not supported", 1, 15),
    ("Conv2d(3, 8, 3) ->\n", "got nothing", 1, 19),
    ("(0): \n", "expected a layer after the name", 1, 6),
])
def test_errors_point_into_the_file(tmp_path, text, fragment, line, column):
    path = tmp_path / "net.txt"
    path.write_text(text)
    with pytest.raises(convcalc.ConvcalcError) as info:
        analyse_file(path, (1, 3, 8, 8))
    where = info.value.location
    assert fragment in info.value.message
    assert (where.source, where.line, where.column) == (str(path), line, column)


def test_multi_line_syntax_error_shows_the_line(capsys, tmp_path):
    path = tmp_path / "net.txt"
    path.write_text("nn.Sequential(\n    nn.Conv2d(3, 8, 3),\n    nn.ReLU() nn.ReLU(),\n)\n")
    code, _, err = run(capsys, "shape", f"@{path}", "-i", "1x3x8x8")
    first, source, caret = err.splitlines()
    assert code == 2 and first.startswith(f"error: {path}:3:")
    assert source == "      nn.ReLU() nn.ReLU(),"
    column = int(first[len(f"error: {path}:3:"):].split(":")[0])
    assert 5 <= column <= 15 and caret.index("^") == column + 1  # under the column, past the indent


# ---------------------------------------------------------------------- encodings and files

def write_bytes(tmp_path, data: bytes):
    path = tmp_path / "net.txt"
    path.write_bytes(data)
    return path


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    path = write_bytes(tmp_path, "\ufeffConv2d(3, 8, 3)\r\nReLU()\r\n".encode("utf-8"))
    assert analyse_file(path, (1, 3, 8, 8)).total.output_shape == (1, 8, 6, 6)


@pytest.mark.parametrize("data, fragment, line", [
    ("# façade\nConv2d(3, 8, 3)\n".encode("latin-1"),
     f"expected UTF-8 text; got byte 0xe7 at offset {len('# fa')} (Latin-1", 1),
    ("Conv2d(3, 8, 3)\n# ÿ\n".encode("latin-1"), f"got byte 0xff at offset {16 + 2}", 2),
    ("Conv2d(3, 8, 3)\n".encode("utf-16"), "expected UTF-8 text; got UTF-16", None),
    ("Conv2d(3, 8, 3)\n".encode("utf-32"), "got UTF-32", None),
    ("Conv2d(3, 8, 3)\n".encode("utf-16-le"), "got byte 0x00 at offset 1 (UTF-16 text without", None),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00\xff\xfe", "got byte 0x00 at offset 7 (a binary file?)", None),
    (bytes(range(256)), "got byte 0x00 at offset 0 (a binary file?)", None),
])
def test_other_encodings_give_one_line(capsys, tmp_path, data, fragment, line):
    path = write_bytes(tmp_path, data)
    code, out, err = run(capsys, "shape", f"@{path}", "-i", "1x3x8x8")
    assert code == 2 and out == ""
    (message,) = err.splitlines()
    where = f"{path}:{line}" if line else str(path)
    assert message.startswith(f"error: {where}: ") and fragment in message


def test_directory_missing_and_huge_files_fail_fast(capsys, tmp_path):
    code, _, err = run(capsys, "shape", f"@{tmp_path}", "-i", "1x3x8x8")
    assert code == 2 and err == f"error: {tmp_path}: expected a layer file; got a directory\n"
    code, _, err = run(capsys, "shape", f"@{tmp_path / 'nope.txt'}", "-i", "1x3x8x8")
    assert code == 2 and err.startswith(f"error: {tmp_path / 'nope.txt'}: cannot read layer file")
    code, _, err = run(capsys, "shape", "@", "-i", "1x3x8x8")
    assert code == 2 and err.startswith("error: <arg 1>:1:2: expected a file name after '@'; got nothing")
    big = tmp_path / "big.txt"
    with big.open("wb") as f:
        f.truncate(50 * 2**20)  # sparse: 50 MiB without writing them
    start = time.perf_counter()
    code, _, err = run(capsys, "shape", f"@{big}", "-i", "1x3x8x8")
    assert time.perf_counter() - start < 1
    assert code == 2 and err == f"error: {big}: expected a layer file of at most 8.0 MiB; got 50.0 MiB\n"


def test_a_file_of_only_empty_containers_has_no_layers(capsys, tmp_path):
    path = write_bytes(tmp_path, b"Net(\n  (blocks): ModuleList()\n  (rest): Sequential()\n)\n")
    code, _, err = run(capsys, "shape", f"@{path}", "-i", "1x3x8x8")
    assert code == 2 and err.startswith(f"error: {path}: no layers in the file")


def test_argument_bytes_that_are_not_utf8(capsys):
    # argv bytes b"\xff\xfe" reach Python as the surrogates U+DCFF U+DCFE
    code, out, err = run(capsys, "shape", "ReLU()\n-> Conv2d(3, 64, \udcff\udcfe)", "-i", "1x3x8x8")
    assert code == 2 and out == ""
    column = len("-> Conv2d(3, 64, ") + 1
    first, source, caret = err.splitlines()
    assert first == f"error: <arg 1>:2:{column}: expected UTF-8 text; got the byte 0xff"
    assert caret.index("^") == source.index("\\xff")


def test_argument_with_a_byte_order_mark():
    assert convcalc.analyze(["\ufeffConv2d(3, 8, 3)"], (1, 3, 8, 8)).total.output_shape == (1, 8, 6, 6)


@pytest.mark.parametrize("text, line", [
    ("(0-99999998): 99999999 x ReLU()\n", 1),
    ("Net(\n  (a): ModuleList(\n    (0-999): 1000 x ModuleList(\n      (0-99): 100 x ReLU()\n"
     "    )\n  )\n)\n", 3),
])
def test_repeats_beyond_any_real_network_are_refused_before_expansion(tmp_path, text, line):
    from convcalc.parsing.pasted import MAX_LAYERS
    path = tmp_path / "net.txt"
    path.write_text(text)
    start = time.perf_counter()
    with pytest.raises(convcalc.ConvcalcError) as info:
        analyse_file(path, (1, 3, 8, 8))
    assert time.perf_counter() - start < 1
    assert f"expected at most {MAX_LAYERS:,} layers" in info.value.message
    assert info.value.location.line == line


@pytest.mark.parametrize("text", ["", "\n\n", "   \n\t\n", "\t", "# only a comment\n"])
def test_a_blank_spec_is_an_empty_file(tmp_path, capsys, text):
    """Whitespace alone (a tab included, which YAML's scanner refuses as a token) is an empty file."""
    path = tmp_path / "blank.yaml"
    path.write_text(text)
    assert main(["summary", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.endswith("got an empty file\n"), err
