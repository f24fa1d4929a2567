"""Folders of the temporary directory that only the server's user may use, where the pages keep visitors' files, and
how a file is kept in one.

On a shared machine a folder of ``/tmp`` named by the app alone could be read by any user, or made first by one of them
to read what visitors upload. Each folder here is named by the server's user id, made readable by that user alone, and
refused if another user made it.

- ``private_temp_folder(name)`` → the folder (created when missing); PermissionError if another user owns it.
- ``stored_by_content(folder, data, suffix)`` → (the file holding ``data``, named by its content; whether it was
  written now): the Video page's clips and the Fine-tune page's photos alike.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from pathlib import Path

__all__ = ["private_temp_folder", "stored_by_content"]


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
    finds it) → (its path, whether it was written now). One already there is touched: now the most recently used, for
    a store that lets the least recently used go. A new one is written to a hidden partial file, then moved into place
    (two sessions may store one file at once); a write that fails (a full disk) leaves nothing behind and raises."""
    path = folder / f"{hashlib.blake2b(data, digest_size=16).hexdigest()}{suffix}"
    try:
        os.utime(path)
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
