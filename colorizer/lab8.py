"""8-bit Lab: the fast path of the full-resolution join, one table lookup per output pixel.

Why it exists: at 1 MP, converting every output pixel from Lab to RGB (OpenCV's float and 8-bit
conversions both cost about 5 ns a pixel on one core) plus the full-size float buffers around it took
more time than a small network. Here the photo's lightness is kept in 8 bits, the predicted chroma is
interpolated row by row, and the RGB of every (L, a, b) comes from a table computed once per process:
a gather instead of a colour conversion, in one compiled pass (``colorizer.lab8_kernels``).

Contract
- ``lightness8(image)``: uint8 gray H×W or RGB H×W×3 → uint8 ``L8`` H×W with L8 = round(L·255/100),
  OpenCV's 8-bit Lab scale (L as ``color.luminance`` computes it: |L8·100/255 − L| ≤ 0.2).
- ``shrink(plane, (h, w))``: uint8 H×W (or H×W×C) → h×w: area averaging (bilinear when growing).
- ``lightness8_and_shrunk(image, (h, w))``: (L8, its shrink to h×w), in one pass over a gray photo.
- ``L_of(L8)``: float32 L in [0, 100].
- ``join(L8, ab_small)``: ``L8`` H×W + predicted a, b (h×w×2, Lab units, any h, w) → uint8 RGB H×W×3,
  the a, b upsampled bilinearly (as ``color.join_lab``).
- ``join_guided(L8, gain, offset)``: the same with ab = gain↑·(L/100) + offset↑ (as
  ``color.join_lab_guided``; ``colorizer.upsample.guided_coefficients`` makes gain and offset).
- ``warm_up()``: builds the table and compiles the kernels (about 4 s the first time on a machine,
  then read from numba's cache), so that the first colorization does not wait for them.
Accuracy (``tests/test_lab8.py``): the output's L is the input's within 1 wherever the colour is inside
the sRGB gamut; a and b are rounded to the table's steps of 2 (error ≤ 1 each: ΔE ≤ 1.5, below the
≈ 2.3 of a just-noticeable difference). Chroma that is not finite (a diverged network) joins as gray.
Memory: the table is 128 × 128 × 256 × 4 bytes = 16.8 MB, built on first use; a join holds two rows
of coordinates per row of the network's output grid besides its result.
Without Numba (``ACCELERATED`` False, a warning in the log) the same loops run in numpy
(``colorizer.lab8_numpy``): the same results, a few times slower, instead of no colorization at all.
The loops' module (Numba's or numpy's) is imported by the first call that runs a loop (the lightness of an RGB photo,
the shrink, a join) or by ``warm_up``, not with this one, which the app's first page imports before any colorization
(``ACCELERATED`` asks, and so imports it).
"""
from __future__ import annotations

import logging
import threading

import cv2
import numpy as np

from colorizer import color, lab8_numpy

__all__ = ["ACCELERATED", "lightness8", "lightness8_and_shrunk", "shrink", "L_of", "join", "join_guided", "table", "warm_up", "STEP", "ORIGIN", "SIZE"]

# The table's grid (``lab8_kernels``, where the kernels read it; ``lab8_numpy`` holds the same, tested), the same for
# a and b: index i holds 2i − 128 (i < 128), so 0 is on it. Steps of 2 keep the table small (16.8 MB; with steps of 1 it is
# 67 MB and the gathers run twice as slow). Lightness is the last, fastest-varying index: neighbouring
# pixels share a chroma and differ in lightness, so their entries lie within 1 kB of each other.
STEP, ORIGIN, SIZE = lab8_numpy.STEP, lab8_numpy.ORIGIN, lab8_numpy.SIZE

_loops = None  # the module that runs the loops: lab8_kernels (Numba), or lab8_numpy where Numba is missing
_loops_lock = threading.Lock()


def _loops_module():
    """The loops' module, imported on first use (the warm-up's, in the app). Not at import: Numba's own import costs
    0.4 s of a new server's first page, before its heading draws, and ``ui.loaders`` imports this module."""
    global _loops
    if _loops is not None:
        return _loops
    with _loops_lock:
        if _loops is None:
            try:
                from colorizer import lab8_kernels as loops
            except ImportError as missing:  # numba, llvmlite or its threading layer: run the loops in numpy
                loops = lab8_numpy
                logging.getLogger(__name__).warning(
                    "Numba is not available (%s): the 8-bit Lab join runs in numpy, a few times slower. "
                    "pip install -r requirements.txt installs it.", missing)
            _loops = loops
    return _loops


def __getattr__(name: str):
    """``ACCELERATED``: whether the loops run compiled (Numba), not in numpy; asking imports them."""
    if name == "ACCELERATED":
        return _loops_module() is not lab8_numpy
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# Rows of RGB converted through the float path at a time (a few MB of temporaries for any photo size).
_STRIP_PIXELS = 1 << 18

_table: np.ndarray | None = None
_table_lock = threading.Lock()

