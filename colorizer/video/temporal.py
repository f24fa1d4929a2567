"""Colors that do not flicker: each frame's colors carried to the next along optical flow.

A colorizer run on each frame alone guesses each frame's colors afresh; small changes of lightness
(grain, exposure flicker, a moving edge) move its guesses, and the colors flicker. Here the colors of
the frames before are carried along the motion and blended with the frame's own prediction (a running
mean along each point's path, Lai et al.'s "blind video temporal consistency", 2018, without the
network they train):

1. **Where was each pixel?** OpenCV's DIS optical flow (Kroeger et al., 2016; "fast" preset) on the
   lightness, on a grid of at most ``GRID_SIDE`` px (a 640×360 frame: 320×180), both ways: from frame t
   to t − 1 and back. Each frame's lightness is first brought to a fixed mean and spread, so that
   exposure flicker does not look like motion; the grid's area averaging removes most film grain.
2. **Is that pixel the same point?** Forward–backward consistency (Sundaram et al., 2010): going back
   along the flow and forward again must land within ``CONSISTENCY_SLACK`` px (plus a share of the
   motion). Where it does not, or where the point came from outside the frame, or where its lightness
   changed by more than ``LIGHTNESS_SLACK`` (something passed in front), the pixel is *occluded*: its
   history is dropped and the frame's own prediction takes over.
3. **Blend by confidence.** Every grid pixel keeps a weight, how many frames of colors stand behind it
   (at most ``HISTORY``). The carried colors count with that weight, the frame's prediction with its
   confidence (1, or the model's own per-pixel confidence when given), and the weight carries on. In a
   steady shot this is a moving average over the last few frames of each point's path, so a color that
   flickers by δ flickers by about δ/3; where the motion was lost it is the frame's own color at once.
4. **Scene cuts** start again: when fewer than ``CUT_VALID_SHARE`` of the pixels are consistent, or the
   lightness histograms of two frames differ by more than ``CUT_HISTOGRAM_DISTANCE`` (Bhattacharyya),
   all history is dropped.

``CarriedColors(grid).step(L8_small, ab_pred)`` (or ``follow`` then ``blend``, to decide between the
two whether the frame needs the network at all) → ``Step`` (the blended colors on the grid, whether it
was a cut, and the motion-compensated change of the prediction and of the blended colors, which is
the Video page's chart). Costs at 320×180: two DIS flows (≈ 1–2 ms each) and a few remaps. The "fast" preset, not
"ultrafast": on the measured pans and zooms its flow left a third less flicker (docs/video.md).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["CarriedColors", "Motion", "Step", "grid_shape", "GRID_SIDE", "HISTORY"]

GRID_SIDE = 320              # px: the longest side of the grid where flow and blending run
MIN_FLOW_SIDE = 12           # px: OpenCV's DIS flow needs a side this long; a smaller clip is taken as still
HISTORY = 4.0                # most frames of weight behind a carried color (steady state: 4 parts carried, 1 new)
CONSISTENCY_SLACK = 0.7      # px on the grid: forward–backward round trip allowed to miss by this ...
CONSISTENCY_SHARE = 0.05     # ... plus this share of the squared motion (Sundaram et al.'s rule)
LIGHTNESS_SLACK = 24.0       # levels of the normalized lightness (spread 40): beyond this, another thing
CUT_VALID_SHARE = 0.35       # fewer consistent pixels than this: a scene cut
CUT_HISTOGRAM_DISTANCE = 0.5 # Bhattacharyya distance of the normalized lightness histograms: a scene cut
NORMALIZED_MEAN, NORMALIZED_SPREAD = 128.0, 40.0
STALE_CONFIDENCE = 0.05      # a skipped frame's stand-in prediction, against one frame of history


def _confidence(confidence) -> np.ndarray:
    return np.clip(np.asarray(confidence, np.float32), 1e-3, 1.0)


def grid_shape(height: int, width: int, side: int = GRID_SIDE) -> tuple[int, int]:
    """A frame's (h, w) → the (h, w) of its flow grid: the same aspect, the longest side at most ``side``."""
    scale = min(1.0, side / max(height, width))
    return max(1, round(height * scale)), max(1, round(width * scale))


