"""Training from the command line: photos → crops → a trained checkpoint folder.

``train_architecture(...)`` writes ``OUT/NAME/model.keras``, ``history.csv`` (Keras CSVLogger: epoch,
loss, val_loss, learning_rate, metrics) and ``card.json``. Architectures with a frozen encoder
(``FROZEN_ENCODER = True``: hypercolumn, hypercolumn_hints, vgg16_ae) have their encoder features computed once, then only the
decoder trains, so an epoch costs decoder time only (``colorizer.features``, kept on disk). The loop
itself, shared with fine-tuning, is ``colorizer.loop``. Runs on the GPU when TensorFlow sees one.
"""
from __future__ import annotations

import csv
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

import keras
import numpy as np

from colorizer import checkpoints, data, quantize
from colorizer.cards import model_card
from colorizer.color import unnormalize_ab
from colorizer.distribute import describe, training_strategy
from colorizer.features import FeatureCache, default_disk_dir
from colorizer.hardware import device_description
from colorizer.loop import LR_FACTOR, ArrayBatches, KeepBestWeights, SaveEachEpoch, fit  # noqa: F401 (the loop, re-exported)
from colorizer.models import architecture

__all__ = ["device_description", "KeepBestWeights", "ArrayBatches", "fit", "check_size", "rebalancing_power", "train_architecture", "trained_part",
           "data_sources", "extra_photos_card", "crops", "target_prior", "warm_start", "freeze_except"]

# Random validation crops per held-out photo beside its centre crop (fine-tuning, with fewer photos, takes 2).
VAL_RANDOM_CROPS = 3


def data_sources(data_dir: str | Path, files=None) -> list[dict]:
    """Packages and licenses of the photo files training reads in the folder (``_read_by_training``, or ``files``),
    each looked up in its manifest (``data.manifest_row_of``): the count is of those files, not of the manifest's rows
    (a photo training then skips as gray or tiny is counted too). Files it does not list are counted under the folder
    with an unknown license and no package, which ``data.shipping_problem`` refuses to ship."""
    files = _read_by_training(data_dir) if files is None else files
    rows = data.manifest_row_of(data_dir)
    counts: dict[tuple[str, str], int] = {}
    unlisted = 0
    for path in files:
        row = None if rows is None else rows.get(Path(path).resolve())
        if row is None:
            unlisted += 1
            continue
        key = (row.get("package") or "?", row.get("license") or "?")
        counts[key] = counts.get(key, 0) + 1
    sources = [{"package": p, "license": lic, "photos": n} for (p, lic), n in sorted(counts.items())]
    if unlisted:
        why = "no manifest.csv" if rows is None else "not in manifest.csv"
        sources.append({"source": str(data_dir), "license": f"unknown ({why})", "photos": unlisted})
    return sources


def _read_by_training(data_dir) -> list[Path]:
    """The photo files ``crops`` reads: a folder's train/ and val/ (not what lies beside them), or a flat folder's."""
    root = Path(data_dir)
    splits = [split for split in ("train", "val") if (root / split).is_dir()]
    return [path for split in splits for path in data.list_photos(root, split)] if splits else data.list_photos(root)


def extra_photos_card(folders) -> dict:
    """The card's record of ``train --extra-photos``: the folders in order and each one's sources."""
    folders = data.folder_list(folders)
    return {"folders": [str(f) for f in folders], "sources": [s for f in folders for s in data_sources(f)]}


