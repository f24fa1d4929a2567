"""One fine-tune at a time per process: ``JobQueue`` (first come, first served; each owner sees only its
own jobs) and ``QUEUE``, the app's.

On a public server (``QUEUE``: ``one_per_owner`` and ``max_waiting`` from ``FinetuneLimits.from_env()``)
a visitor has one job at a time and the waiting line is bounded (``FinetuneError``, one line, at
``submit``). While jobs are queued or running, a monitor thread calls each one's ``check()`` every
``monitor_s`` seconds: a job past its time budget, or whose visitor is gone (``presence``), stops.
When the queue empties, the feature cache the jobs used is cleared (its arrays are the largest thing a
fine-tune leaves behind). As the server's process exits (a SIGTERM: ``docker stop``, a Space's restart),
``QUEUE.stop_all`` stops every job and waits up to ``SHUTDOWN_WAIT_S`` for the running one to save its best epoch,
as the command line does on a signal (the job threads are daemons: the run was lost, session 35's audit).
"""
from __future__ import annotations

import atexit
import itertools
import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass

from colorizer.finetune.config import FinetuneConfig, FinetuneError, FinetuneLimits
from colorizer.finetune.job import FinetuneJob
from colorizer.finetune.photos import Photo

__all__ = ["JobQueue", "QUEUE", "SHUTDOWN_WAIT_S", "SOON_S", "Wait", "duration_words"]

SOON_S = 20  # a wait under this is said as "a moment": an estimate this close to its end is no count of seconds
SHUTDOWN_WAIT_S = 8.0  # docker stop sends SIGKILL 10 s after SIGTERM: a step and the save fit well within


@dataclass(frozen=True)
class Wait:
    """How long until a queued job starts: ``seconds``, and whether that is only a ``bound`` (some job's time
    limit stood in for a time nothing measured yet: before the first job ends, each job ahead counted as its 10
    minutes, and a class was told "in about 30 min" for jobs that ended within 12 s; session 37's audit)."""

    seconds: float
    bound: bool


