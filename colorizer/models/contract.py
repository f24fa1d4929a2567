"""The architecture contract, written once: what every module in ``colorizer/models/`` declares.

An architecture is a module (``hypercolumn``, ``cifar_ae``, …) or, for a checkpoint made elsewhere, an
object (``colorizer.finetune.base.ForeignArchitecture``). ``Architecture`` below lists what it holds;
``declare(module)`` checks a module against it and gives every optional name the module leaves out
its default from ``Defaults``, so the rest of the code reads ``arch.TAKES_HINTS`` and never probes.

Required:
- ``NAME``, ``WORKING_SIZE`` (px), ``INPUT_KIND`` ("gray01" or "L"), ``OUTPUT_KIND`` ("rgb", "ab" or
  "ab313"), ``DESCRIPTION`` (one sentence for cards and the app);
- ``build(size)`` → a ``keras.Model`` holding named ``encoder`` and ``decoder`` submodels;
- ``training_pairs(batch)`` → (x, y) from a crop batch (see ``colorizer.data``);
- ``loss_and_metrics(prior)`` → (loss, metrics, loss_weights) for ``model.compile``;
- ``inference_network(model)`` → the network colorization runs;
- ``predict_ab(forward, batch_input, <options>)`` → raw ab at the network's output size; its keyword
  parameters are the decoding options it takes (``option_names``); a ``**options`` passed on to a
  decoder takes the keys of its ``DECODE`` and must refuse any other name;
- ``encoder_features(model, x)`` → the arrays the decoder consumes (list), computed by the encoder;
- ``decoder_head(model)`` → the trainable part that maps those arrays to the model's outputs.

Optional, with the defaults of ``Defaults``: see its comments.

``CONTRACTS`` maps an output kind to the contract a checkpoint of that kind has (the names
``colorizer.inference`` uses, and what a checkpoint made elsewhere is recognized by).
"""
from __future__ import annotations

import contextvars
import copy
import math
import numbers
from dataclasses import dataclass
from types import ModuleType
from typing import Callable, Protocol

import numpy as np

from colorizer import TEMPERATURE_RANGE
from colorizer.color import AB_NORM
from colorizer.quantize import DEFAULT_TEMPERATURE, N_BINS

__all__ = ["Architecture", "Defaults", "Contract", "CONTRACTS", "COMMON_OPTIONS", "contract_of", "contract_by_name",
           "declare", "feature_family", "default_temperature", "color_space", "option_names", "check_options", "check_option_values",
           "features_in_batches"]

# The options ``Colorizer.colorize`` takes whatever the model: each model uses those it names
# (``option_names``) and ignores the rest, so one command line or page can pass a seed or a
# temperature to any model. Any other name is refused (``check_options``): a typo is an error.
COMMON_OPTIONS = ("temperature", "seed", "head", "spread")


class Defaults:
    """The optional part of the contract and its defaults (a class-based architecture may inherit it)."""

    # The encoder never trains (a pretrained VGG16): its features are computed once and cached, only
    # ``decoder_head`` trains, and the encoder's weights are rebuilt at load time, not stored.
    FROZEN_ENCODER: bool = False
    # How the ab at the output size reaches full resolution: "bilinear", or "guided" by L's edges.
    UPSAMPLING: str = "bilinear"
    # Input pixels per output pixel on a side (the 313-bin heads predict at 1/2 or 1/4).
    OUTPUT_STRIDE: int = 1
    # The input size is fixed at build time (Dense layers): crops must be exactly WORKING_SIZE.
    FIXED_SIZE: bool = False
    # The sizes it builds and trains at (``train --size``) are multiples of this, the least of them the smallest: the
    # encoder halves the size to 1/8 (three stride-2 or pooling steps) and the decoder doubles it back, so any other
    # size comes back a few pixels off and the skip joins or the loss refuse it.
    SIZE_MULTIPLE: int = 8
    # Several colorizations per photo: ``predict_ab(..., seed=…)`` draws one per seed.
    STOCHASTIC: bool = False
    # A second input, the user's hint grid (``hint_grid_shape(size)``; filled per batch in training
    # by ``augment_batch``); ``predict_outputs`` gives the raw outputs for the app's palette.
    TAKES_HINTS: bool = False
    # Whose cached encoder features this architecture shares (None: its own, ``NAME``).
    FEATURES_OF: str | None = None
    # Extra text for the card's "notes".
    CARD_NOTES: str = ""
    # What it does in one sentence a class can follow, for the app's model picker ("": ``DESCRIPTION`` is shown).
    IN_PLAIN_WORDS: str = ""
    # ``augment_batch(x, y, rng)`` → (x, y): changes each training batch (e.g. simulated hints).
    augment_batch: Callable | None = None
    # ``predict_outputs(forward, batch_input, hint_grid)`` → raw {probs, ab_reg} (313-bin models).
    predict_outputs: Callable | None = None
    # ``certainty(probs, temperature=None)`` → … in [0, 1]: where the decoding took the model's sure color
    # (1) and where it guessed (0), for the app's certainty map (313-bin models that blend by confidence).
    certainty: Callable | None = None
    # The decodings of a 313-bin model: ``DECODE``, its default options; ``HEADS``, the ones it knows.
    DECODE: dict = {}
    HEADS: tuple = ()
    # Runs at about WORKING_SIZE² pixels in the photo's own aspect (``inference.aspect_shape``), not at S×S.
    KEEP_ASPECT: bool = False
    # ``uncapped_ab(outputs, batch_input, options)`` → the ab colorizing paints before a colorfulness gate caps them.
    uncapped_ab: Callable | None = None
    # The power of the 313 bins' rebalancing weights in its loss, which ``train --class-rebalancing`` may set.
    CLASSIFICATION_REBALANCING: float | None = None


