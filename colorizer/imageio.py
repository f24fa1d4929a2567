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
The decode budget (decompression bombs, files that cost minutes).
    A file is refused for its structure before Pillow decodes a pixel (``colorizer.decode_budget``:
    more than 100 JPEG scans, 1,000 frames or pages, or absurd counts of segments, chunks or TIFF
    values), and for its declared size against ``MAX_PIXELS`` (default 12,000,000, about 4000 x 3000):
    ``width * height`` from the header, so a tiny file claiming 60000 x 60000 is refused at once.
    ``decode_image(..., fit=True)`` (what the app does with visitors' files) shrinks a larger picture to
    fit instead, while decoding where the format allows it (a JPEG is decoded at 1/2, 1/4 or 1/8 of
    its size by libjpeg's DCT scaling, up to 64 x ``MAX_PIXELS``), else right after it (other formats
    up to 4 x ``MAX_PIXELS``, and only while the decoder's raster fits ``16 x MAX_PIXELS`` bytes: a
    7000 x 7000 float TIFF, WebP or 16-bit PNG is refused); a note says so. A decode that runs past
    ``DECODE_SECONDS`` (10 s) stops where it is (the streaming decoders: JPEG, PNG, GIF, BMP; TIFF and
    WebP are bounded by the size alone). ``COLORIZER_MAX_PIXELS`` (a positive integer, read at import;
    invalid values fall back to the default with a warning) is the one operator setting; per call,
    ``max_pixels=``. ``read_image`` (a machine's own files: the CLI, training) allows
    ``LOCAL_MAX_PIXELS`` (50,000,000, or ``MAX_PIXELS`` if larger). Pillow's own guard
    (``PIL.Image.MAX_IMAGE_PIXELS``, ~89 MP; it stands aside for a JPEG decoded at a reduced scale) is
    kept as a second line of defence; this module never changes Pillow's globals (nor
    ``ImageFile.LOAD_TRUNCATED_IMAGES``: truncated files are errors).
EXIF orientation is read by this module from the EXIF block's first directory (the orientation tag
    only), never by Pillow's full EXIF parser, whose cost grows with whatever a file puts there.
Pillow's warnings become notes.
    Warnings Pillow emits while reading the header (damaged EXIF, odd TIFF tags) are added to
    ``notes`` as ``"decoder warning: ..."`` instead of going to stderr.
Threads.
    Safe to call from several threads (Streamlit sessions), and decodes run side by side: warning
    filters are process-global, so only the header part (``Image.open``, the budget, a few
    milliseconds for any file the structure checks let through) runs under a module lock; decoding
    the pixels and the numpy conversion run outside it. Returned arrays are always C-contiguous,
    writeable copies.
"""

from __future__ import annotations

import io
import os
import stat
import struct
import threading
import time
import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from colorizer import decode_budget
from colorizer import imageio_pixels as pixels
from colorizer.imageio_reasons import (MAX_DETAIL_CHARS, MAX_NAME_CHARS, MAX_PIXELS_ENV, damaged_reason, describe,
                                       format_from_signature, one_line, pillow_bomb_reason, unidentified_reason)
from colorizer.settings import number_from_env

__all__ = [
    "MAX_PIXELS",
    "LOCAL_MAX_PIXELS",
    "DECODE_SECONDS",
    "SUPPORTED_EXTENSIONS",
    "DecodedImage",
    "ImageError",
    "DecodeTimeoutError",
    "error_line",
    "decode_image",
    "encode_png",
    "read_image",
    "special_file_reason",
]

# --------------------------------------------------------------------------- #
# Configuration
# --------------------------------------------------------------------------- #

# 12 MP: a phone photo whole; what one colorization at a time holds on a 2.7 GB host (decode_budget).
DEFAULT_MAX_PIXELS = 12_000_000


MAX_PIXELS: int = number_from_env(MAX_PIXELS_ENV, DEFAULT_MAX_PIXELS)  # a typo keeps the default, with a warning
# read_image: a machine's own files (the CLI, training photos), as before the decode budget.
LOCAL_MAX_PIXELS: int = max(MAX_PIXELS, 50_000_000)
# A decode stops after this long (the decoders that read the file as they go).
DECODE_SECONDS = 10.0
# Bytes handed to a streaming decoder at a time: the deadline is checked between them.
_DECODE_CHUNK = 16 * 1024
_BLEND_PIXELS = 1 << 18  # pixels blended onto white at a time (DecodedImage.on_white)

SUPPORTED_EXTENSIONS: tuple[str, ...] = (
    "png", "jpg", "jpeg", "webp", "bmp", "gif", "tif", "tiff",
)

# Pillow plugin ids we let Image.open try.  (Camera JPEGs with a multi-picture
# segment come out of the JPEG plugin with format "MPO".)
_PILLOW_FORMATS = ("PNG", "JPEG", "WEBP", "BMP", "GIF", "TIFF")


# --------------------------------------------------------------------------- #
# Public types
# --------------------------------------------------------------------------- #


class ImageError(ValueError):
    """A file that cannot be used as an image; str(err) == f"{name}: {reason}" (one line)."""

    def __init__(self, name: str, reason: str):
        # Shortened: an upload's name is the sender's to choose (a hand-made request's 100,000 characters made a
        # "one line" of as many: session 44's audit).
        self.name = one_line(name, MAX_NAME_CHARS) or "<unnamed>"
        self.reason = one_line(reason) or "unknown error"
        # args=(name, reason) keeps the exception picklable (multiprocessing,
        # caching layers), which a custom __init__ would otherwise break.
        super().__init__(self.name, self.reason)

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


class DecodeTimeoutError(ImageError):
    """A decode stopped at its time limit (``DECODE_SECONDS``): about the machine's load then as much as the file."""


