"""A clip file in, a colorized MP4 out: ``colorize_video``, what the CLI and the Video page call.

Frames stream from the reader through ``frames.FrameColorizer`` into the writer; nothing holds more
than a few frames, whatever the clip's length. The output is written to a hidden file beside the
destination and renamed into place when complete, so a stopped or failed run leaves no half file.
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from colorizer.video.frames import FrameColorizer
from colorizer.video.io import VideoWriter, check_budget, probe, read_frames

__all__ = ["colorize_video", "VideoReport"]


@dataclass
class VideoReport:
    """What a run did: ``frames`` written (``stopped``: Stop was pressed before the end, the file holds
    the frames done), the clip's ``fps``, ``seconds`` of wall time, the video ``codec`` and ``audio``
    ("copied", "re-encoded to AAC" or None), the frames where a scene cut reset the colors, and per
    frame the motion-compensated change of a, b (``temporal.Step``) of the per-frame prediction and of
    the colors shown (NaN at cuts)."""

    frames: int = 0
    fps: float = 0.0
    seconds: float = 0.0
    codec: str = ""
    audio: str | None = None
    stopped: bool = False
    cuts: list[int] = field(default_factory=list)
    change_predicted: list[float] = field(default_factory=list)
    change_carried: list[float] = field(default_factory=list)

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds else 0.0


def colorize_video(source, destination, model, temporal: bool = True, reference=None, hints=None,
                   max_frames: int | None = None, max_pixels: int | None = None,
                   progress: Callable[[int, int], None] | None = None,
                   should_stop: Callable[[], bool] | None = None, **options) -> VideoReport:
    """Colorize the clip ``source`` with the ``Colorizer`` ``model`` into the MP4 ``destination``.

    ``temporal``: carry colors along the motion (False: each frame alone); ``reference`` (uint8 RGB
    photo) / ``hints`` (first frame's, a hint-taking model): keyframe guidance (``frames``);
    ``max_frames``: at most this many; ``max_pixels``: the frames × pixels budget (``io.check_budget``);
    ``progress(done, total)`` after each frame (total: the header's estimate); ``should_stop()``
    checked before each frame: True ends the clip there (the file keeps the frames done); other
    ``options`` go to ``frames.FrameColorizer`` (``network_every``, ...) and through it to the model. Raises
    ``io.VideoError`` (one line naming the file) for an unreadable clip or one beyond the budget."""
    info = probe(source)
    total = check_budget(info, max_frames=max_frames, max_pixels=max_pixels)
    destination = Path(destination)
    partial = destination.with_name(f".{destination.stem}.partial{os.getpid()}.mp4")
    colorizer = FrameColorizer(model, (info.height, info.width), temporal=temporal, reference=reference,
                               hints=hints, **options)
    report = VideoReport(fps=float(info.fps))
    start = time.perf_counter()
    try:
        with VideoWriter(partial, (info.width, info.height), info.fps, audio_from=source) as writer:
            for index, frame in enumerate(read_frames(source, max_frames=max_frames, max_pixels=max_pixels)):
                if should_stop is not None and should_stop():
                    report.stopped = True
                    break
                colored = colorizer.colorize(frame)
                writer.write(colored.rgb)
                if colored.step is not None:
                    if colored.step.cut and index:
                        report.cuts.append(index)
                    report.change_predicted.append(colored.step.change_predicted)
                    report.change_carried.append(colored.step.change_carried)
                if progress is not None:
                    progress(index + 1, max(total, index + 1))
            report.codec, report.audio = writer.codec, writer.audio
        report.frames = writer.frames
        os.replace(partial, destination)
    finally:
        partial.unlink(missing_ok=True)
    report.seconds = time.perf_counter() - start
    return report
