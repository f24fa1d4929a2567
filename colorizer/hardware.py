"""What the machine is and can do, read from ``/proc`` (Linux; elsewhere: the platform's word).

- ``process_status(key)``: a field of ``/proc/self/status`` (``VmRSS``, ``VmHWM``, ``Umask``…), the
  one place that file is parsed;
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

__all__ = ["process_status", "cpu_model", "cpu_flags", "bfloat16_is_fast", "device_description"]


def process_status(key: str) -> str | None:
    """The value of ``key`` in ``/proc/self/status`` ("123456 kB", "0022"), None where there is none."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name == key:
                return value.strip()
    except OSError:
        pass
    return None


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


# glibc's mallopt parameters (malloc.h) and the values ``keep_large_buffers`` sets.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_MMAP_THRESHOLD = 32 << 20
_TRIM_THRESHOLD = 64 << 20


@lru_cache(maxsize=1)
def _mallopt():
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): nothing to tune
        return None


def keep_large_buffers() -> bool:
    """Let glibc's malloc reuse the few-MB arrays of every full-resolution colorization instead of
    mapping fresh, zeroed pages for each one. False where there is no glibc.

    Why: TensorFlow's generator datasets, which Keras ``fit`` uses when training or fine-tuning, set
    glibc's trim threshold to 128 KB ("Memory patch applied: M_TRIM_THRESHOLD=128 kb"). From then on,
    every array freed at the top of the heap goes back to the system, and the next one of the same
    size page-faults again. That made the 1-MP Lab → RGB join 2.7× slower (2.3 → 6.3 ms) for the rest
    of the process. Arrays under 32 MB come from the heap, and up to 64 MB of free heap is kept, a small
    price against the app's 2.5 GB budget. Called when a model is loaded and after every ``loop.fit``.
    """
    mallopt = _mallopt()
    if mallopt is None:
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))
