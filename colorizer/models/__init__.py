"""The architectures, one module each: the four seeds (the lesson) and the flagship ``hypercolumn``
(the quality), and ``hypercolumn_hints``, an earlier flagship (run R2, VGG16 alone) taught user color hints.

Every module declares what it is under one contract, ``colorizer.models.contract`` (required names,
optional ones with defaults, the output kind → contract map); ``ARCHITECTURES`` holds them declared.
"""
from __future__ import annotations

from colorizer.models import cifar_ae, hypercolumn, hypercolumn_hints, unet313, vae, vgg16_ae
from colorizer.models.contract import Architecture, declare

# The flagship first, as ``colorizer.ARCHITECTURE_NAMES`` lists them (its ``FLAGSHIP`` is the default model).
ARCHITECTURES: dict[str, Architecture] = {
    m.NAME: declare(m) for m in (hypercolumn, hypercolumn_hints, cifar_ae, vgg16_ae, vae, unet313)
}

__all__ = ["ARCHITECTURES", "Architecture", "architecture", "build", "hint_taking_architectures"]


def architecture(name: str) -> Architecture:
    """The module of architecture ``name``; a clear error listing the known names otherwise."""
    try:
        return ARCHITECTURES[name]
    except KeyError:
        raise ValueError(f"unknown architecture {name!r}; known: {', '.join(ARCHITECTURES)}") from None


def build(name: str, size: int | None = None):
    arch = architecture(name)
    return arch.build(size or arch.WORKING_SIZE)


def hint_taking_architectures() -> list[str]:
    """Names of the architectures that take user color hints (``TAKES_HINTS``), in registry order."""
    return [name for name, arch in ARCHITECTURES.items() if arch.TAKES_HINTS]
