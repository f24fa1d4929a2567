"""``unet313``: a U-Net over Zhang et al. (2016)'s 313 quantized ab bins, with a regression head.

Contract: L_norm H×W×1 in [-1, 1] (H, W multiples of 8) → two outputs at H/2×W/2:
``probs`` (a softmax over the 313 in-gamut bins, see ``colorizer.quantize``) and ``ab_reg``
(ab_norm in [-1, 1], tanh): the sources' multi-task "RegSoft" variant.
Training: class-rebalanced cross-entropy against soft-encoded targets (5 nearest bins, σ = 5; weights
from the training set's smoothed empirical prior, λ = 0.5) plus MSE on the regression head.
Inference: the annealed mean of ``probs`` at temperature T (0.38 by default; lower is more vivid),
or the regression head.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers

from colorizer import quantize
from colorizer.color import unnormalize_ab
from colorizer.models.contract import features_in_batches
from colorizer.models.losses import soft_targets, two_head_decoder, two_head_losses
from colorizer.plain_words import PLAIN_WORDS

NAME = "unet313"
# The size the shipped checkpoint was trained at (``train --size 64``, its card's ``working_size``): at
# 64 px a 2-core CPU trains it in under an hour; the network itself takes any multiple of 8.
WORKING_SIZE = 64
INPUT_KIND = "L"
OUTPUT_KIND = "ab313"
OUTPUT_STRIDE = 2
HEADS = ("annealed", "regression")  # the decodings ``predict_ab`` knows; "annealed" is the default
DESCRIPTION = "U-Net over 313 quantized ab bins, class rebalancing, annealed mean (+ regression head)."
# The same in a sentence a class can follow (the app's model picker shows it; DESCRIPTION is for the card).
IN_PLAIN_WORDS = PLAIN_WORDS[NAME]  # in colorizer.plain_words: the app shows it before TensorFlow loads


def _block(x, filters, name):
    for i in (1, 2):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv{i}")(x)
        x = layers.BatchNormalization(name=f"{name}_bn{i}")(x)
        x = layers.ReLU(name=f"{name}_relu{i}")(x)
    return x


def build_encoder() -> keras.Model:
    l_norm = keras.Input((None, None, 1), name="L")
    c1 = _block(l_norm, 32, "enc1")                                            # H
    c2 = _block(layers.MaxPooling2D(name="pool1")(c1), 64, "enc2")             # H/2
    c3 = _block(layers.MaxPooling2D(name="pool2")(c2), 128, "enc3")            # H/4
    c4 = _block(layers.MaxPooling2D(name="pool3")(c3), 256, "enc4")            # H/8
    return keras.Model(l_norm, [c2, c3, c4], name="encoder")


def build_decoder() -> keras.Model:
    c2 = keras.Input((None, None, 64), name="skip_half")
    c3 = keras.Input((None, None, 128), name="skip_quarter")
    c4 = keras.Input((None, None, 256), name="bottleneck")
    x = layers.UpSampling2D(name="up1")(c4)
    x = _block(layers.Concatenate(name="skip1")([x, c3]), 128, "dec1")       # H/4
    x = layers.UpSampling2D(name="up2")(x)
    x = _block(layers.Concatenate(name="skip2")([x, c2]), 128, "dec2")       # H/2
    probs = layers.Conv2D(quantize.N_BINS, 1, activation="softmax", name="probs")(x)
    ab_reg = layers.Conv2D(2, 1, activation="tanh", name="ab_reg")(x)
    return keras.Model([c2, c3, c4], [probs, ab_reg], name="decoder")


def build(size: int = WORKING_SIZE) -> keras.Model:
    """Full U-Net with named ``encoder`` and ``decoder`` submodels; outputs [probs, ab_reg]."""
    encoder, decoder = build_encoder(), build_decoder()
    l_norm = keras.Input((None, None, 1), name="L")
    probs, ab_reg = decoder(encoder(l_norm))
    # Name the outputs so losses can be given per head.
    probs = layers.Identity(name="probs")(probs)
    ab_reg = layers.Identity(name="ab_reg")(ab_reg)
    return keras.Model(l_norm, {"probs": probs, "ab_reg": ab_reg}, name=NAME)


def _half(x: np.ndarray) -> np.ndarray:
    """N×H×W×C → N×H/2×W/2×C by 2×2 averaging (the output resolution, 1/OUTPUT_STRIDE)."""
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def training_pairs(batch: dict) -> tuple[np.ndarray, dict]:
    ab_half = _half(batch["ab_norm"])
    return batch["L_norm"], {"probs": soft_targets(ab_half), "ab_reg": ab_half}


def loss_and_metrics(prior=None) -> tuple:
    """Class-rebalanced cross-entropy on the bins, MSE on the regression (``losses.two_head_losses``)."""
    return two_head_losses(prior)


def inference_network(model: keras.Model) -> keras.Model:
    return model


def predict_ab(forward, batch_input: np.ndarray, temperature: float = quantize.DEFAULT_TEMPERATURE,
               head: str = "annealed") -> np.ndarray:
    """L_norm N×S×S×1 → ab N×S/2×S/2×2 (raw units), by annealed mean (default) or the regression head."""
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; known: {', '.join(HEADS)}")
    outputs = forward(batch_input)
    if head == "regression":
        return unnormalize_ab(np.asarray(outputs["ab_reg"]))
    return quantize.annealed_mean(np.asarray(outputs["probs"]), temperature)


def encoder_features(model: keras.Model, x, batch_size: int = 8) -> list[np.ndarray]:
    """The U-Net encoder's skips and bottleneck, float32 (its decoder was trained on them so), batch by batch."""
    return features_in_batches(model.get_layer("encoder"), x, batch_size, np.float32)


def decoder_head(model: keras.Model) -> keras.Model:
    """Decoder with the same named outputs as the full model, so the same losses apply."""
    return two_head_decoder(model)
