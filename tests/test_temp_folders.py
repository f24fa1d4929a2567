"""ui.temp_folders: the pages' folders for visitors' files, the server user's alone."""
from __future__ import annotations

import os

import pytest

from ui import clip_store, photo_store, temp_folders


@pytest.fixture
def temporary(tmp_path, monkeypatch):
    monkeypatch.setattr(temp_folders.tempfile, "gettempdir", lambda: str(tmp_path))
    return tmp_path


def test_each_pages_folder_is_named_by_the_user_and_readable_by_that_user_alone(temporary):
    """Session 40's review: the clips and kept photos sat in world-readable folders of /tmp with fixed names."""
    for folder in (photo_store.photo_folder(), clip_store.clip_folder()):
        assert folder.parent == temporary and folder.name.endswith(f"-{os.getuid()}")
        assert folder.stat().st_mode & 0o777 == 0o700
    assert photo_store.photo_folder() != clip_store.clip_folder()


def test_a_folder_another_user_made_is_refused(temporary, monkeypatch):
    """Made first by someone else, to read what visitors upload (here: this user, passed for another)."""
    real_uid = os.getuid()
    monkeypatch.setattr(temp_folders.os, "getuid", lambda: real_uid + 1)
    (temporary / f"colorizer-video-{real_uid + 1}").mkdir()
    with pytest.raises(PermissionError, match="belongs to another user"):
        clip_store.clip_folder()
    monkeypatch.setattr(temp_folders.os, "getuid", lambda: real_uid)  # the real user again: their own folder is made
    assert temp_folders.private_temp_folder("colorizer-video").name == f"colorizer-video-{real_uid}"
