"""Regenerate the `convcalc run` image figures under docs/figures/ (shown in the README):
seed 001's max pooling of a picture, in colour and as a channel grid, and the channel
grid of a convolution (its values beyond [0, 1], so each tile is stretched).

    python docs/make_images.py

tests/test_images.py checks that the committed files are what this script writes.
"""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIGURES = ROOT / "docs" / "figures"
PICTURE = "examples/picture.png"

#: name -> (layer, extra options)
CASES = {
    "pooled_rgb": ("MaxPool2d(kernel_size=3, ceil_mode=False)", ["--rgb"]),
    "pooled_channels": ("MaxPool2d(kernel_size=3, ceil_mode=False)", []),
    "conv_channels": ("Conv2d(3, 8, 3)", ["--seed", "0"]),
}


def argv(name: str, path: pathlib.Path) -> list[str]:
    layer, extra = CASES[name]
    return ["run", layer, "--input", str(ROOT / PICTURE), "--output", str(path), *extra]


def main() -> int:
    import contextlib
    import io
    sys.path.insert(0, str(ROOT))
    from convcalc.cli import main as cli

    FIGURES.mkdir(parents=True, exist_ok=True)
    for name in CASES:
        with contextlib.redirect_stdout(io.StringIO()):  # the values; the image is what is kept
            code = cli(argv(name, FIGURES / f"{name}.png"))
        if code:
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main())
