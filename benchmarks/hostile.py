"""Hostile files, made on demand: small on disk, expensive for a careless decoder. For the abuse tests
(``tests/test_abuse.py``, ``tests/test_browser.py``) and the server benchmark's two-visitor case
(``benchmarks.server``); nothing here is stored in the repository.

The four files of issue 25, each a few kilobytes to 1 MB, built in well under a second:
- ``progressive_jpeg(scans=20_000)``: a gray 4096×4096 progressive JPEG whose AC scans are repeated
  ``scans`` times; each scan is 40 bytes (runs of empty blocks) yet costs the decoder a sweep over all
  262,144 blocks: 20,000 of them took a minute of one core before the decode budget;
- ``float_tiff(7000)``: a 7000×7000 32-bit float TIFF, deflate-compressed strips of zeros (every strip
  points at the same bytes);
- ``webp(7000)``: a 7000×7000 lossless WebP of one color (38 bytes);
- ``png16(7000)``: a 7000×7000 16-bit gray PNG of zeros.
``bombs()`` → {file name: bytes} of all four.

Structural extremes for the other checks: ``gif_frames(n)`` (an animated GIF of ``n`` 1×1 frames),
``tiff_pages(n)`` (a multi-page TIFF), ``png_chunks(n)`` (a 1×1 PNG with ``n`` ancillary chunks before
its pixels), ``jpeg_segments(n)`` (a JPEG with ``n`` empty APP segments), ``tiff_tag(count)`` (a TIFF
whose strip-offset tag claims ``count`` entries), ``tiff_tile(tile)`` (a 16×16 TIFF in one ``tile``×``tile`` tile),
``thin_png(width, height)`` (a one-pixel-thin PNG), ``lossless_jpeg(width, height)`` (valid, rare), ``deep_json(depth)`` and ``hints_json(n)``; for the Video page,
``png_in_mov(path, side)`` (a clip whose header says 64×64 holding one ``side``×``side`` 16-bit RGBA PNG),
``mp4_claiming(path, samples)`` (tables claiming ``samples`` frames) and ``clip_of_streams(path, sounds)``.
"""
from __future__ import annotations

import io
import json
import struct
import zlib

import numpy as np

__all__ = ["progressive_jpeg", "float_tiff", "webp", "png16", "bombs", "gif_frames", "tiff_pages", "tiff_tile", "thin_png", "lossless_jpeg", "png_chunks",
           "jpeg_segments", "tiff_tag", "deep_json", "hints_json", "gray_png", "png_in_mov", "mp4_claiming",
           "clip_of_streams"]


# ---------------------------------------------------------------------------------------------- JPEG


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


def _bits_to_bytes(bits: str) -> bytes:
    """A bit string → entropy-coded bytes: padded with 1s, every 0xFF followed by a stuffed 0x00."""
    bits += "1" * (-len(bits) % 8)
    out = bytearray()
    for i in range(0, len(bits), 8):
        byte = int(bits[i:i + 8], 2)
        out.append(byte)
        if byte == 0xFF:
            out.append(0)
    return bytes(out)


