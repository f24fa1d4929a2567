"""Edge-aware upsampling of predicted chroma: colors that stop where the gray photo's edges are.

A network predicts a, b on a coarse grid (e.g. 44×44 for a 176-px input); upsampled bilinearly, a
color bleeds half a cell across every edge, and a 1-MP photo shows soft halos and blotches. The
guided filter (He, Sun and Tang, "Guided Image Filtering", 2010/2013) instead models the chroma in
every small window as a linear function of the lightness, ab ≈ A·L + B, fitted to the coarse
prediction; A and B vary slowly, so they are fitted on the prediction's own coarse grid and
upsampled bilinearly, while L itself stays full resolution (the "fast guided filter", He and Sun,
2015).
Where L has an edge, the chroma now has one too; where L is flat, the chroma is the smoothed
prediction.

``guided_coefficients(L_full, ab_small)`` → (A, B), each h×w×2 like ``ab_small``, for
``colorizer.color.join_lab_guided``, which forms ab = A·(L/100) + B at full resolution.
"""
from __future__ import annotations

import cv2
import numpy as np

from colorizer.color import resize
from colorizer.lab8 import shrink

__all__ = ["guided_coefficients", "DEFAULT_EPS", "DEFAULT_RADIUS"]

# Regularization ε in (L/100)² units: windows whose lightness varies less than about √ε (3 L units at
# 0.001) are treated as flat (chroma smoothed), more than that as an edge (chroma follows L).
DEFAULT_EPS = 0.001
# Window radius in cells of the predicted chroma grid: 1 → 3×3 cells, enough to fit a line, small
# enough not to reach into the next object.
DEFAULT_RADIUS = 1


def _box(x: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)² window; replicated borders keep the means unbiased at the image edge."""
    return cv2.boxFilter(x, -1, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REPLICATE)


def _guide(L_full: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """L/100 area-averaged onto the grid, given float L or uint8 L8 (``colorizer.lab8``: L/100 = L8/255)."""
    if L_full.dtype == np.uint8:
        return shrink(L_full, grid).astype(np.float32) / np.float32(255.0)
    return resize(np.asarray(L_full, np.float32), grid) / np.float32(100.0)


def guided_coefficients(L_full: np.ndarray, ab_small: np.ndarray, eps: float = DEFAULT_EPS,
                        radius: int = DEFAULT_RADIUS) -> tuple[np.ndarray, np.ndarray]:
    """Full-resolution L (H×W, [0, 100], or uint8 L8 of ``colorizer.lab8``) and coarse ab (h×w×2, raw units) → (A, B), float32 h×w×2.

    The fit runs on the coarse grid, against L area-averaged onto it: a cell that straddles an edge
    holds a mix of both sides' lightness *and* of both sides' colors, so the line through them
    recovers each side's color, and A↑·(L/100) + B↑ (↑: bilinear) puts the edge where the
    full-resolution L has it. ``eps`` → ∞ gives A = 0 and B = the box-smoothed ``ab_small``.
    """
    grid = ab_small.shape[:2]
    guide = _guide(L_full, grid)
    target = np.asarray(ab_small, np.float32)
    mean_i = _box(guide, radius)
    var_i = _box(guide * guide, radius) - mean_i * mean_i
    mean_p = _box(target, radius)
    cov_ip = _box(target * guide[..., None], radius) - mean_p * mean_i[..., None]
    a = cov_ip / (np.maximum(var_i, 0.0) + np.float32(eps))[..., None]
    b = mean_p - a * mean_i[..., None]
    return _box(a, radius).astype(np.float32), _box(b, radius).astype(np.float32)
