"""The photo sets an evaluation runs on: color truths, and (truth, reference) pairs for reference photos.

- ``held_out_truths(folder)``: the color photos of a training folder's held-out val/ split;
  ``gallery_truths()``: the built-in gallery's color photos (never trained on);
  ``photo_set(name, folder)``: a set by the name the scripts' ``--sets`` take ("val", "gallery", a set of
  ``data/eval`` or a path), and ``CHOOSING_SETS`` the seven a flagship's decoding is chosen on (docs/results.md).
- ``reference_pairs(folder)``: the sets reference-photo colorization (``colorizer.exemplar``) is measured
  on, ``REFERENCE_PAIR_SETS`` built from the held-out split, or one set of real pairs from a folder of
  ``NAME.ref.*`` files (``folder_pairs``).
Every photo is uint8 RGB H×W×3, named by its file name (or gallery key); an unreadable file is reported
through ``on_error`` (one line) and skipped, never raised.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["held_out_truths", "gallery_truths", "photo_set", "CHOOSING_SETS", "folder_pairs", "reference_pairs",
           "REFERENCE_PAIR_SETS", "with_visible_or_none"]

# The sets issue 23's bars are counted on and a decoding is chosen by (docs/results.md, "The soup ships"), as
# ``--sets`` takes them: a new evaluation set joins here, and every script that chooses reads it.
CHOOSING_SETS = "val,gallery,opencv,opencv-docs,data/everyday,data/packages,data/aerial"

# Reference-photo colorization (``colorizer.exemplar``) is measured on pairs built from the held-out
# split: each photo colored from another view of itself, and from another photo of the same kind.
REFERENCE_PAIR_SETS = ("other view of itself", "same package and kind")


def held_out_truths(folder, on_error=print, with_visible: bool = False, on_gray=None) -> list[tuple]:
    """[(file name, uint8 RGB)] of the color photos in ``folder``'s val/ split (the folder itself
    without one); a gray photo has no color truth and is skipped (its name given to ``on_gray`` if any), an
    unreadable one reported.
    ``with_visible``: [(file name, uint8 RGB, visible)] instead, ``visible`` the bool H×W of the pixels a
    transparent picture shows (alpha > 0; None for an opaque one), so it is measured as it is seen; a
    picture that shows nothing is reported and skipped."""
    from colorizer import data
    from colorizer.imageio import ImageError, error_line, read_image

    photos = []
    for path in data.list_photos(folder, "val"):
        try:
            image = read_image(path)
        except ImageError as err:
            on_error(error_line(err))
            continue
        visible = image.visible
        if with_visible and visible is not None and not visible.any():
            on_error(_nothing_to_measure(path.name))
        elif image.was_color:
            photos.append((path.name, image.rgb, visible) if with_visible else (path.name, image.rgb))
        elif on_gray is not None:
            on_gray(path.name)
    return photos


def _nothing_to_measure(name: str) -> str:
    from colorizer.imageio import error_line

    return error_line(f"{name}: every pixel is transparent, nothing to measure")


def photo_set(name: str, folder: str):
    """``val``: the held-out split of ``folder``; ``gallery``: the built-in gallery; else a folder of
    evaluation photos (``data/eval/NAME``, written by scripts/fetch_eval_photos.py) or a path."""
    if name == "val":
        return held_out_truths(folder)
    if name == "gallery":
        return gallery_truths()
    path = Path(name) if Path(name).is_dir() else Path("data/eval") / name
    return held_out_truths(path)


def gallery_truths() -> list[tuple[str, np.ndarray]]:
    """[(key, uint8 RGB)] of the built-in gallery's color photos (from pip wheels, never trained on)."""
    from colorizer import gallery

    return [(key, gallery.load_photo(key)) for key in gallery.color_keys()]


