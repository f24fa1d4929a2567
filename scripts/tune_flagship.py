#!/usr/bin/env python3
"""Tune the flagship's decoding on the held-out split: one network pass per photo, many decodings.

The network's outputs (313-bin distribution and regression, at a quarter of the working size) are
computed once per photo; each variant then only decodes and joins them to the photo's L, so a grid
of decodings costs seconds each. Every variant is scored with ``colorizer.evaluate`` on the
held-out split (``DIR/val``), or with ``--gallery`` on the gallery's color photos (since run C chose
by both sets, the gallery is a second validation set; docs/results.md says how each choice was made).

    python scripts/tune_flagship.py data/photos [--grid heads|agreement|saturation|shipped] [--gallery]
        [--checkpoint weights/hypercolumn [--checkpoint OTHER ...]] [--json out.json]

Prints a Markdown table, one row per variant, and the variant that maximizes PSNR among those with
colorfulness ratio ≥ 0.6 and right-hue rate ≥ 0.4 (the quality issue's bar).
"""
from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr, before the imports below
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

from colorizer.color import join_lab, join_lab_guided, luminance  # noqa: E402
from colorizer.eval_report import format_table, write_json  # noqa: E402
from colorizer.eval_sets import gallery_truths, held_out_truths, photo_set  # noqa: E402  (photo_set: the scripts import it from here too)
from colorizer.evaluate import evaluate_photos  # noqa: E402
from colorizer.inference import load  # noqa: E402
from colorizer.models import hypercolumn  # noqa: E402
from colorizer.upsample import DEFAULT_EPS, DEFAULT_RADIUS, guided_coefficients  # noqa: E402

import ablation_decodings  # noqa: E402  (this folder's: the decodings tried and not shipped)

# The flagship's own edge-guided upsampling (colorizer.upsample's defaults): (ε, radius).
DEFAULT_GUIDE = (DEFAULT_EPS, DEFAULT_RADIUS)


class CachedOutputs:
    """The network's (probs, ab_reg) for each truth photo, computed once (keyed by the photo's bytes).
    Several models: their outputs averaged (an ensemble of decoders on the same frozen features)."""

    def __init__(self, models: list):
        self.models, self.cache = models, {}

    def __call__(self, truth: np.ndarray):
        key = (truth.shape, hash(truth.tobytes()))
        if key not in self.cache:
            L_full = luminance(truth)
            outputs = [m.forward(m.network_input(L_full)) for m in self.models]
            probs = np.mean([np.asarray(o["probs"])[0] for o in outputs], axis=0)
            ab_reg = np.mean([np.asarray(o["ab_reg"])[0] for o in outputs], axis=0)
            self.cache[key] = (L_full, probs, ab_reg)
        return self.cache[key]


class Variant:
    """One decoding: ``decode`` options plus the upsampling (None: bilinear; else guided (eps, radius))."""

    def __init__(self, outputs: CachedOutputs, decode: dict, guided: tuple[float, float] | None):
        self.outputs, self.decode, self.guided = outputs, decode, guided

    def colorize(self, truth: np.ndarray) -> np.ndarray:
        L_full, probs, ab_reg = self.outputs(truth)
        ab = ablation_decodings.decode(probs, ab_reg, **self.decode)
        if self.guided is None:
            return join_lab(L_full, ab)
        eps, radius = self.guided
        return join_lab_guided(L_full, *guided_coefficients(L_full, ab, eps=eps, radius=radius))


def label(decode: dict, guided) -> str:
    head = decode.get("head", "blend")
    parts = [head]
    if head != "regression":
        parts.append(f"T={decode['temperature']:g}")
    if head in ("blend", "muted"):
        parts.append(f"conf {decode['confidence_low']:g}–{decode['confidence_high']:g}")
    if decode.get("agreement_power"):
        parts.append(f"agreement^{decode['agreement_power']:g}")
    if decode.get("chroma_gain", 1.0) != 1.0:
        parts.append(f"gain {decode['chroma_gain']:g}")
    if head == "blend" and decode.get("regression_gain", 1.0) != 1.0:
        parts.append(f"regression gain {decode['regression_gain']:g}")
    if head == "blend" and decode.get("hue_of_annealed"):
        parts.append("unsure: annealed hue at the regression's chroma")
    if decode.get("chroma_restore"):
        parts.append(f"chroma restored {decode['chroma_restore']:g}")
    if head == "muted":
        parts.append(f"floor {decode['chroma_floor']:g}")
    parts.append("bilinear" if guided is None else f"guided ε={guided[0]:g} r={guided[1]:g}")
    return ", ".join(parts)


def shipped_variant(outputs: CachedOutputs) -> dict[str, Variant]:
    """The shipped decoding (``hypercolumn.DECODE``) only."""
    return {label(dict(hypercolumn.DECODE), DEFAULT_GUIDE): Variant(outputs, {}, DEFAULT_GUIDE)}


