"""The built-in gallery: every photo loads offline from an installed package, with its credit."""
from __future__ import annotations

import numpy as np
import pytest

from colorizer import gallery


@pytest.mark.parametrize("key", list(gallery.GALLERY))
def test_every_photo_loads_as_documented(key):
    photo = gallery.GALLERY[key]
    image = gallery.load_photo(key)
    assert image.dtype == np.uint8
    assert image.ndim == (3 if photo.is_color else 2)
    if photo.is_color:
        assert image.shape[2] == 3
        # a color photo really has color: its channels differ somewhere
        assert np.abs(image[..., 0].astype(int) - image[..., 2]).mean() > 2
    assert min(image.shape[:2]) >= 256
    assert photo.key == key and photo.title and photo.credit
    assert any(word in photo.credit for word in ("CC0", "CC BY", "public domain", "no known copyright"))


def test_sources_cover_the_three_packages_and_real_black_and_white_photos():
    credits = " ".join(p.credit for p in gallery.GALLERY.values())
    for package in ("scikit-image", "scikit-learn", "matplotlib"):
        assert package in credits
    assert "camera" in gallery.gray_keys()
    assert set(gallery.color_keys()) >= {"astronaut", "chelsea", "coffee", "rocket", "china", "flower", "grace_hopper"}
    assert set(gallery.color_keys()) | set(gallery.gray_keys()) == set(gallery.GALLERY)


def test_the_apps_gallery_pictures_hand_gray_photos_over_as_their_levels():
    """The app colorizes ``DecodedImage.pixels``: a gray photo's levels, a colour photo's RGB."""
    from ui.loaders import gallery_picture

    gray = gallery_picture("camera")
    assert not gray.was_color and gray.pixels is gray.gray and gray.gray.ndim == 2
    for channel in range(3):
        np.testing.assert_array_equal(gray.rgb[..., channel], gray.gray)
    colour = gallery_picture("astronaut")
    assert colour.was_color and colour.gray is None and colour.pixels is colour.rgb


def test_unknown_key_names_the_known_ones():
    with pytest.raises(KeyError, match="camera"):
        gallery.load_photo("no_such_photo")


def test_gallery_does_not_import_streamlit():
    import subprocess
    import sys

    code = "import sys, colorizer.gallery; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
