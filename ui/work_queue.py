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
- Long work gives way: ``with queue.turn() as turn`` yields a ``Turn``; ``turn.give_way()`` between parts (the
  Video page: each frame) hands the slot to whoever waits once the part has run a second, and the job rejoins at
  the back of the line (a clip of a minute held every photo of a class behind it for that minute). ``CLIP_QUEUE``:
  clips wait there first, one at a time, so that only one paused clip holds its buffers.
- ``ahead``: jobs running or queued before this one; ``eta_s``: the wait until this job starts, the time the running
  jobs have left plus what each queued one ahead will take, ÷ ``slots``. A job's expected duration is the mean of the
  last ``window`` jobs of its ``kind`` (``turn(kind=...)``: a model load, a colorization with one model), else of the
  last ``window`` jobs of any kind, else ``first_guess_s``; a job that gave way is left out, as it holds the line for a
  part at a time. Why by kind: a model load takes 6-10 s on a slow host and a colorization 1 s, and a visitor
  behind a load was told "about 1 s". Why the time left: a 30 s job half done leaves 15 s, and a wait that never
  counted down read as a hang. ``turn(work=...)``: a job's size in its kind's units (a clip: its frames); its
  time is then remembered per unit and its expected duration is its units × that (``CLIP_QUEUE``: a visitor behind
  a 250-frame clip was told "about 1 s", the mean of the short clips before it, and waited 10: session 36). ``snapshot()`` → (running, waiting, mean duration s) for display and tests.
- ``QUEUE``: the process's queue for the heavy work (model loads, colorizations, references, samples,
  suggestions, metrics, PNG and ZIP encodes); ``COLORIZER_WORKERS`` sets its slots (default 1: TensorFlow
  and OpenCV already use every core for one job). ``DECODE_QUEUE``: reading uploads, a lane of its own
  (``DECODE_SLOTS``, 1), so that a visitor's large file never holds the colorizations of others, nor a
  class's colorizations the reading of a new photo; each decode is bounded by the decode budget
  (``colorizer.decode_budget``: memory, and a time limit).
- ``turn_ui(what)``: a turn showing the waiting line in the page (when called from a page's script;
  quietly elsewhere, e.g. a download generated on click). A result the server holds already never takes
  a turn: ``ui.shared_cache`` answers it before asking for one (it takes no key: skipping the line for keys
  "done recently" let evicted results be recomputed beside the running job).
- ``waiting_line()``: the place a ``turn_ui`` shows its line in, made on every run whether a turn is taken or not
  (``turn_ui(..., line=)``): a placeholder made only when work was to be done put one element more on the page
  in that run, so Streamlit redrew every element after it from scratch, and the images and frames that
  collapsed while they reloaded scrolled the page (session 31: a hint added moved its photo ~1,000 px).
