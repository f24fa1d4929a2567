"""The simple baselines every guided colorization is measured against, so that a class sees what each
step buys (README and docs/results.md print them beside the project's results).

Each is a colorizer in its own right, with the ``colorize`` signature the evaluation calls:
- ``TrainingPalette`` (automatic): every pixel takes the training photos' mean color at its lightness,
  the same for every photo: what knowing only the training set's palette buys, and what a model
  falls back on when it learned the palette rather than the scene.
- ``LightnessMeanReference``: every pixel takes the reference photo's mean color at its lightness
  (Welsh et al.'s idea with no texture at all).
- ``NearestNeighbourReference``: every cell takes the plain mean color of its ``k`` nearest reference
  cells in the VGG16 descriptors the exemplar matcher uses, with no confidence, smoothing or fallback.
- ``KernelSpreadHints``: each hint's color spreads over the image by a Gaussian of the distance to it
  (no features: it does not know where an object ends), over the model's automatic colors.
All keep the input's own L; the reference baselines join at full resolution by bilinear upsampling.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from colorizer.color import fit_within, join_lab, luminance, resize

__all__ = ["TrainingPalette", "palette_of", "pooled_lab", "TRAINING_PALETTE_FILE", "LightnessMeanReference",
           "NearestNeighbourReference", "KernelSpreadHints"]

# The training photos' palette, fitted by scripts/fit_training_palette.py (its command is in the file).
TRAINING_PALETTE_FILE = Path(__file__).with_name("assets") / "training_palette.json"
# Photos are shrunk to this long side before their pixels are pooled, so a 5-MP wallpaper weighs about
# as much as a 480-px background: the palette is the photos', not the largest photo's.
PALETTE_SIDE = 256


def pooled_lab(photos) -> np.ndarray:
    """uint8 RGB photos → their pixels in Lab (N×3), each photo first shrunk to at most ``PALETTE_SIDE``
    px on its long side: what the palette and ``lightness_ceiling``'s table are fitted on."""
    from colorizer.color import rgb_to_lab

    return np.concatenate([rgb_to_lab(fit_within(photo, PALETTE_SIDE)).reshape(-1, 3) for photo in photos])


def palette_of(photos=None, lab: np.ndarray | None = None) -> np.ndarray:
    """uint8 RGB photos, or their ``pooled_lab`` already computed → their pooled mean ab at each lightness level
    (``exemplar.PALETTE_BINS``×2): the shipped palette's fit (``scripts/fit_training_palette.py``)."""
    from colorizer.exemplar import lightness_palette

    lab = pooled_lab(photos) if lab is None else lab
    return lightness_palette(lab[:, 0], lab[:, 1:])


def _palette_colors(L: np.ndarray, palette: np.ndarray) -> np.ndarray:
    """Each pixel's color from a lightness palette (levels×2): the level its L falls in."""
    from colorizer.exemplar import lightness_level

    return palette[lightness_level(L, len(palette))]


class TrainingPalette:
    """uint8 photo → every pixel the training photos' mean ab at its lightness (``palette``: levels×2,
    by default the shipped ``TRAINING_PALETTE_FILE``'s)."""

    def __init__(self, palette: np.ndarray | None = None):
        if palette is None:
            palette = json.loads(TRAINING_PALETTE_FILE.read_text())["ab"]
        self.palette = np.asarray(palette, np.float32)

    def colorize(self, image: np.ndarray) -> np.ndarray:
        L = luminance(image)
        return join_lab(L, _palette_colors(L, self.palette))


class LightnessMeanReference:
    """uint8 photo + reference RGB → the reference's mean ab at each pixel's lightness (20 levels).
    ``reference_visible``: per reference (or one), None or the bool H×W of the pixels it shows: only those count."""

    def colorize(self, image: np.ndarray, reference, reference_visible=None) -> np.ndarray:
        from colorizer.color import rgb_to_lab
        from colorizer.exemplar import lightness_palette

        references = _references(reference)
        visible = [None] * len(references) if reference_visible is None else _references(reference_visible)
        lab = np.concatenate([rgb_to_lab(r)[np.ones(r.shape[:2], bool) if v is None else np.asarray(v, bool)]
                              for r, v in zip(references, visible, strict=True)])  # a mask for each
        L = luminance(image)
        return join_lab(L, _palette_colors(L, lightness_palette(lab[:, 0], lab[:, 1:])))


class NearestNeighbourReference:
    """uint8 photo + reference RGB → each cell's plain mean color of its ``k`` nearest reference cells.
    ``reference_visible`` as ``LightnessMeanReference``'s: only wholly shown cells are matched."""

    def __init__(self, k: int = 8):
        self.k = k

    def colorize(self, image: np.ndarray, reference, reference_visible=None) -> np.ndarray:
        from colorizer import exemplar

        references = _references(reference)
        visible = None if reference_visible is None else _references(reference_visible)
        cells = exemplar.reference_cells(references, visible)
        L = luminance(image)
        side = exemplar.MATCH_SIZE
        target = exemplar.reference_matcher().descriptors(resize(L, (side, side)))
        _, top = exemplar.reference_matcher().top_matches(target, cells.descriptors)
        ab = cells.ab[top[:, :self.k]].mean(axis=1).reshape(side // exemplar.STRIDE, side // exemplar.STRIDE, 2)
        return join_lab(L, resize(ab, L.shape))


class KernelSpreadHints:
    """A model's automatic colors, with each hint's correction spread by a Gaussian of the image-space
    distance (σ = ``sigma`` as a share of the shorter side), the nearest hint weighing most."""

    def __init__(self, model, sigma: float = 0.1):
        self.model, self.sigma = model, sigma

    def colorize(self, image: np.ndarray, hints=None) -> np.ndarray:
        from colorizer.color import rgb_to_lab

        automatic = self.model.colorize(image)
        if not hints:
            return automatic
        L = luminance(image)
        ab = rgb_to_lab(automatic)[..., 1:]
        h, w = L.shape
        yy, xx = np.mgrid[:h, :w].astype(np.float32)
        sigma = self.sigma * min(h, w)
        weights, targets = [], []
        for hint in hints:
            weights.append(np.exp(-((yy - hint["y"]) ** 2 + (xx - hint["x"]) ** 2) / (2 * sigma ** 2)))
            color = rgb_to_lab(np.asarray(hint["rgb"], np.uint8)[None, None])[0, 0, 1:]
            targets.append(color)
        weights = np.stack(weights)                      # n×H×W
        reach = np.clip(weights.sum(axis=0), 0.0, 1.0)   # how far any hint reaches here
        hinted = np.einsum("nhw,nc->hwc", weights, np.stack(targets)) / np.maximum(weights.sum(axis=0), 1e-6)[..., None]
        return join_lab(L, reach[..., None] * hinted + (1 - reach[..., None]) * ab)


def _references(reference) -> list[np.ndarray]:
    return [reference] if isinstance(reference, np.ndarray) else list(reference)