def crops(data_dir, size: int, crops_per_photo: int, seed: int, log, stamps: list[np.ndarray] | None = None,
          surfaces: list[np.ndarray] | None = None, extra_dir=None, backdrops: bool = False, on_error=None):
    """A folder with train/ and val/ → (train photos, val photos, train crops, val crops) as uint8 arrays;
    ``stamps`` (RGBA, ``data.load_stamps``) are pasted onto a share of the training crops only: validation
    measures photos as they are; ``surfaces`` add ``data.SURFACE_SHARE`` as many quiet scenes
    (``data.surface_scenes``); ``extra_dir``: a flat folder of photos from another source (``scripts/fetch_aerial.py``), or a list,
    all of them cropped for training like the training photos, without stamps (a plum on a city seen from a
    plane teaches nothing); ``backdrops`` adds ``data.SURFACE_SHARE`` as many stamps on plain neutral ground
    (``data.neutral_backdrops``). ValueError if either folder holds a held-out source (``data.check_held_out``).
    ``on_error(line)``: each unreadable photo's ``error:`` line (default: ``log``)."""
    on_error = on_error or log
    data.check_held_out(data_dir)
    train_photos = data.load_photos(data.list_photos(data_dir, "train"), on_error=on_error, colors_to_learn=True)
    val_photos = data.load_photos(data.list_photos(data_dir, "val"), on_error=on_error, colors_to_learn=True)
    if not train_photos:
        raise ValueError(f"{data_dir}: no readable training photos")
    # list_photos falls back to the whole folder when a split is missing: insist on a real val/ split.
    if not val_photos or not data.has_val_split(data_dir):
        raise ValueError(f"{data_dir}: {data.NO_VALIDATION}")
    train_crops = data.random_crops(train_photos, crops_per_photo, size, seed=seed, stamps=stamps)
    if extra_dir:  # after the others: the photos' own crops stay those of a run without them
        if any(Path(f).resolve() == (Path(data_dir) / "val").resolve() for f in data.folder_list(extra_dir)):
            log(f"note: {data_dir}/val is trained on too, so its loss (which keeps the best epoch) is no longer held out")
        extra_photos, extra_crops = data.extra_photo_crops(extra_dir, crops_per_photo, size, seed, on_error=on_error,
                                                           colors_to_learn=True)
        train_crops = np.concatenate([train_crops, extra_crops])
        train_photos = train_photos + extra_photos
    count = round(len(train_crops) * data.SURFACE_SHARE)
    if surfaces:
        train_crops = np.concatenate([train_crops, data.surface_scenes(surfaces, stamps, count, size, seed)])
    if backdrops:
        grounds = data.neutral_backdrops(32, seed)
        train_crops = np.concatenate([train_crops, data.surface_scenes(grounds, stamps, count, size, seed + 1)])
    val_crops = data.validation_crops(val_photos, size, VAL_RANDOM_CROPS, seed + 1)
    return train_photos, val_photos, train_crops, val_crops


def trained_part(arch, model):
    """What ``train_architecture`` trains (and ``--snapshots`` saves): the decoder head of a frozen-encoder
    architecture, else the whole model."""
    return arch.decoder_head(model) if arch.FROZEN_ENCODER else model


