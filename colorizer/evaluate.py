"""Running an evaluation: every model's colorizations of a set of color truths, scored against them.

The per-image metrics are ``colorizer.metrics``' (which defines each); the sets are ``colorizer.eval_sets``'
and the tables and JSON ``colorizer.eval_report``'s.

Over photos (``evaluate_photos``), one row per model, ``gray`` first, ``truth`` last:
- ``psnr``, ``l2_ab``, ``colorfulness``: means over the images; ``ssim``: the mean over the images
  that have one (NaN if none does);
- ``colorfulness_ratio``: the mean colorfulness over the truths' mean colorfulness;
- ``right_hue``: pooled, right pixels of all images / colorful pixels of all images, so a
  near-gray truth with a few colorful pixels weighs a few pixels, not a whole image (NaN if no
  truth has a colorful pixel);
- ``auc``, ``auc_rebalanced``: pooled over every pixel of every image (as Zhang et al. pool a test
  set; a larger image weighs more), p̃ from all the truths together.
- ``truth``: the truths' mean ``colorfulness`` and ``n_images`` only.
The ``gray`` baseline is the truth's own luminance with no color (a = b = 0).
A photo given as (name, truth, visible), ``visible`` a bool H×W such as a PNG's alpha > 0, is measured over
its visible pixels only (``colorizer.metrics``' ``visible``): its colorfulness, its share of the prior and
every metric. Without it, or with None, every pixel counts, as in every table of docs/results.md.

``transfer_metrics``: how a model holds up across a set, photo by photo (its gain over gray on the quieter
half, whether its colorfulness follows the truth's). The wrappers ``WithOptions``, ``HintedColorizer`` and
``ReferencedColorizer`` make a row of a model given fixed options, simulated hints or a reference photo.
"""
from __future__ import annotations

import zlib

import numpy as np

from colorizer.color import join_lab, luminance
from colorizer.eval_sets import with_visible_or_none
from colorizer.metrics import METRIC_NAMES, colorfulness, metrics_and_sums, pooled_rates, truth_prior

__all__ = [
    "gray_baseline", "evaluate_photos", "TRANSFER_NAMES", "transfer_metrics", "quieter_half",
    "WithOptions", "HintedColorizer", "ReferencedColorizer",
]

# Colorfulness under which a photo shows no color (Hasler–Süsstrunk's scale: 15 is "slightly colorful"). Gray
# itself measures about 0.01 from uint8 rounding, which would otherwise "correlate" with the truth by chance.
COLORLESS = 1.0
TRANSFER_NAMES = ("gain_over_gray", "worst_gain", "quiet_gain", "worst_quiet_gain", "colorfulness_corr",
                  "worst_quiet_ab_excess")  # see transfer_metrics


def gray_baseline(truth: np.ndarray) -> np.ndarray:
    """The truth's luminance with a = b = 0: what "no colorization" scores."""
    L = luminance(truth)
    return join_lab(L, np.zeros((*L.shape, 2), np.float32))


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not np.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _shown(truth: np.ndarray, visible: np.ndarray | None) -> np.ndarray:
    """The pixels a truth shows: all of it, or its visible pixels as one row (1 × N × 3)."""
    return truth if visible is None else truth[visible][None]


