"""Colors in, colors out: a stub network with a known constant output must give exactly that a, b.

Every other test of a model checks shapes and luminance; these check the colors themselves, for
each output contract the app runs (RGB, ab, 313 bins, and the flagship's blended decoding with its
edge-guided upsampling). A model whose colors were dropped (gray), swapped (a ↔ b) or left
unscaled (ab_norm instead of ab) fails here.
"""
from __future__ import annotations

import keras
import numpy as np
import pytest

from colorizer import quantize
from colorizer.color import AB_NORM, ab_of_rgb, rgb_to_lab
from colorizer.inference import Colorizer
from colorizer.models import hypercolumn, hypercolumn_decoding
from conftest import TINY_SIZES, load_script

# uint8 rounding of the output moves a, b by at most about one unit; a swap or a scale error by tens.
AB_TOLERANCE = 1.5
# A mid-gray input whose L (≈ 54) leaves room for the test colors inside the sRGB gamut.
GRAY_INPUT = np.full((23, 31), 128, np.uint8)


def constant_network(channels: int, value: np.ndarray, activation=None, size: int = 16) -> keras.Model:
    """L (or gray) S×S×1 → S×S×``channels``, every pixel ``activation(value)`` whatever the input."""
    inputs = keras.Input((size, size, 1))
    layer = keras.layers.Conv2D(channels, 1, activation=activation, kernel_initializer="zeros",
                                bias_initializer=keras.initializers.Constant(value))
    return keras.Model(inputs, layer(inputs))


def output_ab(image: np.ndarray) -> np.ndarray:
    """Mean (a, b) of a uint8 RGB image."""
    return rgb_to_lab(image)[..., 1:].reshape(-1, 2).mean(axis=0)


def assert_ab(image: np.ndarray, expected) -> None:
    got = output_ab(image)
    np.testing.assert_allclose(got, expected, atol=AB_TOLERANCE, err_msg=f"a, b = {got}, expected {expected}")


def test_L_ab_contract_gives_the_networks_ab_unscaled_and_unswapped():
    target = np.array([25.0, -35.0], np.float32)  # a ≠ b, opposite signs: a swap cannot pass
    network = constant_network(2, target / AB_NORM)
    model = Colorizer(name="stub", model=network, contract="L_ab", working_size=16)
    assert_ab(model.colorize(GRAY_INPUT), target)


def test_gray01_rgb_contract_gives_the_ab_of_the_networks_rgb():
    rgb = np.array([0.62, 0.45, 0.30], np.float32)  # a warm brown: ab ≈ (8, 25)
    network = constant_network(3, rgb)
    model = Colorizer(name="stub", model=network, contract="gray01_rgb", working_size=16)
    expected = ab_of_rgb(rgb.reshape(1, 1, 3))[0, 0]
    assert np.hypot(*expected) > 15  # a color worth checking, not near-gray
    assert_ab(model.colorize(GRAY_INPUT), expected)


@pytest.mark.parametrize("temperature", [0.38, 1.0])
def test_L_313_contract_gives_the_bin_its_distribution_is_sure_of(temperature):
    k = int(quantize.nearest_bin(np.array([[-30.0, 40.0]]))[0])  # a green-yellow bin
    logits = np.full(quantize.N_BINS, -30.0, np.float32)
    logits[k] = 30.0
    network = constant_network(quantize.N_BINS, logits, activation="softmax")
    model = Colorizer(name="stub", model=network, contract="L_313", working_size=16)
    assert_ab(model.colorize(GRAY_INPUT, temperature=temperature), quantize.AB_BINS[k])


# Two bins, 3:1: the annealed mean lies between them, nearer the likelier one the lower the temperature
# (T = 1: the plain mean, 15 units from either end here; T = 0.1: within half a unit of the likelier bin).
# A sure distribution (one bin) gives that bin at any temperature: it cannot tell whether T reached the decoding.
LIKELY_AB, UNLIKELY_AB = [20.0, 50.0], [-40.0, -10.0]


def two_bin_logits() -> tuple[np.ndarray, np.ndarray]:
    """313 logits whose softmax is 3/4 on LIKELY_AB's bin and 1/4 on UNLIKELY_AB's (the rest ~e-26) → (logits, probs)."""
    bins = quantize.nearest_bin(np.array([LIKELY_AB, UNLIKELY_AB], np.float32))
    logits = np.full(quantize.N_BINS, -30.0, np.float32)
    logits[bins] = [30.0 + np.log(3.0), 30.0]
    probs = np.exp(logits - logits.max())
    return logits, (probs / probs.sum()).astype(np.float32)


