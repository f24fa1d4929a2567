"""The README's video table: PSNR, flicker and speed of per-frame and temporally consistent colorization.

    python scripts/measure_video.py [--frames 48] [--real-frames 48] [--arch hypercolumn] [--json docs/video.json]
    python scripts/measure_video.py --variants     # the temporal blend's choices, on the photo clips only

Clips built from the gallery's color photos (``colorizer.video.synthetic``: a pan or a zoom at
640×360 with film grain and exposure flicker, the motion known exactly) and, when Debian's
``opencv-doc`` is installed (``apt-get install opencv-doc``; or ``--real-dir`` its unpacked
``examples/data``), its real clips, turned gray by the colorizer and scored against their own colors
(the motion estimated). Every colorization runs end to end as ``python -m colorizer video`` does:
decode, colorize, encode H.264; frames per second are counted over that whole run, after one warm-up
run, with the model loaded. Definitions: ``colorizer.video.measure``.
"""
from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import tempfile
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr, before the imports below
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

from colorizer.gallery import load_photo  # noqa: E402
from colorizer.video import measure, synthetic  # noqa: E402
from colorizer.video.io import probe, read_frames  # noqa: E402
from colorizer.video.pipeline import colorize_video  # noqa: E402

VARIANTS = {  # the shipped blend is "(default)"; each other row changes one thing
    "per-frame": {"temporal": False},
    "network every 3rd frame (default)": {"temporal": True},
    "DIS ultrafast preset": {"temporal": True, "flow_preset": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST},
    "grid 640 px (full 640×360)": {"temporal": True, "grid_side": 640},
    "history 8 frames": {"temporal": True, "history": 8.0},
    "network every frame": {"temporal": True, "network_every": 1},
    "network every 2nd frame": {"temporal": True, "network_every": 2},
}
REAL_DIRS = ("/usr/share/doc/opencv-doc/examples/data", "/work/debs/x/opencv-doc/usr/share/doc/opencv-doc/examples/data")


def photo_clips(frames: int):
    for seed, (key, motion) in enumerate(measure.PHOTO_CLIPS):
        held_out = " (held out)" if key in measure.HELD_OUT else ""
        clip = synthetic.camera_clip(load_photo(key), frames=frames, motion=motion, seed=seed, name=f"{key} {motion}{held_out}")
        yield clip.name, clip, [None] + [clip.previous_coordinates(t) for t in range(1, len(clip))]


def real_clips(folder: Path | None, frames: int):
    if folder is None:
        return
    for name in measure.REAL_CLIPS:
        path = folder / name
        if not path.is_file():
            continue
        truths = list(read_frames(path, max_frames=frames))
        grays = [cv2.cvtColor(t, cv2.COLOR_RGB2GRAY) for t in truths]
        back_maps = [None] + [measure.estimated_back_map(grays[t - 1], grays[t]) for t in range(1, len(grays))]
        yield name, path, truths, back_maps


def run(model, source, methods, truths, back_maps, frames, workdir) -> dict:
    rows = {"truth (the floor)": measure.truth_row(truths, back_maps)}
    for label, options in methods.items():
        output = Path(workdir) / "out.mp4"
        report = colorize_video(source, output, model, max_frames=frames, **options)
        rows[label] = {**measure.score(output, truths, back_maps), "fps": report.frames_per_second,
                       "cuts": len(report.cuts)}
        print(f"  {label}: {rows[label]}", file=sys.stderr, flush=True)
    return rows


def table(results: dict) -> str:
    lines = ["| clip | colorization | PSNR (dB) ↑ | flicker ↓ | flicker, pixels ↓ | frames/s ↑ |", "|---|---|---:|---:|---:|---:|"]
    for clip, rows in results.items():
        for label, row in rows.items():
            psnr = "–" if math.isinf(row["psnr"]) else f"{row['psnr']:.2f}"
            fps = "–" if math.isnan(row["fps"]) else f"{row['fps']:.1f}"
            lines.append(f"| {clip} | {label} | {psnr} | {row['flicker']:.2f} | {row['flicker_px']:.2f} | {fps} |")
    return "\n".join(lines)