class JobQueue:
    """One fine-tune at a time per process, first come first served; each owner sees only its jobs."""

    def __init__(self, keep_finished: int = 8, max_waiting: int | None = None, one_per_owner: bool = False,
                 monitor_s: float = 1.0):
        self.keep_finished, self.max_waiting, self.one_per_owner = keep_finished, max_waiting, one_per_owner
        self.monitor_s = monitor_s
        self._cond = threading.Condition()
        self._waiting: deque[FinetuneJob] = deque()
        self._running: FinetuneJob | None = None
        self._jobs: OrderedDict[str, FinetuneJob] = OrderedDict()
        self._monitor: threading.Thread | None = None
        self._durations: deque[float] = deque(maxlen=8)  # seconds the recent jobs ran, for the waiting line's estimate

    def submit(self, config: FinetuneConfig, photos: list[Photo], owner: str | None = None, **job_options) -> FinetuneJob:
        """Queue a job and return it at once; it starts in a background thread when its turn comes.
        ``FinetuneError`` when ``owner`` has an active job already (``one_per_owner``) or the line is full."""
        job = FinetuneJob(config, photos, owner, **job_options)
        with self._cond:
            self._refuse(owner)
            self._forget_old()
            self._jobs[job.id] = job
            self._waiting.append(job)
            if self._monitor is None:
                self._monitor = threading.Thread(target=self._watch, name="finetune-monitor", daemon=True)
                self._monitor.start()
        job._thread = threading.Thread(target=self._work, args=(job,), name=f"finetune-{job.id}", daemon=True)
        job._thread.start()
        return job

    def check_room(self, owner: str | None = None) -> None:
        """``FinetuneError`` (as ``submit`` raises it) when ``owner`` could not queue a job now: asked before the
        photos are read, which costs seconds of the server's shared decode lane (0.25 s a 12 MP JPEG)."""
        with self._cond:
            self._refuse(owner)

    def _refuse(self, owner: str | None) -> None:
        """``FinetuneError`` when ``owner`` has an active job already (``one_per_owner``) or the line is full."""
        if self.one_per_owner and owner is not None and any(
                j.owner == owner and j.status().active for j in self._jobs.values()):
            raise FinetuneError("you have a fine-tune queued or running already: stop it or wait for it to end")
        if self.max_waiting is not None and len(self._waiting) >= self.max_waiting:
            # A place frees when the running job ends and the first waiting one starts (session 35's review: the
            # time until every waiting job had started said "40 min" for a place free within 10).
            running = self._running
            left = None if running is None else _running_left(running, self._recent(), _limit_s(running), time.monotonic())
            when = ("later" if left is None  # nothing to go by: no time limit, no job finished yet
                    else "in a moment" if left.seconds < SOON_S
                    else f"when the running one ends (within {duration_words(left.seconds)}, its time limit)" if left.bound
                    else f"in about {duration_words(left.seconds)}, when the running one ends")
            raise FinetuneError(f"{len(self._waiting)} fine-tunes are waiting already, the most this server "
                                f"queues: try again {when}")

    def _watch(self) -> None:
        """Every ``monitor_s``: each queued or running job checks its time budget and its visitor."""
        while True:
            time.sleep(self.monitor_s)
            with self._cond:
                active = [j for j in (self._running, *self._waiting) if j is not None]
                if not active:
                    self._monitor = None
                    return
            for job in active:
                try:
                    job.check()
                except Exception:  # noqa: BLE001 - a failing presence check must not end the monitor
                    pass

    def _work(self, job: FinetuneJob) -> None:
        with self._cond:
            while not job.stop_requested and not (self._running is None and self._waiting[0] is job):
                self._cond.wait(timeout=0.2)  # the timeout also notices stop() of a queued job
            self._waiting.remove(job)
            if job.stop_requested:
                self._cond.notify_all()
                job.cancel_before_start()
                return
            self._running = job
        try:
            job.run()  # a Stop from here on is the job's own business: it starts stopped, or stops at a stage
        finally:
            with self._cond:
                if job.started_at is not None and job.status().state == "done":  # a failed or stopped one says little
                    self._durations.append(time.monotonic() - job.started_at)
                self._running = None
                idle = not self._waiting
                self._cond.notify_all()
            if idle:  # the features of ended jobs: hundreds of MB a server cannot keep for nothing
                job.cache.clear()

    def position(self, job: FinetuneJob) -> int | None:
        """How many jobs run or wait ahead of ``job``: 0 when it runs (or is about to); None once finished."""
        with self._cond:
            if self._running is job:
                return 0
            for i, waiting in enumerate(self._waiting):
                if waiting is job:
                    return i + (self._running is not None)
            return None

    def wait(self, job: FinetuneJob | None = None, now: float | None = None) -> Wait | None:
        """Until the queued ``job`` (None: a job queued now) starts: what the running job has left (its own
        estimate, else the recent jobs' mean less what it ran, else the rest of its time limit) and, for each job
        waiting ahead, the mean time of the recent jobs (else its time limit: then the wait is a ``bound``); None
        when the queue has nothing to go by (no limits and no job finished yet)."""
        now = time.monotonic() if now is None else now
        with self._cond:
            running, ahead = self._running, list(itertools.takewhile(lambda j: j is not job, self._waiting))
            recent = self._recent()
        lefts = [] if running is None else [_running_left(running, recent, _limit_s(running), now)]
        lefts += [Wait(recent, False) if recent is not None else _bound(_limit_s(other)) for other in ahead]
        if None in lefts:
            return None
        return Wait(sum(max(0.0, left.seconds) for left in lefts), any(left.bound for left in lefts))

    def _recent(self) -> float | None:
        """The mean time of the recent jobs that ran to their end (None before any)."""
        return sum(self._durations) / len(self._durations) if self._durations else None

    def get(self, job_id: str | None, owner: str | None) -> FinetuneJob | None:
        """The job ``job_id`` if it belongs to ``owner`` (another session's job is invisible)."""
        with self._cond:
            job = self._jobs.get(job_id or "")
        return job if job is not None and job.owner == owner else None

    def jobs(self, owner: str | None) -> list[FinetuneJob]:
        with self._cond:
            return [j for j in self._jobs.values() if j.owner == owner]

    def busy(self) -> bool:
        with self._cond:
            return self._running is not None or bool(self._waiting)

    def stop_all(self, reason: str, wait_s: float = SHUTDOWN_WAIT_S) -> None:
        """Stop every job (``reason`` in its final message): the waiting ones never start, and the running one is
        given up to ``wait_s`` to stop after its current step and write its best weights."""
        with self._cond:
            running, waiting = self._running, list(self._waiting)
        for job in waiting:
            job.stop(reason)
        if running is not None:
            running.stop(reason)
            running.join(wait_s)

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if not j.status().active]
        for job in finished[: max(0, len(finished) - self.keep_finished)]:
            del self._jobs[job.id]


def duration_words(seconds: float) -> str:
    """A wait in words, rounded as a person would say it: "40 s", "3 min", "1 h 5 min"."""
    seconds = max(0, int(round(seconds)))
    if seconds < 90:
        return f"{seconds} s"
    minutes = int(round(seconds / 60))
    return f"{minutes} min" if minutes < 60 else f"{minutes // 60} h {minutes % 60} min"


def _limit_s(job: FinetuneJob) -> float | None:
    return job.limits.seconds if job.limits is not None else None


def _bound(limit: float | None) -> Wait | None:
    return None if limit is None else Wait(limit, True)


def _running_left(job: FinetuneJob, recent: float | None, limit: float | None, now: float) -> Wait | None:
    """What the running ``job`` has left: its own estimate once training, else the recent jobs' mean time less
    what it has run, else the rest of its time limit (a ``bound``)."""
    estimate = job.status().eta_s
    if estimate is not None:
        return Wait(estimate, False)
    ran = now - job.started_at if job.started_at is not None else 0.0
    if recent is not None and recent > ran:
        return Wait(recent - ran, False)
    if limit is not None:  # overrunning the recent mean, or none yet: the rest of its time limit, not "0 s" (a review)
        return Wait(max(0.0, limit - ran), True)
    return None if recent is None else Wait(0.0, False)


def _public_queue() -> JobQueue:
    limits = FinetuneLimits.from_env()
    queue = JobQueue(max_waiting=limits.queue, one_per_owner=True)
    atexit.register(queue.stop_all, "the server was shutting down")
    return queue


QUEUE = _public_queue()