def assert_follows_the_temperature(colorize, probs: np.ndarray) -> None:
    """``colorize(temperature)`` of a two-bin distribution gives its annealed mean at that temperature."""
    expected = {t: quantize.annealed_mean(probs, t) for t in (0.1, 1.0)}
    assert np.linalg.norm(expected[0.1] - expected[1.0]) > 15  # temperatures far enough apart to tell
    for temperature, ab in expected.items():
        assert_ab(colorize(temperature), ab)


def test_L_313_contract_decodes_at_the_temperature_asked_for():
    logits, probs = two_bin_logits()
    network = constant_network(quantize.N_BINS, logits, activation="softmax")
    model = Colorizer(name="stub", model=network, contract="L_313", working_size=16)
    assert_follows_the_temperature(lambda t: model.colorize(GRAY_INPUT, temperature=t), probs)


def with_constant_outputs(arch, bin_ab, regression_ab) -> tuple[Colorizer, np.ndarray]:
    """A tiny 313-bin model of ``arch`` (a module) whose decoder outputs one sure bin (``bin_ab``) and a constant
    regression → (its Colorizer, the bin's ab)."""
    size = TINY_SIZES[arch.NAME]
    keras.utils.set_random_seed(0)
    model = arch.build(size)
    decoder = model.get_layer("decoder")
    k = int(quantize.nearest_bin(np.asarray([bin_ab], np.float32))[0])
    probs, ab_reg = decoder.get_layer("probs"), decoder.get_layer("ab_reg")
    probs.kernel.assign(np.zeros(probs.kernel.shape, np.float32))
    bias = np.full(quantize.N_BINS, -30.0, np.float32)
    bias[k] = 30.0
    probs.bias.assign(bias)
    ab_reg.kernel.assign(np.zeros(ab_reg.kernel.shape, np.float32))
    ab_reg.bias.assign(np.arctanh(np.asarray(regression_ab, np.float32) / AB_NORM))
    card = {"architecture": arch.NAME, "working_size": size}
    return Colorizer(name="stub", model=model, contract="L_313", working_size=size, card=card), quantize.AB_BINS[k]


def flagship_with_constant_outputs(bin_ab, regression_ab) -> tuple[Colorizer, np.ndarray]:
    return with_constant_outputs(hypercolumn, bin_ab, regression_ab)


def test_flagship_sure_distribution_gives_its_bin_through_the_guided_upsampling():
    model, bin_ab = flagship_with_constant_outputs([20.0, 50.0], [-10.0, 5.0])
    # A sure distribution is confident everywhere: the blend takes the annealed mean, i.e. the bin.
    assert_ab(model.colorize(GRAY_INPUT), bin_ab)
    assert_ab(model.colorize(GRAY_INPUT, head="annealed"), bin_ab)


@pytest.mark.parametrize("arch_name", ["hypercolumn", "hypercolumn_hints", "unet313"])
@pytest.mark.slow
def test_313_bin_architectures_decode_at_the_temperature_asked_for(arch_name):
    """The Colorize page's vividness slider: ``colorize(temperature=T)`` reaches each architecture's decoding
    (the classification head's annealed mean; the flagship's blend caps colors, so its "annealed" head)."""
    from colorizer.models import ARCHITECTURES

    arch = ARCHITECTURES[arch_name]
    model, _ = with_constant_outputs(arch, LIKELY_AB, [0.0, 0.0])
    logits, probs = two_bin_logits()
    model.model.get_layer("decoder").get_layer("probs").bias.assign(logits)
    head = {} if arch_name == "unet313" else {"head": "annealed"}
    assert_follows_the_temperature(lambda t: model.colorize(GRAY_INPUT, temperature=t, **head), probs)


def test_flagship_regression_head_gives_its_ab():
    model, _ = flagship_with_constant_outputs([20.0, 50.0], [-10.0, 25.0])
    assert_ab(model.colorize(GRAY_INPUT, head="regression"), [-10.0, 25.0])


def test_unet313_heads_give_their_own_ab():
    """The seed U-Net's two heads: the default takes its sure bin, ``head="regression"`` the regression's
    color (a ≠ b, opposite signs), each through the U-Net's own outputs, not the flagship's decoding."""
    from colorizer.models import unet313

    unet, bin_ab = with_constant_outputs(unet313, [20.0, 50.0], [-10.0, 25.0])
    assert_ab(unet.colorize(GRAY_INPUT), bin_ab)
    assert_ab(unet.colorize(GRAY_INPUT, head="regression"), [-10.0, 25.0])


