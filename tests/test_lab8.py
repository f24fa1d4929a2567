"""colorizer.lab8: the 8-bit lightness and the table-lookup join give what the float path gives.

The float path (``colorizer.color``: ``luminance``, ``join_lab``, ``join_lab_guided``) is the reference;
the fast path may differ only by its documented rounding: L to 8 bits (≤ 0.2), a and b to the table's
steps of 2 (≤ 1 each). The output's L must stay the input's within one unit wherever the colours are
inside the sRGB gamut (outside it both paths clip, and L moves with the clipping).
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from colorizer import color, lab8, lab8_kernels
from colorizer.upsample import guided_coefficients
from conftest import make_photo

L_TOLERANCE = 1.0


def muted_ab(photo: np.ndarray, size: tuple[int, int], scale: float = 0.6) -> np.ndarray:
    """A photo's own chroma, shrunk to a working size and muted as a trained model's is: mostly in gamut."""
    return color.resize(color.ab_of_rgb(photo), size) * np.float32(scale)


def in_gamut(L: np.ndarray, ab: np.ndarray) -> np.ndarray:
    """Pixels whose (L, a, b) lies inside sRGB with a margin (no channel clipped by either path)."""
    lab = np.dstack([L, ab]).astype(np.float64)
    # Through XYZ by hand (D65, sRGB primaries): library conversions clip, and the test must know where.
    fy = (lab[..., 0] + 16) / 116
    fx, fz = fy + lab[..., 1] / 500, fy - lab[..., 2] / 200

    def finv(t):
        return np.where(t > 6 / 29, t ** 3, 3 * (6 / 29) ** 2 * (t - 4 / 29))

    xyz = np.stack([0.950456 * finv(fx), finv(fy), 1.088754 * finv(fz)], -1)
    m = np.array([[3.2404542, -1.5371385, -0.4985314], [-0.9692660, 1.8760108, 0.0415560],
                  [0.0556434, -0.2040259, 1.0572252]])
    linear = xyz @ m.T
    return np.all((linear > 0.002) & (linear < 0.998), axis=-1)


# ------------------------------------------------------------------------------------------ lightness


def test_lightness8_of_every_gray_level_is_L_rounded_to_8_bits():
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    L8 = lab8.lightness8(gray)
    assert L8.dtype == np.uint8 and L8.shape == gray.shape
    np.testing.assert_array_equal(L8, np.round(color.luminance(gray) * 2.55).astype(np.uint8))
    assert np.abs(lab8.L_of(L8) - color.luminance(gray)).max() <= 0.2


def test_lightness8_of_rgb_gray_and_color_strips(monkeypatch):
    monkeypatch.setattr(lab8, "_STRIP_PIXELS", 64)  # many strips on a small image
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, (40, 30), dtype=np.uint8)
    mixed = np.repeat(gray[..., None], 3, axis=-1)
    mixed[25:] = rng.integers(0, 256, (15, 30, 3), dtype=np.uint8)  # gray strips on top, colour below
    mixed[3, 7, 2] ^= 1  # one pixel of a gray strip off by one level: that strip is not gray
    expected = np.clip(np.round(color.luminance(mixed) * 2.55), 0, 255).astype(np.uint8)
    assert np.abs(lab8.lightness8(mixed).astype(int) - expected).max() <= 1  # float rounding ties only
    np.testing.assert_array_equal(lab8.lightness8(np.repeat(gray[..., None], 3, -1)), lab8.lightness8(gray))


def test_lightness8_of_every_gray_level_as_rgb_matches_the_gray_image():
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    np.testing.assert_array_equal(lab8.lightness8(np.repeat(gray[..., None], 3, -1)), lab8.lightness8(gray))


@pytest.mark.parametrize("channel", [0, 1, 2])
def test_a_single_colour_byte_anywhere_sends_its_row_to_the_float_path(channel):
    image = np.full((5, 6, 3), 120, np.uint8)
    image[4, 5, channel] = 250  # the last byte of the last row included
    L8 = np.empty((5, 6), np.uint8)
    assert lab8_kernels.gray_lightness(image, lab8._GRAY_TO_L8, L8).tolist() == [0, 0, 0, 0, 1]
    out = lab8.lightness8(image)
    assert np.all(out[:4] == L8[0, 0]) and L8[0, 0] == round(float(color.luminance(image[:1, :1])[0, 0]) * 2.55)
    assert out[4, 5] == round(float(color.luminance(image[4:, 5:])[0, 0]) * 2.55) != L8[0, 0]


@pytest.mark.parametrize("shape", [(1, 1, 3), (1, 7, 3), (9, 1, 3), (3, 5)])
def test_lightness8_of_tiny_images(shape):
    image = np.full(shape, 77, np.uint8)
    assert lab8.lightness8(image).shape == shape[:2]
    assert np.all(lab8.lightness8(image) == lab8.lightness8(np.full((1, 1), 77, np.uint8))[0, 0])


def test_lightness8_of_a_non_contiguous_view():
    photo = make_photo(30, 40, seed=2)
    np.testing.assert_array_equal(lab8.lightness8(photo[:, ::-1]), lab8.lightness8(photo)[:, ::-1])


@given(arrays(np.uint8, st.tuples(st.integers(1, 6), st.integers(1, 6), st.just(3))))
@settings(max_examples=60, deadline=None, derandomize=True, database=None)
def test_lightness8_is_within_a_level_of_the_float_L(rgb):
    assert np.abs(lab8.L_of(lab8.lightness8(rgb)) - color.luminance(rgb)).max() <= 0.2 + 0.4  # ≤ 1 level


# ------------------------------------------------------------------------------------------ shrink


@pytest.mark.parametrize("shape,size", [((866, 1155), (32, 32)), ((866, 1155), (176, 176)),
                                        ((100, 37), (64, 64)), ((13, 11), (32, 32)), ((500, 500), (128, 128))])
def test_shrink_is_an_area_average(shape, size):
    rng = np.random.default_rng(3)
    smooth = cv2.resize(rng.integers(0, 256, (7, 9)).astype(np.uint8), shape[::-1], interpolation=cv2.INTER_CUBIC)
    fast = lab8.shrink(smooth, size)
    exact = color.resize(smooth, size)
    assert fast.shape == size and fast.dtype == np.uint8
    # Two steps round twice, weigh the second step's partial blocks evenly and may leave a row or two
    # out: a few levels where this steep synthetic gradient drops ~60 levels per destination pixel.
    diff = np.abs(fast.astype(int) - exact)
    assert diff.max() <= 3 and diff.mean() < 0.7, (diff.max(), diff.mean())


def test_network_input_from_L8_matches_the_float_one(tiny_colorizers):
    photo = make_photo(120, 160, seed=4)
    for model in tiny_colorizers.values():
        fast = model.prepared(photo)[1]
        plain = model.network_input(color.luminance(photo))
        assert fast.shape == plain.shape and fast.dtype == np.float32
        # L8 rounding (≤ 0.2 L) and, at this photo's sharp edges, the two-step shrink's block weights:
        # in the network's normalized units (L/50, or gray levels/255), a few L units at most.
        diff = np.abs(fast - plain)
        assert diff.mean() < 0.006 and diff.max() < 0.08, (model.name, diff.mean(), diff.max())


@pytest.mark.parametrize("shape, size", [((98, 131), (8, 8)), ((97, 130), (16, 12)), ((40, 40), (8, 8)),
                                         ((30, 33), (16, 16)), ((20, 20), (32, 32)), ((480, 640), (144, 192)),
                                         ((1000, 1500), (144, 216)), ((999, 777), (50, 40))])
@pytest.mark.parametrize("kind", ["gray rgb", "gray 2-D", "one colour row"])
def test_lightness8_and_shrunk_is_lightness8_then_shrink(shape, size, kind):
    """The fused pass (block sums while the lightness is made, margins around the blocks, fallbacks for
    colour rows, 2-D photos and photos too small to block) gives the two calls' L8 and small lightness, the
    same numbers: its block means rounded to the nearest even left 15 % of a 640×480 photo's network input
    a level off OpenCV's half-up 2×2 step (session 34's audit), and a 1000×1500 photo's 8 % off its 6×6 one."""
    gray = make_photo(*shape, seed=sum(shape))[..., 0]
    image = gray if kind == "gray 2-D" else np.repeat(gray[..., None], 3, axis=-1)
    if kind == "one colour row":
        image[shape[0] // 2, 3] = (200, 10, 10)
    L8, small = lab8.lightness8_and_shrunk(image, size)
    np.testing.assert_array_equal(L8, lab8.lightness8(image))
    assert small.dtype == np.uint8
    np.testing.assert_array_equal(small, lab8.shrink(L8, size))



@pytest.mark.parametrize("shape, size", [((98, 131), (8, 8)), ((97, 130), (16, 12)), ((30, 33), (16, 16)),
                                         ((20, 20), (32, 32))])
def test_a_gray_plane_and_its_rgb_give_the_same_lightness_and_small_lightness(shape, size):
    """A gray file is colorized from its levels (``DecodedImage.pixels``), a gray RGB file from its R = G = B
    pixels: both must reach the network as the same numbers."""
    gray = make_photo(*shape, seed=shape[0])[..., 1]
    plane = lab8.lightness8_and_shrunk(gray, size)
    rgb = lab8.lightness8_and_shrunk(np.repeat(gray[..., None], 3, axis=-1), size)
    for from_plane, from_rgb in zip(plane, rgb):
        np.testing.assert_array_equal(from_plane, from_rgb)
    np.testing.assert_array_equal(plane[0], cv2.LUT(gray, lab8._GRAY_TO_L8))  # the levels' own L8, not zeros


# ------------------------------------------------------------------------------------------ the join


def test_table_rows_and_columns_are_the_float_conversion():
    table = lab8.table()
    assert table.shape == (lab8.SIZE, lab8.SIZE, 256) and table.dtype == np.uint32
    assert table.nbytes < 17e6
    rng = np.random.default_rng(5)
    for _ in range(200):
        L8, i, j = rng.integers(256), rng.integers(lab8.SIZE), rng.integers(lab8.SIZE)
        lab = np.array([[[L8 * 100 / 255, -128 + 2 * i, -128 + 2 * j]]], np.float32)
        entry = int(table[i, j, L8])
        rgb = [entry & 0xFF, (entry >> 8) & 0xFF, (entry >> 16) & 0xFF]
        assert entry >> 24 == 0 and rgb == color.lab_to_rgb(lab)[0, 0].tolist()
    assert lab8.table() is table  # built once


@pytest.mark.parametrize("seed", range(4))
def test_join_keeps_L_and_the_colors(seed):
    photo = make_photo(97, 131, seed=seed)
    L = color.luminance(photo)
    ab = muted_ab(photo, (16, 16))
    fast, plain = lab8.join(lab8.lightness8(photo), ab), color.join_lab(L, ab)
    assert fast.dtype == np.uint8 and fast.shape == (97, 131, 3)
    inside = in_gamut(L, color.resize(ab, L.shape))
    assert inside.mean() > 0.8
    error = np.abs(color.luminance(fast) - L)[inside]
    assert error.max() < L_TOLERANCE and error.mean() < 0.3, (error.max(), error.mean())
    # a and b: the table's steps of 2 (≤ 1), plus uint8 RGB rounding on both sides.
    ab_diff = np.abs(color.ab_of_rgb(fast) - color.ab_of_rgb(plain))[inside]
    assert ab_diff.max() < 2.5 and ab_diff.mean() < 0.6, (ab_diff.max(), ab_diff.mean())


@pytest.mark.parametrize("width", range(1, 10))
def test_join_writes_every_pixel_at_every_word_alignment(width):
    """Rows of every width mod 4 start at every byte offset mod 4: the kernel's byte and word stores
    together must write each pixel's own table entry, and nothing else."""
    rng = np.random.default_rng(width)
    L8 = rng.integers(0, 256, (5, width), dtype=np.uint8)
    ab = np.full((2, 2, 2), [20.0, -30.0], np.float32)  # on the grid: a index 74, b index 49
    entries = lab8.table()[74, 49][L8]
    expected = np.stack([entries & 0xFF, (entries >> 8) & 0xFF, (entries >> 16) & 0xFF], -1)
    np.testing.assert_array_equal(lab8.join(L8, ab), expected)
    np.testing.assert_array_equal(lab8.join_guided(L8, np.zeros_like(ab), ab), expected)


def test_join_of_zero_chroma_is_gray():
    gray = np.arange(256, dtype=np.uint8).reshape(16, 16)
    out = lab8.join(lab8.lightness8(gray), np.zeros((4, 4, 2), np.float32))
    assert np.abs(out.astype(int) - gray[..., None]).max() <= 1
    assert np.abs(color.luminance(out) - color.luminance(gray)).max() < 0.5


def test_join_clips_chroma_outside_the_table():
    L8 = np.full((8, 8), 128, np.uint8)
    ab = np.full((2, 2, 2), 400.0, np.float32)  # far beyond any colour: the grid's edge, no wrap-around
    edge = lab8.join(L8, np.full((2, 2, 2), 127.0, np.float32))
    np.testing.assert_array_equal(lab8.join(L8, ab), edge)
    np.testing.assert_array_equal(lab8.join(L8, -ab), lab8.join(L8, np.full((2, 2, 2), -128.0, np.float32)))


@pytest.mark.parametrize("seed", range(3))
def test_join_guided_keeps_L_and_matches_the_float_join(seed):
    photo = make_photo(120, 90, seed=10 + seed)
    L = color.luminance(photo)
    ab = muted_ab(photo, (30, 22))
    fast = lab8.join_guided(lab8.lightness8(photo), *guided_coefficients(lab8.lightness8(photo), ab))
    plain = color.join_lab_guided(L, *guided_coefficients(L, ab))
    inside = in_gamut(L, color.ab_of_rgb(plain))
    assert inside.mean() > 0.8
    error = np.abs(color.luminance(fast) - L)[inside]
    assert error.max() < L_TOLERANCE and error.mean() < 0.3, (error.max(), error.mean())
    ab_diff = np.abs(color.ab_of_rgb(fast) - color.ab_of_rgb(plain))[inside]
    assert ab_diff.mean() < 0.8, ab_diff.mean()


def test_guide_from_L8_matches_the_float_guide():
    photo = make_photo(200, 150, seed=20)
    ab = muted_ab(photo, (44, 44))
    gain8, offset8 = guided_coefficients(lab8.lightness8(photo), ab)
    gain, offset = guided_coefficients(color.luminance(photo), ab)
    L = color.luminance(photo)[::4, ::4] / 100
    # Compared where it matters, as chroma at a pixel: gain·L + offset.
    small = color.resize(L, gain.shape[:2])[..., None]
    assert np.abs((gain8 * small + offset8) - (gain * small + offset)).mean() < 0.5


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (7, 1), (3, 4)])
@pytest.mark.parametrize("grid", [(1, 1), (1, 5), (4, 1), (6, 6)])
def test_join_of_tiny_photos_and_grids_is_the_float_join(shape, grid):
    """Photos smaller than the grid (area), grids of one row or column, single pixels: the kernels'
    rows handle every case the float join does."""
    rng = np.random.default_rng(sum(shape) + 10 * sum(grid))
    L8 = rng.integers(60, 200, shape, dtype=np.uint8)
    ab = rng.uniform(-30, 30, (*grid, 2)).astype(np.float32)
    fast, plain = lab8.join(L8, ab), color.join_lab(lab8.L_of(L8), ab)
    assert fast.shape == (*shape, 3)
    assert np.abs(color.ab_of_rgb(fast) - color.ab_of_rgb(plain)).max() < 3.0


