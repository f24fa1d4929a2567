#!/usr/bin/env python3
"""Evaluation photos from a source the project never trains on: OpenCV's sample photos (``opencv-doc``).

The training photos come from a handful of Debian packages (``scripts/fetch_photos.py``); a model
chosen on photos like them does not transfer. These sets come from another package entirely, and
hold what the training photos lack: quiet scenes (buildings, an interior, aerial views, streets)
beside fruit, toys and animals. Nothing here is ever trained on (``colorizer.data.HELD_OUT_PACKAGES``
names the package, and training refuses a photo folder whose manifest lists it).

Sets written under ``--out`` (default ``data/eval``), each ``<set>/<name>.png`` plus ``manifest.csv``
(``path,set,package,source_file,license,width,height``):

- ``opencv``: OpenCV's sample photos (``samples/data`` and a few other examples), used with the
  held-out split and the gallery to *choose* checkpoints and decodings, by the worst of the three.
- ``opencv-docs``: photos from OpenCV's tutorials (the HTML documentation), never used to choose
  anything: the set README's "never tuned on" figures come from.
- ``pairs`` (for reference photos): same-scene pairs (stereo views, two moments, another view),
  ``<name>.png`` with its reference ``<name>.ref.png``.

    python scripts/fetch_eval_photos.py [--out data/eval] [--cache data/debs]
"""
from __future__ import annotations

import argparse
import csv
import shutil
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fetch_photos import download_debs, extract_deb, load_copyright  # noqa: E402

PACKAGE = "opencv-doc"
EXAMPLES = "usr/share/doc/opencv-doc/examples"
HTML = "usr/share/doc/opencv-doc/opencv4/html"
MAX_SIDE = 1024

# Photographs only (no drawings, renders, paintings or synthetic test patterns), one of each pair.
OPENCV = [
    "data/aero1.jpg", "data/apple.jpg", "data/baboon.jpg", "data/building.jpg", "data/butterfly.jpg",
    "data/chicky_512.png", "data/ela_original.jpg", "data/fruits.jpg", "data/graf1.png", "data/home.jpg",
    "data/left.jpg", "data/leuvenA.jpg", "data/licenseplate_motion.jpg", "data/messi5.jpg",
    "data/orange.jpg", "data/rubberwhale1.png", "data/squirrel_cls.jpg", "data/stuff.jpg",
    "data/aloeL.jpg", "data/board.jpg", "alphamat/input_images/plant.jpg", "dnn_superres/butterfly.png",
    "text/scenetext01.jpg", "text/scenetext02.jpg", "text/scenetext03.jpg", "text/scenetext04.jpg",
    "text/scenetext05.jpg", "text/scenetext06.jpg", "reg/home.png",
]

# (photo, reference): the same scene from another viewpoint or at another moment.
PAIRS = [
    ("data/aero3.jpg", "data/aero1.jpg"),            # a city from the air, two photos
    ("data/aloeR.jpg", "data/aloeL.jpg"),            # stereo pair
    ("data/right.jpg", "data/left.jpg"),             # stereo pair, an interior
    ("data/rubberwhale2.png", "data/rubberwhale1.png"),  # two frames of a sequence (toys)
    ("data/graf3.png", "data/graf1.png"),            # a graffiti wall, another viewpoint
    ("data/leuvenB.jpg", "data/leuvenA.jpg"),        # a street, another exposure
]


def docs_photos(root: Path) -> list[str]:
    """The tutorial photos of ``DOCS`` that the installed package has (paths relative to HTML)."""
    return [p for p in DOCS if (root / HTML / p).is_file()]


# Photographs in OpenCV's tutorials, picked by eye on a contact sheet (no screenshots, composites,
# drawings or processed outputs).
DOCS = ["230501201_1.jpg", "227943776_1.jpg", "astra_color.jpg", "fusion_mertens.jpg",
        "pexels_double_decker_bus.jpg", "Background_Subtraction_Tutorial_frame.jpg"]


def save(src: Path, dest: Path) -> tuple[int, int]:
    image = Image.open(src).convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    image.save(dest)
    return image.size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/eval"))
    parser.add_argument("--cache", type=Path, default=Path("data/debs"))
    args = parser.parse_args(argv)
    root = extract_deb(download_debs([PACKAGE], args.cache)[PACKAGE], args.cache / "unpacked" / PACKAGE)
    license_of = load_copyright(root, PACKAGE)
    shutil.rmtree(args.out, ignore_errors=True)
    rows = []

    def add(set_name: str, source: str, name: str) -> None:
        folder = args.out / set_name
        folder.mkdir(parents=True, exist_ok=True)
        width, height = save(root / source, folder / name)
        rows.append({"path": f"{set_name}/{name}", "set": set_name, "package": PACKAGE,
                     "source_file": source, "license": license_of.license_for(source), "width": width, "height": height})

    for rel in OPENCV:
        add("opencv", f"{EXAMPLES}/{rel}", Path(rel).stem.replace(".", "_") + (
            "_" + Path(rel).parent.name if Path(rel).parent.name != "data" else "") + ".png")
    for rel in docs_photos(root):
        add("opencv-docs", f"{HTML}/{rel}", rel.replace("/", "__").rsplit(".", 1)[0] + ".png")
    for photo, reference in PAIRS:
        stem = Path(photo).stem
        add("pairs", f"{EXAMPLES}/{photo}", f"{stem}.png")
        add("pairs", f"{EXAMPLES}/{reference}", f"{stem}.ref.png")
    with open(args.out / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for set_name in ("opencv", "opencv-docs", "pairs"):
        print(f"  {set_name:12s} {sum(r['set'] == set_name for r in rows):3d} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
