"""Command line: ``python -m colorizer {archs,colorize,video,evaluate,train,finetune,export-lite,bench}``.

Forms other tools call (keep them stable):
- ``archs [--hints]``: one architecture name per line (``--hints``: those taking user color hints).
- ``colorize IN... -o OUTDIR [--arch NAME | --checkpoint PATH]``: OUTDIR/<stem>.png per input (inputs that
  share a stem, e.g. a/x.png and b/x.jpg, get <stem>_2.png, … in the order given, each said on stderr, as
  does an input in OUTDIR itself: OUTDIR/x.png colorized into OUTDIR is x_2.png, the photo never overwritten; a PNG
  of an earlier run, or of the user's, already at OUTDIR/<stem>.png is replaced, and a note on stderr names them); an
  unreadable file (or one the memory left cannot hold) prints ``error: <file>: <reason>`` on stderr
  and the rest go on; exit 1 if any failed. ``--hints HINTS.json`` (a list of ``{"x", "y", "rgb"}``,
  see ``colorizer.hints``) applies to every input; a malformed file, a point outside an image or a
  model without hints prints one ``error:`` line and exits 2. ``--reference REF``: colors from the
  color photo REF for every input (``colorizer.exemplar``); an unreadable REF: one line, exit 2.
- ``video IN -o OUT.mp4 [--arch NAME] [--reference REF] [--hints HINTS.json] [--max-frames N]``: the
  clip colorized into an MP4 (``colorizer.video``); a file that is not a readable video, a clip beyond
  the host's budget, or a bad hints/reference file: one ``error:`` line, exit 2.
- ``evaluate DIR|gallery [--arch NAME ...] [--json FILE]``: metrics per architecture with two
  baselines, ``gray`` and ``baseline: training palette`` (``colorizer.baselines.TrainingPalette``), on
  DIR's held-out photos or on the built-in gallery's color photos; an unreadable photo prints its
  ``error:`` line and is left out, and the exit status is then 1 (after the table). A picture with
  transparency is measured over the pixels it shows, as the app measures it; with ``--references``, a
  reference gives colors only from the pixels it shows, as in the app.
- ``train --arch NAME --data DIR [--out DIR] [--epochs --size --batch-size ...]``: the checkpoint in
  OUT/NAME (OUT: default ``weights/``, where a shipped NAME is refused unless ``--out weights`` says so); an
  unreadable training photo prints its ``error:`` line on stderr and training goes on without it, exit 1.

Every command: stdout says what was done, stderr the ``error:`` line of each failure and the notes above
(at ``TF_CPP_MIN_LOG_LEVEL`` 3, the default of ``python -m colorizer``, nothing of TensorFlow's: see
``colorizer.quiet_tensorflow``). Exit 2: a usage error found before any work (an option out of its range, an output that
cannot be written or would overwrite an input, or an existing file of another kind, a photo folder that is a file or
missing); 1: some file failed or nothing could be done; 130: Ctrl-C or SIGTERM (``train`` and ``finetune``: the first
stops training after its step and saves the best epoch, exit 0, saying it stopped early; a second aborts, 130).
TensorFlow is imported only by the commands that need it, so ``archs`` answers at once.
"""
from __future__ import annotations

import argparse
import json
import math
import shlex
import signal
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

from colorizer import (ARCHITECTURE_NAMES, FLAGSHIP, HINT_TAKING_NAMES, MIRRORING_NAMES, SEEDED_NAMES, TEMPERATURE_NAMES,
                       TEMPERATURE_RANGE)
from colorizer.quiet_tensorflow import import_tensorflow_quietly
from colorizer.settings import is_positive_number

__all__ = ["main"]


def _progress(items, desc=None, **kwargs):
    from tqdm import tqdm

    return tqdm(items, desc=desc, file=sys.stderr, disable=None, **kwargs)


def _error(message: str) -> None:
    from colorizer.imageio import error_line

    _stderr(error_line(message))


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


class _Failures:
    """An ``on_error`` that prints each per-file ``error:`` line on stderr and counts them (``count``): a
    command that left any file out exits 1, after its results."""

    def __init__(self):
        self.count = 0

    def __call__(self, line: str) -> None:
        _stderr(line)
        self.count += 1


def _problem(err: Exception) -> str:
    """A failure as one line: an OSError as ``<the file it names>: <reason>``, never ``[Errno 13] …``."""
    if isinstance(err, OSError) and err.filename is not None:
        return f"{err.filename}: {err.strerror or err}"
    return str(err)


def _unwritable(path, folder: bool) -> bool:
    """True (its ``error:`` line printed) when nothing can be written at ``path`` (``folder``: into it): checked
    before any work, so an hour of training never ends in a permission error (``checkpoints.check_writable``)."""
    from colorizer.checkpoints import check_writable

    try:
        check_writable(path, folder)
    except OSError as err:
        _error(_problem(err))
        return True
    return False


def _inside_weights(path) -> bool:
    from colorizer.checkpoints import in_weights

    return in_weights(path, the_folder_itself=False)


def _into_weights(path) -> bool:
    """True (its ``error:`` line printed) when ``path`` is ``weights/`` or inside it: the shipped checkpoints' folder,
    which only ``train --out weights`` (its own check) and ``export-lite`` write into, on purpose. ``colorize -o``,
    ``evaluate --json``, ``video -o`` and ``train --snapshots`` wrote there (session 37's CLI audit)."""
    from colorizer.checkpoints import in_weights

    if not in_weights(path):
        return False
    _error(f"{path}: is inside the shipped weights/ folder, which holds the shipped checkpoints; write elsewhere")
    return True


def _another_kind(path, suffix: str) -> bool:
    """True (its ``error:`` line printed) when ``path`` is an existing file of another kind than the ``suffix`` the
    command writes: ``evaluate --json`` wrote its report over a photo it had read, or a checkpoint's model.keras, and
    ``video -o`` over a PNG (session 38's CLI audit). A file of its own kind is replaced, as a rerun expects."""
    path = Path(path)
    if not path.is_file() or path.suffix.lower() == suffix or _holds(path, suffix):
        return False
    _error(f"{path}: exists and is not a {suffix} file (it would be replaced); give a new file name")
    return True


def _holds(path: Path, suffix: str) -> bool:
    """Whether ``path`` holds what a command writes as ``suffix`` whatever its own name says (a first run's ``-o
    out.mov``, ``--json report``): its rerun was refused (session 38's review)."""
    try:
        if suffix == ".mp4":  # an MP4 (ISO media) opens with its ftyp box
            with open(path, "rb") as f:
                return f.read(12)[4:8] == b"ftyp"
        if suffix == ".json" and path.stat().st_size <= MAX_REPORT_BYTES:
            json.loads(path.read_bytes())
            return True
    except (OSError, ValueError):
        pass
    return False


