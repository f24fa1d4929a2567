"""The flagship's network run by LiteRT's XNNPACK kernels instead of TensorFlow, on CPUs without fast bfloat16.

Why: on a CPU with AVX2 only, TensorFlow runs the frozen VGG16 in float32 through oneDNN, and the flagship
sat at issue 23's speed bar (0.20–0.21× the ECCV16-shaped yardstick at 1 MP). The same network converted
to a LiteRT flatbuffer and run by XNNPACK takes about a fifth less time there (docs/speed.md, "LiteRT on
CPUs without fast bfloat16"). Where bfloat16 is fast (AMX, AVX512-BF16) TensorFlow runs the VGG16 in it,
3–4× faster than float32 in either runtime, and on a GPU TensorFlow uses the GPU: this path is for the rest.

Converted once, ahead of time, not in the server: the converter freezes the weights into its graph copy
after copy, 1.3 GB of peak memory on top of a loaded app (``CONVERSION_MB``), which alone would break the
app's 2.4 GB budget. ``python -m colorizer export-lite`` writes the flatbuffer into a cache folder
(``cache_dir``; the Docker image does it at build time); a server finds it there by the checkpoint's
content and only loads it (+0.2 GB resident: the flatbuffer's weights and XNNPACK's packed copy). Where
there is none (Community Cloud builds no image) the flagship runs on TensorFlow, as before.

One flatbuffer serves every input shape (the photo's own aspect gives several): it is converted with an
unknown batch and spatial size, and the interpreter is resized when a call's shape differs from the last
one's (a few ms). Keras's ``ops.image.resize`` refuses a size that is a tensor (it compares it with 0 in
Python), so the conversion traces the network with that one check skipped (``_sizes_may_be_tensors``);
the resize itself is Keras's own.

Contract
- ``unwanted(arch_name)`` → None where this path applies to that architecture on this host, else why not
  (one line): ``COLORIZER_LITE=0``, another architecture, fast bfloat16 or a GPU, or no ``ai_edge_litert``.
- ``convert(network)`` → (flatbuffer, output names) of a one-input Keras network with dict outputs (the
  flagship: 7–10 s on 2 cores); ``LiteError`` when it cannot be converted.
- ``cached_path(source)``: where the flatbuffer of checkpoint file ``source`` goes (its content's hash and
  the converter's version in the name); ``save(path, blob, names)`` writes it and its names atomically;
  ``read_names(path)`` → the names, or None when there is no usable file.
- ``LiteForward(model, names)`` (flatbuffer bytes or a file, mapped): ``forward(x)`` → {name: float32
  array}, like ``inference.compiled_forward``'s (``traced`` None, ``other_shapes`` empty); one invoke at a time.
- ``check(forward, reference, probe)``: both run on ``probe``; ``LiteError`` naming the first output that
  differs from ``reference``'s (TensorFlow's) by more than ``TOLERANCE`` of its largest value.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from pathlib import Path

import numpy as np

__all__ = ["LITE_ARCHITECTURES", "TOLERANCE", "CONVERSION_MB", "LiteError", "LiteForward", "cache_dir", "cached_path",
           "check", "convert", "read_names", "save", "unwanted"]

# Only the flagship: its frozen VGG16 is where the time goes. The small networks gain little and would pay
# a conversion; hypercolumn_hints takes a second input (the hints), which this module does not handle.
LITE_ARCHITECTURES = ("hypercolumn",)
# The two runtimes sum in different orders: the flagship's outputs differ by about 1e-6 of their scale
# (probabilities by under 1e-6, VGG16 block 5 by 3e-4 against values in the hundreds).
TOLERANCE = 1e-4
# What a conversion adds to the process's peak memory (the flagship, on the loaded model: 1,073 → 2,346 MiB;
# through a SavedModel it peaked lower but gave wrong outputs with Keras 3's variables).
CONVERSION_MB = 1300


class LiteError(RuntimeError):
    """Why the network cannot run on LiteRT here (one line); the caller keeps TensorFlow."""


def unwanted(arch_name: str | None) -> str | None:
    """None when the LiteRT path applies to ``arch_name`` on this host, else why not (one line)."""
    if os.environ.get("COLORIZER_LITE", "1") == "0":
        return "turned off (COLORIZER_LITE=0)"
    if arch_name not in LITE_ARCHITECTURES:
        return f"{arch_name or 'a foreign model'}: TensorFlow only (LiteRT is for {', '.join(LITE_ARCHITECTURES)})"
    from colorizer.models.hypercolumn import fast_encoder_dtype

    if fast_encoder_dtype():
        return "TensorFlow runs the VGG16 in bfloat16 here, faster than LiteRT in float32"
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return "TensorFlow runs on the GPU here"
    try:
        import ai_edge_litert.interpreter  # noqa: F401
    except ImportError:
        return "ai-edge-litert is not installed (pip install -r requirements.txt)"
    return None


@contextlib.contextmanager
def _sizes_may_be_tensors():
    """Keras's ``ops.image.resize`` (bilinear upsampling, Lite0's 2× input) with the positivity check skipped
    when a size is a tensor, as it is when the network is traced with unknown spatial sizes. Calls with
    Python ints go through the original unchanged, so other threads are unaffected meanwhile."""
    import keras
    import keras.src.ops.image as keras_image

    original = keras_image.resize

    def resize(images, size, *args, **kwargs):
        if all(isinstance(s, (int, np.integer)) for s in size):
            return original(images, size, *args, **kwargs)
        return keras_image._resize(images, size, *args, **kwargs)

    keras_image.resize = keras.ops.image.resize = resize
    try:
        yield
    finally:
        keras_image.resize = keras.ops.image.resize = original


def convert(network) -> tuple[bytes, tuple[str, ...]]:
    """A one-input Keras network with dict outputs → (its flatbuffer, for any batch and spatial size; the
    output names in the flatbuffer's order). The flagship: 7–10 s on 2 cores, ``CONVERSION_MB`` of peak memory."""
    import tensorflow as tf

    from colorizer.process import release_unused

    channels = network.inputs[0].shape[-1]
    names = tuple(sorted(network.output_names))
    # A tuple in a fixed order: a flatbuffer converted from a function carries no output names, only this order.
    forward = tf.function(lambda x: tuple(network(x, training=False)[name] for name in names),
                          input_signature=[tf.TensorSpec((None, None, None, channels), tf.float32)])
    try:
        with _sizes_may_be_tensors():
            concrete = forward.get_concrete_function()
        converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], forward)
        return converter.convert(), names
    except Exception as err:  # the converter raises many kinds; any of them means "keep TensorFlow"
        raise LiteError(f"cannot convert to LiteRT ({type(err).__name__}: {str(err).splitlines()[0][:200]})") from None
    finally:
        release_unused()  # the converter's copies go back to the system, not into the next page's arrays


