"""Zhang et al. (2016)'s quantized ab space: 313 in-gamut bins, soft encoding, rebalancing, annealed mean.

- ``AB_BINS``: float32 313×2, the bin centres in raw ab units (grid 10), read from
  ``assets/ab_bins_313.txt`` (source named in that file).
- ``soft_encode(ab)``: ab ...×2 (raw units) → ...×313 distribution: the 5 nearest bins weighted by a
  Gaussian of σ = 5, normalized to sum 1.
- ``rebalancing_weights(prior)``: per-bin loss weights w ∝ ((1 - λ)·p̃ + λ/Q)^-1 with p̃ the
  Gaussian-smoothed empirical prior, normalized so that E_p̃[w] = 1 (λ = 0.5).
- ``annealed_mean(probs, T)``: ...×313 distribution → ...×2 ab (raw units): the mean of the
  distribution re-tempered as exp(log z / T); T → 0 approaches the mode (vivid), T = 1 the mean
  (desaturated). The paper's default is 0.38.
- ``mass_near(probs, ab, radius)``: ...×313 distribution and ...×2 colors → the probability mass of
  the bins within ``radius`` of each color: how sure the distribution is of that color.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = [
    "AB_BINS", "N_BINS", "GRID", "SIGMA", "NEIGHBOURS", "DEFAULT_TEMPERATURE", "REBALANCE_LAMBDA",
    "soft_encode", "soft_encode_sparse", "nearest_bin", "empirical_prior", "rebalancing_weights", "annealed_mean",
    "mass_near",
]

_BINS_FILE = Path(__file__).with_name("assets") / "ab_bins_313.txt"
AB_BINS = np.loadtxt(_BINS_FILE, comments="#", dtype=np.float32).reshape(-1, 2)
N_BINS = len(AB_BINS)
GRID = 10.0
SIGMA = 5.0
NEIGHBOURS = 5
DEFAULT_TEMPERATURE = 0.38
REBALANCE_LAMBDA = 0.5
PRIOR_SMOOTHING_SIGMA = 5.0


def _squared_distances(ab: np.ndarray) -> np.ndarray:
    """ab N×2 → N×313 squared distances to the bin centres."""
    return (
        np.sum(ab**2, axis=-1, keepdims=True)
        - 2.0 * ab @ AB_BINS.T
        + np.sum(AB_BINS**2, axis=-1)[None, :]
    )


def soft_encode_sparse(ab: np.ndarray, neighbours: int = NEIGHBOURS, sigma: float = SIGMA) -> tuple[np.ndarray, np.ndarray]:
    """ab ...×2 (raw units) → (int32 ...×k bin indices, nearest first; float32 ...×k weights summing to 1).

    The compact form of the soft encoding: k numbers per pixel instead of 313, so training targets
    stay small and the loss only gathers k log-probabilities.
    """
    flat = ab.reshape(-1, 2).astype(np.float32)
    indices = np.empty((len(flat), neighbours), np.int32)
    weights = np.empty((len(flat), neighbours), np.float32)
    for rows in _chunks(len(flat)):
        d2 = np.maximum(_squared_distances(flat[rows]), 0.0)
        nearest = np.argpartition(d2, neighbours, axis=1)[:, :neighbours]
        nearest_d2 = np.take_along_axis(d2, nearest, axis=1)
        order = np.argsort(nearest_d2, axis=1)
        indices[rows], nearest_d2 = np.take_along_axis(nearest, order, axis=1), np.take_along_axis(nearest_d2, order, axis=1)
        w = np.exp(-(nearest_d2 - nearest_d2[:, :1]) / (2 * sigma**2))  # shifted: no underflow far out of gamut
        weights[rows] = w / w.sum(axis=1, keepdims=True)
    shape = (*ab.shape[:-1], neighbours)
    return indices.reshape(shape), weights.reshape(shape)


# Pixels per step of the bin searches: an N×313 float32 distance matrix for all of a training set's
# pixels would take tens of gigabytes. 2^12 rows: a step's temporaries are a few MB each (the 5 MB distances,
# their partition's 10 MB of int64 indices), ~45 MB at most in all. At 2^16 they took ~410 MB at once, the
# largest spike of a fine-tune on the public server (its 128 crops' targets), and ran 1.7× slower
# (soft_encode_sparse of 128×48×48 pixels: 847 → 505 ms, nearest_bin 296 → 133 ms; session 30).
_CHUNK_ROWS = 1 << 12


def _chunks(n: int):
    """Slices covering range(n) in steps of ``_CHUNK_ROWS``."""
    return (slice(start, min(start + _CHUNK_ROWS, n)) for start in range(0, n, _CHUNK_ROWS))


def soft_encode(ab: np.ndarray, neighbours: int = NEIGHBOURS, sigma: float = SIGMA) -> np.ndarray:
    """ab ...×2 (raw units) → float32 ...×313, each row summing to 1 (the dense form)."""
    indices, weights = soft_encode_sparse(ab, neighbours, sigma)
    encoded = np.zeros((indices.size // neighbours, N_BINS), np.float32)
    np.put_along_axis(encoded, indices.reshape(-1, neighbours), weights.reshape(-1, neighbours), axis=1)
    return encoded.reshape(*ab.shape[:-1], N_BINS)


def nearest_bin(ab: np.ndarray) -> np.ndarray:
    """ab ...×2 → int ... index of the nearest bin."""
    flat = ab.reshape(-1, 2).astype(np.float32)
    nearest = np.empty(len(flat), np.int64)
    for rows in _chunks(len(flat)):
        nearest[rows] = np.argmin(_squared_distances(flat[rows]), axis=1)
    return nearest.reshape(ab.shape[:-1])


def empirical_prior(ab: np.ndarray) -> np.ndarray:
    """Training-set ab ...×2 → float32 313-vector: how often each bin is the nearest one."""
    counts = np.bincount(nearest_bin(ab).ravel(), minlength=N_BINS).astype(np.float64)
    return (counts / counts.sum()).astype(np.float32)


def _smooth_prior(prior: np.ndarray, sigma: float = PRIOR_SMOOTHING_SIGMA) -> np.ndarray:
    """Gaussian smoothing over the ab plane (the paper's p̃), kept a distribution."""
    d2 = np.maximum(_squared_distances(AB_BINS), 0.0)
    kernel = np.exp(-d2 / (2 * sigma**2))
    smoothed = kernel @ prior
    return smoothed / smoothed.sum()


def rebalancing_weights(prior: np.ndarray, lam: float = REBALANCE_LAMBDA) -> np.ndarray:
    """Empirical prior (313) → float32 per-bin weights with E_p̃[w] = 1."""
    smoothed = _smooth_prior(prior.astype(np.float64))
    # With λ = 0 (the evaluation's pure inverse prior), bins far from every color seen have p̃ = 0 and
    # an infinite weight; they hold no pixel, so the normalization runs over the bins that have mass.
    with np.errstate(divide="ignore", over="ignore"):
        weights = 1.0 / ((1 - lam) * smoothed + lam / N_BINS)
    has_mass = smoothed > 0
    weights /= np.sum(smoothed[has_mass] * weights[has_mass])
    # ...and a bin whose p̃ is a denormal speck gets a weight beyond float32: cap it (it holds no pixel).
    return np.minimum(weights, np.finfo(np.float32).max).astype(np.float32)


def annealed_mean(probs: np.ndarray, temperature: float = DEFAULT_TEMPERATURE) -> np.ndarray:
    """Distribution ...×313 → float32 ab ...×2 (raw units)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    logits = np.log(np.maximum(probs.astype(np.float32), 1e-8)) / temperature
    logits -= logits.max(axis=-1, keepdims=True)
    tempered = np.exp(logits)
    tempered /= tempered.sum(axis=-1, keepdims=True)
    return tempered @ AB_BINS


def hue_agreement(probs: np.ndarray) -> np.ndarray:
    """Distribution ...×313 → float32 ... in [0, 1]: how much the probability mass agrees on a hue, the
    length of the mean of the bins' unit hue vectors (1: every bin of one hue; near 0: hues that cancel,
    e.g. orange against blue; the gray bin has no hue and counts as none)."""
    norms = np.linalg.norm(AB_BINS, axis=-1, keepdims=True)
    units = np.where(norms > 0, AB_BINS / np.maximum(norms, 1e-6), 0.0).astype(np.float32)
    return np.linalg.norm(np.asarray(probs, np.float32) @ units, axis=-1)


def mass_near(probs: np.ndarray, ab: np.ndarray, radius: float) -> np.ndarray:
    """Distribution ...×313 and ab ...×2 (raw units) → float32 ... mass of the bins within ``radius`` of ab."""
    flat_ab = ab.reshape(-1, 2).astype(np.float32)
    near = _squared_distances(flat_ab) <= radius**2
    flat_probs = probs.reshape(-1, N_BINS).astype(np.float32)
    return np.sum(flat_probs * near, axis=1).reshape(ab.shape[:-1])