def _not_a_folder(path) -> bool:
    """True (its ``error:`` line printed) when ``path``, a folder of photos to read, is a file or is missing: a
    usage error, found before any model loads (``data.check_folder``)."""
    from colorizer.data import check_folder

    try:
        check_folder(path)
    except FileNotFoundError as err:
        _error(str(err))
        return True
    return False


def _unknown_checkpoint(name_or_path) -> bool:
    """Say (one line) that ``name_or_path`` names no checkpoint there is, with the names there are → True; a
    filesystem and name check only, done before TensorFlow loads."""
    from colorizer import checkpoints

    try:
        checkpoints.resolve(name_or_path)
    except checkpoints.CheckpointError as err:
        _error(str(err))
        return True
    return False


def cmd_archs(args) -> int:
    if args.hints:  # named beside ARCHITECTURE_NAMES: no TensorFlow (it took 4.8 s), as the list without --hints
        print("\n".join(HINT_TAKING_NAMES))
    else:
        print("\n".join(ARCHITECTURE_NAMES))
    return 0


USAGE_ERROR = 2  # a bad hints or reference file, or hints for a model that takes none: argparse's status


def _hints_without_a_hint_model(args) -> str | None:
    """Why ``--hints`` cannot go with this ``--arch`` (one line), known from its name before anything loads; None
    when it can, or when the model is a ``--checkpoint`` (its architecture is known once it loads)."""
    if not args.hints or args.checkpoint or args.arch in HINT_TAKING_NAMES:
        return None
    return f"{args.hints}: {args.arch} takes no color hints; use --arch with one of: " + ", ".join(HINT_TAKING_NAMES)


def _unused_option(args, name: str, mirrors: bool, has_temperature: bool, draws: bool) -> str | None:
    """Why ``--mirror``, ``--temperature`` or ``--seed`` cannot go with model ``name`` (one line), or None. A model
    that does not use an option would ignore it: a class comparing temperatures on cifar_ae got the same picture
    each time, without a word (session 34's audit)."""
    if args.mirror and not mirrors:
        return f"--mirror: {name} does not average with the mirror image; it is the flagship's ({FLAGSHIP})"
    if args.temperature is not None and not has_temperature:
        return f"--temperature: {name} does not decode color bins; the 313-bin models do ({', '.join(TEMPERATURE_NAMES)})"
    if args.seed is not None and not draws:
        return f"--seed: {name} draws no random colors; the VAE does (--arch {SEEDED_NAMES[0]})"
    return None


def _load_model(args):
    import_tensorflow_quietly()  # colorize checks its hints and reference first, in a fraction of a second
    from colorizer.inference import load

    return load(args.checkpoint or args.arch)


def cmd_colorize(args) -> int:
    if args.checkpoint and _unknown_checkpoint(args.checkpoint):  # a misspelt path, before TensorFlow loads
        return USAGE_ERROR
    from colorizer.exemplar import read_reference
    from colorizer.hints import HintError, read_hints_file
    from colorizer.imageio import ImageError

    try:
        hints = read_hints_file(args.hints) if args.hints else None
    except HintError as err:
        _error(str(err))
        return USAGE_ERROR
    try:
        reference, reference_visible = read_reference(args.reference) if args.reference else (None, None)
    except ImageError as err:
        _error(f"reference {err}")
        return USAGE_ERROR
    refused = _hints_without_a_hint_model(args) or (None if args.checkpoint else _unused_option(
        args, args.arch, args.arch in MIRRORING_NAMES, args.arch in TEMPERATURE_NAMES, args.arch in SEEDED_NAMES))
    if refused:  # an --arch's options are known from its name, before TensorFlow's seconds (9 s here)
        _error(refused)
        return USAGE_ERROR
    model = _load_model(args)
    if hints and not model.takes_hints:
        from colorizer.models import hint_taking_architectures

        _error(f"{args.hints}: {model.name} takes no color hints; use --arch with one of: "
               + ", ".join(hint_taking_architectures()))
        return USAGE_ERROR
    # A checkpoint's architecture is known once it loads; asked only for an option given (a stand-in model, or one
    # made elsewhere, need not say what it takes otherwise).
    refused = (args.mirror or args.temperature is not None or args.seed is not None) and _unused_option(
        args, model.name, "mirror" in model.options, model.has_temperature, model.is_stochastic)
    if refused:
        _error(refused)
        return USAGE_ERROR
    out_dir = Path(args.output)
    out_dir.mkdir(parents=True, exist_ok=True)   # after the refusals above: they left an empty OUTDIR behind
    options = {k: v for k, v in (("temperature", args.temperature), ("seed", args.seed)) if v is not None}
    if args.mirror:
        options["mirror"] = True
    if hints is not None:
        options["hints"] = hints
    if reference is not None:  # what a transparent area of it hides gives no color
        options.update(reference=reference, reference_visible=reference_visible)
    written: set[str] = set()
    outputs = output_names(args.inputs, out_dir)
    # A PNG already there (an earlier run's, or the user's own photo.png beside photo.jpg) is replaced: said, not
    # silent (session 38's CLI audit); the inputs themselves are never written over (output_names).
    existed = sorted(name for name in set(outputs.values()) if (out_dir / name).exists())
    try:
        failed, bad_hints = _colorize_each(args, model, options, outputs, out_dir, written)
    except KeyboardInterrupt:  # what was written is whole (each PNG lands atomically): say how far it got
        print(f"{len(written)} of {len(outputs)} colorized into {out_dir} before the interruption", flush=True)
        raise
    written_names = {outputs[path] for path in written}
    replaced = [name for name in existed if name in written_names]
    if replaced:
        _stderr(f"note: {len(replaced)} file{'s' * (len(replaced) != 1)} already in {out_dir} replaced: {listed(replaced)}")
    # What happened, on stdout.
    print(f"{len(written)} of {len(outputs)} colorized into {out_dir}", flush=True)
    return USAGE_ERROR if bad_hints else 1 if failed else 0


