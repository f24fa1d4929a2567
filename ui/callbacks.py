"""Widget callbacks that cannot show a traceback.

Streamlit runs an ``on_click``/``on_change`` callback before the page script, outside ``run_page``'s safety
net: an exception there was drawn as an exception box with its traceback (Start fine-tune with a full
server, Add hint on a stale point). ``safe(fn)`` wraps a callback so that an exception is logged (with
its traceback, in the server log) and becomes one line (``error_line``: no server paths), which ``errors_ui()`` (called by ``run_page``
before every page) shows as an error; Streamlit's own control flow (rerun, stop) passes through.
"""
from __future__ import annotations

import functools
import logging
from typing import Callable

from ui.plain_text import without_server_paths

__all__ = ["safe", "errors_ui", "error_line", "ERRORS_KEY"]

ERRORS_KEY = "app.callback_errors"
_log = logging.getLogger(__name__)


def safe(fn: Callable) -> Callable:
    """``fn`` as a callback whose exceptions become one error line on the next page run."""
    @functools.wraps(fn)
    def callback(*args, **kwargs):
        import streamlit as st

        try:
            return fn(*args, **kwargs)
        except Exception as err:  # Streamlit's rerun/stop signals are BaseExceptions and pass through
            _log.exception("callback %s failed", getattr(fn, "__name__", fn))
            st.session_state.setdefault(ERRORS_KEY, []).append(error_line(err))
    return callback


def error_line(err: BaseException, limit: int = 300) -> str:
    """An unexpected error as a page shows it: its type and one line of its text, without server paths (an
    ``OSError`` names the files it failed on)."""
    text = without_server_paths(" ".join(str(err).split()))[:limit]
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def errors_ui() -> None:
    """Show (once) the lines of the callbacks that failed before this run."""
    import streamlit as st

    from ui.plain_text import plain

    for line in st.session_state.pop(ERRORS_KEY, []):
        st.error(f"That did not work: {plain(line)}. The page is as it was; the details are in the server log.",
                 icon=":material/error:")
