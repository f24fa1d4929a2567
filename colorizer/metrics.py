"""Per-image metrics against color ground truth: PSNR, SSIM, L2_ab, colorfulness, right-hue rate, AuC.

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

``metrics_and_sums`` also returns the counts behind ``right_hue``, ``auc`` and ``auc_rebalanced``, so that
``colorizer.evaluate`` pools them over a set of photos (``pooled_rates``) rather than averaging rates.

``visible`` (bool H×W, e.g. a picture's alpha > 0) limits every metric to those pixels: what a transparent pixel
hides is in the file but not in the picture, and a plain background there would lift the model and gray alike.
PSNR is then over the visible pixels' R, G, B; SSIM the mean of its map over the visible pixels that the
published mean averages (those at least 5 px from the border; NaN if none), with windows that still reach
into hidden pixels nearby; the rest are plain sums and means over the visible pixels.
"""
from __future__ import annotations

import numpy as np

from colorizer import quantize
from colorizer.color import ab_of_rgb

__all__ = ["METRIC_NAMES", "colorfulness", "ssim", "true_bins", "truth_prior", "image_metrics", "metrics_and_sums",
           "pooled_rates"]

METRIC_NAMES = ("psnr", "ssim", "l2_ab", "colorfulness", "colorfulness_ratio", "right_hue", "auc", "auc_rebalanced")

SSIM_SIGMA = 1.5
SSIM_WINDOW = 11  # scikit-image's Gaussian window: 2·int(3.5σ + 0.5) + 1 taps for σ = 1.5
COLORFUL_CHROMA = 15.0  # truth pixels the right-hue rate counts
HUE_CHROMA = 8.0  # a prediction below this chroma has no hue to be right about
HUE_TOLERANCE_DEG = 30.0
AUC_THRESHOLDS = 151  # t = 0, 1, …, 150 in ab units
_STRIP_PIXELS = 1 << 18  # pixels a strip of colorfulness, PSNR and SSIM holds at a time
_SSIM_HALO = 8
_FALLBACK_CHUNK = 65_536  # pixels per quantize.nearest_bin call: its N×313 distances stay ~80 MB


