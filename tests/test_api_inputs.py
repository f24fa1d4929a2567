"""The Python API's inputs (session 39's audit): each wrong argument is a one-line TypeError or ValueError naming it
and what to pass, not a silent wrong result or a traceback from deep inside; each right one in every form a user
has it (a PIL image of any mode, numpy's numbers) gives the colors the plain form gives."""
from __future__ import annotations

import math
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from colorizer.color import rgb_to_lab
from colorizer.hints import HintError, validate_hints
from colorizer.models import hypercolumn_decoding, hypercolumn_hints
from colorizer.video.frames import FrameColorizer
from colorizer.video.pipeline import colorize_video
from conftest import make_photo


@pytest.fixture(scope="module")
def photo():
    return make_photo(48, 64, seed=3)


def lightness(rgb: np.ndarray) -> np.ndarray:
    return rgb_to_lab(rgb)[..., 0].ravel()


# --- 1. PIL images of any mode --------------------------------------------------------------------------------------

def test_a_palette_image_keeps_its_lightness(tiny_colorizers, photo):
    """np.asarray of a "P" image is its palette indices, which were taken for gray levels (an adaptive palette's
    lightness came out inverted, correlation −0.98)."""
    quantized = Image.fromarray(photo).quantize(32)
    result = tiny_colorizers["cifar_ae"].colorize(quantized)
    truth = lightness(np.asarray(quantized.convert("RGB")))
    assert result.shape == photo.shape
    assert np.corrcoef(lightness(result), truth)[0, 1] > 0.95
    np.testing.assert_array_equal(result, tiny_colorizers["cifar_ae"].colorize(np.asarray(quantized.convert("RGB"))))


def test_pil_modes_give_the_colors_of_their_pixels(tiny_colorizers, photo):
    model = tiny_colorizers["cifar_ae"]
    gray = np.asarray(Image.fromarray(photo).convert("L"))
    plain = model.colorize(gray)
    sixteen = Image.fromarray(gray.astype(np.uint16) * 257)            # 16-bit gray: 0..65535, scaled back
    floats = Image.fromarray(gray.astype(np.float32) / 255, "F")         # float gray in 0..1
    gray_alpha = Image.fromarray(gray).convert("LA")                     # a gray picture's alpha is dropped
    for image in (sixteen, floats, gray_alpha, Image.fromarray(gray).convert("I")):
        np.testing.assert_array_equal(model.colorize(image), plain, err_msg=image.mode)
    cmyk = Image.fromarray(photo).convert("CMYK")
    np.testing.assert_array_equal(model.colorize(cmyk), model.colorize(np.asarray(cmyk.convert("RGB"))))
    one_bit = Image.fromarray(gray).convert("1")
    np.testing.assert_array_equal(model.colorize(one_bit), model.colorize(np.asarray(one_bit.convert("L"))))


def test_pil_images_with_transparency_are_refused_as_rgba_arrays_are(tiny_colorizers, photo):
    model = tiny_colorizers["cifar_ae"]
    message = r"expected a gray H×W or RGB H×W×3 image, got shape \(48, 64, 4\)"
    with pytest.raises(ValueError, match=message):
        model.colorize(np.zeros((48, 64, 4), np.uint8))
    with pytest.raises(ValueError, match=message):
        model.colorize(Image.fromarray(photo).convert("RGBA"))
    keyed = Image.fromarray(photo).quantize(16)
    keyed.info["transparency"] = 0
    with pytest.raises(ValueError, match=message):
        model.colorize(keyed)


# --- 6. a file's name, or None, instead of pixels ---------------------------------------------------------------------

@pytest.mark.parametrize("image", ["photo.png", Path("photo.png"), None])
def test_a_file_name_or_none_is_a_type_error_saying_how_to_read_the_file(image, tiny_colorizers):
    model = tiny_colorizers["cifar_ae"]
    for call in (model.colorize, model.timed_colorize):
        with pytest.raises(TypeError, match=r"pass|pixels") as caught:
            call(image)
        assert "colorizer.imageio.read_image(path).pixels" in str(caught.value)
        assert "\n" not in str(caught.value)
    import colorizer.imageio

    assert hasattr(colorizer.imageio, "read_image") and hasattr(colorizer.imageio.DecodedImage, "pixels")


def reference_photo() -> np.ndarray:
    reference = make_photo(64, 64, seed=8)
    reference[..., 0] = 220   # a color photo, not a gray one
    return reference


