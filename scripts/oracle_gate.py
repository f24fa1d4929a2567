#!/usr/bin/env python3
"""How far could any colorfulness gate go? An oracle that knows each truth, not a model.

A gate (``colorizer.colorfulness_gate``) can only scale a colorization's chroma per photo; it cannot
change its hues. This script takes a checkpoint's colorizations through the shipped path and scales
each one's chroma (a, b × s in Lab, lightness kept) with knowledge no model has:

- **truth's colorfulness**: s chosen so the output is exactly as colorful as its truth (a perfect gate);
- **PSNR-best scale**: the s in 0, 0.05, …, 1.6 that maximizes the photo's PSNR (mutes wrong hues);
- **PSNR-best on the quieter half only**: that on the set's quieter half, the rest as they were;
- **capped at the truth's colorfulness**: toned down to the truth's colorfulness where it is more colorful,
  left alone where it is less: the shipped gate's mechanism (it only caps) with a perfect prediction.

If the bars are missed even by the first, the errors left are hues, and only a better recognizer fixes
them. docs/results.md, "What a perfect gate could buy", prints the numbers.

    python scripts/oracle_gate.py data/photos [--checkpoint hypercolumn] [--size 144]
        [--sets val,gallery,opencv,opencv-docs]
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
from skimage.metrics import peak_signal_noise_ratio

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr, before the imports below
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

from colorizer.color import lab_to_rgb, rgb_to_lab  # noqa: E402
from colorizer.evaluate import gray_baseline, quieter_half, transfer_metrics  # noqa: E402
from colorizer.inference import load  # noqa: E402
from colorizer.metrics import colorfulness  # noqa: E402

SCALES = np.linspace(0.0, 1.6, 33)
VARIANTS = ("as colorized", "truth's colorfulness", "PSNR-best scale", "PSNR-best on the quieter half only",
            "capped at the truth's colorfulness")


def with_chroma_scaled(rgb: np.ndarray, scale: float) -> np.ndarray:
    """``rgb`` with its Lab chroma × ``scale`` (hue and lightness kept; 0 gives the photo's gray)."""
    lab = rgb_to_lab(rgb).astype(np.float32)
    lab[..., 1:] *= scale
    return lab_to_rgb(lab)


def psnr(truth: np.ndarray, rgb: np.ndarray) -> float:
    """``colorizer.metrics``' PSNR, alone (33 scales a photo: the other metrics would cost minutes)."""
    with np.errstate(divide="ignore"):
        return float(peak_signal_noise_ratio(truth, rgb, data_range=255))


def oracle_photo(truth: np.ndarray, colorized: np.ndarray) -> dict[str, tuple[float, float]]:
    """One photo: {variant: (PSNR, colorfulness)} for every variant of ``VARIANTS`` but the quieter-half one."""
    truth_c, out_c = colorfulness(truth), colorfulness(colorized)
    matched = with_chroma_scaled(colorized, truth_c / out_c) if out_c > 0 else colorized
    candidates = [with_chroma_scaled(colorized, s) for s in SCALES]
    scores = [psnr(truth, c) for c in candidates]
    best = candidates[int(np.argmax(scores))]
    as_is, at_truths = (psnr(truth, colorized), out_c), (psnr(truth, matched), colorfulness(matched))
    return {VARIANTS[0]: as_is, VARIANTS[1]: at_truths, VARIANTS[2]: (max(scores), colorfulness(best)),
            VARIANTS[4]: at_truths if out_c > truth_c else as_is}


def oracle_set(photos: list[tuple[str, np.ndarray]], colorize) -> dict[str, dict[str, float]]:
    """{variant: transfer_metrics plus ``colorfulness_ratio``} over a set of (name, truth) photos."""
    per_photo = [oracle_photo(truth, colorize(truth)) for _, truth in photos]
    truth_c = [colorfulness(truth) for _, truth in photos]
    gray = [psnr(truth, gray_baseline(truth)) for _, truth in photos]
    quiet = quieter_half(truth_c)
    rows = {v: [p[v] for p in per_photo] for v in VARIANTS[:3]}
    rows[VARIANTS[3]] = [best if q else shipped for best, shipped, q in zip(rows[VARIANTS[2]], rows[VARIANTS[0]], quiet)]
    rows[VARIANTS[4]] = [p[VARIANTS[4]] for p in per_photo]
    summary = {}
    for variant, values in rows.items():
        scores, colors = [v[0] for v in values], [v[1] for v in values]
        summary[variant] = {**transfer_metrics(scores, gray, colors, truth_c),
                            "colorfulness_ratio": float(np.mean(colors) / np.mean(truth_c))}
    return summary


def main(argv=None) -> int:
    from tune_flagship import photo_set

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="photo folder with a val/ split (scripts/fetch_photos.py)")
    parser.add_argument("--checkpoint", default="hypercolumn", help="name or folder (default: the shipped flagship)")
    parser.add_argument("--size", type=int, help="run at this working size instead of the card's")
    parser.add_argument("--sets", default="val,gallery,opencv,opencv-docs")
    args = parser.parse_args(argv)
    model = load(args.checkpoint)
    if args.size:
        model = dataclasses.replace(model, working_size=args.size)
    print("| set | chroma scaled to | vs gray (dB) | colorfulness ratio | quieter half (dB) | worst quiet photo (dB) |")
    print("|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        for variant, m in oracle_set(photo_set(name, args.dir), model.colorize).items():
            print(f"| {name} | {variant} | {m['gain_over_gray']:+.2f} | {m['colorfulness_ratio']:.2f} | "
                  f"{m['quiet_gain']:+.2f} | {m['worst_quiet_gain']:+.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
