"""Color science shared by every model: CIE Lab conversion, normalization, full-resolution join.

Conventions (the one place they are defined):
- RGB images are uint8 H×W×3 (sRGB); gray images are uint8 H×W.
- Lab is float32 with L in [0, 100] and a, b in about [-110, 110] (D65, sRGB gamma), computed with
  OpenCV's float32 path (fast; its interpolated gamma and cube-root tables differ from
  scikit-image's reference by ~0.08 on average, at most ~0.5 per channel: ΔE < 0.6, invisible).
- Network inputs/outputs: ``L_norm = (L - L_CENT) / L_NORM`` in [-1, 1], ``ab_norm = ab / AB_NORM``
  in about [-1, 1]; the CIFAR-report contract uses ``gray01 = gray / 255`` and RGB in [0, 1].

The standard recipe (Zhang et al.'s demo): run the network on a small working-size L, upsample
its a, b to the input's size and join them to the input's own full-resolution L, so the output keeps
every detail and the input's luminance: to within rounding where the color is inside sRGB; a color outside it is
clipped to RGB, which moves L (on photos of session 34's audit, 0.05-0.4 % of pixels by more than 1 unit, at most
4-10).
"""
from __future__ import annotations

import cv2
import numpy as np

__all__ = [
    "L_CENT", "L_NORM", "AB_NORM",
    "rgb_to_lab", "lab_to_rgb", "luminance", "to_gray", "gray01_from_L", "normalize_l", "unnormalize_l", "unnormalize_ab",
    "normalize_ab", "resize", "fit_within", "join_lab", "join_lab_guided", "ab_of_rgb",
]

L_CENT = 50.0
L_NORM = 50.0
AB_NORM = 110.0


# Rows of a big image converted at a time: bounds the float temporaries of a 12 MP photo to a few MB.
_STRIP_PIXELS = 1 << 18
# (255, 255, 255) as an OpenCV scalar: float RGB in [0, 1] → uint8 in one saturating, rounding pass.
_TO_UINT8 = (255.0, 255.0, 255.0, 0.0)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """uint8 (or float in [0, 1]) RGB H×W×3 → float32 Lab H×W×3."""
    return cv2.cvtColor(_rgb01(rgb), cv2.COLOR_RGB2Lab)


def _rgb01(rgb: np.ndarray) -> np.ndarray:
    """RGB → float32 in [0, 1], in one allocation (``astype`` then ``/ 255`` would make two)."""
    if rgb.dtype == np.uint8:
        return np.divide(rgb, np.float32(255.0), dtype=np.float32)
    return rgb.astype(np.float32, copy=False)


def lab_to_rgb(lab: np.ndarray) -> np.ndarray:
    """float32 Lab H×W×3 → uint8 RGB H×W×3 (out-of-gamut colors clipped, rounded to nearest)."""
    return _rgb01_to_uint8(cv2.cvtColor(lab.astype(np.float32, copy=False), cv2.COLOR_Lab2RGB))


def _rgb01_to_uint8(rgb01: np.ndarray) -> np.ndarray:
    # OpenCV's saturate_cast clips and rounds in one multithreaded pass (numpy needs four).
    return cv2.multiply(rgb01, _TO_UINT8, dtype=cv2.CV_8U)


def _gray_to_L_table() -> np.ndarray:
    """L of each gray level 0..255 by the same OpenCV conversion: a gray image's L is a table lookup."""
    grays = np.repeat(np.arange(256, dtype=np.float32)[:, None] / np.float32(255.0), 3, axis=1)
    return cv2.cvtColor(grays.reshape(1, 256, 3), cv2.COLOR_RGB2Lab)[0, :, 0].copy()


_GRAY_TO_L = _gray_to_L_table()


def luminance(image: np.ndarray) -> np.ndarray:
    """uint8 gray H×W or RGB H×W×3 → float32 L H×W in [0, 100] (C-contiguous).

    Same values as ``rgb_to_lab(image)[..., 0]``, faster and in bounded memory: gray pixels (a gray
    image, or strips of an RGB image whose channels are equal, as decoded grayscale photos are) go
    through a 256-entry table of exactly those values; color strips through OpenCV's float path.
    """
    if image.dtype != np.uint8:  # float RGB in [0, 1]: no table, the plain conversion
        rgb = cv2.cvtColor(image, cv2.COLOR_GRAY2RGB) if image.ndim == 2 else image
        return np.ascontiguousarray(rgb_to_lab(rgb)[..., 0])
    if image.ndim == 2:
        return cv2.LUT(image, _GRAY_TO_L)
    h, w = image.shape[:2]
    L = np.empty((h, w), np.float32)
    rows = max(1, _STRIP_PIXELS // max(w, 1))
    for top in range(0, h, rows):
        strip = image[top:top + rows]
        if np.array_equal(strip[..., 0], strip[..., 1]) and np.array_equal(strip[..., 1], strip[..., 2]):
            L[top:top + rows] = cv2.LUT(np.ascontiguousarray(strip[..., 0]), _GRAY_TO_L)
        else:
            L[top:top + rows] = rgb_to_lab(strip)[..., 0]
    return L


def to_gray(image: np.ndarray) -> np.ndarray:
    """uint8 RGB H×W×3 (or gray H×W) → uint8 gray H×W, the luma a grayscale photo would have."""
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)


