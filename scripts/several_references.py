"""Several reference photos: do they help, and does an unrelated one hurt? On folders of real pairs
(``NAME.png`` + ``NAME.ref.png``, ``scripts/fetch_eval_photos.py``), mean PSNR of the flagship colored
from: the reference; the reference plus an unrelated one (another pair's); the reference's left 60 %,
its right 60 %, and both halves given together.

    python scripts/several_references.py data/eval/pairs data/eval/pairs-tune      # about 1 min
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr, before the imports below
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

from colorizer import exemplar, inference  # noqa: E402
from colorizer.eval_sets import folder_pairs  # noqa: E402
from colorizer.video.measure import psnr  # noqa: E402

VARIANTS = ("reference", "+ an unrelated one", "left 60 %", "right 60 %", "both halves")


def variants(reference: np.ndarray, unrelated: np.ndarray) -> list[list[np.ndarray]]:
    width = reference.shape[1]
    left, right = reference[:, : width * 3 // 5], reference[:, width * 2 // 5:]
    return [[reference], [reference, unrelated], [left], [right], [left, right]]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+")
    args = parser.parse_args(argv)
    model = inference.load("hypercolumn")
    for folder in args.folders:
        pairs = folder_pairs(folder)
        scores = []
        for i, (name, truth, reference) in enumerate(pairs):
            unrelated = pairs[(i + len(pairs) // 2) % len(pairs)][2]
            scores.append([psnr(truth, exemplar.reference_colorize(model, truth, refs, with_automatic=False).image)
                           for refs in variants(reference, unrelated)])
            print(f"{folder} {name}: " + " · ".join(f"{v} {s:.2f}" for v, s in zip(VARIANTS, scores[-1])), flush=True)
        print(f"{folder} mean: " + " · ".join(f"{v} {s:.2f}" for v, s in zip(VARIANTS, np.mean(scores, axis=0))))


if __name__ == "__main__":
    main()
