"""Photo intake for fine-tuning: uploads or a folder → ``(name, uint8 RGB)`` color photos, at most
``MAX_PHOTO_SIDE`` px on a side, and one ``"<file>: <reason>"`` line per file that cannot be used
(unreadable, or grayscale: it has no color to learn from). A picture with transparency is learned as it looks on
white (``DecodedImage.on_white``): what its transparent pixels hold is not part of the picture."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from colorizer import data
from colorizer.color import resize
from colorizer.imageio import ImageError, decode_image, read_image

__all__ = ["Photo", "MAX_PHOTO_SIDE", "shrink_photo", "decode_photo", "photos_from_uploads", "photos_from_folder"]

MAX_PHOTO_SIDE = 1024       # crops are ≤ 256 px: bigger photos only cost memory

Photo = tuple[str, np.ndarray]


def shrink_photo(rgb: np.ndarray, side: int = MAX_PHOTO_SIDE) -> np.ndarray:
    """uint8 RGB → the same, at most ``side`` px on its longer side (never enlarged)."""
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    return rgb if scale >= 1 else resize(rgb, (max(1, round(h * scale)), max(1, round(w * scale))))


def _usable(image, name: str, shown: str | None = None) -> Photo:
    """(name, the photo ≤ ``MAX_PHOTO_SIDE``); ``ImageError`` naming ``shown`` (default: ``name``) for a gray one."""
    if not image.was_color:
        raise ImageError(shown or name, "grayscale photo: it has no color to learn from")
    return name, shrink_photo(image.on_white)


def decode_photo(data_bytes: bytes, name: str) -> Photo:
    """File bytes → (name, uint8 RGB ≤ 1024 px); ``ImageError`` for unreadable or grayscale files. Decoded
    within the decode budget (``imageio``: a photo over it is shrunk while it decodes, as the app's uploads are)."""
    return _usable(decode_image(data_bytes, name, fit=True), name)


def photos_from_uploads(files: Iterable[tuple[str, bytes]]) -> tuple[list[Photo], list[str]]:
    """(name, bytes) pairs → (usable photos, one ``"<file>: <reason>"`` line per unusable file)."""
    return _collect(lambda content=content, name=name: decode_photo(content, name) for name, content in files)


def photos_from_folder(folder: str | Path) -> tuple[list[Photo], list[str]]:
    """Color photos of a folder (flat, or with ``train/`` and ``val/`` subfolders) and the error lines, each naming
    its file's path (the photos keep their file names)."""
    root = Path(folder)
    paths = data.list_photos(root)
    paths += [p for split in ("train", "val") if (root / split).is_dir() for p in data.list_photos(root, split)]
    return _collect(lambda path=path: _usable(read_image(path), path.name, str(path)) for path in paths)


def _collect(readers) -> tuple[list[Photo], list[str]]:
    """Run each reader → (the photos read, the error line of each one that raised ImageError)."""
    photos, errors = [], []
    for read in readers:
        try:
            photos.append(read())
        except ImageError as err:
            errors.append(str(err))
    return photos, errors
