"""Why an image file cannot be used, in one line: ``colorizer.imageio``'s reasons.

What a file is from its first bytes (``format_from_signature``; ``unidentified_reason`` for a file no
supported decoder accepted: SVG, HTML, HEIC, PDF, ZIP…, each with advice), why a picture is too large
(``too_large_reason``, ``pillow_bomb_reason``), and any exception as one short line (``describe``).
"""
from __future__ import annotations

import re
import struct

from PIL import Image

from colorizer import decode_budget

__all__ = ["MAX_PIXELS_ENV", "SUPPORTED_HUMAN", "one_line", "describe", "damaged_reason", "format_from_signature", "unidentified_reason",
           "too_large_reason", "pillow_bomb_reason"]

# The operator's one setting (``colorizer.imageio.MAX_PIXELS``), named in the reasons that concern it.
MAX_PIXELS_ENV = "COLORIZER_MAX_PIXELS"
SUPPORTED_HUMAN = "PNG, JPEG, WebP, BMP, GIF, TIFF"
MAX_DETAIL_CHARS = 200
MAX_NAME_CHARS = 200   # a file's name in a message (an upload's name is its sender's to choose)


def one_line(text: object, limit: int | None = None) -> str:
    """Collapse all whitespace (incl. newlines) so messages stay on one line."""
    line = " ".join(str(text).split())
    if limit is not None and len(line) > limit:
        line = line[: limit - 3].rstrip() + "..."
    return line



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


def format_from_signature(data: bytes) -> str:
    """Best guess at the (supported) format name from the signature, for messages."""
    for magic, fmt in _OUR_SIGNATURES:
        if data.startswith(magic):
            return fmt
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return "image"


def unidentified_reason(data: bytes, name: str) -> str:
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
        return "not an image (looks like a video; clips go on the Video page, or to python -m colorizer video)"
    if data[:2] == b"\x1f\x8b" and name.lower().endswith(".svgz"):
        return _SVG_REASON
    fmt = format_from_signature(data)
    if fmt != "image":
        return f"the {fmt} file is damaged or incomplete; save or download it again (its header could not be read)"
    for magic, reason in _OTHER_SIGNATURES:
        if data.startswith(magic):
            return reason
    return f"unknown or unsupported image format (supported: {SUPPORTED_HUMAN})"


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


# Pillow's refusals of a PNG's metadata beyond its limits (a color profile or text chunks that inflate past
# ``PngImagePlugin.MAX_TEXT_CHUNK``, or too many of them): the picture itself may be fine.
_METADATA_TOO_LARGE = ("Decompressed data too large", "Too much memory used in text chunks")


def damaged_reason(fmt: str, exc: BaseException) -> str:
    """A file of a known format that did not decode: said so a class can act on it, the decoder's words last (a
    teacher read "corrupt or truncated JPEG file (OSError: Truncated File Read)" as jargon: session 39). A valid PNG
    whose metadata is over Pillow's limits is not damaged, and downloading it again would not help (session 44)."""
    if isinstance(exc, ValueError) and any(words in str(exc) for words in _METADATA_TOO_LARGE):
        return (f"its metadata (a color profile or text) is too large to read; save the {fmt} again without it "
                f"({describe(exc)})")
    return f"the {fmt} file is damaged or incomplete; save or download it again ({describe(exc)})"


def describe(exc: BaseException) -> str:
    """'ExcClass: message' on one short line."""
    message = one_line(exc)
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return one_line(text, MAX_DETAIL_CHARS)


def too_large_reason(pixels: int, max_pixels: int, size: str | None = None) -> str:
    return decode_budget.too_large(pixels, max_pixels, size or "image")


_BOMB_PIXELS = re.compile(r"\((\d+) pixels\)")


def pillow_bomb_reason(exc: Exception, data: bytes, max_pixels: int, reduced_jpeg: bool = False) -> str:
    """Reason for Pillow's own decompression-bomb guard firing (it fires in Image.open,
    so we have no image object; the pixel count comes from Pillow's message). ``reduced_jpeg``: a JPEG the caller
    would shrink while decoding, whose limit is then Pillow's own (a 192 MP one was told "the limit is 12,000,000
    pixels" where the page shrinks JPEGs of up to 179 MP: session 38's hostile-input audit)."""
    match = _BOMB_PIXELS.search(str(exc))
    pixels = int(match.group(1)) if match else None
    if reduced_jpeg and pixels is not None:
        return (f"image too large ({pixels:,} pixels; a JPEG is shrunk while it is decoded, up to "
                f"{2 * Image.MAX_IMAGE_PIXELS:,} pixels, the most Pillow opens)")
    if pixels is None or pixels > max_pixels:
        # The usual case: our limit would refuse it as well; say it our way.
        if pixels is None:
            return (
                f"image too large (over the limit of {max_pixels:,} pixels); "
                f"to allow larger images set the environment variable {MAX_PIXELS_ENV}"
            )
        return too_large_reason(pixels, max_pixels, _header_size(data, pixels))
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
