"""Evaluation against color ground truth: PSNR, SSIM, L2_ab, colorfulness.

All metrics compare uint8 RGB H×W×3 images of the same size:
- ``psnr`` / ``ssim``: scikit-image's reference implementations (data range 255; SSIM over channels);
- ``l2_ab``: mean per-pixel Euclidean distance between the two images' (a, b), in Lab units;
- ``colorfulness``: Hasler & Süsstrunk (2003), M = σ_rgyb + 0.3·μ_rgyb on rg = R − G, yb = ½(R + G) − B.
The ``gray`` baseline is the truth's own luminance with no color (a = b = 0).
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from colorizer.color import ab_of_rgb, join_lab, luminance

__all__ = ["colorfulness", "image_metrics", "gray_baseline", "evaluate_photos", "format_table", "METRIC_NAMES"]

METRIC_NAMES = ("psnr", "ssim", "l2_ab", "colorfulness", "colorfulness_ratio")


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk's colorfulness of a uint8 RGB image (0 for gray; ~100+ for vivid images)."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def image_metrics(truth: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """uint8 RGB truth and prediction (same H×W×3) → psnr, ssim, l2_ab, colorfulness, colorfulness_ratio."""
    from skimage.metrics import peak_signal_noise_ratio, structural_similarity

    if truth.shape != predicted.shape:
        raise ValueError(f"shapes differ: truth {truth.shape}, prediction {predicted.shape}")
    win = min(7, *truth.shape[:2]) | 1  # SSIM's window must fit the image and be odd
    truth_colorfulness = colorfulness(truth)
    predicted_colorfulness = colorfulness(predicted)
    return {
        "psnr": float(peak_signal_noise_ratio(truth, predicted, data_range=255)),
        "ssim": float(structural_similarity(truth, predicted, channel_axis=2, data_range=255, win_size=win)),
        "l2_ab": float(np.linalg.norm(ab_of_rgb(truth) - ab_of_rgb(predicted), axis=-1).mean()),
        "colorfulness": predicted_colorfulness,
        "colorfulness_ratio": predicted_colorfulness / truth_colorfulness if truth_colorfulness > 0 else float("nan"),
    }


def gray_baseline(truth: np.ndarray) -> np.ndarray:
    """The truth's luminance with a = b = 0: what "no colorization" scores."""
    L = luminance(truth)
    return join_lab(L, np.zeros((*L.shape, 2), np.float32))


def evaluate_photos(photos: list[tuple[str, np.ndarray]], colorizers: dict, progress=None) -> dict[str, dict]:
    """[(name, truth RGB)] and {label: Colorizer} → {label: mean metrics, n_images}, ``gray`` first, ``truth`` last.

    ``colorfulness_ratio`` is the ratio of mean colorfulness to the truth's mean: steadier than a mean
    of per-image ratios, which near-gray truths blow up.
    """
    predictors = {"gray": gray_baseline, **{label: m.colorize for label, m in colorizers.items()}}
    truth_colorfulness = float(np.mean([colorfulness(truth) for _, truth in photos]))
    summary = {}
    for label, predict in predictors.items():
        items = progress(photos, desc=label) if progress else photos
        rows = [image_metrics(truth, predict(truth)) for _, truth in items]
        means = {k: float(np.mean([r[k] for r in rows])) for k in ("psnr", "ssim", "l2_ab", "colorfulness")}
        means["colorfulness_ratio"] = means["colorfulness"] / truth_colorfulness if truth_colorfulness > 0 else float("nan")
        summary[label] = {**means, "n_images": len(rows)}
    summary["truth"] = {"colorfulness": truth_colorfulness, "n_images": len(photos)}
    return summary


def format_table(summary: dict[str, dict]) -> str:
    """A Markdown table of ``evaluate_photos``' output."""
    lines = [
        "| model | PSNR (dB) ↑ | SSIM ↑ | L2_ab ↓ | colorfulness | ratio to truth |",
        "|---|---|---|---|---|---|",
    ]
    for label, m in summary.items():
        if label == "truth":
            continue
        lines.append(f"| {label} | {m['psnr']:.2f} | {m['ssim']:.4f} | {m['l2_ab']:.2f} | {m['colorfulness']:.1f} | {m['colorfulness_ratio']:.2f} |")
    truth = summary.get("truth")
    if truth:
        lines.append(f"| truth | – | – | – | {truth['colorfulness']:.1f} | 1.00 |")
    return "\n".join(lines)


def _finite_or_none(value):
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    return None if isinstance(value, float) and not np.isfinite(value) else value


def write_json(summary: dict, path: str | Path) -> None:
    """Strict JSON: an infinite PSNR (identical images) or undefined ratio (gray truth) becomes null."""
    Path(path).write_text(json.dumps(_finite_or_none(summary), indent=2, allow_nan=False) + "\n")
