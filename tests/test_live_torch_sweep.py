"""A seeded random sweep against live PyTorch over the families the hypothesis
strategies in `strategies.py` do not generate: batch norm, activations, dropout,
shuffles, Flatten, Lazy and Separable convolutions, padding layers (tuples of any
length, crops), Upsample (every mode, align_corners, recompute_scale_factor), Softmax,
PReLU, Linear and adaptive pooling.  Torch decides accept/reject in eval() mode;
convcalc must agree, and then on the output shape and the parameter count.
Each test draws from its own `random.Random(seed)`: its cases do not depend on the
order tests run in or on anything else touching the global `random` module.
"""

from __future__ import annotations

import random
import warnings

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn

import convcalc  # noqa: E402


def shape(rng, rank, c=None):
    s = [rng.randint(1, 3)] + ([c] if c is not None else []) + [rng.randint(1, 9) for _ in range(rank - 1 - (c is not None))]
    return tuple(s)
def cases(rng, count):
    for _ in range(count):
        kind = rng.choice(["bn", "act", "drop", "cs", "flat", "lazy", "sep", "pad", "ups", "softmax", "prelu", "lin", "adapt"])
        rank = rng.randint(1, 6)
        if kind == "bn":
            n = rng.randint(1, 3); c = rng.randint(1, 4)
            aff = rng.choice([True, False]); tr = rng.choice([True, False]); b = rng.choice([True, False])
            yield f"BatchNorm{n}d({c}, affine={aff}, track_running_stats={tr}, bias={b})", shape(rng, rank, rng.choice([c, c, c + 1])), lambda n=n, c=c, aff=aff, tr=tr, b=b: getattr(nn, f"BatchNorm{n}d")(c, affine=aff, track_running_stats=tr, bias=b)
        elif kind == "act":
            name = rng.choice(["ReLU", "ReLU6", "LeakyReLU", "GELU", "SiLU", "Sigmoid", "Tanh", "Hardswish", "Hardsigmoid", "ELU", "Mish", "Softplus", "Hardtanh"])
            yield f"{name}()", shape(rng, rank), lambda name=name: getattr(nn, name)()
        elif kind == "drop":
            name = rng.choice(["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"])
            p = rng.choice([0.0, 0.5, 1.0, 1.5, -0.1])
            yield f"{name}({p})", shape(rng, rank), lambda name=name, p=p: getattr(nn, name)(p)
        elif kind == "cs":
            g = rng.randint(0, 4)
            yield f"ChannelShuffle({g})", shape(rng, rank), lambda g=g: nn.ChannelShuffle(g)
        elif kind == "flat":
            a, b = rng.randint(-4, 4), rng.randint(-4, 4)
            yield f"Flatten({a}, {b})", shape(rng, rank), lambda a=a, b=b: nn.Flatten(a, b)
        elif kind == "lazy":
            n = rng.randint(1, 3); out = rng.randint(1, 6); k = rng.randint(1, 4); s = rng.randint(1, 3); g = rng.randint(1, 3); t = rng.choice(["Conv", "ConvTranspose"])
            yield f"Lazy{t}{n}d({out}, {k}, stride={s}, groups={g})", shape(rng, rng.randint(n + 1, n + 2)), lambda n=n, out=out, k=k, s=s, g=g, t=t: getattr(nn, f"Lazy{t}{n}d")(out, k, stride=s, groups=g)
        elif kind == "sep":
            n = rng.randint(1, 3); cin = rng.randint(1, 4); out = rng.randint(1, 5); k = rng.randint(1, 4); s = rng.randint(1, 3); p = rng.randint(0, 2)
            def build(n=n, cin=cin, out=out, k=k, s=s, p=p):
                C = getattr(nn, f"Conv{n}d")
                return nn.Sequential(C(cin, cin, k, s, p, groups=cin, bias=False), C(cin, out, 1))
            yield f"SeparableConv{n}d({cin}, {out}, {k}, stride={s}, padding={p})", shape(rng, rng.randint(n + 1, n + 2), cin if rng.random() < .8 else cin + 1), build
        elif kind == "pad":
            mode = rng.choice(["Zero", "Constant", "Reflection", "Replication", "Circular"]); n = rng.randint(1, 3)
            L = rng.choice([1, 2, 2 * n, 2 * n, 4, 6])
            pad = tuple(rng.randint(-3, 4) for _ in range(L)) if rng.random() < .7 else rng.randint(-2, 4)
            extra = ", 0.5" if mode == "Constant" else ""
            yield f"{mode}Pad{n}d({pad!r}{extra})", shape(rng, rank), lambda mode=mode, n=n, pad=pad: getattr(nn, f"{mode}Pad{n}d")(pad, 0.5) if mode == "Constant" else getattr(nn, f"{mode}Pad{n}d")(pad)
        elif kind == "ups":
            mode = rng.choice(["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"])
            ac = rng.choice([None, True, False])
            if rng.random() < .5:
                sf = rng.choice([2, 2.0, 1.5, 0.5, 0.7, 3, 0.3]); kw = f"scale_factor={sf!r}"; kwt = dict(scale_factor=sf)
            else:
                sz = rng.randint(1, 12); kw = f"size={sz}"; kwt = dict(size=sz)
            rs = rng.choice([None, True, False])
            yield f"Upsample({kw}, mode={mode!r}, align_corners={ac}, recompute_scale_factor={rs})", shape(rng, rng.randint(2, 6)), lambda kwt=kwt, mode=mode, ac=ac, rs=rs: nn.Upsample(**kwt, mode=mode, align_corners=ac, recompute_scale_factor=rs)
        elif kind == "softmax":
            d = rng.randint(-4, 4)
            yield f"Softmax(dim={d})", shape(rng, rank), lambda d=d: nn.Softmax(dim=d)
        elif kind == "prelu":
            c = rng.choice([1, 1, 3, 4])
            yield f"PReLU({c})", shape(rng, rank), lambda c=c: nn.PReLU(c)
        elif kind == "lin":
            i, o = rng.randint(1, 6), rng.randint(1, 6)
            yield f"Linear({i}, {o})", tuple(shape(rng, rank)[:-1]) + (rng.choice([i, i, i + 1]),), lambda i=i, o=o: nn.Linear(i, o)
        elif kind == "adapt":
            n = rng.randint(1, 3); kindp = rng.choice(["Avg", "Max"])
            o = tuple(rng.choice([None, 0, 1, 2, 3, 5]) for _ in range(n)) if rng.random() < .5 else rng.randint(0, 5)
            yield f"Adaptive{kindp}Pool{n}d({o!r})", shape(rng, rank), lambda n=n, kindp=kindp, o=o: getattr(nn, f"Adaptive{kindp}Pool{n}d")(o)


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


