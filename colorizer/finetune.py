"""Fine-tuning a checkpoint's decoder on your own color photos, with the encoder frozen.

Contract
- In: a base checkpoint (a name from ``available_checkpoints()``, a folder or a ``.keras`` file) whose
  model has named ``encoder`` and ``decoder`` submodels, and color photos as ``(name, uint8 RGB H×W×3)``.
- Out: a new checkpoint folder (``model.keras``, ``history.csv``, ``card.json``) at ``config.out_dir``,
  by default ``user_checkpoint_dir()/<base>-ft-<time>``. It is built in a hidden staging folder
  (``<parent>/.tmp-finetune/<name>-…``) and renamed into place as the very last step, so a crash leaves
  no visible half-written checkpoint; the shipped ``weights/`` folder is refused as a destination.
- Only the decoder trains: the frozen encoder's features for the crops are computed once per
  (base checkpoint, crops) by ``FeatureCache`` and every epoch trains the architecture's
  ``decoder_head`` on them, so an epoch costs decoder time only.
- ``FinetuneJob`` runs one fine-tune (in the calling thread with ``run()``, or a background thread),
  exposes a thread-safe ``JobStatus`` snapshot and ``stop()`` (ends after the current step, keeps the
  best weights so far and saves them). ``QUEUE`` (a ``JobQueue``) runs one job per process at a time.
- ``finetune_from_cli(args)`` is ``python -m colorizer finetune``; ``time_epoch`` serves the benchmark.

Photos are cut into square crops at several scales with horizontal flips (``colorizer.data``); a
share of the photos (``val_share``) is held out for validation, the per-epoch preview and the card's
evaluation. For ``unet313`` the class-rebalancing prior is computed from the fine-tuning crops (the
same recipe as training, specialized to the new photos).
"""
from __future__ import annotations

import csv
import hashlib
import io
import math
import os
import shlex
import shutil
import signal
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections import OrderedDict, deque
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable

import keras
import numpy as np

from colorizer import checkpoints, data, quantize, train
from colorizer.color import resize
from colorizer.imageio import ImageError, decode_image, read_image
from colorizer.models import ARCHITECTURES

__all__ = [
    "FinetuneConfig", "FinetuneError", "FeatureCache", "FEATURE_CACHE", "FinetuneJob", "JobStatus", "JobQueue",
    "QUEUE", "load_base", "finetunable_checkpoints", "decode_photo", "photos_from_uploads", "photos_from_folder",
    "checkpoint_zip", "finetune_from_cli", "time_epoch", "STATES", "Base", "ForeignArchitecture", "prepare",
    "split_photos", "shrink_photo", "trainable_head", "mixed_precision_copy", "gpu_helps_mixed_precision", "publish",
]

MAX_PHOTO_SIDE = 1024       # crops are ≤ 256 px: bigger photos only cost memory
PREVIEW_SIDE = 512
CROPS_PER_PHOTO = 8
VAL_RANDOM_CROPS = 2
STAGING_DIR_NAME = ".tmp-finetune"
STALE_STAGING_S = 24 * 3600
STATES = ("queued", "running", "stopping", "done", "failed", "stopped")
ACTIVE_STATES = ("queued", "running", "stopping")
_CHECKPOINT_FILES = {"model.keras", "history.csv", "card.json"}
_CONTRACTS = {"rgb": "gray01_rgb", "ab": "L_ab", "ab313": "L_313"}

Photo = tuple[str, np.ndarray]


class FinetuneError(ValueError):
    """A fine-tune that cannot run; str(err) is one line saying what to change."""


@dataclass
class FinetuneConfig:
    """What to fine-tune and how. ``crop=None`` → the model's working size; ``out_dir=None`` → a new
    folder ``<base>-ft-<time>`` in ``user_checkpoint_dir()``; otherwise ``out_dir`` is the checkpoint folder."""

    base: str | Path
    epochs: int = 5
    lr: float = 3e-4
    batch_size: int = 16
    crop: int | None = None
    val_share: float = 0.2
    seed: int = 0
    out_dir: Path | None = None
    crops_per_photo: int = CROPS_PER_PHOTO
    data_label: str = "uploaded photos"
    command: str | None = None

    def validate(self) -> None:
        if self.epochs < 1:
            raise FinetuneError(f"epochs must be at least 1, got {self.epochs}")
        if not 0 < self.lr < 1:
            raise FinetuneError(f"learning rate must be in (0, 1), got {self.lr}")
        if self.batch_size < 1:
            raise FinetuneError(f"batch size must be at least 1, got {self.batch_size}")
        if not 0 <= self.val_share < 1:
            raise FinetuneError(f"validation share must be in [0, 1), got {self.val_share}")
        if self.crops_per_photo < 1:
            raise FinetuneError(f"crops per photo must be at least 1, got {self.crops_per_photo}")


# --------------------------------------------------------------------------- photos

def shrink_photo(rgb: np.ndarray, side: int = MAX_PHOTO_SIDE) -> np.ndarray:
    """uint8 RGB → the same, at most ``side`` px on its longer side (never enlarged)."""
    h, w = rgb.shape[:2]
    scale = side / max(h, w)
    return rgb if scale >= 1 else resize(rgb, (max(1, round(h * scale)), max(1, round(w * scale))))


def _usable(image, name: str) -> Photo:
    if not image.was_color:
        raise ImageError(name, "grayscale photo: it has no color to learn from")
    return name, shrink_photo(image.rgb)


def decode_photo(data_bytes: bytes, name: str) -> Photo:
    """File bytes → (name, uint8 RGB ≤ 1024 px); ``ImageError`` for unreadable or grayscale files."""
    return _usable(decode_image(data_bytes, name), name)


