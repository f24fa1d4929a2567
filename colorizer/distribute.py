"""Which ``tf.distribute`` strategy training runs under: one device (today's default), every local GPU,
or several machines.

- ``strategy_kind(environ, gpu_count)`` → "multi_worker" when ``TF_CONFIG``'s ``cluster`` names more
  than one machine (its ``chief`` and ``worker`` tasks), else "mirrored" when more than one GPU is
  visible, else "default". ``COLORIZER_DISTRIBUTE`` (mirrored, multi_worker or default) overrides the
  choice, e.g. to mirror over two logical CPU devices in a test, or to keep one GPU of several.
- ``training_strategy()`` → the strategy of that kind, made once per process (a
  MultiWorkerMirroredStrategy may only be made once): ``MultiWorkerMirroredStrategy``,
  ``MirroredStrategy`` over the local GPUs (the logical CPU devices where there is no GPU), or
  ``tf.distribute.get_strategy()``, the default, under which nothing changes.
- ``describe(strategy)`` → {"strategy", "replicas"} for a model card.

The model, its optimizer and ``compile`` must be made under ``strategy.scope()`` (``colorizer.train``,
``colorizer.finetune.training``, ``colorizer.loop.fit``). Nothing is scaled: the batch size a command
gives is the global batch, split evenly across the replicas (per-replica batch = batch size ÷
replicas), and the gradients are averaged, so one step sees what one device would. Batch-norm
statistics are per replica.
"""
from __future__ import annotations

import json
import os
from typing import Mapping

__all__ = ["KINDS", "OVERRIDE", "cluster_size", "strategy_kind", "training_strategy", "describe"]

KINDS = ("default", "mirrored", "multi_worker")
OVERRIDE = "COLORIZER_DISTRIBUTE"
_made: dict = {}


def cluster_size(tf_config: str | None) -> int:
    """Machines the ``TF_CONFIG`` JSON names in its ``cluster`` (chief + workers); 0 when unset. ValueError
    on a value that is not such JSON."""
    if not tf_config:
        return 0
    try:
        cluster = json.loads(tf_config).get("cluster", {})
        return sum(len(cluster.get(role, ())) for role in ("chief", "worker"))
    except (ValueError, AttributeError, TypeError) as e:
        raise ValueError(f"TF_CONFIG is not a JSON object with a cluster of chief/worker address lists: {e}") from None


def strategy_kind(environ: Mapping[str, str], gpu_count: int) -> str:
    """"multi_worker", "mirrored" or "default" (see the module docstring) for these environment variables
    and this many visible GPUs. ValueError on an unknown ``COLORIZER_DISTRIBUTE``."""
    override = environ.get(OVERRIDE, "").strip().lower()
    if override:
        if override not in KINDS:
            raise ValueError(f"{OVERRIDE}={override!r}: expected one of {', '.join(KINDS)}")
        return override
    if cluster_size(environ.get("TF_CONFIG")) > 1:
        return "multi_worker"
    return "mirrored" if gpu_count > 1 else "default"


def training_strategy(environ: Mapping[str, str] | None = None):
    """The ``tf.distribute.Strategy`` to train under (``strategy_kind`` of ``environ``, default
    ``os.environ``, and the visible GPUs), made once per process and kind."""
    import tensorflow as tf

    kind = strategy_kind(os.environ if environ is None else environ, len(tf.config.list_physical_devices("GPU")))
    if kind == "default":
        return tf.distribute.get_strategy()
    if kind not in _made:
        # MirroredStrategy() takes every logical GPU, or every logical CPU device when there is none.
        _made[kind] = tf.distribute.MultiWorkerMirroredStrategy() if kind == "multi_worker" else tf.distribute.MirroredStrategy()
    return _made[kind]


def describe(strategy) -> dict:
    """{"strategy": its class name, "replicas": replicas in sync} (the default strategy: "default", 1)."""
    name = type(strategy).__name__
    return {"strategy": "default" if name.startswith("_Default") else name, "replicas": int(strategy.num_replicas_in_sync)}
