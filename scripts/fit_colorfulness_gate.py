#!/usr/bin/env python3
"""Fit the flagship's colorfulness gate (``colorizer.colorfulness_gate``) on its training crops.

The crops are the ones ``train`` makes (same photos, stamps, crops per photo and seed as the shipped
flagship's card), so their VGG16 features come from the on-disk feature cache when training ran on
this machine (else they are computed once, about 2 minutes on 2 cores). Each crop's descriptor (blocks
4–5 pooled) is paired with the crop's own colorfulness; the ridge penalty is reported with a 5-fold
cross-validated correlation, the folds split by photo (a photo's crops are never both sides).

    python scripts/fit_colorfulness_gate.py data/photos --stamps data/stamps [--l2 10000] [--featureless N]
        [--log-features] --out DIR/colorfulness_gate.npz [--card DIR/card.json]

The shipped gate: ``--featureless 40 --log-features --l2 3000`` (the card's ``colorfulness_gate.command``), written
with ``--out weights/hypercolumn/colorfulness_gate.npz``. ``--out`` has no default: it was the shipped gate's file, and
repeating an experiment the notebook did not ship replaced the shipped gate without a word (session 38's audit).

``--featureless N`` adds N gray pictures with nothing in them (``colorfulness_gate.featureless``: flat,
ramps, faint noise), labeled with their colorfulness (0), so that a blank picture stays gray; they join
the folds as photos of their own, and the reported correlation is over the photo crops alone.

``--backdrops N`` adds N things on plain neutral ground (``train --backdrops``' scenes), labeled with their own
colorfulness, each a fold unit (docs/results.md, "The gate taught the same scenes": not shipped).

``--extra-photos FOLDER...`` adds photos of other sources (``scripts/fetch_aerial.py``, ``fetch_everyday.py``),
``--extra-crops-per-photo`` crops each, labeled with their own colorfulness, each photo a fold unit (measured in
docs/results.md, "Runs SDF and SDG": not shipped).

Then ``python scripts/fit_colorfulness_gate.py ... --evaluate val,gallery,opencv,opencv-docs`` prints
the figures of the checkpoint in ``--out``'s folder on those sets with the cap at several values
(``--caps``) and without it.
"""
from __future__ import annotations

import argparse
import functools
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr, before the imports below
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

from colorizer import checkpoints, colorfulness_gate, data, train  # noqa: E402
from colorizer.evaluate import evaluate_photos  # noqa: E402
from colorizer.features import FeatureCache, default_disk_dir  # noqa: E402
from colorizer.inference import load  # noqa: E402
from colorizer.metrics import colorfulness  # noqa: E402
from colorizer.models import hypercolumn  # noqa: E402

FOLDS = 5


@functools.cache
def _network(size: int):
    """The flagship's network at ``size``, built once (the photo crops and the featureless pictures share it)."""
    return hypercolumn.build(size)


def crop_descriptors(data_dir: str, stamps_dir: str | None, crops_per_photo: int, seed: int,
                     size: int = 176, log=print, semantic: bool = False):
    """The flagship's training crops → (descriptors N×D, their colorfulness N, photo index N, the outputs pooled)."""
    stamps = data.load_stamps(stamps_dir) if stamps_dir else None
    _, _, crops, _ = train.crops(data_dir, size, crops_per_photo, seed, log, stamps)
    blocks = encoder_blocks(crops, size, log)
    # VGG16 blocks 4 and 5 (colorfulness_gate.BLOCKS; block 3 added nothing) and, with ``semantic``, the
    # ImageNet encoder's block after them (colorfulness_gate.SEMANTIC; not shipped, docs/results.md "Run S1").
    names = colorfulness_gate.BLOCKS + ((colorfulness_gate.SEMANTIC,) if semantic and len(blocks) > 3 else ())
    values = np.array([colorfulness(c) for c in crops])
    return gate_descriptors(blocks, names), values, np.arange(len(crops)) // crops_per_photo, names


def encoder_blocks(crops: np.ndarray, size: int, log=print) -> list:
    """The frozen encoder's blocks of N crops, through the on-disk feature cache (``train`` fills it)."""
    x, _ = hypercolumn.training_pairs(data.crop_batch(crops))
    return FeatureCache(max_entries=0, disk_dir=default_disk_dir()).features(hypercolumn, _network(size), x, crops, log)


def gate_descriptors(blocks: list, names: tuple) -> np.ndarray:
    """The encoder's blocks of N pictures (block 3, block 4, block 5[, Lite0's]) → the gate's descriptors
    N×D of the blocks ``names`` says, 256 pictures at a time (the blocks may be memory-mapped)."""
    n = len(blocks[0])
    return np.concatenate([colorfulness_gate.descriptor(*(b[i:i + 256] for b in blocks[1:1 + len(names)]))
                           for i in range(0, n, 256)])