def _colorize_each(args, model, options: dict, outputs: dict, out_dir: Path, written: set) -> tuple[int, int]:
    """``cmd_colorize``'s batch: each input colorized and written (added to ``written``), a file that fails one line
    on stderr → (files failed, files whose hints did not fit)."""
    from colorizer.checkpoints import atomic_write_bytes
    from colorizer.hints import HintError
    from colorizer.imageio import ImageError, encode_png, read_image

    failed = bad_hints = 0
    for path in _progress(args.inputs, desc=f"colorizing with {model.name}", unit="image"):
        try:
            image = read_image(path)
        except ImageError as err:
            _error(str(err))
            failed += 1
            continue
        try:
            result = model.colorize(image.pixels, **options)
        except HintError as err:  # e.g. a point outside this image: say which image, go on with the rest
            _error(f"{path}: {str(err).split(': ', 1)[-1]}")
            bad_hints += 1
            continue
        except MemoryError:  # a photo within the pixel limit on a small machine: skip it, keep the batch going
            height, width = image.rgb.shape[:2]
            _error(f"{path}: not enough memory to colorize {width}x{height} pixels")
            failed += 1
            continue
        try:
            atomic_write_bytes(out_dir / outputs[path], encode_png(result, image.alpha))
        except OSError as err:  # e.g. a folder of that name in OUTDIR: this result is lost, not the batch
            _error(_problem(err))
            failed += 1
            continue
        written.add(path)
    return failed, bad_hints



def output_names(inputs: list[str], out_dir: str | Path | None = None) -> dict[str, str]:
    """Input path → its output file name in ``out_dir``: ``<stem>.png``, or ``<stem>_2.png``, ``_3``… for a stem
    an earlier input already has (two inputs never overwrite one result), or the name of an input that is in
    ``out_dir`` itself (``colorize DIR/x.png -o DIR`` never writes over the photo); each renaming is said on stderr."""
    names, used = {}, set()
    inputs_there = set() if out_dir is None else _names_in(inputs, Path(out_dir))
    for path in inputs:
        if path in names:  # the same file given twice: one result
            continue
        stem, n = Path(path).stem or "image", 1
        name = f"{stem}.png"
        while name in used or name in inputs_there:
            n += 1
            name = f"{stem}_{n}.png"
        if n > 1:
            whose = "an input" if f"{stem}.png" in inputs_there else "another input's"
            _stderr(f"note: {path} is written as {name} ({stem}.png is {whose})")
        used.add(name)
        names[path] = name
    return names


def _names_in(paths: list[str], folder: Path) -> set[str]:
    """The file names of those of ``paths`` that lie in ``folder`` (paths resolved: ``./x.png`` is ``x.png``)."""
    folder = folder.resolve()
    return {Path(p).name for p in paths if Path(p).resolve().parent == folder}


GALLERY_SET = "gallery"
TRAINING_PALETTE_ROW = "baseline: training palette"


def cmd_evaluate(args) -> int:
    if args.dir != GALLERY_SET and _not_a_folder(args.dir):
        return USAGE_ERROR
    if any(_unknown_checkpoint(path) for path in args.checkpoint or []):  # a misspelt path, before TensorFlow loads
        return USAGE_ERROR
    import_tensorflow_quietly()
    from colorizer.baselines import TrainingPalette
    from colorizer.eval_report import format_table, write_json
    from colorizer.eval_sets import gallery_truths, held_out_truths
    from colorizer.evaluate import WithOptions, evaluate_photos
    from colorizer.inference import load

    if args.references:
        extra = [o for o, given in (("--checkpoint", args.checkpoint), ("--temperature", args.temperature),
                                    ("--mirror", args.mirror), ("--hints", args.hints)) if given]
        if extra:  # the pairs' tables score the architectures named, with and without the reference
            _error(f"{', '.join(extra)}: not taken with --references (its tables score --arch models, default the "
                   "flagship)")
            return USAGE_ERROR
        return _evaluate_references(args)
    skipped, gray = _Failures(), []
    photos = (gallery_truths() if args.dir == GALLERY_SET
              else held_out_truths(args.dir, on_error=skipped, with_visible=True, on_gray=gray.append))
    if not photos:
        _error(f"{args.dir}: no color photos to evaluate" + (f" ({_gray_left_out(gray)})" if gray else ""))
        return 1
    names = args.arch or ([] if args.checkpoint else list(ARCHITECTURE_NAMES))
    models = {name: load(name) for name in names}
    for path in args.checkpoint or []:  # a trained run's own weights (--arch NAME loads the shipped ones)
        model = load(path)
        models[model.name if model.name not in models else str(path)] = model
    unused = _options_for_none(args, models)
    if unused:  # as colorize refuses them: an extra row asked for and silently missing (session 35's audit)
        _error(unused)
        return USAGE_ERROR
    # The simplest automatic colorizer beside gray: one color per lightness, the training photos' mean.
    models = {TRAINING_PALETTE_ROW: TrainingPalette(), **models}
    for t in args.temperature or []:  # extra rows: the 313-bin models decoded at other temperatures
        models.update({f"{n} (T={t:g})": WithOptions(m, temperature=t) for n, m in list(models.items()) if getattr(m, "has_temperature", False)})
    if args.mirror:  # extra rows: the models that can, averaged with the mirror image (twice the time)
        models.update({f"{n} (mirror-averaged)": WithOptions(m, mirror=True) for n, m in list(models.items())
                       if "mirror" in getattr(m, "options", ())})
    if args.hints:  # extra rows: hint-taking models given n simulated hints per photo
        from colorizer.evaluate import HintedColorizer

        from colorizer.baselines import KernelSpreadHints

        for name, model in [(n, m) for n, m in models.items() if getattr(m, "takes_hints", False)]:
            del models[name]
            for k in args.hints:
                models[f"{name} ({k} hints)"] = HintedColorizer(model, k)
                if k:  # what the network reads by itself, and what a plain spread of the same hints gives
                    models[f"{name} ({k} hints, network alone)"] = HintedColorizer(model, k, spread=None)
                    models[f"baseline: kernel spread of {k} hints"] = HintedColorizer(KernelSpreadHints(model), k)
    summary = evaluate_photos(photos, models, progress=_progress, per_photo=args.per_photo)
    print(f"{len(photos)} color photo{'s' * (len(photos) != 1)} from {args.dir}"
          + (f"; {_gray_left_out(gray)}" if gray else ""))
    transparent = sum(1 for photo in photos if len(photo) > 2 and photo[2] is not None)
    if transparent:  # as the app measures them: what a transparent pixel hides is not the picture
        print(f"{transparent} of them with transparency: measured over their visible pixels only")
    print(format_table(summary))
    if args.per_photo:
        from colorizer.eval_report import format_per_photo

        print()
        print(format_per_photo(summary))
    if args.json:
        write_json(summary, args.json)
    return 1 if skipped.count else 0


