"""``colorizer.photo_prints``: a photo's print reads its gray's steps, survives a resize and a re-save, and tells the
sample photos apart."""
from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from colorizer.photo_prints import BITS_APART, is_print, photo_print, same_photo


def test_a_print_is_each_rows_steps_brighter_to_the_right_top_row_first():
    rising = np.tile(np.arange(0, 256, 2, dtype=np.uint8), (32, 1))   # 32×128, brighter to the right
    assert photo_print(rising) == "f" * 16 and photo_print(rising[:, ::-1]) == "0" * 16
    # The top half rising, the bottom half falling: the top four rows are the first 32 bits.
    assert photo_print(np.vstack([rising, rising[:, ::-1]])) == "ffffffff00000000"
    # A color photo is printed by its gray: the same print as its gray's.
    assert photo_print(np.repeat(rising[..., None], 3, axis=2)) == "f" * 16


def _jpeg(rgb: np.ndarray, quality: int) -> np.ndarray:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "JPEG", quality=quality)
    return np.asarray(Image.open(buffer).convert("RGB"))


@pytest.fixture(scope="module")
def samples() -> dict[str, np.ndarray]:
    import skimage.data

    return {name: getattr(skimage.data, name)() for name in ("astronaut", "chelsea", "coffee", "rocket")}


def test_a_copy_resized_or_saved_again_is_the_same_photo_and_other_photos_are_not(samples):
    prints = {name: photo_print(rgb) for name, rgb in samples.items()}
    for name, rgb in samples.items():
        height, width = rgb.shape[:2]
        for copy in (_jpeg(rgb, 60), cv2.resize(rgb, (width // 2, height // 2), interpolation=cv2.INTER_AREA),
                     cv2.resize(rgb, (width * 2, height * 2)), (rgb * 0.8).astype(np.uint8)):
            assert same_photo(photo_print(copy), prints[name]), name
    for one in prints:
        for other in prints:
            assert same_photo(prints[one], prints[other]) == (one == other), (one, other)


def test_same_photo_allows_bits_apart_bits_and_no_more():
    print_ = "0123456789abcdef"
    near = f"{int(print_, 16) ^ (2 ** BITS_APART - 1):016x}"             # the lowest BITS_APART bits flipped
    far = f"{int(print_, 16) ^ (2 ** (BITS_APART + 1) - 1):016x}"
    assert same_photo(print_, near) and not same_photo(print_, far)


def test_flat_pictures_and_smooth_ramps_are_no_photo_to_a_print(samples):
    """Session 42's note: a flat picture prints as sixteen zeros, so two flat pictures (a red one a fine-tune learned, a
    blue one scored) were one photo. A print with at most BITS_APART bits set or unset matches nothing, itself neither;
    a photo's print is not that plain (the samples' prints have 20 or more of each)."""
    red, blue = np.full((40, 60, 3), [200, 30, 30], np.uint8), np.full((80, 50, 3), [20, 40, 220], np.uint8)
    ramp = np.tile(np.linspace(0, 255, 90).astype(np.uint8), (40, 1))
    assert photo_print(red) == photo_print(blue) == "0" * 16 and photo_print(ramp) == "f" * 16
    for one, other in ((red, blue), (red, red), (ramp, ramp), (ramp[:, ::-1], red)):
        assert not same_photo(photo_print(one), photo_print(other))
    # The edge: BITS_APART bits set is plain, one more is not.
    plain, telling = f"{2 ** BITS_APART - 1:016x}", f"{2 ** (BITS_APART + 1) - 1:016x}"
    assert not same_photo(plain, plain) and same_photo(telling, telling)
    for rgb in samples.values():
        assert 20 <= bin(int(photo_print(rgb), 16)).count("1") <= 44


@pytest.mark.parametrize("value, ok", [("0123456789abcdef", True), ("0123456789ABCDEF", False), ("0123", False),
                                       ("0123456789abcdeg", False), (123, False), (None, False)])
def test_is_print_takes_prints_as_written_only(value, ok):
    assert is_print(value) is ok