def assert_torch_agrees(sweep) -> None:
    """Each (expression, shape, torch factory): the same verdict, and when accepted the same
    output shape and parameter count."""
    mismatches = []
    for expr, shp, build in sweep:
        t_ok, t_answer = torch_answer(build, shp)
        try:
            a = convcalc.analyze([expr], shp)
            c_ok, c_answer = True, (a.total.output_shape, a.total.params)
        except convcalc.ConvcalcError as exc:
            c_ok, c_answer = False, str(exc)
        if t_ok != c_ok or (t_ok and t_answer != c_answer):
            mismatches.append(f"{expr} on {shp}: torch {t_answer} | convcalc {c_answer}")
    assert not mismatches, "\n".join(mismatches[:20])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_sweep_matches_torch(seed):
    rng = random.Random(seed)
    assert_torch_agrees(cases(rng, 2500))


# ------------------------------------------------------------------ convolutions and pooling

def tup(rng, n, lo, hi):
    if rng.random() < 0.5: return rng.randint(lo, hi)
    if rng.random() < 0.1: return (rng.randint(lo, hi),)
    return tuple(rng.randint(lo, hi) for _ in range(n))
def conv_shape(rng, n, c):
    rank = rng.choice([n + 1, n + 2, n + 2, n + 2, n, n + 3])
    s = [rng.randint(1, 3)] * (rank - n - 1) + [c if rng.random() < 0.9 else c + 1] + [rng.randint(1, 12) for _ in range(n)]
    return tuple(s[-rank:]) if rank > 0 else (1,)