def evaluate_photos(photos: list[tuple], colorizers: dict, progress=None,
                    per_photo: bool = False) -> dict[str, dict]:
    """[(name, truth RGB[, visible])], {label: Colorizer} → {label: {metric: float, n_images}}, ``gray`` first,
    ``truth`` last.

    How each metric is aggregated is in the module docstring. ``colorfulness_ratio`` is a ratio of
    means: steadier than a mean of per-image ratios, which near-gray truths blow up. ``per_photo`` adds
    each label's ``photos``: [{name, psnr, gain_over_gray, colorfulness, truth_colorfulness, quiet,
    ab_error_over_gray}] in order (``quiet``: in the quieter half; ``ab_error_over_gray``: its ``l2_ab`` minus
    gray's; see ``transfer_metrics``), so a set's failures can be named.
    """
    if not photos:  # a folder of gray photos only: its KeyError deep in the transfer metrics said nothing
        raise ValueError("no color photos to evaluate")
    predictors = {"gray": gray_baseline, **{label: m.colorize for label, m in colorizers.items()}}
    photos = with_visible_or_none(photos)
    shown = [_shown(truth, visible) for _, truth, visible in photos]
    truth_colorfulness = [colorfulness(pixels) for pixels in shown]
    mean_truth_colorfulness = float(np.mean(truth_colorfulness))
    prior = truth_prior(shown)
    summary, gray_psnr, gray_ab_error = {}, None, None
    for label, predict in predictors.items():
        items = progress(photos, desc=label) if progress else photos
        rows, sums = [], {}
        for _, truth, visible in items:
            metrics, image_sums = metrics_and_sums(truth, predict(truth), prior, visible)
            rows.append(metrics)
            sums = {k: sums.get(k, 0.0) + v for k, v in image_sums.items()}
        means = {k: float(np.mean([r[k] for r in rows])) for k in ("psnr", "l2_ab", "colorfulness")}
        means["ssim"] = _nanmean([r["ssim"] for r in rows])
        means["colorfulness_ratio"] = means["colorfulness"] / mean_truth_colorfulness if mean_truth_colorfulness > 0 else float("nan")
        values = {**means, **pooled_rates(sums)}
        psnr, ab_error = np.array([r["psnr"] for r in rows]), np.array([r["l2_ab"] for r in rows])
        if gray_psnr is None:
            gray_psnr, gray_ab_error = psnr, ab_error
        ab_excess = ab_error - gray_ab_error
        summary[label] = {**{k: values[k] for k in METRIC_NAMES}, "n_images": len(rows),
                          **transfer_metrics(psnr, gray_psnr, [r["colorfulness"] for r in rows], truth_colorfulness,
                                             ab_excess)}
        if per_photo:
            summary[label]["photos"] = _photo_rows(photos, rows, _gains(psnr, gray_psnr), ab_excess, truth_colorfulness)
    summary["truth"] = {"colorfulness": mean_truth_colorfulness, "n_images": len(photos)}
    return summary


def quieter_half(truth_colorfulness) -> np.ndarray:
    """Which photos are in a set's quieter half: truth's colorfulness below the set's median (all of
    them when every truth is equally colorful)."""
    truth = np.asarray(truth_colorfulness, np.float64)
    quiet = truth < np.median(truth)
    return quiet if quiet.any() else np.ones_like(quiet)


def _gains(psnr, gray_psnr) -> np.ndarray:
    """Each photo's PSNR minus gray's, float64 dB in the photos' order: +inf for an exact photo, NaN for
    exact against exact (inf − inf), without numpy's warning."""
    with np.errstate(invalid="ignore"):
        return np.asarray(psnr, np.float64) - np.asarray(gray_psnr, np.float64)


def _photo_rows(photos, rows: list[dict], gains: np.ndarray, ab_excess: np.ndarray,
                truth_colorfulness: list[float]) -> list[dict]:
    quiet = quieter_half(truth_colorfulness)
    return [{"name": name, "psnr": float(r["psnr"]), "gain_over_gray": float(gain), "colorfulness": float(r["colorfulness"]),
             "truth_colorfulness": float(truth), "quiet": bool(q), "ab_error_over_gray": float(excess)}
            for (name, *_), r, gain, excess, truth, q in zip(photos, rows, gains, ab_excess, truth_colorfulness, quiet)]


