"""Evaluation against color ground truth: PSNR, SSIM, L2_ab, colorfulness, right-hue rate, AuC.

Every metric compares a uint8 RGB H×W×3 prediction with its uint8 RGB H×W×3 truth of the same size,
from 1×1 up. Lab is ``colorizer.color``'s CIE Lab; chroma C = √(a² + b²), hue h = atan2(b, a).

Per image (``image_metrics``):
- ``psnr``: 10·log10(255² / MSE) over R, G, B (scikit-image); inf for identical images.
- ``ssim``: Wang et al. (2004) as published, so it compares with published figures: an 11×11
  Gaussian window of σ = 1.5, population (co)variances, K1 = 0.01, K2 = 0.03, data range 255, the
  mean over R, G, B (scikit-image, ``gaussian_weights=True, sigma=1.5, use_sample_covariance=False``).
  NaN when the shorter side is under 11 px: the window does not fit, and a smaller window would be
  a different metric.
- ``l2_ab``: mean per-pixel Euclidean distance between the two images' (a, b), in Lab units.
- ``colorfulness``: Hasler & Süsstrunk (2003) of the prediction, M = σ_rgyb + 0.3·μ_rgyb on
  rg = R − G, yb = ½(R + G) − B; ``colorfulness_ratio``: that over the truth's (NaN for a gray truth).
- ``right_hue``: among the truth's colorful pixels (C > 15), the share where the prediction has
  C > 8 and a hue within 30° of the truth's (the angle between the two hues, 0° to 180°, so
  −170° and +170° are 20° apart). Gray scores 0; NaN when the truth has no pixel with C > 15.
- ``auc``: Zhang et al. (2016)'s area under the cumulative error curve. With e = ‖ab_pred − ab_true‖
  per pixel and thresholds t = 0, 1, …, 150 (151 of them), the curve is the share of pixels with
  e ≤ t and AuC is its mean over the 151 thresholds: in [0, 1], 1 when every pixel is exact. A pixel
  contributes max(0, 151 − ⌈e⌉) / 151; gray against a truth of chroma c ∈ (39, 40] scores 111/151.
- ``auc_rebalanced``: the same mean with each pixel weighted by 1 / p̃(bin of its TRUE ab), p̃ the
  Gaussian-smoothed (σ = 5) prior over ``colorizer.quantize``'s 313 ab bins (its rebalancing weights
  with λ = 0), so every color class counts about as much as any other whatever its pixel count. p̃
  is the truth's own unless ``image_metrics`` is given a ``prior``.

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
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path

import numpy as np

from colorizer import quantize
from colorizer.color import ab_of_rgb, join_lab, luminance

__all__ = [
    "held_out_truths", "gallery_truths", "colorfulness", "ssim", "true_bins", "truth_prior", "image_metrics", "gray_baseline", "evaluate_photos",
    "format_table", "format_per_photo", "write_json", "METRIC_NAMES", "TRANSFER_NAMES", "transfer_metrics", "quieter_half",
    "WithOptions", "HintedColorizer",
]

METRIC_NAMES = ("psnr", "ssim", "l2_ab", "colorfulness", "colorfulness_ratio", "right_hue", "auc", "auc_rebalanced")
# Colorfulness under which a photo shows no color (Hasler–Süsstrunk's scale: 15 is "slightly colorful"). Gray
# itself measures about 0.01 from uint8 rounding, which would otherwise "correlate" with the truth by chance.
COLORLESS = 1.0
TRANSFER_NAMES = ("gain_over_gray", "worst_gain", "quiet_gain", "worst_quiet_gain", "colorfulness_corr",
                  "worst_quiet_ab_excess")  # see transfer_metrics

SSIM_SIGMA = 1.5
SSIM_WINDOW = 11  # scikit-image's Gaussian window: 2·int(3.5σ + 0.5) + 1 taps for σ = 1.5
COLORFUL_CHROMA = 15.0  # truth pixels the right-hue rate counts
HUE_CHROMA = 8.0  # a prediction below this chroma has no hue to be right about
HUE_TOLERANCE_DEG = 30.0
AUC_THRESHOLDS = 151  # t = 0, 1, …, 150 in ab units
_FALLBACK_CHUNK = 65_536  # pixels per quantize.nearest_bin call: its N×313 distances stay ~80 MB


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk's colorfulness of a uint8 RGB image (0 for gray; ~100+ for vivid images)."""
    r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def ssim(truth: np.ndarray, predicted: np.ndarray) -> float:
    """Wang et al.'s SSIM of two uint8 RGB H×W×3 images; NaN if the shorter side is under 11 px."""
    from skimage.metrics import structural_similarity

    if min(truth.shape[:2]) < SSIM_WINDOW:
        return float("nan")
    return float(structural_similarity(truth, predicted, gaussian_weights=True, sigma=SSIM_SIGMA,
                                       use_sample_covariance=False, data_range=255, channel_axis=2))


