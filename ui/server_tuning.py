"""What Streamlit does between script runs that a TensorFlow app serving a class cannot afford.

After every script run of every session, Streamlit 1.67 calls ``keras.backend.clear_session()`` when
Keras is imported (``script_runner._clean_problem_modules``). For this app that is wrong three times
over: it resets TensorFlow's default graph and clears the eager kernel cache that every shared model
uses (the next colorization, in any session, rebuilds its kernels), it resets Keras's global state
under a fine-tune that is building its models in another thread, and it ends with a full
``gc.collect()`` over a heap of TensorFlow objects: about 0.6 s on 2 cores, holding the GIL, per run.
With twenty students each rerunning a few times, those collections alone were most of the class's wait
(``python -m colorizer bench --server``; profiled with py-spy).

``keep_keras_state()`` replaces that clean-up with one that still closes matplotlib's figures (the
other half of Streamlit's function) and leaves Keras alone: the app builds no models per run (they
are loaded once and shared, ``ui.loaders``), so there is no per-run state to clear. It is idempotent
and does nothing if Streamlit's internals moved (the app then runs as before, only slower).

``cap_uploads()`` puts a ceiling on the uploads Streamlit holds in memory. Its server checks each file against
``server.maxUploadSize`` and then keeps every file until its session ends, however many: one session that
uploaded 40 files of 25 MB (or sent them straight to the upload endpoint, no widget needed) took a server from
76 MB to 1,079 MB (session 23's audit). A session may now hold ``UPLOADS_PER_SESSION_MB`` and the server
``UPLOADS_MB`` in all; an upload past either is refused with HTTP 413, which the uploader shows on that file,
and files removed in the uploader free their share. (Streamlit 1.67 stores each upload from its handler on the
event loop, one at a time; were two ever stored at once, both could pass by at most ``maxUploadSize``.)

``release_gone_uploads()`` frees the uploads of sessions Streamlit no longer knows. A closed tab's session is kept
for reconnection (``disconnectedSessionTTL``), then dropped from an expiring store without its ``shutdown()``,
which is what frees its files: they stayed until the server restarted (5 visitors' 667 MB with no session left,
session 37's memory audit), and counted against ``UPLOADS_MB`` until every upload was refused. It runs before each
upload is counted and once a minute with ``visitor.forget_gone``, and frees a session's files once it has been
missing for ``GONE_AFTER_S`` (a reconnecting session is missing for an instant).

Two settings in ``.streamlit/config.toml`` go with it: ``runner.postScriptGC = false`` (the second full
collection after every run) and ``server.fileWatcherType = "none"`` (after every run the watcher walks
the real path of each of the ~5,000 imported modules on the server's event loop, stalling every
session's connection meanwhile; a hosted app's files do not change under it).
"""
from __future__ import annotations

import logging
import sys
import threading
import time

from colorizer.settings import number_from_env

__all__ = ["keep_keras_state", "cap_uploads", "release_gone_uploads", "session_upload_bytes", "server_upload_bytes",
           "largest_upload_mb", "UPLOADS_PER_SESSION_MB", "UPLOADS_MB"]

# A visitor's photos for a fine-tune (20 phone photos of ~5 MB) or a 30-MB clip and its reference fit; beyond,
# the uploader says the file was refused. The server's total is memory as it is held: 667 MB of uploads took a
# server 685 MiB higher (session 37's memory audit). 800 MB of them beside the server's 1.2–1.3 GB after its first
# model, the pictures' 300 MB and a fine-tune's ~850 MiB passed a 2.7 GB container; 400 MB leaves a class of thirty
# about 13 MB each (three phone photos) and the rest for the spikes.
UPLOADS_PER_SESSION_MB = number_from_env("COLORIZER_UPLOADS_PER_SESSION_MB", 160)
UPLOADS_MB = number_from_env("COLORIZER_UPLOADS_MB", 400)

_log = logging.getLogger(__name__)
_done = False
_replaced = None  # Streamlit's own clean-up, once replaced (the tests call it to show what it did)


def _close_matplotlib_figures() -> None:
    """The half of Streamlit's clean-up this app keeps: pyplot figures do not pile up."""
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        try:
            plt.close("all")
        except Exception:  # noqa: BLE001 - as Streamlit's own clean-up: never fail a run for this
            pass


def keep_keras_state() -> bool:
    """Stop Streamlit from clearing Keras's session after each script run (once per process); → whether
    the hook was found and replaced."""
    global _done, _replaced
    if _done:
        return True
    try:
        from streamlit.runtime.scriptrunner import script_runner
    except ImportError:
        return False
    if not callable(getattr(script_runner, "_clean_problem_modules", None)):
        _log.warning("Streamlit's per-run clean-up hook not found; Keras's session is cleared after every run")
        return False
    _replaced = script_runner._clean_problem_modules
    script_runner._clean_problem_modules = _close_matplotlib_figures
    _done = True
    return True


def _held_bytes(store, session_id: str, leaving_out: str | None = None) -> int:
    """Bytes of the uploads ``session_id`` holds in Streamlit's store (call with ``store._lock`` held), but
    ``leaving_out``, a file about to be replaced."""
    return sum(len(f.data) for file_id, f in store.file_storage.get(session_id, {}).items() if file_id != leaving_out)


