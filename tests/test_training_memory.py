"""What one training (``colorizer.loop.fit``: every fine-tune and training run) leaves in the process.

A public server never restarts: before session 30 each fine-tune left ~250 MB behind for good (its traced
training graph, pinned by TensorFlow's gradient registry, and its cached features, pinned through the
global graph by the generator Keras reads the batches with), so the second fine-tune on a server went
over the 2.5 GB budget and each further one added more. These tests fail on that code.
"""
from __future__ import annotations

import gc
import threading
import weakref

import keras
import numpy as np
import pytest

from colorizer import loop


def _tiny_model() -> keras.Model:
    inputs = keras.Input((8, 8, 2))
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    return keras.Model(inputs, keras.layers.Conv2D(2, 1)(x))


def _data(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(12, 8, 8, 2)).astype(np.float32)
    return x, (0.5 * x).astype(np.float32)


def _fit(model, x, y, val) -> loop.KeepBestWeights:
    return loop.fit(model, x, y, val, epochs=2, batch_size=4, lr=1e-2, loss="mse", verbose=0, seed=0,
                    stop=threading.Event())


def _live_train_steps() -> int:
    """Traced train / test steps still alive (Keras names each one's graph ``one_step_on_data``)."""
    from tensorflow.python.framework.func_graph import FuncGraph

    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, FuncGraph) and o.name == "one_step_on_data")


@pytest.mark.slow
def test_fit_leaves_no_traced_graph_behind_once_its_model_is_gone():
    from tensorflow.python.framework import ops

    before_graphs = _live_train_steps()
    registry_before = set(ops._gradient_registry._registry)
    for seed in (0, 1):
        model = _tiny_model()
        x, y = _data(seed)
        keep_best = _fit(model, x, y, _data(seed + 10))
        assert keep_best.best_epoch is not None and np.isfinite(keep_best.best)  # it did train
        del model, keep_best
    added = [name for name in ops._gradient_registry._registry if name not in registry_before]
    assert not [name for name in added if name.startswith("CustomGradient-")], added
    assert _live_train_steps() <= before_graphs  # an earlier test's graph may go meanwhile


@pytest.mark.slow
def test_fit_lets_go_of_its_arrays_when_it_returns():
    from tensorflow.python.framework import ops

    def py_funcs() -> int:  # what the global graph holds alive: the batches' generators, until session 30
        return len(getattr(ops.get_default_graph(), "_py_funcs_used_in_graph", []))

    held_before = py_funcs()
    model = _tiny_model()
    x, y = _data(2)
    val_x, val_y = _data(3)
    watched = [weakref.ref(a) for a in (x, y, val_x, val_y)]
    _fit(model, x, y, (val_x, val_y))
    assert py_funcs() == held_before  # TensorFlow's layout as known: a rename would bring the leak back
    del x, y, val_x, val_y, model
    gc.collect()
    assert [ref() is None for ref in watched] == [True] * 4


def test_a_released_batch_source_is_empty_and_the_training_result_stands():
    model = _tiny_model()
    x, y = _data(4)
    loss_before = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    _fit(model, x, y, _data(5))
    loss_after = float(np.mean((model.predict(x, verbose=0) - y) ** 2))
    assert loss_after < loss_before  # the weights trained stay in the model after the arrays went
    batches = loop.ArrayBatches(x, y, 4)
    assert len(batches) == 3 and batches[0][0].shape == (4, 8, 8, 2)
    batches.release()
    assert batches.x is None and batches.y is None and len(batches) == 0 and len(batches.order) == 0
