"""A seeded random sweep against live PyTorch over the families the hypothesis
strategies in `strategies.py` do not generate: batch norm, activations, dropout,
shuffles, Flatten, Lazy and Separable convolutions, padding layers (tuples of any
length, crops), Upsample (every mode, align_corners, recompute_scale_factor), Softmax,
PReLU, Linear and adaptive pooling.  Torch decides accept/reject in eval() mode;
convcalc must agree, and then on the output shape and the parameter count.
"""

from __future__ import annotations

import random
import warnings

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import convcalc  # noqa: E402

R = random.randint


def shape(rank, c=None):
    s = [R(1, 3)] + ([c] if c is not None else []) + [R(1, 9) for _ in range(rank - 1 - (c is not None))]
    return tuple(s)
def cases(count):
    for _ in range(count):
        kind = random.choice(["bn", "act", "drop", "cs", "flat", "lazy", "sep", "pad", "ups", "softmax", "prelu", "lin", "adapt"])
        rank = R(1, 6)
        if kind == "bn":
            n = R(1, 3); c = R(1, 4)
            aff = random.choice([True, False]); tr = random.choice([True, False]); b = random.choice([True, False])
            yield f"BatchNorm{n}d({c}, affine={aff}, track_running_stats={tr}, bias={b})", shape(rank, random.choice([c, c, c + 1])), lambda n=n, c=c, aff=aff, tr=tr, b=b: getattr(nn, f"BatchNorm{n}d")(c, affine=aff, track_running_stats=tr, bias=b)
        elif kind == "act":
            name = random.choice(["ReLU", "ReLU6", "LeakyReLU", "GELU", "SiLU", "Sigmoid", "Tanh", "Hardswish", "Hardsigmoid", "ELU", "Mish", "Softplus", "Hardtanh"])
            yield f"{name}()", shape(rank), lambda name=name: getattr(nn, name)()
        elif kind == "drop":
            name = random.choice(["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"])
            p = random.choice([0.0, 0.5, 1.0, 1.5, -0.1])
            yield f"{name}({p})", shape(rank), lambda name=name, p=p: getattr(nn, name)(p)
        elif kind == "cs":
            g = R(0, 4)
            yield f"ChannelShuffle({g})", shape(rank), lambda g=g: nn.ChannelShuffle(g)
        elif kind == "flat":
            a, b = R(-4, 4), R(-4, 4)
            yield f"Flatten({a}, {b})", shape(rank), lambda a=a, b=b: nn.Flatten(a, b)
        elif kind == "lazy":
            n = R(1, 3); out = R(1, 6); k = R(1, 4); s = R(1, 3); g = R(1, 3); t = random.choice(["Conv", "ConvTranspose"])
            yield f"Lazy{t}{n}d({out}, {k}, stride={s}, groups={g})", shape(R(n + 1, n + 2)), lambda n=n, out=out, k=k, s=s, g=g, t=t: getattr(nn, f"Lazy{t}{n}d")(out, k, stride=s, groups=g)
        elif kind == "sep":
            n = R(1, 3); cin = R(1, 4); out = R(1, 5); k = R(1, 4); s = R(1, 3); p = R(0, 2)
            def build(n=n, cin=cin, out=out, k=k, s=s, p=p):
                C = getattr(nn, f"Conv{n}d")
                return nn.Sequential(C(cin, cin, k, s, p, groups=cin, bias=False), C(cin, out, 1))
            yield f"SeparableConv{n}d({cin}, {out}, {k}, stride={s}, padding={p})", shape(R(n + 1, n + 2), cin if random.random() < .8 else cin + 1), build
        elif kind == "pad":
            mode = random.choice(["Zero", "Constant", "Reflection", "Replication", "Circular"]); n = R(1, 3)
            L = random.choice([1, 2, 2 * n, 2 * n, 4, 6])
            pad = tuple(R(-3, 4) for _ in range(L)) if random.random() < .7 else R(-2, 4)
            extra = ", 0.5" if mode == "Constant" else ""
            yield f"{mode}Pad{n}d({pad!r}{extra})", shape(rank), lambda mode=mode, n=n, pad=pad: getattr(nn, f"{mode}Pad{n}d")(pad, 0.5) if mode == "Constant" else getattr(nn, f"{mode}Pad{n}d")(pad)
        elif kind == "ups":
            mode = random.choice(["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"])
            ac = random.choice([None, True, False])
            if random.random() < .5:
                sf = random.choice([2, 2.0, 1.5, 0.5, 0.7, 3, 0.3]); kw = f"scale_factor={sf!r}"; kwt = dict(scale_factor=sf)
            else:
                sz = R(1, 12); kw = f"size={sz}"; kwt = dict(size=sz)
            rs = random.choice([None, True, False])
            yield f"Upsample({kw}, mode={mode!r}, align_corners={ac}, recompute_scale_factor={rs})", shape(R(2, 6)), lambda kwt=kwt, mode=mode, ac=ac, rs=rs: nn.Upsample(**kwt, mode=mode, align_corners=ac, recompute_scale_factor=rs)
        elif kind == "softmax":
            d = R(-4, 4)
            yield f"Softmax(dim={d})", shape(rank), lambda d=d: nn.Softmax(dim=d)
        elif kind == "prelu":
            c = random.choice([1, 1, 3, 4])
            yield f"PReLU({c})", shape(rank), lambda c=c: nn.PReLU(c)
        elif kind == "lin":
            i, o = R(1, 6), R(1, 6)
            yield f"Linear({i}, {o})", tuple(shape(rank)[:-1]) + (random.choice([i, i, i + 1]),), lambda i=i, o=o: nn.Linear(i, o)
        elif kind == "adapt":
            n = R(1, 3); kindp = random.choice(["Avg", "Max"])
            o = tuple(random.choice([None, 0, 1, 2, 3, 5]) for _ in range(n)) if random.random() < .5 else R(0, 5)
            yield f"Adaptive{kindp}Pool{n}d({o!r})", shape(rank), lambda n=n, kindp=kindp, o=o: getattr(nn, f"Adaptive{kindp}Pool{n}d")(o)


