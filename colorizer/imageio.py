"""Turn user-supplied image bytes into arrays -- safely, or with one clear error line.

This is the single entry point through which the Python API, the CLI and every
page of the app read images.  Users upload whatever they have, so the rules are:

* Nothing crashes.  Every file that cannot be used raises :class:`ImageError`
  (a ``ValueError``) whose ``str()`` is exactly one line, ``"<name>: <reason>"``,
  e.g. ``"cat.png: not an image (looks like an HTML web page ...)"``.  Unexpected
  Pillow exceptions are converted too (exception class + message, one line,
  at most ~200 characters) -- callers never see a traceback from a bad file.
  Only programming errors (e.g. passing a ``str`` instead of ``bytes``) raise
  ``TypeError``.

* Output is always ``uint8`` ``H x W x 3`` RGB at the image's *displayed* size
  and orientation (the EXIF orientation tag is applied with
  ``PIL.ImageOps.exif_transpose``), plus a separate ``uint8 H x W`` alpha plane,
  and for a gray image (R == G == B everywhere) its ``uint8 H x W`` levels:
  ``DecodedImage.pixels`` is what to hand the colorizer.

Decisions
---------
Alpha is kept.
    Transparency (RGBA, LA, palette/GIF transparency, PNG tRNS colour keys) is
    returned as ``DecodedImage.alpha`` so callers can re-attach it to the
    colorized result and save RGBA (see :func:`encode_png`).  ``alpha`` is
    ``None`` when the image has no alpha *or* every pixel is fully opaque.
    The RGB under fully transparent pixels is returned as stored.
First frame only.
    Animated GIF/WebP/PNG and multi-page TIFF use the first frame/page; a note
    says so (``"animated GIF: used frame 1 of 12"``).  Multi-picture JPEGs
    (MPO, as written by many cameras) silently use the main picture.
High bit depth is scaled, not clipped.
    16-bit images are mapped 0..65535 -> 0..255 (65535 -> 255, 32768 -> 128).
    32-bit integer images whose values fit 0..255 are used as-is, those that fit
    0..65535 are treated as 16-bit, anything else is min-max rescaled; float
    images in 0..1 are multiplied by 255, others rescaled.  A note says so.
``was_color``
    False when the source is grayscale: a grayscale mode (1, L, LA, I, I;16, F)
    or colour pixels with R == G == B everywhere (fully transparent pixels are
    ignored).  The colorizer uses this to warn about already-coloured inputs.
Formats.
    Content decides, not the file extension.  Accepted: PNG (incl. APNG), JPEG
    (incl. MPO and CMYK), WebP, BMP, GIF, TIFF -- see ``SUPPORTED_EXTENSIONS``.
    Other formats Pillow could open (EPS, ICO, PSD, ...) are deliberately not
    attempted: less attack surface, and EPS would even run Ghostscript.  SVG,
    HEIC, PDF, text/HTML and friends get a specific reason.
Pixel limit (decompression bombs).
    ``MAX_PIXELS`` (default 50,000,000, i.e. about 8000 x 6000) caps
    ``width * height``.  Override it per process with the environment variable
    ``COLORIZER_MAX_PIXELS`` (a positive integer, read at import; invalid values
    fall back to the default with a warning), or per call with ``max_pixels=``.
    The size is checked from the file *header* before any pixel memory is
    allocated, so a tiny file claiming 60000 x 60000 is refused instantly.
    Pillow's own guard (``PIL.Image.MAX_IMAGE_PIXELS``, ~89 MP) is kept as a
    second line of defence and its ``DecompressionBombWarning`` is turned into
    an error inside :func:`decode_image` only.  Consequently a limit above ~89 MP
    takes effect only if the host program also raises
    ``PIL.Image.MAX_IMAGE_PIXELS``; this module never changes Pillow's globals
    (nor ``ImageFile.LOAD_TRUNCATED_IMAGES``: truncated files are errors).
Pillow's warnings become notes.
    Warnings Pillow emits while reading (damaged EXIF, odd TIFF tags) are added
    to ``notes`` as ``"decoder warning: ..."`` instead of going to stderr.
Threads.
    Safe to call from several threads (Streamlit sessions).  Because warning
    filters are process-global, the Pillow part of decoding (open, header
    checks, ``load()``, EXIF) runs under a module lock; the numpy conversion
    runs outside it.  Returned arrays are always C-contiguous, writeable copies.
"""