class LiteForward:
    """``forward(x)`` over a LiteRT interpreter (XNNPACK, one thread per usable core); see the module docstring."""

    def __init__(self, model: bytes | Path, names: tuple[str, ...], threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        threads = threads or len(os.sched_getaffinity(0))
        # A file is mapped, not read: its pages stay the page cache's, shared and reclaimable.
        source = {"model_content": model} if isinstance(model, bytes) else {"model_path": str(model)}
        try:
            self.interpreter = Interpreter(**source, num_threads=threads)
        except (ValueError, RuntimeError) as err:
            raise LiteError(f"LiteRT cannot read the flatbuffer ({str(err).splitlines()[0][:200]})") from None
        self.names = tuple(names)
        self._input = self.interpreter.get_input_details()[0]["index"]
        self._outputs = [detail["index"] for detail in self.interpreter.get_output_details()]
        if len(self._outputs) != len(self.names):
            raise LiteError(f"the flatbuffer has {len(self._outputs)} outputs, the network {len(self.names)}")
        self._shape = None
        self._lock = threading.Lock()
        self.traced, self.other_shapes = None, {}  # as compiled_forward's: nothing traced per shape

    def __call__(self, x) -> dict[str, np.ndarray]:
        x = np.ascontiguousarray(x, np.float32)
        with self._lock:
            if self._shape != x.shape:
                self.interpreter.resize_tensor_input(self._input, x.shape)
                self.interpreter.allocate_tensors()
                self._shape = x.shape
            self.interpreter.set_tensor(self._input, x)
            self.interpreter.invoke()
            return {name: self.interpreter.get_tensor(index) for name, index in zip(self.names, self._outputs)}


def cache_dir() -> Path:
    """Where converted flatbuffers go: ``$COLORIZER_CACHE_DIR/lite``, else ``~/.cache/colorizer/lite``
    (never ``weights/``: the app does not write there, and the file is derived, 75 MB, and per converter)."""
    root = os.environ.get("COLORIZER_CACHE_DIR") or Path.home() / ".cache" / "colorizer"
    return Path(root) / "lite"


def cached_path(source: str | Path) -> Path:
    """The flatbuffer's path for checkpoint file ``source`` (``model.keras``): named by the file's content and
    the TensorFlow and LiteRT versions, so a retrained checkpoint or an upgrade never finds a stale one."""
    import tensorflow as tf
    from importlib.metadata import PackageNotFoundError, version

    try:
        litert = version("ai-edge-litert")
    except PackageNotFoundError:
        litert = "none"
    digest = hashlib.sha256(Path(source).read_bytes()).hexdigest()[:16]
    return cache_dir() / f"{Path(source).parent.name}-{digest}-tf{tf.__version__}-litert{litert}.tflite"


def save(path: Path, blob: bytes, names: tuple[str, ...]) -> None:
    """The flatbuffer and, beside it, its output names (``<path>.json``), each written atomically; the names
    last, so a reader never pairs a new flatbuffer with missing names."""
    from colorizer.checkpoints import atomic_write_bytes, atomic_write_text

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, blob)
    atomic_write_text(path.with_suffix(".json"), json.dumps({"outputs": list(names)}))


def read_names(path: Path) -> tuple[str, ...] | None:
    """The output names saved beside flatbuffer ``path``; None when either file is missing or unreadable."""
    try:
        names = json.loads(path.with_suffix(".json").read_text())["outputs"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not path.is_file() or not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        return None
    return tuple(names)


def check(forward: LiteForward, reference, probe: np.ndarray) -> float:
    """``forward`` and ``reference`` (the same network on TensorFlow) on ``probe`` → the largest difference
    relative to each output's scale; ``LiteError`` naming an output that differs by more than ``TOLERANCE``."""
    got, want = forward(probe), reference(probe)
    worst = 0.0
    for name in forward.names:
        if name not in want:
            raise LiteError(f"LiteRT gives {name}, which TensorFlow's network does not")
        expected = np.asarray(want[name], np.float32)
        if got[name].shape != expected.shape:
            raise LiteError(f"LiteRT's {name} has shape {got[name].shape}, TensorFlow's {expected.shape}")
        scale = max(1.0, float(np.abs(expected).max()))
        error = float(np.abs(got[name] - expected).max()) / scale
        if not error <= TOLERANCE:
            raise LiteError(f"LiteRT's {name} differs from TensorFlow's by {error:.3g} of its scale")
        worst = max(worst, error)
    return worst
