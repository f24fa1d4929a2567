"""Training data: photos on disk → augmented square crops → the arrays every architecture trains on.

A photo folder is either ``DIR/train/*`` and ``DIR/val/*`` (as ``scripts/fetch_photos.py`` writes it)
or a flat folder of images (then all of it is one split). Crops are taken at several scales with
random horizontal flips, resized to the working size, and kept as uint8 N×S×S×3 in memory.
``crop_batch`` turns them into float32 arrays: ``gray01`` (N×S×S×1, [0, 1], from L by
``color.gray01_from_L``, as at inference), ``L_norm`` (N×S×S×1,
[-1, 1]), ``ab_norm`` (N×S×S×2, about [-1, 1]), ``rgb01`` (N×S×S×3, [0, 1]).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from colorizer.color import gray01_from_L, normalize_ab, normalize_l, resize, rgb_to_lab
from colorizer.imageio import SUPPORTED_EXTENSIONS, ImageError, read_image

__all__ = ["list_photos", "load_photos", "random_crops", "center_crops", "crop_batch", "CROP_SCALES"]

# Crop side as a share of the photo's short side: whole-scene views and closer details.
CROP_SCALES = (1.0, 0.75, 0.5, 0.35)


def list_photos(data_dir: str | Path, split: str | None = None) -> list[Path]:
    """Image files of ``split`` ("train"/"val") under ``data_dir``; a flat folder when it has no such subfolder."""
    root = Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: no such folder")
    folder = root / split if split and (root / split).is_dir() else root
    return sorted(p for p in folder.iterdir() if p.suffix.lower().lstrip(".") in SUPPORTED_EXTENSIONS)


def load_photos(paths: list[Path], on_error=print) -> list[np.ndarray]:
    """uint8 RGB arrays of the readable photos; each unreadable one is reported and skipped."""
    photos = []
    for path in paths:
        try:
            photos.append(read_image(path).rgb)
        except ImageError as err:
            on_error(f"error: {err}")
    return photos


def _crop(photo: np.ndarray, top: int, left: int, side: int, size: int, flip: bool) -> np.ndarray:
    crop = resize(photo[top:top + side, left:left + side], (size, size))
    return crop[:, ::-1] if flip else crop


def random_crops(photos: list[np.ndarray], per_photo: int, size: int, seed: int = 0,
                 scales: tuple[float, ...] = CROP_SCALES) -> np.ndarray:
    """``per_photo`` random square crops of each photo at the given scales, flipped half the time."""
    rng = np.random.default_rng(seed)
    crops = []
    for photo in photos:
        h, w = photo.shape[:2]
        for _ in range(per_photo):
            side = max(1, int(min(h, w) * rng.choice(scales)))
            top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
            crops.append(_crop(photo, top, left, side, size, bool(rng.integers(2))))
    return np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8)


def center_crops(photos: list[np.ndarray], size: int) -> np.ndarray:
    """One centred square crop of each photo's short side (validation: no randomness)."""
    crops = []
    for photo in photos:
        h, w = photo.shape[:2]
        side = min(h, w)
        crops.append(_crop(photo, (h - side) // 2, (w - side) // 2, side, size, False))
    return np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8)


def crop_batch(crops: np.ndarray) -> dict[str, np.ndarray]:
    """uint8 N×S×S×3 → the float32 arrays the architectures train on (see module docstring)."""
    lab = np.stack([rgb_to_lab(c) for c in crops]) if len(crops) else np.zeros(crops.shape, np.float32)
    return {
        # Gray as inference derives it from a photo's L (not OpenCV's luma, which differs on color pixels).
        "gray01": gray01_from_L(lab[..., 0])[..., None],
        "L_norm": normalize_l(lab[..., :1]),
        "ab_norm": normalize_ab(lab[..., 1:]),
        "rgb01": crops.astype(np.float32) / 255.0,
    }
