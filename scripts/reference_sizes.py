"""How a reference photo's size changes what it gives (session 37): the truth's own colors, resized, as the reference
of a few everyday photos, matched at its own size when under 256 px (the rule before session 37) and at the shipped
size (``exemplar._reference_size``: enlarged to the photo's scale). Prints the share of each photo's colors taken
from the reference and the PSNR.

    python scripts/reference_sizes.py data/everyday          # about 2 min
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
from colorizer.color import resize, to_gray  # noqa: E402
from colorizer.imageio import read_image  # noqa: E402
from colorizer.metrics import image_metrics  # noqa: E402

SIZES = ((32, 32), (64, 48), (128, 96), (1024, 60), (1024, 40))   # (width, height); the last two squeeze the photo
SHIPPED_SIZE = exemplar._reference_size


def own_size(shape: tuple[int, ...]) -> tuple[int, int]:
    """The rule before session 37: shrunk to 256 px on its longest side, never enlarged."""
    scale = min(1.0, exemplar.REFERENCE_MAX_SIDE / max(shape[:2]))
    return tuple(max(16, int(round(side * scale / 16)) * 16) for side in shape[:2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--photos", type=int, default=3, help="the folder's first N photos, sorted by path")
    args = parser.parse_args()
    model = inference.load("hypercolumn")
    exemplar.MAX_REFERENCE_ASPECT = 10**6   # measure strips too, however narrow
    for path in sorted(args.folder.rglob("*.jpg"))[:args.photos]:
        truth = read_image(path).rgb
        gray = to_gray(truth)
        automatic = image_metrics(truth, model.colorize(gray))["psnr"]
        print(f"{path.name}: automatic {automatic:.2f} dB")
        for width, height in SIZES:
            reference = np.ascontiguousarray(resize(truth, (height, width)))
            cells = []
            for rule in (own_size, SHIPPED_SIZE):
                exemplar._reference_size = rule
                result = model.colorize_with_reference(gray, reference)
                cells.append(f"{result.confidence.mean():4.0%} ({image_metrics(truth, result.image)['psnr']:.2f})")
            exemplar._reference_size = SHIPPED_SIZE
            print(f"  {width}x{height}: before {cells[0]} | enlarged {cells[1]}")


if __name__ == "__main__":
    main()
