"""The compiled loops of ``colorizer.lab8``: one pass over the pixels where OpenCV needed three or four.

Why compiled: at 1 MP the join around a small network was memory passes, not arithmetic. OpenCV's
join upsampled a and b into two full-size float maps, added the lightness to one of them and gathered
the table with ``cv2.remap``: 2.2–2.8 ms, more than a third of ``cifar_ae``'s colorization. Here a and
b are first widened to full width on the network's small grid (a few rows), then each output row
interpolates between two of those rows and reads the table: about 0.5–0.7 ms on two cores. The gray
photo's lightness is one read of its bytes instead of a check plus a conversion.

Numba compiles these on first use (about 4 s, then read from a cache beside this file in 0.5 s,
``cache=True``); ``ui.warmup`` does it while the server starts. ``parallel=True`` splits rows over the
cores.

The table's grid is defined here, the same for a and b: index i holds ORIGIN + STEP·i (i < SIZE).

Contract (arrays C-contiguous unless said; the callers in ``lab8`` make them so)
- ``gray_lightness(image, lut, L8) → is_color``: uint8 gray H×W or RGB H×W×3, a 256-entry uint8 table,
  uint8 H×W out → uint8 H flags: 1 for RGB rows with any pixel whose R, G, B differ (their L8 is left to
  the caller), 0 for rows written as ``lut[level]`` (a gray plane's rows are always 0).
- ``gray_lightness_blocks(image, lut, L8, top, left, fy, fx, by, bx) → (is_color, sums)``: the same for
  rows top … top + by·fy − 1 (the caller does the others), and float32 by×bx sums of L8 over the
  fy×fx blocks from (top, left): the first, whole-factor step of the shrink to the working size, while
  the lightness is still in cache.
- ``gather(L8, ab, table, words, out)``: a, b (float32 h×w×2, Lab units, any values) are interpolated
  to H×W as ``cv2.resize`` bilinear does (pixel centres aligned; h = H, w = W passes them through)
  and rounded to the grid (clipped to it); each output pixel is the RGB of ``table[a·SIZE + b, L8]``
  (uint32 0x00BBGGRR entries, the table viewed as SIZE² × 256). ``out``: the flat uint8 output
  (3·H·W bytes); ``words``: the uint32 array whose memory it is. Values that are not finite count as 0 (NaN) or far off the grid (±inf).
- ``gather_guided(L8, gain, offset, table, words, out)``: the same with a, b = gain↑·L8/255 + offset↑
  (gain and offset h×w×2), rounded and clipped to the grid per pixel.
Safety: indexing is unchecked (``boundscheck`` off, for speed); every coordinate is made finite and
clipped to the grid before it indexes.
"""
from __future__ import annotations

import os
import threading

import numba
import numpy as np
from numba.extending import overload

__all__ = ["gray_lightness", "gray_lightness_blocks", "gather", "gather_guided", "lock", "ORIGIN", "STEP", "SIZE"]

ORIGIN, STEP, SIZE = -128.0, 2.0, 128
# Chroma beyond this (Lab units) is clipped before any arithmetic: far outside the grid, and it keeps a
# guided coordinate (offset + gain·L8) finite.
_LIMIT = 1000.0

# Which threads run the kernels' rows. Not OpenMP, numba's first choice after TBB: its threads wait for
# each other at the end of a kernel, and right after a large network TensorFlow's threads still hold
# the cores, so one time in three a 1-MP join of the flagship took 30 ms instead of 3. TBB's workers
# take whatever rows are left instead; numba's own "workqueue" pool is the fallback without TBB
# ("forksafe": TBB, else workqueue). NUMBA_THREADING_LAYER still overrides it.
if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER = "forksafe"

# The workqueue pool must not be entered by two Python threads at once, and a Streamlit server
# colorizes from one thread per session: callers hold this lock around a kernel (each kernel already
# uses every core, so serializing them costs nothing).
lock = threading.Lock()

_COMPILE = dict(cache=True, boundscheck=False, nogil=True)


