"""The colorfulness gate (colorizer.colorfulness_gate): its descriptor, its fit, the cap, and how a loaded
checkpoint with a gate caps the flagship's decoding (and one without is never capped)."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from colorizer import colorfulness_gate
from colorizer.color import lab_to_rgb, unnormalize_l
from colorizer.metrics import colorfulness
from conftest import load_script


def _constant_gate(value: float, dims: int = 2048) -> colorfulness_gate.ColorfulnessGate:
    """A gate that predicts ``value`` for every photo."""
    return colorfulness_gate.ColorfulnessGate(np.zeros(dims), np.ones(dims), np.zeros(dims), float(np.log1p(value)), 1.0)


def test_descriptor_is_each_channels_mean_then_spread_per_block():
    block4 = np.zeros((1, 2, 2, 2), np.float16)
    block4[0, :, :, 0] = [[1, 3], [1, 3]]          # mean 2, spread 1
    block5 = np.full((1, 1, 1, 3), 5.0, np.float16)  # mean 5, spread 0
    d = colorfulness_gate.descriptor(block4, block5)
    np.testing.assert_allclose(d, [[2, 0, 1, 0, 5, 5, 5, 0, 0, 0]])
    assert d.dtype == np.float32


def test_fit_recovers_a_known_relation_and_survives_a_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, (500, 12))
    truth = np.expm1(2.5 + 0.4 * x[:, 0] - 0.3 * x[:, 5] / 2.0 + rng.normal(0, 0.05, 500))
    gate = colorfulness_gate.fit(x, truth, l2=1.0)
    predicted = gate.predict(x)
    assert np.corrcoef(np.log1p(predicted), np.log1p(truth))[0, 1] > 0.99
    assert np.median(np.abs(predicted - truth) / truth) < 0.1
    # A heavy penalty shrinks every photo toward the mean: the ridge is really there.
    flat = colorfulness_gate.fit(x, truth, l2=1e9).predict(x)
    assert flat.std() < 0.01 * predicted.std()
    assert np.log1p(flat).mean() == pytest.approx(np.log1p(truth).mean(), rel=1e-3)
    path = tmp_path / colorfulness_gate.FILE_NAME
    gate.save(path)
    np.testing.assert_array_equal(colorfulness_gate.ColorfulnessGate.load(path).predict(x), predicted)
    assert colorfulness_gate.beside(tmp_path).l2 == 1.0 and colorfulness_gate.beside(tmp_path / "model.keras") is not None
    (tmp_path / "other").mkdir()
    assert colorfulness_gate.beside(tmp_path / "other") is None


def test_a_gate_on_log_features_fits_a_relation_in_the_logs_and_keeps_its_flag(tmp_path):
    """``log_features``: the ridge reads log(1 + descriptor), so a relation in the logs of the features is a
    linear one for it (and not for the plain gate); the flag survives a save and load, and a gate file
    written before the flag existed loads as a plain gate."""
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 30, (400, 6))
    truth = np.expm1(1.0 + 0.8 * np.log1p(x[:, 2]))
    logged = colorfulness_gate.fit(x, truth, l2=0.1, log_features=True)
    plain = colorfulness_gate.fit(x, truth, l2=0.1)
    assert np.abs(logged.predict(x) - truth).max() < 1e-3 * truth.max() < np.abs(plain.predict(x) - truth).max()
    path = tmp_path / colorfulness_gate.FILE_NAME
    logged.save(path)
    loaded = colorfulness_gate.ColorfulnessGate.load(path)
    assert loaded.log_features and np.array_equal(loaded.predict(x), logged.predict(x))
    with np.load(path) as f:  # as a gate from before the flag (the shipped R2 and S1 gates) was written
        np.savez(tmp_path / "old.npz", **{k: f[k] for k in f.files if k != "log_features"})
    assert not colorfulness_gate.ColorfulnessGate.load(tmp_path / "old.npz").log_features


def _vivid_and_mild():
    """Two 8×8 chroma grids under L 16×16 = 60: a vivid two-color one and a mild one."""
    ab = np.zeros((2, 8, 8, 2), np.float32)
    ab[0, :, :4] = (50, 30)
    ab[0, :, 4:] = (-30, 40)
    ab[1, ...] = (3, 4)
    return ab, np.full((2, 16, 16), 60.0, np.float32)


def test_cap_brings_a_too_colorful_photo_to_the_ceiling_in_its_own_hues_and_leaves_the_rest():
    ab, L = _vivid_and_mild()
    vivid = colorfulness_gate.output_colorfulness(ab[0], L[0])
    mild = colorfulness_gate.output_colorfulness(ab[1], L[1])
    assert vivid > 40 and mild < 10
    capped = colorfulness_gate.cap_colorfulness(ab, L, np.array([20.0, 20.0]), cap=1.0)
    assert 19.0 <= colorfulness_gate.output_colorfulness(capped[0], L[0]) <= 20.0  # uint8 RGB: steps of ~1
    # Scaled, not re-colored: each pixel keeps its hue (a and b shrink by one factor).
    ratio = capped[0] / ab[0]
    np.testing.assert_allclose(ratio, ratio.flat[0], rtol=1e-5)
    assert 0 < ratio.flat[0] < 1
    np.testing.assert_array_equal(capped[1], ab[1])  # already under its ceiling: untouched
    # The cap multiplies the ceiling, and 0 turns it off.
    looser = colorfulness_gate.cap_colorfulness(ab, L, np.array([20.0, 20.0]), cap=1.5)
    assert 28.5 <= colorfulness_gate.output_colorfulness(looser[0], L[0]) <= 30.0
    np.testing.assert_array_equal(colorfulness_gate.cap_colorfulness(ab, L, np.array([1.0, 1.0]), cap=0), ab)


def test_output_colorfulness_is_the_joined_images():
    ab, L = _vivid_and_mild()
    rgb = lab_to_rgb(np.concatenate([np.full((8, 8, 1), 60.0, np.float32), ab[0]], axis=-1))
    assert colorfulness_gate.output_colorfulness(ab[0], L[0]) == pytest.approx(colorfulness(rgb))


@pytest.mark.slow
def test_a_checkpoint_with_a_gate_caps_the_flagship_and_one_without_never_does(tiny_checkpoints, tmp_path):
    """End to end through ``colorizer.load``: a gate file beside a flagship checkpoint adds its prediction
    to the network's outputs and ``predict_ab`` caps by it; the same checkpoint without the file is as it was."""
    from colorizer.inference import load
    from colorizer.models import hypercolumn

    folder = tmp_path / "hypercolumn"
    shutil.copytree(tiny_checkpoints["hypercolumn"], folder)
    plain = load(folder)
    assert plain.gate is None
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 1)).astype(np.float32)
    # The tiny untrained decoder paints faintly: make its color bold enough to cap (temperature, gains).
    bold = {"temperature": 0.05, "regression_gain": 4.0, "confidence_low": 0.9, "confidence_high": 1.0}
    ab = plain.predict_ab(x, **bold)
    L = unnormalize_l(x[..., 0])
    before = colorfulness_gate.output_colorfulness(ab[0], L[0])
    assert before > 2.0, before
    _constant_gate(before / 4).save(folder / colorfulness_gate.FILE_NAME)
    gated = load(folder)
    assert gated.gate is not None
    outputs = gated.forward(x)
    np.testing.assert_allclose(outputs[colorfulness_gate.OUTPUT], [before / 4], rtol=1e-6)
    capped = gated.predict_ab(x, **bold)
    ceiling = hypercolumn.DECODE["colorfulness_cap"] * before / 4
    assert 0.95 * ceiling <= colorfulness_gate.output_colorfulness(capped[0], L[0]) <= ceiling
    np.testing.assert_array_equal(gated.predict_ab(x, colorfulness_cap=0, **bold), ab)  # off
    np.testing.assert_array_equal(gated.predict_ab(x, head="annealed", temperature=0.05), plain.predict_ab(x, head="annealed", temperature=0.05))
    _constant_gate(before * 10).save(folder / colorfulness_gate.FILE_NAME)  # a ceiling above it: nothing moves
    np.testing.assert_array_equal(load(folder).predict_ab(x, **bold), ab)


