#!/usr/bin/env python3
"""Detail tiles: the training photos' large originals cut at their own resolution (training-list packages only).

``scripts/fetch_photos.py`` keeps each photo at 800 px on the longer side, so the training crops see
whole scenes and their halves, never the close texture of a wall, a pavement, a bark or a fur. Many of its
originals are much larger (GCompris's animals at 1920 × 1080, the wallpapers at 2560 to 6028 px). This
cuts ``--tiles`` random squares of ``--side`` px out of each **training-split** original whose shorter
side is at least ``--min-short`` px, at the original's resolution: the same photos, seen closer. The
validation split's originals are never opened, so the held-out split stays unseen.

Output contract (``--out``, default ``data/details``, rebuilt on every run): ``<photo>__detail<k>.jpg`` RGB,
quality 92, and ``manifest.csv`` with ``path,split,package,source_file,license,width,height,box``
(``box``: ``left,top,side,side`` in the original's pixels; ``split`` is ``train`` for every tile), so a
card trained on them names their packages (``data.check_shippable``). ``train --extra-photos data/details``
crops them like the training photos. What they bought: docs/results.md, "Detail tiles".

    python scripts/fetch_details.py [--photos data/photos] [--cache data/debs] [--out data/details]
        [--tiles 2] [--side 400] [--min-short 700] [--seed 17]
"""
from __future__ import annotations

import argparse
import csv
import io
import shutil
import sys
from pathlib import Path
from typing import Callable

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from colorizer.data import SHIPPABLE_PACKAGES  # noqa: E402
from fetch_photos import TRUSTED_MAX_PIXELS, download_debs, extract_deb, iter_candidates  # noqa: E402

FIELDS = ["path", "split", "package", "source_file", "license", "width", "height", "box"]


def training_rows(manifest: Path) -> list[dict]:
    """The train-split rows of ``fetch_photos.py``'s manifest. ValueError for a package outside the training
    list: its originals are not ours to train on."""
    with open(manifest, newline="") as f:
        rows = [row for row in csv.DictReader(f) if row["split"] == "train"]
    others = sorted({row["package"] for row in rows} - set(SHIPPABLE_PACKAGES))
    if others:
        raise ValueError(f"{manifest}: photos of {', '.join(others)}, outside the training list")
    return rows


def tile_corners(width: int, height: int, tiles: int, side: int, rng: np.random.Generator) -> list[tuple[int, int]]:
    """``tiles`` random (left, top) corners of ``side``-px squares inside a width × height image."""
    return [(int(rng.integers(0, width - side + 1)), int(rng.integers(0, height - side + 1))) for _ in range(tiles)]


def detail_tiles(rows: list[dict], open_original: Callable[[dict], Image.Image], tiles: int, side: int,
                 min_short: int, seed: int) -> list[tuple[Image.Image, dict]]:
    """(tile, manifest row) for each of ``tiles`` squares of every original whose shorter side is at least
    ``min_short`` (and ``side``) px. ``open_original(row)`` gives a row's original, read only for train rows."""
    rng = np.random.default_rng(seed)
    out = []
    for row in rows:
        if row["split"] != "train":
            continue
        original = open_original(row).convert("RGB")
        width, height = original.size
        if min(width, height) < max(min_short, side):
            continue
        stem = Path(row["path"]).stem
        for k, (left, top) in enumerate(tile_corners(width, height, tiles, side, rng)):
            tile = original.crop((left, top, left + side, top + side))
            out.append((tile, {"path": f"{stem}__detail{k}.jpg", "split": "train", "package": row["package"],
                               "source_file": row["source_file"], "license": row["license"], "width": side,
                               "height": side, "box": f"{left},{top},{side},{side}"}))
    return out


class Originals:
    """Opens a manifest row's original inside its unpacked package, found by (package, source_file) among
    ``fetch_photos.iter_candidates``: the same walk that named it, Qt resource archives included (each parsed once)."""

    def __init__(self, roots: dict[str, Path]):
        self.loads = {(package, candidate.source_file): candidate.load
                      for package, root in roots.items() for candidate in iter_candidates(package, root)}

    @classmethod
    def unpacked(cls, cache: Path, packages: list[str]) -> "Originals":
        """The packages' .debs downloaded and unpacked under ``cache`` as ``fetch_photos.py`` does (reused if there)."""
        debs = download_debs(packages, cache)
        return cls({pkg: extract_deb(debs[pkg], cache / "unpacked" / pkg) for pkg in packages})

    def __call__(self, row: dict) -> Image.Image:
        return Image.open(io.BytesIO(self.loads[row["package"], row["source_file"]]()))


def write_tiles(tiles: list[tuple[Image.Image, dict]], out: Path) -> None:
    """Rebuild ``out`` with the tiles and their manifest."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for tile, row in tiles:
        tile.save(out / row["path"], "JPEG", quality=92)
    with open(out / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        writer.writerows(row for _, row in tiles)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photos", type=Path, default=Path("data/photos"), help="fetch_photos.py's folder")
    parser.add_argument("--cache", type=Path, default=Path("data/debs"), help="where .debs are downloaded and unpacked")
    parser.add_argument("--out", type=Path, default=Path("data/details"))
    parser.add_argument("--tiles", type=int, default=2, help="tiles per original")
    parser.add_argument("--side", type=int, default=400, help="a tile's side, in the original's pixels")
    parser.add_argument("--min-short", type=int, default=700, help="originals with a shorter side under this are skipped")
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args(argv)
    manifest = args.photos / "manifest.csv"
    if not manifest.is_file():
        print(f"{manifest}: not found; run scripts/fetch_photos.py first", file=sys.stderr)
        return 1
    rows = training_rows(manifest)
    Image.MAX_IMAGE_PIXELS = TRUSTED_MAX_PIXELS  # the training list's own packages, as fetch_photos.py reads them
    tiles = detail_tiles(rows, Originals.unpacked(args.cache, sorted({row["package"] for row in rows})),
                         args.tiles, args.side, args.min_short, args.seed)
    write_tiles(tiles, args.out)
    print(f"{len(tiles)} detail tiles of {len({row['source_file'] for _, row in tiles})} originals in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
