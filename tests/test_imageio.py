"""Tests for colorizer.imageio: every odd-but-valid upload decodes, every broken one
fails with a single clear ImageError line.  All inputs are generated in memory."""

from __future__ import annotations

import importlib.util
import io
import pickle
import re
import struct
import sys
import tracemalloc
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # works without an installed package / conftest
    sys.path.insert(0, str(REPO_ROOT))

from colorizer import imageio  # noqa: E402

# --------------------------------------------------------------------------- #
# Builders
# --------------------------------------------------------------------------- #


def save(im: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def noise(mode: str, size: tuple[int, int], seed: int = 0) -> Image.Image:
    w, h = size
    rng = np.random.default_rng(seed)
    arr = rng.integers(0, 256, (h, w, len(Image.new(mode, (1, 1)).getbands())), dtype=np.uint8)
    return Image.frombytes(mode, size, arr.tobytes())


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def raw_png(width: int, height: int, bit_depth: int, color_type: int, idat: bytes) -> bytes:
    """A PNG assembled by hand: lets us claim any size or write 16-bit RGB."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", idat)
        + png_chunk(b"IEND", b"")
    )


def bomb_png(width: int, height: int) -> bytes:
    # Header claims width x height 8-bit gray; the IDAT holds one tiny row.
    return raw_png(width, height, 8, 0, zlib.compress(b"\x00" * 64))


def cmyk_jpeg() -> bytes:
    return save(Image.new("CMYK", (16, 8), (0, 255, 255, 0)), "JPEG")  # red-ish


def rgba_png() -> bytes:
    im = Image.new("RGBA", (10, 6), (200, 30, 30, 255))
    im.putpixel((0, 0), (0, 0, 0, 0))
    return save(im, "PNG")


def la_png() -> bytes:
    im = Image.new("LA", (7, 5), (120, 255))
    im.putpixel((1, 1), (120, 10))
    return save(im, "PNG")


def palette(size=(8, 4)) -> Image.Image:
    im = Image.new("P", size, 1)
    im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0] + [0] * (256 * 3 - 9))
    im.putpixel((0, 0), 0)
    return im


def palette_png_transparent() -> bytes:
    return save(palette(), "PNG", transparency=0)


def palette_gif_transparent() -> bytes:
    return save(palette(), "GIF", transparency=0)


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (12, 9), c) for c in ((255, 0, 0), (0, 255, 0), (0, 0, 255))]
    return save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50, loop=0)


def gray16_png() -> bytes:
    values = np.array([[0, 32768, 65535], [1000, 20000, 65535]], dtype=np.uint16)
    return save(Image.fromarray(values), "PNG")  # Image mode I;16


def rgb16_png() -> bytes:
    # Pillow cannot write 16-bit RGB, so build it: one row, (65535,0,0) and mid-gray.
    row = b"\x00" + struct.pack(">6H", 65535, 0, 0, 32768, 32768, 32768)
    return raw_png(2, 1, 16, 2, zlib.compress(row))


def exif_rotated_jpeg() -> bytes:
    im = Image.new("RGB", (40, 20), (0, 0, 255))
    im.paste((255, 0, 0), (0, 0, 8, 8))  # red marker at stored top-left
    exif = Image.Exif()
    exif[0x0112] = 6  # display = rotate 90 degrees clockwise
    return save(im, "JPEG", exif=exif.tobytes(), quality=95)


def corrupt_exif_jpeg() -> bytes:
    broken_exif = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x05\x01\x12"  # IFD cut short
    return save(Image.new("RGB", (4, 4), (10, 200, 10)), "JPEG", exif=broken_exif)


def mode_i_tiff() -> bytes:
    values = np.array([[0, 1000, 65535]], dtype=np.int32)
    return save(Image.frombytes("I", (3, 1), values.tobytes()), "TIFF")


def mode_f_tiff() -> bytes:
    values = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    return save(Image.frombytes("F", (3, 1), values.tobytes()), "TIFF")


# --------------------------------------------------------------------------- #
# Odd but valid
# --------------------------------------------------------------------------- #


def check_cmyk(d):
    r, g, b = d.rgb[4, 8]
    assert r > 200 and g < 60 and b < 60 and d.was_color


def check_rgba(d):
    assert d.alpha[0, 0] == 0 and d.alpha[5, 9] == 255 and d.was_color


def check_la(d):
    assert d.alpha[1, 1] == 10 and not d.was_color and (d.rgb == 120).all()


def check_palette(d):
    assert d.alpha[0, 0] == 0 and d.alpha[3, 7] == 255
    assert tuple(d.rgb[3, 7]) == (255, 0, 0) and d.was_color


def check_first_frame(d):
    r, g, b = (int(v) for v in d.rgb[4, 6])
    assert r > 240 and g < 15 and b < 15


def check_gray16(d):
    assert d.rgb[0, :, 0].tolist() == [0, 128, 255]
    assert d.rgb[1, 2, 0] == 255 and not d.was_color


def check_rgb16(d):
    assert d.rgb[0, 0].tolist() == [255, 0, 0] and d.rgb[0, 1].tolist() == [128, 128, 128]


def check_exif(d):
    # Rotated 90 degrees clockwise: the stored top-left marker is now top-right.
    assert d.rgb[2, 17, 0] > 200 and d.rgb[2, 17, 2] < 60
    assert d.rgb[37, 2, 2] > 200  # bottom-left is blue


def check_mode_i(d):
    assert d.rgb[0, :, 0].tolist() == [0, 4, 255]


def check_mode_f(d):
    assert d.rgb[0, :, 0].tolist() == [0, 128, 255]


# (id, bytes, (H, W), has_alpha, note substring or None, extra check or None)
VALID_CASES = [
    ("cmyk.jpg", cmyk_jpeg(), (8, 16), False, "CMYK converted to RGB", check_cmyk),
    ("rgba.png", rgba_png(), (6, 10), True, "alpha", check_rgba),
    ("la.png", la_png(), (5, 7), True, "alpha", check_la),
    ("palette.png", palette_png_transparent(), (4, 8), True, "alpha", check_palette),
    ("palette.gif", palette_gif_transparent(), (4, 8), True, "alpha", check_palette),
    ("animated.gif", animated_gif(), (9, 12), False, "animated GIF: used frame 1 of 3", check_first_frame),
    ("gray16.png", gray16_png(), (2, 3), False, "16-bit image reduced to 8 bits", check_gray16),
    ("rgb16.png", rgb16_png(), (1, 2), False, "16-bit image reduced to 8 bits", check_rgb16),
    ("lossy.webp", save(noise("RGB", (17, 9)), "WEBP", quality=80), (9, 17), False, None, None),
    ("alpha.webp", save(Image.new("RGBA", (5, 4), (1, 2, 3, 4)), "WEBP", lossless=True), (4, 5), True, "alpha", None),
    ("image.bmp", save(noise("RGB", (13, 7)), "BMP"), (7, 13), False, None, None),
    ("image.tiff", save(noise("RGB", (11, 5)), "TIFF", compression="tiff_lzw"), (5, 11), False, None, None),
    ("rotated.jpg", exif_rotated_jpeg(), (40, 20), False, "EXIF orientation applied", check_exif),
    ("one.png", save(Image.new("RGB", (1, 1), (9, 8, 7)), "PNG"), (1, 1), False, None, None),
    ("strip.png", save(noise("RGB", (3000, 6)), "PNG"), (6, 3000), False, None, None),
    ("bilevel.png", save(noise("L", (9, 9)).convert("1"), "PNG"), (9, 9), False, None, None),
    ("palette-opaque.png", save(palette(), "PNG"), (4, 8), False, None, None),
    ("mode-i.tiff", mode_i_tiff(), (1, 3), False, "16-bit", check_mode_i),
    ("mode-f.tiff", mode_f_tiff(), (1, 3), False, "floating-point", check_mode_f),
    ("bad-exif.jpg", corrupt_exif_jpeg(), (4, 4), False, "decoder warning: Corrupt EXIF", None),
    ("png-named.jpg", save(Image.new("RGB", (3, 2)), "PNG"), (2, 3), False, None, None),
]


@pytest.mark.parametrize(
    "name,data,shape,has_alpha,note,check", VALID_CASES, ids=[c[0] for c in VALID_CASES]
)
def test_odd_but_valid_images_decode(name, data, shape, has_alpha, note, check):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's warnings must become notes, not leak
        d = imageio.decode_image(data, name)
    assert isinstance(d, imageio.DecodedImage)
    assert d.name == name
    assert d.rgb.dtype == np.uint8 and d.rgb.shape == (*shape, 3)
    assert d.rgb.flags.c_contiguous and d.rgb.flags.writeable
    if has_alpha:
        assert d.alpha is not None and d.alpha.dtype == np.uint8 and d.alpha.shape == shape
    else:
        assert d.alpha is None
    assert isinstance(d.was_color, bool)
    assert isinstance(d.notes, tuple) and all(isinstance(n, str) for n in d.notes)
    if note is not None:
        assert any(note in n for n in d.notes), d.notes
    if check is not None:
        check(d)
    else:  # the pixels themselves, as Pillow alone reads them: zeroed or swapped channels fail here
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bad-exif.jpg's warning is the decoder's note above
            expected = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        np.testing.assert_array_equal(d.rgb, expected)


def test_grayscale_stored_as_rgb_is_not_color():
    gray_rgb = Image.merge("RGB", [noise("L", (6, 6))] * 3)
    assert imageio.decode_image(save(gray_rgb, "PNG"), "g.png").was_color is False
    assert imageio.decode_image(save(noise("RGB", (6, 6)), "PNG"), "c.png").was_color is True


@pytest.mark.parametrize("make, is_gray", [
    (lambda: noise("L", (7, 5)), True),
    (lambda: Image.merge("RGB", [noise("L", (7, 5))] * 3), True),
    (lambda: Image.merge("LA", [noise("L", (7, 5)), noise("L", (7, 5))]), True),
    (lambda: noise("RGB", (7, 5)), False),
])
def test_gray_files_carry_their_levels_for_the_colorizer(make, is_gray):
    """``gray`` is the levels of a gray file (each channel of ``rgb``), and ``pixels`` hands them to the
    colorizer; a colour file has none and hands over its RGB."""
    d = imageio.decode_image(save(make(), "PNG"), "x.png")
    if is_gray:
        assert d.gray.shape == (5, 7) and d.gray.dtype == np.uint8 and d.gray.flags.c_contiguous
        for channel in range(3):
            np.testing.assert_array_equal(d.gray, d.rgb[..., channel])
        assert d.pixels is d.gray and d.gray.std() > 0
    else:
        assert d.gray is None and d.pixels is d.rgb


def test_a_colour_pixel_under_full_transparency_leaves_no_gray_levels():
    """Gray where visible (``was_color`` False), but the hidden pixel's colour is not in any level plane:
    the colorizer gets the RGB."""
    rgba = np.full((4, 4, 4), 90, np.uint8)
    rgba[..., 3] = 255
    rgba[0, 0] = (250, 0, 0, 0)
    d = imageio.decode_image(save(Image.fromarray(rgba, "RGBA"), "PNG"), "t.png")
    assert not d.was_color and d.gray is None and d.pixels is d.rgb
    # What it shows: every pixel but the hidden one (alpha 1 counts as shown; only 0 hides).
    rgba[0, 1, 3] = 1
    expected = np.ones((4, 4), bool)
    expected[0, 0] = False
    assert np.array_equal(imageio.decode_image(save(Image.fromarray(rgba, "RGBA"), "PNG"), "t.png").visible, expected)


def test_fully_opaque_alpha_is_reported_as_none():
    d = imageio.decode_image(save(Image.new("RGBA", (4, 4), (5, 6, 7, 255)), "PNG"), "o.png")
    assert d.alpha is None and d.visible is None


# --------------------------------------------------------------------------- #
# Broken
# --------------------------------------------------------------------------- #

_jpeg = save(noise("RGB", (64, 64)), "JPEG", quality=90)
_png = save(noise("RGB", (64, 64)), "PNG")
_png_flipped = bytearray(_png)
_png_flipped[len(_png) // 2] ^= 0xFF  # damage the compressed IDAT stream

BROKEN_CASES = [
    ("empty.png", b"", "empty file"),
    ("notes.png", b"Shopping list:\n- milk\n- eggs\n", "not an image"),
    ("page.jpg", b"<!DOCTYPE html>\n<html><head><title>404</title></head></html>", "HTML"),
    # Said so a class can act on it (session 39: "corrupt or truncated JPEG file (OSError: …)" read as jargon).
    ("truncated.jpg", _jpeg[: len(_jpeg) // 2], "the JPEG file is damaged or incomplete; save or download it again"),
    ("truncated.png", _png[: len(_png) // 2], "the PNG file is damaged or incomplete; save or download it again"),
    ("damaged.png", bytes(_png_flipped), "damaged or incomplete"),
    ("header-only.png", _png[:12], "damaged or incomplete"),
    ("clip.png", b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00" * 64, "clips go on the Video page"),
    ("logo.svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>', "SVG"),
    ("logo.png", b'<svg width="10" height="10"><rect/></svg>', "SVG"),
    ("mystery.bin", bytes(range(256)) * 4, "unknown"),
    ("doc.png", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "PDF"),
    ("iphone.jpg", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64, "HEIC"),
    ("bomb.png", bomb_png(60_000, 60_000), "60000x60000 = 3,600,000,000 pixels"),
    ("big.png", bomb_png(8000, 8000), "8000x8000"),
    ("limit.png", bomb_png(8000, 8000), "COLORIZER_MAX_PIXELS"),
]


@pytest.mark.parametrize("name,data,keyword", BROKEN_CASES, ids=[c[0] for c in BROKEN_CASES])
def test_broken_files_raise_one_line_image_error(name, data, keyword):
    with pytest.raises(imageio.ImageError) as info:
        imageio.decode_image(data, name)
    err = info.value
    message = str(err)
    assert message.startswith(f"{name}: ")
    assert "\n" not in message and "\r" not in message
    assert err.name == name and message == f"{name}: {err.reason}"
    assert keyword.lower() in err.reason.lower(), err.reason
    assert len(message) < 400
    assert isinstance(err, ValueError)
    if "damaged or incomplete" in err.reason:  # the decoder's own words kept, last, for whoever reports it
        assert re.search(r"\((the header could not be read|its header could not be read|\w+(Error|Exception)?: .+)\)$",
                         err.reason), err.reason


def test_bomb_is_refused_fast_without_allocating(monkeypatch):
    loads = []
    original_load = ImageFile.ImageFile.load
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loads.append(1) or original_load(self))
    for width, height in ((60_000, 60_000), (8000, 8000)):
        data = bomb_png(width, height)
        assert len(data) < 200
        tracemalloc.start()
        try:
            with pytest.raises(imageio.ImageError, match="too large"):
                imageio.decode_image(data, "bomb.png")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # Fast because nothing is decoded: the spy (no load) and the peak say so without a clock.
        assert peak < 50 * 1024 * 1024
    assert loads == []  # refused from the header: pixel data never decoded
    imageio.decode_image(bomb_png(8, 1), "ok.png")  # control: the spy does see loads
    assert loads


def test_pillow_bomb_warning_does_not_escape():
    # Between Pillow's warning (~89 MP) and error (~179 MP) thresholds.
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any leaked warning fails the test
        with pytest.raises(imageio.ImageError, match="too large"):
            imageio.decode_image(bomb_png(10_000, 10_000), "b.png", max_pixels=10**12)


def test_message_sanitises_newlines_in_name():
    err = imageio.ImageError("evil\nname.png", "bad\r\nthing")
    assert str(err) == "evil name.png: bad thing"


def test_a_name_of_any_length_is_one_short_line():
    """An upload's name is its sender's to choose: 100,000 characters made a "one line" of as many (session 44)."""
    err = imageio.ImageError("x" * 100_000 + ".png", "not an image")
    assert len(err.name) == imageio.MAX_NAME_CHARS and err.name.endswith("...") and len(str(err)) < 250


def test_a_png_whose_metadata_is_over_pillows_limits_is_not_called_damaged():
    """A valid 8×8 PNG whose color profile inflates past Pillow's 1 MB, or whose text chunks pass its 64 MB: the
    picture may be fine, and "save or download it again" would not help (session 44's abuse audit)."""
    from PIL import PngImagePlugin

    pixels = zlib.compress(b"".join(b"\x00" + bytes(range(8)) for _ in range(8)))
    ihdr = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0))
    profile = png_chunk(b"iCCP", b"big\x00\x00" + zlib.compress(b"\x00" * (2 * PngImagePlugin.MAX_TEXT_CHUNK)))
    png = b"\x89PNG\r\n\x1a\n" + ihdr + profile + png_chunk(b"IDAT", pixels) + png_chunk(b"IEND", b"")
    with pytest.raises(imageio.ImageError) as refused:
        imageio.decode_image(png, "profile.png")
    assert str(refused.value).startswith("profile.png: its metadata (a color profile or text) is too large to read; "
                                         "save the PNG again without it (ValueError: ")
    assert "damaged" not in str(refused.value)
    # A truly damaged PNG still says so.
    with pytest.raises(imageio.ImageError, match="damaged or incomplete"):
        imageio.decode_image(b"\x89PNG\r\n\x1a\n" + ihdr + png_chunk(b"IDAT", pixels[:5]), "cut.png")


