"""What the CPU is and can do, read once from ``/proc/cpuinfo`` (Linux; elsewhere: the platform's word).

- ``cpu_model()``: e.g. "Intel(R) Xeon(R) Processor", for cards and benchmark reports;
- ``bfloat16_is_fast()``: True when the CPU has AMX or AVX512-BF16, where TensorFlow's oneDNN runs
  bfloat16 convolutions 4–5× faster than float32 (measured on the project's 2-core Xeon); elsewhere
  bfloat16 is emulated and slower, so callers stay in float32. ``COLORIZER_BFLOAT16=0`` (or ``=1``)
  overrides the answer.
"""
from __future__ import annotations

import os
import platform
from functools import lru_cache
from pathlib import Path

__all__ = ["cpu_model", "cpu_flags", "bfloat16_is_fast"]


@lru_cache(maxsize=1)
def _cpuinfo() -> dict[str, str]:
    """The first processor's ``key: value`` lines of /proc/cpuinfo ({} where there is none)."""
    info: dict[str, str] = {}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if not line.strip():
                break
            key, _, value = line.partition(":")
            info[key.strip()] = value.strip()
    except OSError:
        pass
    return info


def cpu_model() -> str:
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def cpu_flags() -> frozenset[str]:
    return frozenset(_cpuinfo().get("flags", "").split())


def bfloat16_is_fast() -> bool:
    """AMX or AVX512-BF16 on this CPU; ``COLORIZER_BFLOAT16=0`` says no (and ``=1`` yes) whatever it has."""
    forced = os.environ.get("COLORIZER_BFLOAT16")
    if forced in ("0", "1"):
        return forced == "1"
    return bool({"amx_bf16", "avx512_bf16"} & cpu_flags())
