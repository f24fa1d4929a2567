"""The training pieces of a fine-tune, run through the one training loop (``colorizer.loop``).

- ``split_photos`` holds a share of the photos out; ``prepare`` cuts crops at several scales with
  flips (``colorizer.data``), makes the architecture's training pairs and fetches the frozen encoder's
  features once for the train and held-out crops (``colorizer.features``). For a 313-bin model the
  class-rebalancing prior comes from the fine-tuning crops (training's recipe, on the new photos).
- ``train_decoder`` trains ``trainable_head`` (the architecture's decoder head) on those features with
  ``loop.fit``: training's schedule, batching (with the architecture's ``augment_batch``: a hint-taking
  model gets freshly simulated hints per batch, as in training), best-weights rule and Stop, a ``Progress`` callback
  (steps, ETA, losses) and a per-epoch ``Previewer`` of the held-out photo. On a GPU with tensor cores
  the head trains in mixed precision (``mixed_precision_copy``); elsewhere in float32. Under a
  ``tf.distribute`` strategy with several replicas (``colorizer.distribute``: several GPUs) a copy of the
  head made under its scope trains (``training_copy``) and its weights go back to the base's decoder.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable

import keras
import numpy as np

from colorizer import data, loop
from colorizer.distribute import describe, training_strategy
from colorizer.features import FeatureCache, weights_digest
from colorizer.finetune.base import Base, crop_size, load_base
from colorizer.finetune.config import FinetuneConfig, FinetuneError
from colorizer.finetune.photos import Photo, shrink_photo
from colorizer.hardware import device_description
from colorizer.train import target_prior

__all__ = ["FEATURE_CACHE", "Prepared", "split_photos", "prepare", "trainable_head", "gpu_helps_mixed_precision",
           "mixed_precision_copy", "training_copy", "Progress", "Previewer", "train_decoder"]

PREVIEW_SIDE = 512
VAL_RANDOM_CROPS = 2
# In memory only: the app's uploaded photos are not written to disk as features. One set, held while jobs wait
# (the queue clears it when none does): the next job reuses it when its crops are the same (the same photos,
# crop size and seed, e.g. the gallery's photos again); any other set replaces it (``colorizer.features``).
FEATURE_CACHE = FeatureCache(max_entries=1)


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


def _concat(a, b):
    if isinstance(a, dict):
        return {k: np.concatenate([a[k], b[k]]) for k in a}
    if isinstance(a, (list, tuple)):
        return [np.concatenate([u, v]) for u, v in zip(a, b)]
    return np.concatenate([a, b])


def prepare(config: FinetuneConfig, photos: list[Photo], base: Base, cache: FeatureCache,
            log: Callable[[str], None] = lambda m: None, proceed: Callable[[str], None] = lambda stage: None,
            progress: Callable[[int, int], None] | None = None) -> Prepared:
    """Split, crop, and compute (or fetch) the frozen encoder's features for train + validation crops
    in one encoder pass. ``proceed(stage)`` is called before the features: it raises to stop there;
    ``progress(crops done, crops)`` during them (``FeatureCache.features``)."""
    if not photos:
        raise FinetuneError("no usable color photos to fine-tune on")
    crop = crop_size(config, base)
    train_photos, val_photos, held_out = split_photos(photos, config.val_share, config.seed)
    train_crops = data.random_crops(_rgbs(train_photos), config.crops_per_photo, crop, seed=config.seed)
    val_crops = data.validation_crops(_rgbs(val_photos), crop, VAL_RANDOM_CROPS, config.seed + 1)
    arch = base.arch
    train_batch = data.crop_batch(train_crops)
    x, y = arch.training_pairs(train_batch)
    val_x, val_y = arch.training_pairs(data.crop_batch(val_crops))
    prior = target_prior(arch, y, train_batch)
    del train_batch  # its float planes (~130 MB for 128 crops of 192 px) need not sit beside the encoder's pass
    proceed("before the encoder's features were computed")
    started = time.perf_counter()
    features = cache.features(arch, base.model, _concat(x, val_x), np.concatenate([train_crops, val_crops]), log,
                              progress)
    n = len(train_crops)
    return Prepared(base, crop, train_photos, val_photos, held_out, n, len(val_crops),
                    [f[:n] for f in features], y, [f[n:] for f in features], val_y, prior, time.perf_counter() - started)


def _single(arrays):
    """Keras takes one array (not a one-element list) for a one-input model."""
    return arrays[0] if isinstance(arrays, list) and len(arrays) == 1 else arrays


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
    """A copy of ``head`` computing in float16 (float32 variables and outputs), same weights → (copy, inner).

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


def training_copy(head, mixed: bool, strategy):
    """What ``loop.fit`` trains for ``head`` → (trained, inner), ``inner`` holding ``head``'s weights in its
    layout: (head, head) in float32 under the default strategy (one device, no copy); else a copy made
    under ``strategy.scope()`` (its variables mirrored on every replica), in float16 when ``mixed``
    (``mixed_precision_copy``), starting from ``head``'s weights."""
    if not mixed and describe(strategy)["strategy"] == "default":
        return head, head
    with strategy.scope():
        if mixed:
            return mixed_precision_copy(head)
        copy = keras.models.clone_model(head, clone_function=lambda layer: layer.__class__.from_config(layer.get_config()),
                                        recursive=True)
        copy.set_weights(head.get_weights())
        return copy, copy


