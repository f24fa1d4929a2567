"""scripts/quiet_sheet.py: the quieter half of a set, truth beside the model's colors, each with its gain over gray."""
from __future__ import annotations

import numpy as np

from conftest import load_script, write_png


def _photo(rgb, size=(24, 32), seed=0):
    """A textured photo around one color (so that L varies and colorfulness is the color's)."""
    rng = np.random.default_rng(seed)
    base = np.array(rgb, np.float64)[None, None] * rng.uniform(0.6, 1.0, (*size, 1))
    return np.clip(base, 0, 255).astype(np.uint8)


def _tint(truth):
    """A stand-in colorizer that washes everything olive: the failure the sheet is for."""
    out = truth.astype(np.float64)
    out[..., 0] += 25
    out[..., 1] += 30
    out[..., 2] -= 20
    return np.clip(out, 0, 255).astype(np.uint8)


def test_quiet_picks_are_the_quieter_half_least_colorful_first():
    sheet = load_script("quiet_sheet")
    photos = [("vivid-red", _photo((230, 20, 20))), ("gray-wall", _photo((128, 128, 128))),
              ("vivid-blue", _photo((20, 40, 230))), ("pale-stone", _photo((150, 140, 128))),
              ("green-field", _photo((40, 200, 40)))]
    picked = [name for name, _ in sheet.quiet_picks(photos, per_set=6)]
    assert picked == ["gray-wall", "pale-stone"]
    assert [name for name, _ in sheet.quiet_picks(photos, per_set=1)] == ["gray-wall"]
    assert sheet.quiet_picks([], per_set=3) == []


def test_a_wash_on_a_gray_photo_is_under_gray_and_leaving_it_gray_is_not():
    sheet = load_script("quiet_sheet")
    gray_wall = _photo((132, 128, 124))  # nearly gray: gray itself scores a finite PSNR on it
    washed, = sheet.sheet_rows([("gray-wall", gray_wall)], _tint)
    assert washed["gain_over_gray"] < -3.0
    assert washed["colorfulness"] > washed["truth_colorfulness"] + 10
    from colorizer.evaluate import gray_baseline

    kept, = sheet.sheet_rows([("gray-wall", gray_wall)], gray_baseline)
    assert abs(kept["gain_over_gray"]) < 1e-9 and kept["colorfulness"] < 1.0


def test_the_sheet_puts_truth_beside_the_colors(tmp_path):
    sheet = load_script("quiet_sheet")
    red, gray = _photo((200, 30, 30), size=(40, 40)), _photo((120, 120, 120), size=(40, 80))
    rows = sheet.sheet_rows([("red", red), ("gray", gray)], _tint)
    image = np.asarray(sheet.contact_sheet(rows, height=40, width=1000))
    assert image.shape == (40, 2 * 40 + 2 * 80, 3)  # both pairs on one line, each at 40 px high
    # Below the label band: the left half of the first tile is the truth (red), its right half the tinted copy.
    truth_half, colored_half = image[20:, :40].reshape(-1, 3).mean(0), image[20:, 40:80].reshape(-1, 3).mean(0)
    assert truth_half[0] > truth_half[1] + 60
    assert colored_half[1] > truth_half[1] + 20  # the wash's green landed on the right
    # A narrow line width puts each tile on its own line.
    assert np.asarray(sheet.contact_sheet(rows, height=40, width=100)).shape[0] == 80


def test_the_script_writes_the_sheet_of_a_folder(tmp_path, monkeypatch, capsys):
    sheet = load_script("quiet_sheet")
    folder = tmp_path / "set"
    # (Exactly gray files have no color truth and are skipped: the quiet ones are nearly gray.)
    for i, rgb in enumerate([(230, 20, 20), (132, 128, 124), (20, 40, 230), (150, 140, 128)]):
        write_png(folder / f"p{i}.png", _photo(rgb, seed=i))

    class Washer:
        colorize = staticmethod(_tint)

    import colorizer.inference

    monkeypatch.setattr(colorizer.inference, "load", lambda name: Washer())
    out = tmp_path / "sheet.png"
    assert sheet.main([str(folder), "--out", str(out), "--height", "32"]) == 0
    printed = capsys.readouterr().out
    assert "p1.png" in printed and "p0.png" not in printed  # the gray photo is in the quieter half, the red one not
    assert out.is_file()
    (tmp_path / "empty").mkdir()
    assert sheet.main([str(tmp_path / "empty"), str(tmp_path / "missing"), "--out", str(out)]) == 1
    assert "missing: skipped" in capsys.readouterr().out
