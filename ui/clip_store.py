"""The Video page's clips on disk: each upload stored once, named by its content (a rerun, or another visitor's same
clip, finds it), in a folder of the temporary directory, at most ``KEPT_CLIPS`` of them, the least recently used going
first; a hidden file (a run's result, a clip being written) that a stopped server left there goes after
``STALE_HIDDEN_S``.

- ``stored_clip(name, data)`` → the clip's path; ``clip_folder()`` → the folder (a run writes its hidden result there).
"""
from __future__ import annotations

import time
from pathlib import Path

from ui.temp_folders import last_used, private_temp_folder, stored_by_content

__all__ = ["VIDEO_TYPES", "KEPT_CLIPS", "STALE_HIDDEN_S", "clip_folder", "stored_clip"]

VIDEO_TYPES = ["mp4", "m4v", "mov", "avi", "webm", "mkv", "gif"]
KEPT_CLIPS = 8
# A hidden file (a result or a clip being written) this long untouched was left by a server that stopped mid-run: a
# run writes its result as it goes and lasts minutes, so such a file is swept the next time a clip is used.
STALE_HIDDEN_S = 3600


def clip_folder() -> Path:
    """The folder the clips and results live in (created when missing), the server's user's alone (``ui.temp_folders``)."""
    return private_temp_folder("colorizer-video")


def stored_clip(name: str, data: bytes) -> Path:
    """Uploaded bytes → a file (named by content, so a rerun finds it); the clips used least recently beyond
    KEPT_CLIPS go (using one makes it the most recent, so a clip in use is the last to go)."""
    suffix = Path(name).suffix.lower() if Path(name).suffix.lower().lstrip(".") in VIDEO_TYPES else ".bin"
    path, written = stored_by_content(clip_folder(), data, suffix)
    if written:
        for old in sorted(clip_folder().glob("[!.]*"), key=_last_used, reverse=True)[KEPT_CLIPS:]:
            old.unlink(missing_ok=True)
    _sweep_left_results()
    return path


def _sweep_left_results() -> None:
    """Hidden files (a result, or a clip being stored) untouched for ``STALE_HIDDEN_S``: left by a server stopped
    mid-run, up to 50 MB each, and hidden from the trim of old clips. A few files to look at, each time a clip is
    used."""
    for left in clip_folder().glob(".*"):
        if left.is_file() and time.time() - _last_used(left) > STALE_HIDDEN_S:
            left.unlink(missing_ok=True)


def _last_used(path: Path) -> float:
    try:
        return last_used(path.stat())
    except FileNotFoundError:  # another session's trim took it meanwhile
        return 0.0
