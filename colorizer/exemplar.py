"""Colors from a reference photo: "make my old photo look like this one".

Exemplar-based colorization in the spirit of Welsh et al. (2002, match lightness and texture) and
He et al. ("Deep Exemplar-based Colorization", 2018, match deep features): the gray photo's cells are
matched to the reference photo's cells by the frozen VGG16 the flagship already has, and take their
colors from the best matches; where no match is confident, the automatic model's colors stay.

Steps (``reference_colorize``), on the flagship's 44×44 grid of a 176-px working input:
1. **Describe** every cell of the gray photo and of the reference(s) (and their mirror images: a
   flipped object keeps its colors) by VGG16 blocks 3, 4 and 5 (``LEVEL_WEIGHTS``), each
   L2-normalized: block 3 is local texture, block 5 what the thing is. The reference keeps its aspect
   ratio; the gray photo is read as the flagship reads it.
2. **Match**: cosine similarity of every gray cell to every reference cell; the ``TOP_K`` best give a
   softmax-weighted mean color.
3. **Confidence** per cell, in [0, 1]: how similar the best match is (``SIMILARITY_LOW`` → 0,
   ``SIMILARITY_HIGH`` → 1) times how much the top matches agree on a color (their weight within
   ``AGREEMENT_RADIUS`` ab units of the mean color).
4. **Blend and smooth**: confident cells take the matched colors (smoothed over neighbours by
   confidence, which removes single-cell blotches), others the automatic model's; the result is
   joined to the full-resolution L by the model's own upsampling (the flagship's follows L's edges).

Entry points: ``Colorizer.colorize(image, reference=rgb)`` and ``reference_colorize(colorizer, image,
references)`` → ``ReferenceResult`` (the image, the automatic image, the confidence map).
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np

from colorizer.color import luminance, normalize_l, resize, rgb_to_lab

__all__ = ["ReferenceResult", "ReferenceError", "reference_colorize", "reference_matcher", "MATCH_SIZE"]

MATCH_SIZE = 176            # the gray photo's working size (the flagship's); cells are 4×4 px of it
STRIDE = 4                  # block 3's stride: one cell per 4×4 input pixels
REFERENCE_MAX_SIDE = 256    # the reference keeps its aspect ratio within this side (multiples of 16)
LEVEL_WEIGHTS = {3: 0.45, 4: 0.35, 5: 0.20}
TOP_K = 8
MATCH_TEMPERATURE = 0.02    # softmax over cosine similarities of the top K (lower: trust the best more)
SIMILARITY_LOW, SIMILARITY_HIGH = 0.45, 0.75
AGREEMENT_RADIUS = 20.0     # ab units: top matches within this of their mean color "agree"
SMOOTH_SIGMA = 1.0          # cells: confidence-weighted smoothing of matched colors


class ReferenceError(ValueError):
    """A reference that cannot be used (one line: what and why)."""


@dataclass
class ReferenceResult:
    """``image``: uint8 RGB H×W×3 colored from the reference; ``automatic``: the model's own result;
    ``confidence``: float32 h×w in [0, 1] on the matching grid (1: colors from a match, 0: guessed)."""

    image: np.ndarray
    automatic: np.ndarray
    confidence: np.ndarray


class _Matcher:
    """The frozen VGG16 (blocks 3–5, as the flagship's encoder; bfloat16 where it is fast), shared."""

    def __init__(self):
        import tensorflow as tf

        from colorizer.hardware import bfloat16_is_fast
        from colorizer.models import hypercolumn

        gpu = bool(tf.config.list_physical_devices("GPU"))
        self.encoder = hypercolumn.build_encoder("mixed_bfloat16" if bfloat16_is_fast() and not gpu else None)
        self._traced = tf.function(lambda x: self.encoder(x, training=False), reduce_retracing=True)
        self._lock = threading.Lock()

    def descriptors(self, L: np.ndarray) -> np.ndarray:
        """L (h×w in [0, 100], multiples of 16) → float32 (h/4·w/4)×D cell descriptors, unit length."""
        with self._lock:
            blocks = self._traced(normalize_l(L)[None, :, :, None].astype(np.float32))
        grid = (L.shape[0] // STRIDE, L.shape[1] // STRIDE)
        parts = []
        for level, block in zip((3, 4, 5), blocks):
            feature = np.asarray(block[0], np.float32)
            if feature.shape[:2] != grid:
                feature = _bilinear(feature, grid)
            feature = feature.reshape(-1, feature.shape[-1])
            feature /= np.linalg.norm(feature, axis=1, keepdims=True) + 1e-6
            parts.append(feature * np.sqrt(LEVEL_WEIGHTS[level]))
        return np.concatenate(parts, axis=1)  # dot products = weighted sum of per-level cosines


def _bilinear(feature: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
    """h×w×C → grid×C, bilinear as OpenCV does it (OpenCV itself takes few channels per image): its
    weights are OpenCV's resize of an identity matrix, applied along each axis."""
    h, w = feature.shape[:2]
    rows = cv2.resize(np.eye(h, dtype=np.float32), (h, grid[0]), interpolation=cv2.INTER_LINEAR)   # grid_h×h
    cols = cv2.resize(np.eye(w, dtype=np.float32), (w, grid[1]), interpolation=cv2.INTER_LINEAR)   # grid_w×w
    return np.einsum("ih,hwc,jw->ijc", rows, feature, cols, optimize=True)


_matcher: _Matcher | None = None
_matcher_lock = threading.Lock()


def reference_matcher() -> _Matcher:
    global _matcher
    with _matcher_lock:
        if _matcher is None:
            _matcher = _Matcher()
        return _matcher


def _reference_size(shape: tuple[int, ...]) -> tuple[int, int]:
    """(h, w) of the resized reference: aspect kept, longest side ≤ REFERENCE_MAX_SIDE, multiples of 16."""
    height, width = shape[:2]
    scale = min(1.0, REFERENCE_MAX_SIDE / max(height, width))
    return tuple(max(16, int(round(side * scale / 16)) * 16) for side in (height, width))


def _checked_reference(reference, index: int) -> np.ndarray:
    reference = np.asarray(reference)
    if reference.dtype != np.uint8 or reference.ndim != 3 or reference.shape[2] != 3 or min(reference.shape[:2]) < 1:
        raise ReferenceError(f"reference {index + 1}: expected a uint8 RGB H×W×3 photo, got {reference.dtype} "
                             f"array of shape {reference.shape}")
    return reference


def reference_cells(references: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Reference photos (and their mirror images) → (descriptors N×D, ab N×2 raw) of all their cells."""
    matcher = reference_matcher()
    descriptors, colors = [], []
    for i, reference in enumerate(references):
        reference = _checked_reference(reference, i)
        small = resize(reference, _reference_size(reference.shape))
        for view in (small, np.ascontiguousarray(small[:, ::-1])):
            lab = rgb_to_lab(view)
            descriptors.append(matcher.descriptors(lab[..., 0]))
            grid = (view.shape[0] // STRIDE, view.shape[1] // STRIDE)
            colors.append(resize(lab[..., 1:], grid).reshape(-1, 2))
    return np.concatenate(descriptors), np.concatenate(colors)


def match(target: np.ndarray, cells: np.ndarray, colors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Target descriptors M×D against reference cells N×D (ab N×2) → (ab M×2, confidence M)."""
    similarity = target @ cells.T                                            # M×N cosines (weighted)
    k = min(TOP_K, similarity.shape[1])
    top = np.argpartition(-similarity, k - 1, axis=1)[:, :k]
    top_similarity = np.take_along_axis(similarity, top, axis=1)
    weights = np.exp((top_similarity - top_similarity.max(axis=1, keepdims=True)) / MATCH_TEMPERATURE)
    weights /= weights.sum(axis=1, keepdims=True)
    top_colors = colors[top]                                                 # M×k×2
    mean = np.einsum("mk,mkc->mc", weights, top_colors)
    near = np.linalg.norm(top_colors - mean[:, None], axis=2) <= AGREEMENT_RADIUS
    agreement = np.sum(weights * near, axis=1)
    similar = np.clip((top_similarity.max(axis=1) - SIMILARITY_LOW) / (SIMILARITY_HIGH - SIMILARITY_LOW), 0.0, 1.0)
    return mean.astype(np.float32), (similar * agreement).astype(np.float32)


def _smoothed(ab: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """Confidence-weighted Gaussian smoothing of matched colors (normalized convolution)."""
    weight = cv2.GaussianBlur(confidence, (0, 0), SMOOTH_SIGMA) + 1e-6
    return cv2.GaussianBlur(ab * confidence[..., None], (0, 0), SMOOTH_SIGMA) / weight[..., None]


def reference_colorize(colorizer, image: np.ndarray, references, hints=None, **options) -> ReferenceResult:
    """A ``Colorizer`` (its automatic colors fill in), a uint8 gray/RGB photo and one reference (uint8
    RGB, any size) or a list of them → ``ReferenceResult``."""
    references = [references] if isinstance(references, np.ndarray) else list(references)
    if not references:
        raise ReferenceError("no reference photo given")
    cells, colors = reference_cells(references)
    L_full = luminance(image)
    grid = (MATCH_SIZE // STRIDE, MATCH_SIZE // STRIDE)
    matched, confidence = match(reference_matcher().descriptors(resize(L_full, (MATCH_SIZE, MATCH_SIZE))), cells, colors)
    matched, confidence = matched.reshape(*grid, 2), confidence.reshape(grid)
    automatic_ab = colorizer.predict_ab(colorizer.network_input(L_full),
                                        hint_grid=colorizer.hint_grid(hints, image.shape), **options)[0]
    automatic_on_grid = resize(np.asarray(automatic_ab, np.float32), grid)
    blended = confidence[..., None] * _smoothed(matched, confidence) + (1.0 - confidence[..., None]) * automatic_on_grid
    return ReferenceResult(image=colorizer.join(L_full, blended.astype(np.float32)),
                           automatic=colorizer.join(L_full, automatic_ab), confidence=confidence)
