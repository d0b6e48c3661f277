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
import math
import operator
import sys

from ..errors import ConvcalcError, Location
from . import Entry, Imported, Namer

#: functions and tensor methods, by name, with the convcalc layer each is
_FUNCTIONS = {"add": "Add()", "mul": "Mul()"}
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
    model.eval()  # inference: GoogLeNet and Inception drop their auxiliary outputs, BatchNorm its batch statistics
    return from_module(model, shape, name=attr, origin=target)


def _is_module(obj) -> bool:
    torch = _torch()
    return isinstance(obj, torch.nn.Module)


def from_module(module, input_shape, name: str | None = None, origin: str = "") -> Imported:
    """A torch.nn.Module traced with torch.fx, as an Imported at `input_shape`."""
    from ..parsing import parse_shape
    shape = parse_shape(input_shape) if not isinstance(input_shape, tuple) else input_shape
    records = trace(module, shape)
    imported = from_records(records, shape, name or type(module).__name__,
                            origin or f"{type(module).__name__} (torch.fx)")
    imported.notes += _uncalled(module, records)
    return imported


def _uncalled(module, records: list[dict]) -> list[str]:
    """Submodules holding parameters that forward never uses (GoogLeNet's auxiliary classifiers
    in eval mode): PyTorch's sum(p.numel()) counts them, the traced graph cannot."""
    used = [r["path"] for r in records if r["op"] == "module"] + [r["target"] for r in records if r["op"] == "get_attr"]
    groups: dict[str, int] = {}
    for pname, param in module.named_parameters():
        if any(pname == u or pname.startswith(u + ".") for u in used):
            continue
        parts = pname.split(".")
        for k in range(1, len(parts) + 1):  # the shortest prefix no used module lies under
            prefix = ".".join(parts[:k])
            if not any(u == prefix or u.startswith(prefix + ".") for u in used):
                break
        groups[prefix] = groups.get(prefix, 0) + param.numel()
    if not groups:
        return []
    shown = ", ".join(f"{p} ({n:,})" for p, n in groups.items())
    return [f"parameters forward does not use, not counted here: {shown}; "
            f"{sum(groups.values()):,} in all (PyTorch's sum(p.numel()) includes them)"]


def trace(module, input_shape: tuple[int, ...] | None = None) -> list[dict]:
    """The traced graph as plain records (see the module's docstring).

    With `input_shape` the traced graph is also run once on zeros of that shape, so that each
    record carries what its node gave: `shape` for a tensor, `value` for a size or a number
    (`x.shape[-2:]`, `x.size(0)`). Those fix what a symbolic trace leaves open: the size an
    interpolation is given, the shape a view is given, the axes a mean reduces."""
    torch = _torch()

    class Tracer(torch.fx.Tracer):
        """torch.nn's modules are leaves, and so is torchvision's DeformConv2d (its forward
        branches on tensor sizes, which symbolic tracing cannot follow), and so is a subclass
        of a torch.nn layer that keeps its forward (torchvision's Conv3DSimple is a Conv3d)."""

        def is_leaf_module(self, m, qualname):
            return (_torchvision_layer(type(m)) or _layer_base(type(m), torch) is not None
                    or super().is_leaf_module(m, qualname))

    try:
        tracer = Tracer()
        graph = tracer.trace(module)
        gm = torch.fx.GraphModule(tracer.root, graph)
    except Exception as exc:
        raise ConvcalcError(f"torch.fx cannot trace {type(module).__name__}: {type(exc).__name__}: "
                            f"{str(exc).splitlines()[0] if str(exc) else ''}", Location("<arg 1>")) from None
    seen = _run(gm, input_shape, torch) if input_shape is not None else {}
    records = []
    for node in gm.graph.nodes:
        if node.op == "call_module":
            sub = gm.get_submodule(node.target)
            cls = _layer_base(type(sub), torch) or type(sub)
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
        if node.name in seen:
            records[-1].update(seen[node.name])
    return records


def _run(gm, input_shape, torch) -> dict[str, dict]:
    """Each node's result when the graph runs on zeros: {"shape": [...]} or {"value": ...}."""
    seen: dict[str, dict] = {}

    class Recorder(torch.fx.Interpreter):
        def run_node(self, n):
            result = super().run_node(n)
            if isinstance(result, torch.Tensor):
                seen[n.name] = {"shape": list(result.shape)}
            else:
                value = _plain(result, torch)
                if value is not None:
                    seen[n.name] = {"value": value}
            return result

    modes = [(m, m.training) for m in gm.modules()]
    gm.eval()  # BatchNorm must not update its running statistics (nor refuse a batch of one)
    try:
        with torch.no_grad():
            Recorder(gm).run(torch.zeros(input_shape))
    except Exception:  # a wrong input shape, or a forward fx's interpreter cannot replay (one that
        seen.clear()   # mutates its arguments): the mapping goes on without traced sizes, and
        # convcalc's own shape checks, or the names of what it cannot map, say what is wrong
    finally:
        for m, mode in modes:
            m.train(mode)
    return seen


