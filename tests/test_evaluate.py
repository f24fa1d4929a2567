"""colorizer.evaluate and colorizer.eval_report: the gray baseline, pooling SSIM, right hue and AuC over photos,
the transfer metrics, the tables and the JSON, on constructed images with known answers."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from colorizer import color
from colorizer.eval_report import format_per_photo, format_table, write_json
from colorizer.evaluate import TRANSFER_NAMES, evaluate_photos, gray_baseline
from colorizer.metrics import METRIC_NAMES, colorfulness, image_metrics
from conftest import flat_gray, lab_patch, make_photo, measured_chroma_and_hue


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


def test_a_photo_given_with_visible_pixels_is_measured_over_them_only():
    """(name, truth, visible): a vivid band the picture hides counts in nothing (gray's PSNR, the truth's
    colorfulness and prior, a model's metrics); the same numbers as the visible part measured alone. A photo
    without ``visible`` beside it still counts every pixel."""
    shown = make_photo(36, 24, seed=5) // 4 + 96   # a muted picture
    truth = np.concatenate([np.full((12, 24, 3), [255, 0, 255], np.uint8), shown])
    visible = np.ones(truth.shape[:2], bool)
    visible[:12] = False
    tint = Lookup([(truth, np.concatenate([truth[:12], make_photo(36, 24, seed=6)])), (shown, make_photo(36, 24, seed=6))])
    masked = evaluate_photos([("band", truth, visible)], {"m": tint})
    alone = evaluate_photos([("band", shown)], {"m": tint})
    for label in ("gray", "m"):
        for metric in ("psnr", "l2_ab", "colorfulness", "right_hue", "auc", "auc_rebalanced"):
            assert masked[label][metric] == pytest.approx(alone[label][metric], rel=1e-9), (label, metric)
    assert masked["truth"]["colorfulness"] == pytest.approx(colorfulness(shown))
    counted = evaluate_photos([("band", truth)], {})   # every pixel: the magenta band makes gray far worse
    assert counted["gray"]["psnr"] < masked["gray"]["psnr"] - 10
    # The prior that rebalances AuC is the shown pixels' too: hidden, the rare color stays rare (weighs half).
    common, rare = lab_patch(9, 10, 60, 40, 20), lab_patch(1, 10, 60, 40, -100)
    hidden_rare = np.concatenate([lab_patch(30, 10, 60, 40, -100), common, rare])
    shows = np.concatenate([np.zeros((30, 10), bool), np.ones((10, 10), bool)])
    model = Lookup([(hidden_rare, np.concatenate([hidden_rare[:30], common, flat_gray(rare)]))])
    rebalanced = evaluate_photos([("r", hidden_rare, shows)], {"m": model})["m"]["auc_rebalanced"]
    rare_score = (151 - math.ceil(measured_chroma_and_hue(rare)[0])) / 151
    assert rebalanced == pytest.approx((1 + rare_score) / 2, rel=1e-6)
    mixed = evaluate_photos([("band", truth, visible), ("plain", shown, None)], {}, per_photo=True)
    assert [p["name"] for p in mixed["gray"]["photos"]] == ["band", "plain"]
    assert mixed["gray"]["photos"][0]["psnr"] == pytest.approx(mixed["gray"]["photos"][1]["psnr"])


# --- SSIM ------------------------------------------------------------------------------------------

def test_ssim_of_tiny_images_is_skipped_by_the_mean_and_null_in_json(tmp_path):
    big, tiny = make_photo(20, 20, seed=7), make_photo(3000, 6, seed=8)
    summary = evaluate_photos([("big", big), ("tiny", tiny)], {"perfect": Perfect()})
    assert summary["perfect"]["ssim"] == pytest.approx(1.0)  # the tiny image's NaN left out
    assert summary["gray"]["ssim"] == pytest.approx(image_metrics(big, gray_baseline(big))["ssim"])
    only_tiny = evaluate_photos([("tiny", tiny)], {})
    assert math.isnan(only_tiny["gray"]["ssim"])
    write_json(only_tiny, tmp_path / "eval.json")
    assert json.loads((tmp_path / "eval.json").read_text())["gray"]["ssim"] is None
    assert "| gray | " in format_table(only_tiny) and " – |" in format_table(only_tiny).splitlines()[2]


# --- right hue -------------------------------------------------------------------------------------

class Lookup:
    """A stand-in colorizer that answers each truth with a prepared prediction."""

    def __init__(self, pairs):
        self.answers = {truth.tobytes(): prediction for truth, prediction in pairs}

    def colorize(self, image):
        return self.answers[image.tobytes()]


def test_right_hue_pools_pixels_across_images():
    all_colorful = lab_patch(8, 8, 60, 40, 30)  # 64 colorful pixels, all predicted right
    half = np.concatenate([lab_patch(8, 4, 55, 40, -100), flat_gray(lab_patch(8, 4, 55, 40, 0))], axis=1)
    gray_truth = flat_gray(lab_patch(8, 8, 50, 40, 0))  # no colorful pixel: NaN alone, nothing in the pool
    model = Lookup([(all_colorful, all_colorful), (half, flat_gray(half)), (gray_truth, gray_truth)])
    summary = evaluate_photos([("a", all_colorful), ("b", half), ("c", gray_truth)], {"m": model})
    assert summary["m"]["right_hue"] == pytest.approx(64 / (64 + 32))  # a mean of per-image rates would say 1/2
    assert summary["gray"]["right_hue"] == 0.0
    assert math.isnan(evaluate_photos([("c", gray_truth)], {})["gray"]["right_hue"])


# --- AuC -------------------------------------------------------------------------------------------

def test_evaluate_photos_pools_auc_with_the_prior_of_all_truths():
    common, rare = lab_patch(9, 10, 60, 40, 20), lab_patch(1, 10, 60, 40, -100)
    model = Lookup([(common, common), (rare, flat_gray(rare))])
    summary = evaluate_photos([("common", common), ("rare", rare)], {"m": model})
    rare_score = (151 - math.ceil(measured_chroma_and_hue(rare)[0])) / 151
    assert summary["m"]["auc"] == pytest.approx(0.9 + 0.1 * rare_score, abs=1e-12)  # pixels pooled: 90 + 10
    assert summary["m"]["auc_rebalanced"] == pytest.approx((1 + rare_score) / 2, rel=1e-6)  # p̃ from both truths


# --- the table -------------------------------------------------------------------------------------

@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_table_has_the_new_columns_in_percent():
    photos = [(f"p{i}", make_photo(20, 28, seed=i)) for i in range(2)]
    summary = evaluate_photos(photos, {"perfect": Perfect()})
    assert list(summary["perfect"]) == [*METRIC_NAMES, "n_images", *TRANSFER_NAMES]
    header, _, gray, perfect, truth = format_table(summary).splitlines()
    assert "right hue (%)" in header and "AuC (%)" in header and "AuC rebal. (%)" in header
    assert perfect.split(" | ")[4:7] == ["100.0", "100.0", "100.0"]
    assert gray.split(" | ")[4] == "0.0"
    assert len(truth.split("|")) == len(header.split("|"))


@pytest.mark.filterwarnings("ignore:divide by zero:RuntimeWarning")
def test_table_says_whether_colorfulness_follows_the_truth():
    photos = [(f"p{i}", make_photo(20, 28, seed=i)) for i in range(3)]
    header, _, gray, perfect, truth = format_table(evaluate_photos(photos, {"perfect": Perfect()})).splitlines()
    assert header.rstrip(" |").endswith("colorfulness follows truth (r)")
    assert perfect.rstrip(" |").endswith("+1.00")   # a perfect model's colorfulness is the truth's
    assert gray.rstrip(" |").endswith("– | – | –")  # against itself, and 0 for every photo: no correlation


# --- Transfer: the quieter half, the worst quiet photo, colorfulness tracking -------------------------


def test_transfer_metrics_values():
    from colorizer.evaluate import transfer_metrics

    gray = [30.0, 25.0, 20.0, 18.0]
    # Photos 0 and 1 are the quieter half (truth colorfulness below the median 30).
    m = transfer_metrics([27.0, 24.0, 23.0, 22.0], gray, [5.0, 20.0, 40.0, 60.0], [10.0, 20.0, 40.0, 80.0])
    assert m["gain_over_gray"] == pytest.approx((-3 - 1 + 3 + 4) / 4)
    assert m["worst_gain"] == pytest.approx(-3.0)  # the lowest single photo's, over the whole set
    assert m["quiet_gain"] == pytest.approx(-2.0) and m["worst_quiet_gain"] == pytest.approx(-3.0)
    assert m["colorfulness_corr"] == pytest.approx(np.corrcoef([5, 20, 40, 60], [10, 20, 40, 80])[0, 1])
    assert np.isnan(m["worst_quiet_ab_excess"])  # not given: unknown, not zero
    # The quieter half (photos 0 and 1) decides, not the vivid photo 3's larger excess.
    excess = transfer_metrics([27.0, 24.0, 23.0, 22.0], gray, [5.0, 20.0, 40.0, 60.0], [10.0, 20.0, 40.0, 80.0],
                              ab_excess=[1.5, 4.0, -2.0, 9.0])
    assert excess["worst_quiet_ab_excess"] == pytest.approx(4.0)
    flat = transfer_metrics([1.0, 2.0], [1.0, 1.0], [3.0, 3.0], [5.0, 9.0])
    assert np.isnan(flat["colorfulness_corr"])  # two photos, a constant prediction: no correlation
    rounding = transfer_metrics([1.0] * 3, [1.0] * 3, [0.013, 0.002, 0.008], [38.0, 38.6, 36.7])
    assert np.isnan(rounding["colorfulness_corr"])  # gray's uint8 rounding noise is no colorfulness to follow


class PaintsEverything:
    """Paints every photo the same orange, whatever its truth: the wash on quiet scenes."""

    def colorize(self, truth):
        L = color.luminance(truth)
        return color.join_lab(L, np.broadcast_to(np.array([20.0, 40.0], np.float32), (*L.shape, 2)).copy())


def test_a_model_that_paints_quiet_photos_loses_on_the_quieter_half():
    quiet = [(f"q{i}", lab_patch(24, 24, 60 + i, 3.0, 200)) for i in range(3)]
    vivid = [(f"v{i}", lab_patch(24, 24, 60 + i, 45.0, 40 + 5 * i)) for i in range(3)]
    summary = evaluate_photos(quiet + vivid, {"paints": PaintsEverything(), "perfect": Perfect()})
    paints, perfect = summary["paints"], summary["perfect"]
    assert paints["quiet_gain"] < -5 and paints["worst_quiet_gain"] <= paints["quiet_gain"]
    assert paints["gain_over_gray"] > paints["quiet_gain"]  # the vivid half gains: orange is near their truth
    assert perfect["quiet_gain"] > 0 and perfect["colorfulness_corr"] == pytest.approx(1.0)
    assert summary["gray"]["gain_over_gray"] == 0.0


def test_per_photo_rows_name_each_photo_and_rank_the_worst_first(tmp_path):
    """``per_photo``: each photo's PSNR, gain over gray, colorfulness and quieter-half flag, in the
    photos' order; ``format_per_photo`` lists the lowest gain first; the JSON holds them (inf → null)."""
    quiet = lab_patch(16, 16, 60, 6, 90)          # a near-gray photo: painting it costs most
    loud = lab_patch(16, 16, 60, 50, 30)
    louder = lab_patch(16, 16, 60, 70, 200)

    class Painter:  # paints every photo one strong blue, whatever its truth
        def colorize(self, image):
            return lab_patch(*image.shape[:2], 60, 60, 250)

    photos = [("quiet", quiet), ("loud", loud), ("louder", louder)]
    summary = evaluate_photos(photos, {"perfect": Perfect(), "painter": Painter()}, per_photo=True)
    rows = summary["painter"]["photos"]
    assert [r["name"] for r in rows] == ["quiet", "loud", "louder"]
    assert [r["quiet"] for r in rows] == [True, False, False]
    for (name, truth), row in zip(photos, rows):
        expected = image_metrics(truth, Painter().colorize(truth))["psnr"] - image_metrics(truth, gray_baseline(truth))["psnr"]
        assert row["gain_over_gray"] == pytest.approx(expected)
        assert row["truth_colorfulness"] == pytest.approx(colorfulness(truth))
    assert rows[0]["gain_over_gray"] < -5 and rows[0]["colorfulness"] > 5 * rows[0]["truth_colorfulness"]
    assert summary["painter"]["worst_quiet_gain"] == pytest.approx(rows[0]["gain_over_gray"])
    # The perceptual reading: the painted blue's mean ab distance from the truth, beyond gray's (the truth's chroma).
    for (name, truth), row in zip(photos, rows):
        ab_truth = color.ab_of_rgb(truth).astype(np.float64)
        ab_painted = color.ab_of_rgb(Painter().colorize(truth)).astype(np.float64)
        expected = np.linalg.norm(ab_painted - ab_truth, axis=-1).mean() - np.hypot(*np.moveaxis(ab_truth, -1, 0)).mean()
        assert row["ab_error_over_gray"] == pytest.approx(expected, abs=0.05)
    assert rows[0]["ab_error_over_gray"] > 40  # a strong blue on a near-gray truth: far beyond a faint cast
    assert summary["painter"]["worst_quiet_ab_excess"] == pytest.approx(rows[0]["ab_error_over_gray"])
    assert summary["perfect"]["worst_quiet_ab_excess"] < 0 and summary["gray"]["worst_quiet_ab_excess"] == 0.0
    assert all(math.isinf(r["gain_over_gray"]) for r in summary["perfect"]["photos"])
    assert "photos" not in evaluate_photos(photos, {"perfect": Perfect()})["perfect"]
    text = format_per_photo(summary)
    painter_rows = text.split("painter, lowest gain over gray first:")[1].strip().splitlines()[2:]
    gains = [float(line.split("|")[2]) for line in painter_rows]
    assert [line.split("|")[1].strip() for line in painter_rows][0] == "quiet" and gains == sorted(gains)
    assert format_per_photo(summary, worst=1).split("painter")[1].strip().splitlines()[3:] == painter_rows[:1]

    write_json(summary, tmp_path / "s.json")
    saved = json.loads((tmp_path / "s.json").read_text())
    assert saved["perfect"]["photos"][0]["gain_over_gray"] is None
    assert saved["painter"]["photos"][0]["gain_over_gray"] == pytest.approx(rows[0]["gain_over_gray"])


def test_transfer_metrics_edge_cases_equal_truths_two_photos_and_exact_photos():
    from colorizer.evaluate import transfer_metrics

    # Every truth equally colorful: no photo is below the median, so the quieter half is the whole set.
    even = transfer_metrics([21.0, 22.0, 23.0], [20.0] * 3, [5.0, 6.0, 7.0], [30.0] * 3, ab_excess=[0.5, 2.5, 1.0])
    assert even["quiet_gain"] == pytest.approx(2.0) and even["worst_quiet_gain"] == pytest.approx(1.0)
    assert even["worst_quiet_ab_excess"] == pytest.approx(2.5)
    # Two photos are too few for a correlation, even when both sides vary.
    assert np.isnan(transfer_metrics([1.0, 2.0], [1.0, 1.0], [3.0, 9.0], [5.0, 9.0])["colorfulness_corr"])
    # An exact photo against an exact gray (inf − inf) is unknown and left out; the others still count.
    exact = transfer_metrics([math.inf, 25.0, 26.0], [math.inf, 20.0, 20.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert exact["gain_over_gray"] == pytest.approx(5.5) and exact["worst_gain"] == pytest.approx(5.0)


def test_per_photo_table_ranks_unknown_gains_last_flags_the_quiet_half_and_leaves_out_gray():
    def row(name, gain, quiet):
        return {"name": name, "psnr": 20.0, "gain_over_gray": gain, "colorfulness": 3.0, "truth_colorfulness": 4.0,
                "quiet": quiet, "ab_error_over_gray": 1.25}

    summary = {"gray": {"photos": [row("g", 0.0, True)]},
               "m": {"photos": [row("unknown", float("nan"), True), row("better", 2.0, False), row("worse", -1.0, True)]},
               "truth": {"colorfulness": 4.0, "n_images": 3}}
    assert format_per_photo(summary).splitlines() == [
        "m, lowest gain over gray first:",
        "| photo | vs gray (dB) | colorfulness | truth's | quieter half | ab error over gray |",
        "|---|---|---|---|---|---|",
        "| worse | -1.00 | 3.0 | 4.0 | yes | +1.2 |",
        "| better | +2.00 | 3.0 | 4.0 |  | +1.2 |",
        "| unknown | – | 3.0 | 4.0 | yes | +1.2 |",
    ]
