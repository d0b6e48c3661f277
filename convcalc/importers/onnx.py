"""ONNX graphs to convcalc entries (needs the optional `onnx` package, imported here only).

Each node becomes one layer expression with the node's attributes (pads, strides,
dilations, group, ceil_mode, count_include_pad, auto_pad); asymmetric padding becomes a
ZeroPad before the layer. Weights are read for their dims only, so a file whose
initializers were stripped to shapes imports the same. Shapes come from the graph's input
(a symbolic dimension such as a batch name is taken as 1, or given with `input`) and from
ONNX shape inference. An operator convcalc has no layer for is named in the error.
"""

from __future__ import annotations

import math
import os

from ..errors import ConvcalcError, Location
from . import Entry, Imported, Namer

#: operators that pass their input on unchanged
_PASS = {"Identity", "Dropout"}
_SIMPLE = {"Relu": "ReLU()", "Sigmoid": "Sigmoid()", "Tanh": "Tanh()", "HardSwish": "Hardswish()",
           "Softsign": "Softsign()", "Mish": "Mish()"}
#: shape arithmetic (x.shape[-2:] fed to an interpolation): folded to constants at the input's shape
_SHAPE_OPS = {"Shape", "Slice", "Gather", "Unsqueeze", "Squeeze", "Cast"}
SUPPORTED = sorted({"Conv", "ConvTranspose", "DeformConv", "MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool",
                    "Gemm", "MatMul", "BatchNormalization", "LeakyRelu", "Clip", "HardSigmoid", "Gelu",
                    "Softmax", "Add", "Mul", "Concat", "Flatten", "Reshape", "Resize", "Upsample", "Pad",
                    "Constant", "ReduceMean", "LayerNormalization", *_PASS, *_SIMPLE, *_SHAPE_OPS})


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ConvcalcError("reading ONNX files needs the onnx package; install it with "
                            "pip install 'convcalc[onnx]' (or pip install onnx)", Location("<arg 1>")) from None
    return onnx


def from_file(path: str, input: object = None) -> Imported:
    onnx = _onnx()
    where = Location(path)
    if not os.path.isfile(path):
        raise ConvcalcError(f"expected an ONNX file; got {'a directory' if os.path.isdir(path) else 'no such file'}",
                            where)
    try:
        model = onnx.load(path, load_external_data=False)
    except OSError as exc:  # there, but not readable: say so, not that it does not decode
        raise ConvcalcError(f"cannot read the ONNX file: {exc.strerror or exc}", where) from None
    except Exception as exc:  # protobuf's DecodeError and friends: the file is not a model
        raise ConvcalcError(f"expected an ONNX model (a protobuf ModelProto); got a file that does not decode "
                            f"({type(exc).__name__})", where) from None
    if not model.graph.node:
        raise ConvcalcError("expected an ONNX model with a graph of nodes; got none (a truncated or non-ONNX file?)",
                            where)
    return from_model(model, path, input)


def from_model(model, origin: str = "<onnx>", input: object = None) -> Imported:
    """An `onnx.ModelProto` as an Imported."""
    onnx = _onnx()
    return _Reader(onnx, model, origin, input).read()


