"""The one training loop, for training from scratch (``colorizer.train``) and fine-tuning
(``colorizer.finetune``): the same schedule, batching, best-weights rule and way to stop.

- ``fit(trainable, x, y, (val_x, val_y), ...)`` compiles ``trainable`` with Adam (wrapped for loss
  scaling under mixed precision), feeds it batch by batch (``ArrayBatches``), lowers the learning rate
  by √0.1 after 5 epochs without a better val_loss (down to 5e-7), and ends with the weights of the
  best epoch (``KeepBestWeights``) → that callback (``best``, ``best_epoch``).
- Several devices: ``fit`` compiles (optimizer included) and trains under the ``tf.distribute`` strategy
  ``trainable`` was built under (``colorizer.distribute.training_strategy``; the callers build under its
  ``scope()``). ``batch_size`` is the global batch, split across the replicas; nothing is rescaled.
- Memory: what ``fit`` traced is freed with the model. TensorFlow keeps the gradient function of every
  ``CustomGradient`` its tracing registers in a process-wide registry, for good; Keras's optimizer registers one per
  traced train step (an ``all_reduce`` of the gradients, under every strategy, the default one included), and that
  function holds the whole traced graph: about 250 MB more after each fine-tune on a server that never restarts
  (tensorflow/tensorflow#97697; tf-keras#898 purges them in ``clear_session``). ``fit`` drops the entries its
  tracing added once it returns, when nothing will differentiate those graphs again. TensorFlow also keeps, in
  its process-wide default graph, the generator through which Keras reads each ``ArrayBatches``
  (``tf.data.Dataset.from_generator``'s ``numpy_function``, attached to the outermost graph): ``fit`` cuts that
  graph's list back to what it held before, and empties both ``ArrayBatches`` too, so that the cached features go
  even where TensorFlow's layout is not the one known. Both clean-ups take away what any training running at the
  same time would need, so one ``fit`` runs at a time in a process (``_ONE_AT_A_TIME``; the app's fine-tunes
  queue anyway, ``colorizer.finetune.job_queue``).
- Stopping: ``stop`` is an event; once it is set, training ends after the current step (or, when set
  during validation or a callback, before the next epoch) with the best weights so far. Without one,
  ``fit`` makes its own and SIGINT/SIGTERM set it (``stop_on_signals``), as for a ``docker stop``.
"""
from __future__ import annotations

import gc
import math
import signal
import sys
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Callable

import keras
import numpy as np

from colorizer.process import keep_large_buffers

__all__ = ["LR_FACTOR", "KeepBestWeights", "SaveEachEpoch", "ArrayBatches", "StopWhenSet", "stop_on_signals", "compile_for_training", "fit"]

LR_FACTOR = math.sqrt(0.1)
LR_PATIENCE = 5
MIN_LR = 5e-7
# One ``fit`` at a time in a process: each drops, when it ends, what TensorFlow kept of the tracing done meanwhile
# (see the module docstring), which a second training running beside it would still need.
_ONE_AT_A_TIME = threading.Lock()


class KeepBestWeights(keras.callbacks.Callback):
    """Remember the weights of the epoch with the best val_loss and restore them when training ends
    (or is stopped): "checkpoint on best val_loss" without writing half-trained files."""

    def __init__(self, monitor: str = "val_loss"):
        super().__init__()
        self.monitor, self.best, self.best_weights, self.best_epoch = monitor, np.inf, None, None
        self.stopped = False  # set by ``fit``: a Stop or a signal ended it (its last epoch may be partial)

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is not None and value < self.best:
            self.best, self.best_epoch = float(value), epoch + 1
            self.best_weights = self.model.get_weights()

    def on_train_end(self, logs=None):
        if self.best_weights is not None:
            self.model.set_weights(self.best_weights)


