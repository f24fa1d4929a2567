"""The hint network reads its hints (issue 24): ``layers.HintAttention`` puts a hint's color where it
applies, and a hint decoder warm-started from the flagship's (``train.warm_start``) colorizes exactly as
the flagship does until it has learned to read hints."""
from __future__ import annotations

import keras
import numpy as np
import pytest

from colorizer.models import hypercolumn
from colorizer.models.layers import HintAttention


def _grid(h: int, w: int, hints: dict) -> np.ndarray:
    """{(row, col): (a_norm, b_norm)} → a 1×h×w×3 hint grid (a·mask, b·mask, mask)."""
    grid = np.zeros((1, h, w, 3), np.float32)
    for (r, c), (a, b) in hints.items():
        grid[0, r, c] = (a, b, 1.0)
    return grid


def test_attention_without_hints_carries_no_weight():
    layer = HintAttention(key_dim=4, max_hints=8)
    features = np.random.default_rng(0).normal(size=(2, 6, 7, 5)).astype(np.float32)
    out = np.asarray(layer([features, np.zeros((2, 6, 7, 3), np.float32)]))
    assert out.shape == (2, 6, 7, 3)
    np.testing.assert_allclose(out, 0.0, atol=1e-6)


def test_attention_gives_each_cell_a_weighted_hint_color():
    layer = HintAttention(key_dim=4, max_hints=8)
    rng = np.random.default_rng(1)
    features = rng.normal(size=(1, 8, 8, 5)).astype(np.float32)
    out = np.asarray(layer([features, _grid(8, 8, {(1, 1): (0.5, -0.2)})]))
    weight = out[..., 2]
    assert np.all((weight > 0) & (weight < 1))
    # One hint: wherever it speaks, it speaks with its own color (a·w / w = the hint's a).
    np.testing.assert_allclose(out[..., 0] / weight, 0.5, rtol=1e-4)
    np.testing.assert_allclose(out[..., 1] / weight, -0.2, rtol=1e-4)
    # Learned distance: with identical features everywhere, the hinted cell's own neighbours weigh most.
    flat = np.ones((1, 8, 8, 5), np.float32)
    near = np.asarray(layer([flat, _grid(8, 8, {(1, 1): (0.5, -0.2)})]))[0, ..., 2]
    assert near[1, 1] > near[1, 4] > near[7, 7]


def test_attention_with_two_hints_mixes_their_colors_by_similarity():
    layer = HintAttention(key_dim=4, max_hints=8)
    layer.build([(None, None, None, 2), (None, None, None, 3)])
    layer.query.assign(np.eye(2, 4, dtype=np.float32) * 8)  # features (1, 0) and (0, 1): two kinds of cell
    layer.key.assign(np.eye(2, 4, dtype=np.float32) * 8)
    layer.distance_scale.assign(-20.0)                     # softplus → ~0: distance does not matter
    features = np.zeros((1, 4, 4, 2), np.float32)
    features[0, :, :2, 0] = 1.0                            # left half: kind 0
    features[0, :, 2:, 1] = 1.0                            # right half: kind 1
    out = np.asarray(layer([features, _grid(4, 4, {(0, 0): (0.6, 0.0), (3, 3): (-0.6, 0.0)})]))
    a = out[0, ..., 0] / out[0, ..., 2]
    assert np.all(a[:, :2] > 0.5) and np.all(a[:, 2:] < -0.5)   # each half takes the hint of its own kind


@pytest.mark.slow
def test_warm_started_hint_decoder_is_the_flagship_until_it_reads_hints():
    from colorizer.train import warm_start

    keras.utils.set_random_seed(0)
    flagship = hypercolumn.build_decoder(semantic=False)  # R2, the decoder the hint network started from
    hinted = hypercolumn.build_decoder(with_hints=True, semantic=False)
    copied = warm_start(hinted, flagship)
    assert {"context_conv", "mid_conv1", "fine_conv", "probs", "ab_reg", "norm_block3"} <= set(copied)
    rng = np.random.default_rng(2)
    blocks = [rng.uniform(0, 5, (2, 8, 8, 256)), rng.uniform(0, 5, (2, 4, 4, 512)), rng.uniform(0, 5, (2, 2, 2, 512))]
    blocks = [b.astype(np.float32) for b in blocks]
    expected = flagship(blocks, training=False)
    no_hints = hinted([*blocks, np.zeros((2, 8, 8, 3), np.float32)], training=False)
    for e, g in zip(expected, no_hints):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), atol=1e-5)
    # Hints given before any training change nothing either: their channels start at zero.
    grid = np.concatenate([_grid(8, 8, {(2, 3): (0.4, 0.1)})] * 2)
    with_hints = hinted([*blocks, grid], training=False)
    np.testing.assert_allclose(np.asarray(with_hints[1]), np.asarray(expected[1]), atol=1e-5)


def test_hint_attention_survives_a_safe_mode_round_trip(tmp_path):
    inputs = [keras.Input((None, None, 5)), keras.Input((None, None, 3))]
    model = keras.Model(inputs, HintAttention(key_dim=4, max_hints=4, name="read")(inputs))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    rng = np.random.default_rng(3)
    x = [rng.normal(size=(1, 5, 5, 5)).astype(np.float32), _grid(5, 5, {(0, 0): (0.3, 0.3), (4, 4): (-0.3, 0.1)})]
    np.testing.assert_allclose(np.asarray(loaded(x)), np.asarray(model(x)), atol=1e-6)
    assert loaded.get_layer("read").max_hints == 4


def test_freeze_except_trains_only_the_named_layers():
    from colorizer.train import freeze_except

    decoder = hypercolumn.build_decoder(with_hints=True)
    freeze_except(decoder, ("hint_attention", "probs", "ab_reg"))
    trainable = {layer.name for layer in decoder.layers if layer.trainable and layer.weights}
    assert trainable == {"hint_attention", "probs", "ab_reg"}
    assert {w.path.split("/")[0] for w in decoder.trainable_weights} == trainable
    with pytest.raises(ValueError, match="--train-layers: no decoder layer named hint_atention"):
        freeze_except(decoder, ("hint_atention",))