def error_line(problem: object) -> str:
    """The one line a bad input gets wherever it is reported (CLI, training, evaluation):
    ``error: <file>: <reason>`` for an ``ImageError``, ``error: <message>`` for anything else."""
    return f"error: {problem}"


# eq=False: generated __eq__/__hash__ would compare/hash numpy arrays, which is
# ambiguous (eq) or impossible (hash).  Identity semantics are the honest ones.
@dataclass(frozen=True, eq=False)
class DecodedImage:
    """A decoded image, ready for the colorizer.

    name:      the name used in messages (file name, or what the caller passed)
    rgb:       uint8 H x W x 3, at the displayed size/orientation (EXIF applied)
    alpha:     uint8 H x W, or None when the image has no transparency (``visible``: the pixels it shows)
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

    @property
    def visible(self) -> np.ndarray | None:
        """bool H×W of the pixels the picture shows (alpha > 0), or None when it hides none: what it is measured over
        (a hidden pixel's color is in the file, not in the picture)."""
        return None if self.alpha is None else self.alpha > 0

    @property
    def on_white(self) -> np.ndarray:
        """uint8 RGB of the picture as it looks on white: ``rgb`` where opaque, blended toward white where not. What
        training learns from: hidden pixels often hold black, or whatever an editor left there, and learned from,
        that color would be what a model paints around every object."""
        if self.alpha is None:
            return self.rgb
        out = self.rgb.copy()
        # A strip of rows at a time, all-opaque strips skipped: float32 copies of a whole 12 MP picture held +250 MB
        # (fine-tuning's intake of a transparent upload, session 33's audit); a strip's ~5 MB.
        rows = max(1, _BLEND_PIXELS // max(1, out.shape[1]))
        for top in range(0, out.shape[0], rows):
            alpha = self.alpha[top:top + rows]
            if alpha.min() == 255:
                continue
            weight = alpha[..., None].astype(np.float32) / 255
            out[top:top + rows] = np.rint(out[top:top + rows] * weight + 255 * (1 - weight))
        return out


# --------------------------------------------------------------------------- #
# Public functions
# --------------------------------------------------------------------------- #


def decode_image(data: bytes, name: str, max_pixels: int | None = None, *, fit: bool = False,
                 seconds: float | None = None) -> DecodedImage:
    """Decode image file bytes.  Raises ImageError (one line) for any unusable file.

    ``name`` is only used in messages and copied to ``DecodedImage.name``.
    ``max_pixels`` defaults to the module's ``MAX_PIXELS`` (read at call time); ``fit``: shrink a
    larger picture to fit it (within the decode budget) instead of refusing it; ``seconds``: the time
    limit (default ``DECODE_SECONDS``).
    """
    if isinstance(data, (bytearray, memoryview)):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise TypeError(f"decode_image() needs bytes, got {type(data).__name__}")
    name = one_line(name) or "<unnamed>"
    limit = MAX_PIXELS if max_pixels is None else int(max_pixels)

    if not data:
        raise ImageError(name, "empty file")
    seconds = DECODE_SECONDS if seconds is None else float(seconds)
    try:
        return _decode(data, name, limit, fit, seconds)
    except ImageError:
        raise
    except MemoryError:
        raise ImageError(name, "not enough memory to decode this image") from None
    except Exception as exc:  # last resort: never leak a traceback to the user
        raise ImageError(name, f"could not decode image ({describe(exc)})") from exc


def read_image(path: str | os.PathLike, max_pixels: int | None = None, *, fit: bool = False) -> DecodedImage:
    """Read and decode an image file (``max_pixels`` defaults to ``LOCAL_MAX_PIXELS``); unreadable
    paths raise ImageError too, named by the path as given (a/x.jpg and b/x.jpg are two files: the machine's own
    files, never a visitor's upload, which ``decode_image`` names); ``DecodedImage.name`` is the file's name."""
    fspath = os.fsdecode(os.fspath(path))
    not_a_file = special_file_reason(fspath)
    if not_a_file:
        raise ImageError(fspath, not_a_file)
    try:
        data = Path(fspath).read_bytes()
    except FileNotFoundError:
        raise ImageError(fspath, "file not found") from None
    except IsADirectoryError:
        raise ImageError(fspath, "is a directory, not an image file") from None
    except PermissionError:
        raise ImageError(fspath, "permission denied") from None
    except MemoryError:
        raise ImageError(fspath, "file too large to read into memory") from None
    except OSError as exc:
        reason = exc.strerror or describe(exc)
        raise ImageError(fspath, f"cannot read file ({reason})") from None
    decoded = decode_image(data, fspath, max_pixels=LOCAL_MAX_PIXELS if max_pixels is None else max_pixels, fit=fit)
    return replace(decoded, name=Path(fspath).name or decoded.name)


def special_file_reason(path: str) -> str | None:
    """Why ``path`` is no file to read whole (a pipe would block a batch for good, a device like /dev/zero fill the
    memory), or None for a regular file, a directory or a path that cannot be looked at (the read then says why)."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return "not a regular file (a pipe, a device or a socket)"


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


# Serialises the warnings-filter juggling below: warnings.catch_warnings swaps process-global state,
# so two threads inside it at once could leave its filters installed for good. Only the header part
# runs under it (milliseconds: the structure checks bound it); pixels are decoded outside.
_WARNINGS_LOCK = threading.Lock()


class _DecodeTimeout(Exception):
    """Raised from a decoder's read once the deadline has passed."""


class _DeadlineReader(io.BytesIO):
    """The file as Pillow reads it, checking the deadline on every read: the streaming decoders read
    it chunk by chunk (``_DECODE_CHUNK`` bytes) between their passes."""

    def __init__(self, data: bytes, deadline: float):
        super().__init__(data)
        self.deadline = deadline

    def read(self, size: int | None = -1) -> bytes:
        if time.monotonic() > self.deadline:
            raise _DecodeTimeout()
        return super().read(size)


def _decode(data: bytes, name: str, max_pixels: int, fit: bool, seconds: float) -> DecodedImage:
    notes: list[str] = []
    deadline = time.monotonic() + seconds
    try:
        structure = decode_budget.inspect(data)
        if structure is not None:  # refused from our own reading of the header, before Pillow's
            decode_budget.plan(structure, (structure.width, structure.height), "L", max_pixels, fit)
    except (decode_budget.StructureError, decode_budget.BudgetError) as exc:
        raise ImageError(name, str(exc)) from None
    # A JPEG decoded at a reduced scale never holds its full size: Pillow's guard may stand aside.
    reduced_jpeg = structure is not None and structure.format == "JPEG" and structure.pixels > max_pixels
    with _WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        # Pillow warns (>~89 MP) before it errors (>~179 MP); make the warning an error so a would-be
        # bomb never gets decoded.  Pillow's other warnings (damaged EXIF, odd TIFF tags...) are
        # recorded and become notes instead of stderr noise.
        warnings.filterwarnings("always", module=r"PIL(\.|$)")
        warnings.simplefilter("ignore" if reduced_jpeg else "error", Image.DecompressionBombWarning)
        try:
            im = _open(_DeadlineReader(data, deadline), data, name)
            plan = decode_budget.plan(structure, im.size, im.mode, max_pixels, fit)
            notes += _frames_note(im, structure)
            sixteen_bit = _declares_16_bit(im)
            orientation, orientation_notes = pixels.orientation(im)
            original = im.size
            if plan.jpeg_scale > 1:
                im.draft(im.mode, (max(1, im.size[0] // plan.jpeg_scale), max(1, im.size[1] // plan.jpeg_scale)))
        except ImageError:
            raise
        except decode_budget.BudgetError as exc:
            raise ImageError(name, str(exc)) from None
        except _DecodeTimeout:
            raise DecodeTimeoutError(name, _timeout_reason(seconds)) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageError(name, pillow_bomb_reason(exc, data, max_pixels, reduced_jpeg)) from None
        except (OSError, SyntaxError, EOFError, ValueError, IndexError, struct.error) as exc:
            fmt = format_from_signature(data)
            raise ImageError(name, damaged_reason(fmt, exc)) from None
    notes += _warnings_to_notes(caught)
    try:
        im.decodermaxblock = _DECODE_CHUNK
        im.load()  # Image.open is lazy: force decoding so errors surface here
    except _DecodeTimeout:
        raise DecodeTimeoutError(name, _timeout_reason(seconds)) from None
    except (OSError, SyntaxError, EOFError, ValueError, IndexError, struct.error) as exc:
        # OSError("image file is truncated"), SyntaxError("broken PNG file"), ...
        fmt = format_from_signature(data)
        raise ImageError(name, damaged_reason(fmt, exc)) from None
    im, fit_notes = _shrunk(im, plan, original, max_pixels)
    notes += fit_notes
    im = pixels.transposed(im, orientation)
    notes += orientation_notes + (["EXIF orientation applied"] if orientation != 1 else [])
    try:
        rgb, gray, alpha, was_color, mode_notes = pixels.to_arrays(im, sixteen_bit)
    except pixels.ModeError as exc:
        raise ImageError(name, str(exc)) from None
    notes += mode_notes
    if alpha is not None:
        notes.append("transparency kept as alpha channel")
    return DecodedImage(name=name, rgb=rgb, alpha=alpha, was_color=was_color, notes=tuple(notes), gray=gray)


def _timeout_reason(seconds: float) -> str:
    return (f"took too long to decode (stopped at the limit of {seconds:g} s); "
            "re-save it as an ordinary PNG or JPEG")


def _shrunk(im: Image.Image, plan: decode_budget.Plan, original: tuple[int, int],
            max_pixels: int) -> tuple[Image.Image, list[str]]:
    """The decoded picture shrunk to ``plan.size`` by area averaging (after a reduced-scale JPEG decode,
    from that scale); palette and 1-bit pictures become RGB(A) or L first, a colour key an alpha (a 16-bit gray
    one's by ``keyed_gray_as_la``: Pillow has no 16-bit gray with alpha)."""
    if plan.size is None or im.size == plan.size:
        return im, []
    key = im.info.get("transparency")
    width, height = original
    notes = [f"shrunk from {width}x{height} to {plan.size[0]}x{plan.size[1]} to fit the limit of "
             f"{max_pixels:,} pixels"]
    if key is not None and im.mode.startswith("I;16"):
        return pixels.keyed_gray_as_la(im, plan.size), notes + ["16-bit image reduced to 8 bits"]
    if im.mode == "1":
        im = im.convert("L")
    elif im.mode in ("P", "PA"):
        im = im.convert("RGBA" if key is not None or im.mode == "PA" else "RGB")
    elif key is not None and im.mode in ("L", "RGB"):
        im = im.convert("LA" if im.mode == "L" else "RGBA")
    im.info.pop("transparency", None)
    shrunk = im.resize(plan.size, Image.Resampling.BOX)
    shrunk.info.pop("transparency", None)
    return shrunk, notes


_PIL_DIR = os.path.dirname(Image.__file__)


def _warnings_to_notes(caught: list[warnings.WarningMessage]) -> list[str]:
    """Pillow's warnings become notes; anyone else's are passed on untouched."""
    notes: list[str] = []
    for w in caught:
        if os.path.dirname(os.path.abspath(w.filename)) == _PIL_DIR:
            note = "decoder warning: " + one_line(w.message, MAX_DETAIL_CHARS)
            if note not in notes:
                notes.append(note)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno, source=w.source)
    return notes


def _open(reader: io.BytesIO, data: bytes, name: str) -> Image.Image:
    """Image.open restricted to the supported formats, with a specific reason on failure."""
    try:
        return Image.open(reader, formats=_available_formats())
    except UnidentifiedImageError:
        raise ImageError(name, unidentified_reason(data, name)) from None


def _available_formats() -> tuple[str, ...]:
    """Our formats that this Pillow build can open (e.g. WebP may be missing)."""
    Image.init()  # registers all plugins; a no-op after the first call
    return tuple(fmt for fmt in _PILLOW_FORMATS if fmt in Image.OPEN)


def _frames_note(im: Image.Image, structure: decode_budget.Structure | None) -> list[str]:
    """Stay on frame 1 of animations / multi-page files and say so (the count comes from
    ``decode_budget``, which walked the file; Pillow's own count walks it again, in Python)."""
    if im.format == "MPO" or structure is None or structure.frames <= 1:
        return []  # MPO: extra "frames" are camera previews/depth maps, not content
    fmt = {"WEBP": "WebP"}.get(im.format or "", im.format or "image")
    kind = "multi-page TIFF: used page" if fmt == "TIFF" else f"animated {fmt}: used frame"
    return [f"{kind} 1 of {structure.frames}"]


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


