"""Photo intake for fine-tuning: uploads or a folder → ``(name, uint8 RGB)`` color photos, at most
``MAX_PHOTO_SIDE`` px on a side, and one ``"<file>: <reason>"`` line per file that cannot be used
(unreadable; grayscale: it has no color to learn from; under ``MIN_PHOTO_SIDE``; the same picture as one taken
already). A picture with transparency is learned as it looks on white (``DecodedImage.on_white``): what its
transparent pixels hold is not part of the picture."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Iterable

import numpy as np

from colorizer import data
from colorizer.color import fit_within
from colorizer.imageio import ImageError, decode_image, read_image

__all__ = ["Photo", "MAX_PHOTO_SIDE", "MIN_PHOTO_SIDE", "shrink_photo", "decode_photo", "photos_from_uploads",
           "photos_from_folder"]

MAX_PHOTO_SIDE = 1024       # crops are ≤ 256 px: bigger photos only cost memory
# Under it a photo is a few pixels blown up into every crop: a 1×1 PNG was trained on without a word (session 35).
MIN_PHOTO_SIDE = data.MIN_TRAINING_SIDE

Photo = tuple[str, np.ndarray]


def shrink_photo(rgb: np.ndarray, side: int = MAX_PHOTO_SIDE) -> np.ndarray:
    """uint8 RGB → the same, at most ``side`` px on its longer side (never enlarged: ``color.fit_within``)."""
    return fit_within(rgb, side)


def _usable(image, name: str, shown: str | None = None) -> Photo:
    """(name, the photo ≤ ``MAX_PHOTO_SIDE``); ``ImageError`` naming ``shown`` (default: ``name``) for one that
    teaches no colors (``data.learning_problem``), or is too thin once shrunk."""
    problem = data.learning_problem(image)
    if problem:
        raise ImageError(shown or name, problem)
    photo = shrink_photo(image.on_white)
    if min(photo.shape[:2]) < MIN_PHOTO_SIDE:  # a long strip: 5000×40 is learned at 1024×8 (session 35's review)
        raise ImageError(shown or name, f"too thin to learn from: at {MAX_PHOTO_SIDE} px on its long side it is "
                                        f"{photo.shape[1]}×{photo.shape[0]} (at least {MIN_PHOTO_SIDE} px a side)")
    return name, photo


def decode_photo(data_bytes: bytes, name: str) -> Photo:
    """File bytes → (name, uint8 RGB ≤ 1024 px); ``ImageError`` for unreadable or grayscale files. Decoded
    within the decode budget (``imageio``: a photo over it is shrunk while it decodes, as the app's uploads are)."""
    return _usable(decode_image(data_bytes, name, fit=True), name)


def photos_from_uploads(files: Iterable[tuple[str, bytes]], seen: dict | None = None) -> tuple[list[Photo], list[str]]:
    """(name, bytes) pairs → (usable photos, one ``"<file>: <reason>"`` line per unusable file). ``seen``: the
    pictures taken already by earlier calls (kept up to date here), for a caller that reads its files one by one."""
    return _collect(((lambda content=content, name=name: decode_photo(content, name), name) for name, content in files),
                    seen)


def photos_from_folder(folder: str | Path) -> tuple[list[Photo], list[str]]:
    """Color photos of a folder (flat, or with ``train/`` and ``val/`` subfolders) and the error lines, each naming
    its file's path (the photos keep their file names)."""
    paths = data.every_photo(folder)
    return _collect((lambda path=path: _usable(read_image(path), path.name, str(path)), str(path)) for path in paths)


def _collect(readers, seen: dict | None = None) -> tuple[list[Photo], list[str]]:
    """(reader, the file as its lines name it) pairs → (the photos read, the error line of each one that raised
    ImageError or repeats a picture read already, the same pixels or a copy saved again (``same_picture``): a copy
    of a photo could be held out while its original trained, and the held-out score, the page's verdict against the
    base, was then measured on a picture the model had learned: session 35, and for a re-saved copy session 37)."""
    photos, errors, seen = [], [], {} if seen is None else seen  # digest of a picture's pixels → (its file, look)
    for read, shown in readers:
        try:
            name, rgb = read()
        except ImageError as err:
            errors.append(str(err))
            continue
        digest = hashlib.blake2b(rgb.tobytes() + repr(rgb.shape).encode(), digest_size=16).digest()
        look = _look(rgb)
        first = seen[digest][0] if digest in seen else next(
            (file for file, other in seen.values() if same_picture(look, other)), None)
        if first is not None:
            errors.append(str(ImageError(shown, f"the same picture as {first}: learned once")))
            continue
        seen[digest] = (shown, look)
        photos.append((name, rgb))
    return photos, errors


# A picture's look: its gray at 32×32 and its aspect. Two looks are one picture's when their grays correlate (less
# their mean, over their spread) at SAME_CORRELATION or more, with a like spread and aspect. Copies of the gallery's
# photos saved again (JPEG at quality 60, half the size at 70, brighter, 20 % darker) correlated at 0.9997 or more;
# distinct photos of the project's sets at most 0.966 (two smooth sunsets), textures 0.941 (granite and marble),
# where the mean gray difference alone had called ice and slate one picture (session 37's review).
LOOK_SIDE, SAME_CORRELATION = 32, 0.995


def _look(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    import cv2

    gray = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), (LOOK_SIDE, LOOK_SIDE), interpolation=cv2.INTER_AREA)
    return gray.astype(np.float32), rgb.shape[1] / rgb.shape[0]


def same_picture(look: tuple[np.ndarray, float], other: tuple[np.ndarray, float]) -> bool:
    """Two pictures' looks (``_look``) are one picture's: the same aspect (within 2 %), a like spread of grays
    (within 0.7–1.43×) and grays that correlate at ``SAME_CORRELATION``. A flat picture (two crops of clear sky) has
    no pattern to tell a copy by: only its exact pixels are (``_collect``'s digest)."""
    (gray, aspect), (other_gray, other_aspect) = look, other
    if abs(aspect / other_aspect - 1) >= 0.02:
        return False
    spread, other_spread = float(gray.std()), float(other_gray.std())
    if min(spread, other_spread) < 1.0 or not 0.7 <= spread / other_spread <= 1 / 0.7:
        return False
    correlation = float(np.mean((gray - gray.mean()) * (other_gray - other_gray.mean()))) / (spread * other_spread)
    return correlation >= SAME_CORRELATION
