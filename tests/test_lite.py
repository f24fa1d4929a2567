"""The flagship's network on LiteRT (``colorizer.lite``, ``Colorizer.use_lite``, ``export-lite``): same outputs
as TensorFlow at every shape, each under its own name; a flatbuffer that disagrees is refused and TensorFlow kept;
the app never converts: it fills a weight-free template with the weights it has loaded."""
import json
import os

import numpy as np
import pytest

from colorizer import lite
from colorizer.models import hypercolumn


def _tiny_network(seed: int = 0, channels: int = 16):
    """One gray input of any size → two outputs of very different scales, through a strided convolution and
    Keras's bilinear upsampling (the resize the flagship's decoder and Lite0's 2× input go through). Every
    layer named, so that two builds have the same weight paths."""
    import keras

    keras.utils.set_random_seed(seed)
    L = keras.Input((None, None, 1), name="L")
    x = keras.layers.Conv2D(channels, 3, strides=2, padding="same", activation="relu", name="stem")(L)
    x = keras.layers.UpSampling2D(2, interpolation="bilinear", name="up")(x)
    small = keras.layers.Conv2D(2, 1, name="small")(x)
    # Large weights, not a Rescaling layer after the convolution: the converter would fold that into the kernel.
    big = keras.layers.Conv2D(3, 1, name="big_conv", kernel_initializer=keras.initializers.RandomNormal(stddev=50.0))(x)
    return keras.Model(L, {"small": small, "big": big})  # output names are the dict's keys


def _on_cpu(network, x):
    """TensorFlow's outputs computed on the CPU, as LiteRT's are (a GPU's TF32 matmuls differ by ~1e-3)."""
    import tensorflow as tf

    with tf.device("/CPU:0"):
        return {k: np.asarray(v) for k, v in network(x, training=False).items()}


@pytest.fixture(scope="module")
def tiny():
    network = _tiny_network()
    return network, lite.LiteForward(*lite.convert(network), threads=1)


@pytest.mark.parametrize("shape", [(1, 16, 24, 1), (1, 24, 16, 1), (2, 12, 12, 1), (1, 16, 24, 1)])
def test_every_shape_and_name_matches_tensorflow(tiny, shape):
    network, forward = tiny
    x = np.random.default_rng(sum(shape)).uniform(-1, 1, shape).astype(np.float32)
    got, want = forward(x), _on_cpu(network, x)
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
        outputs = _on_cpu(network, x)
        outputs["big"] = outputs["big"] * 1.01
        return outputs

    with pytest.raises(lite.LiteError, match="big differs"):
        lite.check(forward, off_by_a_little, probe)
    assert lite.check(forward, lambda x: _on_cpu(network, x), probe) < lite.TOLERANCE


def test_a_template_is_filled_with_the_weights_of_the_network_it_is_given(tiny, tmp_path):
    network, _ = tiny
    blob, names = lite.convert(network)
    assert lite.fill_template(tmp_path, network) is None  # no template here
    template, index = lite.make_template(blob, names, network)
    lite.save_template(tmp_path, template, index)
    assert {e["path"] for e in index["buffers"]} >= {"stem/kernel", "big_conv/kernel"}
    assert all(not any(template_bytes) for template_bytes in _indexed_spans(template, index))  # zeroed
    assert lite.fill_template(tmp_path, network) == (blob, names)  # the same bytes back
    # Another draw of the same network: its own weights go in, and LiteRT then gives its outputs, not the first's.
    other = _tiny_network(seed=7)
    filled = lite.LiteForward(*lite.fill_template(tmp_path, other), threads=1)
    x = np.random.default_rng(3).uniform(-1, 1, (1, 16, 20, 1)).astype(np.float32)
    assert lite.check(filled, lambda v: _on_cpu(other, v), x) < lite.TOLERANCE
    with pytest.raises(lite.LiteError):
        lite.check(filled, lambda v: _on_cpu(network, v), x)


def _indexed_spans(template: bytes, index: dict) -> list[bytes]:
    import gzip

    raw = gzip.decompress(template)
    return [raw[e["offset"]:e["offset"] + e["length"]] for e in index["buffers"]]


