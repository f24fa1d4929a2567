"""Who is visiting: a token that survives a reload, and whether that visitor is still here.

A Streamlit session ends when its tab reloads, so "this session" cannot be what owns a fine-tune job or
a fine-tuned checkpoint: the Stop button would be lost with the session, and the visitor's own models
with it. The visitor is a random token instead (128 bits, ``secrets``), kept in the session and in the
page's address (``?visitor=…``, written back on every run because switching pages drops it), so a reload
finds the same visitor, their job and their models; nobody else can list or load those (an address that
is shared shares them, as a link to a private document would).

- ``token()`` → this visitor's token; also records the running session as theirs;
- ``present(token)`` → whether a session of that visitor is connected now, or was within ``GRACE_S``
  (a reload, a network hiccup): a fine-tune whose visitor is gone stops (``colorizer.finetune.JobQueue``);
- ``forget_gone()``: visitors gone longer than the grace are forgotten (a page load calls it once a minute).
Thread-safe; ``present`` may be called from any thread.
"""
from __future__ import annotations

import re
import secrets
import threading
import time

__all__ = ["token", "present", "presence_of", "forget_gone", "GRACE_S", "QUERY_KEY"]

QUERY_KEY = "visitor"
_STATE_KEY = "app.visitor"
_VALID = re.compile(r"[A-Za-z0-9_-]{22,64}")
GRACE_S = 45.0
FORGET_EVERY_S = 60.0  # how often a page load also forgets the visitors long gone (``forget_gone``)

_lock = threading.Lock()
_sessions: dict[str, set[str]] = {}
_seen: dict[str, float] = {}
_last_forget = [0.0]


def token() -> str:
    """This visitor's token (from the address, else new), recorded for the running session."""
    import streamlit as st

    value = st.session_state.get(_STATE_KEY)
    if value is None:
        given = st.query_params.get(QUERY_KEY)
        value = given if isinstance(given, str) and _VALID.fullmatch(given) else secrets.token_urlsafe(16)
        st.session_state[_STATE_KEY] = value
    if st.query_params.get(QUERY_KEY) != value:
        st.query_params[QUERY_KEY] = value
    _register(value)
    return value


def _register(value: str) -> None:
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    now = time.monotonic()
    with _lock:
        if ctx is not None:
            _sessions.setdefault(value, set()).add(ctx.session_id)
        _seen[value] = now
        due = now - _last_forget[0] >= FORGET_EVERY_S
        if due:
            _last_forget[0] = now
    if due:
        forget_gone(now)


def forget_gone(now: float | None = None) -> int:
    """Drop the visitors with no session connected and none seen within ``GRACE_S`` → how many: ``present`` says
    False of them anyway, and every page load without a token made one (a bot's loads grew it without end)."""
    from streamlit import runtime

    now = time.monotonic() if now is None else now
    with _lock:
        stale = [value for value, seen in _seen.items() if now - seen >= GRACE_S]
    if runtime.exists():
        active = runtime.get_instance().is_active_session
        stale = [value for value in stale if not any(active(sid) for sid in list(_sessions.get(value, ())))]
    with _lock:
        gone = [value for value in stale if now - _seen.get(value, now) >= GRACE_S]  # not seen again meanwhile
        for value in gone:
            _seen.pop(value, None)
            _sessions.pop(value, None)
    return len(gone)


def present(value: str, now: float | None = None) -> bool:
    """Whether a session of visitor ``value`` is connected, or one was seen within ``GRACE_S``."""
    from streamlit import runtime

    now = time.monotonic() if now is None else now
    with _lock:
        sessions = set(_sessions.get(value, ()))
        seen = _seen.get(value, -float("inf"))
    if runtime.exists():
        live = {sid for sid in sessions if runtime.get_instance().is_active_session(sid)}
        if live != sessions:
            with _lock:
                _sessions[value] = live | (_sessions.get(value, set()) - sessions)
        if live:
            with _lock:
                _seen[value] = now
            return True
    return now - seen < GRACE_S


def presence_of(value: str):
    """A no-argument callable: ``present(value)`` (what a fine-tune job checks)."""
    return lambda: present(value)
