"""Folders of the temporary directory that only the server's user may use, where the pages keep visitors' files, and
how a file is kept in one.

On a shared machine a folder of ``/tmp`` named by the app alone could be read by any user, or made first by one of them
to read what visitors upload. Each folder here is named by the server's user id, made readable by that user alone, and
refused if another user made it.

- ``private_temp_folder(name)`` → the folder (created when missing); PermissionError if another user owns it.
- ``stored_by_content(folder, data, suffix)`` → (the file holding ``data``, named by its content; whether it was
  written now): the Video page's clips and the Fine-tune page's photos alike.
- ``mark_used(path)``, ``last_used(stat)``: a stored file's use is its access time, not its modification time. The
  modification time stays the content's: what is remembered of a file by (path, size, modification time), such as a
  clip's opening cost (``colorizer.video.open_check``), holds across reruns. Marking use by the modification time
  (before session 46) made the Video page open its clip again in a child process on every rerun (0.24 s).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
import uuid
from pathlib import Path

__all__ = ["private_temp_folder", "stored_by_content", "mark_used", "last_used"]


def private_temp_folder(name: str) -> Path:
    """``<temporary directory>/<name>-<uid>``, created when missing (mode 0700); PermissionError when another user
    owns it."""
    folder = Path(tempfile.gettempdir()) / f"{name}-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_uid != os.getuid():  # made by someone else, to read what visitors upload
        raise PermissionError(f"{folder} belongs to another user")
    return folder


def stored_by_content(folder: Path, data: bytes, suffix: str) -> tuple[Path, bool]:
    """``data`` in ``folder`` under its content's digest and ``suffix`` (a rerun, or another visitor's same file,
    finds it) → (its path, whether it was written now). One already there is marked used (``mark_used``): now the
    most recently used, for a store that lets the least recently used go. A new one is written to a hidden partial
    file, then moved into place (two sessions may store one file at once); a write that fails (a full disk) leaves
    nothing behind and raises."""
    path = folder / f"{hashlib.blake2b(data, digest_size=16).hexdigest()}{suffix}"
    try:
        mark_used(path)
        return path, False
    except FileNotFoundError:
        pass
    partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.partial")
    try:
        partial.write_bytes(data)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)  # the stores' trims skip hidden files: a partial one would stay for hours
        raise
    return path, True


def mark_used(path: Path) -> None:
    """``path`` used now: its access time is set to now, its modification time kept. FileNotFoundError when it is gone.
    An explicit time is set whatever the mount's atime options (noatime only stops reads from setting it)."""
    os.utime(path, ns=(time.time_ns(), path.stat().st_mtime_ns))


def last_used(stat: os.stat_result) -> float:
    """When a stored file was last used (``mark_used``) or written, in seconds since the epoch: a file just written
    has its access time then too."""
    return max(stat.st_atime, stat.st_mtime)