def test_image_error_pickles():
    err = pickle.loads(pickle.dumps(imageio.ImageError("a.png", "empty file")))
    assert (err.name, err.reason, str(err)) == ("a.png", "empty file", "a.png: empty file")


def test_non_bytes_is_a_programming_error():
    with pytest.raises(TypeError):
        imageio.decode_image("not bytes", "x.png")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- #
# Pixel limit configuration
# --------------------------------------------------------------------------- #

_20x20 = save(Image.new("RGB", (20, 20)), "PNG")


def test_max_pixels_argument():
    with pytest.raises(imageio.ImageError) as info:
        imageio.decode_image(_20x20, "x.png", max_pixels=399)
    assert "20x20" in info.value.reason and "399" in info.value.reason
    assert imageio.decode_image(_20x20, "x.png", max_pixels=400).rgb.shape == (20, 20, 3)


def test_module_max_pixels_is_read_at_call_time(monkeypatch):
    monkeypatch.setattr(imageio, "MAX_PIXELS", 399)
    with pytest.raises(imageio.ImageError, match="COLORIZER_MAX_PIXELS"):
        imageio.decode_image(_20x20, "x.png")


# decode_budget.plan on its own, at a budget of 1,000 pixels (16,000 bytes of decoding): each of its limits,
# just over and just under. The hostile files that meet them (tests/test_abuse.py) are in the slow tier.
def test_plan_refuses_beyond_four_times_the_budget_and_a_jpeg_beyond_64_times():
    from colorizer.decode_budget import BudgetError, Plan, Structure, plan

    assert plan(None, (63, 63), "L", 1000, fit=True) == Plan(1, (31, 31))  # 3,969 pixels: decoded, then shrunk
    with pytest.raises(BudgetError, match=r"64x63 = 4,032 pixels; pictures over 1,000 pixels are shrunk while they decode, up to 4,000"):
        plan(None, (64, 63), "L", 1000, fit=True)
    assert plan(Structure("JPEG", 252, 252, components=3), (252, 252), "RGB", 1000, fit=True).jpeg_scale == 8
    with pytest.raises(BudgetError, match="up to 64,000 for a JPEG"):
        plan(Structure("JPEG", 253, 253, components=3), (253, 253), "RGB", 1000, fit=True)


