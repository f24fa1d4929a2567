"""The flagship's network on LiteRT (``colorizer.lite``, ``Colorizer.use_lite``, ``export-lite``): same outputs
as TensorFlow at every shape, each under its own name; a flatbuffer that disagrees is refused and TensorFlow kept;
the app only loads a cached flatbuffer, it never converts."""
import os

import numpy as np
import pytest

from colorizer import lite
from colorizer.models import hypercolumn


def _tiny_network():
    """One gray input of any size → two outputs of very different scales, through a strided convolution and
    Keras's bilinear upsampling (the resize the flagship's decoder and Lite0's 2× input go through)."""
    import keras

    keras.utils.set_random_seed(0)
    L = keras.Input((None, None, 1), name="L")
    x = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu")(L)
    x = keras.layers.UpSampling2D(2, interpolation="bilinear")(x)
    small = keras.layers.Conv2D(2, 1, name="small")(x)
    big = keras.layers.Rescaling(100.0, name="big")(keras.layers.Conv2D(3, 1)(x))
    return keras.Model(L, {"small": small, "big": big})


@pytest.fixture(scope="module")
def tiny():
    network = _tiny_network()
    return network, lite.LiteForward(*lite.convert(network), threads=1)


@pytest.mark.parametrize("shape", [(1, 16, 24, 1), (1, 24, 16, 1), (2, 12, 12, 1), (1, 16, 24, 1)])
def test_every_shape_and_name_matches_tensorflow(tiny, shape):
    network, forward = tiny
    x = np.random.default_rng(sum(shape)).uniform(-1, 1, shape).astype(np.float32)
    got, want = forward(x), {k: np.asarray(v) for k, v in network(x, training=False).items()}
    assert set(got) == {"small", "big"}
    for name in want:
        assert got[name].shape == want[name].shape
        np.testing.assert_allclose(got[name], want[name], rtol=1e-4, atol=1e-4 * np.abs(want[name]).max())
    # The two outputs differ by two orders of magnitude: a swap of names could not pass the check above.
    assert np.abs(got["big"]).max() > 10 * np.abs(got["small"]).max()


def test_a_flatbuffer_that_disagrees_is_refused(tiny):
    network, forward = tiny
    probe = np.random.default_rng(0).uniform(-1, 1, (1, 16, 16, 1)).astype(np.float32)

    def off_by_a_little(x):
        outputs = {k: np.asarray(v) for k, v in network(x, training=False).items()}
        outputs["big"] = outputs["big"] * 1.01
        return outputs

    with pytest.raises(lite.LiteError, match="big differs"):
        lite.check(forward, off_by_a_little, probe)
    assert lite.check(forward, lambda x: network(x, training=False), probe) < lite.TOLERANCE


def test_the_cache_is_named_by_the_checkpoint_content(tmp_path, monkeypatch, tiny):
    monkeypatch.setenv("COLORIZER_CACHE_DIR", str(tmp_path / "cache"))
    checkpoint = tmp_path / "mine" / "model.keras"
    checkpoint.parent.mkdir()
    checkpoint.write_bytes(b"one")
    first = lite.cached_path(checkpoint)
    assert first.parent == tmp_path / "cache" / "lite" and first.name.startswith("mine-")
    assert lite.read_names(first) is None  # nothing cached yet
    network, forward = tiny
    blob, names = lite.convert(network)
    lite.save(first, blob, names)
    assert lite.read_names(first) == names == ("big", "small")
    reloaded = lite.LiteForward(first, lite.read_names(first), threads=1)
    x = np.random.default_rng(1).uniform(-1, 1, (1, 8, 8, 1)).astype(np.float32)
    np.testing.assert_array_equal(reloaded(x)["big"], forward(x)["big"])
    checkpoint.write_bytes(b"two")  # retrained: another name, the old file is not found for it
    assert lite.cached_path(checkpoint) != first and lite.read_names(lite.cached_path(checkpoint)) is None
    first.with_suffix(".json").write_text("{not json")
    assert lite.read_names(first) is None
    first.write_bytes(b"not a flatbuffer")
    with pytest.raises(lite.LiteError, match="cannot read"):
        lite.LiteForward(first, names)


