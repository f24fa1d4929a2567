"""colorizer.metrics: colorfulness (Hasler & Süsstrunk), SSIM (Wang et al.), right-hue rate, AuC (Zhang et al.)
of one image, on constructed images with known answers."""
from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import structural_similarity

from colorizer import color, quantize
from colorizer.evaluate import gray_baseline
from colorizer.metrics import METRIC_NAMES, colorfulness, image_metrics, ssim, true_bins
from conftest import flat_gray, lab_patch, make_photo, measured_chroma_and_hue


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


def test_colorfulness_reads_the_colors_of_an_rgba_picture():
    """Session 35's review: the integer path took an H×W×4 picture's bytes as RGB triples."""
    rgb = np.zeros((4, 4, 3), np.uint8)
    rgb[..., 0] = 255
    rgba = np.dstack([rgb, np.full((4, 4), 255, np.uint8)])
    assert colorfulness(rgba) == colorfulness(rgb)


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


def test_metrics_refuse_pictures_that_are_not_8_bit_rgb():
    """Session 34's audit: 16-bit pictures one pixel apart measured PSNR −1.75 dB and colorfulness 36,035; 0-1 floats
    colorfulness 0.55 against 140.2 as uint8: taken as if 8-bit, without a word."""
    truth = make_photo(20, 30, seed=4)
    for other in (truth.astype(np.uint16) * 257, truth / 255.0):
        with pytest.raises(ValueError, match="metrics take uint8 RGB"):
            image_metrics(other, other)
    with pytest.raises(ValueError, match="metrics take uint8 RGB"):
        image_metrics(truth[..., 0], truth[..., 0])


def test_psnr_l2_ab_and_colorfulness_ratio_on_known_values():
    """Hand-computed: PSNR over R, G, B at a data range of 255; l2_ab the mean (not the largest, nor the median) per-pixel ab
    distance; colorfulness_ratio the prediction's colorfulness over the truth's (not the other way round)."""
    truth = np.full((4, 6, 3), 100, np.uint8)
    off_by_ten = truth.copy()
    off_by_ten[..., 0] = 110  # one channel of three off by 10 everywhere: MSE = 100 / 3
    assert image_metrics(truth, off_by_ten)["psnr"] == pytest.approx(10 * math.log10(255**2 * 3 / 100), abs=1e-9)
    colored = lab_patch(4, 6, 60, 40, 30)
    third_gray = colored.copy()
    third_gray[:, :2] = flat_gray(colored)[:, :2]  # a third of the pixels gray: ab error = chroma there, 0 elsewhere
    chroma, _ = measured_chroma_and_hue(colored)
    # A third, not half: at half the mean equals the median's midpoint (session 34's test audit: a median passed).
    assert chroma > 35 and image_metrics(colored, third_gray)["l2_ab"] == pytest.approx(chroma / 3, abs=0.5)
    photo = make_photo(24, 32, seed=1)
    lab = color.rgb_to_lab(photo)
    muted = color.lab_to_rgb(np.concatenate([lab[..., :1], lab[..., 1:] * 0.3], axis=-1))
    ratio = image_metrics(photo, muted)["colorfulness_ratio"]
    assert ratio == pytest.approx(colorfulness(muted) / colorfulness(photo), rel=1e-9) and ratio < 0.6


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


def test_right_hue_is_as_wrong_turned_either_way():
    """The hue difference is unsigned: a prediction turned 50° or 90° clockwise is as wrong as one turned
    counter-clockwise (a signed angle would count every clockwise turn as right), 15° either way is right."""
    truth = lab_patch(4, 4, 60, 35, 30)
    # Either side of the 30° tolerance (a mutation audit moved it to 35° unseen), and the opposite hue: a model
    # that paints every color's complement must score 0, not 1 (an |cos| in the angle would count it right).
    for turn, right in ((15, 1.0), (-15, 1.0), (27, 1.0), (-27, 1.0), (33, 0.0), (-33, 0.0), (50, 0.0), (-50, 0.0),
                        (90, 0.0), (-90, 0.0), (150, 0.0), (180, 0.0)):
        assert image_metrics(truth, lab_patch(4, 4, 60, 35, 30 + turn))["right_hue"] == right, turn


def test_right_hue_counts_only_truth_pixels_over_chroma_15():
    """The rate is over the truth's colorful pixels, chroma above 15: a truth of chroma 13 has none to count (NaN),
    one of 17 has (a mutation audit moved the threshold to 12 unseen: the muted patch was at 10)."""
    for chroma, counted in ((13, False), (17, True)):
        truth = lab_patch(4, 4, 60, chroma, 30)
        assert abs(measured_chroma_and_hue(truth)[0] - chroma) < 1
        rate = image_metrics(truth, truth)["right_hue"]
        assert (rate == 1.0) if counted else math.isnan(rate), (chroma, rate)


def test_right_hue_counts_only_colorful_truth_pixels_and_is_nan_without_any():
    colorful, muted = lab_patch(4, 4, 60, 40, 30), lab_patch(4, 4, 60, 10, 30)
    truth = np.concatenate([colorful, muted], axis=1)
    prediction = np.concatenate([colorful, flat_gray(muted)], axis=1)  # gray where the truth is muted
    assert image_metrics(truth, prediction)["right_hue"] == 1.0  # the muted half does not count
    assert math.isnan(image_metrics(muted, muted)["right_hue"])


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


def test_true_bins_agree_with_quantize_nearest_bin():
    ab = np.random.default_rng(11).uniform(-140, 140, (2000, 2)).astype(np.float32)  # in and far out of the bins
    ours, reference = true_bins(ab), quantize.nearest_bin(ab)
    distance = lambda bins: np.linalg.norm(ab - quantize.AB_BINS[bins], axis=-1)  # noqa: E731
    np.testing.assert_allclose(distance(ours), distance(reference), atol=1e-3)
    assert true_bins(ab.reshape(40, 50, 2)).shape == (40, 50)


