"""How colorful a scene is likely to be, from its gray photo alone; the flagship never paints beyond it.

Issue 23: on quiet scenes from elsewhere (a wooden table, a hazy aerial view) the flagship paints
boldly, because each pixel's colors are decided locally and nothing asks how colorful the whole
scene should be. The colorfulness gate asks it once per photo:

- **Descriptor**: the mean and the spread, over the image, of each channel of the frozen VGG16's
  blocks 4 and 5 (``descriptor``: 2 × (512 + 512) = 2,048 numbers). It depends on the encoder only,
  so every decoder on that encoder (the shipped flagship, a fine-tuned one) shares one gate.
- **Prediction**: a ridge regression from the standardized descriptor (the shipped gate: its log,
  ``log_features``) to log(1 + colorfulness), fitted on the flagship's training crops and some
  featureless gray pictures labeled 0 (``fit``, ``featureless``; ``scripts/fit_colorfulness_gate.py``),
  colorfulness being Hasler and Süsstrunk's (``colorizer.metrics.colorfulness``). A linear model on
  pooled features: its guess is a blurred one (correlation with the truth about 0.4 on crops it never
  saw), so it is used only as a ceiling, never to add color.
- **Cap** (``cap_colorfulness``): when the decoded colors are more colorful than ``cap`` × the
  prediction, their chroma is scaled down until they are not; less colorful ones are left as they are.

Contract: ``ColorfulnessGate.predict(descriptors N×2048) → N`` colorfulness values (≥ 0);
``cap_colorfulness(ab N×h×w×2, L N×H×W (0–100), predicted N, cap) → ab`` in raw
ab units. A gate belongs to a checkpoint: ``colorfulness_gate.npz`` beside its ``model.keras``
(``beside``; the shipped flagship has one, fitted by ``scripts/fit_colorfulness_gate.py``). A loaded
model with a gate adds its prediction to the network's outputs (``with_prediction``), and the
flagship's decoding caps by it; a checkpoint without one (a fine-tuned decoder, which learned its own
photos' palette) is never capped. docs/results.md, "The colorfulness gate", has its numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import cv2
import numpy as np

from colorizer.color import lab_to_rgb, resize
from colorizer.metrics import colorfulness

__all__ = ["ColorfulnessGate", "SceneColorfulness", "descriptor", "fit", "cap_colorfulness", "beside", "featureless",
           "FILE_NAME", "BLOCKS", "SEMANTIC", "OUTPUT"]

FILE_NAME = "colorfulness_gate.npz"
CAP_STEPS = 10  # bisection steps of the cap's scale: within 0.1 % of the largest one under the ceiling
OUTPUT = "scene_colorfulness"  # the network output ``with_prediction`` adds: N predicted colorfulness values
# The encoder outputs the descriptor pools (names as the flagship's decoder inputs): block 5 knows the scene,
# block 4 its parts; block 3 (texture, H/4) added nothing in the probe and would double the cost.
BLOCKS = ("block4", "block5")
# A gate may also read the ImageNet encoder's last block (EfficientNet-Lite0, the flagship's "semantic"
# output since run S1): it knows an aerial city or a table of things, and its pooled features predicted the
# training crops' colorfulness better (cross-validated correlation 0.433 → 0.507). Each gate records
# which outputs it reads (``ColorfulnessGate.blocks``).
SEMANTIC = "semantic"


def descriptor(*blocks: np.ndarray) -> np.ndarray:
    """Encoder blocks, each N×h×w×C → N×(2·ΣC): per block, each channel's mean over the image, then its
    standard deviation (float32; float16 cached features are summed in float32)."""
    parts = []
    for block in blocks:
        block = np.asarray(block, np.float32)
        parts += [block.mean(axis=(1, 2)), block.std(axis=(1, 2))]
    return np.concatenate(parts, axis=1)


@dataclass(frozen=True)
class ColorfulnessGate:
    """Ridge regression descriptor → log(1 + colorfulness); see the module docstring."""

    mean: np.ndarray      # the descriptor's mean over the fitting crops (2,048)
    scale: np.ndarray     # its standard deviation (2,048; ≥ 1e-6)
    weights: np.ndarray   # on the standardized descriptor (2,048)
    bias: float
    l2: float             # the ridge penalty it was fitted with
    blocks: tuple = BLOCKS  # the network outputs its descriptor pools, in order
    log_features: bool = False  # whether it reads log(1 + descriptor) (``fit``'s ``log_features``)

    def predict(self, descriptors: np.ndarray) -> np.ndarray:
        """N×2048 descriptors → N predicted colorfulness values (≥ 0)."""
        z = (_features(descriptors, self.log_features) - self.mean) / self.scale
        return np.maximum(np.expm1(z @ self.weights + self.bias), 0.0)

    def save(self, path: str | Path) -> None:
        """Write the gate as one ``.npz`` (``np.savez``: plain arrays, no pickle)."""
        with open(path, "wb") as f:
            np.savez(f, mean=self.mean, scale=self.scale, weights=self.weights, bias=np.float64(self.bias),
                     l2=np.float64(self.l2), blocks=np.array(self.blocks, dtype=str), log_features=np.bool_(self.log_features))

    @classmethod
    def load(cls, path: str | Path) -> "ColorfulnessGate":
        with np.load(path, allow_pickle=False) as f:
            blocks = tuple(str(b) for b in f["blocks"]) if "blocks" in f.files else BLOCKS  # gates before run S1
            log_features = bool(f["log_features"]) if "log_features" in f.files else False  # gates before it
            return cls(f["mean"], f["scale"], f["weights"], float(f["bias"]), float(f["l2"]), blocks, log_features)


class SceneColorfulness(NamedTuple):
    """What the cap did to one photo (``Colorizer.scene_colorfulness``), in colorfulness units: what the gate
    expects of the scene, how colorful the model's own colors were, and the ceiling (cap × expected)."""

    expected: float
    painted: float
    ceiling: float

    @property
    def held_back(self) -> bool:
        return self.painted > self.ceiling


