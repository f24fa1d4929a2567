#!/usr/bin/env python3
"""Fit the training photos' statistics by lightness, written to ``colorizer/assets/training_palette.json``
with the command that made it: their mean color at each lightness level (the automatic baseline
``colorizer.baselines.TrainingPalette``, which ``python -m colorizer evaluate`` prints beside every model)
and their median chroma there (``colorizer.lightness_ceiling``: the flagship keeps its whites and shadows
within it).

    python scripts/fit_training_palette.py data/photos [--out colorizer/assets/training_palette.json]

Reads DIR's training split only (``colorizer.data.list_photos(DIR, "train")``: the flagship's
training photos, never the held-out split or the evaluation sets); a few seconds.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from colorizer import data  # noqa: E402
from colorizer.baselines import PALETTE_SIDE, TRAINING_PALETTE_FILE, palette_of, pooled_lab  # noqa: E402
from colorizer.lightness_ceiling import median_chroma  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", metavar="DIR", help="the training data folder (its train/ split is read)")
    parser.add_argument("--out", default=str(TRAINING_PALETTE_FILE), metavar="FILE")
    args = parser.parse_args(argv)
    data.check_held_out(args.data)
    photos = data.load_photos(data.list_photos(args.data, "train"), on_error=lambda line: print(line, file=sys.stderr))
    if not photos:
        print(f"error: {args.data}: no training photos", file=sys.stderr)
        return 1
    lab = pooled_lab(photos)
    palette, chroma = palette_of(lab=lab), median_chroma(lab)
    record = {"what": "the training photos' mean (a, b) and median chroma at each of 20 lightness levels of 5 L "
                      f"units, every pixel pooled, each photo shrunk to at most {PALETTE_SIDE} px on its long side",
              "command": "python scripts/fit_training_palette.py " + shlex.join(sys.argv[1:] if argv is None else argv),
              "photos": len(photos), "median_chroma": [round(float(c), 2) for c in chroma],
              "ab": [[round(float(a), 3), round(float(b), 3)] for a, b in palette]}
    Path(args.out).write_text(_readable_json(record))
    print(f"{args.out}: palette of {len(photos)} photos; a {palette[:, 0].min():+.1f}..{palette[:, 0].max():+.1f}, "
          f"b {palette[:, 1].min():+.1f}..{palette[:, 1].max():+.1f}; median chroma {chroma.min():.1f}..{chroma.max():.1f}")
    return 0


def _readable_json(record: dict) -> str:
    """JSON with one (a, b) pair a line, so that a diff of a refit shows which levels moved."""
    head = json.dumps({k: v for k, v in record.items() if k != "ab"}, indent=1)[:-2]
    pairs = ",\n".join(f"  {json.dumps(pair)}" for pair in record["ab"])
    return f"{head},\n \"ab\": [\n{pairs}\n ]\n}}\n"


if __name__ == "__main__":
    sys.exit(main())
