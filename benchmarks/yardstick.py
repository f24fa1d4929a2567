"""The speed yardstick of ``benchmarks``: an ECCV16-shaped network ("the reference" in its reports).

Zhang, Isola & Efros (ECCV 2016), as released in richzhang/colorization (``colorizers/eccv16.py``),
rebuilt layer for layer in Keras with random weights: a network's speed does not depend on its weight
values, so this costs what the released one costs when it runs the same way in the same process.

Contract (``L_ab``): L_norm 1×256×256×1 in [-1, 1] → ab_norm 1×64×64×2. Layers: conv1–conv4
(64, 128, 256, 512 channels, the stride-2 convs halving 256 → 32, each block ending in
BatchNorm), conv5–conv6 dilated (rate 2) at 512, conv7 at 512, conv8 a 4×4 stride-2 transposed
convolution to 64×64 then two 3×3 convs at 256, a 1×1 conv to the 313 ab-bin logits, softmax, and a
bias-free 1×1 conv from the 313 probabilities to ab (the released model's annealed-mean-free head).
About 32.2 M parameters (32.24 M trainable, as PyTorch counts them; Keras adds BatchNorm's moving
statistics). The demo's recipe, which ``yardstick_colorizer`` follows through ``Colorizer``: resize L to
256×256, predict ab at 64×64, upsample them to the photo's size and join them to its own L.
"""
from __future__ import annotations

import keras
from keras import layers

__all__ = ["NAME", "WORKING_SIZE", "PUBLISHED_PARAMETERS", "build", "yardstick_colorizer"]

NAME = "eccv16_reference"
WORKING_SIZE = 256
PUBLISHED_PARAMETERS = 32.2e6
N_BINS = 313


def _conv(x, filters, name, strides=1, dilation=1):
    # PyTorch's padding=1 (or 2 with dilation 2) keeps the size, or halves it with stride 2: "same".
    return layers.Conv2D(filters, 3, strides=strides, dilation_rate=dilation, padding="same",
                         activation="relu", name=name)(x)


def _block(x, filters, n_convs, name, last_stride=1, dilation=1, norm=True):
    """n 3×3 convs (the last one with ``last_stride``), then BatchNorm, like eccv16.py's model1..model7."""
    for i in range(1, n_convs + 1):
        x = _conv(x, filters, f"{name}_{i}", strides=last_stride if i == n_convs else 1, dilation=dilation)
    return layers.BatchNormalization(name=f"{name}_norm")(x) if norm else x


def build(size: int = WORKING_SIZE) -> keras.Model:
    """L_norm 1×S×S×1 → ab_norm 1×S/4×S/4×2 (S a multiple of 8; 256 in the demo)."""
    l_norm = keras.Input((size, size, 1), name="L")
    x = _block(l_norm, 64, 2, "conv1", last_stride=2)           # S/2
    x = _block(x, 128, 2, "conv2", last_stride=2)               # S/4
    x = _block(x, 256, 3, "conv3", last_stride=2)               # S/8
    x = _block(x, 512, 3, "conv4")
    x = _block(x, 512, 3, "conv5", dilation=2)
    x = _block(x, 512, 3, "conv6", dilation=2)
    x = _block(x, 512, 3, "conv7")
    x = layers.Conv2DTranspose(256, 4, strides=2, padding="same", activation="relu", name="conv8_1")(x)  # S/4
    x = _conv(x, 256, "conv8_2")
    x = _conv(x, 256, "conv8_3")
    logits = layers.Conv2D(N_BINS, 1, name="conv8_313")(x)
    probs = layers.Softmax(name="softmax")(logits)
    ab_norm = layers.Conv2D(2, 1, use_bias=False, name="model_out")(probs)
    return keras.Model(l_norm, ab_norm, name=NAME)


def yardstick_colorizer(size: int = WORKING_SIZE):
    """A ``Colorizer`` around the random-weight yardstick: the same code path as every shipped model."""
    from colorizer.inference import Colorizer

    model = build(size)
    card = {"name": NAME, "architecture": NAME, "working_size": size,
            "parameters": {"total": model.count_params()}, "random_weights": True}
    return Colorizer(name=NAME, model=model, contract="L_ab", working_size=size, card=card, source="benchmarks.yardstick")
