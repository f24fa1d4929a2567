"""Widget callbacks that cannot show a traceback.

Streamlit runs an ``on_click``/``on_change`` callback before the page script, outside ``run_page``'s safety
net: an exception there was drawn as an exception box with its traceback (Start fine-tune with a full
server, Add hint on a stale point). ``safe(fn)`` wraps a callback so that an exception is logged (with
its traceback, in the server log) and becomes one line, which ``errors_ui()`` (called by ``run_page``
before every page) shows as an error; Streamlit's own control flow (rerun, stop) passes through.
"""
from __future__ import annotations

import functools
import logging
from typing import Callable

__all__ = ["safe", "errors_ui", "ERRORS_KEY"]

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
            line = f"{type(err).__name__}: {' '.join(str(err).split())[:300]}" if str(err) else type(err).__name__
            st.session_state.setdefault(ERRORS_KEY, []).append(line)
    return callback


def errors_ui() -> None:
    """Show (once) the lines of the callbacks that failed before this run."""
    import streamlit as st

    from ui.plain_text import plain

    for line in st.session_state.pop(ERRORS_KEY, []):
        st.error(f"That did not work: {plain(line)}. The page is as it was; the details are in the server log.",
                 icon=":material/error:")
