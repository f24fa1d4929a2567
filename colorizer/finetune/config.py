"""What a fine-tune is asked to do (``FinetuneConfig``) and the error it refuses with (``FinetuneError``)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["FinetuneConfig", "FinetuneError", "CROPS_PER_PHOTO"]

CROPS_PER_PHOTO = 8


class FinetuneError(ValueError):
    """A fine-tune that cannot run; str(err) is one line saying what to change."""


@dataclass
class FinetuneConfig:
    """What to fine-tune and how. ``crop=None`` → the model's working size; ``out_dir=None`` → a new
    folder ``<base>-ft-<time>`` in ``user_checkpoint_dir()``; otherwise ``out_dir`` is the checkpoint folder."""

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

    def validate(self) -> None:
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