def listed(items, shown: int = 5) -> str:
    """The first ``shown`` of ``items`` (strings), then how many more: a line that stays a line however many there are
    (the command line's notes: files replaced, gray photos left out, scene cuts)."""
    items = list(items)
    return ", ".join(items[:shown]) + (f" and {len(items) - shown} more" if len(items) > shown else "")


def _gray_left_out(names: list[str]) -> str:
    """The words for the gray photos ``evaluate`` leaves out (they have no color to measure against): a class
    counting its photos should not find some silently missing (session 37's audit)."""
    return f"{len(names)} gray one{'s' * (len(names) != 1)} left out, no color to measure against: {listed(names)}"


def _options_for_none(args, models: dict) -> str | None:
    """The line for an option that adds rows to none of the chosen ``models`` (``--temperature``: the 313-bin ones,
    ``--mirror``: those that can, ``--hints``: the hint-taking ones), or None."""
    wanted = (("--temperature", args.temperature, lambda m: getattr(m, "has_temperature", False), "decodes 313 bins"),
              ("--mirror", args.mirror, lambda m: "mirror" in getattr(m, "options", ()), "averages with a mirror image"),
              ("--hints", args.hints, lambda m: getattr(m, "takes_hints", False), "takes hints"))
    for option, given, applies, what in wanted:
        if given and not any(applies(m) for m in models.values()):
            return f"{option}: none of {', '.join(models)} {what}, so it would add no row"
    return None


def _evaluate_references(args) -> int:
    """One table per pair set of ``eval_sets.reference_pairs``: gray, the automatic model, the model
    with the reference."""
    from colorizer.baselines import LightnessMeanReference, NearestNeighbourReference
    from colorizer.eval_report import format_per_photo, format_table
    from colorizer.eval_sets import reference_pairs
    from colorizer.evaluate import ReferencedColorizer, evaluate_photos
    from colorizer.inference import load

    if args.dir == GALLERY_SET:
        _error("--references needs a photo folder with a manifest.csv (the gallery has no pairs)")
        return USAGE_ERROR
    summaries, skipped = {}, _Failures()
    for set_name, pairs in reference_pairs(args.dir, on_error=skipped, with_visible=True).items():
        if not pairs:
            print(f"\n{set_name}: no pairs in {args.dir}")
            continue
        models = {"baseline: the reference's mean color at each lightness": ReferencedColorizer(LightnessMeanReference(), pairs),
                  "baseline: nearest neighbours (8 best cells, plain mean)": ReferencedColorizer(NearestNeighbourReference(), pairs)}
        for name in args.arch or [FLAGSHIP]:
            model = load(name)
            models.update({name: model, f"{name} + reference": ReferencedColorizer(model, pairs)})
        summaries[set_name] = evaluate_photos([(name, truth, visible) for name, truth, _, visible, _ in pairs], models,
                                              progress=_progress, per_photo=args.per_photo)
        print(f"\n{set_name}: {len(pairs)} pairs from {args.dir}")
        transparent = sum(1 for _, _, _, shown, reference_shown in pairs
                          if shown is not None or reference_shown is not None)
        if transparent:  # as the app takes them: a transparent pixel hides its color from the measure and the match
            print(f"{transparent} of them with transparency: measured over the photo's visible pixels, colored from "
                  "what the reference shows")
        print(format_table(summaries[set_name]))
        if args.per_photo:
            print()
            print(format_per_photo(summaries[set_name]))
    if args.json:
        from colorizer.eval_report import write_json

        write_json(summaries, args.json)
    return 1 if skipped.count else 0


def cmd_train(args) -> int:
    from colorizer.checkpoints import WEIGHTS_DIR

    if _not_a_folder(args.data) or (args.init_from and _unknown_checkpoint(args.init_from)):
        return USAGE_ERROR
    # The other folders it reads, and the split it needs, before TensorFlow's seconds: a missing --surfaces said
    # "no stamps (*.png)" after 4.6 s, and a flat --data read every photo twice to then ask for val/ (session 37).
    if any(_not_a_folder(folder) for folder in (args.stamps, args.surfaces, *(args.extra_photos or ())) if folder):
        return USAGE_ERROR
    if args.backdrops and not args.stamps:  # without them its "scenes" were blank gray crops, added without a word
        _error("--backdrops: pastes the --stamps on plain neutral ground; pass --stamps DIR too")
        return USAGE_ERROR
    from colorizer.data import NO_VALIDATION, has_val_split

    if not has_val_split(args.data):
        _error(f"{args.data}: {NO_VALIDATION}")
        return USAGE_ERROR
    if args.out is not None and _inside_weights(args.out):  # weights/ holds the shipped checkpoints, one folder each: --out weights replaces one, on purpose
        _error(f"{args.out}: is inside the shipped weights/ folder; pass --out {_shown(WEIGHTS_DIR)} to replace the "
               "shipped checkpoint on purpose, or --out DIR outside it")
        return USAGE_ERROR
    # A shipped model, not a folder: the app's "train it: python -m colorizer train …" hints name missing ones. A file
    # test, before TensorFlow's seconds (session 38's CLI audit: after them).
    if args.out is None and (WEIGHTS_DIR / args.arch / "model.keras").exists():
        _error(f"{WEIGHTS_DIR / args.arch}: train without --out would replace this shipped checkpoint; pass "
               f"--out {_shown(WEIGHTS_DIR)} to replace it on purpose, or --out DIR for another folder")
        return USAGE_ERROR
    import_tensorflow_quietly()  # the architecture's size check builds nothing, but its module imports Keras
    from colorizer.models import architecture
    from colorizer.train import check_size, rebalancing_power, train_architecture

    try:  # train_architecture checks them too, as a ValueError (exit 1): here they are usage errors, found first
        check_size(architecture(args.arch), args.size)
        rebalancing_power(architecture(args.arch), args.arch, args.class_rebalancing)
    except ValueError as err:
        _error(str(err))
        return USAGE_ERROR
    out = WEIGHTS_DIR if args.out is None else args.out
    # OUT/NAME, not only OUT (main checked a given --out): a file there would fail at the save, after the training.
    if _unwritable(Path(out) / args.arch, folder=True):
        return USAGE_ERROR
    skipped = _Failures()
    train_architecture(
        args.arch, args.data, out, epochs=args.epochs, size=args.size, batch_size=args.batch_size,
        lr=args.lr, crops_per_photo=args.crops_per_photo, seed=args.seed, snapshots=args.snapshots,
        stamps_dir=args.stamps, surfaces_dir=args.surfaces, init_from=args.init_from, backdrops=args.backdrops,
        extra_photos_dir=args.extra_photos, train_layers=tuple(n for n in (args.train_layers or "").split(",") if n),
        class_rebalancing=args.class_rebalancing, command="python -m colorizer " + shlex.join(args.argv),
        on_error=skipped,
    )
    return 1 if skipped.count else 0


