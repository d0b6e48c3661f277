"""Timing sanity for the executor's non-product kernels (pooling, BatchNorm,
activations, Upsample, padding, shuffles, merges) at ResNet/U-Net sizes.

For each kernel: the best wall time of a few runs, its ratio to a NumPy reference in
the same run (`np.copyto` of an output-sized array: the memory-bandwidth floor of any
kernel that writes its output once), and, when torch is importable, its ratio to
torch's CPU module with the same thread count.  A kernel that looped in Python over
output positions would show ratios in the thousands; these should be small.

    python benchmarks/ops_rest.py [--runs 5] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from convcalc import build_layer
from convcalc.numeric.kernels import KERNELS, Context, load_all

CASES = [
    ("MaxPool2d(3, stride=2, padding=1)", [(1, 64, 112, 112)]),
    ("MaxPool2d(2, stride=2, ceil_mode=True)", [(1, 128, 57, 57)]),
    ("AvgPool2d(3, stride=1, padding=1, count_include_pad=False)", [(1, 256, 28, 28)]),
    ("AdaptiveAvgPool2d(1)", [(8, 2048, 7, 7)]),
    ("AdaptiveAvgPool2d((6, 6))", [(1, 256, 13, 13)]),
    ("MaxPool3d(3, stride=2, padding=1)", [(1, 32, 16, 56, 56)]),
    ("BatchNorm2d(256)", [(1, 256, 56, 56)]),
    ("ReLU()", [(1, 256, 56, 56)]),
    ("GELU()", [(1, 197, 768)]),
    ("SiLU()", [(1, 256, 56, 56)]),
    ("Softmax(dim=-1)", [(12, 197, 197)]),
    ("Upsample(scale_factor=2, mode='nearest')", [(1, 64, 112, 112)]),
    ("Upsample(scale_factor=2, mode='bilinear')", [(1, 64, 112, 112)]),
    ("Upsample(scale_factor=2, mode='bicubic', align_corners=True)", [(1, 32, 64, 64)]),
    ("ReflectionPad2d(3)", [(1, 64, 112, 112)]),
    ("ZeroPad2d((1, 2, 1, 2))", [(1, 64, 112, 112)]),
    ("PixelShuffle(2)", [(1, 256, 56, 56)]),
    ("ChannelShuffle(4)", [(1, 256, 56, 56)]),
    ("Add()", [(1, 256, 56, 56), (1, 256, 56, 56)]),
    ("Concat(dim=1)", [(1, 128, 56, 56), (1, 128, 56, 56)]),
]


def best(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def torch_module(expr: str):
    import torch
    if expr == "Add()":
        return lambda a, b: torch.add(a, b)
    if expr.startswith("Concat"):
        return lambda *xs: torch.cat(xs, dim=1)
    module = eval("torch.nn." + expr, {"torch": torch})
    return module.eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    load_all()
    try:
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
    rng = np.random.default_rng(0)
    print(f"{'layer':58} {'input':>18} {'ms':>8} {'x copy':>7} {'x torch':>8}")
    for expr, shapes in CASES:
        layer = build_layer(expr)
        inputs = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        params = {}
        if type(layer).__name__ == "BatchNormNd":
            c = shapes[0][1]
            params = {"weight": rng.standard_normal(c).astype(np.float32),
                      "bias": rng.standard_normal(c).astype(np.float32),
                      "running_mean": rng.standard_normal(c).astype(np.float32),
                      "running_var": rng.uniform(0.5, 2, c).astype(np.float32)}
        run = KERNELS.lookup(type(layer))
        out = run(layer, inputs, params, Context())
        t = best(lambda: run(layer, inputs, params, Context()), args.runs)
        target = np.empty_like(out)
        copy = best(lambda: np.copyto(target, out), args.runs)
        ratio_torch = ""
        if torch is not None:
            module = torch_module(expr)
            tensors = [torch.from_numpy(a) for a in inputs]
            with torch.no_grad():
                tt = best(lambda: module(*tensors), args.runs)
            ratio_torch = f"{t / tt:8.2f}"
        shown = "x".join(map(str, shapes[0]))
        print(f"{expr:58} {shown:>18} {t * 1e3:8.2f} {t / copy:7.1f} {ratio_torch:>8}")


if __name__ == "__main__":
    main()