@pytest.mark.slow
def test_scene_colorfulness_reports_what_the_cap_did(tiny_checkpoints, tmp_path):
    """``Colorizer.scene_colorfulness``: the gate's expectation, the colorfulness of the model's own colors
    (the decoding without the cap) and the ceiling; None for a checkpoint without a gate."""
    from colorizer.inference import load
    from colorizer.models import hypercolumn

    folder = tmp_path / "hypercolumn"
    shutil.copytree(tiny_checkpoints["hypercolumn"], folder)
    image = (np.random.default_rng(1).uniform(0, 255, (40, 56, 3))).astype(np.uint8)
    assert load(folder).scene_colorfulness(image) is None
    _constant_gate(0.5).save(folder / colorfulness_gate.FILE_NAME)
    model = load(folder)
    scene = model.scene_colorfulness(image)
    _, x = model.prepared(image)
    own = colorfulness_gate.output_colorfulness(model.predict_ab(x, colorfulness_cap=0)[0], unnormalize_l(x[0, ..., 0]))
    assert scene.expected == pytest.approx(0.5) and scene.ceiling == pytest.approx(hypercolumn.DECODE["colorfulness_cap"] * 0.5)
    assert scene.painted == pytest.approx(own) and scene.held_back == (own > scene.ceiling)
    # At the slider's temperature, as the picture on screen is decoded (session 38's mutation audit).
    cooler = model.scene_colorfulness(image, temperature=0.1).painted
    at_01 = colorfulness_gate.output_colorfulness(model.predict_ab(x, colorfulness_cap=0, temperature=0.1)[0],
                                                  unnormalize_l(x[0, ..., 0]))
    assert cooler == pytest.approx(at_01) and abs(cooler - own) > 1e-3


