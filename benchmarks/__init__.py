"""Benchmark: how fast and how lean every architecture colorizes, beside an ECCV16-shaped reference.

``python -m colorizer bench [--json FILE] [--sizes 0.25,1,4,12] [--runs 5] [--quick]`` prints a
Markdown report (paste-ready for the README) and optionally writes the same figures as JSON.

What is measured, per model (each architecture, loaded from ``weights/<arch>/`` when that checkpoint
exists, else built with random weights — speed does not depend on weight values — and the
``benchmarks.yardstick`` network, the ECCV16-shaped reference, run through the very same ``Colorizer``
code path):
- per photo size (megapixels): end-to-end ``Colorizer.colorize`` time (median of ``runs`` after
  warm-up), split into pre-processing (8-bit lightness + shrink to the working size), the network
  (the bare traced forward pass) and post-processing (``Colorizer.join``: upsample ab, bilinear or
  guided by L's edges, Lab → RGB by table lookup);
  peak memory of one call, twice: numpy-side allocations (``tracemalloc``, which sees every numpy
  array, OpenCV's outputs included, but not TensorFlow's buffers) and the process's resident-set
  high-water mark above its level before the call (``VmHWM`` from ``/proc/self/status``, reset
  through ``/proc/self/clear_refs``);
- per model: parameters of the inference network, FLOPs per image at the working size (counted
  analytically: 2 × the multiply-adds of every Conv2D, transposed-conv, depthwise and MatMul op of the
  traced graph, custom layers included), images per second through the network in a batch, the
  forward time with and without XLA (``jit_compile``), fine-tuning time per epoch with and without
  the encoder-feature cache (``benchmarks.epoch_timing.time_epoch``), and the cold start: a fresh
  process's time from spawn to its first colorized 1-megapixel photo.
Every figure gets its ratio to the reference's. The input is a synthetic 4:3 grayscale photo as the
app hands one to the colorizer (a gray file's levels, uint8 H×W: ``DecodedImage.pixels``):
colorization cost does not depend on its content.
Timings are wall-clock on whatever else the machine is doing: the report records the load average.

Measuring and formatting are apart: ``measure`` (per model: inputs, timings, memory, FLOPs, ratios),
``startup`` (fresh processes: cold starts; the machine), ``goals`` (the speed goals, met or not),
``report`` (the Markdown); this module holds the configuration, the run and the command line.
"""
from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass

from colorizer import ARCHITECTURE_NAMES, FLAGSHIP
from colorizer.cli import BENCH_DEFAULTS
from colorizer.settings import is_positive_number
from benchmarks.goals import goal_check
from benchmarks.measure import (REFERENCE, add_ratios, count_flops, finetune_epoch_times, guided_times,
                                     load_for_bench, measure_model, synthetic_color_photos, synthetic_photo)
from benchmarks.report import markdown_report
from benchmarks.startup import cold_start, cold_start_child, load_average, machine_description, streamlit_cold_start

__all__ = [
    "BenchConfig", "run_benchmark", "markdown_report", "bench_from_cli", "synthetic_photo", "count_flops",
    "load_for_bench", "SIZE_FIELDS", "MODEL_FIELDS", "REFERENCE", "cold_start_child", "config_from_args",
]

# Fields every model gets per photo size, and once per model (the test checks they are all there).
SIZE_FIELDS = ("megapixels", "shape", "end_to_end_ms", "pre_ms", "network_ms", "post_ms", "predict_ms",
               "pre_post_share", "numpy_peak_mb", "rss_peak_delta_mb")
MODEL_FIELDS = ("weights", "working_size", "contract", "parameters", "flops", "forward_ms", "forward_xla_ms",
                "xla_in_use", "traces", "batch_size", "batch_images_per_s", "finetune_epoch_s", "cold_start_s",
                "sizes", "ratios", "runtime", "lite_status")


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



def run_benchmark(config: BenchConfig, progress=None) -> dict:
    """Measure everything ``config`` asks for; a JSON-able dict (see ``markdown_report``).

    ``progress(total)`` → an object with ``update(n)`` and ``set_description(text)`` (tqdm's API), or None.
    """
    machine = machine_description()
    names = [*config.architectures, REFERENCE]
    cold = [n for n in names if config.measures(config.cold_start_models, n)]
    tune = [n for n in names if n != REFERENCE and config.measures(config.finetune_models, n)]
    per_model = len(config.sizes_mp) + 4 + (1 if config.xla else 0)
    total = len(names) * per_model + len(cold) + len(tune) + (1 if config.streamlit else 0) + 1
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
    step("guided colorization (reference photo, hints)")
    guided = guided_times(config.runs, config.warmup)
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
    add_ratios(models)
    machine["load_average_end"] = load_average()
    result = {"machine": machine, "config": asdict(config), "reference": REFERENCE,
              "models": models, "guided": guided, "app_cold_start_s": app}
    result["goals"] = goal_check(result)
    return result



# ---------------------------------------------------------------------------------------------- CLI


def recorded_command(args, default: str) -> str:
    """The command printed beside the tables: the argument list ``colorizer.cli.main`` parsed (``args.argv``),
    not ``sys.argv``, which is another program's when the benchmark runs in-process (a test, a notebook)."""
    argv = getattr(args, "argv", None)
    return "python -m colorizer " + " ".join(argv) if argv else default


def config_from_args(args) -> BenchConfig:
    try:
        sizes = tuple(float(s) for s in str(args.sizes).split(",") if s.strip())
    except ValueError:
        sizes = ()
    if not sizes or not all(is_positive_number(s) for s in sizes):
        raise ValueError(f"--sizes: expected positive megapixels separated by commas, got {args.sizes!r}")
    if args.runs < 1:
        raise ValueError(f"--runs: expected at least 1, got {args.runs}")
    command = recorded_command(args, "python -m colorizer bench")
    if args.quick:
        overrides = {"command": command}
        if args.sizes != BENCH_DEFAULTS["sizes"]:  # given: the quick run's own sizes otherwise
            overrides["sizes_mp"] = sizes
        return BenchConfig.quick_config(**overrides)
    return BenchConfig(sizes_mp=sizes, runs=args.runs, command=command)


def bench_from_cli(args) -> int:
    """``python -m colorizer bench``: progress on stderr, Markdown on stdout, JSON to ``--json``."""
    if getattr(args, "server", False):  # the app in a browser: benchmarks/server.py
        from benchmarks.server import server_bench_from_cli

        return server_bench_from_cli(args)
    if getattr(args, "alternate", None) is not None:  # the flagship's ratio, timed in alternation
        return _alternate_from_cli(args)
    from tqdm import tqdm

    config = config_from_args(args)
    result = run_benchmark(config, progress=lambda total: tqdm(total=total, file=sys.stderr, unit="step",
                                                                 disable=None))
    print(markdown_report(result))
    _write_json(args.json, result)
    return 0


def _alternate_from_cli(args) -> int:
    from benchmarks.alternate import alternating_ratios, alternating_report

    machine = machine_description()
    result = {"machine": machine, "command": recorded_command(args, "python -m colorizer bench --alternate"),
              **alternating_ratios(args.alternate)}
    machine["load_average_end"] = load_average()
    print(alternating_report(result, result["command"]))
    _write_json(args.json, result)
    return 0


def _write_json(path: str | None, result: dict) -> None:
    """``--json``: the figures, written atomically (nothing when no path was given)."""
    if path:
        from colorizer.checkpoints import atomic_write_text

        atomic_write_text(path, json.dumps(result, indent=2, default=str) + "\n")
