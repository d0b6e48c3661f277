"""Analysis time against network size: linear growth, and the cost per layer.

Analyses chains of N and 2N layers, alternating them so machine load affects both
alike, and prints the best CPU time of each and their ratio (2.0 is linear).  Two kinds
of chain: a repeated block (BatchNorm, ReLU, Conv, as real networks repeat layers) and
all-distinct layers (every expression text differs, so nothing is parsed only once).
The reference run is a plain `ast.parse` of the same expressions, in the same process:
the floor any expression parser pays.

    python benchmarks/analysis.py [--layers 5001] [--runs 5]
"""

from __future__ import annotations

import argparse
import ast
import time

import convcalc
from convcalc import reading


def repeated(n: int) -> list[str]:
    block = ["BatchNorm2d(16)", "ReLU()", "Conv2d(16, 16, 3, padding=1)"]
    return ["Conv2d(3, 16, 3, padding=1)"] + block * ((n - 3) // 3) + ["AdaptiveAvgPool2d(1)", "Flatten()"]


def distinct(n: int) -> list[str]:
    layers, c = [], 3
    for i in range(n // 3):
        layers += [f"Conv2d({c}, {c + 1}, 3, padding=1)", f"BatchNorm2d({c + 1})", f"LeakyReLU({0.01 + i * 1e-6})"]
        c += 1
    return layers


def cpu(fn) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=5001)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    for kind, make in (("repeated block", repeated), ("distinct layers", distinct)):
        best: dict[int, float] = {}
        floor: dict[int, float] = {}
        for _ in range(args.runs):
            for n in (args.layers, 2 * args.layers):
                layers = make(n)
                # a fresh copy of each text, so no cache from the previous run is hit
                fresh = ["".join(list(text)) for text in layers]
                reading.clear_cache()
                t = cpu(lambda: convcalc.analyze(fresh, (1, 3, 64, 64)))
                best[n] = min(best.get(n, t), t)
                f = cpu(lambda: [ast.parse(text, mode="eval") for text in fresh])
                floor[n] = min(floor.get(n, f), f)
        small, large = args.layers, 2 * args.layers
        print(f"{kind}: {len(make(small))} layers {best[small]:.3f} s, {len(make(large))} layers "
              f"{best[large]:.3f} s (ratio {best[large] / best[small]:.2f}; linear is 2.00); "
              f"{best[large] / floor[large]:.1f}x the time to ast.parse the same expressions")


if __name__ == "__main__":
    main()
