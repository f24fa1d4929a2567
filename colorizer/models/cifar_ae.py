"""``cifar_ae``: the CIFAR-10 report's vanilla convolutional autoencoder, as the report codes it.

Contract: gray 32×32×1 in [0, 1] → RGB 32×32×3 in [0, 1] (sigmoid). The app keeps only the a, b of
that RGB and joins them to the input's full-resolution L. MSE loss, Adam, ReduceLROnPlateau
(factor √0.1, patience 5, min_lr 5e-7). No dropout or batch norm: the report found both desaturate.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers

from colorizer.plain_words import PLAIN_WORDS

NAME = "cifar_ae"
WORKING_SIZE = 32
INPUT_KIND = "gray01"
OUTPUT_KIND = "rgb"
FIXED_SIZE = True  # Dense layers: the input size is fixed at build time
LATENT_DIM = 256
DESCRIPTION = "Vanilla conv autoencoder (CIFAR-10 report): gray 32×32 → RGB, MSE."
# The same in a sentence a class can follow (the app's model picker shows it; DESCRIPTION is for the card).
IN_PLAIN_WORDS = PLAIN_WORDS[NAME]  # in colorizer.plain_words: the app shows it before TensorFlow loads


def build_encoder(size: int = WORKING_SIZE) -> keras.Model:
    gray = keras.Input((size, size, 1), name="gray")
    x = gray
    for filters in (64, 128, 256):
        x = layers.Conv2D(filters, 3, strides=2, activation="relu", padding="same")(x)
    latent = layers.Dense(LATENT_DIM, name="latent")(layers.Flatten()(x))
    return keras.Model(gray, latent, name="encoder")


def build_decoder(size: int = WORKING_SIZE) -> keras.Model:
    cells = size // 8
    latent = keras.Input((LATENT_DIM,), name="latent")
    x = layers.Dense(cells * cells * 256)(latent)
    x = layers.Reshape((cells, cells, 256))(x)
    for filters in (256, 128, 64):
        x = layers.Conv2DTranspose(filters, 3, strides=2, activation="relu", padding="same")(x)
    rgb = layers.Conv2DTranspose(3, 3, activation="sigmoid", padding="same", name="rgb")(x)
    return keras.Model(latent, rgb, name="decoder")


def build(size: int = WORKING_SIZE) -> keras.Model:
    """Full autoencoder with named ``encoder`` and ``decoder`` submodels."""
    encoder, decoder = build_encoder(size), build_decoder(size)
    gray = keras.Input((size, size, 1), name="gray")
    return keras.Model(gray, decoder(encoder(gray)), name=NAME)


def training_pairs(batch: dict) -> tuple[np.ndarray, np.ndarray]:
    """Crops (see ``data.crop_batch``) → (gray01, rgb01)."""
    return batch["gray01"], batch["rgb01"]


def loss_and_metrics(prior=None) -> tuple:
    return "mse", ["mae"], None


def inference_network(model: keras.Model) -> keras.Model:
    return model


def predict_ab(forward, batch_input: np.ndarray) -> np.ndarray:
    """gray01 N×32×32×1 → ab N×32×32×2 (raw units) of the predicted RGB; ``forward`` runs the network."""
    from colorizer.color import ab_of_rgb

    rgb = np.asarray(forward(batch_input))
    return np.stack([ab_of_rgb(img) for img in rgb])


def encoder_features(model: keras.Model, x, batch_size: int = 64) -> list[np.ndarray]:
    """What the decoder consumes, computed once by the frozen encoder."""
    return [model.get_layer("encoder").predict(x, batch_size=batch_size, verbose=0)]


def decoder_head(model: keras.Model) -> keras.Model:
    """The trainable part when the encoder is frozen: features → outputs."""
    return model.get_layer("decoder")