@pytest.mark.slow
def test_the_fit_script_writes_a_gate_and_records_it_in_the_card(photo_dir, tmp_path, checkpoint_dir, capsys,
                                                                 tiny_checkpoints):
    """scripts/fit_colorfulness_gate.py on the tiny photo folder: crops' descriptors, a cross-validated
    correlation, the gate file beside a checkpoint (loadable, predicting for the crops' descriptors), the
    card's record, and that checkpoint scored with and without the cap."""
    import json

    fit_script = load_script("fit_colorfulness_gate")
    folder = tmp_path / "hypercolumn"
    shutil.copytree(tiny_checkpoints["hypercolumn"], folder)
    card = folder / "card.json"
    out = folder / colorfulness_gate.FILE_NAME
    argv = [str(photo_dir), "--size", "32", "--crops-per-photo", "5", "--l2", "10", "--out", str(out), "--card", str(card),
            "--evaluate", "val", "--caps", "0,1"]
    assert fit_script.main(argv) == 0
    printed = capsys.readouterr().out
    assert "20 crops of 4 photos" in printed
    assert "| no cap | " in printed and "| colorfulness_cap 1 | " in printed  # the checkpoint beside the gate, scored
    gate = colorfulness_gate.ColorfulnessGate.load(out)
    descriptors, values, photos, names = fit_script.crop_descriptors(str(photo_dir), None, 5, 0, 32)
    assert names == colorfulness_gate.BLOCKS and gate.blocks == names  # VGG16 blocks 4-5, as shipped
    assert descriptors.shape == (20, 2048) and list(photos) == [0] * 5 + [1] * 5 + [2] * 5 + [3] * 5
    # --semantic: the ImageNet encoder's block too (2 × 320 more numbers), recorded in the gate
    semantic, _, _, semantic_names = fit_script.crop_descriptors(str(photo_dir), None, 5, 0, 32, semantic=True)
    assert semantic_names == ("block4", "block5", "semantic") and semantic.shape == (20, 2048 + 640)
    np.testing.assert_allclose(gate.predict(descriptors), colorfulness_gate.fit(descriptors, values, 10).predict(descriptors))
    record = json.loads(card.read_text())["colorfulness_gate"]
    assert record["file"] == colorfulness_gate.FILE_NAME and record["crops"] == 20 and record["l2"] == 10
    assert record["command"].startswith("python scripts/fit_colorfulness_gate.py ") and "--size 32" in record["command"]
    assert record["backdrops"] == 0
    # --backdrops N: N things on neutral ground, each labeled with its own colorfulness (bare ground: none at all).
    grounds, ground_values = fit_script.backdrop_descriptors(3, None, 32, 0, names)
    assert grounds.shape == (3, 2048) and np.all(ground_values == 0)
    assert fit_script.main([*argv[:-4], "--backdrops", "3"]) == 0
    printed = capsys.readouterr().out
    assert "20 crops of 4 photos" in printed                           # the correlation stays the photos' crops'
    assert "3 things on neutral ground: cross-validated prediction median" in printed
    assert "featureless pictures" not in printed                       # none asked for: none reported
    assert json.loads(card.read_text())["colorfulness_gate"]["backdrops"] == 3


