"""Who may see a fine-tuned checkpoint, and how long it is kept: private to its maker unless shared.

A checkpoint a visitor fine-tunes on a public server holds what their photos taught it, and its card
says how it was made: it is theirs. Each one the app makes gets ``.access.json`` in its folder:
``{"owner": sha256 of the maker's visitor token, "shared": false, "created": t, "expires": t}``.

- ``visible(folder, viewer)``: the operator (``viewer=None``: the CLI, training, scripts) sees every
  checkpoint; a visitor (``viewer`` = their token) sees those without an access file (put there by the
  operator), the shared ones and their own, unexpired.
- ``grant(folder, owner)`` writes the access file of a new checkpoint (private, expiring in ``days``);
  ``share(folder, owner)``: "share on this server" (e.g. a teacher's model for the class); only the
  owner can share or ``delete`` it. Access files are written atomically; the token itself is never
  stored (its hash is), so reading the disk does not give anyone a visitor's access.
- ``check_room(root, owner, limits)`` before a fine-tune starts: at most ``limits.per_visitor``
  checkpoints a visitor and ``limits.disk_mb`` for all of the app's checkpoints together
  (``CheckpointQuotaError``, one line, otherwise); ``sweep_expired(root)`` removes expired ones.
- ``Limits.from_env()``: ``$COLORIZER_CHECKPOINT_LIMITS``, e.g. ``"per_visitor=3,disk_mb=1500,days=2"``
  (the defaults), unknown keys and bad values ignored with a warning.
Names are unguessable too (``colorizer.finetune.publishing.default_name``: 64 random bits), but
visibility does not rest on that: a page lists, and loads, only what ``visible`` allows.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
import warnings
from dataclasses import dataclass, fields, replace
from pathlib import Path

from colorizer.settings import is_positive_number

__all__ = ["ACCESS_FILE", "Limits", "CheckpointQuotaError", "owner_hash", "read_access", "visible", "grant", "share",
           "delete", "check_room", "sweep_expired", "is_owner", "owned_by", "LIMITS_ENV", "parse_limits"]

ACCESS_FILE = ".access.json"
LIMITS_ENV = "COLORIZER_CHECKPOINT_LIMITS"
# Share, delete and the expiry sweep, one at a time: a visitor's two tabs clicking Share and Delete at once had
# Share write its access file after Delete moved the folder away, which made the folder again holding only that
# file (counted against the visitor's quota for days, listed nowhere, so never deletable).
_changing = threading.Lock()


class CheckpointQuotaError(ValueError):
    """No room for another fine-tuned checkpoint; ``str()`` is one line saying what to do."""


@dataclass(frozen=True)
class Limits:
    """Per-visitor count, disk for all app-made checkpoints (MB), and days before one expires."""

    per_visitor: int = 3
    disk_mb: int = 1500
    days: float = 2.0

    @classmethod
    def from_env(cls, text: str | None = None) -> Limits:
        return parse_limits(cls(), os.environ.get(LIMITS_ENV, "") if text is None else text, LIMITS_ENV)


def parse_limits(defaults, text: str, variable: str):
    """``"key=value,key=value"`` over a frozen dataclass of positive numbers; bad parts warned and skipped."""
    kinds = {f.name: f.type for f in fields(defaults)}
    changes = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        key = key.strip()
        try:
            number = (float if kinds[key] in (float, "float") else int)(value.strip())
            if not is_positive_number(number):  # NaN would never expire, infinity never stop
                raise ValueError
            changes[key] = number
        except (KeyError, ValueError):
            warnings.warn(f"{variable}: ignoring {part!r} (expected one of {', '.join(kinds)} = a positive number)",
                          RuntimeWarning, stacklevel=3)
    return replace(defaults, **changes)


def owner_hash(token: str) -> str:
    return hashlib.sha256(f"colorizer-visitor:{token}".encode()).hexdigest()


def read_access(folder: Path) -> dict | None:
    """The folder's access record; None when it has none (an operator's checkpoint). A damaged one reads
    as private to nobody, expired: unreadable access never widens it."""
    path = Path(folder) / ACCESS_FILE
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return {"owner": "", "shared": False, "expires": 0}
    return record if isinstance(record, dict) else {"owner": "", "shared": False, "expires": 0}


def visible(folder: Path, viewer: str | None, now: float | None = None) -> bool:
    """Whether ``viewer`` (a visitor token; None: the operator) may list and load the checkpoint."""
    if viewer is None:
        return True
    record = read_access(folder)
    if record is None:
        return True
    if float(record.get("expires") or 0) < (time.time() if now is None else now):
        return False
    return bool(record.get("shared")) or is_owner(record, viewer)


def is_owner(record: dict | None, viewer: str | None) -> bool:
    """Whether an access record (``read_access``) names ``viewer`` as its owner (None, the operator, owns none)."""
    return viewer is not None and record is not None and record.get("owner") == owner_hash(viewer)


def owned_by(folder: Path, viewer: str | None) -> bool:
    return is_owner(read_access(folder), viewer)


def _write(folder: Path, record: dict) -> None:
    from colorizer.checkpoints import atomic_write_text

    atomic_write_text(Path(folder) / ACCESS_FILE, json.dumps(record) + "\n")


def grant(folder: Path, owner: str, limits: Limits | None = None, now: float | None = None) -> None:
    """Make ``folder`` (a new checkpoint, or its staging folder) private to ``owner``."""
    limits = limits or Limits.from_env()
    now = time.time() if now is None else now
    _write(folder, {"owner": owner_hash(owner), "shared": False, "created": now, "expires": now + limits.days * 86400})


def share(folder: Path, owner: str) -> bool:
    """Share ``owner``'s checkpoint with every visitor of this server → whether it was theirs to share."""
    with _changing:
        record = read_access(folder)
        if record is None or record.get("owner") != owner_hash(owner):
            return False
        _write(folder, {**record, "shared": True})
        return True


