"""The architectures, one module each: the four seeds (the lesson) and the flagship ``hypercolumn``
(the quality), and ``hypercolumn_hints``, the flagship taking user color hints. A common interface:

- ``NAME``, ``WORKING_SIZE``, ``INPUT_KIND`` ("gray01" or "L"), ``OUTPUT_KIND`` ("rgb", "ab", "ab313"),
  ``DESCRIPTION``;
- ``build(size)`` → a ``keras.Model`` holding named ``encoder`` and ``decoder`` submodels;
- ``training_pairs(batch)`` → (x, y) from a crop batch (see ``colorizer.data``);
- ``loss_and_metrics(prior)`` → (loss, metrics, loss_weights) for ``model.compile``;
- ``predict_ab(model, batch_input, **options)`` → raw ab at the network's output size;
- optional: ``TAKES_HINTS`` (a second input, the hint grid, filled per batch by ``augment_batch``)
  and ``FEATURES_OF`` (whose cached frozen-encoder features it shares).
"""
from __future__ import annotations

from types import ModuleType

from colorizer.models import cifar_ae, hypercolumn, hypercolumn_hints, unet313, vae, vgg16_ae

# The flagship first, as ``colorizer.ARCHITECTURE_NAMES`` lists them (its ``FLAGSHIP`` is the default model).
ARCHITECTURES: dict[str, ModuleType] = {m.NAME: m for m in (hypercolumn, hypercolumn_hints, cifar_ae, vgg16_ae, vae, unet313)}

__all__ = ["ARCHITECTURES", "architecture", "build"]


def architecture(name: str) -> ModuleType:
    """The module of architecture ``name``; a clear error listing the known names otherwise."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}") from None


def build(name: str, size: int | None = None):
    arch = architecture(name)
    return arch.build(size or arch.WORKING_SIZE)
