"""colorizer.inference: any image size in, full resolution out with the input's own L; checkpoints made
elsewhere (the CIFAR-10 report's contract) load by inferring their contract."""
from __future__ import annotations

import threading

import keras
import numpy as np
import pytest

import colorizer
from colorizer import color
from colorizer.checkpoints import CheckpointError
from colorizer.inference import DEFAULT_FOREIGN_SIZE, Colorizer, available_checkpoints, infer_contract, load
from conftest import TINY_SIZES, make_photo

NAMES = sorted(TINY_SIZES)

# Output L vs input L. The join puts the input's own L beside the predicted a, b, so only two things
# move L: rounding to uint8 RGB (a fraction of a unit), and gamut clipping, when (L, a, b) lies outside
# sRGB and lab_to_rgb clips a channel, which changes L too. A trained model's muted predictions rarely
# leave the gamut, nor do the tiny checkpoints' (conftest mutes vgg16_ae's saturated untrained head);
# measured here: mean ≤ 0.11, max ≤ 0.46.
L_MEAN_TOLERANCE = 0.5
L_MAX_TOLERANCE = 1.0


@pytest.fixture(scope="module")
def photo_37x53():
    return make_photo(37, 53, seed=5)


def assert_keeps_L(result, image):
    assert result.dtype == np.uint8 and result.shape == (*image.shape[:2], 3)
    error = np.abs(color.luminance(result) - color.luminance(image))
    assert error.mean() < L_MEAN_TOLERANCE and error.max() < L_MAX_TOLERANCE, (error.mean(), error.max())


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("kind", ["gray", "rgb"])
def test_colorize_odd_size_keeps_size_and_luminance(name, kind, tiny_colorizers, photo_37x53):
    model = tiny_colorizers[name]
    image = color.to_gray(photo_37x53) if kind == "gray" else photo_37x53
    assert_keeps_L(model.colorize(image), image)


def test_gray_and_rgb_inputs_give_the_same_colors_when_their_L_agrees(tiny_colorizers):
    # An RGB image is used only through its L: a gray image replicated to RGB gives the same output.
    # (vgg16_ae: the untrained tiny cifar_ae paints one constant gray, which would make this hold for any input.)
    gray = color.to_gray(make_photo(20, 30, seed=6))
    model = tiny_colorizers["vgg16_ae"]
    from_gray = model.colorize(gray)
    assert np.abs(np.diff(from_gray.astype(int), axis=2)).mean() > 1   # colors to compare, not gray
    np.testing.assert_array_equal(from_gray, model.colorize(np.repeat(gray[..., None], 3, -1)))


@pytest.mark.parametrize("shape", [(1, 1), (3, 200), (200, 3), (64, 64, 1)])
def test_colorize_extreme_shapes(shape, tiny_colorizers):
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    result = tiny_colorizers["unet313"].colorize(image)
    assert result.shape == (*shape[:2], 3) and result.dtype == np.uint8


@pytest.mark.parametrize("bad", [np.zeros((8, 8), np.float32), np.zeros((8, 8, 2), np.uint8), np.zeros((0, 5), np.uint8)])
def test_colorize_rejects_bad_arrays(bad, tiny_colorizers):
    with pytest.raises(ValueError):
        tiny_colorizers["cifar_ae"].colorize(bad)


def test_properties(tiny_colorizers):
    assert [n for n, m in tiny_colorizers.items() if m.is_stochastic] == ["vae"]
    assert sorted(n for n, m in tiny_colorizers.items() if m.has_temperature) == ["hypercolumn", "hypercolumn_hints", "unet313"]
    assert [n for n, m in tiny_colorizers.items() if m.takes_hints] == ["hypercolumn_hints"]
    contracts = {n: m.contract for n, m in tiny_colorizers.items()}
    assert contracts == {"hypercolumn": "L_313", "hypercolumn_hints": "L_313", "cifar_ae": "gray01_rgb", "vgg16_ae": "L_ab",
                         "vae": "L_ab", "unet313": "L_313"}
    for name, model in tiny_colorizers.items():
        assert model.working_size == TINY_SIZES[name] and model.name == name
        assert model.param_count == model.model.count_params()