def test_the_fit_script_needs_its_out_file(photo_dir, capsys):
    """Session 38's README audit: ``--out`` defaulted to the shipped gate's file, so repeating an experiment the
    notebook did not ship replaced the shipped gate without a word. It has no default now: a usage error, at once."""
    fit_script = load_script("fit_colorfulness_gate")
    with pytest.raises(SystemExit) as stopped:
        fit_script.main([str(photo_dir), "--backdrops", "4"])
    assert stopped.value.code == 2 and "the following arguments are required: --out" in capsys.readouterr().err
    # ...named as a checkpoint reads it, and the folders and card it needs there before the fit (session 38's CLI
    # audit: another name was never read, and a missing --card failed after the fit).
    for argv, said in (([str(photo_dir), "--out", "x/exp_gate.npz"], "reads its gate from colorfulness_gate.npz"),
                       (["/nope", "--out", "x/colorfulness_gate.npz"], "/nope: no such folder"),
                       ([str(photo_dir), "--out", "x/colorfulness_gate.npz", "--card", "/nope/card.json"], "no such file")):
        with pytest.raises(SystemExit) as stopped:
            fit_script.main(argv)
        assert stopped.value.code == 2 and said in capsys.readouterr().err


def test_a_gate_reads_the_outputs_it_was_fitted_on(tmp_path):
    """A gate records its network outputs (``blocks``) and survives a save and load with them; a gate file
    from before the record (R2's, shipped) reads VGG16 blocks 4-5. ``with_prediction`` pools exactly those."""
    rng = np.random.default_rng(0)
    semantic = rng.uniform(0, 6, (2, 3, 3, 320)).astype(np.float32)
    block4, block5 = rng.uniform(0, 50, (2, 6, 6, 512)), rng.uniform(0, 50, (2, 3, 3, 512))
    descriptors = colorfulness_gate.descriptor(block4, block5, semantic)
    gate = colorfulness_gate.fit(np.concatenate([descriptors] * 3), np.array([10.0, 40.0] * 3), 1.0,
                                 blocks=("block4", "block5", "semantic"))
    gate.save(tmp_path / "g.npz")
    again = colorfulness_gate.ColorfulnessGate.load(tmp_path / "g.npz")
    assert again.blocks == ("block4", "block5", "semantic")
    outputs = {"block4": block4, "block5": block5, "semantic": semantic}
    predicted = colorfulness_gate.with_prediction(lambda x: outputs, again)(None)[colorfulness_gate.OUTPUT]
    np.testing.assert_allclose(predicted, [10.0, 40.0], rtol=0.05)
    no_semantic = colorfulness_gate.with_prediction(lambda x: {"block4": block4, "block5": block5}, again)(None)
    assert colorfulness_gate.OUTPUT not in no_semantic  # without its inputs the gate stays out
    old = tmp_path / "old.npz"
    np.savez(old, mean=gate.mean[:2048], scale=gate.scale[:2048], weights=gate.weights[:2048], bias=0.0, l2=1.0)
    assert colorfulness_gate.ColorfulnessGate.load(old).blocks == colorfulness_gate.BLOCKS


def _textured(chroma: float, hue_deg: float, seed: int = 0) -> np.ndarray:
    """A 24×24 photo of one hue at ``chroma``, lightness varying (so gray is not the truth)."""
    rng = np.random.default_rng(seed)
    lab = np.empty((24, 24, 3), np.float32)
    lab[..., 0] = rng.uniform(40, 70, (24, 24))
    lab[..., 1], lab[..., 2] = chroma * np.cos(np.radians(hue_deg)), chroma * np.sin(np.radians(hue_deg))
    return lab_to_rgb(lab)


def _painted(truth: np.ndarray, chroma: float, hue_deg: float) -> np.ndarray:
    """``truth``'s lightness painted one color, as a colorizer keeps the photo's L."""
    from colorizer.color import rgb_to_lab

    lab = rgb_to_lab(truth).astype(np.float32)
    lab[..., 1], lab[..., 2] = chroma * np.cos(np.radians(hue_deg)), chroma * np.sin(np.radians(hue_deg))
    return lab_to_rgb(lab)


