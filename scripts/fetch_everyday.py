#!/usr/bin/env python3
"""Everyday scenes and things: rooms, a table laid for dinner, a street, a bus, a desk of electronics,
household objects, from four Debian packages that ship a few photographs each.

The training photos are animals, monuments and landscapes; the photos the flagship fails worst on are a
desk covered in things, an interior, streets (OpenCV's ``stuff.png``, the held-out ``chair.jpg``, issue 23).
A search of Debian's file lists (``Contents-all``) for photographs of such scenes found these, every one
named below and checked by eye on a contact sheet (``--sheet``):

- ``gnome-control-center-data``: GNOME's user pictures (``usr/share/pixmaps/faces``), photographs of
  things: a book, a calculator, coffee, headphones, a gamepad, a guitar, tomatoes… Only the 512-px ones:
  the 96-px ones (and ``legacy/``, the same at 96 px) are too small to crop.
- ``labelme-examples``: labelme's examples, three PASCAL VOC photos (a room with people at a low table, a
  sofa, a bus in a street), one frame of its street video (the other four are the same view), and a
  shelf of boxed objects.
- ``forensics-samples-files``: six phone photos (a city road from above, a desk of electronics, a table
  laid for dinner, dogs indoors and out); the logos beside them are left out.
- ``libjs-jquery-backstretch``: its five example photos (a dome's glass roof, a coffee grinder, a pot
  holder, a drop on a petal, a coast), at their largest size only.

Output contract (``--out``, default ``data/everyday``, rebuilt on every run): ``<package>_<name>.jpg``
RGB, turned upright by its EXIF orientation, longer side at most ``--max-side`` (Lanczos), quality 95
(``fetch_aerial.save_training_folder``), and
``manifest.csv`` with ``path,split,package,source_file,license,kind,width,height``, as
``scripts/fetch_aerial.py`` writes it; ``split`` is ``train`` for every file (a whole source for training;
the sets judged on stay those of ``fetch_photos.py`` and ``fetch_eval_photos.py``).
``train --extra-photos data/aerial data/everyday`` crops them like the training photos.

    python scripts/fetch_everyday.py [--out data/everyday] [--cache data/debs] [--max-side 1024] [--sheet everyday.png]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageOps

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fetch_aerial import extract_members, save_training_folder  # noqa: E402
from fetch_photos import download_debs, load_copyright, resize_to_max_side  # noqa: E402

FACES = "usr/share/pixmaps/faces"
LABELME = "usr/share/doc/labelme-examples/examples"
FORENSICS = "usr/share/forensics-samples/original-files"
BACKSTRETCH = "usr/share/doc/libjs-jquery-backstretch/examples"
# package → {path inside the package: kind}; "thing" is a close-up of objects, "scene" a room, street or view.
KEPT = {
    "gnome-control-center-data": {
        f"{FACES}/{name}.jpg": "thing"
        for name in ("bicycle", "book", "calculator", "cat", "coffee2", "flower2", "gamepad", "guitar2",
                     "headphones", "hummingbird", "mountain", "plane", "surfer", "tomatoes", "tree")},
    "labelme-examples": {
        f"{LABELME}/instance_segmentation/data_dataset_voc/JPEGImages/2011_000003.jpg": "scene",
        f"{LABELME}/instance_segmentation/data_dataset_voc/JPEGImages/2011_000006.jpg": "scene",
        f"{LABELME}/instance_segmentation/data_dataset_voc/JPEGImages/2011_000025.jpg": "scene",
        f"{LABELME}/video_annotation/data_dataset_voc/JPEGImages/00000100.jpg": "scene",
        f"{LABELME}/tutorial/apc2016_obj3.jpg": "thing"},
    "forensics-samples-files": {
        f"{FORENSICS}/pic1/IMG-20191006-WA0002.jpg": "scene",
        f"{FORENSICS}/pic1/IMG_1054.JPG": "scene",
        f"{FORENSICS}/pic1/IMG_20200827_231612.jpg": "thing",
        f"{FORENSICS}/pic2/IMG_20191224_234846.jpg": "scene",
        f"{FORENSICS}/pic2/IMG_20200124_231153.jpg": "scene",
        f"{FORENSICS}/pic2/IMG_20200608_111614.jpg": "scene"},
    "libjs-jquery-backstretch": {
        f"{BACKSTRETCH}/{name}": "thing" if name in ("coffee.jpg", "pot-holder.jpg", "sample1_1920.jpg") else "scene"
        for name in ("coffee.jpg", "dome.jpg", "pot-holder.jpg", "sample1_1920.jpg", "sample2_1920.jpg")},
}


def output_name(package: str, source: str) -> str:
    """``gnome-control-center-data`` + ``…/faces/book.jpg`` → ``gnome-control-center-data_book.jpg``."""
    return f"{package}_{Path(source).stem}.jpg"


def upright_rgb(path: Path, max_side: int) -> Image.Image:
    """The photo turned by its EXIF orientation (phone photos are stored sideways), RGB, longer side ≤ max_side."""
    with Image.open(path) as image:
        return resize_to_max_side(ImageOps.exif_transpose(image), max_side)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/everyday"))
    parser.add_argument("--cache", type=Path, default=Path("data/debs"))
    parser.add_argument("--max-side", type=int, default=1024)
    parser.add_argument("--sheet", type=Path, help="a contact sheet of what was kept, to check the choice by eye")
    args = parser.parse_args(argv)
    debs = download_debs(list(KEPT), args.cache)
    rows = save_training_folder(args.out, kept_photos(debs, args.cache, args.max_side), args.sheet)
    print(f"  {len(rows)} photos from {len(KEPT)} packages in {args.out}")
    return 0


def kept_photos(debs: dict[str, Path], cache: Path, max_side: int):
    """(file name, RGB image, package, source file, license, kind) of every photo kept, one at a time."""
    for package, members in KEPT.items():
        root = extract_members(debs[package], cache / "unpacked" / package,
                               [*members, f"usr/share/doc/{package}/copyright"])
        license_of = load_copyright(root, package)
        for source, kind in members.items():
            yield output_name(package, source), upright_rgb(root / source, max_side), package, source, \
                license_of.license_for(source), kind


if __name__ == "__main__":
    sys.exit(main())
