"""What a file may cost to decode, read from its bytes before any pixel is: the decode budget.

A file a visitor uploads is untrusted: a few kilobytes can ask a decoder for gigabytes (a 7000×7000
float TIFF of zeros, a 16-bit PNG, a WebP) or for minutes (a progressive JPEG whose thousands of scans
each sweep the whole picture). ``colorizer.imageio`` asks this module first:

- ``inspect(data)`` → ``Structure`` (format, declared size, frames, JPEG scans and components), read by
  walking the file's own blocks (JPEG segments, PNG chunks, GIF blocks, RIFF chunks, TIFF directories)
  without decoding anything. It raises ``StructureError`` (one line) for a file whose structure alone
  is pathological: more than ``MAX_JPEG_SCANS`` scans, more than ``MAX_FRAMES`` frames or pages, more
  than ``MAX_BLOCKS`` segments, chunks or GIF data blocks (``MAX_HEADER_BLOCKS`` before the pixels), a
  TIFF tag of more than ``MAX_TIFF_VALUES`` numbers. Each walk stops as soon as a limit is passed, so refusing costs milliseconds. Formats it
  does not know return None (Pillow then refuses them, or they are not images).
- ``plan(structure, mode, max_pixels, fit)`` → ``Plan``: at which JPEG scale to decode (libjpeg's DCT
  scaling, Pillow's ``draft``: 1/2, 1/4, 1/8) and the size to shrink to, or ``BudgetError``.

The budget (``max_pixels``, ``colorizer.imageio.MAX_PIXELS``, ``$COLORIZER_MAX_PIXELS``, 12 MP by default):
- a picture keeps at most ``max_pixels`` pixels; with ``fit`` a larger one is shrunk to fit (area
  averaging), else refused;
- a decode may hold about ``BYTES_PER_BUDGET_PIXEL`` × ``max_pixels`` bytes (192 MB by default) until the
  picture is shrunk, counted per decoded pixel (``decode_bytes_per_pixel``, measured: 2 bytes for 8-bit
  gray, 4 for 16-bit gray, 8 for color, float and palette pictures, 16 for WebP, whose decoder holds
  three copies) plus, for a progressive or multi-scan JPEG, libjpeg's buffer of every DCT coefficient
  (2 bytes a sample, whatever the scale);
- no side may pass ``MAX_SIDE`` (65,535 px, a JPEG's most), and a tiled TIFF's one tile (libtiff decodes a whole
  tile at once) counts in full beside the pixels: a picture's pixel count alone hid those costs;
- a JPEG is decoded at the smallest of 1/2, 1/4, 1/8 of its size that keeps half the budget's pixels
  (libjpeg's DCT scaling: it never holds the full size), up to 64 × ``max_pixels`` (Pillow's own guard
  stops at about 179 MP); other formats are decoded whole, up to 4 × ``max_pixels`` and the memory above:
  a 7000×7000 float TIFF or WebP is refused, a 7000×7000 16-bit gray PNG decoded and shrunk.
Measured (``ru_maxrss`` of a fresh process, files made by ``benchmarks.hostile``): the peak of a
decode that fits stays near 200 MB at the default (a 6900×6900 16-bit PNG 163 MB, a 24 MP colour PNG
205 MB, a 12 MP WebP 209 MB); the worst seen, a 24 MP 16-bit RGBA PNG, 297 MB (the conversion to arrays
after the shrink comes on top of the budget, and the allocator keeps some of what was freed).
Why these numbers: the colorization of a picture at the budget holds about 27 bytes a pixel (the
flagship's guided join, ``tests/test_robustness.py``), 324 MB at 12 MP, beside a server of about 1.3 GB;
with one decode and one colorization at a time the app stays under 2.5 GB on a 2.7 GB host.
"""
from __future__ import annotations

import math
import re
import struct
from dataclasses import dataclass

__all__ = ["Structure", "Plan", "StructureError", "BudgetError", "inspect", "plan", "MAX_JPEG_SCANS", "MAX_FRAMES",
           "MAX_BLOCKS", "MAX_HEADER_BLOCKS", "MAX_TIFF_VALUES", "BYTES_PER_BUDGET_PIXEL", "MAX_SIDE", "JPEG_SCALES",
           "decode_bytes_per_pixel", "jpeg_scale", "too_large", "markers_over"]