def test_flagship_blend_falls_back_to_the_regression_color_where_unsure():
    """A flat distribution is unsure everywhere: the blend gives the regression head's color, scaled by
    the regression gain; the shipped decoding keeps that chroma in the classification head's hue."""
    probs = np.full((4, 4, quantize.N_BINS), 1.0 / quantize.N_BINS, np.float32)
    regression = np.tile(np.array([-10.0, 25.0], np.float32) / AB_NORM, (4, 4, 1))
    gain = hypercolumn.DECODE["regression_gain"]
    plain = {"hue_of_annealed": False}
    np.testing.assert_allclose(hypercolumn_decoding.decode(probs, regression, **plain), np.tile([-10.0 * gain, 25.0 * gain], (4, 4, 1)), atol=1e-4)
    np.testing.assert_allclose(hypercolumn_decoding.decode(probs, regression, regression_gain=1.0, **plain), np.tile([-10.0, 25.0], (4, 4, 1)), atol=1e-4)
    # Shipped: the regression's chroma (× gain), in the annealed mean's hue.
    assert hypercolumn.DECODE["hue_of_annealed"]
    annealed = quantize.annealed_mean(probs, hypercolumn.DECODE["temperature"])
    shipped = hypercolumn_decoding.decode(probs, regression)
    np.testing.assert_allclose(np.linalg.norm(shipped, axis=-1), np.hypot(10.0, 25.0) * gain, rtol=1e-4)
    np.testing.assert_allclose(shipped / np.linalg.norm(shipped, axis=-1, keepdims=True),
                               annealed / np.linalg.norm(annealed, axis=-1, keepdims=True), atol=1e-4)
    # ...and a sure one gives the annealed mean, whatever the regression says.
    sure = np.zeros_like(probs)
    k = int(quantize.nearest_bin(np.array([[40.0, 10.0]]))[0])
    sure[..., k] = 1.0
    np.testing.assert_allclose(hypercolumn_decoding.decode(sure, regression), np.tile(quantize.AB_BINS[k], (4, 4, 1)), atol=1e-3)


def test_flagship_unknown_head_is_refused():
    probs = np.full((2, 2, quantize.N_BINS), 1.0 / quantize.N_BINS, np.float32)
    with pytest.raises(ValueError, match="unknown head 'vivid'; known: blend, annealed, regression"):
        hypercolumn_decoding.decode(probs, np.zeros((2, 2, 2), np.float32), head="vivid")
    # The ablations' options are the tuning script's, not the shipped model's.
    with pytest.raises(TypeError, match="unknown decoding option 'chroma_gain'"):
        hypercolumn_decoding.decode(probs, np.zeros((2, 2, 2), np.float32), chroma_gain=1.2)


def ablation_decodings():
    """scripts/ablation_decodings.py, the decodings tried and not shipped (for scripts/tune_flagship.py)."""
    return load_script("ablation_decodings")


def test_ablation_decodings_without_options_are_the_shipped_ones():
    ablation = ablation_decodings()
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(quantize.N_BINS, 0.05), size=(3, 4)).astype(np.float32)
    regression = rng.uniform(-0.4, 0.4, (3, 4, 2)).astype(np.float32)
    for head in ("blend", "annealed", "regression"):
        np.testing.assert_array_equal(ablation.decode(probs, regression, head=head), hypercolumn_decoding.decode(probs, regression, head=head))
    np.testing.assert_array_equal(ablation.decode(probs, regression, temperature=0.6, regression_gain=1.0),
                                  hypercolumn_decoding.decode(probs, regression, temperature=0.6, regression_gain=1.0))
    # "muted": the annealed mean, its chroma scaled by confidence from the floor up (a flat distribution: the floor).
    flat = np.full((2, 2, quantize.N_BINS), 1.0 / quantize.N_BINS, np.float32)
    annealed = quantize.annealed_mean(flat, hypercolumn.DECODE["temperature"])
    np.testing.assert_allclose(ablation.decode(flat, regression[:2, :2], head="muted", chroma_floor=0.4), 0.4 * annealed, atol=1e-5)


def test_saturation_options_of_the_flagship_decoding():
    """The decode options of docs/results.md's saturation study, on known values."""
    ablation = ablation_decodings()
    same, opposite, square = np.array([[10.0, 20.0]]), np.array([[-10.0, -20.0]]), np.array([[20.0, -10.0]])
    np.testing.assert_allclose(ablation.hue_agreement(same, 2 * same), [[1.0]], atol=1e-6)
    np.testing.assert_allclose(ablation.hue_agreement(same, opposite), [[0.0]], atol=1e-6)
    np.testing.assert_allclose(ablation.hue_agreement(same, square), [[0.0]], atol=1e-6)
    # All the mass on one bin: the expected chroma is that bin's; restoring all of it keeps the hue.
    k = int(quantize.nearest_bin(np.array([[40.0, 10.0]]))[0])
    probs = np.zeros((1, quantize.N_BINS), np.float32)
    probs[0, k] = 1.0
    muted = np.array([[4.0, 3.0]], np.float32)  # chroma 5, hue atan2(3, 4)
    restored = ablation.restore_chroma(muted, probs, 1.0)
    np.testing.assert_allclose(np.linalg.norm(restored), np.linalg.norm(quantize.AB_BINS[k]), rtol=1e-5)
    np.testing.assert_allclose(restored / np.linalg.norm(restored), muted / 5.0, atol=1e-6)
    np.testing.assert_allclose(ablation.restore_chroma(muted, probs, 0.0), muted)
    # A chroma gain scales the blend's result: unsure everywhere, so the (ungained) regression color × 1.2.
    flat = np.full((2, 2, quantize.N_BINS), 1.0 / quantize.N_BINS, np.float32)
    regression = np.tile(np.array([-10.0, 25.0], np.float32) / AB_NORM, (2, 2, 1))
    np.testing.assert_allclose(ablation.decode(flat, regression, regression_gain=1.0, chroma_gain=1.2, hue_of_annealed=False),
                               np.tile([-12.0, 30.0], (2, 2, 1)), atol=1e-4)


