"""One fine-tune at a time per process: ``JobQueue`` (first come, first served; each owner sees only its
own jobs) and ``QUEUE``, the app's."""
from __future__ import annotations

import threading
from collections import OrderedDict, deque

from colorizer.finetune.config import FinetuneConfig
from colorizer.finetune.job import FinetuneJob
from colorizer.finetune.photos import Photo

__all__ = ["JobQueue", "QUEUE"]


class JobQueue:
    """One fine-tune at a time per process, first come first served; each owner sees only its jobs."""

    def __init__(self, keep_finished: int = 20):
        self.keep_finished = keep_finished
        self._cond = threading.Condition()
        self._waiting: deque[FinetuneJob] = deque()
        self._running: FinetuneJob | None = None
        self._jobs: OrderedDict[str, FinetuneJob] = OrderedDict()

    def submit(self, config: FinetuneConfig, photos: list[Photo], owner: str | None = None, **job_options) -> FinetuneJob:
        """Queue a job and return it at once; it starts in a background thread when its turn comes."""
        job = FinetuneJob(config, photos, owner, **job_options)
        with self._cond:
            self._forget_old()
            self._jobs[job.id] = job
            self._waiting.append(job)
        job._thread = threading.Thread(target=self._work, args=(job,), name=f"finetune-{job.id}", daemon=True)
        job._thread.start()
        return job

    def _work(self, job: FinetuneJob) -> None:
        with self._cond:
            while not job.stop_requested and not (self._running is None and self._waiting[0] is job):
                self._cond.wait(timeout=0.2)  # the timeout also notices stop() of a queued job
            self._waiting.remove(job)
            if job.stop_requested:
                self._cond.notify_all()
                job._update(state="stopped", message="cancelled while waiting in the queue")
                return
            self._running = job
        try:
            job.run()  # a Stop from here on is the job's own business: it starts stopped, or stops at a stage
        finally:
            with self._cond:
                self._running = None
                self._cond.notify_all()

    def position(self, job: FinetuneJob) -> int | None:
        """How many jobs run or wait ahead of ``job``: 0 when it runs (or is about to); None once finished."""
        with self._cond:
            if self._running is job:
                return 0
            for i, waiting in enumerate(self._waiting):
                if waiting is job:
                    return i + (self._running is not None)
            return None

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

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if not j.status().active]
        for job in finished[: max(0, len(finished) - self.keep_finished)]:
            del self._jobs[job.id]


QUEUE = JobQueue()
