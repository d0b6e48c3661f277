"""The NumPy executor's convolution kernels against the BLAS ceiling and against PyTorch.

For each case (ResNet-50's 3×3 and 1×1 convolutions at 56×56 and 28×28, a stride-2
convolution, a 3×3 depthwise convolution on 144 channels, a 4×4 stride-2 ConvTranspose2d,
a 3×3×3 Conv3d on 1×64×8×56×56, a dilated Conv1d) it prints, from the best of --repeat
runs (the kernels, the reference matmul and torch interleaved, so machine load hits all
alike):

  - GFLOP/s of the kernel (2 × the multiply-accumulates it counted, per second);
  - the ratio to a NumPy matmul of the same MACs, (m × k) @ (k × n) with the convolution's
    own dimensions (m = output channels per group, k = input channels per group × kernel,
    n = positions × groups): the BLAS ceiling the im2col product can reach;
  - when torch is importable, torch's time for the same convolution with the same thread
    count, and torch's time over ours (above 1: faster than torch).

Then the two design measurements the kernels rest on: ConvTranspose as col2im against the
zero-inserted direct convolution (and the share of col2im's time spent in its per-tap
scatter loop), and the depthwise case as a batched matmul against a loop over kernel taps.

    python benchmarks/executor.py [--threads 1] [--repeat 7]

The thread count is set (OPENBLAS/OMP/MKL_NUM_THREADS, torch.set_num_threads) before
numpy is imported. With one thread the clock is the process's CPU time, which a loaded
machine (other processes taking turns on the cores) disturbs far less than wall time;
with more threads it is wall time.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time

CASES = [
    # (label, layer, input shape)
    ("ResNet-50 3x3 @56", "Conv2d(64, 64, 3, padding=1, bias=False)", (1, 64, 56, 56)),
    ("ResNet-50 1x1 @56 (64->256)", "Conv2d(64, 256, 1, bias=False)", (1, 64, 56, 56)),
    ("ResNet-50 1x1 @56 (256->64)", "Conv2d(256, 64, 1, bias=False)", (1, 256, 56, 56)),
    ("ResNet-50 3x3 @28", "Conv2d(128, 128, 3, padding=1, bias=False)", (1, 128, 28, 28)),
    ("ResNet-50 1x1 @28 (128->512)", "Conv2d(128, 512, 1, bias=False)", (1, 128, 28, 28)),
    ("stride-2 3x3 (56->28)", "Conv2d(128, 128, 3, stride=2, padding=1, bias=False)", (1, 128, 56, 56)),
    ("depthwise 3x3, 144 ch @56", "Conv2d(144, 144, 3, padding=1, groups=144, bias=False)", (1, 144, 56, 56)),
    ("ConvTranspose2d 4x4 s2", "ConvTranspose2d(256, 128, 4, stride=2, padding=1, bias=False)", (1, 256, 28, 28)),
    ("Conv3d 3x3x3", "Conv3d(64, 64, 3, padding=1, bias=False)", (1, 64, 8, 56, 56)),
    ("dilated Conv1d (d=4)", "Conv1d(256, 256, 3, dilation=4, padding=4, bias=False)", (1, 256, 4096)),
]


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (default 1)")
    parser.add_argument("--repeat", type=int, default=7)
    return parser.parse_args()


def best(fns: dict, repeat: int, clock) -> dict:
    """Best time of each function, the functions interleaved run by run."""
    times = {name: math.inf for name in fns}
    for name, fn in fns.items():  # warm-up: first-touch allocations, BLAS buffers
        fn()
    for _ in range(repeat):
        for name, fn in fns.items():
            start = clock()
            fn()
            times[name] = min(times[name], clock() - start)
    return times


def dims(layer, shape) -> tuple[int, int, int]:
    """(m, k, n) of the matmul with the same MACs, in the layer's own dimensions."""
    from convcalc.layers.conv import ConvTransposeNd
    n = layer.ndim
    g = layer.groups
    taps = math.prod(layer.kernel_size)
    if isinstance(layer, ConvTransposeNd):  # products: (C_out/g × kernel) × C_in/g per input position
        return layer.out_channels // g * taps, layer.in_channels // g, shape[0] * math.prod(shape[-n:]) * g
    import convcalc
    out = convcalc.analyze([layer], shape).total.output_shape
    return layer.out_channels // g, layer.in_channels // g * taps, shape[0] * math.prod(out[-n:]) * g


