"""Process-level memory settings for a small host (Streamlit Community Cloud's cap is near 2.7 GB).

``limit_malloc_arenas()``: glibc gives every thread that allocates concurrently an arena of its own
(up to 8 per core) and keeps freed memory in each; a Streamlit server runs a thread per session plus
TensorFlow's, so its resident set grows with arenas that sit mostly empty. Two arenas cost little speed
here and saved about 70 MB of peak during a fine-tune. It applies to arenas created from then on, so the
launcher (``python -m ui.serve``) calls it before anything starts and the entry file on its first run;
the Docker image sets ``MALLOC_ARENA_MAX=2`` too, which covers the very first threads. No-op off glibc.

``release_unused()``: collect garbage and hand freed heap pages back to the system (``malloc_trim``);
``release_when_done(status)`` does it when a fine-tuning job has ended (its ``on_update`` callback):
a fine-tune leaves ~100 MB of freed memory that the server would otherwise keep.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import gc

__all__ = ["limit_malloc_arenas", "release_unused", "release_when_done", "MALLOC_ARENAS"]

MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's mallopt parameter number
_done = False


def _libc():
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process (once); False where that is not possible."""
    global _done
    if _done:
        return True
    try:
        _done = bool(_libc().mallopt(_M_ARENA_MAX, int(arenas)))
    except (OSError, AttributeError):
        return False
    return _done


def release_unused() -> None:
    """Collect garbage, then return freed heap pages to the system (no-op off glibc)."""
    gc.collect()
    try:
        _libc().malloc_trim(0)
    except (OSError, AttributeError):
        pass


def release_when_done(status) -> None:
    """A ``FinetuneJob`` ``on_update`` callback: ``release_unused()`` once the job is no longer active."""
    if not status.active:
        release_unused()