def test_vae_samples_are_seeded_and_differ(tiny_colorizers, photo_37x53):
    vae = tiny_colorizers["vae"]
    first = vae.colorize_samples(photo_37x53, n_samples=3, seed=7)
    again = vae.colorize_samples(photo_37x53, n_samples=3, seed=7)
    assert len(first) == 3
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first[0], first[1])
    for sample in first:
        assert_keeps_L(sample, photo_37x53)
    np.testing.assert_array_equal(vae.colorize(photo_37x53, seed=7), first[0])


def test_deterministic_models_give_one_sample(tiny_colorizers, photo_37x53):
    samples = tiny_colorizers["cifar_ae"].colorize_samples(photo_37x53, n_samples=4)
    assert len(samples) == 1


def test_unet313_temperature_and_regression_head(tiny_colorizers, photo_37x53):
    unet = tiny_colorizers["unet313"]
    vivid = unet.colorize(photo_37x53, temperature=0.05)
    muted = unet.colorize(photo_37x53, temperature=1.0)
    assert not np.array_equal(vivid, muted)
    regression = unet.colorize(photo_37x53, head="regression")
    assert regression.shape == photo_37x53.shape
    assert not np.array_equal(regression, muted)  # its own head (the colors: test_known_colors)


@pytest.mark.parametrize("name", NAMES)
def test_a_misspelt_option_is_refused_by_name(name, tiny_colorizers, photo_37x53):
    """A typo is an error, not a silent default: by colorize, predict_ab and colorize_samples alike."""
    model = tiny_colorizers[name]
    with pytest.raises(TypeError, match="unknown option 'tempreature'"):
        model.colorize(photo_37x53, tempreature=0.1)
    with pytest.raises(TypeError, match="unknown option 'sead'"):
        model.predict_ab(model.prepared(photo_37x53)[1], sead=3)
    with pytest.raises(TypeError, match="unknown option 'tempreature'"):
        model.colorize_samples(photo_37x53, n_samples=2, tempreature=0.1)
    # The common options are taken by every model; where they do not apply, they change nothing.
    plain = model.colorize(photo_37x53)
    common = model.colorize(photo_37x53, temperature=0.38, seed=None if name == "vae" else 3)  # 0.38: the default
    np.testing.assert_array_equal(common, plain)


def test_unknown_decodings_are_refused(tiny_colorizers, photo_37x53):
    with pytest.raises(ValueError, match="unknown head 'vivid'"):
        tiny_colorizers["unet313"].colorize(photo_37x53, head="vivid")
    with pytest.raises(ValueError, match="unknown head 'vivid'"):
        tiny_colorizers["hypercolumn"].colorize(photo_37x53, head="vivid")
    with pytest.raises(ValueError, match="unknown spread 'replaced'"):
        tiny_colorizers["hypercolumn_hints"].colorize(photo_37x53, hints=[{"x": 3, "y": 4, "rgb": [200, 30, 30]}],
                                                      spread="replaced")
    with pytest.raises(ValueError, match="unknown spread 'residual'"):  # an ablation's, not shipped
        tiny_colorizers["hypercolumn_hints"].colorize(photo_37x53, hints=[{"x": 3, "y": 4, "rgb": [200, 30, 30]}],
                                                      spread="residual")
    with pytest.raises(TypeError, match="unknown decoding option 'confidence'"):
        from colorizer.models import hypercolumn_decoding

        hypercolumn_decoding.decode(np.full((2, 2, 313), 1 / 313, np.float32), np.zeros((2, 2, 2), np.float32), confidence=0.5)


def test_timed_colorize(tiny_colorizers, photo_37x53):
    result, seconds, _ = tiny_colorizers["cifar_ae"].timed_colorize(photo_37x53)
    assert result.shape == photo_37x53.shape and seconds > 0
    assert np.array_equal(result, tiny_colorizers["cifar_ae"].colorize(photo_37x53))


def test_timed_colorize_says_when_it_was_the_first_photo_of_its_shape(tiny_checkpoints):
    """The first photo a model runs at a network input shape pays for getting the network ready (a trace of that
    shape): the app says so beside its time, which a shared result otherwise shows every visitor as the speed."""
    from colorizer.inference import load

    square, flagship = load(tiny_checkpoints["cifar_ae"]), load(tiny_checkpoints["hypercolumn"])  # fresh ones
    assert square.timed_colorize(make_photo(37, 53, seed=1)).first_of_shape
    assert not square.timed_colorize(make_photo(37, 53, seed=2)).first_of_shape
    assert not square.timed_colorize(make_photo(90, 20, seed=3)).first_of_shape  # its square: the same shape
    assert flagship.timed_colorize(make_photo(30, 40, seed=4)).first_of_shape
    assert not flagship.timed_colorize(make_photo(60, 80, seed=5)).first_of_shape  # the same aspect
    assert flagship.timed_colorize(make_photo(30, 120, seed=6)).first_of_shape  # a wide one: its own shape


