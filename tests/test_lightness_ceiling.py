"""colorizer.lightness_ceiling: the flagship keeps its whites and shadows within the training photos' median
chroma at their lightness (issue 23: a faint tint on a near-neutral photo costs several dB)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from colorizer import baselines, lightness_ceiling
from colorizer.color import normalize_l
from conftest import load_script, write_png

LEVELS = np.array([2.0] * 3 + [20.0] * 14 + [10.0, 5.0, 1.0], np.float32)  # a made-up table: low at both ends


def hue(ab: np.ndarray) -> np.ndarray:
    return np.arctan2(ab[..., 1], ab[..., 0])


def test_median_chroma_per_level_and_nearest_for_missing_levels():
    L = np.array([2.0, 3.0, 4.0, 52.0, 53.0, 98.0])
    ab = np.array([[0, 0], [0, 1], [0, 2], [30, 40], [6, 8], [0, 0]], np.float64)  # chroma 0, 1, 2, 50, 10, 0
    table = lightness_ceiling.median_chroma(np.column_stack([L, ab]))
    assert table.shape == (lightness_ceiling.LEVELS,)
    np.testing.assert_allclose(table[[0, 10, 19]], [1.0, 30.0, 0.0])
    assert table[3] == table[0] and table[8] == table[10]    # missing levels take the nearest present one


def test_bright_and_dark_pixels_are_lowered_to_the_ceiling_with_their_hue_kept():
    L = np.array([97.0, 3.0, 50.0, 97.0])
    ab = np.array([[30.0, 40.0], [-20.0, 0.0], [30.0, 40.0], [0.3, 0.4]], np.float32)  # chroma 50, 20, 50, 0.5
    out = lightness_ceiling.apply(ab, L, 15.0, 90.0, levels=LEVELS)
    chroma = np.linalg.norm(out, axis=-1)
    np.testing.assert_allclose(chroma[:2], lightness_ceiling.ceiling(L[:2], 15.0, 90.0, LEVELS), rtol=1e-5)
    assert chroma[0] < 6 and chroma[1] < 3                           # a cream white, a tinted shadow: lowered
    np.testing.assert_allclose(hue(out[:2]), hue(ab[:2]), atol=1e-5)  # the same hue, less of it
    np.testing.assert_allclose(out[2:], ab[2:])                       # mid-tones and faint colors untouched


def test_the_ceiling_lifts_smoothly_into_the_range_and_each_bound_can_be_turned_off():
    L = np.linspace(80.0, 100.0, 201, dtype=np.float32)
    limit = lightness_ceiling.ceiling(L, 15.0, 90.0, LEVELS)
    assert np.abs(np.diff(limit)).max() < lightness_ceiling.RAMP * 0.1 + 0.5   # no edge at L 90, a ramp
    assert limit[0] > 100 and limit[-1] < 2                                         # none at 80, white at 100
    ab = np.full((3, 2), 30.0, np.float32)
    dark_and_light = np.array([2.0, 50.0, 98.0])
    np.testing.assert_array_equal(lightness_ceiling.apply(ab, dark_and_light, 0.0, 100.0, LEVELS), ab)   # both off
    shadows_only = lightness_ceiling.apply(ab, dark_and_light, 15.0, 100.0, LEVELS)
    assert np.linalg.norm(shadows_only[0]) < 3 and np.array_equal(shadows_only[2], ab[2])


def test_shipped_table_is_the_training_photos_neutral_ends():
    """The file's median chroma (``scripts/fit_training_palette.py``): the darkest and lightest levels far
    below the mid-tones', as in any photos (shadows go black, highlights clip white)."""
    table = lightness_ceiling.table()
    assert table.shape == (lightness_ceiling.LEVELS,) and np.all(table >= 0)
    assert max(table[0], table[-1]) < 5 and table[5:15].min() > 10


