"""PyTorch modules to convcalc entries through torch.fx (torch is imported here, lazily).

Tracing happens in two steps so that the second needs no torch:

- `trace(module)` runs `torch.fx.symbolic_trace` and describes every node as a plain
  record: `{"name", "op", "target", "args"}` where a leaf module's target is its class
  name with its constructor arguments as PyTorch prints them (`Conv2d(3, 64,
  kernel_size=(7, 7), ...)`), a function's its name (`add`, `cat`, `flatten`, `relu`),
  and args are the names of the nodes read, or plain values;
- `from_records(records, input_shape)` maps the records to convcalc entries.

`from_module(module, input_shape)` does both. A module class or a function convcalc has
no layer for is named in the error, never left out.
"""

from __future__ import annotations

import importlib
import operator
import sys

from ..errors import ConvcalcError, Location
from . import Entry, Imported, Namer

#: functions and tensor methods, by name, with the convcalc layer each is
_FUNCTIONS = {"add": "Add()", "mul": "Mul()", "relu": "ReLU()", "relu6": "ReLU6()", "sigmoid": "Sigmoid()",
              "tanh": "Tanh()", "hardswish": "Hardswish()", "silu": "SiLU()", "gelu": "GELU()"}
_MERGES = {"add", "mul"}
_OPERATORS = {operator.add: "add", operator.iadd: "add", operator.mul: "mul", operator.imul: "mul"}


def _torch():
    try:
        import torch
        import torch.fx
    except ImportError:
        raise ConvcalcError("importing a PyTorch module needs torch (with torch.fx); install it with "
                            "pip install torch", Location("<arg 1>")) from None
    return torch


def from_target(target: str, input: object = None) -> Imported:
    """`module.path:factory`: import the module, call the factory, trace what it returns."""
    where = Location("<arg 1>")
    path, _, attr = target.partition(":")
    if not path or not attr or not all(p.isidentifier() for p in path.split(".") + attr.split(".")):
        raise ConvcalcError(f"expected a PyTorch factory as module.path:callable; got {target!r}", where)
    if input is None:
        raise ConvcalcError("a PyTorch module needs an input shape: give --input, e.g. -i 1x3x224x224",
                            Location("--input"))
    from ..parsing import parse_shape
    shape = parse_shape(input)
    _torch()
    if "" not in sys.path:
        sys.path.insert(0, "")  # a module in the current directory, as `python -m` finds it
    try:
        module = importlib.import_module(path)
    except Exception as exc:
        raise ConvcalcError(f"cannot import the module {path!r}: {type(exc).__name__}: {exc}", where) from None
    obj = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConvcalcError(f"the module {path!r} has no attribute {part!r}", where)
        obj = getattr(obj, part)
    model = obj
    if callable(obj) and not _is_module(obj):
        try:
            model = obj()
        except Exception as exc:
            raise ConvcalcError(f"calling {target!r} failed: {type(exc).__name__}: {exc}", where) from None
    if not _is_module(model):
        raise ConvcalcError(f"expected {target!r} to give a torch.nn.Module; got {type(model).__name__}", where)
    return from_module(model, shape, name=attr, origin=target)


def _is_module(obj) -> bool:
    torch = _torch()
    return isinstance(obj, torch.nn.Module)


def from_module(module, input_shape, name: str | None = None, origin: str = "") -> Imported:
    """A torch.nn.Module traced with torch.fx, as an Imported at `input_shape`."""
    from ..parsing import parse_shape
    shape = parse_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    return from_records(trace(module), shape, name or type(module).__name__,
                        origin or f"{type(module).__name__} (torch.fx)")


