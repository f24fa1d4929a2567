"""The flagship's network run by LiteRT's XNNPACK kernels instead of TensorFlow, on CPUs without fast bfloat16.

Why: on a CPU with AVX2 only, TensorFlow runs the frozen VGG16 in float32 through oneDNN, and the flagship
sat at issue 23's speed bar (0.20–0.21× the ECCV16-shaped yardstick at 1 MP). The same network converted
to a LiteRT flatbuffer and run by XNNPACK takes about a fifth less time there (docs/speed.md, "LiteRT on
a CPU without fast bfloat16: under the bar"). Where bfloat16 is fast (AMX, AVX512-BF16) TensorFlow runs the VGG16 in it,
3–4× faster than float32 in either runtime, and on a GPU TensorFlow uses the GPU: this path is for the rest.

Converted once, by a developer, never by the server: the converter freezes the weights into its graph
copy after copy, 1.3 GB of peak memory on top of a loaded app (``CONVERSION_MB``), which alone would break
the app's 2.4 GB budget. What is kept is a *template*: the converted flatbuffer with every buffer that
holds one of the network's weights zeroed (gzip then makes the flagship's 75 MB 101 KB), and an index saying
which weight, laid out how, goes where. ``python -m colorizer export-lite`` writes both beside the
checkpoint (``TEMPLATE``, ``INDEX``; shipped in ``weights/hypercolumn/``). A server fills the template
from the weights it has loaded anyway (byte for byte the converted flatbuffer; 0.17 GB more resident, no
converter), checks the result against
TensorFlow on a probe, and only then switches; a template that no longer fits the network (another
architecture, retrained weights in its verbatim buffers) fails that check and TensorFlow stays.

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
- ``make_template(blob, names, network)`` → (gzipped template, index): every buffer equal to one of
  ``network.weights`` as stored (or transposed the ways the converter lays kernels out) zeroed and indexed;
  ``save_template(folder, …)`` writes both atomically, the index last.
- ``fill_template(folder, network)`` → (flatbuffer, output names) from the template beside a checkpoint
  and ``network``'s weights; None when the folder has none; ``LiteError`` when it does not fit the network.
- ``LiteForward(blob, names)``: ``forward(x)`` → {name: float32 array}, like ``inference.compiled_forward``'s (``traced`` None, ``other_shapes`` empty); one invoke at a time.
- ``check(forward, reference, probe)``: both run on ``probe``; ``LiteError`` naming the first output that
  differs from ``reference``'s (TensorFlow's) by more than ``TOLERANCE`` of its largest value.
"""
from __future__ import annotations

import contextlib
import gzip
import json
import os
import threading
from pathlib import Path

import numpy as np

__all__ = ["LITE_ARCHITECTURES", "TOLERANCE", "CONVERSION_MB", "TEMPLATE", "INDEX", "LiteError", "LiteForward", "check",
           "convert", "fill_template", "make_template", "save_template", "unwanted"]

# Only the flagship: its frozen VGG16 is where the time goes. The small networks gain little and would pay
# a conversion; hypercolumn_hints takes a second input (the hints), which this module does not handle.
LITE_ARCHITECTURES = ("hypercolumn",)
# The two runtimes sum in different orders: the flagship's outputs differ by about 1e-6 of their scale
# (probabilities by under 1e-6, VGG16 block 5 by 3e-4 against values in the hundreds); a wrong weight
# moves them by far more.
TOLERANCE = 1e-4
# What a conversion adds to the process's peak memory (the flagship, on the loaded model: 1,073 → 2,346 MiB;
# through a SavedModel it peaked lower but gave wrong outputs with Keras 3's variables).
CONVERSION_MB = 1300
# Beside a checkpoint's model.keras: the weight-free flatbuffer and where its weights go.
TEMPLATE, INDEX = "lite_template.tflite.gz", "lite_template.json"
# Buffers smaller than this are kept verbatim in the template (biases of a few channels, folded constants).
MIN_INDEXED_BYTES = 64


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
    # The dict's keys, from one small call: Keras's ``output_names`` are the output layers' names, which
    # need not be the keys.
    names = tuple(sorted(network(np.zeros((1, 32, 32, channels), np.float32), training=False)))
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

    def __init__(self, blob: bytes, names: tuple[str, ...], threads: int | None = None):
        from ai_edge_litert.interpreter import Interpreter

        from colorizer.quiet_tensorflow import chatter_off_stderr

        threads = threads or len(os.sched_getaffinity(0))
        try:
            # "INFO: Created TensorFlow Lite XNNPACK delegate for CPU.", once a process, as the first interpreter's
            # first allocation applies the delegate: each one is allocated here, inside the block.
            with chatter_off_stderr():
                self.interpreter = Interpreter(model_content=bytes(blob), num_threads=threads)
                self.interpreter.allocate_tensors()
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