def delete(folder: Path, owner: str) -> bool:
    """Remove ``owner``'s checkpoint (renamed aside first, so no reader sees half of it) → whether it was theirs."""
    folder = Path(folder)
    with _changing:
        if not owned_by(folder, owner):
            return False
        aside = folder.with_name(f".deleted-{folder.name}-{os.getpid()}-{time.monotonic_ns()}")
        try:
            os.rename(folder, aside)
        except FileNotFoundError:  # gone meanwhile (another process's sweep): nothing left to delete
            return False
    shutil.rmtree(aside, ignore_errors=True)
    return True


def _app_made(root: Path) -> list[tuple[Path, dict]]:
    try:
        folders = [p for p in Path(root).iterdir() if p.is_dir() and not p.name.startswith(".")]
    except OSError:
        return []
    return [(p, record) for p in folders if (record := read_access(p)) is not None]


def _size(folder: Path) -> int:
    try:
        return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())
    except OSError:
        return 0


def sweep_expired(root: Path, now: float | None = None) -> list[Path]:
    """Remove the app's checkpoints past their expiry → the folders removed."""
    now = time.time() if now is None else now
    removed = []
    for folder, record in _app_made(root):
        if float(record.get("expires") or 0) < now:
            aside = folder.with_name(f".expired-{folder.name}-{os.getpid()}")
            try:
                with _changing:
                    os.rename(folder, aside)
            except OSError:
                continue
            shutil.rmtree(aside, ignore_errors=True)
            removed.append(folder)
    return removed


def check_room(root: Path, owner: str, limits: Limits | None = None, expected_mb: float = 0.0) -> None:
    """``CheckpointQuotaError`` when ``owner`` has ``per_visitor`` checkpoints already, or the app's
    checkpoints (plus ``expected_mb`` for the new one) would pass ``disk_mb``. Expired ones go first."""
    limits = limits or Limits.from_env()
    sweep_expired(root)
    made = _app_made(root)
    mine = [folder for folder, record in made if record.get("owner") == owner_hash(owner)]
    if len(mine) >= limits.per_visitor:
        raise CheckpointQuotaError(f"you have {len(mine)} fine-tuned models on this server, the most one visitor "
                                   "keeps: delete one (Fine-tune page) to make another")
    used = sum(_size(folder) for folder, _ in made) / 2**20
    if used + expected_mb > limits.disk_mb:
        raise CheckpointQuotaError(f"this server's space for fine-tuned models is full ({used:,.0f} of "
                                   f"{limits.disk_mb:,} MB); older ones expire after {limits.days:g} days")