def picture_descriptors(pictures: np.ndarray, size: int, names: tuple):
    """Made-up pictures (uint8 N×size×size×3, not cached) → (descriptors N×D, their own colorfulness N)."""
    x, _ = hypercolumn.training_pairs(data.crop_batch(pictures))
    blocks = hypercolumn.encoder_features(_network(size), x)
    return gate_descriptors(blocks, names), np.array([colorfulness(p) for p in pictures])


def featureless_descriptors(n: int, size: int, seed: int, names: tuple, log=print):
    """``n`` featureless pictures (``colorfulness_gate.featureless``) → (descriptors n×D, their colorfulness n)."""
    log(f"hypercolumn: encoder features of {n} featureless pictures")
    return picture_descriptors(colorfulness_gate.featureless(n, size, seed), size, names)


def backdrop_descriptors(n: int, stamps_dir: str | None, size: int, seed: int, names: tuple, log=print):
    """``n`` things on plain neutral ground (``train --backdrops``' scenes: ``data.neutral_backdrops`` under the
    stamps) → (descriptors n×D, their own colorfulness n)."""
    stamps = data.load_stamps(stamps_dir) if stamps_dir else None
    log(f"hypercolumn: encoder features of {n} scenes on neutral ground")
    return picture_descriptors(data.surface_scenes(data.neutral_backdrops(32, seed), stamps, n, size, seed + 1), size, names)


def extra_photo_descriptors(folders: list[str], per_photo: int, size: int, seed: int, names: tuple, log=print):
    """Photos of other sources (``--extra-photos``: aerial views, rooms, streets; ``data.extra_photo_crops``) →
    (descriptors, their crops' colorfulness, photo index from 0)."""
    _, crops = data.extra_photo_crops(folders, per_photo, size, seed, on_error=log)
    return gate_descriptors(encoder_blocks(crops, size, log), names), np.array([colorfulness(c) for c in crops]), np.arange(len(crops)) // per_photo


def joined(fitted: tuple, more, more_values, more_photos=None) -> tuple:
    """(descriptors, values, photo index) with more pictures after them; their photo indices follow on, each
    made-up picture a fold unit of its own when ``more_photos`` is None."""
    descriptors, values, photos = fitted
    units = np.arange(len(more)) if more_photos is None else more_photos
    return (np.concatenate([descriptors, more]), np.concatenate([values, more_values]),
            np.concatenate([photos, photos.max() + 1 + units]))


def cross_validated_predictions(descriptors, values, photos, l2: float, log_features: bool = False) -> np.ndarray:
    """Each crop's prediction by a gate fitted without its photo's fold."""
    predicted = np.empty(len(values))
    fold = photos % FOLDS
    for k in range(FOLDS):
        gate = colorfulness_gate.fit(descriptors[fold != k], values[fold != k], l2, log_features=log_features)
        predicted[fold == k] = gate.predict(descriptors[fold == k])
    return predicted


def correlation(predicted, values) -> float:
    """Pearson correlation of log(1 + colorfulness), predicted against the truth."""
    return float(np.corrcoef(np.log1p(predicted), np.log1p(values))[0, 1])


