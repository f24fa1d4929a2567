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


def test_a_clip_whose_write_fails_leaves_no_partial_file(tmp_path, monkeypatch):
    """The clip store wrote its partial file as the photo store did, without removing it when the write failed (the
    photo store's fix, session 40's review, is now the one store both use)."""
    from pathlib import Path

    def full_disk(self, data):
        Path.write_text(self, "x" * 10)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(clip_store, "clip_folder", lambda: tmp_path)
    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError):
        clip_store.stored_clip("clip.mp4", b"frames")
    assert list(tmp_path.iterdir()) == []