def train_architecture(name: str, data_dir: str | Path, out_dir: str | Path = checkpoints.WEIGHTS_DIR, *,
                       epochs: int = 20, size: int | None = None, batch_size: int = 32, lr: float = 1e-3,
                       crops_per_photo: int = 12, seed: int = 0, eval_photos: int = 0,
                       snapshots: str | Path | None = None, stamps_dir: str | Path | None = None,
                       surfaces_dir: str | Path | None = None, init_from: str | Path | None = None,
                       extra_photos_dir=None, train_layers: tuple[str, ...] = (),
                       class_rebalancing: float | None = None, backdrops: bool = False, command: str | None = None,
                       log=print, on_error=None) -> dict:
    """Train architecture ``name`` on the photos in ``data_dir`` → the card of ``out_dir/name``.

    ``snapshots``: a folder for the trained weights of every epoch (``SaveEachEpoch``), to average later.
    ``stamps_dir``: photographic stamps (``scripts/fetch_stamps.py``) pasted onto the training crops.
    ``surfaces_dir``: photographed surfaces (``scripts/fetch_stamps.py``) for quiet scenes added to the crops.
    ``extra_photos_dir``: photos of other sources that all go to training (``scripts/fetch_aerial.py``; a folder or a list).
    ``init_from``: a checkpoint (name or folder) whose decoder weights start this one (``warm_start``).
    ``train_layers``: train only these decoder layers (``freeze_except``), e.g. what a hint network adds
    to the flagship it starts from, so that its automatic colors stay the flagship's.
    ``class_rebalancing``: the power of the 313 bins' rebalancing weights in the flagship's loss (None: its
    ``CLASSIFICATION_REBALANCING``; run Z75B, half the shipped soup, trained at 0.75); ValueError elsewhere.
    ``backdrops``: stamps on synthetic neutral grounds added to the crops (``data.neutral_backdrops``).
    ``log(line)``: what it is doing; ``on_error(line)``: each unreadable photo's ``error:`` line, left out of
    training (default: ``log``)."""
    arch = architecture(name)
    check_size(arch, size)  # before anything slow: a wrong option fails at once
    power = rebalancing_power(arch, name, class_rebalancing)
    size = size or arch.WORKING_SIZE
    started = time.time()
    strategy = training_strategy()  # first: a multi-worker strategy must exist before TensorFlow starts
    # The network before the crops: a misspelt --init-from or --train-layers fails in seconds, not after minutes of
    # cropping. The order changes nothing drawn: the crops draw from generators of their own (data.random_crops).
    model = _seeded_model(arch, size, seed, strategy, init_from, train_layers, log)
    sets = _training_sets(arch, data_dir, size, crops_per_photo, seed, log, stamps_dir=stamps_dir,
                          surfaces_dir=surfaces_dir, extra_photos_dir=extra_photos_dir, backdrops=backdrops,
                          on_error=on_error)
    objective = arch.loss_and_metrics(sets.prior, **power)  # (loss, metrics, loss_weights): fit compiles them
    if arch.FROZEN_ENCODER:  # on disk: a re-run with the same crops (photos, size, seed) skips the encoder entirely
        sets = _with_encoder_features(arch, model, sets, log)
    with strategy.scope():  # a decoder head wrapped in a new keras.Model trains under the model's strategy
        trainable = trained_part(arch, model)
    distributed, device = describe(strategy), device_description()  # the same device in the log and the card
    log(f"{name}: training on {device}, {len(sets.train_crops)} crops, {epochs} epoch{'s' * (epochs != 1)}"
        + (f", {distributed['replicas']} replicas ({distributed['strategy']}, global batch {batch_size})"
           if distributed["replicas"] > 1 else ""))
    # history.csv until the checkpoint is written; removed however the fit ends (an error, a full disk)
    with tempfile.TemporaryDirectory(prefix=f"train-{name}-") as scratch:
        history = Path(scratch) / "history.csv"
        keep_best = _fit(arch, trainable, sets, objective, history, epochs=epochs, batch_size=batch_size,
                         lr=lr, seed=seed, snapshots=snapshots)
        wall_time = time.time() - started
        card = model_card(
            name, arch, model, working_size=size,
            data=_data_record(data_dir, sets, stamps_dir, surfaces_dir, extra_photos_dir, backdrops),
            training=_training_record(arch, keep_best, history, epochs=epochs, batch_size=batch_size, lr=lr,
                                      seed=seed, init_from=init_from, train_layers=train_layers,
                                      wall_time=wall_time, device=device, distributed=distributed,
                                      class_rebalancing=class_rebalancing),
            command=command or " ".join(sys.argv), rebalancing=None if sets.prior is None else {}, notes=arch.CARD_NOTES,
        )
        folder = Path(out_dir) / name
        _write_checkpoint(folder, model, card, history)
    _add_evaluation(folder, card, data_dir, sets.val_photos[:eval_photos] if eval_photos else sets.val_photos)
    _log_outcome(name, folder, card, wall_time, keep_best, log)
    return card


def check_size(arch, size: int | None) -> None:
    """ValueError (one line naming the size and the multiple) unless ``size`` (None: the architecture's own) is a
    multiple of ``arch.SIZE_MULTIPLE``: any other size fails deep inside Keras, at a skip join or at the loss."""
    if size is not None and size % arch.SIZE_MULTIPLE:
        raise ValueError(f"--size: {arch.NAME} takes multiples of {arch.SIZE_MULTIPLE} (its encoder works down to "
                         f"1/{arch.SIZE_MULTIPLE} of the size), got {size}")


def rebalancing_power(arch, name: str, class_rebalancing: float | None) -> dict:
    """The keyword ``arch.loss_and_metrics`` takes for ``class_rebalancing`` (``{}``: the architecture's own
    power); ValueError for an architecture without a class-rebalanced loss, which has no power to set."""
    if class_rebalancing is not None and arch.CLASSIFICATION_REBALANCING is None:
        raise ValueError(f"--class-rebalancing: {name} has no class-rebalancing power to set (hypercolumn has)")
    return {} if class_rebalancing is None else {"class_rebalancing": class_rebalancing}


