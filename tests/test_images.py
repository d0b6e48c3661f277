"""Images through `convcalc run`: reading every Pillow mode as torchvision does (recorded by
tests/fixtures/record_image_modes.py), the grid image `--output FILE.png` writes (pixels
and geometry against the computed output), refusals as one line, the memory budget
before decoding, the missing-Pillow path (simulated), and pooling against live torch."""

from __future__ import annotations

import importlib.util
import json
import math
import pathlib
import sys

import numpy as np
import pytest

from convcalc.cli import main
from convcalc.numeric import images
from support import cli, one_error

ROOT = pathlib.Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests/fixtures"
RECORDED = json.loads((FIXTURES / "image_modes.json").read_text())["images"]
HAVE_PIL = importlib.util.find_spec("PIL") is not None
needs_pil = pytest.mark.skipif(not HAVE_PIL, reason="Pillow is not installed")


def save(path, array, mode=None):
    from PIL import Image
    Image.fromarray(array, mode).save(path)
    return path


def load(path) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as image:
        return np.asarray(image)


def block_max(a: np.ndarray, k: int) -> np.ndarray:
    """k x k max pooling (stride k, floor) of an H x W (x C) array, by reshaping."""
    h, w = a.shape[0] // k * k, a.shape[1] // k * k
    a = a[:h, :w]
    return a.reshape(h // k, k, w // k, k, *a.shape[2:]).max(axis=(1, 3))


# ------------------------------------------------------------------ reading

@needs_pil
@pytest.mark.parametrize("name", sorted(RECORDED))
def test_every_mode_reads_as_torchvision_reads_it(name):
    """Stored channels as read_image(UNCHANGED) + convert_image_dtype give them; palette
    and CMYK images as torchvision's dataset loader converts them (read_image would give
    palette indices, or C, M, Y, K)."""
    record = RECORDED[name]
    key = "loader" if record["mode"] in ("P", "CMYK") else "read_image"
    shape, values = record[key]
    x = images.read_image(str(FIXTURES / "images" / name), "--input")
    assert x.dtype == np.float32 and x.shape == (1, *shape)
    assert np.array_equal(x.ravel(), np.array(values, dtype=np.float32)), name
    if record["mode"] in ("P", "CMYK"):
        assert record["read_image"][0] != shape  # where we deliberately differ from read_image


@needs_pil
def test_the_recorded_images_are_the_recording_scripts(tmp_path):
    sys.path.insert(0, str(FIXTURES))
    try:
        from record_image_modes import draw
    finally:
        sys.path.remove(str(FIXTURES))
    modes = draw(str(tmp_path))
    assert modes == {name: record["mode"] for name, record in RECORDED.items()}
    for name in modes:
        if name.endswith(".png"):  # lossless: the same pixels (JPEG encoders may differ)
            assert np.array_equal(load(tmp_path / name), load(FIXTURES / "images" / name)), name


@needs_pil
def test_exif_orientation_is_not_applied(tmp_path):
    """read_image's default: the pixels as stored, whatever the Orientation tag says."""
    from PIL import Image
    image = Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4) * 20, "L")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    image.save(tmp_path / "o.jpg", exif=exif, quality=100)
    assert images.read_image(str(tmp_path / "o.jpg"), "--input").shape == (1, 1, 3, 4)


@needs_pil
def test_an_animation_gives_its_first_frame(tmp_path):
    from PIL import Image
    frames = [Image.fromarray(np.full((4, 6), v, dtype=np.uint8), "L") for v in (10, 200)]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    x = images.read_image(str(tmp_path / "a.gif"), "--input")
    assert x.shape[0] == 1 and x.shape[2:] == (4, 6)
    assert np.allclose(x, 10 / 255)


@needs_pil
def test_a_float_image_is_refused(tmp_path):
    save(tmp_path / "f.tif", np.ones((3, 3), dtype=np.float32), "F")
    one_error(_run_error(tmp_path / "f.tif"), "--input", "expected an 8- or 16-bit image", "mode F", ".npy")


def _run_error(path) -> str:
    import io
    from contextlib import redirect_stderr
    err = io.StringIO()
    with redirect_stderr(err):
        assert main(["run", "MaxPool2d(2)", "--input", str(path)]) == 2
    return err.getvalue()


