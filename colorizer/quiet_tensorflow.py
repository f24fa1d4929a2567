"""TensorFlow without its C++ chatter on stderr, for programs whose stderr is for their own messages
(``python -m colorizer``, ``scripts/*.py``): the one place that knows what TensorFlow prints as it loads.

- ``quiet_logs()``: ``TF_CPP_MIN_LOG_LEVEL`` 3 unless the user set another level; before TensorFlow is imported.
- ``import_tensorflow_quietly()``: at level 3, TensorFlow imported with the lines its libraries print as they load
  (``LOADING_CHATTER``, printed before they read the level) kept off stderr, anything else passed on, and its Python
  logger's warnings (retracing) off too.
- ``chatter_off_stderr()``: the block's ``LOADING_CHATTER`` kept off stderr (LiteRT's interpreter prints one too).
- ``quiet_tensorflow()``: both, for a script that will use TensorFlow anyway (the CLI imports it only for the
  commands that need it, so ``archs`` answers at once).
"""
from __future__ import annotations

import logging
import os
import sys
import tempfile
from contextlib import contextmanager

__all__ = ["LOADING_CHATTER", "quiet_logs", "import_tensorflow_quietly", "chatter_off_stderr", "quiet_tensorflow"]

# What TensorFlow's libraries print as they load, before they read TF_CPP_MIN_LOG_LEVEL (the import twice: TensorFlow
# and its bundled copy); any other line they print then is passed on.
LOADING_CHATTER = ("All log messages before absl::InitializeLog()", "oneDNN custom operations are on",
                   "Could not find cuda drivers", "failed call to cuInit",
                   "Created TensorFlow Lite XNNPACK delegate")  # LiteRT's, at INFO, whatever the level


def quiet_logs() -> None:
    """``TF_CPP_MIN_LOG_LEVEL`` 3 (errors too) unless the user set another: 2 still lets "failed call to cuInit"
    through, logged at ERROR on every machine without a GPU. Only takes effect before TensorFlow is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def import_tensorflow_quietly() -> None:
    """Import TensorFlow with its loading chatter kept off stderr, when ``TF_CPP_MIN_LOG_LEVEL`` is 3
    (``chatter_off_stderr``). A failed import still raises, once stderr is back; a crash inside TensorFlow's loading
    (exit 134, no message) shows its message when run again with ``TF_CPP_MIN_LOG_LEVEL=0``. A no-op at another
    level or once TensorFlow is in."""
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL") != "3" or "tensorflow" in sys.modules:
        return
    with chatter_off_stderr():
        import tensorflow  # noqa: F401
    # Its Python side logs too, past the C++ level: "5 out of the last 12 calls ... triggered tf.function retracing"
    # reached an evaluate's stderr over photos of several sizes (session 33's audit). Errors still show.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


@contextmanager
def chatter_off_stderr():
    """What C++ libraries print on stderr inside the block goes to a temporary file, and every line of it but
    ``LOADING_CHATTER`` is printed after the block (also when it raises). For the few calls that print lines no log
    level reaches: TensorFlow's import, and LiteRT's interpreter ("Created TensorFlow Lite XNNPACK delegate")."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as printed:
        try:
            os.dup2(printed.fileno(), 2)
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            printed.seek(0)
            for line in printed.read().decode("utf-8", "replace").splitlines():
                if line.strip() and not any(chatter in line for chatter in LOADING_CHATTER):
                    print(line, file=sys.stderr)


def quiet_tensorflow() -> None:
    """``quiet_logs()`` then ``import_tensorflow_quietly()``: the first lines of a script that uses TensorFlow,
    before it imports anything that imports it (``colorizer.inference``, ``colorizer.train``, ...)."""
    quiet_logs()
    import_tensorflow_quietly()