def _gray_row(row, lut, out):
    """out[x] = lut[gray level of pixel x] for one row of a gray photo: a gray plane's row, or an RGB
    row whose R is the level; whether any pixel of it has R, G, B not all equal (never for a plane).
    Compiled only: the overload below gives numba a loop for each kind of row."""
    raise NotImplementedError("compiled only, inside the kernels below")


@overload(_gray_row, inline="always")
def _gray_row_loop(row, lut, out):
    if row.ndim == 1:
        def plane_row(row, lut, out):
            for x in range(out.shape[0]):
                out[x] = lut[row[x]]
            return False
        return plane_row

    def rgb_row(row, lut, out):
        differs = False
        for x in range(out.shape[0]):
            r = row[x, 0]
            differs |= (r != row[x, 1]) | (r != row[x, 2])
            out[x] = lut[r]
        return differs
    return rgb_row


@numba.njit(parallel=True, **_COMPILE)
def gray_lightness(image, lut, L8):
    is_color = np.zeros(L8.shape[0], np.uint8)
    for y in numba.prange(L8.shape[0]):
        is_color[y] = _gray_row(image[y], lut, L8[y])
    return is_color


@numba.njit(parallel=True, **_COMPILE)
def gray_lightness_blocks(image, lut, L8, top, left, fy, fx, by, bx):
    H, W = L8.shape
    is_color = np.zeros(H, np.uint8)
    sums = np.zeros((by, bx), np.float32)
    for j in numba.prange(by):
        column_sums = np.zeros(W, np.uint32)  # over the block row's fy rows, each row's L8 still in cache
        for y in range(top + j * fy, top + (j + 1) * fy):
            is_color[y] = _gray_row(image[y], lut, L8[y])
            for x in range(W):
                column_sums[x] += L8[y, x]
        for i in range(bx):
            total = np.uint32(0)
            for x in range(left + i * fx, left + (i + 1) * fx):
                total += column_sums[x]
            sums[j, i] = total
    return is_color, sums


@numba.njit(inline="always", **_COMPILE)
def _source(i, n, m):
    """Output index ``i`` of ``n`` between source indices of ``m``, as cv2's bilinear: (first, second,
    weight of the second)."""
    s = max((i + 0.5) * (m / n) - 0.5, 0.0)
    first = min(int(s), m - 1)
    return first, min(first + 1, m - 1), np.float32(min(s - first, 1.0))


@numba.njit(inline="always", **_COMPILE)
def _finite(value):
    """NaN → 0, everything else clipped to ±_LIMIT."""
    if value != value:
        return np.float32(0.0)
    return np.float32(min(max(value, -_LIMIT), _LIMIT))


@numba.njit(parallel=True, **_COMPILE)
def _widened(grid, channel, scale, shift, low, high, W):
    """h×W float32: ``clip(scale·finite(grid[:, :, channel]) + shift, low, high)``, interpolated
    along rows to W columns (the cheap half of the upsampling, on the network's few rows)."""
    h, w = grid.shape[0], grid.shape[1]
    values = np.empty((h, w), np.float32)
    for j in range(h):
        for i in range(w):
            values[j, i] = min(max(scale * _finite(grid[j, i, channel]) + shift, low), high)
    rows = np.empty((h, W), np.float32)
    for j in numba.prange(h):
        for x in range(W):
            i0, i1, g = _source(x, W, w)
            rows[j, x] = values[j, i0] * (np.float32(1.0) - g) + values[j, i1] * g
    return rows


@numba.njit(inline="always", **_COMPILE)
def _coordinate_rows(grid, channel, W, clip):
    """Rows of table coordinates + 0.5 (so that truncation rounds), clipped to the grid or not."""
    low, high = (0.5, SIZE - 0.5) if clip else (-np.inf, np.inf)
    return _widened(grid, channel, 1.0 / STEP, 0.5 - ORIGIN / STEP, low, high, W)


