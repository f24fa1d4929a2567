"""Who is visiting: a key kept by the browser, and whether that visitor is still here.

A Streamlit session ends when its tab reloads, so "this session" cannot be what owns a fine-tune job or
a fine-tuned checkpoint: the Stop button would be lost with the session, and the visitor's own models
with it. The visitor is a random key instead (128 bits, ``secrets``), kept in the session and in a cookie
of this site (``COOKIE``, set by a line of script on the page: Streamlit reads cookies but sets none), so a
reload, another tab or another day finds the same visitor, their job and their models; nobody else can
list or load those.

Why a cookie and not the page's address: until session 33 the key travelled as ``?visitor=…`` in the
address, and an address is what people share. A teacher who copied it for the class made every student
that visitor (one fine-tune slot for all, each able to delete the teacher's models), and anyone could hand
out a link with a key of their choosing. A key in an address is now ignored and removed from it. A browser
that keeps no cookie for the site (some block them in embedded pages) starts afresh on each reload.

- ``token()`` → this visitor's key; also records the running session as theirs;
- ``remember_ui()`` (every run, at the end of the shared sidebar, ``ui.widgets.sidebar_ui``): the line of script
  that keeps the key in the browser, drawn once a session (a renewal) and while the browser did not send it;
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

__all__ = ["token", "session_id", "browser_key", "remember_ui", "present", "presence_of", "forget_gone", "GRACE_S", "QUERY_KEY",
           "COOKIE", "SECURE_COOKIE"]

QUERY_KEY = "visitor"  # where the key was until session 33: removed from an address that still has it
COOKIE = "colorization_studio_visitor"
# Over HTTPS: a name only this very origin can set (no Domain, Secure, Path=/), so a site beside it under the same
# parent domain (another Space on hf.space) cannot plant a key of its choosing for our visitors.
SECURE_COOKIE = "__Host-" + COOKIE
COOKIE_DAYS = 30  # renewed once a session; the models it opens expire sooner (colorizer.access.Limits.days)
_RENEWED_KEY = "app.visitor_cookie_set"
_REMEMBER_SCRIPT = """<script>
(() => {
  const secure = window.location.protocol === "https:";
  const name = secure ? "{secure_cookie}" : "{cookie}";
  const attributes = secure ? "SameSite=None; Secure; Partitioned" : "SameSite=Lax";
  document.cookie = name + "={key}; Path=/; Max-Age={seconds}; " + attributes;
})();
</script>"""
_STATE_KEY = "app.visitor"
_VALID = re.compile(r"[A-Za-z0-9_-]{22,64}")
GRACE_S = 45.0
FORGET_EVERY_S = 60.0  # how often a page load also forgets the visitors long gone (``forget_gone``)

_lock = threading.Lock()
_sessions: dict[str, set[str]] = {}
_seen: dict[str, float] = {}
_last_forget = [0.0]


def token() -> str:
    """This visitor's key (the browser's cookie, else new), recorded for the running session."""
    import streamlit as st

    value = st.session_state.get(_STATE_KEY)
    if value is None:
        value = browser_key() or secrets.token_urlsafe(16)
        st.session_state[_STATE_KEY] = value
    if QUERY_KEY in st.query_params:  # an address from before session 33, or someone's link: never a key
        del st.query_params[QUERY_KEY]
    _register(value)
    return value


def browser_key() -> str | None:
    """The key the browser sent with this session's connection (None: none, or not one a server of ours made:
    a key typed by hand, "teacher", could be guessed). Over HTTPS only the ``SECURE_COOKIE`` counts."""
    cookies = _sent_cookies()
    for name in (SECURE_COOKIE,) if _over_https() else (SECURE_COOKIE, COOKIE):
        value = cookies.get(name)
        if isinstance(value, str) and _VALID.fullmatch(value):
            return value
    return None


def _over_https() -> bool:
    import streamlit as st

    try:
        return str(st.context.url or "").startswith("https:")
    except Exception:  # noqa: BLE001 - no browser behind this session
        return False


def _sent_cookies():
    """The cookies the browser sent when this session connected (Streamlit reads them once per session)."""
    import streamlit as st

    try:
        return st.context.cookies
    except Exception:  # noqa: BLE001 - no browser behind this session (a test, a bare run)
        return {}


def remember_ui() -> None:
    """Keep this visitor's key in the browser: a line of script setting the cookie, drawn once a session (which
    renews it for ``COOKIE_DAYS``) and on every run while the browser did not send it (its first visit here, or a
    key it forgot). Over HTTPS the cookie is ``SECURE_COOKIE``, ``SameSite=None; Secure; Partitioned``, so that a
    page embedded in another site's (a Hugging Face Space) keeps it too; over plain HTTP (a local run, a class's
    own server) ``COOKIE``, ``SameSite=Lax``."""
    import streamlit as st

    value = token()
    if browser_key() == value and st.session_state.get(_RENEWED_KEY):
        return
    st.session_state[_RENEWED_KEY] = True
    st.html(remember_script(value), unsafe_allow_javascript=True)


def remember_script(value: str) -> str:
    """The line of script ``remember_ui`` draws: the cookie holding key ``value`` (see there)."""
    return (_REMEMBER_SCRIPT.replace("{secure_cookie}", SECURE_COOKIE).replace("{cookie}", COOKIE)
            .replace("{key}", value).replace("{seconds}", str(int(COOKIE_DAYS * 86400))))


def session_id() -> str | None:
    """The running page session's id (None outside one): each of a visitor's tabs is a session of its own."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    return ctx.session_id if ctx is not None else None


def _register(value: str) -> None:
    session = session_id()
    now = time.monotonic()
    with _lock:
        if session is not None:
            _sessions.setdefault(value, set()).add(session)
        _seen[value] = now
        due = now - _last_forget[0] >= FORGET_EVERY_S
        if due:
            _last_forget[0] = now
    if due:
        forget_gone(now)
        from ui.server_tuning import release_gone_uploads

        release_gone_uploads()  # a closed tab's uploads, which Streamlit keeps once its session has expired


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
