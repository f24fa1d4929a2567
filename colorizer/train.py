"""Training from the command line: photos → crops → a trained checkpoint folder.

``train_architecture(...)`` writes ``OUT/NAME/model.keras``, ``history.csv`` (Keras CSVLogger: epoch,
loss, val_loss, learning_rate, metrics) and ``card.json``. Architectures with a frozen encoder
(``FROZEN_ENCODER = True``: vgg16_ae) have their encoder features computed once, then only the
decoder trains, so an epoch costs decoder time only. Runs on the GPU when TensorFlow sees one.
"""
from __future__ import annotations

import csv
import hashlib
import math
import os
import platform
import shutil
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import keras
import numpy as np

from colorizer import checkpoints, data, quantize
from colorizer.hardware import cpu_model
from colorizer.color import unnormalize_ab
from colorizer.models import architecture

__all__ = ["device_description", "KeepBestWeights", "ArrayBatches", "fit", "train_architecture", "parameter_counts", "data_sources"]

LR_FACTOR = math.sqrt(0.1)


def device_description() -> str:
    """'GPU: <name>' when TensorFlow sees a GPU, else 'CPU: <model> (<n> cores)'."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', gpus[0].name)}"
    return f"CPU: {cpu_model()} ({os.cpu_count()} cores)"


class KeepBestWeights(keras.callbacks.Callback):
    """Remember the weights of the epoch with the best val_loss and restore them when training ends
    (or is stopped): "checkpoint on best val_loss" without writing half-trained files."""

    def __init__(self, monitor: str = "val_loss"):
        super().__init__()
        self.monitor, self.best, self.best_weights, self.best_epoch = monitor, np.inf, None, None

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value < self.best:
            self.best, self.best_epoch = float(value), epoch + 1
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class ArrayBatches(keras.utils.PyDataset):
    """Batches of in-memory arrays (or lists/dicts of them), cast to float32 one batch at a time.

    ``model.fit`` on raw numpy arrays copies the whole set into float32 tensors (several times, for
    shuffling): with cached VGG16 features stored as float16 that is gigabytes. Batching by hand keeps
    memory at the size of the arrays themselves.

    ``augment(x, y, rng)`` → (x, y), when given, changes each batch (e.g. simulated color hints). A
    shuffled set draws from one generator across epochs; an unshuffled one (validation) restarts its
    generator every epoch, so it sees the same augmentation each time."""

    def __init__(self, x, y, batch_size: int, shuffle: bool = True, seed: int = 0, augment=None):
        super().__init__()
        self.x, self.y, self.batch_size, self.shuffle, self.augment = x, y, batch_size, shuffle, augment
        self.n = len(_first(x))
        self.seed, self.rng = seed, np.random.default_rng(seed)
        self.augment_rng = np.random.default_rng([seed, 1])
        self.order = np.arange(self.n)
        self.on_epoch_end()

    def __len__(self):
        return math.ceil(self.n / self.batch_size)

    def __getitem__(self, index):
        rows = np.sort(self.order[index * self.batch_size:(index + 1) * self.batch_size])
        x, y = _take(self.x, rows), _take(self.y, rows)
        if self.augment is None:
            return x, y
        # Validation: a generator per batch index, so every epoch sees the same hints in any order.
        rng = self.augment_rng if self.shuffle else np.random.default_rng([self.seed, 2, index])
        return self.augment(x, y, rng)

    def on_epoch_end(self):
        if self.shuffle:
            self.rng.shuffle(self.order)


def _first(arrays):
    if isinstance(arrays, dict):
        return next(iter(arrays.values()))
    return arrays[0] if isinstance(arrays, (list, tuple)) else arrays


def _take(arrays, rows):
    if isinstance(arrays, dict):
        return {k: _take(v, rows) for k, v in arrays.items()}
    if isinstance(arrays, (list, tuple)):
        # A one-input model wants the bare array, not a 1-tuple (Keras warns on the mismatch).
        return _take(arrays[0], rows) if len(arrays) == 1 else tuple(_take(a, rows) for a in arrays)
    return arrays[rows].astype(np.float32)


class StopOnSignal(keras.callbacks.Callback):
    """Ctrl-C or SIGTERM ends training cleanly after the current step (the best weights are kept and
    saved); a second signal aborts at once. Only installed from the main thread (signals require it)."""

    def on_train_begin(self, logs=None):
        self.requested, self.previous = False, {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self.previous[sig] = signal.signal(sig, self._request_stop)

    def _request_stop(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nstopping after this step (the best weights so far will be saved); signal again to abort", file=sys.stderr)

    def on_train_batch_end(self, batch, logs=None):
        if self.requested:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def fit(trainable, x, y, val, *, epochs, batch_size, lr, loss, metrics, loss_weights, history_path,
        callbacks=(), verbose=1, seed=0, augment=None):
    """Compile and fit ``trainable`` with the project's schedule; returns the KeepBestWeights callback.
    ``augment``: see ``ArrayBatches`` (an architecture's ``augment_batch``)."""
    keras.utils.set_random_seed(seed)
    trainable.compile(optimizer=keras.optimizers.Adam(lr), loss=loss, metrics=metrics, loss_weights=loss_weights)
    keep_best = KeepBestWeights()
    trainable.fit(
        ArrayBatches(x, y, batch_size, seed=seed, augment=augment),
        validation_data=ArrayBatches(*val, batch_size, shuffle=False, seed=seed, augment=augment),
        epochs=epochs, verbose=verbose,
        callbacks=[
            keras.callbacks.ReduceLROnPlateau(factor=LR_FACTOR, patience=5, min_lr=5e-7),
            keras.callbacks.CSVLogger(str(history_path)),
            keep_best,
            StopOnSignal(),
            *callbacks,
        ],
    )
    return keep_best


def parameter_counts(model, arch) -> dict[str, int]:
    def count(weights):
        return int(sum(np.prod(w.shape) for w in weights))

    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    stored = count(model.weights) - (count(encoder.weights) if getattr(arch, "FROZEN_ENCODER", False) else 0)
    return {
        "total": count(model.weights),
        "trainable": count(model.trainable_weights),
        "encoder": count(encoder.weights),
        "decoder": count(decoder.weights),
        "stored_in_checkpoint": stored,
    }


def data_sources(data_dir: str | Path) -> list[dict]:
    """Packages and licenses of the photos, from ``manifest.csv`` when the folder has one."""
    manifest = Path(data_dir) / "manifest.csv"
    if not manifest.is_file():
        return [{"source": str(data_dir), "license": "unknown (no manifest.csv)"}]
    counts: dict[tuple[str, str], int] = {}
    with open(manifest, newline="") as f:
        for row in csv.DictReader(f):
            key = (row.get("package", "?"), row.get("license", "?"))
            counts[key] = counts.get(key, 0) + 1
    return [{"package": p, "license": lic, "photos": n} for (p, lic), n in sorted(counts.items())]


def _cached_features(arch, model, x, crops: np.ndarray, log) -> list[np.ndarray]:
    """Frozen-encoder features of ``crops``, computed once and kept on disk (memory-mapped when read):
    a re-run with the same crops (same photos, size, seed) skips the encoder entirely."""
    family = getattr(arch, "FEATURES_OF", arch.NAME)  # architectures sharing an encoder share its features
    key = hashlib.sha1(crops.tobytes() + family.encode()).hexdigest()[:16]
    folder = checkpoints.user_checkpoint_dir().parent / "features" / f"{family}-{key}"
    if not folder.is_dir():
        log(f"{arch.NAME}: computing frozen-encoder features once for {len(crops)} crops")
        features = arch.encoder_features(model, x)
        tmp = folder.with_name(f".{folder.name}.tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        for i, f in enumerate(features):
            np.save(tmp / f"{i:02d}.npy", f)
        del features
        os.replace(tmp, folder)
    else:
        log(f"{arch.NAME}: reusing cached encoder features for {len(crops)} crops from {folder}")
    # Memory-mapped: gigabytes of float16 features are paged in batch by batch, not loaded whole.
    return [np.load(p, mmap_mode="r") for p in sorted(folder.glob("*.npy"))]


def _crops(data_dir, size, crops_per_photo, seed, log):
    train_photos = data.load_photos(data.list_photos(data_dir, "train"), on_error=log)
    val_photos = data.load_photos(data.list_photos(data_dir, "val"), on_error=log)
    if not train_photos:
        raise ValueError(f"{data_dir}: no readable training photos")
    # list_photos falls back to the whole folder when a split is missing: a flat folder would then
    # validate on its own training photos, so insist on a real val/ split.
    if not val_photos or not (Path(data_dir) / "val").is_dir():
        raise ValueError(f"{data_dir}: no validation photos (expected a val/ folder beside train/)")
    train_crops = data.random_crops(train_photos, crops_per_photo, size, seed=seed)
    val_crops = np.concatenate([data.center_crops(val_photos, size), data.random_crops(val_photos, 3, size, seed=seed + 1)])
    return train_photos, val_photos, train_crops, val_crops


def train_architecture(name: str, data_dir: str | Path, out_dir: str | Path = checkpoints.WEIGHTS_DIR, *,
                       epochs: int = 20, size: int | None = None, batch_size: int = 32, lr: float = 1e-3,
                       crops_per_photo: int = 12, seed: int = 0, eval_photos: int = 0,
                       command: str | None = None, log=print) -> dict:
    """Train architecture ``name`` on the photos in ``data_dir`` → the card of ``out_dir/name``."""
    arch = architecture(name)
    size = size or arch.WORKING_SIZE
    started = time.time()
    log(f"{name}: preparing {crops_per_photo} crops per photo at {size}×{size} from {data_dir}")
    train_photos, val_photos, train_crops, val_crops = _crops(data_dir, size, crops_per_photo, seed, log)
    train_batch = data.crop_batch(train_crops)
    x, y = arch.training_pairs(train_batch)
    val_x, val_y = arch.training_pairs(data.crop_batch(val_crops))
    prior = _target_prior(arch, y, train_batch)
    del train_batch
    model = arch.build(size)
    loss, metrics, loss_weights = arch.loss_and_metrics(prior)
    frozen = getattr(arch, "FROZEN_ENCODER", False)
    if frozen:
        x = _cached_features(arch, model, x, train_crops, log)
        val_x = _cached_features(arch, model, val_x, val_crops, log)
    trainable = arch.decoder_head(model) if frozen else model
    log(f"{name}: training on {device_description()}, {len(train_crops)} crops, {epochs} epochs")
    folder = Path(out_dir) / name
    work = Path(tempfile.mkdtemp(prefix=f"train-{name}-"))
    keep_best = fit(trainable, x, y, (val_x, val_y), epochs=epochs, batch_size=batch_size, lr=lr, loss=loss,
                    metrics=metrics, loss_weights=loss_weights, history_path=work / "history.csv", seed=seed,
                    augment=getattr(arch, "augment_batch", None))
    wall_time = time.time() - started
    card = {
        "name": name,
        "architecture": name,
        "description": arch.DESCRIPTION,
        "color_space": _color_space(arch),
        "working_size": size,
        "parameters": parameter_counts(model, arch),
        "data": {
            "folder": str(data_dir), "train_photos": len(train_photos), "val_photos": len(val_photos),
            "train_crops": int(len(train_crops)), "crop_scales": list(data.CROP_SCALES), "flips": "horizontal",
            "sources": data_sources(data_dir),
        },
        "training": {
            # Epochs that ran (a Ctrl-C or SIGTERM stops early and keeps the best weights) and asked for.
            "epochs": _epochs_run(work / "history.csv"), "epochs_requested": epochs,
            "best_epoch": keep_best.best_epoch, "best_val_loss": keep_best.best,
            "batch_size": batch_size, "learning_rate": lr, "seed": seed,
            "frozen_encoder_features_cached": bool(frozen),
            "wall_time_s": round(wall_time, 1), "device": device_description(),
        },
        "command": command or " ".join(sys.argv),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": _versions(),
        "notes": getattr(arch, "CARD_NOTES", ""),
    }
    if prior is not None:
        card["rebalancing"] = {"lambda": quantize.REBALANCE_LAMBDA, "prior_smoothing_sigma": quantize.PRIOR_SMOOTHING_SIGMA,
                               "default_temperature": quantize.DEFAULT_TEMPERATURE}
    checkpoints.save_model_atomic(model, folder / "model.keras")
    checkpoints.atomic_write_bytes(folder / "history.csv", (work / "history.csv").read_bytes())
    shutil.rmtree(work, ignore_errors=True)
    checkpoints.write_card(folder, card)  # first: loading for evaluation reads the working size from it
    card["evaluation"] = _evaluate_checkpoint(folder, val_photos[:eval_photos] if eval_photos else val_photos)
    card["evaluation_command"] = f"python -m colorizer evaluate {data_dir} --arch {name}"
    checkpoints.write_card(folder, card)
    log(f"{name}: held-out PSNR {card['evaluation'][name]['psnr']:.2f} dB (gray {card['evaluation']['gray']['psnr']:.2f})")
    log(f"{name}: wrote {folder} in {wall_time:.0f} s (best val_loss {keep_best.best:.4f} at epoch {keep_best.best_epoch})")
    return card


def _target_prior(arch, y, train_batch) -> np.ndarray | None:
    """The 313-bin prior for class rebalancing, from the ab the loss sees: the regression targets at
    the output resolution when the architecture has them (16× fewer pixels than full-resolution crops
    for the flagship, the same distribution up to the pooling), else the full-resolution ab."""
    if arch.OUTPUT_KIND != "ab313":
        return None
    ab_norm = y["ab_reg"] if isinstance(y, dict) and "ab_reg" in y else train_batch["ab_norm"]
    return quantize.empirical_prior(unnormalize_ab(ab_norm))


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


def _color_space(arch) -> dict:
    inputs = {"gray01": "gray in [0, 1] (uint8 / 255)", "L": "CIE Lab L, normalized (L - 50) / 50 to [-1, 1]"}
    outputs = {
        "rgb": "sRGB in [0, 1] (sigmoid); its a, b are joined to the input's full-resolution L",
        "ab": "CIE Lab a, b normalized by 110 to [-1, 1] (tanh)",
        "ab313": "distribution over Zhang et al.'s 313 ab bins (annealed mean, T = 0.38) + ab regression head",
    }
    return {"input": inputs[arch.INPUT_KIND], "output": outputs[arch.OUTPUT_KIND], "lab": "CIE Lab, D65, sRGB (OpenCV float32)"}


def _versions() -> dict:
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__}