from __future__ import annotations

import io
import os
import re
import struct
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

__all__ = [
    "MAX_PIXELS",
    "SUPPORTED_EXTENSIONS",
    "DecodedImage",
    "ImageError",
    "decode_image",
    "encode_png",
    "read_image",
]

# --------------------------------------------------------------------------- #
# Configuration
# --------------------------------------------------------------------------- #

DEFAULT_MAX_PIXELS = 50_000_000
MAX_PIXELS_ENV = "COLORIZER_MAX_PIXELS"


def _max_pixels_from_env() -> int:
    """MAX_PIXELS from $COLORIZER_MAX_PIXELS, or the default if unset/invalid."""
    raw = os.environ.get(MAX_PIXELS_ENV, "").strip()
    if not raw:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(raw.replace(",", ""))  # int() already accepts 50_000_000
    except ValueError:
        value = 0
    if value <= 0:
        # A typo in an env var must not make the whole app unusable.
        warnings.warn(
            f"{MAX_PIXELS_ENV}={raw!r} is not a positive integer; "
            f"using the default {DEFAULT_MAX_PIXELS:,} pixels",
            RuntimeWarning,
            stacklevel=2,
        )
        return DEFAULT_MAX_PIXELS
    return value


MAX_PIXELS: int = _max_pixels_from_env()

SUPPORTED_EXTENSIONS: tuple[str, ...] = (
    "png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff",
)

# Pillow plugin ids we let Image.open try.  (Camera JPEGs with a multi-picture
# segment come out of the JPEG plugin with format "MPO".)
_PILLOW_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")
_SUPPORTED_HUMAN = "PNG, JPEG, WebP, BMP, GIF, TIFF"

_MAX_DETAIL_CHARS = 200

# --------------------------------------------------------------------------- #
# Public types
# --------------------------------------------------------------------------- #


def _one_line(text: object, limit: int | None = None) -> str:
    """Collapse all whitespace (incl. newlines) so messages stay on one line."""
    line = " ".join(str(text).split())
    if limit is not None and len(line) > limit:
        line = line[: limit - 3].rstrip() + "..."
    return line


class ImageError(ValueError):
    """A file that cannot be used as an image; str(err) == f"{name}: {reason}" (one line)."""

    def __init__(self, name: str, reason: str):
        self.name = _one_line(name) or "<unnamed>"
        self.reason = _one_line(reason) or "unknown error"
        # args=(name, reason) keeps the exception picklable (multiprocessing,
        # caching layers), which a custom __init__ would otherwise break.
        super().__init__(self.name, self.reason)

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


# eq=False: generated __eq__/__hash__ would compare/hash numpy arrays, which is
# ambiguous (eq) or impossible (hash).  Identity semantics are the honest ones.
@dataclass(frozen=True, eq=False)
class DecodedImage:
    """A decoded image, ready for the colorizer.

    name:      the name used in messages (file name, or what the caller passed)
    rgb:       uint8 H x W x 3, at the displayed size/orientation (EXIF applied)
    alpha:     uint8 H x W, or None when the image has no transparency
    was_color: False if the source was grayscale
    notes:     human-readable remarks about what was done to the image
    gray:      uint8 H x W, the gray levels when every pixel has R == G == B
               (each channel of ``rgb``), else None
    """

    name: str
    rgb: np.ndarray
    alpha: np.ndarray | None
    was_color: bool
    notes: tuple[str, ...]
    gray: np.ndarray | None = None

    @property
    def pixels(self) -> np.ndarray:
        """What to colorize: ``gray`` when there is one (a third of the bytes, and the colorizer's
        fastest path; the same result as ``rgb``), else ``rgb``."""
        return self.rgb if self.gray is None else self.gray


# --------------------------------------------------------------------------- #
# Public functions
# --------------------------------------------------------------------------- #


