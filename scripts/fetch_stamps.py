#!/usr/bin/env python3
"""Photographic stamps for copy-paste augmentation, from Debian's ``tuxpaint-stamps-default`` (GPL-2),
and the photographic surfaces they can lie on, from GIMP's patterns (``gimp-data``).

Tux Paint's stamps outside ``cartoon/`` and ``symbols/`` are mostly photographs of one object on a
transparent background (fruit, vegetables, flowers, mushrooms, mammals, birds, insects, vehicles,
household things): exactly the kinds of thing the training photos lack. Some are drawings (flags,
signs, clip art); ``is_photographic`` leaves them out by a rule: in a drawing a few flat colors cover
most of the object, in a photograph shading spreads it over many.

Surfaces: the training photos are mostly animals, monuments, landscapes; a plain table, a wall or a
paper lit by a lamp is what they lack, and a model that never saw one paints it like sky and grass.
GIMP ships small tileable photographs of wood, stone, marble, paper, cork, leather (``SURFACES``,
picked by eye; its drawn patterns are left out): tiled, with stamps on them, they are quiet scenes.

Output contract (``--out``, default ``data/stamps``): ``<category>__<name>.png`` RGBA (the stamp's
own alpha), longer side ≤ ``--max-side``, and ``manifest.csv`` with columns
``path,package,source_file,license,category,width,height``; ``--surfaces`` (default ``data/surfaces``):
``<name>.png`` RGB and its ``manifest.csv``. Both folders are rebuilt on every run.
``colorizer.data.load_stamps`` reads either; ``train --stamps DIR --surfaces DIR`` uses them.

    python scripts/fetch_stamps.py [--out data/stamps] [--surfaces data/surfaces] [--cache data/debs] [--sheet stamps.png]
"""
from __future__ import annotations

import argparse
import csv
import shutil
import sys
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fetch_photos import download_debs, extract_deb, load_copyright, make_contact_sheet  # noqa: E402

PACKAGE = "tuxpaint-stamps-default"
SURFACE_PACKAGE = "gimp-data"
PATTERNS = "usr/share/gimp/2.0/patterns"
# GIMP's patterns that are photographs of a surface (the others are drawn or rendered).
SURFACES = ["bark", "brick", "burlap", "burlwood", "corkboard", "cracked", "crinklepaper", "fibers", "granite1",
            "ground1", "ice", "java", "leather", "marble1", "marble2", "marble3", "Moonfoot", "paper", "parque1",
            "parque2", "parque3", "pink_marble", "rock", "slate", "stone33", "walnut", "wood1", "wood3", "wood4", "wood5"]
STAMPS_ROOT = "usr/share/tuxpaint/stamps"
SKIPPED_FOLDERS = ("cartoon", "symbols")  # drawings by design
# A drawing's few flat colors cover most of it: the 16 commonest colors (5 bits a channel) of the
# opaque pixels cover at least this share. Photographs spread their pixels over many shades.
DRAWING_COVER = 0.5
OPAQUE_ALPHA = 128
MIN_OPAQUE_PIXELS = 400
COMMON_COLORS = 16


def common_color_cover(rgba: np.ndarray) -> float:
    """Share of the opaque pixels (alpha ≥ 128) taken by the 16 commonest colors at 5 bits a channel
    (1.0 when nothing is opaque)."""
    opaque = rgba[..., 3] >= OPAQUE_ALPHA
    if not opaque.any():
        return 1.0
    q = (rgba[opaque][:, :3] >> 3).astype(np.int32)
    codes = (q[:, 0] << 10) | (q[:, 1] << 5) | q[:, 2]
    counts = np.sort(np.bincount(codes))[::-1]
    return float(counts[:COMMON_COLORS].sum() / codes.size)


def is_photographic(rgba: np.ndarray) -> bool:
    """uint8 RGBA H×W×4 → True for a photograph cut out on transparency: enough opaque pixels, some
    transparency to paste by, and its 16 commonest colors covering under half of the object."""
    opaque = rgba[..., 3] >= OPAQUE_ALPHA
    if opaque.sum() < MIN_OPAQUE_PIXELS or opaque.all():
        return False
    return common_color_cover(rgba) < DRAWING_COVER


