"""A clip file in, a colorized MP4 out: ``colorize_video``, what the CLI and the Video page call.

Frames stream from the reader through ``frames.FrameColorizer`` into the writer; nothing holds more
than a few frames, whatever the clip's length. Decoding and encoding each run in a thread of their own
(``PREFETCH`` frames queued each way): FFmpeg works outside Python's lock, so the next frame decodes
and the last one encodes while the network and the flow run. The output is written to a hidden file
beside the destination and renamed into place when complete, so a stopped or failed run leaves no
half file.
"""
from __future__ import annotations

import inspect
import math
import numbers
import os
import queue
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from colorizer.checkpoints import error_naming
from colorizer.video.frames import FrameColorizer, unguidable_reason
from colorizer.video import io
from colorizer.video.io import Timeline, VideoBudgetError, VideoError, VideoWriter, check_budget, probe, read_frames

__all__ = ["colorize_video", "VideoReport", "PREFETCH"]

PREFETCH = 3   # frames queued between the decoder's thread, the colorizer and the encoder's thread


class _Pipe:
    """A bounded queue between two threads that either side can abandon (``close``) without blocking."""

    def __init__(self, depth: int):
        self._queue: queue.Queue = queue.Queue(depth)
        self.closed = threading.Event()

    def put(self, entry) -> bool:
        while not self.closed.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                pass
        return False

    def get(self):
        while True:
            try:
                return self._queue.get(timeout=0.1)
            except queue.Empty:
                if self.closed.is_set():
                    return ("closed", None)


def _read_ahead(frames, pipe: _Pipe) -> None:
    """The decoder's thread: ``frames`` (a generator, closed here, in its own thread) into ``pipe``."""
    try:
        for frame in frames:
            if not pipe.put(("frame", frame)):
                return
        pipe.put(("end", None))
    except BaseException as err:  # noqa: BLE001 - handed to the consumer, which raises it
        pipe.put(("error", err))
    finally:
        frames.close()


def _write_behind(writer, pipe: _Pipe, failure: list) -> None:
    """The encoder's thread: (frame, (start, end)) from ``pipe`` into ``writer`` until "end"; a failure is kept for
    the caller."""
    while True:
        kind, item = pipe.get()
        if kind != "frame":
            return
        frame, (start, end) = item
        try:
            writer.write(frame, start, end)
        except BaseException as err:  # noqa: BLE001
            failure.append(err)
            pipe.closed.set()
            return


@dataclass
class VideoReport:
    """What a run did: ``frames`` written (``stopped``: Stop was pressed before the end, the file holds
    the frames done), the clip's ``fps`` (its header's average rate), ``seconds`` of wall time, ``written_seconds``
    how long the colorized clip plays (each frame keeps its own time: a variable-rate clip keeps its length) and
    ``starts`` each frame's start in it, the video ``codec`` and ``audio``
    ("copied", "re-encoded to AAC" or None; ``sound_note``: why the clip's sound is missing or cut, ``VideoWriter``'s), the frames where a scene cut reset the colors, and per
    frame the motion-compensated change of a, b (``temporal.Step``) of the per-frame prediction and of
    the colors shown (NaN at cuts). ``cut_short``: the clip had frames beyond ``max_frames`` or
    ``max_seconds``, which were left out. ``damaged``: the clip's packets that could not be decoded, skipped
    (``io.read_frames``; over ``io.MAX_DAMAGED_PACKETS``: the clip was read up to there, the rest left out)."""

    frames: int = 0
    fps: float = 0.0
    seconds: float = 0.0
    codec: str = ""
    audio: str | None = None
    sound_note: str | None = None
    damaged: int = 0
    stopped: bool = False
    cut_short: bool = False
    written_seconds: float = 0.0
    starts: list[float] = field(default_factory=list)
    cuts: list[int] = field(default_factory=list)
    change_predicted: list[float] = field(default_factory=list)
    change_carried: list[float] = field(default_factory=list)

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0

    @property
    def damage_text(self) -> str:
        """What ``damaged`` means, as the command line and the Video page say it ("" for none)."""
        if not self.damaged:
            return ""
        if self.damaged > io.MAX_DAMAGED_PACKETS:   # read at call time: a setting, as read_frames reads it
            return (f"damaged past {io.MAX_DAMAGED_PACKETS:,} parts that could not be decoded: it was colorized up to "
                    "there, the rest is left out")
        return (f"{self.damaged} damaged part{'s' * (self.damaged != 1)} could not be decoded and "
                f"{'were' if self.damaged != 1 else 'was'} skipped: the frames there are missing")