@numba.njit(inline="always", **_COMPILE)
def _write_row(table, ab, L8_row, start, words, out):
    """Output pixels of one row: RGB of ``table[ab[x], L8_row[x]]`` (0x00BBGGRR entries; ``ab``: the
    chroma's row of the table viewed as (a·SIZE + b) × L8) at byte ``start + 3x`` of the flat output
    ``out``, whose ``words`` view is the same memory as uint32.

    Four pixels are three words: one 4-byte store where three 1-byte stores were (the stores, not the
    table reads, bound this loop). Pixels before the row's first word boundary, and after its last
    whole group of four, are stored byte by byte."""
    W = L8_row.shape[0]
    x = 0
    while x < W and (start + 3 * x) % 4 != 0:
        _write_pixel(table[ab[x], L8_row[x]], start + 3 * x, out)
        x += 1
    w = (start + 3 * x) // 4
    while x + 4 <= W:
        v0 = table[ab[x], L8_row[x]]
        v1 = table[ab[x + 1], L8_row[x + 1]]
        v2 = table[ab[x + 2], L8_row[x + 2]]
        v3 = table[ab[x + 3], L8_row[x + 3]]
        words[w] = v0 | (v1 << 24)
        words[w + 1] = (v1 >> 8) | (v2 << 16)
        words[w + 2] = (v2 >> 16) | (v3 << 8)
        w += 3
        x += 4
    while x < W:
        _write_pixel(table[ab[x], L8_row[x]], start + 3 * x, out)
        x += 1


@numba.njit(inline="always", **_COMPILE)
def _write_pixel(entry, at, out):
    out[at] = entry & 0xFF
    out[at + 1] = (entry >> 8) & 0xFF
    out[at + 2] = (entry >> 16) & 0xFF


@numba.njit(parallel=True, **_COMPILE)
def gather(L8, ab, table, words, out):
    H, W = L8.shape
    a_rows, b_rows = _coordinate_rows(ab, 0, W, True), _coordinate_rows(ab, 1, W, True)
    h = a_rows.shape[0]
    for y in numba.prange(H):
        j0, j1, g = _source(y, H, h)
        f = np.float32(1.0) - g
        a0, a1, b0, b1 = a_rows[j0], a_rows[j1], b_rows[j0], b_rows[j1]
        # Coordinates first, in a loop the compiler vectorizes, as one row index of the table (one
        # index array and one multiply-add fewer per pixel than a and b apart); the table reads after.
        ab_row = np.empty(W, np.uint32)
        for x in range(W):
            ab_row[x] = np.uint32(a0[x] * f + a1[x] * g) * SIZE + np.uint32(b0[x] * f + b1[x] * g)
        _write_row(table, ab_row, L8[y], 3 * W * y, words, out)


@numba.njit(parallel=True, **_COMPILE)
def gather_guided(L8, gain, offset, table, words, out):
    H, W = L8.shape
    # Per unit of L8, in grid steps: gain·(L/100) = gain·L8/255.
    per_L8 = 1.0 / (255.0 * STEP)
    a_offset, b_offset = _coordinate_rows(offset, 0, W, False), _coordinate_rows(offset, 1, W, False)
    a_gain = _widened(gain, 0, per_L8, 0.0, -np.inf, np.inf, W)
    b_gain = _widened(gain, 1, per_L8, 0.0, -np.inf, np.inf, W)
    h = a_offset.shape[0]
    low, high = np.float32(0.5), np.float32(SIZE - 0.5)
    for y in numba.prange(H):
        j0, j1, g = _source(y, H, h)
        f = np.float32(1.0) - g
        l = L8[y]
        ab_row = np.empty(W, np.uint32)
        for x in range(W):
            L = np.float32(l[x])
            ca = (a_offset[j0, x] * f + a_offset[j1, x] * g) + (a_gain[j0, x] * f + a_gain[j1, x] * g) * L
            cb = (b_offset[j0, x] * f + b_offset[j1, x] * g) + (b_gain[j0, x] * f + b_gain[j1, x] * g) * L
            ab_row[x] = np.uint32(min(max(ca, low), high)) * SIZE + np.uint32(min(max(cb, low), high))
        _write_row(table, ab_row, l, 3 * W * y, words, out)