class _Reader:
    def __init__(self, onnx, model, origin: str, input: object):
        self.onnx, self.model, self.origin, self.where = onnx, model, origin, Location(origin)
        self.graph = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 13)
        self.consts: dict[str, tuple[tuple[int, ...], object]] = {}  # name -> (dims, values or None)
        for init in self.graph.initializer:
            self.consts[init.name] = (tuple(init.dims), self._values(init))
        self.weights = set(self.consts)  # the model's own initializers, not constants folded later
        inputs = [i for i in self.graph.input if i.name not in self.consts]
        if len(inputs) != 1:
            raise ConvcalcError(f"expected a model with one input tensor; got {len(inputs)} "
                                f"({', '.join(repr(i.name) for i in inputs)})", self.where)
        self.input_name = inputs[0].name
        self.input_shape = self._input_shape(inputs[0], input)
        self.shapes = self._infer()
        self._prefold()
        self.src: dict[str, str] = {self.input_name: "input"}   # tensor -> entry name
        self.entries: list[Entry] = []
        self.by_name: dict[str, Entry] = {}
        self.linear_of: dict[str, Entry] = {}  # MatMul output -> its Linear, for a following bias Add
        self.namer = Namer()

    # ------------------------------------------------------------------ inputs and shapes
    def _values(self, tensor):
        has_data = tensor.raw_data or any(len(getattr(tensor, f)) for f in
                                           ("float_data", "int32_data", "int64_data", "double_data"))
        if not has_data and math.prod(tensor.dims) != 0:
            return None
        try:
            from onnx import numpy_helper
            return numpy_helper.to_array(tensor)
        except Exception:
            return None

    def _input_shape(self, value_info, given) -> tuple[int, ...]:
        dims = value_info.type.tensor_type.shape.dim
        if given is not None:
            from ..parsing import parse_shape
            shape = parse_shape(given)
            if len(shape) != len(dims):
                raise ConvcalcError(f"the input {value_info.name!r} has {len(dims)} axes; got --input with "
                                    f"{len(shape)}", Location("--input"))
        else:
            shape = tuple(d.dim_value if d.HasField("dim_value") and d.dim_value > 0 else 1 for d in dims)
        if not shape:
            raise ConvcalcError(f"expected the input {value_info.name!r} to have a shape; got none", self.where)
        for d, n in zip(dims, shape):
            d.Clear()
            d.dim_value = n
        return shape

    def _infer(self) -> dict[str, tuple[int, ...]]:
        try:
            inferred = self.onnx.shape_inference.infer_shapes(self.model)
        except Exception:
            return {}
        shapes = {}
        for vi in (*inferred.graph.value_info, *inferred.graph.output, *inferred.graph.input):
            dims = vi.type.tensor_type.shape.dim
            if vi.type.tensor_type.HasField("shape") and all(d.HasField("dim_value") for d in dims):
                shapes[vi.name] = tuple(d.dim_value for d in dims)
        return shapes

    def rank(self, tensor: str, node) -> int:
        shape = self.shapes.get(tensor)
        if shape is None:
            raise self.fail(node, f"the rank of its input {tensor!r} is unknown (ONNX shape inference gave none)")
        return len(shape)

    # ------------------------------------------------------------------ reading
    def fail(self, node, what: str) -> ConvcalcError:
        return ConvcalcError(f"{node.op_type} node {node.name or node.output[0]!r}: {what}", self.where)

    def read(self) -> Imported:
        unsupported: dict[str, str] = {}
        for node in self.graph.node:
            if node.domain not in ("", "ai.onnx") or (node.op_type not in SUPPORTED):
                unsupported.setdefault(f"{node.domain + '.' if node.domain else ''}{node.op_type}",
                                       node.name or node.output[0])
        if unsupported:
            names = ", ".join(f"{op} (node {n!r})" for op, n in unsupported.items())
            raise ConvcalcError(f"unsupported ONNX operator{'s' if len(unsupported) > 1 else ''}: {names}; "
                                f"convcalc reads {', '.join(SUPPORTED)}", self.where)
        for node in self.graph.node:
            if self.fold(node):
                continue
            handler = getattr(self, f"op_{node.op_type}", None) or self.simple
            handler(node)
        outputs = [o.name for o in self.graph.output]
        if not self.entries:
            raise ConvcalcError("expected at least one layer; the graph computes nothing convcalc counts", self.where)
        if outputs and self.src.get(outputs[0]) != self.entries[-1].name:
            raise ConvcalcError(f"expected the graph's output {outputs[0]!r} to be computed last; got it earlier "
                                "in the graph", self.where)
        stem = os.path.splitext(os.path.basename(self.origin))[0]
        name = stem if self.origin.lower().endswith(".onnx") else self.graph.name or stem
        return Imported(name, self.input_shape, self.entries, origin=os.path.basename(self.origin))

    def attrs(self, node) -> dict:
        from onnx import helper
        return {a.name: helper.get_attribute_value(a) for a in node.attribute}

    def tensor(self, name: str, node) -> str:
        """The entry that computes `name`."""
        if name in self.src:
            return self.src[name]
        if name in self.consts:
            raise self.fail(node, f"reads the constant {name!r} where a network tensor was expected "
                                  "(convcalc's layers take constants as weights only)")
        raise self.fail(node, f"reads {name!r}, which no earlier node computes")

    def const(self, name: str, node, values: bool = False):
        if name not in self.consts:
            raise self.fail(node, f"expected {name!r} to be a constant (an initializer); got a computed tensor")
        dims, data = self.consts[name]
        if values and data is None:
            raise self.fail(node, f"expected the values of the constant {name!r}; the file holds only its shape")
        return data if values else dims

    def emit(self, node, layer: str, inputs: list[str] | None = None, hint: str | None = None) -> Entry:
        name = self.namer(_hint(node) if hint is None else hint, node.op_type.lower())
        entry = Entry(name, layer, inputs if inputs is not None else [self.tensor(node.input[0], node)],
                      node.op_type + (f" {node.name}" if node.name else ""))
        self.entries.append(entry)
        self.by_name[name] = entry
        self.src[node.output[0]] = name
        return entry

    def simple(self, node) -> None:
        self.emit(node, _SIMPLE[node.op_type])

    # ------------------------------------------------------------------ padding
    def pads(self, node, a: dict, kernel, strides, dilations, n: int) -> tuple[list[int], list[int]]:
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("NOTSET", ""):
            pads = list(a.get("pads", [0] * 2 * n))
            return pads[:n], pads[n:]
        if auto == "VALID":
            return [0] * n, [0] * n
        shape = self.shapes.get(node.input[0])
        if shape is None:
            raise self.fail(node, f"auto_pad {auto} needs its input's shape; shape inference gave none")
        begin, end = [], []
        for size, k, s, d in zip(shape[2:], kernel, strides, dilations):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            small, large = total // 2, total - total // 2
            begin.append(small if auto == "SAME_UPPER" else large)
            end.append(large if auto == "SAME_UPPER" else small)
        return begin, end

    def padded(self, node, begin: list[int], end: list[int], n: int) -> tuple[list[int], list[str]]:
        """The symmetric part of the padding for the layer, with a ZeroPad entry before it for the rest."""
        if any(p < 0 for p in begin + end):
            raise self.fail(node, f"expected non-negative pads; got {begin + end}")
        sym = [min(b, e) for b, e in zip(begin, end)]
        source = self.tensor(node.input[0], node)
        if sym != begin or sym != end:
            extra = []
            for axis in reversed(range(n)):  # PyTorch's order: the last axis first, (before, after)
                extra += [begin[axis] - sym[axis], end[axis] - sym[axis]]
            pad = Entry(self.namer(_hint(node) + "_pad", "pad"), f"ZeroPad{n}d({_tup(extra)})", [source],
                        f"asymmetric pads of {node.op_type} {node.name}".rstrip())
            self.entries.append(pad)
            source = pad.name
        return sym, [source]

    # ------------------------------------------------------------------ shape arithmetic
    def _prefold(self) -> None:
        """Fold shape arithmetic into initializers, and infer shapes again, until nothing is left to
        fold: ONNX shape inference stops at a Resize whose sizes are computed (x.shape[-2:])."""
        from onnx import numpy_helper
        for _ in range(20):
            folded = [node for node in self.graph.node if self.fold(node, strict=False)]
            if not folded:
                return
            for node in folded:
                self.graph.node.remove(node)
                self.graph.initializer.append(numpy_helper.from_array(self.consts[node.output[0]][1], node.output[0]))
            self.shapes = self._infer()

    def fold(self, node, strict: bool = True) -> bool:
        """Shape and what is computed from constants alone (Slice, Gather, Concat, ...): the graph's
        input shape is fixed, so these are constants too; True when `node` was one."""
        ins = [n for n in node.input if n]
        if node.op_type == "Constant":
            self.op_Constant(node)
            return True
        if node.op_type == "Shape":
            shape = self.shapes.get(node.input[0])
            if shape is None:
                if not strict:
                    return False
                raise self.fail(node, "its input's shape is unknown (ONNX shape inference gave none)")
            a = self.attrs(node)
            values = list(shape)[a.get("start", 0):a.get("end", len(shape))]
            self._constant(node, values)
            return True
        if node.op_type not in _SHAPE_OPS | {"Concat"} or not ins:
            return False
        if not all(n in self.consts and self.consts[n][1] is not None for n in ins):
            if node.op_type in _SHAPE_OPS and strict:
                raise self.fail(node, "expected shape arithmetic on constants (convcalc has no layer for it on "
                                      "network tensors)")
            return False
        import numpy as np
        v = [np.asarray(self.consts[n][1]) for n in ins]
        a = self.attrs(node)
        if node.op_type == "Slice":
            axes = v[3] if len(v) > 3 else range(len(v[1]))
            steps = v[4] if len(v) > 4 else [1] * len(v[1])
            index = [slice(None)] * v[0].ndim
            for start, end, axis, step in zip(v[1], v[2], axes, steps):
                index[int(axis)] = slice(int(start), int(end), int(step))
            out = v[0][tuple(index)]
        elif node.op_type == "Gather":
            out = np.take(v[0], v[1], axis=a.get("axis", 0))
        elif node.op_type == "Concat":
            out = np.concatenate([x.reshape(-1) if x.ndim == 0 else x for x in v], axis=a["axis"])
        elif node.op_type == "Unsqueeze":
            axes = a["axes"] if "axes" in a else v[1]
            out = v[0]
            for axis in sorted(int(x) % (v[0].ndim + len(axes)) for x in axes):
                out = np.expand_dims(out, axis)
        elif node.op_type == "Squeeze":
            axes = a.get("axes", v[1] if len(v) > 1 else None)
            out = np.squeeze(v[0], axis=None if axes is None else tuple(int(x) for x in axes))
        else:  # Cast: the values are sizes; their type does not matter here
            out = v[0]
        self._constant(node, out)
        return True

    def _constant(self, node, values) -> None:
        import numpy as np
        values = np.asarray(values, dtype=np.int64) if isinstance(values, list) and all(
            isinstance(v, int) for v in values) else np.asarray(values)
        self.consts[node.output[0]] = (tuple(values.shape), values)

    # ------------------------------------------------------------------ operators
    def op_ReduceMean(self, node) -> None:
        """A mean over every spatial axis (x.mean((2, 3))): global average pooling, then a
        Flatten unless keepdims."""
        a = self.attrs(node)
        r = self.rank(node.input[0], node)
        axes = a.get("axes")
        if axes is None and len(node.input) > 1 and node.input[1]:
            axes = self.const(node.input[1], node, values=True)
        axes = sorted({int(x) % r for x in axes}) if axes is not None else list(range(r))
        if not 1 <= r - 2 <= 3 or axes != list(range(2, r)):
            raise self.fail(node, f"expected a mean over every spatial axis (global average pooling); got axes "
                                  f"{axes} of a {r}-D input")
        pool = self.emit(node, f"AdaptiveAvgPool{r - 2}d(1)")
        if not a.get("keepdims", 1):
            flat = Entry(self.namer(pool.name + "_flatten", "flatten"), "Flatten()", [pool.name], "ReduceMean keepdims=0")
            self.entries.append(flat)
            self.by_name[flat.name] = flat
            self.src[node.output[0]] = flat.name

    def op_Constant(self, node) -> None:
        from onnx import numpy_helper
        a = {x.name: x for x in node.attribute}
        if "value" not in a:
            plain = self.attrs(node)
            for key in ("value_int", "value_ints", "value_float", "value_floats"):  # opset 12's plain forms
                if key in plain:
                    self._constant(node, plain[key])
                    return
            raise self.fail(node, "expected a 'value' attribute (a tensor) or value_int(s)/value_float(s)")
        t = a["value"].t
        self.consts[node.output[0]] = (tuple(t.dims), numpy_helper.to_array(t))

    def _pass(self, node) -> None:
        name = node.input[0]
        if name in self.consts:
            self.consts[node.output[0]] = self.consts[name]
        else:
            self.src[node.output[0]] = self.tensor(name, node)

    op_Identity = op_Dropout = _pass

    def op_Conv(self, node) -> None:
        a = self.attrs(node)
        w = self.const(node.input[1], node)
        n, groups = len(w) - 2, int(a.get("group", 1))
        kernel = list(a.get("kernel_shape", w[2:]))
        strides, dilations = list(a.get("strides", [1] * n)), list(a.get("dilations", [1] * n))
        sym, inputs = self.padded(node, *self.pads(node, a, kernel, strides, dilations, n), n)
        bias = len(node.input) > 2 and node.input[2] != ""
        args = [str(w[1] * groups), str(w[0]), _tup(kernel)]
        args += _opt("stride", strides, 1) + _opt("padding", sym, 0) + _opt("dilation", dilations, 1)
        args += [f"groups={groups}"] if groups != 1 else []
        args += [] if bias else ["bias=False"]
        self.emit(node, f"Conv{n}d({', '.join(args)})", inputs)

    def op_DeformConv(self, node) -> None:
        """ONNX's DeformConv (opset 19): inputs X, W, offset, B, mask; torchvision's DeformConv2d
        with offset (and mask) as its further inputs; offset_group is read off the offset."""
        a = self.attrs(node)
        w = self.const(node.input[1], node)
        if len(w) != 4:
            raise self.fail(node, f"expected a 2-D deformable convolution (a 4-D weight); got weight dims {list(w)}")
        groups = int(a.get("group", 1))
        kernel = list(a.get("kernel_shape", w[2:]))
        pads = list(a.get("pads", [0, 0, 0, 0]))
        if pads[:2] != pads[2:]:
            raise self.fail(node, f"expected symmetric pads (DeformConv2d pads both sides alike); got {pads}")
        inputs = [self.tensor(node.input[0], node), self.tensor(node.input[2], node)]
        if len(node.input) > 4 and node.input[4]:
            inputs.append(self.tensor(node.input[4], node))
        bias = len(node.input) > 3 and node.input[3] != ""
        args = [str(w[1] * groups), str(w[0]), _tup(kernel)]
        args += _opt("stride", list(a.get("strides", [1, 1])), 1) + _opt("padding", pads[:2], 0)
        args += _opt("dilation", list(a.get("dilations", [1, 1])), 1)
        args += [f"groups={groups}"] if groups != 1 else []
        args += [] if bias else ["bias=False"]
        self.emit(node, f"DeformConv2d({', '.join(args)})", inputs)

    def op_ConvTranspose(self, node) -> None:
        a = self.attrs(node)
        w = self.const(node.input[1], node)
        n, groups = len(w) - 2, int(a.get("group", 1))
        kernel = list(a.get("kernel_shape", w[2:]))
        strides, dilations = list(a.get("strides", [1] * n)), list(a.get("dilations", [1] * n))
        if "output_shape" in a:
            raise self.fail(node, "expected pads rather than an output_shape attribute (not read by convcalc)")
        auto = a.get("auto_pad", b"NOTSET")
        if (auto.decode() if isinstance(auto, bytes) else auto) not in ("NOTSET", "VALID", ""):
            raise self.fail(node, f"expected auto_pad NOTSET or VALID; got {auto!r}")
        pads = list(a.get("pads", [0] * 2 * n))
        if pads[:n] != pads[n:]:
            raise self.fail(node, f"expected symmetric pads (ConvTranspose's padding crops both sides); got {pads}")
        out_pad = list(a.get("output_padding", [0] * n))
        bias = len(node.input) > 2 and node.input[2] != ""
        args = [str(w[0]), str(w[1] * groups), _tup(kernel)]
        args += _opt("stride", strides, 1) + _opt("padding", pads[:n], 0) + _opt("output_padding", out_pad, 0)
        args += [f"groups={groups}"] if groups != 1 else []
        args += [] if bias else ["bias=False"]
        args += _opt("dilation", dilations, 1)
        self.emit(node, f"ConvTranspose{n}d({', '.join(args)})")

    def _pool(self, node, kind: str) -> None:
        a = self.attrs(node)
        if len([o for o in node.output if o]) > 1:
            raise self.fail(node, "expected one output; got the indices output too (not read by convcalc)")
        kernel = list(a["kernel_shape"])
        n = len(kernel)
        strides = list(a.get("strides", [1] * n))  # ONNX's default stride is 1, PyTorch's the kernel
        dilations = list(a.get("dilations", [1] * n))
        sym, inputs = self.padded(node, *self.pads(node, a, kernel, strides, dilations, n), n)
        args = [_tup(kernel), f"stride={_tup(strides)}"] + _opt("padding", sym, 0)
        if kind == "Max":
            args += _opt("dilation", dilations, 1)
        elif dilations != [1] * n:
            raise self.fail(node, f"expected no dilation for average pooling; got {dilations}")
        if a.get("ceil_mode", 0):
            args.append("ceil_mode=True")
        if kind == "Avg" and not a.get("count_include_pad", 0):
            args.append("count_include_pad=False")
        self.emit(node, f"{kind}Pool{n}d({', '.join(args)})", inputs)

    def op_MaxPool(self, node) -> None:
        self._pool(node, "Max")

    def op_AveragePool(self, node) -> None:
        self._pool(node, "Avg")

    def op_GlobalAveragePool(self, node) -> None:
        self.emit(node, f"AdaptiveAvgPool{self.rank(node.input[0], node) - 2}d(1)")

    def op_GlobalMaxPool(self, node) -> None:
        self.emit(node, f"AdaptiveMaxPool{self.rank(node.input[0], node) - 2}d(1)")

    def op_Gemm(self, node) -> None:
        a = self.attrs(node)
        if a.get("transA", 0):
            raise self.fail(node, "expected transA=0 (the network tensor as rows); got transA=1")
        w = self.const(node.input[1], node)
        out, inn = (w[0], w[1]) if a.get("transB", 0) else (w[1], w[0])
        bias = len(node.input) > 2 and node.input[2] != ""
        self.emit(node, f"Linear({inn}, {out}{'' if bias else ', bias=False'})")

    def op_MatMul(self, node) -> None:
        w = self.const(node.input[1], node)
        if len(w) != 2:
            raise self.fail(node, f"expected a 2-D constant weight (a Linear layer); got dims {list(w)}")
        self.linear_of[node.output[0]] = self.emit(node, f"Linear({w[0]}, {w[1]}, bias=False)")

    def op_BatchNormalization(self, node) -> None:
        a = self.attrs(node)
        c = self.const(node.input[1], node)[0]
        r = self.rank(node.input[0], node)
        eps = a.get("epsilon", 1e-5)
        args = [str(c)] + ([f"eps={_num(eps)}"] if not math.isclose(eps, 1e-5, rel_tol=1e-6) else [])
        self.emit(node, f"BatchNorm{max(r - 2, 1)}d({', '.join(args)})")

    def op_LayerNormalization(self, node) -> None:
        """LayerNorm over the axes from `axis` on (opset 17), affine by Scale, with a bias when B is given."""
        a = self.attrs(node)
        if len([o for o in node.output if o]) > 1:
            raise self.fail(node, "expected one output; got Mean or InvStdDev too (not read by convcalc)")
        shape = self.shapes.get(node.input[0])
        if shape is None:
            raise self.fail(node, "its input's shape is unknown (ONNX shape inference gave none)")
        axis = int(a.get("axis", -1)) % len(shape)
        normalized = list(shape[axis:])
        if list(self.const(node.input[1], node)) != normalized:
            raise self.fail(node, f"expected a Scale of shape {normalized}; got {list(self.const(node.input[1], node))}")
        eps = a.get("epsilon", 1e-5)
        args = [f"{tuple(normalized)!r}" if len(normalized) > 1 else f"[{normalized[0]}]"]
        args += [f"eps={_num(eps)}"] if not math.isclose(eps, 1e-5, rel_tol=1e-6) else []
        # PyTorch's bias=False exports a Constant of zeros as B: a bias only when B is a weight
        args += [] if len(node.input) > 2 and node.input[2] in self.weights else ["bias=False"]
        self.emit(node, f"LayerNorm({', '.join(args)})")

    def op_LeakyRelu(self, node) -> None:
        alpha = self.attrs(node).get("alpha", 0.01)
        self.emit(node, f"LeakyReLU(negative_slope={_num(alpha)})")

    def op_Clip(self, node) -> None:
        a = self.attrs(node)
        lo, hi = a.get("min", -math.inf), a.get("max", math.inf)
        if self.opset >= 11:
            if len(node.input) > 1 and node.input[1]:
                lo = float(self.const(node.input[1], node, values=True))
            if len(node.input) > 2 and node.input[2]:
                hi = float(self.const(node.input[2], node, values=True))
        if lo == 0 and hi == 6:
            self.emit(node, "ReLU6()")
        elif lo == 0 and hi == math.inf:
            self.emit(node, "ReLU()")
        elif math.isfinite(lo) and math.isfinite(hi):
            self.emit(node, f"Hardtanh(min_val={_num(lo)}, max_val={_num(hi)})")
        else:
            raise self.fail(node, f"expected a clip to [0, 6], [0, inf) or a finite range; got [{lo}, {hi}]")

    def op_HardSigmoid(self, node) -> None:
        a = self.attrs(node)
        alpha, beta = a.get("alpha", 0.2), a.get("beta", 0.5)
        if not (math.isclose(alpha, 1 / 6, rel_tol=1e-6) and math.isclose(beta, 0.5)):
            raise self.fail(node, f"expected PyTorch's Hardsigmoid (alpha=1/6, beta=0.5); got alpha={alpha}, "
                                  f"beta={beta}")
        self.emit(node, "Hardsigmoid()")

    def op_Gelu(self, node) -> None:
        approx = self.attrs(node).get("approximate", b"none")
        approx = approx.decode() if isinstance(approx, bytes) else approx
        self.emit(node, "GELU()" if approx == "none" else f"GELU(approximate={approx!r})")

    def op_Softmax(self, node) -> None:
        axis = self.attrs(node).get("axis", -1 if self.opset >= 13 else 1)
        if self.opset < 13 and axis != self.rank(node.input[0], node) - 1:
            raise self.fail(node, f"expected the last axis (before opset 13 Softmax flattens from its axis); "
                                  f"got axis={axis}")
        self.emit(node, f"Softmax(dim={axis})")

    def _merge(self, node, layer: str) -> None:
        names = [n for n in node.input if n]
        consts = [n for n in names if n in self.consts]
        if consts:
            linear = self.linear_of.get(names[0] if names[1] in self.consts else names[1])
            if layer == "Add()" and len(names) == 2 and linear is not None and len(consts) == 1 \
                    and linear.layer.endswith(", bias=False)") and self.entries[-1] is linear:
                linear.layer = linear.layer[:-len(", bias=False)")] + ")"  # MatMul + Add: a Linear with bias
                linear.source += " + Add (bias)"
                self.src[node.output[0]] = linear.name
                return
            raise self.fail(node, f"{node.op_type} with the constant {consts[0]!r} is not a convcalc layer "
                                  f"(convcalc's {layer} merges network tensors)")
        self.emit(node, layer, [self.tensor(n, node) for n in names])

    def op_Add(self, node) -> None:
        self._merge(node, "Add()")

    def op_Mul(self, node) -> None:
        self._merge(node, "Mul()")

    def op_Concat(self, node) -> None:
        axis = self.attrs(node)["axis"]
        if axis < 0:
            axis += self.rank(node.input[0], node)
        self._merge(node, f"Concat(dim={axis})")

    def op_Flatten(self, node) -> None:
        axis = self.attrs(node).get("axis", 1)
        r = self.shapes.get(node.input[0])
        if axis != 1 and not (r is not None and len(r) == 2 and axis in (1, -1)):
            raise self.fail(node, f"expected axis=1 (nn.Flatten); got axis={axis}")
        self.emit(node, "Flatten()")

    def op_Reshape(self, node) -> None:
        src, out = self.shapes.get(node.input[0]), self.shapes.get(node.output[0])
        if src is None or out is None:
            raise self.fail(node, "its shapes are unknown (ONNX shape inference gave none)")
        if len(out) == 2 and out[0] == src[0] and len(src) >= 2:
            self.emit(node, "Flatten()")
            return
        raise self.fail(node, f"expected a reshape to (N, -1), which is a Flatten; got {list(src)} -> {list(out)}")

    def _resize(self, node, scales_at: int | None, sizes_at: int | None) -> None:
        a = self.attrs(node)
        mode = a.get("mode", b"nearest")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        src, out = self.shapes.get(node.input[0]), self.shapes.get(node.output[0])
        if src is None:
            raise self.fail(node, "its input's shape is unknown (ONNX shape inference gave none)")
        n = len(src) - 2
        names = {"nearest": "nearest", "linear": {1: "linear", 2: "bilinear", 3: "trilinear"}.get(n),
                 "cubic": "bicubic" if n == 2 else None}
        torch_mode = names.get(mode)
        if torch_mode is None:
            raise self.fail(node, f"expected mode nearest, linear or cubic on 1-3 spatial axes; got {mode!r}")
        scales = None
        if scales_at is not None and len(node.input) > scales_at and node.input[scales_at] in self.consts:
            values = self.consts[node.input[scales_at]][1]
            if values is not None and len(values) == n + 2:
                scales = [float(v) for v in values]
        if scales is None and "scales" in a:
            scales = list(a["scales"])
        if sizes_at is not None and len(node.input) > sizes_at and node.input[sizes_at] in self.consts:
            values = self.consts[node.input[sizes_at]][1]
            if values is not None and len(values) == n + 2:
                out = tuple(int(v) for v in values)
        args = []
        if scales is not None and scales[:2] == [1.0, 1.0] and all(s == int(s) and s >= 1 for s in scales[2:]):
            args.append(f"scale_factor={_tup([int(s) for s in scales[2:]])}")
        elif out is not None and out[:2] == src[:2]:
            args.append(f"size={_tup(list(out[2:]))}")
        else:
            raise self.fail(node, "expected whole-number scales on the spatial axes or a known output size")
        if torch_mode != "nearest":
            args.append(f"mode={torch_mode!r}")
            ctm = a.get("coordinate_transformation_mode", b"half_pixel")
            ctm = ctm.decode() if isinstance(ctm, bytes) else ctm
            args.append(f"align_corners={ctm == 'align_corners'}")
        self.emit(node, f"Upsample({', '.join(args)})")

    def op_Resize(self, node) -> None:
        self._resize(node, 2 if self.opset >= 11 else 1, 3)

    def op_Upsample(self, node) -> None:
        self._resize(node, 1, None)

    def op_Pad(self, node) -> None:
        a = self.attrs(node)
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        if self.opset >= 11:
            pads = [int(p) for p in self.const(node.input[1], node, values=True)]
            value = 0.0
            if len(node.input) > 2 and node.input[2]:
                value = float(self.const(node.input[2], node, values=True))
            if len(node.input) > 3 and node.input[3]:
                raise self.fail(node, "expected padding on every axis (the axes input is not read by convcalc)")
        else:
            pads, value = list(a["pads"]), float(a.get("value", 0.0))
        r = len(pads) // 2
        begin, end = pads[:r], pads[r:]
        if begin[:2] != [0, 0] or end[:2] != [0, 0] or r < 3:
            raise self.fail(node, f"expected padding of the spatial axes only; got pads {pads}")
        if any(p < 0 for p in pads):
            raise self.fail(node, f"expected non-negative pads (a negative pad crops); got {pads}")
        n = r - 2
        torch_pads = []
        for axis in reversed(range(2, r)):
            torch_pads += [begin[axis], end[axis]]
        kind = {"constant": "Zero" if value == 0 else "Constant", "reflect": "Reflection",
                "edge": "Replication"}.get(mode)
        if kind is None:
            raise self.fail(node, f"expected mode constant, reflect or edge; got {mode!r}")
        extra = f", {_num(value)}" if kind == "Constant" else ""
        self.emit(node, f"{kind}Pad{n}d({_tup(torch_pads)}{extra})")