@needs_pil
@pytest.mark.parametrize("content, fragment", [
    (b"this is not an image at all", "cannot read the image"),
    (b"\x93NUMPY\x01\x00", "cannot read the image"),
    ("truncated", "cannot decode the image"),
])
def test_corrupt_images_are_one_line(tmp_path, capsys, content, fragment):
    path = tmp_path / "bad.png"
    if content == "truncated":
        save(path, np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8))
        path.write_bytes(path.read_bytes()[:300])
    else:
        path.write_bytes(content)
    code, out, err = cli(capsys, "run", "MaxPool2d(2)", "--input", path)
    assert code == 2 and out == ""
    one_error(err, "--input", fragment, "bad.png")


@needs_pil
def test_a_missing_image_is_one_line(tmp_path, capsys):
    code, out, err = cli(capsys, "run", "MaxPool2d(2)", "--input", tmp_path / "nope.png")
    assert code == 2
    one_error(err, "--input", "no such file", "nope.png")


# ------------------------------------------------------------------ run: image in, image out

@needs_pil
def test_maxpool_of_a_picture_written_as_a_channel_grid(tmp_path, capsys):
    pixels = np.random.default_rng(0).integers(0, 256, (8, 10, 3), dtype=np.uint8)
    src, dst = save(tmp_path / "img.png", pixels), tmp_path / "out.png"
    code, out, err = cli(capsys, "run", "MaxPool2d(2)", "--input", src, "--output", dst)
    assert code == 0, err
    assert "output [1, 3, 4, 5] float32" in out
    assert err.strip() == (f"note: wrote {dst}: 3 tiles: 1 x 3 channels of 4x5 in a 2x2 grid (14x16 pixels); "
                           "values within [0, 1], written as value x 255")
    grid = load(dst)
    assert grid.shape == (2 * (4 + 2) + 2, 2 * (5 + 2) + 2) and grid.dtype == np.uint8
    expected = block_max(pixels, 2)  # the maxima are input pixels: v / 255 * 255 rounds back to v
    for c in range(3):
        row, col = divmod(c, 2)
        y, x = 2 + row * 6, 2 + col * 7
        assert np.array_equal(grid[y:y + 4, x:x + 5], expected[..., c]), c
    mask = np.ones(grid.shape, bool)
    for c in range(3):
        row, col = divmod(c, 2)
        mask[2 + row * 6:6 + row * 6, 2 + col * 7:7 + col * 7] = False
    assert not grid[mask].any()  # gaps, border and the empty fourth cell are black


@needs_pil
def test_rgb_writes_one_colour_tile_per_batch_item(tmp_path, capsys):
    pixels = np.random.default_rng(2).integers(0, 256, (9, 12, 3), dtype=np.uint8)
    src, dst = save(tmp_path / "img.png", pixels), tmp_path / "out.png"
    code, _, err = cli(capsys, "run", "MaxPool2d(kernel_size=3, ceil_mode=False)", "-i", src, "-o", dst, "--rgb")
    assert code == 0, err
    assert "1 colour tile: 1 x RGB of 3x4 in a 1x1 grid (3x4 pixels)" in err
    assert np.array_equal(load(dst), block_max(pixels, 3))


@needs_pil
def test_values_beyond_0_1_are_stretched_per_tile(tmp_path, capsys):
    pixels = np.random.default_rng(3).integers(0, 256, (6, 7), dtype=np.uint8)
    src = save(tmp_path / "g.png", pixels, "L")
    layer = "Conv2d(1, 2, 3, padding=1)"
    code, out, err = cli(capsys, "run", layer, "-i", src, "--seed", "4", "-f", "json")
    assert code == 0, err
    values = np.array(json.loads(out)["output"], dtype=np.float64)[0]  # (2, 6, 7)
    dst = tmp_path / "out.png"
    code, _, err = cli(capsys, "run", layer, "-i", src, "--seed", "4", "-o", dst)
    assert code == 0
    assert f"values span [{values.min():.4g}, {values.max():.4g}]: each tile stretched" in err
    grid = load(dst)
    assert grid.shape == (2 + 6 + 2, 2 * (7 + 2) + 2)
    for c in range(2):
        tile = values[c]
        want = np.floor((tile - tile.min()) / (tile.max() - tile.min()) * 255 + 0.5)
        got = grid[2:8, 2 + c * 9:9 + c * 9].astype(np.float64)
        assert np.abs(got - want).max() <= 1, c  # float32 values, float64 here: at most a rounding step
        assert got.min() == 0 and got.max() == 255


