"""What an MP4/MOV's tables claim, read before FFmpeg opens the file.

Why: FFmpeg's MOV demuxer makes an index entry (about 35 bytes) for every sample a track's tables claim, and a stream
for every track, while the file is opened, before any check of ours can run. A table can claim them in a few bytes:
one constant sample size (``stsz``), one timing entry (``stts``), one chunk. A 1.4 kB MP4 claiming 50,000,000 frames
took a server 1.75 GB (85,000,000: 3 GB) before the page said "2,000,000 s, over this server's 30 s" (session 34's
audit); a fragment's ``trun`` does the same, and so does raw sound, which FFmpeg indexes in pieces of at most 1,024
samples a chunk (one chunk claiming 2^31 samples: 2,000,000 entries). Other containers' indexes are bytes of the file.

The walk reads the boxes as FFmpeg does, not as the standard nests them (a review of the first version passed 700 MB
claims by each of these): it starts whatever the first box (FFmpeg also takes ``udta``, ``junk``, ``pict`` first),
cuts a box that runs past its parent to the parent's end (FFmpeg reads it so), descends into any box whose contents
read as boxes (FFmpeg reads ``stsz`` in ``udta``, ``edts``, ``dinf``; a ``moov`` renamed ``hoov`` or ``free``) but
``mdat``, down to ``MAX_DEPTH`` levels (FFmpeg stops at 10), and counts every sample table wherever it lies. What it
may still miss (a table among a sample description's extra boxes, after fields it does not read) a scan finds: every
``stsz``, ``stz2``, ``trun`` and ``trak`` name in the file outside the top level's ``mdat``, at a plausible box
header, that the walk did not count, counts (as video; a crafted table, not raw sound).

Contract
- ``check(path, max_samples=None, max_tracks=None)``: raises ``ContainerBudgetError`` (one line naming the file) when a
  file that is not another container (``_OTHER_SIGNATURES``: Matroska/WebM, AVI, GIF, Ogg, FLV, MPEG) claims more
  than ``max_samples`` (default ``MAX_SAMPLES``) index entries, holds more than ``max_tracks`` tracks (default: no
  limit), holds a compressed movie header (``cmov``, which FFmpeg inflates and this walk cannot see into), or more
  than ``MAX_BOXES`` boxes to walk.
- ``claims(path)`` → ``Claims(samples, tracks, compressed)``; ``claimed_samples(path)`` → its samples (None: another
  container).
"""
from __future__ import annotations

import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["ContainerBudgetError", "Claims", "MAX_SAMPLES", "MAX_BOXES", "MAX_DEPTH", "check", "claims",
           "claimed_samples", "too_many_streams"]

# An hour at 60 fps is 216,000 frames and its AAC sound 169,000 packets; a million index entries are ~35 MB.
MAX_SAMPLES = 1_000_000
# A box costs about half a microsecond to walk here; a 15-minute CMAF clip of one fragment a frame has ~200,000.
MAX_BOXES = 1_000_000
# Levels of boxes walked (FFmpeg reads 10; past them its reading of the file fails).
MAX_DEPTH = 16
# Boxes never read as boxes: the media data itself, and the tables counted below.
_LEAVES = {b"mdat", b"stsz", b"stz2", b"trun", b"stts", b"stsc", b"stco", b"co64", b"hdlr", b"cmov"}
# Raw sound is indexed a chunk at a time, in pieces of at most 1,024 samples (FFmpeg's mov_build_index; a sound
# description of 160 samples or more a frame, GSM's, is indexed a frame at a time: what that costs, ``open_check``
# measures). Counted at 160, an hour of 48 kHz PCM read as 1,084,500 and was refused (a review; FFmpeg: 10 MB).
_RAW_SOUND_PIECE = 1024
_OTHER_SIGNATURES = (b"\x1a\x45\xdf\xa3", b"RIFF", b"GIF8", b"OggS", b"FLV", b"\x00\x00\x01\xba", b"\x00\x00\x01\xb3")


class ContainerBudgetError(ValueError):
    """A clip whose tables claim more than the server indexes; str(err) is one line naming the file."""