def trace(module) -> list[dict]:
    """The traced graph as plain records (see the module's docstring)."""
    torch = _torch()

    class Tracer(torch.fx.Tracer):
        """torch.nn's modules are leaves, and so is torchvision's DeformConv2d (its forward
        branches on tensor sizes, which symbolic tracing cannot follow)."""

        def is_leaf_module(self, m, qualname):
            return _torchvision_layer(type(m)) or super().is_leaf_module(m, qualname)

    try:
        tracer = Tracer()
        graph = tracer.trace(module)
        gm = torch.fx.GraphModule(tracer.root, graph)
    except Exception as exc:
        raise ConvcalcError(f"torch.fx cannot trace {type(module).__name__}: {type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else ''}", Location("<arg 1>")) from None
    records = []
    for node in gm.graph.nodes:
        if node.op == "call_module":
            sub = gm.get_submodule(node.target)
            cls = type(sub)
            known = cls.__module__.startswith("torch.nn") or _torchvision_layer(cls)
            if _torchvision_layer(cls):  # its __repr__ prints the constructor call; extra_repr is empty
                target = repr(sub)
            else:
                target = f"{cls.__name__}({sub.extra_repr()})" if known else f"{cls.__module__}.{cls.__qualname__}"
            records.append({"name": node.name, "op": "module", "target": target, "path": node.target,
                            "known": known, "args": _args(node.args), "kwargs": _args(node.kwargs)})
        elif node.op in ("call_function", "call_method"):
            fn = node.target
            fname = _OPERATORS.get(fn) or (fn if isinstance(fn, str) else getattr(fn, "__name__", repr(fn)))
            if fname.endswith("_") and not fname.startswith("_"):  # in-place methods: x.relu_(), x.add_(y)
                fname = fname[:-1]
            records.append({"name": node.name, "op": "function", "target": fname,
                            "args": _args(node.args), "kwargs": _args(node.kwargs)})
        else:  # placeholder, get_attr, output
            records.append({"name": node.name, "op": node.op, "target": str(node.target),
                            "args": _args(node.args), "kwargs": {}})
    return records


def _torchvision_layer(cls) -> bool:
    """torchvision.ops.DeformConv2d, the one torchvision module convcalc has a layer for."""
    return cls.__module__.startswith("torchvision.ops") and cls.__name__ == "DeformConv2d"


def _args(value):
    """Node arguments as JSON-able values: a node as {"node": name}."""
    if hasattr(value, "op") and hasattr(value, "name") and hasattr(value, "graph"):
        return {"node": value.name}
    if isinstance(value, (list, tuple)):
        return [_args(v) for v in value]
    if isinstance(value, dict):
        return {k: _args(v) for k, v in value.items()}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)


def _is_node(value) -> bool:
    return isinstance(value, dict) and set(value) == {"node"}


