"""ui.photo_store: the Fine-tune page's chosen photos kept on disk, bounded for a public server."""
from __future__ import annotations

import os
import time

import pytest

from ui import photo_store


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.setattr(photo_store, "photo_folder", lambda: tmp_path)
    return tmp_path


def test_a_kept_file_is_found_by_its_stored_name_and_stored_once(folder):
    stored = photo_store.keep("Holiday.JPG", b"pixels")
    assert stored.endswith(".jpg") and len(stored) == 32 + 4
    assert photo_store.kept_path(stored).read_bytes() == b"pixels"
    assert photo_store.keep("copy.jpg", b"pixels") == stored  # named by content: another visitor's same file
    assert photo_store.keep("other.jpg", b"other") != stored
    assert sorted(p.name for p in folder.iterdir()) == sorted([stored, photo_store.keep("other.jpg", b"other")])
    assert photo_store.kept_path(photo_store.keep("no suffix", b"x")).read_bytes() == b"x"


def test_the_least_recently_used_go_first_beyond_the_ceiling_never_the_one_just_kept(folder, monkeypatch):
    monkeypatch.setattr(photo_store, "KEPT_MB", 3)
    megabyte = 2**20
    first = photo_store.keep("a.png", b"a" * megabyte)
    second = photo_store.keep("b.png", b"b" * megabyte)
    third = photo_store.keep("c.png", b"c" * megabyte)
    now = time.time()
    for age, name in ((30, first), (20, second), (10, third)):
        os.utime(folder / name, (now - age, now - age))
    assert photo_store.kept_path(first) is not None  # used again: now the most recent
    fourth = photo_store.keep("d.png", b"d" * megabyte)
    assert photo_store.kept_path(second) is None  # the least recently used went
    assert all(photo_store.kept_path(name) for name in (first, third, fourth))
    # A file larger than the whole ceiling still stays while it is the one just kept.
    big = photo_store.keep("big.png", b"e" * 4 * megabyte)
    assert photo_store.kept_path(big) is not None
    assert sum(p.stat().st_size for p in folder.iterdir()) == 4 * megabyte


def test_files_untouched_too_long_go_and_a_stored_name_never_leaves_the_folder(folder, tmp_path):
    old = photo_store.keep("old.png", b"old")
    long_ago = time.time() - photo_store.KEEP_S - 60
    os.utime(folder / old, (long_ago, long_ago))
    assert photo_store.kept_path(old) is None and not (folder / old).exists()
    # A partial write a stopped server left goes with the next file kept, once old enough.
    left = folder / ".abc.partial"
    left.write_bytes(b"half")
    os.utime(left, (long_ago, long_ago))
    photo_store.keep("new.png", b"new")
    assert not left.exists()
    # Names with a folder in them, or hidden files (a write under way), are nobody's photo; nor is a copy never kept.
    (folder / ".hidden").write_bytes(b"half written")
    assert photo_store.kept_path(".hidden") is None
    (folder / "sub").mkdir()
    (folder / "sub" / "inner.png").write_bytes(b"not a kept name")
    assert photo_store.kept_path("sub/inner.png") is None
    assert photo_store.kept_path(None) is None


def test_a_write_that_fails_leaves_nothing_behind(folder, monkeypatch):
    """Session 40's review: a full disk left the partial file, which no trim counts, for hours."""
    from pathlib import Path

    def full_disk(self, data):
        Path.write_text(self, "x" * 10)  # some of it written, then the disk is full
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", full_disk)
    with pytest.raises(OSError):
        photo_store.keep("big.png", b"big")
    assert list(folder.iterdir()) == []


def test_a_copy_is_never_kept_in_a_folder_another_user_made(tmp_path, monkeypatch):
    from ui import temp_folders

    real_uid = os.getuid()
    monkeypatch.setattr(temp_folders.tempfile, "gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr(temp_folders.os, "getuid", lambda: real_uid + 1)
    (tmp_path / f"colorizer-finetune-photos-{real_uid + 1}").mkdir()  # made by "another user" (this one, here)
    with pytest.raises(PermissionError):
        photo_store.keep("a.png", b"pixels")
    assert photo_store.kept_path("abc.png") is None  # a page asking for a copy gets none, not an error


def test_the_ceiling_is_never_under_one_sessions_uploads(monkeypatch):
    """Session 40's review: under one session's uploads, a session's own files pushed each other out and one was
    written again on every rerun."""
    import importlib

    from ui import server_tuning

    monkeypatch.setenv("COLORIZER_KEPT_PHOTOS_MB", "10")
    try:
        assert importlib.reload(photo_store).KEPT_MB == server_tuning.UPLOADS_PER_SESSION_MB
    finally:
        monkeypatch.delenv("COLORIZER_KEPT_PHOTOS_MB")
        importlib.reload(photo_store)
    assert photo_store.KEPT_MB == server_tuning.UPLOADS_MB