def test_join_of_chroma_that_is_not_finite_is_gray_or_the_grid_edge():
    L8 = np.full((6, 6), 128, np.uint8)
    ab = np.full((2, 2, 2), np.nan, np.float32)
    gray = lab8.join(L8, np.zeros((2, 2, 2), np.float32))
    np.testing.assert_array_equal(lab8.join(L8, ab), gray)
    np.testing.assert_array_equal(lab8.join_guided(L8, ab, ab), gray)
    edge = lab8.join(L8, np.full((2, 2, 2), 126.0, np.float32))
    np.testing.assert_array_equal(lab8.join(L8, np.full((2, 2, 2), np.inf, np.float32)), edge)
    np.testing.assert_array_equal(lab8.join_guided(L8, np.full((2, 2, 2), np.inf, np.float32), ab), edge)
    # A guided join's coefficients may lie beyond 8-bit Lab's range while the colors they make do not (a review of
    # session 34's clip of them: 3.4 % of a photo's pixels off by up to 255 levels).
    L = np.full((6, 6), 50.0, np.float32)
    line = color.join_lab_guided(L, np.full((2, 2, 2), -300.0, np.float32), np.full((2, 2, 2), 170.0, np.float32))
    assert np.abs(line.astype(int) - color.join_lab(L, np.full((2, 2, 2), 20.0, np.float32))).max() <= 1
    # The float joins (references, the evaluation's gray) give the same pictures: NaN was white there (session 34).
    L = lab8.L_of(L8)
    for join in (lambda ab: color.join_lab(L, ab), lambda ab: color.join_lab_guided(L, ab, ab)):
        assert np.abs(join(ab).astype(int) - gray).max() <= 1
    assert np.abs(color.join_lab(L, np.full((2, 2, 2), np.inf, np.float32)).astype(int) - edge).max() <= 1