def photos_from_uploads(files: Iterable[tuple[str, bytes]]) -> tuple[list[Photo], list[str]]:
    """(name, bytes) pairs → (usable photos, one ``"<file>: <reason>"`` line per unusable file)."""
    photos, errors = [], []
    for name, content in files:
        try:
            photos.append(decode_photo(content, name))
        except ImageError as err:
            errors.append(str(err))
    return photos, errors


def photos_from_folder(folder: str | Path) -> tuple[list[Photo], list[str]]:
    """Color photos of a folder (flat, or with ``train/`` and ``val/`` subfolders) and the error lines."""
    root = Path(folder)
    paths = data.list_photos(root)
    paths += [p for split in ("train", "val") if (root / split).is_dir() for p in data.list_photos(root, split)]
    photos, errors = [], []
    for path in paths:
        try:
            photos.append(_usable(read_image(path), path.name))
        except ImageError as err:
            errors.append(str(err))
    return photos, errors


# --------------------------------------------------------------------------- base checkpoints

class ForeignArchitecture:
    """The architecture interface for a checkpoint made elsewhere that chains input → encoder → decoder
    (gray01 → RGB or L → ab contracts; trained with MSE like the project's own autoencoders)."""

    def __init__(self, model, label: str):
        from colorizer.inference import infer_contract

        self.contract, self.WORKING_SIZE = infer_contract(model)
        if self.contract == "L_313":
            raise FinetuneError(f"{label}: fine-tuning a 313-bin model made elsewhere is not supported")
        chain = [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
        if chain != ["encoder", "decoder"]:
            raise FinetuneError(f"{label}: this checkpoint has no separate decoder to fine-tune "
                                f"(expected input → encoder → decoder, found {', '.join(chain)})")
        self.NAME = model.name
        self.INPUT_KIND, self.OUTPUT_KIND = ("gray01", "rgb") if self.contract == "gray01_rgb" else ("L", "ab")
        self.DESCRIPTION = f"Checkpoint made elsewhere ({self.contract})."
        self._out_size = model.outputs[0].shape[1]

    def training_pairs(self, batch: dict):
        x = batch["gray01"] if self.INPUT_KIND == "gray01" else batch["L_norm"]
        y = batch["rgb01"] if self.OUTPUT_KIND == "rgb" else batch["ab_norm"]
        if self._out_size and self._out_size != y.shape[1]:
            y = np.stack([resize(t, (self._out_size, self._out_size)) for t in y])
        return x, y

    def loss_and_metrics(self, prior=None):
        return "mse", ["mae"], None

    def encoder_features(self, model, x, batch_size: int = 32) -> list[np.ndarray]:
        out = model.get_layer("encoder").predict(x, batch_size=batch_size, verbose=0)
        return list(out) if isinstance(out, (list, tuple)) else [out]

    def decoder_head(self, model):
        return model.get_layer("decoder")


@dataclass
class Base:
    """A loaded base checkpoint: a fresh model copy (safe to train), its architecture and card."""

    name: str
    model_path: Path
    model: object
    arch: object
    card: dict
    working_size: int
    fixed_size: int | None

    @property
    def contract(self) -> str:
        return getattr(self.arch, "contract", None) or _CONTRACTS[self.arch.OUTPUT_KIND]

    @property
    def known(self) -> bool:
        return self.arch.NAME in ARCHITECTURES and self.arch is ARCHITECTURES[self.arch.NAME]


def _base_path(base: str | Path) -> tuple[Path, str]:
    from colorizer.inference import available_checkpoints

    known = available_checkpoints()
    if isinstance(base, str) and base in known:
        return known[base] / "model.keras", base
    if isinstance(base, str) and base in ARCHITECTURES and not Path(base).exists():
        raise FinetuneError(f"{base}: no trained checkpoint in weights/{base}/ to start from "
                            f"(train it first: python -m colorizer train --arch {base})")
    path = checkpoints.checkpoint_file(base)
    return path, (path.parent.name if path.name == "model.keras" else path.stem)


def load_base(base: str | Path) -> Base:
    """A checkpoint name, folder or file → ``Base`` (a freshly loaded model, never a shared one)."""
    path, label = _base_path(base)
    model = checkpoints.load_keras_model(path)
    card = checkpoints.read_card(path.parent) if path.name == "model.keras" else {}
    names = {layer.name for layer in model.layers}
    if not {"encoder", "decoder"} <= names:
        raise FinetuneError(f"{label}: this checkpoint has no separate decoder to fine-tune "
                            "(its model has no 'encoder' and 'decoder' submodels)")
    arch = ARCHITECTURES.get(card.get("architecture", model.name)) or ForeignArchitecture(model, label)
    if getattr(arch, "TAKES_HINTS", False):
        raise FinetuneError(f"{label}: fine-tuning a hint-taking model is not supported yet; fine-tune "
                            f"{getattr(arch, 'FEATURES_OF', 'the flagship')} instead")
    fixed = model.inputs[0].shape[1] if not isinstance(model.inputs, dict) else None
    working = int(card.get("working_size") or arch.WORKING_SIZE)
    return Base(card.get("name") or label, path, model, arch, card, working, fixed)


def finetunable_checkpoints() -> dict[str, Path]:
    """name → folder of every checkpoint whose card names a known architecture (shipped + fine-tuned)."""
    from colorizer.inference import available_checkpoints

    found = {}
    for name, folder in available_checkpoints().items():
        card = checkpoints.read_card(folder)
        arch = ARCHITECTURES.get(card.get("architecture"))
        # Hint-taking models train with simulated hints, which fine-tuning does not do (yet).
        if (arch is not None and not getattr(arch, "TAKES_HINTS", False)) or card.get("finetunable"):
            found[name] = folder
    return found


def _crop_size(config: FinetuneConfig, base: Base) -> int:
    crop = config.crop or base.fixed_size or base.working_size
    if base.fixed_size and crop != base.fixed_size:
        raise FinetuneError(f"{base.name} takes {base.fixed_size}×{base.fixed_size} inputs only: use crop {base.fixed_size}")
    if crop < 16 or crop % 8:
        raise FinetuneError(f"crop size must be a multiple of 8 and at least 16, got {crop}")
    return int(crop)


# --------------------------------------------------------------------------- feature cache

def _concat(a, b):
    if isinstance(a, dict):
        return {k: np.concatenate([a[k], b[k]]) for k in a}
    if isinstance(a, (list, tuple)):
        return [np.concatenate([u, v]) for u, v in zip(a, b)]
    return np.concatenate([a, b])


def _split(arrays: list[np.ndarray], n: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    return [a[:n] for a in arrays], [a[n:] for a in arrays]


def _take(value, n: int):
    if isinstance(value, dict):
        return {k: v[:n] for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [v[:n] for v in value]
    return value[:n]


def _single(arrays):
    """Keras takes one array (not a one-element list) for a one-input model."""
    return arrays[0] if isinstance(arrays, list) and len(arrays) == 1 else arrays


class FeatureCache:
    """Frozen-encoder features per (base checkpoint file + mtime, architecture, crops), kept in memory
    (the ``max_entries`` most recent) and, with ``disk_dir``, as ``.npy`` files that survive restarts.

    ``computations`` counts how many times the encoder actually ran (tests assert it).
    """

    def __init__(self, max_entries: int = 2, disk_dir: str | Path | None = None):
        self.max_entries, self.disk_dir = max_entries, Path(disk_dir) if disk_dir else None
        self.computations = 0
        self._entries: OrderedDict[str, list[np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(base_path: str | Path, arch_name: str, crops: np.ndarray) -> str:
        """sha256 of the base file's path and mtime, the architecture and the crop pixels."""
        path = Path(base_path).resolve()
        digest = hashlib.sha256(f"{path}|{path.stat().st_mtime_ns}|{arch_name}|{crops.shape}".encode())
        digest.update(np.ascontiguousarray(crops).tobytes())
        return digest.hexdigest()[:32]

    def features(self, key: str, compute: Callable[[], list[np.ndarray]]) -> list[np.ndarray]:
        """The cached features for ``key``, running ``compute()`` only when neither memory nor disk has them."""
        with self._lock:  # one computation per key even when two jobs ask at once
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            arrays = self._read_disk(key)
            if arrays is None:
                arrays = [np.asarray(a) for a in compute()]
                self.computations += 1
                self._write_disk(key, arrays)
            self._entries[key] = arrays
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return arrays

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _read_disk(self, key: str) -> list[np.ndarray] | None:
        folder = self.disk_dir / key if self.disk_dir else None
        if folder is None or not folder.is_dir():
            return None
        try:
            files = sorted(folder.glob("*.npy"), key=lambda p: int(p.stem))
            return [np.load(p, allow_pickle=False) for p in files] or None
        except (OSError, ValueError):
            return None

    def _write_disk(self, key: str, arrays: list[np.ndarray]) -> None:
        if self.disk_dir is None:
            return
        self.disk_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=self.disk_dir, prefix=f".{key}-"))
        try:
            for i, a in enumerate(arrays):
                np.save(tmp / f"{i}.npy", a, allow_pickle=False)
            os.replace(tmp, self.disk_dir / key)
        except OSError:  # a cache that cannot be written is only slower, never wrong
            shutil.rmtree(tmp, ignore_errors=True)


FEATURE_CACHE = FeatureCache()


# --------------------------------------------------------------------------- training pieces

@dataclass
class Prepared:
    """Photos split, crops cut, features computed: everything an epoch needs."""

    base: Base
    crop: int
    train_photos: list[Photo]
    val_photos: list[Photo]
    held_out: bool
    n_train_crops: int
    n_val_crops: int
    features: list[np.ndarray]
    y: object
    val_features: list[np.ndarray]
    val_y: object
    prior: np.ndarray | None
    feature_time_s: float


def split_photos(photos: list[Photo], share: float, seed: int) -> tuple[list[Photo], list[Photo], bool]:
    """(train, held-out, held_out?): at least one photo each side when there are two or more photos;
    a single photo is both (and ``held_out`` is False)."""
    order = np.random.default_rng(seed).permutation(len(photos))
    shuffled = [photos[i] for i in order]
    n_val = min(len(photos) - 1, max(1, round(len(photos) * share))) if share > 0 else 0
    if n_val == 0:
        return shuffled, shuffled[:1], False
    return shuffled[n_val:], shuffled[:n_val], True


def _rgbs(photos: list[Photo]) -> list[np.ndarray]:
    return [rgb for _, rgb in photos]


def prepare(config: FinetuneConfig, photos: list[Photo], base: Base, cache: FeatureCache, log=lambda m: None) -> Prepared:
    """Split, crop, and compute (or fetch) the frozen encoder's features for train + validation crops."""
    if not photos:
        raise FinetuneError("no usable color photos to fine-tune on")
    crop = _crop_size(config, base)
    train_photos, val_photos, held_out = split_photos(photos, config.val_share, config.seed)
    train_crops = data.random_crops(_rgbs(train_photos), config.crops_per_photo, crop, seed=config.seed)
    val_crops = np.concatenate([data.center_crops(_rgbs(val_photos), crop),
                                data.random_crops(_rgbs(val_photos), VAL_RANDOM_CROPS, crop, seed=config.seed + 1)])
    arch = base.arch
    train_batch, val_batch = data.crop_batch(train_crops), data.crop_batch(val_crops)
    x, y = arch.training_pairs(train_batch)
    val_x, val_y = arch.training_pairs(val_batch)
    prior = quantize.empirical_prior(train_batch["ab_norm"] * 110.0) if arch.OUTPUT_KIND == "ab313" else None
    all_crops = np.concatenate([train_crops, val_crops])
    key = FeatureCache.key(base.model_path, arch.NAME, all_crops)
    log(f"computing the frozen encoder's features once for {len(all_crops)} crops")
    started = time.perf_counter()
    features = cache.features(key, lambda: arch.encoder_features(base.model, _concat(x, val_x)))
    train_features, val_features = _split(features, len(train_crops))
    return Prepared(base, crop, train_photos, val_photos, held_out, len(train_crops), len(val_crops),
                    train_features, y, val_features, val_y, prior, time.perf_counter() - started)


def trainable_head(model, arch):
    """The architecture's decoder head; a bare decoder is wrapped so that compiling it does not attach
    an optimizer (and its state) to the submodel that gets saved inside the checkpoint."""
    head = arch.decoder_head(model)
    if head is not model.get_layer("decoder"):
        return head
    inputs = [keras.Input(t.shape[1:], dtype=t.dtype, name=f"{t.name.split(':')[0]}_features") for t in head.inputs]
    return keras.Model(inputs, head(_single(inputs)), name="decoder_head")


def gpu_helps_mixed_precision() -> bool:
    """True when TensorFlow sees a GPU with tensor cores (compute capability ≥ 7.0)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return False
    capability = tf.config.experimental.get_device_details(gpus[0]).get("compute_capability") or (0, 0)
    return tuple(capability) >= (7, 0)


def mixed_precision_copy(head):
    """A copy of ``head`` computing in float16 (float32 variables and outputs), same weights.

    The dtype policy is set per layer, not with ``keras.mixed_precision.set_global_policy``: the policy is
    global to the process and the app builds and runs other models in other threads meanwhile.
    """
    def float16_layer(layer):
        config = layer.get_config()
        if not type(layer).__module__.startswith("colorizer."):  # our own layers (VAE sampling, KL) stay float32
            config["dtype"] = "mixed_float16"
        return layer.__class__.from_config(config)

    inner = keras.models.clone_model(head, clone_function=float16_layer, recursive=True)
    inner.set_weights(head.get_weights())
    as_float32 = keras.layers.Activation("linear", dtype="float32")
    outputs = inner.outputs
    if isinstance(head.output, dict):
        outputs = {k: keras.layers.Activation("linear", dtype="float32", name=f"{k}_float32")(v) for k, v in inner.output.items()}
    else:
        outputs = [as_float32(o) for o in outputs] if len(outputs) > 1 else as_float32(outputs[0])
    return keras.Model(inner.inputs, outputs, name="decoder_head_mixed"), inner


# --------------------------------------------------------------------------- job status

@dataclass(frozen=True)
class JobStatus:
    """A snapshot of a job; every field is safe to read from another thread (never mutated later)."""

    job_id: str
    owner: str | None
    state: str = "queued"
    epoch: int = 0                 # 1-based epoch running (or last run)
    epochs: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    eta_s: float | None = None
    history: tuple = ()            # rows as in history.csv: epoch (0-based), loss, val_loss, …
    device: str = ""
    mixed_precision: bool = False
    message: str = ""
    preview: np.ndarray | None = None
    preview_epoch: int = 0
    held_out_name: str = ""
    result: Path | None = None
    error: str | None = None
    skipped: tuple = ()            # "<file>: <reason>" of photos that could not be used
    wall_time_s: float = 0.0

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def fraction(self) -> float:
        """Share of all training steps done, in [0, 1]."""
        total = self.epochs * self.steps_per_epoch
        if self.state == "done" or not total:
            return 1.0 if self.state == "done" else 0.0
        return min(1.0, ((self.epoch - 1) * self.steps_per_epoch + self.step) / total) if self.epoch else 0.0


class _Progress(keras.callbacks.Callback):
    """Reports steps/epochs/ETA to the job, stops after the current step on request, previews each epoch."""

    def __init__(self, job: "FinetuneJob", epochs: int, steps: int, preview: Callable[[], np.ndarray | None]):
        super().__init__()
        self.job, self.epochs, self.steps, self.preview = job, epochs, steps, preview
        self.epoch_times: list[float] = []
        self.epoch_index, self.epoch_start, self.steps_done = 0, time.perf_counter(), 0
        self.rows: list[dict] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_index, self.epoch_start, self.steps_done = epoch, time.perf_counter(), 0
        self.job._update(epoch=epoch + 1, step=0)

    def on_train_batch_end(self, batch, logs=None):
        self.steps_done = batch + 1
        self.job._update(step=self.steps_done, eta_s=self._eta())
        if self.job.stop_requested:
            self.model.stop_training = True

    def _eta(self) -> float:
        elapsed = time.perf_counter() - self.epoch_start
        remaining_epochs = self.epochs - self.epoch_index - 1
        if self.epoch_times:
            per_epoch = float(np.mean(self.epoch_times))
            return max(per_epoch - elapsed, 0.0) + per_epoch * remaining_epochs
        per_step = elapsed / max(self.steps_done, 1)
        return per_step * (self.steps - self.steps_done + self.steps * remaining_epochs)

    def on_epoch_end(self, epoch, logs=None):
        if self.steps_done == self.steps:  # a stopped, partial epoch would skew the ETA
            self.epoch_times.append(time.perf_counter() - self.epoch_start)
        if self.job.stop_requested:  # asked during validation or the preview: do not start another epoch
            self.model.stop_training = True
        row = {"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}}
        self.rows.append(row)
        image = self.preview()
        self.job._update(history=tuple(self.rows), preview=image, preview_epoch=epoch + 1, eta_s=self._eta())


def _history_csv(rows: list[dict]) -> str:
    """Rows → CSV text with Keras CSVLogger's columns (epoch, then the sorted log keys)."""
    keys = sorted({k for row in rows for k in row} - {"epoch"})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["epoch", *keys], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: int(v) if k == "epoch" else v for k, v in row.items()})
    return out.getvalue()


# --------------------------------------------------------------------------- writing the result

def _refuse_weights_dir(folder: Path) -> None:
    weights = Path(checkpoints.WEIGHTS_DIR).resolve()
    target = Path(folder).resolve()
    if target == weights or weights in target.parents:
        raise FinetuneError(f"{folder}: is inside the shipped weights/ folder, which fine-tuning never writes; "
                            "choose another output folder")


def _check_replaceable(folder: Path) -> None:
    """An existing output folder may only be a checkpoint folder (or empty): never clobber other files."""
    if not folder.exists():
        return
    if not folder.is_dir():
        raise FinetuneError(f"{folder}: exists and is not a folder; choose a new output folder")
    others = [p.name for p in folder.iterdir() if p.name not in _CHECKPOINT_FILES and not p.name.startswith(".")]
    if others:
        raise FinetuneError(f"{folder}: exists and holds other files ({', '.join(sorted(others)[:3])}); "
                            "choose a new output folder")


def _staging_dir(final: Path) -> Path:
    root = final.parent / STAGING_DIR_NAME
    for attempt in range(2):  # another process may remove the (empty) staging root in between: once more
        root.mkdir(parents=True, exist_ok=True)
        _remove_stale(root)
        try:
            return Path(tempfile.mkdtemp(dir=root, prefix=f"{final.name}-"))
        except FileNotFoundError:
            if attempt:
                raise
    raise AssertionError("unreachable")


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:  # not empty (another job is staging there) or already gone
        pass


def _umask() -> int:
    """The process umask, read without os.umask(), whose set-and-restore would race with other threads."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022


def _make_readable(folder: Path) -> None:
    """mkdtemp/mkstemp create owner-only folders and files; a checkpoint is as readable as any file the user makes."""
    umask = _umask()
    os.chmod(folder, 0o777 & ~umask)
    for path in folder.iterdir():
        os.chmod(path, 0o666 & ~umask)


def _remove_stale(root: Path) -> None:
    """Staging folders a killed process left behind a day ago or more (never a running job's)."""
    for p in root.iterdir():
        try:
            if time.time() - p.stat().st_mtime > STALE_STAGING_S:
                shutil.rmtree(p, ignore_errors=True)
        except OSError:
            pass


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def publish(staging: Path, final: Path) -> None:
    """Rename the complete ``staging`` folder to ``final`` (replacing a previous checkpoint there):
    readers see the old checkpoint or the new one, never a half-written folder."""
    _check_replaceable(final)
    previous = None
    if final.exists():
        previous = Path(tempfile.mkdtemp(dir=staging.parent, prefix=f"{final.name}-previous-"))
        os.replace(final, previous)  # rename over the new empty folder
    try:
        os.replace(staging, final)
    except BaseException:
        if previous is not None:
            os.replace(previous, final)  # put the previous checkpoint back
        raise
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
    _fsync_dir(final.parent)


def checkpoint_zip(folder: str | Path) -> bytes:
    """A checkpoint folder → ZIP bytes holding ``<name>/model.keras``, ``history.csv``, ``card.json``."""
    folder = Path(folder)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(_CHECKPOINT_FILES):
            if (folder / name).is_file():
                archive.write(folder / name, f"{folder.name}/{name}")
    return out.getvalue()


def default_name(base_name: str) -> str:
    root = base_name.split("-ft-")[0]
    return f"{root}-ft-{datetime.now().strftime('%Y%m%d-%H%M%S')}"


def _unique_folder(parent: Path, name: str) -> Path:
    folder, n = parent / name, 2
    while folder.exists():
        folder, n = parent / f"{name}-{n}", n + 1
    return folder


# --------------------------------------------------------------------------- the job

class FinetuneJob:
    """One fine-tune. ``run()`` does it in the calling thread (the CLI); ``JobQueue`` runs it in a thread.

    ``status()`` is a consistent snapshot; ``stop()`` ends training after the current step, keeps the best
    weights so far and still writes the checkpoint (or, before training started, writes nothing).
    ``on_update(status)`` is called from the training thread after each change.
    """

    def __init__(self, config: FinetuneConfig, photos: list[Photo], owner: str | None = None, *,
                 cache: FeatureCache | None = None, on_update: Callable[[JobStatus], None] | None = None,
                 skipped: Iterable[str] = ()):
        self.id = uuid.uuid4().hex[:12]
        self.config, self.owner = config, owner
        self.cache = cache or FEATURE_CACHE
        self.on_update = on_update
        self.held_out_photo: np.ndarray | None = None
        self._photos = list(photos)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._status = JobStatus(self.id, owner, epochs=config.epochs, skipped=tuple(skipped))
        self._thread: threading.Thread | None = None
        self.created = time.time()

    # ---- thread-safe state
    def status(self) -> JobStatus:
        with self._lock:
            return self._status

    def _update(self, **changes) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)
            status = self._status
        if self.on_update is not None:
            self.on_update(status)

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Ask the job to end after the current training step (a queued job is simply dropped)."""
        self._stop.set()
        with self._lock:  # check and set together: the job may be finishing at this very moment
            if self._status.state != "running":
                return
            self._status = status = replace(self._status, state="stopping", message="stopping after the current step…")
        if self.on_update is not None:
            self.on_update(status)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    # ---- the work
    def run(self) -> Path | None:
        """Fine-tune, write the checkpoint, return its folder (None when it failed or stopped early)."""
        started = time.perf_counter()
        self._update(state="running", message="loading the base checkpoint")
        try:
            result = self._execute(started)
        except Exception as err:  # every failure becomes a one-line message in the status
            self._update(state="failed", error=_one_line(err), message="failed", eta_s=None,
                         wall_time_s=time.perf_counter() - started)
            return None
        except BaseException:  # KeyboardInterrupt / SystemExit: the staging folder is gone already
            self._update(state="failed", error="interrupted", message="interrupted")
            raise
        finally:
            self._photos = []  # the uploads are no longer needed: free their memory
        final_state = "stopped" if self.stop_requested else "done"
        message = f"saved {result.name}" if result else "stopped before training started; nothing was saved"
        self._update(state=final_state, result=result, message=message, eta_s=0.0,
                     wall_time_s=time.perf_counter() - started)
        return result

    def _execute(self, started: float) -> Path | None:
        config = self.config
        config.validate()
        final = self._destination_preflight()
        base = load_base(config.base)
        final = final or _unique_folder(checkpoints.user_checkpoint_dir(), default_name(base.name))
        _refuse_weights_dir(final)
        _check_replaceable(final)
        prepared = prepare(config, self._photos, base, self.cache, log=lambda m: self._update(message=m))
        self.held_out_photo = prepared.val_photos[0][1]
        if self.stop_requested:
            return None
        preview = _Previewer(base, prepared.val_photos[0][1])
        self._update(message="scoring the base checkpoint on the held-out photos", held_out_name=prepared.val_photos[0][0])
        base_scores = _evaluate(prepared.val_photos, base.name, preview.colorizer)
        if self.stop_requested:
            return None
        staging = _staging_dir(final)
        try:
            training = self._train(prepared, preview)
            card = self._card(prepared, final.name, training, started)
            self._update(message="scoring the fine-tuned checkpoint on the held-out photos")
            tuned = _evaluate(prepared.val_photos, final.name, preview.colorizer)
            card["evaluation"] = {k: v for k, v in base_scores.items() if k != "truth"} | {final.name: tuned[final.name], "truth": tuned["truth"]}
            self._update(message="writing the checkpoint")
            checkpoints.save_model_atomic(base.model, staging / "model.keras")
            checkpoints.atomic_write_text(staging / "history.csv", _history_csv(training["rows"]))
            checkpoints.write_card(staging, card)
            _make_readable(staging)
            publish(staging, final)
        except BaseException:  # leave no staging folder behind (a killed process leaves a hidden one)
            shutil.rmtree(staging, ignore_errors=True)
            raise
        finally:
            _remove_if_empty(staging.parent)
        return final

    def _destination_preflight(self) -> Path | None:
        """Refuse a bad ``out_dir`` before any expensive work."""
        if self.config.out_dir is None:
            return None
        final = Path(self.config.out_dir).expanduser()
        _refuse_weights_dir(final)
        _check_replaceable(final)
        return final

    def _train(self, prepared: Prepared, preview: "_Previewer") -> dict:
        config, base = self.config, prepared.base
        arch, model = base.arch, base.model
        encoder_before = [w.copy() for w in model.get_layer("encoder").get_weights()]
        head = trainable_head(model, arch)
        mixed = gpu_helps_mixed_precision()
        device = train.device_description()
        trained, inner = mixed_precision_copy(head) if mixed else (head, head)
        preview.sync = (lambda: head.set_weights(inner.get_weights())) if mixed else (lambda: None)
        steps = math.ceil(prepared.n_train_crops / config.batch_size)
        where = f"training on {device}" + (" with mixed precision" if mixed else "" if device.startswith("GPU") else " (no GPU found)")
        self._update(device=device, mixed_precision=mixed, steps_per_epoch=steps, message=where)
        loss, metrics, loss_weights = arch.loss_and_metrics(prepared.prior)
        optimizer = keras.optimizers.Adam(config.lr)
        if mixed:
            optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
        trained.compile(optimizer=optimizer, loss=loss, metrics=metrics, loss_weights=loss_weights)
        progress = _Progress(self, config.epochs, steps, preview)
        keep_best = train.KeepBestWeights()
        fit_started = time.perf_counter()
        trained.fit(
            _single(prepared.features), prepared.y, validation_data=(_single(prepared.val_features), prepared.val_y),
            epochs=config.epochs, batch_size=config.batch_size, shuffle=True, verbose=0,
            # progress last: it records the logs after ReduceLROnPlateau has added learning_rate to them
            callbacks=[keras.callbacks.ReduceLROnPlateau(factor=train.LR_FACTOR, patience=5, min_lr=5e-7), keep_best, progress],
        )
        preview.sync()
        _assert_unchanged(encoder_before, model.get_layer("encoder").get_weights())
        return {"rows": progress.rows, "keep_best": keep_best, "mixed": mixed, "device": device,
                "fit_time_s": time.perf_counter() - fit_started, "epoch_times": progress.epoch_times,
                "last_steps": progress.steps_done, "steps": steps}

    def _card(self, prepared: Prepared, name: str, training: dict, started: float) -> dict:
        config, base = self.config, prepared.base
        arch, keep_best = base.arch, training["keep_best"]
        epoch_times = training["epoch_times"]
        card = {
            "name": name,
            "architecture": arch.NAME,
            "description": f"{arch.DESCRIPTION} Decoder fine-tuned on {len(prepared.train_photos)} photos.",
            "working_size": base.working_size,
            "finetunable": True,
            "base": {"name": base.name, "path": str(base.model_path), "architecture": arch.NAME,
                     "created": base.card.get("created")},
            "data": {
                "source": config.data_label, "photos": len(prepared.train_photos) + (len(prepared.val_photos) if prepared.held_out else 0),
                "train_photos": len(prepared.train_photos), "held_out_photos": len(prepared.val_photos) if prepared.held_out else 0,
                "held_out": prepared.held_out, "train_crops": prepared.n_train_crops, "val_crops": prepared.n_val_crops,
                "crop": prepared.crop, "crops_per_photo": config.crops_per_photo, "crop_scales": list(data.CROP_SCALES),
                "flips": "horizontal", "skipped": list(self.status().skipped),
            },
            "training": {
                "epochs": config.epochs, "epochs_run": len(training["rows"]), "stopped_early": self.stop_requested,
                "last_epoch_steps": training["last_steps"], "steps_per_epoch": training["steps"],
                "best_epoch": keep_best.best_epoch, "best_val_loss": keep_best.best,
                "batch_size": config.batch_size, "learning_rate": config.lr, "seed": config.seed,
                "val_share": config.val_share, "frozen_encoder_features_cached": True,
                "feature_time_s": round(prepared.feature_time_s, 2),
                "wall_time_s": round(time.perf_counter() - started, 1),
                "time_per_epoch_s": round(float(np.mean(epoch_times)), 2) if epoch_times else None,
                "device": training["device"], "mixed_precision": training["mixed"],
            },
            "command": config.command,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "versions": train._versions(),
        }
        if base.known:
            card["color_space"] = train._color_space(arch)
            card["parameters"] = train.parameter_counts(base.model, arch)
        else:
            card["contract"] = base.contract
            card["parameters"] = {"total": int(base.model.count_params())}
        if prepared.prior is not None:
            card["rebalancing"] = {"prior": "empirical, from the fine-tuning crops", "lambda": quantize.REBALANCE_LAMBDA,
                                   "prior_smoothing_sigma": quantize.PRIOR_SMOOTHING_SIGMA,
                                   "default_temperature": quantize.DEFAULT_TEMPERATURE}
        return card


def _assert_unchanged(before: list[np.ndarray], after: list[np.ndarray]) -> None:
    if len(before) != len(after) or any(not np.array_equal(a, b) for a, b in zip(before, after)):
        raise RuntimeError("the encoder's weights changed during fine-tuning (it must stay frozen)")


class _Previewer:
    """Colorizes the held-out photo with the model's current weights (the model is trained in place)."""

    def __init__(self, base: Base, photo: np.ndarray):
        from colorizer.inference import Colorizer

        card = {"architecture": base.arch.NAME} if base.known else {}
        self.colorizer = Colorizer(name=base.name, model=base.model, contract=base.contract,
                                   working_size=base.working_size, card=card)
        self.photo = shrink_photo(photo, PREVIEW_SIDE)
        self.sync: Callable[[], None] = lambda: None

    def __call__(self) -> np.ndarray:
        self.sync()
        return self.colorizer.colorize(self.photo)


def _evaluate(photos: list[Photo], label: str, colorizer) -> dict:
    from colorizer.evaluate import evaluate_photos

    return evaluate_photos(photos, {label: colorizer})


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:400]


