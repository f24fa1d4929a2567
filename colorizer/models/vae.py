"""``vae``: a conditional variational autoencoder, so that one gray photo gets several plausible colorizations.

Contract: encoder (L_norm H×W×1, ab_norm H×W×2) → (μ, log σ²), each ``LATENT_DIM``; decoder
(L_norm H×W×1, z) → ab_norm H×W×2 in [-1, 1] (tanh). H, W are fixed at build time (multiples of 8).
Training: z = μ + σ·ε (the reparameterization trick); loss = MSE(ab) + β·KL(q(z | L, ab) ‖ N(0, I)).
Inference: z ~ N(0, I) from a seeded generator, one decoder pass per sample; z = 0 gives the
"typical" colorization.
"""
from __future__ import annotations

import keras
import numpy as np
from keras import layers

from colorizer.color import unnormalize_ab
from colorizer.models.layers import KLDivergence, Sampling
from colorizer.plain_words import PLAIN_WORDS

NAME = "vae"
WORKING_SIZE = 64
INPUT_KIND = "L"
OUTPUT_KIND = "ab"
FIXED_SIZE = True  # Dense layers: the input size is fixed at build time
STOCHASTIC = True  # one colorization per latent sample
LATENT_DIM = 16
BETA = 2e-3
DESCRIPTION = "Conditional VAE: L + z → ab; several samples per photo (reparameterization, β·KL)."
# The same in a sentence a class can follow (the app's model picker shows it; DESCRIPTION is for the card).
IN_PLAIN_WORDS = PLAIN_WORDS[NAME]  # in colorizer.plain_words: the app shows it before TensorFlow loads


def _conv(x, filters, strides, name):
    return layers.Conv2D(filters, 3, strides=strides, padding="same", activation="relu", name=name)(x)


def build_encoder(size: int = WORKING_SIZE) -> keras.Model:
    l_norm = keras.Input((size, size, 1), name="L")
    ab = keras.Input((size, size, 2), name="ab")
    x = layers.Concatenate(name="L_ab")([l_norm, ab])
    for i, filters in enumerate((32, 64, 128, 128)):
        x = _conv(x, filters, 2, f"enc_conv{i + 1}")
    x = layers.Dense(128, activation="relu", name="enc_dense")(layers.Flatten()(x))
    mean = layers.Dense(LATENT_DIM, name="z_mean")(x)
    log_var = layers.Dense(LATENT_DIM, name="z_log_var")(x)
    return keras.Model([l_norm, ab], [mean, log_var], name="encoder")


def build_decoder(size: int = WORKING_SIZE) -> keras.Model:
    l_norm = keras.Input((size, size, 1), name="L")
    z = keras.Input((LATENT_DIM,), name="z")
    c1 = _conv(l_norm, 32, 1, "gray_conv1")         # H
    c2 = _conv(c1, 64, 2, "gray_conv2")             # H/2
    c3 = _conv(c2, 128, 2, "gray_conv3")            # H/4
    c4 = _conv(c3, 256, 2, "gray_conv4")            # H/8
    cells = size // 8
    z_map = layers.Reshape((cells, cells, 32), name="z_map")(layers.Dense(cells * cells * 32, name="z_dense")(z))
    x = _conv(layers.Concatenate(name="inject_z")([c4, z_map]), 256, 1, "dec_conv1")
    for i, (skip, filters) in enumerate(((c3, 128), (c2, 64), (c1, 32))):
        x = layers.UpSampling2D(name=f"up{i + 1}")(x)
        x = _conv(layers.Concatenate(name=f"skip{i + 1}")([x, skip]), filters, 1, f"dec_conv{i + 2}")
    ab = layers.Conv2D(2, 3, padding="same", activation="tanh", name="ab")(x)
    return keras.Model([l_norm, z], ab, name="decoder")


def build(size: int = WORKING_SIZE, beta: float = BETA, seed: int | None = None) -> keras.Model:
    """Training graph (L, ab) → ab with named ``encoder`` and ``decoder`` submodels."""
    encoder, decoder = build_encoder(size), build_decoder(size)
    l_norm = keras.Input((size, size, 1), name="L")
    ab = keras.Input((size, size, 2), name="ab")
    mean, log_var = KLDivergence(beta, name="kl")(encoder([l_norm, ab]))
    z = Sampling(seed, name="sampling")([mean, log_var])
    return keras.Model([l_norm, ab], decoder([l_norm, z]), name=NAME)


def training_pairs(batch: dict) -> tuple[list, np.ndarray]:
    return [batch["L_norm"], batch["ab_norm"]], batch["ab_norm"]


def loss_and_metrics(prior=None) -> tuple:
    return "mse", ["mae"], None


def sample_z(n: int, seed: int | None) -> np.ndarray:
    """n latent codes from N(0, I); seed=None gives z = 0, the prior's mean."""
    if seed is None:
        return np.zeros((n, LATENT_DIM), np.float32)
    return np.random.default_rng(seed).standard_normal((n, LATENT_DIM)).astype(np.float32)


def inference_network(model: keras.Model) -> keras.Model:
    """At inference z comes from the prior, so only the decoder runs."""
    return model.get_layer("decoder")


def predict_ab(forward, batch_input: np.ndarray, seed: int | None = None) -> np.ndarray:
    """L_norm N×S×S×1 → ab N×S×S×2 (raw units), image i decoded with the i-th seeded z."""
    z = sample_z(len(batch_input), seed)
    return unnormalize_ab(np.asarray(forward([batch_input, z])))


def encoder_features(model: keras.Model, x, batch_size: int = 64) -> list[np.ndarray]:
    """[L, μ, log σ²]: the decoder needs the gray image as well as the frozen encoder's code."""
    l_norm, _ = x
    mean, log_var = model.get_layer("encoder").predict(x, batch_size=batch_size, verbose=0)
    return [l_norm, mean, log_var]


def decoder_head(model: keras.Model, beta: float = BETA) -> keras.Model:
    """(L, μ, log σ²) → sampled z → decoder → ab, with the KL term: the decoder-only training graph."""
    decoder = model.get_layer("decoder")
    size = decoder.inputs[0].shape[1]
    l_norm = keras.Input((size, size, 1), name="L")
    mean = keras.Input((LATENT_DIM,), name="z_mean")
    log_var = keras.Input((LATENT_DIM,), name="z_log_var")
    mean_kl, log_var_kl = KLDivergence(beta, name="kl")([mean, log_var])
    z = Sampling(name="sampling")([mean_kl, log_var_kl])
    return keras.Model([l_norm, mean, log_var], decoder([l_norm, z]), name="decoder_head")
