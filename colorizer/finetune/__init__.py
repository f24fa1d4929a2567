"""Fine-tuning a checkpoint's decoder on your own color photos, with the encoder frozen.

Contract
- In: a base checkpoint (a name from ``available_checkpoints()``, a folder or a ``.keras`` file) whose
  model has named ``encoder`` and ``decoder`` submodels, and color photos as ``(name, uint8 RGB H×W×3)``.
- Out: a new checkpoint folder (``model.keras``, ``history.csv``, ``card.json``) at ``config.out_dir``,
  by default ``user_checkpoint_dir()/<base>-ft-<16 hex digits>`` (random: ``publishing.default_name``). It is built in a hidden staging folder
  (``<parent>/.tmp-finetune/<name>-…``) and put into place as the very last step, so a crash leaves
  no visible half-written checkpoint, and a replaced one is the old or the new at every moment; the
  shipped ``weights/`` folder is refused as a destination.
- Only the decoder trains: the frozen encoder's features for the crops are computed once per
  (encoder, crops) by the shared ``FeatureCache`` and every epoch trains the architecture's decoder
  head on them through the one training loop (``colorizer.loop``), so an epoch costs decoder time only.
- ``FinetuneJob`` runs one fine-tune (in the calling thread with ``run()``, or a background thread),
  exposes a thread-safe ``JobStatus`` snapshot and ``stop()``, honoured at every stage.
  ``QUEUE`` (a ``JobQueue``) runs one job per process at a time.
- ``finetune_from_cli(args)`` is ``python -m colorizer finetune``.

One concern a module:
- ``config``: ``FinetuneConfig``, ``FinetuneError``, ``FinetuneLimits`` (what the app's jobs may ask);
- ``photos``: photo intake (uploads, folders, shrinking);
- ``base``: the base checkpoint (``load_base``, ``ForeignArchitecture`` for one made elsewhere);
- ``training``: preparation, split, trainable head, mixed precision, progress, preview;
- ``publishing``: staging, the atomic replace, the ZIP;
- ``job`` and ``job_queue``: the job, its status and Stop, and the queue;
- ``cli``: the command line.
"""
from __future__ import annotations

from colorizer.features import FeatureCache
from colorizer.finetune.base import Base, ForeignArchitecture, finetunable_checkpoints, load_base
from colorizer.finetune.cli import finetune_from_cli
from colorizer.finetune.config import CROPS_PER_PHOTO, FinetuneConfig, FinetuneError, FinetuneLimits
from colorizer.finetune.job import ACTIVE_STATES, STATES, FinetuneJob, JobStatus
from colorizer.finetune.job_queue import QUEUE, JobQueue
from colorizer.finetune.photos import decode_photo, photos_from_folder, photos_from_uploads, shrink_photo
from colorizer.finetune.publishing import checkpoint_zip, publish
from colorizer.finetune.training import (FEATURE_CACHE, gpu_helps_mixed_precision, mixed_precision_copy, prepare,
                                         split_photos, trainable_head)

__all__ = [
    "FinetuneConfig", "FinetuneError", "FinetuneLimits", "FeatureCache", "FEATURE_CACHE", "FinetuneJob", "JobStatus", "JobQueue",
    "QUEUE", "load_base", "finetunable_checkpoints", "decode_photo", "photos_from_uploads", "photos_from_folder",
    "checkpoint_zip", "finetune_from_cli", "STATES", "ACTIVE_STATES", "Base", "ForeignArchitecture",
    "prepare", "split_photos", "shrink_photo", "trainable_head", "mixed_precision_copy", "gpu_helps_mixed_precision",
    "publish", "CROPS_PER_PHOTO",
]