def test_a_template_that_does_not_fit_is_refused(tiny, tmp_path):
    network, _ = tiny
    lite.save_template(tmp_path, *lite.make_template(*lite.convert(network), network))
    with pytest.raises(lite.LiteError, match="does not fit"):
        lite.fill_template(tmp_path, _tiny_network(channels=8))  # same names, other shapes
    index = json.loads((tmp_path / lite.INDEX).read_text())
    index["buffers"][0]["layout"] = "sideways"
    (tmp_path / lite.INDEX).write_text(json.dumps(index))
    with pytest.raises(lite.LiteError, match="malformed"):
        lite.fill_template(tmp_path, network)
    (tmp_path / lite.TEMPLATE).write_bytes(b"not gzip")
    with pytest.raises(lite.LiteError, match="cannot read"):
        lite.fill_template(tmp_path, network)


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
def test_the_flagship_colorizes_alike_on_litert(build_tiny_model, tmp_path, monkeypatch):
    """A flagship-architecture checkpoint (its frozen VGG16 and Lite0 real, its decoder untrained): without a
    template it stays on TensorFlow; ``export_lite`` writes one beside it, and a fresh load then switches to
    LiteRT, filled from its own weights, and gives TensorFlow's colors and certainty, at two aspects.
    On a CPU with fast bfloat16 the app keeps TensorFlow, so the test runs there as an AVX2-only host would
    (``COLORIZER_BFLOAT16=0``): the LiteRT path is checked on every host that can run it."""
    from conftest import TINY_SIZES, make_photo, save_tiny_checkpoint

    monkeypatch.setenv("COLORIZER_BFLOAT16", "0")
    if lite.unwanted("hypercolumn") is not None:
        pytest.skip(f"LiteRT is not used on this host: {lite.unwanted('hypercolumn')}")

    from colorizer.inference import load

    folder = save_tiny_checkpoint(build_tiny_model("hypercolumn"), tmp_path / "flagship", "flagship", "hypercolumn",
                                  TINY_SIZES["hypercolumn"])
    on_tensorflow = load(folder)
    on_tensorflow.use_lite(wait=True)
    assert on_tensorflow.runtime == "TensorFlow" and "export-lite" in on_tensorflow.lite_status
    path, error, index = on_tensorflow.export_lite()
    assert path == folder / lite.TEMPLATE and error < lite.TOLERANCE and index["verbatim_bytes"] < 64_000
    assert path.stat().st_size < index["size"] / 50  # the weights are not in it: the VGG16's alone are 59 MB
    colorizer = load(folder)
    colorizer.use_lite(wait=True)
    assert colorizer.runtime == "LiteRT (XNNPACK)" and colorizer.lite_status.startswith("filled from"), colorizer.lite_status
    for picture in (make_photo(90, 120, seed=4), make_photo(60, 150, seed=5)):  # two input shapes, one flatbuffer
        expected = on_tensorflow.colorize(picture).astype(int)
        assert np.abs(np.diff(expected, axis=2)).mean() > 3  # colors to compare, not gray
        assert np.abs(colorizer.colorize(picture).astype(int) - expected).max() <= 2
        np.testing.assert_allclose(colorizer.certainty(picture), on_tensorflow.certainty(picture), atol=1e-3)


def test_export_lite_names_what_it_cannot_convert(installed_tiny_checkpoints, capsys, monkeypatch):
    from colorizer import cli
    from colorizer.cli import main

    setting = os.environ.get("COLORIZER_BFLOAT16")
    assert main(["export-lite", "--checkpoint", "cifar_ae"]) == 2
    assert "LiteRT is for hypercolumn checkpoints only" in capsys.readouterr().err
    # A misspelt one is said before anything loads (session 39: after TensorFlow's seconds).
    monkeypatch.setattr(cli, "_load_model", lambda args: pytest.fail("loaded a model for a checkpoint there is not"))
    assert main(["export-lite", "--checkpoint", "no_such_model"]) == 2
    assert "no_such_model" in capsys.readouterr().err
    assert os.environ.get("COLORIZER_BFLOAT16") == setting  # set for the conversion only, then put back


def test_the_colorize_page_names_the_runtime(tiny_colorizers):
    from ui.colorize_ui import model_caption

    assert "on TensorFlow;" in model_caption(tiny_colorizers["cifar_ae"])