def _plain(value, torch):
    """A size, a number or a tuple of those as JSON-able values; None for anything else."""
    if isinstance(value, bool) or isinstance(value, (int, float)):
        return value
    if isinstance(value, (torch.Size, tuple, list)):
        items = [_plain(v, torch) for v in value]
        return None if any(v is None for v in items) else items
    return None


def _layer_base(cls, torch):
    """The torch.nn layer class a subclass from elsewhere computes as: the nearest torch.nn base
    convcalc has a layer for, when the subclass keeps its forward; else None."""
    if cls.__module__.startswith("torch.nn"):
        return None
    from ..layers.registry import table
    for base in cls.__mro__[1:]:
        if base.__module__.startswith("torch.nn") and base is not torch.nn.Module:
            if base.__name__.lower() in table() and cls.forward is base.forward:
                return base
            return None
    return None


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
    unsupported: dict[str, list[str]] = {}  # what -> where, in order

    refused: set[str] = set()  # nodes refused, and those reading them (not named again)

    def refuse(what: str, at: str, node: str) -> None:
        unsupported.setdefault(what, []).append(at)
        refused.add(node)
    sizes: dict[str, tuple[str, object]] = {}  # x.size(d) nodes: (the entry x comes from, d)
    consts = {r["name"]: r["value"] for r in records if "value" in r and r["op"] == "function"}
    shapes = {r["name"]: tuple(r["shape"]) for r in records if "shape" in r}
    output = None

    def read(value, record) -> str:
        if _is_node(value) and value["node"] in refused:
            refused.add(record["name"])
            return "input"
        if not _is_node(value) or value["node"] not in src:
            refuse(f"{record['target']} with a non-tensor input", record["name"], record["name"])
            return "input"
        return src[value["node"]]

    def add(hint: str, layer: str, inputs: list[str], source: str) -> str:
        entry = Entry(namer(hint, layer.split("(")[0].lower()), layer, inputs, source)
        entries.append(entry)
        return entry.name

    for r in records:
        op, target, args, kwargs = r["op"], r["target"], r["args"], r["kwargs"]
        if op == "placeholder":
            if src:
                raise ConvcalcError(f"expected a module with one input; got another, {r['name']!r}", where)
            src[r["name"]] = "input"
        elif op == "output":
            output = _one_tensor(args[0] if args else None)
        elif op == "get_attr":
            refuse("a parameter read outside its module (get_attr)", target, r["name"])
        elif op == "module":
            cls = target.split("(")[0]
            if not r.get("known") or cls.lower() not in known:
                refuse(f"module {cls}", r["path"], r["name"])
                continue
            if not args:
                refuse(f"module {cls} without an input", r["path"], r["name"])
                continue
            if cls in ("Dropout", "Identity", "Dropout1d", "Dropout2d", "Dropout3d"):  # no-ops: pass on
                src[r["name"]] = read(args[0], r)
                continue
            inputs = [read(args[0], r)]
            if cls == "DeformConv2d":  # forward(input, offset, mask=None), positionally or by keyword
                offset = args[1] if len(args) > 1 else kwargs.get("offset")
                mask = args[2] if len(args) > 2 else kwargs.get("mask")
                inputs += [read(a, r) for a in (offset, mask) if a is not None]
            src[r["name"]] = add(r["path"], target, inputs, r["path"])
        elif r["name"] in consts or target == "_assert":  # x.shape, x.size(0), x.shape[-2:]: fixed at the
            continue                                          # traced input; torch._assert checks one
        elif target == "size" and args and _is_node(args[0]) and args[0]["node"] in src:
            sizes[r["name"]] = (src[args[0]["node"]], args[1] if len(args) > 1 else kwargs.get("dim"))
        else:  # a function or a tensor method
            args, kwargs = _resolve(args, consts), _resolve(kwargs, consts)
            shape_in = shapes.get(args[0]["node"]) if args and _is_node(args[0]) else None
            if target in ("view", "reshape") and shape_in is None and _is_flatten(args, sizes, src):
                layers = ["Flatten()"]
            else:
                layers = _function(target, args, kwargs, shape_in, shapes.get(r["name"]))
            if layers is None:
                refuse(f"function {target}", r["name"], r["name"])
                continue
            if not layers:  # a no-op
                src[r["name"]] = read(args[0], r)
                continue
            inputs = _inputs(target, args, kwargs, r, read)
            for i, layer in enumerate(layers):
                inputs = [add(r["name"] if i == 0 else f"{r['name']}_{layer.split('(')[0].lower()}",
                              layer, inputs, target)]
            src[r["name"]] = inputs[0]
    if unsupported:
        names = ", ".join(f"{what} ({at[0]!r}{f', and {len(at) - 1} more' if len(at) > 1 else ''})"
                          for what, at in unsupported.items())
        raise ConvcalcError(f"no convcalc layer for: {names}", where)
    if not entries:
        raise ConvcalcError("expected at least one layer; the traced module computes nothing convcalc counts", where)
    if output is None or src.get(output["node"]) != entries[-1].name:
        raise ConvcalcError("expected the module to return one tensor (or a dict, tuple or list holding one), "
                            "computed last", where)
    return Imported(name, tuple(input_shape), entries, origin=origin)


