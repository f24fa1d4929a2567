"""A decoded Pillow picture → ``colorizer.imageio``'s uint8 arrays: the displayed orientation, then
any mode and bit depth as uint8 RGB, gray levels and alpha.

- ``orientation(im)`` → (EXIF orientation, notes), read from the first directory only;
  ``transposed(im, orientation)`` → the picture as displayed;
- ``keyed_gray_as_la(im, size)``: a 16-bit gray picture with a colour key (PNG's tRNS) shrunk as 8-bit
  gray and alpha (averaging its values would blur the key away);
- ``to_arrays(im, sixteen_bit)`` → (rgb H×W×3, gray H×W or None, alpha H×W or None, was_color,
  notes): 16-bit scaled 0..65535 → 0..255, 32-bit and float by their range, fully opaque alpha as
  None; every array a C-contiguous, writeable copy. ``ModeError`` for a mode Pillow cannot convert.
- ``gray_and_color(rgb, alpha)`` → (R == G == B everywhere, some visible pixel in color): what ``to_arrays`` reads
  of a picture, also for one that was never a file (the Video page's first frame).
"""
from __future__ import annotations

import struct

import numpy as np
from PIL import Image

from colorizer.imageio_reasons import describe

__all__ = ["ModeError", "orientation", "transposed", "to_arrays", "gray_and_color", "keyed_gray_as_la"]


class ModeError(ValueError):
    """A colour mode Pillow cannot convert to RGB; str(err) is the reason (one line)."""


_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def orientation(im: Image.Image) -> tuple[int, list[str]]:
    """The EXIF orientation (1 when there is none) and a note when it is unreadable. Read from the
    first directory's entries only (a TIFF's own directory, else the EXIF block Pillow kept in
    ``info``): Pillow's full EXIF parse costs whatever the block holds."""
    if im.format == "TIFF":
        value = getattr(im, "tag_v2", {}).get(0x0112, 1)
        return (value if value in _TRANSPOSE else 1), []
    exif = im.info.get("exif")
    if not exif:
        return 1, []
    try:
        value = _exif_orientation(bytes(exif))
    except (struct.error, ValueError):
        return 1, ["EXIF data unreadable; orientation left as stored"]
    return (value if value in _TRANSPOSE else 1), []


def _exif_orientation(exif: bytes) -> int:
    """The orientation tag (0x0112) of an EXIF block (a TIFF header and its first directory)."""
    if exif.startswith(b"Exif\x00\x00"):
        exif = exif[6:]
    if exif[:4] not in (b"II*\x00", b"MM\x00*"):
        raise ValueError("not a TIFF header")
    order = "<" if exif[:2] == b"II" else ">"
    offset = struct.unpack_from(order + "I", exif, 4)[0]
    entries = struct.unpack_from(order + "H", exif, offset)[0]
    for i in range(min(entries, 4096)):
        tag, kind = struct.unpack_from(order + "HH", exif, offset + 2 + 12 * i)
        if tag == 0x0112:
            return struct.unpack_from(order + "H", exif, offset + 10 + 12 * i)[0] if kind == 3 else 1
    return 1


def transposed(im: Image.Image, orientation: int) -> Image.Image:
    """The picture in its displayed orientation."""
    return im if orientation not in _TRANSPOSE else im.transpose(_TRANSPOSE[orientation])



_GRAY_HIGH_DEPTH = ("I", "F", "I;16", "I;16L", "I;16B", "I;16N")


def to_arrays(
    im: Image.Image, sixteen_bit: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, bool, list[str]]:
    """(rgb, gray, alpha, was_color, notes) for any Pillow mode; ModeError for one Pillow cannot convert."""
    mode = im.mode
    has_key = im.info.get("transparency") is not None

    if mode in ("1", "L", "LA", "La"):
        la = np.asarray(im.convert("LA") if (mode != "L" or has_key) else im)
        gray, alpha = (la[..., 0], la[..., 1]) if la.ndim == 3 else (la, None)
        gray = np.array(gray, np.uint8, order="C")
        return _gray_to_rgb(gray), gray, _alpha_or_none(alpha), False, []

    if mode in _GRAY_HIGH_DEPTH:
        values = np.asarray(im)
        gray, notes = _high_depth_to_uint8(values, mode, sixteen_bit)
        alpha = None
        if has_key and mode != "F":  # PNG tRNS colour key on a 16-bit gray image
            alpha = np.where(values == int(im.info["transparency"]), 0, 255).astype(np.uint8)
        gray = np.array(gray, np.uint8, order="C")
        return _gray_to_rgb(gray), gray, _alpha_or_none(alpha), False, notes

    notes = ["16-bit image reduced to 8 bits"] if sixteen_bit else []
    if mode == "CMYK":
        notes.append("CMYK converted to RGB")
    elif mode not in ("RGB", "RGBA", "RGBa", "RGBX", "P", "PA"):
        notes.append(f"{mode} converted to RGB")
    wants_alpha = has_key or mode in ("RGBA", "RGBa", "PA")
    target = "RGBA" if wants_alpha else "RGB"
    try:
        converted = im if im.mode == target and not has_key else im.convert(target)
    except (ValueError, OSError) as exc:
        raise ModeError(f"unsupported colour mode {mode} ({describe(exc)})") from None
    arr = _array_of(converted)  # writeable, the caller's own
    rgb = arr if not wants_alpha else np.ascontiguousarray(arr[..., :3])
    alpha = _alpha_or_none(arr[..., 3]) if wants_alpha else None
    all_equal, has_color = gray_and_color(rgb, alpha)
    gray = np.ascontiguousarray(rgb[..., 0]) if all_equal else None
    return rgb, gray, alpha, has_color, notes


