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


def test_a_stored_file_used_again_keeps_its_modification_time_and_counts_as_used_now(tmp_path):
    """Session 46: storing a file that is there already marks it used by its access time; its modification time stays
    the content's (what is remembered of a file by that time, such as a clip's opening cost, holds across reruns), and
    ``last_used`` is the later of the two (a file just written counts as used then)."""
    path, written = temp_folders.stored_by_content(tmp_path, b"a clip", ".mp4")
    assert written and path.read_bytes() == b"a clip"
    os.utime(path, (1_000, 2_000))                     # used long ago, written a little later
    assert temp_folders.last_used(path.stat()) == 2_000
    again, written = temp_folders.stored_by_content(tmp_path, b"a clip", ".mp4")
    stat = path.stat()
    assert again == path and not written and stat.st_mtime == 2_000 and stat.st_atime > 1_000_000_000
    assert temp_folders.last_used(stat) == stat.st_atime
    with pytest.raises(FileNotFoundError):
        temp_folders.mark_used(tmp_path / "gone.mp4")
