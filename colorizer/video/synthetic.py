"""Clips built from photos, with their truth and their motion: what the video measurements and tests run on.

An old film is a gray picture that moves, with grain and flicker. ``camera_clip`` makes one from a
color photo: a camera that pans or zooms over it (``pan``, ``zoom``), film grain (Gaussian noise in L,
fresh every frame) and exposure flicker (a gain and an offset on L that change from frame to frame).
The truth is the same frame in color with the same degraded lightness, so that a colorizer, which
keeps the input's L, is scored on its colors only (as ``colorizer.evaluate`` scores photos).

Each frame's camera is an affine map from output pixels (x, y) to photo pixels, ``scale·(x, y) +
offset``; ``Clip.previous_coordinates(t)`` turns it into where each pixel of frame t was in frame
t − 1, which undoes the motion exactly for the flicker figure (``colorizer.video.measure``).

``moving_square`` is the tests' clip: a colored square sliding over a textured gray background.
Every function is deterministic for a given seed.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from colorizer.color import lab_to_rgb, luminance, rgb_to_lab

__all__ = ["Clip", "camera_clip", "moving_square", "square_position", "MOTIONS"]

MOTIONS = ("pan", "zoom")
GRAIN_SIGMA = 4.0        # L units, per pixel and frame (a fine-grained 16/35 mm print)
FLICKER_GAIN = 0.05      # ± relative exposure change from frame to frame
FLICKER_OFFSET = 3.0     # ± L units


@dataclass
class Clip:
    """``gray``: uint8 frames T×H×W (what the colorizer is given); ``truth``: uint8 RGB T×H×W×3 (the
    same lightness, the true colors); ``scales``/``offsets``: T and T×2, each frame's camera (output
    pixel (x, y) ↦ photo pixel scale·(x, y) + offset), empty for a clip without known motion."""

    name: str
    gray: np.ndarray
    truth: np.ndarray
    fps: float = 24.0
    scales: np.ndarray = field(default_factory=lambda: np.zeros(0))
    offsets: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))

    def __len__(self) -> int:
        return len(self.gray)

    def previous_coordinates(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame t ≥ 1 → (map_x, map_y) float32 H×W: where each of its pixels was in frame t − 1 (for
        ``cv2.remap``); a pixel whose point was outside frame t − 1 maps outside it."""
        height, width = self.gray.shape[1:3]
        x, y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        photo_x = self.scales[t] * x + self.offsets[t, 0]
        photo_y = self.scales[t] * y + self.offsets[t, 1]
        return ((photo_x - self.offsets[t - 1, 0]) / self.scales[t - 1]).astype(np.float32), \
               ((photo_y - self.offsets[t - 1, 1]) / self.scales[t - 1]).astype(np.float32)


