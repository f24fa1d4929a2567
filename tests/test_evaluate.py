"""colorizer.evaluate: colorfulness (Hasler & Süsstrunk), SSIM (Wang et al.), right-hue rate, AuC (Zhang et al.),
the gray baseline, pooling over photos, the table, on constructed images with known answers."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from colorizer import color, quantize
from colorizer.evaluate import (
    METRIC_NAMES, TRANSFER_NAMES, colorfulness, evaluate_photos, format_per_photo, format_table, gray_baseline, image_metrics, ssim,
    true_bins, write_json,
)
from conftest import make_photo


def test_colorfulness_of_gray_is_zero():
    gray = np.repeat(np.random.default_rng(0).integers(0, 256, (16, 16, 1), dtype=np.uint8), 3, axis=-1)
    assert colorfulness(gray) == 0.0


def test_colorfulness_matches_hand_computed_example():
    # One pure red pixel and one pure blue pixel.
    # rg = R - G = [255, 0]; yb = (R + G) / 2 - B = [127.5, -255]
    # σ_rg = 127.5, σ_yb = 191.25 (population std); μ_rg = 127.5, μ_yb = -63.75
    # M = √(σ_rg² + σ_yb²) + 0.3·√(μ_rg² + μ_yb²) = 229.854 + 0.3 × 142.549 = 272.619
    image = np.array([[[255, 0, 0], [0, 0, 255]]], np.uint8)
    expected = math.sqrt(127.5**2 + 191.25**2) + 0.3 * math.sqrt(127.5**2 + 63.75**2)
    assert expected == pytest.approx(272.619, abs=1e-3)
    assert colorfulness(image) == pytest.approx(expected, rel=1e-9)


def test_colorfulness_grows_with_saturation():
    photo = make_photo(32, 32, seed=1)
    lab = color.rgb_to_lab(photo)
    muted = color.lab_to_rgb(np.concatenate([lab[..., :1], lab[..., 1:] * 0.3], axis=-1))
    assert colorfulness(muted) < colorfulness(photo)


# PSNR of identical images divides by a zero error: inf, with numpy's warning.
@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_identical_images_score_perfectly():
    photo = make_photo(30, 40, seed=2)
    metrics = image_metrics(photo, photo.copy())
    assert list(metrics) == list(METRIC_NAMES)
    assert metrics["psnr"] == math.inf or metrics["psnr"] > 100
    assert metrics["ssim"] == pytest.approx(1.0)
    assert metrics["l2_ab"] == 0.0
    assert metrics["colorfulness_ratio"] == pytest.approx(1.0)
    assert metrics["right_hue"] == 1.0 and metrics["auc"] == 1.0 and metrics["auc_rebalanced"] == 1.0


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_metrics_of_a_different_image_and_tiny_images():
    truth = make_photo(30, 40, seed=3)
    worse = image_metrics(truth, gray_baseline(truth))
    assert 10 < worse["psnr"] < 60 and worse["ssim"] < 1 and worse["l2_ab"] > 1
    assert 0 < worse["auc"] < 1 and worse["right_hue"] == 0.0
    with pytest.raises(ValueError, match="shapes differ"):
        image_metrics(truth, truth[:-1])


def test_gray_baseline_keeps_L_and_drops_color():
    truth = make_photo(25, 35, seed=4)
    gray = gray_baseline(truth)
    assert gray.shape == truth.shape and gray.dtype == np.uint8
    assert colorfulness(gray) < 1.0  # R = G = B up to rounding
    assert np.abs(color.luminance(gray) - color.luminance(truth)).max() < 0.6


class Perfect:
    """A stand-in colorizer that returns the truth itself."""

    def colorize(self, image):
        return image


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_evaluate_photos_and_table():
    photos = [(f"p{i}", make_photo(20, 28, seed=i)) for i in range(3)]
    summary = evaluate_photos(photos, {"perfect": Perfect()})
    assert list(summary) == ["gray", "perfect", "truth"]
    assert summary["perfect"]["l2_ab"] == 0.0 and summary["perfect"]["colorfulness_ratio"] == pytest.approx(1.0)
    assert summary["gray"]["n_images"] == 3 and summary["gray"]["colorfulness_ratio"] < 0.05
    truth_mean = np.mean([colorfulness(p) for _, p in photos])
    assert summary["truth"]["colorfulness"] == pytest.approx(truth_mean)
    table = format_table(summary).splitlines()
    assert table[0].startswith("| model | PSNR")
    assert [line.split("|")[1].strip() for line in table[2:]] == ["gray", "perfect", "truth"]


def lab_patch(h: int, w: int, L: float, chroma: float, hue_deg: float) -> np.ndarray:
    """A uint8 RGB h×w patch of one Lab color given as L, chroma and hue (degrees)."""
    hue = np.radians(hue_deg)
    lab = np.broadcast_to(np.array([L, chroma * np.cos(hue), chroma * np.sin(hue)], np.float32), (h, w, 3))
    return color.lab_to_rgb(np.ascontiguousarray(lab))


def measured_chroma_and_hue(rgb: np.ndarray) -> tuple[float, float]:
    a, b = color.ab_of_rgb(rgb)[0, 0]
    return float(np.hypot(a, b)), float(np.degrees(np.arctan2(b, a)))


def flat_gray(rgb: np.ndarray) -> np.ndarray:
    """R = G = B exactly (a = b = 0 to float precision), of about the same lightness."""
    return np.repeat(color.to_gray(rgb)[..., None], 3, axis=-1)


# --- SSIM ------------------------------------------------------------------------------------------

def test_ssim_is_wang_et_al_gaussian_window():
    rng = np.random.default_rng(5)
    truth = make_photo(24, 33, seed=5)
    noisy = np.clip(truth + rng.normal(0, 20, truth.shape), 0, 255).astype(np.uint8)
    wang = structural_similarity(truth, noisy, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=255, channel_axis=2)
    assert ssim(truth, noisy) == wang
    assert image_metrics(truth, noisy)["ssim"] == wang
    assert abs(wang - structural_similarity(truth, noisy, data_range=255, channel_axis=2)) > 0.01  # not the 7×7 box
    assert ssim(truth, truth.copy()) == pytest.approx(1.0)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
@pytest.mark.parametrize("shape", [(1, 1), (2, 2), (3000, 6), (6, 3000), (10, 500), (11, 11)])
def test_small_and_thin_images_do_not_raise(shape):
    rng = np.random.default_rng(6)
    truth = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    other = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    same, different = image_metrics(truth, truth.copy()), image_metrics(truth, other)
    if min(shape) < 11:  # the 11×11 window does not fit: undefined, not a different metric
        assert math.isnan(same["ssim"]) and math.isnan(different["ssim"])
    else:
        assert same["ssim"] == pytest.approx(1.0) and different["ssim"] < 0.5
    assert same["auc"] == 1.0 and same["l2_ab"] == 0.0
    for key in ("psnr", "l2_ab", "auc", "auc_rebalanced"):
        assert math.isfinite(different[key]), key


def test_ssim_of_tiny_images_is_skipped_by_the_mean_and_null_in_json(tmp_path):
    big, tiny = make_photo(20, 20, seed=7), make_photo(3000, 6, seed=8)
    summary = evaluate_photos([("big", big), ("tiny", tiny)], {"perfect": Perfect()})
    assert summary["perfect"]["ssim"] == pytest.approx(1.0)  # the tiny image's NaN left out
    assert summary["gray"]["ssim"] == pytest.approx(image_metrics(big, gray_baseline(big))["ssim"])
    only_tiny = evaluate_photos([("tiny", tiny)], {})
    assert math.isnan(only_tiny["gray"]["ssim"])
    write_json(only_tiny, tmp_path / "eval.json")
    assert json.loads((tmp_path / "eval.json").read_text())["gray"]["ssim"] is None
    assert "| gray | " in format_table(only_tiny) and " – |" in format_table(only_tiny).splitlines()[2]


# --- right hue -------------------------------------------------------------------------------------

def test_right_hue_of_truth_gray_and_rotated_hue():
    truth = np.concatenate([lab_patch(6, 6, 60, 40, hue) for hue in (0, 70, 150, -120)], axis=1)
    assert image_metrics(truth, truth)["right_hue"] == 1.0
    assert image_metrics(truth, flat_gray(truth))["right_hue"] == 0.0
    assert image_metrics(truth, gray_baseline(truth))["right_hue"] == 0.0
    rotated = np.concatenate([lab_patch(6, 6, 60, 40, hue + 90) for hue in (0, 70, 150, -120)], axis=1)
    assert image_metrics(truth, rotated)["right_hue"] == 0.0


def test_right_hue_wraps_around_at_180_degrees_and_needs_chroma():
    truth = lab_patch(4, 4, 60, 30, 170)
    chroma, hue = measured_chroma_and_hue(truth)
    assert chroma > 20 and abs(hue - 170) < 2
    near = lab_patch(4, 4, 60, 30, -170)  # 20° away across ±180°
    far = lab_patch(4, 4, 60, 30, -140)  # 50° away
    faint = lab_patch(4, 4, 60, 5, 170)  # the right hue, but chroma under 8
    assert image_metrics(truth, near)["right_hue"] == 1.0
    assert image_metrics(truth, far)["right_hue"] == 0.0
    assert image_metrics(truth, faint)["right_hue"] == 0.0


def test_right_hue_counts_only_colorful_truth_pixels_and_is_nan_without_any():
    colorful, muted = lab_patch(4, 4, 60, 40, 30), lab_patch(4, 4, 60, 10, 30)
    truth = np.concatenate([colorful, muted], axis=1)
    prediction = np.concatenate([colorful, flat_gray(muted)], axis=1)  # gray where the truth is muted
    assert image_metrics(truth, prediction)["right_hue"] == 1.0  # the muted half does not count
    assert math.isnan(image_metrics(muted, muted)["right_hue"])


class Lookup:
    """A stand-in colorizer that answers each truth with a prepared prediction."""

    def __init__(self, pairs):
        self.answers = {truth.tobytes(): prediction for truth, prediction in pairs}

    def colorize(self, image):
        return self.answers[image.tobytes()]


def test_right_hue_pools_pixels_across_images():
    all_colorful = lab_patch(8, 8, 60, 40, 30)  # 64 colorful pixels, all predicted right
    half = np.concatenate([lab_patch(8, 4, 55, 40, -100), flat_gray(lab_patch(8, 4, 55, 40, 0))], axis=1)
    gray_truth = flat_gray(lab_patch(8, 8, 50, 40, 0))  # no colorful pixel: NaN alone, nothing in the pool
    model = Lookup([(all_colorful, all_colorful), (half, flat_gray(half)), (gray_truth, gray_truth)])
    summary = evaluate_photos([("a", all_colorful), ("b", half), ("c", gray_truth)], {"m": model})
    assert summary["m"]["right_hue"] == pytest.approx(64 / (64 + 32))  # a mean of per-image rates would say 1/2
    assert summary["gray"]["right_hue"] == 0.0
    assert math.isnan(evaluate_photos([("c", gray_truth)], {})["gray"]["right_hue"])


# --- AuC -------------------------------------------------------------------------------------------

def test_auc_is_the_mean_of_the_cumulative_error_curve_over_thresholds_0_to_150():
    truth, predicted = make_photo(16, 20, seed=9), make_photo(16, 20, seed=10)
    error = np.linalg.norm(color.ab_of_rgb(predicted) - color.ab_of_rgb(truth), axis=-1)
    curve = [np.mean(error <= t) for t in range(151)]
    assert image_metrics(truth, predicted)["auc"] == pytest.approx(np.mean(curve), abs=1e-12)
    assert image_metrics(truth, truth)["auc"] == 1.0


def test_auc_of_gray_against_constant_chroma_40():
    truth = lab_patch(5, 7, 60, 39.5, 45)
    chroma, _ = measured_chroma_and_hue(truth)
    assert 39 < chroma <= 40  # so ⌈error⌉ = 40: thresholds 40, …, 150 hold it
    metrics = image_metrics(truth, flat_gray(truth))
    assert metrics["auc"] == pytest.approx(111 / 151, abs=1e-12)
    assert metrics["auc_rebalanced"] == pytest.approx(111 / 151, abs=1e-9)  # one color: weighting changes nothing


def test_rebalanced_auc_counts_a_rare_color_as_much_as_a_common_one():
    common, rare = lab_patch(9, 10, 60, 40, 20), lab_patch(1, 10, 60, 40, -100)  # bins ~70 apart: no smoothing overlap
    truth = np.concatenate([common, rare], axis=0)  # 90 % common, 10 % rare
    predicted = np.concatenate([common, flat_gray(rare)], axis=0)  # the rare color missed
    within = 151 - math.ceil(measured_chroma_and_hue(rare)[0])
    rare_score = within / 151
    metrics = image_metrics(truth, predicted)
    assert metrics["auc"] == pytest.approx(0.9 + 0.1 * rare_score, abs=1e-12)
    assert metrics["auc_rebalanced"] == pytest.approx((1 + rare_score) / 2, rel=1e-6)
    assert metrics["auc_rebalanced"] < metrics["auc"]


def test_evaluate_photos_pools_auc_with_the_prior_of_all_truths():
    common, rare = lab_patch(9, 10, 60, 40, 20), lab_patch(1, 10, 60, 40, -100)
    model = Lookup([(common, common), (rare, flat_gray(rare))])
    summary = evaluate_photos([("common", common), ("rare", rare)], {"m": model})
    rare_score = (151 - math.ceil(measured_chroma_and_hue(rare)[0])) / 151
    assert summary["m"]["auc"] == pytest.approx(0.9 + 0.1 * rare_score, abs=1e-12)  # pixels pooled: 90 + 10
    assert summary["m"]["auc_rebalanced"] == pytest.approx((1 + rare_score) / 2, rel=1e-6)  # p̃ from both truths


def test_true_bins_agree_with_quantize_nearest_bin():
    ab = np.random.default_rng(11).uniform(-140, 140, (2000, 2)).astype(np.float32)  # in and far out of the bins
    ours, reference = true_bins(ab), quantize.nearest_bin(ab)
    distance = lambda bins: np.linalg.norm(ab - quantize.AB_BINS[bins], axis=-1)  # noqa: E731
    np.testing.assert_allclose(distance(ours), distance(reference), atol=1e-3)
    assert true_bins(ab.reshape(40, 50, 2)).shape == (40, 50)


# --- the table -------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_table_has_the_new_columns_in_percent():
    photos = [(f"p{i}", make_photo(20, 28, seed=i)) for i in range(2)]
    summary = evaluate_photos(photos, {"perfect": Perfect()})
    assert list(summary["perfect"]) == [*METRIC_NAMES, "n_images", *TRANSFER_NAMES]
    header, _, gray, perfect, truth = format_table(summary).splitlines()
    assert "right hue (%)" in header and "AuC (%)" in header and "AuC rebal. (%)" in header
    assert perfect.split(" | ")[4:7] == ["100.0", "100.0", "100.0"]
    assert gray.split(" | ")[4] == "0.0"
    assert len(truth.split("|")) == len(header.split("|"))


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_table_says_whether_colorfulness_follows_the_truth():
    photos = [(f"p{i}", make_photo(20, 28, seed=i)) for i in range(3)]
    header, _, gray, perfect, truth = format_table(evaluate_photos(photos, {"perfect": Perfect()})).splitlines()
    assert header.rstrip(" |").endswith("colorfulness follows truth (r)")
    assert perfect.rstrip(" |").endswith("+1.00")   # a perfect model's colorfulness is the truth's
    assert gray.rstrip(" |").endswith("–")          # gray's is 0 for every photo: no correlation


# --- Transfer: the quieter half, the worst quiet photo, colorfulness tracking -------------------------


def test_transfer_metrics_values():
    from colorizer.evaluate import transfer_metrics

    gray = [30.0, 25.0, 20.0, 18.0]
    # Photos 0 and 1 are the quieter half (truth colorfulness below the median 30).
    m = transfer_metrics([27.0, 24.0, 23.0, 22.0], gray, [5.0, 20.0, 40.0, 60.0], [10.0, 20.0, 40.0, 80.0])
    assert m["gain_over_gray"] == pytest.approx((-3 - 1 + 3 + 4) / 4)
    assert m["quiet_gain"] == pytest.approx(-2.0) and m["worst_quiet_gain"] == pytest.approx(-3.0)
    assert m["colorfulness_corr"] == pytest.approx(np.corrcoef([5, 20, 40, 60], [10, 20, 40, 80])[0, 1])
    assert np.isnan(m["worst_quiet_ab_excess"])  # not given: unknown, not zero
    # The quieter half (photos 0 and 1) decides, not the vivid photo 3's larger excess.
    excess = transfer_metrics([27.0, 24.0, 23.0, 22.0], gray, [5.0, 20.0, 40.0, 60.0], [10.0, 20.0, 40.0, 80.0],
                              ab_excess=[1.5, 4.0, -2.0, 9.0])
    assert excess["worst_quiet_ab_excess"] == pytest.approx(4.0)
    flat = transfer_metrics([1.0, 2.0], [1.0, 1.0], [3.0, 3.0], [5.0, 9.0])
    assert np.isnan(flat["colorfulness_corr"])  # two photos, a constant prediction: no correlation
    rounding = transfer_metrics([1.0] * 3, [1.0] * 3, [0.013, 0.002, 0.008], [38.0, 38.6, 36.7])
    assert np.isnan(rounding["colorfulness_corr"])  # gray's uint8 rounding noise is no colorfulness to follow


class PaintsEverything:
    """Paints every photo the same orange, whatever its truth: the wash on quiet scenes."""

    def colorize(self, truth):
        L = color.luminance(truth)
        return color.join_lab(L, np.broadcast_to(np.array([20.0, 40.0], np.float32), (*L.shape, 2)).copy())


def test_a_model_that_paints_quiet_photos_loses_on_the_quieter_half():
    quiet = [(f"q{i}", lab_patch(24, 24, 60 + i, 3.0, 200)) for i in range(3)]
    vivid = [(f"v{i}", lab_patch(24, 24, 60 + i, 45.0, 40 + 5 * i)) for i in range(3)]
    summary = evaluate_photos(quiet + vivid, {"paints": PaintsEverything(), "perfect": Perfect()})
    paints, perfect = summary["paints"], summary["perfect"]
    assert paints["quiet_gain"] < -5 and paints["worst_quiet_gain"] <= paints["quiet_gain"]
    assert paints["gain_over_gray"] > paints["quiet_gain"]  # the vivid half gains: orange is near their truth
    assert perfect["quiet_gain"] > 0 and perfect["colorfulness_corr"] == pytest.approx(1.0)
    assert summary["gray"]["gain_over_gray"] == 0.0


def test_per_photo_rows_name_each_photo_and_rank_the_worst_first(tmp_path):
    """``per_photo``: each photo's PSNR, gain over gray, colorfulness and quieter-half flag, in the
    photos' order; ``format_per_photo`` lists the lowest gain first; the JSON holds them (inf → null)."""
    quiet = lab_patch(16, 16, 60, 6, 90)          # a near-gray photo: painting it costs most
    loud = lab_patch(16, 16, 60, 50, 30)
    louder = lab_patch(16, 16, 60, 70, 200)

    class Painter:  # paints every photo one strong blue, whatever its truth
        def colorize(self, image):
            return lab_patch(*image.shape[:2], 60, 60, 250)

    photos = [("quiet", quiet), ("loud", loud), ("louder", louder)]
    summary = evaluate_photos(photos, {"perfect": Perfect(), "painter": Painter()}, per_photo=True)
    rows = summary["painter"]["photos"]
    assert [r["name"] for r in rows] == ["quiet", "loud", "louder"]
    assert [r["quiet"] for r in rows] == [True, False, False]
    for (name, truth), row in zip(photos, rows):
        expected = image_metrics(truth, Painter().colorize(truth))["psnr"] - image_metrics(truth, gray_baseline(truth))["psnr"]
        assert row["gain_over_gray"] == pytest.approx(expected)
        assert row["truth_colorfulness"] == pytest.approx(colorfulness(truth))
    assert rows[0]["gain_over_gray"] < -5 and rows[0]["colorfulness"] > 5 * rows[0]["truth_colorfulness"]
    assert summary["painter"]["worst_quiet_gain"] == pytest.approx(rows[0]["gain_over_gray"])
    # The perceptual reading: the painted blue's mean ab distance from the truth, beyond gray's (the truth's chroma).
    for (name, truth), row in zip(photos, rows):
        ab_truth = color.ab_of_rgb(truth).astype(np.float64)
        ab_painted = color.ab_of_rgb(Painter().colorize(truth)).astype(np.float64)
        expected = np.linalg.norm(ab_painted - ab_truth, axis=-1).mean() - np.hypot(*np.moveaxis(ab_truth, -1, 0)).mean()
        assert row["ab_error_over_gray"] == pytest.approx(expected, abs=0.05)
    assert rows[0]["ab_error_over_gray"] > 40  # a strong blue on a near-gray truth: far beyond a faint cast
    assert summary["painter"]["worst_quiet_ab_excess"] == pytest.approx(rows[0]["ab_error_over_gray"])
    assert summary["perfect"]["worst_quiet_ab_excess"] < 0 and summary["gray"]["worst_quiet_ab_excess"] == 0.0
    assert all(math.isinf(r["gain_over_gray"]) for r in summary["perfect"]["photos"])
    assert "photos" not in evaluate_photos(photos, {"perfect": Perfect()})["perfect"]
    text = format_per_photo(summary)
    painter_rows = text.split("painter, lowest gain over gray first:")[1].strip().splitlines()[2:]
    gains = [float(line.split("|")[2]) for line in painter_rows]
    assert [line.split("|")[1].strip() for line in painter_rows][0] == "quiet" and gains == sorted(gains)
    assert format_per_photo(summary, worst=1).split("painter")[1].strip().splitlines()[3:] == painter_rows[:1]

    write_json(summary, tmp_path / "s.json")
    saved = json.loads((tmp_path / "s.json").read_text())
    assert saved["perfect"]["photos"][0]["gain_over_gray"] is None
    assert saved["painter"]["photos"][0]["gain_over_gray"] == pytest.approx(rows[0]["gain_over_gray"])
