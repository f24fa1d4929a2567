"""Benchmark: how fast and how lean every architecture colorizes, beside an ECCV16-shaped reference.

``python -m colorizer bench [--json FILE] [--sizes 0.25,1,4,12] [--runs 5] [--quick]`` prints a
Markdown report (paste-ready for the README) and optionally writes the same figures as JSON.

What is measured, per model (each architecture, loaded from ``weights/<arch>/`` when that checkpoint
exists, else built with random weights — speed does not depend on weight values — and the
``colorizer.reference`` network, run through the very same ``Colorizer`` code path):
- per photo size (megapixels): end-to-end ``Colorizer.colorize`` time (median of ``runs`` after
  warm-up), split into pre-processing (8-bit lightness + shrink to the working size), the network
  (the bare traced forward pass) and post-processing (``Colorizer.join``: upsample ab, bilinear or
  guided by L's edges, Lab → RGB, uint8);
  peak memory of one call, twice: numpy-side allocations (``tracemalloc``, which sees every numpy
  array, OpenCV's outputs included, but not TensorFlow's buffers) and the process's resident-set
  high-water mark above its level before the call (``VmHWM`` from ``/proc/self/status``, reset
  through ``/proc/self/clear_refs``);
- per model: parameters of the inference network, FLOPs per image at the working size (counted
  analytically: 2 × the multiply-adds of every Conv2D, transposed-conv, depthwise and MatMul op of the
  traced graph, custom layers included), images per second through the network in a batch, the
  forward time with and without XLA (``jit_compile``), fine-tuning time per epoch with and without
  the encoder-feature cache (``colorizer.finetune.time_epoch``), and the cold start: a fresh
  process's time from spawn to its first colorized 1-megapixel photo.
Every figure gets its ratio to the reference's. The input is a synthetic 4:3 grayscale photo as the
app receives one (uint8 H×W×3, R = G = B): colorization cost does not depend on its content.
Timings are wall-clock on whatever else the machine is doing: the report records the load average.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import urllib.request
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from colorizer import ARCHITECTURE_NAMES, FLAGSHIP

__all__ = [
    "BenchConfig", "run_benchmark", "markdown_report", "bench_from_cli", "synthetic_photo", "count_flops",
    "load_for_bench", "SIZE_FIELDS", "MODEL_FIELDS", "REFERENCE",
]

REFERENCE = "eccv16_reference"
REPO_ROOT = Path(__file__).resolve().parent.parent
# Fields every model gets per photo size, and once per model (the test checks they are all there).
SIZE_FIELDS = ("megapixels", "shape", "end_to_end_ms", "pre_ms", "network_ms", "post_ms", "predict_ms",
               "pre_post_share", "numpy_peak_mb", "rss_peak_delta_mb")
MODEL_FIELDS = ("weights", "working_size", "contract", "parameters", "flops", "forward_ms", "forward_xla_ms",
                "xla_in_use", "traces", "batch_size", "batch_images_per_s", "finetune_epoch_s", "cold_start_s",
                "sizes", "ratios")
# Goals of issue 5 at 1 megapixel, as fractions of the reference's end-to-end time.
GOAL_SIZE_MP = 1.0
GOAL_EVERY = 0.5
GOAL_FASTEST = 0.1
GOAL_PRE_POST_SHARE = 0.25
COLD_START_MP = 1.0


@dataclass
class BenchConfig:
    """What to measure; ``quick_config()`` is a smoke test (seconds per model), not numbers for the README."""

    sizes_mp: tuple[float, ...] = (0.25, 1.0, 4.0, 12.0)
    runs: int = 5
    warmup: int = 2
    batch_size: int = 16
    architectures: tuple[str, ...] = ARCHITECTURE_NAMES
    reference_size: int = 256
    xla: bool = True
    # Models whose cold start / fine-tuning epoch is measured (None: all of them).
    cold_start_models: tuple[str, ...] | None = None
    finetune_models: tuple[str, ...] | None = None
    finetune_photos: int = 16
    streamlit: bool = True
    quick: bool = False
    command: str = ""

    @classmethod
    def quick_config(cls, **overrides) -> "BenchConfig":
        settings = dict(sizes_mp=(1.0,), runs=2, warmup=1, batch_size=2, xla=False,
                        cold_start_models=(FLAGSHIP,), finetune_models=("cifar_ae",),
                        finetune_photos=4, streamlit=False, quick=True)
        return cls(**{**settings, **overrides})

    def measures(self, selection: tuple[str, ...] | None, name: str) -> bool:
        return selection is None or name in selection


# ---------------------------------------------------------------------------------------------- inputs


def synthetic_photo(megapixels: float, seed: int = 0) -> np.ndarray:
    """A 4:3 grayscale photo of about ``megapixels`` MP as the app gets one: uint8 H×W×3 with R = G = B."""
    import cv2

    width = max(8, round((megapixels * 1e6 * 4 / 3) ** 0.5))
    height = max(6, round(width * 3 / 4))
    rng = np.random.default_rng(seed)
    shapes = rng.integers(0, 256, (height // 64 + 2, width // 64 + 2)).astype(np.float32)
    gray = cv2.resize(shapes, (width, height), interpolation=cv2.INTER_CUBIC)
    gray += rng.normal(0, 6, (height, width)).astype(np.float32)  # film grain: detail at full resolution
    gray = np.clip(gray, 0, 255).astype(np.uint8)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2RGB)


def synthetic_color_photos(n: int, side: int = 320, seed: int = 0) -> list[np.ndarray]:
    """n small uint8 RGB color photos for the fine-tuning timing; their content does not change its cost."""
    import cv2

    rng = np.random.default_rng(seed)
    blobs = [rng.integers(0, 256, (6, 8, 3)).astype(np.uint8) for _ in range(n)]
    return [cv2.resize(b, (side, side * 3 // 4), interpolation=cv2.INTER_CUBIC) for b in blobs]


# ---------------------------------------------------------------------------------------------- models


def load_for_bench(name: str, reference_size: int = 256):
    """A model name → (Colorizer, where its weights come from). Absent checkpoints: random weights."""
    from colorizer.checkpoints import shipped_checkpoints
    from colorizer.inference import Colorizer, load
    from colorizer.models import architecture
    from colorizer import reference

    if name == REFERENCE:
        return reference.reference_colorizer(reference_size), "random weights (the reference's cost does not depend on them)"
    shipped = shipped_checkpoints()
    if name in shipped:
        return load(name), f"weights/{name}"
    arch = architecture(name)
    model = arch.build(arch.WORKING_SIZE)
    contract = {"rgb": "gray01_rgb", "ab": "L_ab", "ab313": "L_313"}[arch.OUTPUT_KIND]
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
            L_full = colorizer.lightness(image)
            x = colorizer.network_input(L_full)
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


def _status_kb(key: str) -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_rss_peak() -> bool:
    """Reset VmHWM to the current RSS (Linux ≥ 4.0); False where that is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_memory_mb(call) -> tuple[float, float | None]:
    """(numpy-side peak MB by tracemalloc, process RSS high-water delta MB or None) of one ``call()``."""
    rss_delta = None
    if _reset_rss_peak():
        before = _status_kb("VmRSS")
        call()
        peak = _status_kb("VmHWM")
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
              "parameters_checkpoint": int(colorizer.model.count_params())}
    sizes = {}
    for mp, image in photos.items():
        step(f"{mp:g} MP")
        e2e = _time_calls(lambda: colorizer.colorize(image), config.runs, config.warmup)
        split = split_times(colorizer, image, config.runs)
        numpy_peak, rss_delta = peak_memory_mb(lambda: colorizer.colorize(image))
        end_to_end = _median_ms(e2e)
        sizes[_size_key(mp)] = {
            "megapixels": round(image.shape[0] * image.shape[1] / 1e6, 3), "shape": list(image.shape[:2]),
            "end_to_end_ms": end_to_end, "pre_ms": split["pre"], "network_ms": split["network"],
            "post_ms": split["post"], "predict_ms": split["predict"],
            "pre_post_share": (split["pre"] + split["post"]) / max(end_to_end, 1e-9),
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
    # One trace for everything above (single images and batches): the input signature is fixed.
    result["traces"] = int(colorizer.forward.traced.experimental_get_tracing_count())
    step("FLOPs")
    result["flops"] = count_flops(colorizer.network, S)
    result["_colorizer"] = colorizer  # for fine-tuning; dropped before the result is returned
    return result


def _size_key(mp: float) -> str:
    return f"{mp:g}"


# ---------------------------------------------------------------------------------------------- fine-tune


def finetune_epoch_times(name: str, colorizer, photos: list) -> dict | str:
    """{"cached": s, "uncached": s} per epoch via ``colorizer.finetune.time_epoch``, or why not."""
    if name == REFERENCE:
        return "n/a (no encoder/decoder split)"
    try:
        from colorizer.finetune import time_epoch
    except ImportError:
        return "n/a (finetune module missing)"
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


# ---------------------------------------------------------------------------------------------- cold start


_COLD_START_CHILD = """
import time
start = time.perf_counter()
from colorizer.bench import cold_start_child
cold_start_child({name!r}, {mp!r}, start)
"""


def cold_start_child(name: str, megapixels: float, start: float) -> None:
    """In a fresh process: import, load (or build) ``name``, colorize one photo; print timings as JSON."""
    from colorizer import inference  # noqa: F401 - imports TensorFlow, as the app must

    imported = time.perf_counter()
    colorizer, _ = load_for_bench(name)
    loaded = time.perf_counter()
    colorizer.colorize(synthetic_photo(megapixels))
    done = time.perf_counter()
    print("COLD_START " + json.dumps({"import_s": imported - start, "load_s": loaded - imported,
                                      "first_colorize_s": done - loaded}), flush=True)


def _child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def cold_start(name: str, megapixels: float = COLD_START_MP, timeout: float = 300) -> dict | str:
    """Seconds from spawning ``python`` to its first colorized photo (interpreter start included)."""
    code = _COLD_START_CHILD.format(name=name, mp=megapixels)
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, env=_child_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:
            if line.startswith("COLD_START "):
                total = time.perf_counter() - start
                process.wait(timeout=timeout)
                return {"total_s": total, **json.loads(line.split(" ", 1)[1])}
        process.wait(timeout=timeout)
        last = (process.stderr.read().strip().splitlines() or ["no output"])[-1]
        return f"n/a (child failed: {last[:160]})"
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return f"n/a (no image within {timeout:.0f} s)"


def streamlit_cold_start(timeout: float = 120) -> dict | str:
    """``streamlit run streamlit_app.py`` until ``/_stcore/health`` answers and ``/`` is served."""
    app = REPO_ROOT / "streamlit_app.py"
    if not app.is_file():
        return "n/a (no streamlit_app.py)"
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=_child_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        healthy = _wait_for(f"http://127.0.0.1:{port}/_stcore/health", start, timeout, process)
        if healthy is None:
            return "n/a (server did not answer)"
        page = _wait_for(f"http://127.0.0.1:{port}/", start, timeout, process)
        return {"health_s": healthy, "index_s": page}
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(url: str, start: float, timeout: float, process) -> float | None:
    while time.perf_counter() - start < timeout and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    response.read()
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.05)
    return None


