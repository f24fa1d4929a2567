"""Whose clips the Video page is colorizing: one at a time per visitor, and a run cut off is said so afterwards.

A clip is colorized in its visitor's own page run (its turn in ``work_queue.CLIP_QUEUE``), so nothing but the page
stops a visitor from queueing a clip in every tab: session 38's class audit queued one clip in five tabs, and another
visitor's clip then waited 45 s instead of 5. A visitor (``ui.visitor``: every tab of one browser) has one clip queued
or running at a time (``claim``).

A run ends when its page run does: a reload, leaving the page or changing a setting mid-clip stops it (Streamlit
stops or reruns the script), and the page came back with nothing said. ``claim`` records such an end (any
``BaseException`` that is not an ``Exception``: Streamlit's stop and rerun), and the visitor's next page run reads it
once (``interrupted``). Thread-safe: every visitor's page runs in a thread of its own.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["claim", "running", "interrupted"]

MAX_REMEMBERED = 1000   # cut-off runs kept until their visitors come back (a name each)
_lock = threading.Lock()
_running: dict[str, str] = {}       # visitor → the clip's name, while it is queued or colorized
_interrupted: dict[str, str] = {}   # visitor → the name of their clip whose run was cut off, until they are told


@contextmanager
def claim(owner: str, name: str) -> Iterator[bool]:
    """True (the visitor's clip ``name`` is theirs to run until the block ends) unless ``owner`` has one queued or
    running already (False: nothing is claimed). A block ended by Streamlit's stop or rerun is recorded as cut off."""
    with _lock:
        if owner in _running:
            claimed = False
        else:
            _running[owner] = name
            _interrupted.pop(owner, None)   # an older cut-off run is not news once another one starts
            claimed = True
    if not claimed:
        yield False
        return
    try:
        yield True
    except Exception:
        raise
    except BaseException:   # Streamlit's StopException or RerunException: the page run ended, and the clip with it
        with _lock:
            _interrupted[owner] = name
            if len(_interrupted) > MAX_REMEMBERED:   # visitors who never came back: the oldest go first
                del _interrupted[next(iter(_interrupted))]
        raise
    finally:
        with _lock:
            _running.pop(owner, None)


def running(owner: str) -> str | None:
    """The name of ``owner``'s clip queued or colorized now, or None."""
    with _lock:
        return _running.get(owner)


def interrupted(owner: str) -> str | None:
    """The name of ``owner``'s clip whose run was cut off since they were last told, or None (told once)."""
    with _lock:
        return _interrupted.pop(owner, None)
