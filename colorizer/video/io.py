"""Reading and writing clips, one frame at a time, with PyAV (FFmpeg's libraries).

Why PyAV and not OpenCV's ``VideoCapture``/``VideoWriter`` (whose FFmpeg is in opencv-python-headless):
- **H.264.** The OpenCV wheel's FFmpeg has no H.264 encoder (``avc1`` fails to open; only MPEG-4 Part
  2, ``mp4v``, which browsers do not play, so ``st.video`` would show nothing). PyAV's wheel brings
  libx264: the MP4 plays in every browser and player.
- **Audio.** ``cv2.VideoWriter`` writes no audio at all; with PyAV the input's sound is copied into
  the output (or re-encoded to AAC when its codec does not go into an MP4), trimmed to the video.
- **Seeking and metadata.** PyAV gives the stream's real time base, frame rate, frame count and
  codec before decoding anything, so a clip beyond the budget is refused from its header, and a
  first frame can be shown without decoding the rest.
- **Memory.** Both decode frame by frame; PyAV hands each frame as one array (``to_ndarray``) and
  nothing else is kept: memory stays flat however long the clip (tested).
Both read MP4, AVI, MOV, WebM, MKV and animated GIF here (FFmpeg's demuxers). The cost: one more wheel
(``av``, about 40 MB, FFmpeg inside it with libx264, GPL).

Output: H.264 (yuv420p, CRF ``CRF``, no B-frames: ``_video_codec``) in MP4 when the frame's width and height are even; 4:2:0 cannot
hold an odd size, so an odd-sized clip (e.g. 37×23) is written as VP9 in MP4 at its exact size (every
current browser plays it); an FFmpeg built without libx264 (or libvpx) falls back to VP9 (or MPEG-4 Part 2). The same frames at the same times as the input: each frame keeps its own start (on a
``TIME_BASE`` clock), so a variable-rate clip (a screen recording, an edited clip, a GIF's own delays) plays as long
as it did; its sound is moved with the pictures (the output starts at the first frame).

Budget (``check_budget``): a clip whose frames × pixels exceed ``max_video_pixels()`` (default
2,000,000,000, about 15 minutes of colorizing 640×360 frames on a 2-core CPU; smaller frames cost more a pixel, the
network's pass being at its working size: 16×16 frames ran at 47 a second, so the budget lets 7.8 million of them (46 h)
through; the Video page also caps the frames; ``$COLORIZER_MAX_VIDEO_PIXELS``) or a
frame over ``colorizer.imageio.MAX_PIXELS`` (or the caller's ``max_frame_pixels``) is refused before decoding, and
reading stops there too when the header understated the count or the frame size. FFmpeg decodes a frame already
while it opens a file, before any check here: its decoders are told a ceiling of ``DECODER_MARGIN`` × the frame limit
(its ``max_pixels``), so a frame far over it is never decoded, whatever the header says. FFmpeg also indexes every
sample an MP4's tables claim while opening it (``container_budget`` checks the claims first), and decodes a frame of
every stream (at most ``MAX_STREAMS`` are read); and whatever else a file's tables make it allocate, a child process
opens the file first (``open_check``: over 256 MB, the clip is refused).

Decoding time: a frame's pixels do not bound it. A JPEG-based frame (MJPEG, ``JPEG_CODECS``) is checked before FFmpeg
decodes it, as the image path checks a JPEG (``colorizer.decode_budget.inspect``: at most ``MAX_JPEG_SCANS`` scans, each
one a pass of the decoder over the whole picture); a one-frame MJPEG clip of 2,400,000 empty scans (27.5 MB) took
FFmpeg 27.6 s of CPU, uninterruptible. FFmpeg cannot be stopped inside a frame, so for other codecs the limit comes
after the fact: a frame that took over ``MAX_FRAME_DECODE_SECONDS`` ends the read, and the clip costs one such frame,
not one per frame.
"""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from colorizer import decode_budget
from colorizer.video import container_budget, open_check
from colorizer.imageio import special_file_reason
from colorizer.settings import number_from_env

__all__ = ["VideoError", "VideoBudgetError", "VideoTooLongError", "VideoInfo", "probe", "read_frames", "VideoWriter", "Timeline",
           "check_budget", "max_video_pixels", "TIME_BASE", "UNREADABLE_SOUND", "SOUND_OUTSIDE", "sound_cut_at"]

