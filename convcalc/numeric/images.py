"""Images in and out of `convcalc run` (Pillow, the optional extra `convcalc[image]`).

Reading gives what torchvision gives: the channels the file stores, as
`read_image(path, ImageReadMode.UNCHANGED)` then `convert_image_dtype(float32)` (gray 1,
gray + alpha 2, RGB 3, RGBA 4; 8-bit values / 255, 16-bit / 65535, 1-bit 0 or 1), except
where read_image would give palette indices or CMYK channels: those are converted as
torchvision's dataset loader converts them (`Image.convert("RGB")`; RGBA for a palette
with transparency). EXIF orientation is not applied (read_image's default); an
animation gives its first frame. The header is read first (`PendingImage`), so the
memory budget is checked before anything is decoded.

Writing lays the output's channels out as `torchvision.utils.make_grid` does (tiles of
the (n, c) maps in row-major order, 2-pixel black gaps, ceil(sqrt(tiles)) per row, no
border around a single tile); values already within [0, 1] are written as value × 255,
anything else is stretched from each tile's own min..max to 0..255.
"""

from __future__ import annotations

import math
import os
import warnings

import numpy as np

from ..errors import ConvcalcError, Location, quote
from ..record import record

READ_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
WRITE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
INSTALL = 'pip install "convcalc[image]"'
GAP = 2  # make_grid's padding
# Pillow modes as torchvision decodes them: kept as they are, or converted to
_KEEP = {"1": 1, "L": 1, "LA": 2, "RGB": 3, "RGBA": 4}
_SIXTEEN = ("I;16", "I;16L", "I;16B", "I;16N")


def _fail(where: str, message: str) -> ConvcalcError:
    return ConvcalcError(message, Location(where))


def pillow(where: str, doing: str):
    """PIL.Image, or the one-line refusal naming the extra to install."""
    try:
        from PIL import Image
    except ImportError:
        raise _fail(where, f"{doing} needs Pillow: {INSTALL} (or give a .npy file)") from None
    return Image


def is_image(path: str) -> bool:
    return path.strip().lower().endswith(READ_SUFFIXES)


# ------------------------------------------------------------------ reading

@record
class PendingImage:
    """An image file whose header has been read: its tensor's shape, before decoding."""

    path: str
    where: str
    shape: tuple[int, ...]
    mode: str

    dtype = np.dtype(np.float32)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def load(self) -> np.ndarray:
        Image = pillow(self.where, "reading an image")
        try:
            with _open(Image, self.path, self.where) as image:
                data = _pixels(image, self.mode)
        except (OSError, ValueError, SyntaxError) as exc:  # truncated or corrupt pixel data
            raise _fail(self.where, f"cannot decode the image {quote(self.path)}: {_reason(exc)}") from None
        data = data[None] if data.ndim == 2 else data.transpose(2, 0, 1)
        return np.ascontiguousarray(data[None])


def open_image(path: str, where: str) -> PendingImage:
    """Read the header: the mode and size give the 1 × C × H × W shape."""
    Image = pillow(where, "reading an image")
    with _open(Image, path, where) as image:
        mode = _target_mode(image, path, where)
        width, height = image.size
    return PendingImage(path, where, (1, _channels(mode), height, width), mode)


def read_image(path: str, where: str) -> np.ndarray:
    return open_image(path, where).load()


def _open(Image, path: str, where: str):
    try:
        with warnings.catch_warnings():  # the memory budget, not Pillow's pixel limit, decides
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path)
    except FileNotFoundError:
        raise _fail(where, f"no such file: {quote(path)}") from None
    except Image.DecompressionBombError as exc:
        raise _fail(where, f"refusing the image {quote(path)}: {_reason(exc)}") from None
    except OSError as exc:  # UnidentifiedImageError too: not an image, or a corrupt header
        raise _fail(where, f"cannot read the image {quote(path)}: {_reason(exc)}") from None


def _target_mode(image, path: str, where: str) -> str:
    mode = image.mode
    if mode in _KEEP or mode in _SIXTEEN:
        return mode
    if mode in ("P", "PA"):
        return "RGBA" if mode == "PA" or "transparency" in image.info else "RGB"
    if mode in ("I", "F"):
        kind = "32-bit integer" if mode == "I" else "floating-point"
        raise _fail(where, f"expected an 8- or 16-bit image; got a {kind} one (mode {mode}) in {quote(path)}, "
                           "which has no [0, 1] scale: save its values with numpy.save and give the .npy file")
    return "RGB"  # CMYK, YCbCr, LAB, HSV: Pillow's conversion, as decoders give RGB


def _channels(mode: str) -> int:
    return _KEEP.get(mode, 1)


def _pixels(image, mode: str) -> np.ndarray:
    if image.mode != mode:
        image = image.convert(mode)
    if mode in _SIXTEEN:
        return np.asarray(image).astype(np.float32) / np.float32(65535)
    raw = np.asarray(image)
    if raw.dtype == np.bool_:  # mode 1: black 0, white 1
        return raw.astype(np.float32)
    return raw.astype(np.float32) / np.float32(255)


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text.rstrip(".")


# ------------------------------------------------------------------ writing

@record
class Layout:
    """How an output tensor becomes tiles: maps (T, H, W), and a line for stderr."""

    tiles: np.ndarray  # (T, h, w) or, as colour, (T, h, w, 3)
    what: str  # "6 tiles: 1 x 6 channels"