def keyed_gray_as_la(im: Image.Image, size: tuple[int, int]) -> Image.Image:
    """A 16-bit gray picture with a colour key (``im.info["transparency"]``) shrunk to ``size`` as an "LA"
    picture: gray scaled to 8 bits, alpha 0 where the key matched, each averaged over its box. Pillow keeps no
    16-bit gray with alpha, and averaging the raw values would blur the key away. A strip of rows at a time
    into two 8-bit planes: about 2 bytes a pixel, not whole-picture int32 and bool copies."""
    key = int(im.info["transparency"])
    width, height = im.size
    gray, alpha = np.empty((height, width), np.uint8), np.empty((height, width), np.uint8)
    rows = max(1, 1_000_000 // max(width, 1))
    for top in range(0, height, rows):
        values = np.asarray(im.crop((0, top, width, min(height, top + rows))))
        gray[top:top + rows] = _scale_16_bit(values)
        alpha[top:top + rows] = np.where(values == key, 0, 255)
    planes = [Image.fromarray(plane, "L").resize(size, Image.Resampling.BOX) for plane in (gray, alpha)]
    return Image.merge("LA", planes)


def _high_depth_to_uint8(values: np.ndarray, mode: str, sixteen_bit: bool) -> tuple[np.ndarray, list[str]]:
    """Scale 16/32-bit integer or float gray to uint8 without clipping (float32, in place: a picture at
    the budget costs about 8 bytes a pixel here, not the 28 of float64 temporaries)."""
    if mode.startswith("I;16") or sixteen_bit:
        return _scale_16_bit(values), ["16-bit image reduced to 8 bits"]
    if mode == "F":
        values = np.array(values, dtype=np.float32)  # our own writeable copy
        np.nan_to_num(values, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = float(values.min()), float(values.max())
        if lo >= 0.0 and hi <= 1.0:
            values *= 255.0
            return _rounded(values), ["floating-point image scaled from 0-1 to 0-255"]
        if lo >= 0.0 and hi <= 255.0:
            return _rounded(values), ["floating-point image converted to 8 bits"]
        return _rescale(values, lo, hi), [f"floating-point image rescaled from [{lo:g}, {hi:g}] to 0-255"]
    # mode "I" (32-bit signed) -- bit depth unknown, so infer it from the range.
    lo, hi = int(values.min()), int(values.max())
    if lo >= 0 and hi <= 255:
        return values.astype(np.uint8), []
    if lo >= 0 and hi <= 65535:
        return _scale_16_bit(values), ["16-bit image reduced to 8 bits"]
    return _rescale(values, lo, hi), [f"32-bit image rescaled from [{lo}, {hi}] to 0-255"]


# 0..65535 -> 0..255 with rounding (65535 -> 255, 32768 -> 128): one table read a pixel.
_SIXTEEN_TO_EIGHT = ((np.arange(65536, dtype=np.uint32) * 255 + 32767) // 65535).astype(np.uint8)


def _scale_16_bit(values: np.ndarray) -> np.ndarray:
    """0..65535 -> 0..255 with rounding (65535 -> 255, 32768 -> 128)."""
    return _SIXTEEN_TO_EIGHT[values]


def _rounded(values: np.ndarray) -> np.ndarray:
    """float32 in [0, 255] (rounded in place) -> uint8."""
    return np.rint(values, out=values).astype(np.uint8)


def _rescale(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi <= lo:
        return np.full(values.shape, int(np.clip(lo, 0, 255)), dtype=np.uint8)
    scaled = values.astype(np.float32) if values.dtype != np.float32 else values
    scaled -= np.float32(lo)
    scaled *= np.float32(255.0 / (hi - lo))
    return _rounded(scaled)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray.astype(np.uint8, copy=False)[..., None], 3, axis=2)


def _alpha_or_none(alpha: np.ndarray | None) -> np.ndarray | None:
    """Fully opaque alpha carries no information: report it as None."""
    if alpha is None or bool((alpha == 255).all()):
        return None
    return np.array(alpha, dtype=np.uint8, order="C")


# Rows of a strip, for the copies below: a 12 MP photo's whole-picture bytes copy and three boolean planes held
# ~55 MiB more than its array (session 35's profile of a color upload).
_STRIP_ROWS = 256


def _array_of(im: Image.Image) -> np.ndarray:
    """A loaded RGB or RGBA Pillow image → a new uint8 H×W×bands array of its pixels, filled a strip of rows at a
    time (``np.array(im)`` goes through a whole-picture bytes copy first)."""
    width, height = im.size
    arr = np.empty((height, width, len(im.getbands())), np.uint8)
    for top in range(0, height, _STRIP_ROWS):
        arr[top:top + _STRIP_ROWS] = np.asarray(im.crop((0, top, width, min(height, top + _STRIP_ROWS))))
    return arr


def gray_and_color(rgb: np.ndarray, alpha: np.ndarray | None) -> tuple[bool, bool]:
    """(R == G == B on every pixel, some visible pixel has R, G, B not all equal), a strip of rows at a time."""
    all_equal, has_color = True, False
    for top in range(0, rgb.shape[0], _STRIP_ROWS):
        part = rgb[top:top + _STRIP_ROWS]
        equal = (part[..., 0] == part[..., 1]) & (part[..., 1] == part[..., 2])
        all_equal = all_equal and bool(equal.all())
        if not has_color:
            shown_equal = equal if alpha is None else equal | (alpha[top:top + _STRIP_ROWS] == 0)
            has_color = not bool(shown_equal.all())
        if not all_equal and has_color:
            break
    return all_equal, has_color
