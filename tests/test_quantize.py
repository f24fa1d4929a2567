"""colorizer.quantize: the 313 bins, soft encoding, annealed mean and class rebalancing on known inputs."""
from __future__ import annotations

import numpy as np
import pytest

from colorizer import quantize as q


def bin_index(a: float, b: float) -> int:
    return int(np.flatnonzero((q.AB_BINS[:, 0] == a) & (q.AB_BINS[:, 1] == b))[0])


def test_bins_are_313_distinct_points_on_the_grid_of_10():
    bins = q.AB_BINS
    assert bins.shape == (313, 2) and q.N_BINS == 313
    assert np.all(bins % 10 == 0)
    assert len({tuple(row) for row in bins.tolist()}) == 313
    assert np.abs(bins).max() <= 110  # within the AB_NORM range
    points = {tuple(row) for row in bins.tolist()}
    assert (-90.0, 50.0) in points and (0.0, 0.0) in points


def test_soft_encode_at_a_bin_centre_matches_closed_form():
    # (0, 0) has its four grid neighbours at distance 10 in the set, and nothing else is as close:
    # weights ∝ exp(-d² / 2σ²) = 1 for the centre and e^-2 for each neighbour (σ = 5, d = 10).
    centre = bin_index(0, 0)
    encoded = q.soft_encode(np.array([[0.0, 0.0]], np.float32))[0]
    assert encoded.shape == (313,) and encoded.dtype == np.float32
    assert encoded.argmax() == centre
    norm = 1 + 4 * np.exp(-2.0)
    assert encoded[centre] == pytest.approx(1 / norm, rel=1e-5)
    for a, b in ((10, 0), (-10, 0), (0, 10), (0, -10)):
        assert encoded[bin_index(a, b)] == pytest.approx(np.exp(-2.0) / norm, rel=1e-5)
    assert np.count_nonzero(encoded) == q.NEIGHBOURS


@pytest.mark.parametrize("a, b", [(-90, 50), (30, -40), (60, 70)])
def test_soft_encode_largest_weight_at_the_pixels_bin(a, b):
    encoded = q.soft_encode(np.array([a, b], np.float32))
    assert encoded.shape == (313,)
    assert encoded.argmax() == bin_index(a, b)


def test_soft_encode_weights_match_closed_form_on_random_points():
    rng = np.random.default_rng(0)
    ab = rng.uniform(-100, 100, (200, 2)).astype(np.float32)
    encoded = q.soft_encode(ab)
    d2 = ((ab[:, None, :].astype(np.float64) - q.AB_BINS[None]) ** 2).sum(-1)
    nearest_d2 = np.sort(d2, axis=1)[:, : q.NEIGHBOURS]
    expected = np.exp(-nearest_d2 / (2 * q.SIGMA**2))
    expected /= expected.sum(axis=1, keepdims=True)
    # Compare sorted weights, not indices: ties between equidistant bins may pick either.
    np.testing.assert_allclose(np.sort(encoded, axis=1)[:, ::-1][:, : q.NEIGHBOURS], np.sort(expected, axis=1)[:, ::-1], atol=1e-4)
    np.testing.assert_allclose(encoded.sum(axis=1), 1.0, atol=1e-5)
    assert np.all(np.count_nonzero(encoded, axis=1) == q.NEIGHBOURS)


def test_soft_encode_far_out_of_gamut_stays_finite():
    encoded = q.soft_encode(np.array([[500.0, -500.0], [1e4, 1e4]], np.float32))
    assert np.all(np.isfinite(encoded))
    np.testing.assert_allclose(encoded.sum(axis=-1), 1.0, atol=1e-5)


def test_soft_encode_keeps_leading_shape():
    ab = np.random.default_rng(1).uniform(-80, 80, (2, 3, 4, 2)).astype(np.float32)
    assert q.soft_encode(ab).shape == (2, 3, 4, 313)
    indices, weights = q.soft_encode_sparse(ab)
    assert indices.shape == weights.shape == (2, 3, 4, q.NEIGHBOURS)
    assert indices.dtype == np.int32 and weights.dtype == np.float32


def test_sparse_form_agrees_with_dense_form():
    ab = np.random.default_rng(2).uniform(-100, 100, (50, 2)).astype(np.float32)
    indices, weights = q.soft_encode_sparse(ab)
    dense = np.zeros((50, 313), np.float32)
    np.put_along_axis(dense, indices, weights, axis=1)
    np.testing.assert_allclose(dense, q.soft_encode(ab), atol=1e-7)
    # nearest first, weights decreasing with distance
    assert np.all(np.diff(weights, axis=1) <= 1e-7)
    np.testing.assert_array_equal(indices[:, 0], q.nearest_bin(ab))