@needs_pil
def test_json_output_of_an_image_input(tmp_path, capsys):
    pixels = np.random.default_rng(4).integers(0, 256, (4, 6, 4), dtype=np.uint8)
    src = save(tmp_path / "rgba.png", pixels, "RGBA")
    code, out, err = cli(capsys, "run", "MaxPool2d(2)", "-i", src, "-f", "json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["output_shape"] == [1, 4, 2, 3] and doc["dtype"] == "float32"
    want = (block_max(pixels, 2).astype(np.float32) / np.float32(255)).transpose(2, 0, 1)[None]
    assert np.array_equal(np.array(doc["output"], dtype=np.float32), want)


@needs_pil
def test_batches_tile_per_item_and_channel(tmp_path, capsys):
    x = np.random.default_rng(5).random((2, 3, 4, 4)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code, _, err = cli(capsys, "run", "Identity()", "-i", tmp_path / "x.npy", "-o", tmp_path / "o.png")
    assert code == 0, err
    assert "6 tiles: 2 x 3 channels of 4x4 in a 2x3 grid (14x20 pixels)" in err
    grid = load(tmp_path / "o.png")
    for t in range(6):
        n, c = divmod(t, 3)
        row, col = divmod(t, 3)
        tile = grid[2 + row * 6:6 + row * 6, 2 + col * 6:6 + col * 6]
        assert np.array_equal(tile, np.floor(x[n, c].astype(np.float64) * 255 + 0.5)), t
    code, _, err = cli(capsys, "run", "Identity()", "-i", tmp_path / "x.npy", "-o", tmp_path / "c.png", "--rgb")
    assert code == 0 and "2 colour tiles: 2 x RGB of 4x4 in a 1x2 grid (8x14 pixels)" in err
    colour = load(tmp_path / "c.png")
    for n in range(2):
        want = np.floor(x[n].transpose(1, 2, 0).astype(np.float64) * 255 + 0.5)
        assert np.array_equal(colour[2:6, 2 + n * 6:6 + n * 6], want), n


@needs_pil
@pytest.mark.parametrize("argv, what, size", [
    (["Conv1d(2, 3, 3, bias=False)", "-i", json.dumps(np.ones((1, 2, 8)).tolist())],
     "3 tiles: 1 x 3 channels of 1x6 in a 2x2 grid", (2 * 3 + 2, 2 * 8 + 2)),
    (["Linear(4, 5)", "-i", "[[0.1, 0.2, 0.3, 0.4], [0.5, 0.6, 0.7, 0.8]]"],
     "2 tiles: 2 x 1 channels of 1x5 in a 1x2 grid", (1 * 3 + 2, 2 * 7 + 2)),
    (["Linear(4, 5)", "-i", "[0.1, 0.2, 0.3, 0.4]"], "1 tile: 1 x 1 channels of 1x5 in a 1x1 grid", (1, 5)),
    (["MaxPool2d(2)", "-i", json.dumps(np.linspace(0, 1, 3 * 4 * 6).reshape(3, 4, 6).tolist())],
     "3 tiles: 1 x 3 channels of 2x3 in a 2x2 grid", (2 * 4 + 2, 2 * 5 + 2)),  # unbatched C, H, W
    (["MaxPool2d(2)", "-i", json.dumps(np.linspace(0, 1, 24).reshape(4, 6).tolist())],
     "1 tile: 1 x 1 channels of 2x3 in a 1x1 grid", (2, 3)),  # a bare H x W
])
def test_strips_and_unbatched_outputs(tmp_path, capsys, argv, what, size):
    dst = tmp_path / "o.png"
    code, _, err = cli(capsys, "run", *argv, "-o", dst)
    assert code == 0, err
    assert what in err
    assert load(dst).shape == size


@needs_pil
def test_three_spatial_axes_are_refused(tmp_path, capsys):
    code, out, err = cli(capsys, "run", "MaxPool3d(2)", "-i", json.dumps(np.zeros((1, 1, 2, 2, 2)).tolist()),
                         "-o", tmp_path / "o.png")
    assert code == 2 and out == ""
    one_error(err, "--output", "at most two spatial axes", "[1, 1, 1, 1, 1]", ".npy")
    assert not (tmp_path / "o.png").exists()


@needs_pil
@pytest.mark.parametrize("extra, fragments", [
    (["-o", "OUT/o.txt"], ("--output", "expected a file name ending in .npy", ".png", "(.txt)")),
    (["-o", "OUT/o"], ("--output", "(no suffix)")),
    (["--rgb"], ("--rgb", "expected --output FILE.png")),
    (["-o", "OUT/o.npy", "--rgb"], ("--rgb", "got a .npy file")),
    (["-o", "OUT/o.png", "--rgb"], ("--rgb", "expected an output with 3 channels", "got 2")),
    (["-o", "/nonexistent/dir/o.png"], ("--output", "cannot write", "o.png")),
])
def test_output_refusals_are_one_line(tmp_path, capsys, extra, fragments):
    extra = [e.replace("OUT", str(tmp_path)) for e in extra]
    code, out, err = cli(capsys, "run", "Conv2d(1, 2, 1)", "-i", "[[0.5, 1.0], [0.25, 0.0]]", *extra)
    assert code == 2 and out == ""
    one_error(err, *fragments)
    assert list(tmp_path.iterdir()) == []


def test_without_pillow_images_are_refused_naming_the_extra(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # `from PIL import Image` now raises ImportError
    monkeypatch.setitem(sys.modules, "PIL.Image", None)
    (tmp_path / "x.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    code, out, err = cli(capsys, "run", "MaxPool2d(2)", "-i", tmp_path / "x.png")
    assert code == 2 and out == ""
    one_error(err, "--input", "reading an image needs Pillow", 'pip install "convcalc[image]"')
    code, out, err = cli(capsys, "run", "MaxPool2d(2)", "-i", "[[[[1.0, 2.0], [3.0, 4.0]]]]", "-o",
                         tmp_path / "y.png")
    assert code == 2 and out == ""  # refused before the run
    one_error(err, "--output", "writing an image needs Pillow", 'pip install "convcalc[image]"')
    assert not (tmp_path / "y.png").exists()
    code, _, err = cli(capsys, "run", "MaxPool2d(2)", "-i", "[[[[1.0, 2.0], [3.0, 4.0]]]]", "-o", tmp_path / "y.npy")
    assert code == 0 and np.load(tmp_path / "y.npy").tolist() == [[[[4.0]]]]


@needs_pil
def test_the_memory_budget_refuses_a_huge_image_before_decoding(tmp_path, capsys, monkeypatch):
    from PIL import Image
    path = tmp_path / "big.png"
    Image.new("RGB", (2000, 1500)).save(path)  # 1 x 3 x 1500 x 2000 float32: 34 MiB in

    def never(self):
        raise AssertionError("decoded before the budget was checked")
    monkeypatch.setattr(images.PendingImage, "load", never)
    code, out, err = cli(capsys, "run", "Conv2d(3, 8, 3)", "-i", path, "--max-memory", "64MiB")
    assert code == 2 and out == ""
    one_error(err, "--max-memory", "expected a run that fits in 64 MiB", "(Conv2d)")
    monkeypatch.undo()
    code, out, err = cli(capsys, "run", "MaxPool2d(100)", "-i", path, "--max-memory", "200MiB", "-f", "json")
    assert code == 0, err
    assert json.loads(out)["output_shape"] == [1, 3, 15, 20]


# ------------------------------------------------------------------ the grid and the scaling

@pytest.mark.parametrize("count", [1, 2, 3, 4, 5, 8, 9, 10, 17])
def test_grid_geometry_is_make_grids(count):
    """make_grid(padding=2, nrow=ceil(sqrt(T))): (rows * (h + 2) + 2) x (cols * (w + 2) + 2);
    one tile alone has no border."""
    h, w = 3, 5
    tiles = (np.arange(count)[:, None, None] + 1 + np.zeros((count, h, w))).astype(np.uint8)
    canvas, rows, columns = images.grid(tiles)
    if count == 1:
        assert canvas.shape == (h, w) and (rows, columns) == (1, 1)
        return
    columns_want = math.ceil(math.sqrt(count))
    rows_want = math.ceil(count / columns_want)
    assert (rows, columns) == (rows_want, columns_want)
    assert canvas.shape == (rows * (h + 2) + 2, columns * (w + 2) + 2)
    for t in range(count):
        r, c = divmod(t, columns)
        assert (canvas[2 + r * (h + 2):2 + r * (h + 2) + h, 2 + c * (w + 2):2 + c * (w + 2) + w] == t + 1).all()
    assert (canvas > 0).sum() == count * h * w


@pytest.mark.parametrize("count", [1, 2, 3, 5, 9, 10])
def test_grid_equals_torchvisions_make_grid(count):
    sys.path.insert(0, str(FIXTURES))
    try:
        from record_image_modes import tiles
    finally:
        sys.path.remove(str(FIXTURES))
    shape, values = json.loads((FIXTURES / "image_modes.json").read_text())["make_grid"][str(count)]
    canvas, _, _ = images.grid(tiles(count))
    assert list(canvas.shape) == shape and canvas.ravel().tolist() == values


def test_scaling_rules():
    inside = np.array([[[0.0, 0.5, 1.0]]])
    pixels, how = images.to_bytes(inside)
    assert pixels.tolist() == [[[0, 128, 255]]] and "within [0, 1]" in how  # save_image's +0.5 rounding
    beyond = np.array([[[-2.0, 0.0, 2.0]], [[5.0, 5.0, 5.0]], [[1.0, np.nan, np.inf]]])
    pixels, how = images.to_bytes(beyond)
    assert pixels[0].tolist() == [[0, 128, 255]]
    assert pixels[1].tolist() == [[0, 0, 0]]  # a constant tile: no span to stretch
    assert pixels[2].tolist() == [[0, 0, 255]]  # NaN black, inf the top of the finite range
    assert "values span [-2, 5]" in how


# ------------------------------------------------------------------ the example picture, and torch

@needs_pil
def test_the_example_picture_is_its_scripts(tmp_path):
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        from make_picture import main as draw
    finally:
        sys.path.remove(str(ROOT / "examples"))
    draw([str(tmp_path / "p.png")])
    committed = load(ROOT / "examples/picture.png")
    assert committed.shape == (64, 64, 3)
    assert np.array_equal(load(tmp_path / "p.png"), committed)


@needs_pil
@pytest.mark.parametrize("layer, fn", [
    ("MaxPool2d(kernel_size=3, ceil_mode=False)", lambda F, x: F.max_pool2d(x, 3)),
    ("MaxPool2d(kernel_size=3, ceil_mode=True)", lambda F, x: F.max_pool2d(x, 3, ceil_mode=True)),
    ("AvgPool2d(2)", lambda F, x: F.avg_pool2d(x, 2)),
], ids=["max3", "max3-ceil", "avg2"])
def test_pooled_picture_equals_torch(tmp_path, capsys, layer, fn):
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F  # noqa: N812
    picture = ROOT / "examples/picture.png"
    x = torch.from_numpy(load(picture).copy()).permute(2, 0, 1)[None].float() / 255  # ToTensor's values
    want = fn(F, x).numpy()
    code, out, err = cli(capsys, "run", layer, "-i", picture, "-f", "json")
    assert code == 0, err
    got = np.array(json.loads(out)["output"], dtype=np.float32)
    assert got.shape == want.shape
    assert np.allclose(got, want, rtol=0, atol=1e-7)
    code, _, err = cli(capsys, "run", layer, "-i", picture, "-o", tmp_path / "o.png", "--rgb")
    assert code == 0, err
    written = load(tmp_path / "o.png").astype(int)
    rounded = np.floor(want[0].transpose(1, 2, 0).astype(np.float64) * 255 + 0.5).astype(int)
    # maxima are input pixels, exact; an average can sit on a .5 that one float32 ulp tips
    assert np.abs(written - rounded).max() <= (0 if "Max" in layer else 1)


def _make_images():
    spec = importlib.util.spec_from_file_location("make_images", ROOT / "docs" / "make_images.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@needs_pil
@pytest.mark.parametrize("name", ["pooled_rgb", "pooled_channels", "conv_channels"])
def test_the_readme_figures_are_what_run_writes(tmp_path, capsys, name):
    make_images = _make_images()
    assert main(make_images.argv(name, tmp_path / "f.png")) == 0
    assert np.array_equal(load(tmp_path / "f.png"), load(ROOT / f"docs/figures/{name}.png"))
    if name == "pooled_rgb":  # seed 001's pooling of a picture: each 3x3 block's maximum, per channel
        assert np.array_equal(load(tmp_path / "f.png"), block_max(load(ROOT / "examples/picture.png"), 3))