def decode_image(data: bytes, name: str, max_pixels: int | None = None) -> DecodedImage:
    """Decode image file bytes.  Raises ImageError (one line) for any unusable file.

    ``name`` is only used in messages and copied to ``DecodedImage.name``.
    ``max_pixels`` defaults to the module's ``MAX_PIXELS`` (read at call time).
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError(f"decode_image() needs bytes, got {type(data).__name__}")
    name = _one_line(name) or "<unnamed>"
    limit = MAX_PIXELS if max_pixels is None else int(max_pixels)

    if not data:
        raise ImageError(name, "empty file")
    try:
        return _decode(data, name, limit)
    except ImageError:
        raise
    except MemoryError:
        raise ImageError(name, "not enough memory to decode this image") from None
    except Exception as exc:  # last resort: never leak a traceback to the user
        raise ImageError(name, f"could not decode image ({_describe(exc)})") from exc


def read_image(path: str | os.PathLike, max_pixels: int | None = None) -> DecodedImage:
    """Read and decode an image file; unreadable paths raise ImageError too."""
    fspath = os.fsdecode(os.fspath(path))
    name = Path(fspath).name or fspath
    try:
        data = Path(fspath).read_bytes()
    except FileNotFoundError:
        raise ImageError(name, "file not found") from None
    except IsADirectoryError:
        raise ImageError(name, "is a directory, not an image file") from None
    except PermissionError:
        raise ImageError(name, "permission denied") from None
    except MemoryError:
        raise ImageError(name, "file too large to read into memory") from None
    except OSError as exc:
        reason = exc.strerror or _describe(exc)
        raise ImageError(name, f"cannot read file ({reason})") from None
    return decode_image(data, name, max_pixels=max_pixels)


def encode_png(rgb: np.ndarray, alpha: np.ndarray | None = None) -> bytes:
    """Encode uint8 H x W x 3 RGB (plus optional uint8 H x W alpha) as PNG bytes.

    With ``alpha`` the PNG is RGBA, otherwise RGB.  Bad arrays raise ValueError:
    they are programming errors, not user files.
    """
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"rgb must be uint8 HxWx3, got {rgb.dtype} {rgb.shape}")
    if rgb.shape[0] == 0 or rgb.shape[1] == 0:
        raise ValueError(f"rgb must not be empty, got shape {rgb.shape}")
    if alpha is None:
        image = Image.fromarray(np.ascontiguousarray(rgb), "RGB")
    else:
        alpha = np.asarray(alpha)
        if alpha.ndim == 3 and alpha.shape[2] == 1:
            alpha = alpha[..., 0]
        if alpha.dtype != np.uint8 or alpha.shape != rgb.shape[:2]:
            raise ValueError(
                f"alpha must be uint8 {rgb.shape[:2]}, got {alpha.dtype} {alpha.shape}"
            )
        image = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


# --------------------------------------------------------------------------- #
# Decoding pipeline
# --------------------------------------------------------------------------- #


# Serialises the warnings-filter juggling below: warnings.catch_warnings swaps
# process-global state, so two threads (e.g. two Streamlit sessions) inside it at
# once could leave our filters installed for good.  Only the Pillow part runs
# under the lock; the numpy conversion afterwards runs in parallel.
_WARNINGS_LOCK = threading.Lock()


def _decode(data: bytes, name: str, max_pixels: int) -> DecodedImage:
    notes: list[str] = []
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        # Pillow warns (>~89 MP) before it errors (>~179 MP); make the warning an
        # error so a would-be bomb never gets decoded.  Pillow's other warnings
        # (damaged EXIF, odd TIFF tags...) are recorded and become notes instead
        # of stderr noise.
        warnings.filterwarnings("always", module=r"PIL(\.|$)")
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = _open(data, name)
            _check_pixel_limit(im, name, max_pixels)
            notes += _select_first_frame(im)
            sixteen_bit = _declares_16_bit(im)
            im.load()  # Image.open is lazy: force decoding so errors surface here
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(name, _pillow_bomb_reason(exc, data, max_pixels)) from None
        except (OSError, SyntaxError, EOFError, ValueError, IndexError, struct.error) as exc:
            # OSError("image file is truncated"), SyntaxError("broken PNG file"), ...
            fmt = _format_from_signature(data)
            raise ImageError(name, f"corrupt or truncated {fmt} file ({_describe(exc)})") from None
        im, orientation_notes = _apply_exif_orientation(im)
        notes += orientation_notes
    notes += _warnings_to_notes(caught)
    rgb, gray, alpha, was_color, mode_notes = _to_arrays(im, name, sixteen_bit)
    notes += mode_notes
    if alpha is not None:
        notes.append("transparency kept as alpha channel")
    return DecodedImage(name=name, rgb=rgb, alpha=alpha, was_color=was_color, notes=tuple(notes), gray=gray)


_PIL_DIR = os.path.dirname(Image.__file__)


def _warnings_to_notes(caught: list[warnings.WarningMessage]) -> list[str]:
    """Pillow's warnings become notes; anyone else's are passed on untouched."""
    notes: list[str] = []
    for w in caught:
        if os.path.dirname(os.path.abspath(w.filename)) == _PIL_DIR:
            note = "decoder warning: " + _one_line(w.message, _MAX_DETAIL_CHARS)
            if note not in notes:
                notes.append(note)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    return notes


def _open(data: bytes, name: str) -> Image.Image:
    """Image.open restricted to the supported formats, with a specific reason on failure."""
    try:
        return Image.open(io.BytesIO(data), formats=_available_formats())
    except UnidentifiedImageError:
        raise ImageError(name, _unidentified_reason(data, name)) from None


def _available_formats() -> tuple[str, ...]:
    """Our formats that this Pillow build can open (e.g. WebP may be missing)."""
    Image.init()  # registers all plugins; a no-op after the first call
    return tuple(fmt for fmt in _PILLOW_FORMATS if fmt in Image.OPEN)


def _check_pixel_limit(im: Image.Image, name: str, max_pixels: int) -> None:
    """Refuse oversized images using the header size, before pixels are allocated."""
    width, height = im.size
    if width <= 0 or height <= 0:
        raise ImageError(name, f"image has no pixels ({width}x{height})")
    if width * height > max_pixels:
        raise ImageError(name, _too_large_reason(width * height, max_pixels, f"{width}x{height}"))


def _too_large_reason(pixels: int, max_pixels: int, size: str | None = None) -> str:
    what = f"{size} = {pixels:,} pixels" if size else f"{pixels:,} pixels"
    return (
        f"image too large ({what}; the limit is {max_pixels:,} pixels); "
        f"to allow larger images set the environment variable {MAX_PIXELS_ENV}"
    )


_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


def _pillow_bomb_reason(exc: Exception, data: bytes, max_pixels: int) -> str:
    """Reason for Pillow's own decompression-bomb guard firing (it fires in Image.open,
    so we have no image object; the pixel count comes from Pillow's message)."""
    match = _BOMB_PIXELS.search(str(exc))
    pixels = int(match.group(1)) if match else None
    if pixels is None or pixels > max_pixels:
        # The usual case: our limit would refuse it as well; say it our way.
        if pixels is None:
            return (
                f"image too large (over the limit of {max_pixels:,} pixels); "
                f"to allow larger images set the environment variable {MAX_PIXELS_ENV}"
            )
        return _too_large_reason(pixels, max_pixels, _header_size(data, pixels))
    return (
        f"image too large for Pillow's decompression-bomb guard ({pixels:,} pixels; "
        f"PIL.Image.MAX_IMAGE_PIXELS is {Image.MAX_IMAGE_PIXELS:,}); "
        f"raising {MAX_PIXELS_ENV} alone is not enough"
    )


