"""One fine-tune as a job: ``FinetuneJob`` runs it (in the calling thread with ``run()``, or in the queue's
thread), exposes a thread-safe ``JobStatus`` snapshot and ``stop()``.

Stop is honoured at every stage and the final state says what happened:
- before the job starts (queued, or between leaving the queue and starting): nothing runs, "stopped";
- before the encoder's features or before training: nothing more runs, nothing is saved, "stopped";
- during training: training ends after the current step, the best epoch's weights are saved, "stopped";
- after the last epoch (scoring, writing): the result of all epochs is saved, "done".
``stop(reason)`` says why in the final message (the server's time budget, the visitor gone).

On a public server (``private=True``, ``limits``: ``FinetuneLimits``) a job also checks its settings
and photo count against the limits, the visitor's room for another checkpoint (``colorizer.access``)
before any expensive work, loads its base among the checkpoints its owner may see, and writes the new
checkpoint private to its owner (the access file is in the staging folder before it is published, so it
is never visible to anyone else, even for a moment). Its card holds no server path and no file names.
"""
from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from colorizer import access, checkpoints, data, process
from colorizer.cards import model_card
from colorizer.features import FeatureCache
from colorizer.finetune import publishing
from colorizer.finetune.base import load_base
from colorizer.finetune.config import FinetuneConfig, FinetuneError, FinetuneLimits
from colorizer.finetune.photos import Photo
from colorizer.finetune.training import FEATURE_CACHE, Prepared, Previewer, prepare, train_decoder
from colorizer.photo_prints import CARD_FIELD, card_prints, photo_print

__all__ = ["STATES", "ACTIVE_STATES", "JobStatus", "FinetuneJob", "Stopped"]

STATES = ("queued", "running", "stopping", "done", "failed", "stopped")
ACTIVE_STATES = ("queued", "running", "stopping")


class Stopped(Exception):
    """Stop came before the named stage: nothing more runs and nothing is saved."""


@dataclass(frozen=True)
class JobStatus:
    """A snapshot of a job; every field is safe to read from another thread (never mutated later)."""

    job_id: str
    owner: str | None
    state: str = "queued"
    epoch: int = 0                 # 1-based epoch running (or last run)
    epochs: int = 0
    step: int = 0
    steps_per_epoch: int = 0
    eta_s: float | None = None
    history: tuple = ()            # rows as in history.csv: epoch (0-based), loss, val_loss, …
    device: str = ""
    mixed_precision: bool = False
    message: str = ""
    preparing: float = 0.0         # share of the encoder's feature pass done, before the first step (a page's bar)
    preview: np.ndarray | None = None
    preview_epoch: int = 0
    held_out_name: str = ""
    result: Path | None = None
    error: str | None = None
    skipped: tuple = ()            # "<file>: <reason>" of photos that could not be used
    wall_time_s: float = 0.0

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def fraction(self) -> float:
        """Share of all training steps done, in [0, 1]."""
        total = self.epochs * self.steps_per_epoch
        if self.state == "done" or not total:
            return 1.0 if self.state == "done" else 0.0
        return min(1.0, ((self.epoch - 1) * self.steps_per_epoch + self.step) / total) if self.epoch else 0.0