def summary(results: dict, labels: list[str], title: str) -> str:
    """Per colorization: the mean over ``results``' clips of PSNR, flicker, flicker as a share of
    per-frame's, and frames per second."""
    out = [f"| {title} | PSNR (dB) | Δ PSNR vs per-frame | flicker | flicker / per-frame's | frames/s |",
           "|---|---:|---:|---:|---:|---:|"]
    base = {clip: rows["per-frame"] for clip, rows in results.items()}
    for label in labels:
        rows = [(clip, r[label]) for clip, r in results.items() if label in r]
        psnr = np.mean([r["psnr"] for _, r in rows])
        dpsnr = np.mean([r["psnr"] - base[c]["psnr"] for c, r in rows])
        flicker = np.mean([r["flicker"] for _, r in rows])
        ratio = np.mean([r["flicker"] / base[c]["flicker"] for c, r in rows])
        fps = np.mean([r["fps"] for c, r in rows])
        out.append(f"| {label} | {psnr:.2f} | {dpsnr:+.2f} | {flicker:.2f} | {ratio:.2f} | {fps:.1f} |")
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=48, help="frames of each clip built from a photo (640×360)")
    parser.add_argument("--real-frames", type=int, default=48, help="first frames of each real clip")
    parser.add_argument("--real-dir", type=Path, default=None, help="folder holding Megamind.avi, vtest.avi, tree.avi")
    parser.add_argument("--arch", default="hypercolumn")
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--keep-clips", type=Path, default=None, metavar="DIR",
                        help="also keep the gray clips built from photos here (to run python -m colorizer video on them)")
    parser.add_argument("--variants", action="store_true",
                        help="instead: the blend's choices (flow preset, grid, history, network stride) on the photo clips")
    args = parser.parse_args(argv)
    from colorizer.inference import load

    model = load(args.arch)
    real_dir = args.real_dir or next((Path(d) for d in REAL_DIRS if Path(d).is_dir()), None)
    results, timed = {}, set()
    methods = VARIANTS if args.variants else measure.METHODS
    with tempfile.TemporaryDirectory() as workdir:
        for name, clip, back_maps in photo_clips(args.frames):
            source = Path(workdir) / "clip.mp4"
            measure.write_clip(clip, source)
            if args.keep_clips:
                args.keep_clips.mkdir(parents=True, exist_ok=True)
                measure.write_clip(clip, args.keep_clips / f"{name.split(' (')[0].replace(' ', '_')}.mp4")
            if not results:   # warm-up: graphs traced, kernels compiled, before anything is timed
                colorize_video(source, Path(workdir) / "warm.mp4", model, max_frames=4)
            print(name, file=sys.stderr, flush=True)
            timed.add(f"{name} 640×360")
            results[f"{name} 640×360"] = run(model, source, methods, clip.truth, back_maps, None, workdir)
        for name, path, truths, back_maps in real_clips(None if args.variants else real_dir, args.real_frames):
            info = probe(path)
            print(name, file=sys.stderr, flush=True)
            results[f"{name} {info.width}x{info.height}"] = run(model, path, measure.METHODS, truths, back_maps,
                                                               args.real_frames, workdir)
    print(f"python scripts/measure_video.py {' '.join(argv if argv is not None else sys.argv[1:])}".strip())
    print(f"{platform.processor() or platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores; model {args.arch}\n")
    photo = {clip: rows for clip, rows in results.items() if clip in timed}
    real = {clip: rows for clip, rows in results.items() if clip not in timed}
    print(summary(photo, list(methods), f"{len(photo)} old-film clips from photos, 640×360 (mean)"))
    if real:
        print()
        print(summary(real, list(methods), f"{len(real)} real clips, first {args.real_frames} frames (mean)"))
    print()
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
