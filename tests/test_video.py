"""Video: colors that follow motion without flicker, scene cuts, clip I/O, budgets, memory, the CLI form.

Most tests use ``Oracle``, a stand-in for a ``Colorizer`` whose "prediction" of each frame is the
truth's a, b plus seeded noise that changes every frame (the flicker of a per-frame colorizer), so
values can be checked; the CLI tests run the real pipeline with the tiny checkpoints.
"""
from __future__ import annotations

import dataclasses
import os
import re
import resource
import struct
import tracemalloc
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from colorizer import lab8
from colorizer.cli import main
from colorizer.color import luminance, resize, rgb_to_lab
from colorizer.video import measure, synthetic
from colorizer.video.frames import FrameColorizer
from colorizer.video.io import VideoError, VideoWriter, check_budget, probe, read_frames
from colorizer.video.pipeline import colorize_video
from colorizer.video.temporal import CarriedColors

RED_AB = rgb_to_lab(np.array([[[200, 40, 40]]], np.uint8))[0, 0, 1:]
BLUE_AB = rgb_to_lab(np.array([[[40, 60, 200]]], np.uint8))[0, 0, 1:]


class Oracle:
    """A ``Colorizer`` stand-in: frame t's prediction is the truth's a, b on a 16×16 grid, plus noise
    (one color shift for the whole frame and one per cell), fresh every frame, seeded."""

    arch = None
    name = "oracle"
    takes_hints = False

    def __init__(self, truth: np.ndarray | None = None, noise: float = 8.0, seed: int = 0, grid: int = 16):
        self.truth, self.noise, self.grid = truth, noise, grid
        self.rng = np.random.default_rng(seed)
        self.index = -1
        self.predictions = 0

    def prepared(self, image):
        self.index += 1
        return lab8.lightness8(image), np.zeros((1, 1, 1, 1), np.float32)

    def predict_ab(self, x, **options):
        self.predictions += 1
        if self.truth is None:
            ab = np.zeros((self.grid, self.grid, 2), np.float32)
        else:
            ab = resize(rgb_to_lab(self.truth[self.index])[..., 1:], (self.grid, self.grid))
        shift = self.rng.normal(0, self.noise, 2) + self.rng.normal(0, self.noise / 2, ab.shape)
        return (ab + shift).astype(np.float32)[None]

    def join(self, L8, ab):
        return lab8.join(L8, ab)

    def colorize(self, image, **options):
        L8, x = self.prepared(image)
        return self.join(L8, self.predict_ab(x)[0])


def square_ab(rgb: np.ndarray, t: int, side: int = 20, step: int = 3, cut_at: int | None = None) -> np.ndarray:
    """Mean a, b of the inner part of the moving square of ``synthetic.moving_square`` in frame t."""
    x, y = synthetic.square_position(t, rgb.shape[1::-1], side, step, cut_at)
    return rgb_to_lab(rgb[y + 5:y + side - 5, x + 5:x + side - 5])[..., 1:].reshape(-1, 2).mean(axis=0)


def run(clip, temporal: bool, noise: float = 8.0, **kwargs) -> tuple[list[np.ndarray], list]:
    model = Oracle(clip.truth, noise=noise, seed=3)
    colorizer = FrameColorizer(model, clip.gray.shape[1:3], temporal=temporal, **kwargs)
    results = [colorizer.colorize(frame) for frame in clip.gray]
    return [r.rgb for r in results], [r.step for r in results]


def test_moving_square_keeps_its_color_without_flicker():
    clip = synthetic.moving_square(frames=20, size=(96, 64), step=3)
    per_frame, _ = run(clip, temporal=False)
    carried, steps = run(clip, temporal=True, network_every=1)
    exact, _ = run(clip, temporal=False, noise=0.0)        # what the oracle sees, blurred by its 16×16 grid
    per_frame_ab, carried_ab, exact_ab = (np.array([square_ab(rgb, t) for t, rgb in enumerate(frames)])
                                          for frames in (per_frame, carried, exact))
    # The color follows the square: every frame's square is red, near what a noiseless guess gives.
    assert np.all(np.linalg.norm(exact_ab - RED_AB, axis=1) < 20), exact_ab
    # (after the first few frames: the first frame's guess, as noisy as any, weighs on them)
    assert np.all(np.linalg.norm(carried_ab[4:] - exact_ab[4:], axis=1) < 8), carried_ab - exact_ab
    # ... and flickers far less than each frame's own guess: frame-to-frame change of its mean a, b.
    flicker = lambda ab: float(np.mean(np.linalg.norm(np.diff(ab, axis=0), axis=1)))
    assert flicker(carried_ab[4:]) < 0.5 * flicker(per_frame_ab[4:]), (flicker(carried_ab), flicker(per_frame_ab))
    assert not any(step.cut for step in steps[1:])
    assert all(step.valid_share > 0.8 for step in steps[1:])
    # The carried blend's own change (the chart's curve) is well below the prediction's.
    assert np.nanmean([s.change_carried for s in steps]) < 0.5 * np.nanmean([s.change_predicted for s in steps])


def test_output_keeps_each_frames_lightness():
    clip = synthetic.moving_square(frames=6, size=(64, 48))
    carried, _ = run(clip, temporal=True)
    for gray, rgb in zip(clip.gray, carried):
        in_gamut = np.linalg.norm(rgb_to_lab(rgb)[..., 1:], axis=2) < 40
        assert np.abs(luminance(rgb) - luminance(gray))[in_gamut].max() <= 1.0


def test_scene_cut_resets_the_colors():
    clip = synthetic.moving_square(frames=16, size=(96, 64), cut_at=8)
    carried, steps = run(clip, temporal=True, network_every=2)
    assert [t for t, step in enumerate(steps) if step.cut] == [0, 8]
    # The first frame after the cut is the new scene's own colors: a blue square, nothing red carried over.
    after = square_ab(carried[8], 8, cut_at=8)
    assert np.linalg.norm(after - BLUE_AB) < 25, after
    assert np.linalg.norm(after - RED_AB) > 40


def test_network_every_second_frame_runs_the_network_half_as_often():
    clip = synthetic.moving_square(frames=12, size=(64, 48), step=2)
    model = Oracle(clip.truth)
    colorizer = FrameColorizer(model, clip.gray.shape[1:3], network_every=2)
    colored = [colorizer.colorize(frame) for frame in clip.gray]
    assert model.predictions == 6
    assert all(np.isnan(c.step.change_predicted) for c in colored[1::2])   # skipped: no prediction of its own
    assert np.all(np.linalg.norm(np.array([square_ab(c.rgb, t, step=2) for t, c in enumerate(colored)]) - RED_AB, axis=1) < 25)


@pytest.mark.slow
def test_each_frame_alone_with_a_reference_takes_its_colors(tiny_colorizers):
    """``temporal=False`` with a reference: every frame is matched to the keyframe colored from the
    reference, and joined, frame by frame (no carried colors). The reference is the first frame itself, all
    one green: the frames come out green, where the tiny model alone paints them nearly gray."""
    from colorizer.color import lab_to_rgb

    model = tiny_colorizers["hypercolumn"]
    clip = synthetic.moving_square(frames=3, size=(64, 48))
    lab = rgb_to_lab(np.repeat(clip.gray[0][..., None], 3, axis=2))
    lab[..., 0] = np.clip(lab[..., 0], 35, 80)   # keep the tint inside the sRGB gamut
    lab[..., 1], lab[..., 2] = -25.0, 30.0
    green = np.array([-25.0, 30.0])
    median_ab = lambda rgb: np.median(rgb_to_lab(rgb)[..., 1:].reshape(-1, 2), axis=0)  # noqa: E731
    for reference, near_green in ((lab_to_rgb(lab), True), (None, False)):
        colorizer = FrameColorizer(model, clip.gray.shape[1:3], temporal=False, reference=reference)
        for t, frame in enumerate(clip.gray):
            colored = colorizer.colorize(frame)
            assert colored.step is None                                  # each frame alone: nothing carried
            distance = np.linalg.norm(median_ab(colored.rgb) - green)
            assert (distance < 12) if near_green else (distance > 25), (t, reference is not None, distance)


def test_carried_colors_follow_a_translation():
    rng = np.random.default_rng(0)
    texture = (resize(rng.uniform(40, 220, (24, 32)).astype(np.float32), (96, 128))).astype(np.uint8)
    ab = np.zeros((96, 128, 2), np.float32)
    ab[30:60, 40:80] = (50, -20)
    carried = CarriedColors((96, 128), history=4)
    carried.step(texture, ab)
    moved = np.roll(texture, 3, axis=1)
    step = carried.step(moved, np.zeros_like(ab))   # a gray guess: history (weight 1) against it (weight 1)
    assert step.valid_share > 0.8 and not step.cut
    assert np.allclose(step.ab[40:50, 50:70], (25, -10), atol=3)     # half the carried color, moved with the texture
    assert np.abs(step.ab[40:50, 85:95]).max() < 3                    # not dragged beyond where it was


def test_a_clip_smaller_than_the_flow_needs_is_taken_as_still():
    """Finding (session 33's audit): a 10×10 animated GIF (or a 2×2 AVI) failed with OpenCV's "The input image must
    have either width or height >= 12" as a traceback from the CLI and the page: DIS flow needs a 12-px side. Such a
    clip is taken as still: its colors are carried in place from frame to frame."""
    texture = np.random.default_rng(0).uniform(40, 220, (10, 10)).astype(np.uint8)
    ab = np.zeros((10, 10, 2), np.float32)
    ab[:, :5] = (40, 20)
    carried = CarriedColors((10, 10), history=4)
    carried.step(texture, ab)
    step = carried.step(texture, np.zeros_like(ab))
    assert not step.cut and step.valid_share == 1.0
    assert np.allclose(step.ab[:, :5], (20, 10), atol=1) and np.abs(step.ab[:, 5:]).max() < 1e-3  # history vs gray


