"""User color hints (issue: click to color): simulation, validation, the hint grid, the Colorizer's
``hints=`` plumbing and the CLI's ``--hints``, with tiny or stub networks (no trained weights)."""
from __future__ import annotations

import functools
import json

import keras
import numpy as np
import pytest

from colorizer import hints as H
from colorizer.cli import main
from colorizer.color import normalize_ab, rgb_to_lab
from colorizer.evaluate import HintedColorizer
from colorizer.inference import Colorizer
from colorizer.models import hypercolumn, hypercolumn_hints
from conftest import make_photo, write_png

GREEN, RED = [30, 160, 60], [200, 30, 40]


def _truth_grid(n: int = 64, size: int = 11, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.5, 0.5, (n, size, size, 2)).astype(np.float32)


def test_simulated_hints_are_seeded_and_deterministic():
    truth = _truth_grid()
    a = H.simulate_grid_hints(truth, np.random.default_rng(7), stride=4)
    b = H.simulate_grid_hints(truth, np.random.default_rng(7), stride=4)
    c = H.simulate_grid_hints(truth, np.random.default_rng(8), stride=4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_simulated_hints_follow_the_papers_recipe():
    """Often none (geometric from 0, p = 1/8), mean 7 points; each hint the truth's mean over its cells."""
    truth = _truth_grid(n=800, size=22)
    grids = H.simulate_grid_hints(truth, np.random.default_rng(0), stride=4)
    mask = grids[..., 2]
    assert set(np.unique(mask)) <= {0.0, 1.0}
    without = np.mean(mask.reshape(len(mask), -1).max(axis=1) == 0)
    assert 0.08 < without < 0.18  # P(0 points) = 1/8
    # Where unmasked, no color; where masked, the color is a mean of truth colors: within their range.
    assert np.all(grids[..., :2][mask == 0] == 0)
    assert np.abs(grids[..., :2][mask == 1]).max() <= 0.5
    # A single-cell hint (the common case for small patches) carries exactly that cell's truth.
    singles = [(i, r, c) for i in range(50) for r in range(1, 21) for c in range(1, 21)
               if mask[i, r, c] == 1 and mask[i, r - 1:r + 2, c - 1:c + 2].sum() == 1]
    assert singles
    for i, r, c in singles[:20]:
        np.testing.assert_allclose(grids[i, r, c, :2], truth[i, r, c], atol=1e-6)


def test_hint_grid_maps_x_to_columns_and_y_to_rows_on_a_non_square_photo():
    grid = H.hint_grid([{"x": 299, "y": 10, "rgb": GREEN}], (100, 300), (8, 8))
    assert grid[..., 2].sum() == 1 and grid[0, 7, 2] == 1  # top row, right column
    expected = normalize_ab(rgb_to_lab(np.array([[GREEN]], np.uint8))[0, 0, 1:])
    np.testing.assert_allclose(grid[0, 7, :2], expected, atol=1e-6)
    assert expected[0] < -0.2 and expected[1] > 0.2  # green: a < 0, b > 0 (a swap would fail above)
    wide = H.hint_grid([{"x": 150, "y": 50, "rgb": RED, "radius": 40}], (100, 300), (8, 8))
    assert wide[..., 2].sum() > 4  # a radius covers several cells


def test_a_later_hint_on_the_same_cell_wins():
    """A visitor who corrects a hint by clicking the same spot again sees the new color (``hint_grid``: later hints
    win where two overlap; session 34's test audit: taking the earlier passed every test)."""
    grid = H.hint_grid([{"x": 10, "y": 10, "rgb": RED}, {"x": 11, "y": 10, "rgb": GREEN}], (100, 100), (8, 8))
    green = normalize_ab(rgb_to_lab(np.array([[GREEN]], np.uint8))[0, 0, 1:])
    assert grid[..., 2].sum() == 1
    np.testing.assert_allclose(grid[0, 0, :2], green, atol=1e-6)


@pytest.mark.parametrize("bad, reason", [
    ({"x": 1, "y": 1, "rgb": [0, 0, 0]}, "must be a list"),
    ([{"x": 1, "rgb": [0, 0, 0]}], 'expected an object with "x", "y" and "rgb"'),
    ([{"x": 1, "y": 1, "rgb": [0, 0, 300]}], '"rgb" must be three numbers in 0–255'),
    ([{"x": "a", "y": 1, "rgb": [0, 0, 0]}], '"x" must be a number'),
    ([{"x": 1, "y": 1, "rgb": [0, 0, 0], "radius": -2}], '"radius" must be ≥ 0'),
    ([{"x": 40, "y": 1, "rgb": [0, 0, 0]}], "hint 1 at x=40, y=1 is outside the 40x30 image"),
    ([{"x": 1, "y": -1, "rgb": [0, 0, 0]}], "outside the 40x30 image"),
])
def test_bad_hints_are_one_clear_line(bad, reason):
    with pytest.raises(H.HintError, match=reason) as info:
        H.validate_hints(bad, (30, 40), source="h.json")
    assert str(info.value).startswith("h.json: ") and "\n" not in str(info.value)


def test_hints_file_round_trip_and_bad_json(tmp_path):
    hints = [{"x": 3, "y": 4, "rgb": GREEN}, {"x": 5.5, "y": 1, "rgb": RED, "radius": 2}]
    path = tmp_path / "hints.json"
    path.write_text(H.hints_to_json(hints))
    assert H.read_hints_file(path) == [{"x": 3.0, "y": 4.0, "rgb": GREEN}, {"x": 5.5, "y": 1.0, "rgb": RED, "radius": 2.0}]
    # Saved "UTF-8 with BOM" (Windows Notepad's option): the same hints, as bytes or as text (session 44's audit).
    path.write_bytes(b"\xef\xbb\xbf" + H.hints_to_json(hints).encode())
    assert H.read_hints_file(path) == H.parse_hints_json(H.hints_to_json(hints))
    assert H.parse_hints_json("\ufeff" + H.hints_to_json(hints)) == H.read_hints_file(path)
    path.write_text("[{")
    with pytest.raises(H.HintError, match="not a JSON hints file"):
        H.read_hints_file(path)
    with pytest.raises(H.HintError, match="cannot read the hints file"):
        H.read_hints_file(tmp_path / "missing.json")


def test_sampled_evaluation_hints_are_the_truth_mean_and_nest():
    photo = make_photo(60, 80, seed=2)
    ten, twenty = H.sample_hints(photo, 10, seed=1), H.sample_hints(photo, 20, seed=1)
    assert twenty[:10] == ten  # n hints are the first n of more: the table's rows add hints
    hint = ten[0]
    r, x, y = int(hint["radius"]), hint["x"], hint["y"]
    patch = photo[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1].reshape(-1, 3).mean(axis=0)
    assert hint["rgb"] == [int(round(c)) for c in patch]


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_a_hints_square_is_averaged_alike_small_large_or_beyond_the_photo(dtype, monkeypatch):
    """The mean lightness under a hint: a large square from a summed-area table equals the plain mean of its pixels,
    and a radius beyond the photo (a hints file may say 1e9: session 44's audit, 2 s of the server for 300 such
    hints on 12 MP) is the whole photo's, at a plain radius's cost."""
    rng = np.random.default_rng(3)
    values = rng.integers(0, 256, (300, 400)) if dtype == np.uint8 else rng.uniform(0, 100, (300, 400))
    lightness = values.astype(dtype)
    scale = 100 / 255 if dtype == np.uint8 else 1.0
    monkeypatch.setattr(H, "LARGE_PATCH_PIXELS", 50)   # 7×7 squares and larger come from the table
    for x, y, radius in ((10, 20, 1.0), (200, 150, 40.0), (390, 5, 120.0), (0, 0, 1e9)):
        r = int(min(radius, 400))
        plain = lightness[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1].astype(np.float64).mean() * scale
        sums = functools.cache(lambda: H._summed_area(lightness))
        assert H._lightness_under(lightness, {"x": x, "y": y, "rgb": RED, "radius": radius}, sums) == pytest.approx(
            plain, abs=1e-6)
        assert sums.cache_info().currsize == (radius > 3)   # the table is made only for a large square
    whole = {"x": 5, "y": 5, "rgb": RED, "radius": 1e9}
    assert H._lightness_under(lightness, whole, lambda: H._summed_area(lightness)) == pytest.approx(
        lightness.astype(np.float64).mean() * scale)


# --------------------------------------------------------------------------- the Colorizer's plumbing

def copying_hint_model(size: int = 32, sure_bin: int | None = None) -> Colorizer:
    """hypercolumn_hints' real encoder with a stub decoder whose regression head is the hint grid itself
    (a_norm·mask, b_norm·mask) and whose distribution is flat: the colors out are the hints in.
    ``sure_bin``: the distribution is sure of that bin where a hint is (still flat elsewhere)."""
    block_inputs = [keras.Input((None, None, c), name=n) for c, n in ((256, "block3"), (512, "block4"), (512, "block5"))]
    hints_in = keras.Input((None, None, 3), name="hints")
    ab = keras.layers.Conv2D(2, 1, use_bias=False, kernel_initializer=keras.initializers.Constant(
        np.array([[1, 0], [0, 1], [0, 0]], np.float32).reshape(1, 1, 3, 2)), name="ab_reg")(hints_in)
    probs_kernel = np.zeros((1, 1, 3, 313), np.float32)
    if sure_bin is not None:
        probs_kernel[0, 0, 2, sure_bin] = 30.0  # the mask channel: logit 30 for that bin where hinted
    probs = keras.layers.Conv2D(313, 1, activation="softmax", kernel_initializer=keras.initializers.Constant(probs_kernel),
                                name="probs")(hints_in)
    decoder = keras.Model([*block_inputs, hints_in], [probs, ab], name="decoder")
    l_norm = keras.Input((None, None, 1), name="L")
    grid_in = keras.Input((size // 4, size // 4, 3), name="hints")
    model = hypercolumn._named_outputs(l_norm, [grid_in], decoder([*hypercolumn.build_encoder(semantic=False)(l_norm), grid_in]),
                                       hypercolumn_hints.NAME)
    card = {"architecture": hypercolumn_hints.NAME, "working_size": size}
    return Colorizer(name="stub_hints", model=model, contract="L_313", working_size=size, card=card)


def _ab(image: np.ndarray) -> np.ndarray:
    return rgb_to_lab(image)[..., 1:]


def test_a_hint_reaches_the_network_where_it_was_placed():
    model = copying_hint_model()
    gray = np.full((40, 120), 140, np.uint8)
    # Left third hinted green (a wide radius), the rest none: a stub that copies hints paints exactly that.
    result = model.colorize(gray, hints=[{"x": 15, "y": 20, "rgb": GREEN, "radius": 20}], head="regression", spread=None)
    green_ab = _ab(np.array([[GREEN]], np.uint8))[0, 0]
    left, right = _ab(result[:, :8]).reshape(-1, 2).mean(axis=0), _ab(result[:, 80:]).reshape(-1, 2).mean(axis=0)
    assert np.linalg.norm(right) < 2.0                     # no hint there: gray
    assert left[0] < -15 and left[1] > 15                  # green there: a < 0, b > 0
    assert np.linalg.norm(left - green_ab) < np.linalg.norm(green_ab) / 2


def test_a_hint_spreads_to_cells_that_look_like_its_own_by_default():
    """The shipped spreading (``spread="replace"``, the default): on a plain photo every cell looks like the
    hinted one, so one hint's green reaches cells the network left gray; ``spread=None`` (the network alone)
    colors the hinted cell only."""
    model = copying_hint_model()
    gray = np.full((40, 120), 140, np.uint8)
    hint = [{"x": 15, "y": 20, "rgb": GREEN}]  # radius 0: one cell of the 8×8 grid
    green_ab = _ab(np.array([[GREEN]], np.uint8))[0, 0]
    far = {spread: _ab(model.colorize(gray, hints=hint, head="regression", **spread_option)[:, 45:75]).reshape(-1, 2).mean(axis=0)
           for spread, spread_option in (("default", {}), ("none", {"spread": None}))}
    assert np.linalg.norm(far["none"]) < 2.0, far                                          # the network alone: gray there
    assert np.linalg.norm(far["default"] - green_ab) < np.linalg.norm(green_ab) / 4, far  # spread: near the hint's green


def test_suggested_colors_are_the_distribution_at_the_point_clicked_the_right_way_round():
    """The Colorize page's swatches at a clicked point (``Colorizer.suggested_colors``): the bins of the
    network's cell under (x, y), x a column and y a row of a non-square photo, as colors whose a and b are
    the bin's, at the point's lightness. A stub sure of one green-yellow bin where hinted, flat elsewhere."""
    from colorizer import quantize

    k = int(quantize.nearest_bin(np.array([[-30.0, 40.0]], np.float32))[0])  # a < 0, b > 0: a swap cannot pass
    model = copying_hint_model(sure_bin=k)
    gray = np.full((40, 120), 140, np.uint8)
    hints = [{"x": 100, "y": 5, "rgb": GREEN}]  # the 8×8 grid's row 1, column 6
    here = model.suggested_colors(gray, 100, 5, hints)
    assert here[0]["probability"] > 0.99 and len(here) == 8
    swatch = rgb_to_lab(np.array([[here[0]["rgb"]]], np.uint8))[0, 0]
    np.testing.assert_allclose(swatch[1:], quantize.AB_BINS[k], atol=1.5)
    assert abs(swatch[0] - rgb_to_lab(np.full((1, 1, 3), 140, np.uint8))[0, 0, 0]) < 1  # the point's own L
    # The cell the point would be with x and y read the other way round (row 6, column 1): nothing sure there.
    assert model.suggested_colors(gray, 20, 32, hints)[0]["probability"] < 0.01


def test_a_vivid_suggestion_on_a_pale_wall_shows_the_color_its_hint_paints():
    """A swatch is the bin at the point's lightness with its chroma held within sRGB, the color a hint of it
    paints (``hints.painted_color``): clipped in RGB instead, a vivid magenta bin on a wall at L 93 showed a
    color 15 L darker and another hue than it painted (session 39)."""
    from colorizer import quantize
    from colorizer.hints import painted_color

    k = int(quantize.nearest_bin(np.array([[70.0, -50.0]], np.float32))[0])  # far outside sRGB at L 93
    model = copying_hint_model(sure_bin=k)
    pale = np.full((40, 120), 235, np.uint8)
    L = float(rgb_to_lab(np.full((1, 1, 3), 235, np.uint8))[0, 0, 0])
    swatch = model.suggested_colors(pale, 100, 5, [{"x": 100, "y": 5, "rgb": GREEN}])[0]
    assert swatch["probability"] > 0.99
    lab = rgb_to_lab(np.array([[swatch["rgb"]]], np.uint8))[0, 0]
    assert abs(lab[0] - L) < 1.5, lab                                                    # the wall's own lightness
    hue = np.degrees(np.arctan2(lab[2], lab[1]) - np.arctan2(*quantize.AB_BINS[k][::-1]))
    assert abs((hue + 180) % 360 - 180) < 6 and np.hypot(*lab[1:]) > 8, lab              # the bin's hue, still a color
    np.testing.assert_allclose(painted_color(swatch["rgb"], L), swatch["rgb"], atol=3)  # what its hint paints


def test_propagation_spreads_a_hint_to_cells_that_look_like_its_own():
    """Two kinds of cells (left and right halves, orthogonal descriptors): a hint in the left half
    recolors the left half toward the hint, and leaves the right half as predicted."""
    h, w = 6, 10
    descriptors = np.zeros((h, w, 2), np.float32)
    descriptors[:, :5, 0], descriptors[:, 5:, 1] = 1.0, 1.0
    ab = np.tile(np.array([10.0, 10.0], np.float32), (h, w, 1))
    grid = np.zeros((h, w, 3), np.float32)
    grid[2, 1] = [-0.3, 0.4, 1.0]  # a = -33, b = 44: green
    for replace in (False, True):
        out = H.propagate_hints(ab, grid, descriptors.reshape(-1, 2), replace=replace)
        np.testing.assert_allclose(out[:, 5:], ab[:, 5:], atol=0.5)              # unlike the hint: (nearly) untouched
        np.testing.assert_allclose(out[2, 1], [-33.0, 44.0], atol=1.0)           # the hinted cell: the hint
        assert np.all(np.linalg.norm(out[:, :5] - [-33.0, 44.0], axis=-1) < 6)  # its kind: near the hint
    np.testing.assert_array_equal(H.propagate_hints(ab, np.zeros_like(grid), descriptors.reshape(-1, 2)), ab)


@pytest.fixture(scope="module")
def shipped_hint_model():
    from colorizer import load

    return load("hypercolumn_hints")


def test_a_hint_moves_the_shipped_models_colors_toward_it(shipped_hint_model):
    from colorizer import gallery
    from colorizer.color import resize

    photo = resize(gallery.load_photo("coffee"), (200, 266))
    automatic = _ab(shipped_hint_model.colorize(photo))
    for x, y, rgb in ((60, 50, [40, 90, 200]), (200, 150, [230, 200, 40])):
        hinted = _ab(shipped_hint_model.colorize(photo, hints=[{"x": x, "y": y, "rgb": rgb}]))
        target = _ab(np.array([[rgb]], np.uint8))[0, 0]
        before, after = np.linalg.norm(automatic[y, x] - target), np.linalg.norm(hinted[y, x] - target)
        assert after < before - 5, (rgb, before, after)  # strictly (and clearly) closer


@pytest.mark.slow
def test_a_hint_keeps_the_photos_lightness_and_its_hue(shipped_hint_model):
    """Session 35's audit: a hint's a, b were taken at the swatch's own lightness; pure red on a light gray wall
    (L 80.5) painted a red 15 L darker, pure blue on mid-gray a violet. Each hint's color is now the one the photo
    can show at the lightness under it: the same hue, less chroma where sRGB holds no more."""
    from colorizer.color import rgb_to_lab

    for level in (200, 128, 60):
        gray = np.full((96, 128), level, np.uint8)
        L = rgb_to_lab(np.dstack([gray] * 3))[0, 0, 0]
        for rgb in ([255, 0, 0], [0, 0, 255], [0, 200, 0], [255, 255, 0]):
            out = rgb_to_lab(shipped_hint_model.colorize(gray, hints=[{"x": 64, "y": 48, "rgb": rgb, "radius": 4}]))
            target = rgb_to_lab(np.array([[rgb]], np.uint8))[0, 0]
            hue, wanted = (np.degrees(np.arctan2(lab[2], lab[1])) for lab in (out[48, 64], target))
            assert np.abs(out[..., 0] - L).max() < 1.0, (level, rgb)
            assert abs(hue - wanted) < 3 and np.hypot(*out[48, 64, 1:]) > 25, (level, rgb, hue, wanted)


def test_within_gamut_keeps_a_color_sRGB_shows_and_lowers_only_the_chroma_of_one_it_cannot():
    from colorizer.color import rgb_to_lab
    from colorizer.hints import within_gamut

    red = rgb_to_lab(np.array([[[255, 0, 0]]], np.uint8))[0, 0]
    np.testing.assert_allclose(within_gamut(red[0], red[1:]), red[1:])  # at its own lightness: itself
    lighter = within_gamut(80.5, red[1:])
    assert 0.2 < lighter[0] / red[1] < 0.6 and lighter[0] / red[1] == pytest.approx(lighter[1] / red[2])
    np.testing.assert_allclose(within_gamut(100.0, red[1:]), [0, 0], atol=3)  # white holds no chroma
    from colorizer.hints import painted_color

    assert painted_color([255, 0, 0], float(red[0])) == [255, 0, 0]  # at its own lightness, itself
    painted = rgb_to_lab(np.array([[painted_color([255, 0, 0], 80.5)]], np.uint8))[0, 0]
    assert abs(painted[0] - 80.5) < 0.6 and abs(np.degrees(np.arctan2(painted[2], painted[1]))
                                                 - np.degrees(np.arctan2(red[2], red[1]))) < 3


def test_the_spreading_compares_cells_by_the_networks_own_blocks_not_a_second_vgg16_pass(shipped_hint_model, monkeypatch):
    """The hint model's network returns its encoder's blocks; the cell descriptors made from them are the
    matcher's (which runs the VGG16 again), and a hinted colorization never calls the matcher."""
    from colorizer import exemplar
    from colorizer.color import unnormalize_l
    from colorizer.models import hypercolumn_hints

    model = shipped_hint_model
    photo = make_photo(120, 160, seed=9)
    hints = [{"x": 30, "y": 40, "rgb": [40, 90, 200]}, {"x": 120, "y": 90, "rgb": [230, 200, 40]}]
    L8, x = model.prepared(photo)
    grid = model.hint_grid(hints, photo.shape, L8)  # as colorize makes it: each hint at the photo's lightness
    outputs = hypercolumn_hints.predict_outputs(model.forward, x, grid)
    from_blocks = exemplar.descriptors_of_blocks([outputs[name] for name in hypercolumn_hints.BLOCKS])
    second_pass = exemplar.reference_matcher().descriptors(unnormalize_l(x[0, ..., 0]))
    assert from_blocks.shape == second_pass.shape and np.abs(from_blocks - second_pass).max() < 1e-3

    def forward_without_blocks(inputs):  # a network built without them: the second pass, as before
        return {key: value for key, value in model.forward(inputs).items() if key not in hypercolumn_hints.BLOCKS}

    expected = model.join(L8, hypercolumn_hints.predict_ab(forward_without_blocks, x, grid)[0])

    def no_second_pass(*args, **kwargs):
        raise AssertionError("the hints' spreading ran the VGG16 again")

    monkeypatch.setattr(exemplar, "reference_matcher", no_second_pass)
    hinted = model.colorize(photo, hints=hints)
    assert np.abs(hinted.astype(int) - expected).max() <= 1  # rounding of descriptors equal to 1e-3
    assert np.abs(_ab(hinted) - _ab(model.colorize(photo))).max() > 5  # the hints did change the colors


def test_no_hints_and_an_empty_list_are_the_same_automatic_result(tiny_colorizers):
    model = tiny_colorizers["hypercolumn_hints"]
    photo = make_photo(36, 52, seed=4)
    assert model.takes_hints
    np.testing.assert_array_equal(model.colorize(photo), model.colorize(photo, hints=[]))
    hinted = model.colorize(photo, hints=[{"x": 10, "y": 10, "rgb": RED, "radius": 6}])
    assert not np.array_equal(hinted, model.colorize(photo))


def test_hints_for_a_model_without_them_are_refused(tiny_colorizers):
    model = tiny_colorizers["cifar_ae"]
    photo = make_photo(20, 20)
    assert not model.takes_hints
    np.testing.assert_array_equal(model.colorize(photo, hints=[]), model.colorize(photo))
    with pytest.raises(H.HintError, match="takes no color hints.*hypercolumn_hints"):
        model.colorize(photo, hints=[{"x": 1, "y": 1, "rgb": RED}])


def test_hinted_evaluation_gives_each_photo_its_own_hints(tiny_colorizers):
    seen = []

    class Recorder:
        def colorize(self, image, hints=None):
            seen.append(hints)
            return image

    photo_a, photo_b = make_photo(30, 30, seed=1), make_photo(30, 30, seed=2)
    hinted = HintedColorizer(Recorder(), 5)
    hinted.colorize(photo_a), hinted.colorize(photo_b), hinted.colorize(photo_a)
    assert len(seen[0]) == 5 and seen[0] == seen[2] and seen[0] != seen[1]
    # Its own points, not only its own colors at the same points: the seed comes from the photo's bytes.
    assert [(h["x"], h["y"]) for h in seen[0]] != [(h["x"], h["y"]) for h in seen[1]]


# --------------------------------------------------------------------------- CLI

def test_archs_hints_lists_the_hint_taking_architectures(capsys):
    assert main(["archs", "--hints"]) == 0
    assert capsys.readouterr().out.splitlines() == ["hypercolumn_hints"]


def _cli(args, capsys) -> tuple[int, list[str]]:
    code = main(args)
    err = capsys.readouterr().err
    return code, [line for line in err.splitlines() if line.startswith("error:")]


def test_cli_hints_colorize_and_errors(installed_tiny_checkpoints, tmp_path, capsys):
    small, large = write_png(tmp_path / "small.png", make_photo(20, 30)), write_png(tmp_path / "large.png", make_photo(60, 90))
    good = tmp_path / "hints.json"
    good.write_text(json.dumps([{"x": 50, "y": 40, "rgb": RED}]))
    out = tmp_path / "out"
    # The hint is inside large.png but outside small.png: large is colorized, small named, exit 2.
    code, errors = _cli(["colorize", str(small), str(large), "-o", str(out), "--arch", "hypercolumn_hints",
                         "--hints", str(good)], capsys)
    assert code == 2 and (out / "large.png").is_file() and not (out / "small.png").exists()
    assert errors == [f"error: {small}: hint 1 at x=50, y=40 is outside the 30x20 image"]
    bad = tmp_path / "bad.json"
    bad.write_text("not json")
    code, errors = _cli(["colorize", str(large), "-o", str(out), "--arch", "hypercolumn_hints", "--hints", str(bad)], capsys)
    assert code == 2 and len(errors) == 1 and "bad.json: not a JSON hints file" in errors[0]
    from colorizer import inference

    with pytest.MonkeyPatch.context() as patch:   # refused from the name, before the model loads
        patch.setattr(inference, "load", lambda *_: pytest.fail("loaded a model to refuse --hints"))
        code, errors = _cli(["colorize", str(large), "-o", str(out), "--arch", "cifar_ae", "--hints", str(good)], capsys)
    assert code == 2 and len(errors) == 1 and "cifar_ae takes no color hints" in errors[0]


@pytest.mark.slow
def test_a_hint_taking_model_finetunes_with_simulated_hints(tiny_checkpoints, checkpoint_dir, no_shipped_weights):
    """Through the one training loop, fine-tuning gets training's per-batch simulated hints: the result
    still takes hints (and follows them), its frozen VGG16 is untouched, only the decoder moved."""
    import colorizer
    from colorizer import checkpoints, finetune
    from conftest import make_photo

    base = tiny_checkpoints["hypercolumn_hints"]
    photos = [(f"p{i}.png", make_photo(40, 56, seed=20 + i)) for i in range(3)]
    config = finetune.FinetuneConfig(base=str(base), epochs=1, batch_size=4, crops_per_photo=2, lr=1e-3)
    job = finetune.FinetuneJob(config, photos, cache=finetune.FeatureCache())
    result = job.run()
    assert job.status().state == "done", job.status().error
    before, after = checkpoints.load_keras_model(base), checkpoints.load_keras_model(result)
    for part, moved in (("encoder", False), ("decoder", True)):
        same = all(np.array_equal(a, b) for a, b in zip(before.get_layer(part).get_weights(), after.get_layer(part).get_weights()))
        assert same != moved, part
    tuned = colorizer.load(result)
    assert tuned.takes_hints and checkpoints.read_card(result)["architecture"] == "hypercolumn_hints"
    gray = np.full((32, 32, 3), 120, np.uint8)
    hinted = tuned.colorize(gray, hints=[{"x": 16, "y": 16, "rgb": [30, 60, 220], "radius": 6}])
    assert hinted.shape == gray.shape
    # Follows them: at the hint, the color moves toward the hint's blue (in a, b at the photo's lightness).
    from colorizer.color import rgb_to_lab

    blue = rgb_to_lab(np.array([[[30, 60, 220]]], np.uint8))[0, 0, 1:]
    at_hint = {name: rgb_to_lab(image[14:19, 14:19])[..., 1:].reshape(-1, 2).mean(axis=0)
               for name, image in (("hinted", hinted), ("automatic", tuned.colorize(gray)))}
    assert np.linalg.norm(at_hint["hinted"] - blue) < np.linalg.norm(at_hint["automatic"] - blue) - 10, at_hint
    assert result.name in finetune.finetunable_checkpoints()  # and it can be fine-tuned again


def test_the_hint_model_decodes_as_it_was_measured_whatever_the_flagship_ships():
    """hypercolumn_hints keeps its own decoding (the one its hint results were measured with): every
    option of the flagship's DECODE is set there too, so none leaks in from the flagship's."""
    from colorizer.models import hypercolumn, hypercolumn_hints

    assert set(hypercolumn.DECODE) <= set(hypercolumn_hints.DECODE)
    assert hypercolumn_hints.DECODE["regression_gain"] == 1.0 and not hypercolumn_hints.DECODE["hue_of_annealed"]
    assert (hypercolumn_hints.DECODE["confidence_low"], hypercolumn_hints.DECODE["confidence_high"]) == (0.2, 0.6)