def test_plan_refuses_a_decode_that_would_hold_more_than_its_memory():
    from colorizer.decode_budget import BudgetError, Plan, Structure, plan

    # 2,500 pixels (within 4× the budget) of 8-bit gray hold 2 bytes each, of RGB 8: 5,000 and 20,000 bytes.
    assert plan(None, (50, 50), "L", 1000, fit=True) == Plan(1, (31, 31))
    with pytest.raises(BudgetError, match=r"50x50: decoding it whole before shrinking needs about"):
        plan(None, (50, 50), "RGB", 1000, fit=True)
    # A progressive JPEG buffers every DCT coefficient (2 bytes a sample), at whatever scale it decodes.
    progressive, baseline = (Structure("JPEG", 200, 200, components=3, progressive=p) for p in (True, False))
    assert plan(baseline, (200, 200), "RGB", 1000, fit=True).jpeg_scale == 8
    with pytest.raises(BudgetError, match="its coefficient buffer and decoding at 1/8 scale"):
        plan(progressive, (200, 200), "RGB", 1000, fit=True)
    # Within the budget's pixels, only a JPEG of more components than any photo has can pass its memory.
    assert plan(Structure("JPEG", 30, 30, components=8, progressive=True), (30, 30), "RGB", 1000, fit=False) == Plan()
    with pytest.raises(BudgetError, match="a progressive JPEG's coefficient buffer"):
        plan(Structure("JPEG", 30, 30, components=9, progressive=True), (30, 30), "RGB", 1000, fit=False)