# The bins sit on the grid of 10, so a pixel whose nearest grid point is a bin has that bin as its
# nearest (the grid's square cells are its Voronoi cells): a table lookup, not 313 distances a pixel.
_GRID_ORIGIN = np.rint(quantize.AB_BINS.min(axis=0) / quantize.GRID).astype(np.int32)
_GRID_CELLS = np.rint(quantize.AB_BINS / quantize.GRID).astype(np.int32) - _GRID_ORIGIN
_GRID_TO_BIN = np.full(_GRID_CELLS.max(axis=0) + 1, -1, np.int32)
_GRID_TO_BIN[_GRID_CELLS[:, 0], _GRID_CELLS[:, 1]] = np.arange(quantize.N_BINS)


def true_bins(ab: np.ndarray) -> np.ndarray:
    """ab ...×2 (raw units) → int32 ... index of the nearest of the 313 bins (``quantize.nearest_bin``'s
    answer, up to exact ties, in bounded memory; the few pixels off the bins' grid go through it)."""
    cells = np.rint(ab.reshape(-1, 2) / quantize.GRID).astype(np.int32) - _GRID_ORIGIN
    on_grid = np.all((cells >= 0) & (cells < _GRID_TO_BIN.shape), axis=-1)
    bins = np.full(len(cells), -1, np.int32)
    bins[on_grid] = _GRID_TO_BIN[cells[on_grid, 0], cells[on_grid, 1]]
    off = np.flatnonzero(bins < 0)  # off the grid's range, or on a grid point that is out of gamut
    for start in range(0, len(off), _FALLBACK_CHUNK):
        chunk = off[start:start + _FALLBACK_CHUNK]
        bins[chunk] = quantize.nearest_bin(ab.reshape(-1, 2)[chunk])
    return bins.reshape(ab.shape[:-1])


def _bin_counts(truth: np.ndarray) -> np.ndarray:
    return np.bincount(true_bins(ab_of_rgb(truth)).ravel(), minlength=quantize.N_BINS)


def truth_prior(truths: list[np.ndarray]) -> np.ndarray:
    """uint8 RGB truths → float64 313-vector: the share of all their pixels nearest each bin."""
    counts = sum((_bin_counts(truth) for truth in truths), np.zeros(quantize.N_BINS))
    return counts / counts.sum()


