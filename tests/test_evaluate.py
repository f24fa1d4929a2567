"""colorizer.evaluate: colorfulness (Hasler & Süsstrunk), per-image metrics, the gray baseline, the table."""
from __future__ import annotations

import math

import numpy as np
import pytest

from colorizer import color
from colorizer.evaluate import colorfulness, evaluate_photos, format_table, gray_baseline, image_metrics
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
    assert set(metrics) == {"psnr", "ssim", "l2_ab", "colorfulness", "colorfulness_ratio"}
    assert metrics["psnr"] == math.inf or metrics["psnr"] > 100
    assert metrics["ssim"] == pytest.approx(1.0)
    assert metrics["l2_ab"] == 0.0
    assert metrics["colorfulness_ratio"] == pytest.approx(1.0)


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_metrics_of_a_different_image_and_tiny_images():
    truth = make_photo(30, 40, seed=3)
    worse = image_metrics(truth, gray_baseline(truth))
    assert 10 < worse["psnr"] < 60 and worse["ssim"] < 1 and worse["l2_ab"] > 1
    tiny = image_metrics(truth[:3, :5], truth[:3, :5])  # SSIM window shrinks to fit
    assert tiny["ssim"] == pytest.approx(1.0)
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
