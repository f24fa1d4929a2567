"""Whose clips the Video page is colorizing: one at a time per visitor, and a run cut off is said so afterwards.

A clip is colorized in its visitor's own page run (its turn in ``work_queue.CLIP_QUEUE``), so nothing but the page
stops a visitor from queueing a clip in every tab: session 38's class audit queued one clip in five tabs, and another
visitor's clip then waited 45 s instead of 5. A visitor (``ui.visitor``: every tab of one browser) has one clip queued
or running at a time (``claim``).

A run ends when its page run does: a reload, leaving the page or changing a setting mid-clip stops it (Streamlit
stops or reruns the script), and the page came back with nothing said. ``claim`` records such an end (any
``BaseException`` that is not an ``Exception``: Streamlit's stop and rerun), and the visitor's next page run reads it
once (``interrupted``), after waiting for its own session's run, or a reloaded tab's, to let go (``wait_released``):
Streamlit starts the new run while the old one is still unwinding. A run ended by the page's Stop is not cut off
(``stopping``); Stop's callback may run before or after the old run unwinds, so it marks the claim and clears a record
alike.
Thread-safe: every visitor's page runs in a thread of its own.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Callable, Iterator

__all__ = ["claim", "running", "interrupted", "stopping", "wait_released", "MAX_REMEMBERED"]

MAX_REMEMBERED = 1000   # cut-off runs kept until their visitors come back (a name each)
_changed = threading.Condition()
_running: dict[str, tuple[str, str | None]] = {}   # visitor → (the clip's name, its session), while queued or colorized
_stopped: set[str] = set()                          # visitors whose running clip their Stop ended
_interrupted: dict[str, str] = {}                   # visitor → their cut-off clip's name, until they are told


@contextmanager
def claim(owner: str, name: str, session: str | None = None) -> Iterator[bool]:
    """True (the visitor's clip ``name`` is theirs to run until the block ends; ``session``: the page session running
    it) unless ``owner`` has one queued or running already (False: nothing is claimed). A block ended by Streamlit's
    stop or rerun, not by the page's Stop, is recorded as cut off."""
    with _changed:
        if owner in _running:
            claimed = False
        else:
            _running[owner] = (name, session)
            _interrupted.pop(owner, None)   # an older cut-off run is not news once another one starts
            _stopped.discard(owner)
            claimed = True
    if not claimed:
        yield False
        return
    try:
        yield True
    except Exception:
        raise
    except BaseException:   # Streamlit's StopException or RerunException: the page run ended, and the clip with it
        with _changed:
            if owner not in _stopped:
                _interrupted[owner] = name
                if len(_interrupted) > MAX_REMEMBERED:   # visitors who never came back: the oldest go first
                    del _interrupted[next(iter(_interrupted))]
        raise
    finally:
        with _changed:
            _running.pop(owner, None)
            _stopped.discard(owner)
            _changed.notify_all()


def stopping(owner: str) -> None:
    """The page's Stop, pressed by ``owner``: their running clip's end is not a cut-off (marked while it unwinds, or
    its record cleared if it unwound first)."""
    with _changed:
        if owner in _running:
            _stopped.add(owner)
        _interrupted.pop(owner, None)


def running(owner: str) -> str | None:
    """The name of ``owner``'s clip queued or colorized now, or None."""
    with _changed:
        entry = _running.get(owner)
        return entry[0] if entry else None


def wait_released(owner: str, session: str | None, timeout: float,
                  gone: Callable[[str], bool] = lambda session: False) -> bool:
    """Wait up to ``timeout`` seconds while ``owner``'s clip is held by ``session`` (a run of this very session still
    unwinding) or by a session ``gone`` says has left (a tab reloaded: its old session's run unwinds as the new one
    starts, and the cut-off was said one run late, at the next click: session 42's audit) → whether it is let go."""
    def released() -> bool:
        holder = _running.get(owner, (None, None))[1]
        return holder is None or (holder != session or session is None) and not gone(holder)

    with _changed:
        return _changed.wait_for(released, timeout=timeout)


def interrupted(owner: str) -> str | None:
    """The name of ``owner``'s clip whose run was cut off since they were last told, or None (told once)."""
    with _changed:
        return _interrupted.pop(owner, None)