def test_thin_clips_flow_without_crashing_the_process():
    """Session 38's hostile-input audit: a 640×48 clip (its grid 320×24) crashed the whole server in OpenCV's DIS
    flow (SIGSEGV: one upload, every visitor's session gone), and a 4000×2 clip raised OpenCV's error as a traceback.
    No pyramid level is finer than a patch now, and a grid thinner than one is taken as still. In a child process:
    a crash cannot be caught in this one."""
    import subprocess
    import sys

    child = (
        "import numpy as np\n"
        "from colorizer.video.temporal import CarriedColors\n"
        "for h, w in ((24, 320), (25, 320), (12, 240), (15, 160), (320, 20), (8, 320), (7, 320), (1, 320), (2, 300)):\n"
        "    rng = np.random.default_rng(0)\n"
        "    texture = rng.uniform(40, 220, (h, w + 4)).astype(np.uint8)\n"
        "    carried = CarriedColors((h, w))\n"
        "    ab = np.zeros((h, w, 2), np.float32)\n"
        "    carried.step(texture[:, :w], ab)\n"
        "    step = carried.step(texture[:, 2:w + 2], ab)\n"
        "    print(h, w, round(float(step.valid_share), 2))\n")
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr[-2000:]
    shares = {tuple(map(int, line.split()[:2])): float(line.split()[2]) for line in done.stdout.splitlines()}
    assert len(shares) == 9
    assert shares[(24, 320)] > 0.5 and shares[(320, 20)] > 0.5   # thin, but the flow still follows the pan


def test_carried_colors_weigh_at_most_history_frames_against_a_new_prediction():
    """However long a still scene lasts, its carried colors weigh at most ``history`` frames: a new prediction
    then moves them by 1 / (history + 1) of the way (history 2: a third), not by less and less every frame."""
    rng = np.random.default_rng(1)
    texture = resize(rng.uniform(40, 220, (24, 32)).astype(np.float32), (96, 128)).astype(np.uint8)
    old, new = np.array([30.0, -20.0], np.float32), np.array([-30.0, 40.0], np.float32)
    carried = CarriedColors((96, 128), history=2)
    for _ in range(6):  # a still scene predicted one color: its history fills up, then stays at 2 frames
        carried.step(texture, np.broadcast_to(old, (96, 128, 2)).copy())
    step = carried.step(texture, np.broadcast_to(new, (96, 128, 2)).copy())
    assert step.valid_share > 0.9 and not step.cut
    np.testing.assert_allclose(step.ab[10:-10, 10:-10], np.broadcast_to((2 * old + new) / 3, (76, 108, 2)), atol=0.5)


def test_flicker_meter_undoes_known_motion():
    clip = synthetic.camera_clip(synthetic_photo(), frames=4, size=(64, 36), motion="pan", aged=False)
    meter, still = measure.FlickerMeter(block=4), measure.FlickerMeter(block=4)
    for t, truth in enumerate(clip.truth):
        meter.add(truth, clip.previous_coordinates(t) if t else None)
        identity = np.meshgrid(np.arange(64, dtype=np.float32), np.arange(36, dtype=np.float32))
        still.add(truth, identity if t else None)
    assert meter.value < 1.5            # the truth, the motion undone: its colors hardly change
    assert still.value > 2 * meter.value


def synthetic_photo() -> np.ndarray:
    from conftest import make_photo

    return make_photo(120, 160, seed=4)


def test_camera_clip_gray_and_truth_share_lightness():
    clip = synthetic.camera_clip(synthetic_photo(), frames=3, size=(64, 36), motion="zoom", seed=1)
    assert clip.gray.shape == (3, 36, 64) and clip.truth.shape == (3, 36, 64, 3)
    for gray, truth in zip(clip.gray, clip.truth):
        in_gamut = np.linalg.norm(rgb_to_lab(truth)[..., 1:], axis=2) < 40
        assert np.abs(luminance(truth) - luminance(gray))[in_gamut].mean() < 0.5


# -- clips in and out --------------------------------------------------------------------------------

def tone(seconds: float) -> np.ndarray:
    """A 440 Hz sine of ``seconds`` at 22,050 Hz, float32."""
    return (0.2 * np.sin(2 * np.pi * 440 * np.arange(int(22050 * seconds)) / 22050)).astype(np.float32)


def sound_stream(container):
    """A mono AAC stream at 22,050 Hz in ``container`` (every stream must exist before the first packet)."""
    audio = container.add_stream("aac", rate=22050)
    audio.layout = "mono"
    return audio


def mux_sound(container, audio, samples: np.ndarray) -> None:
    """Mono float32 ``samples`` at 22,050 Hz through ``audio`` (an AAC stream of ``container``), from time 0."""
    for start in range(0, len(samples), 1024):
        chunk = av.AudioFrame.from_ndarray(samples[None, start:start + 1024], format="fltp", layout="mono")
        chunk.sample_rate, chunk.pts = 22050, start
        container.mux(audio.encode(chunk))
    container.mux(audio.encode(None))


def write_clip(path, frames, fps=12, audio_seconds: float | None = None, rotation: int = 0):
    """uint8 gray or RGB frames → an MP4 (with a sine tone of ``audio_seconds`` in AAC; ``rotation``: its display
    matrix's, degrees counterclockwise, as a phone writes a portrait clip)."""
    frames = [np.repeat(f[..., None], 3, 2) if f.ndim == 2 else f for f in frames]
    height, width = frames[0].shape[:2]
    container = av.open(str(path), "w")
    video = container.add_stream("libx264", rate=fps, options={"crf": "10"})
    video.width, video.height, video.pix_fmt = width, height, "yuv420p"
    if rotation:
        video.set_display_rotation(rotation)
    audio = sound_stream(container) if audio_seconds else None
    for i, frame in enumerate(frames):
        image = av.VideoFrame.from_ndarray(frame, format="rgb24")
        image.pts = i
        container.mux(video.encode(image))
    container.mux(video.encode(None))
    if audio is not None:
        mux_sound(container, audio, tone(audio_seconds))
    container.close()
    return path


def test_clip_through_the_pipeline_keeps_count_rate_size_lightness_and_sound(tmp_path):
    clip = synthetic.moving_square(frames=24, size=(96, 64))
    source = write_clip(tmp_path / "in.mp4", clip.gray, fps=12, audio_seconds=2.0)
    report = colorize_video(source, tmp_path / "out.mp4", Oracle(clip.truth))
    info = probe(tmp_path / "out.mp4")
    assert (report.frames, info.frames, info.width, info.height, info.fps) == (24, 24, 96, 64, 12)
    assert info.codec == "h264" and info.has_audio and report.audio == "copied" and report.sound_note is None
    container = av.open(str(tmp_path / "out.mp4"))
    seconds = float(container.streams.audio[0].duration * container.streams.audio[0].time_base)
    container.close()
    assert abs(seconds - 2.0) < 0.15
    for t, (given, out) in enumerate(zip(read_frames(source), read_frames(tmp_path / "out.mp4"))):
        assert np.abs(luminance(out) - luminance(given)).mean() < 1.5     # H.264 at CRF 18, both ways
        assert np.linalg.norm(square_ab(out, t) - RED_AB) < 25             # the colors reach the file (gray: 73)
    assert not (tmp_path / ".out.partial").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4", "out.mp4"]


def test_a_phone_clip_stored_sideways_is_read_and_written_upright(tmp_path):
    """The video audit (session 36): a portrait phone clip (stored 320x180 with a display rotation of -90°) came back
    sideways, hints and references matched on the sideways frames. Its frames are turned as players show them."""
    frames = []
    for _ in range(3):
        frame = np.full((32, 64, 3), 128, np.uint8)
        frame[:, :8] = [220, 40, 40]  # red along the stored frame's left edge: clockwise, along the top
        frames.append(frame)
    source = write_clip(tmp_path / "phone.mp4", frames, rotation=-90)
    info = probe(source)
    assert (info.width, info.height, info.rotation) == (32, 64, 270)
    first = next(read_frames(source))
    assert first.shape == (64, 32, 3)
    assert first[:6, :, 0].mean() > 200 and first[10:, :, 0].mean() < 150  # red at the top, nowhere else
    report = colorize_video(source, tmp_path / "out.mp4", Oracle(np.stack([np.rot90(f, -1) for f in frames])))
    out = probe(tmp_path / "out.mp4")
    assert (report.frames, out.width, out.height, out.rotation) == (3, 32, 64, 0)  # written upright, no rotation left


def write_uneven_clip(path, times_ms=(0, 40, 80, 1000, 2000, 3000), audio_seconds: float | None = None):
    """Frames at irregular times (a variable frame rate: a screen recording, an edited clip) → an MP4, each frame a
    gray of its own (10, 40, 70, ...), with a tone of ``audio_seconds`` in AAC. No B-frames, as screen recorders
    write: each frame's length is then its own (the last one's 1/25 s)."""
    from fractions import Fraction

    container = av.open(str(path), "w")
    video = container.add_stream("libx264", rate=25, options={"x264-params": "bframes=0"})
    video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
    video.codec_context.time_base = Fraction(1, 1000)
    audio = sound_stream(container) if audio_seconds else None
    for index, t in enumerate(times_ms):
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 10 + 30 * index, np.uint8), format="rgb24")
        frame.pts, frame.time_base = t, Fraction(1, 1000)
        container.mux(video.encode(frame))
    container.mux(video.encode(None))
    if audio is not None:
        mux_sound(container, audio, tone(audio_seconds))
    container.close()
    return path


def mp4_header_seconds(path) -> float:
    """The length an MP4's movie header (``mvhd``) gives, as a player that reads it would show it."""
    data = Path(path).read_bytes()
    at = data.index(b"mvhd") + 4
    version = data[at]
    if version == 1:
        timescale, duration = struct.unpack(">IQ", data[at + 20:at + 32])
    else:
        timescale, duration = struct.unpack(">II", data[at + 12:at + 20])
    return duration / timescale


def played(path) -> tuple[list[float], float, float | None]:
    """(each frame's start, how long the file plays as FFmpeg reads it, its sound's length or None) of an MP4."""
    times = []
    frames = list(read_frames(path, times=times))
    assert frames
    container = av.open(str(path))
    sound = container.streams.audio[0] if container.streams.audio else None
    length = container.duration / 1e6
    heard = float(sound.duration * sound.time_base) if sound is not None else None
    container.close()
    return [start for start, _ in times], length, heard