def _cameras(photo_shape, size, frames: int, motion: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame (scale, offset) of a camera of output ``size`` (w, h) moving over the photo."""
    photo_h, photo_w = photo_shape[:2]
    width, height = size
    fit = min(photo_w / width, photo_h / height)          # photo pixels per output pixel, whole photo
    t = np.linspace(0.0, 1.0, frames)
    if motion == "pan":      # a window 70 % of the photo wide sweeping from left to right, drifting down
        scales = np.full(frames, 0.7 * fit)
        span_x, span_y = photo_w - scales[0] * width, photo_h - scales[0] * height
        offsets = np.stack([span_x * t, span_y * (0.3 + 0.4 * t)], axis=1)
    elif motion == "zoom":   # from the whole photo to its central 55 %, centred
        scales = fit * (1.0 - 0.45 * t)
        offsets = np.stack([(photo_w - scales * width) / 2, (photo_h - scales * height) / 2], axis=1)
    else:
        raise ValueError(f"unknown motion {motion!r}; known: {', '.join(MOTIONS)}")
    return scales.astype(np.float64), offsets.astype(np.float64)


def _render(photo: np.ndarray, scale: float, offset, size) -> np.ndarray:
    """The photo as the camera sees it: output (x, y) samples photo (scale·x + ox, scale·y + oy)."""
    matrix = np.array([[scale, 0.0, offset[0]], [0.0, scale, offset[1]]], np.float64)
    # Downscaling (scale > 1) is pre-blurred so the frame is not aliased, as a lens and film would be.
    source = cv2.GaussianBlur(photo, (0, 0), 0.5 * (scale - 1.0)) if scale > 1.5 else photo
    return cv2.warpAffine(source, matrix, size, flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                          borderMode=cv2.BORDER_REFLECT)


def _aged(lab: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Film grain and exposure flicker on L (float Lab H×W×3, changed in place and returned)."""
    gain = 1.0 + rng.uniform(-FLICKER_GAIN, FLICKER_GAIN)
    offset = rng.uniform(-FLICKER_OFFSET, FLICKER_OFFSET)
    grain = cv2.GaussianBlur(rng.normal(0.0, GRAIN_SIGMA * 1.6, lab.shape[:2]).astype(np.float32), (0, 0), 0.6)
    lab[..., 0] = np.clip(lab[..., 0] * gain + offset + grain, 0.0, 100.0)
    return lab


def _gray_of_L(L: np.ndarray) -> np.ndarray:
    """float L (H×W, [0, 100]) → the uint8 gray whose L is nearest (``color.luminance`` inverted)."""
    levels = luminance(np.arange(256, dtype=np.uint8)[None])[0]          # increasing in the gray level
    index = np.clip(np.searchsorted(levels, L), 1, 255)
    lower = np.abs(levels[index - 1] - L) <= np.abs(levels[index] - L)
    return (index - lower).astype(np.uint8)


def camera_clip(photo: np.ndarray, frames: int = 48, size=(640, 360), motion: str = "pan", aged: bool = True,
                seed: int = 0, name: str = "") -> Clip:
    """A uint8 RGB photo → a ``Clip`` of ``frames`` frames of ``size`` (w, h): the camera ``motion``
    ("pan" or "zoom") over it, with grain and flicker when ``aged``. The gray frames' L is the
    truth's L (to rounding)."""
    rng = np.random.default_rng(seed)
    scales, offsets = _cameras(photo.shape, size, frames, motion)
    gray = np.empty((frames, size[1], size[0]), np.uint8)
    truth = np.empty((frames, size[1], size[0], 3), np.uint8)
    for t in range(frames):
        lab = rgb_to_lab(_render(photo, scales[t], offsets[t], size))
        if aged:
            lab = _aged(lab, rng)
        gray[t] = _gray_of_L(lab[..., 0])
        lab[..., 0] = luminance(gray[t])         # the truth keeps exactly the lightness the input has
        truth[t] = lab_to_rgb(lab)
    return Clip(name or motion, gray, truth, scales=scales, offsets=offsets)


def square_position(t: int, size, side: int = 20, step: int = 3, cut_at: int | None = None) -> tuple[int, int]:
    """(x, y) of ``moving_square``'s square in frame t: it slides ``step`` px a frame (right before the
    cut, left after it) and bounces off the frame's sides, 4 px in."""
    width, height = size
    after_cut = cut_at is not None and t >= cut_at
    travel = max(width - side - 8, 1)
    phase = ((t - cut_at) if after_cut else t) * step % (2 * travel)
    x = 4 + (phase if phase <= travel else 2 * travel - phase)
    return (x if not after_cut else width - side - x), (height - side) // 2


def moving_square(frames: int = 24, size=(96, 64), side: int = 20, rgb=(200, 40, 40), step: int = 3,
                  cut_at: int | None = None, seed: int = 0) -> Clip:
    """A ``rgb`` square of ``side`` px sliding right by ``step`` px a frame over a gray, textured
    background (a fixed camera: scale 1, offset 0). The square has a texture of its own that moves
    with it, as an object's would (a flat patch gives optical flow nothing to follow). ``cut_at``: from that frame on, another scene (a
    differently textured background and a blue square, moving left), for scene-cut tests."""
    rng = np.random.default_rng(seed)
    width, height = size

    def background(seed_offset: int) -> np.ndarray:
        noise = np.random.default_rng(seed + seed_offset).uniform(90, 170, (height // 4 + 1, width // 4 + 1))
        return cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)

    pattern = cv2.resize(np.random.default_rng(seed + 3).uniform(0.6, 1.25, (side // 3 + 1, side // 3 + 1)), (side, side),
                         interpolation=cv2.INTER_CUBIC)[..., None]
    scenes = [(background(1), np.array(rgb, np.float64), 1), (background(2), np.array([40, 60, 200], np.float64), -1)]
    # Within a shot the square's motion is known only where it is; scale 1, offset 0 describes the background.
    gray = np.empty((frames, height, width), np.uint8)
    truth = np.empty((frames, height, width, 3), np.uint8)
    for t in range(frames):
        after_cut = cut_at is not None and t >= cut_at
        levels, color, _ = scenes[after_cut]
        frame = np.repeat(np.clip(levels + rng.normal(0, 2, levels.shape), 0, 255).astype(np.uint8)[..., None], 3, 2)
        x, y = square_position(t, size, side, step, cut_at)
        frame[y:y + side, x:x + side] = np.clip(color * pattern, 0, 255).astype(np.uint8)
        truth[t] = frame
        gray[t] = _gray_of_L(luminance(frame))
    return Clip("square", gray, truth, scales=np.ones(frames), offsets=np.zeros((frames, 2)))
