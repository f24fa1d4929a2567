"""How far apart photo prints (``colorizer.photo_prints``) fall: copies of one photo against distinct photos.

    python scripts/measure_photo_prints.py [--data data] [--sets eval everyday fresh photos aerial packages]

Every color photo of the fetch scripts' photo sets (``--sets``, folders of ``--data``; not the unpacked packages'
icons and drawings), as it looks on white, and scikit-image's four color samples; for each, six copies (JPEG at
quality 60; half the size at quality 70; 20 levels brighter; 20 % darker; shrunk to at most 1,024 px on its longer
side as a fine-tune reads it, the photo itself when it is smaller; twice the size) and their print's distance from the
photo's, then the distances between every two distinct files, and how many of each fall within a few bits.
"""
from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from colorizer.finetune.photos import shrink_photo  # noqa: E402
from colorizer.imageio import ImageError, read_image  # noqa: E402
from colorizer.photo_prints import BITS_APART, photo_print  # noqa: E402


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


def _resized(rgb: np.ndarray, scale: float) -> np.ndarray:
    height, width = rgb.shape[:2]
    size = (max(round(width * scale), 9), max(round(height * scale), 8))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def copies(rgb: np.ndarray) -> dict[str, np.ndarray]:
    return {"jpeg 60": _jpeg(rgb, 60), "half, jpeg 70": _jpeg(_resized(rgb, 0.5), 70),
            "brighter": np.clip(rgb.astype(np.int16) + 20, 0, 255).astype(np.uint8),
            "darker": (rgb * 0.8).astype(np.uint8), "1024 px": shrink_photo(rgb), "twice": _resized(rgb, 2.0)}


def photos(root: Path, sets: list[str]) -> dict[str, np.ndarray]:
    found = {}
    for path in sorted(path for folder in sets for path in (root / folder).rglob("*")):
        if path.suffix.lower() not in (".jpg", ".jpeg", ".png", ".webp"):
            continue
        try:
            image = read_image(path)
        except ImageError:
            continue
        if image.was_color and min(image.rgb.shape[:2]) >= 32:
            found[str(path.relative_to(root))] = image.on_white
    import skimage.data

    for name in ("astronaut", "chelsea", "coffee", "rocket"):
        found[f"skimage {name}"] = getattr(skimage.data, name)()
    return found


def bits(print_: str) -> np.ndarray:
    return np.array([c == "1" for c in f"{int(print_, 16):064b}"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / "data")
    parser.add_argument("--sets", nargs="+", default=["eval", "everyday", "fresh", "photos", "aerial", "packages"])
    args = parser.parse_args()
    found = photos(args.data, args.sets)
    names = list(found)
    printed = np.stack([bits(photo_print(found[name])) for name in names])
    copy_distances = [(int((bits(photo_print(copy)) != printed[i]).sum()), kind, names[i])
                      for i, name in enumerate(names) for kind, copy in copies(found[name]).items()]
    apart = (printed[:, None, :] != printed[None, :, :]).sum(-1)
    upper = np.triu_indices(len(names), 1)
    pairs = apart[upper]
    over = sum(max(found[name].shape[:2]) > 1024 for name in names)
    print(f"{len(names)} photos ({over} over 1,024 px, the only ones whose '1024 px' copy is not the photo itself); "
          f"{len(copy_distances)} copies, {len(pairs)} pairs of distinct files")
    for limit in (4, BITS_APART, 8):
        within = sum(distance <= limit for distance, _, _ in copy_distances)
        close = int((pairs <= limit).sum())
        print(f"within {limit} bits: copies {within} of {len(copy_distances)}, distinct pairs {close}")
    print("farthest copies:", sorted(copy_distances, reverse=True)[:12])
    print("closest distinct pairs:", [(int(pairs[k]), names[upper[0][k]], names[upper[1][k]])
                                      for k in np.argsort(pairs)[:int((pairs <= BITS_APART).sum())]])
    print(f"distinct pairs 8 or more bits apart: {(pairs >= 8).mean():.2%}")


if __name__ == "__main__":
    main()
