"""``python -m colorizer video IN -o OUT.mp4 [--arch NAME | --checkpoint PATH] [--reference REF] [--hints HINTS.json] [--max-frames N]``.

Exit status: 0 done; 2 when IN is not a readable video, is beyond the host's budget (``io.check_budget``),
a hints/reference file or ``--checkpoint`` is bad, IN's frames are too small to guide (``frames.unguidable_reason``), or OUT is IN itself, an existing file of another kind than MP4, or cannot be written (``colorizer.cli`` checks
that before any work) (one ``error: <file>: <reason>`` line each, never a traceback); 130 on Ctrl-C or SIGTERM (the
partial output is removed).
"""
from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["video_from_cli", "USAGE_ERROR"]

USAGE_ERROR = 2
LISTED_CUTS = 10   # scene cuts named on the summary line, the rest counted (a noise clip had 99 in one line)


def video_from_cli(args, progress, error) -> int:
    """``args`` from ``colorizer.cli``'s ``video`` parser; ``progress`` makes a tqdm-like bar,
    ``error(message)`` prints one line."""
    from colorizer.exemplar import read_reference
    from colorizer.hints import HintError, read_hints_file
    from colorizer.imageio import ImageError
    from colorizer.cli import listed
    from colorizer.video.io import MAX_VIDEO_PIXELS_ENV, VideoError, VideoTooLongError, check_budget, probe

    def as_given(message: str) -> str:
        """The clip's errors name its file (the app's store holds it under another name); here, as the user typed it:
        "clip.mp4: not a readable video" named no folder of the several a script may pass (session 38's CLI audit)."""
        name = Path(args.input).name
        return f"{args.input}{message[len(name):]}" if message.startswith(f"{name}:") else message

    if Path(args.output).resolve() == Path(args.input).resolve():
        error(f"{args.output}: is the input clip; give -o another file (the clip would be replaced by its colorization)")
        return USAGE_ERROR
    try:
        info = probe(args.input)
        total = check_budget(info, max_frames=args.max_frames)
    except VideoTooLongError as err:  # fewer frames would fit: the options that let them
        error(as_given(f"{err}; use --max-frames, or set {MAX_VIDEO_PIXELS_ENV}"))
        return USAGE_ERROR
    except VideoError as err:
        error(as_given(str(err)))
        return USAGE_ERROR
    if args.reference or args.hints:
        from colorizer.video.frames import unguidable_reason

        unguidable = unguidable_reason((info.height, info.width))
        if unguidable:
            error(f"{args.input}: {unguidable}")
            return USAGE_ERROR
    try:
        hints = read_hints_file(args.hints) if args.hints else None
        reference, reference_visible = read_reference(args.reference) if args.reference else (None, None)
    except HintError as err:
        error(str(err))
        return USAGE_ERROR
    except ImageError as err:
        error(f"reference {err}")
        return USAGE_ERROR
    from colorizer.quiet_tensorflow import import_tensorflow_quietly

    import_tensorflow_quietly()  # after the checks above: a bad input is refused before TensorFlow's seconds of loading
    from colorizer.inference import load
    from colorizer.models import hint_taking_architectures
    from colorizer.video.pipeline import colorize_video

    model = load(args.checkpoint or args.arch)
    if hints:
        if not model.takes_hints:
            error(f"{args.hints}: {model.name} takes no color hints; use --arch with one of: "
                  + ", ".join(hint_taking_architectures()))
            return USAGE_ERROR
        try:
            model.hint_grid(hints, (info.height, info.width))
        except HintError as err:
            error(f"{args.hints}: {str(err).split(': ', 1)[-1]}")
            return USAGE_ERROR
    output = Path(args.output)
    output.parent.mkdir(parents=True, exist_ok=True)
    replacing = output.exists()   # an MP4 of an earlier run (colorizer.cli refuses a file of another kind)
    bar = progress(None, desc=f"{info.name} with {model.name}", unit="frame", total=total or None)
    done = [0]

    def advance(count: int, _total: int) -> None:
        bar.update(count - done[0])
        done[0] = count

    try:
        report = colorize_video(args.input, output, model, reference=reference, reference_visible=reference_visible,
                                hints=hints, max_frames=args.max_frames, progress=advance)
    except VideoError as err:
        bar.close()
        error(as_given(str(err)))
        return USAGE_ERROR
    bar.close()
    sound = (f", audio {report.audio}" if report.audio else ", no audio track" if not report.sound_note
             else ", audio left out") + (f" ({report.sound_note})" if report.sound_note else "")
    cuts = (f", scene cut{'s' * (len(report.cuts) != 1)} at frame{'s' * (len(report.cuts) != 1)} "
            + listed([f"{cut} ({report.starts[cut]:.2f} s)" for cut in report.cuts], LISTED_CUTS)) if report.cuts else ""
    print(f"{output}: {report.frames} frame{'s' * (report.frames != 1)} {info.width}x{info.height} at {report.fps:g} fps ({report.codec}{sound}{cuts}), "
          f"{report.frames_per_second:.1f} frames/s")
    if replacing:
        print(f"note: {output} existed and was replaced", file=sys.stderr)
    if report.damaged:  # skipped as players skip them: the frames there are missing, not the rest of the clip
        print(f"note: {args.input}: {report.damage_text}", file=sys.stderr)
    # Headers estimate, and a file cut short holds fewer; --max-frames is the user's own number, not the header's.
    # A count the file did not give (MKV, WebM: its length × rate) is not a count to fall short of.
    elif not report.cut_short and not info.estimated and 0 < report.frames < info.frames and report.frames < (args.max_frames or info.frames):
        print(f"note: {args.input} held {report.frames} frame{'s' * (report.frames != 1)}, not the {info.frames} its "
              "header announced: all of them were colorized (a file cut short?)", file=sys.stderr)
    return 0