def gen(rng):
    n = rng.randint(1, 3)
    kind = rng.choice(["conv", "convT", "max", "avg"])
    if kind == "conv":
        g = rng.choice([1, 1, 2, 3]); cin = g * rng.randint(1, 3); cout = g * rng.randint(1, 3) if rng.random() < .9 else rng.randint(1, 5)
        kw = dict(kernel_size=tup(rng, n, 1, 5), stride=tup(rng, n, 1, 3), dilation=tup(rng, n, 1, 3), groups=g, bias=rng.choice([True, False]),
                  padding=rng.choice(["same", "valid", tup(rng, n, 0, 3), tup(rng, n, -1, 3)]), padding_mode=rng.choice(["zeros", "zeros", "reflect", "replicate", "circular"]))
        if kw["padding"] == "same" and rng.random() < .7: kw["stride"] = 1
        return f"Conv{n}d({cin}, {cout}, " + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")", conv_shape(rng, n, cin), lambda: getattr(nn, f"Conv{n}d")(cin, cout, **kw)
    if kind == "convT":
        g = rng.choice([1, 1, 2]); cin = g * rng.randint(1, 3); cout = g * rng.randint(1, 3)
        kw = dict(kernel_size=tup(rng, n, 1, 5), stride=tup(rng, n, 1, 3), padding=tup(rng, n, 0, 3), output_padding=tup(rng, n, 0, 2), groups=g, dilation=tup(rng, n, 1, 3), bias=rng.choice([True, False]))
        return f"ConvTranspose{n}d({cin}, {cout}, " + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")", conv_shape(rng, n, cin), lambda: getattr(nn, f"ConvTranspose{n}d")(cin, cout, **kw)
    if kind == "max":
        kw = dict(kernel_size=tup(rng, n, 1, 4), stride=rng.choice([None, tup(rng, n, 1, 3)]), padding=tup(rng, n, 0, 2), dilation=tup(rng, n, 1, 3), ceil_mode=rng.choice([True, False]))
        return f"MaxPool{n}d(" + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")", conv_shape(rng, n, rng.randint(1, 3)), lambda: getattr(nn, f"MaxPool{n}d")(**kw)
    kw = dict(kernel_size=tup(rng, n, 1, 4), stride=rng.choice([None, tup(rng, n, 1, 3)]), padding=tup(rng, n, 0, 2), ceil_mode=rng.choice([True, False]), count_include_pad=rng.choice([True, False]))
    if n > 1 and rng.random() < .3: kw["divisor_override"] = rng.randint(1, 3)
    return f"AvgPool{n}d(" + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")", conv_shape(rng, n, rng.randint(1, 3)), lambda: getattr(nn, f"AvgPool{n}d")(**kw)


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
    rng = random.Random(seed)
    mismatches = []
    for _ in range(2500):
        expr, shp, build = gen(rng)
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


# ------------------------------------------------------------------ GroupNorm, LayerNorm, InstanceNorm, LRN, im2col