def test_tune_decoding_averages_an_ensembles_colors_and_keeps_the_first_ones_gate():
    """scripts/tune_decoding.py --ensemble: the checkpoints' probabilities and regressions averaged, every
    other output (the colorfulness gate's prediction) the first checkpoint's."""
    from types import SimpleNamespace

    module = load_script("tune_decoding")
    rng = np.random.default_rng(0)
    outputs = [{"probs": rng.dirichlet(np.ones(quantize.N_BINS), (1, 2, 2)), "ab_reg": rng.uniform(-1, 1, (1, 2, 2, 2)),
                "colorfulness": np.array([10.0 * (i + 1)])} for i in range(3)]
    first, *members = (SimpleNamespace(forward=lambda x, o=o: o) for o in outputs)
    averaged = module.averaged_forward(first, members)(np.zeros((1, 8, 8, 1)))
    np.testing.assert_allclose(averaged["probs"], np.mean([o["probs"] for o in outputs], axis=0))
    np.testing.assert_allclose(averaged["ab_reg"], (outputs[0]["ab_reg"] + outputs[1]["ab_reg"] + outputs[2]["ab_reg"]) / 3)
    np.testing.assert_allclose(averaged["probs"].sum(-1), 1.0)
    assert averaged["colorfulness"][0] == 10.0 and outputs[0]["probs"] is not averaged["probs"]


def test_mirror_averaging_cancels_what_depends_on_position_and_keeps_what_the_photo_shows():
    """``predict_ab(..., mirror=True)`` (the flagship's test-time flip averaging): a network that paints the
    left half red and the right half blue *of what it sees* gives one color everywhere once averaged with
    its mirror image, flipped back; one that paints by the photo's content (a bright pixel) is unchanged;
    the other outputs (the gate's prediction) are the photo's own."""
    from colorizer.color import AB_NORM
    from colorizer.models import hypercolumn_decoding

    red, blue = np.array([0.5, 0.3]), np.array([-0.2, -0.6])
    flat = lambda x: np.full((*x.shape[:3], quantize.N_BINS), 1.0 / quantize.N_BINS)  # noqa: E731
    calls = []

    def by_position(x):  # left columns red, right columns blue, whatever the photo
        calls.append(x.copy())
        w = x.shape[2]
        ab = np.where(np.arange(w)[None, None, :, None] < w // 2, red, blue) * np.ones((*x.shape[:3], 2))
        return {"probs": flat(x), "ab_reg": ab, "colorfulness": np.array([7.0 * len(calls)])}

    photo = np.zeros((1, 2, 4, 1))
    photo[0, 0, 0] = 1.0  # one bright pixel, top left
    one_view = hypercolumn_decoding.predict_ab(by_position, photo, head="regression")
    np.testing.assert_allclose(one_view[0, 0, 0], red * AB_NORM, rtol=1e-6)
    calls.clear()
    both = hypercolumn_decoding.predict_ab(by_position, photo, head="regression", mirror=True)
    np.testing.assert_allclose(both, np.broadcast_to((red + blue) / 2 * AB_NORM, (1, 2, 4, 2)), rtol=1e-6)
    assert len(calls) == 2 and np.array_equal(calls[1], photo[:, :, ::-1])  # the second pass saw the mirror

    def by_content(x):  # red where the photo is bright, blue elsewhere
        return {"probs": flat(x), "ab_reg": np.where(x > 0.5, red, blue), "colorfulness": np.array([7.0])}

    averaged = hypercolumn_decoding.averaged_with_mirror(by_content(photo), by_content(photo[:, :, ::-1]))
    np.testing.assert_allclose(averaged["ab_reg"], by_content(photo)["ab_reg"])
    own, mirrored = {**by_content(photo), "colorfulness": np.array([3.0])}, {**by_content(photo), "colorfulness": np.array([9.0])}
    assert hypercolumn_decoding.averaged_with_mirror(own, mirrored)["colorfulness"][0] == 3.0  # the photo's gate, not the mirror's
