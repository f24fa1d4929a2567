"""ui.hint_store: a visitor's hints kept per picture for a while, bounded, and theirs alone."""
from __future__ import annotations

import pytest

from ui import hint_store


@pytest.fixture(autouse=True)
def empty_store(monkeypatch):
    monkeypatch.setattr(hint_store, "_kept", type(hint_store._kept)())


def test_hints_come_back_to_their_visitor_for_their_picture_only_as_copies():
    hints = [{"x": 3, "y": 4, "rgb": [200, 30, 40]}]
    hint_store.remember("visitor", "photo", hints, now=0.0)
    hints[0]["x"] = 99                                        # the session's list changes later: the kept one does not
    kept = hint_store.recall("visitor", "photo", now=1.0)
    assert kept == [{"x": 3, "y": 4, "rgb": [200, 30, 40]}]
    kept[0]["y"] = 77                                         # nor does a recalled copy change what is kept
    assert hint_store.recall("visitor", "photo", now=2.0)[0]["y"] == 4
    assert hint_store.recall("someone else", "photo", now=2.0) is None and hint_store.recall("visitor", "other") is None
    hint_store.remember("visitor", "photo", [], now=3.0)      # all removed: forgotten
    assert hint_store.recall("visitor", "photo", now=4.0) is None


def test_the_store_is_bounded_in_pictures_and_in_time(monkeypatch):
    monkeypatch.setattr(hint_store, "MAX_PICTURES", 3)
    for i in range(4):
        hint_store.remember("v", f"p{i}", [{"x": i, "y": 0, "rgb": [0, 0, 0]}], now=float(i))
    assert hint_store.recall("v", "p0", now=5.0) is None      # the least recently used went first
    assert hint_store.recall("v", "p1", now=5.0) is not None  # ...and recalling one keeps it longer
    hint_store.remember("v", "p4", [{"x": 4, "y": 0, "rgb": [0, 0, 0]}], now=6.0)
    assert hint_store.recall("v", "p2", now=7.0) is None and hint_store.recall("v", "p1", now=7.0) is not None
    assert hint_store.recall("v", "p4", now=6.0 + hint_store.KEEP_S + 1) is None   # kept too long
    assert len(hint_store._kept) <= 3