def norm_and_fold_cases(rng, count):
    """GroupNorm, LayerNorm, InstanceNorm1d/2d/3d, LocalResponseNorm, Unfold, Fold and
    Softmax2d, every argument drawn at random (invalid ones included) on inputs of any
    rank, so that channel mismatches, single-value statistics and block counts that do
    not match are met as often as valid cases."""
    def arg(lo, hi):
        return rng.randint(lo, hi) if rng.random() < .7 else (rng.randint(lo, hi), rng.randint(lo, hi))

    for _ in range(count):
        kind = rng.choice(["gn", "ln", "in", "lrn", "unfold", "fold", "softmax2d"])
        if kind == "gn":
            g = rng.choice([1, 2, 3, 4, -1]); c = rng.choice([g, 2 * g, 3 * g, 4, 6]) if g > 0 else 4
            flags = dict(affine=rng.choice([True, False]), bias=rng.choice([True, False]))
            cin = rng.choice([c, c, c, c + g, c + 1, 2 * c])
            shp = (rng.randint(1, 2), cin) + tuple(rng.randint(1, 3) for _ in range(rng.randint(0, 3)))
            if rng.random() < .1:
                shp = shp[:1]
            yield (f"GroupNorm({g}, {c}, affine={flags['affine']}, bias={flags['bias']})", shp,
                   lambda g=g, c=c, flags=flags: nn.GroupNorm(g, c, **flags))
        elif kind == "ln":
            shp = tuple(rng.randint(1, 4) for _ in range(rng.randint(1, 5)))
            k = rng.randint(1, 3)
            norm = list(shp[-k:]) if rng.random() < .8 else [rng.randint(0, 4) for _ in range(k)]
            ns = norm[0] if k == 1 and rng.random() < .5 else tuple(norm)
            ea, b = rng.choice([True, False]), rng.choice([True, False])
            yield (f"LayerNorm({ns!r}, elementwise_affine={ea}, bias={b})", shp,
                   lambda ns=ns, ea=ea, b=b: nn.LayerNorm(ns, elementwise_affine=ea, bias=b))
        elif kind == "in":
            n = rng.randint(1, 3); c = rng.randint(1, 4)
            flags = dict(affine=rng.choice([True, False]), track_running_stats=rng.choice([True, False]),
                         momentum=rng.choice([0.1, None]))
            rank = rng.choice([n, n + 1, n + 1, n + 2, n + 2, n + 2, n + 3])
            dims = [rng.randint(1, 2)] * (rank - n - 1) + [rng.choice([c, c, c, c + 1])] + [
                rng.choice([1, 1, 2, 3]) for _ in range(n)]
            shp = tuple(dims[-rank:]) if rank > 0 else (2,)
            yield (f"InstanceNorm{n}d({c}, " + ", ".join(f"{k}={v}" for k, v in flags.items()) + ")", shp,
                   lambda n=n, c=c, flags=flags: getattr(nn, f"InstanceNorm{n}d")(c, **flags))
        elif kind == "lrn":
            size = rng.choice([1, 2, 3, 5, 0, -1])
            yield f"LocalResponseNorm({size}, k=2.0)", shape(rng, rng.randint(1, 6)), \
                lambda size=size: nn.LocalResponseNorm(size, k=2.0)
        elif kind == "unfold":
            kw = dict(kernel_size=arg(1, 4), dilation=arg(1, 2), padding=arg(0, 2), stride=arg(1, 3))
            if rng.random() < .05:
                kw["stride"] = 0
            rank = rng.choice([3, 4, 4, 2, 5])
            shp = tuple([rng.randint(1, 2)] * (rank - 3) + [rng.randint(1, 3)] + [rng.randint(1, 8) for _ in range(2)])[-rank:]
            yield "Unfold(" + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")", shp, \
                lambda kw=kw: nn.Unfold(**kw)
        elif kind == "fold":
            kw = dict(kernel_size=arg(1, 3), dilation=arg(1, 2), padding=arg(0, 1), stride=arg(1, 2))
            out = arg(1, 7)
            k, d, p, s, o = ((v, v) if isinstance(v, int) else v for v in
                             (kw["kernel_size"], kw["dilation"], kw["padding"], kw["stride"], out))
            blocks = [(o[i] + 2 * p[i] - d[i] * (k[i] - 1) - 1) // s[i] + 1 for i in range(2)]
            length = max(1, blocks[0] * blocks[1] + rng.choice([0, 0, 0, 0, 1, -1]))
            c = rng.randint(1, 3) * k[0] * k[1] + rng.choice([0, 0, 0, 0, 0, 1])
            shp = rng.choice([(rng.randint(1, 2), c, length), (c, length), (1, 1, c, length)])
            yield f"Fold({out!r}, " + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")", shp, \
                lambda out=out, kw=kw: nn.Fold(out, **kw)
        else:
            yield "Softmax2d()", shape(rng, rng.randint(1, 6)), nn.Softmax2d


@pytest.mark.parametrize("seed", [21, 22])
def test_norm_and_fold_sweep_matches_torch(seed):
    rng = random.Random(seed)
    assert_torch_agrees(norm_and_fold_cases(rng, 1000))