@dataclass(frozen=True)
class Claims:
    """What a file's boxes claim: index ``samples`` FFmpeg would make, ``tracks``, and whether its movie header is
    ``compressed`` (``cmov``)."""

    samples: int
    tracks: int
    compressed: bool


def check(path, max_samples: int | None = None, max_tracks: int | None = None) -> None:
    """Raise ``ContainerBudgetError`` when ``path``'s tables claim more than the server reads (see above)."""
    max_samples = MAX_SAMPLES if max_samples is None else int(max_samples)
    found = claims(path)
    if found is None:
        return
    name = Path(path).name
    if found.compressed:
        raise ContainerBudgetError(f"{name}: a compressed movie header (cmov), which this server does not read; "
                                   "save the clip again as an ordinary MP4")
    if max_tracks is not None and found.tracks > max_tracks:
        raise ContainerBudgetError(too_many_streams(name, max_tracks))
    if found.samples > max_samples:
        raise ContainerBudgetError(f"{name}: its tables claim {found.samples:,} frames and sound packets, over the "
                                   f"{max_samples:,} this server indexes in a clip (a damaged or crafted file)")


def too_many_streams(name: str, most: int) -> str:
    """The line for a clip of more than ``most`` streams, whoever counted them (this walk, or FFmpeg's streams)."""
    return (f"{name}: over {most} streams (pictures, sound, subtitles), more than this server reads in a clip; keep "
            "its picture and one sound")


def claimed_samples(path) -> int | None:
    """The index entries ``path``'s tables claim (None: another container)."""
    found = claims(path)
    return None if found is None else found.samples


def claims(path) -> Claims | None:
    """``Claims`` of the file at ``path``, or None for another container (or an empty file)."""
    with open(path, "rb") as file:
        head = file.read(8)
        if len(head) < 8 or head.startswith(_OTHER_SIGNATURES):
            return None
        with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
            walk = _Walk(data, Path(path).name)
            walk.run()
            return Claims(walk.samples, walk.tracks, walk.compressed)


