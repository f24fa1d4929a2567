"""Training data: photos on disk → augmented square crops → the arrays every architecture trains on.

A photo folder is either ``DIR/train/*`` and ``DIR/val/*`` (as ``scripts/fetch_photos.py`` writes it)
or a flat folder of images (then all of it is one split). Crops are taken at several scales with
random horizontal flips, resized to the working size, and kept as uint8 N×S×S×3 in memory.
Training crops can have photographic stamps pasted onto them (``paste_stamps``: copy-paste
augmentation, Ghiasi et al. 2021), objects cut out on transparency (``scripts/fetch_stamps.py``),
so that the model learns the colors of things its photos lack, in context.
``crop_batch`` turns them into float32 arrays: ``gray01`` (N×S×S×1, [0, 1], from L by
``color.gray01_from_L``, as at inference), ``L_norm`` (N×S×S×1,
[-1, 1]), ``ab_norm`` (N×S×S×2, about [-1, 1]), ``rgb01`` (N×S×S×3, [0, 1]).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from colorizer.color import gray01_from_L, normalize_ab, normalize_l, resize, rgb_to_lab
from colorizer.imageio import SUPPORTED_EXTENSIONS, ImageError, error_line, read_image

__all__ = ["check_folder", "list_photos", "every_photo", "learning_problem", "load_photos", "random_crops", "center_crops", "validation_crops", "crop_batch", "CROP_SCALES",
           "load_stamps", "paste_stamp", "paste_stamps", "surface_scenes", "neutral_backdrops", "StampOptions", "HELD_OUT_PACKAGES",
           "check_held_out", "manifest_rows", "SURFACE_SHARE", "extra_photo_crops", "folder_list", "SHIPPABLE_PACKAGES",
           "trained_on_packages", "shipping_problem", "check_shippable", "manifest_row_of", "unnamed_sources", "stamp_paths",
           "NO_VALIDATION", "has_val_split"]

# Crop side as a share of the photo's short side: whole-scene views and closer details.
CROP_SCALES = (1.0, 0.75, 0.5, 0.35)
# Packages whose photos are kept for evaluation only (scripts/fetch_eval_photos.py): choosing checkpoints
# and decodings on photos from a source never trained on is what tells whether colors transfer. The last seven
# are the fresh set (scripts/fetch_fresh.py), kept for measuring only: nothing is chosen on it either.
HELD_OUT_PACKAGES = ("opencv-doc", "stellarium-data",
                     "argyll-doc", "kalzium-data", "eyes17", "hugin-data", "psychtoolbox-3-common", "wand-doc",
                     "gimp-help-en")
# The only sources shipped weights may be trained on: the training list of the maintainers' OFFLINE_ASSETS.md
# (kept beside the repository, not in it; this tuple is its copy here)
# (``scripts/fetch_photos.py``'s packages, Tux Paint's stamps, and two wallpaper packages that hold no photos).
# Every other photo source is kept for independent evaluation: checks on photos the project never sees are only
# honest if no shipped model saw their sources. Research runs may read others (``train --extra-photos``,
# ``--surfaces``); a checkpoint that did cannot ship (``check_shippable``, tests/test_shipped_weights.py).
SHIPPABLE_PACKAGES = ("scratch", "gcompris-qt-data", "mate-backgrounds", "lomiri-wallpapers-16.04",
                      "lomiri-wallpapers-20.04", "plasma-workspace-wallpapers", "palapeli-data",
                      "tuxpaint-stamps-default", "ukui-wallpapers", "gnome-backgrounds")
# Quiet scenes (``surface_scenes``) added to the training crops, as a share of them.
SURFACE_SHARE = 0.1


def _manifest_of(folder: Path) -> tuple[Path, str | None]:
    """The ``manifest.csv`` that describes ``folder`` and the part of it that is ``folder`` (its path from the
    manifest's folder; None: every row): its own, or the nearest one of the two folders above it. A set of
    ``data/eval`` (one manifest for every set, ``scripts/fetch_eval_photos.py``) had none of its own, so
    ``check_held_out`` let ``train --extra-photos data/eval/opencv`` train on held-out photos (session 37's audit)."""
    if (folder / "manifest.csv").is_file():
        return folder / "manifest.csv", None
    for parent in list(folder.parents)[:2]:
        if (parent / "manifest.csv").is_file():
            return parent / "manifest.csv", folder.relative_to(parent).as_posix()
    return folder / "manifest.csv", None


def manifest_rows(folder: str | Path) -> list[dict] | None:
    """The ``manifest.csv`` rows that describe ``folder``'s photos, or None when none does: its own manifest, or the
    rows of the manifest a folder or two above it under ``folder``'s path (for the ``train/`` or ``val/`` split of a
    photo folder, ``scripts/fetch_photos.py``, the rows of that split), so that ``train --extra-photos
    data/photos/val`` names the packages and licenses of what it adds, and a set of ``data/eval`` is held out."""
    import csv

    manifest, split = _manifest_of(Path(folder))
    if not manifest.is_file():
        return None
    with open(manifest, newline="") as f:
        rows = list(csv.DictReader(f))
    if split is None:
        return rows

    def in_split(row: dict) -> bool:  # a manifest without a split column names it in the path: "train/x.png"
        if row.get("split") and split in ("train", "val"):
            return row["split"] == split
        return _row_path(row).startswith(f"{split}/")

    kept = [row for row in rows if in_split(row)]
    # A folder the manifest above it does not name is not described by it (a split folder is, even empty).
    return kept if kept or split in ("train", "val") else None


def _row_path(row: dict) -> str:
    return str(row.get("path") or row.get("file") or "").replace("\\", "/")


def manifest_row_of(folder: str | Path) -> dict[Path, dict] | None:
    """Each photo file ``folder``'s manifest lists (``manifest_rows``), by its resolved path → its row; None when
    the folder has no manifest. What a card counts is looked up here, file by file: a manifest copied from another
    folder names what that folder held, not what this one holds."""
    rows = manifest_rows(folder)
    if rows is None:
        return None
    base = _manifest_of(Path(folder))[0].parent
    return {(base / _row_path(row)).resolve(): row for row in rows if _row_path(row)}


def check_held_out(data_dir: str | Path) -> None:
    """ValueError when the folder's manifest (``manifest_rows``) puts a photo of a held-out package in train/ or val/."""
    rows = manifest_rows(data_dir) or []
    leaked = [row.get("path", "?") for row in rows
              if row.get("package") in HELD_OUT_PACKAGES and (row.get("split") or "train") in ("train", "val")]
    if leaked:
        raise ValueError(f"{data_dir}: {len(leaked)} photo(s) of a held-out source in the training folder "
                         f"(first: {leaked[0]}); held-out sources ({', '.join(HELD_OUT_PACKAGES)}) are for evaluation only")


def trained_on_packages(card: dict) -> set[str]:
    """Every package a checkpoint's card says its weights learned from: the ``package`` of each source at any
    depth (its photos, stamps, surfaces, extra photos, and those of the teachers it was distilled from)."""
    found, stack = set(), [card]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("package"), str):
                found.add(item["package"])
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def unnamed_sources(card: dict) -> list[str]:
    """The sources a card records without a package, at any depth: a folder without a manifest, photos its manifest
    does not list (``train.data_sources``). Nothing tells where their photos came from, so nothing can clear them."""
    found, stack = [], [card]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            found += [str(source.get("source", "?")) for source in item.get("sources") or []
                      if isinstance(source, dict) and not isinstance(source.get("package"), str)]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return sorted(set(found))


def shipping_problem(card: dict, name: str = "checkpoint") -> str | None:
    """Why a card's weights cannot ship, or None: they learned from a package outside ``SHIPPABLE_PACKAGES``, from
    photos of no named package (``unnamed_sources``), or the card records extra photos or surfaces without naming
    their packages (nothing to check them by)."""
    others = sorted(trained_on_packages(card) - set(SHIPPABLE_PACKAGES))
    if others:
        return (f"{name}: trained on {', '.join(others)}, kept for independent evaluation; "
                f"shipped weights learn only from {', '.join(SHIPPABLE_PACKAGES)}")
    unknown = unnamed_sources(card)
    if unknown:
        return (f"{name}: trained on photos of no named package (in {', '.join(unknown)}: no manifest.csv row "
                f"names their source); shipped weights learn only from {', '.join(SHIPPABLE_PACKAGES)}")
    recorded = card.get("data") or {}
    unnamed = [key for key in ("extra_photos", "surfaces")
               if recorded.get(key) and not trained_on_packages(recorded[key])]
    return f"{name}: its card records {' and '.join(unnamed)} without their packages" if unnamed else None


def check_shippable(card: dict, name: str = "checkpoint") -> None:
    """ValueError with ``shipping_problem``'s reason when a card's weights cannot ship."""
    problem = shipping_problem(card, name)
    if problem:
        raise ValueError(problem)


class StampOptions:
    """How stamps are pasted: into ``share`` of the crops, 1 to ``most`` stamps each, each stamp's longer
    side ``side`` (a range, as a share of the crop's side), flipped half the time."""

    def __init__(self, share: float = 0.7, most: int = 3, side: tuple[float, float] = (0.25, 0.7)):
        self.share, self.most, self.side = share, most, side


def stamp_paths(folder: str | Path) -> list[Path]:
    """The ``*.png`` files of a stamps (or surfaces) folder, sorted by name: what ``load_stamps`` reads and a card
    counts."""
    return sorted(Path(folder).glob("*.png"))


def load_stamps(folder: str | Path) -> list[np.ndarray]:
    """uint8 RGBA H×W×4 arrays of the ``*.png`` stamps in ``folder`` (``scripts/fetch_stamps.py``), sorted by name."""
    from PIL import Image

    paths = stamp_paths(folder)
    if not paths:
        raise ValueError(f"{folder}: no stamps (*.png); run scripts/fetch_stamps.py")
    return [np.asarray(Image.open(p).convert("RGBA")) for p in paths]


def paste_stamp(crop: np.ndarray, stamp: np.ndarray, top: int, left: int, side: int, flip: bool) -> np.ndarray:
    """uint8 RGB S×S×3 crop with the RGBA ``stamp`` scaled so that its longer side is ``side`` px,
    alpha-blended with its top-left corner at (top, left) (parts outside the crop are cut off)."""
    import cv2

    scale = side / max(stamp.shape[:2])
    size = _scaled_size(stamp, side)
    rows = slice(max(top, 0), min(top + size[1], crop.shape[0]))
    cols = slice(max(left, 0), min(left + size[0], crop.shape[1]))
    if rows.stop <= rows.start or cols.stop <= cols.start:  # entirely outside the crop
        return crop.copy()
    # Premultiplied, so that resizing does not bleed the transparent pixels' color into the edge.
    alpha = stamp[..., 3:].astype(np.float32) / 255.0
    premultiplied = np.concatenate([stamp[..., :3].astype(np.float32) * alpha, alpha], axis=-1)
    premultiplied = cv2.resize(premultiplied, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    if flip:
        premultiplied = premultiplied[:, ::-1]
    out = crop.astype(np.float32)
    part = premultiplied[rows.start - top:rows.stop - top, cols.start - left:cols.stop - left]
    region = out[rows, cols]
    out[rows, cols] = part[..., :3] + (1.0 - part[..., 3:]) * region
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def paste_stamps(crop: np.ndarray, stamps: list[np.ndarray], rng: np.random.Generator,
                 options: StampOptions | None = None) -> np.ndarray:
    """1 to ``options.most`` random stamps at random sizes, places and flips on the crop (a new array)."""
    options = options or StampOptions()
    size = crop.shape[0]
    for _ in range(int(rng.integers(1, options.most + 1))):
        stamp = stamps[int(rng.integers(len(stamps)))]
        side = max(4, int(size * rng.uniform(*options.side)))
        width, height = _scaled_size(stamp, side)
        # Anywhere its centre stays within the crop: objects cut by the border happen in photos too.
        top = int(rng.integers(-(height // 2), size - height // 2))
        left = int(rng.integers(-(width // 2), size - width // 2))
        crop = paste_stamp(crop, stamp, top, left, side, bool(rng.integers(2)))
    return crop


def surface_scenes(surfaces: list[np.ndarray], stamps: list[np.ndarray] | None, count: int, size: int,
                   seed: int = 0, stamp_options: StampOptions | None = None) -> np.ndarray:
    """``count`` quiet scenes, uint8 count×size×size×3: a photographed surface (wood, stone, paper, …;
    ``scripts/fetch_stamps.py``) tiled at a random scale, flip and quarter turn, under a soft light
    gradient, with 1 to 3 stamps lying on most of them (``stamp_options.share``): a table, a wall, a
    floor with things on it, the scenes the training photos lack."""
    rng = np.random.default_rng([seed, 2])
    options = stamp_options or StampOptions()
    scenes = np.zeros((count, size, size, 3), np.uint8)
    for i in range(count):
        surface = surfaces[int(rng.integers(len(surfaces)))][..., :3]
        scale = rng.uniform(1.0, 2.5)
        tile = resize(surface, (max(2, round(surface.shape[0] * scale)), max(2, round(surface.shape[1] * scale))))
        tile = np.rot90(tile[:, ::-1] if rng.integers(2) else tile, int(rng.integers(4)))
        reps = (size // tile.shape[0] + 2, size // tile.shape[1] + 2, 1)
        top, left = int(rng.integers(tile.shape[0])), int(rng.integers(tile.shape[1]))
        scene = np.tile(tile, reps)[top:top + size, left:left + size].astype(np.float32)
        # Light falls off across a table or a wall: a gentle gradient in a random direction.
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[:size, :size] / max(size - 1, 1) - 0.5
        scene *= (rng.uniform(0.85, 1.0) + rng.uniform(0.0, 0.3) * (np.cos(angle) * xx + np.sin(angle) * yy))[..., None]
        scene = np.clip(np.rint(scene), 0, 255).astype(np.uint8)
        if stamps and rng.random() < options.share:
            scene = paste_stamps(scene, stamps, rng, options)
        scenes[i] = scene
    return scenes


def neutral_backdrops(count: int, seed: int = 0) -> list[np.ndarray]:
    """``count`` synthetic studio backdrops, uint8 64×64×3, each one neutral gray (R = G = B everywhere): mostly
    light, as the paper or wall behind a product photo, a quarter dark, as velvet, with faint noise. Given to
    ``surface_scenes`` as surfaces, they become things lying on plain neutral ground under a soft light, whose
    ground has no color at all: what a manual's photo of an instrument or a lab bench looks like, and what
    the training photos lack (their plain regions are sky, water and snow, which have a color)."""
    rng = np.random.default_rng([seed, 3])
    levels = np.where(rng.random(count) < 0.75, rng.uniform(170, 250, count), rng.uniform(25, 170, count))
    return [np.clip(np.rint(level + rng.normal(0.0, 1.5, (64, 64, 1))), 0, 255).astype(np.uint8).repeat(3, axis=-1)
            for level in levels]


def _scaled_size(stamp: np.ndarray, side: int) -> tuple[int, int]:
    """(width, height) of ``stamp`` scaled so that its longer side is ``side``."""
    h, w = stamp.shape[:2]
    scale = side / max(h, w)
    return max(1, round(w * scale)), max(1, round(h * scale))


def check_folder(data_dir: str | Path) -> Path:
    """``data_dir`` as a Path; FileNotFoundError (one line naming it) when it is a file or missing."""
    root = Path(data_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"{root}: {'is a file, not a folder' if root.exists() else 'no such folder'}")
    return root


# Training validates on a folder's val/ split: a flat folder would validate on its own training photos.
NO_VALIDATION = "no validation photos (expected a val/ folder beside train/; scripts/fetch_photos.py makes both)"


def has_val_split(data_dir: str | Path) -> bool:
    """Whether ``data_dir`` has the ``val/`` folder training validates on."""
    return (Path(data_dir) / "val").is_dir()


def list_photos(data_dir: str | Path, split: str | None = None) -> list[Path]:
    """Image files of ``split`` ("train"/"val") under ``data_dir``; a flat folder when it has no such subfolder."""
    root = check_folder(data_dir)
    folder = root / split if split and (root / split).is_dir() else root
    return sorted(p for p in folder.iterdir() if p.suffix.lower().lstrip(".") in SUPPORTED_EXTENSIONS)


def every_photo(data_dir: str | Path) -> list[Path]:
    """Image files of a folder and of its ``train/`` and ``val/`` subfolders, if any (what fine-tuning reads)."""
    root = check_folder(data_dir)
    return list_photos(root) + [p for split in ("train", "val") if (root / split).is_dir() for p in list_photos(root, split)]


# The smallest side of a photo trained on: under it a photo is a few pixels blown up into every crop (a 1×1 PNG was
# trained on without a word: session 35). Fine-tuning takes the same rule (``finetune.photos.MIN_PHOTO_SIDE``).
MIN_TRAINING_SIDE = 32


def learning_problem(image) -> str | None:
    """Why a decoded photo (``imageio.DecodedImage``) teaches no colors, or None: grayscale, or under
    ``MIN_TRAINING_SIDE`` a side. The one rule of training's and fine-tuning's photos."""
    height, width = image.rgb.shape[:2]
    if not image.was_color:
        return "grayscale photo: it has no color to learn from"
    if min(height, width) < MIN_TRAINING_SIDE:
        return f"{width}×{height} px is too small to learn from (at least {MIN_TRAINING_SIDE} px a side)"
    return None


def load_photos(paths: list[Path], on_error=print, colors_to_learn: bool = False) -> list[np.ndarray]:
    """uint8 RGB arrays of the readable photos, a transparent one as it looks on white (``DecodedImage.on_white``);
    each unreadable one is reported in one line and skipped. ``colors_to_learn`` (a training set's photos): a
    grayscale one (no color to learn) or a tiny one (under ``MIN_TRAINING_SIDE``) too, as fine-tuning's photos are;
    the colorfulness gate's extra pictures keep their gray ones (a gray picture teaches it that gray is gray)."""
    photos = []
    for path in paths:
        try:
            image = read_image(path)
        except ImageError as err:
            on_error(error_line(err))
            continue
        problem = learning_problem(image) if colors_to_learn else None
        if problem:
            on_error(error_line(ImageError(str(path), problem)))
        else:
            photos.append(image.on_white)
    return photos


def folder_list(folders) -> list:
    """One folder (str or Path) or several → a list of them (``--extra-photos`` takes either)."""
    return [folders] if isinstance(folders, (str, Path)) else list(folders)


def extra_photo_crops(folders, per_photo: int, size: int, seed: int,
                      on_error=print, colors_to_learn: bool = False) -> tuple[list[np.ndarray], np.ndarray]:
    """Flat folders of photos from other sources (``train --extra-photos``, ``scripts/fetch_aerial.py``,
    ``scripts/fetch_everyday.py``; one folder or a list) → (their photos, folder after folder, and
    ``per_photo`` random crops of each, no stamps). The crops draw from a stream of their own, so that a
    run's other crops are those of the same run without them, and a folder's crops are the same with or
    without the folders named after it. ``colors_to_learn`` (``train --extra-photos``): a photo that teaches no colors
    (``learning_problem``) is reported as an unreadable one is and left out, as ``--data``'s are; the colorfulness
    gate's fit keeps its gray ones (a gray picture teaches it that gray is gray). ValueError for a held-out source
    (``check_held_out``) or a folder with no photo to take."""
    photos = []
    for folder in folder_list(folders):
        check_held_out(folder)
        # The training photos' rule (a gray or tiny one teaches no colors): every folder of the notebook's runs passes
        # it whole, so their crops are the same (session 38's review: a 1×1 and a gray PNG were trained on here).
        found = load_photos(list_photos(folder), on_error=on_error, colors_to_learn=colors_to_learn)
        if not found:
            raise ValueError(f"{folder}: no {'color ' if colors_to_learn else 'readable '}photos"
                             + (" to learn from" if colors_to_learn else ""))
        photos += found
    return photos, random_crops(photos, per_photo, size, seed=seed + 2)


def _crop(photo: np.ndarray, top: int, left: int, side: int, size: int, flip: bool) -> np.ndarray:
    crop = resize(photo[top:top + side, left:left + side], (size, size))
    return crop[:, ::-1] if flip else crop


def random_crops(photos: list[np.ndarray], per_photo: int, size: int, seed: int = 0,
                 scales: tuple[float, ...] = CROP_SCALES, stamps: list[np.ndarray] | None = None,
                 stamp_options: StampOptions | None = None) -> np.ndarray:
    """``per_photo`` random square crops of each photo at the given scales, flipped half the time;
    with ``stamps``, a share of them get stamps pasted on (``paste_stamps``; the stamps draw from their
    own random stream, so the crops themselves are the same with or without them)."""
    rng = np.random.default_rng(seed)
    stamp_rng = np.random.default_rng([seed, 1])
    options = stamp_options or StampOptions()
    crops = []
    for photo in photos:
        h, w = photo.shape[:2]
        for _ in range(per_photo):
            side = max(1, int(min(h, w) * rng.choice(scales)))
            top, left = rng.integers(0, h - side + 1), rng.integers(0, w - side + 1)
            crop = _crop(photo, top, left, side, size, bool(rng.integers(2)))
            if stamps and stamp_rng.random() < options.share:
                crop = paste_stamps(crop, stamps, stamp_rng, options)
            crops.append(crop)
    return np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8)


def center_crops(photos: list[np.ndarray], size: int) -> np.ndarray:
    """One centred square crop of each photo's short side (validation: no randomness)."""
    crops = []
    for photo in photos:
        h, w = photo.shape[:2]
        side = min(h, w)
        crops.append(_crop(photo, (h - side) // 2, (w - side) // 2, side, size, False))
    return np.stack(crops) if crops else np.zeros((0, size, size, 3), np.uint8)


def validation_crops(photos: list[np.ndarray], size: int, random_per_photo: int, seed: int) -> np.ndarray:
    """What the validation loss (which keeps the best epoch) is measured on: each photo's centre crop, then
    ``random_per_photo`` seeded random crops of it."""
    return np.concatenate([center_crops(photos, size), random_crops(photos, random_per_photo, size, seed=seed)])


def crop_batch(crops: np.ndarray) -> dict[str, np.ndarray]:
    """uint8 N×S×S×3 → the float32 arrays the architectures train on (see module docstring)."""
    lab = np.stack([rgb_to_lab(c) for c in crops]) if len(crops) else np.zeros(crops.shape, np.float32)
    return {
        # Gray as inference derives it from a photo's L (not OpenCV's luma, which differs on color pixels).
        "gray01": gray01_from_L(lab[..., 0])[..., None],
        "L_norm": normalize_l(lab[..., :1]),
        "ab_norm": normalize_ab(lab[..., 1:]),
        "rgb01": crops.astype(np.float32) / 255.0,
    }
