"""colorizer: grayscale photo → plausible color photo, with a flagship model and four seed architectures.

Plain Python + Keras 3 + numpy (no Streamlit). Entry points:
- ``colorizer.load(name_or_path)`` → a ``Colorizer`` whose ``.colorize(image)`` maps uint8 gray H×W or
  RGB H×W×3 to uint8 RGB H×W×3 at full resolution;
- ``python -m colorizer {archs,colorize,video,evaluate,train,finetune,export-lite,bench}``.
"""
from __future__ import annotations

__all__ = ["ARCHITECTURE_NAMES", "FLAGSHIP", "HINT_TAKING_NAMES", "MIRRORING_NAMES", "TEMPERATURE_NAMES", "SEEDED_NAMES",
           "TEMPERATURE_RANGE", "load"]

# The flagship first (the default in the app and the CLI), its hint-taking twin, then the four seeds.
ARCHITECTURE_NAMES = ("hypercolumn", "hypercolumn_hints", "cifar_ae", "vgg16_ae", "vae", "unet313")
FLAGSHIP = ARCHITECTURE_NAMES[0]
# Those of them that take color hints (their ``TAKES_HINTS``; tests/test_models.py holds the two equal), here so that
# the command line refuses ``--hints`` with another ``--arch`` before TensorFlow and the model load (8 s).
HINT_TAKING_NAMES = ("hypercolumn_hints",)
# The same for the options a model may ignore (``contract.option_names``; the same test holds them equal): those that
# average with the mirror image, decode the 313 bins at a temperature, draw random colors from a seed.
MIRRORING_NAMES = ("hypercolumn",)
TEMPERATURE_NAMES = ("hypercolumn", "hypercolumn_hints", "unet313")
SEEDED_NAMES = ("vae",)
# The temperatures a 313-bin model's annealed mean takes, from the command line or the API: under 0.01 it
# underflows (1e-40 painted a photo gray, session 34's review).
TEMPERATURE_RANGE = (0.01, 1)


def load(name_or_path):
    """A checkpoint name (shipped or fine-tuned), folder, or ``.keras``/``.h5`` file → ``Colorizer``
    (``colorizer.inference.load``, imported on first use so ``import colorizer`` stays light). TensorFlow, when this
    imports it, loads without its start-up chatter ("failed call to cuInit" on every machine without a GPU read as
    a failure to a class; session 34's audit) unless ``TF_CPP_MIN_LOG_LEVEL`` is set (``colorizer.quiet_tensorflow``)."""
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()
    from colorizer.inference import load as _load

    return _load(name_or_path)
