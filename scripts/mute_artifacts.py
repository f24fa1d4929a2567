#!/usr/bin/env python3
"""Do man-made things want less color? The flagship's chroma muted where ImageNet's classifier sees artifacts.

A measurement (session 23, docs/results.md "Man-made things muted by ImageNet's classes"), nothing shipped.
The photos that fail (desks, instruments, glassware, building fronts) are man-made, and a man-made thing's
color is arbitrary (a cup or a car comes in any color), so less chroma is the safer guess there. The
encoder's EfficientNet-Lite0 carries its ImageNet head (until now used only in a test): per cell of its last
block, the class probabilities' mass on ImageNet-1k's artifact classes (indices 398-923, between the animals
and the food, plants and fungi, in WordNet order) is A, and the shipped output's chroma is scaled by
(1 - s·A), per cell or by the whole image's A. Nothing is fitted. It also prints, per set, how well the
image's A tells the photos more than 3 dB under gray from the others (AUC: 0.5 is chance).

    python scripts/mute_artifacts.py data/photos [--sets val,gallery,...] [--json FILE]
"""
from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr, before the imports below
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

from colorizer.color import lab_to_rgb, normalize_l, rgb_to_lab  # noqa: E402
from colorizer.eval_report import write_json  # noqa: E402
from colorizer.eval_sets import CHOOSING_SETS  # noqa: E402
from colorizer.evaluate import evaluate_photos  # noqa: E402

ARTIFACT_CLASSES = slice(398, 924)   # ImageNet-1k in WordNet order: after the animals, before food and nature
WORKING_SIDE = 288                   # what Lite0 sees in the flagship (its 144-px working size, upscaled 2×)
VARIANTS = {"as shipped": None, "cells s=0.5": ("cells", 0.5), "cells s=1.0": ("cells", 1.0),
            "image s=0.5": ("image", 0.5), "image s=1.0": ("image", 1.0)}


def _softmax(logits: np.ndarray) -> np.ndarray:
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@functools.lru_cache(maxsize=1)
def _classifier():
    """Lite0 up to its last block (built once: its weights are assigned at build), and its head conv and classifier."""
    from colorizer.models.efficientnet_lite import EfficientNetLite0Features, lite0_arrays

    return EfficientNetLite0Features(upscale=1), *lite0_arrays(True)[-2:]


def artifact_maps(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    """uint8 RGB → (the artifact classes' probability per Lite0 cell, bilinearly at full size; the whole
    image's, from the pooled head as ImageNet classifies)."""
    lite, (head_kernel, head_bias), (fc_kernel, fc_bias) = _classifier()
    h, w = rgb.shape[:2]
    scale = np.sqrt(WORKING_SIDE ** 2 / (h * w))
    side = lambda n: max(32, round(n * scale / 32) * 32)
    small = cv2.resize(rgb, (side(w), side(h)), interpolation=cv2.INTER_AREA)
    features = np.asarray(lite(normalize_l(rgb_to_lab(small)[..., :1])[None]))[0]
    head = np.clip(np.tensordot(features, head_kernel[0, 0], 1) + head_bias, 0, 6)
    cells = _softmax(head @ fc_kernel + fc_bias)[..., ARTIFACT_CLASSES].sum(-1).astype(np.float32)
    image = float(_softmax(head.mean(axis=(0, 1)) @ fc_kernel + fc_bias)[ARTIFACT_CLASSES].sum())
    return cv2.resize(cells, (w, h), interpolation=cv2.INTER_LINEAR), image


def muted(rgb: np.ndarray, factor) -> np.ndarray:
    """uint8 RGB with a, b × ``factor`` (a number, or an H×W map), lightness kept."""
    lab = rgb_to_lab(rgb)
    lab[..., 1:] *= np.asarray(factor, np.float32)[..., None] if np.ndim(factor) else factor
    return lab_to_rgb(lab)


def auc(scores: np.ndarray, positive: np.ndarray) -> float:
    """How often a positive photo scores above a negative one (ties count half); NaN without both."""
    if not positive.any() or positive.all():
        return float("nan")
    pos, neg = scores[positive][:, None], scores[~positive][None, :]
    return float(((pos > neg) + 0.5 * (pos == neg)).mean())


class _Variant:
    """A colorizer reading the shipped colorization and the artifact maps from a per-set cache."""

    def __init__(self, cache: dict, spec):
        self.cache, self.spec = cache, spec

    def colorize(self, truth: np.ndarray) -> np.ndarray:
        shipped, cells, image = self.cache[id(truth)]
        if self.spec is None:
            return shipped
        kind, strength = self.spec
        return muted(shipped, 1 - strength * (cells if kind == "cells" else image))


def main(argv=None) -> int:
    from colorizer.inference import load
    from tune_decoding import bars_met
    from tune_flagship import BARS, format_sets_table, margin, photo_set

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="photo folder with a val/ split (scripts/fetch_photos.py)")
    parser.add_argument("--sets", default=CHOOSING_SETS)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    model = load("hypercolumn")
    summaries, separation, pooled = {}, {}, ([], [])
    for name in args.sets.split(","):
        photos = photo_set(name, args.dir)
        cache = {id(truth): (model.colorize(truth), *artifact_maps(truth)) for _, truth in photos}
        summaries[name] = evaluate_photos(photos, {label: _Variant(cache, spec) for label, spec in VARIANTS.items()},
                                          per_photo=True)
        gains = np.array([p["gain_over_gray"] for p in summaries[name]["as shipped"]["photos"]])
        image_a = np.array([cache[id(truth)][2] for _, truth in photos])
        separation[name] = {"mean_image_A": float(image_a.mean()), "photos_3dB_under": int((gains < -3).sum()),
                            "auc": auc(image_a, gains < -3), "image_A": image_a.tolist()}
        pooled[0].extend(image_a)
        pooled[1].extend(gains < -3)
    print(format_sets_table(summaries, list(VARIANTS)))
    for label in VARIANTS:
        met = sum(bars_met(summaries[s][label]) for s in summaries)
        worst = min(margin(summaries[s][label]) for s in summaries)
        print(f"{label}: bars met {met} of {len(BARS) * len(summaries)}, worst margin {worst:+.2f}")
    for name, s in separation.items():
        print(f"{name}: mean artifact mass {s['mean_image_A']:.2f}; AUC for its {s['photos_3dB_under']} photos "
              f"over 3 dB under gray {s['auc']:.2f}")
    print(f"pooled over the sets: AUC {auc(np.array(pooled[0]), np.array(pooled[1])):.2f} "
          f"for {int(np.sum(pooled[1]))} photos over 3 dB under gray of {len(pooled[1])}")
    if args.json:
        write_json({"summaries": summaries, "separation": separation}, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