# L8 of each gray level, from the same float conversion as color.luminance.
_GRAY_TO_L8 = cv2.convertScaleAbs(color.luminance(np.arange(256, dtype=np.uint8)[None]), alpha=2.55)[0].copy()


def table() -> np.ndarray:
    """The lookup table: uint32 128×128×256, the RGB of (a, b, L8) on the grid above as 0x00BBGGRR
    (one 4-byte read per pixel; built once, thread-safe)."""
    global _table
    if _table is None:
        with _table_lock:
            if _table is None:
                _table = _build_table()
    return _table


def _build_table() -> np.ndarray:
    lab = np.empty((SIZE, 256, 3), np.float32)
    lab[..., 0] = (np.arange(256, dtype=np.float32) * np.float32(100 / 255))[None, :]
    lab[..., 2] = (ORIGIN + STEP * np.arange(SIZE, dtype=np.float32))[:, None]
    entries = np.empty((SIZE, SIZE, 256), np.uint32)
    for i in range(SIZE):  # one value of a at a time: 0.4 MB of float temporaries instead of 50 MB
        lab[..., 1] = ORIGIN + STEP * i
        rgb = color.lab_to_rgb(lab).astype(np.uint32)
        entries[i] = rgb[..., 0] | (rgb[..., 1] << 8) | (rgb[..., 2] << 16)
    return entries


def _rows_of_table() -> np.ndarray:
    """The table as the kernels read it: one row of 256 lightnesses per (a, b), at a·SIZE + b (a view)."""
    return table().reshape(SIZE * SIZE, 256)


def warm_up() -> None:
    """Build the table and compile the kernels (a tiny join of each kind, and the lightness of a tiny
    gray photo as a plane and as RGB: the shrink's block sums, and the row below the blocks)."""
    for shape in ((9, 8), (9, 8, 3)):  # 9 rows: four blocks of 2 rows, then one margin row
        L8, _ = lightness8_and_shrunk(np.zeros(shape, np.uint8), (2, 2))
    ab = np.zeros((2, 2, 2), np.float32)
    join(L8, ab)
    join_guided(L8, ab, ab)


# ---------------------------------------------------------------------------------------------- lightness


def lightness8(image: np.ndarray) -> np.ndarray:
    """uint8 gray H×W or RGB H×W×3 → uint8 L8 H×W (round(L·255/100)).

    Gray pixels (a gray image, or rows of RGB whose channels are equal, as decoded grayscale photos are)
    go through a 256-entry table, in the same pass that finds them; colour rows through
    ``color.luminance``'s float conversion.
    """
    image = np.ascontiguousarray(image)
    if image.ndim == 2:
        return cv2.LUT(image, _GRAY_TO_L8)
    h, w = image.shape[:2]
    L8 = np.empty((h, w), np.uint8)
    loops = _loops_module()
    with loops.lock:
        is_color = loops.gray_lightness(image, _GRAY_TO_L8, L8)
    _color_rows(image, L8, is_color)
    return L8