def test_the_oracle_gate_fixes_too_much_color_but_not_a_wrong_hue():
    """scripts/oracle_gate.py: scaling chroma to the truth's colorfulness repairs a right hue painted 2.5 times
    too strongly, and cannot repair a wrong hue (below gray); the PSNR-best scale mutes a wrong hue to gray."""
    oracle = load_script("oracle_gate")
    from colorizer.evaluate import gray_baseline

    truth = _textured(20, 40)
    gray_psnr = oracle.psnr(truth, gray_baseline(truth))
    np.testing.assert_allclose(oracle.with_chroma_scaled(truth, 1.0), truth, atol=1)
    assert colorfulness(oracle.with_chroma_scaled(truth, 0.0)) < 0.5

    too_strong = oracle.oracle_photo(truth, _painted(truth, 50, 40))
    as_is, matched, best = (too_strong[v] for v in oracle.VARIANTS[:3])
    assert as_is[0] < gray_psnr < matched[0] and matched[0] > 40        # the gate alone puts it right
    assert matched[1] == pytest.approx(colorfulness(truth), rel=0.1) and best[0] >= matched[0] - 0.5

    capped = too_strong["capped at the truth's colorfulness"]
    assert capped == pytest.approx(matched)                            # too colorful: capped to the truth's
    too_faint = oracle.oracle_photo(truth, _painted(truth, 8, 40))
    assert too_faint["capped at the truth's colorfulness"] == too_faint["as colorized"]  # a cap never adds color
    assert too_faint["truth's colorfulness"][1] > too_faint["as colorized"][1] + 3

    wrong_hue = oracle.oracle_photo(truth, _painted(truth, 20, 220))
    as_is, matched, best = (wrong_hue[v] for v in oracle.VARIANTS[:3])
    assert matched[0] < gray_psnr - 1.5                                 # as colorful as the truth, and wrong
    assert best[0] == pytest.approx(gray_psnr, abs=0.3) and best[1] < 1  # the best is to leave it gray


def test_the_oracle_set_mutes_only_the_quieter_half_in_its_last_variant():
    oracle = load_script("oracle_gate")
    photos = [("quiet", _textured(15, 40, 1)), ("loud", _textured(40, 120, 2)), ("louder", _textured(60, 300, 3))]
    summary = oracle.oracle_set(photos, lambda truth: _painted(truth, 50, 200))   # paints everything one hue
    assert list(summary) == list(oracle.VARIANTS)
    assert summary["PSNR-best scale"]["quiet_gain"] == pytest.approx(0, abs=0.5)  # gray, up to 8-bit rounding
    assert summary["as colorized"]["quiet_gain"] < -5
    last = summary["PSNR-best on the quieter half only"]
    assert last["quiet_gain"] == pytest.approx(summary["PSNR-best scale"]["quiet_gain"])
    from colorizer.evaluate import gray_baseline

    gains = [oracle.oracle_photo(t, _painted(t, 50, 200))["as colorized"][0] - oracle.psnr(t, gray_baseline(t)) for _, t in photos]
    assert last["gain_over_gray"] == pytest.approx((last["quiet_gain"] + gains[1] + gains[2]) / 3)  # loud ones as they were
    assert last["colorfulness_ratio"] < summary["as colorized"]["colorfulness_ratio"]


def test_featureless_pictures_are_gray_varied_and_seeded():
    """The pictures the gate learns "nothing here, no color" from: gray (R = G = B, colorfulness 0), at many
    levels, some flat and some with a ramp or grain, the same for the same seed."""
    pictures = colorfulness_gate.featureless(16, 48, seed=3)
    assert pictures.shape == (16, 48, 48, 3) and pictures.dtype == np.uint8
    assert (pictures[..., 0] == pictures[..., 1]).all() and (pictures[..., 1] == pictures[..., 2]).all()
    assert all(colorfulness(p) == 0.0 for p in pictures)
    assert np.ptp(pictures.mean(axis=(1, 2, 3))) > 100  # dark to light
    spread = pictures[..., 0].astype(np.float32).std(axis=(1, 2))
    assert spread.min() < 0.5 < 3 < spread.max()  # a flat one and one with a ramp or grain
    np.testing.assert_array_equal(pictures, colorfulness_gate.featureless(16, 48, seed=3))
    assert not np.array_equal(pictures, colorfulness_gate.featureless(16, 48, seed=4))


