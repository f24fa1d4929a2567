"""Builders for tests/test_robustness.py: odd-but-valid and broken image files, tiny checkpoints,
hostile checkpoints, and the child process that the kill test kills.

Everything is seeded and small; nothing here imports TensorFlow at import time (the builders that
need Keras import it when called).
"""
from __future__ import annotations

import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

# --------------------------------------------------------------------------- images


def encode(im: Image.Image, fmt: str, **kwargs) -> bytes:
    buf = io.BytesIO()
    im.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def gradient_photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A seeded uint8 RGB H×W×3 "photo": smooth color gradients plus a flat rectangle."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy, xx = yy / max(h - 1, 1), xx / max(w - 1, 1)
    f, p = rng.uniform(0.5, 2.0, 3), rng.uniform(0, 2 * np.pi, 3)
    image = np.stack([0.5 + 0.4 * np.sin(2 * np.pi * f[0] * xx + p[0]),
                      0.5 + 0.4 * np.cos(2 * np.pi * f[1] * yy + p[1]),
                      0.5 + 0.4 * np.sin(2 * np.pi * f[2] * (xx + yy) / 2 + p[2])], axis=-1)
    top, left = int(rng.integers(0, max(1, h // 2))), int(rng.integers(0, max(1, w // 2)))
    image[top:top + max(1, h // 3), left:left + max(1, w // 4)] = rng.uniform(0.1, 0.9, 3)
    return np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8)


def gray_photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """uint8 gray H×W: the luma of ``gradient_photo``."""
    rgb = gradient_photo(h, w, seed).astype(np.float32)
    return np.clip(rgb @ np.array([0.299, 0.587, 0.114], np.float32) + 0.5, 0, 255).astype(np.uint8)


def _rgba_png() -> bytes:
    rgb = gradient_photo(12, 20, seed=1)
    alpha = np.tile(np.linspace(0, 255, 20).astype(np.uint8), (12, 1))
    return encode(Image.fromarray(np.dstack([rgb, alpha]), "RGBA"), "PNG")


def _la_png() -> bytes:
    gray = gray_photo(10, 15, seed=2)
    alpha = np.full((10, 15), 255, np.uint8)
    alpha[2:5, 3:9] = 40
    return encode(Image.fromarray(np.dstack([gray, alpha]), "LA"), "PNG")


def _palette(size=(16, 10)) -> Image.Image:
    im = Image.fromarray(gradient_photo(size[1], size[0], seed=3)).quantize(16)
    im.putpixel((0, 0), 0)
    return im


def _animated_gif() -> bytes:
    frames = [Image.new("RGB", (18, 12), c) for c in ((200, 40, 40), (40, 200, 40), (40, 40, 200))]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=40, loop=0)


def _gray16_png() -> bytes:
    values = (np.linspace(0, 65535, 14 * 10).reshape(10, 14)).astype(np.uint16)
    return encode(Image.fromarray(values), "PNG")


def _exif_rotated_jpeg() -> bytes:
    """Stored 40 wide × 20 high; EXIF orientation 6 displays it 20 wide × 40 high."""
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(Image.fromarray(gradient_photo(20, 40, seed=4)), "JPEG", exif=exif.tobytes(), quality=95)


def odd_but_valid_files() -> list[tuple[str, bytes, tuple[int, int], bool]]:
    """(file name, bytes, displayed (H, W), has alpha) of files users really upload; unique stems."""
    return [
        ("cmyk.jpg", encode(Image.fromarray(gradient_photo(16, 24, seed=5)).convert("CMYK"), "JPEG"), (16, 24), False),
        ("rgba.png", _rgba_png(), (12, 20), True),
        ("la.png", _la_png(), (10, 15), True),
        ("palette.png", encode(_palette(), "PNG", transparency=0), (10, 16), True),
        ("palette_opaque.gif", encode(_palette(), "GIF"), (10, 16), False),
        ("animated.gif", _animated_gif(), (12, 18), False),
        ("gray16.png", _gray16_png(), (10, 14), False),
        ("lossy.webp", encode(Image.fromarray(gradient_photo(13, 21, seed=6)), "WEBP", quality=80), (13, 21), False),
        ("bitmap.bmp", encode(Image.fromarray(gradient_photo(7, 13, seed=7)), "BMP"), (7, 13), False),
        ("scan.tiff", encode(Image.fromarray(gray_photo(9, 11, seed=8)), "TIFF", compression="tiff_lzw"), (9, 11), False),
        ("rotated.jpg", _exif_rotated_jpeg(), (40, 20), False),
        ("one_pixel.png", encode(Image.new("L", (1, 1), 77), "PNG"), (1, 1), False),
        ("strip_wide.png", encode(Image.fromarray(gray_photo(6, 3000, seed=9)), "PNG"), (6, 3000), False),
        ("strip_tall.png", encode(Image.fromarray(gray_photo(3000, 6, seed=10)), "PNG"), (3000, 6), False),
        ("already_color.jpg", encode(Image.fromarray(gradient_photo(48, 64, seed=11)), "JPEG", quality=92), (48, 64), False),
    ]


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)


def bomb_png(width: int = 60_000, height: int = 60_000) -> bytes:
    """A ~100-byte PNG whose header claims width × height 8-bit gray pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + _png_chunk(b"IEND", b""))


def broken_files() -> list[tuple[str, bytes | None, str]]:
    """(file name, bytes or None for "no such file", a word the reason must contain)."""
    jpeg = encode(Image.fromarray(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)), "JPEG")
    return [
        ("empty.png", b"", "empty"),
        ("notes.png", b"Shopping list:\n- milk\n- eggs\n", "not an image"),
        ("page.jpg", b"<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head><body></body></html>\n", "HTML"),
        ("truncated.jpg", jpeg[: len(jpeg) // 2], "truncated"),
        ("logo.svg", b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"/>\n', "SVG"),
        ("bomb.png", bomb_png(), "too large"),
        ("missing.png", None, "not found"),
    ]


# --------------------------------------------------------------------------- checkpoints


def save_cifar_checkpoint(folder: Path, seed: int = 0, size: int = 32, fill: float | None = None) -> Path:
    """A tiny cifar_ae checkpoint folder (model.keras + card.json + history.csv), as training writes one.

    ``fill`` sets every weight to that constant: the kill test reads the version back from the weights.
    """
    import keras

    from colorizer import checkpoints
    from colorizer.models import cifar_ae

    keras.utils.set_random_seed(seed)
    model = cifar_ae.build(size)
    if fill is not None:
        model.set_weights([np.full(w.shape, fill, w.dtype) for w in model.get_weights()])
    checkpoints.save_model_atomic(model, Path(folder) / "model.keras")
    checkpoints.write_card(folder, {"name": Path(folder).name, "architecture": "cifar_ae", "working_size": size,
                                    "parameters": {"total": int(model.count_params())}})
    checkpoints.atomic_write_text(Path(folder) / "history.csv",
                                  "epoch,learning_rate,loss,val_loss\n0,0.001,0.5,0.6\n")
    return Path(folder)


def small_keras_members() -> dict[str, bytes]:
    """The members of a real, tiny .keras file (a 4 → 2 Dense model): raw material for hostile zips."""
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, name="dense")], name="small")
    with zipfile.ZipFile(_saved(model, "small.keras")) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _saved(model, name: str) -> io.BytesIO:
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        model.save(path)
        return io.BytesIO(path.read_bytes())


def write_zip(path: Path, members: dict[str, bytes], compression=zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def lambda_model_file(path: Path) -> Path:
    """A model whose Lambda layer would run arbitrary Python (its bytecode is stored in the file)."""
    import keras

    inp = keras.Input((4, 4, 1))
    out = keras.layers.Lambda(lambda x: x * 2.0, name="code")(inp)
    keras.Model(inp, out, name="with_lambda").save(path)
    return path


def config_with(members: dict[str, bytes], mutate) -> dict[str, bytes]:
    """``members`` with config.json passed through ``mutate(config) -> config``."""
    config = mutate(json.loads(members["config.json"]))
    return {**members, "config.json": json.dumps(config).encode()}


OS_SYSTEM = {"module": "os", "class_name": "system", "registered_name": "system",
             "config": {"command": "touch pwned"}}


def with_layer(config: dict, layer: dict) -> dict:
    config["config"]["layers"][-1] = layer
    return config


# --------------------------------------------------------------------------- the kill test's child

# Runs in a fresh interpreter (``python -c``) that imports only colorizer.checkpoints: no TensorFlow, so
# it starts in a fraction of a second and can be killed several times within a test's budget. Its
# "model" writes the bytes of real .keras files made by ``model.save`` in the test process, in the
# 64 KB pieces a zip writer produces; what is under test is the write → fsync → rename protocol of
# ``save_model_atomic``, ``atomic_write_text`` and ``write_card``.
KILL_CHILD = r"""
import sys
from pathlib import Path

from colorizer import checkpoints

folder, sources, first = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
versions = {int(p.stem[1:]): p.read_bytes() for p in sources.glob("v*.keras")}


class PrebuiltModel:
    def __init__(self, data):
        self.data = data

    def save(self, path):
        with open(path, "wb") as f:
            for start in range(0, len(self.data), 1 << 16):
                f.write(self.data[start:start + (1 << 16)])


print("ready", flush=True)
i = first
while True:
    version = 1 + i % len(versions)
    print(f"start {i} {version}", flush=True)
    checkpoints.save_model_atomic(PrebuiltModel(versions[version]), folder / "model.keras")
    print(f"saved {i} {version}", flush=True)
    rows = "".join(f"{e},0.001,{1 / (e + 1):.6f},{1 / (e + 2):.6f}\n" for e in range(i + 1))
    checkpoints.atomic_write_text(folder / "history.csv", "epoch,learning_rate,loss,val_loss\n" + rows)
    checkpoints.write_card(folder, {"name": folder.name, "working_size": 16, "save": i, "version": version})
    i += 1
"""