# How the converter lays out a Keras weight: as stored, a convolution's kernel HWIO → OHWI, a depthwise
# kernel H×W×C×1 → 1×H×W×C, a dense kernel transposed.
_LAYOUTS = {
    "as stored": lambda w: w,
    "OHWI": lambda w: np.transpose(w, (3, 0, 1, 2)) if w.ndim == 4 else None,
    "1HWC": lambda w: w.reshape(1, w.shape[0], w.shape[1], -1) if w.ndim == 4 else None,
    "transposed": lambda w: w.T if w.ndim == 2 else None,
}


def _buffers(blob) -> list[tuple[int, int]]:
    """(offset, length) in ``blob`` of every flatbuffer buffer that holds data."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.Model.GetRootAsModel(blob, 0)
    start = np.frombuffer(blob, np.uint8).__array_interface__["data"][0]
    spans = []
    for i in range(model.BuffersLength()):
        buffer = model.Buffers(i)
        if buffer.DataLength():
            data = buffer.DataAsNumpy()
            spans.append((data.__array_interface__["data"][0] - start, int(data.size)))
    return spans


def _array(variable) -> np.ndarray:
    """A Keras weight as the float32 array the flatbuffer holds."""
    return np.asarray(variable.numpy(), np.float32)


def make_template(blob: bytes, names: tuple[str, ...], network) -> tuple[bytes, dict]:
    """A converted flatbuffer → (it gzipped with every weight buffer zeroed, the index of those buffers)."""
    weights = [_array(variable) for variable in network.weights]
    by_bytes: dict[bytes, tuple[int, str]] = {}
    for i, weight in enumerate(weights):
        for layout, arrange in _LAYOUTS.items():
            arranged = arrange(weight)
            if arranged is not None and arranged.nbytes >= MIN_INDEXED_BYTES:
                by_bytes.setdefault(np.ascontiguousarray(arranged).tobytes(), (i, layout))
    template, entries, spans = bytearray(blob), [], _buffers(blob)
    for offset, length in spans:
        found = by_bytes.get(bytes(blob[offset:offset + length])) if length >= MIN_INDEXED_BYTES else None
        if found is not None:
            i, layout = found
            template[offset:offset + length] = bytes(length)
            entries.append({"offset": offset, "length": length, "weight": i, "path": network.weights[i].path,
                            "shape": list(weights[i].shape), "layout": layout})
    index = {"outputs": list(names), "size": len(blob), "buffers": entries,
             "verbatim_bytes": sum(n for _, n in spans) - sum(e["length"] for e in entries)}
    return gzip.compress(bytes(template), compresslevel=9, mtime=0), index


def save_template(folder: str | Path, template: bytes, index: dict) -> None:
    """Both files beside a checkpoint, each atomically; the index last, so a reader never pairs a new
    template with an old index (``fill_template`` also checks the size)."""
    from colorizer.checkpoints import atomic_write_bytes, atomic_write_text

    atomic_write_bytes(Path(folder) / TEMPLATE, template)
    atomic_write_text(Path(folder) / INDEX, json.dumps(index, indent=1))


def fill_template(folder: str | Path, network) -> tuple[bytes, tuple[str, ...]] | None:
    """The flatbuffer rebuilt from the template beside a checkpoint and ``network``'s own weights; None where
    the folder has no template, ``LiteError`` where it does not fit ``network``."""
    folder = Path(folder)
    if not (folder / TEMPLATE).is_file() or not (folder / INDEX).is_file():
        return None
    try:
        index = json.loads((folder / INDEX).read_text())
        blob = bytearray(gzip.decompress((folder / TEMPLATE).read_bytes()))
        entries, names = index["buffers"], tuple(index["outputs"])
    except (OSError, ValueError, KeyError, TypeError, EOFError) as err:
        raise LiteError(f"cannot read {folder / TEMPLATE} ({type(err).__name__}: {err})") from None
    if len(blob) != index.get("size"):
        raise LiteError(f"{folder / TEMPLATE}: {len(blob)} bytes, its index says {index.get('size')}")
    variables = network.weights
    for entry in entries:
        try:
            i, path, layout = int(entry["weight"]), entry["path"], _LAYOUTS[entry["layout"]]
            offset, length = int(entry["offset"]), int(entry["length"])
        except (KeyError, TypeError, ValueError) as err:
            raise LiteError(f"{folder / INDEX}: a malformed entry ({type(err).__name__}: {err})") from None
        if not (0 <= i < len(variables)) or variables[i].path != path or list(variables[i].shape) != entry.get("shape"):
            raise LiteError(f"{folder / TEMPLATE} does not fit this network (weight {path})")
        data = np.ascontiguousarray(layout(_array(variables[i]))).tobytes()
        if len(data) != length or not 0 <= offset <= len(blob) - length:
            raise LiteError(f"{folder / TEMPLATE}: weight {path} is {len(data)} bytes, its buffer {length} at {offset}")
        blob[offset:offset + length] = data
    return bytes(blob), names


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