def _fresh_copy_of_module(monkeypatch, env_value: str):
    """Execute imageio.py again as a private module, so the shared one is untouched."""
    monkeypatch.setenv("COLORIZER_MAX_PIXELS", env_value)
    name = "_imageio_env_copy"
    spec = importlib.util.spec_from_file_location(name, imageio.__file__)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)  # dataclasses needs it registered
    spec.loader.exec_module(module)
    return module


def test_env_var_sets_the_limit(monkeypatch):
    module = _fresh_copy_of_module(monkeypatch, "399")
    assert module.MAX_PIXELS == 399
    with pytest.raises(module.ImageError, match="399"):
        module.decode_image(_20x20, "x.png")
    assert _fresh_copy_of_module(monkeypatch, "120_000_000").MAX_PIXELS == 120_000_000


def test_invalid_env_var_falls_back_to_default(monkeypatch):
    with pytest.warns(RuntimeWarning, match="COLORIZER_MAX_PIXELS"):
        module = _fresh_copy_of_module(monkeypatch, "lots")
    assert module.MAX_PIXELS == 12_000_000


def test_default_limit():
    assert imageio.DEFAULT_MAX_PIXELS == 12_000_000
    assert "COLORIZER_MAX_PIXELS" in imageio.__doc__


# --------------------------------------------------------------------------- #
# read_image / encode_png / constants
# --------------------------------------------------------------------------- #


