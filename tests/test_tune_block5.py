"""scripts/tune_vgg_block5.py (run S6): block 5 recomputed from block 4 is VGG16's block 5 until trained."""
import numpy as np
import pytest

from tests.conftest import load_script


@pytest.fixture(scope="module")
def script():
    return load_script("tune_vgg_block5")


def _vgg_blocks_4_and_5(rgb_batch):
    from colorizer.models.layers import VGG16Features

    return [np.asarray(b) for b in VGG16Features(blocks=(4, 5))(rgb_batch)]


def test_block5_from_block4_at_zero_delta_is_vgg16s_block5(script):
    rng = np.random.default_rng(0)
    vgg_input = rng.normal(0.0, 60.0, (2, 64, 48, 3)).astype(np.float32)
    block4, block5 = _vgg_blocks_4_and_5(vgg_input)
    tuned = script.TunedBlock5(0.1)
    got = np.asarray(tuned(block4))
    assert got.shape == block5.shape == (2, 4, 3, 512)
    assert np.abs(block5).mean() > 0.1  # a real activation, not an all-zero map
    np.testing.assert_allclose(got, block5, rtol=1e-4, atol=1e-3 * np.abs(block5).max())
    # The delta is what trains, scaled: a nonzero one moves the output, by scale × its size.
    deltas = tuned.deltas()
    assert len(deltas) == 6 and all(not d.any() for d in deltas)
    tuned.set_deltas([d + 0.01 for d in deltas])
    assert np.abs(np.asarray(tuned(block4)) - block5).mean() > 1e-3 * np.abs(block5).mean()
    assert [v.trainable for pair in tuned.delta for v in pair] == [True] * 6
    assert not any(v.trainable for pair in tuned.base for v in pair)


@pytest.mark.slow
def test_an_untrained_delta_colorizes_as_the_checkpoint_it_starts_from(script, tmp_path):
    """The evaluation path: zero deltas and the shipped decoder's weights give the shipped colors."""
    from colorizer import train
    from colorizer.inference import load
    from skimage import data as skimage_data

    from colorizer.color import to_gray

    block5 = script.TunedBlock5(0.1)
    block5.build((None, None, None, 512))
    np.savez(tmp_path / "block5_delta.npz", *block5.deltas(), scale=0.1)
    train._checkpoint_model("weights/hypercolumn").get_layer("decoder").save_weights(tmp_path / "decoder.weights.h5")
    gray = to_gray(skimage_data.chelsea())  # a real photo: the flagship paints the cat
    shipped = load("weights/hypercolumn").colorize(gray)
    tuned = script.tuned_colorizer(tmp_path).colorize(gray)
    assert np.abs(shipped.astype(float) - gray[..., None]).mean() > 1.0  # the flagship does paint it
    # Block 5 in float32 from bfloat16 block 4 (the shipped encoder runs bfloat16 where it is fast): a few
    # pixels move by a few levels, the picture does not.
    difference = np.abs(tuned.astype(int) - shipped.astype(int))
    assert difference.mean() < 0.1 and difference.max() <= 8, (difference.mean(), difference.max())
