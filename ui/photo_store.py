"""The Fine-tune page's chosen photos on disk, so that a trip to another page does not lose them.

Streamlit's uploader lets its files go when its page is not drawn (another page, or the gallery's photos chosen
instead): a visitor who chose twenty photos, looked at the training curves and came back had to choose them all
again (session 39's note). Each chosen file is stored once, named by its content (a rerun, or another visitor's
same file, finds it), in a folder of the temporary directory; the session keeps only (file name, stored name) pairs
(``ui.finetune_ui``), and only who chose a file knows its stored name.

Bounded for a public server: at most ``KEPT_MB`` in all, the least recently used going first, and nothing untouched
for ``KEEP_S``. A visitor who fills it costs others their kept photos (the page tells them to choose them again),
never the disk.

- ``keep(name, data)`` → the stored name; ``kept_path(stored)`` → its path (now the most recently used), or None once
  it is gone.
"""
from __future__ import annotations

import time
from pathlib import Path

from colorizer.settings import number_from_env
from ui.hint_store import KEEP_S
from ui.server_tuning import UPLOADS_MB, UPLOADS_PER_SESSION_MB
from ui.temp_folders import last_used, mark_used, private_temp_folder, stored_by_content

__all__ = ["KEPT_MB", "KEEP_S", "photo_folder", "keep", "kept_path"]

# The server's whole upload ceiling once more on disk: every visitor's chosen photos at their largest still fit. Never
# under one session's uploads: a session's own files would push each other out, one written again on every rerun.
KEPT_MB = max(number_from_env("COLORIZER_KEPT_PHOTOS_MB", UPLOADS_MB), UPLOADS_PER_SESSION_MB)
# KEEP_S: a lesson's length and then some, the hints' (ui.hint_store): a photo kept as long as its hints.


def photo_folder() -> Path:
    """The folder the kept photos live in (created when missing), the server's user's alone (``ui.temp_folders``)."""
    return private_temp_folder("colorizer-finetune-photos")


def keep(name: str, data: bytes) -> str:
    """A chosen file's bytes → its stored name (its content's digest, with the file's suffix), now the most recently
    used; the least recently used files beyond ``KEPT_MB`` go, and those untouched for ``KEEP_S``. OSError when it
    cannot be written (a full disk): nothing of it is left behind."""
    suffix = Path(name).suffix.lower()
    path, written = stored_by_content(photo_folder(), data, suffix if suffix[1:].isalnum() else "")
    if written:
        _trim(keep_name=path.name)
    return path.name


def kept_path(stored: str | None) -> Path | None:
    """The stored file's path, now the most recently used, or None once it is gone (trimmed for others' photos, or
    too old) or was never kept (None). ``stored`` comes from ``keep``: a name with a folder in it is nobody's photo."""
    if not stored or Path(stored).name != stored or stored.startswith("."):
        return None
    try:
        path = photo_folder() / stored
        if time.time() - last_used(path.stat()) > KEEP_S:
            path.unlink(missing_ok=True)
            return None
        mark_used(path)
    except OSError:  # gone, or the folder cannot be used (a full disk, another user's folder)
        return None
    return path


def _trim(keep_name: str) -> None:
    """The oldest files go until the folder holds at most ``KEPT_MB`` (never ``keep_name``, just stored), with any
    file untouched for ``KEEP_S`` (a partial write a stopped server left included)."""
    now, entries = time.time(), []
    for path in photo_folder().iterdir():
        try:
            stat = path.stat()
        except FileNotFoundError:  # another session's trim took it meanwhile
            continue
        if now - last_used(stat) > KEEP_S:
            path.unlink(missing_ok=True)
        elif not path.name.startswith("."):
            entries.append((last_used(stat), stat.st_size, path))
    held = sum(size for _, size, _ in entries)
    for _, size, path in sorted(entries, key=lambda entry: entry[0]):
        if held <= KEPT_MB * 2**20:
            break
        if path.name != keep_name:
            path.unlink(missing_ok=True)
            held -= size