def test_a_clip_of_unevenly_spaced_frames_keeps_each_frames_time_and_its_sound(tmp_path, capsys,
                                                                            installed_tiny_checkpoints):
    """The video audit (session 36): a clip of 20 frames over 4 s came out 0.8 s long, its sound cut to that. Each
    frame now keeps its own time. The last frames, seconds apart, are where H.264's reordered frames had cut the file
    short (its last sample lasting 1/25 s from a decoding time that runs frames behind)."""
    source = write_uneven_clip(tmp_path / "screen.mp4", audio_seconds=3.0)
    report = colorize_video(source, tmp_path / "out.mp4", Oracle(noise=0))
    starts, length, heard = played(tmp_path / "out.mp4")
    assert report.frames == 6 and starts == pytest.approx([0, 0.04, 0.08, 1.0, 2.0, 3.0], abs=1e-3)
    assert report.starts == pytest.approx(starts, abs=1e-3)
    assert report.written_seconds == pytest.approx(3.04, abs=1e-3) and length == pytest.approx(3.04, abs=0.01)
    assert report.audio == "copied" and heard == pytest.approx(3.0, abs=0.1)
    grays = [frame.mean() for frame in read_frames(tmp_path / "out.mp4")]
    assert grays == pytest.approx([10, 40, 70, 100, 130, 160], abs=3)   # each frame at its own time, in order
    again = colorize_video(tmp_path / "out.mp4", tmp_path / "again.mp4", Oracle(noise=0))  # our own output again
    assert again.starts == pytest.approx(starts, abs=1e-3) and again.written_seconds == pytest.approx(3.04, abs=1e-3)
    # The MP4's own header says that length too (with B-frames it said 4.96 s: session 37's timing audit), and its
    # decoding times never run behind the pictures'.
    assert mp4_header_seconds(tmp_path / "out.mp4") == pytest.approx(3.04, abs=0.01)
    container = av.open(str(tmp_path / "out.mp4"))
    assert all(p.dts == p.pts for p in container.demux(container.streams.video[0]) if p.size)
    container.close()
    assert main(["video", str(source), "-o", str(tmp_path / "cli.mp4"), "--arch", "cifar_ae"]) == 0
    assert "note: " not in capsys.readouterr().err
    assert played(tmp_path / "cli.mp4")[:2] == (pytest.approx(starts, abs=1e-3), pytest.approx(3.04, abs=0.01))


def write_late_clip(path, video_from: float = 1.5, sound_seconds: float = 3.5):
    """2 s of frames (25 fps) starting ``video_from`` s into the clip, and AAC sound from 0 with a click at each
    whole second (a camcorder's or a trimmed clip's first frame comes late; its sound does not)."""
    from fractions import Fraction

    container = av.open(str(path), "w")
    video = container.add_stream("libx264", rate=25, options={"x264-params": "bframes=0"})
    video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
    video.codec_context.time_base = Fraction(1, 1000)
    audio = sound_stream(container)
    for index in range(50):
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 100, np.uint8), format="rgb24")
        frame.pts, frame.time_base = round(1000 * video_from) + 40 * index, Fraction(1, 1000)
        container.mux(video.encode(frame))
    container.mux(video.encode(None))
    samples = np.zeros(int(22050 * sound_seconds), np.float32)
    for second in range(int(sound_seconds) + 1):
        samples[second * 22050:second * 22050 + 110] = 0.9
    mux_sound(container, audio, samples)
    container.close()
    return path


def clicks(path) -> list[float]:
    """Where a clip's sound clicks (loud samples, one a second), in seconds, the first frame's start taken as 0."""
    with av.open(str(path)) as container:
        first = float(next(container.decode(video=0)).time)
    container = av.open(str(path))
    found = []
    for frame in container.decode(audio=0):
        loud = np.flatnonzero(np.abs(frame.to_ndarray()[0]) > 0.5)
        for k in loud:
            at = float(frame.time) + k / frame.sample_rate - first
            if not found or at - found[-1] > 0.2:
                found.append(at)
    container.close()
    return found


def test_the_sound_stays_in_step_when_the_first_frame_comes_late(tmp_path):
    """Session 37's timing audit: the pictures were moved to start at 0 and the sound kept the source's times, so a
    clip whose first frame came 1.5 s in played its sound 1.5 s early (and lost 1.5 s of it at the end). The sound
    is moved with the pictures; what lies before the first frame is left out."""
    source = write_late_clip(tmp_path / "late.mp4")
    assert clicks(source) == pytest.approx([-1.5, -0.5, 0.5, 1.5], abs=0.01)
    report = colorize_video(source, tmp_path / "out.mp4", Oracle(noise=0))
    assert report.audio == "copied" and report.written_seconds == pytest.approx(2.0, abs=1e-3)
    assert clicks(tmp_path / "out.mp4") == pytest.approx([0.5, 1.5], abs=0.03)
    # Sound that lies wholly before the first frame: no track, and the report does not say "copied".
    silent = colorize_video(write_late_clip(tmp_path / "early.mp4", sound_seconds=1.2), tmp_path / "out2.mp4",
                            Oracle(noise=0))
    assert silent.audio is None and played(tmp_path / "out2.mp4")[2] is None
    assert silent.sound_note == "it lies outside the frames colorized"   # session 38: it was called unreadable


def test_an_evenly_spaced_clip_stays_evenly_spaced(tmp_path):
    clip = synthetic.moving_square(frames=6, size=(64, 48))
    report = colorize_video(write_clip(tmp_path / "even.mp4", clip.gray, fps=12), tmp_path / "out.mp4", Oracle(clip.truth))
    starts, length, _ = played(tmp_path / "out.mp4")
    assert starts == pytest.approx([k / 12 for k in range(6)], abs=1e-4) and length == pytest.approx(0.5, abs=1e-3)
    assert report.written_seconds == pytest.approx(0.5, abs=1e-6) and probe(tmp_path / "out.mp4").fps == 12


def test_the_timeline_places_frames_as_the_writer_and_the_time_limit_both_count_them():
    """Session 37's review: the page's time limit had its own rule for where a frame lands (it restarted at the first
    frame with a time; a start with no end counted 1/fps), and let 20 frames into 1 s, or a frame at 100 s. One
    ``Timeline`` now places frames for both."""
    from colorizer.video.io import MAX_GAP_S, TIME_BASE, Timeline

    nan = float("nan")
    timeline = Timeline(10, "clip.mkv")
    placed = [timeline.place(start, end) for start, end in
              [(nan, nan), (nan, nan), (100.0, 100.1), (100.05, nan), (100.05, 100.2), (None, None)]]
    np.testing.assert_allclose([(float(pts * TIME_BASE), float(ticks * TIME_BASE)) for pts, ticks in placed],
                               [(0, 0.1), (0.1, 0.1), (0.2, 0.1), (0.25, 0.1), (0.25 + 1 / 90_000, 0.15),
                                (0.4 + 1 / 90_000, 0.1)], atol=1e-9)
    with pytest.raises(VideoError, match=r"^clip.mkv: frame 6 starts 13 h after the one before it; an MP4 holds at "
                                         r"most 12 h between frames$"):
        timeline.place(100.05 + MAX_GAP_S + 3600, nan)


def test_frames_far_apart_are_one_line_on_the_command_line(tmp_path, capsys, installed_tiny_checkpoints):
    """Session 37's review: a frame 2^61 ms after the one before overflowed the writer's pts (a traceback), and one
    14 h after it failed in FFmpeg as "Not yet implemented"."""
    source = write_uneven_clip(tmp_path / "far.mp4", times_ms=(0, 40, 14 * 3600 * 1000))
    assert main(["video", str(source), "-o", str(tmp_path / "out.mp4"), "--arch", "cifar_ae"]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1] == (
        f"error: {source}: frame 2 starts 14 h after the one before it; an MP4 holds at most 12 h between frames")
    assert not (tmp_path / "out.mp4").exists()


def test_a_clip_too_small_to_guide_is_refused_before_any_work(tmp_path, capsys, installed_tiny_checkpoints,
                                                                tiny_colorizers):
    """Session 38's review: the colored first frame is matched as a reference photo is; a 24×24 clip failed at its
    first frame with the reference photo's error ("reference 1: …", exit 1, even for --hints). Now a VideoError
    naming the clip, before the output is begun, and exit 2 on the command line before TensorFlow loads."""
    source = tmp_path / "tiny.mp4"
    write_clip(source, [np.full((24, 24, 3), 90 + 10 * i, np.uint8) for i in range(3)])
    reference = np.zeros((64, 64, 3), np.uint8)
    reference[..., 0] = 200
    with pytest.raises(VideoError, match=r"^tiny.mp4: frames of 24×24 px are too small or too narrow to carry"):
        colorize_video(source, tmp_path / "out.mp4", tiny_colorizers["cifar_ae"], reference=reference)
    assert not (tmp_path / "out.mp4").exists()
    Image.fromarray(reference).save(tmp_path / "ref.png")
    assert main(["video", str(source), "-o", str(tmp_path / "out.mp4"), "--arch", "cifar_ae",
                 "--reference", str(tmp_path / "ref.png")]) == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"error: {source}: frames of 24×24 px are too small or too narrow to carry a reference's or hints' colors (at "
        "least 32 px a side, at most 20 times as long as wide); colorize it automatically"]
    assert main(["video", str(source), "-o", str(tmp_path / "out.mp4"), "--arch", "cifar_ae"]) == 0  # automatic


@pytest.mark.slow
def test_a_clip_damaged_in_its_middle_keeps_the_frames_after_the_damage(tmp_path, capsys, installed_tiny_checkpoints,
                                                                       monkeypatch):
    """Session 38's hostile-input audit: a clip whose middle third was overwritten stopped at the damage (100 frames of
    300), and the page said "all of them were colorized". The packets FFmpeg cannot decode are skipped, as players
    skip them, and counted; the command line says so."""
    rng = np.random.default_rng(0)
    source = write_clip(tmp_path / "damaged.mp4", [rng.integers(0, 255, (48, 64, 3), np.uint8) for _ in range(90)])
    data = bytearray(source.read_bytes())
    third = len(data) // 3
    data[third:2 * third] = rng.integers(0, 255, third, np.uint8).tobytes()
    source.write_bytes(bytes(data))
    damaged = []
    frames = sum(1 for _ in read_frames(source, damaged=damaged))
    assert damaged and 45 <= frames < 90, (frames, len(damaged))   # the last third's frames, not only the first's
    assert main(["video", str(source), "-o", str(tmp_path / "out.mp4"), "--arch", "cifar_ae"]) == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"note: {source}: {len(damaged)} damaged parts could not be decoded and were skipped: the "
                       "frames there are missing")
    assert probe(tmp_path / "out.mp4").frames == frames
    # Past the cap the clip ends there, and says so (session 38's review: it ended without a word).
    from colorizer.video import io

    monkeypatch.setattr(io, "MAX_DAMAGED_PACKETS", 3)
    capped = []
    assert sum(1 for _ in read_frames(source, damaged=capped)) < frames and len(capped) == 4
    report = colorize_video(source, tmp_path / "capped.mp4", Oracle())
    assert report.damaged == 4 and report.damage_text == (
        "damaged past 3 parts that could not be decoded: it was colorized up to there, the rest is left out")