@pytest.mark.slow
def test_a_pil_reference_is_its_pixels_and_a_file_name_is_a_type_error(tiny_colorizers, photo):
    model = tiny_colorizers["cifar_ae"]
    reference = reference_photo()
    expected = model.colorize(photo, reference=reference)
    np.testing.assert_array_equal(model.colorize(photo, reference=Image.fromarray(reference)), expected)
    np.testing.assert_array_equal(model.colorize(photo, reference=[Image.fromarray(reference)]), expected)
    for name in ("ref.png", Path("ref.png"), ["ref.png"]):
        with pytest.raises(TypeError, match=r"read_image\(path\)\.rgb"):
            model.colorize(photo, reference=name)


# --- 2. decoding options' values ------------------------------------------------------------------------------------

BAD_OPTIONS = [
    ("colorfulness_cap", math.nan), ("colorfulness_cap", "high"), ("colorfulness_cap", -1),
    ("regression_gain", math.nan), ("regression_gain", None), ("regression_gain", 1e6), ("regression_gain", -5),
    ("confidence_high", math.nan), ("confidence_low", 0.9), ("confidence_high", 0.1), ("confidence_radius", 0),
    ("confidence_radius", -10), ("confidence_radius", math.nan), ("hue_agreement", math.nan), ("hue_agreement", -1),
    ("hue_agreement", 5),
    ("shadows_below", math.nan), ("shadows_below", 200), ("highlights_above", -5), ("hue_of_annealed", "no"),
    ("ceiling_spares_sure", "False"), ("ceiling_spares_sure", None), ("mirror", "False"), ("mirror", "no"),
    ("mirror", 2), ("mirror", math.nan), ("mirror", None), ("head", "nope"), ("head", None), ("spread", "x"),
    # An integer past a float's range: an OverflowError escaped before (session 39's review).
    ("regression_gain", 10 ** 400), ("temperature", 10 ** 400),
    ("confidence_low", 0.6),  # the default high: not under it
]


@pytest.mark.parametrize("name, value", BAD_OPTIONS, ids=[f"{n}={v!r}" for n, v in BAD_OPTIONS])
def test_a_decoding_option_it_cannot_take_is_refused_by_name(name, value, tiny_colorizers, photo):
    with pytest.raises((TypeError, ValueError), match=rf"^hypercolumn: .*\b{name}\b") as caught:
        tiny_colorizers["hypercolumn"].colorize(photo, **{name: value})
    assert "\n" not in str(caught.value)


def test_the_values_the_projects_grids_try_are_taken(tiny_colorizers, photo):
    """scripts/tune_flagship.py's calibration grid tries confidence_high 1.2 (never fully sure); through
    ``tune_decoding.py --grid`` it goes to ``colorize``, which capped it at 1 at first (session 39's review)."""
    model = tiny_colorizers["hypercolumn"]
    assert model.colorize(photo, confidence_low=0.5, confidence_high=1.2, regression_gain=0.8).shape == photo.shape


def test_other_models_check_the_options_they_take(tiny_colorizers, photo):
    with pytest.raises(ValueError, match="regression_gain"):
        tiny_colorizers["hypercolumn_hints"].colorize(photo, regression_gain=math.nan)
    with pytest.raises(ValueError, match="^unet313: unknown head 'nope'"):
        tiny_colorizers["unet313"].colorize(photo, head="nope")
    with pytest.raises(ValueError, match="^cifar_ae: unknown spread 'x'; known: None, replace"):
        tiny_colorizers["cifar_ae"].colorize(photo, spread="x")
    with pytest.raises(ValueError, match="^hypercolumn: unknown spread 'x'"):
        tiny_colorizers["hypercolumn"].predict_ab(tiny_colorizers["hypercolumn"].prepared(photo)[1], spread="x")


@pytest.mark.parametrize("name", ["hypercolumn", "hypercolumn_hints"])
def test_every_default_and_numpy_values_are_taken(name, tiny_colorizers, photo):
    model = tiny_colorizers[name]
    plain = model.colorize(photo)
    np.testing.assert_array_equal(model.colorize(photo, **model.arch.DECODE), plain)
    as_numpy = {k: (np.bool_(v) if isinstance(v, bool) else np.float32(v)) for k, v in model.arch.DECODE.items()}
    np.testing.assert_array_equal(model.colorize(photo, **as_numpy), plain)
    np.testing.assert_array_equal(model.colorize(photo, head="blend", spread="replace"), plain)
    if name == "hypercolumn":
        np.testing.assert_array_equal(model.colorize(photo, mirror=False), plain)
        np.testing.assert_array_equal(model.colorize(photo, mirror=np.bool_(False)), plain)
        assert not np.array_equal(model.colorize(photo, mirror=True), plain)


