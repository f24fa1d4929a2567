"""colorizer.upsample: chroma upsampled under the full-resolution L follows L's edges, keeps flat
colors as they are, and works at every size (1×1 up)."""
from __future__ import annotations

import numpy as np
import pytest

from colorizer.color import join_lab, join_lab_guided, luminance, resize, rgb_to_lab
from colorizer.upsample import guided_coefficients

LEFT_AB, RIGHT_AB = np.array([40.0, 20.0]), np.array([-30.0, -10.0])


def step_photo(h: int = 96, w: int = 96, edge: int = 37):
    """L: 35 left of column ``edge``, 75 from it on; true ab: LEFT_AB / RIGHT_AB on the same sides."""
    L = np.where(np.arange(w)[None, :] < edge, 35.0, 75.0).repeat(h, axis=0).astype(np.float32)
    ab = np.where((np.arange(w) < edge)[None, :, None], LEFT_AB, RIGHT_AB).repeat(h, axis=0).astype(np.float32)
    return L, ab


def ab_error(rgb: np.ndarray, ab_true: np.ndarray) -> float:
    return float(np.linalg.norm(rgb_to_lab(rgb)[..., 1:] - ab_true, axis=-1).mean())


def test_guided_upsampling_puts_the_chroma_edge_where_L_has_it():
    L, ab_true = step_photo()
    coarse = resize(ab_true, (8, 8))  # what a network at 1/12 resolution can say: the edge is smeared
    bilinear = join_lab(L, coarse)
    guided = join_lab_guided(L, *guided_coefficients(L, coarse))
    assert ab_error(guided, ab_true) < 0.5 * ab_error(bilinear, ab_true), (ab_error(guided, ab_true), ab_error(bilinear, ab_true))
    # The guided chroma changes side at the very column where L does (a: +40 left, -30 right), where the
    # bilinear one ramps through gray over several pixels.
    def sides(rgb):
        a = rgb_to_lab(rgb)[:, :, 1]
        return a[:, :37].min(), a[:, 37:].max()

    left_min, right_max = sides(guided)
    assert left_min > 20 and right_max < -15, (left_min, right_max)
    left_min, right_max = sides(bilinear)
    assert not (left_min > 20 and right_max < -15)


def test_a_constant_color_stays_exactly_that_color():
    L, _ = step_photo()
    coarse = np.tile(np.array([12.0, -20.0], np.float32), (8, 8, 1))
    gain, offset = guided_coefficients(L, coarse)
    np.testing.assert_allclose(gain, 0.0, atol=1e-3)
    np.testing.assert_allclose(offset, np.broadcast_to([12.0, -20.0], offset.shape), atol=1e-3)


def test_huge_eps_is_the_smoothed_bilinear_upsampling():
    """ε → ∞ switches the edge model off: no chroma from L, only the coarse prediction."""
    L, ab_true = step_photo()
    coarse = resize(ab_true, (8, 8))
    gain, _ = guided_coefficients(L, coarse, eps=1e9)
    assert np.abs(gain).max() < 1e-3


@pytest.mark.parametrize("shape", [(1, 1), (1, 300), (300, 1), (2, 2), (7, 3000)])
def test_every_size_works_and_keeps_L(shape):
    rng = np.random.default_rng(0)
    gray = rng.integers(0, 256, shape, dtype=np.uint8)
    L = luminance(gray)
    coarse = rng.uniform(-20, 20, (4, 4, 2)).astype(np.float32)
    out = join_lab_guided(L, *guided_coefficients(L, coarse))
    assert out.shape == (*shape, 3) and out.dtype == np.uint8
    assert np.abs(luminance(out) - L).mean() < 1.0


def test_flat_lightness_gives_the_twice_box_smoothed_prediction():
    """Values on a 7×7 grid: under a flat L the edge model has nothing to follow (A = 0), and B is the prediction's
    window mean, itself averaged over the window (the coefficients are smoothed before they are upsampled): an
    impulse of 81 at the centre gives 9 there, 3 two cells to its side and 1 two cells diagonally, where one box alone
    gives 0."""
    L = np.full((28, 28), 50.0, np.float32)
    coarse = np.zeros((7, 7, 2), np.float32)
    coarse[3, 3] = [81.0, -81.0]
    gain, offset = guided_coefficients(L, coarse)
    np.testing.assert_allclose(gain, 0.0, atol=1e-4)
    np.testing.assert_allclose(offset[3, 3], [9.0, -9.0], atol=1e-3)
    np.testing.assert_allclose(offset[3, 5], [3.0, -3.0], atol=1e-3)
    np.testing.assert_allclose(offset[1, 1], [1.0, -1.0], atol=1e-3)
    np.testing.assert_allclose(offset[0, 0], [0.0, 0.0], atol=1e-3)