def test_a_clip_whose_file_gives_no_count_is_not_said_to_fall_short_of_it(tmp_path, capsys, installed_tiny_checkpoints):
    """Session 38's review: an MKV (no frame count: its length × rate, "about") whose sound outlasts its pictures was
    said to hold "6 frames, not the 24 its header announced … (a file cut short?)"."""
    path = tmp_path / "sound_longer.mkv"
    container = av.open(str(path), "w", format="matroska")
    video = container.add_stream("libx264", rate=12)
    video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
    audio = sound_stream(container)
    for i in range(6):
        frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 30 * i, np.uint8), format="rgb24")
        frame.pts = i
        container.mux(video.encode(frame))
    container.mux(video.encode(None))
    mux_sound(container, audio, tone(2.0))
    container.close()
    info = probe(path)
    assert info.estimated and info.frames > 6
    assert main(["video", str(path), "-o", str(tmp_path / "out.mp4"), "--arch", "cifar_ae"]) == 0
    assert "header announced" not in capsys.readouterr().err


def test_a_gifs_own_delays_are_kept_at_an_odd_size(tmp_path):
    """A GIF's frames each have their own delay (the last one held half a second); at 37×23 the output is VP9."""
    frames = [Image.fromarray(np.full((23, 37, 3), 20 + 40 * i, np.uint8)) for i in range(5)]
    frames[0].save(tmp_path / "var.gif", save_all=True, append_images=frames[1:], duration=[100, 100, 1000, 200, 500])
    report = colorize_video(tmp_path / "var.gif", tmp_path / "out.mp4", Oracle(noise=0))
    assert report.codec == "libvpx-vp9" and report.written_seconds == pytest.approx(1.9, abs=1e-3)
    assert played(tmp_path / "out.mp4")[:2] == (pytest.approx([0, 0.1, 0.2, 1.2, 1.4], abs=1e-3),
                                                 pytest.approx(1.9, abs=0.01))


def test_max_seconds_counts_a_variable_rate_clips_own_time(tmp_path):
    """The page's limit in seconds is the output's time, each frame's own: the frame shown from 1 s to 2 s passes a
    limit of 1.5 s, and the clip ends where the frame before it does."""
    source = write_uneven_clip(tmp_path / "screen.mp4", times_ms=(0, 40, 80, 1000, 2000, 2040, 2080, 2120))
    report = colorize_video(source, tmp_path / "out.mp4", Oracle(), max_seconds=1.5)
    assert (report.frames, report.cut_short) == (3, True) and report.written_seconds == pytest.approx(1.0, abs=1e-3)
    assert played(tmp_path / "out.mp4")[1] == pytest.approx(1.0, abs=0.01)
    whole = colorize_video(source, tmp_path / "whole.mp4", Oracle(), max_seconds=2.16)
    assert (whole.frames, whole.cut_short) == (8, False) and whole.written_seconds == pytest.approx(2.16, abs=1e-3)


def test_the_writer_keeps_order_where_a_clip_gives_no_or_broken_times(tmp_path):
    """Frames with no time follow the last one at 1/fps; a time at or before the previous frame's follows it by a
    tick (MP4 needs them to grow)."""
    with VideoWriter(tmp_path / "out.mp4", (64, 48), 10) as writer:
        for start, end in [(5.0, 5.5), (float("nan"), float("nan")), (5.2, 5.3), (None, None), (7.0, float("nan"))]:
            writer.write(np.zeros((48, 64, 3), np.uint8), start, end)
    assert writer.starts == pytest.approx([0, 0.5, 0.5 + 1 / 90_000, 0.6 + 1 / 90_000, 2.0], abs=1e-6)
    assert writer.seconds == pytest.approx(2.1, abs=1e-6)
    assert played(tmp_path / "out.mp4")[:2] == (pytest.approx(writer.starts, abs=1e-4), pytest.approx(2.1, abs=0.01))


def test_the_cli_says_when_a_clip_held_fewer_frames_than_its_header(tmp_path, capsys, installed_tiny_checkpoints,
                                                                  monkeypatch):
    """The video audit: a clip cut short (header 75 frames, 17 readable) was colorized without a word on the command
    line, where the page says it."""
    import dataclasses

    from colorizer.video import io

    source = write_clip(tmp_path / "cut.mp4", synthetic.moving_square(frames=5, size=(64, 48)).gray)
    real_probe = io.probe
    monkeypatch.setattr(io, "probe", lambda path, **kw: dataclasses.replace(real_probe(path, **kw), frames=9))
    assert main(["video", str(source), "-o", str(tmp_path / "out.mp4"), "--arch", "cifar_ae"]) == 0
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("note: ")]
    # The clip named as given, its folder too (session 39: "cut.mp4" named none of the folders a script passes).
    assert notes == [f"note: {source} held 5 frames, not the 9 its header announced: all of them were colorized "
                     "(a file cut short?)"], notes
    # --max-frames is the user's number, not the header's (the review: "not the 100 its header announced").
    assert main(["video", str(source), "-o", str(tmp_path / "out2.mp4"), "--arch", "cifar_ae", "--max-frames", "100"]) == 0
    assert [line for line in capsys.readouterr().err.splitlines() if line.startswith("note: ")] == notes
    assert main(["video", str(source), "-o", str(tmp_path / "out3.mp4"), "--arch", "cifar_ae", "--max-frames", "3"]) == 0
    assert not [line for line in capsys.readouterr().err.splitlines() if line.startswith("note: ")]


def test_sound_is_trimmed_with_max_frames(tmp_path):
    clip = synthetic.moving_square(frames=24, size=(64, 48))
    source = write_clip(tmp_path / "in.mp4", clip.gray, fps=12, audio_seconds=2.0)
    colorize_video(source, tmp_path / "out.mp4", Oracle(clip.truth), max_frames=6)
    container = av.open(str(tmp_path / "out.mp4"))
    audio = container.streams.audio[0]
    assert float(audio.duration * audio.time_base) < 0.75
    container.close()


def test_max_seconds_bounds_the_timeline_and_its_sound_whatever_the_header_claims(tmp_path, monkeypatch):
    """A header that understates its frames (say, one frame at 1/30 fps, "30 s") must not buy hours of
    timeline and sound: ``max_seconds`` holds the output to frames ÷ rate, read from the frames themselves."""
    import dataclasses

    from colorizer.video import pipeline

    clip = synthetic.moving_square(frames=24, size=(64, 48))
    source = write_clip(tmp_path / "in.mp4", clip.gray, fps=12, audio_seconds=2.0)
    honest = probe(source)
    monkeypatch.setattr(pipeline, "probe", lambda path, **_: dataclasses.replace(honest, frames=1))  # a lying header
    report = colorize_video(source, tmp_path / "out.mp4", Oracle(clip.truth), max_seconds=0.5)
    assert report.frames == probe(tmp_path / "out.mp4").frames == 6 and report.cut_short
    container = av.open(str(tmp_path / "out.mp4"))
    audio = container.streams.audio[0]
    assert float(audio.duration * audio.time_base) < 0.65
    container.close()
    whole = colorize_video(source, tmp_path / "whole.mp4", Oracle(clip.truth), max_seconds=2.0)
    assert whole.frames == 24 and not whole.cut_short  # a clip within the limit loses nothing