class Progress(keras.callbacks.Callback):
    """Reports steps, epochs, ETA and each epoch's losses and preview through ``report(**status fields)``.

    The first step of a run traces TensorFlow's training function (about 12 s on a 2-core CPU, against 0.3 s for
    the next ones) and the first epoch's end traces the validation's: an ETA drawn from them said "24 min left" for
    a job that ended in 50 s (session 35's audit). The pace is read from the first epoch's later steps, then from
    the epochs after the first; until the second step there is no estimate (None: the page says the first steps take longest)."""

    def __init__(self, report: Callable[..., None], epochs: int, steps: int, preview: Callable[[], np.ndarray | None]):
        super().__init__()
        self.report, self.epochs, self.steps, self.preview = report, epochs, steps, preview
        self.epoch_times: list[float] = []
        self.epoch_index, self.epoch_start, self.steps_done = 0, time.perf_counter(), 0
        self.first_step_end: float | None = None  # the first epoch's first step, traced: the pace counts from it
        self.step_pace: float | None = None       # seconds a step, over the first epoch's later steps
        self.preview_s = 0.0                      # the last epoch's preview, in seconds
        self.rows: list[dict] = []

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_index, self.epoch_start, self.steps_done = epoch, time.perf_counter(), 0
        self.report(epoch=epoch + 1, step=0)

    def on_train_batch_end(self, batch, logs=None):
        self.steps_done = batch + 1
        if not self.epoch_times and not self.epoch_index:
            now = time.perf_counter()
            if self.steps_done == 1:
                self.first_step_end = now
            elif self.first_step_end is not None:
                self.step_pace = (now - self.first_step_end) / (self.steps_done - 1)
        self.report(step=self.steps_done, eta_s=self._eta())

    @property
    def per_epoch_s(self) -> float | None:
        """Seconds an epoch takes once TensorFlow has traced its functions, its preview included: the mean of the
        whole epochs after the first; else the first epoch's pace after its first step, plus the last preview; else
        the first epoch's time; None before any."""
        if len(self.epoch_times) > 1:
            return float(np.mean(self.epoch_times[1:]))
        if self.step_pace is not None:
            return self.step_pace * self.steps + self.preview_s
        return self.epoch_times[0] if self.epoch_times else None

    def _eta(self) -> float | None:
        per_epoch = self.per_epoch_s
        if per_epoch is None:
            return None
        remaining_epochs = self.epochs - self.epoch_index - 1
        if self.epoch_index == 0 and self.step_pace is not None and len(self.rows) == 0:  # within the first epoch
            this_epoch = self.step_pace * (self.steps - self.steps_done)
        else:
            this_epoch = max(per_epoch - (time.perf_counter() - self.epoch_start), 0.0)
        return this_epoch + per_epoch * remaining_epochs

    def on_epoch_end(self, epoch, logs=None):
        self.rows.append({"epoch": epoch, **{k: float(v) for k, v in (logs or {}).items()}})
        started = time.perf_counter()
        preview = self.preview()
        # An epoch's time counts its preview, and the pace from steps adds the last one: at small crops the preview
        # and the validation are most of an epoch, and the ETA said 8 s for 23 (session 38's class audit).
        self.preview_s = time.perf_counter() - started
        if self.steps_done == self.steps:  # a stopped, partial epoch would skew the ETA
            self.epoch_times.append(time.perf_counter() - self.epoch_start)
        self.report(history=tuple(self.rows), preview=preview, preview_epoch=epoch + 1, eta_s=self._eta())

    @property
    def stopped_early(self) -> bool:
        """Fewer epochs than asked, or a last epoch cut short: a Stop ended training."""
        return len(self.rows) < self.epochs or self.steps_done < self.steps


class Previewer:
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


def train_decoder(prepared: Prepared, config: FinetuneConfig, report: Callable[..., None], stop, preview: Previewer) -> dict:
    """Train the base's decoder head on the prepared features (``stop``: an event, see ``loop.fit``)
    → {"progress", "keep_best", "mixed", "device", "distribution" (``distribute.describe``), "fit_time_s"};
    the base model holds the best weights. ``config.batch_size`` is the global batch (see ``loop.fit``)."""
    base = prepared.base
    model, arch = base.model, base.arch
    # A digest, not a copy: a copy of the frozen encoder's weights (~75 MB for the flagship) was held through training.
    encoder_before = weights_digest(model.get_layer("encoder")).digest()
    head = trainable_head(model, arch)
    mixed, device = gpu_helps_mixed_precision(), device_description()
    strategy = training_strategy()
    trained, inner = training_copy(head, mixed, strategy)
    preview.sync = (lambda: head.set_weights(inner.get_weights())) if trained is not head else (lambda: None)
    steps = math.ceil(prepared.n_train_crops / config.batch_size)
    where = f"training on {device}" + (" with mixed precision" if mixed else "" if device.startswith("GPU") else " (no GPU found)")
    report(device=device, mixed_precision=mixed, steps_per_epoch=steps, message=where)
    loss, metrics, loss_weights = arch.loss_and_metrics(prepared.prior)
    progress = Progress(report, config.epochs, steps, preview)
    started = time.perf_counter()
    keep_best = loop.fit(trained, _single(prepared.features), prepared.y, (_single(prepared.val_features), prepared.val_y),
                         epochs=config.epochs, batch_size=config.batch_size, lr=config.lr, loss=loss, metrics=metrics,
                         loss_weights=loss_weights, callbacks=[progress], verbose=0, seed=config.seed,
                         augment=arch.augment_batch, loss_scaling=mixed, stop=stop)
    preview.sync()
    if weights_digest(model.get_layer("encoder")).digest() != encoder_before:
        raise RuntimeError("the encoder's weights changed during fine-tuning (it must stay frozen)")
    return {"progress": progress, "keep_best": keep_best, "mixed": mixed, "device": device,
            "distribution": describe(strategy), "fit_time_s": time.perf_counter() - started}