def test_annealed_mean_one_hot_gives_that_bin():
    k = bin_index(-90, 50)
    one_hot = np.zeros((2, 313), np.float32)
    one_hot[:, k] = 1.0
    for temperature in (0.05, q.DEFAULT_TEMPERATURE, 1.0):
        np.testing.assert_allclose(q.annealed_mean(one_hot, temperature), [[-90, 50]] * 2, atol=1e-3)


def test_annealed_mean_at_T1_is_the_mean_and_small_T_the_mode():
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(313) * 0.3).astype(np.float32)
    mode = probs.argmax()
    probs[mode] += 0.2  # a clear mode
    probs /= probs.sum()
    np.testing.assert_allclose(q.annealed_mean(probs, 1.0), probs @ q.AB_BINS, atol=1e-3)
    np.testing.assert_allclose(q.annealed_mean(probs, 0.01), q.AB_BINS[mode], atol=1e-2)


def test_annealed_mean_lower_temperature_is_more_vivid():
    # Half the mass on gray, half on a saturated bin: T = 1 averages towards gray, T → 0 commits.
    probs = np.zeros(313, np.float32)
    probs[bin_index(0, 0)], probs[bin_index(60, 70)] = 0.45, 0.55
    chroma = [np.hypot(*q.annealed_mean(probs, t)) for t in (1.0, q.DEFAULT_TEMPERATURE, 0.1)]
    assert chroma[0] < chroma[1] < chroma[2]


def test_annealed_mean_keeps_leading_shape_and_rejects_bad_temperature():
    probs = np.full((2, 5, 7, 313), 1 / 313, np.float32)
    out = q.annealed_mean(probs)
    assert out.shape == (2, 5, 7, 2) and out.dtype == np.float32
    with pytest.raises(ValueError, match="temperature"):
        q.annealed_mean(probs, 0.0)


def test_mass_near_sums_the_bins_within_the_radius():
    """The decoding's sureness (``hypercolumn_decoding.sureness``) is this mass within ``confidence_radius`` (20) of the
    annealed color: bins at distance 0, 10 and exactly 20 count, one at √500 ≈ 22.4 does not."""
    probs = np.zeros((1, 2, q.N_BINS), np.float32)
    for (a, b), p in (((0, 0), 0.1), ((10, 0), 0.3), ((0, 20), 0.2), ((20, 10), 0.4)):
        probs[..., bin_index(a, b)] = p
    ab = np.array([[[0.0, 0.0], [20.0, 10.0]]], np.float32)
    # From (0, 0): 0.1 + 0.3 + 0.2 ((20, 10) is 22.4 away); from (20, 10): itself and (10, 0) at 14.1.
    np.testing.assert_allclose(q.mass_near(probs, ab, 20.0), [[0.6, 0.7]], atol=1e-6)
    np.testing.assert_allclose(q.mass_near(probs, ab, 5.0), [[0.1, 0.4]], atol=1e-6)  # each point's own bin only


def skewed_prior() -> np.ndarray:
    """Most pixels near gray, a few saturated: the imbalance rebalancing exists for."""
    rng = np.random.default_rng(4)
    ab = np.concatenate([rng.normal(0, 8, (9000, 2)), rng.uniform(-80, 80, (1000, 2))]).astype(np.float32)
    return q.empirical_prior(ab)


def test_empirical_prior_is_a_distribution():
    prior = skewed_prior()
    assert prior.shape == (313,) and prior.dtype == np.float32
    assert prior.sum() == pytest.approx(1.0, abs=1e-5)
    assert prior.argmax() == bin_index(0, 0)


def test_rebalancing_weights_have_unit_expectation_and_favour_rare_bins():
    prior = skewed_prior()
    weights = q.rebalancing_weights(prior)
    assert weights.shape == (313,) and np.all(weights > 0)
    smoothed = q._smooth_prior(prior.astype(np.float64))  # p̃, the distribution the expectation is under
    assert float(np.sum(smoothed * weights)) == pytest.approx(1.0, abs=1e-5)
    common, rare = bin_index(0, 0), bin_index(60, 70)
    assert weights[rare] > 2 * weights[common]


def test_rebalancing_with_lambda_one_is_uniform():
    weights = q.rebalancing_weights(skewed_prior(), lam=1.0)
    np.testing.assert_allclose(weights, 1.0, atol=1e-5)