def _one_tensor(value):
    """The output node: the one tensor returned, alone or as the only one in a dict, tuple or list
    (torchvision's segmentation models return {"out": x})."""
    if _is_node(value):
        return value
    items = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else []
    nodes = [v for v in items if _is_node(v)]
    return nodes[0] if len(nodes) == 1 and all(v is None or _is_node(v) for v in items) else None


def _resolve(value, consts: dict):
    """Arguments with the nodes that hold sizes or numbers replaced by their traced values."""
    if _is_node(value) and value["node"] in consts:
        return consts[value["node"]]
    if isinstance(value, list):
        return [_resolve(v, consts) for v in value]
    if isinstance(value, dict) and not _is_node(value):
        return {k: _resolve(v, consts) for k, v in value.items()}
    return value


def _is_flatten(args: list, sizes: dict, src: dict) -> bool:
    """x.view(x.size(0), -1) or x.reshape(x.size(0), -1): a Flatten."""
    if len(args) == 2 and isinstance(args[1], list):
        args = [args[0], *args[1]]
    if len(args) != 3 or not _is_node(args[0]) or args[0]["node"] not in src or args[2] != -1:
        return False
    size = sizes.get(args[1]["node"]) if _is_node(args[1]) else None
    return size == (src[args[0]["node"]], 0)


def _inputs(fname: str, args: list, kwargs: dict, record: dict, read) -> list[str]:
    """The entries a function reads: every tensor of a merge or a cat, else its first argument."""
    if fname in _MERGES:
        return [read(a, record) for a in args]
    if fname == "cat":
        return [read(t, record) for t in (args[0] if args else kwargs.get("tensors"))]
    return [read(args[0], record)]


#: functional activations: (convcalc class, the function's positional parameters after the input)
_ACTIVATIONS = {"relu": ("ReLU", ("inplace",)), "relu6": ("ReLU6", ("inplace",)), "sigmoid": ("Sigmoid", ()),
                "tanh": ("Tanh", ()), "hardswish": ("Hardswish", ("inplace",)),
                "hardsigmoid": ("Hardsigmoid", ("inplace",)), "silu": ("SiLU", ("inplace",)),
                "mish": ("Mish", ("inplace",)), "gelu": ("GELU", ("approximate",)),
                "leaky_relu": ("LeakyReLU", ("negative_slope", "inplace")), "elu": ("ELU", ("alpha", "inplace")),
                "hardtanh": ("Hardtanh", ("min_val", "max_val", "inplace")),
                "softmax": ("Softmax", ("dim",)), "log_softmax": ("LogSoftmax", ("dim",))}
#: F.max_pool{n}d / F.avg_pool{n}d parameters after the input, in order
_POOL_ARGS = {"max": ("kernel_size", "stride", "padding", "dilation", "ceil_mode", "return_indices"),
              "avg": ("kernel_size", "stride", "padding", "ceil_mode", "count_include_pad", "divisor_override")}
#: functions that give their input back in inference: passed over like Dropout
_NO_OPS = {"dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout",
           "stochastic_depth", "contiguous", "clone", "detach"}


def _call(cls: str, names: tuple, args: list, kwargs: dict, drop=("inplace",)) -> str | None:
    """`cls(k=v, ...)` from a call's arguments after its input; None for an unknown keyword."""
    given = dict(zip(names, args[1:]))
    if len(args) - 1 > len(names) or set(kwargs) - set(names) or set(given) & set(kwargs):
        return None
    given.update(kwargs)
    parts = [f"{k}={_literal(v)}" for k, v in given.items() if k not in drop]
    return f"{cls}({', '.join(parts)})"


