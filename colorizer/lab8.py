"""8-bit Lab: the fast path of the full-resolution join, one table lookup per output pixel.

Why it exists: at 1 MP, converting every output pixel from Lab to RGB (OpenCV's float and 8-bit
conversions both cost about 5 ns a pixel on one core) plus the full-size float buffers around it took
more time than a small network. Here the photo's lightness is kept in 8 bits, the predicted chroma is
upsampled as two float planes, and the RGB of every (L, a, b) comes from a table computed once per
process, read with ``cv2.remap`` (nearest): a gather instead of a colour conversion.

Contract
- ``lightness8(image)``: uint8 gray H×W or RGB H×W×3 → uint8 ``L8`` H×W with L8 = round(L·255/100),
  OpenCV's 8-bit Lab scale (L as ``color.luminance`` computes it: |L8·100/255 − L| ≤ 0.2).
- ``shrink(plane, (h, w))``: uint8 H×W (or H×W×C) → h×w: area averaging (bilinear when growing).
- ``L_of(L8)``: float32 L in [0, 100].
- ``join(L8, ab_small)``: ``L8`` H×W + predicted a, b (h×w×2, Lab units, any h, w) → uint8 RGB H×W×3,
  the a, b upsampled bilinearly (as ``color.join_lab``).
- ``join_guided(L8, gain, offset)``: the same with ab = gain↑·(L/100) + offset↑ (as
  ``color.join_lab_guided``; ``colorizer.upsample.guided_coefficients`` makes gain and offset).
Accuracy (``tests/test_lab8.py``): the output's L is the input's within 1 wherever the colour is inside
the sRGB gamut; a and b are rounded to the table's steps of 2 (error ≤ 1 each: ΔE ≤ 1.5, below the
≈ 2.3 of a just-noticeable difference). Memory: the table is 128 × 32,512 × 3 bytes = 12.5 MB, built on
first use; a join holds about 16 bytes per output pixel (the guided one about 24) besides its result.
"""
from __future__ import annotations

import functools
import threading

import cv2
import numpy as np

from colorizer import color

__all__ = ["lightness8", "shrink", "L_of", "join", "join_guided", "table", "A_STEP", "B_STEP"]

# The table's grid: row i holds a = 2i − 128 (i < 128), column 127·L8 + j holds b = 2j − 126 (j < 127),
# so a = b = 0 is on it. remap needs fewer than 32,767 columns: 256 lightness blocks of 127 b values fit
# (32,512), which is why b has one value fewer than a. Steps of 2 keep the table in cache (12.5 MB; with
# steps of 1 it is 50 MB and the gathers run twice as slow).
A_STEP = B_STEP = 2.0
A_ROWS, B_COLUMNS = 128, 127
_A0, _B0 = -128.0, -126.0
# Rows of RGB strips checked for grayness at a time (a few MB of temporaries for any photo size).
_STRIP_PIXELS = 1 << 18
# remap takes images and maps under 32,767 pixels a side: bigger outputs are joined in tiles.
_REMAP_MAX_SIDE = 32_000

_table: np.ndarray | None = None
_table_lock = threading.Lock()

# L8 of each gray level, from the same float conversion as color.luminance.
_GRAY_TO_L8 = cv2.convertScaleAbs(color.luminance(np.arange(256, dtype=np.uint8)[None]), alpha=2.55)[0].copy()
# L8 → L8 as float (the guided join's L/100·255).
_L8_FLOAT = np.arange(256, dtype=np.float32).reshape(1, 256)


def table() -> np.ndarray:
    """The lookup table: uint8 128×32,512×3, RGB of (L8, a, b) on the grid above (built once, thread-safe)."""
    global _table
    if _table is None:
        with _table_lock:
            if _table is None:
                _table = _build_table()
    return _table


def _build_table() -> np.ndarray:
    lab = np.empty((256, B_COLUMNS, 3), np.float32)
    lab[..., 0] = (np.arange(256, dtype=np.float32) * np.float32(100 / 255))[:, None]
    lab[..., 2] = (_B0 + B_STEP * np.arange(B_COLUMNS, dtype=np.float32))[None, :]
    rows = np.empty((A_ROWS, 256 * B_COLUMNS, 3), np.uint8)
    for i in range(A_ROWS):  # one row at a time: 0.4 MB of float temporaries instead of 50 MB
        lab[..., 1] = _A0 + A_STEP * i
        rows[i] = color.lab_to_rgb(lab).reshape(-1, 3)
    return rows