"""
from __future__ import annotations

import itertools
import math
import threading
import time
from collections import OrderedDict, deque
from contextlib import contextmanager
from typing import Callable, Hashable, Iterator

from colorizer.settings import number_from_env

__all__ = ["WorkQueue", "Turn", "QUEUE", "DECODE_QUEUE", "CLIP_QUEUE", "DECODE_SLOTS", "turn_ui", "waiting_line",
           "wait_text"]

WORKERS_ENV = "COLORIZER_WORKERS"
DECODE_SLOTS = 1


class WorkQueue:
    """First come, first served turns for heavy work; thread-safe."""

    # Kinds remembered (least recently finished forgotten first): a visitor's fine-tuned model is a kind of its own.
    MAX_KINDS = 64

    def __init__(self, slots: int = 1, window: int = 20, first_guess_s: float = 1.0,
                 clock: Callable[[], float] = time.monotonic):
        self.slots = max(1, int(slots))
        self.first_guess_s = float(first_guess_s)
        self._clock = clock
        self._cond = threading.Condition()
        self._next_ticket = 0
        self._waiting: deque[int] = deque()
        self._running: dict[int, float] = {}
        self._kinds: dict[int, Hashable] = {}  # ticket → kind, while it waits or runs
        self._work: dict[int, float] = {}  # ticket → its units of work (1 unless ``turn(work=...)``)
        self._done: dict[int, float] = {}  # ticket → the units it did, where it said (``Turn.did``)
        self._window = max(1, int(window))
        self._durations: deque[float] = deque(maxlen=self._window)
        self._durations_by_kind: OrderedDict[Hashable, deque[float]] = OrderedDict()

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

    def _expected_locked(self, ticket: int) -> float:
        return self._work.get(ticket, 1.0) * self._per_unit_locked(self._kinds.get(ticket))

    def _per_unit_locked(self, kind: Hashable) -> float:
        recent = self._durations_by_kind.get(kind)
        return sum(recent) / len(recent) if recent else self._mean_locked()

    def has_measured(self, kind: Hashable) -> bool:
        """Whether a job of ``kind`` has finished here (else its estimate is another kind's, or the first guess)."""
        with self._cond:
            return bool(self._durations_by_kind.get(kind))

    def expected_s(self, kind: Hashable = None, work: float = 1.0) -> float:
        """How long a job of ``kind`` and ``work`` units is expected to take (see the module docstring)."""
        with self._cond:
            return work * self._per_unit_locked(kind)

    def _eta_locked(self, ticket: int) -> float:
        now = self._clock()
        left = sum(max(0.0, self._expected_locked(t) - (now - started)) for t, started in self._running.items())
        queued = sum(self._expected_locked(t) for t in itertools.islice(self._waiting, self._waiting.index(ticket)))
        return (left + queued) / self.slots

    @contextmanager
    def turn(self, on_wait: Callable[[int, float], None] | None = None, poll_s: float = 0.5,
             kind: Hashable = None, work: float = 1.0) -> Iterator[Turn]:
        """This caller's turn (see the module docstring); the ``Turn`` lets a long job give way between parts.
        ``kind``: what the job is, for the estimates of those behind it (None: a job like any); ``work``: its size
        in that kind's units (its time is remembered per unit)."""
        turn = Turn(self, self._join(kind, work), poll_s)
        self._wait_for(turn.ticket, on_wait, poll_s)
        try:
            yield turn
        finally:
            self._finish(turn.ticket, counted=not turn.takes_turns)

    def _join(self, kind: Hashable = None, work: float = 1.0) -> int:
        with self._cond:
            ticket = self._next_ticket
            self._next_ticket += 1
            self._waiting.append(ticket)
            self._kinds[ticket] = kind
            self._work[ticket] = max(float(work), 1e-9)
            return ticket

    def _wait_for(self, ticket: int, on_wait: Callable[[int, float], None] | None, poll_s: float) -> None:
        """Block until ``ticket`` may run, then mark it running; on any exception its place is given up."""
        try:
            while True:
                with self._cond:
                    if self._may_start(ticket):
                        self._waiting.popleft()
                        self._running[ticket] = self._clock()
                        return
                    ahead = self._ahead_locked(ticket)
                    eta = self._eta_locked(ticket)
                if on_wait is not None:  # outside the lock: it may draw on a page, or raise
                    on_wait(ahead, eta)
                with self._cond:
                    if not self._may_start(ticket):
                        self._cond.wait(poll_s)
        except BaseException:
            with self._cond:  # give the place up: whoever is behind moves forward
                if ticket in self._waiting:
                    self._waiting.remove(ticket)
                    self._kinds.pop(ticket, None)
                    self._work.pop(ticket, None)
                self._cond.notify_all()
            raise

    def _finish(self, ticket: int, counted: bool = True) -> None:
        """The work under ``ticket`` is over: its slot is free, and (``counted``) its time is in the estimate."""
        with self._cond:
            started = self._running.pop(ticket, None)  # None: a give-way's wait was left, nothing ran
            kind = self._kinds.pop(ticket, None)
            work = self._work.pop(ticket, 1.0)
            work = self._done.pop(ticket, work)  # what it did, where it said: a stopped clip did a part of its frames
            if started is not None and counted and work > 0:
                took = (self._clock() - started) / work
                self._durations.append(took)
                if kind is not None:
                    self._durations_by_kind.setdefault(kind, deque(maxlen=self._window)).append(took)
                    self._durations_by_kind.move_to_end(kind)
                    while len(self._durations_by_kind) > self.MAX_KINDS:
                        self._durations_by_kind.popitem(last=False)
            self._cond.notify_all()

    def _others_waiting(self, ticket: int, part_s: float) -> bool:
        with self._cond:
            return bool(self._waiting) and self._clock() - self._running[ticket] >= part_s


class Turn:
    """A running turn of ``WorkQueue.turn``. A long job (a clip: a minute of frames) calls ``give_way()`` between
    its parts: once its part has run ``part_s`` and someone is waiting, its slot goes to them and it joins the back
    of the line, so a photo queued behind a clip waits for one part, not the whole clip.

    ``waited_s``: the time spent waiting between parts (a clip's own speed leaves it out). A job that takes turns
    stays out of the estimate of a job's duration: those behind it wait for a part, not for the whole of it."""

    def __init__(self, queue: WorkQueue, ticket: int, poll_s: float):
        self.queue, self.ticket, self._poll_s = queue, ticket, poll_s
        self.takes_turns, self.waited_s = False, 0.0

    def did(self, units: float) -> None:
        """The units of work done so far (a clip: its frames colorized), called as they are done: the job's time is
        remembered per unit done, whether it ends, is stopped or fails (a clip stopped at frame 10 of 250 took 10
        frames' time, not 250's); none done leaves it out. Those behind it are still told its planned ``work``."""
        with self.queue._cond:
            self.queue._done[self.ticket] = float(units)

    def give_way(self, *, on_wait: Callable[[int, float], None] | None = None, part_s: float = 1.0) -> bool:
        """Let those waiting go first when this part has run ``part_s`` seconds; ``on_wait`` as for ``turn`` while
        this job waits again. True when it gave way (it holds a turn again on return)."""
        self.takes_turns = True
        if not self.queue._others_waiting(self.ticket, part_s):
            return False
        kind, work = self.queue._kinds.get(self.ticket), self.queue._work.get(self.ticket, 1.0)
        self.queue._finish(self.ticket, counted=False)
        self.ticket = self.queue._join(kind, work)
        left = self.queue._clock()
        try:
            self.queue._wait_for(self.ticket, on_wait, self._poll_s)
        finally:
            self.waited_s += self.queue._clock() - left
        return True


def _slots_from_env() -> int:
    return number_from_env(WORKERS_ENV, 1)


QUEUE = WorkQueue(slots=_slots_from_env())
DECODE_QUEUE = WorkQueue(slots=DECODE_SLOTS, first_guess_s=0.3)
# Clips, one at a time, before their turns in QUEUE: a clip that gives way there keeps its reader, writer and
# frames in memory while it waits, so clips interleaved with each other add up (three at once peaked at 1.86 GB,
# one at a time at 1.77, in session 25's browser run); one clip interleaved with the photos holds one clip's.
# Its jobs give their frames as ``work``: the first guess is a frame's (10 a second, a slow 2-core host's pace).
CLIP_QUEUE = WorkQueue(slots=1, first_guess_s=0.1)


def about_text(seconds: float) -> str:
    """A time to come, rounded up: "about 5 s", "about 3 min"."""
    seconds = max(1, math.ceil(seconds))
    return f"about {seconds} s" if seconds < 90 else f"about {math.ceil(seconds / 60)} min"


def wait_text(ahead: int, eta_s: float) -> str:
    """The waiting line: "Queued: 3 ahead of you, about 5 s"."""
    return f"Queued: {ahead} ahead of you, {about_text(eta_s)}"


def _in_a_page() -> bool:
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
    except ImportError:
        return False
    return get_script_run_ctx(suppress_warning=True) is not None


def waiting_line():
    """A placeholder for ``turn_ui``'s waiting line, made where this is called (None outside a page's script).
    Call it on every run, before asking for what may take a turn: see the module docstring."""
    if not _in_a_page():
        return None
    import streamlit as st

    return st.empty()


@contextmanager
def turn_ui(what: str, queue: WorkQueue | None = None, line=None, kind: Hashable = None,
            work: float = 1.0) -> Iterator[Turn]:
    """Wait for a turn in ``queue`` (default ``QUEUE``), showing the waiting line in ``line`` (``waiting_line()``)
    or where this is called (quietly outside a page's script); see the module docstring. ``kind`` (default
    ``what``): jobs of one kind estimate each other's durations, per unit of ``work``."""
    queue = queue or QUEUE
    kind = what if kind is None else kind
    if not _in_a_page():
        with queue.turn(kind=kind, work=work) as turn:
            yield turn
        return
    import streamlit as st

    line = line if line is not None else st.empty()

    def show(ahead: int, eta_s: float) -> None:
        line.info(f"{wait_text(ahead, eta_s)}. {what} starts after them.", icon=":material/hourglass_top:")

    def show_again(ahead: int, eta_s: float) -> None:
        line.info(f"{wait_text(ahead, eta_s)}: long work takes turns with the others. {what} goes on after them.",
                  icon=":material/hourglass_top:")

    try:
        with queue.turn(on_wait=show, kind=kind, work=work) as turn:
            line.empty()
            yield _PageTurn(turn, show_again, line)
    finally:
        try:
            line.empty()
        except Exception:  # the page is going away (rerun, stop): nothing left to clear
            pass


class _PageTurn:
    """``turn_ui``'s turn: ``give_way()`` shows the waiting line again in the page while the job waits."""

    def __init__(self, turn: Turn, show, line):
        self._turn, self._show, self._line = turn, show, line

    def give_way(self, *, part_s: float = 1.0) -> bool:
        gave_way = self._turn.give_way(on_wait=self._show, part_s=part_s)
        if gave_way:
            self._line.empty()
        return gave_way

    @property
    def waited_s(self) -> float:
        return self._turn.waited_s

    def did(self, units: float) -> None:
        self._turn.did(units)