def test_the_app_switches_shipped_checkpoints_only(tiny_checkpoints, monkeypatch):
    """A shipped model serves every visitor: the app asks it to switch; a visitor's own checkpoint is left alone."""
    from colorizer import checkpoints
    from colorizer.inference import Colorizer
    from ui import loaders

    asked = []
    monkeypatch.setattr(Colorizer, "use_lite", lambda self, wait=False, convert=False: asked.append(self.name))
    folder = tiny_checkpoints["cifar_ae"]
    loaders._colorizer_for("cifar_ae", str(folder), 0, 0)
    assert asked == []
    monkeypatch.setattr(checkpoints, "WEIGHTS_DIR", folder.parent)
    loaders._colorizer_for("cifar_ae", str(folder), 0, 0)
    assert len(asked) == 1


class _Outputs:
    """A stand-in for ``LiteForward``: fixed outputs under their names."""

    def __init__(self, **outputs):
        self.outputs, self.names = outputs, tuple(outputs)

    def __call__(self, x):
        return self.outputs


def test_check_measures_against_a_scale_of_at_least_one_and_refuses_nan_and_other_shapes():
    """``check`` on fixed outputs: a difference of 5e-7 on outputs near 1e-6 passes (each output's scale is at least
    1, so near-zero outputs are not judged relative to themselves); a NaN is no agreement; nor is another shape."""
    probe = np.zeros((1, 4, 4, 1), np.float32)
    tiny = np.full(3, 1e-6, np.float32)
    assert lite.check(_Outputs(t=tiny), lambda x: {"t": tiny + np.float32(5e-7)}, probe) == pytest.approx(5e-7, rel=1e-3)
    with pytest.raises(lite.LiteError, match="t differs from TensorFlow's by nan"):
        lite.check(_Outputs(t=np.array([np.nan, 0, 0], np.float32)), lambda x: {"t": np.zeros(3, np.float32)}, probe)
    with pytest.raises(lite.LiteError, match=r"LiteRT's t has shape \(2,\), TensorFlow's \(3,\)"):
        lite.check(_Outputs(t=np.zeros(2, np.float32)), lambda x: {"t": np.zeros(3, np.float32)}, probe)


def test_a_template_whose_size_is_not_its_indexs_is_refused(tiny, tmp_path):
    network, _ = tiny
    lite.save_template(tmp_path, *lite.make_template(*lite.convert(network), network))
    index = json.loads((tmp_path / lite.INDEX).read_text())
    index["size"] += 1  # a new template beside an old index
    (tmp_path / lite.INDEX).write_text(json.dumps(index))
    with pytest.raises(lite.LiteError, match=f"its index says {index['size']}"):
        lite.fill_template(tmp_path, network)
    index["size"] -= 1
    entry = index["buffers"][0]
    entry["offset"] = index["size"] - entry["length"] + 1  # its weight would run one byte past the flatbuffer's end
    (tmp_path / lite.INDEX).write_text(json.dumps(index))
    with pytest.raises(lite.LiteError, match=f"its buffer {entry['length']} at {entry['offset']}"):
        lite.fill_template(tmp_path, network)


@pytest.mark.slow
def test_an_interpreter_prints_nothing_on_stderr():
    """LiteRT prints "INFO: Created TensorFlow Lite XNNPACK delegate for CPU." once a process, as its first interpreter
    first allocates (``export-lite``'s stderr, which is for its errors, held it): kept off stderr. In a process of
    its own, the line's only chance (this file's other tests have made interpreters already)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    script = ("import sys, numpy as np\nsys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
              "from colorizer.quiet_tensorflow import quiet_tensorflow\nquiet_tensorflow()\n"
              "from colorizer import lite\nfrom test_lite import _tiny_network\n"
              "forward = lite.LiteForward(*lite.convert(_tiny_network()), threads=1)\n"
              "out = forward(np.zeros((1, 16, 24, 1), np.float32))\nprint(sorted(out))\n")
    result = subprocess.run([sys.executable, "-c", script, str(root), str(root / "tests")], capture_output=True,
                            text=True, timeout=120, cwd=root)
    assert result.returncode == 0 and result.stdout.strip() == "['big', 'small']", result.stderr
    assert "XNNPACK" not in result.stderr, result.stderr