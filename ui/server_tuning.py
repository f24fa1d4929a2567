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

Two settings in ``.streamlit/config.toml`` go with it: ``runner.postScriptGC = false`` (the second full
collection after every run) and ``server.fileWatcherType = "none"`` (after every run the watcher walks
the real path of each of the ~5,000 imported modules on the server's event loop, stalling every
session's connection meanwhile; a hosted app's files do not change under it).
"""
from __future__ import annotations

import logging
import sys

__all__ = ["keep_keras_state"]

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