class SaveEachEpoch(keras.callbacks.Callback):
    """Write the trained weights after every epoch to ``folder/epoch_NN.weights.h5`` (NN from 01), for
    averaging the weights of several epochs afterwards (``scripts/average_snapshots.py``)."""

    def __init__(self, folder):
        super().__init__()
        self.folder = Path(folder)

    @staticmethod
    def path(folder, epoch: int) -> Path:
        return Path(folder) / f"epoch_{epoch:02d}.weights.h5"

    def on_train_begin(self, logs=None):
        self.folder.mkdir(parents=True, exist_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        self.model.save_weights(self.path(self.folder, epoch + 1))


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

    def release(self) -> None:
        """Let go of the arrays (and ``augment``) once training is over: no batch is left to read after this."""
        self.x = self.y = self.augment = None
        self.n, self.order = 0, np.arange(0)


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
    return np.asarray(arrays[rows], np.float32)


class StopWhenSet(keras.callbacks.Callback):
    """Ends training after the current step once ``event`` is set; set during validation or another
    callback's epoch end (a preview), it ends training before the next epoch. Goes last in the list."""

    def __init__(self, event):
        super().__init__()
        self.event = event

    def on_train_batch_end(self, batch, logs=None):
        if self.event.is_set():
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.on_train_batch_end(0)


@contextmanager
def stop_on_signals(request: Callable[[], None], requested: Callable[[], bool], what: str = "training"):
    """While the block runs: the first SIGINT (Ctrl-C) or SIGTERM (``docker stop``, a Space restart)
    calls ``request()``; another one once ``requested()`` aborts (KeyboardInterrupt). Main thread only
    (Python delivers signals there); elsewhere nothing is installed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        if requested():
            raise KeyboardInterrupt
        request()
        print(f"\n{signal.Signals(signum).name}: stopping {what} after this step (the best weights so far "
              "will be saved); signal again to abort", file=sys.stderr, flush=True)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def compile_for_training(trainable, *, lr: float, loss, metrics=None, loss_weights=None, loss_scaling: bool = False):
    """Compile with Adam at ``lr``; ``loss_scaling`` for a float16 model (mixed precision on a GPU)."""
    optimizer = keras.optimizers.Adam(lr)
    if loss_scaling:
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    trainable.compile(optimizer=optimizer, loss=loss, metrics=metrics, loss_weights=loss_weights)


def fit(trainable, x, y, val, *, epochs: int, batch_size: int, lr: float, loss, metrics=None, loss_weights=None,
        history_path=None, callbacks=(), verbose: int | None = None, seed: int = 0, augment=None, loss_scaling: bool = False,
        stop: threading.Event | None = None) -> KeepBestWeights:
    """Compile and fit ``trainable`` with the project's schedule → the KeepBestWeights callback.

    ``val``: (x, y) of the validation set; ``history_path``: a CSVLogger file (epoch, loss, val_loss,
    learning_rate, metrics); ``callbacks`` run after the schedule's (they see ``learning_rate`` in the
    logs); ``verbose``: Keras's (None: a progress bar on a terminal, one line an epoch otherwise: the bar
    rewrites itself ~200 bytes a step into a log file of a run started with nohup); ``augment``: see ``ArrayBatches`` (an architecture's ``augment_batch``); ``stop``: see the
    module docstring (None: SIGINT/SIGTERM stop this call). ``batch_size``: the global batch; under a
    strategy with several replicas (the one ``trainable`` was built under) each replica takes its share
    of every batch and the gradients are averaged, so one step equals one device's step on that batch."""
    keras.utils.set_random_seed(seed)
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    # The optimizer's slots must live where the model's variables do: made under the model's strategy
    # (the default one, i.e. no change, for a model built outside any scope).
    with trainable.distribute_strategy.scope():
        compile_for_training(trainable, lr=lr, loss=loss, metrics=metrics, loss_weights=loss_weights, loss_scaling=loss_scaling)
    keep_best = KeepBestWeights()
    own_stop = stop is None
    stop = threading.Event() if own_stop else stop
    schedule = [keras.callbacks.ReduceLROnPlateau(factor=LR_FACTOR, patience=LR_PATIENCE, min_lr=MIN_LR), keep_best]
    if history_path is not None:
        schedule.insert(1, keras.callbacks.CSVLogger(str(history_path)))
    batches = ArrayBatches(x, y, batch_size, seed=seed, augment=augment)
    val_batches = ArrayBatches(*val, batch_size, shuffle=False, seed=seed, augment=augment)
    try:
        with _ONE_AT_A_TIME, stop_on_signals(stop.set, stop.is_set) if own_stop else nullcontext(), \
                _forgetting_what_tracing_keeps():
            trainable.fit(batches, validation_data=val_batches, epochs=epochs, verbose=verbose,
                          callbacks=[*schedule, *callbacks, StopWhenSet(stop)])
    finally:  # TensorFlow may hold them still (see the module docstring): their arrays go in any case
        batches.release()
        val_batches.release()
    keep_large_buffers()  # fit's tf.data lowered malloc's trim threshold: undo it (see its docstring)
    keep_best.stopped = stop.is_set()  # a Stop or a signal came: the last epoch may have been cut short
    return keep_best


def _what_tracing_keeps() -> tuple[dict, list]:
    """TensorFlow's process-wide keepers of what tracing made, as they are now: its registry of gradient functions
    (op type → entry) and the list of Python functions its global default graph holds alive (made at the first
    one); empty where their layout is not the one known (then nothing is dropped there: a leak, not a failure)."""
    try:
        from tensorflow.python.framework import ops

        registry = ops._gradient_registry._registry
        py_funcs = getattr(ops.get_default_graph(), "_py_funcs_used_in_graph", [])
    except (ImportError, AttributeError):
        return {}, []
    return (registry if isinstance(registry, dict) else {}), (py_funcs if isinstance(py_funcs, list) else [])


@contextmanager
def _forgetting_what_tracing_keeps():
    """Drop what TensorFlow kept for good while the block ran (see the module docstring): the
    ``CustomGradient-<n>`` entries, each pinning a traced training graph, and the Python functions attached
    to the global graph (the batches' generators). Fine-tunes run one at a time, so no other training is
    tracing meanwhile; an inference graph traced then is never differentiated, and reads no generator."""
    registry, py_funcs = _what_tracing_keeps()
    gradients_before, n_py_funcs = set(registry), len(py_funcs)
    try:
        yield
    finally:
        # An epoch cut short by Stop leaves its iterator for the garbage collector, and the iterator's finalizer
        # calls the generator's Python function: it has to go while that function is still there.
        gc.collect()
        registry, py_funcs = _what_tracing_keeps()
        for name in [name for name in list(registry) if name not in gradients_before and name.startswith("CustomGradient-")]:
            registry.pop(name, None)
        del py_funcs[n_py_funcs:]