# ---------------------------------------------------------------------------------------------- machine


def machine_description() -> dict:
    """CPU model, cores, OS and the versions of everything on the hot path."""
    import cv2
    import keras
    import tensorflow as tf

    from colorizer.hardware import cpu_model

    cpu = cpu_model()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable, "os": platform.platform(),
        "python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
        "numpy": np.__version__, "opencv": cv2.__version__,
        "load_average_start": _load_average(),
    }


def _load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None


# ---------------------------------------------------------------------------------------------- the run


def _ratio(value, reference, floor: float = 0.0):
    """value ÷ reference; None when either is missing or the reference is at most ``floor`` (noise)."""
    if isinstance(value, (int, float)) and isinstance(reference, (int, float)) and reference > floor:
        return value / reference
    return None


def _add_ratios(models: dict) -> None:
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


def goal_check(result: dict) -> dict:
    """Issue 5's goals at 1 MP: every architecture ≤ ½ of the reference's time, the fastest ≤ 1/10."""
    key = _size_key(GOAL_SIZE_MP)
    models = result["models"]
    if key not in models[REFERENCE]["sizes"]:
        return {"size_mp": GOAL_SIZE_MP, "measured": False}
    ratios = {name: data["ratios"]["sizes"][key]["end_to_end_ms"] for name, data in models.items() if name != REFERENCE}
    shares = {name: data["sizes"][key]["pre_post_share"] for name, data in models.items() if name != REFERENCE}
    if not ratios:
        return {"size_mp": GOAL_SIZE_MP, "measured": False}
    fastest = min(ratios, key=ratios.get)
    return {
        "size_mp": GOAL_SIZE_MP, "measured": True, "ratios": ratios,
        "every_within_half": all(r <= GOAL_EVERY for r in ratios.values()),
        "fastest": fastest, "fastest_within_tenth": ratios[fastest] <= GOAL_FASTEST,
        "pre_post_shares": shares, "pre_post_within_quarter": {n: s <= GOAL_PRE_POST_SHARE for n, s in shares.items()},
    }


