#!/usr/bin/env python3
"""Is the certainty map sure where the model is right? Per photo: how sure it was, its gain over gray, and the gate's guess.

Per photo of each set: the share of pixels the Colorize page calls sure (``hypercolumn_decoding.SURE``), the gain over gray,
and the colorfulness the gate expected against the truth's.

Per set, the mean share sure and its correlation with the gain over gray (positive: the surer, the better), the gate's
mean expectation and the truth's, and their correlation; then the set's worst photos with how sure the model was.
A measurement, not a rule: docs/results.md, "Sure is not right" (session 19 measured it with a script not kept;
this is that measurement, kept).

    python scripts/certainty_by_photo.py data/photos [--checkpoint hypercolumn]
        [--sets val,opencv,data/fresh/scenes,data/fresh/objects] [--worst 3]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

from colorizer.models.hypercolumn_decoding import SURE  # noqa: E402  (the Colorize page's threshold: one definition)

DEFAULT_SETS = "val,opencv,data/fresh/scenes,data/fresh/objects"


def photo_rows(model, photos: list[tuple]) -> list[dict]:
    """[(name, truth RGB)] → per photo: name, gain over gray (dB, ``evaluate_photos``'), share sure, the gate's
    expected colorfulness (NaN without a gate) and the truth's colorfulness."""
    from colorizer.evaluate import evaluate_photos

    rows = evaluate_photos(photos, {"model": model}, per_photo=True)["model"]["photos"]
    for row, (_, truth, *_rest) in zip(rows, photos):
        certainty, scene = model.certainty_and_scene(truth)
        row["share_sure"] = float(np.mean(certainty >= SURE))
        row["expected"] = float(scene.expected) if scene is not None else float("nan")
    return rows


def correlation(x, y) -> float:
    x, y = np.asarray(x, np.float64), np.asarray(y, np.float64)
    keep = np.isfinite(x) & np.isfinite(y)
    if keep.sum() < 3 or np.std(x[keep]) == 0 or np.std(y[keep]) == 0:
        return float("nan")
    return float(np.corrcoef(x[keep], y[keep])[0, 1])


def set_summary(rows: list[dict]) -> dict:
    """One set's line of the table."""
    sure = [r["share_sure"] for r in rows]
    gain = [r["gain_over_gray"] for r in rows]
    expected = [r["expected"] for r in rows]
    truth = [r["truth_colorfulness"] for r in rows]
    return {"photos": len(rows), "share_sure": float(np.mean(sure)), "r_sure_gain": correlation(sure, gain),
            "expected": float(np.nanmean(expected)) if np.isfinite(expected).any() else float("nan"),
            "truth": float(np.mean(truth)), "r_expected_truth": correlation(expected, truth)}


def format_table(summaries: dict[str, dict]) -> str:
    lines = ["| set | photos | mean share sure | r(share sure, gain over gray) | gate's expected colorfulness (mean) | "
             "truth's (mean) | r(expected, truth) |", "|---|---:|---:|---:|---:|---:|---:|"]
    for name, s in summaries.items():
        lines.append(f"| {name} | {s['photos']} | {s['share_sure']:.2f} | {s['r_sure_gain']:+.2f} | {s['expected']:.1f} | "
                     f"{s['truth']:.1f} | {s['r_expected_truth']:+.2f} |")
    return "\n".join(lines)


def worst_lines(name: str, rows: list[dict], count: int) -> list[str]:
    worst = sorted(rows, key=lambda r: r["gain_over_gray"])[:count]
    return [f"{name}: {r['name']} {r['gain_over_gray']:+.2f} dB, {r['share_sure']:.0%} sure, gate expected "
            f"{r['expected']:.1f}, truth {r['truth_colorfulness']:.1f}" for r in worst]


def _at_least_0(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, got {value}")
    return value


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="the training photo folder, for the held-out split (val)")
    parser.add_argument("--checkpoint", default="hypercolumn", help="a name or folder (default: the shipped flagship)")
    parser.add_argument("--sets", default=DEFAULT_SETS, help=f"comma-separated ``eval_sets.photo_set`` names (default {DEFAULT_SETS})")
    parser.add_argument("--worst", type=_at_least_0, default=3, help="each set's worst photos listed (default 3)")
    args = parser.parse_args(argv)
    if not Path(args.dir).is_dir():
        parser.error(f"{args.dir}: no such folder (scripts/fetch_photos.py builds data/photos)")
    from colorizer.eval_sets import photo_set
    from colorizer.inference import load

    try:  # one line naming what failed, as the command line's (a missing set or checkpoint was a traceback)
        model = load(args.checkpoint)
        if not model.has_certainty:
            parser.error(f"{args.checkpoint}: {model.name} gives no certainty map (the 313-bin hypercolumn models do)")
        summaries, worst = {}, []
        for name in args.sets.split(","):
            photos = photo_set(name, args.dir)
            if not photos:
                raise ValueError(f"{name}: no color photos to measure")
            rows = photo_rows(model, photos)
            summaries[name] = set_summary(rows)
            worst += worst_lines(name, rows, args.worst)
    except (ValueError, OSError) as err:   # CheckpointError is a ValueError
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(format_table(summaries))
    print()
    print("\n".join(worst))
    return 0


if __name__ == "__main__":
    sys.exit(main())