# ---------------------------------------------------------------------------------------------- lightness


@functools.lru_cache(maxsize=8)
def _gray_mask(rows: int, width: int) -> np.ndarray:
    """rows × (3·width − 1) mask: 255 where a byte of a row of RGB pixels must equal the next one for the
    row to be gray (R = G, G = B), 0 where the next byte is the following pixel's R."""
    pattern = np.zeros(3 * width - 1, np.uint8)
    pattern[0::3] = 255
    pattern[1::3] = 255
    return np.ascontiguousarray(np.broadcast_to(pattern, (rows, pattern.size)))


def _is_gray(strip: np.ndarray) -> bool:
    """Whether every pixel of a C-contiguous uint8 h×w×3 strip has R = G = B."""
    rows = strip.reshape(strip.shape[0], -1)
    # Each byte against the next one under a mask, in one pass that writes nothing (cv2.norm of the
    # difference): 2× faster than writing the differences and counting them, 4× faster than numpy's
    # strided channel compares.
    mask = _gray_mask(*strip.shape[:2])
    return cv2.norm(rows[:, 1:], rows[:, :-1], cv2.NORM_INF, mask) == 0


def lightness8(image: np.ndarray) -> np.ndarray:
    """uint8 gray H×W or RGB H×W×3 → uint8 L8 H×W (round(L·255/100)).

    Gray pixels (a gray image, or RGB strips whose channels are equal, as decoded grayscale photos are)
    go through a 256-entry table; colour strips through ``color.luminance``'s float conversion.
    """
    image = np.ascontiguousarray(image)
    if image.ndim == 2:
        return cv2.LUT(image, _GRAY_TO_L8)
    h, w = image.shape[:2]
    rows = max(1, min(h, _STRIP_PIXELS // max(w, 1)))
    strips = [np.s_[top:top + rows] for top in range(0, h, rows)]
    gray = [_is_gray(image[strip]) for strip in strips]
    if all(gray):  # a decoded gray photo: one conversion of the whole image
        return _gray_L8(image)
    L8 = np.empty((h, w), np.uint8)
    for strip, is_gray in zip(strips, gray):
        if is_gray:
            L8[strip] = _gray_L8(image[strip])
        else:
            L8[strip] = cv2.convertScaleAbs(color.luminance(image[strip]), alpha=2.55).reshape(image[strip].shape[:2])
    return L8


def _gray_L8(rgb: np.ndarray) -> np.ndarray:
    """L8 of an RGB array whose pixels all have R = G = B. OpenCV's gray of such a pixel is R exactly (its
    fixed-point weights sum to one), and it reads the interleaved pixels 2× faster than extracting R."""
    return cv2.LUT(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), _GRAY_TO_L8)


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


def shrink(plane: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 H×W (or H×W×C) → (h, w): area averaging when shrinking, bilinear when growing.

    In two steps when shrinking a lot: first by whole factors (OpenCV's fast area path, ~6× cheaper than
    its general one), then area averaging to the exact size. Rows or columns that do not fill a whole
    block (rarely more than a few; split between both sides) are left out of the first step.
    """
    h, w = size
    H, W = plane.shape[:2]
    if h * w >= H * W:
        return color.resize(plane, size)
    fy, fx = _block_factor(H, h), _block_factor(W, w)
    if fy > 1 or fx > 1:
        top, left = (H % fy) // 2, (W % fx) // 2
        block = plane[top:top + H - H % fy, left:left + W - W % fx]
        plane = cv2.resize(block, ((W - W % fx) // fx, (H - H % fy) // fy), interpolation=cv2.INTER_AREA)
    return cv2.resize(plane, (w, h), interpolation=cv2.INTER_AREA)


# ---------------------------------------------------------------------------------------------- the join


def _upsampled(plane: np.ndarray, size: tuple[int, int], out: np.ndarray | None = None) -> np.ndarray:
    """float32 h×w → H×W, bilinear (area when the photo is smaller than the grid), into ``out`` if given."""
    H, W = size
    shrinking = H * W < plane.shape[0] * plane.shape[1]
    return cv2.resize(plane, (W, H), dst=out, interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def _gather(L8: np.ndarray, b_column: np.ndarray, a_row: np.ndarray) -> np.ndarray:
    """Full-size float maps (b's column within a lightness block, a's row) + L8 → uint8 RGB H×W×3."""
    # + 127·L8, the lightness block, in one pass that reads L8 as it is (no float copy of it).
    cv2.addWeighted(b_column, 1.0, L8, float(B_COLUMNS), 0.0, dst=b_column, dtype=cv2.CV_32F)
    rgb_table = table()
    H, W = L8.shape
    if H < _REMAP_MAX_SIDE and W < _REMAP_MAX_SIDE:
        # Nearest rounds each map to the closest grid point: b and a to their steps of 2, L8 exactly.
        return cv2.remap(rgb_table, b_column, a_row, cv2.INTER_NEAREST)
    out = np.empty((H, W, 3), np.uint8)
    for top in range(0, H, _REMAP_MAX_SIDE):
        for left in range(0, W, _REMAP_MAX_SIDE):
            tile = np.s_[top:top + _REMAP_MAX_SIDE, left:left + _REMAP_MAX_SIDE]
            out[tile] = cv2.remap(rgb_table, np.ascontiguousarray(b_column[tile]),
                                  np.ascontiguousarray(a_row[tile]), cv2.INTER_NEAREST)
    return out


def _b_column(b: np.ndarray) -> np.ndarray:
    """b (Lab units) → its column within a lightness block of the table, clipped to the grid."""
    return np.clip((np.asarray(b, np.float32) - np.float32(_B0)) / np.float32(B_STEP), 0, B_COLUMNS - 1)


def _a_row(a: np.ndarray) -> np.ndarray:
    """a (Lab units) → its row of the table, clipped to the grid."""
    return np.clip((np.asarray(a, np.float32) - np.float32(_A0)) / np.float32(A_STEP), 0, A_ROWS - 1)


def join(L8: np.ndarray, ab_small: np.ndarray) -> np.ndarray:
    """uint8 L8 H×W + predicted a, b (h×w×2, Lab units) → uint8 RGB H×W×3."""
    size = L8.shape
    ab_small = np.asarray(ab_small, np.float32)
    # On the small grid, a and b become table coordinates (clipped to it); bilinear upsampling keeps
    # them inside, so the full-size planes need no more arithmetic than the lightness offset.
    b_column = _upsampled(_b_column(ab_small[..., 1]), size)
    a_row = _upsampled(_a_row(ab_small[..., 0]), size)
    return _gather(L8, b_column, a_row)


def join_guided(L8: np.ndarray, gain: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """uint8 L8 H×W + guided-filter coefficients (h×w×2 each) → uint8 RGB H×W×3, ab = gain↑·L/100 + offset↑."""
    size = L8.shape
    gain, offset = np.asarray(gain, np.float32), np.asarray(offset, np.float32)
    L8_float = cv2.LUT(L8, _L8_FLOAT)
    # L/100 = L8/255, and the table coordinate of a value v is v/2 − v0/2: fold both into the small
    # grids, so that each full-size plane costs one multiply-add, one clip and no other pass.
    per_L8 = np.float32(1 / (255 * A_STEP))
    scratch = np.empty(size, np.float32)
    planes = []
    for channel, origin, last in ((1, _B0, B_COLUMNS - 1), (0, _A0, A_ROWS - 1)):
        coordinate = (np.ascontiguousarray(offset[..., channel]) - np.float32(origin)) / np.float32(A_STEP)
        plane = _upsampled(coordinate, size)
        _upsampled(np.ascontiguousarray(gain[..., channel]) * per_L8, size, out=scratch)
        cv2.multiply(scratch, L8_float, dst=scratch)
        cv2.add(plane, scratch, dst=plane)
        np.clip(plane, 0, last, out=plane)
        planes.append(plane)
    del scratch, L8_float
    return _gather(L8, *planes)
