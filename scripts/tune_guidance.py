#!/usr/bin/env python3
"""The grids behind the constants of user hints (``colorizer.hints``: how a hint spreads) and of
reference-photo colorization (``colorizer.exemplar``: how similar a match must be to be trusted).

    python scripts/tune_guidance.py hints data/photos [--gallery]   # 10 simulated hints per photo
    python scripts/tune_guidance.py reference data/eval/pairs-tune  # real pairs (or data/photos: crop pairs)

Each variant patches the module constants for its own calls only and is scored with
``colorizer.evaluate`` (PSNR, colorfulness ratio, right-hue rate), one line per variant.
``docs/results.md`` has the tables and how the shipped values were chosen.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr, before the imports below
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

from colorizer import exemplar, hints  # noqa: E402
from colorizer.eval_sets import gallery_truths, held_out_truths, reference_pairs  # noqa: E402
from colorizer.evaluate import HintedColorizer, ReferencedColorizer, evaluate_photos  # noqa: E402
from colorizer.inference import load  # noqa: E402

# (spreading, sharpness, σ in cells, damping); None: the network alone
HINT_VARIANTS = [(None, 0, 0, 0), ("residual", 0.05, 12, 0.05), ("replace", 0.05, 12, 0.05),
                 ("replace", 0.1, 30, 0.05), ("replace", 0.1, 1e6, 0.05), ("replace", 0.2, 1e6, 0.05),
                 ("replace", 0.2, 30, 0.2), ("replace", 0.05, 30, 0.01), ("residual", 0.1, 30, 0.01),
                 ("replace", 0.1, 30, 0.01), ("replace", 0.1, 30, 0.003), ("replace", 0.12, 40, 0.01),
                 ("replace", 0.15, 30, 0.003), ("replace", 0.1, 50, 0.003)]
# (MATCH_LOW, MATCH_HIGH, RELATED_LOW, RELATED_HIGH): trust in a cell's matches, and in the reference's
# palette by how related it is as a whole (colorizer.exemplar); (9, 9, …) never trusts a match, and a
# RELATED_LOW of 9 never trusts the palette.
REFERENCE_VARIANTS = [(0.6, 0.85, 9, 9), (0.5, 0.7, 9, 9), (0.6, 0.8, 9, 9), (0.6, 0.8, 0.55, 0.7), (0.5, 0.7, 0.55, 0.7),
                      (0.5, 0.7, 0.5, 0.65), (0.55, 0.75, 0.55, 0.7), (0.65, 0.85, 0.55, 0.7), (0.6, 0.8, 0.6, 0.75),
                      (0.6, 0.8, 0.5, 0.6), (0.45, 0.65, 0.5, 0.65), (9, 9, 0.55, 0.7)]


class Patched:
    """A colorizer run with module constants set to ``values`` for each call."""

    def __init__(self, inner, module, values: dict):
        self.inner, self.module, self.values = inner, module, values

    def colorize(self, truth):
        saved = {name: getattr(self.module, name) for name in self.values}
        for name, value in self.values.items():
            setattr(self.module, name, value)
        try:
            return self.inner.colorize(truth)
        finally:
            for name, value in saved.items():
                setattr(self.module, name, value)


def _residual_spread(propagate=hints.propagate_hints):
    """``hints.propagate_hints`` spreading each hint's correction (hint color − predicted color) rather
    than its color: the "residual" variant of the ablation."""
    return lambda ab, grid, descriptors, replace=True: propagate(ab, grid, descriptors, replace=False)


def _report(summary: dict, prefix: str = "") -> None:
    for label, m in summary.items():
        if label != "truth":
            print(f"{prefix}{label}: PSNR {m['psnr']:.2f} dB (over gray {m['gain_over_gray']:+.2f}, worst photo "
                  f"{m['worst_gain']:+.2f}), colorfulness {m['colorfulness_ratio']:.2f}, right hue {100 * m['right_hue']:.1f} %",
                  flush=True)


def tune_hints(folder: str, gallery: bool, n_hints: int = 10) -> None:
    model = load("hypercolumn_hints")
    photos = gallery_truths() if gallery else held_out_truths(folder)
    variants = {}
    for spread, sharpness, distance, damping in HINT_VARIANTS:
        label = "network alone" if spread is None else f"{spread} sharpness {sharpness} σ {distance:g} damping {damping}"
        values = {"SPREAD_SHARPNESS": sharpness, "SPREAD_DISTANCE": distance, "SPREAD_DAMPING": damping}
        if spread == "residual":  # not shipped: the model spreads hint colors; here, their corrections
            values["propagate_hints"] = _residual_spread()
        variants[label] = Patched(HintedColorizer(model, n_hints, spread=None if spread is None else "replace"), hints, values)
    _report(evaluate_photos(photos, {"automatic": model, **variants}))


def tune_reference(folder: str) -> None:
    from colorizer.baselines import LightnessMeanReference, NearestNeighbourReference

    model = load("hypercolumn")
    for set_name, pairs in reference_pairs(folder).items():
        variants = {f"match {a}–{b}, palette {c}–{d}": Patched(ReferencedColorizer(model, pairs), exemplar, {
            "MATCH_LOW": a, "MATCH_HIGH": b, "RELATED_LOW": c, "RELATED_HIGH": d}) for a, b, c, d in REFERENCE_VARIANTS}
        baselines = {"nearest neighbours": ReferencedColorizer(NearestNeighbourReference(), pairs),
                     "lightness mean": ReferencedColorizer(LightnessMeanReference(), pairs)}
        summary = evaluate_photos([(n, t) for n, t, _ in pairs], {"automatic": model, **baselines, **variants})
        _report(summary, f"{set_name}: ")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=["hints", "reference"])
    parser.add_argument("dir", metavar="DIR", help="photo folder with val/ (scripts/fetch_photos.py)")
    parser.add_argument("--gallery", action="store_true", help="hints: score on the built-in gallery instead")
    args = parser.parse_args()
    if args.what == "hints":
        tune_hints(args.dir, args.gallery)
    else:
        tune_reference(args.dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