DEFAULT_MAX_VIDEO_PIXELS = 2_000_000_000
MAX_VIDEO_PIXELS_ENV = "COLORIZER_MAX_VIDEO_PIXELS"
CRF = 18                    # x264 quality: visually lossless for film, a few MB a minute at 640×360
MP4_AUDIO = {"aac", "mp3", "alac", "ac3", "eac3", "opus", "flac"}   # copied as they are; others → AAC
AAC_RATE = 48_000   # what sound at a rate AAC does not take (a field recorder's 192 kHz, 1 kHz) is resampled to
# FFmpeg's own ceiling on a picture it decodes (its codec option ``max_pixels``, checked before it allocates one), as
# a multiple of the frame limit: our check sees a frame only once it is decoded, and FFmpeg decodes one already while
# opening a file (to learn the stream's size). A MOV whose header said 64x64 held one PNG of 16000x16000 in 16-bit
# RGBA (2 MB): opening it took a server from 1.4 to 3.3 GB. FFmpeg counts padded sizes (widths rounded up for
# alignment, a codec's macroblocks), hence the margin; the exact limit is ours, on each frame.
DECODER_MARGIN = 4
# FFmpeg's decoders that read JPEG pictures, with no limit of their own on a picture's scans.
JPEG_CODECS = {"mjpeg", "mjpegb", "jpegls", "amv", "smvjpeg", "thp", "avrn", "sp5x", "mxpeg", "media100"}
# An interlaced MJPEG frame is two pictures (fields) in one packet, the second with no header that ``inspect`` would
# walk to: FFmpeg decodes both, so the packet as a whole may hold twice a picture's scans.
MAX_PACKET_SCANS = 2 * decode_budget.MAX_JPEG_SCANS
MAX_DAMAGED_PACKETS = 1000   # undecodable packets skipped in a clip before its damage ends it (``_decoded``)
# A frame of 1280×720 decodes in milliseconds; one that takes seconds was made to take them.
MAX_FRAME_DECODE_SECONDS = 5.0
# Streams FFmpeg reads from a file (its ``max_streams``; its own default is 1,000): it decodes a frame of each while
# opening the file, and a 5 MB MKV of 900 720p video tracks took 2.6 GB each time it was opened (session 34's audit).
# A clip, its sounds and subtitles fit in 16; one with more is refused (see ``_av_open``).
MAX_STREAMS = 16
# The output's clock: MPEG's 90 kHz, on which a frame of every common rate (24, 25, 30000/1001, a GIF's 1/100 s) is a
# whole number of ticks; a frame's own start in the clip is rounded to it (at most 6 µs off).
TIME_BASE = Fraction(1, 90_000)
# The longest gap between two frames an MP4 holds on that clock: a sample's length is 32 bits of ticks (13.25 h). A
# frame 14 h after the one before failed in FFmpeg as "Not yet implemented", and one 2^61 ms on overflowed its pts.
MAX_GAP_S = 12 * 3600


def max_video_pixels() -> int:
    """The budget in frames × pixels: ``$COLORIZER_MAX_VIDEO_PIXELS`` if a positive integer, else the default
    (read at each call: the CLI's tests and an operator's shell may set it late)."""
    return number_from_env(MAX_VIDEO_PIXELS_ENV, DEFAULT_MAX_VIDEO_PIXELS)


class VideoError(ValueError):
    """A file that is not a readable video, or one beyond a limit: ``<file>: <reason>``, one line."""


class VideoBudgetError(VideoError):
    """A clip beyond the budget in frames × pixels (or a frame beyond the pixel limit)."""


class VideoTooLongError(VideoBudgetError):
    """``check_budget``'s refusal of a clip whose header's frames × pixels pass the budget: fewer frames would fit
    (its frames are within the frame limit), which the command line and the page each say in their own words."""


@dataclass(frozen=True)
class VideoInfo:
    """What a clip's header says: ``frames`` is the stream's count, or duration × rate when it has
    none (``estimated``; 0 when neither is known); ``fps`` a Fraction; ``width`` and ``height`` as the clip is shown, after
    ``rotation`` (degrees counterclockwise, a multiple of 90: a phone's portrait clip is stored sideways with a
    rotation to show it upright), which ``read_frames`` applies to every frame."""

    path: str
    width: int
    height: int
    fps: Fraction
    frames: int
    codec: str
    has_audio: bool
    rotation: int = 0
    estimated: bool = False

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def frames_text(self) -> str:
        """``frames`` in words, "about" when the file gave no count (MKV, WebM): a clip of 25 frames declaring 1,000 a
        second was refused as "24,001 frames" (session 38's hostile-input audit)."""
        if not self.estimated:
            return f"{self.frames:,} frames"
        return f"about {self.frames:,} frames (its length at {float(self.fps):,.4g} a second: the file gives no count)"

    @property
    def duration(self) -> float:
        return self.frames / float(self.fps) if self.fps else 0.0


def _one_line(err: Exception, path=None) -> str:
    """An FFmpeg error as one line: its reason alone where it has one (the whole message repeated the file's name
    after an internal code, "[Errno 1094995529] Invalid data found when processing input: 'clip.mp4'"); else the
    message, ``path`` (which FFmpeg quotes in full) shortened to its name: a server's folders are not the
    visitor's business."""
    reason = getattr(err, "strerror", None)
    text = reason if isinstance(reason, str) and reason.strip() else str(err)
    if path is not None:
        text = text.replace(str(path), Path(path).name)
    text = " ".join(text.split()) or type(err).__name__
    return text[:200]