# --------------------------------------------------------------------------- one job per server

class JobQueue:
    """One fine-tune at a time per process, first come first served; each owner sees only its jobs."""

    def __init__(self, keep_finished: int = 20):
        self.keep_finished = keep_finished
        self._cond = threading.Condition()
        self._waiting: deque[FinetuneJob] = deque()
        self._running: FinetuneJob | None = None
        self._jobs: OrderedDict[str, FinetuneJob] = OrderedDict()

    def submit(self, config: FinetuneConfig, photos: list[Photo], owner: str | None = None, **job_options) -> FinetuneJob:
        """Queue a job and return it at once; it starts in a background thread when its turn comes."""
        job = FinetuneJob(config, photos, owner, **job_options)
        with self._cond:
            self._forget_old()
            self._jobs[job.id] = job
            self._waiting.append(job)
        job._thread = threading.Thread(target=self._work, args=(job,), name=f"finetune-{job.id}", daemon=True)
        job._thread.start()
        return job

    def _work(self, job: FinetuneJob) -> None:
        with self._cond:
            while not job.stop_requested and not (self._running is None and self._waiting[0] is job):
                self._cond.wait(timeout=0.2)  # the timeout also notices stop() of a queued job
            self._waiting.remove(job)
            if job.stop_requested:
                self._cond.notify_all()
                job._update(state="stopped", message="cancelled while waiting in the queue")
                return
            self._running = job
        try:
            job.run()
        finally:
            with self._cond:
                self._running = None
                self._cond.notify_all()

    def position(self, job: FinetuneJob) -> int | None:
        """How many jobs run or wait ahead of ``job``: 0 when it runs (or is about to); None once finished."""
        with self._cond:
            if self._running is job:
                return 0
            for i, waiting in enumerate(self._waiting):
                if waiting is job:
                    return i + (self._running is not None)
            return None

    def get(self, job_id: str | None, owner: str | None) -> FinetuneJob | None:
        """The job ``job_id`` if it belongs to ``owner`` (another session's job is invisible)."""
        with self._cond:
            job = self._jobs.get(job_id or "")
        return job if job is not None and job.owner == owner else None

    def jobs(self, owner: str | None) -> list[FinetuneJob]:
        with self._cond:
            return [j for j in self._jobs.values() if j.owner == owner]

    def busy(self) -> bool:
        with self._cond:
            return self._running is not None or bool(self._waiting)

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if not j.status().active]
        for job in finished[: max(0, len(finished) - self.keep_finished)]:
            del self._jobs[job.id]


