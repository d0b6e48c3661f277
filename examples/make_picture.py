#!/usr/bin/env python
"""Draw examples/picture.png, the 64x64 RGB test picture of the README's `convcalc run`
image examples: a sky gradient, a sun, a checkerboard field and a striped house, with
edges sharp enough that pooling and convolutions show. Deterministic (no randomness):
tests/test_images.py draws it again and compares it with the committed file.

    python examples/make_picture.py [OUT.png]
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

SIZE = 64


def picture() -> np.ndarray:
    """The picture as a 64x64x3 uint8 array."""
    y, x = np.mgrid[0:SIZE, 0:SIZE].astype(np.float64)
    sky = np.stack([40 + 2 * y, 90 + 2 * y, 235 - y], axis=-1)           # blue to pale
    image = np.where((y < 40)[..., None], sky, 0.0)
    field = np.where(((x // 4 + y // 4) % 2 == 0), 70.0, 150.0)          # a 4x4 checkerboard
    image = np.where((y >= 40)[..., None], np.stack([field * 0.4, field, field * 0.3], -1), image)
    sun = (x - 48) ** 2 + (y - 12) ** 2 <= 7 ** 2
    image[sun] = (255, 220, 40)
    house = (x >= 8) & (x < 28) & (y >= 26) & (y < 48)
    stripes = np.where(x % 3 == 0, 255.0, 180.0)                          # vertical boards
    image[house] = np.stack([stripes, stripes * 0.35, stripes * 0.2], -1)[house]
    roof = (y >= 16) & (y < 26) & (np.abs(x - 17.5) <= (y - 16) + 1)
    image[roof] = (90, 50, 30)
    door = (x >= 15) & (x < 21) & (y >= 38) & (y < 48)
    image[door] = (30, 20, 10)
    return np.clip(np.rint(image), 0, 255).astype(np.uint8)


def main(argv: list[str]) -> None:
    from PIL import Image
    out = Path(argv[0]) if argv else Path(__file__).with_name("picture.png")
    Image.fromarray(picture(), "RGB").save(out, optimize=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