def _other_view(rgb: np.ndarray) -> np.ndarray:
    """Another view of the same scene: a mirrored crop of 75 % × 75 %, shifted right and down (a
    quarter of the photo is not in it), resized by 5/4 (the reference is of another size)."""
    from colorizer.color import resize

    h, w = rgb.shape[:2]
    crop = rgb[h // 5: h // 5 + max(1, 3 * h // 4), w // 4: w // 4 + max(1, 3 * w // 4)][:, ::-1]
    return resize(np.ascontiguousarray(crop), (max(1, crop.shape[0] * 5 // 4), max(1, crop.shape[1] * 5 // 4)))


def _kinds(folder) -> dict[str, str]:
    """File name → "package kind" from the folder's manifest.csv (kind: the source's own folder)."""
    import posixpath

    from colorizer import data

    rows = [row for row in data.manifest_rows(folder) or [] if row.get("path") or row.get("file")]
    # A manifest without the source's own path (only a package) has no kinds: no same-kind pairs.
    return {Path(row.get("path") or row["file"]).name:
            f"{row.get('package', '')} {posixpath.dirname(row['source_file'].split(':')[-1])}"
            for row in rows if row.get("source_file")}


def folder_pairs(folder, on_error=print, with_visible: bool = False) -> list[tuple]:
    """[(name, truth RGB, reference RGB)] of a folder of real pairs: each ``NAME.png`` (any supported
    image) with its reference ``NAME.ref.png`` (``scripts/fetch_eval_photos.py`` writes such folders).
    ``with_visible``: [(name, truth RGB, reference RGB, visible, reference visible)] instead, each None for an
    opaque picture: the truth's pixels it shows (alpha > 0; measured over those, as ``held_out_truths``), the
    reference's by ``exemplar.reference_shown`` (its colors come only from what it shows). A pair whose truth or
    reference shows nothing to measure or to take colors from is reported and skipped."""
    from colorizer.exemplar import ReferencePhotoError, reference_shown
    from colorizer.imageio import ImageError, error_line, read_image

    pairs = []
    for reference_path in sorted(Path(folder).glob("*.ref.*")):
        stem = reference_path.name.split(".ref.")[0]
        photo_path = next((p for p in sorted(Path(folder).glob(f"{stem}.*")) if ".ref." not in p.name), None)
        if photo_path is None:
            on_error(error_line(f"{reference_path.name}: no photo {stem}.* beside this reference"))
            continue
        try:
            truth, reference = read_image(photo_path), read_image(reference_path)
        except ImageError as err:
            on_error(error_line(err))
            continue
        if not with_visible:
            pairs.append((photo_path.name, truth.rgb, reference.rgb))
            continue
        visible = truth.visible
        if visible is not None and not visible.any():
            on_error(_nothing_to_measure(photo_path.name))
            continue
        try:
            pairs.append((photo_path.name, truth.rgb, reference.rgb, visible, reference_shown(reference.alpha)))
        except ReferencePhotoError as err:
            on_error(error_line(f"{reference_path.name}: {err}"))
    return pairs


def with_visible_or_none(photos) -> list[tuple]:
    """[(name, RGB[, visible])], as the sets above give them with or without ``with_visible`` → [(name, RGB,
    visible or None)]: one shape for the code that handles both."""
    return [(name, rgb, visible[0] if visible else None) for name, rgb, *visible in photos]


def reference_pairs(folder, on_error=print, with_visible: bool = False) -> dict[str, list[tuple]]:
    """{set name: [(file name, truth RGB, reference RGB)]}. A folder of real pairs (``NAME.ref.*`` files,
    ``folder_pairs``) is one set, named after the folder. Otherwise ``REFERENCE_PAIR_SETS`` from the
    folder's held-out split: every photo with another view of itself; and, where the manifest puts two or
    more held-out photos in one package and kind, each with the next one of its group (by name, the last
    with the first). ``with_visible``: each pair also carries the truth's and the reference's shown pixels,
    as ``folder_pairs`` gives them (another view of a transparent photo shows what its crop of it shows)."""
    if any(Path(folder).glob("*.ref.*")):
        return {f"real pairs ({Path(folder).name})": folder_pairs(folder, on_error, with_visible)}
    photos = with_visible_or_none(held_out_truths(folder, on_error, with_visible))
    kinds = _kinds(folder)
    groups: dict[str, list[tuple]] = {}
    for photo in photos:
        if photo[0] in kinds:
            groups.setdefault(kinds[photo[0]], []).append(photo)
    same_kind = []
    for members in groups.values():
        if len(members) > 1:
            members = sorted(members, key=lambda m: m[0])
            same_kind += [_pair(photo, members[(i + 1) % len(members)], with_visible, on_error)
                          for i, photo in enumerate(members)]
    other_views = [_pair(photo, (photo[0], _other_view(photo[1]), _other_view_shown(photo[2])), with_visible, on_error)
                   for photo in photos]
    return {REFERENCE_PAIR_SETS[0]: [pair for pair in other_views if pair],
            REFERENCE_PAIR_SETS[1]: sorted((pair for pair in same_kind if pair), key=lambda p: p[0])}


def _other_view_shown(visible: np.ndarray | None) -> np.ndarray | None:
    """The pixels ``_other_view`` of a transparent photo shows: the same crop, mirror and resize of its mask."""
    return None if visible is None else _other_view(visible.astype(np.uint8) * 255) > 127


def _pair(photo: tuple, reference: tuple, with_visible: bool, on_error) -> tuple | None:
    """(name, truth, visible) and its reference's (name, RGB, visible) → one pair as ``folder_pairs`` gives it;
    None (reported) where the reference shows no whole patch to take colors from."""
    from colorizer.exemplar import ReferencePhotoError, reference_shown
    from colorizer.imageio import error_line

    name, truth, visible = photo
    if not with_visible:
        return name, truth, reference[1]
    try:
        shown = reference_shown(reference[2])
    except ReferencePhotoError as err:
        on_error(error_line(f"{name}: its reference ({reference[0]}): {err}"))
        return None
    return name, truth, reference[1], visible, shown
