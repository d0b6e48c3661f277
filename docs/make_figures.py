"""Regenerate the `convcalc draw` figures under docs/figures/ (shown in the README).

    python docs/make_figures.py

Each case is one `convcalc draw` command line; tests/test_draw.py checks that the
committed files are what this script writes, and parses their grids.
"""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs" / "figures"

#: the receptive-field figure's network: a stride-2 and a dilated convolution, with padding
RF_LAYERS = ("Conv2d(1, 1, 3, padding=1)", "Conv2d(1, 1, 3, stride=2, padding=1)",
             "Conv2d(1, 1, 3, dilation=2, padding=2)")

#: name -> (layer or layers, input shape, output unit or None, --rf entry or None)
CASES = {
    "plain": ("Conv2d(1, 1, 3)", "1x1x4x4", None, None),
    "strided": ("Conv2d(1, 1, 3, stride=2)", "1x1x5x5", "1,1", None),
    "padded": ("Conv2d(1, 1, 3, stride=2, padding=1)", "1x1x5x5", "1,1", None),
    "dilated": ("Conv2d(1, 1, 3, dilation=2)", "1x1x7x7", None, None),
    "transposed": ("ConvTranspose2d(1, 1, 3, stride=2, padding=1, output_padding=1)", "1x1x3x3", "1,2", None),
    "ceil_pool": ("MaxPool2d(2, ceil_mode=True)", "1x1x5x5", "2,2", None),
    "receptive_field": (RF_LAYERS, "1x1x16x16", "0,4", "2"),
}


def argv(name: str, path: pathlib.Path) -> list[str]:
    layers, shape, at, rf = CASES[name]
    layers = [layers] if isinstance(layers, str) else list(layers)
    return (["draw", *layers, "--input", shape, "-o", str(path)] + (["--at", at] if at else [])
            + (["--rf", rf] if rf else []))


def main() -> int:
    sys.path.insert(0, str(ROOT))
    from convcalc.cli import main as cli

    FIGURES.mkdir(parents=True, exist_ok=True)
    for name in CASES:
        code = cli(argv(name, FIGURES / f"{name}.svg"))
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