@dataclass
class _TrainingSets:
    """What one run learns from and is measured on: the photos (uint8 RGB), their crops (uint8 N×size×size×3),
    the network's inputs and targets made from the crops (``arch.training_pairs``: arrays, or lists or dicts
    of arrays), the 313-bin prior (``target_prior``), and the loaded stamps and surfaces the card counts."""
    train_photos: list[np.ndarray]
    val_photos: list[np.ndarray]
    train_crops: np.ndarray
    val_crops: np.ndarray
    x: object
    y: object
    val_x: object
    val_y: object
    prior: np.ndarray | None
    stamps: list[np.ndarray] | None
    surfaces: list[np.ndarray] | None


def _training_sets(arch, data_dir, size: int, crops_per_photo: int, seed: int, log, *, stamps_dir, surfaces_dir,
                   extra_photos_dir, backdrops: bool, on_error=None) -> _TrainingSets:
    """The crops of ``data_dir`` (``crops``) with what the options add, turned into ``arch``'s training pairs."""
    stamps = data.load_stamps(stamps_dir) if stamps_dir else None
    surfaces = data.load_stamps(surfaces_dir) if surfaces_dir else None
    log(f"{arch.NAME}: preparing {crops_per_photo} crops per photo at {size}×{size} from {data_dir}"
        + (f", {len(stamps)} stamps pasted onto {data.StampOptions().share:.0%} of them" if stamps else ""))
    train_photos, val_photos, train_crops, val_crops = crops(data_dir, size, crops_per_photo, seed, log, stamps, surfaces,
                                                           extra_photos_dir, backdrops, on_error)
    # The full crop batch (Lab, gray, … of every crop) is only needed for the pairs and the prior: it is
    # dropped when this returns, before the network is built.
    train_batch = data.crop_batch(train_crops)
    x, y = arch.training_pairs(train_batch)
    val_x, val_y = arch.training_pairs(data.crop_batch(val_crops))
    return _TrainingSets(train_photos, val_photos, train_crops, val_crops, x, y, val_x, val_y,
                         prior=target_prior(arch, y, train_batch), stamps=stamps, surfaces=surfaces)


def _seeded_model(arch, size: int, seed: int, strategy, init_from, train_layers: tuple[str, ...], log) -> keras.Model:
    """``arch``'s network at ``size``, built under ``strategy`` from the seed's initial weights; its decoder
    started from ``init_from``'s (``warm_start``) and trained only in ``train_layers`` (``freeze_except``)."""
    # Seeded before the network exists, so that its initial weights are the seed's too (fit seeds again
    # for the batches): until this line, two runs of one command started from different weights.
    keras.utils.set_random_seed(seed)
    with strategy.scope():  # its variables are mirrored on every replica (nothing changes on one device)
        model = arch.build(size)
    if init_from:
        source = _checkpoint_model(init_from)
        copied = warm_start(model.get_layer("decoder"), source.get_layer("decoder"))
        log(f"{arch.NAME}: {len(copied)} decoder layers start from {init_from}")
    if train_layers:
        freeze_except(model.get_layer("decoder"), train_layers)
        log(f"{arch.NAME}: training only {', '.join(train_layers)}")
    return model


def _with_encoder_features(arch, model, sets: _TrainingSets, log) -> _TrainingSets:
    """``sets`` with the frozen encoder's features as the inputs, computed once per set of crops and kept on
    disk (``FeatureCache``): only the decoder head trains, so the encoder need not run every epoch."""
    cache = FeatureCache(max_entries=0, disk_dir=default_disk_dir())
    return replace(sets, x=cache.features(arch, model, sets.x, sets.train_crops, log),
                   val_x=cache.features(arch, model, sets.val_x, sets.val_crops, log))


def _fit(arch, trainable, sets: _TrainingSets, objective: tuple, history_path: Path, *, epochs: int,
         batch_size: int, lr: float, seed: int, snapshots) -> KeepBestWeights:
    """``loop.fit`` of ``trainable`` on ``sets`` with ``objective`` (``arch.loss_and_metrics``), the history
    to ``history_path`` → its ``KeepBestWeights`` (the best epoch's weights are back in ``trainable``)."""
    loss, metrics, loss_weights = objective
    callbacks = [SaveEachEpoch(snapshots)] if snapshots else ()
    return fit(trainable, sets.x, sets.y, (sets.val_x, sets.val_y), epochs=epochs, batch_size=batch_size, lr=lr,
               loss=loss, metrics=metrics, loss_weights=loss_weights, history_path=history_path, seed=seed,
               augment=arch.augment_batch, callbacks=callbacks)


