"""What a fine-tune is asked to do (``FinetuneConfig``), the error it refuses with (``FinetuneError``) and
what a public server allows (``FinetuneLimits``).

``FinetuneLimits`` bounds the jobs the app starts (the command line is the operator's and has none): at
most ``photos`` photos, ``epochs`` epochs, batches of ``batch`` crops of at most ``crop`` px, ``minutes``
of wall clock (then the job stops as Stop does, keeping the best epoch so far), and ``queue`` jobs waiting
on the server (each visitor has one job at a time). ``FinetuneLimits.from_env()`` reads
``$COLORIZER_FINETUNE_LIMITS``, e.g. ``"photos=20,epochs=20,batch=8,crop=176,minutes=10,queue=3"`` (the defaults).
Beside the six shipped models, fine-tunes of the flagship on 20 photos at batch 8 settle at a 2,370 MiB peak at crop
176 (the page offers it 144 at most, its working size), within the 2,384 MiB (2.5 GB) budget; at crop 192 at 2,479
MiB, and at batch 16 and crop 192 at 2,683, over Streamlit Community Cloud's cap of about 2.7 GB (``python -m
benchmarks.finetune_memory``; docs/deploy.md, session 30). 176 is the hint model's working size.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["FinetuneConfig", "FinetuneError", "FinetuneLimits", "CROPS_PER_PHOTO", "LIMITS_ENV"]

LIMITS_ENV = "COLORIZER_FINETUNE_LIMITS"

CROPS_PER_PHOTO = 8


class FinetuneError(ValueError):
    """A fine-tune that cannot run; str(err) is one line saying what to change."""


@dataclass
class FinetuneConfig:
    """What to fine-tune and how. ``crop=None`` → the model's working size; ``out_dir=None`` → a new
    folder ``<base>-ft-<16 random hex digits>`` in ``user_checkpoint_dir()``; otherwise ``out_dir`` is the checkpoint folder."""

    base: str | Path
    epochs: int = 5
    lr: float = 3e-4
    batch_size: int = 16
    crop: int | None = None
    val_share: float = 0.2
    seed: int = 0
    out_dir: Path | None = None
    crops_per_photo: int = CROPS_PER_PHOTO
    data_label: str = "uploaded photos"
    command: str | None = None

    def validate(self, limits: FinetuneLimits | None = None) -> None:
        """FinetuneError (one line) for a setting out of range, or over ``limits`` (the app's)."""
        if self.epochs < 1:
            raise FinetuneError(f"epochs must be at least 1, got {self.epochs}")
        if not 0 < self.lr < 1:
            raise FinetuneError(f"learning rate must be in (0, 1), got {self.lr}")
        if self.batch_size < 1:
            raise FinetuneError(f"batch size must be at least 1, got {self.batch_size}")
        if not 0 <= self.val_share < 1:
            raise FinetuneError(f"validation share must be in [0, 1), got {self.val_share}")
        if self.crops_per_photo < 1:
            raise FinetuneError(f"crops per photo must be at least 1, got {self.crops_per_photo}")
        if limits is not None:
            limits.check(self)


@dataclass(frozen=True)
class FinetuneLimits:
    """What one fine-tune may ask of a public server (see the module docstring)."""

    photos: int = 20
    epochs: int = 20
    batch: int = 8
    crop: int = 176
    minutes: float = 10.0
    queue: int = 3

    @classmethod
    def from_env(cls, text: str | None = None) -> FinetuneLimits:
        import os

        from colorizer.access import parse_limits

        return parse_limits(cls(), os.environ.get(LIMITS_ENV, "") if text is None else text, LIMITS_ENV)

    @property
    def seconds(self) -> float:
        return self.minutes * 60.0

    def check(self, config: FinetuneConfig) -> None:
        over = [(config.epochs, self.epochs, "epochs"), (config.batch_size, self.batch, "batch size"),
                (config.crop or 0, self.crop, "crop size")]
        for value, most, what in over:
            if value > most:
                raise FinetuneError(f"{what} {value} is over this server's limit of {most} "
                                    f"(the operator sets it: {LIMITS_ENV})")
