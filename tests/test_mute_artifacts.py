"""scripts/mute_artifacts.py: the artifact-class mass and the muting it drives (a measurement, session 23)."""
from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from colorizer.color import rgb_to_lab
from conftest import load_script, make_photo

script = load_script("mute_artifacts")


def test_the_artifact_classes_are_imagenets_man_made_block():
    assert script.ARTIFACT_CLASSES.stop - script.ARTIFACT_CLASSES.start == 526   # 398 (n02666196, abacus) … 923 (n07565083, menu)


def test_muting_scales_a_and_b_and_keeps_lightness():
    photo = make_photo(24, 32, seed=3)
    lab, half = rgb_to_lab(photo), rgb_to_lab(script.muted(photo, 0.5))
    np.testing.assert_allclose(half[..., 0], lab[..., 0], atol=0.6)               # uint8 rounding
    np.testing.assert_allclose(half[..., 1:], 0.5 * lab[..., 1:], atol=1.5)
    left_gray = np.zeros((24, 32), np.float32)
    left_gray[:, 16:] = 1.0                                                        # a map: left muted to gray
    mapped = rgb_to_lab(script.muted(photo, left_gray))
    assert np.abs(mapped[:, :14, 1:]).max() < 1.5 and np.abs(mapped[:, 18:, 1:] - lab[:, 18:, 1:]).max() < 1.5


def test_auc_counts_pairs_and_ties_half():
    scores = np.array([0.9, 0.8, 0.1, 0.8])
    assert script.auc(scores, np.array([True, True, False, False])) == pytest.approx((1 + 1 + 1 + 0.5) / 4)
    assert np.isnan(script.auc(scores, np.zeros(4, bool)))


@pytest.mark.slow
def test_a_mug_of_coffee_is_more_man_made_than_a_cat():
    cells, coffee = script.artifact_maps(skimage.data.coffee())
    assert cells.shape == skimage.data.coffee().shape[:2] and 0 <= cells.min() and cells.max() <= 1
    assert coffee > script.artifact_maps(skimage.data.chelsea())[1] + 0.2
