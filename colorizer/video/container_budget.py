"""What an MP4/MOV's sample tables claim, read before FFmpeg opens the file.

Why: FFmpeg's MOV demuxer makes an index entry (about 35 bytes) for every sample a track's tables claim, while the
file is opened, before any check of ours can run. A table can claim them in a few bytes: one constant sample size
(``stsz``), one timing entry (``stts``), one chunk. A 1.4 kB MP4 claiming 50,000,000 frames took a server 1.75 GB
(85,000,000: 3 GB) before the page said "2,000,000 s, over this server's 30 s" (session 34's audit); a fragment's
``trun`` does the same. Other containers' indexes are backed by bytes of the file.

Contract
- ``check(path, max_samples=None)`` (``MAX_SAMPLES``): raises ``ContainerBudgetError`` (one line, naming the file) when an
  ISO base media file (MP4, MOV, M4V, 3GP: a box structure from its first bytes) claims more samples than
  ``max_samples`` in the tables FFmpeg indexes one sample at a time (every track's ``stsz``/``stz2`` except raw
  sound's, which FFmpeg indexes by chunk, and every ``trun``), or holds more than ``MAX_BOXES`` boxes to walk.
  Anything else (another container, a damaged box) passes: FFmpeg says what it makes of it.
- ``claimed_samples(path)`` → that count (None: not an ISO base media file).
"""
from __future__ import annotations

import mmap
import struct
from pathlib import Path

__all__ = ["ContainerBudgetError", "MAX_SAMPLES", "MAX_BOXES", "check", "claimed_samples"]

# An hour at 60 fps is 216,000 frames and its AAC sound 169,000 packets; a million index entries are ~35 MB.
MAX_SAMPLES = 1_000_000
# A box costs a few microseconds to walk here; a 15-minute CMAF clip of one fragment a frame has ~200,000.
MAX_BOXES = 2_000_000
# Boxes whose children matter: the movie, its tracks and sample tables, and fragments.
_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"moof", b"traf"}
# What an ISO base media file may start with.
_FIRST_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot", b"styp", b"sidx", b"moof", b"uuid"}


class ContainerBudgetError(ValueError):
    """A clip whose tables claim more than the server indexes; str(err) is one line naming the file."""


def check(path, max_samples: int | None = None) -> None:
    """Raise ``ContainerBudgetError`` when ``path``'s tables claim more than ``max_samples`` (default
    ``MAX_SAMPLES``) samples (see above)."""
    max_samples = MAX_SAMPLES if max_samples is None else int(max_samples)
    claimed = claimed_samples(path)
    if claimed is not None and claimed > max_samples:
        raise ContainerBudgetError(f"{Path(path).name}: its tables claim {claimed:,} frames and sound packets, over "
                                   f"the {max_samples:,} this server indexes in a clip (a damaged or crafted file)")


def claimed_samples(path) -> int | None:
    """The samples ``path``'s tables claim where FFmpeg indexes each one (None: not an ISO base media file)."""
    with open(path, "rb") as file:
        head = file.read(8)
        if len(head) < 8 or head[4:8] not in _FIRST_BOXES:
            return None
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            walk = _Walk(data, Path(path).name)
            walk.children(0, len(data), track=None)
            return walk.samples


class _Walk:
    """One pass over the boxes, counting the claimed samples; ``track`` is the enclosing ``trak``'s record."""

    def __init__(self, data, name: str):
        self.data, self.name, self.samples, self.boxes = data, name, 0, 0

    def children(self, start: int, end: int, track: dict | None) -> None:
        offset = start
        while offset + 8 <= end:
            self.boxes += 1
            if self.boxes > MAX_BOXES:
                raise ContainerBudgetError(f"{self.name}: over {MAX_BOXES:,} boxes in its structure (a damaged or "
                                           "crafted file)")
            size, kind = struct.unpack_from(">I4s", self.data, offset)
            header = 8
            if size == 1 and offset + 16 <= end:
                size, header = struct.unpack_from(">Q", self.data, offset + 8)[0], 16
            elif size == 0:
                size = end - offset
            if size < header or offset + size > end:
                return  # damaged: FFmpeg decides what it makes of it
            self.box(kind, offset + header, offset + size, track)
            offset += size

    def box(self, kind: bytes, start: int, end: int, track: dict | None) -> None:
        if kind == b"trak":
            track = {"handler": b"", "stsz": 0, "unit_durations": False}
            self.children(start, end, track)
            raw_sound = track["handler"] == b"soun" and track["unit_durations"]  # FFmpeg indexes it by chunk
            self.samples += 0 if raw_sound else track["stsz"]
        elif kind in _CONTAINERS:
            self.children(start, end, track)
        elif kind == b"hdlr" and track is not None and not track["handler"] and end - start >= 12:
            # The media's handler ("vide", "soun"), the first in a track: a MOV's data handler under minf follows it.
            track["handler"] = bytes(self.data[start + 8:start + 12])
        elif kind == b"stsz" and track is not None and end - start >= 12:
            track["stsz"] += struct.unpack_from(">I", self.data, start + 8)[0]
        elif kind == b"stz2" and track is not None and end - start >= 12:
            track["stsz"] += struct.unpack_from(">I", self.data, start + 8)[0]
        elif kind == b"stts" and track is not None and end - start >= 16:
            entries, = struct.unpack_from(">I", self.data, start + 4)
            track["unit_durations"] = entries == 1 and struct.unpack_from(">I", self.data, start + 12)[0] == 1
        elif kind == b"trun" and end - start >= 8:
            self.samples += struct.unpack_from(">I", self.data, start + 4)[0]