REQUIRED = ("NAME", "WORKING_SIZE", "INPUT_KIND", "OUTPUT_KIND", "DESCRIPTION", "build", "training_pairs",
            "loss_and_metrics", "inference_network", "predict_ab", "encoder_features", "decoder_head")
OPTIONAL = {name: value for name, value in vars(Defaults).items() if not name.startswith("_")}


class Architecture(Protocol):
    """What an architecture is, for type checkers and readers (``declare`` enforces it at import)."""

    NAME: str
    WORKING_SIZE: int
    INPUT_KIND: str
    OUTPUT_KIND: str
    DESCRIPTION: str
    FROZEN_ENCODER: bool
    UPSAMPLING: str
    OUTPUT_STRIDE: int
    FIXED_SIZE: bool
    SIZE_MULTIPLE: int
    STOCHASTIC: bool
    TAKES_HINTS: bool
    FEATURES_OF: str | None
    CARD_NOTES: str
    IN_PLAIN_WORDS: str
    augment_batch: Callable | None
    predict_outputs: Callable | None
    certainty: Callable | None
    DECODE: dict
    HEADS: tuple
    KEEP_ASPECT: bool
    uncapped_ab: Callable | None
    CLASSIFICATION_REBALANCING: float | None

    def build(self, size: int): ...
    def training_pairs(self, batch: dict): ...
    def loss_and_metrics(self, prior=None): ...
    def inference_network(self, model): ...
    def predict_ab(self, forward, batch_input, **options): ...
    def encoder_features(self, model, x) -> list: ...
    def decoder_head(self, model): ...


def declare(module: ModuleType) -> ModuleType:
    """Check ``module`` has every required name; give it the default of each optional one it lacks."""
    missing = [name for name in REQUIRED if not hasattr(module, name)]
    if missing:
        raise TypeError(f"{module.__name__} breaks the architecture contract: no {', '.join(missing)}")
    for name, default in OPTIONAL.items():
        if not hasattr(module, name):   # a copy: one module's DECODE changed must not change every other's
            setattr(module, name, copy.copy(default))
    return module


@dataclass(frozen=True)
class Contract:
    """What a checkpoint takes and gives: ``name`` as ``colorizer.inference`` says it, the input and
    output kinds, and the output's channel count (how a checkpoint made elsewhere is recognized)."""

    name: str
    input_kind: str
    output_kind: str
    channels: int


CONTRACTS = {c.output_kind: c for c in (
    Contract("gray01_rgb", "gray01", "rgb", 3),   # gray H×W×1 in [0, 1] → RGB H×W×3 in [0, 1]
    Contract("L_ab", "L", "ab", 2),               # L_norm H×W×1 in [-1, 1] → ab_norm H×W×2 in [-1, 1]
    Contract("L_313", "L", "ab313", N_BINS),        # L_norm H×W×1 → a distribution over the 313 ab bins
)}


