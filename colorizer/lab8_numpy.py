"""The loops of ``colorizer.lab8_kernels`` in numpy: what ``colorizer.lab8`` runs when Numba is missing.

Numba (with llvmlite and TBB) is in requirements.txt, but a machine can lack it: an install that
failed for one wheel, a platform it has no wheel for. Without it no model could colorize at all (the
join is in every colorization). This module gives the same functions, the same contracts (see
``lab8_kernels``) and the same results (tested against the compiled ones: equal, but for a coordinate
on a rounding edge of the float arithmetic, where a channel may differ by one level), a few times
slower: the work is done in strips of rows, so its temporaries stay a few MB whatever the photo size.
``lab8`` logs a warning when it uses it, once per process.
"""
from __future__ import annotations

import threading

import numpy as np

__all__ = ["gray_lightness", "gray_lightness_blocks", "gather", "gather_guided", "lock", "ORIGIN", "STEP", "SIZE"]

ORIGIN, STEP, SIZE = -128.0, 2.0, 128
_LIMIT = 1000.0
_STRIP = 1 << 18  # pixels per strip of rows
lock = threading.Lock()


def gray_lightness(image, lut, L8):
    """See ``lab8_kernels.gray_lightness``."""
    if image.ndim == 2:
        L8[...] = lut[image]
        return np.zeros(L8.shape[0], np.uint8)
    red = image[..., 0]
    L8[...] = lut[red]
    differs = (red != image[..., 1]) | (red != image[..., 2])
    return differs.any(axis=1).astype(np.uint8)


def gray_lightness_blocks(image, lut, L8, top, left, fy, fx, by, bx):
    """See ``lab8_kernels.gray_lightness_blocks``."""
    is_color = np.zeros(L8.shape[0], np.uint8)
    rows = slice(top, top + by * fy)
    is_color[rows] = gray_lightness(image[rows], lut, L8[rows])
    blocks = L8[rows, left:left + bx * fx].reshape(by, fy, bx, fx)
    return is_color, blocks.sum(axis=(1, 3), dtype=np.uint32).astype(np.float32)


def _sources(n: int, m: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For output indices 0…n−1 between m source indices, as cv2's bilinear: (first, second, weight)."""
    s = np.maximum((np.arange(n) + 0.5) * (m / n) - 0.5, 0.0)
    first = np.minimum(s.astype(np.int64), m - 1)
    return first, np.minimum(first + 1, m - 1), np.minimum(s - first, 1.0).astype(np.float32)


def _finite(values: np.ndarray) -> np.ndarray:
    return np.clip(np.nan_to_num(values.astype(np.float32), nan=0.0, posinf=_LIMIT, neginf=-_LIMIT), -_LIMIT, _LIMIT)


def _widened(grid, channel, scale, shift, low, high, W):
    """See ``lab8_kernels._widened``: h×W float32 rows."""
    values = np.clip(scale * _finite(grid[..., channel]).astype(np.float64) + shift, low, high).astype(np.float32)
    i0, i1, g = _sources(W, grid.shape[1])
    return values[:, i0] * (np.float32(1.0) - g) + values[:, i1] * g


def _coordinate_rows(grid, channel, W, clip):
    low, high = (0.5, SIZE - 0.5) if clip else (-np.inf, np.inf)
    return _widened(grid, channel, 1.0 / STEP, 0.5 - ORIGIN / STEP, low, high, W)


def _strips(H: int, W: int):
    step = max(1, _STRIP // max(W, 1))
    for y in range(0, H, step):
        yield slice(y, min(H, y + step))


def _write(table, ab, L8, rows: slice, out) -> None:
    """RGB bytes of ``table[ab, L8]`` (0x00BBGGRR) for the output rows ``rows``."""
    entries = table[ab, L8[rows]]
    W = L8.shape[1]
    pixels = out[3 * W * rows.start:3 * W * rows.stop].reshape(-1, 3)
    flat = entries.reshape(-1)
    pixels[:, 0] = flat & 0xFF
    pixels[:, 1] = (flat >> 8) & 0xFF
    pixels[:, 2] = (flat >> 16) & 0xFF


def gather(L8, ab, table, words, out):
    """See ``lab8_kernels.gather``."""
    H, W = L8.shape
    a_rows, b_rows = _coordinate_rows(ab, 0, W, True), _coordinate_rows(ab, 1, W, True)
    j0, j1, g = _sources(H, a_rows.shape[0])
    for rows in _strips(H, W):
        gs, fs = g[rows, None], np.float32(1.0) - g[rows, None]
        a = (a_rows[j0[rows]] * fs + a_rows[j1[rows]] * gs).astype(np.uint32)
        b = (b_rows[j0[rows]] * fs + b_rows[j1[rows]] * gs).astype(np.uint32)
        _write(table, a * SIZE + b, L8, rows, out)


def gather_guided(L8, gain, offset, table, words, out):
    """See ``lab8_kernels.gather_guided``."""
    H, W = L8.shape
    per_L8 = 1.0 / (255.0 * STEP)
    a_offset, b_offset = _coordinate_rows(offset, 0, W, False), _coordinate_rows(offset, 1, W, False)
    a_gain = _widened(gain, 0, per_L8, 0.0, -np.inf, np.inf, W)
    b_gain = _widened(gain, 1, per_L8, 0.0, -np.inf, np.inf, W)
    j0, j1, g = _sources(H, a_offset.shape[0])
    low, high = np.float32(0.5), np.float32(SIZE - 0.5)
    for rows in _strips(H, W):
        gs, fs = g[rows, None], np.float32(1.0) - g[rows, None]
        L = L8[rows].astype(np.float32)
        ca = (a_offset[j0[rows]] * fs + a_offset[j1[rows]] * gs) + (a_gain[j0[rows]] * fs + a_gain[j1[rows]] * gs) * L
        cb = (b_offset[j0[rows]] * fs + b_offset[j1[rows]] * gs) + (b_gain[j0[rows]] * fs + b_gain[j1[rows]] * gs) * L
        ab = np.clip(ca, low, high).astype(np.uint32) * SIZE + np.clip(cb, low, high).astype(np.uint32)
        _write(table, ab, L8, rows, out)
