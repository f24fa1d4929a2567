"""A photo's print: 64 bits that tell which photo it is, kept through a resize or a re-save, too few to show it.

A fine-tune's card lists the prints of the photos it trained on, so that a page scoring it on one of them can say so:
a model scored on a photo it learned shows how well it remembers, not how well it colors (session 42's audit: a
decoder fine-tuned on the gallery led Compare on the gallery's cat, 99 % right hue, and nothing said it had learned
that cat). A print is Krawetz's difference hash ("dHash"): the photo's gray area-shrunk to 9×8, each pixel brighter
than its left neighbour or not. (PyPI's ImageHash has the same algorithm, shrinking with Lanczos, so its bits differ;
it would bring SciPy and PyWavelets to the app for these few lines.) A picture with transparency is printed as it looks
on white, as a fine-tune learns it (``DecodedImage.on_white``).

- ``photo_print(rgb)`` → 16 hex digits; ``is_print(value)``: a print as written (a card is read defensively).
- ``same_photo(print, other)``: at most ``BITS_APART`` of the 64 bits differ.
- ``card_prints(card)`` → the prints a model card lists under ``data.trained_photo_prints`` (``CARD_FIELD``), the
  well-formed ones: what the fine-tune that wrote it learned, and its base.

``BITS_APART`` measured on 604 color photos of data/'s photo sets and the four scikit-image samples (608): of 3,648
copies (JPEG at quality 60; half the size at 70; 20 levels brighter; 20 % darker; shrunk to 1,024 px as a fine-tune
reads it, which changes only the 3 photos larger than that; twice the size) 3,636 are within 6 bits, the other twelve
brightened or re-saved photos up to 17 bits; of 184,528 pairs of distinct files, 13 are within 6 bits, every one two
views of one scene (OpenCV's stereo and motion pairs) or one aerial photo twice (recolored, or at another size), and
99.99 % are 8 or more apart (``python scripts/measure_photo_prints.py``).

A plain print, at most ``BITS_APART`` of its bits set or unset, is one photo with no other: a flat picture prints as
sixteen zeros and a smooth left-to-right ramp nearly so, so any two such pictures were "one photo" (session 42's note).
None of the 608 photos prints so (their prints have 7 to 54 bits set); a fine-tune that learned a flat picture is not
said to have learned another.
"""
from __future__ import annotations

import re

import cv2
import numpy as np

from colorizer.color import to_gray

__all__ = ["BITS_APART", "CARD_FIELD", "photo_print", "same_photo", "is_print", "card_prints"]

BITS_APART = 6
CARD_FIELD = "trained_photo_prints"  # in a card's "data"
_SHAPE = (9, 8)  # (width, height): 8 steps across each of 8 rows
_PRINT = re.compile(r"[0-9a-f]{16}")


def photo_print(rgb: np.ndarray) -> str:
    """uint8 RGB H×W×3 (or gray H×W) → its print, 16 lowercase hex digits."""
    small = cv2.resize(to_gray(rgb), _SHAPE, interpolation=cv2.INTER_AREA).astype(np.int16)
    bits = (small[:, 1:] > small[:, :-1]).ravel()
    return f"{int(''.join('1' if bit else '0' for bit in bits), 2):016x}"


def is_print(value) -> bool:
    """A print as ``photo_print`` writes it (a card's list is read defensively: it may be hand-edited)."""
    return isinstance(value, str) and _PRINT.fullmatch(value) is not None


def same_photo(one: str, other: str) -> bool:
    """Two prints are one photo's: at most ``BITS_APART`` bits differ, and neither is plain (``_plain``)."""
    return not (_plain(one) or _plain(other)) and _bits(int(one, 16) ^ int(other, 16)) <= BITS_APART


def _bits(value: int) -> int:
    return bin(value).count("1")


def _plain(print_: str) -> bool:
    """Too few steps to tell a picture by (a flat one, a smooth ramp): at most ``BITS_APART`` bits set, or unset."""
    set_bits = _bits(int(print_, 16))
    return min(set_bits, 64 - set_bits) <= BITS_APART


def card_prints(card) -> list[str]:
    """The well-formed prints a model card lists in ``data[CARD_FIELD]`` ([] for none, or for a card that is not as
    written: a card is read defensively, it may be hand-edited)."""
    data = card.get("data") if isinstance(card, dict) else None
    listed = data.get(CARD_FIELD) if isinstance(data, dict) else None
    return [value for value in listed if is_print(value)] if isinstance(listed, list) else []
