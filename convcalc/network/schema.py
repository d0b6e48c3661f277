"""`convcalc schema`: a JSON Schema (draft-07) of the spec format, blocks included.

Editors that read JSON Schema for YAML (VS Code's YAML extension, JetBrains IDEs) then
check keys and types while a spec is written and offer the keys and the layer names.
The schema describes what `load` accepts; what it cannot say (a reference to an entry
that exists, a layer's arguments) `convcalc check` says.
"""

from __future__ import annotations

from ..dtypes import DTYPE_BYTES
from .expect import CEILINGS, EXACT, RF_BOUNDS
from .spec import MAX_REPEAT

_IDENTIFIER = "^[A-Za-z_][A-Za-z0-9_]*$"
# a shape written as text: 1x3x224x224, 1,3,224,224, (1, 3, 224, 224), torch.Size([...])
_SHAPE_TEXT = r"^\s*(torch\.)?(Size\s*\()?\s*[\[(]?\s*[0-9]+(\s*[x×X*,]?\s*[0-9]+)*\s*,?\s*[\])]?\s*\)?\s*$"
_AMOUNT = r"^\s*([0-9][0-9_]*(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,3})?\s*([kKMGT]i?)?\s*B?\s*$"
_LAYER = r"^\s*[A-Za-z_][A-Za-z0-9_.]*\s*(\([\s\S]*\))?\s*$"


def schema() -> dict:
    from ..layers import layer_names

    ref = lambda name: {"$ref": f"#/definitions/{name}"}  # noqa: E731
    scalar = [{"type": t} for t in ("string", "number", "boolean", "null")]
    count = {"description": "a whole number, or one with a suffix: K, M, G, T (1000s)",
             "oneOf": [{"type": "number", "minimum": 0},  # an integer is a number too: one branch
                       {"type": "string", "pattern": _AMOUNT}]}
    rf_bound = {"description": "a receptive-field size: one for every spatial axis, or a list per axis",
                "oneOf": [{"type": "integer", "minimum": 1},
                          {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1}]}
    definitions = {
        "shape": {"description": "a shape: [1, 3, 224, 224] or '1x3x224x224'",
                  "oneOf": [{"type": "array", "items": {"type": "integer", "minimum": 0}, "minItems": 1},
                            {"type": "string", "pattern": _SHAPE_TEXT}]},
        "layer": {"type": "string", "pattern": _LAYER,
                  "description": "a layer as its PyTorch constructor call (Conv2d(3, 64, 3, stride=2)), or a "
                                 "block of this spec called with its parameters (Bottleneck(64, 64, stride=2)); "
                                 "inside a block, {expression} puts in its parameters",
                  "examples": [f"{name}()" for name in layer_names()]},
        "reference": {"description": "an entry's name, 'input', or a negative relative index (-1: the previous "
                                     "entry)",
                      "oneOf": [{"type": "string", "minLength": 1}, {"type": "integer", "maximum": -1}]},
        "entry": {"anyOf": [ref("layer"), ref("entryMapping")]},
        "entries": {"type": "array", "minItems": 1, "items": ref("entry")},
        "entryMapping": {
            "type": "object",
            "description": "an entry: a layer (or block) with a name, its inputs and a repeat count, or a group "
                           "of entries",
            "properties": {
                "name": {"type": "string", "pattern": r"^[^\s.\-][^\s]*$", "not": {"const": "input"},
                         "description": "the entry's name (default: its position in the list, from 0)"},
                "layer": ref("layer"),
                "layers": {**ref("entries"), "description": "a group of entries (an nn.Sequential)"},
                "from": {"description": "the input(s): one reference or a list (default: the previous entry; "
                                        "the first reads the input)",
                         "oneOf": [ref("reference"), {"type": "array", "minItems": 1, "items": ref("reference")}]},
                "repeat": {"description": "the same layer or block this many times in sequence",
                           "oneOf": [{"type": "integer", "minimum": 0, "maximum": MAX_REPEAT},
                                     {"type": "string", "minLength": 1}]},
                "when": {"description": "inside a block: a condition on its parameters; when false the entry "
                                        "is left out and passes its input on",
                         "oneOf": [{"type": "boolean"}, {"type": "string", "minLength": 1}]},
            },
            "additionalProperties": False,
            "oneOf": [{"required": ["layer"]}, {"required": ["layers"]}],
        },
        "block": {
            "type": "object",
            "description": "a block: entries defined once with parameters, used as Name(arguments)",
            "properties": {
                "description": {"type": "string"},
                "params": {"type": "array", "description": "parameters in positional order: a name (required) "
                                                           "or 'name: default'",
                           "items": {"oneOf": [{"type": "string", "pattern": _IDENTIFIER},
                                               {"type": "object", "minProperties": 1, "maxProperties": 1,
                                                "propertyNames": {"pattern": _IDENTIFIER},
                                                "additionalProperties": {"anyOf": [
                                                    *scalar, {"type": "array", "items": {"anyOf": scalar}}]}}]}},
                "inputs": {"type": "array", "minItems": 1, "description": "the names of its inputs (default: "
                                                                           "one, called input)",
                           "items": {"type": "string", "pattern": _IDENTIFIER}},
                "layers": ref("entries"),
            },
            "required": ["layers"],
            "additionalProperties": False,
        },
        "entryExpectation": {
            "anyOf": [ref("shape"), {
                "type": "object",
                "properties": {"shape": ref("shape"), **{k: rf_bound for k in RF_BOUNDS}},
                "additionalProperties": False}]},
        "expect": {
            "type": "object",
            "description": "what `convcalc check` holds the network to",
            "properties": {
                "output_shape": ref("shape"),
                **{k: {**count, "description": f"the total {k}, exactly"} for k in EXACT},
                **{k: {**count, "description": f"a ceiling on the total {k[4:].replace('_', ' ')}"
                       + ("; also Ki, Mi, Gi, Ti (1024s) and a trailing B" if k.endswith("bytes") else "")}
                   for k in CEILINGS},
                **{k: rf_bound for k in RF_BOUNDS},
                "entries": {"type": "object", "description": "per entry (dotted names reach into blocks): its "
                                                             "output shape, or {shape, min_receptive_field, "
                                                             "max_receptive_field}",
                            "additionalProperties": ref("entryExpectation")},
            },
            "additionalProperties": False,
        },
    }
    dtypes = list(DTYPE_BYTES) + [f"torch.{d}" for d in DTYPE_BYTES]
    return {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://convcalc.invalid/schema/network-spec.json",
        "title": "convcalc network spec",
        "description": "A network as a list of PyTorch layer expressions, with named inputs, merges (Add, Mul, "
                       "Concat), reusable blocks and an expect: block for convcalc check.",
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "description": {"type": "string"},
            "input": ref("shape"),
            "dtype": {"type": "string", "enum": dtypes, "description": "the element type for memory figures"},
            "blocks": {"type": "object", "description": "reusable blocks, by name",
                       "propertyNames": {"pattern": _IDENTIFIER}, "additionalProperties": ref("block")},
            "layers": ref("entries"),
            "expect": ref("expect"),
        },
        "required": ["layers"],
        "additionalProperties": False,
        "definitions": definitions,
    }