def _color_rows(image: np.ndarray, L8: np.ndarray, is_color: np.ndarray) -> None:
    """L8 of the flagged rows through ``color.luminance``'s float conversion, a strip at a time."""
    for rows in _color_strips(is_color, max(1, _STRIP_PIXELS // max(image.shape[1], 1))):
        L8[rows] = cv2.convertScaleAbs(color.luminance(image[rows]), alpha=2.55).reshape(L8[rows].shape)


def _color_strips(is_color: np.ndarray, most: int) -> list[slice]:
    """Runs of consecutive flagged rows, cut into slices of at most ``most`` rows."""
    flagged = np.flatnonzero(np.diff(np.concatenate([[0], is_color.astype(np.int8), [0]])))
    strips = []
    for start, stop in zip(flagged[0::2], flagged[1::2]):
        strips += [slice(top, min(top + most, stop)) for top in range(start, stop, most)]
    return strips


def L_of(L8: np.ndarray) -> np.ndarray:
    """uint8 L8 → float32 L in [0, 100]."""
    return np.multiply(L8, np.float32(100 / 255), dtype=np.float32)


def _block_factor(source: int, target: int) -> int:
    """A whole factor for the first step from ``source`` to ``target`` pixels: at most half the total
    factor (the second step then still averages ≥ 2 blocks per pixel) and at least half of that, the one
    leaving the fewest pixels over (the largest of those)."""
    most = source // (2 * target)
    if most < 2:
        return 1
    return min(range(max(2, most // 2), most + 1), key=lambda f: (source % f, -f))


def _blocks(shape: tuple[int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """(fy, fx, top, left): the shrink's first step, whole blocks of fy×fx pixels from (top, left).
    Rows or columns that do not fill a whole block (rarely more than a few) are split between both
    sides and left out of it."""
    (H, W), (h, w) = shape, size
    fy, fx = _block_factor(H, h), _block_factor(W, w)
    return fy, fx, (H % fy) // 2, (W % fx) // 2


def shrink(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 H×W (or H×W×C) → (h, w): area averaging when shrinking, bilinear when growing.

    In two steps when shrinking a lot: first by whole factors (OpenCV's fast area path, ~6× cheaper than
    its general one, see ``_blocks``), then area averaging to the exact size.
    """
    h, w = size
    H, W = plane.shape[:2]
    if h * w >= H * W:
        return color.resize(plane, size)
    fy, fx, top, left = _blocks((H, W), size)
    if fy > 1 or fx > 1:
        block = plane[top:top + H - H % fy, left:left + W - W % fx]
        plane = cv2.resize(block, ((W - W % fx) // fx, (H - H % fy) // fy), interpolation=cv2.INTER_AREA)
    return cv2.resize(plane, (w, h), interpolation=cv2.INTER_AREA)


def lightness8_and_shrunk(image: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """uint8 gray H×W or RGB H×W×3 → (``lightness8(image)``, ``shrink`` of it to ``size``): what a
    colorization needs before its network. The same arrays as the two calls (``_block_means`` rounds as OpenCV).

    For a gray photo (a plane, or RGB with R = G = B) that shrinks by whole blocks first (most photos;
    see ``shrink``), the blocks are summed in the lightness pass itself, while each row is in cache,
    instead of reading L8 again; their means are rounded to 8 bits as OpenCV's fast area step rounds them.
    A plane and its RGB give the same arrays. Anything else takes ``lightness8`` and then ``shrink``.
    """
    image = np.ascontiguousarray(image)
    H, W = image.shape[:2]
    fy, fx, top, left = _blocks((H, W), size)
    if size[0] * size[1] >= H * W or fy * fx == 1:
        L8 = lightness8(image)
        return L8, shrink(L8, size)
    by, bx = H // fy, W // fx
    L8 = np.empty((H, W), np.uint8)
    loops = _loops_module()
    with loops.lock:
        is_color, sums = loops.gray_lightness_blocks(image, _GRAY_TO_L8, L8, top, left, fy, fx, by, bx)
        for margin in (np.s_[:top], np.s_[top + by * fy:]):  # rows outside the blocks: lightness only
            if image[margin].shape[0]:
                is_color[margin] = loops.gray_lightness(image[margin], _GRAY_TO_L8, L8[margin])
    if is_color.any():  # colour rows get the float lightness below, which the sums do not know
        _color_rows(image, L8, is_color)
        return L8, shrink(L8, size)
    return L8, cv2.resize(_block_means(sums, fy, fx), (size[1], size[0]), interpolation=cv2.INTER_AREA)


def _block_means(sums: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """Block sums → their means in 8 bits, rounded as OpenCV's fast area step rounds them: 2×2 blocks half up
    (``(sum + 2) >> 2``), others its float32 product with 1/area to the nearest even. Rounded otherwise (to the
    nearest even), 15 % of a 640×480 photo's network input was one level off the two calls' (session 34's audit)."""
    sums = np.asarray(sums)
    if (fy, fx) == (2, 2):
        return ((sums.astype(np.int64) + 2) >> 2).astype(np.uint8)
    return np.rint(sums.astype(np.float32) * np.float32(1.0 / (fy * fx))).astype(np.uint8)


# ---------------------------------------------------------------------------------------------- the join


def _at_most_photo_size(grid: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A grid with more pixels than the photo is area-averaged to the photo's size first
    (``color.resize``), which the kernels then pass through; otherwise they upsample it."""
    grid = np.asarray(grid, np.float32)
    if size[0] * size[1] < grid.shape[0] * grid.shape[1]:
        grid = color.resize(grid, size)
    return np.ascontiguousarray(grid)


def _output(L8: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(uint32 words, the flat uint8 RGB output in their memory): the kernels store whole words."""
    size = 3 * L8.size
    words = np.empty((size + 3) // 4, np.uint32)
    return words, words.view(np.uint8)[:size]


def join(L8: np.ndarray, ab_small: np.ndarray) -> np.ndarray:
    """uint8 L8 H×W + predicted a, b (h×w×2, Lab units) → uint8 RGB H×W×3."""
    L8 = np.ascontiguousarray(L8)
    ab_small = _at_most_photo_size(ab_small, L8.shape)
    words, out = _output(L8)
    loops = _loops_module()
    with loops.lock:
        loops.gather(L8, ab_small, _rows_of_table(), words, out)
    return out.reshape(*L8.shape, 3)


def join_guided(L8: np.ndarray, gain: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """uint8 L8 H×W + guided-filter coefficients (h×w×2 each) → uint8 RGB H×W×3, ab = gain↑·L/100 + offset↑."""
    L8 = np.ascontiguousarray(L8)
    gain, offset = _at_most_photo_size(gain, L8.shape), _at_most_photo_size(offset, L8.shape)
    words, out = _output(L8)
    loops = _loops_module()
    with loops.lock:
        loops.gather_guided(L8, gain, offset, _rows_of_table(), words, out)
    return out.reshape(*L8.shape, 3)