def test_join_guided_clips_each_pixel_to_the_grid():
    """A gain that drives the chroma past the grid at bright pixels only: those clip to the edge,
    dark ones keep their colour."""
    L8 = np.array([[0, 255]], np.uint8).repeat(4, axis=0)
    gain = np.full((2, 2, 2), 1000.0, np.float32)
    offset = np.full((2, 2, 2), 10.0, np.float32)
    out = lab8.join_guided(L8, gain, offset)
    np.testing.assert_array_equal(out[:, 0], lab8.join(L8[:, :1], offset)[:, 0])
    np.testing.assert_array_equal(out[:, 1], lab8.join(L8[:, 1:], np.full((2, 2, 2), 126.0, np.float32))[:, 0])


def test_colorize_uses_the_fast_path_and_keeps_L(tiny_colorizers):
    photo = make_photo(64, 80, seed=7)
    gray = np.repeat(color.to_gray(photo)[..., None], 3, axis=-1)
    for name, model in tiny_colorizers.items():
        out = model.colorize(gray)
        error = np.abs(color.luminance(out) - color.luminance(gray))
        assert error.mean() < 0.5 and error.max() < L_TOLERANCE, (name, error.mean(), error.max())
        # The same photo through the float lightness: the same colours within the table's rounding.
        plain = model.join(color.luminance(gray), model.predict_ab(model.network_input(color.luminance(gray)))[0])
        assert np.abs(color.ab_of_rgb(out) - color.ab_of_rgb(plain)).mean() < 1.5, name
        # The gray levels alone (a gray file's ``DecodedImage.pixels``): the very same picture.
        np.testing.assert_array_equal(model.colorize(np.ascontiguousarray(gray[..., 0])), out, err_msg=name)


