"""Training under a ``tf.distribute`` strategy (``colorizer.distribute``): which strategy is chosen, and
the one loop mirrored over two logical CPU devices giving what one device gives.

Two logical devices must be configured before TensorFlow initializes its devices, so the mirrored run
happens in a subprocess: this file run as a script (``main`` below) prints its measurements as JSON.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from colorizer.distribute import OVERRIDE, cluster_size, describe, strategy_kind, training_strategy

TWO_WORKERS = json.dumps({"cluster": {"worker": ["host1:12345", "host2:12345"]}, "task": {"type": "worker", "index": 0}})
ONE_WORKER = json.dumps({"cluster": {"worker": ["host1:12345"]}, "task": {"type": "worker", "index": 0}})
CHIEF_AND_WORKER = json.dumps({"cluster": {"chief": ["host0:1"], "worker": ["host1:1"]}, "task": {"type": "chief", "index": 0}})


@pytest.mark.parametrize("environ, gpus, kind", [
    ({}, 0, "default"),                            # today's CPU run: nothing changes
    ({}, 1, "default"),
    ({}, 2, "mirrored"),                           # every GPU of one machine
    ({"TF_CONFIG": TWO_WORKERS}, 0, "multi_worker"),
    ({"TF_CONFIG": TWO_WORKERS}, 4, "multi_worker"),
    ({"TF_CONFIG": CHIEF_AND_WORKER}, 1, "multi_worker"),
    ({"TF_CONFIG": ONE_WORKER}, 0, "default"),     # a cluster of one machine is one machine
    ({"TF_CONFIG": ONE_WORKER}, 2, "mirrored"),
    ({OVERRIDE: "mirrored"}, 0, "mirrored"),       # e.g. two logical CPU devices in a test
    ({OVERRIDE: "default", "TF_CONFIG": TWO_WORKERS}, 2, "default"),
    ({OVERRIDE: " Multi_Worker "}, 0, "multi_worker"),
])
def test_strategy_kind_follows_tf_config_gpus_and_the_override(environ, gpus, kind):
    assert strategy_kind(environ, gpus) == kind


def test_bad_settings_say_what_is_expected():
    with pytest.raises(ValueError, match="COLORIZER_DISTRIBUTE='tpu': expected one of default, mirrored, multi_worker"):
        strategy_kind({OVERRIDE: "tpu"}, 0)
    with pytest.raises(ValueError, match="TF_CONFIG is not a JSON object"):
        strategy_kind({"TF_CONFIG": "{not json"}, 0)
    assert cluster_size(None) == 0 and cluster_size(TWO_WORKERS) == 2 and cluster_size(CHIEF_AND_WORKER) == 2


def test_one_cpu_trains_under_the_default_strategy_as_before(monkeypatch):
    import tensorflow as tf

    monkeypatch.delenv(OVERRIDE, raising=False)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    if len(tf.config.list_physical_devices("GPU")) > 1:
        pytest.skip("several GPUs: mirrored is the right choice here")
    strategy = training_strategy()
    assert strategy is tf.distribute.get_strategy()
    assert describe(strategy) == {"strategy": "default", "replicas": 1}


@pytest.mark.slow
def test_mirrored_over_two_devices_equals_one_device(photo_dir, tmp_path):
    env = {**os.environ, OVERRIDE: "mirrored", "CUDA_VISIBLE_DEVICES": "", "TF_CPP_MIN_LOG_LEVEL": "2"}
    env.pop("TF_CONFIG", None)
    root = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join([root, *filter(None, [env.get("PYTHONPATH")])])
    done = subprocess.run([sys.executable, __file__, str(photo_dir), str(tmp_path)], env=env, capture_output=True,
                          text=True, timeout=600, cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    assert result["replicas"] == 2 and result["variable"].startswith("Mirrored")
    # One step of the whole model: the mean of the two replicas' gradients is the one-device gradient.
    assert result["moved"] > 1e-4                   # the step did change the weights
    assert result["one_step_difference"] < 1e-5
    # A few steps on one fixed batch: finite, falling, and the same losses as on one device.
    mirrored, single = np.array(result["losses"]), np.array(result["single_losses"])
    assert np.isfinite(mirrored).all() and mirrored[-1] < mirrored[0] and np.all(np.diff(mirrored) < 0)
    np.testing.assert_allclose(mirrored, single, rtol=1e-4)
    assert result["steps_difference"] < 3e-4  # Adam moves each weight by about lr (1e-3) a step
    # Fine-tuning's path: a mirrored copy of the decoder head trains, its weights go back to the head.
    assert result["head_copy_replicas"] == 2 and result["head_copy_starts_equal"]
    assert result["head_step_difference"] < 1e-5 and result["head_moved"] > 1e-4
    # Training's path: train_architecture built, compiled and fitted under the strategy, and says so.
    assert result["train_fit_replicas"] == [2]
    assert result["card_distribution"] == {"strategy": "MirroredStrategy", "replicas": 2}
    assert result["card_batch_size"] == 4


def main(photo_dir: str, out_dir: str) -> dict:
    """In a fresh process with ``COLORIZER_DISTRIBUTE=mirrored``: two logical CPU devices, then the loop
    mirrored over them against the loop on one device, from the same initial weights → measurements."""
    import threading

    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras

    from colorizer import loop, train
    from colorizer.finetune.training import trainable_head, training_copy
    from colorizer.models import architecture

    strategy = training_strategy()
    arch = architecture("cifar_ae")
    rng = np.random.default_rng(0)
    x, y = rng.random((4, 32, 32, 1), dtype=np.float32), rng.random((4, 32, 32, 3), dtype=np.float32)

    def fit(model, epochs, data=(x, y)):
        """``epochs`` steps (one batch of 4 each) → the loss of each, and the weights after the first step
        (recorded on the way, so that one compiled fit gives both the one-step and the few-step check)."""
        losses, first_step = [], []

        def record(epoch, logs):
            losses.append(float(logs["loss"]))
            if epoch == 0:
                first_step.extend(model.get_weights())

        loop.fit(model, *data, data, epochs=epochs, batch_size=4, lr=1e-3, loss="mse",
                 callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=record)], verbose=0, stop=threading.Event())
        return losses, first_step

    def difference(a, b):
        return max(float(np.max(np.abs(u - v))) for u, v in zip(a, b))

    keras.utils.set_random_seed(0)
    single = arch.build(32)
    initial = single.get_weights()
    with strategy.scope():
        mirrored = arch.build(32)
    result = {"replicas": mirrored.distribute_strategy.num_replicas_in_sync,
              "variable": type(mirrored.trainable_weights[0].value).__name__}

    mirrored.set_weights(initial)
    result["losses"], mirrored_one_step = fit(mirrored, 4)
    single.set_weights(initial)
    result["single_losses"], single_one_step = fit(single, 4)
    result["one_step_difference"] = difference(mirrored_one_step, single_one_step)
    result["moved"] = difference(mirrored_one_step, initial)
    result["steps_difference"] = difference(mirrored.get_weights(), single.get_weights())

    # Fine-tuning: the decoder head on encoder features, trained as train_decoder trains it.
    features = single.get_layer("encoder").predict(x, verbose=0)
    single.set_weights(initial)
    head = trainable_head(single, arch)
    head_initial = head.get_weights()
    trained, inner = training_copy(head, False, strategy)
    result["head_copy_replicas"] = trained.distribute_strategy.num_replicas_in_sync
    result["head_copy_starts_equal"] = difference(inner.get_weights(), head.get_weights()) == 0
    fit(trained, 1, (features, y))
    head.set_weights(inner.get_weights())
    after_mirrored = head.get_weights()
    head.set_weights(head_initial)
    fit(head, 1, (features, y))
    result["head_step_difference"] = difference(after_mirrored, head.get_weights())
    result["head_moved"] = difference(after_mirrored, head_initial)

    # Training from scratch: the strategy the fitted model was built under, and the card.
    replicas, real_fit = [], train.fit

    def recording_fit(trainable, *args, **kwargs):
        replicas.append(trainable.distribute_strategy.num_replicas_in_sync)
        return real_fit(trainable, *args, **kwargs)

    train.fit = recording_fit
    card = train.train_architecture("cifar_ae", photo_dir, out_dir, epochs=1, batch_size=4, crops_per_photo=1,
                                    eval_photos=1, log=lambda message: None, command="test")
    result.update(train_fit_replicas=replicas, card_distribution=card["training"]["distribution"],
                  card_batch_size=card["training"]["batch_size"])
    return result


if __name__ == "__main__":
    print(json.dumps(main(*sys.argv[1:3])))