QUEUE = JobQueue()


# --------------------------------------------------------------------------- command line

def finetune_from_cli(args) -> int:
    """``python -m colorizer finetune``: 0 when the checkpoint was written (even if some photos were
    unusable: each prints ``error: <file>: <reason>``), 1 when no photo was usable or training failed.
    Ctrl-C once stops after the current step and still writes the best weights; twice aborts (130)."""
    photos, errors = photos_from_folder(args.data)
    for line in errors:
        print(f"error: {line}", file=sys.stderr, flush=True)
    if not photos:
        print(f"error: {args.data}: no usable color photos to fine-tune on", file=sys.stderr, flush=True)
        return 1
    config = FinetuneConfig(
        base=args.base, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, crop=args.crop,
        val_share=getattr(args, "val_share", 0.2), seed=getattr(args, "seed", 0), out_dir=Path(args.out),
        data_label=str(args.data), command="python -m colorizer " + shlex.join(sys.argv[1:]),
    )
    bar = _CliProgress()
    job = FinetuneJob(config, photos, on_update=bar.update, skipped=errors)
    previous = _stop_on_interrupt(job)
    try:
        job.run()
    finally:
        bar.close()
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
    status = job.status()
    if status.state == "failed":
        print(f"error: {status.error}", file=sys.stderr, flush=True)
        return 1
    print(status.result)
    return 0


