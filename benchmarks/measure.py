"""The benchmark's measurements, one model at a time: synthetic inputs, load (or build) a model, FLOPs,
timings of each stage of ``Colorizer.colorize``, peak memory, fine-tuning epochs, and every figure's
ratio to the reference's. No formatting here (``benchmarks.report``)."""
from __future__ import annotations

import statistics
import tempfile
import time
import tracemalloc
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from benchmarks import BenchConfig

__all__ = ["REFERENCE", "synthetic_photo", "synthetic_color_photos", "load_for_bench", "count_flops", "forward_ms",
           "split_times", "peak_memory_mb", "measure_model", "finetune_epoch_times", "add_ratios", "size_key"]

REFERENCE = "eccv16_reference"


# ---------------------------------------------------------------------------------------------- inputs


def synthetic_photo(megapixels: float, seed: int = 0) -> np.ndarray:
    """A 4:3 grayscale photo of about ``megapixels`` MP as the app hands one to the colorizer: a gray
    file's levels, uint8 H×W (``DecodedImage.pixels``)."""
    import cv2

    width = max(8, round((megapixels * 1e6 * 4 / 3) ** 0.5))
    height = max(6, round(width * 3 / 4))
    rng = np.random.default_rng(seed)
    shapes = rng.integers(0, 256, (height // 64 + 2, width // 64 + 2)).astype(np.float32)
    gray = cv2.resize(shapes, (width, height), interpolation=cv2.INTER_CUBIC)
    gray += rng.normal(0, 6, (height, width)).astype(np.float32)  # film grain: detail at full resolution
    return np.clip(gray, 0, 255).astype(np.uint8)


def synthetic_color_photos(n: int, side: int = 320, seed: int = 0) -> list[np.ndarray]:
    """n small uint8 RGB color photos for the fine-tuning timing; their content does not change its cost."""
    import cv2

    rng = np.random.default_rng(seed)
    blobs = [rng.integers(0, 256, (6, 8, 3)).astype(np.uint8) for _ in range(n)]
    return [cv2.resize(b, (side, side * 3 // 4), interpolation=cv2.INTER_CUBIC) for b in blobs]


# ---------------------------------------------------------------------------------------------- models


def load_for_bench(name: str, reference_size: int = 256, lite: bool = True):
    """A model name → (Colorizer, where its weights come from). Absent checkpoints: random weights.
    ``lite``: a shipped checkpoint runs where the app's runs once warm (``Colorizer.use_lite``: LiteRT
    for the flagship on a CPU without fast bfloat16, converted here if its checkpoint has no template);
    False keeps TensorFlow, which is what a cold start's first colorization runs on."""
    from colorizer.checkpoints import shipped_checkpoints
    from colorizer.inference import Colorizer, load
    from colorizer.models import architecture
    from colorizer.models.contract import contract_of
    from benchmarks import yardstick

    if name == REFERENCE:
        return yardstick.yardstick_colorizer(reference_size), "random weights (the reference's cost does not depend on them)"
    shipped = shipped_checkpoints()
    if name in shipped:
        colorizer = load(name)
        if lite:
            colorizer.use_lite(wait=True, convert=True)
        return colorizer, f"weights/{name}"
    arch = architecture(name)
    model = arch.build(arch.WORKING_SIZE)
    contract = contract_of(arch)
    card = {"name": name, "architecture": name, "working_size": arch.WORKING_SIZE,
            "parameters": {"total": model.count_params()}}
    colorizer = Colorizer(name=name, model=model, contract=contract, working_size=arch.WORKING_SIZE, card=card,
                          source="random weights")
    return colorizer, f"random weights (no checkpoint in weights/{name}/)"


def _network_specs(network, working_size: int, batch: int = 1):
    import tensorflow as tf

    specs = [tf.TensorSpec((batch, *(working_size if d is None else d for d in t.shape[1:])), tf.float32)
             for t in network.inputs]
    return specs if len(specs) > 1 else specs[0]


def count_flops(network, working_size: int) -> int:
    """FLOPs of one image through ``network`` at ``working_size``: 2 × multiply-adds, counted per op.

    Walks the ops of the traced TensorFlow graph (so custom layers that call ``ops.conv`` count too):
    Conv2D (dilated ones included), Conv2DBackpropInput (transposed conv), DepthwiseConv2dNative,
    MatMul and BatchMatMul. Element-wise work (bias, activations, normalization, softmax) is left out.
    """
    import tensorflow as tf

    graph = tf.function(lambda x: network(x, training=False)).get_concrete_function(
        _network_specs(network, working_size)).graph
    return sum(_op_flops(op) for op in graph.get_operations())


def _dims(shape) -> list[int] | None:
    dims = shape.as_list() if shape.rank is not None else None
    return None if dims is None or any(d is None for d in dims) else dims


def _op_flops(op) -> int:
    if op.type in ("Conv2D", "DepthwiseConv2dNative"):
        out, kernel = _dims(op.outputs[0].shape), _dims(op.inputs[1].shape)
        if out is None or kernel is None:
            return 0
        per_output = kernel[0] * kernel[1] * (kernel[2] if op.type == "Conv2D" else 1)
        return 2 * int(np.prod(out)) * per_output
    if op.type == "Conv2DBackpropInput":  # transposed conv: every input pixel meets the whole kernel
        kernel, x = _dims(op.inputs[1].shape), _dims(op.inputs[2].shape)
        if kernel is None or x is None:
            return 0
        return 2 * int(np.prod(x[:3])) * int(np.prod(kernel))
    if op.type in ("MatMul", "BatchMatMulV2", "BatchMatMulV3"):
        a, out = _dims(op.inputs[0].shape), _dims(op.outputs[0].shape)
        if a is None or out is None:
            return 0
        transposed = op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x")
        inner = a[-2] if transposed else a[-1]
        return 2 * int(np.prod(out)) * inner
    return 0


# ---------------------------------------------------------------------------------------------- timing


def _median_ms(samples: list[float]) -> float:
    return 1e3 * statistics.median(samples)


def _time_calls(call, runs: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return times


def _materialized(outputs):
    # Converting to numpy waits for the result and copies it out, as every caller does.
    if isinstance(outputs, dict):
        return {k: np.asarray(v) for k, v in outputs.items()}
    if isinstance(outputs, (list, tuple)):
        return [np.asarray(v) for v in outputs]
    return np.asarray(outputs)


class _TimedForward:
    """Wraps a forward function and records the seconds spent in it (network time only)."""

    def __init__(self, forward):
        self.forward, self.seconds = forward, []

    def __call__(self, x):
        start = time.perf_counter()
        outputs = _materialized(self.forward(x))
        self.seconds.append(time.perf_counter() - start)
        return outputs


@contextmanager
def _forward_replaced(colorizer, forward):
    """Run ``colorizer``'s own ``predict_ab`` (its lock, the VAE's z, …) through another forward function."""
    original = colorizer.forward
    colorizer.forward = forward
    try:
        yield
    finally:
        colorizer.forward = original


def forward_ms(colorizer, x, forward, runs: int, warmup: int) -> float:
    """Median milliseconds inside ``forward`` while ``colorizer.predict_ab(x)`` runs on batch ``x``."""
    timed = _TimedForward(forward)
    with _forward_replaced(colorizer, timed):
        for _ in range(warmup):
            colorizer.predict_ab(x)
        timed.seconds.clear()
        for _ in range(runs):
            colorizer.predict_ab(x)
    return _median_ms(timed.seconds)


def split_times(colorizer, image: np.ndarray, runs: int) -> dict:
    """Median ms of the stages of ``Colorizer.colorize`` (the same calls, timed one by one)."""
    stages = {"pre": [], "predict": [], "network": [], "post": []}
    timed = _TimedForward(colorizer.forward)
    with _forward_replaced(colorizer, timed):
        for _ in range(runs):
            t0 = time.perf_counter()
            L_full, x = colorizer.prepared(image)
            t1 = time.perf_counter()
            timed.seconds.clear()
            ab = colorizer.predict_ab(x)
            t2 = time.perf_counter()
            colorizer.join(L_full, ab[0])
            t3 = time.perf_counter()
            stages["pre"].append(t1 - t0)
            stages["predict"].append(t2 - t1)
            stages["network"].append(sum(timed.seconds))
            stages["post"].append(t3 - t2)
    return {name: _median_ms(samples) for name, samples in stages.items()}


# ---------------------------------------------------------------------------------------------- memory


def peak_memory_mb(call) -> tuple[float, float | None]:
    """(numpy-side peak MB by tracemalloc, process RSS high-water delta MB or None) of one ``call()``."""
    from colorizer import process

    rss_delta = None
    if process.reset_peak():
        before = process.status_kb("VmRSS")
        call()
        peak = process.status_kb("VmHWM")
        if before is not None and peak is not None:
            rss_delta = max(0, peak - before) / 1024
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        call()
        numpy_peak = (tracemalloc.get_traced_memory()[1] - baseline) / 2**20
    finally:
        tracemalloc.stop()
    return numpy_peak, rss_delta


# ---------------------------------------------------------------------------------------------- per model


def measure_model(name: str, config: BenchConfig, photos: dict[float, np.ndarray], step=lambda what: None) -> dict:
    """Every per-model figure (see ``MODEL_FIELDS``) except cold start and fine-tuning."""
    from colorizer.inference import compiled_forward

    step("loading")
    colorizer, weights = load_for_bench(name, config.reference_size)
    S = colorizer.working_size
    result = {"weights": weights, "working_size": S, "contract": colorizer.contract,
              "parameters": int(colorizer.network.count_params()),
              "parameters_checkpoint": int(colorizer.model.count_params()),
              "runtime": colorizer.runtime, "lite_status": colorizer.lite_status}
    sizes = {}
    for mp, image in photos.items():
        step(f"{mp:g} MP")
        e2e = _time_calls(lambda: colorizer.colorize(image), config.runs, config.warmup)
        split = split_times(colorizer, image, config.runs)
        numpy_peak, rss_delta = peak_memory_mb(lambda: colorizer.colorize(image))
        end_to_end = _median_ms(e2e)
        sizes[size_key(mp)] = {
            "megapixels": round(image.shape[0] * image.shape[1] / 1e6, 3), "shape": list(image.shape[:2]),
            "end_to_end_ms": end_to_end, "pre_ms": split["pre"], "network_ms": split["network"],
            "post_ms": split["post"], "predict_ms": split["predict"],
            # Of the same timed calls' stages: over another call's end-to-end time (one sample each in a quick
            # bench) a moment's preemption of that call could put it over 1.
            "pre_post_share": (split["pre"] + split["post"]) / max(split["pre"] + split["predict"] + split["post"], 1e-9),
            "numpy_peak_mb": numpy_peak, "rss_peak_delta_mb": rss_delta,
        }
    result["sizes"] = sizes

    step("network")
    x = colorizer.network_input(np.full((S, S), 50.0, np.float32))
    result["forward_ms"] = forward_ms(colorizer, x, colorizer.forward, config.runs, config.warmup)
    result["xla_in_use"] = bool(colorizer.jit_compile)
    if config.xla:
        step("XLA")
        other = compiled_forward(colorizer.network, S, jit_compile=not colorizer.jit_compile)
        other_ms = forward_ms(colorizer, x, other, config.runs, config.warmup)
        result["forward_xla_ms"] = result["forward_ms"] if colorizer.jit_compile else other_ms
        if colorizer.jit_compile:
            result["forward_ms"] = other_ms  # forward_ms is always the non-XLA figure
    else:
        result["forward_xla_ms"] = None
    step(f"batch of {config.batch_size}")
    batch = np.repeat(x, config.batch_size, axis=0)
    batch_ms = forward_ms(colorizer, batch, colorizer.forward, max(1, config.runs // 2), 1)
    result["batch_size"] = config.batch_size
    result["batch_images_per_s"] = config.batch_size / (batch_ms / 1e3)
    # One trace per input shape for everything above (single images and batches): each signature is fixed.
    # A KEEP_ASPECT network adds a graph per shape it ran at (the photo's aspect: ``forward.other_shapes``).
    # A forward on LiteRT traces nothing (``traced`` None): its TensorFlow forward's traces are counted.
    forward = colorizer.forward if getattr(colorizer.forward, "traced", None) is not None else colorizer.tf_forward
    graphs = [forward.traced, *getattr(forward, "other_shapes", {}).values()]
    result["traces"] = sum(int(graph.experimental_get_tracing_count()) for graph in graphs)
    step("FLOPs")
    result["flops"] = count_flops(colorizer.network, S)
    result["_colorizer"] = colorizer  # for fine-tuning; dropped before the result is returned
    return result


def size_key(mp: float) -> str:
    return f"{mp:g}"


# ---------------------------------------------------------------------------------------------- fine-tune


def finetune_epoch_times(name: str, colorizer, photos: list) -> dict | str:
    """{"cached": s, "uncached": s} per epoch via ``benchmarks.epoch_timing.time_epoch``, or why not."""
    if name == REFERENCE:
        return "n/a (no encoder/decoder split)"
    from benchmarks.epoch_timing import time_epoch
    from colorizer.checkpoints import save_model_atomic, shipped_checkpoints, write_card

    with tempfile.TemporaryDirectory(prefix="colorizer-bench-") as tmp:
        if name in shipped_checkpoints():
            base = name
        else:  # a random-weight checkpoint: an epoch costs the same whatever the weights
            folder = Path(tmp) / name
            save_model_atomic(colorizer.model, folder / "model.keras")
            write_card(folder, {**colorizer.card, "name": name})
            base = str(folder)
        try:
            return {"cached": float(time_epoch(base, photos, cached=True)),
                    "uncached": float(time_epoch(base, photos, cached=False))}
        except Exception as err:  # noqa: BLE001 - a failing fine-tune must not sink the whole benchmark
            return f"n/a ({type(err).__name__}: {str(err).splitlines()[0][:120] if str(err) else ''})"



# ---------------------------------------------------------------------------------------------- ratios


def _ratio(value, reference, floor: float = 0.0):
    """value ÷ reference; None when either is missing or the reference is at most ``floor`` (noise)."""
    if isinstance(value, (int, float)) and isinstance(reference, (int, float)) and reference > floor:
        return value / reference
    return None


def add_ratios(models: dict) -> None:
    """Beside every figure of every model, its ratio to the reference's same figure."""
    ref = models[REFERENCE]
    for data in models.values():
        ratios = {key: _ratio(data[key], ref.get(key)) for key in
                  ("parameters", "flops", "forward_ms", "forward_xla_ms", "batch_images_per_s")}
        for key in ("cold_start_s", "finetune_epoch_s"):
            mine, theirs = data.get(key), ref.get(key)
            if isinstance(mine, dict) and isinstance(theirs, dict):
                ratios[key] = {k: _ratio(mine[k], theirs.get(k)) for k in mine}
        # Below 1 MB, a memory ratio says nothing but allocator noise.
        ratios["sizes"] = {
            size: {k: _ratio(v, ref["sizes"].get(size, {}).get(k), 1.0 if k.endswith("_mb") else 0.0)
                   for k, v in figures.items() if k not in ("megapixels", "shape")}
            for size, figures in data["sizes"].items()
        }
        data["ratios"] = ratios


# ---------------------------------------------------------------------------------------------- guidance


def guided_times(runs: int, warmup: int, megapixels: float = 1.0) -> dict:
    """Median ms of the two guided colorizations on a ``megapixels`` photo: the flagship colored from
    a color reference of the same size (``colorizer.exemplar``), and ``hypercolumn_hints`` with 10
    hints (``colorizer.hints``). Shipped weights where present, random ones otherwise (same cost)."""
    import cv2

    from colorizer import FLAGSHIP
    from colorizer.hints import sample_hints

    photo = synthetic_photo(megapixels)
    height, width = photo.shape[:2]
    reference = cv2.resize(synthetic_color_photos(1, seed=1)[0], (width, height), interpolation=cv2.INTER_CUBIC)
    flagship, _ = load_for_bench(FLAGSHIP)
    hinted, _ = load_for_bench("hypercolumn_hints")
    hints = sample_hints(reference, 10, seed=0)
    return {
        "megapixels": megapixels,
        "reference_ms": _median_ms(_time_calls(lambda: flagship.colorize(photo, reference=reference), runs, warmup)),
        "hints_10_ms": _median_ms(_time_calls(lambda: hinted.colorize(photo, hints=hints), runs, warmup)),
    }
