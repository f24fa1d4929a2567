"""colorizer.color_names: the plain name a hint swatch is labeled with."""
from __future__ import annotations

import numpy as np
import pytest

from colorizer.color_names import NAMES, color_name, with_code


@pytest.mark.parametrize("rgb,word", [
    ((255, 0, 0), "red"), ((200, 30, 30), "red"), ((0, 0, 255), "blue"), ((30, 144, 255), "blue"),
    ((135, 206, 235), "blue"), ((255, 255, 0), "yellow"), ((0, 128, 0), "green"), ((107, 122, 60), "olive"),
    ((0, 128, 128), "teal"), ((255, 192, 203), "pink"), ((128, 0, 128), "purple"), ((90, 60, 30), "brown"),
    ((128, 128, 128), "gray"), ((40, 40, 40), "gray"), ((255, 255, 255), "white"), ((0, 0, 0), "black"),
])
def test_everyday_colors_get_their_everyday_names(rgb, word):
    assert word in color_name(rgb)


def test_a_and_b_swapped_or_a_gray_get_other_names():
    """Olive drab with its a and b channels swapped is a purple; its gray is a gray: names that tell them apart."""
    from colorizer.color import lab_to_rgb, rgb_to_lab

    lab = rgb_to_lab(np.array([[[107, 142, 35]]], np.uint8))
    swapped = lab[..., [0, 2, 1]]
    gray = lab * np.array([1, 0, 0], np.float32)
    names = [color_name(lab_to_rgb(x)[0, 0]) for x in (lab, swapped, gray)]
    assert "green" in names[0] and "green" not in names[1] and "gray" in names[2], names
    assert len(set(names)) == 3


def test_names_are_american_plain_words_and_the_code_is_exact():
    assert all("grey" not in name for name in NAMES.values()) and "gray" in NAMES.values()
    assert with_code([0xe0, 0x3c, 0x28]) == "red (#e03c28)"
    assert with_code(np.array([0, 128, 128], np.uint8)) == "teal (#008080)"
    assert color_name(np.float32([255, 0, 0])) == color_name((255, 0, 0))


@pytest.mark.parametrize("bad", [(256, 0, 0), (-1, 0, 0), (0, 0), (float("nan"), 0, 0)])
def test_a_color_out_of_range_is_refused_by_name(bad):
    with pytest.raises(ValueError, match="three numbers from 0 to 255"):
        color_name(bad)


# Colors photos are full of (session 40's review: warm grays were "slate", brick "rust", brown skin "rust").
PHOTO_COLORS = {
    "sky": (135, 190, 235), "grass": (86, 125, 70), "sea": (40, 100, 140), "sand": (220, 200, 160),
    "wood": (133, 94, 66), "brick": (170, 74, 68), "warm gray": (110, 100, 90), "shadow": (40, 40, 45),
    # The Monk skin tone scale, lightest to darkest.
    **{f"skin {i}": rgb for i, rgb in enumerate([(246, 237, 228), (243, 231, 219), (247, 234, 208), (234, 218, 186),
                                                 (215, 189, 150), (160, 126, 86), (130, 92, 67), (96, 65, 52),
                                                 (58, 49, 42), (41, 36, 32)], start=1)},
}


def test_the_colors_of_photos_get_a_near_name():
    from skimage.color import deltaE_ciede2000, rgb2lab

    from colorizer.color_names import _named_lab

    names, lab = _named_lab()
    distances = {}
    for what, rgb in PHOTO_COLORS.items():
        here = rgb2lab(np.array([[rgb]]) / 255.0)[0, 0]
        distances[what] = float(np.min(deltaE_ciede2000(lab, here[None, :])))
    assert max(distances.values()) <= 12.5 and sorted(distances.values())[-2] <= 8.5, distances
    assert color_name(PHOTO_COLORS["brick"]) == "brick" and "blue" in color_name(PHOTO_COLORS["sky"])
    assert "slate" not in color_name(PHOTO_COLORS["warm gray"])