@dataclass
class Motion:
    """Where the pixels of a frame were in the frame before (``CarriedColors.follow``): ``map_x``,
    ``map_y`` float32 h×w (for ``cv2.remap``), ``valid`` bool h×w (the same point, seen in both),
    ``cut`` (history to be dropped: the first frame, or a scene cut)."""

    lightness: np.ndarray
    histogram: np.ndarray
    map_x: np.ndarray | None = None
    map_y: np.ndarray | None = None
    valid: np.ndarray | None = None
    valid_share: float = 0.0
    cut: bool = True


@dataclass
class Step:
    """One frame through ``CarriedColors.step``: ``ab`` float32 h×w×2 (the colors to show, on the grid);
    ``cut``: history dropped here (the first frame, or a scene cut); ``valid_share``: the share of
    pixels whose motion was followed; ``change_predicted`` / ``change_carried``: mean |Δab| (Euclidean)
    over those pixels, after undoing the motion, of the frame's own prediction from the last one (NaN
    at a cut and on frames the network skipped) and of the blended colors from the previous frame's
    (NaN at a cut)."""

    ab: np.ndarray
    cut: bool
    valid_share: float
    change_predicted: float
    change_carried: float


def _normalized(L8_small: np.ndarray) -> np.ndarray:
    """uint8 lightness → uint8 at a fixed mean and spread: exposure flicker is not motion."""
    plane = L8_small.astype(np.float32)
    spread = max(float(plane.std()), 1.0)
    return np.clip((plane - plane.mean()) * (NORMALIZED_SPREAD / spread) + NORMALIZED_MEAN, 0, 255).astype(np.uint8)


def _histogram(plane: np.ndarray) -> np.ndarray:
    histogram = cv2.calcHist([plane], [0], None, [32], [0, 256])
    return histogram / max(float(histogram.sum()), 1.0)