def _compare(truth: np.ndarray, predicted: np.ndarray, prior: np.ndarray | None) -> tuple[dict, dict]:
    """(``image_metrics``' dict, the sums that ``evaluate_photos`` pools over images)."""
    from skimage.metrics import peak_signal_noise_ratio

    if truth.shape != predicted.shape:
        raise ValueError(f"shapes differ: truth {truth.shape}, prediction {predicted.shape}")
    ab_true, ab_pred = ab_of_rgb(truth), ab_of_rgb(predicted)  # float32: a 12 MP photo stays ~100 MB a copy
    error = np.linalg.norm(ab_pred - ab_true, axis=-1)

    # Right hue: the angle between the two (a, b) directions is atan2(|cross|, dot), already in
    # [0°, 180°], so no wrap-around at ±180° to handle.
    colorful = np.hypot(ab_true[..., 0], ab_true[..., 1]) > COLORFUL_CHROMA
    t, p = ab_true[colorful], ab_pred[colorful]
    angle = np.degrees(np.arctan2(np.abs(t[:, 0] * p[:, 1] - t[:, 1] * p[:, 0]), np.sum(t * p, axis=-1)))
    right = (np.hypot(p[:, 0], p[:, 1]) > HUE_CHROMA) & (angle <= HUE_TOLERANCE_DEG)

    # AuC: a pixel of error e is within the thresholds ⌈e⌉, …, 150 (a whole number: exact in float32).
    within = np.clip(AUC_THRESHOLDS - np.ceil(error), 0, AUC_THRESHOLDS)
    bins = true_bins(ab_true)
    if prior is None:
        prior = np.bincount(bins.ravel(), minlength=quantize.N_BINS) / bins.size
    # λ = 0: the pure inverse of the smoothed prior, as the paper's rebalanced AuC weighs pixels.
    weights = quantize.rebalancing_weights(np.asarray(prior, np.float64), lam=0.0)[bins].astype(np.float64)

    sums = {
        "right": float(right.sum()), "colorful": float(colorful.sum()),
        "within": float(within.sum(dtype=np.float64)), "thresholds": float(within.size * AUC_THRESHOLDS),
        "weighted_within": float(np.sum(weights * within)),
        "weighted_thresholds": float(weights.sum() * AUC_THRESHOLDS),
    }
    with np.errstate(divide="ignore"):  # identical images: inf, as documented, without numpy's warning
        psnr = float(peak_signal_noise_ratio(truth, predicted, data_range=255))
    truth_colorfulness, predicted_colorfulness = colorfulness(truth), colorfulness(predicted)
    metrics = {
        "psnr": psnr,
        "ssim": ssim(truth, predicted),
        "l2_ab": float(error.mean()),
        "colorfulness": predicted_colorfulness,
        "colorfulness_ratio": predicted_colorfulness / truth_colorfulness if truth_colorfulness > 0 else float("nan"),
        **_pooled(sums),
    }
    return metrics, sums


def _pooled(sums: dict[str, float]) -> dict[str, float]:
    """right_hue, auc, auc_rebalanced from (summed) ``_compare`` sums."""
    def ratio(numerator: str, denominator: str) -> float:
        return sums[numerator] / sums[denominator] if sums[denominator] > 0 else float("nan")

    return {"right_hue": ratio("right", "colorful"), "auc": ratio("within", "thresholds"),
            "auc_rebalanced": ratio("weighted_within", "weighted_thresholds")}


def image_metrics(truth: np.ndarray, predicted: np.ndarray, prior: np.ndarray | None = None) -> dict[str, float]:
    """uint8 RGB truth and prediction (same H×W×3, any size) → {name: float} for every ``METRIC_NAMES``.

    ``prior`` (313, e.g. ``truth_prior`` of a test set that includes this truth) is what
    ``auc_rebalanced`` weights by; by default the truth's own. ``ssim``, ``right_hue`` and
    ``colorfulness_ratio`` may be NaN (module docstring). Raises ValueError if the shapes differ.
    """
    return _compare(truth, predicted, prior)[0]


def held_out_truths(folder, on_error=print) -> list[tuple[str, np.ndarray]]:
    """[(file name, uint8 RGB)] of the color photos in ``folder``'s val/ split (the folder itself
    without one); a gray photo has no color truth and is skipped, an unreadable one reported."""
    from colorizer import data
    from colorizer.imageio import ImageError, error_line, read_image

    photos = []
    for path in data.list_photos(folder, "val"):
        try:
            image = read_image(path)
        except ImageError as err:
            on_error(error_line(err))
            continue
        if image.was_color:
            photos.append((path.name, image.rgb))
    return photos


def gallery_truths() -> list[tuple[str, np.ndarray]]:
    """[(key, uint8 RGB)] of the built-in gallery's color photos (from pip wheels, never trained on)."""
    from colorizer import gallery

    return [(key, gallery.load_photo(key)) for key in gallery.color_keys()]


def gray_baseline(truth: np.ndarray) -> np.ndarray:
    """The truth's luminance with a = b = 0: what "no colorization" scores."""
    L = luminance(truth)
    return join_lab(L, np.zeros((*L.shape, 2), np.float32))


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if not np.isnan(v)]
    return float(np.mean(finite)) if finite else float("nan")