def _data_record(data_dir, sets: _TrainingSets, stamps_dir, surfaces_dir, extra_photos_dir, backdrops: bool) -> dict:
    """The card's ``data``: the photo folder, how it was cropped, and the sources of everything trained on."""
    surfaces = sets.surfaces
    return {
        "folder": str(data_dir), "train_photos": len(sets.train_photos), "val_photos": len(sets.val_photos),
        "train_crops": int(len(sets.train_crops)), "crop_scales": list(data.CROP_SCALES), "flips": "horizontal",
        # Both splits, as cards always recorded; by split too, since only train/ is learned from
        # (val/ chooses the epoch): a card should not count its validation photos as training photos.
        "sources": data_sources(data_dir),
        "sources_by_split": {split: data_sources(Path(data_dir) / split) for split in ("train", "val")},
        "stamps": _stamps_card(stamps_dir, sets.stamps),
        "surfaces": None if not surfaces else {"count": len(surfaces), "scenes_share_of_crops": data.SURFACE_SHARE,
                                               "sources": data_sources(surfaces_dir, data.stamp_paths(surfaces_dir))},
        "extra_photos": None if not extra_photos_dir else extra_photos_card(extra_photos_dir),
        # Synthetic: no photo and no package, so nothing for check_shippable to name.
        "backdrops": None if not backdrops else {
            "what": "stamps on synthetic neutral grounds (colorizer.data.neutral_backdrops)",
            "scenes_share_of_crops": data.SURFACE_SHARE},
    }


def _training_record(arch, keep_best: KeepBestWeights, history_path: Path, *, epochs: int, batch_size: int,
                     lr: float, seed: int, init_from, train_layers: tuple[str, ...], wall_time: float,
                     device: str, distributed: dict, class_rebalancing: float | None) -> dict:
    """The card's ``training``: the settings the command replays and what the run gave."""
    run = _epochs_run(history_path)
    record = {
        # Epochs that ran (a Ctrl-C or SIGTERM stops early and keeps the best weights; the epoch it came in counts as
        # run) and asked for; "stopped_early" as a fine-tune's card says it (session 35's audit: nothing said so).
        "epochs": run, "epochs_requested": epochs,
        "stopped_early": run < epochs or keep_best.stopped,
        "best_epoch": keep_best.best_epoch, "best_val_loss": keep_best.best,
        "batch_size": batch_size, "learning_rate": lr, "seed": seed,
        "initialized_from": str(init_from) if init_from else None,
        "trained_layers": list(train_layers) or "all of the decoder",
        "frozen_encoder_features_cached": bool(arch.FROZEN_ENCODER),
        "wall_time_s": round(wall_time, 1), "device": device,
        "distribution": distributed,  # batch_size is the global batch, split across the replicas
    }
    if arch.CLASSIFICATION_REBALANCING is not None:  # the flagship's own class-rebalanced loss
        record["class_rebalancing"] = (arch.CLASSIFICATION_REBALANCING if class_rebalancing is None
                                       else class_rebalancing)
    return record


def _write_checkpoint(folder: Path, model, card: dict, history: Path) -> None:
    """``folder``/model.keras, history.csv (a copy of ``history``, the fit's log) and card.json, each written
    atomically."""
    checkpoints.save_model_atomic(model, folder / "model.keras")
    checkpoints.atomic_write_bytes(folder / "history.csv", history.read_bytes())
    checkpoints.write_card(folder, card)  # first: loading for evaluation reads the working size from it


def _add_evaluation(folder: Path, card: dict, data_dir, photos: list[np.ndarray]) -> None:
    """Measure the written checkpoint on held-out ``photos`` and add that, with the command that repeats
    it, to ``card`` and its card.json."""
    card["evaluation"] = _evaluate_checkpoint(folder, photos)
    # --checkpoint: this run's weights (--arch NAME would score the shipped ones: session 35's audit)
    card["evaluation_command"] = (f"python -m colorizer evaluate {shlex.quote(str(data_dir))} "
                                  f"--checkpoint {shlex.quote(str(folder))}")
    checkpoints.write_card(folder, card)