def check_output_path(path: str, rgb: bool = False) -> str:
    """'npy' or 'image', refusing an unknown suffix (and, for an image, a missing Pillow)
    before anything runs."""
    lower = path.lower()
    if lower.endswith(".npy"):
        if rgb:
            raise _fail("--rgb", "expected --output with an image suffix (.png, .jpg, ...); got a .npy file")
        return "npy"
    if lower.endswith(WRITE_SUFFIXES):
        pillow("--output", "writing an image")
        return "image"
    suffix = os.path.splitext(path)[1] or "no suffix"
    raise _fail("--output", f"expected a file name ending in .npy (the tensor) or {', '.join(WRITE_SUFFIXES)} "
                            f"(an image of the output's channels); got {quote(path)} ({suffix})")


def layout(out: np.ndarray, unbatched: bool, rgb: bool) -> Layout:
    """The tiles of an output tensor. 4-D is N×C×H×W; after a 2-D input without its batch
    axis (`unbatched`) 3-D is C×H×W and 2-D is H×W, else 3-D is N×C×L (each map a strip
    one pixel high) and 2-D N×F strips; 1-D one strip. More spatial axes are refused."""
    shape = list(out.shape)
    if out.ndim == 3 and unbatched:
        out = out[None]
    elif out.ndim == 3:
        out = out[:, :, None, :]
    elif out.ndim == 2 and unbatched:
        out = out[None, None]
    elif out.ndim == 2:
        out = out[:, None, None, :]
    elif out.ndim == 1:
        out = out[None, None, None, :]
    elif out.ndim != 4:
        raise _fail("--output", f"expected an output with at most two spatial axes to write as an image; got "
                                f"shape {shape} (save it as .npy, or slice it first)")
    n, c, h, w = out.shape
    if rgb:
        if c != 3:
            raise _fail("--rgb", f"expected an output with 3 channels to write in colour; got {c} (shape {shape})")
        return Layout(np.moveaxis(out, 1, -1), f"{n} colour tile{'s' * (n != 1)}: {n} x RGB")
    return Layout(out.reshape(n * c, h, w), f"{n * c} tile{'s' * (n * c != 1)}: {n} x {c} channels")


def to_bytes(tiles: np.ndarray) -> tuple[np.ndarray, str]:
    """uint8 tiles and how they were scaled: ×255 when every value is within [0, 1]
    (rounded as torchvision's save_image rounds), else each tile's min..max to 0..255.
    NaN is 0; ±inf the tile's extremes."""
    data = np.asarray(tiles, dtype=np.float64)
    finite = np.isfinite(data)
    if finite.all() and data.size and data.min() >= 0 and data.max() <= 1:
        scaled, how = data, "values within [0, 1], written as value x 255"
    else:
        axes = tuple(range(1, data.ndim))
        masked = np.where(finite, data, np.nan)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN tile: low and high become 0
            low = np.nanmin(masked, axis=axes, keepdims=True)
            high = np.nanmax(masked, axis=axes, keepdims=True)
        low, high = np.nan_to_num(low), np.nan_to_num(high)
        span = np.where(high > low, high - low, 1.0)
        clean = np.nan_to_num(data, nan=0.0, posinf=np.inf, neginf=-np.inf)
        with np.errstate(all="ignore"):
            scaled = np.clip((clean - low) / span, 0, 1)
        scaled = np.where(np.isnan(data), 0.0, scaled)
        lo, hi = (float(np.nanmin(masked)), float(np.nanmax(masked))) if finite.any() else (0.0, 0.0)
        how = f"values span [{lo:.4g}, {hi:.4g}]: each tile stretched from its own min..max to 0..255"
    return np.floor(scaled * 255 + 0.5).astype(np.uint8), how


def grid(tiles: np.ndarray) -> tuple[np.ndarray, int, int]:
    """make_grid's layout: ceil(sqrt(T)) tiles per row, GAP-pixel black gaps and border;
    one tile alone without a border. Returns the image and its rows and columns of tiles."""
    count, h, w = tiles.shape[:3]
    if count == 1:
        return tiles[0], 1, 1
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    canvas = np.zeros((rows * (h + GAP) + GAP, columns * (w + GAP) + GAP) + tiles.shape[3:], dtype=np.uint8)
    padded = np.zeros((rows * columns,) + tiles.shape[1:], dtype=np.uint8)
    padded[:count] = tiles
    blocks = padded.reshape((rows, columns) + tiles.shape[1:])
    view = canvas[GAP:, GAP:].reshape((rows, h + GAP, columns, w + GAP) + tiles.shape[3:])  # splits: a view
    view[:, :h, :, :w] = np.swapaxes(blocks, 1, 2)  # (rows, h, columns, w, ...)
    return canvas, rows, columns


def write_image(path: str, out: np.ndarray, *, unbatched: bool = False, rgb: bool = False) -> str:
    """Write the output tensor as a grid image; returns the line for stderr."""
    Image = pillow("--output", "writing an image")
    found = layout(out, unbatched, rgb)
    pixels, how = to_bytes(found.tiles)
    canvas, rows, columns = grid(pixels)
    h, w = pixels.shape[1:3]
    try:
        Image.fromarray(canvas, "RGB" if rgb else "L").save(path)
    except (OSError, ValueError, KeyError) as exc:
        raise _fail("--output", f"cannot write {quote(path)}: {getattr(exc, 'strerror', None) or _reason(exc)}") \
            from None
    return (f"wrote {path}: {found.what} of {h}x{w} in a {rows}x{columns} grid "
            f"({canvas.shape[0]}x{canvas.shape[1]} pixels); {how}")