def _frame_limit(max_frame_pixels: int | None) -> int:
    """The pixels a frame may have: the caller's ``max_frame_pixels``, by default ``imageio.MAX_PIXELS``."""
    from colorizer import imageio

    return imageio.MAX_PIXELS if max_frame_pixels is None else int(max_frame_pixels)


def _far_over_or_unreadable(name: str, frame_limit: int, detail: str) -> VideoError:
    """FFmpeg's refusal of a frame over its ceiling (``DECODER_MARGIN`` × the limit) tells no size, and looks like
    some broken files' errors: the likelier cause first, then what FFmpeg said."""
    return VideoError(f"{name}: frames far over the limit of {frame_limit:,} pixels a frame, or not a readable video "
                      f"({detail})")


def _decoder_options(max_frame_pixels: int) -> dict:
    return {"max_pixels": str(DECODER_MARGIN * int(max_frame_pixels))}


def _open_options(max_frame_pixels: int) -> dict:
    """``av.open``'s options: the decoders' ceiling, and one stream more than the most we read: a file that has it has
    too many (FFmpeg would drop the rest quietly, and an MKV's reading then stops at the first packet of a dropped
    one: a clip cut to one frame)."""
    return {**_decoder_options(max_frame_pixels), "max_streams": str(MAX_STREAMS + 1)}


def _av_open(path, max_frame_pixels: int):
    """``av.open`` to read ``path``, FFmpeg's decoders held to ``DECODER_MARGIN`` × ``max_frame_pixels`` while it opens
    the file (it decodes a frame to learn the stream's size), and its streams to ``MAX_STREAMS``: the pictures' reader
    and the sound's. Its tables' claims are checked first (``container_budget``: FFmpeg indexes every claimed
    sample while it opens the file): ``VideoBudgetError``."""
    import av

    options = _open_options(max_frame_pixels)
    try:
        container_budget.check(path, max_tracks=MAX_STREAMS)  # an MP4's 18th track failed FFmpeg as "out of memory"
        # What the claims this does not read cost: the file opened first by a child process, its memory measured.
        open_check.check(path, options)
    except (container_budget.ContainerBudgetError, open_check.OpenTooCostlyError) as err:
        raise VideoBudgetError(str(err)) from None
    container = av.open(str(path), metadata_errors="ignore", options=options)
    if len(container.streams) > MAX_STREAMS:
        container.close()
        raise VideoBudgetError(container_budget.too_many_streams(Path(path).name, MAX_STREAMS))
    return container


def _open(path, max_frame_pixels: int):
    """The clip's container, its decoders refusing pictures over ``DECODER_MARGIN`` × ``max_frame_pixels``."""
    import av

    name = Path(path).name
    if not Path(path).is_file():
        reason = ("is a folder, not a video file" if Path(path).is_dir()
                  else special_file_reason(str(path)) or "no such file")
        raise VideoError(f"{name}: {reason}")
    if Path(path).stat().st_size == 0:
        raise VideoError(f"{name}: empty file")
    try:
        container = _av_open(path, max_frame_pixels)
    except VideoError:
        raise
    except (av.FFmpegError, UnicodeDecodeError, ValueError) as err:
        raise VideoError(f"{name}: not a readable video ({_one_line(err, path)})") from None
    if not container.streams.video:
        container.close()
        raise VideoError(f"{name}: not a readable video (no video stream)")
    for stream in container.streams.video:   # the options above held the opening's decoding; these hold reading's
        stream.codec_context.options = _decoder_options(max_frame_pixels)
    return container


def probe(path, max_frame_pixels: int | None = None) -> VideoInfo:
    """A clip's header → ``VideoInfo``; ``VideoError`` when it is not a readable video. ``max_frame_pixels`` (default
    ``imageio.MAX_PIXELS``): FFmpeg decodes a frame while opening the file, and refuses one far over it."""
    frame_limit = _frame_limit(max_frame_pixels)
    container = _open(path, frame_limit)
    try:
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:   # FFmpeg forgets the size of a frame it refused (VP9, MJPEG, PNG, MPEG-4)
            raise _far_over_or_unreadable(Path(path).name, frame_limit, "no frame size in its header")
        fps = stream.average_rate or stream.guessed_rate or stream.base_rate or Fraction(24)
        frames = int(stream.frames or 0)
        estimated = not frames
        if estimated:
            seconds = float(stream.duration * stream.time_base) if stream.duration else (container.duration or 0) / 1e6
            frames = int(round(seconds * float(fps)))
        rotation = _rotation_of(path, container, stream)
        if rotation % 180:
            width, height = height, width
        return VideoInfo(str(path), int(width), int(height), Fraction(fps), frames, stream.codec_context.name,
                         bool(container.streams.audio), rotation, estimated=estimated and frames > 0)
    finally:
        container.close()