def _shown(path: Path) -> str:
    """``path`` as a user types it here: relative to the working folder when inside it (``weights``)."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def cmd_finetune(args) -> int:
    if _not_a_folder(args.data):
        return USAGE_ERROR
    from colorizer.data import every_photo
    from colorizer.imageio import SUPPORTED_EXTENSIONS

    if not every_photo(args.data):  # the files are read after TensorFlow loads (the fine-tuning package imports it)
        _error(f"{args.data}: no photos to fine-tune on (none of {', '.join(sorted(SUPPORTED_EXTENSIONS))} here or in "
               "train/ or val/)")
        return USAGE_ERROR
    if _unknown_checkpoint(args.base):  # a misspelt --base, named with those there are, before TensorFlow loads
        return USAGE_ERROR
    import_tensorflow_quietly()  # the fine-tuning package imports it
    from colorizer.finetune import FinetuneError, finetune_from_cli
    from colorizer.finetune.publishing import check_destination

    try:  # before the check that writes a probe file: never one inside weights/, even for a moment
        check_destination(Path(args.out))
    except FinetuneError as err:
        _error(str(err))
        return USAGE_ERROR
    if _unwritable(args.out, folder=True):
        return USAGE_ERROR
    if (Path(args.out) / "model.keras").is_file():  # the run's last line said only "saved" (session 33's note)
        _stderr(f"note: {args.out} holds a checkpoint already; this fine-tune replaces it once it is saved "
                "(another --out keeps it)")
    return finetune_from_cli(args)


def cmd_video(args) -> int:
    from colorizer.video.cli import video_from_cli

    if args.checkpoint and _unknown_checkpoint(args.checkpoint):  # a misspelt path, before TensorFlow loads
        return USAGE_ERROR
    refused = _hints_without_a_hint_model(args)
    if refused:
        _error(refused)
        return USAGE_ERROR
    return video_from_cli(args, progress=_progress, error=_error)


# bench's three benchmarks and the options each reads; the defaults, to tell an option given from one left as is.
BENCH_DEFAULTS = {"sizes": "0.25,1,4,12", "runs": 5, "quick": False, "sessions": 20, "finetune_epochs": 2}
BENCH_OPTIONS = {"the speed benchmark": ("sizes", "runs", "quick"), "--alternate": (),
                 "--server": ("sessions", "finetune_epochs")}


def _unused_bench_options(args) -> str | None:
    """Why the options given cannot go together (one line), or None. ``bench --sessions 5`` measured speed, and
    ``--server --sizes 4`` the server, each ignoring the other's option without a word (session 33's note). An option
    is told given by its value: one given at its default changes nothing, and passes."""
    if args.server and args.alternate is not None:
        return "--server, --alternate: each is a benchmark of its own; give one"
    mode = "--server" if args.server else "--alternate" if args.alternate is not None else "the speed benchmark"
    given = [name for name, default in BENCH_DEFAULTS.items() if getattr(args, name) != default]
    unused = [name for name in given if name not in BENCH_OPTIONS[mode]]
    if not unused:
        return None
    owners = {name: owner for owner, names in BENCH_OPTIONS.items() for name in names}
    said = ", ".join(f"--{name.replace('_', '-')} (for {owners[name]})" for name in unused)
    return f"{said}: not read by {mode}; leave it out"


def cmd_bench(args) -> int:
    refused = _unused_bench_options(args)
    if refused:
        _error(refused)
        return USAGE_ERROR
    import_tensorflow_quietly()
    # The benchmark drives the library from outside it: the checkout's top-level ``benchmarks`` package.
    try:
        from benchmarks import bench_from_cli
    except ModuleNotFoundError as error:
        if error.name != "benchmarks":
            raise
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from another folder
        from benchmarks import bench_from_cli
    return bench_from_cli(args)


def cmd_export_lite(args) -> int:
    import os
    import time

    from colorizer import lite
    from colorizer.checkpoints import CheckpointError

    if args.checkpoint and _unknown_checkpoint(args.checkpoint):  # a misspelt path, before TensorFlow's seconds
        return USAGE_ERROR
    # The flatbuffer is for CPUs without fast bfloat16: the float32 network, whatever this CPU has
    # (the setting is read when the network is built, and put back after: main() also runs in-process).
    before = os.environ.get("COLORIZER_BFLOAT16")
    os.environ["COLORIZER_BFLOAT16"] = "0"
    try:
        model = _load_model(args)
    except CheckpointError as err:
        print(f"error: {err}", file=sys.stderr)
        return USAGE_ERROR
    finally:
        if before is None:
            os.environ.pop("COLORIZER_BFLOAT16", None)
        else:
            os.environ["COLORIZER_BFLOAT16"] = before
    if model.arch is None or model.arch.NAME not in lite.LITE_ARCHITECTURES:
        print(f"error: {model.name}: LiteRT is for {', '.join(lite.LITE_ARCHITECTURES)} checkpoints only", file=sys.stderr)
        return USAGE_ERROR
    start = time.perf_counter()
    try:
        path, error, index = model.export_lite()
    except (lite.LiteError, ValueError, OSError) as err:
        print(f"error: {model.name}: {err}", file=sys.stderr)
        return 1
    print(f"{model.name}: converted in {time.perf_counter() - start:.1f} s, within {error:.1e} of TensorFlow on a "
          f"probe; {len(index['buffers'])} weight buffers left to fill ({index['size'] / 1e6:.1f} MB flatbuffer, "
          f"{index['verbatim_bytes']:,} bytes kept verbatim) → {path} ({path.stat().st_size / 1e3:.0f} KB)")
    return 0


def _ranged(kind: type, low, high=None, *, low_open: bool = False, high_open: bool = False):
    """An argparse type: the text as ``kind`` (int or float), finite, from ``low`` to ``high`` (None: no top; each end
    excluded where ``low_open`` / ``high_open``); else argparse's one-line error, which names the option (exit 2)."""
    span = (f"{'>' if low_open else '≥'} {low}" if high is None
            else f"in {'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}")

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = math.nan
        # value − low: finite (NaN and infinity are no setting) and above 0, or at 0 where low is allowed
        if not (is_positive_number(value - low, zero_ok=not low_open)
                and (high is None or (value < high if high_open else value <= high))):
            raise argparse.ArgumentTypeError(f"expected {'a whole number' if kind is int else 'a number'} {span}, "
                                             f"got {text!r}")
        return value

    return parse