def _log_outcome(name: str, folder: Path, card: dict, wall_time: float, keep_best: KeepBestWeights, log) -> None:
    """The run's last lines: held-out PSNR, where it went, and whether its data allows shipping it."""
    log(f"{name}: held-out PSNR {card['evaluation'][name]['psnr']:.2f} dB (gray {card['evaluation']['gray']['psnr']:.2f})")
    training = card["training"]
    stopped = (f", stopped after {training['epochs']} of {training['epochs_requested']} epochs"
               if training.get("stopped_early") else "")
    log(f"{name}: wrote {folder} in {wall_time:.0f} s (best val_loss {keep_best.best:.4f} at epoch "
        f"{keep_best.best_epoch}{stopped})")
    problem = data.shipping_problem(card, name)  # a research run may learn from sources kept for evaluation
    if problem:
        log(f"not shippable: {problem}")


def warm_start(decoder: keras.Model, source: keras.Model) -> list[str]:
    """Copy ``source``'s decoder weights into ``decoder`` layer by layer (same names): a kernel with more
    input channels here (the hint channels a hint network joins) gets the source's kernel in its first
    channels and zeros in the rest. → the names of the layers copied."""
    copied = []
    for layer in decoder.layers:
        try:
            theirs = source.get_layer(layer.name)
        except ValueError:
            continue
        mine = layer.get_weights()
        if not mine or len(mine) != len(theirs.get_weights()):
            continue
        new = []
        for w, t in zip(mine, theirs.get_weights()):
            if w.shape == t.shape:
                new.append(t)
            elif w.ndim == t.ndim and w.ndim >= 2 and w.shape[:-2] == t.shape[:-2] and w.shape[-1] == t.shape[-1] \
                    and w.shape[-2] > t.shape[-2]:
                grown = np.zeros_like(w)
                grown[..., :t.shape[-2], :] = t
                new.append(grown)
            else:
                break
        else:
            layer.set_weights(new)
            copied.append(layer.name)
    return copied


def target_prior(arch, y, train_batch) -> np.ndarray | None:
    """The 313-bin prior for class rebalancing, from the ab the loss sees: the regression targets at
    the output resolution when the architecture has them (16× fewer pixels than full-resolution crops
    for the flagship, the same distribution up to the pooling), else the full-resolution ab."""
    if arch.OUTPUT_KIND != "ab313":
        return None
    ab_norm = y["ab_reg"][..., :2] if isinstance(y, dict) and "ab_reg" in y else train_batch["ab_norm"]
    return quantize.empirical_prior(unnormalize_ab(ab_norm))


def freeze_except(decoder: keras.Model, names) -> None:
    """Make every layer of ``decoder`` untrainable but those named; ValueError naming any unknown name."""
    known = {layer.name for layer in decoder.layers}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"--train-layers: no decoder layer named {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    for layer in decoder.layers:
        layer.trainable = layer.name in names


def _checkpoint_model(name_or_path):
    """The keras model of a checkpoint name (shipped or fine-tuned), folder or file."""
    return checkpoints.load_keras_model(checkpoints.resolve(name_or_path)[0])


def _stamps_card(stamps_dir, stamps) -> dict | None:
    """What the card says of the pasted stamps: how many, how pasted, and their sources."""
    if not stamps:
        return None
    options = data.StampOptions()
    return {"count": len(stamps), "share_of_crops": options.share, "per_crop": [1, options.most],
            "side_share": list(options.side), "sources": data_sources(stamps_dir, data.stamp_paths(stamps_dir))}


def _epochs_run(history_path: Path) -> int:
    """Rows in the CSVLogger history: one per finished epoch."""
    with open(history_path, newline="") as f:
        return sum(1 for _ in csv.DictReader(f))


def _evaluate_checkpoint(folder: Path, photos: list[np.ndarray]) -> dict:
    """Held-out metrics of the checkpoint just written, with the gray baseline, for its card."""
    from colorizer.evaluate import evaluate_photos
    from colorizer.inference import load

    model = load(folder)
    return evaluate_photos([(str(i), p) for i, p in enumerate(photos)], {folder.name: model})