def _quarter_turns(frame) -> int:
    """The frame's display rotation (its display matrix; PyAV's ``rotation``, degrees counterclockwise) in quarter
    turns, 0 to 3; a rotation that is not a multiple of 90° (none a camera writes) is left out."""
    degrees = getattr(frame, "rotation", 0) or 0
    return round(degrees / 90) % 4 if degrees % 90 == 0 else 0


# A file's rotation, by (path, modification time, size): the Video page probes its clip on every rerun, and decoding
# the first frame for it took a 720p clip's probe from 30 to 140 ms (session 36's review).
_ROTATIONS: OrderedDict = OrderedDict()
_ROTATIONS_KEPT = 64
_ROTATIONS_LOCK = threading.Lock()


def _rotation_of(path, container, stream) -> int:
    """``_first_rotation``, remembered for the file as it is now."""
    status = Path(path).stat()
    key = (str(Path(path).resolve()), status.st_mtime_ns, status.st_size)
    with _ROTATIONS_LOCK:
        if key in _ROTATIONS:
            _ROTATIONS.move_to_end(key)
            return _ROTATIONS[key]
    rotation = _first_rotation(container, stream, Path(path).name)
    with _ROTATIONS_LOCK:
        _ROTATIONS[key] = rotation
        while len(_ROTATIONS) > _ROTATIONS_KEPT:
            _ROTATIONS.popitem(last=False)
    return rotation


def _first_rotation(container, stream, name: str) -> int:
    """The first frame's rotation in degrees (0 to 270): only a frame carries it in PyAV. It is decoded with the
    same checks as ``read_frames``'s (FFmpeg decoded one already while opening the file); a clip whose first frame
    cannot be decoded is ``read_frames``'s to refuse, with its reason."""
    import av

    try:
        frame = next(iter(_decoded(container, stream, name)), None)
    except av.FFmpegError:
        return 0
    return 90 * _quarter_turns(frame) if frame is not None else 0


def check_budget(info: VideoInfo, max_frames: int | None = None, max_pixels: int | None = None,
                 max_frame_pixels: int | None = None) -> int:
    """→ the frames that will be colorized (the header's count, at most ``max_frames``; ``max_frames`` when the
    header has no count); raises ``VideoBudgetError`` when they times the frame's pixels exceed ``max_pixels`` (default
    ``max_video_pixels()``) or a frame exceeds ``max_frame_pixels`` (default ``imageio.MAX_PIXELS``)."""
    budget = max_video_pixels() if max_pixels is None else int(max_pixels)
    frame_limit = _frame_limit(max_frame_pixels)
    pixels = info.width * info.height
    if pixels > frame_limit:
        raise VideoBudgetError(f"{info.name}: frames of {info.width}x{info.height} exceed the limit of "
                               f"{frame_limit:,} pixels a frame")
    frames = info.frames if max_frames is None else min(info.frames or max_frames, max_frames)
    # A header with no frame count (0) is not refused here: ``read_frames`` counts the pixels as it reads.
    if min(frames, info.frames) * pixels > budget:
        most = budget // pixels
        # The facts only: what to do differs on the command line (``video.cli``) and on the page (``ui.video_ui``).
        counted = info.frames_text if frames == info.frames else f"{frames:,} frames"
        raise VideoTooLongError(f"{info.name}: {counted} of {info.width}x{info.height} exceed this host's "
                               f"budget of {budget:,} frame pixels ({most:,} frames at this size)")
    return frames


