#!/usr/bin/env python3
"""How sure is a set's bar? A bootstrap over its photos, and a paired one between two checkpoints.

Issue 23's bars are set means over 6 to 60 photos. Resampling each set's photos with replacement shows how much
of a result is which photos the set happens to hold: the gain over gray with a 90 % interval, the share of
resamples over gray, and the colorfulness ratio's interval. With ``--against``, both checkpoints are scored on
the same resampled photos (paired), so the difference between them is far sharper than either one's interval.
A measurement, not a rule: docs/results.md, "How sure the bars are".

    python scripts/bootstrap_sets.py data/photos [--checkpoint hypercolumn] [--options '{}']
        [--against runs/soup_a3/hypercolumn --against-options '{"regression_gain": 1.2}']
        [--sets val,gallery,opencv,opencv-docs,data/everyday,data/packages,data/aerial] [--resamples 10000] [--seed 0]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from colorizer.eval_sets import CHOOSING_SETS  # noqa: E402

INTERVAL = (0.05, 0.95)  # a 90 % interval


def bootstrap(photos: list[dict], against: list[dict] | None, rng: np.random.Generator, resamples: int) -> dict:
    """One set's per-photo rows (``evaluate_photos(..., per_photo=True)``'s ``photos``; ``against``: the other
    checkpoint's rows for the same photos in the same order) → the set's figures over ``resamples`` resamples."""
    gain = np.array([p["gain_over_gray"] for p in photos], np.float64)
    painted = np.array([p["colorfulness"] for p in photos], np.float64)
    truth = np.array([p["truth_colorfulness"] for p in photos], np.float64)
    picks = rng.integers(0, len(photos), size=(resamples, len(photos)))
    gains, ratios = gain[picks].mean(axis=1), painted[picks].mean(axis=1) / truth[picks].mean(axis=1)
    result = {"photos": len(photos), "gain_over_gray": float(gain.mean()), "gain_interval": _interval(gains),
              "share_over_gray": float((gains > 0).mean()),
              "colorfulness_ratio": float(painted.mean() / truth.mean()), "ratio_interval": _interval(ratios)}
    if against is not None:
        if [p["name"] for p in against] != [p["name"] for p in photos]:
            raise ValueError("the two checkpoints' photos differ: a paired bootstrap needs the same photos in order")
        other = np.array([p["gain_over_gray"] for p in against], np.float64)
        difference = gain - other
        result |= {"against_gain_over_gray": float(other.mean()),
                   "difference": float(difference.mean()), "difference_interval": _interval(difference[picks].mean(axis=1))}
    return result


def _interval(values: np.ndarray) -> list[float]:
    return [float(np.quantile(values, q)) for q in INTERVAL]


def format_table(results: dict[str, dict]) -> str:
    """A Markdown table, one row per set (the paired columns only where ``--against`` was given)."""
    paired = all("difference" in r for r in results.values())
    head = "| set | photos | over gray (dB), 90 % interval | resamples over gray | colorfulness ratio, 90 % interval |"
    if paired:
        head += " against: over gray | difference (dB), 90 % interval |"
    lines = [head, "|---" * (head.count(" | ") + 1) + "|"]
    for name, r in results.items():
        row = (f"| {name} | {r['photos']} | {r['gain_over_gray']:+.2f} {_pair(r['gain_interval'], '+.2f')} | "
               f"{100 * r['share_over_gray']:.0f} % | {r['colorfulness_ratio']:.3f} {_pair(r['ratio_interval'], '.2f')} |")
        if paired:
            row += f" {r['against_gain_over_gray']:+.2f} | {r['difference']:+.2f} {_pair(r['difference_interval'], '+.2f')} |"
        lines.append(row)
    return "\n".join(lines)


def _pair(interval: list[float], spec: str) -> str:
    return f"[{interval[0]:{spec}}, {interval[1]:{spec}}]"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="photo folder with a val/ split (scripts/fetch_photos.py)")
    parser.add_argument("--checkpoint", default="hypercolumn", help="name or folder (default: the shipped flagship)")
    parser.add_argument("--options", default="{}", help="its decoding options, a JSON dict ({} = as shipped)")
    parser.add_argument("--against", metavar="CHECKPOINT", help="a second checkpoint, scored on the same resamples")
    parser.add_argument("--against-options", default="{}", help="the second checkpoint's decoding options")
    parser.add_argument("--sets", default=CHOOSING_SETS)
    parser.add_argument("--resamples", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)

    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()  # TensorFlow's loading chatter kept off stderr, before the imports below bring it in
    from colorizer.evaluate import WithOptions, evaluate_photos
    from colorizer.inference import load
    from tune_flagship import photo_set

    models = {"checkpoint": WithOptions(load(args.checkpoint), **json.loads(args.options))}
    if args.against:
        models["against"] = WithOptions(load(args.against), **json.loads(args.against_options))
    rng = np.random.default_rng(args.seed)  # one stream over the sets in order: the same sets, the same numbers
    results = {}
    for name in args.sets.split(","):
        summary = evaluate_photos(photo_set(name, args.dir), models, per_photo=True)
        against = summary["against"]["photos"] if args.against else None
        results[name] = bootstrap(summary["checkpoint"]["photos"], against, rng, args.resamples)
    print(format_table(results))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