def evaluate_photos(photos: list[tuple[str, np.ndarray]], colorizers: dict, progress=None,
                    per_photo: bool = False) -> dict[str, dict]:
    """[(name, truth RGB)], {label: Colorizer} → {label: {metric: float, n_images}}, ``gray`` first, ``truth`` last.

    How each metric is aggregated is in the module docstring. ``colorfulness_ratio`` is a ratio of
    means: steadier than a mean of per-image ratios, which near-gray truths blow up. ``per_photo`` adds
    each label's ``photos``: [{name, psnr, gain_over_gray, colorfulness, truth_colorfulness, quiet,
    ab_error_over_gray}] in order (``quiet``: in the quieter half; ``ab_error_over_gray``: its ``l2_ab`` minus
    gray's; see ``transfer_metrics``), so a set's failures can be named.
    """
    predictors = {"gray": gray_baseline, **{label: m.colorize for label, m in colorizers.items()}}
    truths = [truth for _, truth in photos]
    truth_colorfulness = [colorfulness(truth) for truth in truths]
    mean_truth_colorfulness = float(np.mean(truth_colorfulness))
    prior = truth_prior(truths)
    summary, gray_psnr, gray_ab_error = {}, None, None
    for label, predict in predictors.items():
        items = progress(photos, desc=label) if progress else photos
        rows, sums = [], {}
        for _, truth in items:
            metrics, image_sums = _compare(truth, predict(truth), prior)
            rows.append(metrics)
            sums = {k: sums.get(k, 0.0) + v for k, v in image_sums.items()}
        means = {k: float(np.mean([r[k] for r in rows])) for k in ("psnr", "l2_ab", "colorfulness")}
        means["ssim"] = _nanmean([r["ssim"] for r in rows])
        means["colorfulness_ratio"] = means["colorfulness"] / mean_truth_colorfulness if mean_truth_colorfulness > 0 else float("nan")
        values = {**means, **_pooled(sums)}
        psnr, ab_error = np.array([r["psnr"] for r in rows]), np.array([r["l2_ab"] for r in rows])
        if gray_psnr is None:
            gray_psnr, gray_ab_error = psnr, ab_error
        ab_excess = ab_error - gray_ab_error
        summary[label] = {**{k: values[k] for k in METRIC_NAMES}, "n_images": len(rows),
                          **transfer_metrics(psnr, gray_psnr, [r["colorfulness"] for r in rows], truth_colorfulness,
                                             ab_excess)}
        if per_photo:
            summary[label]["photos"] = _photo_rows(photos, rows, gray_psnr, ab_excess, truth_colorfulness)
    summary["truth"] = {"colorfulness": mean_truth_colorfulness, "n_images": len(photos)}
    return summary


def quieter_half(truth_colorfulness) -> np.ndarray:
    """Which photos are in a set's quieter half: truth's colorfulness below the set's median (all of
    them when every truth is equally colorful)."""
    truth = np.asarray(truth_colorfulness, np.float64)
    quiet = truth < np.median(truth)
    return quiet if quiet.any() else np.ones_like(quiet)


def _photo_rows(photos, rows: list[dict], gray_psnr: np.ndarray, ab_excess: np.ndarray,
                truth_colorfulness: list[float]) -> list[dict]:
    quiet = quieter_half(truth_colorfulness)
    with np.errstate(invalid="ignore"):
        gains = np.array([r["psnr"] for r in rows]) - gray_psnr
    return [{"name": name, "psnr": float(r["psnr"]), "gain_over_gray": float(gain), "colorfulness": float(r["colorfulness"]),
             "truth_colorfulness": float(truth), "quiet": bool(q), "ab_error_over_gray": float(excess)}
            for (name, _), r, gain, excess, truth, q in zip(photos, rows, gains, ab_excess, truth_colorfulness, quiet)]


def format_per_photo(summary: dict[str, dict], worst: int | None = None) -> str:
    """A Markdown table per model of ``evaluate_photos(..., per_photo=True)``'s photos, the lowest gain
    over gray first (``worst``: only that many): the photos a set's averages hide."""
    blocks = []
    for label, m in summary.items():
        if label in ("gray", "truth") or "photos" not in m:
            continue
        ranked = sorted(m["photos"], key=lambda p: (np.nan_to_num(p["gain_over_gray"], nan=np.inf), p["name"]))[:worst]
        lines = [f"{label}, lowest gain over gray first:",
                 "| photo | vs gray (dB) | colorfulness | truth's | quieter half | ab error over gray |",
                 "|---|---|---|---|---|---|"]
        lines += [f"| {p['name']} | {_cell(p['gain_over_gray'], '+.2f')} | {p['colorfulness']:.1f} | "
                  f"{p['truth_colorfulness']:.1f} | {'yes' if p['quiet'] else ''} | {_cell(p.get('ab_error_over_gray'), '+.1f')} |"
                  for p in ranked]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


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
    with np.errstate(invalid="ignore"):
        gain = np.asarray(psnr, np.float64) - np.asarray(gray_psnr, np.float64)
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