def option_names(arch) -> frozenset:
    """The decoding options ``arch.predict_ab`` takes by name: its keyword parameters after the network
    and the batch (but ``hint_grid``, an input), and the keys of its ``DECODE`` when it passes further
    keywords on to its decoder."""
    import inspect

    parameters = list(inspect.signature(arch.predict_ab).parameters.values())[2:]
    names = {p.name for p in parameters if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {"hint_grid"}
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        names |= set(arch.DECODE)
    return frozenset(names)


def check_options(options, known, source: str) -> None:
    """TypeError naming the first of ``options`` (names) not in ``known``, and what is known."""
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise TypeError(f"{source}: unknown option {unknown[0]!r} (known: {', '.join(sorted(known))})")


# The decoding options' sensible values (``DECODE`` keys of the 313-bin models): (least, most, whether the least itself
# is allowed). Outside them a decoding paints nonsense without a word: a NaN cap, gain or confidence bound painted a
# photo gray, a gain of 1e6 too, a hue agreement of 5 all but gray (session 39's API audit). The confidence bounds and
# the hue agreement measure probability mass, in 0..1; the gains tuned were 1.0–1.5; shadows and highlights are L, 0 and
# 100 turning each off.
DECODE_RANGES = {
    "colorfulness_cap": (0.0, math.inf, True),     # 0 turns it off
    "regression_gain": (0.0, 10.0, True),
    "confidence_radius": (0.0, math.inf, False),   # ab units, a disc around the annealed mean
    "confidence_low": (0.0, 1.0, True),
    "confidence_high": (0.0, math.inf, True),    # over 1: never fully sure (scripts/tune_flagship.py tries 1.2)
    "hue_agreement": (0.0, 1.0, True),             # 0 turns it off; an agreement is at most 1, so over 1 mutes all
    "shadows_below": (0.0, 100.0, True),
    "highlights_above": (0.0, 100.0, True),
}


def check_option_values(options: dict, source: str, arch=None) -> None:
    """TypeError or ValueError, one line naming the option, when a value is not one it takes: ``temperature`` (a real
    number over 0), ``seed`` (an integer, at least 0), ``mirror`` (True or False), ``head`` and ``spread`` (names
    ``arch`` knows, else any architecture's), and each key of ``arch``'s ``DECODE`` as its default's type (a flag
    True or False, a number finite, within ``DECODE_RANGES``; ``confidence_low`` under ``confidence_high``). A NaN
    temperature painted a whole photo gray, "high" failed deep in the decoding with "'<=' not supported between 'str'
    and 'int'" (session 34's audit); mirror="False" mirrored, being truthy (session 39's)."""
    temperature = options.get("temperature")
    if temperature is not None:
        if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real):
            raise TypeError(f"{source}: temperature must be a number ({TEMPERATURE_RANGE[0]:g} to "
                            f"{TEMPERATURE_RANGE[1]:g} as the command line takes it), not {temperature!r}")
        if not (_finite(temperature) and TEMPERATURE_RANGE[0] <= temperature <= TEMPERATURE_RANGE[1]):
            raise ValueError(f"{source}: temperature must be from {TEMPERATURE_RANGE[0]:g} to {TEMPERATURE_RANGE[1]:g} "
                             f"(as the command line takes it), not {temperature!r}")
    seed = options.get("seed")
    if seed is not None and not is_whole_number(seed, 0):
        raise ValueError(f"{source}: seed must be an integer of at least 0, not {seed!r}")
    if "mirror" in options and not isinstance(options["mirror"], (bool, np.bool_)):
        raise TypeError(f"{source}: mirror must be True or False, not {options['mirror']!r}")
    for name, attribute in (("head", "HEADS"), ("spread", "SPREADS")):
        value = options.get(name, ...)
        known = _known_values(arch, attribute) if value is not ... else ()
        if known and not (value is None and None in known or isinstance(value, str) and value in known):
            raise ValueError(f"{source}: unknown {name} {value!r}; known: {', '.join(map(str, known))}")
    defaults = getattr(arch, "DECODE", None) or {}
    for name, value in options.items():
        if name == "temperature" or name not in defaults:
            continue
        if isinstance(defaults[name], bool):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{source}: {name} must be True or False, not {value!r}")
            continue
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
            raise TypeError(f"{source}: {name} must be a number, not {value!r}")
        least, most, least_too = DECODE_RANGES.get(name, (-math.inf, math.inf, True))
        if not (_finite(value) and (least <= value if least_too else least < value) and value <= most):
            bounds = (f"{'at least' if least_too else 'over'} {least:g}" if most == math.inf
                      else f"from {least:g} to {most:g}")
            raise ValueError(f"{source}: {name} must be a finite number {bounds}, not {value!r}")
    if "confidence_low" in defaults and ("confidence_low" in options or "confidence_high" in options):
        low = options.get("confidence_low", defaults["confidence_low"])
        high = options.get("confidence_high", defaults["confidence_high"])
        if not low < high:
            raise ValueError(f"{source}: confidence_low must be under confidence_high, not {low!r} and {high!r}")


def is_whole_number(value, least: int) -> bool:
    """Whether ``value`` is an integer (numpy's too; never a bool, which Python counts as one) of at least
    ``least``: a count, a seed or a limit a caller passes in."""
    return not isinstance(value, bool) and isinstance(value, numbers.Integral) and value >= least