def _stop_on_interrupt(job: FinetuneJob):
    """First Ctrl-C: stop after the current step and save the best weights; second: abort. → previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupted(signum, frame):
        if job.stop_requested:
            raise KeyboardInterrupt
        job.stop()
        print("\nstopping after this step (the best weights so far will be saved); Ctrl-C again to abort",
              file=sys.stderr, flush=True)

    return signal.signal(signal.SIGINT, interrupted)


class _CliProgress:
    """A tqdm bar over all training steps, with epoch and losses in its postfix and messages above it."""

    def __init__(self):
        self.bar, self.message = None, ""

    def update(self, status: JobStatus) -> None:
        from tqdm import tqdm

        if status.message != self.message:
            self.message = status.message
            if self.bar is not None:
                self.bar.write(status.message, file=sys.stderr)  # above the bar; stdout is for the result path
            else:
                print(status.message, file=sys.stderr, flush=True)
        if not status.steps_per_epoch or status.state not in ("running", "stopping"):
            return
        if self.bar is None:
            self.bar = tqdm(total=status.epochs * status.steps_per_epoch, desc="fine-tuning", unit="step",
                            file=sys.stderr, disable=None)
        last = status.history[-1] if status.history else {}
        self.bar.set_postfix_str(f"epoch {max(status.epoch, 1)}/{status.epochs}"
                                 + (f" loss {last['loss']:.4f} val_loss {last.get('val_loss', float('nan')):.4f}" if last else ""),
                                 refresh=False)
        done = max(0, (status.epoch - 1) * status.steps_per_epoch + status.step)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# --------------------------------------------------------------------------- benchmark hook

def time_epoch(base: str | Path, photos: list[np.ndarray], cached: bool, *, batch_size: int = 16,
               crops_per_photo: int = CROPS_PER_PHOTO, crop: int | None = None, seed: int = 0) -> float:
    """Seconds for one training epoch on ``photos``' crops (uint8 RGB arrays) at the base's working size.

    ``cached=True``: the decoder head trains on encoder features computed beforehand (what fine-tuning
    does; the one-off feature computation is not counted). ``cached=False``: the full model trains with
    the encoder frozen, so every step runs the encoder forward again. Compilation and tracing are excluded
    (a one-batch warm-up fit first); the crop count is rounded down to whole batches.
    """
    b = load_base(base)
    size = _crop_size(FinetuneConfig(base=base, crop=crop), b)
    crops = data.random_crops(list(photos), crops_per_photo, size, seed=seed)
    n = max(batch_size, len(crops) - len(crops) % batch_size)
    if len(crops) < n:
        raise FinetuneError(f"need at least {batch_size} crops to time an epoch, got {len(crops)}")
    batch = data.crop_batch(crops[:n])
    x, y = b.arch.training_pairs(batch)
    prior = quantize.empirical_prior(batch["ab_norm"] * 110.0) if b.arch.OUTPUT_KIND == "ab313" else None
    if cached:
        inputs, trainable = _single(b.arch.encoder_features(b.model, x)), trainable_head(b.model, b.arch)
    else:
        b.model.get_layer("encoder").trainable = False
        inputs, trainable = x, b.model
    loss, metrics, loss_weights = b.arch.loss_and_metrics(prior)
    trainable.compile(optimizer=keras.optimizers.Adam(3e-4), loss=loss, metrics=metrics, loss_weights=loss_weights)
    trainable.fit(_take(inputs, batch_size), _take(y, batch_size), epochs=1, batch_size=batch_size, verbose=0)
    start = time.perf_counter()
    trainable.fit(inputs, y, epochs=1, batch_size=batch_size, verbose=0, shuffle=True)
    return time.perf_counter() - start
