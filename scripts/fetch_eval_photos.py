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
  ``<name>.png`` with its reference ``<name>.ref.png``; never used to choose anything.
- ``pairs-tune``: other real pairs, to choose the reference-photo constants on: two moments of two
  OpenCV sample clips (``vtest.avi``, a static street camera, cropped to two viewpoints; ``tree.avi``, a
  hand-held camera), neighbouring slices of three of Stellarium's photographic landscape panoramas
  (``stellarium-data``, the opaque ground part), and scikit-image's stereo pair (``motorcycle``).

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


# (name, clip, frame, column slice) × 2: two moments of a clip; vtest's static camera is cut to two viewpoints.
CLIP_PAIRS = [
    ("vtest", ("data/vtest.avi", 100, slice(0, 560)), ("data/vtest.avi", 600, slice(208, 768))),
    ("tree", ("data/tree.avi", 0, slice(None)), ("data/tree.avi", 60, slice(None))),  # 68 frames readable
]
STELLARIUM = "stellarium-data"
LANDSCAPES = "usr/share/stellarium/landscapes"
# Neighbouring slices of a 360° panorama: the same place seen in another direction.
PANORAMA_PAIRS = [("guereins/guereins3.png", "guereins/guereins2.png"),
                  ("hurricane/hurricane2.png", "hurricane/hurricane1.png"),
                  ("garching/garching-gl2.png", "garching/garching-gl1.png")]


def clip_frame(path: Path, index: int, columns: slice) -> Image.Image:
    import cv2

    capture = cv2.VideoCapture(str(path))
    for _ in range(index + 1):  # read, not seek: seeking lands on the wrong frame in some of these clips
        ok, frame = capture.read()
        if not ok:
            raise RuntimeError(f"{path}: no frame {index}")
    return Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)[:, columns])


def opaque_ground(path: Path) -> Image.Image:
    """A landscape slice's rows that are opaque everywhere (the sky is transparent in Stellarium's)."""
    import numpy as np

    rgba = np.asarray(Image.open(path).convert("RGBA"))
    rows = np.flatnonzero((rgba[..., 3] == 255).all(axis=1))
    return Image.fromarray(rgba[rows.min():rows.max() + 1, :, :3])


def docs_photos(root: Path) -> list[str]:
    """The tutorial photos of ``DOCS`` that the installed package has (paths relative to HTML)."""
    return [p for p in DOCS if (root / HTML / p).is_file()]


# Photographs in OpenCV's tutorials, picked by eye on a contact sheet (no screenshots, composites,
# drawings or processed outputs).
DOCS = ["230501201_1.jpg", "227943776_1.jpg", "astra_color.jpg", "fusion_mertens.jpg",
        "pexels_double_decker_bus.jpg", "Background_Subtraction_Tutorial_frame.jpg"]


def save(src, dest: Path) -> tuple[int, int]:
    image = (src if isinstance(src, Image.Image) else Image.open(src)).convert("RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    image.save(dest)
    return image.size


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/eval"))
    parser.add_argument("--cache", type=Path, default=Path("data/debs"))
    args = parser.parse_args(argv)
    debs = download_debs([PACKAGE, STELLARIUM], args.cache)
    root = extract_deb(debs[PACKAGE], args.cache / "unpacked" / PACKAGE)
    stellarium = extract_deb(debs[STELLARIUM], args.cache / "unpacked" / STELLARIUM)
    license_of, stellarium_license = load_copyright(root, PACKAGE), load_copyright(stellarium, STELLARIUM)
    shutil.rmtree(args.out, ignore_errors=True)
    rows = []

    def add(set_name: str, source: str, name: str, image=None, package: str = PACKAGE, license: str | None = None) -> None:
        folder = args.out / set_name
        folder.mkdir(parents=True, exist_ok=True)
        width, height = save(root / source if image is None else image, folder / name)
        rows.append({"path": f"{set_name}/{name}", "set": set_name, "package": package, "source_file": source,
                     "license": license or license_of.license_for(source), "width": width, "height": height})

    for rel in OPENCV:
        add("opencv", f"{EXAMPLES}/{rel}", Path(rel).stem.replace(".", "_") + (
            "_" + Path(rel).parent.name if Path(rel).parent.name != "data" else "") + ".png")
    for rel in docs_photos(root):
        add("opencv-docs", f"{HTML}/{rel}", rel.replace("/", "__").rsplit(".", 1)[0] + ".png")
    for photo, reference in PAIRS:
        stem = Path(photo).stem
        add("pairs", f"{EXAMPLES}/{photo}", f"{stem}.png")
        add("pairs", f"{EXAMPLES}/{reference}", f"{stem}.ref.png")
    for name, *views in CLIP_PAIRS:
        for (clip, index, columns), suffix in zip(views, (".png", ".ref.png")):
            add("pairs-tune", f"{EXAMPLES}/{clip}#{index}", name + suffix, clip_frame(root / EXAMPLES / clip, index, columns))
    for photo, reference in PANORAMA_PAIRS:
        for rel, suffix in ((photo, ".png"), (reference, ".ref.png")):
            source = f"{LANDSCAPES}/{rel}"
            add("pairs-tune", source, Path(photo).stem + suffix, opaque_ground(stellarium / source),
                STELLARIUM, stellarium_license.license_for(source))
    from skimage import data as skimage_data

    for view, suffix, image in zip(("left", "right"), (".png", ".ref.png"), skimage_data.stereo_motorcycle()[:2]):
        add("pairs-tune", f"skimage.data.stereo_motorcycle ({view})", "motorcycle" + suffix, Image.fromarray(image),
            "scikit-image (PyPI wheel)", "Middlebury 2014 stereo (Scharstein et al.), as scikit-image's data/README.txt says")
    with open(args.out / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    for set_name in ("opencv", "opencv-docs", "pairs", "pairs-tune"):
        print(f"  {set_name:12s} {sum(r['set'] == set_name for r in rows):3d} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
