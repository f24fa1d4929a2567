"""The built-in gallery: sample photos that ship inside pip packages, so the app works offline.

``GALLERY`` maps a short key to a ``GalleryPhoto`` (key, title, loader, credit, is_color).
``photo.load()`` returns uint8 RGB H×W×3 for color photos and uint8 gray H×W for black-and-white
ones; ``load_photo(key)`` does the same by key and raises ``KeyError`` naming the known keys.
Sources (no download: every file is inside an installed wheel):
- scikit-image ``skimage.data``: astronaut, chelsea, coffee, rocket (color) and camera, coins
  (real black-and-white photographs);
- scikit-learn ``load_sample_images``: china, flower;
- matplotlib ``sample_data/grace_hopper.jpg``.
None of them is among the training photos (those come from Debian packages, see
``scripts/fetch_photos.py``), so they are fair test photos.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

__all__ = ["GalleryPhoto", "GALLERY", "load_photo", "color_keys", "gray_keys"]


@dataclass(frozen=True)
class GalleryPhoto:
    """One gallery entry; ``load()`` → uint8 RGB H×W×3 (``is_color``) or uint8 gray H×W."""

    key: str
    title: str
    loader: Callable[[], np.ndarray]
    credit: str
    is_color: bool

    def load(self) -> np.ndarray:
        image = np.ascontiguousarray(self.loader())
        if image.dtype != np.uint8:
            raise ValueError(f"{self.key}: expected uint8 pixels, got {image.dtype}")
        return image


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        return getattr(skimage.data, name)()

    return load


def _sklearn(filename: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return load_sample_image(filename)

    return load


def _grace_hopper() -> np.ndarray:
    from matplotlib import cbook
    from PIL import Image

    # asfileobj=False gives the path inside matplotlib's mpl-data; no network involved.
    with Image.open(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)) as im:
        return np.asarray(im.convert("RGB"))


_SKIMAGE = "scikit-image sample data (skimage.data)"
_SKLEARN = "scikit-learn sample images (sklearn.datasets)"

GALLERY: dict[str, GalleryPhoto] = {
    photo.key: photo
    for photo in (
        GalleryPhoto("camera", "Cameraman (black and white)", _skimage("camera"),
                     f"Lav Varshney, CC0; {_SKIMAGE}", is_color=False),
        GalleryPhoto("coins", "Greek coins (black and white)", _skimage("coins"),
                     f"Brooklyn Museum collection, no known copyright restrictions; {_SKIMAGE}", is_color=False),
        GalleryPhoto("chelsea", "Chelsea the cat", _skimage("chelsea"),
                     f"Stefan van der Walt, CC0; {_SKIMAGE}", is_color=True),
        GalleryPhoto("astronaut", "Astronaut Eileen Collins", _skimage("astronaut"),
                     f"NASA, public domain; {_SKIMAGE}", is_color=True),
        GalleryPhoto("coffee", "Coffee cup", _skimage("coffee"),
                     f"Rachel Michetti (Pikolo Espresso Bar), CC0; {_SKIMAGE}", is_color=True),
        GalleryPhoto("rocket", "Falcon 9 launch", _skimage("rocket"),
                     f"SpaceX, public domain; {_SKIMAGE}", is_color=True),
        GalleryPhoto("china", "Summer palace, China", _sklearn("china.jpg"),
                     f"danielbuechele (Flickr), CC BY 2.0; {_SKLEARN}", is_color=True),
        GalleryPhoto("flower", "Flower", _sklearn("flower.jpg"),
                     f"vultilion (Flickr), CC BY 2.0; {_SKLEARN}", is_color=True),
        GalleryPhoto("grace_hopper", "Grace Hopper", _grace_hopper,
                     "U.S. Navy photograph, public domain; matplotlib sample data", is_color=True),
    )
}


def load_photo(key: str) -> np.ndarray:
    """The gallery photo ``key`` as uint8 RGB H×W×3 or gray H×W."""
    try:
        photo = GALLERY[key]
    except KeyError:
        raise KeyError(f"unknown gallery photo {key!r}; known: {', '.join(GALLERY)}") from None
    return photo.load()


def color_keys() -> list[str]:
    return [key for key, photo in GALLERY.items() if photo.is_color]


def gray_keys() -> list[str]:
    return [key for key, photo in GALLERY.items() if not photo.is_color]
