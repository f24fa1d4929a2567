#!/usr/bin/env python3
"""Teach the flagship's decoder to give in one pass what mirror averaging gives in two (self-distillation).

Mirror averaging (``colorize(..., mirror=True)``) was the one decoding measured that brought OpenCV's
samples toward gray while adding right hues, at twice the time (docs/results.md, "Test-time flip
averaging"). Here the shipped decoder is its own teacher: on random crops of the training photos, the
teacher's 313-bin distribution and regression on a crop and on its mirror image (flipped back) are
averaged, and a copy of the decoder, reading the crop alone, learns to match them (soft cross-entropy to
the averaged distribution + ``losses.REGRESSION_WEIGHT`` × the squared error to the averaged regression).
The frozen encoders' features are computed once per crop and per mirror (most of the cost). The result is
a checkpoint folder beside the source's card, colorfulness gate and history (the gate reads the encoder,
which does not change), with the card amended to say what was done.

    python scripts/distill_mirror.py data/photos --out runs/sd [--from hypercolumn] [--crops-per-photo 6]
        [--epochs 3] [--lr 5e-5] [--seed 5] [--extra-photos data/aerial [data/everyday] [--extra-crops-per-photo N]
        [--extra-teacher CHECKPOINT]]

How runs SD1, SDA and SDE were made and chosen: docs/results.md, "Run SD1", "Run SDA" and "Run SDE" (SD1 ships;
SDA and SDE learned from sources kept for evaluation and were withdrawn: "Back to SD1").
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr, before the imports below
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from colorizer import checkpoints, data  # noqa: E402
from colorizer.inference import load  # noqa: E402
from colorizer.models import hypercolumn  # noqa: E402
from colorizer.models.losses import REGRESSION_WEIGHT  # noqa: E402

CROP_SIZE = 176  # S1's training crops
BATCH = 16


def crops_l(data_dir: str, per_photo: int, seed: int, extra_dir=None,
            extra_per_photo: int | None = None) -> tuple[np.ndarray, int]:
    """(L_norm N×176×176×1 of random crops of the training photos (no stamps: teacher and student see the same),
    then of ``extra_dir``'s photos (a flat folder of another source or a list, as ``train --extra-photos``) when given;
    how many of them are the training photos'). The photos' crops are the same with or without the extra."""
    data.check_held_out(data_dir)
    photos = data.load_photos(data.list_photos(data_dir, "train"))
    crops = data.random_crops(photos, per_photo, CROP_SIZE, seed=seed)
    photo_crops = len(crops)
    if extra_dir:
        _, extra_crops = data.extra_photo_crops(extra_dir, extra_per_photo or per_photo, CROP_SIZE, seed)
        crops = np.concatenate([crops, extra_crops])
    return np.concatenate([data.crop_batch(crops[i:i + 64])["L_norm"] for i in range(0, len(crops), 64)]), photo_crops


def heads(decoder, blocks, training: bool = False):
    """The decoder's (probs, ab_reg) on a list of feature blocks."""
    out = decoder(blocks, training=training)
    return (out["probs"], out["ab_reg"]) if isinstance(out, dict) else (out[0], out[1])


def mirror_averaged(decoder, inputs: list, mirror_inputs: list):
    """``decoder``'s (probs, ab_reg) averaged over the crops and their mirror images, flipped back."""
    p1, r1 = heads(decoder, inputs)
    p2, r2 = heads(decoder, mirror_inputs)
    return (p1 + p2[:, :, ::-1]) / 2, (r1 + r2[:, :, ::-1]) / 2


def distill(teacher, features: list, mirror_features: list, epochs: int, lr: float, seed: int, log,
            extra_teacher=None, extra_from: int | None = None) -> keras.Model:
    """A copy of ``teacher`` trained to match the teacher's outputs averaged over each crop and its mirror;
    with ``extra_teacher``, crops ``extra_from`` on (the extra photos') take their targets from it instead: a
    decoder that was trained on those photos teaches what they look like, while the others keep ``teacher``'s
    colors (the student learns the new source without the drift a further training round brings elsewhere)."""
    student = keras.models.clone_model(teacher)
    student.set_weights(teacher.get_weights())
    optimizer = keras.optimizers.Adam(lr)

    def blocks(fs, idx):
        return [tf.constant(f[idx].astype(np.float32)) for f in fs]

    @tf.function(reduce_retracing=True)
    def step(inputs, target_probs, target_ab):
        with tf.GradientTape() as tape:
            probs, ab = heads(student, inputs, training=True)
            cross_entropy = tf.reduce_mean(tf.reduce_sum(-target_probs * tf.math.log(tf.maximum(probs, 1e-8)), axis=-1))
            squared = tf.reduce_mean(tf.square(ab - target_ab))
            loss = cross_entropy + REGRESSION_WEIGHT * squared
        grads = tape.gradient(loss, student.trainable_variables)
        optimizer.apply_gradients(zip(grads, student.trainable_variables))
        return cross_entropy, squared

    rng = np.random.default_rng(seed)
    n = len(features[0])
    for epoch in range(epochs):
        order, losses = rng.permutation(n), []
        for start in range(0, n - BATCH + 1, BATCH):
            idx = np.sort(order[start:start + BATCH])
            # The teacher's targets are recomputed each epoch, not stored: 313 probabilities at 44 × 44 are
            # 2.4 MB a crop in float32 (4 GB for 1,656 crops), and two decoder passes cost little beside the step.
            inputs, mirror_inputs = blocks(features, idx), blocks(mirror_features, idx)
            target_probs, target_ab = mirror_averaged(teacher, inputs, mirror_inputs)
            if extra_teacher is not None and idx[-1] >= extra_from:
                extra = tf.constant(idx >= extra_from)[:, None, None, None]
                extra_probs, extra_ab = mirror_averaged(extra_teacher, inputs, mirror_inputs)
                target_probs = tf.where(extra, extra_probs, target_probs)
                target_ab = tf.where(extra, extra_ab, target_ab)
            losses.append([float(v) for v in step(inputs, target_probs, target_ab)])
        ce, mse = np.mean(losses, axis=0)
        log(f"epoch {epoch + 1}: soft cross-entropy {ce:.4f}, regression MSE {mse:.6f}")
    return student


def save_student(source, out: Path, this_round: dict) -> Path:
    """Write ``source``'s model (its decoder now the student's) to ``out``, with the source checkpoint's
    colorfulness gate and history beside it and its card amended by ``this_round``; the model first, so
    that a missing extra never costs the training. ``source.source`` is a checkpoint's folder or its
    ``model.keras`` (a shipped name loads from the file)."""
    folder = Path(source.source)
    folder = folder if folder.is_dir() else folder.parent  # as colorfulness_gate.beside finds the gate
    out.mkdir(parents=True, exist_ok=True)
    checkpoints.save_model_atomic(source.model, out / "model.keras")
    for name in ("colorfulness_gate.npz", "history.csv"):
        if (folder / name).exists():
            shutil.copy(folder / name, out / name)
    card = dict(source.card)
    card.pop("evaluation", None)  # the source's held-out numbers, not the student's (evaluate writes them anew)
    if card.get("created"):  # the student is made now; when its teacher was made stays in this round's record
        this_round = {**this_round, "teacher_created": card["created"]}
    card["created"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    earlier = card.get("training", {}).get("distilled_from_mirror")
    if earlier:  # the teacher was itself distilled: keep how, inside this round's record
        this_round = {**this_round, "teacher_distilled": earlier}
    card["training"] = {**card.get("training", {}), "distilled_from_mirror": this_round}
    checkpoints.write_card(out, card)
    problem = data.shipping_problem(card, str(out))  # a research round may teach sources kept for evaluation
    if problem:
        print(f"not shippable: {problem}")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="photo folder with a train/ split (scripts/fetch_photos.py)")
    parser.add_argument("--out", required=True, help="writes OUT/hypercolumn/")
    parser.add_argument("--from", dest="source", default="hypercolumn", help="checkpoint name or folder (default: the shipped flagship)")
    parser.add_argument("--crops-per-photo", type=int, default=6)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--lr", type=float, default=5e-5)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--extra-photos", default=None, nargs="+", metavar="DIR",
                        help="flat folders of photos from other sources, cropped too (scripts/fetch_aerial.py, "
                             "scripts/fetch_everyday.py)")
    parser.add_argument("--extra-crops-per-photo", type=int, default=None, metavar="N",
                        help="crops of each extra photo (default: --crops-per-photo)")
    parser.add_argument("--extra-teacher", default=None, metavar="CHECKPOINT",
                        help="the extra photos' crops take their targets from this checkpoint (one trained on "
                             "them, on the same encoder) instead of --from")
    args = parser.parse_args(argv)
    started = time.time()
    log = lambda text: print(f"[{time.time() - started:7.1f} s] {text}", flush=True)  # noqa: E731

    if args.extra_teacher and not args.extra_photos:
        parser.error("--extra-teacher teaches the --extra-photos' crops: name the folder")
    source = load(args.source)
    L, photo_crops = crops_l(args.dir, args.crops_per_photo, args.seed, args.extra_photos, args.extra_crops_per_photo)
    log(f"{len(L)} crops, {photo_crops} of them the training photos'")
    features = hypercolumn.encoder_features(source.model, L)
    log("features")
    mirror_features = hypercolumn.encoder_features(source.model, np.ascontiguousarray(L[:, :, ::-1]))
    log("mirror features")
    decoder = source.model.get_layer("decoder")
    extra = load(args.extra_teacher) if args.extra_teacher else None
    student = distill(decoder, features, mirror_features, args.epochs, args.lr, args.seed, log,
                      extra_teacher=extra.model.get_layer("decoder") if extra else None, extra_from=photo_crops)

    decoder.set_weights(student.get_weights())  # the loaded model now holds the student
    out = save_student(source, Path(args.out) / "hypercolumn", {
        "command": "python scripts/distill_mirror.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "crops": int(len(L)), "crop_size": CROP_SIZE, "epochs": args.epochs, "learning_rate": args.lr,
        "seed": args.seed, "batch_size": BATCH, "wall_time_s": round(time.time() - started, 1),
        "what": "the decoder above, then trained to match its own outputs averaged over each crop and its mirror image"
                + (", and on the extra photos' crops the extra teacher's, averaged the same way" if extra else ""),
        **({} if not extra else {
            "extra_photos": args.extra_photos, "extra_photo_crops": int(len(L) - photo_crops),
            "extra_teacher": {"checkpoint": args.extra_teacher, "command": extra.card.get("command"),
                              "initialized_from": extra.card.get("training", {}).get("initialized_from")}})})
    log(f"saved {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