def test_read_image(tmp_path):
    path = tmp_path / "photo.png"
    path.write_bytes(rgba_png())
    d = imageio.read_image(path)
    assert d.name == "photo.png" and d.rgb.shape == (6, 10, 3) and d.alpha is not None
    assert imageio.read_image(str(path)).name == "photo.png"


def test_read_image_unreadable_paths(tmp_path):
    """Named by the path as given: a/x.jpg and b/x.jpg are two files (the app's uploads go through decode_image)."""
    with pytest.raises(imageio.ImageError) as caught:
        imageio.read_image(tmp_path / "missing.jpg")
    assert str(caught.value) == f"{tmp_path / 'missing.jpg'}: file not found"
    folder = tmp_path / "folder.png"
    folder.mkdir()
    with pytest.raises(imageio.ImageError, match="directory"):
        imageio.read_image(folder)
    (tmp_path / "empty.jpg").write_bytes(b"")
    with pytest.raises(imageio.ImageError) as caught:
        imageio.read_image(tmp_path / "empty.jpg")
    assert str(caught.value) == f"{tmp_path / 'empty.jpg'}: empty file"


def test_encode_png_roundtrip():
    rgb = np.asarray(noise("RGB", (7, 5)))
    alpha = np.arange(35, dtype=np.uint8).reshape(5, 7)
    back = Image.open(io.BytesIO(imageio.encode_png(rgb)))
    assert back.mode == "RGB" and (np.asarray(back) == rgb).all()
    back = Image.open(io.BytesIO(imageio.encode_png(rgb, alpha)))
    assert back.mode == "RGBA"
    assert (np.asarray(back)[..., :3] == rgb).all() and (np.asarray(back)[..., 3] == alpha).all()
    d = imageio.decode_image(imageio.encode_png(rgb, alpha), "rt.png")
    assert (d.rgb == rgb).all() and (d.alpha == alpha).all()