_COUNT = _ranged(int, 1)  # epochs, batch sizes, crops per photo: at least one
# The largest crop train and finetune take: the side fine-tuning reads photos at (finetune.photos.MAX_PHOTO_SIDE; a
# test holds the two equal). --crop 100000 or --size 100000 ended in OpenCV's "Failed to allocate 30000000000 bytes"
# (session 37's audits); the shipped models train at 176-256.
MAX_CROP_SIDE = 1024
MAX_CROPS_PER_PHOTO = 200   # the shipped runs took 10-20; 10^9 ran out of memory before a line was said
# Seeds of numpy's legacy generator, which keras.utils.set_random_seed (training) seeds too: 0 to 2**32 − 1.
_SEED = _ranged(int, 0, 2**32 - 1)
_LEARNING_RATE = _ranged(float, 0, 1, low_open=True, high_open=True)  # the range FinetuneConfig.validate holds
# The 313-bin decoders' annealed mean (quantize.annealed_mean) weighs each bin by probability ** (1 / T). At T = 1 that
# is the distribution's own mean, already desaturated; above 1 the weights flatten toward all bins alike, whose mean is
# gray (T = 1e9 gave a gray photo), so no T above 1 chooses a color. Toward 0 it becomes the likeliest bin: at 0.01 a
# bin 5 % likelier than the next already takes 99 % of the weight (1.05 ** 100 = 131), and a float32 logit / T
# overflows near 1e-38. The app's slider spans 0.05 to 1.
_TEMPERATURE = _ranged(float, *TEMPERATURE_RANGE)  # as Colorizer.colorize checks it (models.contract)


def _megapixels(text: str) -> str:
    """``bench --sizes``: megapixels, comma-separated, each above 0 and at most the command line's image limit (a
    100,000-MP size asked the synthetic photo for 400 GB); as ``benchmarks.config_from_args`` reads it, written one way
    (" 1, 4" is "1,4"), so that the default given in other words is still the default (``_unused_bench_options``)."""
    from colorizer.imageio import LOCAL_MAX_PIXELS

    most = LOCAL_MAX_PIXELS / 1e6
    try:
        sizes = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        sizes = []
    if not sizes or not all(is_positive_number(size) and size <= most for size in sizes):
        raise argparse.ArgumentTypeError(f"expected megapixels in (0, {most:g}] separated by commas, got {text!r}")
    return ",".join(f"{size:.15g}" for size in sizes)