def from_records(records: list[dict], input_shape: tuple[int, ...], name: str = "model",
                 origin: str = "torch.fx") -> Imported:
    """Records of `trace` as convcalc entries; no torch needed."""
    from ..layers.registry import table

    where = Location(origin)
    known = table()
    namer = Namer()
    src: dict[str, str] = {}
    entries: list[Entry] = []
    unsupported: dict[str, str] = {}
    sizes: dict[str, tuple[str, object]] = {}  # x.size(d) nodes: (the entry x comes from, d)
    output = None

    def read(value, record) -> str:
        if not _is_node(value) or value["node"] not in src:
            unsupported.setdefault(f"{record['target']} with a non-tensor input", record["name"])
            return "input"
        return src[value["node"]]

    for r in records:
        op, target, args, kwargs = r["op"], r["target"], r["args"], r["kwargs"]
        if op == "placeholder":
            if src:
                raise ConvcalcError(f"expected a module with one input; got another, {r['name']!r}", where)
            src[r["name"]] = "input"
        elif op == "output":
            output = args[0] if args else None
        elif op == "get_attr":
            unsupported.setdefault(f"get_attr {target}", r["name"])
        elif op == "module":
            cls = target.split("(")[0]
            if not r.get("known") or cls.lower() not in known:
                unsupported.setdefault(f"module {cls}", r["path"])
                continue
            if not args:
                unsupported.setdefault(f"module {cls} without an input", r["path"])
                continue
            if cls in ("Dropout", "Identity", "Dropout1d", "Dropout2d", "Dropout3d"):  # no-ops: pass on
                src[r["name"]] = read(args[0], r)
                continue
            inputs = [read(args[0], r)]
            if cls == "DeformConv2d":  # forward(input, offset, mask=None), positionally or by keyword
                offset = args[1] if len(args) > 1 else kwargs.get("offset")
                mask = args[2] if len(args) > 2 else kwargs.get("mask")
                inputs += [read(a, r) for a in (offset, mask) if a is not None]
            entry = Entry(namer(r["path"], cls.lower()), target, inputs, r["path"])
            entries.append(entry)
            src[r["name"]] = entry.name
        elif target == "size" and args and _is_node(args[0]) and args[0]["node"] in src:
            sizes[r["name"]] = (src[args[0]["node"]], args[1] if len(args) > 1 else kwargs.get("dim"))
        elif target in ("view", "reshape") and _is_flatten(args, sizes, src):
            entry = Entry(namer(r["name"], target), "Flatten()", [src[args[0]["node"]]], f"{target}(N, -1)")
            entries.append(entry)
            src[r["name"]] = entry.name
        else:  # a function or a tensor method
            layer, inputs = _function(target, args, kwargs, r, read)
            if layer is None:
                unsupported.setdefault(f"function {target}", r["name"])
                continue
            if layer == "":  # a no-op
                src[r["name"]] = inputs[0]
                continue
            entry = Entry(namer(r["name"], target), layer, inputs, target)
            entries.append(entry)
            src[r["name"]] = entry.name
    if unsupported:
        names = ", ".join(f"{what} ({at!r})" for what, at in unsupported.items())
        raise ConvcalcError(f"no convcalc layer for: {names}", where)
    if not entries:
        raise ConvcalcError("expected at least one layer; the traced module computes nothing convcalc counts", where)
    if not _is_node(output) or src.get(output["node"]) != entries[-1].name:
        raise ConvcalcError("expected the module to return one tensor, computed last", where)
    return Imported(name, tuple(input_shape), entries, origin=origin)


def _is_flatten(args: list, sizes: dict, src: dict) -> bool:
    """x.view(x.size(0), -1) or x.reshape(x.size(0), -1): a Flatten."""
    if len(args) == 2 and isinstance(args[1], list):
        args = [args[0], *args[1]]
    if len(args) != 3 or not _is_node(args[0]) or args[0]["node"] not in src or args[2] != -1:
        return False
    size = sizes.get(args[1]["node"]) if _is_node(args[1]) else None
    return size == (src[args[0]["node"]], 0)


def _function(fname: str, args: list, kwargs: dict, record: dict, read):
    """(layer expression, inputs) of a function call; (None, []) when convcalc has none."""
    if fname in _MERGES:
        if len(args) == 2 and all(_is_node(a) for a in args) and not kwargs:
            return _FUNCTIONS[fname], [read(a, record) for a in args]
        return None, []
    if fname in _FUNCTIONS:
        if not args or not _is_node(args[0]):
            return None, []
        return _FUNCTIONS[fname], [read(args[0], record)]
    if fname == "cat":
        tensors = args[0] if args else kwargs.get("tensors")
        dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
        if not isinstance(tensors, list) or not all(_is_node(t) for t in tensors) or not isinstance(dim, int):
            return None, []
        return f"Concat(dim={dim})", [read(t, record) for t in tensors]
    if fname == "flatten":
        start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
        end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
        if not args or not _is_node(args[0]) or not isinstance(start, int) or not isinstance(end, int):
            return None, []
        return f"Flatten(start_dim={start}, end_dim={end})", [read(args[0], record)]
    if fname in ("adaptive_avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool3d"):
        size = args[1] if len(args) > 1 else kwargs.get("output_size")
        if not args or not _is_node(args[0]) or size is None:
            return None, []
        size = tuple(size) if isinstance(size, list) else size
        return f"AdaptiveAvgPool{fname[-2:]}({size})", [read(args[0], record)]
    if fname == "dropout":
        if not args or not _is_node(args[0]):
            return None, []
        return "", [read(args[0], record)]
    return None, []
