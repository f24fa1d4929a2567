"""``python -m colorizer finetune``: a folder of photos → a checkpoint folder, with a progress bar.

The first SIGINT (Ctrl-C) or SIGTERM (``docker stop``, a Space restart) stops the job as ``stop()``
does, at whatever stage it is (``loop.stop_on_signals``, as training does): during training it ends
after the current step and the best weights so far are still written. A second signal aborts (130).
"""
from __future__ import annotations

import shlex
import sys
from pathlib import Path

from colorizer.distribute import training_strategy
from colorizer.finetune.config import FinetuneConfig
from colorizer.finetune.job import FinetuneJob, JobStatus
from colorizer.finetune.photos import photos_from_folder
from colorizer.imageio import error_line
from colorizer.loop import stop_on_signals

__all__ = ["finetune_from_cli"]


def finetune_from_cli(args) -> int:
    """``args``: the parsed ``finetune`` arguments, with ``args.argv`` the list they were parsed from (the
    card's ``command`` replays it, also when ``colorizer.cli.main`` is called in-process with its own list).

    0 when the checkpoint was written (also when a signal stopped training: the best weights are written);
    1 when some photos were unusable (each prints ``error: <file>: <reason>``; the checkpoint is still written
    from the others, as ``colorize`` and ``train`` go on without a bad file and say so in their status), when no
    photo was usable, it failed, or a signal stopped it before training (nothing written)."""
    training_strategy()  # first: a multi-worker strategy (TF_CONFIG) must exist before TensorFlow starts
    photos, errors = photos_from_folder(args.data)
    for line in errors:
        print(error_line(line), file=sys.stderr, flush=True)
    if not photos:
        print(error_line(f"{args.data}: no usable color photos to fine-tune on"), file=sys.stderr, flush=True)
        return 1
    config = FinetuneConfig(
        base=args.base, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, crop=args.crop,
        val_share=args.val_share, seed=args.seed, out_dir=Path(args.out),
        data_label=str(args.data), command="python -m colorizer " + shlex.join(args.argv),
    )
    bar = _CliProgress()
    job = FinetuneJob(config, photos, on_update=bar.update, skipped=errors)
    try:
        with stop_on_signals(job.stop, lambda: job.stop_requested, what="fine-tuning"):
            job.run()
    finally:
        bar.close()
    status = job.status()
    if status.state == "failed":
        print(error_line(status.error), file=sys.stderr, flush=True)
        return 1
    if status.result is None:
        print(status.message, file=sys.stderr, flush=True)
        return 1
    print(status.result)
    return 1 if errors else 0


class _CliProgress:
    """A tqdm bar over all training steps, with epoch and losses in its postfix and messages above it."""

    def __init__(self):
        self.bar, self.message = None, ""

    def update(self, status: JobStatus) -> None:
        from tqdm import tqdm

        if status.message != self.message and status.state != "failed":  # a failure is said once, as an error line
            self.message = status.message
            if self.bar is not None:
                self.bar.write(status.message, file=sys.stderr)  # above the bar; stdout is for the result path
            else:
                print(status.message, file=sys.stderr, flush=True)
        if not status.steps_per_epoch or status.state not in ("running", "stopping"):
            return
        if self.bar is None:
            self.bar = tqdm(total=status.epochs * status.steps_per_epoch, desc="fine-tuning", unit="step",
                            file=sys.stderr, disable=None)
        last = status.history[-1] if status.history else {}
        self.bar.set_postfix_str(f"epoch {max(status.epoch, 1)}/{status.epochs}"
                                 + (f" loss {last['loss']:.4f} val_loss {last.get('val_loss', float('nan')):.4f}" if last else ""),
                                 refresh=False)
        done = max(0, (status.epoch - 1) * status.steps_per_epoch + status.step)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
