#!/usr/bin/env python3
"""Measure taking each photo's wash out where the flagship guessed (not shipped; docs/results.md,
"A per-photo wash taken out where the model guessed").

A photo's wash is the mean ab of the network's cells weighted by 1 − certainty (the map the Colorize page
shows). After the lightness ceiling and before the colorfulness cap, each cell loses ``strength`` ×
(1 − certainty) × the wash (``--mode subtracted``), or only the part of its color along the wash, never past
it (``--mode clipped``: no cell turns the complementary hue), or every cell the same ``strength`` × wash
(``--mode every``). Then ``tune_decoding.py`` scores it with the rest of its arguments:

    python scripts/ablate_wash.py --strength 0.3 --mode subtracted -- data/photos --grid '[{}, {"regression_gain": 1.2}]'
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from colorizer.models import hypercolumn  # noqa: E402


def without_wash(ab: np.ndarray, guessed: np.ndarray, strength: float, mode: str) -> np.ndarray:
    """ab N×h×w×2 (raw units), ``guessed`` N×h×w in [0, 1] (1 − certainty) → ab with the wash taken out."""
    wash = (guessed[..., None] * ab).sum(axis=(1, 2)) / np.maximum(guessed.sum(axis=(1, 2)), 1e-6)[:, None]
    wash = wash[:, None, None, :]
    if mode == "every":
        return (ab - strength * wash).astype(np.float32)
    if mode == "subtracted":
        return (ab - strength * guessed[..., None] * wash).astype(np.float32)
    size = np.linalg.norm(wash, axis=-1)
    unit = wash / np.maximum(size[..., None], 1e-6)
    along = np.clip((ab * unit).sum(-1), 0.0, size)
    return (ab - (strength * guessed * along)[..., None] * unit).astype(np.float32)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strength", type=float, default=0.3)
    parser.add_argument("--mode", choices=("subtracted", "clipped", "every"), default="subtracted")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="tune_decoding.py's arguments, after --")
    args = parser.parse_args(argv)
    shipped = hypercolumn.within_lightness_ceiling

    def ceiling_then_wash(ab, batch_input, outputs, options):
        ab = shipped(ab, batch_input, outputs, options)
        guessed = 1.0 - hypercolumn.certainty(np.asarray(outputs["probs"]), **options)
        return without_wash(ab, guessed, args.strength, args.mode)

    hypercolumn.within_lightness_ceiling = ceiling_then_wash  # predict_ab looks it up at call time
    import tune_decoding
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    return tune_decoding.main(rest)


if __name__ == "__main__":
    sys.exit(main())