def test_the_hint_network_refuses_an_unknown_decoding_option_before_it_runs():
    """Its predict_ab merged options without the flagship's check: a typo reached the decoding after the network."""
    calls = []

    def forward(inputs):
        calls.append(inputs)
        raise AssertionError("the network ran")

    with pytest.raises(TypeError, match="unknown decoding option 'confidence'"):
        hypercolumn_hints.predict_ab(forward, np.zeros((1, 32, 32, 1), np.float32), confidence=0.5)
    assert not calls
    assert hypercolumn_decoding.decode_options_of({}, defaults=hypercolumn_hints.DECODE) == hypercolumn_hints.DECODE


# --- 5. hints with numpy's numbers ----------------------------------------------------------------------------------

def test_hints_take_numpy_numbers_and_arrays():
    hints = [{"x": np.int64(10), "y": np.float32(5.5), "rgb": np.array([255, 0, 0])},
             {"x": 3, "y": 4, "rgb": [np.uint8(0), np.uint8(128), np.uint8(255)], "radius": np.int32(2)},
             {"x": 1.0, "y": 2, "rgb": (1, 2, 3)}]
    assert validate_hints(hints, (20, 30)) == [{"x": 10.0, "y": 5.5, "rgb": [255, 0, 0]},
                                               {"x": 3.0, "y": 4.0, "rgb": [0, 128, 255], "radius": 2.0},
                                               {"x": 1.0, "y": 2.0, "rgb": [1, 2, 3]}]


@pytest.mark.parametrize("hint, message", [
    ({"x": True, "y": 1, "rgb": [1, 2, 3]}, '"x" must be a number'),
    ({"x": np.bool_(True), "y": 1, "rgb": [1, 2, 3]}, '"x" must be a number'),
    ({"x": 1, "y": np.float64("nan"), "rgb": [1, 2, 3]}, '"y" must be a number'),
    ({"x": 1, "y": 1, "rgb": [True, 0, 0]}, '"rgb" must be three numbers in 0–255'),
    ({"x": 1, "y": 1, "rgb": np.array([[1, 2, 3]])}, '"rgb" must be three numbers in 0–255'),
    ({"x": 1, "y": 1, "rgb": np.array([1, 2, 300])}, '"rgb" must be three numbers in 0–255'),
    ({"x": 1, "y": 1, "rgb": "abc"}, '"rgb" must be three numbers in 0–255'),
    ({"x": 1, "y": 1, "rgb": [[1, 2], [3], 4]}, '"rgb" must be three numbers in 0–255'),
])
def test_hints_still_refuse_what_is_no_number(hint, message):
    with pytest.raises(HintError, match=message):
        validate_hints([hint], (20, 30))


# --- 4. suggested colors --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("count", [0, -1, 2.5, True, "3"])
def test_suggested_colors_count_must_be_a_positive_integer(count, tiny_colorizers, photo):
    with pytest.raises(ValueError, match="count must be an integer of at least 1"):
        tiny_colorizers["hypercolumn_hints"].suggested_colors(photo, 5, 5, count=count)


def test_suggested_colors_checks_the_point_on_every_model(tiny_colorizers, photo):
    assert len(tiny_colorizers["hypercolumn_hints"].suggested_colors(photo, 5, 5, count=np.int64(3))) == 3
    assert tiny_colorizers["cifar_ae"].suggested_colors(photo, 5, 5) == []   # no 313 bins: nothing to suggest
    for model in ("cifar_ae", "hypercolumn_hints"):
        with pytest.raises(HintError, match="outside the 64x48 image"):
            tiny_colorizers[model].suggested_colors(photo, 64, 5)
        with pytest.raises(HintError, match='"x" must be a number'):
            tiny_colorizers[model].suggested_colors(photo, math.nan, 5)
        with pytest.raises(ValueError, match="count"):
            tiny_colorizers[model].suggested_colors(photo, 5, 5, count=0)


