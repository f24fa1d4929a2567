#!/usr/bin/env python3
"""A fresh evaluation set: 88 photographs from seven Debian packages nothing in this project has used.

Every set the flagship is judged on has, by session 18, also been chosen on (docs/results.md, "Sets"), so no
number left was an honest estimate for photos never seen. These are for that estimate: the shipped model is
measured on them, nothing is chosen on them, and no run may train on them (their packages are in
``colorizer.data.HELD_OUT_PACKAGES``, so ``train --extra-photos`` refuses the folders).

The photos were picked by eye on a contact sheet, before any model ran on them, by one rule: a photograph
(not a drawing, diagram, screenshot or render), the original and not a filtered copy of it (GIMP's and Wand's
manuals show each filter on the same photo; only the source is kept), not a projection test (Hugin's
fisheyes), short side at least 180 px. Two folders, because the two kinds fail differently:

- ``objects``: instruments and lab glassware photographed for their manuals, mostly on plain white or tiled
  ground: ArgyllCMS's colorimeters (``argyll-doc``), Kalzium's lab tools (``kalzium-data``), ExpEYES's
  hardware (``eyes17``). The quietest photos the project has been judged on.
- ``scenes``: landscapes, an interior, a station hall, a street, rabbits, birds, flowers, apples, a truck:
  Hugin's manual (``hugin-data``), Psychtoolbox's demos (``psychtoolbox-3-common``), the Wand and GIMP
  manuals (``wand-doc``; ``gimp-help-en``, its license in ``gimp-help-common``).

Output contract (``--out``, default ``data/fresh``, rebuilt on every run): ``objects/`` and ``scenes/``, each
``<package>_<name>.jpg`` RGB, longer side at most ``--max-side`` (Lanczos), quality 95, and ``manifest.csv``
with ``path,split,package,source_file,license,kind,width,height`` as ``scripts/fetch_aerial.py`` writes it;
``split`` is ``train`` there as in every folder of whole sources, which is what makes ``check_held_out`` refuse
the folder as training data.

    python scripts/fetch_fresh.py [--out data/fresh] [--cache data/debs] [--max-side 1024] [--sheet fresh.png]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fetch_aerial import extract_members, save_training_folder  # noqa: E402
from fetch_everyday import upright_rgb  # noqa: E402
from fetch_photos import download_debs, load_copyright  # noqa: E402

ARGYLL = "usr/share/doc/argyll-doc"
KALZIUM = "usr/share/kalzium/data/toolpics"
EYES = "usr/share/eyes17/helpFiles/pics"  # each language's pics/ links here
HUGIN = "usr/share/hugin/xrc/data/help_en_EN"
PSYCH = "usr/share/psychtoolbox-3"
EYELINK = f"{PSYCH}/PsychHardware/EyelinkToolbox/EyelinkDemos/SR-ResearchDemo"
WAND = "usr/share/doc/wand-doc/html/_images"
GIMP = "usr/share/gimp/2.0/help/en/images"
# folder → package → the files kept from it.
KEPT = {
    "objects": {
        "argyll-doc": [f"{ARGYLL}/{name}.jpg" for name in (
            "Chroma4", "ColorHug", "ColorMunki", "ColorMunkiCreate", "DTP20", "DTP22", "DTP41", "DTP51", "DTP92",
            "DTP94", "EX1", "HCFR", "Huey", "JETI_1211", "JETI_1501", "K10A", "SMCube", "Smile", "Spyd2", "Spyd3",
            "Spyd3x", "Spyd4", "Spyd5", "SpydX", "i1Pro3", "i1d", "i1d3_1", "i1d3_2", "i1m", "i1p", "i1pro2")],
        "kalzium-data": [f"{KALZIUM}/{name}.jpg" for name in (
            "abzug", "becherglas", "brechungsmesser", "brenner", "dsc", "erlenmeyerkolben", "exikator", "heizplatte",
            "hplc", "moerser", "phpapier", "rg-halter", "rg-staender", "rotationsverdampfer", "ruehrfisch",
            "rundkolben", "spatel", "spritzflasche", "tonschale", "trichter", "trockenrohr", "verteiler")],
        "eyes17": [f"{EYES}/{name}.jpg" for name in (
            "accessory", "driven-pendulum-photo", "eyes-box", "eyes17-nb", "eyes17-panel", "induction-photo",
            "rod-pend-LB", "sr04-photo")],
    },
    "scenes": {
        "hugin-data": [f"{HUGIN}/{name}.jpg" for name in (
            "300px-2125768589_b", "300px-Lamp_enfuse", "600px-Tuebingen_Neckarfront_small15_2006-06-11",
            "800px-C_Marchi-GrandCentral-adj", "CA_fringes00", "CA_tCA00")],
        "psychtoolbox-3-common": [
            f"{PSYCH}/PsychDemos/AlphaImageDemo/konijntjes1024x768.jpg",
            f"{PSYCH}/PsychDemos/OpenGL4MatlabDemos/MorphDemo/TeapotTexture.jpg",
            *[f"{PSYCH}/PsychDemos/PsychExampleExperiments/OldNewRecognition/stims/stim{i}.jpg" for i in range(2, 6)],
            f"{EYELINK}/town.jpg"],
        "wand-doc": [f"{WAND}/{name}.jpg" for name in ("composite-channel", "hummingbird", "inca_tern", "seam",
                                                         "transform")],
        "gimp-help-en": [
            f"{GIMP}/filters/examples/map/little_planet-origin.jpg",
            f"{GIMP}/filters/examples/map/pan-project-origin.jpg",
            f"{GIMP}/filters/use_entire_layer.jpg",
            *[f"{GIMP}/tutorials/quickie-{name}-source.jpg" for name in ("crop-example", "flip-example",
                                                                         "remove-background", "rotate-example")],
            f"{GIMP}/tutorials/tone-mapping/apple-orchard-truck-from-camera.jpg",
            f"{GIMP}/tutorials/tone-mapping/power-lines.jpg"],
    },
}
# A package whose copyright file ships in another package (its /usr/share/doc entry is a link to it).
COPYRIGHT_IN = {"gimp-help-en": "gimp-help-common"}


def packages() -> list[str]:
    """Every package the set reads, the copyright-only ones included."""
    kept = [package for folder in KEPT.values() for package in folder]
    return kept + [COPYRIGHT_IN[p] for p in kept if p in COPYRIGHT_IN]


def output_name(package: str, source: str) -> str:
    """``argyll-doc`` + ``…/Huey.jpg`` → ``argyll-doc_Huey.jpg``."""
    return f"{package}_{Path(source).stem}.jpg"


def license_reader(debs: dict[str, Path], cache: Path, package: str, members: list[str]):
    """(the package's unpacked root, a function from a member to its license)."""
    owner = COPYRIGHT_IN.get(package, package)
    copyright_file = f"usr/share/doc/{owner}/copyright"
    if owner == package:
        root = extract_members(debs[package], cache / "unpacked" / package, [*members, copyright_file])
        return root, load_copyright(root, package).license_for
    root = extract_members(debs[package], cache / "unpacked" / package, members)
    owner_root = extract_members(debs[owner], cache / "unpacked" / owner, [copyright_file])
    return root, load_copyright(owner_root, owner).license_for


def kept_photos(folder: str, debs: dict[str, Path], cache: Path, max_side: int):
    """(file name, RGB image, package, source file, license, kind) of every photo of ``folder``, one at a time."""
    for package, members in KEPT[folder].items():
        root, license_for = license_reader(debs, cache, package, members)
        for source in members:
            yield output_name(package, source), upright_rgb(root / source, max_side), package, source, \
                license_for(source), folder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("data/fresh"))
    parser.add_argument("--cache", type=Path, default=Path("data/debs"))
    parser.add_argument("--max-side", type=int, default=1024)
    parser.add_argument("--sheet", type=Path, help="contact sheets of what was kept (FOLDER is added to the name)")
    args = parser.parse_args(argv)
    debs = download_debs(packages(), args.cache)
    for folder in KEPT:
        sheet = args.sheet.with_name(f"{args.sheet.stem}-{folder}{args.sheet.suffix}") if args.sheet else None
        rows = save_training_folder(args.out / folder, kept_photos(folder, debs, args.cache, args.max_side), sheet)
        print(f"  {len(rows)} photos from {len(KEPT[folder])} packages in {args.out / folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
