"""Where the model was sure of its colors: hypercolumn_decoding.certainty (the decoding's own weight of its sure
color), Colorizer.certainty, and the Colorize page's summary of it (ui.certainty_ui)."""
from __future__ import annotations

import numpy as np
import pytest

from colorizer import quantize
from colorizer.color import unnormalize_ab
from colorizer.models import hypercolumn, hypercolumn_decoding


def _distribution(peaked_at: int | None) -> np.ndarray:
    """A 313-bin distribution: all mass on one bin (sure), or spread evenly (a guess)."""
    if peaked_at is None:
        return np.full(quantize.N_BINS, 1.0 / quantize.N_BINS, np.float32)
    probs = np.zeros(quantize.N_BINS, np.float32)
    probs[peaked_at] = 1.0
    return probs


def test_certainty_is_one_where_sure_and_zero_where_guessing():
    probs = np.stack([_distribution(40), _distribution(None)])[None]  # 1×2 grid
    certainty = hypercolumn_decoding.certainty(probs)
    assert certainty.shape == (1, 2)
    assert certainty[0, 0] == pytest.approx(1.0) and certainty[0, 1] == pytest.approx(0.0)


def test_certainty_is_the_blends_weight_of_the_sure_color():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (6, 5, quantize.N_BINS)).astype(np.float32)
    probs = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    reg = rng.uniform(-0.3, 0.3, (6, 5, 2)).astype(np.float32)
    w = hypercolumn_decoding.certainty(probs)[..., None]
    annealed = quantize.annealed_mean(probs, hypercolumn.DECODE["temperature"])
    regression = unnormalize_ab(reg) * hypercolumn.DECODE.get("regression_gain", 1.0)
    if hypercolumn.DECODE.get("hue_of_annealed"):  # the unsure color: the regression's chroma, the annealed hue
        unit = annealed / np.linalg.norm(annealed, axis=-1, keepdims=True)
        regression = unit * np.linalg.norm(regression, axis=-1, keepdims=True)
    # decode = w·annealed + (1 − w)·regression, pixel by pixel: the map says where each color came from.
    np.testing.assert_allclose(hypercolumn_decoding.decode(probs, reg), w * annealed + (1 - w) * regression, atol=1e-4)
    assert (w == 0).any() and (w > 0.5).any()  # both kinds of pixel in the test


@pytest.mark.slow
def test_colorizer_certainty_maps_the_network_grid(tiny_colorizers, monkeypatch):
    photo = np.random.default_rng(1).integers(0, 255, (50, 70, 3), dtype=np.uint8)
    flagship = tiny_colorizers["hypercolumn"]
    certainty = flagship.certainty(photo)
    side = flagship.working_size // hypercolumn.OUTPUT_STRIDE
    assert certainty.shape == (side, side) and certainty.dtype == np.float32
    assert np.all((0 <= certainty) & (certainty <= 1))
    _, x = flagship.prepared(photo)  # the map is the decoding's weight on this photo's own distribution
    np.testing.assert_allclose(certainty, hypercolumn_decoding.certainty(np.asarray(flagship.forward(x)["probs"])[0]), atol=1e-6)
    # The map of the decoding on screen: at the slider's temperature, not the default's (session 38's mutation audit:
    # a map that dropped it passed every test).
    probs = np.asarray(flagship.forward(x)["probs"])[0]
    cooler = flagship.certainty(photo, temperature=0.1)
    np.testing.assert_allclose(cooler, hypercolumn_decoding.certainty(probs, 0.1), rtol=1e-4, atol=1e-9)
    # Asked of the decoding itself: an untrained tiny model's map can be 0 at both temperatures (in float32, on a CPU
    # without bfloat16: session 39), so the values alone could not tell the temperature was passed on.
    asked, decoding = [], hypercolumn_decoding.certainty
    # On the architecture module: ``Colorizer`` reads the contract's ``arch.certainty`` there.
    monkeypatch.setattr(hypercolumn, "certainty", lambda probs, temperature=None, **options: (
        asked.append(temperature), decoding(probs, temperature, **options))[1])
    flagship.certainty(photo, temperature=0.1)
    flagship.certainty(photo)
    assert asked == [0.1, None]
    assert flagship.has_certainty and tiny_colorizers["hypercolumn_hints"].has_certainty
    assert tiny_colorizers["hypercolumn_hints"].certainty(photo).shape == (side, side)
    assert not tiny_colorizers["vgg16_ae"].has_certainty and tiny_colorizers["vgg16_ae"].certainty(photo) is None


def test_certainty_summary_and_where_to_go_next():
    from ui.certainty_ui import certainty_summary, guidance_hint

    sure, guessed = certainty_summary(np.array([[1.0, 0.9, 0.1, 0.0]]))
    assert sure == pytest.approx(0.5) and guessed == pytest.approx(0.5)

    class Model:
        takes_hints = False

    assert "hypercolumn_hints" in guidance_hint(Model()) and "reference photo" in guidance_hint(Model())
    Model.takes_hints = True
    assert "click the result" in guidance_hint(Model())


def test_scene_line_says_whether_the_colors_were_toned_down():
    from colorizer.colorfulness_gate import SceneColorfulness
    from ui.certainty_ui import scene_line

    held = scene_line(SceneColorfulness(expected=31.4, painted=52.0, ceiling=40.8))
    assert "guessed from the gray photo: 31 " in held and "came to 52, where up to 41 is allowed: toned down to 41." in held
    # Over the guess but within the allowance: said as such (session 38's text audit: "expected 56 … (65) stay within
    # that" read as a contradiction).
    kept = scene_line(SceneColorfulness(expected=56.0, painted=65.0, ceiling=72.8))
    assert kept.endswith("The model's own colors (65) are kept as they are: up to 73 is allowed.") and "toned" not in kept