def _cell(value: float | None, spec: str, scale: float = 1.0) -> str:
    """A table cell: "–" for an undefined (NaN or missing) value, "inf" stays "inf"."""
    return "–" if value is None or np.isnan(value) else format(value * scale, spec)


def format_table(summary: dict[str, dict]) -> str:
    """A Markdown table of ``evaluate_photos``' output (rates and AuC in percent, as Zhang et al. print them;
    the last column is ``colorfulness_corr``: "–" for gray, whose colorfulness is the same for every photo)."""
    lines = [
        "| model | PSNR (dB) ↑ | SSIM ↑ | L2_ab ↓ | right hue (%) ↑ | AuC (%) ↑ | AuC rebal. (%) ↑ | colorfulness | ratio to truth "
        "| quieter half vs gray (dB) | worst quiet photo vs gray (dB) | colorfulness follows truth (r) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, m in summary.items():
        if label == "truth":
            continue
        cells = [_cell(m["psnr"], ".2f"), _cell(m["ssim"], ".4f"), _cell(m["l2_ab"], ".2f"),
                 *(_cell(m.get(k), ".1f", 100) for k in ("right_hue", "auc", "auc_rebalanced")),
                 _cell(m["colorfulness"], ".1f"), _cell(m["colorfulness_ratio"], ".2f"),
                 _cell(m.get("quiet_gain"), "+.2f"), _cell(m.get("worst_quiet_gain"), "+.2f"),
                 _cell(m.get("colorfulness_corr"), "+.2f")]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    truth = summary.get("truth")
    if truth:
        lines.append(f"| truth | – | – | – | – | – | – | {truth['colorfulness']:.1f} | 1.00 | – | – | – |")
    return "\n".join(lines)


def _finite_or_none(value):
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    return None if isinstance(value, float) and not np.isfinite(value) else value


def write_json(summary: dict, path: str | Path) -> None:
    """Strict JSON: an infinite PSNR (identical images) or an undefined metric (NaN) becomes null."""
    Path(path).write_text(json.dumps(_finite_or_none(summary), indent=2, allow_nan=False) + "\n")


class WithOptions:
    """A Colorizer that always colorizes with the same options: an extra row (another temperature, mirror
    averaging) or a decoding under test (``scripts/tune_decoding.py``)."""

    def __init__(self, model, **fixed):
        # Not ``options``: a Colorizer's ``options`` are the names it accepts, which this row does not widen.
        self.model, self.fixed = model, fixed

    def colorize(self, image: np.ndarray) -> np.ndarray:
        return self.model.colorize(image, **self.fixed)


class HintedColorizer:
    """A hint-taking Colorizer given ``n_hints`` simulated hints per photo (``hints.sample_hints``:
    the truth's mean color in small patches at seeded random points; the seed comes from the photo's
    bytes, so each photo gets the same points whatever the order, and n hints are the first n of more)."""

    def __init__(self, model, n_hints: int, seed: int = 0, **options):
        self.model, self.n_hints, self.seed, self.options = model, n_hints, seed, options

    def colorize(self, truth: np.ndarray) -> np.ndarray:
        from colorizer.hints import sample_hints

        seed = [self.seed, zlib.crc32(np.ascontiguousarray(truth).tobytes())]
        return self.model.colorize(truth, hints=sample_hints(truth, self.n_hints, seed=seed), **self.options)


# Reference-photo colorization (``colorizer.exemplar``) is measured on pairs built from the held-out
# split: each photo colored from another view of itself, and from another photo of the same kind.
REFERENCE_PAIR_SETS = ("other view of itself", "same package and kind")


def _other_view(rgb: np.ndarray) -> np.ndarray:
    """Another view of the same scene: a mirrored crop of 75 % × 75 %, shifted right and down (a
    quarter of the photo is not in it), resized by 5/4 (the reference is of another size)."""
    from colorizer.color import resize

    h, w = rgb.shape[:2]
    crop = rgb[h // 5: h // 5 + max(1, 3 * h // 4), w // 4: w // 4 + max(1, 3 * w // 4)][:, ::-1]
    return resize(np.ascontiguousarray(crop), (max(1, crop.shape[0] * 5 // 4), max(1, crop.shape[1] * 5 // 4)))


def _kinds(folder) -> dict[str, str]:
    """File name → "package kind" from the folder's manifest.csv (kind: the source's own folder)."""
    import posixpath

    from colorizer import data

    rows = [row for row in data.manifest_rows(folder) or [] if row.get("path") or row.get("file")]
    # A manifest without the source's own path (only a package) has no kinds: no same-kind pairs.
    return {Path(row.get("path") or row["file"]).name:
            f"{row.get('package', '')} {posixpath.dirname(row['source_file'].split(':')[-1])}"
            for row in rows if row.get("source_file")}


def folder_pairs(folder, on_error=print) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """[(name, truth RGB, reference RGB)] of a folder of real pairs: each ``NAME.png`` (any supported
    image) with its reference ``NAME.ref.png`` (``scripts/fetch_eval_photos.py`` writes such folders)."""
    from colorizer.imageio import ImageError, error_line, read_image

    pairs = []
    for reference_path in sorted(Path(folder).glob("*.ref.*")):
        stem = reference_path.name.split(".ref.")[0]
        photo_path = next((p for p in sorted(Path(folder).glob(f"{stem}.*")) if ".ref." not in p.name), None)
        if photo_path is None:
            on_error(error_line(f"{reference_path.name}: no photo {stem}.* beside this reference"))
            continue
        try:
            pairs.append((photo_path.name, read_image(photo_path).rgb, read_image(reference_path).rgb))
        except ImageError as err:
            on_error(error_line(err))
    return pairs


def reference_pairs(folder, on_error=print) -> dict[str, list[tuple[str, np.ndarray, np.ndarray]]]:
    """{set name: [(file name, truth RGB, reference RGB)]}. A folder of real pairs (``NAME.ref.*`` files,
    ``folder_pairs``) is one set, named after the folder. Otherwise ``REFERENCE_PAIR_SETS`` from the
    folder's held-out split: every photo with another view of itself; and, where the manifest puts two or
    more held-out photos in one package and kind, each with the next one of its group (by name, the last
    with the first)."""
    if any(Path(folder).glob("*.ref.*")):
        return {f"real pairs ({Path(folder).name})": folder_pairs(folder, on_error)}
    photos = held_out_truths(folder, on_error)
    kinds = _kinds(folder)
    groups: dict[str, list[tuple[str, np.ndarray]]] = {}
    for name, rgb in photos:
        if name in kinds:
            groups.setdefault(kinds[name], []).append((name, rgb))
    same_kind = []
    for members in groups.values():
        if len(members) > 1:
            members = sorted(members, key=lambda m: m[0])
            same_kind += [(name, rgb, members[(i + 1) % len(members)][1]) for i, (name, rgb) in enumerate(members)]
    return {REFERENCE_PAIR_SETS[0]: [(name, rgb, _other_view(rgb)) for name, rgb in photos],
            REFERENCE_PAIR_SETS[1]: sorted(same_kind, key=lambda p: p[0])}


class ReferencedColorizer:
    """A Colorizer colorizing each truth from its own reference (``reference_pairs``), looked up by
    the truth's bytes (``evaluate_photos`` hands predictors the truth only). ``model``: anything with
    ``colorize(image, reference=...)``: a ``Colorizer`` or a ``colorizer.baselines`` reference baseline."""

    def __init__(self, model, pairs: list[tuple[str, np.ndarray, np.ndarray]]):
        self.model = model
        self.references = {zlib.crc32(np.ascontiguousarray(truth).tobytes()): ref for _, truth, ref in pairs}

    def colorize(self, truth: np.ndarray) -> np.ndarray:
        return self.model.colorize(truth, reference=self.references[zlib.crc32(np.ascontiguousarray(truth).tobytes())])