def test_colorize_is_thread_safe(tiny_colorizers):
    model = tiny_colorizers["vgg16_ae"]
    images = [make_photo(24 + i, 40, seed=i) for i in range(4)]
    expected = [model.colorize(img) for img in images]
    results = [None] * len(images)

    def work(i):
        results[i] = model.colorize(images[i])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(images))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


# --- loading by name ---------------------------------------------------------------------------

def test_load_by_name_uses_available_checkpoints(installed_tiny_checkpoints):
    assert set(available_checkpoints()) == set(TINY_SIZES)
    model = colorizer.load("vae")
    assert isinstance(model, Colorizer) and model.name == "vae" and model.working_size == TINY_SIZES["vae"]
    assert model.card["architecture"] == "vae"


def test_package_load_takes_what_inference_load_takes(tiny_checkpoints):
    """``colorizer.load`` is ``inference.load`` under a short name: same parameters, nothing it would
    pass on and have refused further down (a keyword is refused before any checkpoint is read)."""
    import inspect

    assert inspect.signature(colorizer.load).parameters.keys() == inspect.signature(load).parameters.keys()
    with pytest.raises(TypeError, match="temperature"):
        colorizer.load(tiny_checkpoints["cifar_ae"], temperature=0.5)


def test_load_architecture_without_checkpoint_says_how_to_train(checkpoint_dir, no_shipped_weights):
    with pytest.raises(CheckpointError, match="python -m colorizer train --arch unet313"):
        load("unet313")


def test_load_model_file_directly_without_card(tiny_checkpoints, tmp_path):
    # A bare .keras file has no card: the size comes from the model's own fixed input (vae at 16, not 64).
    path = tmp_path / "my_vae.keras"
    path.write_bytes((tiny_checkpoints["vae"] / "model.keras").read_bytes())
    model = load(path)
    assert model.name == "my_vae" and model.card == {} and model.working_size == TINY_SIZES["vae"]
    assert model.colorize(make_photo(21, 17)).shape == (21, 17, 3)
    assert load(tiny_checkpoints["cifar_ae"] / "model.keras").name == "cifar_ae"


# --- checkpoints made elsewhere ----------------------------------------------------------------

def cifar_report_model(name="report_autoencoder"):
    """The CIFAR-10 report's contract in plain Keras: gray 32×32×1 in [0, 1] → RGB 32×32×3 sigmoid."""
    keras.utils.set_random_seed(1)
    return keras.Sequential([
        keras.Input((32, 32, 1)),
        keras.layers.Conv2D(8, 3, strides=2, activation="relu", padding="same"),
        keras.layers.Conv2D(16, 3, strides=2, activation="relu", padding="same"),
        keras.layers.Conv2DTranspose(16, 3, strides=2, activation="relu", padding="same"),
        keras.layers.Conv2DTranspose(8, 3, strides=2, activation="relu", padding="same"),
        keras.layers.Conv2D(3, 3, activation="sigmoid", padding="same"),
    ], name=name)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_foreign_cifar_report_checkpoint(suffix, tmp_path):
    path = tmp_path / f"report_model{suffix}"
    cifar_report_model().save(path)
    model = colorizer.load(path)
    assert model.contract == "gray01_rgb" and model.working_size == 32 and model.arch is None
    assert model.name == "report_model"
    for shape in [(37, 53), (100, 61, 3), (8, 8)]:
        image = make_photo(*shape[:2], seed=3) if len(shape) == 3 else color.to_gray(make_photo(*shape, seed=3))
        assert_keeps_L(model.colorize(image), image)