@pytest.mark.parametrize(
    "rgb,alpha",
    [
        (np.zeros((4, 4), np.uint8), None),
        (np.zeros((4, 4, 3), np.float32), None),
        (np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5), np.uint8)),
    ],
)
def test_encode_png_rejects_bad_arrays(rgb, alpha):
    with pytest.raises(ValueError):
        imageio.encode_png(rgb, alpha)


def test_supported_extensions_and_all():
    assert imageio.SUPPORTED_EXTENSIONS == ("png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff")
    for public in ("MAX_PIXELS", "ImageError", "DecodedImage", "decode_image", "read_image",
                   "encode_png", "SUPPORTED_EXTENSIONS"):
        assert public in imageio.__all__


# --------------------------------------------------------------------------- #
# Property-based
# --------------------------------------------------------------------------- #

_SIGNATURES = [b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF89a", b"BM", b"II*\x00",
               b"MM\x00*", b"RIFF\x00\x00\x00\x00WEBPVP8 ", b"<svg", b"%PDF"]


@settings(max_examples=500, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(prefix=st.sampled_from(_SIGNATURES), body=st.binary(max_size=4096))
def test_random_bytes_decode_or_raise_image_error(prefix, body):
    data = prefix + body
    try:
        d = imageio.decode_image(data, "random.bin", max_pixels=1_000_000)
    except imageio.ImageError as err:
        assert str(err).startswith("random.bin: ") and "\n" not in str(err)
    else:
        assert d.rgb.dtype == np.uint8 and d.rgb.ndim == 3 and d.rgb.shape[2] == 3


_MODES = ("L", "LA", "RGB", "RGBA", "P", "I;16", "CMYK", "1")
_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "TIFF", "GIF")


def _writable(fmt: str, mode: str) -> bool:
    try:
        save(Image.new(mode, (2, 2)), fmt)
    except (OSError, ValueError, KeyError):
        return False
    return True


# Only (format, mode) pairs this Pillow can write (JPEG has no alpha, GIF no CMYK, ...).
_COMBOS = [(fmt, mode) for fmt in _FORMATS for mode in _MODES if _writable(fmt, mode)]
_BYTES_PER_PIXEL = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4, "P": 1, "I;16": 2, "CMYK": 4}


def random_image(mode: str, width: int, height: int, seed: int) -> Image.Image:
    rng = np.random.default_rng(seed)
    if mode == "1":
        size = (width + 7) // 8 * height
    else:
        size = width * height * _BYTES_PER_PIXEL[mode]
    im = Image.frombytes(mode, (width, height), rng.integers(0, 256, size, dtype=np.uint8).tobytes())
    if mode == "P":
        im.putpalette(rng.integers(0, 256, 768, dtype=np.uint8).tobytes())
    return im


