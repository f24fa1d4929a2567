#!/usr/bin/env python3
"""A contact sheet of a set's quieter half: each photo's truth beside the model's colors, labelled with its
gain over gray, so a wash on quiet scenes can be seen, not only averaged (issue 23).

The quieter half is ``colorizer.evaluate.quieter_half`` (truth's colorfulness below the set's median), the
gain over gray the same PSNR difference as the tables' "worst quiet photo"; photos are taken evenly along
the quieter half, least colorful first.

    python scripts/quiet_sheet.py data/everyday data/packages data/aerial --out docs/screenshots/quiet_unseen.png
        [--checkpoint hypercolumn] [--per-set 6] [--height 160]

A folder is a flat folder of photos or one with a val/ split (its val/ is used), as in ``tune_decoding.py``.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr, before the imports below
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

from colorizer.eval_sets import held_out_truths  # noqa: E402
from colorizer.evaluate import gray_baseline, quieter_half  # noqa: E402
from colorizer.metrics import colorfulness, image_metrics  # noqa: E402


def quiet_picks(photos: list[tuple[str, np.ndarray]], per_set: int) -> list[tuple[str, np.ndarray]]:
    """Up to ``per_set`` photos of the quieter half, evenly along it from the least colorful truth."""
    if not photos:
        return []
    truth_colorfulness = np.array([colorfulness(rgb) for _, rgb in photos])
    quiet = np.flatnonzero(quieter_half(truth_colorfulness))
    quiet = quiet[np.argsort(truth_colorfulness[quiet], kind="stable")]
    step = max(1, len(quiet) // per_set)
    return [photos[i] for i in quiet[::step][:per_set]]


def sheet_rows(photos: list[tuple[str, np.ndarray]], colorize) -> list[dict]:
    """[{name, truth, colored, gain_over_gray, colorfulness, truth_colorfulness}] for each photo."""
    rows = []
    for name, truth in photos:
        colored = colorize(truth)
        metrics = image_metrics(truth, colored)  # its colorfulness is the colored image's
        gain = metrics["psnr"] - image_metrics(truth, gray_baseline(truth))["psnr"]
        rows.append({"name": name, "truth": truth, "colored": colored, "gain_over_gray": float(gain),
                     "colorfulness": metrics["colorfulness"], "truth_colorfulness": colorfulness(truth)})
    return rows


def _tile(row: dict, height: int) -> Image.Image:
    """Truth | colored at ``height`` pixels, the label drawn on a dark band at the top."""
    h, w = row["truth"].shape[:2]
    width = max(1, round(w * height / h))
    pair = [Image.fromarray(row[k]).resize((width, height), Image.Resampling.LANCZOS) for k in ("truth", "colored")]
    tile = Image.new("RGB", (2 * width, height))
    tile.paste(pair[0], (0, 0))
    tile.paste(pair[1], (width, 0))
    draw = ImageDraw.Draw(tile)
    draw.rectangle((0, 0, 2 * width, 12), fill=(0, 0, 0))
    draw.text((3, 1), f"{row['name'][:30]}  {row['gain_over_gray']:+.1f} dB  colorfulness "
                      f"{row['truth_colorfulness']:.0f} -> {row['colorfulness']:.0f}", fill=(255, 255, 255))
    return tile


def contact_sheet(rows: list[dict], height: int = 160, width: int = 1200) -> Image.Image:
    """Tiles (``_tile``) laid left to right in lines at most ``width`` wide (a wider tile gets a line of its own)."""
    tiles = [_tile(row, height) for row in rows]
    lines, line = [], []
    for tile in tiles:
        if line and sum(t.width for t in line) + tile.width > width:
            lines.append(line)
            line = []
        line.append(tile)
    if line:
        lines.append(line)
    sheet = Image.new("RGB", (max([1] + [sum(t.width for t in ln) for ln in lines]), height * max(1, len(lines))), "white")
    for y, ln in enumerate(lines):
        x = 0
        for tile in ln:
            sheet.paste(tile, (x, y * height))
            x += tile.width
    return sheet


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folders", nargs="+", help="photo folders (flat, or with a val/ split)")
    parser.add_argument("--out", required=True, help="the PNG to write")
    parser.add_argument("--checkpoint", default="hypercolumn", help="a checkpoint name or folder (default: the flagship)")
    parser.add_argument("--per-set", type=int, default=6)
    parser.add_argument("--height", type=int, default=160)
    args = parser.parse_args(argv)

    from colorizer.inference import load

    model = load(args.checkpoint)
    rows = []
    for folder in args.folders:
        try:
            photos = held_out_truths(folder, on_error=print)
        except OSError as err:  # a missing folder: one line, and the other folders still go through
            print(f"{folder}: skipped ({err})")
            continue
        picked = quiet_picks(photos, args.per_set)
        for row in sheet_rows(picked, model.colorize):
            rows.append(row)
            print(f"{folder}: {row['name']}  {row['gain_over_gray']:+.2f} dB over gray, colorfulness "
                  f"{row['truth_colorfulness']:.1f} -> {row['colorfulness']:.1f}")
    if not rows:
        print("no color photos in " + ", ".join(args.folders))
        return 1
    contact_sheet(rows, args.height).save(args.out)
    print(f"wrote {args.out} ({len(rows)} photos)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