def test_visible_pixels_alone_are_measured():
    """A picture's transparent band hides colors that are in the file but not in the picture: with ``visible``, the
    metrics are those of the visible part, whatever the hidden one holds (SSIM's windows aside, next test)."""
    rng = np.random.default_rng(5)
    truth = make_photo(40, 48, seed=3)
    predicted = np.clip(truth.astype(int) + rng.integers(-25, 25, truth.shape), 0, 255).astype(np.uint8)
    visible = np.ones((40, 48), bool)
    visible[:, 30:] = False
    hidden_wrong = predicted.copy()
    hidden_wrong[:, 30:] = 255 - truth[:, 30:]  # the hidden part painted as wrong as can be
    shown = image_metrics(truth[:, :30].copy(), predicted[:, :30].copy())
    masked = image_metrics(truth, hidden_wrong, visible=visible)
    for name in METRIC_NAMES:
        if name != "ssim":
            assert masked[name] == pytest.approx(shown[name], rel=1e-6), name
    unmasked = image_metrics(truth, hidden_wrong)
    assert unmasked["psnr"] < masked["psnr"] - 3 and unmasked["l2_ab"] > masked["l2_ab"] + 5


def test_visible_everywhere_is_the_plain_metric_and_ssim_skips_hidden_pixels():
    truth = make_photo(32, 32, seed=4)
    predicted = gray_baseline(truth)
    everywhere = np.ones((32, 32), bool)
    plain, masked = image_metrics(truth, predicted), image_metrics(truth, predicted, visible=everywhere)
    for name in METRIC_NAMES:
        assert masked[name] == pytest.approx(plain[name], rel=1e-9, nan_ok=True), name
    # Hidden pixels painted wrong lower SSIM only through the windows that reach them.
    visible = np.zeros((32, 32), bool)
    visible[:, :16] = True
    wrong = truth.copy()
    wrong[:, 16:] = 255 - truth[:, 16:]
    assert ssim(truth, wrong, visible) > ssim(truth, wrong) + 0.2
    assert ssim(truth, wrong, visible) > 0.6  # the left half is exact; only windows within 5 px of it reach over
    only_border = np.zeros((32, 32), bool)
    only_border[:3] = True  # within half a window of the edge: none of the pixels SSIM's mean counts
    assert math.isnan(ssim(truth, wrong, only_border))


@pytest.mark.slow
def test_a_large_picture_measured_in_strips_scores_as_the_whole_picture():
    """Session 35: SSIM, PSNR, colorfulness and the ab metrics of a picture over one strip (262,144 pixels) are taken
    a strip of rows at a time (a 2048×1536 color upload's metrics held ~600 MiB, twice a picture, and took a public
    server over its memory). The numbers are the whole picture's: scikit-image's SSIM and PSNR, the float64
    colorfulness, and the same metrics with every pixel visible (the masked path); and in numpy arrays worth a few
    copies of the picture, not ~45 (float64 planes of it, each 8 bytes a pixel and channel)."""
    import tracemalloc

    from skimage.metrics import peak_signal_noise_ratio

    rng = np.random.default_rng(8)
    truth = color.resize(make_photo(60, 80, seed=8), (1400, 1066))  # 1,492,400 pixels: five strips and a rest
    noisy = np.clip(truth + rng.normal(0, 12, truth.shape), 0, 255).astype(np.uint8)
    wang = structural_similarity(truth, noisy, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                 data_range=255, channel_axis=2)
    metrics = image_metrics(truth, noisy)
    assert metrics["ssim"] == pytest.approx(wang, rel=1e-12, abs=0)
    assert metrics["psnr"] == peak_signal_noise_ratio(truth, noisy, data_range=255)
    r, g, b = (noisy[..., i].astype(np.float64) for i in range(3))
    rg, yb = r - g, 0.5 * (r + g) - b
    expected = np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    assert colorfulness(noisy) == pytest.approx(expected, rel=1e-12)
    ab_true, ab_pred = color.ab_of_rgb(truth).reshape(-1, 2), color.ab_of_rgb(noisy).reshape(-1, 2)
    assert metrics["l2_ab"] == pytest.approx(float(np.linalg.norm(ab_pred - ab_true, axis=-1).mean()), rel=1e-6)
    masked = image_metrics(truth, noisy, visible=np.ones(truth.shape[:2], bool))
    for name in METRIC_NAMES:
        assert masked[name] == pytest.approx(metrics[name], rel=1e-9, nan_ok=True), name
    tracemalloc.start()
    try:
        image_metrics(truth, noisy)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * truth.size, peak / truth.size  # bytes per picture byte (11 here; the whole-picture code: 64)


def test_visible_must_fit_and_show_something():
    truth = make_photo(8, 8, seed=1)
    with pytest.raises(ValueError, match="visible is"):
        image_metrics(truth, truth, visible=np.ones((8, 9), bool))
    with pytest.raises(ValueError, match="no visible pixel"):
        image_metrics(truth, truth, visible=np.zeros((8, 8), bool))


def test_every_metric_has_a_column_in_the_apps_tables():
    """A metric added to ``METRIC_NAMES`` without a column in ``ui/tables.py`` was dropped from the Compare page
    without a word (its ``column_order`` shows only ``RESULT_COLUMNS``; session 39's contributor walk-through)."""
    from colorizer.metrics import METRIC_NAMES
    from ui.tables import METRIC_COLUMNS, RESULT_COLUMNS

    assert set(METRIC_NAMES) <= set(METRIC_COLUMNS) and set(METRIC_NAMES) <= set(RESULT_COLUMNS)