def _finite(value: numbers.Real) -> bool:
    """Whether a real number is finite; an integer past a float's range is not (``math.isfinite(10**400)`` raised
    OverflowError: session 39's review)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _known_values(arch, attribute: str) -> tuple:
    """``arch``'s ``HEADS`` or ``SPREADS``; for a model without them (its own option ignored), every architecture's,
    so that a name no model knows is a typo wherever it goes."""
    own = tuple(getattr(arch, attribute, None) or ())
    if own:
        return own
    from colorizer.models import ARCHITECTURES

    known = []
    for other in ARCHITECTURES.values():
        known += [value for value in getattr(other, attribute, None) or () if value not in known]
    return tuple(known)


def contract_of(arch) -> str:
    """The contract name of an architecture (module or object): "gray01_rgb", "L_ab" or "L_313"."""
    return CONTRACTS[arch.OUTPUT_KIND].name


def contract_by_name(name: str) -> Contract:
    return next(c for c in CONTRACTS.values() if c.name == name)


def feature_family(arch) -> str:
    """The name its cached encoder features go under (architectures sharing an encoder share them)."""
    return arch.FEATURES_OF or arch.NAME


def default_temperature(arch) -> float:
    """A 313-bin architecture's annealed-mean temperature where none is asked for: its ``DECODE``'s, else (or for a
    model made elsewhere, ``arch`` None) the shared ``quantize.DEFAULT_TEMPERATURE``. The one rule the model, its card,
    the pages' sliders and the command line's help read (the Colorize page had passed the shared constant to a model
    whose own was changed)."""
    return float(getattr(arch, "DECODE", {}).get("temperature", DEFAULT_TEMPERATURE))


def color_space(arch) -> dict:
    """The card's "color_space": what the input and the output are, in words."""
    inputs = {"gray01": "gray in [0, 1] (uint8 / 255)", "L": "CIE Lab L, normalized (L - 50) / 50 to [-1, 1]"}
    outputs = {
        "rgb": "sRGB in [0, 1] (sigmoid); its a, b are joined to the input's full-resolution L",
        "ab": f"CIE Lab a, b normalized by {AB_NORM:g} to [-1, 1] (tanh)",
        "ab313": f"distribution over Zhang et al.'s {N_BINS} ab bins (annealed mean, T = {default_temperature(arch):g}) + ab regression head",
    }
    return {"input": inputs[arch.INPUT_KIND], "output": outputs[arch.OUTPUT_KIND], "lab": "CIE Lab, D65, sRGB (OpenCV float32)"}


def features_in_batches(encoder, x, batch_size: int = 8, dtype=np.float16) -> list[np.ndarray]:
    """``encoder``'s outputs of ``x`` (one N×… array; the encoder's outputs one array or a list), batch by batch,
    written into arrays of ``dtype`` made once: the ``encoder_features`` of the flagship family, vgg16_ae, unet313
    and checkpoints made elsewhere (cifar_ae's and the VAE's are small, the VAE's input a pair). Not ``predict``:
    it keeps every batch's float32 outputs and then joins them (and a cast to float16 after it copies them again),
    and at vgg16_ae's batch of 16 VGG16's first blocks alone hold hundreds of MB: its features that way took a
    fine-tune beside a class to 2,406 / 2,488 MiB (session 32)."""
    import keras

    n = len(x)
    shapes = encoder.compute_output_shape((None, *x.shape[1:]))
    shapes = [shapes] if isinstance(shapes[0], (int, type(None))) else shapes
    out = [np.empty((n, *(int(d) for d in shape[1:])), dtype) for shape in shapes]
    report = BATCH_PROGRESS.get()
    for start in range(0, n, batch_size):
        chunk = np.asarray(x[start:start + batch_size], np.float32)
        features = encoder(chunk, training=False)
        for target, feature in zip(out, features if isinstance(features, (list, tuple)) else [features]):
            target[start:start + len(chunk)] = keras.ops.convert_to_numpy(feature).astype(dtype, copy=False)
        if report is not None:
            report(start + len(chunk), n)
    return out


# ``report(done, total)`` after each batch of ``features_in_batches``, where a caller wants to say how far the encoder
# is (``features.FeatureCache``): a context variable, so that no architecture's ``encoder_features`` takes a new
# parameter. A fine-tune's page showed one unchanging line for the ~45 s of a class server's feature pass (session 39).
BATCH_PROGRESS: contextvars.ContextVar[Callable[[int, int], None] | None] = contextvars.ContextVar(
    "BATCH_PROGRESS", default=None)
