"""colorizer.color: Lab conversion against scikit-image's reference, normalization, the full-resolution join."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from skimage.color import lab2rgb, rgb2lab

from colorizer import color
from conftest import make_photo

# OpenCV's float32 Lab path interpolates its gamma and cube-root tables, so it differs from
# scikit-image's exact formulas by ~0.08 on average and at most ~0.5 (ΔE ≈ 0.55 over all 16.7 M
# sRGB colors): far below a just-noticeable difference (ΔE ≈ 2.3).
LAB_MAX_ERROR = 0.6
LAB_MEAN_ERROR = 0.15

rgb_images = arrays(np.uint8, st.tuples(st.integers(1, 8), st.integers(1, 8), st.just(3)))


def random_rgb(shape=(40, 50, 3), seed=0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


def test_rgb_to_lab_matches_skimage_on_random_rgb():
    rgb = random_rgb()
    ours = color.rgb_to_lab(rgb)
    reference = rgb2lab(rgb / 255.0)
    assert ours.dtype == np.float32 and ours.shape == rgb.shape
    error = np.abs(ours - reference)
    assert error.max() < LAB_MAX_ERROR
    assert error.mean() < LAB_MEAN_ERROR


def test_rgb_to_lab_matches_skimage_on_primaries_and_grays():
    corners = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255],
                         [255, 255, 0], [0, 255, 255], [255, 0, 255], [128, 128, 128]]], np.uint8)
    np.testing.assert_allclose(color.rgb_to_lab(corners), rgb2lab(corners / 255.0), atol=LAB_MAX_ERROR)
    white_lab = color.rgb_to_lab(corners[:, 1:2])[0, 0]
    np.testing.assert_allclose(white_lab, [100, 0, 0], atol=1e-3)


def test_float_rgb_input_equals_uint8_input():
    rgb = random_rgb(seed=1)
    np.testing.assert_allclose(color.rgb_to_lab(rgb.astype(np.float32) / 255.0), color.rgb_to_lab(rgb), atol=1e-5)


def test_lab_to_rgb_matches_skimage_reference():
    reference_lab = rgb2lab(random_rgb(seed=2) / 255.0)
    expected = np.clip(lab2rgb(reference_lab) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    assert np.abs(color.lab_to_rgb(reference_lab).astype(int) - expected).max() <= 1


def test_lab_round_trip_is_within_one_level():
    rgb = random_rgb(seed=3)
    back = color.lab_to_rgb(color.rgb_to_lab(rgb))
    assert back.dtype == np.uint8 and back.shape == rgb.shape
    assert np.abs(back.astype(int) - rgb).max() <= 1


@settings(derandomize=True, max_examples=60, deadline=None)
@given(rgb_images)
def test_lab_round_trip_property(rgb):
    lab = color.rgb_to_lab(rgb)
    assert np.all((lab[..., 0] >= -1e-3) & (lab[..., 0] <= 100 + 1e-3))
    assert np.all(np.abs(lab[..., 1:]) <= color.AB_NORM)
    assert np.abs(color.lab_to_rgb(lab).astype(int) - rgb).max() <= 1
    assert np.abs(lab - rgb2lab(rgb / 255.0)).max() < LAB_MAX_ERROR


def test_lab_to_rgb_clips_out_of_gamut_colors():
    impossible = np.array([[[50.0, 200.0, -200.0], [100.0, 0.0, 120.0]]], np.float32)
    rgb = color.lab_to_rgb(impossible)
    # Clipped into [0, 255] channel by channel, as scikit-image clips: a wrap-around would turn a saturated
    # channel dark (e.g. 255 + 10 → 9). Violet stays violet, yellow yellow.
    assert rgb.dtype == np.uint8
    np.testing.assert_array_equal(rgb, [[[174, 0, 255], [255, 250, 0]]])


def test_luminance_of_gray_and_rgb():
    gray = np.arange(0, 256, dtype=np.uint8).reshape(16, 16)
    L_gray = color.luminance(gray)
    assert L_gray.shape == gray.shape and L_gray.dtype == np.float32
    np.testing.assert_allclose(L_gray, rgb2lab(np.repeat(gray[..., None], 3, -1) / 255.0)[..., 0], atol=LAB_MAX_ERROR)
    assert np.all(np.diff(L_gray.ravel()) >= 0)  # monotonic in the gray level
    rgb = random_rgb(seed=4)
    np.testing.assert_array_equal(color.luminance(rgb), color.rgb_to_lab(rgb)[..., 0])


def test_to_gray():
    rgb = random_rgb(seed=5)
    gray = color.to_gray(rgb)
    assert gray.shape == rgb.shape[:2] and gray.dtype == np.uint8
    assert color.to_gray(gray) is gray
    assert color.to_gray(np.full((2, 2, 3), 77, np.uint8)).tolist() == [[77, 77], [77, 77]]
    # The luma of ITU-R BT.601 (what a grayscale photo holds), red and blue in their places: BGR passed before.
    luma = rgb.astype(np.float64) @ [0.299, 0.587, 0.114]
    assert np.abs(gray.astype(np.float64) - luma).max() <= 1.0
    assert color.to_gray(np.array([[[255, 0, 0], [0, 0, 255]]], np.uint8)).tolist() == [[76, 29]]


def test_normalization_ranges_and_inverse():
    L = np.array([0.0, 50.0, 100.0])
    np.testing.assert_allclose(color.normalize_l(L), [-1, 0, 1])
    ab = np.array([-110.0, 0.0, 55.0])
    np.testing.assert_allclose(color.normalize_ab(ab), [-1, 0, 0.5])
    np.testing.assert_allclose(color.unnormalize_ab(color.normalize_ab(ab)), ab)
    np.testing.assert_allclose(color.unnormalize_l(np.array([-1.0, 0.0, 1.0])), L)   # the L inverse too (session 38)
    np.testing.assert_allclose(color.unnormalize_l(color.normalize_l(L)), L)


def test_ab_of_rgb_is_lab_ab():
    rgb = random_rgb(seed=6)
    np.testing.assert_array_equal(color.ab_of_rgb(rgb), color.rgb_to_lab(rgb)[..., 1:])
    assert np.abs(color.ab_of_rgb(np.full((3, 3, 3), 200, np.uint8))).max() < 1e-3


@pytest.mark.parametrize("size", [(7, 11), (80, 120), (37, 53)])
def test_resize_returns_height_width(size):
    out = color.resize(random_rgb((40, 50, 3), seed=7), size)
    assert out.shape == (*size, 3) and out.dtype == np.uint8


def test_join_lab_keeps_full_resolution_L():
    rgb = random_rgb((37, 53, 3), seed=8)
    L = color.luminance(rgb)
    gray_out = color.join_lab(L, np.zeros((8, 8, 2), np.float32))
    assert gray_out.shape == (37, 53, 3) and gray_out.dtype == np.uint8
    # a = b = 0 is always in gamut: only uint8 rounding separates the L values.
    assert np.abs(color.luminance(gray_out) - L).max() < 0.5
    assert np.abs(gray_out[..., 0].astype(int) - gray_out[..., 2]).max() <= 1


@pytest.mark.parametrize("seed", range(4))
def test_join_lab_with_photo_colors_keeps_L(seed):
    """The photo's own colors, shrunk to a working size and joined back: realistic chroma (~45–60).

    L moves only by uint8 rounding (up to ~0.7 in dark areas, where L is steep in the RGB levels) and by
    gamut clipping: where upsampled chroma meets a much darker or brighter full-resolution pixel,
    (L, a, b) leaves sRGB, lab_to_rgb clips a channel, and L shifts with it. Measured: mean ≈ 0.1,
    max ≤ 0.7 on these synthetic photos, ≤ 1.7 on real photos (data/photos val, 64×64 chroma).
    """
    photo = make_photo(37, 53, seed=seed)
    L = color.luminance(photo)
    ab_small = color.resize(color.ab_of_rgb(photo), (16, 16))
    joined = color.join_lab(L, ab_small)
    error = np.abs(color.luminance(joined) - L)
    assert error.mean() < 0.5 and error.max() < 2.0, (error.mean(), error.max())
    assert np.abs(color.ab_of_rgb(joined) - color.resize(ab_small, L.shape)).mean() < 2.0  # the colors arrive