def colorfulness(rgb: np.ndarray) -> float:
    """Hasler & Süsstrunk's colorfulness of a uint8 RGB image (0 for gray; ~100+ for vivid images)."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:  # the plain float64 formula (not a page's path)
        r, g, b = (rgb[..., i].astype(np.float64) for i in range(3))
        rg, yb = r - g, 0.5 * (r + g) - b
        return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))
    # rg = R − G and 2·yb = R + G − 2B are integers: their sums and sums of squares are exact in int64, a strip of
    # rows at a time (five float64 copies of a 3 MP picture held 144 MiB).
    flat = rgb[..., :3].reshape(-1, 3)  # an alpha channel, if any, is not a color
    n, s_rg, s_rg2, s_yb, s_yb2 = flat.shape[0], 0, 0, 0, 0
    for top in range(0, n, _STRIP_PIXELS):
        part = flat[top:top + _STRIP_PIXELS].astype(np.int32)
        rg = part[:, 0] - part[:, 1]
        yb2 = part[:, 0] + part[:, 1] - 2 * part[:, 2]
        s_rg += int(rg.sum(dtype=np.int64)); s_rg2 += int(np.dot(rg.astype(np.int64), rg))
        s_yb += int(yb2.sum(dtype=np.int64)); s_yb2 += int(np.dot(yb2.astype(np.int64), yb2))
    if n == 0:
        return float("nan")
    # population variances, exact as fractions, rounded once: var(yb) = var(2·yb) / 4
    var_rg = (n * s_rg2 - s_rg * s_rg) / (n * n)
    var_yb = (n * s_yb2 - s_yb * s_yb) / (4 * n * n)
    return float(np.hypot(np.sqrt(var_rg), np.sqrt(var_yb)) + 0.3 * np.hypot(s_rg / n, s_yb / (2 * n)))


def ssim(truth: np.ndarray, predicted: np.ndarray, visible: np.ndarray | None = None) -> float:
    """Wang et al.'s SSIM of two uint8 RGB H×W×3 images; NaN if the shorter side is under 11 px (or, with
    ``visible``, when no visible pixel is one the published mean counts)."""
    from skimage.metrics import structural_similarity

    if min(truth.shape[:2]) < SSIM_WINDOW:
        return float("nan")
    options = dict(gaussian_weights=True, sigma=SSIM_SIGMA, use_sample_covariance=False, data_range=255,
                   full=True)
    # scikit-image's mean leaves out a border of half a window, where the window was padded: so does this one
    pad = (SSIM_WINDOW - 1) // 2
    height, width = truth.shape[:2]
    # The map a strip of rows at a time, each with _SSIM_HALO rows of the picture around it (more than the Gaussian's
    # reach of 5): every pixel's value is the whole picture's, bit for bit, in ~15 float64 planes of a strip instead
    # of the picture (384 MiB at the page's 2048×1536).
    rows = max(SSIM_WINDOW, _STRIP_PIXELS // max(width, 1))
    sums, count = np.zeros(3), 0  # per channel without ``visible`` (scikit-image's mean of channel means)
    for top in range(0, height, rows):
        bottom = min(height, top + rows)
        if height - bottom < SSIM_WINDOW:  # no strip left under a window's height: this one takes it
            bottom = height
        low, high = max(0, top - _SSIM_HALO), min(height, bottom + _SSIM_HALO)
        first, last = max(pad, top), min(height - pad, bottom)  # the rows the published mean counts, in this strip
        if visible is None:
            for ch in range(3):  # as scikit-image does: one channel at a time, its map's cropped mean
                _, part = structural_similarity(truth[low:high, :, ch], predicted[low:high, :, ch], **options)
                block = part[first - low:last - low, pad:width - pad]
                if top == 0 and bottom == height:  # one strip: scikit-image's very sum
                    sums[ch] = block.mean(dtype=np.float64)
                else:
                    sums[ch] += block.sum(dtype=np.float64)
            count += max(0, last - first) * (width - 2 * pad)
        else:
            _, part = structural_similarity(truth[low:high], predicted[low:high], channel_axis=2, **options)
            counted = np.zeros((high - low, width), bool)
            counted[first - low:last - low, pad:width - pad] = True
            counted &= visible[low:high]
            means = part.mean(axis=2)[counted]
            if means.size:  # none counted here (all hidden, or within the border): nothing to add, and no warning
                sums[0] += means.mean() if top == 0 and bottom == height else means.sum()
            count += int(counted.sum())
        if bottom == height:
            break
    if count == 0:
        return float("nan")
    if top == 0:  # one strip: the means are already taken
        return float(sums.mean()) if visible is None else float(sums[0])
    return float((sums / count).mean()) if visible is None else float(sums[0] / count)


def _psnr(truth: np.ndarray, predicted: np.ndarray, visible: np.ndarray | None) -> float:
    """PSNR over R, G, B of every pixel (scikit-image's), or of the ``visible`` ones; inf when they are equal."""
    if visible is not None:
        truth, predicted = truth[visible], predicted[visible]
    # The squared differences' sum in int64, a strip at a time: exact, as scikit-image's float64 sum of them is
    # (under 2**53), so the same PSNR without its two float64 copies of the pictures (216 MiB at 2048×1536).
    t, p = truth.reshape(-1), predicted.reshape(-1)
    squares = 0
    for top in range(0, t.size, 3 * _STRIP_PIXELS):
        d = t[top:top + 3 * _STRIP_PIXELS].astype(np.int32) - p[top:top + 3 * _STRIP_PIXELS]
        squares += int(np.dot(d.astype(np.int64), d))
    with np.errstate(divide="ignore"):  # identical images: inf, as documented, without numpy's warning
        return float(10 * np.log10(255.0 ** 2 / np.float64(squares / t.size)))


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


def metrics_and_sums(truth: np.ndarray, predicted: np.ndarray, prior: np.ndarray | None,
                     visible: np.ndarray | None = None) -> tuple[dict, dict]:
    """``image_metrics``' arguments → (its dict, the sums that ``colorizer.evaluate.evaluate_photos`` pools over
    images: {right, colorful, within, thresholds, weighted_within, weighted_thresholds} as floats)."""
    if truth.shape != predicted.shape:
        raise ValueError(f"shapes differ: truth {truth.shape}, prediction {predicted.shape}")
    # 8-bit RGB only: 16-bit or 0-1 float pictures went through as if 8-bit, without a word (PSNR −1.75 dB and
    # colorfulness 36,035 for 16-bit pictures one pixel apart; session 34's audit).
    if truth.dtype != np.uint8 or predicted.dtype != np.uint8 or truth.ndim != 3 or truth.shape[-1] != 3:
        raise ValueError(f"metrics take uint8 RGB H×W×3 pictures, not truth {truth.dtype} {truth.shape} and "
                         f"prediction {predicted.dtype} {predicted.shape}")
    if visible is not None:
        visible = np.asarray(visible, bool)
        if visible.shape != truth.shape[:2]:
            raise ValueError(f"visible is {visible.shape}, the images {truth.shape[:2]}")
        if not visible.any():
            raise ValueError("no visible pixel to measure")
    # The whole-picture metrics first: the ab arrays below are not alive then.
    shown_truth, shown_predicted = (truth, predicted) if visible is None else (truth[visible], predicted[visible])
    truth_colorfulness, predicted_colorfulness = colorfulness(shown_truth), colorfulness(shown_predicted)
    del shown_truth, shown_predicted
    psnr, ssim_value = _psnr(truth, predicted, visible), ssim(truth, predicted, visible)
    # Per pixel, a strip of rows at a time (whole-picture float32 Lab copies, their differences and the bins'
    # intermediates held ~195 MiB at 2048×1536); kept whole: the three per-pixel arrays the means and sums read, so
    # every sum is taken over the same array as before, in the same order.
    height, width = truth.shape[:2]
    count = height * width if visible is None else int(np.count_nonzero(visible))
    error, within = np.empty(count, np.float32), np.empty(count, np.float32)
    bins = np.empty(count, np.int32)
    n_right = n_colorful = done = 0
    rows = max(1, _STRIP_PIXELS // max(width, 1))
    for top in range(0, height, rows):
        ab_true, ab_pred = ab_of_rgb(truth[top:top + rows]), ab_of_rgb(predicted[top:top + rows])
        if visible is not None:
            ab_true, ab_pred = ab_true[visible[top:top + rows]], ab_pred[visible[top:top + rows]]
        else:
            ab_true, ab_pred = ab_true.reshape(-1, 2), ab_pred.reshape(-1, 2)
        here = slice(done, done + len(ab_true))
        done += len(ab_true)
        error[here] = np.linalg.norm(ab_pred - ab_true, axis=-1)
        # Right hue: the angle between the two (a, b) directions is atan2(|cross|, dot), already in
        # [0°, 180°], so no wrap-around at ±180° to handle.
        colorful = np.hypot(ab_true[..., 0], ab_true[..., 1]) > COLORFUL_CHROMA
        t, p = ab_true[colorful], ab_pred[colorful]
        angle = np.degrees(np.arctan2(np.abs(t[:, 0] * p[:, 1] - t[:, 1] * p[:, 0]), np.sum(t * p, axis=-1)))
        n_right += int(np.count_nonzero((np.hypot(p[:, 0], p[:, 1]) > HUE_CHROMA) & (angle <= HUE_TOLERANCE_DEG)))
        n_colorful += int(np.count_nonzero(colorful))
        # AuC: a pixel of error e is within the thresholds ⌈e⌉, …, 150 (a whole number: exact in float32).
        within[here] = np.clip(AUC_THRESHOLDS - np.ceil(error[here]), 0, AUC_THRESHOLDS)
        bins[here] = true_bins(ab_true)
    if prior is None:
        prior = np.bincount(bins.ravel(), minlength=quantize.N_BINS) / bins.size
    # λ = 0: the pure inverse of the smoothed prior, as the paper's rebalanced AuC weighs pixels.
    weights = quantize.rebalancing_weights(np.asarray(prior, np.float64), lam=0.0)[bins].astype(np.float64)

    sums = {
        "right": float(n_right), "colorful": float(n_colorful),
        "within": float(within.sum(dtype=np.float64)), "thresholds": float(within.size * AUC_THRESHOLDS),
        "weighted_within": float(np.sum(weights * within)),
        "weighted_thresholds": float(weights.sum() * AUC_THRESHOLDS),
    }
    metrics = {
        "psnr": psnr,
        "ssim": ssim_value,
        "l2_ab": float(error.mean()),
        "colorfulness": predicted_colorfulness,
        "colorfulness_ratio": predicted_colorfulness / truth_colorfulness if truth_colorfulness > 0 else float("nan"),
        **pooled_rates(sums),
    }
    return metrics, sums


def pooled_rates(sums: dict[str, float]) -> dict[str, float]:
    """(Summed) ``metrics_and_sums`` sums → {right_hue, auc, auc_rebalanced}; NaN where a denominator is 0."""
    def ratio(numerator: str, denominator: str) -> float:
        return sums[numerator] / sums[denominator] if sums[denominator] > 0 else float("nan")

    return {"right_hue": ratio("right", "colorful"), "auc": ratio("within", "thresholds"),
            "auc_rebalanced": ratio("weighted_within", "weighted_thresholds")}


def image_metrics(truth: np.ndarray, predicted: np.ndarray, prior: np.ndarray | None = None,
                  visible: np.ndarray | None = None) -> dict[str, float]:
    """uint8 RGB truth and prediction (same H×W×3, any size) → {name: float} for every ``METRIC_NAMES``.

    ``prior`` (313, e.g. ``truth_prior`` of a test set that includes this truth) is what
    ``auc_rebalanced`` weights by; by default the truth's own. ``visible`` (bool H×W): count only those
    pixels (module docstring). ``ssim``, ``right_hue`` and ``colorfulness_ratio`` may be NaN (module
    docstring). Raises ValueError if the shapes differ, or ``visible`` has another shape or no pixel.
    """
    return metrics_and_sums(truth, predicted, prior, visible)[0]
