"""Folders of the temporary directory that only the server's user may use: where the pages keep visitors' files.

On a shared machine a folder of ``/tmp`` named by the app alone could be read by any user, or made first by one of them
to read what visitors upload. Each folder here is named by the server's user id, made readable by that user alone, and
refused if another user made it.

- ``private_temp_folder(name)`` → the folder (created when missing); PermissionError if another user owns it.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["private_temp_folder"]


def private_temp_folder(name: str) -> Path:
    """``<temporary directory>/<name>-<uid>``, created when missing (mode 0700); PermissionError when another user
    owns it."""
    folder = Path(tempfile.gettempdir()) / f"{name}-{os.getuid()}"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    if folder.stat().st_uid != os.getuid():  # made by someone else, to read what visitors upload
        raise PermissionError(f"{folder} belongs to another user")
    return folder