def run_benchmark(config: BenchConfig, progress=None) -> dict:
    """Measure everything ``config`` asks for; a JSON-able dict (see ``markdown_report``).

    ``progress(total)`` → an object with ``update(n)`` and ``set_description(text)`` (tqdm's API), or None.
    """
    machine = machine_description()
    names = [*config.architectures, REFERENCE]
    cold = [n for n in names if config.measures(config.cold_start_models, n)]
    tune = [n for n in names if n != REFERENCE and config.measures(config.finetune_models, n)]
    per_model = len(config.sizes_mp) + 4 + (1 if config.xla else 0)
    total = len(names) * per_model + len(cold) + len(tune) + (1 if config.streamlit else 0)
    bar = progress(total) if progress else None

    def step(what: str) -> None:
        if bar is not None:
            bar.set_description(what)
            bar.update(1)

    skipped = "not measured (--quick)" if config.quick else "not measured"
    photos = {mp: synthetic_photo(mp) for mp in config.sizes_mp}
    tune_photos = synthetic_color_photos(config.finetune_photos)
    models = {}
    for name in names:
        data = measure_model(name, config, photos, step=lambda what, name=name: step(f"{name}: {what}"))
        colorizer = data.pop("_colorizer")
        if name in tune:
            step(f"{name}: fine-tune epochs")
            data["finetune_epoch_s"] = finetune_epoch_times(name, colorizer, tune_photos)
        else:
            data["finetune_epoch_s"] = "n/a (no encoder/decoder split)" if name == REFERENCE else skipped
        models[name] = data
        del colorizer  # one model in memory at a time
    for name in names:  # fresh processes, after every in-process measurement
        if name in cold:
            step(f"{name}: cold start")
            models[name]["cold_start_s"] = cold_start(name)
        else:
            models[name]["cold_start_s"] = skipped
    app = skipped
    if config.streamlit:
        step("streamlit cold start")
        app = streamlit_cold_start()
    if bar is not None:
        bar.close()
    _add_ratios(models)
    machine["load_average_end"] = _load_average()
    result = {"machine": machine, "config": asdict(config), "reference": REFERENCE,
              "models": models, "app_cold_start_s": app}
    result["goals"] = goal_check(result)
    return result