def evaluate_caps(checkpoint: Path, sets: list[str], caps: list[float], photos_dir: str) -> None:
    """The checkpoint (with the gate just written beside it) at each cap (0: off) on each set, through
    ``Colorizer.colorize``."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from tune_flagship import format_sets_table, photo_set  # this folder's

    model = load(checkpoint)
    grid = {f"colorfulness_cap {cap:g}" if cap else "no cap": _Capped(model, cap) for cap in caps}
    summaries = {name: evaluate_photos(photo_set(name, photos_dir), grid) for name in sets}
    print(format_sets_table(summaries, list(grid)))
    for name, summary in summaries.items():
        print(f"{name}: colorfulness correlation across photos " +
              ", ".join(f"{label} {summary[label].get('colorfulness_corr', float('nan')):.2f}" for label in grid))


class _Capped:
    """The flagship with one cap: ``colorize`` as ``evaluate_photos`` calls it (the truth's own L)."""

    def __init__(self, model, cap: float):
        self.model, self.cap = model, cap

    def colorize(self, truth: np.ndarray) -> np.ndarray:
        return self.model.colorize(truth, colorfulness_cap=self.cap)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="the training photo folder (train/ and val/, scripts/fetch_photos.py)")
    parser.add_argument("--stamps", help="the stamps folder the flagship trained with (scripts/fetch_stamps.py)")
    parser.add_argument("--crops-per-photo", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=176,
                        help="the crops' size (176: the shipped flagship's training crops; it runs at 144)")
    parser.add_argument("--l2", type=float, default=10_000.0, help="ridge penalty on the standardized descriptor (the shipped gate: 3000)")
    parser.add_argument("--featureless", type=int, default=0,
                        help="add this many gray pictures with nothing in them, labeled colorless (the shipped gate: 40)")
    parser.add_argument("--log-features", action="store_true",
                        help="regress on log(1 + descriptor) (the shipped gate does)")
    parser.add_argument("--semantic", action="store_true",
                        help="also pool EfficientNet-Lite0's block (the shipped gate reads VGG16 blocks 4-5 only)")
    parser.add_argument("--extra-photos", nargs="+", metavar="FOLDER",
                        help="also photos of other sources (scripts/fetch_aerial.py, fetch_everyday.py), "
                             "--extra-crops-per-photo crops each, no stamps")
    parser.add_argument("--extra-crops-per-photo", type=int, default=10)
    parser.add_argument("--out", required=True, metavar="FILE.npz",
                        help="where the gate goes: beside the checkpoint it serves (the shipped one: "
                             f"{checkpoints.WEIGHTS_DIR.name}/hypercolumn/{colorfulness_gate.FILE_NAME}, on purpose only)")
    parser.add_argument("--card", help="a card.json to record the gate in (the shipped flagship's, usually)")
    parser.add_argument("--evaluate", metavar="A,B,...", help="then score the flagship with the cap on these sets")
    parser.add_argument("--backdrops", type=int, default=0, metavar="N",
                        help="add N things on plain neutral ground (train --backdrops' scenes), labeled with their own colorfulness")
    parser.add_argument("--caps", default="0,0.8,1,1.25", help="the caps --evaluate compares (0: off)")
    args = parser.parse_args(argv)
    # Before the minutes of the fit (session 38's CLI audit: a missing --card failed after it, the gate written): a
    # checkpoint reads its gate from that one file name beside it, so another name was never read, and --evaluate
    # scored whatever gate sat there.
    if Path(args.out).name != colorfulness_gate.FILE_NAME:
        parser.error(f"--out: a checkpoint reads its gate from {colorfulness_gate.FILE_NAME} beside it; "
                     f"name the file so (got {Path(args.out).name})")
    if not Path(args.dir).is_dir():
        parser.error(f"{args.dir}: no such folder (scripts/fetch_photos.py builds data/photos)")
    if args.card and not Path(args.card).is_file():
        parser.error(f"--card {args.card}: no such file")
    started = time.time()
    descriptors, values, photos, names = crop_descriptors(args.dir, args.stamps, args.crops_per_photo, args.seed, args.size,
                                                          semantic=args.semantic)
    fitted = (descriptors, values, photos)
    if args.extra_photos:  # scored with the training crops: the correlation below is over both
        fitted = joined(fitted, *extra_photo_descriptors(args.extra_photos, args.extra_crops_per_photo, args.size,
                                                         args.seed, names))
    n_crops = len(fitted[1])
    if args.featureless:
        fitted = joined(fitted, *featureless_descriptors(args.featureless, args.size, args.seed, names))
    if args.backdrops:
        fitted = joined(fitted, *backdrop_descriptors(args.backdrops, args.stamps, args.size, args.seed, names))
    descriptors, values, photos = fitted
    predicted = cross_validated_predictions(descriptors, values, photos, args.l2, args.log_features)
    crop_correlation = correlation(predicted[:n_crops], values[:n_crops])
    gate = colorfulness_gate.fit(descriptors, values, args.l2, names, args.log_features)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    gate.save(args.out)
    print(f"{n_crops} crops of {photos[n_crops - 1] + 1} photos, l2 {args.l2:g}: cross-validated correlation "
          f"(log colorfulness, folds by photo) {crop_correlation:.3f}; wrote {args.out} ({time.time() - started:.0f} s)")
    if args.featureless:  # they follow the photo crops; the backdrops, if any, follow them
        blank = predicted[n_crops:n_crops + args.featureless]
        print(f"{args.featureless} featureless pictures: cross-validated prediction median "
              f"{np.median(blank):.1f}, max {blank.max():.1f} "
              f"(photo crops: median {np.median(predicted[:n_crops]):.1f})")
    if args.backdrops:
        grounds = predicted[len(predicted) - args.backdrops:]
        print(f"{args.backdrops} things on neutral ground: cross-validated prediction median {np.median(grounds):.1f}, "
              f"their own colorfulness median {np.median(values[len(values) - args.backdrops:]):.1f}")
    if args.card:
        card_path = Path(args.card)
        card = json.loads(card_path.read_text())
        card["colorfulness_gate"] = {"file": Path(args.out).name, "l2": args.l2, "crops": int(n_crops), "reads": list(names),
                                     "featureless": args.featureless, "backdrops": args.backdrops,
                                     "log_features": args.log_features,
                                     "extra_photos": args.extra_photos and train.extra_photos_card(args.extra_photos),
                                     "cross_validated_correlation": round(crop_correlation, 3),
                                     "command": "python scripts/fit_colorfulness_gate.py "
                                                + " ".join(sys.argv[1:] if argv is None else argv)}
        checkpoints.atomic_write_text(card_path, json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    if args.evaluate:
        evaluate_caps(Path(args.out).parent, args.evaluate.split(","), [float(c) for c in args.caps.split(",")], args.dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
