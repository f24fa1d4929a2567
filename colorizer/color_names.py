"""A color's everyday name ("sky blue", "olive", "brick red"), for the hint swatches and the hints list.

The hint swatches were labeled by their hex codes ("#6b7a3c · 34 %"): a class cannot read them, and a screen reader
spells them out digit by digit. A name is the nearest, by CIEDE2000 (the plain Lab distance, ΔE 1976, called pure
blue "violet" and a light skin tone "light gray"), of about eighty plain ones. Their
colors are those of the XKCD color survey (matplotlib's ``XKCD_COLORS``: what hundreds of thousands of people called
each color), chosen among its 954 names for words a class uses and none it would laugh at, and so that the colors of
photos (sky, grass, sea, sand, wood, brick, warm grays, shadows and the ten skin tones of the Monk scale) each get a
name within 12.5 of CIEDE2000, all but one within 8.5 (tests/test_color_names.py).

- ``color_name(rgb)`` → a name; ``hex_code(rgb)`` → "#75bbfd"; ``with_code(rgb)`` → "sky blue (#75bbfd)".
"""
from __future__ import annotations

import functools

import numpy as np

__all__ = ["NAMES", "color_name", "hex_code", "with_code"]

# Survey name → the name shown (the survey writes "grey").
NAMES = {name: name.replace("grey", "gray") for name in (
    "red", "dark red", "bright red", "brick red", "burgundy", "maroon", "rust", "terracotta", "coral",
    "salmon", "orange", "orange red", "peach", "tan", "beige", "sand", "khaki", "cream", "ivory",
    "off white", "yellow", "pale yellow", "mustard", "gold", "ochre", "brown", "light brown", "dark brown", "brick",
    "sepia", "chocolate", "taupe", "dark taupe", "greyish brown", "brownish grey",
    "olive", "olive green", "moss green", "yellow green", "lime", "green", "light green", "dark green",
    "forest green", "sea green", "mint", "teal", "turquoise", "aqua", "cyan", "sky blue", "light blue", "blue",
    "royal blue", "steel blue", "denim", "slate", "dark blue", "navy", "indigo", "violet", "purple", "plum",
    "lavender", "mauve", "magenta", "pink", "light pink", "rosy pink", "rose", "white", "light grey", "silver",
    "grey", "dark grey", "charcoal", "black",
)}


@functools.cache
def _named_lab() -> tuple[list[str], np.ndarray]:
    # Imported here, not with the module: matplotlib's and scikit-image's imports (0.4 s, SciPy's among them) held up a new
    # server's first page, whose hint tools import this module, long before any color is named.
    from matplotlib.colors import XKCD_COLORS, to_rgb
    from skimage.color import rgb2lab

    names = list(NAMES)
    rgb = np.array([[to_rgb(XKCD_COLORS[f"xkcd:{name}"]) for name in names]])
    return [NAMES[name] for name in names], rgb2lab(rgb)[0]


def color_name(rgb) -> str:
    """An sRGB color (three 0-255 numbers) → the nearest plain name (CIEDE2000)."""
    values = np.asarray(rgb, dtype=np.float64)
    if values.shape != (3,) or not np.isfinite(values).all() or values.min() < 0 or values.max() > 255:
        raise ValueError(f"a color is three numbers from 0 to 255, not {np.asarray(rgb).tolist()}")
    from skimage.color import deltaE_ciede2000, rgb2lab

    names, lab = _named_lab()
    here = rgb2lab(values.reshape(1, 1, 3) / 255.0)[0, 0]
    return names[int(np.argmin(deltaE_ciede2000(lab, here[None, :])))]


def hex_code(rgb) -> str:
    """"#75bbfd": an sRGB color (three 0-255 numbers) as a color picker and CSS write it."""
    return "#" + "".join(f"{int(round(float(v))):02x}" for v in np.asarray(rgb).ravel())


def with_code(rgb) -> str:
    """"sky blue (#75bbfd)": the name, and the exact color for whoever wants it."""
    return f"{color_name(rgb)} ({hex_code(rgb)})"