class _Walk:
    """One pass over the boxes (an explicit stack: a file of boxes nested 2,000 deep overflowed Python's recursion),
    counting the claimed index entries, the tracks and any compressed movie header."""

    def __init__(self, data, name: str):
        self.data, self.name = data, name
        self.samples = self.tracks = self.boxes = 0
        self.compressed = False
        self.seen: set[int] = set()  # where the names of the tables and tracks the walk counted are
        self.media: list[tuple[int, int]] = []  # the top level's mdat bodies: not scanned

    def run(self) -> None:
        # (start, end, depth, the enclosing track's record or None)
        stack: list[tuple[int, int, int, dict | None]] = [(0, len(self.data), 0, None)]
        finished: list[dict] = []
        while stack:
            start, end, depth, track = stack.pop()
            for kind, body, stop in self._children(start, end):
                if depth == 0 and kind == b"mdat":
                    self.media.append((body, stop))
                if kind == b"trak":
                    self.tracks += 1
                    track_here = {"handler": b"", "stsz": 0, "unit_durations": False, "stsc": None, "chunks": 0}
                    finished.append(track_here)
                    if depth + 1 < MAX_DEPTH:
                        stack.append((body, stop, depth + 1, track_here))
                    continue
                self._leaf(kind, body, stop, track)
                if kind == b"cmov":
                    self.compressed = True
                elif kind not in _LEAVES and depth + 1 < MAX_DEPTH:
                    # A box's children, or a full box's (version and flags first: an ISO meta).
                    for offset in ((4, 0) if kind == b"meta" else (0,)):
                        if self._looks_like_boxes(body + offset, stop):
                            stack.append((body + offset, stop, depth + 1, track))
                            break
        self.samples += sum(self._track_entries(track) for track in finished)
        self._scan()

    def _scan(self) -> None:
        """Count the tables and tracks the walk did not see (module docstring), outside the top level's media."""
        data, size = self.data, len(self.data)
        regions, position = [], 0
        for body, stop in sorted(self.media):
            regions.append((position, body))
            position = max(position, stop)
        regions.append((position, size))
        for start, end in regions:
            for name, count_at in ((b"stsz", 12), (b"stz2", 12), (b"trun", 8), (b"trak", None), (b"cmov", None)):
                at = data.find(name, max(start, 4), end)
                while at != -1:
                    declared = struct.unpack_from(">I", data, at - 4)[0]
                    if at not in self.seen and (declared in (0, 1) or declared >= 8):
                        if name == b"trak":
                            self.tracks += 1
                        elif name == b"cmov":
                            self.compressed = self.compressed or data.find(b"dcom", at, at + 16) != -1
                        elif at + count_at + 4 <= size:
                            self.samples += struct.unpack_from(">I", data, at + count_at)[0]
                    at = data.find(name, at + 4, end)

    def _children(self, start: int, end: int):
        """(kind, body start, end) of the boxes from ``start`` to ``end``; one past the end is cut there."""
        offset = start
        while offset + 8 <= end:
            self.boxes += 1
            if self.boxes > MAX_BOXES:
                raise ContainerBudgetError(f"{self.name}: over {MAX_BOXES:,} boxes in its structure (a damaged or "
                                           "crafted file)")
            size, kind = struct.unpack_from(">I4s", self.data, offset)
            if kind in (b"stsz", b"stz2", b"trun", b"trak", b"cmov"):
                self.seen.add(offset + 4)
            header = 8
            if size == 1 and offset + 16 <= end:
                size, header = struct.unpack_from(">Q", self.data, offset + 8)[0], 16
            elif size == 0:
                size = end - offset
            if size < header:
                return
            stop = min(offset + size, end)
            yield kind, offset + header, stop
            offset = stop

    def _looks_like_boxes(self, start: int, end: int) -> bool:
        """Whether ``start``..``end`` begins with a box header that fits (what FFmpeg would read as a child)."""
        if start + 8 > end:
            return False
        size, kind = struct.unpack_from(">I4s", self.data, start)
        return (size == 0 or size == 1 or 8 <= size) and all(32 <= c < 127 for c in kind)

    def _leaf(self, kind: bytes, start: int, end: int, track: dict | None) -> None:
        """Count what a table claims: ``stsz``/``stz2`` per track (outside one, as video: FFmpeg gives it to the last
        stream), ``trun`` as it stands; a track's handler, timing, chunking and chunk count for raw sound."""
        length = end - start
        if kind in (b"stsz", b"stz2") and length >= 12:
            count = struct.unpack_from(">I", self.data, start + 8)[0]
            if track is None:
                self.samples += count
            else:
                track["stsz"] += count
        elif kind == b"trun" and length >= 8:
            self.samples += struct.unpack_from(">I", self.data, start + 4)[0]
        elif track is None:
            return
        elif kind == b"hdlr" and not track["handler"] and length >= 12:
            # The media's handler ("vide", "soun"), the first in a track: a MOV's data handler under minf follows it.
            track["handler"] = bytes(self.data[start + 8:start + 12])
        elif kind == b"stts" and length >= 16:
            entries = struct.unpack_from(">I", self.data, start + 4)[0]
            track["unit_durations"] = entries == 1 and struct.unpack_from(">I", self.data, start + 12)[0] == 1
        elif kind == b"stsc" and length >= 8:
            entries = min(struct.unpack_from(">I", self.data, start + 4)[0], (length - 8) // 12)
            track["stsc"] = np.frombuffer(self.data, ">u4", entries * 3, start + 8).reshape(-1, 3)[:, :2].astype(np.int64)
        elif kind in (b"stco", b"co64") and length >= 8:
            track["chunks"] = max(track["chunks"], struct.unpack_from(">I", self.data, start + 4)[0])

    @staticmethod
    def _track_entries(track: dict) -> int:
        """A track's index entries: one a sample, but raw sound (FFmpeg indexes it by chunk, in pieces)."""
        if not (track["handler"] == b"soun" and track["unit_durations"]):
            return track["stsz"]
        stsc, chunks = track["stsc"], track["chunks"]
        if stsc is None or not len(stsc):
            return 0
        first, per_chunk = stsc[:, 0], stsc[:, 1]
        following = np.append(first[1:], chunks + 1)
        covered = np.clip(following - first, 0, None)
        return int((covered * -(-per_chunk // _RAW_SOUND_PIECE)).sum())
