"""The server's work queue: heavy jobs (decoding an upload, colorizing a photo) one at a time, first
come first served, with an honest wait estimate for everyone behind.

Why: when a class of twenty uploads within seconds on a 2-core server, twenty colorizations side by
side would each be as slow as all of them together, hold twenty sets of full-size buffers at once,
and leave every page frozen with no idea for how long. In a queue each job runs as fast as the machine
allows, memory holds one job's buffers, and each waiting session sees "Queued: N ahead of you, about
S s" instead of a frozen page.

Contract
- ``WorkQueue(slots=1, window=20, first_guess_s=1.0)``; ``with queue.turn(on_wait): work()`` blocks
  until it is this caller's turn (first come, first served; ``slots`` jobs run at once), then records
  how long the work took. While it waits, ``on_wait(ahead, eta_s)`` is called from the waiting thread
  at once and then every ``poll_s`` (never when there is no wait). An exception raised by ``on_wait``
  (e.g. Streamlit stopping a script whose visitor left) gives the place up and propagates.
- ``ahead``: jobs running or queued before this one; ``eta_s``: the wait until this job starts,
  ``ahead`` × the mean duration of the last ``window`` jobs ÷ ``slots`` (``first_guess_s`` before any
  finished). ``snapshot()`` → (running, waiting, mean duration s) for display and tests.
- ``QUEUE``: the process's queue for the heavy work (model loads, colorizations, references, samples,
  suggestions, metrics, PNG and ZIP encodes); ``COLORIZER_WORKERS`` sets its slots (default 1: TensorFlow
  and OpenCV already use every core for one job). ``DECODE_QUEUE``: reading uploads, a lane of its own
  (``DECODE_SLOTS``, 1), so that a visitor's large file never holds the colorizations of others, nor a
  class's colorizations the reading of a new photo; each decode is bounded by the decode budget
  (``colorizer.decode_budget``: memory, and a time limit).
- ``turn_ui(what)``: a turn showing the waiting line in the page (when called from a page's script;
  quietly elsewhere, e.g. a download generated on click). A result the server holds already never takes
  a turn: ``ui.shared_cache`` answers it before asking for one (``key`` is accepted and unused: skipping
  the line for keys "done recently" let evicted results be recomputed beside the running job).
"""
from __future__ import annotations

import math
import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Callable, Hashable, Iterator

from colorizer.settings import number_from_env

__all__ = ["WorkQueue", "QUEUE", "DECODE_QUEUE", "DECODE_SLOTS", "turn_ui", "wait_text"]

WORKERS_ENV = "COLORIZER_WORKERS"
DECODE_SLOTS = 1


class WorkQueue:
    """First come, first served turns for heavy work; thread-safe."""

    def __init__(self, slots: int = 1, window: int = 20, first_guess_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self.slots = max(1, int(slots))
        self.first_guess_s = float(first_guess_s)
        self._clock = clock
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._waiting: deque[int] = deque()
        self._running: dict[int, float] = {}
        self._durations: deque[float] = deque(maxlen=max(1, int(window)))

    def mean_s(self) -> float:
        """Mean duration of the recent jobs (``first_guess_s`` before any finished)."""
        with self._cond:
            return self._mean_locked()

    def _mean_locked(self) -> float:
        return sum(self._durations) / len(self._durations) if self._durations else self.first_guess_s

    def snapshot(self) -> tuple[int, int, float]:
        """(jobs running, jobs waiting, mean duration s)."""
        with self._cond:
            return len(self._running), len(self._waiting), self._mean_locked()

    def _may_start(self, ticket: int) -> bool:
        return self._waiting[0] == ticket and len(self._running) < self.slots

    def _ahead_locked(self, ticket: int) -> int:
        return len(self._running) + self._waiting.index(ticket)

    def eta_s(self, ahead: int) -> float:
        """Seconds until a job with ``ahead`` jobs before it starts."""
        return ahead * self.mean_s() / self.slots

    @contextmanager
    def turn(self, on_wait: Callable[[int, float], None] | None = None, poll_s: float = 0.5) -> Iterator[None]:
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._waiting.append(ticket)
        try:
            while True:
                with self._cond:
                    if self._may_start(ticket):
                        self._waiting.popleft()
                        self._running[ticket] = self._clock()
                        break
                    ahead = self._ahead_locked(ticket)
                    eta = ahead * self._mean_locked() / self.slots
                if on_wait is not None:  # outside the lock: it may draw on a page, or raise
                    on_wait(ahead, eta)
                with self._cond:
                    if not self._may_start(ticket):
                        self._cond.wait(poll_s)
        except BaseException:
            with self._cond:  # give the place up: whoever is behind moves forward
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                self._cond.notify_all()
            raise
        try:
            yield
        finally:
            with self._cond:
                self._durations.append(self._clock() - self._running.pop(ticket))
                self._cond.notify_all()


def _slots_from_env() -> int:
    return number_from_env(WORKERS_ENV, 1)


QUEUE = WorkQueue(slots=_slots_from_env())
DECODE_QUEUE = WorkQueue(slots=DECODE_SLOTS, first_guess_s=0.3)


def wait_text(ahead: int, eta_s: float) -> str:
    """The waiting line: "Queued: 3 ahead of you, about 5 s"."""
    seconds = max(1, math.ceil(eta_s))
    wait = f"about {seconds} s" if seconds < 90 else f"about {math.ceil(seconds / 60)} min"
    return f"Queued: {ahead} ahead of you, {wait}"


def _in_a_page() -> bool:
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
    except ImportError:
        return False
    return get_script_run_ctx(suppress_warning=True) is not None


@contextmanager
def turn_ui(what: str, key: Hashable | None = None, queue: WorkQueue | None = None) -> Iterator[None]:
    """Wait for a turn in ``queue`` (default ``QUEUE``), showing the waiting line where this is called
    (quietly outside a page's script); see the module docstring."""
    queue = queue or QUEUE
    if not _in_a_page():
        with queue.turn():
            yield
        return
    import streamlit as st

    line = st.empty()

    def show(ahead: int, eta_s: float) -> None:
        line.info(f"{wait_text(ahead, eta_s)}. {what} starts after them.", icon=":material/hourglass_top:")

    try:
        with queue.turn(on_wait=show):
            line.empty()
            yield
    finally:
        try:
            line.empty()
        except Exception:  # the page is going away (rerun, stop): nothing left to clear
            pass
