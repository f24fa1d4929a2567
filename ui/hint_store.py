"""A visitor's color hints, kept on the server for a while, so a reload does not lose them.

Hints lived in the browser tab's session: a reload (a phone's pull-down, a dropped connection, a class told to
refresh) lost every hint placed, without a word until session 36 said so. They are kept here too, per visitor
(``ui.visitor``: every tab of one browser) and per picture (its content digest), so a reload, or another tab of the
same browser, finds the hints of the same picture again. Nobody else's: the key is the visitor's.

Bounded for a public server: at most ``MAX_PICTURES`` pictures' hints in all (each at most ``hints.MAX_HINTS``), the
least recently used going first, and none older than ``KEEP_S``. Thread-safe.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict

__all__ = ["remember", "recall", "MAX_PICTURES", "KEEP_S"]

MAX_PICTURES = 500          # (visitor, picture) pairs kept in all: a class of 30 with a few photos each uses ~100
KEEP_S = 6 * 3600.0         # a lesson's length and then some
_lock = threading.Lock()
_kept: OrderedDict[tuple[str, str], tuple[float, list[dict]]] = OrderedDict()


def remember(owner: str, digest: str, hints: list[dict], now: float | None = None) -> None:
    """``owner``'s hints of the picture ``digest`` as they are now (a copy; none: forgotten)."""
    key, now = (owner, digest), time.monotonic() if now is None else now
    with _lock:
        if not hints:
            _kept.pop(key, None)
            return
        _kept[key] = (now, [dict(hint) for hint in hints])
        _kept.move_to_end(key)
        while len(_kept) > MAX_PICTURES:
            _kept.popitem(last=False)


def recall(owner: str, digest: str, now: float | None = None) -> list[dict] | None:
    """A copy of ``owner``'s kept hints of the picture ``digest``, or None (none kept, or kept too long)."""
    key, now = (owner, digest), time.monotonic() if now is None else now
    with _lock:
        entry = _kept.get(key)
        if entry is None:
            return None
        if now - entry[0] > KEEP_S:
            del _kept[key]
            return None
        _kept.move_to_end(key)
        return [dict(hint) for hint in entry[1]]