def _bin_near(a: float, b: float) -> int:
    return int(np.argmin(np.sum((q.AB_BINS - [a, b]) ** 2, axis=1)))


def test_hue_agreement_is_one_for_one_hue_and_near_zero_for_opposite_hues():
    one_hue, opposite, neighbours = (np.zeros((1, q.N_BINS), np.float32) for _ in range(3))
    one_hue[0, _bin_near(40, 40)] = 1.0
    opposite[0, _bin_near(40, 40)] = opposite[0, _bin_near(-40, -40)] = 0.5  # orange against blue
    neighbours[0, _bin_near(40, 40)] = neighbours[0, _bin_near(20, 20)] = 0.5  # one hue, two chromas
    assert q.hue_agreement(one_hue)[0] == pytest.approx(1.0, abs=1e-5)
    assert q.hue_agreement(opposite)[0] < 0.05
    assert q.hue_agreement(neighbours)[0] == pytest.approx(1.0, abs=1e-3)
    uniform = np.full((2, 3, q.N_BINS), 1 / q.N_BINS, np.float32)
    assert q.hue_agreement(uniform).shape == (2, 3) and q.hue_agreement(uniform).max() < 0.2


def test_muting_where_hues_disagree_scales_only_the_disagreeing_pixel():
    from colorizer.models import hypercolumn, hypercolumn_decoding

    probs = np.zeros((1, 2, q.N_BINS), np.float32)
    probs[0, 0, _bin_near(40, 40)] = 1.0                                          # sure of one hue
    probs[0, 1, _bin_near(40, 40)] = 0.65
    probs[0, 1, _bin_near(-40, -40)] = 0.35                                       # agreement about 0.3
    ab = np.array([[[20.0, 30.0], [20.0, 30.0]]], np.float32)
    np.testing.assert_array_equal(hypercolumn_decoding.muted_where_hues_disagree(ab, probs, 0.0), ab)  # off: unchanged
    muted = hypercolumn_decoding.muted_where_hues_disagree(ab, probs, 0.6)
    np.testing.assert_allclose(muted[0, 0], ab[0, 0])
    agreement = q.hue_agreement(probs)[0, 1]
    assert 0.25 < agreement < 0.35
    np.testing.assert_allclose(muted[0, 1], ab[0, 1] * agreement / 0.6, rtol=1e-5)  # hue kept, chroma scaled
    # decode takes it as an option; the shipped decoding leaves it off.
    regression = np.zeros((1, 2, 2), np.float32)
    assert hypercolumn.DECODE["hue_agreement"] == 0.0
    np.testing.assert_allclose(hypercolumn_decoding.decode(probs, regression, hue_agreement=0.6),
                               hypercolumn_decoding.muted_where_hues_disagree(hypercolumn_decoding.decode(probs, regression), probs, 0.6), atol=1e-5)


def test_bin_searches_over_more_pixels_than_one_chunk_cover_every_row():
    """The searches run in chunks of ``_CHUNK_ROWS`` pixels: every row of a larger array, the ones at a chunk's
    edge included, gets its own nearest bin and encoding (not whatever np.empty left there)."""
    n = q._CHUNK_ROWS * 2 + 3
    index = np.arange(n) % q.N_BINS
    ab = q.AB_BINS[index] + np.float32(0.5)  # half a unit off each centre: the nearest is still that bin
    np.testing.assert_array_equal(q.nearest_bin(ab), index)
    indices, weights = q.soft_encode_sparse(ab)
    np.testing.assert_array_equal(indices[:, 0], index)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.slow
def test_bin_searches_hold_a_chunk_of_temporaries_not_the_whole_set():
    """A fine-tune's targets: 128 crops at the flagship's output grid (48×48). The search's temporaries took
    ~410 MB at once with chunks of 2^16 rows, the largest spike of a fine-tune on a 2.7 GB server; now the
    whole encoding needs little more than its own output (int32 indices + float32 weights, 11 MB here)."""
    import tracemalloc

    ab = np.random.default_rng(0).normal(0, 30, (128, 48, 48, 2)).astype(np.float32)
    tracemalloc.start()
    try:
        indices, weights = q.soft_encode_sparse(ab)
        q.nearest_bin(ab[:32])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    output = indices.nbytes + weights.nbytes
    assert indices.shape == (128, 48, 48, q.NEIGHBOURS) and output < 12 * 2**20
    assert peak < output + 64 * 2**20, f"{peak / 2**20:.0f} MiB at the peak"
