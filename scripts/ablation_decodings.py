"""The flagship's decodings that were tried and not shipped (docs/results.md's head and saturation
studies), for ``scripts/tune_flagship.py``. The shipped decoding is ``colorizer.models.hypercolumn_decoding``'s
``decode``; with none of the options below, ``decode`` here gives exactly its result.

``decode(probs, ab_reg_norm, temperature=None, head="blend", <ablation options>, **shipped)``:
- ``head="muted"``: the annealed mean's chroma scaled by confidence, from ``chroma_floor`` up to 1;
- ``agreement_power``: vividness times the two heads' ``hue_agreement`` to that power;
- ``chroma_gain``: a factor on the blend's result;
- ``chroma_restore``: each pixel's chroma moved that share of the way up to the distribution's
  expected chroma (``restore_chroma``);
- ``shipped``: the options of ``hypercolumn.DECODE`` (``regression_gain``, ``hue_of_annealed``, …).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr, before the imports below
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

from colorizer import quantize  # noqa: E402
from colorizer.color import unnormalize_ab  # noqa: E402
from colorizer.models import hypercolumn_decoding  # noqa: E402

HEADS = ("blend", "muted", "annealed", "regression")


def decode(probs: np.ndarray, ab_reg_norm: np.ndarray, temperature: float | None = None, head: str = "blend",
           chroma_floor: float = 0.3, agreement_power: float = 0, chroma_gain: float = 1.0, chroma_restore: float = 0,
           **shipped) -> np.ndarray:
    """probs …×313 and ab_reg_norm …×2 → ab …×2 (raw units): ``hypercolumn_decoding.decode`` with the ablations
    of the module docstring."""
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; known: {', '.join(HEADS)}")
    if head in ("annealed", "regression"):
        return hypercolumn_decoding.decode(probs, ab_reg_norm, temperature, head, **shipped)
    options = hypercolumn_decoding.decode_options_of(shipped, temperature)
    regression = unnormalize_ab(np.asarray(ab_reg_norm, np.float32))
    annealed = quantize.annealed_mean(probs, options["temperature"])
    vivid = hypercolumn_decoding.sureness(probs, annealed, options)[..., None]
    if agreement_power:
        vivid = vivid * hue_agreement(annealed, regression) ** agreement_power
    if head == "muted":  # uncertain pixels keep the annealed hue at a fraction of its chroma
        return annealed * (chroma_floor + (1.0 - chroma_floor) * vivid)
    blend = hypercolumn_decoding.blend(annealed, regression, vivid, options) * np.float32(chroma_gain)
    if chroma_restore:
        blend = restore_chroma(blend, probs, chroma_restore)
    return blend


def restore_chroma(ab: np.ndarray, probs: np.ndarray, share: float) -> np.ndarray:
    """Move each pixel's chroma ``share`` of the way up to the distribution's expected chroma Σ p·|bin|,
    keeping its hue. A mean of colors is grayer than any of them (red and green average to brown); the
    expected chroma says how colorful the pixel is likely to be whatever its hue."""
    expected = probs.astype(np.float32) @ np.linalg.norm(quantize.AB_BINS, axis=-1).astype(np.float32)
    chroma = np.linalg.norm(ab, axis=-1)
    target = chroma + share * np.maximum(expected - chroma, 0.0)
    return ab * (target / np.maximum(chroma, 1e-6))[..., None]


def hue_agreement(annealed: np.ndarray, regression: np.ndarray) -> np.ndarray:
    """…×2 ab of both heads → …×1 in [0, 1]: the cosine of the angle between their ab vectors (0 when
    they point more than 90° apart). Where the heads disagree on the hue, the classification head's
    vivid color is a guess; the blend then leans on the regression head's muted one."""
    dot = np.sum(annealed * regression, axis=-1, keepdims=True)
    norms = np.linalg.norm(annealed, axis=-1, keepdims=True) * np.linalg.norm(regression, axis=-1, keepdims=True)
    return np.clip(dot / np.maximum(norms, 1e-6), 0.0, 1.0)