def read_frames(path, max_frames: int | None = None, max_pixels: int | None = None,
                max_frame_pixels: int | None = None, times: list | None = None,
                damaged: list | None = None) -> Iterator[np.ndarray]:
    """The clip's frames in order, each uint8 RGB H×W×3, one at a time (at most ``max_frames``); ``times``: a list
    each frame's (start, end) in the clip is appended to before it is yielded (seconds; NaN where FFmpeg gives none).
    A packet FFmpeg cannot decode once a frame has been is skipped, as players skip it (``damaged``: a list its index
    is appended to), up to ``MAX_DAMAGED_PACKETS``; the next one ends the clip there (its index appended too: more
    than ``MAX_DAMAGED_PACKETS`` in ``damaged`` says so).
    ``VideoError`` when the file cannot be decoded from the start, a frame changes size, a JPEG-based frame passes the
    image path's limits (checked before it is decoded) or a frame took over ``MAX_FRAME_DECODE_SECONDS`` to decode;
    ``VideoBudgetError`` when the frames read pass ``max_pixels`` or a frame passes ``max_frame_pixels`` (default
    ``imageio.MAX_PIXELS``), as ``check_budget`` holds the header to: a header can understate both. A frame far over
    it (``DECODER_MARGIN`` ×) is refused by FFmpeg before it is decoded: a ``VideoError`` that says so."""
    import av

    budget = max_video_pixels() if max_pixels is None else int(max_pixels)
    frame_limit = _frame_limit(max_frame_pixels)
    name = Path(path).name
    container = _open(path, frame_limit)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        count, size, used = 0, None, 0
        try:
            for frame in _decoded(container, stream, name, damaged):
                if max_frames is not None and count >= max_frames:
                    return
                if frame.width * frame.height > frame_limit:   # a header that lied about the size
                    raise VideoBudgetError(f"{name}: frame {count} is {frame.width}x{frame.height}, over the limit of "
                                           f"{frame_limit:,} pixels a frame")
                rgb = frame.to_ndarray(format="rgb24")
                turns = _quarter_turns(frame)
                if turns:  # shown upright, as players show it: a portrait phone clip is stored sideways
                    rgb = np.ascontiguousarray(np.rot90(rgb, turns))
                if size is None:
                    size = rgb.shape
                elif rgb.shape != size:
                    raise VideoError(f"{name}: frame {count} is {rgb.shape[1]}x{rgb.shape[0]}, the first was "
                                     f"{size[1]}x{size[0]} (a clip of changing size is not supported)")
                used += rgb.shape[0] * rgb.shape[1]
                if used > budget:
                    raise VideoBudgetError(f"{name}: more frames than its header said, beyond this host's budget "
                                           f"of {budget:,} frame pixels (set {MAX_VIDEO_PIXELS_ENV})")
                count += 1
                if times is not None:
                    times.append(_start_and_end(frame, stream))
                yield rgb
        except av.FFmpegError as err:
            if count == 0 and isinstance(err, av.error.ArgumentError):  # what FFmpeg's frame ceiling raises
                raise _far_over_or_unreadable(name, frame_limit, _one_line(err, path)) from None
            if count == 0:
                raise VideoError(f"{name}: not a readable video ({_one_line(err, path)})") from None
            return  # a truncated clip: what could be decoded is the clip (FFmpeg players do the same)
        if count == 0:
            raise VideoError(f"{name}: not a readable video (no frame could be decoded)")
    finally:
        container.close()


def _start_and_end(frame, stream) -> tuple[float, float]:
    """A decoded frame's start and end in the clip, in seconds (NaN for what FFmpeg does not know). Its end is its
    own duration where that is the frame's: with reordered frames (H.264's B-frames) FFmpeg gives each frame the
    length of the sample decoded in its place (a frame 0.04 s long came back lasting 0.92 s), so there, and where there
    is none, a frame lasts one frame at the stream's average rate."""
    start = float(frame.time) if frame.time is not None else float("nan")
    length = getattr(frame, "duration", None)
    if length and not stream.codec_context.has_b_frames:
        return start, start + float(length * stream.time_base)
    rate = stream.average_rate or stream.guessed_rate
    return start, start + 1 / float(rate) if rate else float("nan")


def _decoded(container, stream, name: str, damaged: list | None = None):
    """The stream's frames, as ``container.decode(stream)``, each packet checked before FFmpeg decodes it
    (``_check_jpeg_packet``) and timed after (``MAX_FRAME_DECODE_SECONDS``): ``VideoError`` naming the file. Once a
    frame has come, a packet that fails to decode is skipped (its index appended to ``damaged``): a clip damaged in
    its middle lost every frame after the damage, and was said to be all colorized (session 38's hostile-input audit).
    Only FFmpeg's "invalid data" is damage; its other errors are ``read_frames``'. One past ``MAX_DAMAGED_PACKETS``
    ends the clip (appended too)."""
    import av

    jpeg = stream.codec_context.name in JPEG_CODECS
    damaged = [] if damaged is None else damaged
    decoded_any = False
    for index, packet in enumerate(container.demux(stream)):
        if jpeg and packet.size:   # the last packet is empty: it flushes the decoder
            _check_jpeg_packet(bytes(packet), name, index)
        started = time.perf_counter()
        try:
            frames = packet.decode()
        except av.error.InvalidDataError:
            if not decoded_any:
                raise
            damaged.append(index)
            if len(damaged) > MAX_DAMAGED_PACKETS:
                return
            frames = []
        decoded_any = decoded_any or bool(frames)
        took = time.perf_counter() - started
        if took > MAX_FRAME_DECODE_SECONDS:
            raise VideoError(f"{name}: frame {index} took {took:.1f} s to decode, over the limit of "
                             f"{MAX_FRAME_DECODE_SECONDS:g} s a frame")
        yield from frames