@settings(max_examples=200, deadline=None, derandomize=True, database=None)
@given(
    combo=st.sampled_from(_COMBOS),
    width=st.integers(1, 64),
    height=st.integers(1, 64),
    seed=st.integers(0, 2**32 - 1),
)
def test_random_valid_images_decode(combo, width, height, seed):
    fmt, mode = combo
    source = random_image(mode, width, height, seed)
    data = save(source, fmt)
    d = imageio.decode_image(data, f"random.{fmt.lower()}")
    assert d.rgb.dtype == np.uint8 and d.rgb.shape == (height, width, 3)
    if fmt in ("PNG", "BMP", "TIFF") and mode in ("L", "RGB", "P", "1"):  # lossless: the very pixels saved
        np.testing.assert_array_equal(d.rgb, np.asarray(source.convert("RGB")))
    assert d.alpha is None or (d.alpha.dtype == np.uint8 and d.alpha.shape == (height, width))
    if mode in ("L", "1", "I;16") and fmt in ("PNG", "TIFF", "BMP"):
        assert d.was_color is False


_SEEDS = [c[1] for c in VALID_CASES if len(c[1]) < 20_000]


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(
    seed=st.sampled_from(_SEEDS),
    cut=st.floats(0.0, 1.0),
    edits=st.lists(st.tuples(st.floats(0.0, 1.0, exclude_max=True), st.integers(0, 255)), max_size=8),
)
def test_damaged_valid_files_decode_or_raise_image_error(seed, cut, edits):
    """Truncated / bit-flipped versions of real files: the realistic broken uploads."""
    data = bytearray(seed[: max(1, int(len(seed) * cut))] if cut < 0.5 else seed)
    for where, value in edits:
        data[int(where * len(data))] = value
    try:
        d = imageio.decode_image(bytes(data), "damaged.png", max_pixels=4_000_000)
    except imageio.ImageError as err:
        assert str(err).startswith("damaged.png: ") and "\n" not in str(err)
    else:
        assert d.rgb.dtype == np.uint8 and d.rgb.ndim == 3 and d.rgb.shape[2] == 3


def test_concurrent_decodes_leave_warning_filters_untouched():
    from concurrent.futures import ThreadPoolExecutor

    before = list(warnings.filters)
    inputs = [(c[0], c[1]) for c in VALID_CASES] + [(c[0], c[1]) for c in BROKEN_CASES]

    def decode(i):
        name, data = inputs[i % len(inputs)]
        try:
            return imageio.decode_image(data, name).rgb.shape
        except imageio.ImageError:
            return None

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(decode, range(4 * len(inputs))))
    assert sum(r is not None for r in results) == 4 * len(VALID_CASES)
    assert list(warnings.filters) == before


def _png_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def test_read_image_allows_the_local_limit_where_an_upload_is_refused(tmp_path, monkeypatch):
    """A machine's own files (the CLI, training) are read up to ``LOCAL_MAX_PIXELS``; a visitor's upload stops at
    ``MAX_PIXELS``."""
    monkeypatch.setattr(imageio, "MAX_PIXELS", 100)
    monkeypatch.setattr(imageio, "LOCAL_MAX_PIXELS", 10_000)
    data = _png_bytes(np.full((50, 40, 3), 90, np.uint8))
    (tmp_path / "mine.png").write_bytes(data)
    assert imageio.read_image(tmp_path / "mine.png").rgb.shape == (50, 40, 3)
    with pytest.raises(imageio.ImageError, match=r"^upload.png: "):
        imageio.decode_image(data, "upload.png")


def test_a_local_file_over_50_megapixels_is_refused_from_its_header(tmp_path):
    """The local limit is 50 MP (a mutation audit raised it 100-fold unseen: every test set its own): a header
    claiming 8000×7000 (56 MP) is one line, read before a pixel is decoded."""
    assert imageio.LOCAL_MAX_PIXELS == max(imageio.MAX_PIXELS, 50_000_000)
    (tmp_path / "huge.png").write_bytes(bomb_png(8000, 7000))
    with pytest.raises(imageio.ImageError, match=r"huge.png: .*8000x7000"):
        imageio.read_image(tmp_path / "huge.png")


def test_fit_shrinks_a_png_to_the_limit_and_says_so():
    rgb = np.random.default_rng(0).integers(0, 256, (80, 100, 3), dtype=np.uint8)
    decoded = imageio.decode_image(_png_bytes(rgb), "big.png", max_pixels=6000, fit=True)
    height, width = decoded.rgb.shape[:2]
    assert height * width <= 6000 and abs(width / height - 100 / 80) < 0.1
    assert any(note.startswith(f"shrunk from 100x80 to {width}x{height} to fit the limit of 6,000 pixels")
               for note in decoded.notes), decoded.notes