def progressive_jpeg(scans: int = 20_000, side: int = 4096) -> bytes:
    """A gray ``side``×``side`` progressive JPEG: one DC scan, then ``scans`` AC scans of empty blocks.

    Every block is flat (DC difference 0, no AC coefficient): the DC scan spends one bit a block, each
    AC scan a few runs of 16,384 empty blocks (end-of-band runs, symbol 0xE0). ``side`` must be a
    multiple of 1024 (whole runs)."""
    if side % 1024:
        raise ValueError("side must be a multiple of 1024")
    blocks = (side // 8) ** 2
    parts = [b"\xff\xd8", _segment(0xDB, b"\x00" + bytes([1] * 64))]
    parts.append(_segment(0xC2, struct.pack(">BHHB", 8, side, side, 1) + b"\x01\x11\x00"))  # SOF2, 1 component
    # One DC code ("0" → category 0) and one AC code ("0" → EOB run of 2**14 blocks).
    parts.append(_segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00"))
    parts.append(_segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + b"\xe0"))
    parts.append(_segment(0xDA, b"\x01\x01\x00\x00\x00\x00") + _bits_to_bytes("0" * blocks))
    ac_scan = _segment(0xDA, b"\x01\x01\x00\x01\x3f\x00") + _bits_to_bytes(("0" + "0" * 14) * (blocks // 16384))
    parts.append(ac_scan * scans)
    parts.append(b"\xff\xd9")
    return b"".join(parts)


def jpeg_segments(n: int) -> bytes:
    """A valid 8×8 gray baseline JPEG preceded by ``n`` empty APP15 segments (4 bytes each)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (8, 8), 90).save(buffer, format="JPEG")
    data = buffer.getvalue()
    return data[:2] + b"\xff\xef\x00\x02" * n + data[2:]


# ---------------------------------------------------------------------------------------------- TIFF


def _tiff(entries: list[tuple[int, int, int, bytes]], tail: bytes, tail_offset: int) -> bytes:
    """A little-endian TIFF: header, one IFD of (tag, type, count, value-or-offset bytes), then ``tail``."""
    ifd = struct.pack("<H", len(entries))
    for tag, kind, count, value in sorted(entries):
        ifd += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")
    ifd += struct.pack("<I", 0)
    head = b"II*\x00" + struct.pack("<I", 8) + ifd
    return head + b"\x00" * (tail_offset - len(head)) + tail


def float_tiff(side: int = 7000, rows_per_strip: int = 64) -> bytes:
    """A ``side``×``side`` 32-bit float gray TIFF of zeros, deflate-compressed; all strips share one
    compressed block, so the file is a few kilobytes."""
    strips = -(-side // rows_per_strip)
    strip = zlib.compress(b"\x00" * (side * 4 * rows_per_strip), 9)
    offsets_at = 8 + 2 + 12 * 11 + 4 + 64
    data_at = offsets_at + 8 * strips
    short, long_ = 3, 4
    entries = [
        (256, long_, 1, struct.pack("<I", side)), (257, long_, 1, struct.pack("<I", side)),
        (258, short, 1, struct.pack("<H", 32)), (259, short, 1, struct.pack("<H", 8)),
        (262, short, 1, struct.pack("<H", 1)), (273, long_, strips, struct.pack("<I", offsets_at)),
        (277, short, 1, struct.pack("<H", 1)), (278, long_, 1, struct.pack("<I", rows_per_strip)),
        (279, long_, strips, struct.pack("<I", offsets_at + 4 * strips)), (284, short, 1, struct.pack("<H", 1)),
        (339, short, 1, struct.pack("<H", 3)),
    ]
    tail = struct.pack(f"<{strips}I", *[data_at] * strips) + struct.pack(f"<{strips}I", *[len(strip)] * strips) + strip
    return _tiff(entries, tail, offsets_at)


def tiff_tag(count: int = 4_000_000) -> bytes:
    """A 1×1 gray TIFF whose StripOffsets tag claims ``count`` entries (the file holds them all: 4 bytes each)."""
    offsets_at = 8 + 2 + 12 * 8 + 4 + 16
    short, long_ = 3, 4
    entries = [
        (256, long_, 1, struct.pack("<I", 1)), (257, long_, 1, struct.pack("<I", 1)),
        (258, short, 1, struct.pack("<H", 8)), (259, short, 1, struct.pack("<H", 1)),
        (262, short, 1, struct.pack("<H", 1)), (273, long_, count, struct.pack("<I", offsets_at)),
        (277, short, 1, struct.pack("<H", 1)), (279, long_, 1, struct.pack("<I", 1)),
    ]
    return _tiff(entries, b"\x00" * (4 * count) + b"\x80", offsets_at)


def tiff_tile(tile: int = 46_336, side: int = 16, samples: int = 1, tile_type: int = 4, twice: bool = False,
              next_directory: int = 0) -> bytes:
    """A ``side``×``side`` 8-bit TIFF (gray, or RGB with ``samples`` 3) stored in one deflate tile declared
    ``tile``×``tile``: libtiff decodes a whole tile into a buffer of its size (2 GB at 46,336), whatever the
    picture's; about 1 kB. Ways to hide the tile's size: ``tile_type`` 9 (SLONG) or 8 (SSHORT) for its tags;
    ``twice``: each tag given twice, the true size first and 16 after; ``next_directory``: the offset of a next
    directory (one past the file's end)."""
    payload = zlib.compress(b"\x00" * min(tile * tile * samples, 1 << 20), 9)
    sizes = [(322, tile), (323, tile)] + ([(322, 16), (323, 16)] if twice else [])
    offsets_at = 8 + 2 + 12 * (8 + len(sizes)) + 4 + 16
    short, long_ = 3, 4
    bits = struct.pack("<H", 8) if samples == 1 else struct.pack("<I", offsets_at)  # 3 shorts: out of line
    size_code = {4: "<I", 9: "<i", 8: "<h", 3: "<H"}[tile_type]
    entries = [
        (256, long_, 1, struct.pack("<I", side)), (257, long_, 1, struct.pack("<I", side)),
        (258, short, samples, bits), (259, short, 1, struct.pack("<H", 8)),
        (262, short, 1, struct.pack("<H", 2 if samples == 3 else 1)), (277, short, 1, struct.pack("<H", samples)),
        *[(tag, tile_type, 1, struct.pack(size_code, value)) for tag, value in sizes],
        (324, long_, 1, struct.pack("<I", offsets_at + 16)), (325, long_, 1, struct.pack("<I", len(payload))),
    ]
    data = _tiff(entries, struct.pack("<HHH", 8, 8, 8).ljust(16, b"\x00") + payload, offsets_at)
    if next_directory:
        at = 8 + 2 + 12 * len(entries)
        data = data[:at] + struct.pack("<I", next_directory) + data[at + 4:]
    return data


def tiff_pages(n: int) -> bytes:
    """A TIFF of ``n`` 1×1 gray pages (each page an IFD of its own)."""
    from PIL import Image

    pages = [Image.new("L", (1, 1), i % 256) for i in range(n)]
    buffer = io.BytesIO()
    pages[0].save(buffer, format="TIFF", save_all=True, append_images=pages[1:])
    return buffer.getvalue()


# ---------------------------------------------------------------------------------------------- PNG, GIF, WebP


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def png16(side: int = 7000) -> bytes:
    """A ``side``×``side`` 16-bit gray PNG of zeros (about 100 kB)."""
    row = b"\x00" * (1 + 2 * side)
    compressor = zlib.compressobj(9)
    chunks = [compressor.compress(row * min(256, side - y)) for y in range(0, side, 256)]
    idat = b"".join(chunks) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 16, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def thin_png(width: int = 1, height: int = 48_000_000) -> bytes:
    """A ``width``×``height`` 8-bit gray PNG of zeros (93 kB at 1×48,000,000: within the 4 × 12 MP a PNG may be
    shrunk from, yet Pillow's row pointers and its shrink's per-row weights cost a gigabyte)."""
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + width)
    rows_a_block = max(1, (1 << 22) // len(row))
    idat = b"".join(compressor.compress(row * min(rows_a_block, height - y))
                    for y in range(0, height, rows_a_block)) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def lossless_jpeg(width: int, height: int) -> bytes:
    """A valid gray lossless JPEG (SOF3, which libjpeg-turbo decodes), mid-gray: every sample predicted exactly by one
    1-bit Huffman code, so ``width``×``height`` costs ``width``·``height``/8 bytes. No DCT: no decoding at 1/2..1/8."""
    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload

    frame = segment(0xC3, struct.pack(">BHHB", 8, height, width, 1) + bytes([1, 0x11, 0]))
    table = segment(0xC4, bytes([0x00]) + bytes([1] + [0] * 15) + bytes([0]))  # DC table 0: code "0" → difference 0
    scan = segment(0xDA, bytes([1, 1, 0x00, 1, 0, 0]))  # one component, predictor 1
    return b"\xff\xd8" + frame + table + scan + bytes((width * height + 7) // 8) + b"\xff\xd9"


def png_in_mov(path, side: int = 16_000) -> None:
    """A MOV at ``path`` whose header says one 64×64 frame, a PNG, and whose one packet is a ``side``×``side``
    16-bit RGBA PNG of zeros (2 MB at 16,000: 2 GB decoded; FFmpeg decodes it while opening the file)."""
    from fractions import Fraction

    import av

    row = b"\x00" * (1 + 8 * side)
    compressor = zlib.compressobj(9)
    idat = b"".join(compressor.compress(row * min(256, side - y)) for y in range(0, side, 256)) + compressor.flush()
    header = struct.pack(">IIBBBBB", side, side, 16, 6, 0, 0, 0)
    picture = (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IDAT", idat)
               + _png_chunk(b"IEND", b""))
    with av.open(str(path), "w", format="mov") as container:
        stream = container.add_stream("png", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "rgba64be"
        packet = av.Packet(picture)
        packet.stream, packet.pts, packet.dts, packet.time_base = stream, 0, 0, Fraction(1, 25)
        packet.is_keyframe = True
        container.mux(packet)


def mp4_claiming(path, samples: int = 50_000_000, fragmented: bool = False) -> None:
    """An MP4 at ``path`` of one 64×64 H.264 frame whose tables claim ``samples`` frames (a few hundred bytes):
    patched in place, one constant sample size, one timing entry and one chunk of them (``stsz``, ``stts``,
    ``stsc``), or, ``fragmented``, a fragment's ``trun`` of that many with no per-sample fields. FFmpeg makes an index
    entry for each while it opens the file (50,000,000: 1.75 GB)."""
    import av

    options = {"movflags": "frag_keyframe+empty_moov+default_base_moof"} if fragmented else {}
    with av.open(str(path), "w", format="mp4", options=options) as container:
        stream = container.add_stream("libx264", rate=25, options={"preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), 128, np.uint8), format="rgb24")
        frame.pts = 0
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    data = bytearray(open(path, "rb").read())
    for kind, at in _mp4_boxes(data, 0, len(data)):
        if kind == b"stsz" and not fragmented:  # constant size: the first sample's; the count: ``samples``
            size = struct.unpack_from(">I", data, at + 12)[0] or struct.unpack_from(">I", data, at + 20)[0]
            struct.pack_into(">II", data, at + 12, size, samples)
        elif kind == b"stts" and not fragmented:
            struct.pack_into(">I", data, at + 16, samples)
        elif kind == b"stsc" and not fragmented:
            struct.pack_into(">I", data, at + 20, samples)
        elif kind == b"trun" and fragmented:  # no per-sample fields: every sample takes the defaults
            flags = struct.unpack_from(">I", data, at + 8)[0] & ~0xF00
            struct.pack_into(">II", data, at + 8, flags, samples)
    open(path, "wb").write(bytes(data))


def _mp4_boxes(data: bytes, start: int, end: int):
    """(kind, offset) of every box under the movie's and fragments' containers, depth first."""
    offset = start
    while offset + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, offset)
        if size < 8:
            return
        yield kind, offset
        if kind in (b"moov", b"trak", b"mdia", b"minf", b"stbl", b"moof", b"traf"):
            yield from _mp4_boxes(data, offset + 8, offset + size)
        offset += size


def clip_of_streams(path, sounds: int) -> None:
    """A clip at ``path`` (its extension names the container) of one 64×48 frame and ``sounds`` sound streams of a
    tenth of a second each. FFmpeg decodes a frame of every stream while it opens a file (900 720p tracks: 2.6 GB)."""
    import av

    with av.open(str(path), "w") as container:
        video = container.add_stream("mpeg4", rate=25)
        video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
        audio = [container.add_stream("pcm_s16le", rate=8000) for _ in range(sounds)]
        for stream in audio:
            stream.layout = "mono"
        frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
        frame.pts = 0
        container.mux(video.encode(frame))
        container.mux(video.encode(None))
        for stream in audio:
            sound = av.AudioFrame.from_ndarray(np.zeros((1, 800), np.int16), format="s16", layout="mono")
            sound.sample_rate, sound.pts = 8000, 0
            container.mux(stream.encode(sound))
            container.mux(stream.encode(None))


def png_chunks(n: int) -> bytes:
    """A 1×1 gray PNG with ``n`` empty private ancillary chunks before its pixels (12 bytes each)."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0)
    filler = _png_chunk(b"zzZz", b"") * n
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + filler
            + _png_chunk(b"IDAT", zlib.compress(b"\x00\x80")) + _png_chunk(b"IEND", b""))


def gray_png(array: np.ndarray) -> bytes:
    """uint8 H×W (or H×W×3) → PNG bytes."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def gif_frames(n: int) -> bytes:
    """An animated GIF of ``n`` 1×1 frames, written block by block (22 bytes a frame)."""
    head = b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    frame = (b"\x21\xf9\x04\x00\x01\x00\x00\x00"  # graphic control: 1/100 s
             + b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00")
    return head + frame * n + b"\x3b"


def webp(side: int = 7000) -> bytes:
    """A ``side``×``side`` lossless WebP of one color (Pillow writes it in well under a second)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (side, side), (90, 120, 30)).save(buffer, format="WEBP", lossless=True, method=0, quality=0)
    return buffer.getvalue()


def bombs() -> dict[str, bytes]:
    """The four files of issue 25 → {file name: bytes}."""
    return {"scans.jpg": progressive_jpeg(), "float.tif": float_tiff(), "flat.webp": webp(), "deep16.png": png16()}


# ---------------------------------------------------------------------------------------------- JSON


def deep_json(depth: int = 100_000) -> bytes:
    """``[[[…]]]`` nested ``depth`` deep (Python's json module recurses once a level)."""
    return b"[" * depth + b"]" * depth


def hints_json(n: int, width: int = 64, height: int = 64) -> bytes:
    """``n`` valid hints on a ``width``×``height`` photo, as the hints file the app and the CLI take."""
    rng = np.random.default_rng(0)
    hints = [{"x": int(rng.integers(width)), "y": int(rng.integers(height)), "rgb": [int(c) for c in rng.integers(0, 256, 3)]}
             for _ in range(n)]
    return json.dumps(hints).encode()