def test_foreign_L_ab_and_L_313_checkpoints(tmp_path):
    for channels, activation, contract in ((2, "tanh", "L_ab"), (313, "softmax", "L_313")):
        inputs = keras.Input((None, None, 1))
        outputs = keras.layers.Conv2D(channels, 3, padding="same", activation=activation)(keras.layers.Conv2D(4, 3, padding="same")(inputs))
        path = tmp_path / f"fcn_{channels}.keras"
        keras.Model(inputs, outputs).save(path)
        model = load(path)
        assert model.contract == contract and model.working_size == DEFAULT_FOREIGN_SIZE
        assert model.has_temperature == (contract == "L_313")
        assert model.colorize(make_photo(30, 20)).shape == (30, 20, 3)


def _constant_model(path, channels: int, activation: str, bias: np.ndarray, size=None):
    """A one-layer model whose output is ``activation(bias)`` everywhere, saved at ``path``: its colors are known."""
    inputs = keras.Input((size, size, 1))
    layer = keras.layers.Conv2D(channels, 1, activation=activation, kernel_initializer="zeros",
                                bias_initializer=keras.initializers.Constant(bias))
    keras.Model(inputs, layer(inputs)).save(path)
    return load(path)


def test_foreign_checkpoints_paint_the_colors_they_predict(tmp_path):
    """Session 34's test audit: a model made elsewhere was checked for its output's shape alone, so a and b swapped,
    RGB read as BGR or the temperature ignored passed every test. Models whose outputs are known constants:
    L_ab of (a, b) = (+44, −22), L_313 sure of two bins 0.7 / 0.3, gray01_rgb of a red."""
    from colorizer import quantize

    gray = np.full((30, 20), 128, np.uint8)
    painted = lambda rgb: color.ab_of_rgb(rgb).reshape(-1, 2).mean(0)

    l_ab = _constant_model(tmp_path / "l_ab.keras", 2, "tanh", np.arctanh([0.4, -0.2]))
    assert l_ab.contract == "L_ab"
    np.testing.assert_allclose(painted(l_ab.colorize(gray)), [44.0, -22.0], atol=1.5)

    likely, other = 200, 40  # two bins far apart: the annealed mean moves between them with T
    logits = np.full(quantize.N_BINS, -30.0, np.float32)
    logits[likely], logits[other] = np.log(0.7), np.log(0.3)
    l_313 = _constant_model(tmp_path / "l_313.keras", quantize.N_BINS, "softmax", logits)
    assert l_313.contract == "L_313" and l_313.has_temperature
    bins = quantize.AB_BINS
    probs = np.zeros((1, quantize.N_BINS), np.float32)
    probs[0, likely], probs[0, other] = 0.7, 0.3
    for temperature in (0.05, 1.0):
        expected = quantize.annealed_mean(probs, temperature)[0]
        np.testing.assert_allclose(painted(l_313.colorize(gray, temperature=temperature)), expected, atol=2.0)
    assert np.linalg.norm(painted(l_313.colorize(gray, temperature=0.05)) - bins[likely]) < 2.0

    rgb = np.array([0.8, 0.2, 0.2])
    red = _constant_model(tmp_path / "red.keras", 3, "sigmoid", np.log(rgb / (1 - rgb)), size=32)  # logit: sigmoid⁻¹
    assert red.contract == "gray01_rgb"
    a, b = painted(red.colorize(gray))
    assert a > 30 and b > 10  # red: magenta-ward a, yellow-ward b (read as BGR it would be blue: b < 0)


