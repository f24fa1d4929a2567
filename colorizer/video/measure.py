"""How well a clip is colorized: PSNR against the truth, flicker, and speed.

- **PSNR** (dB) per frame on RGB against the truth (``colorizer.video.synthetic``: the true colors
  under the input's own lightness, so only the colors are scored), averaged over frames.
- **Flicker**: the mean change of a, b (Euclidean, Lab units) between consecutive frames *after
  undoing the motion*: each pixel of frame t is compared with the point it was in frame t − 1, over
  the pixels seen in both. On a clip built from a photo the motion is known exactly
  (``Clip.previous_coordinates``); on a real clip it is estimated from the input's lightness (DIS
  optical flow, medium preset, at full resolution, with a forward–backward check), the same flow for
  every colorization compared. The truth's own figure is the floor (resampling, exposure). This is Lai
  et al.'s (2018) warping error measured on a, b instead of on RGB, where the lightness, which every
  colorization here keeps, would dilute it.
"""
from __future__ import annotations

import cv2
import numpy as np

from colorizer.color import rgb_to_lab

__all__ = ["psnr", "ab_of", "FlickerMeter", "estimated_back_map"]


def psnr(truth: np.ndarray, predicted: np.ndarray) -> float:
    """uint8 RGB H×W×3 pair → PSNR in dB (peak 255)."""
    error = np.mean((truth.astype(np.float32) - predicted.astype(np.float32)) ** 2)
    return float(10.0 * np.log10(255.0 ** 2 / max(float(error), 1e-10)))


def ab_of(rgb: np.ndarray) -> np.ndarray:
    """uint8 RGB H×W×3 → float32 a, b H×W×2."""
    return rgb_to_lab(rgb)[..., 1:].astype(np.float32)


def estimated_back_map(previous_gray: np.ndarray, gray: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two uint8 gray frames → (map_x, map_y, valid): where each pixel of ``gray`` was in
    ``previous_gray`` (DIS medium preset, full resolution) and whether the way back and forth agrees."""
    flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    backward = flow.calc(gray, previous_gray, None)
    forward = flow.calc(previous_gray, gray, None)
    height, width = gray.shape
    x, y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    map_x, map_y = x + backward[..., 0], y + backward[..., 1]
    there = cv2.remap(forward, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    round_trip = np.sum((backward + there) ** 2, axis=2)
    motion = np.sum(backward ** 2, axis=2) + np.sum(there ** 2, axis=2)
    valid = (round_trip <= 0.5 + 0.01 * motion) & _inside(map_x, map_y, width, height)
    return map_x, map_y, valid


def _inside(map_x, map_y, width, height, margin: float = 1.0) -> np.ndarray:
    return (map_x >= margin) & (map_x <= width - 1 - margin) & (map_y >= margin) & (map_y <= height - 1 - margin)


class FlickerMeter:
    """Feed the frames of one colorization in order; ``value`` is the mean |Δab| after undoing the
    motion, ``per_frame`` the figure of each frame from the second on (NaN where nothing was seen twice)."""

    def __init__(self, block: int = 1):
        self.block = block
        self._previous = None
        self.per_frame: list[float] = []

    def add(self, rgb: np.ndarray, back_map=None) -> None:
        """The next frame (uint8 RGB) and where its pixels were in the previous one: (map_x, map_y) or
        (map_x, map_y, valid); ignored for the first frame."""
        ab = ab_of(rgb)
        if self._previous is not None:
            map_x, map_y = back_map[:2]
            valid = _inside(map_x, map_y, ab.shape[1], ab.shape[0])
            if len(back_map) > 2:
                valid &= back_map[2]
            was = cv2.remap(self._previous, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            difference = ab - was
            if self.block > 1:   # colors of small areas: the visible flicker, not each pixel's rounding
                height, width = (valid.shape[0] // self.block) * self.block, (valid.shape[1] // self.block) * self.block
                shape = (height // self.block, self.block, width // self.block, self.block)
                difference = difference[:height, :width].reshape(*shape, 2).mean(axis=(1, 3))
                valid = valid[:height, :width].reshape(shape).all(axis=(1, 3))
            change = np.linalg.norm(difference, axis=2)[valid]
            self.per_frame.append(float(change.mean()) if change.size else float("nan"))
        self._previous = ab

    @property
    def value(self) -> float:
        values = [v for v in self.per_frame if v == v]
        return float(np.mean(values)) if values else float("nan")


# The table of the README's video section: clips, the colorizations compared, and the runner.

# (gallery photo, camera motion). The blend's constants were chosen on the first three (24-frame clips,
# another seed); the last two were never looked at before the table was made: the held-out check.
PHOTO_CLIPS = (("china", "pan"), ("astronaut", "pan"), ("coffee", "zoom"), ("flower", "zoom"), ("grace_hopper", "pan"),
               ("rocket", "zoom"))
HELD_OUT = ("grace_hopper", "rocket")
REAL_CLIPS = ("Megamind.avi", "vtest.avi", "tree.avi")   # Debian's opencv-doc: examples/data/
METHODS = {"per-frame": {"temporal": False},
           "temporal, network every frame": {"temporal": True, "network_every": 1},
           "temporal, network every 3rd frame (default)": {"temporal": True}}


def write_clip(clip, path) -> None:
    """A ``Clip``'s gray frames → an MP4 (lossless H.264, crf 0: the input as the clip made it)."""
    from colorizer.video.io import VideoWriter

    with VideoWriter(path, clip.gray.shape[2:0:-1], clip.fps, crf=0) as writer:
        for gray in clip.gray:
            writer.write(np.repeat(gray[..., None], 3, axis=2))


def score(output_path, truths, back_maps) -> dict:
    """An output MP4 against the truth frames (uint8 RGB, in order) and each frame's back map (None
    for the first) → {"psnr", "flicker" (4×4-px areas), "flicker_px" (single pixels), "frames"}."""
    from colorizer.video.io import read_frames

    areas, pixels, psnrs = FlickerMeter(block=4), FlickerMeter(), []
    for frame, truth, back_map in zip(read_frames(output_path), truths, back_maps):
        psnrs.append(psnr(truth, frame))
        areas.add(frame, back_map)
        pixels.add(frame, back_map)
    return {"psnr": float(np.mean(psnrs)), "flicker": areas.value, "flicker_px": pixels.value, "frames": len(psnrs)}


def truth_row(truths, back_maps) -> dict:
    areas, pixels = FlickerMeter(block=4), FlickerMeter()
    for truth, back_map in zip(truths, back_maps):
        areas.add(truth, back_map)
        pixels.add(truth, back_map)
    return {"psnr": float("inf"), "flicker": areas.value, "flicker_px": pixels.value, "frames": len(truths), "fps": float("nan")}