class FinetuneJob:
    """One fine-tune. ``run()`` does it in the calling thread (the CLI); ``JobQueue`` runs it in a thread.

    ``status()`` is a consistent snapshot; ``stop()`` ends it as the module docstring says.
    ``on_update(status)`` is called from the job's thread after each change.
    """

    def __init__(self, config: FinetuneConfig, photos: list[Photo], owner: str | None = None, *,
                 cache: FeatureCache | None = None, on_update: Callable[[JobStatus], None] | None = None,
                 skipped: Iterable[str] = (), limits: FinetuneLimits | None = None, private: bool = False,
                 presence: Callable[[], bool] | None = None):
        self.id = uuid.uuid4().hex
        self.config, self.owner = config, owner
        self.limits, self.private, self.presence = limits, private and owner is not None, presence
        self.started_at: float | None = None  # time.monotonic() when it left the queue
        self.stop_reason: str | None = None
        self.cache = cache or FEATURE_CACHE
        self.on_update = on_update
        self.held_out_photo: np.ndarray | None = None
        self._photos = list(photos)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._status = JobStatus(self.id, owner, epochs=config.epochs, skipped=tuple(skipped))
        self._thread: threading.Thread | None = None
        self.created = time.time()

    # ---- thread-safe state
    def status(self) -> JobStatus:
        with self._lock:
            return self._status

    def _update(self, **changes) -> None:
        with self._lock:
            self._status = replace(self._status, **changes)
            status = self._status
        if self.on_update is not None:
            self.on_update(status)

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def stop(self, reason: str | None = None) -> None:
        """Ask the job to stop (see the module docstring); a queued job simply never starts. ``reason``
        (e.g. "its visitor left") goes into the final message."""
        if reason and not self._stop.is_set():
            self.stop_reason = reason
        self._stop.set()
        with self._lock:  # check and set together: the job may be starting or finishing at this very moment
            if self._status.state != "running":
                return
            why = f" ({self.stop_reason})" if self.stop_reason else ""
            self._status = status = replace(self._status, state="stopping", message=f"stopping after the current step{why}…")
        if self.on_update is not None:
            self.on_update(status)

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _proceed(self, stage: str) -> None:
        """Raise ``Stopped`` when Stop came before ``stage``."""
        if self.stop_requested:
            raise Stopped(stage + (f" ({self.stop_reason})" if self.stop_reason else ""))

    def check(self, now: float | None = None) -> None:
        """Stop the job when it has run past its limits' time budget, or its visitor is gone (``presence``);
        called by the queue every second or so."""
        if self.stop_requested or not self.status().active:
            return
        now = time.monotonic() if now is None else now
        if self.limits is not None and self.started_at is not None and now - self.started_at > self.limits.seconds:
            self.stop(f"the server's limit of {self.limits.minutes:g} min for a fine-tune")
        elif self.presence is not None and not self.presence():
            self.stop("its visitor left")

    # ---- the work
    def run(self) -> Path | None:
        """Fine-tune, write the checkpoint, return its folder (None when it failed or stopped before training)."""
        started = time.perf_counter()
        try:
            if not self._start():
                return None
            with process.big_job():  # the server's caches make room meanwhile (colorizer.process)
                result, stopped_early = self._execute(started)
        except Stopped as stage:
            self._finish(started, state="stopped", message=f"stopped {stage}; nothing was saved")
            return None
        except Exception as err:  # every failure becomes a one-line message in the status
            self._finish(started, state="failed", error=_one_line(err), message="failed")
            return None
        except BaseException:  # KeyboardInterrupt / SystemExit: the staging folder is gone already
            self._update(state="failed", error="interrupted", message="interrupted")
            raise
        finally:
            self._photos = []  # the uploads are no longer needed: free their memory
        self._finish(started, state="stopped" if stopped_early else "done", result=result,
                     message=self._saved_message(result, stopped_early))
        return result

    def cancel_before_start(self) -> None:
        """Stopped while waiting in the queue: never run, its uploads let go now (the queue keeps a finished job a
        while for its page, and a cancelled job's 20 photos held hundreds of MB for nothing)."""
        why = f" ({self.stop_reason})" if self.stop_reason else ""
        self._photos = []
        self._update(state="stopped", message=f"cancelled while waiting in the queue{why}")

    def _start(self) -> bool:
        """queued → running, or → stopped when Stop came first (checked under the lock ``stop`` takes)."""
        with self._lock:
            stopped = self._stop.is_set()
            why = f" ({self.stop_reason})" if self.stop_reason else ""
            self.started_at = time.monotonic()
            self._status = replace(self._status, state="stopped" if stopped else "running",
                                   message=f"stopped before it started{why}; nothing was saved" if stopped
                                   else "loading the base checkpoint")
            status = self._status
        if self.on_update is not None:
            self.on_update(status)
        return not stopped

    def _finish(self, started: float, **changes) -> None:
        self._update(eta_s=None if changes.get("state") == "failed" else 0.0,
                     wall_time_s=time.perf_counter() - started, **changes)

    def _saved_message(self, result: Path, stopped_early: bool) -> str:
        status = self.status()
        if stopped_early:
            why = f" ({self.stop_reason})" if self.stop_reason else ""
            return (f"saved {result.name}: stopped in epoch {status.epoch} of {status.epochs}{why}, "
                    "with the best epoch's weights")
        if self.stop_requested:
            return f"saved {result.name}: all {status.epochs} epochs had run when Stop came"
        return f"saved {result.name}"

    def _execute(self, started: float) -> tuple[Path, bool]:
        config = self.config
        config.validate(self.limits)
        if self.limits is not None and len(self._photos) > self.limits.photos:
            raise FinetuneError(f"{len(self._photos)} photos; this server fine-tunes on at most {self.limits.photos}")
        final = self._destination_preflight()
        self._proceed("before the base checkpoint was loaded")
        base = load_base(config.base, viewer=self.owner) if self.private else load_base(config.base)
        final = final or publishing.unique_folder(checkpoints.user_checkpoint_dir(), publishing.default_name(base.name))
        publishing.check_destination(final)
        if self.private:  # before any expensive work; the new checkpoint is about the base's size
            access.check_room(final.parent, self.owner, expected_mb=base.model_path.stat().st_size / 2**20)
        prepared = prepare(config, self._photos, base, self.cache, log=lambda m: self._update(message=m),
                           proceed=self._proceed, progress=lambda done, total: self._update(preparing=done / total))
        self.held_out_photo = prepared.val_photos[0][1]
        self._proceed("before training started")
        preview = Previewer(base, prepared.val_photos[0][1])
        self._update(message="scoring the base checkpoint on the held-out photos", held_out_name=prepared.val_photos[0][0])
        base_scores = _evaluate(prepared.val_photos, base.name, preview.colorizer)
        self._proceed("before training started")
        with publishing.staging_for(final) as staging_folder:
            training = train_decoder(prepared, config, self._update, self._stop, preview)
            card = self._card(prepared, final.name, training, started)
            self._update(message="scoring the fine-tuned checkpoint on the held-out photos")
            tuned = _evaluate(prepared.val_photos, final.name, preview.colorizer)
            card["evaluation"] = {k: v for k, v in base_scores.items() if k != "truth"} | {final.name: tuned[final.name], "truth": tuned["truth"]}
            self._update(message="writing the checkpoint")
            publishing.write_checkpoint(staging_folder, base.model, training["progress"].rows, card)
            if self.private:
                access.grant(staging_folder, self.owner)
            publishing.publish(staging_folder, final)
        return final, training["progress"].stopped_early

    def _destination_preflight(self) -> Path | None:
        """Refuse a bad ``out_dir`` before any expensive work."""
        if self.config.out_dir is None:
            return None
        final = Path(self.config.out_dir).expanduser()
        publishing.check_destination(final)
        return final

    def _card(self, prepared: Prepared, name: str, training: dict, started: float) -> dict:
        config, base, progress = self.config, prepared.base, training["progress"]
        arch, keep_best = base.arch, training["keep_best"]
        n_held_out = len(prepared.val_photos) if prepared.held_out else 0
        card = model_card(
            name, arch, base.model, working_size=base.working_size, known=base.known,
            description=f"{arch.DESCRIPTION} Decoder fine-tuned on {len(prepared.train_photos)} photos.",
            data={
                "source": config.data_label, "photos": len(prepared.train_photos) + n_held_out,
                "train_photos": len(prepared.train_photos), "held_out_photos": n_held_out,
                "held_out": prepared.held_out, "train_crops": prepared.n_train_crops, "val_crops": prepared.n_val_crops,
                "crop": prepared.crop, "crops_per_photo": config.crops_per_photo, "crop_scales": list(data.CROP_SCALES),
                # A visitor's file names stay out of a card others may see once it is shared.
                "flips": "horizontal",
                "skipped": len(self.status().skipped) if self.private else list(self.status().skipped),
                # Which photos it learned, named without showing them: a page scoring it on one says so. A base
                # fine-tuned before remembers its own photos too.
                CARD_FIELD: _learned_prints(base.card, prepared.train_photos),
            },
            training={
                # As a trained card says it: "epochs" ran, "epochs_requested" were asked for (a Stop or a visitor leaving ends early).
                "epochs": len(progress.rows), "epochs_requested": config.epochs, "stopped_early": progress.stopped_early,
                "last_epoch_steps": progress.steps_done, "steps_per_epoch": progress.steps,
                "best_epoch": keep_best.best_epoch, "best_val_loss": keep_best.best,
                "batch_size": config.batch_size, "learning_rate": config.lr, "seed": config.seed,
                "val_share": config.val_share, "frozen_encoder_features_cached": True,
                "feature_time_s": round(prepared.feature_time_s, 2),
                "wall_time_s": round(time.perf_counter() - started, 1),
                "time_per_epoch_s": round(progress.per_epoch_s, 2) if progress.epoch_times else None,
                "device": training["device"], "mixed_precision": training["mixed"],
                "distribution": training["distribution"],  # batch_size is the global batch, split across replicas
            },
            command=config.command,
            rebalancing=None if prepared.prior is None else {"prior": "empirical, from the fine-tuning crops"},
            finetunable=True,
            # No server path: a card is shown to whoever may see the checkpoint.
            base={"name": base.name, "architecture": arch.NAME, "created": base.card.get("created")},
        )
        if "trainable" in card["parameters"]:  # what this fine-tune trained: the decoder head, not the whole model
            head = arch.decoder_head(base.model)
            card["parameters"]["trainable"] = int(sum(np.prod(w.shape) for w in head.trainable_weights))
        return card


def _evaluate(photos: list[Photo], label: str, colorizer) -> dict:
    from colorizer.evaluate import evaluate_photos

    return evaluate_photos(photos, {label: colorizer})


def _one_line(err: BaseException) -> str:
    text = " ".join(str(err).split()) or type(err).__name__
    return text[:400]


def _learned_prints(base_card: dict, photos: list[Photo]) -> list[str]:
    """The prints of ``photos`` after those of the photos the base learned (its card's, when it was fine-tuned
    itself), each once."""
    return list(dict.fromkeys([*card_prints(base_card), *(photo_print(rgb) for _, rgb in photos)]))