# libjpeg's own default progression has 10 scans (6 for gray); encoders that optimize it stay near 20.
MAX_JPEG_SCANS = 100
# Only the first frame is used; counting past this many costs time for nothing.
MAX_FRAMES = 1000
# JPEG segments, PNG chunks, RIFF chunks or GIF data blocks in a file, and before its pixels: Pillow
# reads these one by one in Python (a legitimate photo has tens; a 25 MB GIF of full blocks, 100,000).
MAX_BLOCKS = 100_000
MAX_HEADER_BLOCKS = 10_000
# Numbers in one TIFF tag (Pillow turns each into a Python object when it reads the directory).
MAX_TIFF_VALUES = 1 << 18
BYTES_PER_BUDGET_PIXEL = 16
# The longest side a picture may have, whatever its pixels: Pillow keeps a pointer per row and its shrink a
# few weights per row and column, so a 93 kB PNG of 1×48,000,000 pixels cost 1 GB and 4 s before this.
MAX_SIDE = 65_535
JPEG_SCALES = (1, 2, 4, 8)
# Bytes a decoded pixel costs until the picture is shrunk to the budget (measured on 6900×6900 files
# with ru_maxrss): Pillow's raster, its copy into 4-byte RGB(A) for palette and 1-bit pictures, and the
# area resize's intermediate (the new width × the old height) and output. WebP: libwebp's RGBA canvas,
# the bytes Pillow copies it through and its own raster (15 bytes a pixel measured).
_DECODE_BYTES = {"1": 8, "L": 2, "P": 8, "PA": 8, "I;16": 4, "I;16L": 4, "I;16B": 4, "I;16N": 4}
_DECODE_BYTES_OTHER_MODES = 8
_DECODE_BYTES_WEBP = 16

class StructureError(ValueError):
    """A file refused for its structure alone; ``str()`` is the one-line reason."""


class BudgetError(ValueError):
    """A file whose decoding would not fit the budget; ``str()`` is the one-line reason."""


@dataclass(frozen=True)
class Structure:
    """What a file says it is. ``frames``: frames or pages (1 for a still); ``scans``: a JPEG's scans
    before its end; ``components``/``sampling``: a JPEG's color components and its (h, v) sampling
    factors; ``progressive``: libjpeg buffers every coefficient (a progressive or multi-scan JPEG);
    ``tile_bytes``: a tiled TIFF's one tile, as libtiff decodes it (its buffer, whatever the picture's size);
    ``lossless``: a lossless JPEG (no DCT: it cannot be decoded at a smaller scale)."""

    format: str
    width: int
    height: int
    frames: int = 1
    scans: int = 0
    components: int = 0
    sampling: tuple[tuple[int, int], ...] = ()
    progressive: bool = False
    tile_bytes: int = 0
    lossless: bool = False

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def coefficient_bytes(self) -> int:
        """A buffered JPEG's DCT coefficients: 2 bytes per sample of each component (its own sampling)."""
        if not self.sampling:
            return 2 * self.pixels * max(1, self.components)
        hmax = max(h for h, _ in self.sampling)
        vmax = max(v for _, v in self.sampling)
        samples = sum(math.ceil(self.width * h / hmax) * math.ceil(self.height * v / vmax) for h, v in self.sampling)
        return 2 * samples


@dataclass(frozen=True)
class Plan:
    """How to decode: ``jpeg_scale`` (1, 2, 4 or 8: decode at 1/scale with libjpeg's DCT scaling) and
    ``size`` (width, height) to shrink to afterwards (None: keep the decoded size)."""

    jpeg_scale: int = 1
    size: tuple[int, int] | None = None


# ---------------------------------------------------------------------------------------------- inspect