def test_a_frame_longer_than_max_seconds_is_refused_before_anything_is_written(tmp_path, monkeypatch):
    """Finding (session 23's final review): at least one frame was always allowed, so a header of one frame at
    1/3600 fps (and a frame count of 0, which the page's duration check reads as 0 s) bought an hour of sound."""
    import dataclasses
    from fractions import Fraction

    from colorizer.video import pipeline

    clip = synthetic.moving_square(frames=4, size=(64, 48))
    source = write_clip(tmp_path / "in.mp4", clip.gray, fps=12, audio_seconds=2.0)
    slow = dataclasses.replace(probe(source), fps=Fraction(1, 2), frames=0)   # what a crafted header says
    monkeypatch.setattr(pipeline, "probe", lambda path, **_: slow)
    with pytest.raises(VideoError, match=r"^in\.mp4: at 0\.5 frames a second one frame lasts 2 s, over the limit of 1 s"):
        colorize_video(source, tmp_path / "out.mp4", Oracle(clip.truth), max_seconds=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_a_header_that_understates_the_frame_size_is_stopped_at_the_callers_frame_limit(tmp_path, monkeypatch):
    """The Video page holds frames to 1280×720 (``max_frame_pixels``); it checked the header alone, and reading
    held decoded frames only to ``imageio.MAX_PIXELS`` (12 MP), so a header claiming small frames ran large ones.
    ``colorize_video`` now holds each decoded frame to the caller's limit too, and leaves no file."""
    import dataclasses

    from colorizer.video import pipeline
    from colorizer.video.io import VideoBudgetError

    clip = synthetic.moving_square(frames=4, size=(64, 48))
    source = write_clip(tmp_path / "in.mp4", clip.gray, fps=12)
    small = dataclasses.replace(probe(source), width=32, height=24)   # what a crafted header says
    monkeypatch.setattr(pipeline, "probe", lambda path, **_: small)
    with pytest.raises(VideoBudgetError, match=r"^in\.mp4: frame 0 is 64x48, over the limit of 768 pixels a frame$"):
        colorize_video(source, tmp_path / "out.mp4", Oracle(clip.truth), max_frame_pixels=32 * 24)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


_PEAK_OF_READING = """
import sys
import av   # imported before the measure: only the reading counts (av alone is about 19 MiB)
from colorizer.process import status_kb
from colorizer.video.io import VideoError, read_frames
before = status_kb("VmRSS")   # and VmHWM, this process's own peak (ru_maxrss counts the parent's, before exec)
try:
    next(read_frames(sys.argv[1], max_frame_pixels=1280 * 720))
except VideoError as err:
    print((status_kb("VmHWM") - before) // 1024, err, sep="\\n")
"""


def test_a_frame_far_over_the_limit_is_refused_by_ffmpeg_before_it_is_decoded(tmp_path):
    """Session 29's audit: FFmpeg decodes a frame while it opens a file (to learn the stream's size), before any check
    of ours. A 2-MB MOV whose header said 64×64 held one 16000×16000 16-bit RGBA PNG: uploading it to the Video page
    took the server from 1,385 to 3,312 MiB (a hosted app's cap is ~2.7 GB). FFmpeg's decoders are now told the limit
    (``max_pixels``, four times the frame's): the clip is one line and the frame is never held. Here a 4000×4000
    one (128 MB decoded), read in a fresh process: it grew the process by 146 MiB, now by about 6. The line leads
    with the likelier cause (FFmpeg tells no size) at reading and at the page's probe."""
    import subprocess
    import sys

    from benchmarks.hostile import png_in_mov

    png_in_mov(tmp_path / "lying.mov", side=4000)
    run = subprocess.run([sys.executable, "-c", _PEAK_OF_READING, str(tmp_path / "lying.mov")], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    grown_mib, line = run.stdout.splitlines()
    assert line == ("lying.mov: frames far over the limit of 921,600 pixels a frame, or not a readable video "
                    "(Invalid argument)") and int(grown_mib) < 16, run.stdout
    with pytest.raises(VideoError) as refused:   # the page's probe, at the page's limit
        probe(tmp_path / "lying.mov", max_frame_pixels=1280 * 720)
    assert str(refused.value) == ("lying.mov: frames far over the limit of 921,600 pixels a frame, or not a readable "
                                  "video (no frame size in its header)")


@pytest.mark.parametrize("fragmented", [False, True])
def test_an_mp4_whose_tables_claim_millions_of_frames_is_refused_before_ffmpeg_indexes_them(tmp_path, fragmented,
                                                                                             monkeypatch):
    """Session 34's audit: FFmpeg makes an index entry for every sample an MP4's tables claim while it opens the file,
    and one constant sample size, one timing entry and one chunk (or a fragment's ``trun``) claim 50,000,000 frames
    in 1.4 kB: the Video page's probe took 1.75 GB (85,000,000: 3 GB) before it said "2,000,000 s, over this
    server's 30 s". The claims are read first (``container_budget``); here the reading grew by 1,750 MiB, now by
    under 16."""
    import subprocess
    import sys

    from benchmarks.hostile import mp4_claiming
    from colorizer.video import container_budget
    from colorizer.video.io import VideoBudgetError

    mp4_claiming(tmp_path / "lying.mp4", 50_000_000, fragmented=fragmented)
    run = subprocess.run([sys.executable, "-c", _PEAK_OF_READING, str(tmp_path / "lying.mp4")], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    grown_mib, line = run.stdout.splitlines()
    assert line == ("lying.mp4: its tables claim 50,000,000 frames and sound packets, over the 1,000,000 this "
                    "server indexes in a clip (a damaged or crafted file)") and int(grown_mib) < 16, run.stdout
    with pytest.raises(VideoBudgetError, match="claim 50,000,000 frames"):
        probe(tmp_path / "lying.mp4", max_frame_pixels=1280 * 720)
    # The limit itself is read: at it, FFmpeg opens the file; one over, it is refused.
    mp4_claiming(tmp_path / "at.mp4", 1000, fragmented=fragmented)
    monkeypatch.setattr(container_budget, "MAX_SAMPLES", 1000)
    assert container_budget.claimed_samples(tmp_path / "at.mp4") == 1000 and probe(tmp_path / "at.mp4").width == 64
    monkeypatch.setattr(container_budget, "MAX_SAMPLES", 999)
    with pytest.raises(VideoBudgetError, match="claim 1,000 frames and sound packets, over the 999"):
        probe(tmp_path / "at.mp4")


def test_the_samples_counted_are_those_ffmpeg_indexes_one_at_a_time(tmp_path):
    """Frames and compressed sound packets count; raw sound in a MOV or MP4 (one sample each tick: 48,000 a second)
    does not, as FFmpeg indexes it by chunk; other containers are not read (their indexes are bytes of the file)."""
    from benchmarks.hostile import clip_of_streams
    from colorizer.video import container_budget

    write_clip(tmp_path / "tone.mp4", [np.zeros((16, 16), np.uint8)] * 5, audio_seconds=2.0)
    assert 5 + 2 * 22050 // 1024 <= container_budget.claimed_samples(tmp_path / "tone.mp4") <= 5 + 50
    for name in ("raw.mov", "raw.mp4"):
        clip_of_streams(tmp_path / name, sounds=3)  # 3 tracks of one chunk of 800 samples: a piece each
        assert container_budget.claimed_samples(tmp_path / name) == 1 + 3
    clip_of_streams(tmp_path / "raw.mkv", sounds=3)
    assert container_budget.claimed_samples(tmp_path / "raw.mkv") is None


def _grown(data: bytes, at: int, extra: bytes, *parents: int) -> bytes:
    """``data`` with ``extra`` inserted at ``at`` and each box starting at ``parents`` that much longer."""
    data = bytearray(data[:at] + extra + data[at:])
    for start in parents:
        struct.pack_into(">I", data, start, struct.unpack_from(">I", data, start)[0] + len(extra))
    return bytes(data)


def test_claims_hidden_where_ffmpeg_still_reads_them_are_counted(tmp_path):
    """Session 34's review of the first walk: FFmpeg reads a movie header after a ``junk`` box, one running past the
    file's end, one renamed ``hoov`` or ``free``, a table in a track's ``udta``, a compressed one, and raw sound of
    2^31 samples a chunk; each passed the walk and took 386-1,442 MiB. Nested 2,000 deep, the walk overflowed
    Python's recursion (a traceback); an MP4's 18th track failed FFmpeg as "Cannot allocate memory"."""
    import zlib

    from benchmarks.hostile import clip_of_streams, mp4_claiming
    from colorizer.video.io import VideoBudgetError

    mp4_claiming(tmp_path / "claim.mp4", 20_000_000)
    raw = (tmp_path / "claim.mp4").read_bytes()
    moov = raw.index(b"moov") - 4
    trak = raw.index(b"trak") - 4
    stsz = raw.index(b"stsz") - 4
    past_the_end = bytearray(raw)
    struct.pack_into(">I", past_the_end, moov, struct.unpack_from(">I", raw, moov)[0] + 8)
    small_table = bytearray(raw)
    struct.pack_into(">I", small_table, stsz + 16, 1)  # the track's own table claims one frame...
    table = raw[stsz:stsz + struct.unpack_from(">I", raw, stsz)[0]]
    udta = struct.pack(">I4s", 8 + len(table), b"udta") + table  # ...one in its udta the rest
    trak_end = trak + struct.unpack_from(">I", raw, trak)[0]
    movie = raw[moov:]
    packed = struct.pack(">I", len(movie)) + zlib.compress(movie)
    cmov = (struct.pack(">I4s", 12, b"dcom") + b"zlib" + struct.pack(">I4s", 8 + len(packed), b"cmvd") + packed)
    cmov = struct.pack(">I4s", 8 + len(cmov), b"cmov") + cmov
    variants = {
        "junk_first.mp4": b"\x00\x00\x00\x08junk" + raw,
        "past_the_end.mp4": bytes(past_the_end),
        "hoov.mp4": raw[:moov + 4] + b"hoov" + raw[moov + 8:],
        "free.mp4": raw[:moov + 4] + b"free" + raw[moov + 8:],
        "udta.mp4": _grown(bytes(small_table), trak_end, udta, trak, moov),
    }
    for name, data in variants.items():
        (tmp_path / name).write_bytes(data)
        with pytest.raises(VideoBudgetError, match="claim 20,000,00[01] frames"):
            probe(tmp_path / name)
    (tmp_path / "cmov.mp4").write_bytes(raw[:moov] + struct.pack(">I4s", 8 + len(cmov), b"moov") + cmov)
    with pytest.raises(VideoBudgetError, match="a compressed movie header"):
        probe(tmp_path / "cmov.mp4")
    deep = b""
    for _ in range(2000):
        deep = struct.pack(">I4s", len(deep) + 8, b"moov") + deep
    (tmp_path / "deep.mp4").write_bytes(raw[:moov] + deep)
    with pytest.raises(VideoError, match="deep.mp4: not a readable video"):  # one line, no RecursionError
        probe(tmp_path / "deep.mp4")
    clip_of_streams(tmp_path / "sound.mov", sounds=1)
    sound = bytearray((tmp_path / "sound.mov").read_bytes())
    chunks = sound.index(b"stsc", sound.index(b"soun")) + 16
    struct.pack_into(">I", sound, chunks, 0x7FFFFC00)  # one chunk of 2^31 samples: 2,097,151 pieces
    (tmp_path / "sound.mov").write_bytes(bytes(sound))
    with pytest.raises(VideoBudgetError, match="claim 2,097,15"):
        probe(tmp_path / "sound.mov")
    clip_of_streams(tmp_path / "tracks.mp4", sounds=17)
    with pytest.raises(VideoBudgetError, match="tracks.mp4: over 16 streams"):
        probe(tmp_path / "tracks.mp4")


@pytest.mark.slow
def test_a_clip_whose_opening_costs_the_server_too_much_is_refused_after_a_child_opened_it(tmp_path):
    """Session 34's second review: tables the claims' walk does not read made FFmpeg allocate as it opened a file (a
    sample group description claiming 2^31 entries: 2,050 MB from 3 kB). A child process opens each clip first and
    measures what that cost (``open_check``): over 256 MB, the clip is refused and this process never opens it."""
    from benchmarks.hostile import clip_of_streams
    from colorizer.video import open_check
    from colorizer.video.io import VideoBudgetError

    clip_of_streams(tmp_path / "honest.mov", sounds=1)
    data = (tmp_path / "honest.mov").read_bytes()
    options = {"max_pixels": str(4 * 1280 * 720), "max_streams": "17"}  # as io._av_open opens a clip
    assert open_check.opening_cost(tmp_path / "honest.mov", options)[0] == "ok"
    boxes = [data.index(name) - 4 for name in (b"moov", b"trak", b"mdia", b"minf", b"stbl")]
    stbl_end = boxes[-1] + struct.unpack_from(">I", data, boxes[-1])[0]
    sgpd = b"sync" + struct.pack(">I", 0x7FFFFFFF) + b"\x01"  # grouping "sync", 2^31 - 1 entries of one byte: none
    sgpd = struct.pack(">I4sI", 12 + len(sgpd), b"sgpd", 0) + sgpd
    (tmp_path / "groups.mov").write_bytes(_grown(data, stbl_end, sgpd, *boxes))
    with pytest.raises(VideoBudgetError, match=r"groups.mov: opening it takes more memory than this server gives a "
                                               r"clip \([\d,]+ MB or more; a damaged or crafted file\)"):
        probe(tmp_path / "groups.mov")
    assert open_check.opening_cost(tmp_path / "groups.mov", options)[1] > open_check.MAX_OPEN_MB


def test_a_clip_of_more_streams_than_the_server_reads_is_refused(tmp_path):
    """Session 34's audit: FFmpeg decodes a frame of every stream while it opens a file, and a 5 MB MKV of 900 720p
    tracks took 2.6 GB each time the page opened it, shown as an ordinary clip. FFmpeg reads one stream more than
    ``MAX_STREAMS`` now, and a file that has it is refused (dropping the rest would cut an MKV's reading short)."""
    from benchmarks.hostile import clip_of_streams
    from colorizer.video.io import MAX_STREAMS, VideoBudgetError

    clip_of_streams(tmp_path / "many.mkv", sounds=MAX_STREAMS)
    with pytest.raises(VideoBudgetError) as refused:
        probe(tmp_path / "many.mkv")
    assert str(refused.value) == ("many.mkv: over 16 streams (pictures, sound, subtitles), more than this server reads "
                                  "in a clip; keep its picture and one sound")
    clip_of_streams(tmp_path / "most.mkv", sounds=MAX_STREAMS - 1)
    assert probe(tmp_path / "most.mkv").has_audio and len(list(read_frames(tmp_path / "most.mkv"))) == 1


@pytest.mark.parametrize("audio_seconds", [2.0, None])  # without sound the file appears only with the first frames
def test_a_result_past_max_bytes_is_refused_by_name_and_leaves_no_file(tmp_path, audio_seconds):
    clip = synthetic.moving_square(frames=24, size=(64, 48))
    source = write_clip(tmp_path / "in.mp4", clip.gray, fps=12, audio_seconds=audio_seconds)
    with pytest.raises(VideoError, match=r"^in\.mp4: the colorized clip passed 0 MB after \d+ frames"):
        colorize_video(source, tmp_path / "out.mp4", Oracle(clip.truth), max_bytes=2_000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]
    kept = colorize_video(source, tmp_path / "out.mp4", Oracle(clip.truth), max_bytes=2**20)
    assert kept.frames == 24 and (tmp_path / "out.mp4").stat().st_size < 2**20


def test_ffmpeg_errors_name_the_file_not_the_servers_folders(tmp_path):
    folder = tmp_path / "private-server-folder"
    folder.mkdir()
    (folder / "clip.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(64))  # an MP4 box, then nothing
    with pytest.raises(VideoError) as caught:
        probe(folder / "clip.mp4")
    assert str(caught.value).startswith("clip.mp4: ") and "private-server-folder" not in str(caught.value)


def test_animated_gif_at_an_odd_size(tmp_path):
    clip = synthetic.moving_square(frames=6, size=(37, 23), side=9, step=2)
    frames = [Image.fromarray(np.repeat(g[..., None], 3, 2)) for g in clip.gray]
    frames[0].save(tmp_path / "old.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    report = colorize_video(tmp_path / "old.gif", tmp_path / "out.mp4", Oracle(clip.truth))
    info = probe(tmp_path / "out.mp4")
    assert (report.frames, info.frames, info.width, info.height, info.fps) == (6, 6, 37, 23, 10)
    assert info.codec == "vp9"            # 4:2:0 H.264 cannot hold an odd size; VP9 in MP4 can
    out = list(read_frames(tmp_path / "out.mp4"))
    assert len(out) == 6 and out[0].shape == (23, 37, 3)


@pytest.mark.parametrize("content", [b"", b"this is not a video\n", b"\x00\x00\x00\x18ftypmp42" + bytes(300)])
def test_unreadable_file_is_one_line(tmp_path, content):
    path = tmp_path / "broken.mp4"
    path.write_bytes(content)
    with pytest.raises(VideoError) as caught:
        probe(path)
    assert str(caught.value).startswith("broken.mp4: ") and "\n" not in str(caught.value)


def test_an_unreadable_clip_says_why_without_ffmpegs_error_code(tmp_path):
    """Finding (session 28's walkthrough): a text file named .mp4 on the Video page read "text.mp4: not a readable
    video ([Errno 1094995529] Invalid data found when processing input: 'text.mp4')". FFmpeg's reason alone."""
    path = tmp_path / "text.mp4"
    path.write_bytes(b"hello, this is not a video" * 20)
    with pytest.raises(VideoError) as caught:
        probe(path)
    assert str(caught.value) == "text.mp4: not a readable video (Invalid data found when processing input)"


def test_truncated_clip_gives_the_frames_it_has(tmp_path):
    clip = synthetic.moving_square(frames=24, size=(64, 48))
    data = write_clip(tmp_path / "in.mp4", clip.gray).read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(VideoError, match="cut.mp4: not a readable video"):
        list(read_frames(tmp_path / "cut.mp4"))   # the MP4's index is at its end: nothing to read
    (tmp_path / "moov_first.mp4").write_bytes(b"\x00" * 64)
    with pytest.raises(VideoError):
        probe(tmp_path / "moov_first.mp4")


def test_budget_is_checked_from_the_header(tmp_path):
    clip = synthetic.moving_square(frames=10, size=(64, 48))
    info = probe(write_clip(tmp_path / "in.mp4", clip.gray))
    assert check_budget(info, max_pixels=10 * 64 * 48) == 10
    assert check_budget(info, max_frames=3, max_pixels=3 * 64 * 48) == 3
    with pytest.raises(VideoError, match=r"in.mp4: 10 frames of 64x48 exceed this host's budget .*\(9 frames at this size"):
        check_budget(info, max_pixels=9 * 64 * 48 + 5)
    with pytest.raises(VideoError, match="exceed the limit of 1,000 pixels a frame"):
        check_budget(info, max_frame_pixels=1000)
    unknown = dataclasses.replace(info, frames=0)   # a header with no count: the reader counts as it reads
    assert check_budget(unknown, max_frames=900, max_pixels=5 * 64 * 48) == 900
    with pytest.raises(VideoError, match="more frames than its header said"):
        list(read_frames(tmp_path / "in.mp4", max_pixels=5 * 64 * 48))


@pytest.mark.slow
def test_memory_stays_flat_on_a_long_clip(tmp_path):
    rng = np.random.default_rng(0)
    base = resize(rng.uniform(30, 220, (60, 80)).astype(np.float32), (240, 320)).astype(np.uint8)
    path, count = tmp_path / "long.mp4", 600
    with VideoWriter(path, (320, 240), 24) as writer:
        for t in range(count):
            writer.write(np.repeat(np.roll(base, t % 40, axis=1)[..., None], 3, 2))
    rss = []
    tracemalloc.start()
    try:
        def progress(done, total):
            if done in (100, count):
                rss.append(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)   # KiB, the peak so far
        report = colorize_video(path, tmp_path / "out.mp4", Oracle(), progress=progress)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.frames == count
    # 600 frames of 320x240 RGB are 138 MB: nothing near that is ever held.
    assert peak < 25e6, peak
    assert rss[1] - rss[0] < 30 * 1024, rss


# -- the command line ------------------------------------------------------------------------------

def test_cli_video_form(installed_tiny_checkpoints, tmp_path, capsys):
    clip = synthetic.moving_square(frames=8, size=(64, 48))
    source = write_clip(tmp_path / "in.mp4", clip.gray)
    assert main(["video", str(source), "-o", str(tmp_path / "out" / "colored.mp4"), "--arch", "cifar_ae",
                 "--max-frames", "5"]) == 0
    out = capsys.readouterr()
    info = probe(tmp_path / "out" / "colored.mp4")
    assert (info.frames, info.width, info.height) == (5, 64, 48)
    assert "colored.mp4: 5 frames 64x48 at 12 fps (libx264, no audio track)" in out.out
    assert "Traceback" not in out.err
    cut = write_clip(tmp_path / "cut.mp4", synthetic.moving_square(frames=12, size=(96, 64), cut_at=6).gray)
    assert main(["video", str(cut), "-o", str(tmp_path / "cut_color.mp4"), "--arch", "cifar_ae"]) == 0
    assert "(libx264, no audio track, scene cut at frame 6 (0.50 s))" in capsys.readouterr().out


@pytest.mark.parametrize("content", [b"", b"<html>not a video</html>"])
def test_cli_unreadable_video_is_one_line_and_status_2(tmp_path, capsys, content):
    (tmp_path / "broken.mp4").write_bytes(content)
    assert main(["video", str(tmp_path / "broken.mp4"), "-o", str(tmp_path / "out.mp4")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: {tmp_path / 'broken.mp4'}: ")
    assert not (tmp_path / "out.mp4").exists()


def test_cli_clip_beyond_budget_is_a_clear_message(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLORIZER_MAX_VIDEO_PIXELS", str(5 * 64 * 48))
    source = write_clip(tmp_path / "in.mp4", synthetic.moving_square(frames=8, size=(64, 48)).gray)
    assert main(["video", str(source), "-o", str(tmp_path / "out.mp4")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {source}: 8 frames of 64x48 exceed this host's budget of 15,360 frame pixels "
                   "(5 frames at this size); use --max-frames, or set COLORIZER_MAX_VIDEO_PIXELS"]


def test_cli_hints_for_a_model_without_hints_is_status_2(installed_tiny_checkpoints, tmp_path, capsys, monkeypatch):
    """Refused from the architecture's name, before the model loads (8 s), as a misspelt --checkpoint is."""
    from colorizer import inference

    source = write_clip(tmp_path / "in.mp4", synthetic.moving_square(frames=4, size=(64, 48)).gray)
    hints = tmp_path / "hints.json"
    hints.write_text('[{"x": 10, "y": 10, "rgb": [200, 40, 40]}]')
    with monkeypatch.context() as patch:
        patch.setattr(inference, "load", lambda *_: pytest.fail("loaded a model to refuse --hints"))
        assert main(["video", str(source), "-o", str(tmp_path / "out.mp4"), "--arch", "cifar_ae", "--hints", str(hints)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {hints}: cifar_ae takes no color hints; use --arch with one of: hypercolumn_hints"]
    (tmp_path / "ref.png").write_text("not a photo")
    assert main(["video", str(source), "-o", str(tmp_path / "out.mp4"), "--reference", str(tmp_path / "ref.png")]) == 2
    assert capsys.readouterr().err.strip().startswith(f"error: reference {tmp_path / 'ref.png'}: ")


def test_cli_gives_the_run_the_pixels_a_reference_shows(installed_tiny_checkpoints, tmp_path, monkeypatch):
    """``video --reference`` with a PNG whose top rows are transparent: the run is given the pixels it shows
    (``exemplar.read_reference``), so what they hide gives the first frame no color."""
    from colorizer.video import pipeline

    source = write_clip(tmp_path / "in.mp4", synthetic.moving_square(frames=4, size=(64, 48)).gray)
    alpha = np.full((40, 48), 255, np.uint8)  # at least exemplar.MIN_REFERENCE_SIDE a side
    alpha[:10] = 0
    Image.fromarray(np.dstack([np.full((40, 48, 3), [40, 160, 60], np.uint8), alpha])).save(tmp_path / "ref.png")
    given = []
    monkeypatch.setattr(pipeline, "colorize_video", lambda *args, **options: given.append(options) or pipeline.VideoReport())
    assert main(["video", str(source), "-o", str(tmp_path / "out.mp4"), "--arch", "cifar_ae",
                 "--reference", str(tmp_path / "ref.png")]) == 0
    np.testing.assert_array_equal(given[-1]["reference_visible"], alpha > 0)


@pytest.mark.slow
def test_cli_reference_and_hints_guide_the_first_frame(installed_tiny_checkpoints, tmp_path, capsys):
    from conftest import write_png

    from colorizer.color import lab_to_rgb

    clip = synthetic.moving_square(frames=4, size=(64, 48))
    source = write_clip(tmp_path / "in.mp4", clip.gray)
    lab = rgb_to_lab(np.repeat(clip.gray[0][..., None], 3, axis=2))
    lab[..., 0] = np.clip(lab[..., 0], 35, 80)   # keep the tint inside the sRGB gamut
    lab[..., 1], lab[..., 2] = -25.0, 30.0       # the first frame itself, all one green
    write_png(tmp_path / "ref.png", lab_to_rgb(lab))
    hints = tmp_path / "hints.json"
    hints.write_text('[{"x": 10, "y": 10, "rgb": [200, 40, 40]}]')
    runs = {"plain": ("hypercolumn",), "ref": ("hypercolumn", "--reference", str(tmp_path / "ref.png")),
            "plain_hints": ("hypercolumn_hints",), "hints": ("hypercolumn_hints", "--hints", str(hints))}
    first_ab = {}
    for name, (arch, *guide) in runs.items():
        assert main(["video", str(source), "-o", str(tmp_path / f"{name}.mp4"), "--arch", arch, *guide]) == 0
        assert probe(tmp_path / f"{name}.mp4").frames == 4
        first_ab[name] = rgb_to_lab(next(read_frames(tmp_path / f"{name}.mp4")))[..., 1:]
    # The reference's green reaches the first frame: its median ab moves toward the tint.
    green = np.array([-25.0, 30.0])
    median = {name: np.median(first_ab[name].reshape(-1, 2), axis=0) for name in ("plain", "ref")}
    assert np.linalg.norm(median["ref"] - green) < np.linalg.norm(median["plain"] - green) - 10, median
    # The red hint colors the first frame where it was placed (a 5×5 patch around it).
    near = {name: first_ab[name][8:13, 8:13].reshape(-1, 2).mean(axis=0) for name in ("plain_hints", "hints")}
    assert np.linalg.norm(near["hints"] - RED_AB) < np.linalg.norm(near["plain_hints"] - RED_AB) - 10, near


def test_a_failure_mid_clip_leaves_no_file_and_no_thread(tmp_path):
    import threading

    clip = synthetic.moving_square(frames=24, size=(64, 48))
    source = write_clip(tmp_path / "in.mp4", clip.gray)

    class Failing(Oracle):
        def predict_ab(self, x, **options):
            if self.index == 10:
                raise RuntimeError("the network fell over")
            return super().predict_ab(x, **options)

    with pytest.raises(RuntimeError, match="fell over"):
        colorize_video(source, tmp_path / "out.mp4", Failing(clip.truth), network_every=1)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]
    assert not [t for t in threading.enumerate() if t.name.startswith("video-")]
    # Stop (should_stop) ends the clip where it is: the file holds the frames done.
    done = []
    report = colorize_video(source, tmp_path / "out.mp4", Oracle(clip.truth), should_stop=lambda: len(done) >= 5,
                            progress=lambda count, total: done.append(count))
    assert report.stopped and report.frames == 5 and probe(tmp_path / "out.mp4").frames == 5


def test_sound_mp4_cannot_hold_is_reencoded_to_aac(tmp_path):
    """An AVI with PCM sound (as old digitized film often is): the MP4 gets the sound as AAC, the same length."""
    clip_with_pcm(tmp_path / "old.avi", 16000, frames=24, fps=12, seconds=2.0)
    report = colorize_video(tmp_path / "old.avi", tmp_path / "out.mp4", Oracle())
    assert report.audio == "re-encoded to AAC" and report.frames == 24
    out = av.open(str(tmp_path / "out.mp4"))
    sound = out.streams.audio[0]
    assert sound.codec_context.name == "aac" and abs(float(sound.duration * sound.time_base) - 2.0) < 0.1
    out.close()


def test_cli_video_never_replaces_its_own_input(installed_tiny_checkpoints, tmp_path, capsys):
    """``video clip.mp4 -o clip.mp4`` replaced the source clip with its colorization: refused before any work."""
    (tmp_path / "clips").mkdir()
    source = write_clip(tmp_path / "clips" / "clip.mp4", synthetic.moving_square(frames=4, size=(64, 48)).gray)
    before = source.read_bytes()
    for output in (source, tmp_path / "clips" / "sub" / ".." / "clip.mp4"):  # the same file, however it is spelt
        assert main(["video", str(source), "-o", str(output), "--arch", "cifar_ae"]) == 2
        assert capsys.readouterr().err.splitlines() == [
            f"error: {output}: is the input clip; give -o another file (the clip would be replaced by its colorization)"]
    assert source.read_bytes() == before and [p.name for p in source.parent.iterdir()] == ["clip.mp4"]


def test_cli_video_output_that_cannot_be_written_is_refused_before_any_work(installed_tiny_checkpoints, tmp_path, capsys):
    """``-o <a folder>`` failed after the whole clip with "[Errno 21] Is a directory: '.vout.partial14433.mp4' -> 'vout'";
    ``-o <unwritable>/a.mp4`` printed "[Errno 1] Operation not permitted", no file named."""
    source = write_clip(tmp_path / "clip.mp4", synthetic.moving_square(frames=4, size=(64, 48)).gray)
    (tmp_path / "vout").mkdir()
    (tmp_path / "a_file").write_text("not a folder")
    expected = {tmp_path / "vout": "is a folder, not a file", tmp_path / "a_file" / "a.mp4": f"{tmp_path / 'a_file'} is a file, not a folder"}
    for output, reason in expected.items():
        assert main(["video", str(source), "-o", str(output), "--arch", "cifar_ae"]) == 2
        captured = capsys.readouterr()
        assert captured.err.splitlines() == [f"error: {output}: {reason}"] and not captured.out
    assert list((tmp_path / "vout").iterdir()) == []


def test_cli_video_reads_mkv_and_says_so(installed_tiny_checkpoints, tmp_path, capsys):
    """README lists MKV and ``video --help`` did not; a folder was "no such file"; "1 frames"."""
    with pytest.raises(SystemExit):
        main(["video", "--help"])
    assert "MKV" in capsys.readouterr().out
    clip = synthetic.moving_square(frames=3, size=(64, 48)).gray
    source = write_clip(tmp_path / "in.mkv", clip)
    assert main(["video", str(source), "-o", str(tmp_path / "out.mp4"), "--arch", "cifar_ae", "--max-frames", "1"]) == 0
    assert "out.mp4: 1 frame 64x48 at 12 fps" in capsys.readouterr().out
    assert probe(tmp_path / "out.mp4").frames == 1
    assert main(["video", str(tmp_path), "-o", str(tmp_path / "x.mp4")]) == 2
    assert capsys.readouterr().err.splitlines() == [f"error: {tmp_path}: is a folder, not a video file"]
    os.mkfifo(tmp_path / "pipe.mkv")  # opened, it would wait for a writer for good
    assert main(["video", str(tmp_path / "pipe.mkv"), "-o", str(tmp_path / "y.mp4")]) == 2
    assert capsys.readouterr().err.splitlines() == [f"error: {tmp_path / 'pipe.mkv'}: not a regular file (a pipe, a device or a socket)"]


def test_a_frame_larger_than_the_budget_stops_the_read_even_when_the_header_said_otherwise(tmp_path, monkeypatch):
    """``read_frames`` checks each decoded frame against the per-frame budget (``imageio.MAX_PIXELS``, here one pixel
    under the clip's 64×48), not only the header's size: a header that understates the frames stops at frame 0."""
    from colorizer import imageio
    from colorizer.video.io import VideoBudgetError

    path = tmp_path / "big.mp4"
    with VideoWriter(path, (64, 48), 12) as writer:
        for _ in range(3):
            writer.write(np.full((48, 64, 3), 120, np.uint8))
    assert len(list(read_frames(path))) == 3
    monkeypatch.setattr(imageio, "MAX_PIXELS", 64 * 48 - 1)
    with pytest.raises(VideoBudgetError, match=r"^big.mp4: frame 0 is 64x48, over the limit of 3,071 pixels a frame$"):
        next(read_frames(path))


# -- decoding time and sound rates (session 33's audit) ---------------------------------------------------------------

def progressive_mjpeg(path, scans: int, second_field_scans: int = 0, size=(256, 128), prefix: bytes = b"",
                      headers: int = 0):
    """A one-frame MOV (MJPEG) whose frame is a gray progressive JPEG of ``size`` (blocks a power of 2): a DC scan,
    then ``scans`` AC scans of empty blocks, each one end-of-band run over the whole picture, so each costs FFmpeg a
    pass over every block for a few bytes (``benchmarks.hostile.progressive_jpeg``'s trick). ``second_field_scans``:
    as many more after its end, with no header of their own, in a stream twice as high: FFmpeg reads the frame as
    interlaced and decodes them as its second field. ``prefix``: bytes before the picture's start (FFmpeg skips them);
    ``headers``: that many more frame headers (SOF) before the picture's own."""
    import struct
    from fractions import Fraction

    from benchmarks.hostile import _bits_to_bytes, _segment

    width, height = size
    run = (width * height // 64).bit_length() - 1     # log2 of the blocks: the end-of-band symbol of that run
    sof = _segment(0xC2, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    tables = (_segment(0xDB, b"\x00" + bytes([1] * 64)) + _segment(0xC4, b"\x00" + bytes([1] + [0] * 15) + b"\x00")
              + _segment(0xC4, b"\x10" + bytes([1] + [0] * 15) + bytes([run << 4])))
    dc_scan = _segment(0xDA, b"\x01\x01\x00\x00\x00\x00") + _bits_to_bytes("0" * (width * height // 64))
    ac_scan = _segment(0xDA, b"\x01\x01\x00\x01\x3f\x00") + _bits_to_bytes("0" * (1 + run))
    picture = prefix + b"\xff\xd8" + sof * headers + tables + sof + dc_scan + ac_scan * scans + b"\xff\xd9"
    if second_field_scans:
        picture += dc_scan + ac_scan * second_field_scans + b"\xff\xd9"
    with av.open(str(path), "w", format="mov") as container:
        stream = container.add_stream("mjpeg", rate=25)
        stream.width, stream.height, stream.pix_fmt = width, height * (2 if second_field_scans else 1), "yuvj420p"
        packet = av.Packet(picture)
        packet.stream, packet.pts, packet.dts, packet.time_base, packet.is_keyframe = stream, 0, 0, Fraction(1, 25), True
        container.mux(packet)
    return path


def test_an_mjpeg_frame_of_too_many_scans_is_refused_before_it_is_decoded(tmp_path):
    """Session 33's audit: one MJPEG frame that was a progressive JPEG of 2,400,000 empty scans (27.5 MB, 1024×512)
    passed every header check, and showing it took FFmpeg 27.6 s of CPU, uninterruptible, while a Colorize of it held
    the server's work queue. The image path refused the same JPEG at once (``decode_budget``, at most 100 scans);
    each JPEG-based frame is now held to that rule before FFmpeg sees it, and an interlaced frame's second field (no
    header of its own) to twice as many, at any size. Here 300 scans: decoded in milliseconds, refused all the same."""
    assert next(read_frames(progressive_mjpeg(tmp_path / "fine.mov", scans=20))).shape == (128, 256, 3)
    with pytest.raises(VideoError) as refused:
        next(read_frames(progressive_mjpeg(tmp_path / "storm.mov", scans=300)))
    assert str(refused.value) == ("storm.mov: frame 0: JPEG with more than 100 scans (each one costs the decoder a pass "
                                  "over the whole picture); re-save the clip as H.264")
    with pytest.raises(VideoError, match=r"^fields\.mov: frame 0: JPEG with more than 200 scans .*; re-save the clip"):
        next(read_frames(progressive_mjpeg(tmp_path / "fields.mov", scans=10, second_field_scans=300)))
    with pytest.raises(VideoError, match=r"^storm\.mov: frame 0: JPEG with more than 100 scans"):
        colorize_video(tmp_path / "storm.mov", tmp_path / "out.mp4", Oracle())
    # A review's evasion: one byte before the picture (FFmpeg skips it) kept inspect from reading it at all.
    with pytest.raises(VideoError, match=r"^prefixed\.mov: frame 0: JPEG with more than 100 scans"):
        next(read_frames(progressive_mjpeg(tmp_path / "prefixed.mov", scans=300, prefix=b"\x00")))
    with pytest.raises(VideoError, match=r"^headers\.mov: frame 0: JPEG with more than 10,000 segments"):
        next(read_frames(progressive_mjpeg(tmp_path / "headers.mov", scans=1, prefix=b"\x00", headers=10_001)))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fields.mov", "fine.mov", "headers.mov", "prefixed.mov",
                                                          "storm.mov"]


def test_a_frame_slower_to_decode_than_the_limit_ends_the_read(tmp_path, monkeypatch):
    """FFmpeg cannot be stopped inside a frame: a frame that took over ``MAX_FRAME_DECODE_SECONDS`` (here none may
    take any time) ends the read, so a clip costs one such frame, not one per frame."""
    from colorizer.video import io

    source = write_clip(tmp_path / "in.mp4", synthetic.moving_square(frames=3, size=(64, 48)).gray)
    assert len(list(read_frames(source))) == 3
    monkeypatch.setattr(io, "MAX_FRAME_DECODE_SECONDS", -1.0)
    with pytest.raises(VideoError, match=r"^in\.mp4: frame 0 took \d+\.\d s to decode, over the limit of -1 s a frame$"):
        next(read_frames(source))


def clip_with_pcm(path, rate: int, frames: int = 3, fps: int = 24, seconds: float = 0.125):
    """``frames`` frames of 64×48 at ``fps`` and ``seconds`` of mono PCM sound at ``rate``, in the container the
    file's extension names (.mkv, .avi)."""
    container = av.open(str(path), "w")
    video = container.add_stream("mpeg4", rate=fps)
    video.width, video.height, video.pix_fmt = 64, 48, "yuv420p"
    audio = container.add_stream("pcm_s16le", rate=rate)
    audio.layout = "mono"
    for i, gray in enumerate(synthetic.moving_square(frames=frames, size=(64, 48)).gray):
        frame = av.VideoFrame.from_ndarray(np.repeat(gray[..., None], 3, 2), format="rgb24")
        frame.pts = i
        container.mux(video.encode(frame))
    container.mux(video.encode(None))
    tone = (3000 * np.sin(np.arange(int(rate * seconds)) / 3)).astype(np.int16)[None]
    sound = av.AudioFrame.from_ndarray(tone, format="s16", layout="mono")
    sound.sample_rate, sound.pts = rate, 0
    container.mux(audio.encode(sound))
    container.mux(audio.encode(None))
    container.close()
    return path


@pytest.mark.parametrize("rate", [192_000, 1_000])
def test_sound_at_a_rate_aac_does_not_take_is_resampled(tmp_path, rate):
    """Session 33's audit: a clip with PCM sound at 192 kHz (a field recorder's; AAC stops at 96) or 1 kHz failed at
    its first frame with ``av.error.ArgumentError: avcodec_open2("aac") returned 22``, not a ``VideoError``: the page
    said "Something went wrong", naming nothing, and the clip could never be colorized. It is resampled to 48 kHz."""
    source = clip_with_pcm(tmp_path / "field.mkv", rate)
    report = colorize_video(source, tmp_path / "out.mp4", Oracle())
    assert report.audio == "re-encoded to AAC" and report.frames == 3
    with av.open(str(tmp_path / "out.mp4")) as out:
        sound = out.streams.audio[0]
        assert (sound.codec_context.name, sound.rate) == ("aac", 48_000)
        assert abs(float(sound.duration * sound.time_base) - 0.125) < 0.03


def test_sound_the_mp4_refuses_is_left_out_and_the_pictures_kept(tmp_path, monkeypatch):
    """Sound that still cannot be written (here AAC told the source's 1 kHz, as before the resampling) costs the
    sound, not the clip: the writer opens its encoders when it starts, and starts again without the sound."""
    from colorizer.video import io

    monkeypatch.setattr(io, "_aac_rate", lambda rate: rate)
    report = colorize_video(clip_with_pcm(tmp_path / "field.mkv", 1_000), tmp_path / "out.mp4", Oracle())
    assert report.audio is None and report.frames == 3 and report.sound_note == "it could not be read or re-encoded"
    info = probe(tmp_path / "out.mp4")
    assert info.frames == 3 and not info.has_audio


def test_sound_unreadable_partway_is_said_cut_not_copied(tmp_path, monkeypatch, capsys, installed_tiny_checkpoints):
    """Session 38's review: sound that FFmpeg failed to read partway was dropped from there on, and the report still
    said "copied"; the command line now says where it was cut."""
    from colorizer.video import io

    copied = io.VideoWriter._copied

    def failing_after_a_second(source, audio, out):
        for start, packets in copied(source, audio, out):
            if start >= 1:
                raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")
            yield start, packets

    monkeypatch.setattr(io.VideoWriter, "_copied", staticmethod(failing_after_a_second))
    clip = synthetic.moving_square(frames=24, size=(96, 64))
    source = write_clip(tmp_path / "in.mp4", clip.gray, fps=12, audio_seconds=2.0)
    assert main(["video", str(source), "-o", str(tmp_path / "out.mp4"), "--arch", "cifar_ae"]) == 0
    out = capsys.readouterr().out
    cut = re.search(r"audio copied \(it could not be read past (\d\.\d) s: the rest is left out\)", out)
    assert cut and 0.8 <= float(cut.group(1)) <= 1.0, out
    assert played(tmp_path / "out.mp4")[2] == pytest.approx(1.0, abs=0.1)   # the sound in the file: its first second


def test_ffmpegs_errors_in_writing_are_one_line_naming_the_clip(tmp_path):
    """An encoder's failure mid-clip was FFmpeg's own exception, which the page does not catch as a clip's error."""
    import types

    def refuse(frame):
        raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")

    writer = VideoWriter(tmp_path / ".partial.mp4", (64, 48), 12, name="clip.mov")
    writer._stream = types.SimpleNamespace(encode=refuse)
    with pytest.raises(VideoError) as failed:
        writer.write(np.zeros((48, 64, 3), np.uint8))
    writer.abort()
    assert str(failed.value) == ("clip.mov: the colorized clip could not be written (Invalid data found when "
                                 "processing input)")
    assert not (tmp_path / ".partial.mp4").exists()


def test_the_cli_colorizes_a_clip_with_a_checkpoint_and_refuses_a_misspelt_one(tmp_path, capsys, installed_tiny_checkpoints):
    """The video audit (session 36): ``colorize`` took ``--checkpoint`` (a fine-tuned or trained model), ``video`` did
    not. A path that names no checkpoint is one line, before TensorFlow loads."""
    from colorizer import checkpoints

    folder = checkpoints.resolve("cifar_ae")[0].parent
    source = write_clip(tmp_path / "in.mp4", synthetic.moving_square(frames=3, size=(64, 48)).gray)
    assert main(["video", str(source), "-o", str(tmp_path / "out.mp4"), "--checkpoint", str(folder)]) == 0
    assert probe(tmp_path / "out.mp4").frames == 3
    capsys.readouterr()
    assert main(["video", str(source), "-o", str(tmp_path / "no.mp4"), "--checkpoint", str(tmp_path / "nothing")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "nothing" in err[0], err
    assert not (tmp_path / "no.mp4").exists()


def test_the_output_may_not_be_the_reference_or_the_hints_file(tmp_path, capsys):
    """Session 37's CLI audit: ``-o`` equal to ``--reference`` turned the reference photo into an MP4. Since session 38
    no existing file of another kind than MP4 may be ``-o`` (``colorizer.cli._another_kind``), a reference included."""
    source = write_clip(tmp_path / "in.mp4", synthetic.moving_square(frames=2, size=(64, 48)).gray)
    reference = tmp_path / "ref.png"
    Image.fromarray(np.full((48, 64, 3), [200, 40, 40], np.uint8)).save(reference)
    before = reference.read_bytes()
    assert main(["video", str(source), "-o", str(reference), "--reference", str(reference)]) == 2
    assert capsys.readouterr().err.strip() == (f"error: {reference}: exists and is not a .mp4 file (it would be "
                                               "replaced); give a new file name")
    assert reference.read_bytes() == before