@pytest.mark.skipif("NUMBA_THREADING_LAYER" in __import__("os").environ, reason="layer chosen by the environment")
def test_kernels_run_on_tbb_or_numbas_own_pool_never_openmp():
    import numba

    lab8.warm_up()
    assert numba.threading_layer() in {"tbb", "workqueue"}


def test_warm_up_compiles_every_kernel_a_gray_plane_or_an_rgb_photo_needs():
    """In a fresh process (compiled signatures accumulate in this one): after ``warm_up`` each kernel has
    the signatures a colorization uses, so no visitor waits for a compilation."""
    import subprocess
    import sys

    script = ("from colorizer import lab8, lab8_kernels as k; lab8.warm_up(); "
              "print({f.__name__: sorted(str(s[0]) for s in f.signatures) for f in "
              "(k.gray_lightness, k.gray_lightness_blocks, k.gather, k.gather_guided)})")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120)
    signatures = eval(out.stdout.strip().splitlines()[-1])
    plane, rgb = "array(uint8, 2d, C)", "array(uint8, 3d, C)"
    assert signatures == {"gray_lightness": [plane, rgb], "gray_lightness_blocks": [plane, rgb],
                          "gather": [plane], "gather_guided": [plane]}, signatures


def test_numba_loads_with_the_first_join_not_with_the_module():
    """``colorizer.lab8`` is imported by the app's first page (through ``ui.loaders``); Numba's import (0.4 s) waits for
    the first call that runs a loop or ``warm_up`` (in the app, the warm-up's). In a fresh process: not loaded by the
    import, loaded by ``ACCELERATED``; and the grid ``lab8`` reads from ``lab8_numpy`` is the kernels' own."""
    import subprocess
    import sys

    script = ("import sys; from colorizer import lab8; before = 'numba' in sys.modules; accelerated = lab8.ACCELERATED; "
              "from colorizer import lab8_kernels as k; "
              "print(before, accelerated, 'numba' in sys.modules, (k.STEP, k.ORIGIN, k.SIZE) == (lab8.STEP, lab8.ORIGIN, lab8.SIZE))")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["False", "True", "True", "True"], out.stdout


def test_joins_from_several_threads_at_once_each_get_their_own_result():
    from concurrent.futures import ThreadPoolExecutor

    photos = [make_photo(40 + 7 * i, 50 + 5 * i, seed=30 + i) for i in range(6)]
    inputs = [(lab8.lightness8(p), muted_ab(p, (8, 8))) for p in photos]
    alone = [lab8.join(L8, ab) for L8, ab in inputs]
    with ThreadPoolExecutor(max_workers=6) as pool:
        together = list(pool.map(lambda pair: lab8.join(*pair), inputs * 3))
    for i, result in enumerate(together):
        np.testing.assert_array_equal(result, alone[i % len(alone)])
