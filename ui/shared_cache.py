"""Results every session of the server shares: each computed once, in its turn of a work queue, and
kept within a byte budget. What the app's pictures and results are cached in (``ui.loaders``).

Why not ``st.cache_data``: it pickles each value in and unpickles a copy out for every caller on every
rerun (a 12 MP result is a 36 MB copy per rerun per session); it cannot be asked whether it holds a key,
so the work queue skipped its line for keys "done recently" that the cache had since dropped, and the
computation then ran beside the job holding the slot; and two sessions missing the same key (twenty
students opening the page on its default photo) both computed it.

``SharedCache(max_bytes, ttl_s, weigh=nbytes_of)``; ``cache.get(key, compute, turn)`` → the value:
- a hit is returned at once, without queueing (a rerun after a widget change does not wait);
- a miss takes a turn (``turn()``: a context manager, e.g. ``work_queue.turn_ui(what)``, which shows the
  waiting line on the page), looks again (another session may have made it meanwhile), computes,
  stores and returns; every miss is computed in its turn, never beside the running job;
- concurrent misses of one key compute it once: the others wait for that result (an error is theirs
  too; a computation abandoned because its visitor left is taken over by the next one; one that finished is kept,
  even when its visitor's rerun arrived meanwhile);
- values are shared, not copied: every numpy array in them (inside tuples, lists, dicts and
  dataclasses) is made read-only, so no session can change another's picture;
- at most ``max_bytes`` (the arrays' bytes, or what ``weigh(value)`` says for values whose memory is not
  numpy's, e.g. loaded models) are kept, least recently used first out, each for at most ``ttl_s`` (or
  less: ``get(..., ttl_of=...)`` gives a value its own, e.g. a refusal that depends on the server's load); a
  value larger than the whole budget is returned but not kept.
``stats()`` → (entries, bytes); ``clear()``; ``limit(max_bytes)``: a new budget, kept at once (least recently used
out first). Thread-safe.
"""
from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict
from contextlib import nullcontext
from typing import Callable, ContextManager, Hashable

import numpy as np

__all__ = ["SharedCache", "nbytes_of"]

_OVERHEAD = 512  # bytes counted per entry beyond its arrays (keys, small objects)
_MISSING = object()


def _walk_arrays(value, seen: set[int]):
    if id(value) in seen:
        return
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from _walk_arrays(item, seen)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk_arrays(item, seen)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _walk_arrays(getattr(value, field.name), seen)


def nbytes_of(value) -> int:
    """Bytes of the numpy arrays inside ``value`` (each counted once) plus a small overhead."""
    return _OVERHEAD + sum(array.nbytes for array in _walk_arrays(value, set()))


def _freeze(value) -> None:
    for array in _walk_arrays(value, set()):
        array.flags.writeable = False


class _Pending:
    """A computation in flight: its waiters sleep on ``done``."""

    def __init__(self):
        self.done = threading.Event()
        self.value = None
        self.error: BaseException | None = None
        self.abandoned = False


class SharedCache:
    """See the module docstring."""

    def __init__(self, max_bytes: int, ttl_s: float | None = None, clock: Callable[[], float] = time.monotonic,
                 weigh: Callable[[object], int] = nbytes_of):
        self.max_bytes, self.ttl_s, self._clock, self._weigh = int(max_bytes), ttl_s, clock, weigh
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, tuple[object, int, float, float | None]] = OrderedDict()
        self._bytes = 0
        self._pending: dict[Hashable, _Pending] = {}

    def stats(self) -> tuple[int, int]:
        with self._lock:
            return len(self._entries), self._bytes

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def limit(self, max_bytes: int) -> None:
        """Keep at most ``max_bytes`` from now on, dropping the least recently used values now if need be."""
        with self._lock:
            self.max_bytes = int(max_bytes)
            while self._entries and self._bytes > self.max_bytes:
                self._drop(next(iter(self._entries)))

    def peek(self, key: Hashable, default=None):
        """The value stored for ``key``, or ``default`` (no computation, no queue)."""
        with self._lock:
            found = self._lookup(key)
        return default if found is _MISSING else found

    def _lookup(self, key: Hashable):
        entry = self._entries.get(key)
        if entry is None:
            return _MISSING
        value, size, stored, ttl_s = entry
        if ttl_s is not None and self._clock() - stored > ttl_s:
            self._drop(key)
            return _MISSING
        self._entries.move_to_end(key)
        return value

    def _drop(self, key: Hashable) -> None:
        _, size, _, _ = self._entries.pop(key)
        self._bytes -= size

    def _store(self, key: Hashable, value, ttl_s: float | None = None) -> None:
        size = int(self._weigh(value))
        if size > self.max_bytes:
            return
        if key in self._entries:
            self._drop(key)
        lifetimes = [t for t in (self.ttl_s, ttl_s) if t is not None]
        self._entries[key] = (value, size, self._clock(), min(lifetimes) if lifetimes else None)
        self._bytes += size
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._entries)))

    def get(self, key: Hashable, compute: Callable[[], object], turn: Callable[[], ContextManager] | None = None,
            on_join: Callable[[], object] | None = None, wait_poll_s: float = 0.25,
            ttl_of: Callable[[object], float | None] | None = None,
            on_wait: Callable[[float], object] | None = None):
        """The value of ``key``: stored, being computed by another caller (``on_join()`` is called once if
        that takes a while: say so on the page; ``on_wait(seconds waited)`` at every poll meanwhile: a page that draws
        there lets its visitor's clicks through, where a silent wait froze it), or computed now in ``turn()``.
        ``ttl_of(value)``: how long a value computed now is kept, at most ``ttl_s`` (None: ``ttl_s``)."""
        while True:
            with self._lock:
                found = self._lookup(key)
                if found is not _MISSING:
                    return found
                pending = self._pending.get(key)
                owner = pending is None
                if owner:
                    pending = self._pending[key] = _Pending()
            if owner:
                return self._compute(key, pending, compute, turn, ttl_of)
            joined, since = False, time.monotonic()
            while not pending.done.wait(wait_poll_s):
                if on_join is not None and not joined:
                    joined = True
                    on_join()
                if on_wait is not None:
                    on_wait(time.monotonic() - since)
            if pending.error is not None:
                raise pending.error
            if not pending.abandoned:
                return pending.value
            # the computing caller left before it finished: the next one takes it over

    def _compute(self, key: Hashable, pending: _Pending, compute, turn, ttl_of=None):
        made = False
        try:
            with (turn() if turn is not None else nullcontext()):
                with self._lock:  # made by someone else while this caller waited for its turn?
                    found = self._lookup(key)
                if found is _MISSING:
                    found = compute()
                    _freeze(found)
                made = True
        # Once made, the value is kept and given to the waiters whatever ends this call: leaving the turn draws on the
        # page, where a widget touched meanwhile raises Streamlit's rerun, and a finished colorization was thrown
        # away and made again (session 33's audit: a picture colorized twice, a classmate waiting on it twice).
        except Exception as err:
            if not made:
                pending.error = err
            raise
        except BaseException:  # Streamlit stopping this script (its visitor left or reran): let another go on
            if not made:
                pending.abandoned = True
            raise
        finally:
            try:
                with self._lock:
                    if pending.error is None and not pending.abandoned:
                        pending.value = found
                        try:
                            self._store(key, found, ttl_of(found) if ttl_of is not None else None)
                        except Exception as err:  # a weigh or ttl_of that fails: the waiters get the error
                            pending.error = err
                            raise
            finally:  # whatever happened above, no waiter and no later caller may wait on this forever
                with self._lock:
                    self._pending.pop(key, None)
                pending.done.set()
        return found
