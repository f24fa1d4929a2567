"""The benchmark as Markdown (paste-ready for the README): machine, one row per model × size, one
row per model, the speed goals, notes. Formatting only: the figures come from ``run_benchmark``."""
from __future__ import annotations

from benchmarks.goals import GOAL_EVERY, GOAL_FASTEST, GOAL_FLAGSHIP, GOAL_PRE_POST_SHARE, GOAL_SIZE_MP
from benchmarks.measure import REFERENCE
from benchmarks.startup import COLD_START_MP

__all__ = ["markdown_report", "bfloat16_text"]


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
        + bfloat16_text(m)
        + f"Load average {m['load_average_start']} at start, {m.get('load_average_end')} at end"
        + (" — **the machine was busy: timings are noisy**." if _busy(m) else "."),
        "",
        f"Command: `{config['command'] or 'python -m colorizer bench'}` — median of {config['runs']} "
        f"run{'s' if config['runs'] != 1 else ''} after {config['warmup']} warm-up{'s' if config['warmup'] != 1 else ''}; input: a grayscale photo as the app "
        "hands one to the colorizer (a gray file's levels, uint8 H×W: `DecodedImage.pixels`), 4:3. In brackets: the ratio to the reference "
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
    lines += ["", *_guided_lines(result), "", *_goal_lines(result), "", *_notes(result)]
    return "\n".join(lines) + "\n"


def _guided_lines(result: dict) -> list[str]:
    """The guided colorizations at 1 MP against the reference network's automatic colorization."""
    guided = result.get("guided")
    if not guided:
        return []
    key = f"{guided['megapixels']:g}"
    reference = next((s["end_to_end_ms"] for s in result["models"][REFERENCE]["sizes"].values()
                      if f"{s['megapixels']:g}" == key), None)

    def cell(ms):
        return f"{ms:.0f}" + (f" ({ms / reference:.2f}×)" if reference else "")

    ok = "✅" if reference and guided["reference_ms"] <= reference else "❌" if reference else ""
    return [
        f"#### Guided colorization ({key} MP photo; in brackets: ÷ the reference network's automatic colorization)",
        "",
        "| what | end-to-end ms |",
        "|---|---:|",
        f"| the flagship colored from a {key}-MP color reference photo (`colorize(image, reference=rgb)`) | {cell(guided['reference_ms'])} {ok} |",
        f"| `hypercolumn_hints` with 10 hints (`colorize(image, hints=...)`) | {cell(guided['hints_10_ms'])} |",
    ]


def _weights_label(weights: str) -> str:
    return "random" if weights.startswith("random") else weights


def _busy(machine: dict) -> bool:
    loads = [machine.get("load_average_start"), machine.get("load_average_end")]
    cores = machine.get("usable_cores") or 1
    return any(load is not None and load > 0.5 * cores for load in loads)


def bfloat16_text(machine: dict) -> str:
    """Whether the flagship's frozen VGG16 ran in bfloat16 (``hardware.bfloat16_is_fast``): the CPU feature
    that moves its ratio to the reference most (0.19× with it, 0.21× without, docs/speed.md)."""
    fast = machine.get("bfloat16_fast")
    if fast is None:
        return ""
    return ("Fast bfloat16 (AMX or AVX512-BF16): the hypercolumn models' frozen VGG16 runs in it. " if fast else
            "No fast bfloat16 (AMX or AVX512-BF16) on this CPU: the hypercolumn models' VGG16 runs in float32. ")


def _goal_lines(result: dict) -> list[str]:
    goals = result["goals"]
    if not goals.get("measured"):
        return [f"The speed goals are judged at {GOAL_SIZE_MP:g} MP, which this run did not measure."]
    ok = lambda flag: "✅" if flag else "❌"  # noqa: E731
    ratios = goals["ratios"]
    slowest = max(ratios, key=ratios.get)
    shares = ", ".join(f"{n} {s:.0%} {ok(s <= GOAL_PRE_POST_SHARE)}" for n, s in goals["pre_post_shares"].items())
    return [
        f"Speed goals at {GOAL_SIZE_MP:g} MP (end-to-end time ÷ the reference's): every architecture ≤ {GOAL_EVERY} — "
        f"slowest {slowest} {ratios[slowest]:.2f}× {ok(goals['every_within_half'])}; fastest ≤ {GOAL_FASTEST} — "
        f"{goals['fastest']} {ratios[goals['fastest']]:.3f}× {ok(goals['fastest_within_tenth'])}"
        + (f"; the flagship ≤ {GOAL_FLAGSHIP} — {goals['flagship']} {ratios[goals['flagship']]:.2f}× "
           f"{ok(goals['flagship_within_fifth'])}" if goals.get("flagship_within_fifth") is not None else "")
        + ". "
        f"Pre+post ≤ {GOAL_PRE_POST_SHARE:.0%} of end-to-end: {shares}.",
    ]


def _notes(result: dict) -> list[str]:
    app = result["app_cold_start_s"]
    if isinstance(app, dict):
        app_text = (f"`streamlit run streamlit_app.py`: health endpoint answers after {app['health_s']:.1f} s, "
                    f"first page served after {app['index_s']:.1f} s (the model loads on the first colorization).")
    else:
        app_text = f"`streamlit run` cold start: {app}."
    runtimes = "; ".join(f"{name} on {data['runtime']}: {data['lite_status']}" for name, data in result["models"].items()
                         if data.get("runtime", "TensorFlow") != "TensorFlow")
    return [
        "Notes:",
        "- runtime: TensorFlow" + (f", except {runtimes} (`Colorizer.use_lite`, `colorizer/lite.py`)" if runtimes else
                                    " for every model."),
        "- end-to-end = `Colorizer.colorize`; pre = `Colorizer.prepared`: 8-bit lightness + shrink to the working size; network = the bare "
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

