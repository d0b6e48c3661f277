"""Start-up time of `convcalc shape` against the floor its CLI stack sets.

Alternates the two commands so that machine load affects both alike, and prints the
median wall times and their ratio.  The floor is `python -c "import typer,
rich.console, rich.table"`: what any Typer + Rich CLI pays before doing anything.

    python benchmarks/startup.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

FLOOR = [sys.executable, "-c", "import typer, rich.console, rich.table"]
BARE = [sys.executable, "-c", "pass"]


def convcalc_command() -> list[str]:
    exe = shutil.which("convcalc")
    base = [exe] if exe else [sys.executable, "-m", "convcalc"]
    return base + ["shape", "Conv2d(3, 64, 7, stride=2, padding=3)", "--input", "1,3,224,224"]


def wall(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    # pip compiles bytecode when it installs a package; an editable checkout (or
    # PYTHONDONTWRITEBYTECODE) would otherwise recompile convcalc on every run.
    import compileall
    import convcalc
    compileall.compile_dir(os.path.dirname(convcalc.__file__), quiet=1)
    commands = {"bare python": BARE, "typer+rich import (floor)": FLOOR, "convcalc shape": convcalc_command()}
    for cmd in commands.values():  # warm the page cache and .pyc files
        wall(cmd)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, cmd in commands.items():
            times[name].append(wall(cmd))
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, value in medians.items():
        print(f"{name:28s} {value * 1000:7.1f} ms (median of {args.runs})")
    ratio = medians["convcalc shape"] / medians["typer+rich import (floor)"]
    extra = (medians["convcalc shape"] - medians["typer+rich import (floor)"]) * 1000
    print(f"ratio convcalc / floor: {ratio:.2f}  (convcalc adds {extra:.0f} ms; target <= 1.3)")


if __name__ == "__main__":
    main()
