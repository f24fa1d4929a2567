"""The encoder-feature cache, one for training and fine-tuning: a frozen encoder runs once per crop set.

``FeatureCache.features(arch, model, x, crops)`` → the list of arrays ``arch.decoder_head`` consumes
(``arch.encoder_features(model, x)``), computed only when neither memory nor disk has them. Training
with a frozen encoder and fine-tuning (where every encoder is frozen) then train the decoder head on
them, so an epoch costs decoder time only.

- Key: sha256 of the feature family (``contract.feature_family``: the flagship and its hint-taking
  twin share one encoder, so they share features), of the encoder's weights (a fine-tuned unet313 has
  an encoder of its own; a fine-tuned flagship shares the flagship's VGG16), of the precision the encoder runs in
  here (float32 sets apart from bfloat16's) and of the crops' pixels.
- Memory: the ``max_entries`` most recently used sets. Room is made *before* a new set is computed or read:
  the sets over ``max_entries - 1`` go first, so that at most ``max_entries`` sets are ever held (a new set
  computed beside a full cache would peak one set above it: on the public server, hundreds of MB when
  visitors' fine-tunes on different photos follow one another in the queue).
- Disk (``disk_dir``; training uses ``default_disk_dir()``): one folder of ``.npy`` files per key,
  read back memory-mapped (gigabytes of float16 VGG16 features are paged in batch by batch, never
  loaded whole). A set is written to a held hidden temporary and renamed into place, so a killed
  writer leaves only a temporary that the next write sweeps (``colorizer.staging``).
- Disk budget (``disk_budget`` bytes, by default ``default_disk_budget()``): before a new set is written,
  the least recently used sets go until it fits; a set read back counts as used. A series of training
  runs (8.7 GB a set for the flagship's 5,520 crops) then cannot fill the disk.
- ``computations`` counts how many times an encoder actually ran (tests assert it).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from colorizer import checkpoints, staging
from colorizer.models.contract import BATCH_PROGRESS, feature_family
from colorizer.settings import number_from_env

__all__ = ["FeatureCache", "default_disk_dir", "default_disk_budget"]

# The on-disk sets together stay under this many GB unless ``COLORIZER_FEATURE_CACHE_GB`` says otherwise:
# three or so of the flagship's training sets, a long afternoon of experiments.
DEFAULT_DISK_BUDGET_GB = 32


def default_disk_dir() -> Path:
    """``features/`` beside the user checkpoint folder (``~/.cache/colorizer/features`` by default)."""
    return checkpoints.user_checkpoint_dir().parent / "features"


def default_disk_budget() -> int:
    """Bytes the on-disk sets may take together: ``COLORIZER_FEATURE_CACHE_GB`` (default 32) GB."""
    gigabytes = number_from_env("COLORIZER_FEATURE_CACHE_GB", DEFAULT_DISK_BUDGET_GB, kind=float, zero_ok=True)
    return int(gigabytes * 2**30)


def weights_digest(layer, digest=None):
    """``digest`` (a new sha256 by default) updated with ``layer``'s weights, one variable at a time: its
    ``get_weights()`` would copy them all at once (the flagship's frozen encoder: ~75 MB, on a server beside a
    fine-tune)."""
    digest = hashlib.sha256() if digest is None else digest
    for variable in layer.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(variable)))
    return digest


class FeatureCache:
    """Frozen-encoder features per (feature family, encoder weights, crops); see the module docstring."""

    def __init__(self, max_entries: int = 2, disk_dir: str | Path | None = None, disk_budget: int | None = None):
        self.max_entries, self.disk_dir = max_entries, Path(disk_dir) if disk_dir else None
        self.disk_budget = default_disk_budget() if disk_budget is None else int(disk_budget)
        self.computations = 0
        self._entries: OrderedDict[str, list[np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(arch, model, crops: np.ndarray) -> str:
        """sha256 of the feature family, the encoder's outputs (two encoders with the same weights can tap
        different blocks), the precision it runs in here, its weights and the crops (uint8 N×S×S×3)."""
        from colorizer.hardware import bfloat16_is_fast

        encoder = model.get_layer("encoder")
        outputs = [tuple(output.shape[1:]) for output in encoder.outputs]
        # bfloat16 features differ from float32 ones by up to 1 % of their scale: a COLORIZER_BFLOAT16=0 run reused
        # the other's from disk (session 38's code review). The bfloat16 key is the one sets were written under before
        # (on the hosts with AMX that made them), so those are found again.
        precision = "" if bfloat16_is_fast() else "|float32"
        digest = weights_digest(encoder, hashlib.sha256(
            f"{feature_family(arch)}|{crops.shape}|{outputs}{precision}".encode()))
        digest.update(np.ascontiguousarray(crops))
        return digest.hexdigest()[:32]

    def features(self, arch, model, x, crops: np.ndarray, log: Callable[[str], None] = lambda m: None,
                 progress: Callable[[int, int], None] | None = None) -> list[np.ndarray]:
        """``arch``'s encoder features of input ``x`` (made from ``crops``), computed at most once; while they are,
        a line to ``log`` every ``PROGRESS_EVERY_S`` and ``progress(crops done, crops)`` after each batch."""
        key = self.key(arch, model, crops)
        with self._lock:  # one computation per key even when two jobs ask at once
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
            self._make_memory_room()
            arrays = self._read_disk(key)
            if arrays is None:
                log(f"{arch.NAME}: computing the frozen encoder's features once for {len(crops)} crops")
                token = BATCH_PROGRESS.set(_progress_lines(arch.NAME, log, progress))
                try:
                    arrays = [np.asarray(a) for a in arch.encoder_features(model, x)]
                finally:
                    BATCH_PROGRESS.reset(token)
                self.computations += 1
                arrays = self._write_disk(key, arrays)
            else:
                log(f"{arch.NAME}: reusing cached encoder features for {len(crops)} crops")
            if self.max_entries > 0:
                self._entries[key] = arrays
            return arrays

    def _make_memory_room(self) -> None:
        """Forget the least recently used sets until a new one fits within ``max_entries`` (under ``_lock``)."""
        while self._entries and len(self._entries) >= self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def _read_disk(self, key: str) -> list[np.ndarray] | None:
        folder = self.disk_dir / key if self.disk_dir else None
        if folder is None or not folder.is_dir():
            return None
        try:
            files = sorted(folder.glob("*.npy"), key=lambda p: int(p.stem))
            arrays = [np.load(p, mmap_mode="r", allow_pickle=False) for p in files] or None
        except (OSError, ValueError):
            return None
        try:
            os.utime(folder)  # used now: the budget sweeps the least recently used sets first
        except OSError:
            pass
        return arrays

    def _write_disk(self, key: str, arrays: list[np.ndarray]) -> list[np.ndarray]:
        """Store ``arrays`` under ``key`` → them memory-mapped from disk (or as they are, without a disk)."""
        if self.disk_dir is None:
            return arrays
        self.disk_dir.mkdir(parents=True, exist_ok=True)
        staging.sweep(self.disk_dir, ".")
        self._make_room(sum(int(a.nbytes) for a in arrays))
        tmp = Path(tempfile.mkdtemp(dir=self.disk_dir, prefix=f".{key}-"))
        try:
            with staging.hold(tmp):
                for i, a in enumerate(arrays):
                    np.save(tmp / f"{i}.npy", a, allow_pickle=False)
                os.replace(tmp, self.disk_dir / key)
        except OSError:  # a cache that cannot be written is only slower, never wrong
            shutil.rmtree(tmp, ignore_errors=True)
            return arrays
        return self._read_disk(key) or arrays

    def _make_room(self, needed: int) -> None:
        """Delete the least recently used sets until ``needed`` more bytes fit in ``disk_budget``."""
        sets = []
        for folder in self.disk_dir.iterdir():
            if folder.is_dir() and not folder.name.startswith("."):  # hidden: a writer's held temporary
                try:
                    size = sum(f.stat().st_size for f in folder.iterdir())
                    sets.append((folder.stat().st_mtime_ns, size, folder))
                except OSError:
                    continue
        total = sum(size for _, size, _ in sets)
        for _, size, folder in sorted(sets, key=lambda item: item[0]):
            if total + needed <= self.disk_budget:
                break
            shutil.rmtree(folder, ignore_errors=True)
            total -= size


# How often the feature pass says how far it is: often enough that a page shows it moving, seldom enough that the
# command line's stderr is not a scroll of lines.
PROGRESS_EVERY_S = 3.0


def _progress_lines(name: str, log: Callable[[str], None],
                    progress: Callable[[int, int], None] | None = None) -> Callable[[int, int], None]:
    """``report(done, total)`` for ``contract.BATCH_PROGRESS``: ``progress(done, total)`` each time (a page's bar),
    and a line at most every ``PROGRESS_EVERY_S`` with the crops done and the time left at the pace so far (none at
    the last batch: the next line is training's)."""
    started, said = time.monotonic(), [time.monotonic()]

    def report(done: int, total: int) -> None:
        if progress is not None:
            progress(done, total)
        now = time.monotonic()
        if done >= total or now - said[0] < PROGRESS_EVERY_S:
            return
        said[0] = now
        left = (now - started) / done * (total - done)
        log(f"{name}: computing the frozen encoder's features once: {done} of {total} crops, about {left:.0f} s left")

    return report