# --- 8. samples -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["vae", "cifar_ae"])
def test_colorize_samples_checks_its_count_and_seed_on_every_model(name, tiny_colorizers, photo):
    model = tiny_colorizers[name]
    for n_samples in (0, -2, 2.5):
        with pytest.raises(ValueError, match="n_samples must be an integer of at least 1"):
            model.colorize_samples(photo, n_samples=n_samples)
    for seed in ("1", -1, 1.5):
        with pytest.raises(ValueError, match="seed must be an integer of at least 0"):
            model.colorize_samples(photo, n_samples=2, seed=seed)
    samples = model.colorize_samples(photo, n_samples=2, seed=np.int64(4))
    assert len(samples) == (2 if name == "vae" else 1)
    np.testing.assert_array_equal(samples[0], model.colorize(photo, **({"seed": 4} if name == "vae" else {})))


# --- 3. video frames ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("temporal", [True, False])
def test_a_frame_colorizer_checks_each_frame_as_colorize_checks_a_photo(temporal, tiny_colorizers, photo):
    colorizer = FrameColorizer(tiny_colorizers["cifar_ae"], photo.shape[:2], temporal=temporal)
    with pytest.raises(ValueError, match="expected a uint8 image, got dtype float64"):
        colorizer.colorize(photo / 255.0)
    with pytest.raises(ValueError, match="expected a uint8 image, got dtype uint16"):
        colorizer.colorize(photo.astype(np.uint16) * 257)
    with pytest.raises(ValueError, match=r"got shape \(48, 64, 4\)"):
        colorizer.colorize(np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)]))
    colored = colorizer.colorize(photo[..., :1])   # H×W×1 is gray, as for a photo
    assert colored.rgb.shape == photo.shape
    assert np.abs(lightness(colored.rgb) - lightness(np.repeat(photo[..., :1], 3, 2))).mean() < 1.0   # its own L


# --- 6, 7. colorize_video's arguments ---------------------------------------------------------------------------------

def write_gray_clip(path: Path, frames: int = 4, size=(64, 48)) -> Path:
    container = av.open(str(path), "w")
    stream = container.add_stream("libx264", rate=8, options={"crf": "10"})
    stream.width, stream.height, stream.pix_fmt = *size, "yuv420p"
    for i in range(frames):
        frame = av.VideoFrame.from_ndarray(np.full((size[1], size[0], 3), 60 + 20 * i, np.uint8), format="rgb24")
        frame.pts = i
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))
    container.close()
    return path


@pytest.mark.parametrize("limits, message", [
    ({"max_frames": 0}, "max_frames must be an integer of at least 1"),
    ({"max_frames": -1}, "max_frames must be an integer of at least 1"),
    ({"max_frames": 2.5}, "max_frames must be an integer of at least 1"),
    ({"max_seconds": math.nan}, "max_seconds must be a finite number over 0"),
    ({"max_seconds": 0}, "max_seconds must be a finite number over 0"),
    ({"max_seconds": math.inf}, "max_seconds must be a finite number over 0"),
])
def test_colorize_video_limits_must_be_positive(limits, message, tmp_path, tiny_colorizers):
    source = write_gray_clip(tmp_path / "clip.mp4")
    with pytest.raises(ValueError, match=message):
        colorize_video(source, tmp_path / "out.mp4", tiny_colorizers["cifar_ae"], **limits)
    assert list(tmp_path.iterdir()) == [source]


def test_colorize_video_checks_the_models_options_before_reading_the_clip(tmp_path, tiny_colorizers):
    """A typo failed at the first frame, after the output was begun (here: the clip is not even there)."""
    missing = tmp_path / "missing.mp4"
    with pytest.raises(TypeError, match="unknown option 'tempreature'"):
        colorize_video(missing, tmp_path / "out.mp4", tiny_colorizers["hypercolumn"], tempreature=0.3)
    with pytest.raises(ValueError, match="colorfulness_cap"):
        colorize_video(missing, tmp_path / "out.mp4", tiny_colorizers["hypercolumn"], colorfulness_cap=math.nan)
    with pytest.raises(TypeError, match="model must be a Colorizer"):
        colorize_video(missing, tmp_path / "out.mp4", 3)
    assert list(tmp_path.iterdir()) == []


def test_colorize_video_takes_a_checkpoint_name(tmp_path, installed_tiny_checkpoints, tiny_colorizers):
    source = write_gray_clip(tmp_path / "clip.mp4")
    report = colorize_video(source, tmp_path / "out.mp4", "cifar_ae", max_frames=2)
    assert report.frames == 2 and report.cut_short
    assert (tmp_path / "out.mp4").stat().st_size > 0
    from colorizer import checkpoints

    folder = checkpoints.resolve("cifar_ae")[0].parent  # a checkpoint's path, as the docstring says, not only a name
    assert colorize_video(source, tmp_path / "out2.mp4", Path(folder), max_frames=1).frames == 1