def inspect(data: bytes) -> Structure | None:
    """The structure of a PNG, JPEG, GIF, WebP, TIFF or BMP file (None for anything else, and for a file
    too damaged to walk: Pillow then says why); ``StructureError`` for a pathological one."""
    try:
        if data.startswith(b"\xff\xd8\xff"):
            return _jpeg(data)
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            return _png(data)
        if data[:6] in (b"GIF87a", b"GIF89a"):
            return _gif(data)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            return _webp(data)
        if data[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):
            return _tiff(data)
        if data[:2] == b"BM":
            return _bmp(data)
    except (struct.error, IndexError, OverflowError):
        # Cut short, or an offset past any size a buffer can have (a BigTIFF pointing 2^63 bytes on): Pillow
        # then says what is wrong with the file.
        return None
    return None


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_PROGRESSIVE_SOF = {0xC2, 0xC6, 0xCA, 0xCE}
_LOSSLESS_SOF = {0xC3, 0xC7, 0xCB, 0xCF}  # no DCT, so no decoding at 1/2, 1/4, 1/8: decoded whole like a PNG
# A marker in a JPEG's entropy-coded data: 0xFF then anything but 0x00 (a stuffed byte), RST0–7
# (0xD0–0xD7) or 0xFF (fill). In C, so a file of 0xFF 0x00 pairs costs no Python loop.
_MARKER = re.compile(rb"\xff[\xc0-\xcf\xd8-\xfe]")


def markers_over(data: bytes, limit: int = MAX_BLOCKS) -> bool:
    """Whether ``data`` holds more than ``limit`` JPEG markers (segments, scans) anywhere, whatever precedes or follows
    its pictures: what a video frame's JPEG bytes are held to beyond ``inspect``, which reads one picture from its
    start. Stops counting at ``limit``: milliseconds."""
    for count, _ in enumerate(_MARKER.finditer(data), 1):
        if count > limit:
            return True
    return False


def _jpeg(data: bytes) -> Structure | None:
    """Walk the segments up to the first scan, then from marker to marker to the end of the picture."""
    pos, segments, frame = 2, 0, None
    n = len(data)
    while True:  # header segments
        match = _MARKER.search(data, pos)
        if match is None:
            return None
        marker, pos = data[match.start() + 1], match.end()
        if marker == 0xD9:
            return None
        segments += 1
        if segments > MAX_HEADER_BLOCKS:
            raise StructureError(f"JPEG with more than {MAX_HEADER_BLOCKS:,} segments before its picture")
        length = struct.unpack_from(">H", data, pos)[0]
        if marker in _SOF:
            _, height, width, count = struct.unpack_from(">BHHB", data, pos + 2)
            sampling = tuple((data[pos + 8 + 3 * i + 1] >> 4, data[pos + 8 + 3 * i + 1] & 15) for i in range(count))
            frame = (width, height, count, sampling, marker in _PROGRESSIVE_SOF, marker in _LOSSLESS_SOF)
        pos += length
        if marker == 0xDA:
            break
    if frame is None:
        return None
    scans = 1
    while pos < n:  # entropy-coded data and the segments between scans
        match = _MARKER.search(data, pos)
        if match is None:
            break
        marker, pos = data[match.start() + 1], match.end()
        if marker == 0xD9:
            break
        segments += 1
        if marker == 0xDA:
            scans += 1
            if scans > MAX_JPEG_SCANS:
                raise StructureError(f"JPEG with more than {MAX_JPEG_SCANS} scans (each one costs the decoder "
                                     "a pass over the whole picture); re-save it as an ordinary JPEG")
        if segments > MAX_BLOCKS:
            raise StructureError(f"JPEG with more than {MAX_BLOCKS:,} segments")
        if pos + 2 > n:
            break
        pos += struct.unpack_from(">H", data, pos)[0]
    width, height, count, sampling, progressive, lossless = frame
    return Structure("JPEG", width, height, scans=scans, components=count, sampling=sampling,
                     progressive=progressive or scans > 1, lossless=lossless)