def _header_size(data: bytes, pixels: int) -> str | None:
    """'WxH' read straight from a PNG/GIF header, for messages only."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
    elif data[:6] in (b"GIF87a", b"GIF89a"):
        width, height = struct.unpack("<HH", data[6:10])
    else:
        return None
    return f"{width}x{height}" if width * height == pixels else None


def _select_first_frame(im: Image.Image) -> list[str]:
    """Stay on frame 1 of animations / multi-page files and say so."""
    if im.format == "MPO":
        return []  # extra "frames" are camera previews/depth maps, not content
    try:
        frames = int(getattr(im, "n_frames", 1))
    except Exception:  # counting walks the file; a broken tail is not fatal
        frames = 0
    try:
        im.seek(0)
    except EOFError:
        pass
    if frames == 1:
        return []
    fmt = {"WEBP": "WebP"}.get(im.format or "", im.format or "image")
    kind = "multi-page TIFF: used page" if fmt == "TIFF" else f"animated {fmt}: used frame"
    if frames == 0:
        return [f"{kind} 1 (could not count the others)"]
    return [f"{kind} 1 of {frames}"]


def _declares_16_bit(im: Image.Image) -> bool:
    """True if the file stores 16 bits per sample (must be asked before load())."""
    if im.format not in ("PNG", "TIFF"):  # BMP "BGR;16" is 5-6-5, not 16-bit
        return False
    for tile in getattr(im, "tile", None) or ():
        args = tile[3] if len(tile) > 3 else None
        rawmode = args if isinstance(args, str) else (
            args[0] if isinstance(args, tuple) and args and isinstance(args[0], str) else ""
        )
        if ";16" in rawmode:
            return True
    return False


def _apply_exif_orientation(im: Image.Image) -> tuple[Image.Image, list[str]]:
    """Rotate/flip to the displayed orientation; a broken EXIF block is only a note."""
    try:
        orientation = im.getexif().get(ExifTags.Base.Orientation, 1)
    except Exception:
        return im, ["EXIF data unreadable; orientation left as stored"]
    if orientation not in (2, 3, 4, 5, 6, 7, 8):
        return im, []
    try:
        return ImageOps.exif_transpose(im), ["EXIF orientation applied"]
    except Exception:
        return im, ["EXIF orientation could not be applied; left as stored"]


# --------------------------------------------------------------------------- #
# Pixel conversion
# --------------------------------------------------------------------------- #

_GRAY_HIGH_DEPTH = ("I", "F", "I;16", "I;16L", "I;16B", "I;16N")


def _to_arrays(
    im: Image.Image, name: str, sixteen_bit: bool
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, bool, list[str]]:
    """(rgb, gray, alpha, was_color, notes) for any Pillow mode."""
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
        raise ImageError(name, f"unsupported colour mode {mode} ({_describe(exc)})") from None
    # np.array (not asarray) so callers always get a writeable array they own.
    arr = np.array(converted)
    rgb = arr if not wants_alpha else np.ascontiguousarray(arr[..., :3])
    alpha = _alpha_or_none(arr[..., 3]) if wants_alpha else None
    equal = (rgb[..., 0] == rgb[..., 1]) & (rgb[..., 1] == rgb[..., 2])
    gray = np.ascontiguousarray(rgb[..., 0]) if equal.all() else None
    return rgb, gray, alpha, _has_color(equal, alpha), notes


def _high_depth_to_uint8(values: np.ndarray, mode: str, sixteen_bit: bool) -> tuple[np.ndarray, list[str]]:
    """Scale 16/32-bit integer or float gray to uint8 without clipping."""
    if mode.startswith("I;16") or sixteen_bit:
        return _scale_16_bit(values), ["16-bit image reduced to 8 bits"]
    if mode == "F":
        values = np.nan_to_num(values.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        lo, hi = float(values.min()), float(values.max())
        if lo >= 0.0 and hi <= 1.0:
            return np.rint(values * 255.0).astype(np.uint8), ["floating-point image scaled from 0-1 to 0-255"]
        if lo >= 0.0 and hi <= 255.0:
            return np.rint(values).astype(np.uint8), ["floating-point image converted to 8 bits"]
        return _rescale(values, lo, hi), [f"floating-point image rescaled from [{lo:g}, {hi:g}] to 0-255"]
    # mode "I" (32-bit signed) -- bit depth unknown, so infer it from the range.
    lo, hi = int(values.min()), int(values.max())
    if lo >= 0 and hi <= 255:
        return values.astype(np.uint8), []
    if lo >= 0 and hi <= 65535:
        return _scale_16_bit(values), ["16-bit image reduced to 8 bits"]
    return _rescale(values, lo, hi), [f"32-bit image rescaled from [{lo}, {hi}] to 0-255"]


def _scale_16_bit(values: np.ndarray) -> np.ndarray:
    """0..65535 -> 0..255 with rounding (65535 -> 255, 32768 -> 128)."""
    wide = values.astype(np.uint32)
    return ((wide * 255 + 32767) // 65535).astype(np.uint8)


def _rescale(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi <= lo:
        return np.full(values.shape, int(np.clip(lo, 0, 255)), dtype=np.uint8)
    scaled = (values.astype(np.float64) - lo) * (255.0 / (hi - lo))
    return np.rint(scaled).astype(np.uint8)


def _gray_to_rgb(gray: np.ndarray) -> np.ndarray:
    return np.repeat(gray.astype(np.uint8, copy=False)[..., None], 3, axis=2)


def _alpha_or_none(alpha: np.ndarray | None) -> np.ndarray | None:
    """Fully opaque alpha carries no information: report it as None."""
    if alpha is None or bool((alpha == 255).all()):
        return None
    return np.array(alpha, dtype=np.uint8, order="C")


def _has_color(equal: np.ndarray, alpha: np.ndarray | None) -> bool:
    """True unless R == G == B (``equal``, per pixel) on every visible pixel."""
    if alpha is not None:
        equal = equal | (alpha == 0)
    return not bool(equal.all())


# --------------------------------------------------------------------------- #
# Reasons for files Pillow could not use
# --------------------------------------------------------------------------- #

# Signatures of the formats we accept: used to say "corrupt PNG" rather than
# "unknown format" when Pillow recognises the magic but chokes on the header.
_OUR_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),
    (b"MM\x00+", "TIFF"),
    (b"BM", "BMP"),
)

# Common things people upload that we do not support, with actionable advice.
_OTHER_SIGNATURES = (
    (b"%PDF", "PDF documents are not supported; export the page as PNG or JPEG"),
    (b"8BPS", "Photoshop (PSD) files are not supported; export a PNG or JPEG"),
    (b"%!PS", "PostScript/EPS files are not supported; export a PNG or JPEG"),
    (b"\xc5\xd0\xd3\xc6", "PostScript/EPS files are not supported; export a PNG or JPEG"),
    (b"\x00\x00\x01\x00", "ICO icons are not supported; export a PNG"),
    (b"\xff\x0a", "JPEG XL images are not supported; export a PNG or JPEG"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL images are not supported; export a PNG or JPEG"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000 images are not supported; export a PNG or JPEG"),
    (b"\xff\x4f\xff\x51", "JPEG 2000 images are not supported; export a PNG or JPEG"),
    (b"PK\x03\x04", "not an image (looks like a ZIP archive)"),
    (b"\x1f\x8b", "not an image (looks like a gzip-compressed file)"),
)

_SVG_REASON = "SVG (vector) images are not supported; export a PNG or JPEG"
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_AVIF_BRANDS = {b"avif", b"avis"}


def _format_from_signature(data: bytes) -> str:
    """Best guess at the (supported) format name from the signature, for messages."""
    for magic, fmt in _OUR_SIGNATURES:
        if data.startswith(magic):
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return "image"


def _unidentified_reason(data: bytes, name: str) -> str:
    """Why none of the supported decoders accepted the data."""
    head = data[:2048]
    text = _as_text(head)
    if text is not None:
        lowered = text.lstrip().lower()
        if "<svg" in lowered or lowered.startswith("<!doctype svg"):
            return _SVG_REASON
        if any(tag in lowered for tag in ("<!doctype html", "<html", "<head", "<body")):
            return "not an image (looks like an HTML web page - was the page saved instead of the image?)"
        return "not an image (looks like a text file)"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in _HEIF_BRANDS:
            return "HEIC/HEIF photos are not supported; export or convert to JPEG or PNG"
        if brand in _AVIF_BRANDS:
            return "AVIF images are not supported; export a PNG or JPEG"
        return "not an image (looks like a video or MP4-family file)"
    if data[:2] == b"\x1f\x8b" and name.lower().endswith(".svgz"):
        return _SVG_REASON
    fmt = _format_from_signature(data)
    if fmt != "image":
        return f"corrupt or truncated {fmt} file (the header could not be read)"
    for magic, reason in _OTHER_SIGNATURES:
        if data.startswith(magic):
            return reason
    return f"unknown or unsupported image format (supported: {_SUPPORTED_HUMAN})"


def _as_text(head: bytes) -> str | None:
    """The decoded prefix if it looks like text (UTF-8/16, mostly printable), else None."""
    for bom, codec in ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be")):
        if head.startswith(bom):
            return head[len(bom):].decode(codec, errors="replace")
    if b"\x00" in head:
        return None
    decoded = head.decode("utf-8", errors="replace")
    # The prefix may cut a multi-byte character at the end; allow that one.
    bad = decoded[:-1].count("\ufffd") + sum(
        1 for ch in decoded if ord(ch) < 32 and ch not in "\t\n\r\f\v"
    )
    return decoded if bad <= len(decoded) // 50 else None


def _describe(exc: BaseException) -> str:
    """'ExcClass: message' on one short line."""
    message = _one_line(exc)
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return _one_line(text, _MAX_DETAIL_CHARS)

