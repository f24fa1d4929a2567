"""Writing a fine-tune's result: a hidden staging folder, then one atomic step into place, and a ZIP.

- ``check_destination(final)`` refuses the shipped ``weights/`` folder and a folder that holds anything
  but a checkpoint, before any expensive work.
- ``staging_for(final)`` yields a fresh folder ``<parent>/.tmp-finetune/<name>-…``, held by this
  process (``colorizer.staging``) while it lives and removed on any failure. Creating one sweeps the
  staging folders of dead processes (never a live job's).
- ``write_checkpoint(folder, model, rows, card)`` writes model.keras, history.csv and card.json there.
- ``publish(staging, final)`` puts it at ``final``; an existing checkpoint there is replaced so that
  ``final`` holds the old checkpoint or the new one at every moment, a crash included
  (``staging.replace_folder``).
- ``checkpoint_zip(folder)`` is the download.
"""
from __future__ import annotations

import csv
import io
import os
import secrets
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

from colorizer import checkpoints, process, staging
from colorizer.finetune.config import FinetuneError

__all__ = ["STAGING_DIR_NAME", "CHECKPOINT_FILES", "check_destination", "staging_for", "write_checkpoint", "publish",
           "checkpoint_zip", "default_name", "unique_folder", "history_csv"]

STAGING_DIR_NAME = ".tmp-finetune"
CHECKPOINT_FILES = ("model.keras", "history.csv", "card.json")


def check_destination(folder: Path) -> None:
    """FinetuneError for a folder inside ``weights/``, a file, or a folder holding other files."""
    if checkpoints.in_weights(folder):
        raise FinetuneError(f"{folder}: is inside the shipped weights/ folder, which fine-tuning never writes; "
                            "choose another output folder")
    if not folder.exists():
        return
    if not folder.is_dir():
        raise FinetuneError(f"{folder}: exists and is not a folder; choose a new output folder")
    others = [p.name for p in folder.iterdir() if p.name not in CHECKPOINT_FILES and not p.name.startswith(".")]
    if others:
        raise FinetuneError(f"{folder}: exists and holds other files ({', '.join(sorted(others)[:3])}); "
                            "choose a new output folder")


def _new_staging_folder(final: Path) -> Path:
    root = final.parent / STAGING_DIR_NAME
    for attempt in range(2):  # another process may remove the (empty) staging root in between: once more
        root.mkdir(parents=True, exist_ok=True)
        staging.sweep(root, "")
        try:
            return Path(tempfile.mkdtemp(dir=root, prefix=f"{final.name}-"))
        except FileNotFoundError:
            if attempt:
                raise
    raise AssertionError("unreachable")


@contextmanager
def staging_for(final: Path):
    """A held staging folder for ``final`` (see the module docstring); removed if the block fails."""
    folder = _new_staging_folder(final)
    try:
        with staging.hold(folder):
            yield folder
    except BaseException:  # leave no staging folder behind (a killed process leaves one the next job sweeps)
        shutil.rmtree(folder, ignore_errors=True)
        raise
    finally:
        _remove_if_empty(folder.parent)


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:  # not empty (another job is staging there) or already gone
        pass


def history_csv(rows: list[dict]) -> str:
    """Rows → CSV text with Keras CSVLogger's columns (epoch, then the sorted log keys)."""
    keys = sorted({k for row in rows for k in row} - {"epoch"})
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["epoch", *keys], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: int(v) if k == "epoch" else v for k, v in row.items()})
    return out.getvalue()


def write_checkpoint(folder: Path, model, rows: list[dict], card: dict) -> None:
    """model.keras, history.csv and card.json into ``folder``, as readable as any file the user makes."""
    checkpoints.save_model_atomic(model, folder / "model.keras")
    checkpoints.atomic_write_text(folder / "history.csv", history_csv(rows))
    checkpoints.write_card(folder, card)
    _make_readable(folder)


def _umask() -> int:
    """The process umask, read without os.umask(), whose set-and-restore would race with other threads."""
    try:
        return int(process.status("Umask") or "", 8)
    except ValueError:
        return 0o022


def _make_readable(folder: Path) -> None:
    """mkdtemp/mkstemp create owner-only folders and files; a checkpoint is as readable as any file the user makes."""
    umask = _umask()
    os.chmod(folder, 0o777 & ~umask)
    for path in folder.iterdir():
        os.chmod(path, 0o666 & ~umask)


def publish(staging_folder: Path, final: Path) -> None:
    """Put the complete ``staging_folder`` at ``final``, replacing a previous checkpoint there: ``final``
    holds the old checkpoint or the new one at every moment, never neither and never half of one."""
    check_destination(final)
    staging.replace_folder(staging_folder, final, staging_folder.parent)


def checkpoint_zip(folder: str | Path) -> bytes:
    """A checkpoint folder → ZIP bytes holding ``<name>/model.keras``, ``history.csv``, ``card.json``; ``FileNotFoundError``
    naming the checkpoint when it holds no model (deleted, or expired, since the page offered it: an empty ZIP was
    downloaded without a word)."""
    folder = Path(folder)
    if not (folder / "model.keras").is_file():
        raise FileNotFoundError(f"{folder.name}: this checkpoint is gone (deleted, or expired)")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(CHECKPOINT_FILES):
            if name == "model.keras" or (folder / name).is_file():  # the model gone meanwhile: an error, no ZIP
                archive.write(folder / name, f"{folder.name}/{name}")
    return out.getvalue()


def default_name(base_name: str) -> str:
    """``<base>-ft-<16 hex digits>``: 64 random bits, so no one finds another visitor's checkpoint by
    guessing its name (a time stamp was guessable to the second)."""
    root = base_name.split("-ft-")[0]
    return f"{root}-ft-{secrets.token_hex(8)}"


def unique_folder(parent: Path, name: str) -> Path:
    folder, n = parent / name, 2
    while folder.exists():
        folder, n = parent / f"{name}-{n}", n + 1
    return folder