def _hint(node) -> str:
    """layer1.0.conv1 from the exporter's node name /layer1/layer1.0/conv1/Conv."""
    parts = [p for p in (node.name or node.output[0]).split("/") if p]
    if len(parts) > 1 and parts[-1].split("_")[0] == node.op_type:
        parts = parts[:-1]
    if not parts:
        return ""
    path = parts[0]
    for p in parts[1:]:  # each scope is named relative to an enclosing one: conv/conv.0/conv.0.0
        segs = path.split(".")
        for i in range(len(segs)):
            if p.startswith(".".join(segs[i:]) + "."):
                path = ".".join(segs[:i] + [p])
                break
        else:
            path = f"{path}.{p}"
    if node.op_type in ("Add", "Mul", "Concat", "Flatten", "Reshape") and len(node.name.split("/")) > 2:
        path += "." + node.op_type.lower()
    return path


def _tup(values) -> str:
    values = [int(v) for v in values]
    if len(set(values)) == 1:
        return str(values[0])
    return f"({', '.join(str(v) for v in values)})"


def _opt(key: str, values, default: int) -> list[str]:
    return [] if all(v == default for v in values) else [f"{key}={_tup(values)}"]


def _num(x: float) -> str:
    """A float32 attribute as its shortest decimal (0.2 rather than 0.20000000298023224)."""
    import struct
    x = float(x)
    if math.isfinite(x) and x == int(x):
        return str(int(x))
    single = struct.pack("<f", x)
    for digits in range(1, 10):
        text = f"{x:.{digits}g}"
        if struct.pack("<f", float(text)) == single:
            return repr(float(text))
    return repr(x)