def _check_jpeg_packet(data: bytes, name: str, index: int) -> None:
    """A JPEG-based frame's bytes held to the image path's rules (``decode_budget.inspect``, from the picture's start
    whatever precedes it), to ``decode_budget.MAX_BLOCKS`` markers and ``MAX_PACKET_SCANS`` scans in all:
    ``VideoError`` otherwise. Milliseconds, whatever the packet holds."""
    start = data.find(b"\xff\xd8")  # FFmpeg skips bytes before a picture's start; inspect reads from it
    try:
        decode_budget.inspect(data[start:] if start > 0 else data)
    except decode_budget.StructureError as err:  # the image path's advice, said of a clip
        reason = str(err).replace("re-save it as an ordinary JPEG", "re-save the clip as H.264")
        raise VideoError(f"{name}: frame {index}: {reason}") from None
    # Past the first picture's end ``inspect`` does not look; a marker cannot occur inside coded data.
    if decode_budget.markers_over(data):
        raise VideoError(f"{name}: frame {index}: JPEG with more than {decode_budget.MAX_BLOCKS:,} segments")
    if data.count(b"\xff\xda") > MAX_PACKET_SCANS:
        raise VideoError(f"{name}: frame {index}: JPEG with more than {MAX_PACKET_SCANS} scans (each one costs the "
                         "decoder a pass over the whole picture); re-save the clip as H.264")


def _video_codec(width: int, height: int, crf: int = CRF) -> tuple[str, dict]:
    """(encoder, options) for a frame size: H.264 when 4:2:0 holds it, else VP9 (odd sizes)."""
    import av

    if width % 2 == 0 and height % 2 == 0 and "libx264" in av.codecs_available:
        # No B-frames: with them decoding times run frames behind the pictures', and where frames are unevenly spaced
        # the MP4's own header and edit list gave another length than its samples (a clip of 3.04 s read 4.96 s, one
        # of 0.24 s ended at 0.201: session 37's timing audit). 1.5 % larger on grainy 640×360 frames.
        return "libx264", {"crf": str(crf), "preset": "veryfast", "x264-params": "bframes=0"}
    if "libvpx-vp9" in av.codecs_available:
        return "libvpx-vp9", {"crf": "24", "b": "0", "deadline": "realtime", "cpu-used": "8", "row-mt": "1"}
    return "mpeg4", {"qscale": "3"}


def _aac_rate(rate: int | None) -> int:
    """The rate sound is re-encoded at: the source's when FFmpeg's AAC encoder takes it (7.35 to 96 kHz, listed),
    else ``AAC_RATE`` (``_reencoded`` resamples to it): any other failed to open the encoder at the first frame."""
    import av

    return rate if rate and rate in (av.codec.Codec("aac", "w").audio_rates or ()) else AAC_RATE


class Timeline:
    """Where each frame lands on the output's clock (``TIME_BASE`` ticks): the first frame with a time of its own sets
    the output's 0 (after any frames before it that had none), each frame keeps its own start from there, and one with
    no time follows the frame before; each lasts its own length, else 1/``fps``. A start at or before the previous
    frame's follows it by a tick (MP4 needs them to grow). The writer places frames by it and the pipeline's time limit
    reads it: one timeline, not two rules. ``VideoError`` naming ``name`` for a frame over ``MAX_GAP_S`` after the one
    before (an MP4 cannot hold it)."""

    def __init__(self, fps, name: str):
        self.name, self.frames = name, 0
        self._frame_ticks = max(1, round(1 / (Fraction(fps) * TIME_BASE)))
        self._origin: float | None = None   # the source's time at the output's 0
        self._pts, self._end = 0, 0          # ticks: where the last frame placed starts and ends

    @property
    def end(self) -> int:
        """Where the last frame placed ends, in ticks (0 before any frame)."""
        return self._end

    @property
    def origin(self) -> float:
        """The source's time (seconds) at the output's 0: where its sound is cut from (0 until a frame has a time)."""
        return self._origin or 0.0

    @property
    def seconds(self) -> float:
        """``end`` in seconds: how long the output plays."""
        return float(self._end * TIME_BASE)

    def place(self, start: float | None, end: float | None) -> tuple[int, int]:
        """(pts, length) in ticks of the next frame, which starts and ends at ``start``, ``end`` in the source
        (seconds; None or NaN: unknown)."""
        known = start is not None and math.isfinite(start)
        if known and self._origin is None:
            self._origin = start - float(self._end * TIME_BASE)
        pts = self._end if not known else (start - self._origin) / TIME_BASE
        if self.frames and pts - self._pts > MAX_GAP_S / TIME_BASE:
            raise VideoError(f"{self.name}: frame {self.frames} starts {float((pts - self._pts) * TIME_BASE) / 3600:,.0f} h "
                             f"after the one before it; an MP4 holds at most {MAX_GAP_S // 3600} h between frames")
        pts = max(round(pts), self._pts + 1) if self.frames else round(pts)
        length = (end - start) / TIME_BASE if known and end is not None and math.isfinite(end) else 0
        ticks = round(length) if 0 < length <= MAX_GAP_S / TIME_BASE else self._frame_ticks
        self.frames += 1
        self._pts, self._end = pts, pts + ticks
        return pts, ticks


# Why the source's sound is not in the output, or not all of it (``VideoWriter.sound_note``), as the page and the
# command line say it.
UNREADABLE_SOUND = "it could not be read or re-encoded"
SOUND_OUTSIDE = "it lies outside the frames colorized"


