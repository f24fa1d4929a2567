"""The simple baselines (colorizer.baselines: the training palette and the guided ones) and the palette the reference colorization falls back to
(colorizer.exemplar.lightness_palette), and real pairs read from a folder (eval_sets.folder_pairs)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from colorizer import baselines, color
from colorizer.eval_sets import folder_pairs
from colorizer.exemplar import PALETTE_BINS, lightness_palette
from colorizer.metrics import image_metrics
from conftest import load_script, write_png


def lightness_coded(h: int = 60, w: int = 80) -> np.ndarray:
    """A photo whose color is a function of its lightness: dark parts blue, light parts orange."""
    L = np.tile(np.linspace(15, 90, w, dtype=np.float32), (h, 1))
    ab = np.where(L[..., None] < 50, np.array([5.0, -30.0], np.float32), np.array([20.0, 45.0], np.float32))
    return color.lab_to_rgb(np.concatenate([L[..., None], ab], axis=-1))


def test_lightness_palette_means_and_fills_missing_levels():
    L = np.array([2.0, 3.0, 52.0, 97.0])
    ab = np.array([[10, 0], [20, 0], [0, -30], [5, 5]], np.float32)
    palette = lightness_palette(L, ab)
    assert palette.shape == (PALETTE_BINS, 2)
    np.testing.assert_allclose(palette[0], [15, 0])      # the mean of the two darkest cells
    np.testing.assert_allclose(palette[10], [0, -30])
    np.testing.assert_allclose(palette[19], [5, 5])
    np.testing.assert_allclose(palette[3], [15, 0])      # missing levels take the nearest present one
    np.testing.assert_allclose(palette[8], [0, -30])


def test_lightness_mean_baseline_recovers_lightness_coded_colors():
    photo = lightness_coded()
    result = baselines.LightnessMeanReference().colorize(photo, photo)
    assert image_metrics(photo, result)["psnr"] > 30
    gray = color.join_lab(color.luminance(photo), np.zeros((*photo.shape[:2], 2), np.float32))
    assert image_metrics(photo, gray)["psnr"] < 25


def test_training_palette_is_the_pooled_mean_color_per_lightness_of_the_photos():
    photos = [lightness_coded(), lightness_coded(30, 40)]
    palette = baselines.palette_of(photos)
    dark, light = palette[int(25 / 100 * PALETTE_BINS)], palette[int(75 / 100 * PALETTE_BINS)]
    np.testing.assert_allclose(dark, [5, -30], atol=2.5)    # dark parts blue: b < 0, a small
    np.testing.assert_allclose(light, [20, 45], atol=2.5)   # light parts orange: a and b > 0


def test_training_palette_paints_each_pixel_its_lightness_color_and_keeps_l():
    photo = lightness_coded()
    result = baselines.TrainingPalette(baselines.palette_of([photo])).colorize(photo)
    assert image_metrics(photo, result)["psnr"] > 30
    lab = color.rgb_to_lab(result)
    np.testing.assert_allclose(lab[..., 0], color.luminance(photo), atol=1.0)
    assert lab[10, 5, 2] < -20 and lab[10, -5, 2] > 30 and lab[10, -5, 1] > 10   # blue left, orange right, a/b in place


def test_a_uniform_palette_paints_a_photo_that_color_whatever_it_shows():
    from colorizer import gallery

    photo = color.resize(gallery.load_photo("coffee"), (60, 80))
    ab = color.rgb_to_lab(baselines.TrainingPalette(np.tile([[0.0, 10.0]], (PALETTE_BINS, 1))).colorize(photo))[..., 1:]
    L = color.luminance(photo)
    mid = (L > 10) & (L < 90)   # near black and white the gamut leaves no room for the tint
    np.testing.assert_allclose(np.median(ab[mid], axis=0), [0, 10], atol=1.5)


def test_fit_script_writes_the_palette_of_the_training_split_only(tmp_path):
    photo = lightness_coded()
    write_png(tmp_path / "data" / "train" / "coded.png", photo)
    write_png(tmp_path / "data" / "val" / "red.png", np.full((40, 40, 3), (200, 30, 30), np.uint8))
    out = tmp_path / "palette.json"
    assert load_script("fit_training_palette").main([str(tmp_path / "data"), "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert record["photos"] == 1 and record["command"].startswith("python scripts/fit_training_palette.py")
    np.testing.assert_allclose(record["ab"], baselines.palette_of([photo]), atol=1e-3)   # the red val photo left out
    result = baselines.TrainingPalette(record["ab"]).colorize(photo)
    assert image_metrics(photo, result)["psnr"] > 30


def test_shipped_training_palette_is_a_faint_warm_tint():
    """The file evaluate loads: 20 levels, fitted by its script, and as the training photos are (animals,
    monuments, landscapes: warm) a small yellow lean, far from a confident color anywhere."""
    record = json.loads(baselines.TRAINING_PALETTE_FILE.read_text())
    ab = np.asarray(record["ab"])
    assert ab.shape == (PALETTE_BINS, 2) and "fit_training_palette.py" in record["command"] and record["photos"] > 200
    assert np.abs(ab).max() < 15 and ab[5:15, 1].mean() > 2


def test_nearest_neighbour_baseline_copies_a_photos_own_colors():
    from colorizer import gallery

    photo = color.resize(gallery.load_photo("chelsea"), (120, 180))
    result = baselines.NearestNeighbourReference().colorize(photo, photo)
    gray = color.join_lab(color.luminance(photo), np.zeros((*photo.shape[:2], 2), np.float32))
    assert image_metrics(photo, result)["psnr"] > image_metrics(photo, gray)["psnr"] + 3


def test_kernel_spread_colors_near_its_hint_and_not_far_away():
    class Gray:
        def colorize(self, image):
            L = color.luminance(image)
            return color.join_lab(L, np.zeros((*L.shape, 2), np.float32))

    image = np.full((60, 120, 3), 128, np.uint8)
    result = baselines.KernelSpreadHints(Gray(), sigma=0.1).colorize(image, [{"x": 10, "y": 30, "rgb": [200, 60, 60]}])
    ab = color.rgb_to_lab(result)[..., 1:]
    hint_ab = color.rgb_to_lab(np.array([[[200, 60, 60]]], np.uint8))[0, 0, 1:]
    np.testing.assert_allclose(ab[30, 10], hint_ab, atol=3)   # at the hint: its red, a and b in place
    assert np.hypot(*ab[30, 110]) < 1          # 100 px away (σ = 6 px): untouched
    assert np.array_equal(baselines.KernelSpreadHints(Gray()).colorize(image, []), Gray().colorize(image))


def test_folder_pairs_reads_each_photo_with_its_reference(tmp_path):
    write_png(tmp_path / "a.png", np.full((8, 8, 3), 10, np.uint8))
    write_png(tmp_path / "a.ref.png", np.full((8, 8, 3), 200, np.uint8))
    write_png(tmp_path / "lonely.ref.png", np.full((8, 8, 3), 50, np.uint8))
    messages = []
    pairs = folder_pairs(tmp_path, on_error=messages.append)
    assert [(name, truth[0, 0, 0], ref[0, 0, 0]) for name, truth, ref in pairs] == [("a.png", 10, 200)]
    assert messages == ["error: lonely.ref.png: no photo lonely.* beside this reference"]


def _with_alpha(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    return np.dstack([rgb, alpha]).astype(np.uint8)


def test_folder_pairs_with_visible_gives_the_pixels_each_picture_shows(tmp_path):
    """A transparent truth is measured over what it shows, and a reference gives colors only from what it shows
    (exemplar.reference_shown); a pair with nothing to measure or nothing to take colors from is one line."""
    shown = np.zeros((64, 64), np.uint8)
    shown[:, :40] = 255
    write_png(tmp_path / "a.png", _with_alpha(np.full((64, 64, 3), 90, np.uint8), shown))
    write_png(tmp_path / "a.ref.png", _with_alpha(np.full((64, 64, 3), 200, np.uint8), shown.T))
    write_png(tmp_path / "b.png", np.full((64, 64, 3), 90, np.uint8))
    write_png(tmp_path / "b.ref.png", _with_alpha(np.full((64, 64, 3), 200, np.uint8), np.zeros((64, 64), np.uint8)))
    write_png(tmp_path / "c.png", _with_alpha(np.full((64, 64, 3), 90, np.uint8), np.zeros((64, 64), np.uint8)))
    write_png(tmp_path / "c.ref.png", np.full((64, 64, 3), 200, np.uint8))
    write_png(tmp_path / "d.png", np.full((64, 64, 3), 90, np.uint8))
    write_png(tmp_path / "d.ref.png", np.full((64, 64, 3), 200, np.uint8))
    messages = []
    pairs = folder_pairs(tmp_path, on_error=messages.append, with_visible=True)
    assert [name for name, *_ in pairs] == ["a.png", "d.png"]
    (_, _, _, visible, reference_visible), (_, _, _, opaque, opaque_reference) = pairs
    assert np.array_equal(visible, shown > 0) and np.array_equal(reference_visible, shown.T > 0)
    assert opaque is None and opaque_reference is None
    assert messages == ["error: b.ref.png: it is transparent all over: no colors to give",
                        "error: c.png: every pixel is transparent, nothing to measure"]
    # Without visible pixels, every pair is read as before: (name, truth, reference).
    read_as_before = [(name, len(rest)) for name, *rest in folder_pairs(tmp_path)]
    assert read_as_before == [(name, 2) for name in ("a.png", "b.png", "c.png", "d.png")]


@pytest.mark.parametrize("baseline", [baselines.LightnessMeanReference(), baselines.NearestNeighbourReference()],
                         ids=["lightness mean", "nearest neighbours"])
def test_reference_baselines_take_colors_only_from_what_a_reference_shows(baseline):
    """A reference whose hidden half holds magenta and whose shown half green: given its visible pixels, the
    baseline paints green; given none, the magenta pulls the result toward it (the file, not the photo)."""
    green, magenta = color.lab_to_rgb(np.array([[[57.0, -50.0, 40.0]]], np.float32))[0, 0], \
        color.lab_to_rgb(np.array([[[57.0, 80.0, -50.0]]], np.float32))[0, 0]  # one lightness level (of 20)
    reference = np.empty((128, 128, 3), np.uint8)
    reference[:, :64], reference[:, 64:] = magenta, green
    visible = np.zeros((128, 128), bool)
    visible[:, 64:] = True
    photo = np.full((48, 48, 3), green, np.uint8)
    mean_ab = lambda rgb: color.rgb_to_lab(rgb)[..., 1:].mean(axis=(0, 1))
    a_shown, b_shown = mean_ab(baseline.colorize(photo, reference, reference_visible=visible))
    a_all, _ = mean_ab(baseline.colorize(photo, reference))
    assert a_shown < -30 and b_shown > 25          # green: a negative, b positive
    assert a_all > a_shown + 20                     # the hidden magenta, counted, drags a upward
    with pytest.raises(ValueError):                 # two references, one mask: not the second taken whole
        baseline.colorize(photo, [reference, reference], reference_visible=[visible])


def test_kernel_spread_follows_its_gaussian_and_never_overshoots_a_hint():
    """Over a gray model: one σ from a lone hint (σ = 0.1 of the short side, 6 px) the color is exp(−1/2) of the hint's;
    two hints of one color at one point reach fully there and no further than that color."""
    class Gray:
        def colorize(self, image):
            L = color.luminance(image)
            return color.join_lab(L, np.zeros((*L.shape, 2), np.float32))

    image = np.full((60, 120, 3), 128, np.uint8)
    hint = {"x": 60, "y": 30, "rgb": [150, 110, 100]}  # a faint red, well inside the gamut at this lightness
    hint_ab = color.rgb_to_lab(np.array([[hint["rgb"]]], np.uint8))[0, 0, 1:]
    ab = color.rgb_to_lab(baselines.KernelSpreadHints(Gray()).colorize(image, [hint]))[..., 1:]
    np.testing.assert_allclose(ab[30, 66], np.exp(-0.5) * hint_ab, atol=1.0)
    np.testing.assert_allclose(ab[36, 60], np.exp(-0.5) * hint_ab, atol=1.0)
    twice = color.rgb_to_lab(baselines.KernelSpreadHints(Gray()).colorize(image, [hint, dict(hint)]))[..., 1:]
    np.testing.assert_allclose(twice[30, 60], hint_ab, atol=1.0)


def test_nearest_neighbour_baseline_averages_its_k_best_cells(monkeypatch):
    """With the matcher replaced by one whose best cells are always 0, 1, 2, …: each cell takes the plain mean
    color of the first k of them."""
    from types import SimpleNamespace

    from colorizer import exemplar

    ab = np.array([[2.0 * i, -1.0 * i] for i in range(16)], np.float32)
    monkeypatch.setattr(exemplar, "reference_cells",
                        lambda references, visible=None: SimpleNamespace(descriptors=None, ab=ab))
    cells = (exemplar.MATCH_SIZE // exemplar.STRIDE) ** 2
    matcher = SimpleNamespace(descriptors=lambda L: None,
                              top_matches=lambda target, descriptors: (None, np.tile(np.arange(16), (cells, 1))))
    monkeypatch.setattr(exemplar, "reference_matcher", lambda: matcher)
    image = np.full((40, 40, 3), 128, np.uint8)
    for k in (8, 3):
        result = color.rgb_to_lab(baselines.NearestNeighbourReference(k=k).colorize(image, image))[..., 1:]
        np.testing.assert_allclose(result.reshape(-1, 2).mean(axis=0), ab[:k].mean(axis=0), atol=1.0)


def test_the_lightness_mean_baseline_takes_its_colors_from_the_reference_not_the_photo():
    coded = lightness_coded()
    gray_photo = color.join_lab(color.luminance(coded), np.zeros((*coded.shape[:2], 2), np.float32))
    result = baselines.LightnessMeanReference().colorize(gray_photo, coded)
    assert image_metrics(coded, result)["psnr"] > image_metrics(coded, gray_photo)["psnr"] + 4  # measured: 28.4 vs 14.8


def test_photos_are_pooled_at_most_palette_side_long():
    """A 512×300 photo weighs as a 256×150 one in the palette: shrunk before its pixels are pooled; a smaller one as is."""
    big, small = np.zeros((300, 512, 3), np.uint8), np.zeros((100, 80, 3), np.uint8)
    assert baselines.pooled_lab([big]).shape == (150 * 256, 3)
    assert baselines.pooled_lab([small, big]).shape == (100 * 80 + 150 * 256, 3)
