"""The flagship's speed goal judged so that a drifting host cannot skew it: each model and the reference
colorize the same 1-MP photo in turn, round after round, and the ratio is taken within each round.

The full benchmark times every model, then the reference, minutes apart; on a shared 2-core host whose
speed drifts by a third within an hour (docs/speed.md, "On a CPU without fast bfloat16") that alone moved
the flagship's ratio from 0.21× to 0.27×. Here the models alternate, so a slow minute slows both sides
of a round alike; the median of the per-round ratios is the figure.

    python -m colorizer bench --alternate 21 [--json FILE]
"""
from __future__ import annotations

import statistics
import time

from benchmarks.goals import GOAL_FLAGSHIP, GOAL_SIZE_MP
from benchmarks.measure import REFERENCE, load_for_bench, synthetic_photo
from benchmarks.report import bfloat16_text
from colorizer import FLAGSHIP

__all__ = ["alternating_ratios", "alternating_report"]

WARMUP = 3


def alternating_ratios(rounds: int, names: tuple[str, ...] = (FLAGSHIP,), megapixels: float = GOAL_SIZE_MP,
                       loader=load_for_bench) -> dict:
    """Each of ``names`` and the reference colorize one synthetic photo in turn, ``rounds`` times (after
    ``WARMUP`` untimed calls each) → {"megapixels", "rounds", "models": {name: {"end_to_end_ms": median,
    "ratio": median of the per-round ratios to the reference}}} (the reference's ratio is 1)."""
    if rounds < 1:
        raise ValueError(f"--alternate: expected at least 1 round, got {rounds}")
    photo = synthetic_photo(megapixels)
    models = {name: loader(name)[0] for name in (*names, REFERENCE)}
    for model in models.values():
        for _ in range(WARMUP):
            model.colorize(photo)
    times = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            start = time.perf_counter()
            model.colorize(photo)
            times[name].append(1000 * (time.perf_counter() - start))
    reference = times[REFERENCE]
    return {"megapixels": megapixels, "rounds": rounds, "models": {
        name: {"end_to_end_ms": statistics.median(t), "ratio": statistics.median(a / r for a, r in zip(t, reference)),
               "runtime": getattr(models[name], "runtime", "TensorFlow")}
        for name, t in times.items()}}


def alternating_report(result: dict, command: str) -> str:
    """The alternating timings as Markdown, with the flagship's goal (≤ ``GOAL_FLAGSHIP``) judged."""
    machine = result.get("machine")
    where = ([f"Machine: {machine['cpu']}, {machine['usable_cores']} usable cores. {bfloat16_text(machine)}"
              f"Load average {machine.get('load_average_start')} at start.", ""] if machine else [])
    lines = [f"### {result['megapixels']:g} MP, models and the reference in alternation ({result['rounds']} rounds)", "",
             *where, f"Command: `{command}`", "",
             "| model | runtime | end-to-end ms (median) | ratio to the reference (median per round) |",
             "|---|---|---:|---:|"]
    for name, row in result["models"].items():
        lines.append(f"| {name} | {row.get('runtime', 'TensorFlow')} | {row['end_to_end_ms']:.1f} | {row['ratio']:.3f}× |")
    flagship = result["models"].get(FLAGSHIP)
    if flagship is not None:
        ok = "✅" if flagship["ratio"] <= GOAL_FLAGSHIP else "❌"
        lines += ["", f"The flagship ≤ {GOAL_FLAGSHIP} — {FLAGSHIP} {flagship['ratio']:.3f}× {ok}"]
    return "\n".join(lines)