def _counts(text: str) -> list[int]:
    try:
        counts = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected counts like 0,1,5,10, got {text!r}") from None
    if not counts or min(counts) < 0:
        raise argparse.ArgumentTypeError(f"expected counts ≥ 0 like 0,1,5,10, got {text!r}")
    return counts


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m colorizer`` parser: one subcommand per ``_add_*_parser``, its handler in ``args.run``;
    ``--help`` lists them in the order added here."""
    parser = argparse.ArgumentParser(prog="python -m colorizer", description="Colorize grayscale photos: six architectures, hints, reference photos, video.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_archs_parser(sub)
    _add_colorize_parser(sub)
    _add_evaluate_parser(sub)
    _add_train_parser(sub)
    _add_finetune_parser(sub)
    _add_video_parser(sub)
    _add_export_lite_parser(sub)
    _add_bench_parser(sub)
    return parser


def _add_archs_parser(sub) -> None:
    """``archs [--hints]``: the architecture names, one a line (``cmd_archs``)."""
    archs = sub.add_parser("archs", help="list the architecture names")
    archs.add_argument("--hints", action="store_true", help="only those that take user color hints")
    archs.set_defaults(run=cmd_archs)


def _add_colorize_parser(sub) -> None:
    """``colorize IN... -o OUTDIR``: image files colorized by one model (``cmd_colorize``)."""
    colorize = sub.add_parser("colorize", help="colorize image files into OUTDIR/<stem>.png")
    colorize.add_argument("inputs", nargs="+", metavar="IN", help="image files (PNG, JPEG, WebP, BMP, GIF, TIFF; "
                          "a color photo is turned gray first)")
    colorize.add_argument("-o", "--output", required=True, metavar="OUTDIR", help="the folder the PNGs go to "
                          "(<stem>.png each; made if missing)")
    which = colorize.add_mutually_exclusive_group()
    which.add_argument("--arch", choices=ARCHITECTURE_NAMES, default=FLAGSHIP, help=f"default: {FLAGSHIP}, the flagship")
    which.add_argument("--checkpoint", metavar="PATH", help="a .keras/.h5 file or checkpoint folder")
    colorize.add_argument("--temperature", type=_TEMPERATURE, help="the 313-bin models (hypercolumn, "
                          "hypercolumn_hints, unet313): annealed-mean temperature, 0.01 (each pixel's likeliest "
                          "color bin) to 1 (the bins' plain mean); default: the model's own "
                          "(its architecture's DECODE; else the paper's 0.38). The hypercolumn models use it only "
                          "where they are sure, within their colorfulness cap: it changes them little")
    colorize.add_argument("--seed", type=_SEED, help="vae: seed of the latent sample (default: z = 0)")
    colorize.add_argument("--mirror", action="store_true", help=f"{FLAGSHIP}: also run on the mirror image and average "
                          "(twice the time; slightly truer colors, docs/results.md)")
    colorize.add_argument("--reference", metavar="REF", help="a color photo to take the colors from (the model's "
                          "own colors fill in where nothing in it matches); applies to every input")
    colorize.add_argument("--hints", metavar="HINTS.json", help='user color hints for every input, a JSON list of '
                          '{"x": col, "y": row, "rgb": [r, g, b]} (optional "radius"); see `archs --hints`')
    colorize.set_defaults(run=cmd_colorize, writes=(("output", True),))


def _add_evaluate_parser(sub) -> None:
    """``evaluate DIR|gallery``: metrics per architecture beside the baselines (``cmd_evaluate``)."""
    evaluate = sub.add_parser("evaluate", help="PSNR, SSIM, L2_ab, right hue, AuC, colorfulness on color photos in DIR "
                                                "(its val/ split if it has one), or on the built-in gallery")
    evaluate.add_argument("dir", metavar="DIR", help=f"a photo folder, or '{GALLERY_SET}' for the built-in gallery's color photos")
    evaluate.add_argument("--arch", action="append", choices=ARCHITECTURE_NAMES, help="repeatable; default: all")
    evaluate.add_argument("--checkpoint", action="append", metavar="PATH",
                          help="repeatable: a checkpoint folder or .keras file (a run of `train --out`, a fine-tune) "
                               "or a checkpoint's name; without --arch only these are scored, beside the baselines")
    evaluate.add_argument("--json", metavar="FILE")
    evaluate.add_argument("--per-photo", action="store_true",
                          help="also list each photo (or pair) with its gain over gray, colorfulness and ab error "
                               "over gray, lowest first (--json then holds them too): the photos a set's averages hide")
    evaluate.add_argument("--temperature", type=_TEMPERATURE, action="append", metavar="T",
                          help="repeatable: also evaluate the 313-bin models decoded at temperature T (0.01 to 1)")
    evaluate.add_argument("--mirror", action="store_true",
                          help=f"also evaluate {FLAGSHIP} averaged with each photo's mirror image (twice the time)")
    evaluate.add_argument("--references", action="store_true",
                          help="colors from a reference photo: on a folder of real pairs (NAME.png + NAME.ref.png), or on pairs "
                               "built from DIR's held-out photos (another view of itself; another photo of the same "
                               "package and kind); with the baselines; default --arch: the flagship")
    evaluate.add_argument("--hints", type=_counts, metavar="N,N,...",
                          help="hint-taking models: one row per count of simulated hints per photo (e.g. 0,1,2,5,10,20)")
    evaluate.set_defaults(run=cmd_evaluate, writes=(("json", False),))


def _add_train_parser(sub) -> None:
    """``train --arch NAME --data DIR``: the options of ``train.train_architecture`` (``cmd_train``)."""
    train = sub.add_parser("train", help="train an architecture on a photo folder",
                           description="Train an architecture on a photo folder into OUT/NAME. An unreadable photo "
                                       "prints its error line on stderr and training goes on without it; the exit "
                                       "status is then 1.")
    train.add_argument("--arch", required=True, choices=ARCHITECTURE_NAMES)
    train.add_argument("--data", required=True, metavar="DIR", help="folder with train/ and val/ (scripts/fetch_photos.py)")
    # None here: cmd_train puts in checkpoints.WEIGHTS_DIR, refusing to replace a shipped checkpoint unasked.
    train.add_argument("--out", default=None, metavar="DIR", help="default: weights/, if NAME is not shipped there "
                       "(--out weights replaces a shipped checkpoint on purpose)")
    train.add_argument("--epochs", type=_COUNT, default=20, help="(default: %(default)s)")
    train.add_argument("--size", type=_ranged(int, 1, MAX_CROP_SIDE), default=None,
                       help=f"working size, at most {MAX_CROP_SIDE} (default: the architecture's); a multiple of 16 for "
                            "hypercolumn and hypercolumn_hints (VGG16 block 5 at 1/16), of 8 for the others")
    train.add_argument("--batch-size", type=_COUNT, default=32, help="(default: %(default)s)")
    train.add_argument("--lr", type=_LEARNING_RATE, default=1e-3, help="learning rate (default: %(default)s)")
    train.add_argument("--crops-per-photo", type=_ranged(int, 1, MAX_CROPS_PER_PHOTO), default=12,
                       help=f"random crops of each photo, at most {MAX_CROPS_PER_PHOTO} (default: %(default)s)")
    train.add_argument("--seed", type=_SEED, default=0, help="(default: %(default)s)")
    train.add_argument("--stamps", default=None, metavar="DIR",
                       help="photographic stamps pasted onto 70 %% of the training crops (scripts/fetch_stamps.py)")
    train.add_argument("--surfaces", default=None, metavar="DIR",
                       help="photographed surfaces: adds 10 %% quiet scenes (a surface with stamps on it) to the crops")
    train.add_argument("--backdrops", action="store_true",
                       help="adds 10 %% synthetic scenes: the stamps on plain neutral ground, which stays gray")
    train.add_argument("--extra-photos", default=None, nargs="+", metavar="DIR",
                       help="flat folders of photos from other sources, all cropped for training "
                            "(scripts/fetch_aerial.py: aerial views; scripts/fetch_everyday.py: rooms, streets, things)")
    train.add_argument("--init-from", default=None, metavar="CHECKPOINT",
                       help="start the decoder from this checkpoint's weights (name or folder), e.g. the hint "
                            "network from the flagship's; new input channels start at zero")
    train.add_argument("--train-layers", default=None, metavar="A,B,...",
                       help="train only these decoder layers (the rest keep --init-from's weights), e.g. "
                            "hint_attention,probs,ab_reg for the hint network")
    train.add_argument("--class-rebalancing", type=_ranged(float, 0), default=None, metavar="POWER",
                       help="hypercolumn: the power of the 313 bins' class-rebalancing weights in its loss "
                            "(default: hypercolumn.CLASSIFICATION_REBALANCING, 1; 0 is plain cross-entropy)")
    train.add_argument("--snapshots", default=None, metavar="DIR",
                       help="also write every epoch's trained weights here, to average them afterwards "
                            "(scripts/average_snapshots.py)")
    train.set_defaults(run=cmd_train, writes=(("out", True), ("snapshots", True)))


def _add_finetune_parser(sub) -> None:
    """``finetune --base NAME_OR_PATH --data DIR --epochs N --out DIR`` (``finetune.finetune_from_cli``)."""
    finetune = sub.add_parser("finetune", help="fine-tune a checkpoint's decoder on your photos (encoder frozen)")
    finetune.add_argument("--base", required=True, metavar="NAME_OR_PATH", help="architecture name, checkpoint name, folder or file")
    finetune.add_argument("--data", required=True, metavar="DIR", help="folder of color photos")
    finetune.add_argument("--epochs", type=_COUNT, required=True, metavar="N")
    finetune.add_argument("--out", required=True, metavar="DIR", help="where model.keras, history.csv and card.json go")
    finetune.add_argument("--lr", type=_LEARNING_RATE, default=3e-4, help="learning rate (default: %(default)s)")
    finetune.add_argument("--batch-size", type=_COUNT, default=16, help="(default: %(default)s)")
    # At most the side photos are read at (finetune.photos.MAX_PHOTO_SIDE; a test holds the two equal): --crop 100000
    # ended in OpenCV's "Failed to allocate 30000000000 bytes" after 12 s (session 37's audit).
    finetune.add_argument("--crop", type=_ranged(int, 16, MAX_CROP_SIDE), default=None,
                          help=f"crop size, at most {MAX_CROP_SIDE} (the side photos are read at): a multiple of 16 for "
                               "hypercolumn and hypercolumn_hints, of 8 for vgg16_ae and unet313; cifar_ae and vae "
                               "take only their own size (default: the model's working size)")
    finetune.add_argument("--val-share", type=_ranged(float, 0, 1, high_open=True), default=0.2,
                          help="the share of the photos held out to score the result on, at least one (default: "
                               "%(default)s; 0: none held out)")
    finetune.add_argument("--seed", type=_SEED, default=0, help="(default: %(default)s)")
    finetune.set_defaults(run=cmd_finetune)  # its --out is checked by cmd_finetune, weights/ refused first


def _add_video_parser(sub) -> None:
    """``video IN -o OUT.mp4``: a clip colorized (``video.cli.video_from_cli``)."""
    what = "colorize a clip (MP4, AVI, MOV, WebM, MKV, animated GIF) into an MP4, colors carried along the motion"
    video = sub.add_parser("video", help=what, description=what[0].upper() + what[1:] + ".")
    video.add_argument("input", metavar="IN", help="the clip; its sound is kept (copied, or re-encoded to AAC)")
    video.add_argument("-o", "--output", required=True, metavar="OUT.mp4", help="the colorized clip, always an MP4 "
                       "(H.264; VP9 for an odd frame size), whatever its name says")
    which = video.add_mutually_exclusive_group()
    which.add_argument("--arch", choices=ARCHITECTURE_NAMES, default=FLAGSHIP, help=f"default: {FLAGSHIP}, the flagship")
    which.add_argument("--checkpoint", metavar="PATH", help="a .keras/.h5 file or checkpoint folder (your trained or "
                       "fine-tuned weights)")
    video.add_argument("--reference", metavar="REF", help="a color photo whose colors the first frame takes; that frame then guides the rest")
    video.add_argument("--hints", metavar="HINTS.json", help="color hints for the first frame (a hint-taking --arch); it then guides the rest")
    video.add_argument("--max-frames", type=_COUNT, metavar="N", help="colorize only the first N frames (a clip of "
                       "more frames × pixels than $COLORIZER_MAX_VIDEO_PIXELS, default 2e9, is refused without it)")
    video.set_defaults(run=cmd_video, writes=(("output", False),))


def _add_export_lite_parser(sub) -> None:
    """``export-lite [--checkpoint PATH]``: the flagship converted for LiteRT (``cmd_export_lite``)."""
    export = sub.add_parser("export-lite", help=f"convert {FLAGSHIP} for LiteRT and write its weight-free template "
                            "beside the checkpoint, which the app fills and runs on CPUs without fast bfloat16 (colorizer/lite.py)")
    export.add_argument("--checkpoint", help=f"a checkpoint name or path (default: the shipped {FLAGSHIP}, whose template "
                        f"in weights/{FLAGSHIP}/ it rewrites from the model beside it: after retraining it, docs/training.md)")
    # No --arch here, but _load_model reads args.checkpoint or args.arch: without a checkpoint, the flagship.
    export.set_defaults(run=cmd_export_lite, arch=FLAGSHIP)


def _add_bench_parser(sub) -> None:
    """``bench``: speed and memory of every architecture (``benchmarks.bench_from_cli``)."""
    bench = sub.add_parser("bench", help="speed and memory of every architecture against an ECCV16-shaped reference")
    bench.add_argument("--json", metavar="FILE")
    # "(default: …)" in each help: a contributor reading --help could not tell what a plain run measures.
    bench.add_argument("--sizes", type=_megapixels, default=BENCH_DEFAULTS["sizes"], help="megapixels, comma-separated (default: %(default)s)")
    bench.add_argument("--runs", type=_COUNT, default=BENCH_DEFAULTS["runs"], help="timed runs per measurement, median reported (default: "
                       "%(default)s)")
    bench.add_argument("--quick", action="store_true", help="fewer runs and sizes: a smoke test, not for README")
    bench.add_argument("--alternate", type=_COUNT, metavar="ROUNDS",
                       help=f"instead: {FLAGSHIP} and the reference in turn at 1 MP, ROUNDS rounds, the ratio taken per "
                       "round (a host whose speed drifts cannot skew it)")
    bench.add_argument("--server", action="store_true", help="instead: the app in a browser (cold start, server "
                       "memory over every page and a fine-tune, many sessions at once); needs Playwright + Chromium")
    bench.add_argument("--sessions", type=_COUNT, default=BENCH_DEFAULTS["sessions"], help="--server: browser sessions uploading at once "
                       "(default: %(default)s)")
    bench.add_argument("--finetune-epochs", type=_COUNT, default=BENCH_DEFAULTS["finetune_epochs"], help="--server: epochs of the fine-tune measured "
                       "(default: %(default)s)")
    bench.set_defaults(run=cmd_bench, writes=(("json", False),))


MAX_REPORT_BYTES = 64 * 2**20   # a JSON report read to tell it is one (``_holds``): evaluate's are kilobytes
# The kind of file each command writes to its one output file (``_another_kind``).
REPORT_SUFFIXES = {cmd_evaluate: ".json", cmd_video: ".mp4", cmd_bench: ".json"}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # the card's "command" must replay this run, also when main() is called in-process
    # What the command will write (``writes``: (option, is a folder) pairs), checked before it starts: never into
    # weights/ (but train's --out, which has its own rule), and somewhere writable.
    writes = [(option, folder) for option, folder in getattr(args, "writes", ()) if getattr(args, option) is not None]
    if any(_into_weights(getattr(args, option)) for option, _ in writes
           if not (args.run is cmd_train and option == "out")):
        return USAGE_ERROR
    # (train's --out inside weights/ is cmd_train's to refuse: the write check's probe file went in there first.)
    if any(_unwritable(getattr(args, option), folder) for option, folder in writes
           if not (args.run is cmd_train and option == "out" and _inside_weights(args.out))):
        return USAGE_ERROR
    if any(_another_kind(getattr(args, option), REPORT_SUFFIXES[args.run]) for option, folder in writes
           if not folder and args.run in REPORT_SUFFIXES):
        return USAGE_ERROR
    try:
        # Each command imports TensorFlow itself, after the checks that need none: a bad hints file, reference or
        # folder was refused only after 4-6 s of TensorFlow's loading (session 34's and 35's audits).
        with _terminate_as_interrupt():
            return args.run(args)
    except (ValueError, FileNotFoundError, OSError) as err:  # CheckpointError is a ValueError
        _error(_problem(err))
        return 1
    except KeyboardInterrupt:
        _error("interrupted")
        return 130


@contextmanager
def _terminate_as_interrupt():
    """SIGTERM (``timeout``, ``docker stop``, a cancelled CI job) ends a command as Ctrl-C does: its cleanup runs
    (a video's hidden partial file was left behind, session 36's audit) and it says so. Training installs its own
    handler inside (the best epoch is saved first: ``loop.stop_on_signals``). Main thread only: Python delivers
    signals there."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
