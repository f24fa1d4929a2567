"""``hypercolumn_hints``: the flagship taught to take user color hints (Zhang et al., SIGGRAPH 2017).

Contract: L_norm H×W×1 in [-1, 1] (H, W multiples of 16) and ``hints`` H/4×W/4×3 (a_norm·mask,
b_norm·mask, mask; see ``colorizer.hints``) → ``probs`` (313 ab bins) and ``ab_reg`` at H/4×W/4, as
the flagship's. All-zero hints is the automatic mode: one network serves both.

Why this way:
- The hints join **after** the frozen VGG16 (at H/4, H/8 and H/16 in the decoder, see
  ``hypercolumn.build_decoder``), so the same cached encoder features train it: the hints change
  every batch, the features never do. The paper feeds them beside L at the input instead; that would
  put the 15 M-parameter encoder back into every training step.
- A ``HintAttention`` layer (``colorizer.models.layers``) lets every cell read the hinted cells by
  learned feature similarity and distance, so a hint on the sky can recolor the rest of the sky, not
  only its own patch; the hint grid also reaches the heads directly, at the chroma grid's resolution.
- Warm-started from the flagship's decoder (``train --init-from``; the new weights start at zero) and
  trained with only the hint layers and the heads free (``--train-layers``): training every layer let
  the decoder drift before it learned to read the hints (docs/results.md, "Hints").
- Training hints are simulated as in the paper (``hints.simulate_grid_hints``): a geometric number of
  points (often none), patches of 1–9 px, each with the truth's mean color there, drawn afresh for
  every batch; validation hints are drawn once, with a fixed seed.
- Decoding, upsampling and bfloat16 inference are the flagship's. Its network also returns the
  encoder's blocks (``inference_network``): the hints' spreading compares cells by them, without a
  second pass through the VGG16.
"""
from __future__ import annotations

import keras
import numpy as np

from colorizer import hints as hint_tools
from colorizer.color import unnormalize_l
from colorizer.models import hypercolumn, hypercolumn_decoding
from colorizer.models.hypercolumn import OUTPUT_STRIDE, SIZE_MULTIPLE, UPSAMPLING, encoder_features  # noqa: F401 (re-exported contract)
from colorizer.models.hypercolumn_decoding import HEADS, decode  # noqa: F401 (the flagship's decodings; HEADS re-exported contract)
from colorizer.models.hypercolumn import decoder_head  # noqa: F401 (the flagship's decoder, with a hint input)
from colorizer.models.hypercolumn import two_head_pairs as training_pairs  # noqa: F401 (its regression is plain MSE)
from colorizer.models.losses import two_head_losses as loss_and_metrics  # noqa: F401 (the two heads', plain MSE)
from colorizer.plain_words import PLAIN_WORDS

NAME = "hypercolumn_hints"
# Whether it reads the flagship's ImageNet encoder (EfficientNet-Lite0) beside VGG16, as the flagship does
# (``hypercolumn.SEMANTIC_ENCODER``). Off: the shipped H3 was trained on VGG16 alone, from run R2. Run H4
# (on: H3's recipe warm-started from S1, 32 epochs) painted better automatic colors (+0.2 dB) but read
# its hints less well (network alone −0.5 dB) and tied H3 with spreading: docs/results.md, "Hints".
SEMANTIC = False
# Trained and run at 176 px (run H3); the flagship runs at 144 beside the ImageNet encoder.
WORKING_SIZE = 176
INPUT_KIND = "L"
OUTPUT_KIND = "ab313"
FROZEN_ENCODER = True
TAKES_HINTS = True
# The flagship's feature family: the cache key also hashes the encoder's weights, so the two share cached
# crops when their encoders match (the hint network's has the VGG16 only).
FEATURES_OF = hypercolumn.NAME
# How hints reach beyond their own cells at inference (see ``predict_ab``): "replace" (each hint's color
# spreads to the cells that look like its own), or None (the network alone, the evaluation's comparison).
# The ablation (spreading each hint's correction instead) is scripts/tune_guidance.py's; docs/results.md.
SPREADS = (None, "replace")
SPREAD = "replace"
# Its own decoding, the one its hint results were measured with: the blend with the regression's own color
# (no gain, its own hue). Hints add color where they apply; a bolder unsure color then overshoots
# (docs/results.md, "Hints: a decoder that reads them", run H3: network alone at 10 hints +1.2 dB here, +0.7 with
# the flagship's decoding).
# No colorfulness cap and no lightness ceiling: hints say how colorful the photo is.
DECODE = {"temperature": 0.38, "confidence_radius": 20.0, "confidence_low": 0.2, "confidence_high": 0.6,
          "regression_gain": 1.0, "hue_of_annealed": False, "colorfulness_cap": 0.0, "hue_agreement": 0.0,
          "shadows_below": 0.0, "highlights_above": 100.0, "ceiling_spares_sure": True}
# Not today's flagship: run R2's decoder (VGG16 alone, before EfficientNet-Lite0 joined it) taught hints; its automatic
# colors are the weaker (held out +0.96 dB over gray, 42.7 % right hue; the flagship +1.72, 54.1 %: session 38's text
# audit found the sidebar calling it "the flagship").
DESCRIPTION = ("An earlier flagship (run R2, VGG16 alone) taught user color hints (SIGGRAPH 2017): click a point, give "
               "it a color, and it spreads to the parts of the photo that look like that point; without hints its "
               "automatic colors are weaker than today's flagship's.")
