"""scripts/certainty_by_photo.py: per photo, how sure the certainty map is, against the gain over gray."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import load_script


def _rows(sure, gain, expected, truth):
    return [{"name": f"p{i}", "share_sure": s, "gain_over_gray": g, "expected": e, "truth_colorfulness": t}
            for i, (s, g, e, t) in enumerate(zip(sure, gain, expected, truth))]


def test_a_set_where_the_surer_photos_are_worse_has_a_negative_correlation():
    script = load_script("certainty_by_photo")
    summary = script.set_summary(_rows([0.9, 0.8, 0.3, 0.1], [-12.0, -8.0, 1.0, 2.0], [40, 42, 20, 10], [5, 6, 30, 40]))
    assert summary["photos"] == 4 and summary["share_sure"] == pytest.approx(0.525)
    assert summary["r_sure_gain"] < -0.9 and summary["r_expected_truth"] < -0.9
    assert summary["expected"] == pytest.approx(28.0) and summary["truth"] == pytest.approx(20.25)
    table = script.format_table({"objects": summary})
    assert table.splitlines()[2] == (f"| objects | 4 | 0.53 | {summary['r_sure_gain']:+.2f} | 28.0 | 20.2 | "
                                     f"{summary['r_expected_truth']:+.2f} |")
    worst = script.worst_lines("objects", _rows([0.9, 0.1], [-12.0, 2.0], [40, 10], [5, 40]), 1)
    assert worst == ["objects: p0 -12.00 dB, 90% sure, gate expected 40.0, truth 5.0"]
    assert math.isnan(script.correlation([1, 1, 1], [1, 2, 3]))   # no spread: no correlation, not a division by 0


def test_photo_rows_read_the_pages_threshold_and_the_evaluations_gain(tiny_colorizers, photo_dir):
    from colorizer.eval_sets import held_out_truths
    from colorizer.evaluate import evaluate_photos
    from colorizer.models.hypercolumn_decoding import SURE

    script = load_script("certainty_by_photo")
    model = tiny_colorizers["hypercolumn"]
    photos = held_out_truths(photo_dir)
    rows = script.photo_rows(model, photos)
    gains = [p["gain_over_gray"] for p in evaluate_photos(photos, {"m": model}, per_photo=True)["m"]["photos"]]
    assert [r["gain_over_gray"] for r in rows] == pytest.approx(gains)
    for row, (_, truth) in zip(rows, photos):
        assert row["share_sure"] == pytest.approx(float(np.mean(model.certainty(truth) >= SURE)))
        assert math.isnan(row["expected"])   # the tiny checkpoint has no gate


def test_the_script_says_what_went_wrong_in_one_line(tmp_path, capsys):
    """Session 38's CLI audit: a missing folder, set or checkpoint, or a set of gray photos, was a traceback."""
    from conftest import write_png

    script = load_script("certainty_by_photo")
    with pytest.raises(SystemExit) as usage:
        script.main([str(tmp_path / "nope")])
    assert usage.value.code == 2 and "no such folder" in capsys.readouterr().err
    write_png(tmp_path / "gray" / "g.png", np.full((40, 40), 128, np.uint8))
    assert script.main([str(tmp_path), "--sets", str(tmp_path / "gray"), "--checkpoint", "hypercolumn"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [f"error: {tmp_path / 'gray'}: no color photos to measure"]
    with pytest.raises(SystemExit):
        script.main([str(tmp_path), "--worst", "-1"])