def agreement_variants(outputs: CachedOutputs) -> dict[str, Variant]:
    """The blend gated by the two heads' hue agreement (``ablation_decodings.hue_agreement``), with a chroma gain."""
    grid = []
    for t, (low, high), power, gain in itertools.product(
            (0.38, 0.6), ((0.0, 0.3), (0.1, 0.5), (0.2, 0.6)), (0, 1, 2), (1.0, 1.2)):
        grid.append({"head": "blend", "temperature": t, "confidence_low": low, "confidence_high": high,
                     "agreement_power": power, "chroma_gain": gain, "regression_gain": 1.0})
    return _guided(outputs, grid)


def saturation_variants(outputs: CachedOutputs) -> dict[str, Variant]:
    """Three ways to more color, at the blend's confidence ranges: a gain on the regression head only,
    a gain on the result, and moving each pixel's chroma up toward the distribution's expected chroma
    (``ablation_decodings.restore_chroma``)."""
    grid = []
    for (low, high), gain in itertools.product(((0.1, 0.5), (0.15, 0.55), (0.2, 0.6), (0.3, 0.8)),
                                               (0.6, 0.65, 0.7, 0.75, 1.0, 1.15, 1.2, 1.25, 1.3, 1.4, 1.6)):
        grid.append({"temperature": 0.38, "confidence_low": low, "confidence_high": high, "regression_gain": gain})
    plain = {"confidence_low": 0.2, "confidence_high": 0.6, "regression_gain": 1.0}
    grid += [{**plain, "chroma_gain": gain} for gain in (1.1, 1.2)]
    grid += [{**plain, "chroma_restore": share} for share in (0.15, 0.3, 0.5)]
    return _guided(outputs, grid)


def _guided(outputs: CachedOutputs, grid: list[dict]) -> dict[str, Variant]:
    base = dict(hypercolumn.DECODE)
    return {label({**base, **decode}, DEFAULT_GUIDE): Variant(outputs, decode, DEFAULT_GUIDE) for decode in grid}


def variants(outputs: CachedOutputs) -> dict[str, Variant]:
    grid: list[tuple[dict, tuple | None]] = [
        ({"head": "regression"}, None),
        ({"head": "regression"}, DEFAULT_GUIDE),
        *(({"head": "annealed", "temperature": t}, DEFAULT_GUIDE) for t in (0.38, 0.6, 1.0)),
        ({"head": "annealed", "temperature": 0.38}, None),
    ]
    for t, (low, high) in itertools.product((0.38, 0.6), ((0.0, 0.3), (0.1, 0.5), (0.2, 0.6), (0.3, 0.8), (0.4, 1.0))):
        grid.append(({"head": "blend", "temperature": t, "confidence_low": low, "confidence_high": high,
                      "regression_gain": 1.0}, DEFAULT_GUIDE))
    for floor, (low, high) in itertools.product((0.2, 0.4, 0.6), ((0.1, 0.5), (0.2, 0.6), (0.3, 0.8))):
        grid.append(({"head": "muted", "temperature": 0.38, "confidence_low": low, "confidence_high": high,
                      "chroma_floor": floor}, DEFAULT_GUIDE))
    base = dict(hypercolumn.DECODE)
    for guide in ((0.0001, 1), (0.0003, 1), (0.003, 1), (0.01, 1), (0.001, 2)):
        grid.append(({"head": "blend", **base}, guide))
    grid.append(({"head": "blend", **base}, None))
    grid.append(({"head": "blend", **base}, DEFAULT_GUIDE))  # the shipped decoding
    return {label({**base, **decode}, guide): Variant(outputs, {**decode}, guide) for decode, guide in grid}


def calibration_variants(outputs: CachedOutputs) -> dict[str, Variant]:
    """How bold unsure pixels are: the regression head alone, and the blend at several confidence ranges
    with the regression's color scaled by 0.8, 1.0 or 1.25 (issue 23: a quiet scene should stay quiet)."""
    grid = [{"head": "regression"}, {"head": "annealed", "temperature": 0.38}]
    for (low, high), gain, hue in itertools.product(((0.2, 0.6), (0.3, 0.8), (0.5, 1.2)), (0.8, 1.0, 1.25), (False, True)):
        grid.append({"head": "blend", "temperature": 0.38, "confidence_low": low, "confidence_high": high,
                     "regression_gain": gain, "hue_of_annealed": hue})
    return _guided(outputs, grid)


GRIDS = {"heads": variants, "calibration": calibration_variants, "agreement": agreement_variants, "saturation": saturation_variants,
         "shipped": shipped_variant}