# The same in a sentence a class can follow (the app's model picker shows it; DESCRIPTION is for the card).
IN_PLAIN_WORDS = PLAIN_WORDS[NAME]  # in colorizer.plain_words: the app shows it before TensorFlow loads


def build(size: int = WORKING_SIZE) -> keras.Model:
    """Inputs L (any multiple of 16) and hints (size/4 square); outputs {probs, ab_reg}."""
    return hypercolumn.build(size, with_hints=True, name=NAME, semantic=SEMANTIC)


def augment_batch(x, y: dict, rng: np.random.Generator):
    """One training batch → the same batch with freshly simulated hints appended to its inputs."""
    grid = hint_tools.simulate_grid_hints(np.asarray(y["ab_reg"], np.float32), rng, OUTPUT_STRIDE)
    return (*(x if isinstance(x, (list, tuple)) else (x,)), grid), y


# The encoder's blocks, also outputs of the network colorization runs: the hints' spreading compares
# cells by them (``predict_ab``), so the VGG16 runs once per colorization instead of twice.
BLOCKS = ("block3", "block4", "block5")


def inference_network(model: keras.Model) -> keras.Model:
    """The flagship's (its encoder in bfloat16 where that is fast), with the encoder's blocks 3–5 as
    outputs beside {probs, ab_reg}."""
    base = hypercolumn.inference_network(model)
    l_norm = keras.Input((None, None, 1), name="L")
    hints = keras.Input(model.inputs[1].shape[1:], name="hints")
    blocks = base.get_layer("encoder")(l_norm)
    outputs = base.get_layer("decoder")([*blocks, hints])
    return hypercolumn._named_outputs(l_norm, [hints], outputs, base.name, **dict(zip(BLOCKS, blocks)))


def certainty(probs: np.ndarray, temperature: float | None = None, **options) -> np.ndarray:
    """As the flagship's ``certainty``, with this model's own ``DECODE`` (merged by the flagship's rule, as
    ``predict_ab``'s options are)."""
    return hypercolumn_decoding.certainty(probs, **hypercolumn_decoding.decode_options_of(options, temperature, defaults=DECODE))


def hint_grid_shape(working_size: int) -> tuple[int, int]:
    return working_size // OUTPUT_STRIDE, working_size // OUTPUT_STRIDE


def predict_outputs(forward, batch_input: np.ndarray, hint_grid: np.ndarray | None = None) -> dict:
    """L_norm N×S×S×1 (+ hint grids N×S/4×S/4×3, none = automatic) → {probs, ab_reg, and the encoder's
    blocks when the network has them (``inference_network``)} as numpy."""
    n, size = batch_input.shape[0], batch_input.shape[1]
    if hint_grid is None:
        hint_grid = np.zeros((n, *hint_grid_shape(size), 3), np.float32)
    hint_grid = np.broadcast_to(hint_grid, (n, *hint_grid.shape[-3:]))
    outputs = forward([batch_input, hint_grid])
    return {key: np.asarray(value) for key, value in outputs.items()}


def predict_ab(forward, batch_input: np.ndarray, hint_grid: np.ndarray | None = None, spread: str | None = SPREAD,
               temperature: float | None = None, head: str = "blend", **decode_options) -> np.ndarray:
    """As the flagship's ``predict_ab`` (with this model's ``DECODE``), with the hint grid as the second
    input; then, unless ``spread`` is None, each hint's color spreads to the cells that look like its
    own (``hints.propagate_hints``)."""
    if spread not in SPREADS:
        raise ValueError(f"unknown spread {spread!r}; known: {', '.join(map(str, SPREADS))}")
    # The flagship's merge with this model's DECODE: a misspelt option is refused as there, before the network runs.
    options = hypercolumn_decoding.decode_options_of(decode_options, temperature, defaults=DECODE)
    outputs = predict_outputs(forward, batch_input, hint_grid)
    ab = decode(outputs["probs"], outputs["ab_reg"], head=head, **options)
    if hint_grid is None or spread is None or not np.any(hint_grid[..., 2]):
        return ab
    grids = np.broadcast_to(hint_grid, (len(ab), *hint_grid.shape[-3:]))
    return np.stack([hint_tools.propagate_hints(ab[i], grids[i], _cell_descriptors(outputs, batch_input, i),
                                                replace=spread == "replace") for i in range(len(ab))])


def _cell_descriptors(outputs: dict, batch_input: np.ndarray, i: int) -> np.ndarray:
    """Image i's cell descriptors (``colorizer.exemplar``): from the blocks the network returned, else
    (a network built without them) from a second pass through the VGG16."""
    from colorizer import exemplar

    if all(name in outputs for name in BLOCKS):
        return exemplar.descriptors_of_blocks([outputs[name][i:i + 1] for name in BLOCKS])
    return exemplar.reference_matcher().descriptors(unnormalize_l(batch_input[i, ..., 0]))