def _colorize_frames(colorizer, incoming: _Pipe, outgoing: _Pipe, failure: list, report: VideoReport, total: int,
                     progress, should_stop) -> None:
    """Frames from the decoder's pipe, colorized, into the encoder's pipe; the report filled as they go."""
    index = 0
    while True:
        kind, item = incoming.get()
        if kind == "error":
            raise item
        if kind != "frame":
            return
        if should_stop is not None and should_stop():
            report.stopped = True
            return
        frame, when = item
        colored = colorizer.colorize(frame)
        if not outgoing.put(("frame", (colored.rgb, when))):
            raise failure[0]
        if colored.step is not None:
            if colored.step.cut and index:
                report.cuts.append(index)
            report.change_predicted.append(colored.step.change_predicted)
            report.change_carried.append(colored.step.change_carried)
        index += 1
        if progress is not None:
            progress(index, max(total, index))


def _at_most(frames, times: list, limit: int | None, max_seconds: float | None, timeline: Timeline,
             report: VideoReport):
    """``frames`` (whose (start, end) ``read_frames`` appends to ``times`` before it yields each) as (frame, (start,
    end)), up to ``limit`` frames and to ``max_seconds`` of the output, each frame placed on it by ``timeline`` as the
    writer will place it. Whether the clip goes on is read from one frame more: if it does (even a frame past a budget
    or of another size), ``report.cut_short`` is set. The inner generator is closed here, in the decoder's thread,
    which closes this one."""
    count = 0
    try:
        for frame in frames:
            start, end = times[count]
            if limit is not None and count >= limit:
                report.cut_short = True
                return
            timeline.place(start, end)
            if max_seconds is not None and timeline.seconds > max_seconds + 1e-6:
                report.cut_short = True
                return
            yield frame, (start, end)
            count += 1
    except VideoError:   # a frame past a budget, where the limits had let no other frame in anyway
        full = (limit is not None and count >= limit) or (
            max_seconds is not None and timeline.seconds + 1 / float(report.fps or 1) > max_seconds)
        if not full:
            raise
        report.cut_short = True
    finally:
        frames.close()


def _check_limits(max_frames, max_seconds) -> None:
    """ValueError naming ``max_frames`` (an integer, at least 1) or ``max_seconds`` (a finite number over 0) when not
    None and not one: 0 or -1 frames wrote an empty clip, a NaN limit failed as "cannot convert float NaN to integer"
    (session 39's API audit)."""
    if max_frames is not None and (isinstance(max_frames, bool) or not isinstance(max_frames, numbers.Integral)
                                   or max_frames < 1):
        raise ValueError(f"max_frames must be an integer of at least 1 (or None: every frame), not {max_frames!r}")
    if max_seconds is not None and (isinstance(max_seconds, bool) or not isinstance(max_seconds, numbers.Real)
                                    or not math.isfinite(max_seconds) or max_seconds <= 0):
        raise ValueError(f"max_seconds must be a finite number over 0 (or None: the whole clip), not {max_seconds!r}")


def _check_model_options(model, options: dict) -> None:
    """The options ``FrameColorizer`` passes on to ``model`` checked as ``Colorizer.colorize`` checks them, before the
    clip is read or the writer opened: a typo failed at the first frame, after the output file was begun. A stand-in
    without ``options`` (the tests') is not checked."""
    from colorizer.models.contract import check_option_values, check_options

    known = getattr(model, "options", None)
    if known is None:
        return
    own = set(inspect.signature(FrameColorizer).parameters) - {"options"}
    passed = {name: value for name, value in options.items() if name not in own}
    check_options(passed, known, model.name)
    check_option_values(passed, model.name, getattr(model, "arch", None))


