"""Hostile and broken YAML: whatever the file holds, `convcalc summary` answers or says
what is wrong in one line (exit 2), quickly, never a traceback."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convcalc.cli import main
from convcalc.errors import ConvcalcError
from convcalc.network import analyse, load_text
from convcalc.network.loader import MAX_BYTES

ROOT = Path(__file__).parent.parent
SEED = (ROOT / "examples" / "tiny_unet.yaml").read_text(encoding="utf-8")


def _bomb() -> bytes:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    return ("\n".join(lines) + "\nlayers: *a9\n").encode()


def _mapping_bomb() -> bytes:
    """Groups of aliased groups: 7 + 7**2 + ... + 7**6 layers from 8 lines, within the
    alias limit; the expansion stops at its own limit."""
    lines = ["input: [1, 3, 8, 8]", "layers:", "  - &g0 {layers: [" + ", ".join(["ReLU()"] * 7) + "]}"]
    lines += [f"  - &g{i} {{layers: [" + ", ".join([f"*g{i - 1}"] * 7) + "]}" for i in range(1, 6)]
    return ("\n".join(lines) + "\n").encode()


def _block_bomb() -> bytes:
    """Blocks of ten blocks, six deep: a million layers from a dozen lines."""
    lines = ["input: [1, 3, 8, 8]", "blocks:", "  B0: {layers: [ReLU()]}"]
    lines += [f"  B{i}: {{layers: [" + ", ".join([f"B{i - 1}()"] * 10) + "]}" for i in range(1, 7)]
    return ("\n".join(lines) + "\nlayers: [B6()]\n").encode()


HOSTILE = {
    "blocks of blocks": (_block_bomb, "expands to more than 100,000 layers"),
    "billion laughs": (_bomb, "alias bomb"),
    "aliased groups": (lambda: _mapping_bomb(), "expands to more than 100,000 layers"),
    "10,000-deep flow": (lambda: b"layers: " + b"[" * 10000 + b"]" * 10000 + b"\n", "nested at most 50"),
    "10,000-deep dashes": (lambda: b"layers:\n  " + b"- " * 10000 + b"ReLU()\n", "nested at most 50"),
    "10,000-deep mappings": (lambda: b"layers: " + b"{a: " * 10000 + b"1" + b"}" * 10000 + b"\n",
                             "nested at most 50"),
    "python object": (lambda: b"layers:\n  - !!python/object/new:os.system [echo pwned]\n", "not allowed"),
    "python name": (lambda: b"input: !!python/name:os.system\nlayers: [ReLU()]\n", "not allowed"),
    "invalid UTF-8": (lambda: b"layers:\n  - ReLU() # \xc3\x28\n", "expected UTF-8 text"),
    "binary": (lambda: bytes(range(256)) * 40, "expected UTF-8 text"),
    "recursive alias": (lambda: b"layers: &x {layers: [*x]}\n", "cannot be recursive"),
    "300,000 values": (lambda: b"layers: [" + b"1," * 300_000 + b"1]\n", "at most 120,000 YAML values"),
    "a 3 MB scalar": (lambda: b"layers: ['Conv2d(" + b"1, " * 1_000_000 + b"1)']\n", "at most 100,000 characters"),
    "a 100,000-digit number": (lambda: b"input: [" + b"9" * 100_000 + b"]\nlayers: [ReLU()]\n", "number"),
    "a 1 MB key": (lambda: b"? " + b"k" * 2**20 + b"\n: 1\nlayers: [ReLU()]\n", "unknown key 'kkkk"),
    "a 1 MB plain key": (lambda: b"k" * 2**20 + b": 1\nlayers: [ReLU()]\n", "invalid YAML"),
    "null bytes": (lambda: b"layers: [ReLU()]\n\x00\x00\x00", "got byte 0x00"),
    "UTF-32": (lambda: "layers: [ReLU()]\n".encode("utf-32"), "got UTF-32"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_files_end_in_one_line_quickly(tmp_path, capsys, name):
    make, fragment = HOSTILE[name]
    path = tmp_path / "hostile.yaml"
    path.write_bytes(make())
    start = time.process_time()
    code = main(["summary", str(path), "-i", "1x3x8x8", "-f", "json"])
    spent = time.process_time() - start
    out, err = capsys.readouterr()
    assert code == 2 and out == "", err
    lines = err.splitlines()
    assert lines[0].startswith(f"error: {path}") and fragment in lines[0], lines[0][:300]
    assert len(lines) <= 3 and all(len(line) < 500 for line in lines)
    assert spent < 2.0, f"{name}: {spent:.2f} s of CPU"


def test_a_50_mb_file_is_refused_before_it_is_read(tmp_path, capsys):
    path = tmp_path / "big.yaml"
    with open(path, "wb") as handle:
        handle.truncate(50 * 2**20)
    start = time.process_time()
    code = main(["check", str(path)])
    _, err = capsys.readouterr()
    assert code == 2 and "expected a YAML network spec of at most 4.0 MiB; got 50.0 MiB" in err
    assert time.process_time() - start < 0.5
    assert MAX_BYTES < 50 * 2**20


def test_a_pipe_larger_than_the_limit_is_refused(monkeypatch, capsys):
    import io
    import sys

    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"#" * (MAX_BYTES + 10))))
    assert main(["summary", "-", "-i", "1x3"]) == 2
    assert "got more" in capsys.readouterr().err


def test_a_directory_is_refused(tmp_path, capsys):
    assert main(["summary", str(tmp_path)]) == 2
    assert "got a directory" in capsys.readouterr().err


# ------------------------------------------------------------------ random edits of a valid spec

_SPECIAL = [":", "-", "[", "]", "{", "}", ",", "&a", "*a", "!", "!!str", "!!python/tuple", "|", ">", "'", '"',
            "#", "%", "@", "`", "\t", "\n", "  ", "<<: ", "? ", "---\n", "...\n", "\x85", "\u2028", "\ufeff",
            "{c}", "{c *", "from: ", "repeat: 9", "when: ", "-1", "null", "yes", "0x10", "1e309", "~", "é"]


@st.composite
def mutated(draw):
    text = SEED
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["insert", "delete", "replace", "duplicate"]))
        if kind == "insert":
            text = text[:at] + draw(st.sampled_from(_SPECIAL)) + text[at:]
        elif kind == "delete":
            text = text[:at] + text[at + draw(st.integers(1, 40)):]
        elif kind == "replace":
            text = text[:at] + draw(st.text(min_size=1, max_size=6)) + text[at + 1:]
        else:
            lines = text.splitlines(keepends=True)
            i = draw(st.integers(0, len(lines) - 1))
            text = "".join(lines[:i] + [lines[i]] * draw(st.integers(2, 5)) + lines[i + 1:])
    return text


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(mutated())
def test_edited_specs_answer_or_raise_convcalc_errors(text):
    start = time.process_time()
    try:
        analyse(load_text(text, "fuzz.yaml"))
    except ConvcalcError as exc:
        message = str(exc)
        assert message.startswith("fuzz.yaml") and "\n" not in message, message
    assert time.process_time() - start < 2.0


# ------------------------------------------------------------------ random structures in the format's places

scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 70), st.floats(allow_nan=True),
                    st.sampled_from(["ReLU()", "Conv2d(3, 8, 3)", "input", "-1", "a", "B(3)", "{x}", "Add()",
                                     "Concat(dim=1)", "1.2M", "[1, 3, 8, 8]", "1x3x8x8", "", " "]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                      st.dictionaries(st.sampled_from(
                                                          ["name", "layer", "layers", "from", "repeat", "when",
                                                           "params", "inputs", "shape", "x"]), inner, max_size=4)),
                      max_leaves=12)


@st.composite
def structured(draw):
    doc = {"input": draw(st.one_of(st.just([1, 3, 8, 8]), values)),
           "layers": draw(st.one_of(st.lists(st.one_of(st.just("ReLU()"), values), min_size=1, max_size=5), values))}
    if draw(st.booleans()):
        doc["blocks"] = {"B": {"params": draw(st.one_of(st.just(["c"]), values)),
                               "layers": draw(st.one_of(st.just(["Conv2d({c}, {c}, 1)"]), values))}}
    if draw(st.booleans()):
        doc["expect"] = draw(st.dictionaries(st.sampled_from(["output_shape", "max_macs", "params", "entries",
                                                               "min_receptive_field", "oops"]), values, max_size=3))
    return yaml.safe_dump(doc)


@settings(max_examples=120, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))
@given(structured())
def test_random_structures_answer_or_raise_convcalc_errors(text):
    try:
        result = analyse(load_text(text, "fuzz.yaml"))
    except ConvcalcError as exc:
        assert str(exc).startswith("fuzz.yaml"), str(exc)
    else:
        assert result.analysis.layers


def test_random_bytes_end_in_one_line(tmp_path, capsys):
    import random

    rng = random.Random(12)
    for i in range(30):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400)))
        path = tmp_path / f"r{i}.yaml"
        path.write_bytes(data)
        code = main(["summary", str(path), "-i", "1x3x8x8"])
        _, err = capsys.readouterr()
        assert code == 2 and err.startswith("error: ") and "Traceback" not in err
    assert os.path.exists(path)