def _features(descriptors: np.ndarray, log_features: bool) -> np.ndarray:
    x = np.asarray(descriptors, np.float64)
    return np.log1p(np.maximum(x, 0.0)) if log_features else x


def fit(descriptors: np.ndarray, colorfulness_values: np.ndarray, l2: float, blocks: tuple = BLOCKS,
        log_features: bool = False) -> ColorfulnessGate:
    """Ridge regression (penalty ``l2`` on the standardized descriptor, none on the bias) of
    log(1 + colorfulness) on ``descriptors`` N×D → the gate. Closed form: D is small (2,048).

    ``log_features``: regress on log(1 + descriptor) (the descriptor is ReLU means and spreads, ≥ 0). With
    featureless pictures among the crops (``featureless``) it tells "nothing here" from a quiet photo at
    less cost to the photos' fit (docs/results.md, "A blank picture stays gray")."""
    x = _features(descriptors, log_features)
    target = np.log1p(np.maximum(np.asarray(colorfulness_values, np.float64), 0.0))
    mean, scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
    z = (x - mean) / scale
    # Centering z and the target makes the bias their mean; the weights then solve the penalized normal equations.
    z_mean, t_mean = z.mean(axis=0), target.mean()
    zc = z - z_mean
    weights = np.linalg.solve(zc.T @ zc + l2 * np.eye(z.shape[1]), zc.T @ (target - t_mean))
    return ColorfulnessGate(mean, scale, weights, float(t_mean - z_mean @ weights), float(l2), tuple(blocks), log_features)