def candidates(root: Path) -> list[Path]:
    """The PNG stamps outside the folders of drawings, sorted."""
    stamps = root / STAMPS_ROOT
    return sorted(p for p in stamps.rglob("*.png")
                  if p.relative_to(stamps).parts[0] not in SKIPPED_FOLDERS)


def stamp_name(root: Path, path: Path) -> tuple[str, str]:
    """(category, file name) of a stamp: ``animals__mammals_cat``."""
    parts = path.relative_to(root / STAMPS_ROOT).with_suffix("").parts
    return parts[0], "__".join([parts[0], "_".join(parts[1:])])


def read_gimp_pattern(data: bytes) -> np.ndarray:
    """A GIMP ``.pat`` file → uint8 RGB H×W×3. Format: big-endian u32 header size, version, width,
    height, bytes per pixel (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA), the magic ``GPAT``, a name, pixels."""
    import struct

    header, _, width, height, depth = struct.unpack(">5I", data[:20])
    if data[20:24] != b"GPAT" or depth not in (1, 2, 3, 4):
        raise ValueError("not a GIMP pattern")
    pixels = np.frombuffer(data[header:header + width * height * depth], np.uint8).reshape(height, width, depth)
    color = pixels[..., :3] if depth >= 3 else np.repeat(pixels[..., :1], 3, axis=-1)
    return np.ascontiguousarray(color)


def write_surfaces(out: Path, cache: Path) -> int:
    """GIMP's photographic patterns → ``out/<name>.png`` and ``out/manifest.csv``; → how many."""
    root = extract_deb(download_debs([SURFACE_PACKAGE], cache)[SURFACE_PACKAGE], cache / "unpacked" / SURFACE_PACKAGE)
    license_of = load_copyright(root, SURFACE_PACKAGE)
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rows = []
    found = {path.stem: path for path in (root / PATTERNS).rglob("*.pat")}  # in subfolders: Stone/, Wood/, …
    for name in SURFACES:
        source = found[name].relative_to(root).as_posix()
        pixels = read_gimp_pattern(found[name].read_bytes())
        Image.fromarray(pixels).save(out / f"{name}.png")
        rows.append({"path": f"{name}.png", "package": SURFACE_PACKAGE, "source_file": source,
                     "license": license_of.license_for(source), "width": pixels.shape[1], "height": pixels.shape[0]})
    with open(out / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/stamps"))
    parser.add_argument("--surfaces", type=Path, default=Path("data/surfaces"))
    parser.add_argument("--cache", type=Path, default=Path("data/debs"))
    parser.add_argument("--max-side", type=int, default=400)
    parser.add_argument("--sheet", type=Path, help="a contact sheet of kept and left-out stamps, to check the rule by eye")
    args = parser.parse_args(argv)
    root = extract_deb(download_debs([PACKAGE], args.cache)[PACKAGE], args.cache / "unpacked" / PACKAGE)
    license_of = load_copyright(root, PACKAGE)
    shutil.rmtree(args.out, ignore_errors=True)
    args.out.mkdir(parents=True)
    rows, counts, sheet = [], Counter(), []
    for path in candidates(root):
        rgba = Image.open(path).convert("RGBA")
        rgba.thumbnail((args.max_side, args.max_side), Image.Resampling.LANCZOS)
        pixels = np.asarray(rgba)
        category, name = stamp_name(root, path)
        kept = is_photographic(pixels)
        counts[(category, kept)] += 1
        sheet.append((rgba, f"{'KEEP' if kept else 'drop'} {common_color_cover(pixels):.2f} {name[:30]}"))
        if not kept:
            continue
        rgba.save(args.out / f"{name}.png")
        source = path.relative_to(root).as_posix()
        rows.append({"path": f"{name}.png", "package": PACKAGE, "source_file": source,
                     "license": license_of.license_for(source), "category": category,
                     "width": rgba.width, "height": rgba.height})
    with open(args.out / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for category in sorted({c for c, _ in counts}):
        print(f"  {category:14s} kept {counts[(category, True)]:4d}  left out {counts[(category, False)]:4d}")
    print(f"  {'TOTAL':14s} kept {len(rows):4d} of {sum(counts.values())}")
    if args.sheet:
        make_contact_sheet(sheet, args.sheet, cell=120)
    print(f"  surfaces: {write_surfaces(args.surfaces, args.cache)} in {args.surfaces}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