def test_fit_script_writes_the_median_chroma_of_the_training_split(tmp_path):
    L = np.tile(np.linspace(2, 98, 80, dtype=np.float32), (40, 1))
    chroma = np.where((L > 20) & (L < 80), 30.0, 0.0).astype(np.float32)   # colorful mid-tones, neutral ends
    from colorizer.color import lab_to_rgb

    photo = lab_to_rgb(np.stack([L, chroma, np.zeros_like(L)], axis=-1))
    write_png(tmp_path / "data" / "train" / "ends.png", photo)
    out = tmp_path / "palette.json"
    assert load_script("fit_training_palette").main([str(tmp_path / "data"), "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    table = np.asarray(record["median_chroma"])
    np.testing.assert_allclose(table, lightness_ceiling.median_chroma(baselines.pooled_lab([photo])), atol=0.01)
    assert table[0] < 2 and table[-1] < 2 and table[10] > 25


@pytest.mark.parametrize("with_gate", [True, False])
def test_the_flagship_decoding_lowers_guessed_tints_only_for_a_checkpoint_with_a_gate(with_gate):
    """``hypercolumn_decoding.within_lightness_ceiling``: a white area's cells lose their tint where the model guessed
    (a flat 313-bin distribution: certainty 0) and keep it where it was sure (all its mass on one bin:
    certainty 1); only where the outputs hold a colorfulness gate's prediction (the shipped flagship): a
    fine-tuned decoder (no gate) keeps every tint."""
    from colorizer import colorfulness_gate, quantize
    from colorizer.models import hypercolumn_decoding

    L = np.full((1, 32, 32), 50.0, np.float32)
    L[:, :, 16:] = 97.0                                    # the right half white
    ab = np.full((1, 8, 8, 2), 12.0, np.float32)           # a cream tint everywhere (chroma 17)
    probs = np.full((1, 8, 8, quantize.N_BINS), 1.0 / quantize.N_BINS, np.float32)
    sure_bin = quantize.nearest_bin(np.array([[12.0, 12.0]], np.float32))[0]
    probs[0, :4] = 0.0
    probs[0, :4, :, sure_bin] = 1.0                        # sure of the tint in the top half
    outputs = {"probs": probs, **({colorfulness_gate.OUTPUT: np.array([40.0])} if with_gate else {})}
    options = hypercolumn_decoding.decode_options_of({})
    out = hypercolumn_decoding.within_lightness_ceiling(ab, normalize_l(L[..., None]), outputs, options)
    np.testing.assert_allclose(out[:, :, :4], ab[:, :, :4])       # the mid-gray half as it was
    np.testing.assert_allclose(out[:, :4], ab[:, :4], atol=1e-4)  # sure: kept
    if with_gate:
        assert np.linalg.norm(out[0, 4:, 4:], axis=-1).max() < 6  # guessed white: lowered
    else:
        np.testing.assert_allclose(out, ab)
    if with_gate:  # every pixel alike: the sure tint goes too
        every = hypercolumn_decoding.within_lightness_ceiling(ab, normalize_l(L[..., None]), outputs, {**options, "ceiling_spares_sure": False})
        assert np.linalg.norm(every[0, :, 4:], axis=-1).max() < 6
    off = {**options, "shadows_below": 0.0, "highlights_above": 100.0}
    np.testing.assert_array_equal(hypercolumn_decoding.within_lightness_ceiling(ab, normalize_l(L[..., None]), outputs, off), ab)


def test_each_bound_alone_and_the_tables_values_at_its_level_centres():
    """Highlights only (shadows off at 0): a dark pixel keeps its color, a light one is lowered. The table is read at
    each level's centre (level i of 5 L units at 5·i + 2.5) and interpolated between; a level's value is its median,
    which one vivid pixel among neutral ones does not move."""
    ab = np.full((3, 2), 30.0, np.float32)
    highlights_only = lightness_ceiling.apply(ab, np.array([2.0, 50.0, 98.0]), 0.0, 90.0, LEVELS)
    assert np.array_equal(highlights_only[:2], ab[:2]) and np.linalg.norm(highlights_only[2]) < 6
    ramp = np.arange(lightness_ceiling.LEVELS, dtype=np.float32)  # level i: chroma i
    np.testing.assert_allclose(lightness_ceiling.ceiling(np.array([12.5, 3.0, 50.0]), 60.0, 100.0, ramp), [2.0, 0.1, 9.5],
                               rtol=1e-6)
    lab = np.array([[51.0, 0, 0], [52.0, 0, 1], [53.0, 60, 80]])  # one level: chroma 0, 1, 100
    assert lightness_ceiling.median_chroma(lab)[10] == pytest.approx(1.0)