def main() -> None:
    args = parse()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np

    import convcalc
    from convcalc.numeric.execute import parameter_layout, random_parameters
    from convcalc.numeric.kernels import KERNELS, Context, load_all
    load_all()
    try:
        import torch
        torch.set_num_threads(args.threads)
        import torch.nn.functional as F
    except ImportError:
        torch = None
    clock = time.process_time if args.threads == 1 else time.perf_counter
    print(f"numpy {np.__version__}, torch {torch.__version__ if torch else 'not installed'}, "
          f"{args.threads} thread(s), best of {args.repeat} ({'CPU' if args.threads == 1 else 'wall'} time); "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    header = (f"{'case':30} {'GMACs':>6} {'ms':>8} {'GFLOP/s':>8} {'ceiling':>8} {'of ceil':>7} "
              f"{'torch ms':>9} {'torch/us':>8}")
    print(header)
    print("-" * len(header))
    rng = np.random.default_rng(0)
    extra = {}
    for label, expr, shape in CASES:
        layer = convcalc.build_layer(expr)
        x = rng.standard_normal(shape, dtype=np.float32)
        params = random_parameters(parameter_layout(layer), rng, np.dtype(np.float32))
        kernel = KERNELS.lookup(type(layer))
        analytic = convcalc.analyze([layer], shape).total.macs
        ctx = Context()
        ours = kernel(layer, [x], params, ctx)
        assert ctx.macs == analytic, (label, ctx.macs, analytic)
        m, k, n = dims(layer, shape)
        assert m * k * n == analytic, (label, m, k, n)
        a = rng.standard_normal((m, k), dtype=np.float32)
        b = rng.standard_normal((k, n), dtype=np.float32)
        fns = {"ours": lambda: kernel(layer, [x], params, Context()), "ceiling": lambda: a @ b}
        if torch is not None:
            fns["torch"] = _torch_call(torch, F, layer, x, params)
            with torch.no_grad():
                reference = fns["torch"]().numpy()
            scale = float(np.abs(reference).max())
            assert np.abs(ours - reference).max() <= 1e-4 * max(scale, 1.0), label
        if "Transpose" in expr:
            fns.update(_transposed_variants(np, layer, x, params, ours))
        if layer.groups > 1:
            fns["taps"] = _tap_loop(np, layer, x, params, ours)
        times = best(fns, args.repeat, clock)
        flops = 2 * analytic
        t = times["ours"]
        ceiling = flops / times["ceiling"] / 1e9
        line = (f"{label:30} {analytic / 1e9:6.3f} {t * 1e3:8.2f} {flops / t / 1e9:8.1f} {ceiling:8.1f} "
                f"{times['ceiling'] / t:7.0%}")
        if "torch" in times:
            line += f" {times['torch'] * 1e3:9.2f} {times['torch'] / t:8.2f}"
        print(line)
        extra[label] = times
    print()
    for label, times in extra.items():
        if "zero-inserted" in times:
            print(f"{label}: col2im {times['ours'] * 1e3:.2f} ms (its products alone {times['products'] * 1e3:.2f} ms: "
                  f"the per-tap scatter is {1 - times['products'] / times['ours']:.0%} of the time); "
                  f"zero-inserted direct convolution {times['zero-inserted'] * 1e3:.2f} ms "
                  f"({times['zero-inserted'] / times['ours']:.2f}x col2im's time)")
        if "taps" in times:
            print(f"{label}: batched matmul over the groups {times['ours'] * 1e3:.2f} ms; a loop over the "
                  f"9 kernel taps {times['taps'] * 1e3:.2f} ms ({times['taps'] / times['ours']:.2f}x)")


def _torch_call(torch, F, layer, x, params):
    from convcalc.layers.conv import ConvTransposeNd
    xt = torch.from_numpy(x)
    wt = torch.from_numpy(params["weight"])
    n = layer.ndim
    if isinstance(layer, ConvTransposeNd):
        op = getattr(F, f"conv_transpose{n}d")
        kw = dict(stride=layer.stride, padding=layer.padding, output_padding=layer.output_padding,
                  groups=layer.groups, dilation=layer.dilation)
    else:
        op = getattr(F, f"conv{n}d")
        kw = dict(stride=layer.stride, padding=layer.padding, dilation=layer.dilation, groups=layer.groups)

    def call():
        with torch.no_grad():
            return op(xt, wt, **kw)
    return call


def _transposed_variants(np, layer, x, params, ours) -> dict:
    """The zero-inserted direct convolution, checked equal to col2im; and col2im's
    products alone (the batched matmul without its scatter)."""
    from convcalc.numeric.kernels import Context
    from convcalc.numeric.ops_conv import correlate
    from convcalc.numeric.windows import pad
    n, g = layer.ndim, layer.groups
    w = params["weight"]
    cin, cog = w.shape[:2]
    k = layer.kernel_size

    def zero_inserted():
        sizes = x.shape[2:]
        z = np.zeros(x.shape[:2] + tuple((i - 1) * s + 1 for i, s in zip(sizes, layer.stride)), dtype=x.dtype)
        z[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in layer.stride)] = x
        pairs = [(d * (kk - 1) - p, d * (kk - 1) - p + op) for d, kk, p, op in
                 zip(layer.dilation, k, layer.padding, layer.output_padding)]
        flipped = w.reshape((g, cin // g, cog) + k).swapaxes(1, 2).reshape((g * cog, cin // g) + k)
        flipped = np.ascontiguousarray(flipped[(Ellipsis,) + (slice(None, None, -1),) * n])
        return correlate(pad(z, pairs, "zeros"), flipped, (1,) * n, layer.dilation, g, Context())

    assert np.abs(zero_inserted() - ours).max() <= 1e-4 * max(float(np.abs(ours).max()), 1.0)
    weights = w.reshape(g, cin // g, cog * math.prod(k)).transpose(0, 2, 1)
    grouped = x.reshape((x.shape[0], g, cin // g, math.prod(x.shape[2:])))
    return {"zero-inserted": zero_inserted, "products": lambda: np.matmul(weights, grouped)}


def _tap_loop(np, layer, x, params, ours):
    """A depthwise convolution as 9 multiply-adds of shifted planes (the alternative to the
    batched matmul over groups), checked equal first."""
    from convcalc.numeric.windows import pad
    w = params["weight"][:, 0]
    size = x.shape[2:]

    def taps():
        xp = pad(x, layer.pad_pairs())
        out = np.zeros(x.shape[:2] + size, dtype=x.dtype)
        for i in range(3):
            for j in range(3):
                out += w[:, i, j][None, :, None, None] * xp[:, :, i:i + size[0], j:j + size[1]]
        return out

    assert np.abs(taps() - ours).max() <= 1e-4 * max(float(np.abs(ours).max()), 1.0)
    return taps


if __name__ == "__main__":
    sys.exit(main())
