"""A process's memory as Linux shows it, and glibc's malloc tuned for this project: the one place that
parses ``/proc/<pid>/status`` and calls ``mallopt`` / ``malloc_trim``. Off Linux or off glibc every
reading is None and every setting a no-op that returns False.

Reading (``pid``: a process id, or "self"):
- ``status(key, pid)``: a field of ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``, ``Umask``…) as text;
- ``status_kb(key, pid)``: a memory field in KiB; ``memory_mb(pid)``: {"rss_mb", "peak_mb"} in MiB;
- ``reset_peak()``: this process's high-water mark (``VmHWM``) back to its resident size.

Tuning glibc's malloc:
- ``keep_large_buffers()``: full-resolution arrays reused rather than page-faulted anew (see there);
- ``limit_malloc_arenas()``: at most ``MALLOC_ARENAS`` arenas, for a server with a thread per session;
- ``release_unused()``: garbage collected and freed heap pages handed back (``malloc_trim``);
  ``release_when_done(status)`` does it when a fine-tuning job has ended (its ``on_update`` callback).

Room for a big job:
- ``big_job()``: a context manager a fine-tune runs in; ``on_big_job(callback)``: ``callback(True)`` when the
  first big job starts, ``callback(False)`` when the last ends. The app's shared results hold less meanwhile
  (``ui.loaders``): a fine-tune's training takes ~850 MiB more than the server's resident set, and with a full
  results cache, a colorization and a decode beside it the server passed a 2.7 GB host's cap (docs/deploy.md).

Threads:
- ``one_blas_thread()``: numpy's matrix products on one thread, leaving the cores to TensorFlow (see there).
"""
from __future__ import annotations

import gc
import logging
import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterator

__all__ = ["status", "status_kb", "memory_mb", "reset_peak", "keep_large_buffers", "limit_malloc_arenas",
           "release_unused", "release_when_done", "one_blas_thread", "MALLOC_ARENAS", "big_job", "on_big_job"]

_log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------- reading


def status(key: str, pid: int | str = "self") -> str | None:
    """The value of ``key`` in ``/proc/<pid>/status`` ("123456 kB", "0022"), None where there is none."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            name, _, value = line.partition(":")
            if name == key:
                return value.strip()
    except OSError:
        pass
    return None


def status_kb(key: str, pid: int | str = "self") -> int | None:
    """A memory field of ``/proc/<pid>/status`` ("123456 kB") in KiB; None where there is none."""
    try:
        return int((status(key, pid) or "").split()[0])
    except (ValueError, IndexError):
        return None


def memory_mb(pid: int | str = "self") -> dict:
    """{"rss_mb": resident now, "peak_mb": the high-water mark (VmHWM)} of process ``pid`` in MiB
    (counting every thread, TensorFlow's included); None where unknown."""
    rss, peak = status_kb("VmRSS", pid), status_kb("VmHWM", pid)
    return {"rss_mb": None if rss is None else rss / 1024, "peak_mb": None if peak is None else peak / 1024}


def reset_peak() -> bool:
    """Reset this process's VmHWM to its current RSS (Linux ≥ 4.0); False where that is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


# ---------------------------------------------------------------------------------------------- glibc's malloc

# glibc's mallopt parameters (malloc.h) and the values ``keep_large_buffers`` sets.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8
_MMAP_THRESHOLD = 32 << 20
_TRIM_THRESHOLD = 64 << 20
MALLOC_ARENAS = 2
_arenas_limited = False


@lru_cache(maxsize=1)
def _libc():
    """glibc, or None (macOS, Windows, musl: nothing to tune)."""
    try:
        import ctypes
        import ctypes.util

        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None
    except (OSError, AttributeError):
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
    libc = _libc()
    if libc is None:
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD)) and bool(libc.mallopt(_M_TRIM_THRESHOLD, _TRIM_THRESHOLD))


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Cap glibc's malloc arenas for this process (once); False where that is not possible.

    glibc gives every thread that allocates concurrently an arena of its own (up to 8 per core) and keeps
    freed memory in each; a Streamlit server runs a thread per session plus TensorFlow's, so its resident
    set grows with arenas that sit mostly empty. Two arenas cost little speed there and saved about 70 MB
    of peak during a fine-tune. It applies to arenas created from then on, so the app's launcher calls it
    before anything starts (the Docker image sets ``MALLOC_ARENA_MAX=2`` too, for the very first threads).
    """
    global _arenas_limited
    if _arenas_limited:
        return True
    libc = _libc()
    if libc is None:
        return False
    _arenas_limited = bool(libc.mallopt(_M_ARENA_MAX, int(arenas)))
    return _arenas_limited


def release_unused() -> None:
    """Collect garbage, then return freed heap pages to the system (no-op off glibc)."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def release_when_done(job_status) -> None:
    """A ``FinetuneJob`` ``on_update`` callback: ``release_unused()`` once the job is no longer active
    (a fine-tune leaves ~100 MB of freed memory that a server would otherwise keep)."""
    if not job_status.active:
        release_unused()


# ---------------------------------------------------------------------------------------------- room for a big job

_big_job_callbacks: list[Callable[[bool], None]] = []
_big_jobs = 0
_big_jobs_lock = threading.Lock()


def on_big_job(callback: Callable[[bool], None]) -> None:
    """Call ``callback(True)`` when a big job starts with none running, ``callback(False)`` when the last ends."""
    _big_job_callbacks.append(callback)


@contextmanager
def big_job() -> Iterator[None]:
    """The block is a big job (a fine-tune): what registered with ``on_big_job`` makes room for it meanwhile."""
    global _big_jobs
    with _big_jobs_lock:  # the callbacks too: one job's end told after the next one's start would undo it
        _big_jobs += 1
        if _big_jobs == 1:
            _tell_big_job(True)
    try:
        yield
    finally:
        with _big_jobs_lock:
            _big_jobs -= 1
            if _big_jobs == 0:
                _tell_big_job(False)


def _tell_big_job(running: bool) -> None:
    for callback in list(_big_job_callbacks):
        try:
            callback(running)
        except Exception:  # noqa: BLE001 - making room is a courtesy: it must not fail the job
            _log.exception("a big job's callback failed")


# ---------------------------------------------------------------------------------------------- threads


@lru_cache(maxsize=1)
def one_blas_thread() -> bool:
    """Run numpy's BLAS (OpenBLAS) on one thread in this process, once; False where threadpoolctl finds
    no BLAS to limit.

    Why: after each matrix product OpenBLAS's worker threads keep spinning for a while, waiting for the
    next one. The decoding's products are small (a 44×44 grid × 313 bins), but on a 2-core machine the
    spinning thread takes a core from TensorFlow's next forward pass: the flagship's network went from
    34 to 58 ms when a decoding ran between two passes (scratch measurement of 2026-12-02, AMD EPYC),
    and a whole colorization from 70 to 47 ms with one BLAS thread. The project's large products (the
    reference matcher, training) run in TensorFlow, which this does not touch. Called when a model is
    loaded (``inference.Colorizer``).
    """
    from threadpoolctl import threadpool_limits

    return bool(threadpool_limits(limits=1, user_api="blas").get_original_num_threads().get("blas"))
