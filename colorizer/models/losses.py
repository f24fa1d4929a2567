"""The losses of the 313-bin models (``unet313``, ``hypercolumn``, ``hypercolumn_hints``): Zhang et al.'s
two heads ("RegSoft"), a class-rebalanced classification over the 313 in-gamut ab bins and an ab
regression, trained together.

- ``soft_targets(ab_norm)``: the classification target, each pixel's 5 nearest bins with Gaussian
  weights (σ = 5), packed as indices then weights;
- ``RebalancedSoftCrossEntropy(weights)``: cross-entropy against those targets, each pixel weighted by
  its nearest bin's rebalancing weight (``quantize.rebalancing_weights``: rare, vivid colors count more);
- ``RebalancedMSE(weights)`` and ``regression_weights(prior, power)``: the regression's squared ab
  error, weighted by the true color's bin (all ones: plain MSE);
- ``two_head_losses(prior)``: the classification loss beside a plain-MSE regression, at
  ``REGRESSION_WEIGHT`` (unet313 and the hint network); the flagship's own ``loss_and_metrics`` takes
  ``RebalancedMSE`` instead;
- ``two_head_decoder(model)``: the decoder with the same named outputs as the model, so the same
  losses train it alone on cached encoder features.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops

from colorizer import quantize
from colorizer.color import AB_NORM

__all__ = ["REGRESSION_WEIGHT", "soft_targets", "RebalancedSoftCrossEntropy", "RebalancedMSE", "regression_weights",
           "two_head_losses", "two_head_decoder"]

# The regression head's loss weight beside the classification's 1.
REGRESSION_WEIGHT = 10.0


def soft_targets(ab_norm: np.ndarray) -> np.ndarray:
    """ab_norm …×2 → float32 …×2k packed soft encoding (indices, then weights) for the loss."""
    indices, weights = quantize.soft_encode_sparse(ab_norm * AB_NORM)
    return np.concatenate([indices.astype(np.float32), weights], axis=-1)


@keras.saving.register_keras_serializable(package="colorizer")
class RebalancedSoftCrossEntropy(keras.losses.Loss):
    """Class-rebalanced cross-entropy against soft-encoded targets.

    y_true: …×2k, the k nearest bin indices (nearest first, as floats) then their k Gaussian weights
    (``soft_targets``); y_pred: …×313 probabilities. Each pixel is weighted by its nearest bin's
    rebalancing weight.
    """

    def __init__(self, weights=None, name="rebalanced_ce", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weights = [float(w) for w in (np.ones(quantize.N_BINS) if weights is None else weights)]

    def call(self, y_true, y_pred):
        k = quantize.NEIGHBOURS
        indices = ops.cast(y_true[..., :k], "int32")
        target = ops.cast(y_true[..., k:], "float32")
        log_p = ops.log(ops.clip(ops.cast(y_pred, "float32"), 1e-7, 1.0))
        picked = ops.take_along_axis(log_p, indices, axis=-1)
        pixel_weight = ops.take(ops.convert_to_tensor(self.weights, "float32"), indices[..., 0])
        return -ops.sum(target * picked, axis=-1) * pixel_weight

    def get_config(self):
        return {"weights": self.weights, "name": self.name}


@keras.saving.register_keras_serializable(package="colorizer")
class RebalancedMSE(keras.losses.Loss):
    """Squared ab error weighted by the true color's bin. y_true: …×3 (a_norm, b_norm, nearest bin index
    as a float); y_pred: …×2; ``weights``: one per bin (all ones: plain MSE). Plain MSE pulls every
    uncertain pixel to the mean color, brown; weighting rare, vivid colors up, as the classification
    loss does, makes the regression head bolder."""

    def __init__(self, weights=None, name="rebalanced_mse", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weights = [float(w) for w in (np.ones(quantize.N_BINS) if weights is None else weights)]

    def call(self, y_true, y_pred):
        y_true = ops.cast(y_true, "float32")
        error = ops.mean(ops.square(y_true[..., :2] - ops.cast(y_pred, "float32")), axis=-1)
        weight = ops.take(ops.convert_to_tensor(self.weights, "float32"), ops.cast(y_true[..., 2], "int32"))
        return error * weight

    def get_config(self):
        return {"weights": self.weights, "name": self.name}


def regression_weights(prior: np.ndarray, power: float) -> np.ndarray:
    """The rebalancing weights to ``power``, renormalized to a mean of 1 over the training colors
    (0: plain MSE; 1: the classification loss's weights)."""
    weights = quantize.rebalancing_weights(prior).astype(np.float64) ** power
    return (weights / np.sum(prior * weights)).astype(np.float32)


def two_head_losses(prior=None) -> tuple:
    """(losses, metrics, loss weights) for ``compile``: class-rebalanced cross-entropy on ``probs``
    (rebalanced by ``prior``, the training colors' bin frequencies; unweighted without one) and plain
    MSE on ``ab_reg``."""
    weights = quantize.rebalancing_weights(prior) if prior is not None else None
    losses = {"probs": RebalancedSoftCrossEntropy(weights), "ab_reg": "mse"}
    return losses, {"ab_reg": ["mae"]}, {"probs": 1.0, "ab_reg": REGRESSION_WEIGHT}


def two_head_decoder(model: keras.Model) -> keras.Model:
    """The model's ``decoder`` with the same named outputs as the model ({probs, ab_reg}), so the same
    losses apply when it trains alone."""
    decoder = model.get_layer("decoder")
    inputs = [keras.Input(t.shape[1:], name=t.name.split(":")[0] + "_in") for t in decoder.inputs]
    probs, ab_reg = decoder(inputs)
    outputs = {"probs": layers.Identity(name="probs")(probs), "ab_reg": layers.Identity(name="ab_reg")(ab_reg)}
    return keras.Model(inputs, outputs, name="decoder_head")
