"""The model card (``card.json``) of a checkpoint, built in one place for training (``colorizer.train``)
and fine-tuning (``colorizer.finetune``).

``model_card(name, arch, model, working_size=…, data=…, training=…, command=…)`` → the card: what the
checkpoint is (name, architecture, description, color space, or the contract of a model made
elsewhere, working size, parameters), what it learned from (``data``), how (``training``, the
``command`` that replays it), when and with which versions, and, for a 313-bin model trained with
class rebalancing, the rebalancing's constants. Each caller adds its own keys (``fields``).
"""
from __future__ import annotations

import platform
from datetime import datetime, timezone

import numpy as np

from colorizer import quantize
from colorizer.models.contract import color_space, contract_of, default_temperature

__all__ = ["model_card", "parameter_counts", "versions"]


def model_card(name: str, arch, model, *, working_size: int, data: dict, training: dict, command: str,
               description: str | None = None, known: bool = True, rebalancing: dict | None = None,
               **fields) -> dict:
    """The card of checkpoint ``name``: ``model`` of architecture ``arch`` (``known``: one of the project's,
    else a model made elsewhere, carded by its contract and total parameters). ``description``: the
    architecture's by default. ``rebalancing``: None for a model without class rebalancing, else what
    to say of its prior (``{}``: nothing), beside the rebalancing constants. ``fields``: more keys."""
    card = {
        "name": name,
        "architecture": arch.NAME,
        "description": description or arch.DESCRIPTION,
        **({"color_space": color_space(arch)} if known else {"contract": contract_of(arch)}),
        "working_size": int(working_size),
        "parameters": parameter_counts(model, arch) if known else {"total": int(model.count_params())},
        "data": data,
        "training": training,
        "command": command,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        **fields,
    }
    if rebalancing is not None:
        card["rebalancing"] = {**rebalancing, "lambda": quantize.REBALANCE_LAMBDA,
                               "prior_smoothing_sigma": quantize.PRIOR_SMOOTHING_SIGMA,
                               "default_temperature": default_temperature(arch)}
    return card


def parameter_counts(model, arch) -> dict[str, int]:
    """Weights of the model, trainable, in its encoder and decoder, and stored in the checkpoint (a
    frozen encoder is rebuilt at load time, not stored)."""
    def count(weights):
        return int(sum(np.prod(w.shape) for w in weights))

    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    stored = count(model.weights) - (count(encoder.weights) if arch.FROZEN_ENCODER else 0)
    return {
        "total": count(model.weights),
        "trainable": count(model.trainable_weights),
        "encoder": count(encoder.weights),
        "decoder": count(decoder.weights),
        "stored_in_checkpoint": stored,
    }


def versions() -> dict:
    """Versions of what trained a checkpoint, for its card."""
    import keras
    import tensorflow as tf

    return {"python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__, "numpy": np.__version__}