def _png(data: bytes) -> Structure | None:
    pos, chunks, frames, size, pixels_seen = 8, 0, 1, None, False
    n = len(data)
    while pos + 8 <= n:
        length, kind = struct.unpack_from(">I4s", data, pos)
        chunks += 1
        pixels_seen |= kind in (b"IDAT", b"fdAT")
        if chunks > (MAX_BLOCKS if pixels_seen else MAX_HEADER_BLOCKS):
            raise StructureError(f"PNG with more than {chunks - 1:,} chunks" + ("" if pixels_seen else " before its pixels"))
        if kind == b"IHDR":
            size = struct.unpack_from(">II", data, pos + 8)
        elif kind == b"acTL":
            frames = max(1, struct.unpack_from(">I", data, pos + 8)[0])
            if frames > MAX_FRAMES:
                raise StructureError(f"animated PNG claiming {frames:,} frames (the limit is {MAX_FRAMES:,}); "
                                     "only the first would be used: export it as a still PNG")
        elif kind == b"IEND":
            break
        pos += 12 + length
    if size is None:
        return None
    return Structure("PNG", size[0], size[1], frames=frames)


def _gif(data: bytes) -> Structure:
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    frames, blocks, n = 0, 0, len(data)
    while pos < n:
        kind = data[pos]
        if kind == 0x3B:  # trailer
            break
        if kind == 0x2C:  # image descriptor: a frame
            frames += 1
            if frames > MAX_FRAMES:
                raise StructureError(f"animated GIF with more than {MAX_FRAMES:,} frames; only the first would be "
                                     "used: export it as a still image")
            local = data[pos + 9]
            pos += 10 + (3 << ((local & 7) + 1) if local & 0x80 else 0) + 1  # + LZW minimum code size
        elif kind == 0x21:  # extension: label, then data blocks
            pos += 2
        else:
            break  # garbage after the last frame: Pillow stops there too
        while pos < n:  # data blocks, each a length byte and that many bytes, up to a zero length
            size = data[pos]
            pos += 1 + size
            blocks += 1
            if blocks > (MAX_BLOCKS if frames else MAX_HEADER_BLOCKS):
                raise StructureError(f"GIF with more than {blocks - 1:,} data blocks" + ("" if frames else " before its first frame"))
            if size == 0:
                break
    return Structure("GIF", width, height, frames=max(1, frames))