def featureless(n: int, size: int, seed: int = 0) -> np.ndarray:
    """``n`` gray pictures with nothing in them (uint8 N×size×size×3, R = G = B): a flat level, some with a
    gentle ramp at a random angle, some with faint, optionally blurred noise.

    Why the gate is also fitted on these, labeled with their colorfulness (0): fitted on photo crops only, it
    expected a blank mid-gray picture to be as colorful as an average photo (32), since such a picture lies
    far from every crop it saw, and the flagship painted it (docs/results.md, "A blank picture stays gray").
    """
    rng = np.random.default_rng(seed)
    coords = np.linspace(-0.5, 0.5, size, dtype=np.float32)
    ys, xs = np.meshgrid(coords, coords, indexing="ij")
    out = np.empty((n, size, size, 3), np.uint8)
    for i in range(n):
        picture = np.full((size, size), rng.uniform(10, 245), np.float32)
        if rng.random() < 0.5:  # a ramp, as of light across a wall or the sky
            angle = rng.uniform(0, 2 * np.pi)
            picture += rng.uniform(10, 80) * (np.cos(angle) * xs + np.sin(angle) * ys)
        if rng.random() < 0.5:  # sensor noise or a fine grain, maybe smoothed into blotches
            noise = rng.normal(0, rng.uniform(1, 8), (size, size)).astype(np.float32)
            blur = rng.choice([0, 1, 3])
            if blur:
                noise = cv2.GaussianBlur(noise, (0, 0), float(blur)) * (1 + blur)
            picture += noise
        out[i] = np.clip(np.rint(picture), 0, 255).astype(np.uint8)[..., None]
    return out


def output_colorfulness(ab: np.ndarray, L: np.ndarray) -> float:
    """Colorfulness of one colorization at the chroma's own resolution: ``L`` (H×W, 0–100) area-averaged down
    to ``ab``'s h×w grid and joined with it."""
    L_small = resize(np.asarray(L, np.float32), ab.shape[:2])
    rgb = lab_to_rgb(np.concatenate([L_small[..., None], np.asarray(ab, np.float32)], axis=-1))
    return colorfulness(rgb)


def cap_colorfulness(ab: np.ndarray, L: np.ndarray, predicted: np.ndarray, cap: float) -> np.ndarray:
    """Each colorization's chroma scaled down so that its colorfulness is at most ``cap`` × the gate's
    prediction; those already within stay bit for bit. ``cap`` ≤ 0 turns the cap off. One scale per
    photo (every pixel keeps its hue), found by bisection: colorfulness grows with the scale, but not
    in proportion where colors leave the sRGB gamut and are clipped."""
    if cap <= 0:
        return ab
    out = np.array(ab, np.float32, copy=True)
    for i in range(len(out)):
        ceiling = cap * float(predicted[i])
        if output_colorfulness(out[i], L[i]) <= ceiling:
            continue
        under, over = 0.0, 1.0  # scales known to land under and over the ceiling
        for _ in range(CAP_STEPS):
            middle = 0.5 * (under + over)
            if output_colorfulness(out[i] * np.float32(middle), L[i]) <= ceiling:
                under = middle
            else:
                over = middle
        out[i] *= np.float32(under)
    return out


def beside(checkpoint: str | Path) -> ColorfulnessGate | None:
    """The gate in a checkpoint's folder (``checkpoint``: the folder or a file in it), or None."""
    path = Path(checkpoint)
    path = (path if path.is_dir() else path.parent) / FILE_NAME
    return ColorfulnessGate.load(path) if path.is_file() else None


def with_prediction(forward, gate: ColorfulnessGate):
    """A network's ``forward`` (→ a dict of outputs holding the gate's ``blocks``) → one whose outputs also
    hold ``OUTPUT``, the gate's prediction per photo. Outputs without those blocks pass through unchanged."""

    def gated(x):
        outputs = dict(forward(x))
        if all(name in outputs for name in gate.blocks):
            outputs[OUTPUT] = gate.predict(descriptor(*(outputs[name] for name in gate.blocks)))
        return outputs

    gated.traced = getattr(forward, "traced", None)
    gated.other_shapes = getattr(forward, "other_shapes", {})
    return gated
