"""Color science shared by every model: CIE Lab conversion, normalization, full-resolution join.

Conventions (the one place they are defined):
- RGB images are uint8 H×W×3 (sRGB); gray images are uint8 H×W.
- Lab is float32 with L in [0, 100] and a, b in about [-110, 110] (D65, sRGB gamma), computed with
  OpenCV's float32 path, which agrees with scikit-image's reference to a few hundredths.
- Network inputs/outputs: ``L_norm = (L - L_CENT) / L_NORM`` in [-1, 1], ``ab_norm = ab / AB_NORM``
  in about [-1, 1]; the CIFAR-report contract uses ``gray01 = gray / 255`` and RGB in [0, 1].

The standard recipe (Zhang et al.'s demo): run the network on a small working-size L, upsample
its a, b to the input's size and join them to the input's own full-resolution L, so the output keeps
every detail and exactly the input's luminance.
"""
from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "L_CENT", "L_NORM", "AB_NORM",
    "rgb_to_lab", "lab_to_rgb", "luminance", "to_gray", "normalize_l", "unnormalize_ab",
    "normalize_ab", "resize", "join_lab", "ab_of_rgb",
]

L_CENT = 50.0
L_NORM = 50.0
AB_NORM = 110.0


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 (or float in [0, 1]) RGB H×W×3 → float32 Lab H×W×3."""
    rgb01 = rgb.astype(np.float32) / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float32)
    return cv2.cvtColor(rgb01, cv2.COLOR_RGB2Lab)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """float32 Lab H×W×3 → uint8 RGB H×W×3 (out-of-gamut colors clipped)."""
    rgb01 = cv2.cvtColor(lab.astype(np.float32), cv2.COLOR_Lab2RGB)
    return np.clip(rgb01 * 255.0 + 0.5, 0, 255).astype(np.uint8)


def luminance(image: np.ndarray) -> np.ndarray:
    """uint8 gray H×W or RGB H×W×3 → float32 L H×W in [0, 100]."""
    if image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return rgb_to_lab(image)[..., 0]


def to_gray(image: np.ndarray) -> np.ndarray:
    """uint8 RGB H×W×3 (or gray H×W) → uint8 gray H×W, the luma a grayscale photo would have."""
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def normalize_l(L: np.ndarray) -> np.ndarray:
    return (L - L_CENT) / L_NORM


def normalize_ab(ab: np.ndarray) -> np.ndarray:
    return ab / AB_NORM


def unnormalize_ab(ab_norm: np.ndarray) -> np.ndarray:
    return ab_norm * AB_NORM


def ab_of_rgb(rgb: np.ndarray) -> np.ndarray:
    """RGB (uint8, or float in [0, 1]) H×W×3 → float32 ab H×W×2: how an RGB-output model's colors read in Lab."""
    return rgb_to_lab(rgb)[..., 1:]


def resize(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resize to (height, width): area averaging when shrinking (no aliasing), bilinear when growing."""
    h, w = size
    shrinking = h * w < image.shape[0] * image.shape[1]
    return cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR)


def join_lab(L_full: np.ndarray, ab_small: np.ndarray) -> np.ndarray:
    """Full-resolution L (H×W) + predicted ab at any size (h×w×2) → uint8 RGB H×W×3."""
    ab_full = resize(ab_small.astype(np.float32), L_full.shape[:2])
    lab = np.concatenate([L_full[..., None].astype(np.float32), ab_full], axis=-1)
    return lab_to_rgb(lab)
