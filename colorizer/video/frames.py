"""One frame after another: a ``Colorizer``'s colors for each frame, carried over time.

``FrameColorizer(model, (height, width))`` is made once per clip; ``colorize(frame)`` takes each uint8
gray H×W or RGB H×W×3 frame in order and returns ``Colored`` (the uint8 RGB frame and the
``temporal.Step`` behind it). Every frame keeps its own lightness exactly (the model's join, as for a
photo); only a and b are predicted and carried.

Per frame: the model's a, b at its output size (any architecture: ``Colorizer.predict_ab``) are
brought onto the flow grid along the frame's edges (the model's own upsampling: guided for the
flagship, bilinear otherwise), blended there with the colors carried from the frames before
(``colorizer.video.temporal``), and joined to the full-resolution lightness.

Keyframe guidance (optional): ``reference`` (a color photo) or ``hints`` (for the first frame, with a
hint-taking model) colors the first frame; that colored keyframe then is the reference photo of every
frame after it (``colorizer.exemplar``: each frame's cells take the colors of the keyframe's cells
that look like them, the model's colors where nothing matches), so guided colors hold over a pan
instead of fading into the model's own. It costs a second VGG16 pass a frame.

``temporal=False`` is the per-frame baseline: each frame alone, exactly ``Colorizer.colorize``.
``network_every`` (temporal only): the network colors every n-th frame and every scene cut; the
frames between are carried along the motion (``NETWORK_EVERY``). ``grid_side``, ``history`` and
``flow_preset`` are ``temporal``'s (for the measurements' variants; the defaults are the measured choice).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from colorizer import lab8
from colorizer.upsample import guided_coefficients
from colorizer.video.temporal import GRID_SIDE, HISTORY, CarriedColors, Step, grid_shape

__all__ = ["FrameColorizer", "Colored", "NETWORK_EVERY", "unguidable_reason"]

# The network runs on every NETWORK_EVERY-th frame (and at every cut); the frames between take the
# colors carried along the motion, the pixels that lost their history the last prediction carried
# along. Measured on six old-film clips (docs/video.md): every 2nd or 3rd frame costs no PSNR against
# every frame and flickers a little less; every 3rd is the fastest of the three.
NETWORK_EVERY = 3


def unguidable_reason(frame_shape: tuple[int, ...]) -> str | None:
    """Why frames of ``frame_shape`` (H×W…) cannot be guided by a reference or hints, or None: the colored first
    frame is matched as a reference photo is, by ``exemplar.too_small_reason``'s rule. Asked before any work: found
    at the first frame, a 24×24 clip failed after its wait in the page's queue, as a reference photo's error."""
    from colorizer.exemplar import MAX_REFERENCE_ASPECT, MIN_REFERENCE_SIDE, too_small_reason

    if too_small_reason(frame_shape) is None:
        return None
    return (f"frames of {frame_shape[1]}×{frame_shape[0]} px are too small or too narrow to carry a reference's or hints' colors "
            f"(at least {MIN_REFERENCE_SIDE} px a side, at most {MAX_REFERENCE_ASPECT} times as long as wide); "
            "colorize it automatically")


@dataclass
class Colored:
    """``rgb``: uint8 H×W×3; ``step``: what the temporal blend did (None without it)."""

    rgb: np.ndarray
    step: Step | None


class FrameColorizer:
    """A clip's frames in order → colored frames. ``options`` go to the model (temperature, seed, …)."""

    def __init__(self, model, frame_shape: tuple[int, int], temporal: bool = True, reference=None, hints=None,
                 reference_visible=None, network_every: int = NETWORK_EVERY, grid_side: int = GRID_SIDE,
                 history: float = HISTORY, flow_preset: int = cv2.DISOPTICAL_FLOW_PRESET_FAST, **options):
        self.model, self.options = model, options
        self.frame_shape = tuple(frame_shape[:2])
        self.grid = grid_shape(*self.frame_shape, side=grid_side)
        self.carried = CarriedColors(self.grid, history=history, preset=flow_preset) if temporal else None
        self.hints, self.reference = hints, reference
        self.reference_visible = reference_visible   # the pixels the reference shows (None: all of them)
        self._cells = None            # the keyframe's (or reference's) matching cells, once known
        self._frames = 0
        self.network_every = max(1, int(network_every)) if temporal else 1
        self._since_network = 0

    def _guide(self, frame: np.ndarray) -> None:
        """Before the first frame: the cells every frame is matched against (reference or hinted keyframe)."""
        from colorizer.exemplar import reference_cells

        if self.reference is not None:
            keyframe = self.model.colorize(frame, reference=self.reference, reference_visible=self.reference_visible,
                                           hints=self.hints, **self.options)
        else:
            keyframe = self.model.colorize(frame, hints=self.hints, **self.options)
        self._cells = reference_cells([keyframe])

    def _predicted(self, L8: np.ndarray, x: np.ndarray, first: bool) -> np.ndarray:
        """The frame's own a, b at the model's output size."""
        if self._cells is None:
            return self.model.predict_ab(x, **self.options)[0]
        from colorizer.exemplar import reference_ab

        hint_grid = self.model.hint_grid(self.hints, self.frame_shape, L8) if first and self.hints else None
        return reference_ab(self.model, L8, *self._cells, hint_grid=hint_grid, **self.options)[0]

    def _on_grid(self, L8_small: np.ndarray, ab: np.ndarray) -> np.ndarray:
        """Model-size a, b → the flow grid, along the edges of the grid's lightness as the model's join would."""
        height, width = self.grid
        ab = np.asarray(ab, np.float32)
        if self.model.arch is not None and self.model.arch.UPSAMPLING == "guided":
            gain, offset = guided_coefficients(L8_small, ab)
            gain = cv2.resize(gain, (width, height), interpolation=cv2.INTER_LINEAR)
            offset = cv2.resize(offset, (width, height), interpolation=cv2.INTER_LINEAR)
            return gain * (L8_small.astype(np.float32) / np.float32(255.0))[..., None] + offset
        return cv2.resize(ab, (width, height), interpolation=cv2.INTER_LINEAR)

    def colorize(self, frame: np.ndarray) -> Colored:
        """The next uint8 gray H×W or RGB H×W×3 frame (the clip's size) → ``Colored``."""
        from colorizer.inference import validated_image

        # As Colorizer.colorize checks a photo: the temporal path went straight to prepared(), where a float frame
        # failed in OpenCV and an RGBA one was taken (session 39's API audit).
        frame = validated_image(frame)
        if frame.shape[:2] != self.frame_shape:
            raise ValueError(f"frame {self._frames}: size {frame.shape[1]}x{frame.shape[0]}, the clip's is "
                             f"{self.frame_shape[1]}x{self.frame_shape[0]}")
        first = self._frames == 0
        self._frames += 1
        if self.carried is None and self.reference is None and not self.hints:
            return Colored(self.model.colorize(frame, **self.options), None)
        if first and (self.reference is not None or self.hints):
            self._guide(frame)
        L8, x = self.model.prepared(frame)
        if self.carried is None:
            return Colored(self.model.join(L8, self._predicted(L8, x, first)), None)
        L8_small = lab8.shrink(L8, self.grid)
        motion = self.carried.follow(L8_small)
        self._since_network += 1
        ab = None
        if motion.cut or self._since_network >= self.network_every:
            ab, self._since_network = self._on_grid(L8_small, self._predicted(L8, x, first)), 0
        step = self.carried.blend(motion, ab)
        return Colored(self.model.join(L8, step.ab), step)