@pytest.mark.parametrize("make", ["five_channels", "classifier", "two_inputs"])
def test_checkpoint_that_fits_no_contract_is_refused(make, tmp_path):
    if make == "five_channels":
        model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Conv2D(5, 3, padding="same")])
    elif make == "classifier":
        model = keras.Sequential([keras.Input((32, 32, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    else:
        a, b = keras.Input((32, 32, 1)), keras.Input((32, 32, 1))
        model = keras.Model([a, b], keras.layers.Conv2D(3, 1)(keras.layers.Concatenate()([a, b])))
    path = tmp_path / f"{make}.keras"
    model.save(path)
    with pytest.raises(CheckpointError) as caught:
        load(path)
    message = str(caught.value)
    assert message.startswith(f"{make}.keras: fits no known contract")
    assert "\n" not in message


def test_infer_contract_names_the_model_without_a_source():
    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(3, 1)], name="rgb_in")
    with pytest.raises(CheckpointError, match="^rgb_in: fits no known contract"):
        infer_contract(model)


@pytest.mark.parametrize("shape, expected", [((866, 1155), (144, 208)), ((1155, 866), (208, 144)), ((600, 600), (176, 176)),
                                             ((360, 640), (128, 240)), ((10, 5000), (96, 320))])
def test_aspect_shape_keeps_the_photos_aspect_at_the_pixel_budget(shape, expected):
    """``aspect_shape``: about 176² pixels in the photo's aspect, sides multiples of 16, a portrait the
    landscape shape turned, panoramas clipped at 3:1."""
    from colorizer.inference import aspect_shape

    h, w = aspect_shape(shape, 176)
    assert (h, w) == expected
    assert h % 16 == 0 and w % 16 == 0 and abs(h * w - 176 * 176) <= 0.06 * 176 * 176


def test_aspect_shape_gives_a_small_fixed_set_of_shapes():
    """Every aspect from 1:10 to 10:1 lands on one of 11 shapes (the traced graphs stay few), each
    within 18 % of the photo's aspect between 1:3 and 3:1."""
    from colorizer.inference import aspect_shape

    shapes = set()
    for width in range(100, 10001, 3):
        h, w = aspect_shape((1000, width), 176)
        shapes.add((h, w))
        if 1000 / 3 <= width <= 3000:
            assert abs(np.log((w / h) / (width / 1000))) < np.log(1.18), (width, h, w)
    assert len(shapes) == 11, sorted(shapes)


def test_the_flagship_runs_at_the_photos_aspect_and_others_at_their_square(tiny_colorizers):
    """A wide photo reaches a ``KEEP_ASPECT`` network (the flagship) wide, the same number of pixels as
    its square, and comes back at full size; a second photo of that aspect reuses the graph traced for
    it. Architectures without the flag still get their square."""
    from colorizer.inference import aspect_shape

    flagship = tiny_colorizers["hypercolumn"]
    assert flagship.keep_aspect and not tiny_colorizers["unet313"].keep_aspect
    wide = make_photo(30, 120, seed=3)
    _, x = flagship.prepared(wide)
    assert x.shape == (1, *aspect_shape(wide.shape, TINY_SIZES["hypercolumn"]), 1) == (1, 16, 64, 1)
    assert flagship.colorize(wide).shape == (30, 120, 3)
    graphs = flagship.forward.other_shapes
    assert set(graphs) == {(16, 64)}
    flagship.colorize(make_photo(31, 118, seed=4))  # the same shape at the network
    assert set(graphs) == {(16, 64)} and graphs[(16, 64)].experimental_get_tracing_count() == 1
    _, x_square = tiny_colorizers["unet313"].prepared(wide)
    assert x_square.shape == (1, TINY_SIZES["unet313"], TINY_SIZES["unet313"], 1)


def test_first_of_shape_counts_the_shapes_the_network_ran(tiny_checkpoints):
    """``first_of_shape`` is about the network: a shape it already ran is not first, whoever ran it. The app's
    loading pass (``ui.loaders``: an 8×8 gray photo, at the square working size) traced that shape, yet the first
    photo after it was said to include getting ready (Compare ticked it for every square model). A call that
    failed before the network (a hint for a model without hints) ran nothing: the next one still pays the trace."""
    from colorizer.hints import HintError
    from colorizer.inference import load

    warmed = load(tiny_checkpoints["cifar_ae"])
    warmed.colorize(np.zeros((8, 8), np.uint8))  # as ui.loaders does on loading
    assert not warmed.timed_colorize(make_photo(37, 53, seed=1)).first_of_shape
    failed = load(tiny_checkpoints["cifar_ae"])
    with pytest.raises(HintError):
        failed.timed_colorize(make_photo(37, 53, seed=2), hints=[{"x": 1, "y": 1, "rgb": [255, 0, 0]}])
    assert failed.timed_colorize(make_photo(37, 53, seed=2)).first_of_shape


def test_a_suggestion_pass_counts_as_the_network_running_its_shape(tiny_checkpoints):
    """The hint swatches (``suggested_colors``) run the network at the photo's shape too: the colorizing after them
    does not include getting ready (the review's note: only ``predict_ab`` and ``certainty_and_scene`` counted)."""
    from colorizer.inference import load

    model = load(tiny_checkpoints["hypercolumn_hints"])
    photo = make_photo(30, 40, seed=7)
    assert model.suggested_colors(photo, 10, 10)
    assert not model.timed_colorize(make_photo(30, 40, seed=8)).first_of_shape
