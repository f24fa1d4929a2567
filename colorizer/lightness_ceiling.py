"""Whites stay white and shadows stay neutral: a chroma ceiling by lightness, from the training photos.

Issue 23: on near-neutral photos the flagship's unsure pixels take a faint cream or olive tint, and where
gray is almost right (white swans on black water: gray is 40 dB from the truth) a tint of chroma 3 costs
5 dB. In real photos the lightest and darkest pixels are rarely colorful (highlights clip toward white,
shadows toward black, and the Lab gamut narrows at both ends). This module keeps each pixel darker than
``shadows_below`` or lighter than ``highlights_above`` (L units) within the training photos' **median
chroma at its lightness**; in between nothing changes. It only lowers chroma, never raises it, and keeps
every hue. The flagship's decoding applies it as far as the model guessed (``hypercolumn_decoding.within_lightness_ceiling``).

- **Table**: the median chroma of the training photos' pixels at each of ``LEVELS`` lightness levels of
  5 L units, pooled as the training palette is (``colorizer.baselines.pooled_lab``); fitted with the
  palette by ``scripts/fit_training_palette.py`` into ``assets/training_palette.json`` ("median_chroma").
- **Ceiling** (``ceiling``): the table interpolated at each pixel's L outside the range, growing by
  ``RAMP`` chroma per L unit into it, so a gradient crossing a bound gets no edge.

Contract: ``apply(ab …×2 raw units, L … (0–100), shadows_below, highlights_above) → ab`` with each
pixel's chroma at most ``ceiling(L)``; unchanged where ``shadows_below ≤ 0`` and ``highlights_above ≥ 100``.
docs/results.md, "Whites stay white", has the numbers.
"""
from __future__ import annotations

import functools
import json

import numpy as np

from colorizer.baselines import TRAINING_PALETTE_FILE
from colorizer.exemplar import PALETTE_BINS, lightness_level, nearest_present_level

__all__ = ["LEVELS", "RAMP", "median_chroma", "table", "is_off", "ceiling", "apply"]

LEVELS = PALETTE_BINS   # lightness levels of 5 L units, the training palette's
# How fast the ceiling lifts inside the range (chroma per L unit): 5 units in, it is above any photo's chroma.
RAMP = 20.0
_CENTRES = (np.arange(LEVELS) + 0.5) * (100.0 / LEVELS)


def median_chroma(lab: np.ndarray) -> np.ndarray:
    """Pooled Lab pixels N×3 → the median chroma at each lightness level (``LEVELS``); a level with no
    pixel takes the nearest level's."""
    index = lightness_level(lab[:, 0], LEVELS)
    chroma = np.hypot(lab[:, 1], lab[:, 2])
    present = np.unique(index)
    medians = {i: float(np.median(chroma[index == i])) for i in present}
    return np.array([medians[i] for i in nearest_present_level(present, LEVELS)], np.float32)


@functools.lru_cache(maxsize=1)
def table() -> np.ndarray:
    """The shipped table (``LEVELS``), read once from ``TRAINING_PALETTE_FILE``."""
    return np.asarray(json.loads(TRAINING_PALETTE_FILE.read_text())["median_chroma"], np.float32)


def is_off(shadows_below: float, highlights_above: float) -> bool:
    """Whether both bounds are turned off (``shadows_below`` ≤ 0, ``highlights_above`` ≥ 100): nothing to lower."""
    return shadows_below <= 0 and highlights_above >= 100


def ceiling(L: np.ndarray, shadows_below: float, highlights_above: float, levels: np.ndarray | None = None) -> np.ndarray:
    """Each pixel's largest chroma (same shape as ``L``): ``levels`` (default ``table()``) interpolated at
    its L, plus ``RAMP`` per L unit it lies inside (``shadows_below``, ``highlights_above``)."""
    levels = table() if levels is None else levels
    # A bound that is off (≤ 0, ≥ 100) lies at infinity, so no pixel is near it.
    lower = shadows_below if shadows_below > 0 else -np.inf
    upper = highlights_above if highlights_above < 100 else np.inf
    inside = np.maximum(np.minimum(L - lower, upper - L), 0.0)
    return (np.interp(L, _CENTRES, levels) + RAMP * inside).astype(np.float32)


def apply(ab: np.ndarray, L: np.ndarray, shadows_below: float, highlights_above: float,
          levels: np.ndarray | None = None) -> np.ndarray:
    """``ab`` (…×2) with each pixel's chroma lowered to ``ceiling`` of its ``L`` (…) where it exceeds it,
    hue kept; ``ab`` itself when both bounds are off."""
    if is_off(shadows_below, highlights_above):
        return ab
    chroma = np.linalg.norm(ab, axis=-1)
    limit = ceiling(np.asarray(L, np.float32), shadows_below, highlights_above, levels)
    return (ab * np.minimum(1.0, limit / np.maximum(chroma, 1e-6))[..., None]).astype(np.float32)