def session_upload_bytes() -> int | None:
    """Bytes of uploads the running session holds (every uploader's: the sidebar's, the reference, the clip, the
    fine-tune photos), as ``cap_uploads`` counts them; None outside a script run or if Streamlit's store changed
    (``cap_uploads`` then lets every upload through, so there is no ceiling to warn of)."""
    return _reading_the_store(_held_bytes)


def server_upload_bytes() -> int | None:
    """Bytes of uploads every session holds together, as ``cap_uploads`` counts them against ``UPLOADS_MB``; None
    outside a script run or if Streamlit's store changed."""
    return _reading_the_store(lambda store, session_id: int(store._total_bytes))


def _reading_the_store(read):
    """``read(store, session_id)`` on Streamlit's upload store, under its lock, for the running session; None outside
    a script run or if the store changed shape."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        with ctx.uploaded_file_mgr._lock:
            return read(ctx.uploaded_file_mgr, ctx.session_id)
    except AttributeError:
        return None


# A session missing from the session manager this long is gone. A reconnecting one moves from its reconnection store
# to its active sessions on the event loop, and a sweep from a script thread that read one, then the other, saw it in
# neither for that instant (session 37's review freed a live session's files 14 times in a tight loop).
GONE_AFTER_S = 10.0
_missing_since: dict[str, float] = {}   # session id → when a sweep first found its files with no session
_missing_lock = threading.Lock()


def release_gone_uploads(now: float | None = None) -> int:
    """Free the uploads Streamlit's store holds for sessions its session manager has not listed (neither connected
    nor kept for reconnection) for ``GONE_AFTER_S`` → how many sessions' files were freed; 0 without a runtime, or
    (logged) if Streamlit's internals moved or changed under the sweep."""
    now = time.monotonic() if now is None else now
    try:
        from streamlit import runtime

        if not runtime.exists():
            return 0
        instance = runtime.get_instance()
        known = {info.session.id for info in instance._session_mgr.list_sessions()}
        store = instance.uploaded_file_mgr
        with store._lock:
            held = list(store.file_storage)
    except AttributeError:
        _log.warning("Streamlit's session manager or upload store changed; closed sessions' uploads are not freed")
        return 0
    except Exception:  # noqa: BLE001 - its expiring store is not thread-safe: a sweep that met it changing waits
        _log.debug("upload sweep skipped", exc_info=True)
        return 0
    gone = []
    with _missing_lock:
        for session_id in list(_missing_since):
            if session_id not in held or session_id in known:
                del _missing_since[session_id]
        for session_id in held:
            if session_id not in known and now - _missing_since.setdefault(session_id, now) >= GONE_AFTER_S:
                gone.append(session_id)
                del _missing_since[session_id]
    for session_id in gone:
        store.remove_session_files(session_id)
    return len(gone)


def largest_upload_mb() -> int:
    """Streamlit's limit on one file (``server.maxUploadSize``, MB)."""
    from streamlit import config

    return int(config.get_option("server.maxUploadSize"))


class UploadRefused(Exception):
    """An upload past a session's or the server's ceiling (an HTTP 413 where Starlette serves the app)."""


def _refusal(message: str) -> Exception:
    try:
        from starlette.exceptions import HTTPException
    except ImportError:
        return UploadRefused(message)
    return HTTPException(status_code=413, detail=message)


def cap_uploads(per_session_mb: int | None = None, total_mb: int | None = None) -> bool:
    """Refuse an upload that would take its session past ``per_session_mb`` or the server past ``total_mb``
    (defaults ``UPLOADS_PER_SESSION_MB``, ``UPLOADS_MB``); once per process → whether the hook was found."""
    try:
        from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager as manager
    except ImportError:
        return False
    if getattr(manager.add_file, "capped", False):
        return True
    per_session = (UPLOADS_PER_SESSION_MB if per_session_mb is None else per_session_mb) * 2**20
    total = (UPLOADS_MB if total_mb is None else total_mb) * 2**20
    add_file = manager.add_file

    def capped_add_file(self, session_id: str, file) -> None:
        release_gone_uploads()  # what sessions long gone still held does not count against this one
        try:
            with self._lock:
                session_bytes = _held_bytes(self, session_id, leaving_out=file.file_id)
                replaced = self.file_storage.get(session_id, {}).get(file.file_id)  # the same file sent again
                server_bytes = self._total_bytes - (len(replaced.data) if replaced is not None else 0)
        except AttributeError:  # Streamlit's store changed shape: uploads go on uncapped rather than all refused
            _log.warning("Streamlit's upload store changed; uploads are not capped per session")
            return add_file(self, session_id, file)
        size = len(file.data)
        if session_bytes + size > per_session:
            raise _refusal(f"this session already holds {session_bytes / 2**20:.0f} MB of uploads, the most is "
                           f"{per_session / 2**20:.0f} MB: remove some files first")
        if server_bytes + size > total:
            raise _refusal("this server holds as many uploads as it can: try again in a few minutes")
        add_file(self, session_id, file)

    capped_add_file.capped, capped_add_file.original = True, add_file
    manager.add_file = capped_add_file
    return True