class CarriedColors:
    """The state carried from frame to frame on one grid of (h, w); ``reset()`` forgets it (call it
    between clips). Not thread-safe: one per clip."""

    def __init__(self, grid: tuple[int, int], history: float = HISTORY, preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST):
        self.grid = tuple(grid)
        self.history = float(history)
        self._flow = cv2.DISOpticalFlow_create(preset)
        # The preset's finest pyramid level is 1/4 of the grid: right for 320 px, blind on a small clip's
        # grid (a 96×64 GIF). Smaller grids get finer levels: the flow is then solved on ≥ 80 px.
        finest = int(np.clip(np.floor(np.log2(max(self.grid) / 80)), 0, 2))
        # ...and no level whose short side is under one patch: OpenCV's DIS then crashed the process (SIGSEGV: a
        # 640×48 clip's 320×24 grid at 1/4) or raised (session 38's hostile-input audit). A grid whose short side is
        # under a patch, or whose long side is under MIN_FLOW_SIDE, is taken as still.
        patch = self._flow.getPatchSize()
        self._still = max(self.grid) < MIN_FLOW_SIDE or min(self.grid) < patch
        if not self._still:
            self._flow.setFinestScale(min(finest, int(np.floor(np.log2(min(self.grid) / patch)))))
        height, width = self.grid
        self._x, self._y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        self.reset()

    def reset(self) -> None:
        self._previous = None     # (normalized lightness, its histogram, carried ab, weight, predicted ab)

    def _back_coordinates(self, current: np.ndarray, previous: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """→ (map_x, map_y: where each pixel of the current frame was in the previous one; valid: bool)."""
        if self._still:  # OpenCV's DIS refuses such a grid (or crashes on it): taken as still
            backward = forward = np.zeros((*self.grid, 2), np.float32)
        else:
            backward = self._flow.calc(current, previous, None)      # current(x) ≈ previous(x + backward(x))
            forward = self._flow.calc(previous, current, None)
        map_x, map_y = self._x + backward[..., 0], self._y + backward[..., 1]
        there = cv2.remap(forward, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        round_trip = np.sum((backward + there) ** 2, axis=2)
        motion = np.sum(backward ** 2, axis=2) + np.sum(there ** 2, axis=2)
        height, width = self.grid
        inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
        valid = inside & (round_trip <= CONSISTENCY_SLACK ** 2 + CONSISTENCY_SHARE * motion)
        seen = cv2.remap(previous, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        valid &= np.abs(current.astype(np.int16) - seen.astype(np.int16)) <= LIGHTNESS_SLACK
        return map_x, map_y, valid

    def follow(self, L8_small: np.ndarray) -> "Motion":
        """The next frame's lightness on the grid (uint8 h×w, ``colorizer.lab8``'s L8) → ``Motion``:
        where its pixels were in the frame before, and whether this is a cut (always, at the first frame)."""
        if L8_small.shape != self.grid:
            raise ValueError(f"expected a {self.grid} grid, got lightness {L8_small.shape}")
        current = _normalized(L8_small)
        motion = Motion(current, _histogram(current))
        if self._previous is not None:
            motion.map_x, motion.map_y, motion.valid = self._back_coordinates(current, self._previous[0])
            motion.valid_share = float(motion.valid.mean())
            distance = cv2.compareHist(motion.histogram, self._previous[1], cv2.HISTCMP_BHATTACHARYYA)
            motion.cut = motion.valid_share < CUT_VALID_SHARE or distance > CUT_HISTOGRAM_DISTANCE
        return motion

    def blend(self, motion: Motion, ab_predicted: np.ndarray | None, confidence: float | np.ndarray = 1.0) -> Step:
        """``follow``'s motion and the frame's own predicted colors (float32 h×w×2, Lab units;
        ``confidence``: a number or h×w in (0, 1], how much they count against one frame of history)
        → ``Step``. ``ab_predicted=None`` (a frame the network skipped; not at a cut): the last
        prediction, carried here along the motion, stands in for it at ``STALE_CONFIDENCE``, so only
        the pixels that lost their history take it."""
        if motion.cut and ab_predicted is None:
            raise ValueError("a cut (or the first frame) needs the frame's own prediction")
        if ab_predicted is not None and ab_predicted.shape[:2] != self.grid:
            raise ValueError(f"expected a {self.grid} grid, got ab {ab_predicted.shape}")
        change_predicted = change_carried = float("nan")
        if motion.cut:
            ab_predicted = np.asarray(ab_predicted, np.float32)
            ab, weight, last_prediction = ab_predicted, np.broadcast_to(_confidence(confidence), self.grid), ab_predicted
        else:
            carried, carried_weight, last_prediction = self._previous[2:]
            remap = lambda plane: cv2.remap(plane, motion.map_x, motion.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
            warped, behind, last_prediction = remap(carried), remap(carried_weight) * motion.valid, remap(last_prediction)
            if ab_predicted is None:
                ab_predicted, own = last_prediction, np.float32(STALE_CONFIDENCE)
            else:
                ab_predicted, own = np.asarray(ab_predicted, np.float32), _confidence(confidence)
                if motion.valid.any():
                    change_predicted = float(np.linalg.norm(ab_predicted - last_prediction, axis=2)[motion.valid].mean())
                last_prediction = ab_predicted
            own = np.broadcast_to(own, self.grid)
            ab = (warped * behind[..., None] + ab_predicted * own[..., None]) / (behind + own)[..., None]
            weight = np.minimum(behind + own, self.history)
            if motion.valid.any():
                change_carried = float(np.linalg.norm(ab - warped, axis=2)[motion.valid].mean())
        self._previous = (motion.lightness, motion.histogram, ab, np.ascontiguousarray(weight, np.float32), last_prediction)
        return Step(ab=ab, cut=motion.cut, valid_share=motion.valid_share, change_predicted=change_predicted,
                    change_carried=change_carried)

    def step(self, L8_small: np.ndarray, ab_predicted: np.ndarray, confidence: float | np.ndarray = 1.0) -> Step:
        """``follow`` then ``blend``: the next frame's lightness (uint8 h×w) and predicted colors → ``Step``."""
        return self.blend(self.follow(L8_small), ab_predicted, confidence)