# The quality bar, per evaluation set (issue 23): not below gray, colorfulness ≥ 0.6 of the truth's, right
# hue ≥ 40 %, and on the quieter half at most 0.5 dB under gray on average, no photo more than 3 dB under.
# Each bar's margin is divided by a scale of what a small step is, so that margins compare across bars.
BARS = {"gain_over_gray": (0.0, 1.0), "colorfulness_ratio": (0.6, 0.1), "right_hue": (0.4, 0.05),
        "quiet_gain": (-0.5, 0.5), "worst_quiet_gain": (-3.0, 1.0)}


def margin(metrics: dict) -> float:
    """The smallest scaled margin over the bars: ≥ 0 when every bar is met."""
    return min((metrics[key] - floor) / scale for key, (floor, scale) in BARS.items())


def format_sets_table(summaries: dict[str, dict], labels: list[str]) -> str:
    """One row per variant: each set's gain over gray / colorfulness ratio / right hue / quiet-half gain /
    worst quiet photo, and the worst margin over every set (``margin``)."""
    sets = list(summaries)
    head = "| decoding | " + " | ".join(f"{s}: Δgray dB / color / hue / quiet Δ / worst quiet" for s in sets) + " | worst margin |"
    lines = [head, "|---" * (len(sets) + 2) + "|"]
    for label in labels:
        cells = []
        for s in sets:
            m = summaries[s][label]
            cells.append(f"{m['gain_over_gray']:+.2f} / {m['colorfulness_ratio']:.2f} / {100 * m['right_hue']:.1f} % / "
                         f"{m['quiet_gain']:+.2f} / {m['worst_quiet_gain']:+.2f}")
        worst = min(margin(summaries[s][label]) for s in sets)
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {worst:+.2f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="photo folder with a val/ split (scripts/fetch_photos.py)")
    parser.add_argument("--checkpoint", action="append",
                        help="name or folder (default: the shipped flagship); repeat it for an ensemble "
                             "(the checkpoints' outputs averaged)")
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--only", metavar="HEAD", help="only the variants whose label starts with HEAD (e.g. muted)")
    parser.add_argument("--grid", choices=tuple(GRIDS), default="heads",
                        help="heads: each head, temperatures, confidence ranges, guides; calibration: regression "
                             "gains at several confidence ranges; agreement: the blend "
                             "gated by the heads' hue agreement; saturation: gains and chroma restoring; "
                             "shipped: the shipped decoding only")
    parser.add_argument("--gallery", action="store_true",
                        help="score on the gallery's color photos instead (the second set the decodings were chosen by)")
    parser.add_argument("--sets", metavar="A,B,...",
                        help="score on several sets (val, gallery, a data/eval set name or a folder) and rank the "
                             "variants by their worst margin over the quality bars on any of them")
    args = parser.parse_args(argv)
    models = [load(name) for name in args.checkpoint or ["hypercolumn"]]
    outputs = CachedOutputs(models)
    grid = GRIDS[args.grid](outputs)
    if args.only:
        grid = {k: v for k, v in grid.items() if k.startswith(args.only)}
    if args.sets:
        return _main_sets(args, grid, models)
    photos = gallery_truths() if args.gallery else held_out_truths(args.dir)
    summary = evaluate_photos(photos, grid)
    where = "gallery color photos" if args.gallery else f"held-out color photos from {args.dir}"
    print(f"{len(photos)} {where}, checkpoint {' + '.join(m.source for m in models)}")
    print(format_table(summary))
    eligible = {k: m for k, m in summary.items() if k not in ("gray", "truth")
                and m["colorfulness_ratio"] >= 0.6 and m["right_hue"] >= 0.4}
    if eligible:
        best = max(eligible, key=lambda k: eligible[k]["psnr"])
        print(f"\nbest PSNR with colorfulness ratio ≥ 0.6 and right hue ≥ 0.4: {best} ({eligible[best]['psnr']:.2f} dB)")
    else:
        print("\nno variant reaches colorfulness ratio ≥ 0.6 with right hue ≥ 0.4")
    if args.json:
        write_json(summary, args.json)
    return 0


def _main_sets(args, grid: dict, models: list) -> int:
    summaries = {}
    for name in args.sets.split(","):
        photos = photo_set(name, args.dir)
        summaries[name] = evaluate_photos(photos, grid)
        print(f"{name}: {len(photos)} photos, gray {summaries[name]['gray']['psnr']:.2f} dB", flush=True)
    labels = list(grid)
    print(f"checkpoint {' + '.join(m.source for m in models)}")
    print(format_sets_table(summaries, labels))
    best = max(labels, key=lambda k: min(margin(summaries[s][k]) for s in summaries))
    print(f"\nbest worst-set margin: {best} ({min(margin(summaries[s][best]) for s in summaries):+.2f})")
    if args.json:
        write_json(summaries, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