def test_when_the_path_applies(monkeypatch):
    monkeypatch.setattr(hypercolumn, "fast_encoder_dtype", lambda: None)
    monkeypatch.setenv("COLORIZER_LITE", "0")
    assert "COLORIZER_LITE=0" in lite.unwanted("hypercolumn")
    monkeypatch.delenv("COLORIZER_LITE")
    assert "TensorFlow only" in lite.unwanted("cifar_ae") and "TensorFlow only" in lite.unwanted(None)
    monkeypatch.setattr(hypercolumn, "fast_encoder_dtype", lambda: "bfloat16")
    assert "bfloat16" in lite.unwanted("hypercolumn")


def test_a_small_model_stays_on_tensorflow(tiny_colorizers):
    colorizer = tiny_colorizers["cifar_ae"]
    assert colorizer.use_lite(wait=True) is None
    assert colorizer.runtime == "TensorFlow" and "TensorFlow only" in colorizer.lite_status


@pytest.mark.slow
@pytest.mark.skipif(hypercolumn.fast_encoder_dtype() is not None or lite.unwanted("hypercolumn") is not None,
                    reason="LiteRT is not used on this host (fast bfloat16, a GPU or COLORIZER_LITE=0)")
def test_the_flagship_colorizes_alike_on_litert(build_tiny_model, tmp_path, monkeypatch):
    """A flagship-architecture checkpoint (its frozen VGG16 and Lite0 real, its decoder untrained): without a
    cached flatbuffer it stays on TensorFlow; ``export_lite`` caches one, and then it switches to LiteRT and
    gives TensorFlow's colors and certainty, at two aspects."""
    from conftest import TINY_SIZES, make_photo, save_tiny_checkpoint

    from colorizer.inference import load

    monkeypatch.setenv("COLORIZER_CACHE_DIR", str(tmp_path / "cache"))
    folder = save_tiny_checkpoint(build_tiny_model("hypercolumn"), tmp_path / "flagship", "flagship", "hypercolumn",
                                  TINY_SIZES["hypercolumn"])
    colorizer, on_tensorflow = load(folder), load(folder)
    photo, wide = make_photo(90, 120, seed=4), make_photo(60, 150, seed=5)
    colorizer.use_lite(wait=True)
    assert colorizer.runtime == "TensorFlow" and "export-lite" in colorizer.lite_status
    path, error = colorizer.export_lite()
    assert path.is_file() and path.parent == tmp_path / "cache" / "lite" and error < lite.TOLERANCE
    colorizer.use_lite(wait=True)
    assert colorizer.runtime == "LiteRT (XNNPACK)" and colorizer.lite_status.startswith("cached flatbuffer"), colorizer.lite_status
    for picture in (photo, wide):  # two aspects: two input shapes on the same flatbuffer
        assert np.abs(np.diff(on_tensorflow.colorize(picture).astype(int), axis=2)).mean() > 3  # colors to compare
        assert np.abs(colorizer.colorize(picture).astype(int) - on_tensorflow.colorize(picture).astype(int)).max() <= 2
        np.testing.assert_allclose(colorizer.certainty(picture), on_tensorflow.certainty(picture), atol=1e-3)


def test_export_lite_names_what_it_cannot_convert(installed_tiny_checkpoints, capsys):
    from colorizer.cli import main

    setting = os.environ.get("COLORIZER_BFLOAT16")
    assert main(["export-lite", "--checkpoint", "cifar_ae"]) == 2
    assert "LiteRT is for hypercolumn checkpoints only" in capsys.readouterr().err
    assert main(["export-lite", "--checkpoint", "no_such_model"]) == 2
    assert "no_such_model" in capsys.readouterr().err
    assert os.environ.get("COLORIZER_BFLOAT16") == setting  # set for the conversion only, then put back


def test_the_colorize_page_names_the_runtime(tiny_colorizers):
    from ui.colorize_ui import model_caption

    assert "on TensorFlow;" in model_caption(tiny_colorizers["cifar_ae"])