# ---------------------------------------------------------------------------------------------- report


def _num(value, digits: int = 1) -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _ratio_text(ratio: float) -> str:
    """Two significant digits at most, never rounded to zero: 0.0021×, 0.13×, 1.00×, 4.7×, 433×."""
    if ratio >= 100:
        return f"{ratio:.0f}×"
    if ratio >= 10:
        return f"{ratio:.1f}×"
    if ratio >= 0.095:
        return f"{ratio:.2f}×"
    return f"{ratio:.2g}×"


def _with_ratio(value, ratio, digits: int = 1) -> str:
    text = _num(value, digits)
    return text if ratio is None or value is None or isinstance(value, str) else f"{text} ({_ratio_text(ratio)})"


def _millions(n: int) -> str:
    return f"{n / 1e6:.2f} M"


def _pair(value, ratios, keys: tuple[str, str], digits: int = 1) -> str:
    if not isinstance(value, dict):
        return str(value)
    ratios = ratios if isinstance(ratios, dict) else {}
    return " / ".join(_with_ratio(value[k], ratios.get(k), digits) for k in keys)


def markdown_report(result: dict) -> str:
    """The benchmark as Markdown: machine, one row per model × size, one row per model, the goals."""
    m, models, config = result["machine"], result["models"], result["config"]
    lines = [
        "### Speed benchmark",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores ({m['usable_cores']} usable), {m['os']}; Python {m['python']}, "
        f"TensorFlow {m['tensorflow']}, Keras {m['keras']}, NumPy {m['numpy']}, OpenCV {m['opencv']}. "
        f"Load average {m['load_average_start']} at start, {m.get('load_average_end')} at end"
        + (" — **the machine was busy: timings are noisy**." if _busy(m) else "."),
        "",
        f"Command: `{config['command'] or 'python -m colorizer bench'}` — median of {config['runs']} "
        f"run{'s' if config['runs'] != 1 else ''} after {config['warmup']} warm-up{'s' if config['warmup'] != 1 else ''}; input: a grayscale photo as the app "
        "receives one (uint8 H×W×3, R = G = B), 4:3. In brackets: the ratio to the reference "
        f"`{REFERENCE}`, Zhang et al.'s ECCV16 network layer for layer (random weights), run the same way: "
        "resize to 256×256, predict ab at 64×64, upsample to full size, join to the photo's own L.",
        "",
        "#### Colorizing one photo (model loaded and warm, full-resolution output)",
        "",
        "| model | MP | end-to-end ms | network ms | pre ms | post ms | pre+post share | numpy peak MB | RSS peak Δ MB |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, data in models.items():
        for size, s in data["sizes"].items():
            r = data["ratios"]["sizes"][size]
            lines.append(
                f"| {name} | {s['megapixels']:g} | {_with_ratio(s['end_to_end_ms'], r['end_to_end_ms'])} | "
                f"{_with_ratio(s['network_ms'], r['network_ms'])} | {_with_ratio(s['pre_ms'], r['pre_ms'])} | "
                f"{_with_ratio(s['post_ms'], r['post_ms'])} | {s['pre_post_share']:.0%} | "
                f"{_with_ratio(s['numpy_peak_mb'], r['numpy_peak_mb'], 0)} | "
                f"{_with_ratio(s['rss_peak_delta_mb'], r['rss_peak_delta_mb'], 0)} |")
    lines += [
        "",
        "#### Per model",
        "",
        "| model | weights | working size | parameters | GFLOPs / image | forward ms | forward ms, XLA | "
        f"img/s in a batch of {config['batch_size']} | cold start s | fine-tune epoch s (cached / uncached) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, data in models.items():
        r = data["ratios"]
        xla = _with_ratio(data["forward_xla_ms"], r["forward_xla_ms"]) if data["forward_xla_ms"] is not None else "–"
        if data["xla_in_use"]:
            xla += " (in use)"
        cold = data["cold_start_s"]
        cold_text = _with_ratio(cold["total_s"], (r.get("cold_start_s") or {}).get("total_s"), 2) if isinstance(cold, dict) else cold
        lines.append(
            f"| {name} | {_weights_label(data['weights'])} | {data['working_size']} | "
            f"{_millions(data['parameters'])} ({_ratio_text(r['parameters'])}) | "
            f"{_with_ratio(data['flops'] / 1e9, r['flops'], 2)} | {_with_ratio(data['forward_ms'], r['forward_ms'])} | "
            f"{xla} | {_with_ratio(data['batch_images_per_s'], r['batch_images_per_s'])} | "
            f"{cold_text} | {_pair(data['finetune_epoch_s'], r.get('finetune_epoch_s'), ('cached', 'uncached'), 2)} |")
    lines += ["", *_goal_lines(result), "", *_notes(result)]
    return "\n".join(lines) + "\n"


def _weights_label(weights: str) -> str:
    return "random" if weights.startswith("random") else weights


def _busy(machine: dict) -> bool:
    loads = [machine.get("load_average_start"), machine.get("load_average_end")]
    cores = machine.get("usable_cores") or 1
    return any(load is not None and load > 0.5 * cores for load in loads)


def _goal_lines(result: dict) -> list[str]:
    goals = result["goals"]
    if not goals.get("measured"):
        return [f"Goals (issue 5) are judged at {GOAL_SIZE_MP:g} MP, which this run did not measure."]
    ok = lambda flag: "✅" if flag else "❌"  # noqa: E731
    ratios = goals["ratios"]
    slowest = max(ratios, key=ratios.get)
    shares = ", ".join(f"{n} {s:.0%} {ok(s <= GOAL_PRE_POST_SHARE)}" for n, s in goals["pre_post_shares"].items())
    return [
        f"Goals at {GOAL_SIZE_MP:g} MP (end-to-end time ÷ the reference's): every architecture ≤ {GOAL_EVERY} — "
        f"slowest {slowest} {ratios[slowest]:.2f}× {ok(goals['every_within_half'])}; fastest ≤ {GOAL_FASTEST} — "
        f"{goals['fastest']} {ratios[goals['fastest']]:.3f}× {ok(goals['fastest_within_tenth'])}. "
        f"Pre+post ≤ {GOAL_PRE_POST_SHARE:.0%} of end-to-end: {shares}.",
    ]


def _notes(result: dict) -> list[str]:
    app = result["app_cold_start_s"]
    if isinstance(app, dict):
        app_text = (f"`streamlit run streamlit_app.py`: health endpoint answers after {app['health_s']:.1f} s, "
                    f"first page served after {app['index_s']:.1f} s (the model loads on the first colorization).")
    else:
        app_text = f"`streamlit run` cold start: {app}."
    return [
        "Notes:",
        "- end-to-end = `Colorizer.colorize`; pre = 8-bit lightness + shrink to the working size; network = the bare "
        "traced forward pass (graph mode, fixed input signature, one trace per model); post = `Colorizer.join` "
        "(upsample ab, bilinear or guided by L's edges for the flagship, Lab → RGB by table lookup, `colorizer/lab8.py`). Decoding the network output (e.g. unet313's annealed mean) is in "
        "end-to-end but in none of the three columns.",
        "- numpy peak: `tracemalloc` peak during one call (every numpy array, OpenCV's outputs included; "
        "TensorFlow's own buffers not). RSS peak Δ: the process's resident-set high-water mark (`VmHWM`, reset "
        "via `/proc/self/clear_refs`) above its resident size before the call.",
        "- GFLOPs: counted analytically, 2 × multiply-adds of every convolution, transposed convolution and "
        "matrix product in the traced graph at the working size (element-wise ops left out).",
        "- forward ms, XLA: the same network compiled with `jit_compile=True`; batch: a batch of working-size "
        "inputs through the network. Cold start: a new `python` process from spawn to its first colorized "
        f"{COLD_START_MP:g} MP photo (import, load, first call). {app_text}",
        "- weights \"random\": no checkpoint in `weights/<model>/` (or the reference), so the network runs with "
        "random weights; its speed does not depend on weight values.",
    ]


# ---------------------------------------------------------------------------------------------- CLI


def config_from_args(args) -> BenchConfig:
    sizes = tuple(float(s) for s in str(args.sizes).split(",") if s.strip())
    if not sizes or any(s <= 0 for s in sizes):
        raise ValueError(f"--sizes: expected positive megapixels separated by commas, got {args.sizes!r}")
    if args.runs < 1:
        raise ValueError(f"--runs: expected at least 1, got {args.runs}")
    command = "python -m colorizer " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["bench"] else "python -m colorizer bench"
    if args.quick:
        overrides = {"command": command}
        if args.sizes != "0.25,1,4,12":
            overrides["sizes_mp"] = sizes
        return BenchConfig.quick_config(**overrides)
    return BenchConfig(sizes_mp=sizes, runs=args.runs, command=command)


def bench_from_cli(args) -> int:
    """``python -m colorizer bench``: progress on stderr, Markdown on stdout, JSON to ``--json``."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads: keep stderr for the bar
    if getattr(args, "server", False):  # the app in a browser: colorizer/serverbench.py
        from colorizer.serverbench import server_bench_from_cli

        return server_bench_from_cli(args)
    from tqdm import tqdm

    config = config_from_args(args)
    result = run_benchmark(config, progress=lambda total: tqdm(total=total, file=sys.stderr, unit="step",
                                                                 disable=None))
    print(markdown_report(result))
    if args.json:
        from colorizer.checkpoints import atomic_write_text

        atomic_write_text(args.json, json.dumps(result, indent=2, default=str) + "\n")
    return 0