def test_a_16_bit_gray_pngs_colour_key_stays_transparent_when_it_is_shrunk():
    """Session 33's note: a 16-bit gray PNG's tRNS key became an alpha at its own size but was dropped when the
    picture was shrunk to the limit (Pillow keeps no 16-bit gray with alpha): the keyed half came out opaque."""
    values = np.full((80, 100), 40_000, np.uint16)
    values[:, :50] = 7  # the key: the left half is transparent
    values[:, 50:75] = 65_535
    data = save(Image.fromarray(values), "PNG", transparency=7)
    whole = imageio.decode_image(data, "keyed.png")
    shrunk = imageio.decode_image(data, "keyed.png", max_pixels=6000, fit=True)
    for decoded in (whole, shrunk):
        width = decoded.rgb.shape[1]
        assert decoded.alpha is not None, decoded.notes
        assert decoded.alpha[:, : width // 2 - 2].max() == 0 and decoded.alpha[:, width // 2 + 2:].min() == 255
        # 65,535 and 40,000 scaled to 8 bits, whole or averaged
        assert (decoded.rgb[:, width // 2 + 2: width * 3 // 4 - 2] == 255).all()
        assert (decoded.rgb[:, width * 3 // 4 + 2:] == 156).all()
        assert "16-bit image reduced to 8 bits" in decoded.notes and "transparency kept as alpha channel" in decoded.notes
    assert shrunk.rgb.shape[0] * shrunk.rgb.shape[1] <= 6000 and any(n.startswith("shrunk from 100x80") for n in shrunk.notes)


def test_an_unexpected_failure_inside_the_decoder_is_one_named_line(monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(imageio, "_decode", boom)
    with pytest.raises(imageio.ImageError) as caught:
        imageio.decode_image(b"\x89PNG anything", "odd.png")
    assert str(caught.value) == "odd.png: could not decode image (RuntimeError: boom second line)"


def test_reasons_are_bounded_and_say_which_guard_refused():
    from colorizer import imageio_reasons as reasons

    line = reasons.one_line("word " * 100, 50)
    assert len(line) == 50 and line.endswith("...") and "\n" not in line
    assert len(reasons.describe(ValueError("x" * 1000))) == reasons.MAX_DETAIL_CHARS
    # Over our own limit: said our way, with the size read from the header (a GIF's is width then height).
    gif = b"GIF89a" + struct.pack("<HH", 300, 200) + b"\x00" * 8
    ours = reasons.pillow_bomb_reason(Exception("Image size (60000 pixels) exceeds limit"), gif, max_pixels=1000)
    assert ours == reasons.too_large_reason(60000, 1000, "300x200") and "300x200" in ours
    # Within our limit but over Pillow's own guard: raising our setting alone would not help.
    pillows = reasons.pillow_bomb_reason(Exception("Image size (60000 pixels) exceeds limit"), gif, max_pixels=100_000)
    assert "Pillow's decompression-bomb guard (60,000 pixels" in pillows and "alone is not enough" in pillows
    # A JPEG the page would shrink while decoding: its limit is Pillow's, not the 12 MP budget (session 38's
    # hostile-input audit: a 192 MP JPEG was told "the limit is 12,000,000 pixels"); no size from the header: no "=".
    from PIL import Image

    jpeg = reasons.pillow_bomb_reason(Exception("Image size (192000000 pixels) exceeds limit"), b"\xff\xd8",
                                      max_pixels=12_000_000, reduced_jpeg=True)
    assert jpeg == (f"image too large (192,000,000 pixels; a JPEG is shrunk while it is decoded, up to "
                    f"{2 * Image.MAX_IMAGE_PIXELS:,} pixels, the most Pillow opens)")
    assert reasons.too_large_reason(60000, 1000).startswith("image too large (60,000 pixels; the limit is 1,000 pixels)")


def test_a_color_photo_is_decoded_without_a_whole_picture_copy_beside_its_array():
    """Session 35's profile of a 12 MP color upload: ``np.array`` of Pillow's picture went through a whole-picture
    bytes copy, and the gray check held three boolean planes; filled and checked a strip of rows at a time, the
    decode's numpy and Python peak is the array and a third (it was twice the array)."""
    import io

    rng = np.random.default_rng(0)
    rgb = np.repeat(np.repeat(rng.integers(0, 256, (150, 200, 3), dtype=np.uint8), 10, 0), 10, 1)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="PNG")
    tracemalloc.start()
    try:
        decoded = imageio.decode_image(buffer.getvalue(), "big.png")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(decoded.rgb, rgb)
    assert decoded.was_color and decoded.gray is None
    assert peak < 1.7 * rgb.nbytes, peak / rgb.nbytes  # 1.52 here; 2.18 with the whole-picture copy