def colorize_video(source, destination, model, temporal: bool = True, reference=None, hints=None,
                   max_frames: int | None = None, max_pixels: int | None = None, max_seconds: float | None = None,
                   max_bytes: int | None = None, max_frame_pixels: int | None = None,
                   progress: Callable[[int, int], None] | None = None, should_stop: Callable[[], bool] | None = None,
                   **options) -> VideoReport:
    """Colorize the clip ``source`` with the ``Colorizer`` ``model`` into the MP4 ``destination``.

    ``temporal``: carry colors along the motion (False: each frame alone); ``reference`` (uint8 RGB
    photo; ``reference_visible`` in ``options``: the pixels it shows) / ``hints`` (first frame's, a hint-taking
    model): keyframe guidance (``frames``);
    ``max_frames``: at most this many; ``max_pixels``: the frames × pixels budget and ``max_frame_pixels`` a
    frame's (``io.check_budget``, then each frame as it is decoded: a header can understate them);
    ``max_seconds``: at most this much of the output's timeline (each frame keeps its own time), sound included,
    however many frames the header claimed (frames beyond either limit are left out: ``report.cut_short``);
    ``max_bytes``: the output file's limit (``io.VideoBudgetError`` past it);
    ``progress(done, total)`` after each frame (total: the header's estimate); ``should_stop()``
    checked before each frame: True ends the clip there (the file keeps the frames done); other
    ``options`` go to ``frames.FrameColorizer`` (``network_every``, ...) and through it to the model. Raises
    ``io.VideoError`` (one line naming the file) for an unreadable clip or one beyond the budget. ``model`` may also
    be a checkpoint's name or path (``colorizer.load``)."""
    _check_limits(max_frames, max_seconds)
    if isinstance(model, (str, os.PathLike)):   # a name was "'str' object has no attribute 'prepared'" at frame 1
        from colorizer import load

        model = load(model)
    elif not callable(getattr(model, "colorize", None)):
        raise TypeError(f"model must be a Colorizer (colorizer.load(name)) or a checkpoint's name, not {type(model).__name__}")
    _check_model_options(model, options)
    info = probe(source, max_frame_pixels=max_frame_pixels)
    total = check_budget(info, max_frames=max_frames, max_pixels=max_pixels, max_frame_pixels=max_frame_pixels)
    if max_seconds is not None and math.floor(max_seconds * info.fps) < 1:  # one frame would outlast the limit
        raise VideoBudgetError(f"{Path(source).name}: at {float(info.fps):.3g} frames a second one frame lasts "
                               f"{1 / float(info.fps):,.0f} s, over the limit of {max_seconds:g} s")
    unguidable = unguidable_reason((info.height, info.width)) if reference is not None or hints else None
    if unguidable:
        raise VideoError(f"{Path(source).name}: {unguidable}")
    destination = Path(destination)
    partial = destination.with_name(f".{destination.stem}.partial{os.getpid()}.mp4")
    colorizer = FrameColorizer(model, (info.height, info.width), temporal=temporal, reference=reference,
                               hints=hints, **options)
    report = VideoReport(fps=float(info.fps))
    start = time.perf_counter()
    incoming, outgoing, failure, times, damaged = _Pipe(PREFETCH), _Pipe(PREFETCH), [], [], []
    frames = read_frames(source, max_pixels=max_pixels, max_frame_pixels=max_frame_pixels, times=times,
                         damaged=damaged)
    timeline = Timeline(info.fps, Path(source).name)   # as the writer will place the frames: one timeline
    reader = threading.Thread(target=_read_ahead, name="video-decode", daemon=True,
                              args=(_at_most(frames, times, max_frames, max_seconds, timeline, report), incoming))
    try:
        with VideoWriter(partial, (info.width, info.height), info.fps, audio_from=source, max_bytes=max_bytes,
                         name=Path(source).name) as writer:
            encoder = threading.Thread(target=_write_behind, name="video-encode", daemon=True,
                                       args=(writer, outgoing, failure))
            reader.start()
            encoder.start()
            try:
                _colorize_frames(colorizer, incoming, outgoing, failure, report, total, progress, should_stop)
            except BaseException:  # the encoder's thread lets go of the writer before the writer aborts
                outgoing.closed.set()
                encoder.join()
                raise
            outgoing.put(("end", None))
            encoder.join()
            if failure:
                raise failure[0]
        # After the writer closed: whether any sound reached the file is known only then.
        report.codec, report.audio, report.sound_note = writer.codec, writer.audio, writer.sound_note
        report.frames, report.written_seconds, report.starts = writer.frames, writer.seconds, writer.starts
        report.damaged = len(damaged)
        try:
            os.replace(partial, destination)
        except OSError as err:  # name the user's file, not the hidden partial one
            raise error_naming(err, destination) from err
    finally:
        incoming.closed.set()
        if reader.ident is not None:
            reader.join()
        partial.unlink(missing_ok=True)
    report.seconds = time.perf_counter() - start
    return report