def gray01_from_L(L: np.ndarray) -> np.ndarray:
    """L in [0, 100] → float32 gray level in [0, 1] whose Lab L it is (inverse of the CIE and sRGB curves).

    The one definition of "gray in [0, 1]" for models that take gray (the CIFAR-report contract), in
    training and at inference alike: a gray photo is known only by its L.
    """
    L = np.asarray(L, np.float32)
    y = np.where(L > 8.0, ((L + 16.0) / 116.0) ** 3, L / np.float32(903.3))
    srgb = np.where(y <= 0.0031308, 12.92 * y, 1.055 * np.power(np.maximum(y, 0), np.float32(1 / 2.4)) - 0.055)
    return np.clip(srgb, 0.0, 1.0).astype(np.float32, copy=False)


def normalize_l(L: np.ndarray) -> np.ndarray:
    return (L - L_CENT) / L_NORM


def unnormalize_l(L_norm: np.ndarray) -> np.ndarray:
    return L_norm * L_NORM + L_CENT


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


def fit_within(image: np.ndarray, max_side: int) -> np.ndarray:
    """Shrink (never enlarge) so that the longer side is at most ``max_side``, the aspect kept; same dtype and
    channels (the image itself when it fits)."""
    h, w = image.shape[:2]
    scale = max_side / max(h, w)
    if scale >= 1:
        return image
    return resize(image, (max(1, round(h * scale)), max(1, round(w * scale))))


# What a join makes of values that are not finite (a broken checkpoint's NaN, an overflow's inf), as ``lab8``'s kernels
# take them: NaN no color, ±inf the edge of 8-bit Lab's range (``lab8``'s table: −128..126), so a page shows one
# picture whichever join ran (NaN came out white here, gray there: session 34's audit). Finite values pass as they
# are: the guided join's inputs are a line's coefficients, not colors, and may lie beyond the range (a review).
CHROMA_LOW, CHROMA_HIGH = -128.0, 127.0


def _upsampled_lab(ab_small: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """ab h×w×2 → float32 H×W×3 buffer holding (0, a↑, b↑), bilinearly upsampled (NaN as 0, ±inf as
    ``CHROMA_HIGH``/``CHROMA_LOW``)."""
    small = np.zeros((*ab_small.shape[:2], 3), np.float32)
    small[..., 1:] = ab_small
    np.nan_to_num(small, copy=False, nan=0.0, posinf=CHROMA_HIGH, neginf=CHROMA_LOW)
    return resize(small, size)


def _lab_buffer_to_rgb(L_full: np.ndarray, lab: np.ndarray) -> np.ndarray:
    """Write L into channel 0 of the H×W×3 float buffer, convert it to RGB in place, then to uint8."""
    lab = cv2.insertChannel(np.ascontiguousarray(L_full, dtype=np.float32), lab, 0)
    cv2.cvtColor(lab, cv2.COLOR_Lab2RGB, dst=lab)
    return _rgb01_to_uint8(lab)


def join_lab(L_full: np.ndarray, ab_small: np.ndarray) -> np.ndarray:
    """Full-resolution L (H×W) + predicted ab at any size (h×w×2) → uint8 RGB H×W×3."""
    # One full-size float buffer, reused in place: upsample (0, a, b) into it, write L into channel 0,
    # convert to RGB in place, then one pass to uint8. A 12 MP photo needs 144 MB here, not ~800 MB.
    return _lab_buffer_to_rgb(L_full, _upsampled_lab(ab_small, L_full.shape[:2]))


def join_lab_guided(L_full: np.ndarray, gain: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Full-resolution L (H×W) + linear chroma coefficients (h×w×2 each) → uint8 RGB H×W×3.

    ab = gain↑·(L/100) + offset↑ (↑: bilinear upsampling), the guided filter's output form
    (``colorizer.upsample.guided_coefficients``): chroma edges where L has them.
    """
    L = np.ascontiguousarray(L_full, dtype=np.float32)
    h, w = L.shape
    lab = _upsampled_lab(np.asarray(gain, np.float32) / np.float32(100.0), (h, w))  # (0, A_a, A_b)/100
    offset_full = _upsampled_lab(offset, (h, w))                                    # (0, B_a, B_b)
    # In strips of rows, with OpenCV's in-place multithreaded arithmetic: numpy's broadcast over the
    # strided a, b channels cost five times the rest of the join; a strip's (L, L, L) is a few MB.
    rows = max(1, _STRIP_PIXELS // max(w, 1))
    for top in range(0, h, rows):
        strip, strip_L = lab[top:top + rows], L[top:top + rows]
        cv2.multiply(strip, cv2.merge([strip_L, strip_L, strip_L]), dst=strip)
        cv2.add(strip, offset_full[top:top + rows], dst=strip)
    del offset_full
    return _lab_buffer_to_rgb(L, lab)
