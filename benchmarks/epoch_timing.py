"""How long one fine-tuning epoch takes, with and without the encoder-feature cache: a column of the
speed benchmark (``benchmarks.measure.finetune_epoch_times``), kept out of the library (issue 27). It
trains the way ``colorizer.finetune`` does, from the same parts."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from colorizer import data, loop
from colorizer.finetune.base import crop_size, load_base
from colorizer.finetune.config import CROPS_PER_PHOTO, FinetuneConfig, FinetuneError
from colorizer.finetune.training import _single, trainable_head
from colorizer.process import keep_large_buffers
from colorizer.train import target_prior

__all__ = ["time_epoch"]


def time_epoch(base: str | Path, photos: list[np.ndarray], cached: bool, *, batch_size: int = 16,
               crops_per_photo: int = CROPS_PER_PHOTO, crop: int | None = None, seed: int = 0) -> float:
    """Seconds for one training epoch on ``photos``' crops (uint8 RGB arrays) at the base's working size,
    batched as ``loop.fit`` batches.

    ``cached=True``: the decoder head trains on encoder features computed beforehand (what fine-tuning
    does; the one-off feature computation is not counted). ``cached=False``: the full model trains with
    the encoder frozen, so every step runs the encoder forward again. Compilation and tracing are excluded
    (a one-batch warm-up epoch first); the crop count is rounded down to whole batches.
    """
    b = load_base(base)
    size = crop_size(FinetuneConfig(base=base, crop=crop), b)
    crops = data.random_crops(list(photos), crops_per_photo, size, seed=seed)
    n = max(batch_size, len(crops) - len(crops) % batch_size)
    if len(crops) < n:
        raise FinetuneError(f"need at least {batch_size} crops to time an epoch, got {len(crops)}")
    batch = data.crop_batch(crops[:n])
    x, y = b.arch.training_pairs(batch)
    if cached:
        inputs, trainable = _single(b.arch.encoder_features(b.model, x)), trainable_head(b.model, b.arch)
    else:
        b.model.get_layer("encoder").trainable = False
        inputs, trainable = x, b.model
    loss, metrics, loss_weights = b.arch.loss_and_metrics(target_prior(b.arch, y, batch))
    loop.compile_for_training(trainable, lr=3e-4, loss=loss, metrics=metrics, loss_weights=loss_weights)
    def batches():
        return loop.ArrayBatches(inputs, y, batch_size, seed=seed, augment=b.arch.augment_batch)

    trainable.fit(batches(), epochs=1, steps_per_epoch=1, verbose=0)
    start = time.perf_counter()
    trainable.fit(batches(), epochs=1, verbose=0)
    seconds = time.perf_counter() - start
    keep_large_buffers()  # as loop.fit does after fitting
    return seconds
