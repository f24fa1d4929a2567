"""What the machine is and can do, read from ``/proc/cpuinfo`` (Linux; elsewhere: the platform's word).
A process's own memory and malloc are ``colorizer.process``'s.

- ``device_description()``: what trains, "GPU: <name>" or "CPU: <model> (<n> cores)", for cards;
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

__all__ = ["cpu_model", "cpu_flags", "bfloat16_is_fast", "device_description"]


@lru_cache(maxsize=1)
def _cpuinfo() -> dict[str, str]:
    """The first processor's ``key: value`` lines of /proc/cpuinfo ({} where there is none), read once."""
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


def device_description() -> str:
    """'GPU: <name>' when TensorFlow sees a GPU, else 'CPU: <model> (<n> cores)'."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        details = tf.config.experimental.get_device_details(gpus[0])
        return f"GPU: {details.get('device_name', gpus[0].name)}"
    return f"CPU: {cpu_model()} ({os.cpu_count()} cores)"