@pytest.mark.slow
def test_featureless_pictures_teach_the_gate_that_a_blank_picture_is_colorless(photo_dir, tmp_path, tiny_checkpoints,
                                                                               capsys):
    """--featureless N: the gate is fitted on the photo crops and N gray pictures (labeled 0), and then expects
    unseen featureless pictures to be far less colorful than the gate fitted without them did; the card says
    how many, and the correlation printed is still the photo crops'."""
    import json

    fit_script = load_script("fit_colorfulness_gate")
    expected, gates = {}, {}
    for n in (0, 12):
        folder = tmp_path / f"with{n}" / "hypercolumn"
        shutil.copytree(tiny_checkpoints["hypercolumn"], folder)
        out = folder / colorfulness_gate.FILE_NAME
        argv = [str(photo_dir), "--size", "32", "--crops-per-photo", "5", "--l2", "10", "--out", str(out),
                "--card", str(folder / "card.json"), "--featureless", str(n)]
        assert fit_script.main(argv) == 0
        printed = capsys.readouterr().out
        assert "20 crops of 4 photos" in printed
        assert ("12 featureless pictures: cross-validated prediction median" in printed) == (n == 12)
        assert json.loads((folder / "card.json").read_text())["colorfulness_gate"]["featureless"] == n
        unseen, _ = fit_script.featureless_descriptors(8, 32, seed=99, names=colorfulness_gate.BLOCKS, log=lambda m: None)
        gates[n] = colorfulness_gate.ColorfulnessGate.load(out)
        expected[n] = gates[n].predict(unseen)
    assert np.median(expected[12]) < 0.5 * np.median(expected[0]), expected
    crops, _, _, _ = fit_script.crop_descriptors(str(photo_dir), None, 5, 0, 32)
    assert np.median(gates[12].predict(crops)) > 2 * np.median(expected[12])  # photos still expected colorful


@pytest.mark.slow
def test_extra_photos_join_the_gate_fit_as_photos_of_their_own(photo_dir, tmp_path, tiny_checkpoints, capsys):
    """--extra-photos: photos of other sources (a gray street, a red one here) add their crops to the fit, each
    photo a fold unit of its own, each crop labeled with its own colorfulness; the card names their sources."""
    import json

    from colorizer import data
    from conftest import write_png

    fit_script = load_script("fit_colorfulness_gate")
    extra = tmp_path / "everyday"
    write_png(extra / "gray.png", np.full((40, 48, 3), 128, np.uint8))
    write_png(extra / "red.png", np.stack([np.full((48, 40), v, np.uint8) for v in (200, 30, 40)], axis=-1))
    (extra / "manifest.csv").write_text("path,split,package,license\ngray.png,train,labelme-examples,GPL-3+\n"
                                        "red.png,train,labelme-examples,GPL-3+\n")
    folder = tmp_path / "hypercolumn"
    shutil.copytree(tiny_checkpoints["hypercolumn"], folder)
    argv = [str(photo_dir), "--size", "32", "--crops-per-photo", "5", "--l2", "10", "--out",
            str(folder / colorfulness_gate.FILE_NAME), "--card", str(folder / "card.json"),
            "--extra-photos", str(extra), "--extra-crops-per-photo", "3"]
    assert fit_script.main(argv) == 0
    assert "26 crops of 6 photos" in capsys.readouterr().out  # 4 photos × 5 crops + 2 × 3
    record = json.loads((folder / "card.json").read_text())["colorfulness_gate"]["extra_photos"]
    assert record == {"folders": [str(extra)], "sources": [{"package": "labelme-examples", "license": "GPL-3+", "photos": 2}]}
    descriptors, values, photos = fit_script.extra_photo_descriptors([str(extra)], 3, 32, 0, colorfulness_gate.BLOCKS,
                                                                     log=lambda m: None)
    assert descriptors.shape == (6, 2048) and list(photos) == [0, 0, 0, 1, 1, 1]
    _, crops = data.extra_photo_crops([str(extra)], 3, 32, 0)
    np.testing.assert_allclose(values, [colorfulness(c) for c in crops])
    assert values[:3].max() < 1 and values[3:].min() > 40  # the gray photo's crops colorless, the red one's not


def test_a_gate_never_predicts_less_than_no_color():
    """log(1 + colorfulness) is regressed; a regression below 0 would mean a negative colorfulness: it is 0."""
    gate = colorfulness_gate.ColorfulnessGate(np.zeros(2), np.ones(2), np.array([-10.0, 0.0]), 0.0, 1.0)
    np.testing.assert_allclose(gate.predict(np.array([[1.0, 5.0], [-0.1, 5.0], [0.0, 0.0]])), [0.0, np.e - 1, 0.0])


def test_a_photo_exactly_at_its_ceiling_is_not_held_back():
    """The cap leaves colors at the ceiling bit for bit, so the report must not say it held them back."""
    S = colorfulness_gate.SceneColorfulness
    assert not S(expected=10.0, painted=20.0, ceiling=20.0).held_back
    assert S(expected=10.0, painted=20.5, ceiling=20.0).held_back and not S(10.0, 5.0, 20.0).held_back