def torch_answer(build, shp):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = build().eval()
            with torch.no_grad():
                y = m(torch.zeros(shp))
        return True, (tuple(y.shape), sum(p.numel() for p in m.parameters()))
    except Exception as exc:  # torch refuses: any exception
        return False, f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sweep_matches_torch(seed):
    random.seed(seed)
    mismatches = []
    for expr, shp, build in cases(2500):
        t_ok, t_answer = torch_answer(build, shp)
        try:
            a = convcalc.analyze([expr], shp)
            c_ok, c_answer = True, (a.total.output_shape, a.total.params)
        except convcalc.ConvcalcError as exc:
            c_ok, c_answer = False, str(exc)
        if t_ok != c_ok or (t_ok and t_answer != c_answer):
            mismatches.append(f"{expr} on {shp}: torch {t_answer} | convcalc {c_answer}")
    assert not mismatches, "\n".join(mismatches[:20])


# ------------------------------------------------------------------ convolutions and pooling

def tup(n, lo, hi):
    if random.random() < 0.5: return R(lo, hi)
    if random.random() < 0.1: return (R(lo, hi),)
    return tuple(R(lo, hi) for _ in range(n))
def conv_shape(n, c):
    rank = random.choice([n + 1, n + 2, n + 2, n + 2, n, n + 3])
    s = [R(1, 3)] * (rank - n - 1) + [c if random.random() < 0.9 else c + 1] + [R(1, 12) for _ in range(n)]
    return tuple(s[-rank:]) if rank > 0 else (1,)
def gen():
    n = R(1, 3)
    kind = random.choice(["conv", "convT", "max", "avg"])
    if kind == "conv":
        g = random.choice([1, 1, 2, 3]); cin = g * R(1, 3); cout = g * R(1, 3) if random.random() < .9 else R(1, 5)
        kw = dict(kernel_size=tup(n, 1, 5), stride=tup(n, 1, 3), dilation=tup(n, 1, 3), groups=g, bias=random.choice([True, False]),
                  padding=random.choice(["same", "valid", tup(n, 0, 3), tup(n, -1, 3)]), padding_mode=random.choice(["zeros", "zeros", "reflect", "replicate", "circular"]))
        if kw["padding"] == "same" and random.random() < .7: kw["stride"] = 1
        return f"Conv{n}d({cin}, {cout}, " + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")", conv_shape(n, cin), lambda: getattr(nn, f"Conv{n}d")(cin, cout, **kw)
    if kind == "convT":
        g = random.choice([1, 1, 2]); cin = g * R(1, 3); cout = g * R(1, 3)
        kw = dict(kernel_size=tup(n, 1, 5), stride=tup(n, 1, 3), padding=tup(n, 0, 3), output_padding=tup(n, 0, 2), groups=g, dilation=tup(n, 1, 3), bias=random.choice([True, False]))
        return f"ConvTranspose{n}d({cin}, {cout}, " + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")", conv_shape(n, cin), lambda: getattr(nn, f"ConvTranspose{n}d")(cin, cout, **kw)
    if kind == "max":
        kw = dict(kernel_size=tup(n, 1, 4), stride=random.choice([None, tup(n, 1, 3)]), padding=tup(n, 0, 2), dilation=tup(n, 1, 3), ceil_mode=random.choice([True, False]))
        return f"MaxPool{n}d(" + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")", conv_shape(n, R(1, 3)), lambda: getattr(nn, f"MaxPool{n}d")(**kw)
    kw = dict(kernel_size=tup(n, 1, 4), stride=random.choice([None, tup(n, 1, 3)]), padding=tup(n, 0, 2), ceil_mode=random.choice([True, False]), count_include_pad=random.choice([True, False]))
    if n > 1 and random.random() < .3: kw["divisor_override"] = R(1, 3)
    return f"AvgPool{n}d(" + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")", conv_shape(n, R(1, 3)), lambda: getattr(nn, f"AvgPool{n}d")(**kw)


def known_divergence(expr: str, torch_answer) -> bool:
    """Where convcalc refuses on purpose (README, "Choices"): PyTorch's CPU backends
    disagree among themselves on transposed convolutions whose output size is exactly 0,
    and a 1-element padding with a padding_mode other than zeros pads only the last axis."""
    ok, answer = torch_answer
    if ok and expr.startswith("ConvTranspose") and 0 in answer[0]:
        return True
    return "padding=(" in expr and "padding_mode='zeros'" not in expr and ",)" in expr.split("padding=")[1].split(")")[0] + ")"


@pytest.mark.parametrize("seed", [11, 12, 13])
def test_conv_and_pool_sweep_matches_torch(seed):
    random.seed(seed)
    mismatches = []
    for _ in range(2500):
        expr, shp, build = gen()
        t_answer = torch_answer(build, shp)
        try:
            a = convcalc.analyze([expr], shp)
            c_answer = (True, (a.total.output_shape, a.total.params))
        except convcalc.ConvcalcError as exc:
            c_answer = (False, str(exc))
        if t_answer[0] != c_answer[0] or (t_answer[0] and t_answer != c_answer):
            if not known_divergence(expr, t_answer):
                mismatches.append(f"{expr} on {shp}: torch {t_answer} | convcalc {c_answer}")
    assert not mismatches, "\n".join(mismatches[:20])