def _literal(value) -> str:
    return repr(tuple(_literal_value(v) for v in value)) if isinstance(value, list) else repr(value)


def _literal_value(value):
    return tuple(_literal_value(v) for v in value) if isinstance(value, list) else value


def _function(fname: str, args: list, kwargs: dict, shape_in, shape_out) -> list[str] | None:
    """The layer expressions a function call becomes ([] for a no-op); None when convcalc has none.
    `shape_in` and `shape_out` are its (first) input's and its output's traced shapes, when known."""
    if not args or not (_is_node(args[0]) or fname == "cat"):
        return None
    if fname in _MERGES:
        return [_FUNCTIONS[fname]] if len(args) == 2 and all(_is_node(a) for a in args) and not kwargs else None
    if fname in _NO_OPS:
        return []
    if fname in _ACTIVATIONS:
        layer = _call(*_ACTIVATIONS[fname], args, kwargs)
        return [layer] if layer else None
    if fname == "cat":
        tensors = args[0] if args else kwargs.get("tensors")
        dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
        if not isinstance(tensors, list) or not all(_is_node(t) for t in tensors) or not isinstance(dim, int):
            return None
        return [f"Concat(dim={dim})"]
    if fname == "flatten":
        start = args[1] if len(args) > 1 else kwargs.get("start_dim", 0)
        end = args[2] if len(args) > 2 else kwargs.get("end_dim", -1)
        if not isinstance(start, int) or not isinstance(end, int):
            return None
        return [f"Flatten(start_dim={start}, end_dim={end})"]
    if fname in ("view", "reshape"):
        return _reshape(shape_in, shape_out)
    for n in ("1", "2", "3"):
        if fname in (f"adaptive_avg_pool{n}d", f"adaptive_max_pool{n}d"):
            kind = "Avg" if "avg" in fname else "Max"
            layer = _call(f"Adaptive{kind}Pool{n}d", ("output_size", "return_indices"), args, kwargs)
            return [layer] if layer and "return_indices=True" not in layer else None
        if fname in (f"max_pool{n}d", f"avg_pool{n}d"):
            kind = fname[:3]
            names = _POOL_ARGS[kind][:5] if fname == "avg_pool1d" else _POOL_ARGS[kind]
            layer = _call(f"{kind.capitalize()}Pool{n}d", names, args, kwargs, drop=("return_indices",))
            return [layer] if layer and not (kind == "max" and _get(args, kwargs, names, "return_indices")) else None
    if fname == "mean":
        return _mean(args, kwargs, shape_in)
    if fname in ("interpolate", "upsample"):
        names = ("size", "scale_factor", "mode", "align_corners", "recompute_scale_factor", "antialias")
        if _get(args, kwargs, names, "antialias"):
            return None
        layer = _call("Upsample", names, args, kwargs, drop=("antialias",))
        return [layer] if layer else None
    return None


def _get(args: list, kwargs: dict, names: tuple, key: str):
    i = names.index(key) + 1
    return args[i] if len(args) > i else kwargs.get(key)


def _reshape(shape_in, shape_out) -> list[str] | None:
    """A view or reshape that merges neighbouring axes is a Flatten (or nothing, when it keeps the shape)."""
    if shape_in is None or shape_out is None:
        return None
    if tuple(shape_in) == tuple(shape_out):
        return []
    for start in range(len(shape_in)):
        for end in range(start + 1, len(shape_in)):
            merged = tuple(shape_in[:start]) + (math.prod(shape_in[start:end + 1]),) + tuple(shape_in[end + 1:])
            if merged == tuple(shape_out):
                last = end == len(shape_in) - 1
                return ["Flatten()" if start == 1 and last else
                        f"Flatten(start_dim={start})" if last else f"Flatten(start_dim={start}, end_dim={end})"]
    return None


def _mean(args: list, kwargs: dict, shape_in) -> list[str] | None:
    """x.mean((2, 3)) over every spatial axis: global average pooling (then a flatten unless keepdim)."""
    dims = args[1] if len(args) > 1 else kwargs.get("dim")
    keep = args[2] if len(args) > 2 else kwargs.get("keepdim", False)
    if shape_in is None or dims is None or set(kwargs) - {"dim", "keepdim"} or len(args) > 3:
        return None
    rank = len(shape_in)
    dims = {d % rank for d in (dims if isinstance(dims, list) else [dims]) if isinstance(d, int)}
    n = rank - 2
    if not 1 <= n <= 3 or dims != set(range(2, rank)):
        return None
    return [f"AdaptiveAvgPool{n}d(1)"] + ([] if keep else ["Flatten()"])
