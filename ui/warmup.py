"""Cold start: the default model loads in the background, once per server process, as early as it can.

The first visitor after a start would otherwise wait for TensorFlow to import (3–4 s on 2 cores) and
the flagship to load and trace before the Colorize page shows anything colorized. ``start()`` does that
work in a daemon thread instead, while the server starts and the page draws, and nothing more: only the
model the first page shows, through ``loaders.load_colorizer`` (the same shared cache the pages read), traced
at the shape of the photo that page opens on, the 8-bit Lab join's table and compiled kernels
(``colorizer.lab8.warm_up``, in a thread beside the model's) and the hint swatches' color names. Other models load
when a page asks for them.

Contract
- ``start()``: starts the thread the first time it is called in the process (later calls return the
  same ``Warmup``); the entry file calls it first thing on every run, and ``python -m ui.serve``
  calls it before the server even listens.
- ``Warmup``: ``name`` (the checkpoint), ``started``/``finished`` (``time.monotonic()``; ``finished``
  None while running), ``error`` (one line, or None), ``seconds`` (finished − started).
A failure is logged and recorded, never raised: the page then loads the model itself, as before.
``COLORIZER_WARMUP=0`` turns it off (the benchmark's "without warm-up" cold start).
"""
from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass

from ui import callbacks

__all__ = ["Warmup", "start", "current"]

_log = logging.getLogger(__name__)


@dataclass
class Warmup:
    name: str | None = None
    started: float = 0.0
    finished: float | None = None
    error: str | None = None

    @property
    def seconds(self) -> float | None:
        return None if self.finished is None else self.finished - self.started


_lock = threading.Lock()
_current: Warmup | None = None


def current() -> Warmup | None:
    """The warm-up of this process, or None when none was started."""
    return _current


def start() -> Warmup:
    """Start the warm-up thread once per process; → its ``Warmup`` record."""
    global _current
    with _lock:
        if _current is None:
            _current = Warmup(started=time.monotonic())
            if os.environ.get("COLORIZER_WARMUP", "1") == "0":
                _current.error, _current.finished = "turned off (COLORIZER_WARMUP=0)", _current.started
                return _current
            threading.Thread(target=_warm, args=(_current,), name="colorizer-warmup", daemon=True).start()
        return _current


def _warm(record: Warmup) -> None:
    join_warmup = None
    try:
        # The join's table and compiled kernels beside TensorFlow's import, not after the model: Numba's import and the
        # kernels' loading (about 1.3 s) are no longer done by the first page's imports (session 45), and the first
        # colorization's join needs them; here they are ready by then.
        join_warmup = threading.Thread(target=_warm_join, name="colorizer-warmup-join", daemon=True)
        join_warmup.start()
        from colorizer import color_names
        from ui import loaders, widgets

        record.name = widgets.default_checkpoint(list(loaders.available_checkpoints()))
        if record.name is not None:
            model = loaders.load_colorizer(record.name)  # imports TensorFlow, loads, traces: the shared cache
            # The first page's photo at its own shape too, outside the results' cache: the first visitor's result
            # was that shape's trace, and its seconds (45 on a loaded class server), shared with every visitor who
            # opened the page, read as the model's speed (session 39's walk-through).
            model.colorize(loaders.gallery_picture(widgets.DEFAULT_GALLERY_PHOTO).pixels)
        # The color names' table (matplotlib's and scikit-image's imports), after the first page has drawn: a
        # visitor's first hint swatch would otherwise wait for it.
        color_names.color_name((0, 0, 0))
    except Exception as err:  # noqa: BLE001 - the page loads the model itself and shows any error
        record.error = callbacks.error_line(err, 200)
        _log.warning("warm-up failed (%s); the first page loads its model itself", record.error)
    finally:
        if join_warmup is not None and join_warmup.ident is not None:
            join_warmup.join()  # "finished" means nothing of the warm-up still runs, after a failure too
        record.finished = time.monotonic()
    if record.error is None:
        _log.info("warm-up: %s ready after %.1f s", record.name, record.seconds)


def _warm_join() -> None:
    """``lab8.warm_up``: the 8-bit Lab join's table and compiled kernels. A failure is logged; the page meets it again."""
    try:
        from colorizer import lab8

        lab8.warm_up()
    except Exception as err:  # noqa: BLE001 - logged; the first join raises it to the page in words
        _log.warning("warm-up of the 8-bit Lab join failed (%s)", callbacks.error_line(err, 200))