def _webp(data: bytes) -> Structure | None:
    pos, chunks, frames, size, n = 12, 0, 0, None, len(data)
    while pos + 8 <= n:
        kind, length = struct.unpack_from("<4sI", data, pos)
        body = pos + 8
        chunks += 1
        if chunks > MAX_BLOCKS:
            raise StructureError(f"WebP with more than {MAX_BLOCKS:,} chunks")
        if kind == b"VP8X":
            w, h = int.from_bytes(data[body + 4:body + 7], "little") + 1, int.from_bytes(data[body + 7:body + 10], "little") + 1
            size = (w, h)
        elif kind == b"ANMF":
            frames += 1
            if frames > MAX_FRAMES:
                raise StructureError(f"animated WebP with more than {MAX_FRAMES:,} frames; only the first would be "
                                     "used: export it as a still image")
        elif kind == b"VP8 " and size is None:
            w, h = struct.unpack_from("<HH", data, body + 6)
            size = (w & 0x3FFF, h & 0x3FFF)
        elif kind == b"VP8L" and size is None:
            bits = int.from_bytes(data[body + 1:body + 5], "little")
            size = ((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
        pos = body + length + (length & 1)
    if size is None:
        return None
    return Structure("WEBP", size[0], size[1], frames=max(1, frames))


# TIFF field types → bytes per value; the numeric ones become Python objects one by one in Pillow.
_TIFF_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 13: 4, 16: 8, 17: 8, 18: 8}
_TIFF_BYTE_TYPES = {1, 2, 6, 7}
# ImageWidth, ImageLength, BitsPerSample, SamplesPerPixel, TileWidth, TileLength.
_TIFF_SIZE_TAGS = (256, 257, 258, 277, 322, 323)
# Every integer type → (struct code, bytes), read unsigned: libtiff takes a size of any of them (a signed one too,
# so a tile's size given as SLONG is as large as its bits say).
_TIFF_INTEGERS = {1: ("B", 1), 6: ("B", 1), 3: ("H", 2), 8: ("H", 2), 4: ("I", 4), 9: ("I", 4), 16: ("Q", 8), 17: ("Q", 8)}


def _tiff(data: bytes) -> Structure | None:
    order = "<" if data[:2] == b"II" else ">"
    big = data[2:4] in (b"+\x00", b"\x00+")
    count_fmt, entry_size, offset_fmt = ("Q", 20, "Q") if big else ("H", 12, "I")
    offset = struct.unpack_from(order + offset_fmt, data, 8 if big else 4)[0]
    tags: dict[int, int] = {}
    pages, seen = 0, set()
    while offset and offset not in seen:
        seen.add(offset)
        pages += 1
        if pages > MAX_FRAMES:
            raise StructureError(f"TIFF with more than {MAX_FRAMES:,} pages; only the first would be used")
        if pages > 1 and offset + (8 if big else 2) > len(data):
            break  # a later directory past the file's end: Pillow never reads it, the first one's tags stand
        entries = struct.unpack_from(order + count_fmt, data, offset)[0]
        start = offset + (8 if big else 2)
        if pages == 1:
            if entries > MAX_HEADER_BLOCKS:
                raise StructureError(f"TIFF directory of {entries:,} tags")
            for i in range(entries):
                at = start + i * entry_size
                tag, kind = struct.unpack_from(order + "HH", data, at)
                count = struct.unpack_from(order + offset_fmt, data, at + 4)[0]
                if kind in _TIFF_SIZES and kind not in _TIFF_BYTE_TYPES and count > MAX_TIFF_VALUES:
                    raise StructureError(f"TIFF tag {tag} holds {count:,} numbers (the limit is {MAX_TIFF_VALUES:,})")
                if tag in _TIFF_SIZE_TAGS and kind in _TIFF_INTEGERS and count >= 1:
                    first = _tiff_first_value(data, order, kind, count, at + (12 if big else 8), big)
                    if first is not None:  # a tag given twice: its larger value (libtiff may read either)
                        tags[tag] = max(first, tags.get(tag, 0))
        next_at = start + entries * entry_size
        if next_at + (8 if big else 4) > len(data):
            break  # no room for the next directory's offset: the first directory's tags stand
        offset = struct.unpack_from(order + offset_fmt, data, next_at)[0]
    width, height = tags.get(256), tags.get(257)
    if width is None or height is None:
        return None
    tile_bytes = 0
    if 322 in tags and 323 in tags:  # libtiff decodes a whole tile at once, however small the picture it belongs to
        bits = max(1, tags.get(258, 8))
        tile_bytes = math.ceil(tags[322] * bits / 8) * tags[323] * max(1, tags.get(277, 1))
    return Structure("TIFF", width, height, frames=pages, tile_bytes=tile_bytes)


def _tiff_first_value(data: bytes, order: str, kind: int, count: int, field: int, big: bool) -> int | None:
    """A TIFF tag's first number: in the entry's value field when all of them fit there, else at its offset."""
    code, size = _TIFF_INTEGERS[kind]
    if count * size > (8 if big else 4):
        field = struct.unpack_from(order + ("Q" if big else "I"), data, field)[0]
    if field + size > len(data):
        return None
    return struct.unpack_from(order + code, data, field)[0]


def _bmp(data: bytes) -> Structure | None:
    header = struct.unpack_from("<I", data, 14)[0]
    if header == 12:
        width, height = struct.unpack_from("<HH", data, 18)
    elif header >= 40:
        width, height = struct.unpack_from("<ii", data, 18)
    else:
        return None
    return Structure("BMP", abs(width), abs(height))


# ---------------------------------------------------------------------------------------------- plan


def decode_bytes_per_pixel(mode: str, fmt: str | None = None) -> int:
    """Bytes each decoded pixel of Pillow mode ``mode`` costs until the picture is shrunk (see above)."""
    return _DECODE_BYTES_WEBP if fmt == "WEBP" else _DECODE_BYTES.get(mode, _DECODE_BYTES_OTHER_MODES)


def _fitted(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The largest size of the same aspect within ``max_pixels`` (each side at least 1)."""
    scale = math.sqrt(max_pixels / (width * height))
    w, h = max(1, math.floor(width * scale)), max(1, math.floor(height * scale))
    if min(w, h) == 1 and w * h > max_pixels:  # a one-pixel-thin picture: the loop below would take a step per pixel
        w, h = (min(w, max_pixels), 1) if w >= h else (1, min(h, max_pixels))
    while w * h > max_pixels:
        w, h = (w - 1, h) if w >= h else (w, h - 1)
    return w, h


# How the operator (the CLI's user) lets larger pictures in; the app's pages say something a visitor can do instead.
OPERATOR_ADVICE = "to allow larger images set the environment variable COLORIZER_MAX_PIXELS"


def too_large(pixels: int, max_pixels: int, size: str) -> str:
    counted = f"{pixels:,} pixels" if size == "image" else f"{size} = {pixels:,} pixels"  # no "image = 3,600,120,001"
    return f"image too large ({counted}; the limit is {max_pixels:,} pixels); {OPERATOR_ADVICE}"


def _over_budget(size: str, need: int, memory: int, what: str) -> str:
    # As many decimals as it takes to tell the two apart: "needs about 183 MB, the budget is 183 MB" (session 38).
    digits = next((d for d in (0, 1, 2) if round(need / 2**20, d) != round(memory / 2**20, d)), 2)
    return (f"image too large to decode within the budget ({size}: {what} needs about {need / 2**20:,.{digits}f} MB, "
            f"the budget is {memory / 2**20:,.{digits}f} MB); {OPERATOR_ADVICE}")


def jpeg_scale(width: int, height: int, max_pixels: int) -> int:
    """The largest DCT scale (1, 2, 4, 8) at which a JPEG still decodes at least half the budget's pixels."""
    fits = [s for s in JPEG_SCALES if math.ceil(width / s) * math.ceil(height / s) * 2 >= max_pixels]
    return max(fits, default=1)


def plan(structure: Structure | None, size: tuple[int, int], mode: str, max_pixels: int, fit: bool) -> Plan:
    """How to decode a picture of ``size`` (as Pillow opened it, in Pillow ``mode``) within the budget
    of ``max_pixels`` (see the module docstring) → ``Plan``; ``BudgetError`` when it cannot be."""
    width, height = size
    pixels = width * height
    label = f"{width}x{height}"
    fmt = structure.format if structure is not None else None
    memory = BYTES_PER_BUDGET_PIXEL * max_pixels
    if max(width, height) > MAX_SIDE:
        raise BudgetError(f"image too long ({label}: no side may pass {MAX_SIDE:,} pixels)")
    coefficients = structure.coefficient_bytes() if fmt == "JPEG" and structure.progressive else 0
    tile = structure.tile_bytes if structure is not None else 0
    if tile and tile + min(pixels, max_pixels) * decode_bytes_per_pixel(mode, fmt) > memory:
        raise BudgetError(_over_budget(label, tile, memory, "one of its TIFF tiles"))
    if pixels <= max_pixels:
        if coefficients > memory:  # a picture within the budget otherwise always fits it (16 bytes a pixel)
            raise BudgetError(_over_budget(label, coefficients, memory, "a progressive JPEG's coefficient buffer"))
        return Plan()
    if not fit:
        raise BudgetError(too_large(pixels, max_pixels, label))
    scalable = fmt == "JPEG" and not structure.lossless
    scale = jpeg_scale(width, height, max_pixels) if scalable else 1
    decoded = math.ceil(width / scale) * math.ceil(height / scale)
    need = coefficients + tile + decoded * decode_bytes_per_pixel(mode, fmt)
    ceiling = 4 * max_pixels * (16 if scalable else 1)
    if pixels > ceiling:
        raise BudgetError(f"image too large ({label} = {pixels:,} pixels; pictures over {max_pixels:,} pixels are shrunk "
                          f"while they decode, up to {ceiling:,}{' for a JPEG' if scalable else ''}); {OPERATOR_ADVICE}")
    if need > memory:
        what = ("its coefficient buffer and " if coefficients else "") + (
            f"decoding at 1/{scale} scale" if scale > 1 else "decoding it whole before shrinking")
        raise BudgetError(_over_budget(label, need, memory, what))
    target = _fitted(width, height, max_pixels)
    return Plan(scale, target if decoded > max_pixels else None)