def transfer_metrics(psnr, gray_psnr, predicted_colorfulness, truth_colorfulness, ab_excess=None) -> dict[str, float]:
    """Per-photo figures of how a model holds up across a set (arrays in the photos' order):

    - ``gain_over_gray``: mean PSNR − gray's mean PSNR (dB); ``worst_gain``: the lowest single photo's;
    - ``quiet_gain``: the same over the quieter half, the photos whose truth's colorfulness is below
      the set's median, and ``worst_quiet_gain`` the lowest single photo there: where a model that
      paints its favorite colors everywhere loses most;
    - ``colorfulness_corr``: Pearson's correlation between the prediction's and the truth's
      colorfulness across photos (NaN with fewer than 3 photos, a constant side, or a prediction with
      no visible color, every photo under ``COLORLESS``): does the model paint quiet photos quietly
      and colorful ones colorfully?
    - ``worst_quiet_ab_excess`` (NaN without ``ab_excess``, each photo's ``l2_ab`` minus gray's): the quieter
      half's largest, in Lab units. A perceptual reading of the worst quiet photo: PSNR is logarithmic, so on
      a nearly colorless truth a tint a viewer barely sees (ΔE ~2) already costs several dB against gray,
      while this counts how much farther from the truth's colors than gray the photo is painted.
    """
    gain = _gains(psnr, gray_psnr)
    truth = np.asarray(truth_colorfulness, np.float64)
    quiet = quieter_half(truth)
    predicted = np.asarray(predicted_colorfulness, np.float64)
    corr = float("nan")
    if len(truth) >= 3 and predicted.std() > 0 and truth.std() > 0 and predicted.max() >= COLORLESS:
        corr = float(np.corrcoef(predicted, truth)[0, 1])
    known = ~np.isnan(gain)  # an exact photo scores +inf; exact against exact (inf − inf) is unknown
    excess = np.full(len(gain), np.nan) if ab_excess is None else np.asarray(ab_excess, np.float64)
    quiet_excess = quiet & ~np.isnan(excess)
    return {"gain_over_gray": float(gain[known].mean()) if known.any() else float("nan"),
            "worst_gain": float(gain[known].min()) if known.any() else float("nan"),
            "quiet_gain": float(gain[quiet & known].mean()) if (quiet & known).any() else float("nan"),
            "worst_quiet_gain": float(gain[quiet & known].min()) if (quiet & known).any() else float("nan"),
            "colorfulness_corr": corr,
            "worst_quiet_ab_excess": float(excess[quiet_excess].max()) if quiet_excess.any() else float("nan")}


class WithOptions:
    """A Colorizer that always colorizes with the same options: an extra row (another temperature, mirror
    averaging) or a decoding under test (``scripts/tune_decoding.py``)."""

    def __init__(self, model, **fixed):
        # Not ``options``: a Colorizer's ``options`` are the names it accepts, which this row does not widen.
        self.model, self.fixed = model, fixed

    def colorize(self, image: np.ndarray) -> np.ndarray:
        return self.model.colorize(image, **self.fixed)


def _photo_key(truth: np.ndarray) -> int:
    """A photo known by its bytes: ``evaluate_photos`` hands a predictor the truth alone, in any order."""
    return zlib.crc32(np.ascontiguousarray(truth).tobytes())


class HintedColorizer:
    """A hint-taking Colorizer given ``n_hints`` simulated hints per photo (``hints.sample_hints``:
    the truth's mean color in small patches at seeded random points; the seed comes from the photo's
    bytes, so each photo gets the same points whatever the order, and n hints are the first n of more)."""

    def __init__(self, model, n_hints: int, seed: int = 0, **options):
        self.model, self.n_hints, self.seed, self.options = model, n_hints, seed, options

    def colorize(self, truth: np.ndarray) -> np.ndarray:
        from colorizer.hints import sample_hints

        seed = [self.seed, _photo_key(truth)]
        return self.model.colorize(truth, hints=sample_hints(truth, self.n_hints, seed=seed), **self.options)


class ReferencedColorizer:
    """A Colorizer colorizing each truth from its own reference (``reference_pairs``), looked up by
    the truth's bytes (``evaluate_photos`` hands predictors the truth only). ``model``: anything with
    ``colorize(image, reference=..., reference_visible=...)``: a ``Colorizer`` or a ``colorizer.baselines``
    reference baseline. A pair with visible pixels (``reference_pairs(with_visible=True)``) gives the model the
    pixels its reference shows."""

    def __init__(self, model, pairs: list[tuple]):
        self.model = model
        self.references = {_photo_key(truth): (reference, shown[1] if shown else None)
                           for _, truth, reference, *shown in pairs}

    def colorize(self, truth: np.ndarray) -> np.ndarray:
        reference, shown = self.references[_photo_key(truth)]
        return self.model.colorize(truth, reference=reference, reference_visible=shown)
