"""scripts/soup_checkpoints.py: the shipped flagship is a weight soup of two decoders (docs/results.md,
"The soup ships"); the script that makes it must average exactly, keep every ingredient's sources on the card,
and refuse checkpoints that are not one architecture."""
from __future__ import annotations

import json

import numpy as np
import pytest

from colorizer import checkpoints, data

from conftest import load_script, save_tiny_checkpoint, TINY_SIZES

soup = load_script("soup_checkpoints")


def ingredient(build_tiny_model, folder, seed, card_extra=None, arch="cifar_ae"):
    save_tiny_checkpoint(build_tiny_model(arch, seed=seed), folder, arch, arch, TINY_SIZES[arch])
    card = checkpoints.read_card(folder)
    card.update(card_extra or {})
    checkpoints.write_card(folder, card)
    return folder


@pytest.mark.slow
def test_the_soup_is_the_mean_of_its_ingredients(build_tiny_model, tmp_path, capsys):
    a = ingredient(build_tiny_model, tmp_path / "a" / "cifar_ae", 1, {
        "command": "train A", "evaluation": {"psnr": 30.0}, "training": {"epochs": 2},
        "data": {"sources": [{"package": "scratch", "license": "CC-BY-SA-3.0", "photos": 3}]}})
    b = ingredient(build_tiny_model, tmp_path / "b" / "cifar_ae", 2, {
        "command": "train B", "data": {"extra_photos": {"sources": [{"package": "flightgear-data-base"}]}}})
    (a / "colorfulness_gate.npz").write_bytes(b"gate of A")
    (a / "lite_template.json").write_text("{}")  # A's template: not the soup's

    out = tmp_path / "soup"
    assert soup.main([str(a), str(b), "--out", str(out)]) == 0
    wa = checkpoints.load_keras_model(a).get_weights()
    wb = checkpoints.load_keras_model(b).get_weights()
    mixed = checkpoints.load_keras_model(out / "cifar_ae").get_weights()
    assert not all(np.array_equal(x, y) for x, y in zip(wa, wb))  # two different networks
    for m, x, y in zip(mixed, wa, wb):
        np.testing.assert_allclose(m, (x.astype(np.float64) + y) / 2, rtol=1e-6, atol=1e-7)

    folder = out / "cifar_ae"
    assert (folder / "colorfulness_gate.npz").read_bytes() == b"gate of A"
    assert (folder / "history.csv").read_bytes() == (a / "history.csv").read_bytes()
    assert not (folder / "lite_template.json").exists()
    card = json.loads((folder / "card.json").read_text())
    assert "evaluation" not in card  # A's numbers are not the soup's
    assert card["command"] == f"python scripts/soup_checkpoints.py {a} {b} --out {out}"
    parts = card["training"]["soup"]["ingredients"]
    assert [p["command"] for p in parts] == ["train A", "train B"] and parts[1]["folder"] == str(b)
    assert card["training"]["epochs"] == 2 and "training" not in parts[0]  # A's record is the card's own
    assert parts[1]["data"] == {"extra_photos": {"sources": [{"package": "flightgear-data-base"}]}}
    # B learned from a package kept for evaluation: the soup cannot ship, and the check says so.
    assert "flightgear-data-base" in data.shipping_problem(card, "soup")
    assert "wrote" in capsys.readouterr().out


def test_a_soup_of_one_checkpoint_with_itself_is_that_checkpoint(build_tiny_model, tmp_path):
    a = ingredient(build_tiny_model, tmp_path / "a" / "cifar_ae", 3)
    assert soup.main([str(a), str(a), "--out", str(tmp_path / "same")]) == 0
    same = checkpoints.load_keras_model(tmp_path / "same" / "cifar_ae").get_weights()
    assert all(np.array_equal(x, y) for x, y in zip(same, checkpoints.load_keras_model(a).get_weights()))


def test_checkpoints_of_two_architectures_are_refused(build_tiny_model, tmp_path, capsys):
    a = ingredient(build_tiny_model, tmp_path / "a" / "cifar_ae", 1)
    b = ingredient(build_tiny_model, tmp_path / "b" / "vgg16_ae", 1, arch="vgg16_ae")
    assert soup.main([str(a), str(b), "--out", str(tmp_path / "x")]) == 1
    assert capsys.readouterr().err.strip() == "error: the checkpoints are of different architectures (cifar_ae, vgg16_ae)"
    assert not (tmp_path / "x").exists()
    assert soup.main([str(a), "--out", str(tmp_path / "x")]) == 1


def test_weights_of_other_shapes_are_refused():
    with pytest.raises(ValueError, match="not one architecture"):
        soup.mean_weights([[np.zeros((2, 3))], [np.zeros((3, 2))]])
    with pytest.raises(ValueError, match="not one architecture"):
        soup.mean_weights([[np.zeros(2)], [np.zeros(2), np.zeros(2)]])
