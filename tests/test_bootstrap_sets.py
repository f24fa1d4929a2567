"""scripts/bootstrap_sets.py: how much of a set's result is which photos it holds, alone and paired."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from conftest import load_script


def _rows(gains, painted=20.0, truth=40.0):
    return [{"name": f"p{i}", "gain_over_gray": g, "colorfulness": painted, "truth_colorfulness": truth}
            for i, g in enumerate(gains)]


def test_a_set_that_gains_on_every_photo_is_sure_and_a_balanced_one_is_a_coin_flip():
    boot = load_script("bootstrap_sets")
    sure = boot.bootstrap(_rows([1.0] * 12), None, np.random.default_rng(0), 2000)
    assert sure["gain_over_gray"] == 1.0 and sure["gain_interval"] == [1.0, 1.0] and sure["share_over_gray"] == 1.0
    assert sure["colorfulness_ratio"] == 0.5 and sure["ratio_interval"] == [0.5, 0.5]

    balanced = boot.bootstrap(_rows([-1.0, 1.0] * 20), None, np.random.default_rng(0), 4000)
    assert balanced["gain_over_gray"] == 0.0 and 0.35 < balanced["share_over_gray"] < 0.65
    half_width = 1.645 / math.sqrt(40)  # the normal approximation of a mean of ±1 over 40 photos
    assert balanced["gain_interval"][0] == pytest.approx(-half_width, abs=0.06)
    assert balanced["gain_interval"][1] == pytest.approx(half_width, abs=0.06)


def test_the_paired_difference_is_sharp_where_each_model_alone_is_not():
    """Two models 0.2 dB apart on every photo: each one's interval is wide, their difference's is exact."""
    boot = load_script("bootstrap_sets")
    gains = list(np.random.default_rng(1).normal(0.0, 2.0, 30))
    result = boot.bootstrap(_rows(gains), _rows([g - 0.2 for g in gains]), np.random.default_rng(0), 2000)
    low, high = result["gain_interval"]
    assert high - low > 0.8  # about ±1.645·2/√30 dB
    assert result["difference"] == pytest.approx(0.2) and result["difference_interval"] == pytest.approx([0.2, 0.2])
    assert result["against_gain_over_gray"] == pytest.approx(np.mean(gains) - 0.2)
    again = boot.bootstrap(_rows(gains), _rows([g - 0.2 for g in gains]), np.random.default_rng(0), 2000)
    assert again == result  # seeded: the same numbers every time
    with pytest.raises(ValueError, match="same photos"):
        boot.bootstrap(_rows(gains), _rows(gains)[::-1], np.random.default_rng(0), 10)


def test_main_scores_both_checkpoints_on_the_same_photos(monkeypatch, tmp_path, capsys):
    """End to end through ``evaluate_photos``: a model that paints each truth's own colors at half strength gains
    on every photo, one that paints everything orange does not; the table and the JSON say so."""
    import tune_flagship

    from colorizer import color, inference

    boot = load_script("bootstrap_sets")

    class Muted:
        def colorize(self, truth, **options):
            return color.join_lab(color.luminance(truth), 0.5 * color.ab_of_rgb(truth))

    class Orange:
        def colorize(self, truth, regression_gain=1.0):
            L = color.luminance(truth)
            ab = np.broadcast_to(np.array([20.0, 40.0], np.float32) * regression_gain, (*L.shape, 2)).copy()
            return color.join_lab(L, ab)

    def photos(name, folder):
        rng = np.random.default_rng(len(name))
        return [(f"{name}{i}", (rng.uniform(0.3, 1.0, (16, 16, 1)) * rng.uniform(60, 250, 3)).astype(np.uint8))
                for i in range(6)]

    monkeypatch.setattr(inference, "load", lambda name: Muted() if name == "muted" else Orange())
    monkeypatch.setattr(tune_flagship, "photo_set", photos)
    out = tmp_path / "boot.json"
    assert boot.main(["unused", "--checkpoint", "muted", "--against", "orange", "--against-options",
                      '{"regression_gain": 0.5}', "--sets", "a,bb", "--resamples", "200", "--json", str(out)]) == 0
    saved = json.loads(out.read_text())
    assert list(saved) == ["a", "bb"]
    for figures in saved.values():
        assert figures["photos"] == 6 and figures["share_over_gray"] == 1.0 and figures["gain_interval"][0] > 0
        assert 0.4 < figures["colorfulness_ratio"] < 0.6  # half the truth's chroma
        assert figures["difference"] > 0 and figures["difference_interval"][0] > 0  # orange loses on the same photos
    table = capsys.readouterr().out
    assert table.splitlines()[0].endswith("| against: over gray | difference (dB), 90 % interval |")
    assert [line.split("|")[1].strip() for line in table.splitlines()[2:]] == ["a", "bb"]