def sound_cut_at(seconds) -> str:
    return f"it could not be read past {float(seconds):.1f} s: the rest is left out"


class VideoWriter:
    """An MP4 written frame by frame: ``write(rgb, start, end)`` (uint8 H×W×3 of ``size`` (w, h); the frame's start and
    end in the source clip, in seconds, or None/NaN where it has none: then it follows the previous frame and lasts
    1/``fps``), then ``close()``. The first frame starts the output at 0 and every frame keeps its time from there
    (``starts``: each one's, in seconds; ``seconds``: the output's length, the last frame's end).
    ``audio_from``: a clip whose audio track (if any) goes into the output, trimmed to the frames
    written (copied when MP4 takes its codec, else re-encoded to AAC) and interleaved with the
    pictures as they are written. Use as a context manager: on an exception the partial file is removed.
    ``audio``: "copied", "re-encoded to AAC" or None (no track, or none of it in the file: the pictures then go
    without it); ``sound_note``: why the source's sound is not in the file, or not all of it (``UNREADABLE_SOUND``,
    ``SOUND_OUTSIDE``, ``sound_cut_at``), None when it is whole or there is none. ``max_bytes``: the file may not grow past it (``VideoBudgetError`` naming ``name``,
    by default the file's): a server holds each result in memory to show it. FFmpeg's errors in writing are
    ``VideoError`` naming ``name``."""

    def __init__(self, path, size: tuple[int, int], fps: Fraction, audio_from=None, crf: int = CRF,
                 max_bytes: int | None = None, name: str | None = None):
        import av

        self.path, self.size, self.fps = Path(path), tuple(size), Fraction(fps).limit_denominator(1001000)
        self.frames, self.max_bytes, self.name, self.crf = 0, max_bytes, name or self.path.name, crf
        self.audio, self.sound_note, self._audio, self._container = None, None, None, None
        self.starts: list[float] = []
        self._timeline = Timeline(self.fps, self.name)
        self._held, self._sound_packets = None, 0
        try:
            self._start(audio_from)
        except av.FFmpegError as err:
            refused_sound = self._audio is not None
            self.abort()
            if not refused_sound:
                raise self._failed(err) from None
            # MP4 or the AAC encoder refused the sound (the header is written and the encoders opened here, not at
            # the first frame, so that this can be seen): the pictures go without it rather than not at all.
            self.audio, self.sound_note = None, UNREADABLE_SOUND
            try:
                self._start(None)
            except av.FFmpegError as again:
                self.abort()
                raise self._failed(again) from None

    def _start(self, audio_from) -> None:
        """The file with its streams (every one must exist before the first packet), its header written."""
        import av

        self._container = av.open(str(self.path), "w", format="mp4")
        self.codec, options = _video_codec(*self.size, crf=self.crf)
        self._stream = self._container.add_stream(self.codec, rate=self.fps, options=options)
        self._stream.width, self._stream.height = self.size
        self._stream.pix_fmt = "yuv420p"
        # Frames are stamped with their own times on this clock; ``rate`` stays the average, for the rate control.
        self._stream.codec_context.time_base = TIME_BASE
        if audio_from is not None:
            self._audio = self._open_audio(audio_from)
        self._container.start_encoding()

    def _failed(self, err: Exception) -> VideoError:
        return VideoError(f"{self.name}: the colorized clip could not be written ({_one_line(err, self.path)})")

    @property
    def seconds(self) -> float:
        """How long the output plays: the last frame's end (0 before any frame)."""
        return self._timeline.seconds

    def write(self, rgb: np.ndarray, start: float | None = None, end: float | None = None) -> None:
        import av

        if rgb.shape[1::-1] != self.size:
            raise ValueError(f"frame {self.frames}: size {rgb.shape[1]}x{rgb.shape[0]}, expected {self.size[0]}x{self.size[1]}")
        pts, _ = self._timeline.place(start, end)
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts, frame.time_base = pts, TIME_BASE
        try:
            self._mux_video(self._stream.encode(frame))
        except av.FFmpegError as err:
            raise self._failed(err) from None
        self.frames += 1
        self.starts.append(float(pts * TIME_BASE))
        self._mux_audio(self._timeline.end * TIME_BASE)
        self._check_size()

    def _mux_video(self, packets) -> None:
        """The encoder's packets into the file, the latest held back: ``close`` sets how long it lasts."""
        for packet in packets:
            if self._held is not None:
                self._container.mux(self._held)
            self._held = packet

    def _mux_last_video(self) -> None:
        """The last packet, lasting to the last frame's end. MP4 keeps a sample's length as the gap to the next one's
        decoding time, and the last one's as its packet says: the encoder's 1/rate, and a clip whose last frame was
        held for seconds came out seconds short. (The encoders here reorder no frames, ``_video_codec``: a packet's
        decoding time is its frame's start.)"""
        if self._held is None:
            return
        self._held.duration = max(1, self._timeline.end - self._held.dts)
        self._container.mux(self._held)
        self._held = None

    def close(self) -> None:
        import av

        try:
            self._mux_video(self._stream.encode(None))
            self._mux_last_video()
            self._mux_audio(self._timeline.end * TIME_BASE, last=True)
            self._close_audio()
            self._container.close()
            if self.audio and not self._sound_packets:  # its sound all lay outside the pictures' time: none in the file
                self.audio, self.sound_note = None, self.sound_note or SOUND_OUTSIDE
        except av.FFmpegError as err:
            raise self._failed(err) from None
        self._check_size()  # what FFmpeg still held in its buffer (tens of KB) is on disk now

    def _check_size(self) -> None:
        # FFmpeg creates the file with its first packet: the encoder holds the first frames back (lookahead).
        if self.max_bytes is not None and self.path.is_file() and self.path.stat().st_size > self.max_bytes:
            raise VideoBudgetError(f"{self.name}: the colorized clip passed {self.max_bytes / 2**20:.0f} MB after {self.frames} "
                                   "frames, this server's limit for a result")

    def abort(self) -> None:
        self._close_audio()
        try:
            if self._container is not None:
                self._container.close()
        except Exception:  # noqa: BLE001 - already failing: the file goes anyway
            pass
        self.path.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is None:
            try:
                self.close()
            except BaseException:  # a close that failed (FFmpeg, the size limit): no open file, no partial result
                self.abort()
                raise
        else:
            self.abort()
        return False

    # The sound: (source container, its audio stream, the output stream, a pending item, an iterator
    # of (seconds, packets to mux)), read as far as the pictures written so far.
    def _open_audio(self, path):
        import av

        try:
            source = _av_open(path, self.size[0] * self.size[1])   # the sound's source is the pictures' clip
        except (av.FFmpegError, UnicodeDecodeError, ValueError):
            self.sound_note = UNREADABLE_SOUND
            return None
        if not source.streams.audio:
            source.close()
            return None
        audio = source.streams.audio[0]
        if audio.codec_context.name in MP4_AUDIO:
            out = self._container.add_stream_from_template(audio)
            items, self.audio = self._copied(source, audio, out), "copied"
        else:
            out = self._container.add_stream("aac", rate=_aac_rate(audio.codec_context.sample_rate))
            layout = audio.codec_context.layout.name if audio.codec_context.layout else "stereo"
            out.layout = layout if layout in ("mono", "stereo") else "stereo"
            items, self.audio = self._reencoded(source, audio, out), "re-encoded to AAC"
        return {"source": source, "items": items, "pending": None, "reached": 0}

    @staticmethod
    def _copied(source, audio, out):
        for packet in source.demux(audio):
            if packet.dts is None or packet.pts is None:
                continue
            packet.stream = out
            yield packet.pts * audio.time_base, [packet]

    @staticmethod
    def _reencoded(source, audio, out):
        import av

        resampler = av.AudioResampler(format="fltp", layout=out.layout, rate=out.rate)
        for frame in source.decode(audio):
            start = frame.time or 0.0
            yield Fraction(start).limit_denominator(10**6), [p for f in resampler.resample(frame) for p in out.encode(f)]
        yield None, [p for f in resampler.resample(None) for p in out.encode(f)] + list(out.encode(None))

    def _mux_audio(self, until: Fraction, last: bool = False) -> None:
        """Audio up to ``until`` seconds (``last``: the end of the video; the rest is dropped)."""
        import av

        state = self._audio
        if state is None:
            return
        try:
            while True:
                item = state["pending"] or next(state["items"], None)
                state["pending"] = None
                if item is None:
                    return
                start, packets = item
                if start is not None and start - self._timeline.origin >= until:
                    if not last:
                        state["pending"] = item
                    return
                packets = [p for p in packets if self._on_output_clock(p)]
                self._container.mux(packets)
                self._sound_packets += len(packets)
                if start is not None:
                    state["reached"] = start - self._timeline.origin
        except av.FFmpegError:
            self._close_audio()  # unreadable sound does not cost the picture: the rest goes without it
            self.sound_note = sound_cut_at(state["reached"]) if self._sound_packets else UNREADABLE_SOUND

    def _on_output_clock(self, packet) -> bool:
        """A sound packet moved from the source's clock to the output's, whose 0 is the first frame's start: the sound
        kept the source's times while the pictures started at 0, so a clip whose first frame came 1.5 s in played its
        sound 1.5 s early (session 37's timing audit). False for one that ends before the first frame (left out)."""
        offset = round(Fraction(self._timeline.origin) / packet.time_base) if self._timeline.origin else 0
        if offset:
            packet.pts, packet.dts = packet.pts - offset, packet.dts - offset
        return packet.pts + (packet.duration or 0) > 0 or not offset

    def _close_audio(self) -> None:
        if self._audio is not None:
            self._audio["source"].close()
            self._audio = None
