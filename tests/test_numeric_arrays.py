"""numeric/arrays.py: ARRAY arguments read without trusting them, every refusal one clear line."""

from __future__ import annotations

import numpy as np
import pytest

from convcalc.errors import ConvcalcError
from convcalc.numeric.arrays import (compute_dtype, fit_parameter, format_array, parse_inline, read_array,
                                     to_compute)


def refused(text: str, *fragments: str, where: str = "--input"):
    with pytest.raises(ConvcalcError) as info:
        read_array(text, where)
    message = str(info.value)
    assert message.startswith(f"{where}: ") and "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


# ------------------------------------------------------------------ inline lists

def test_inline_integers_and_floats():
    a = parse_inline("[[1, 2], [3, -4]]", "--input")
    assert a.dtype == np.int64 and a.tolist() == [[1, 2], [3, -4]]
    f = parse_inline("[[1, 2.5], (3, -4e-1)]", "--input")
    assert f.dtype == np.float32 and f.tolist() == [[1.0, 2.5], [3.0, np.float32(-0.4)]]
    assert parse_inline(" 5 ", "--bias").shape == ()


@pytest.mark.parametrize("text, fragments", [
    ("[[1, 2], [3]]", ("ragged", "[1]", "[2]", "[1]")),
    ("[[1, 2], 3]", ("ragged", "item [0] is a list", "item [1] is a number")),
    ("[[1, 'a']]", ("the string 'a'", "column")),
    ("[[1, None]]", ("None",)),
    ("[1, True]", ("True",)),
    ("[1, 2j]", ("2j",)),
    ("[__import__('os').system('echo no')]", ("expected numbers",)),
    ("[1, 2", ("nested list of numbers",)),
    ("[1, 1e999]", ("finite", "inf", "[1]")),
    ("[1e39]", ("finite", "float32")),
    ("[1, 99999999999999999999]", ("64 bits",)),
    ("[" * 40 + "]" * 40, ("nested at most 32",)),
])
def test_inline_refusals(text, fragments):
    refused(text, *fragments)


def test_no_eval():
    # a call is refused by the tree walk before anything could run it
    refused("[print('x') or 1]", "expected numbers")


# ------------------------------------------------------------------ .npy files

def test_npy_round_trip_is_memory_mapped(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.arange(12, dtype=np.float64).reshape(3, 4))
    a = read_array(str(path), "--input")
    assert isinstance(a, np.memmap) and a.dtype == np.float64 and a.shape == (3, 4)


def test_object_arrays_are_never_unpickled(tmp_path):
    path = tmp_path / "o.npy"
    np.save(path, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    refused(str(path), "object array", "never loaded")


def test_strings_and_records(tmp_path):
    path = tmp_path / "s.npy"
    np.save(path, np.array(["a", "b"]))
    refused(str(path), "strings")
    path = tmp_path / "r.npy"
    np.save(path, np.zeros(2, dtype=[("a", "i4"), ("b", "f4")]))
    refused(str(path), "structured")
    path = tmp_path / "c.npy"
    np.save(path, np.zeros(2, dtype=complex))
    refused(str(path), "complex")


def _header_lies(tmp_path, shape_in_header: str, name: str):
    path = tmp_path / name
    np.save(path, np.zeros((2, 3), dtype=np.float32))
    raw = path.read_bytes()
    raw = raw.replace(b"'shape': (2, 3)", shape_in_header.encode())
    path.write_bytes(raw)
    return path


def test_truncated_file(tmp_path):
    path = tmp_path / "t.npy"
    np.save(path, np.zeros((4, 4), dtype=np.float32))
    path.write_bytes(path.read_bytes()[:-10])
    refused(str(path), "truncated")


def test_header_claims_more_data_than_there_is(tmp_path):
    path = _header_lies(tmp_path, "'shape': (9, 9)", "more.npy")
    refused(str(path), "truncated")


def test_header_claims_less_data_than_there_is(tmp_path):
    path = _header_lies(tmp_path, "'shape': (1, 3)", "less.npy")
    refused(str(path), "longer than its header says", "[1, 3]")


def test_not_a_npy_file(tmp_path):
    path = tmp_path / "x.npy"
    path.write_bytes(b"hello, world")
    refused(str(path), "\\x93NUMPY")
    path = tmp_path / "garbled.npy"
    path.write_bytes(b"\x93NUMPY\x01\x00\x10\x00{'descr': <f4, }   \n")
    refused(str(path), "valid .npy")


def test_missing_file():
    refused("/nonexistent/x.npy", "expected a .npy file or an inline nested list", "no such file")
    refused("weights", "'weights': no such file")
    refused("[1, 2]x", "nested list of numbers")


def test_images_need_pillow_or_read_as_nchw(tmp_path):
    try:
        from PIL import Image
    except ImportError:
        refused(str(tmp_path / "x.png"), "Pillow")
        return
    path = tmp_path / "x.png"
    Image.fromarray(np.full((4, 5, 3), 255, dtype=np.uint8)).save(path)
    a = read_array(str(path), "--input")
    assert a.shape == (1, 3, 4, 5) and a.max() == 1.0


# ------------------------------------------------------------------ dtypes, conversion, shapes

def test_compute_dtype():
    assert compute_dtype(np.dtype(np.float64)) == np.float64
    assert compute_dtype(np.dtype(np.float16)) == np.float32
    assert compute_dtype(np.dtype(np.uint8)) == np.int64
    assert compute_dtype(np.dtype(bool)) == np.int64


def test_float_weights_for_an_integer_input():
    assert to_compute(np.array([1.0, -2.0]), np.dtype(np.int64), "--weight").tolist() == [1, -2]
    with pytest.raises(ConvcalcError, match="expected whole numbers.*got 0.5 at index \\[1\\]"):
        to_compute(np.array([1.0, 0.5]), np.dtype(np.int64), "--weight")
    with pytest.raises(ConvcalcError, match="finite.*nan"):
        to_compute(np.array([1.0, np.nan]), np.dtype(np.float32), "--input")
    with pytest.raises(ConvcalcError, match="int64"):
        to_compute(np.array([2 ** 64 - 1], dtype=np.uint64), np.dtype(np.int64), "--input")


def test_fit_parameter_accepts_a_bare_kernel_and_number():
    import convcalc
    layer = convcalc.build_layer("Conv2d(1, 1, 3)")
    assert fit_parameter(np.ones((3, 3)), (1, 1, 3, 3), "weight", layer, "--weight").shape == (1, 1, 3, 3)
    assert fit_parameter(np.array(2), (1,), "bias", layer, "--bias").shape == (1,)
    with pytest.raises(ConvcalcError, match=r"--weight: Conv2d: expected a weight of shape \[1, 1, 3, 3\].*got "
                                            r"shape \[2, 2\]"):
        fit_parameter(np.ones((2, 2)), (1, 1, 3, 3), "weight", layer, "--weight")


def test_format_array():
    assert format_array(np.array([[10, 12, 12], [18, 16, 16], [13, 9, 3]])) == "[[10, 12, 12], [18, 16, 16], [13, 9, 3]]"
    assert format_array(np.float32([0.1, 2])) == "[0.1, 2.0]"  # float32's shortest text, not 0.10000000149
    wide = format_array(np.arange(40.0).reshape(2, 20), width=60)
    assert wide.count("\n") >= 1 and all(len(line) <= 60 for line in wide.splitlines())
    big = format_array(np.zeros((100, 100)))
    assert "..." in big and len(big) < 2000
