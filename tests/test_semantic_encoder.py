"""The semantic encoder: EfficientNet-Lite0's ImageNet weights read without torch (``colorizer.torch_state``),
ported to Keras (``colorizer.models.efficientnet_lite``), and joined to the flagship's decoder.

The port is checked by what it is for: from a gray photo's L alone it names real photos as ImageNet
does (a cat, a coffee cup). A wrong padding, a swapped kernel axis or an unfolded batch norm each
break that."""
from __future__ import annotations

import io
import pickle
import struct

import keras
import numpy as np
import pytest
import skimage.data

from colorizer.color import normalize_l, rgb_to_lab
from colorizer.models import hypercolumn
from colorizer.models.efficientnet_lite import EfficientNetLite0Features, lite0_arrays, lite0_weights_path
from colorizer.torch_state import load_state_dict

CATS = {281, 282, 283, 284, 285}      # tabby, tiger cat, Persian, Siamese, Egyptian cat
COFFEE = {967, 968, 504}              # espresso, cup, coffee mug


def _imagenet_top5(rgb: np.ndarray) -> set[int]:
    """Top-5 ImageNet classes the ported Lite0 gives a photo's L at 224×224 (its head and classifier in numpy)."""
    import cv2

    small = cv2.resize(rgb, (224, 224), interpolation=cv2.INTER_AREA)
    l_norm = normalize_l(rgb_to_lab(small)[..., :1])[None].astype(np.float32)
    features = np.asarray(EfficientNetLite0Features(upscale=1)(l_norm))[0]
    (head_kernel, head_bias), (fc_kernel, fc_bias) = lite0_arrays(True)[-2:]
    pooled = np.clip(np.tensordot(features, head_kernel[0, 0], 1) + head_bias, 0, 6).mean(axis=(0, 1))
    return set(np.argsort(-(pooled @ fc_kernel + fc_bias))[:5].tolist())


def test_state_dict_reads_without_torch():
    state = load_state_dict(lite0_weights_path())
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3) and state["_fc.weight"].shape == (1000, 1280)
    assert state["_conv_stem.weight"].dtype == np.float32 and np.isfinite(state["_conv_stem.weight"]).all()
    assert 0.01 < float(np.abs(state["_conv_stem.weight"]).mean()) < 10  # real weights, not zeros


def _legacy_file(payload) -> bytes:
    buffer = io.BytesIO()
    for header in (0x1950A86A20F9469CFC6C, 1001, {}):
        pickle.dump(header, buffer)
    buffer.write(payload)
    return buffer.getvalue()


def test_state_dict_reader_refuses_code_and_other_files(tmp_path):
    hostile = tmp_path / "hostile.pth"
    hostile.write_bytes(_legacy_file(b"cos\nsystem\n(S'echo owned'\ntR."))  # a pickle calling os.system
    with pytest.raises(pickle.UnpicklingError, match="os.system"):
        load_state_dict(hostile)
    other = tmp_path / "other.pth"
    other.write_bytes(pickle.dumps("not torch") + struct.pack("<q", 0))
    with pytest.raises(ValueError, match="other.pth"):
        load_state_dict(other)


@pytest.mark.slow
def test_ported_lite0_names_real_photos_from_their_lightness():
    assert _imagenet_top5(skimage.data.chelsea()) & CATS
    assert _imagenet_top5(skimage.data.coffee()) & COFFEE
    # and a cat is not coffee: the classes follow the photo
    assert not _imagenet_top5(skimage.data.chelsea()) & COFFEE


def test_semantic_features_land_on_block5_grid():
    l_norm = np.zeros((1, 48, 80, 1), np.float32)
    encoder = hypercolumn.build_encoder(semantic=True)
    shapes = [tuple(t.shape[1:]) for t in encoder(l_norm)]
    assert shapes == [(12, 20, 256), (6, 10, 512), (3, 5, 512), (3, 5, hypercolumn.SEMANTIC_CHANNELS)]


def test_a_model_built_with_the_semantic_encoder_says_so(monkeypatch):
    monkeypatch.setattr(hypercolumn, "SEMANTIC_ENCODER", True)
    model = hypercolumn.build(32)
    assert hypercolumn.has_semantic_encoder(model)
    assert [t.shape[-1] for t in model.get_layer("decoder").inputs] == [256, 512, 512, hypercolumn.SEMANTIC_CHANNELS]


def test_warm_start_without_semantic_starts_at_the_same_colors():
    """A decoder that joins Lite0's features, warm-started from one that does not, colorizes exactly as it
    did (the new channels start at zero), and its encoder says it has the semantic part."""
    from colorizer.train import warm_start

    keras.utils.set_random_seed(0)
    plain = hypercolumn.build(32, semantic=False)
    joined = hypercolumn.build_decoder(semantic=True)
    warm_start(joined, plain.get_layer("decoder"))
    rng = np.random.default_rng(0)
    blocks = [rng.uniform(0, 50, (1, 8 // s, 8 // s, c)).astype(np.float32) for s, c in ((1, 256), (2, 512), (4, 512))]
    semantic = rng.uniform(0, 6, (1, 2, 2, hypercolumn.SEMANTIC_CHANNELS)).astype(np.float32)
    before = plain.get_layer("decoder")(blocks)
    after = joined([*blocks, semantic])
    # Float32 rounding only: the joined decoder's convolutions sum over more (zero-weighted) channels, in
    # another order on some CPUs (1.5e-6 on a 0.45 probability with AVX2 alone); new channels that were not
    # zero would move these by orders of magnitude more.
    np.testing.assert_allclose(np.asarray(after[0]), np.asarray(before[0]), atol=1e-5)
    np.testing.assert_allclose(np.asarray(after[1]), np.asarray(before[1]), atol=1e-5)
    assert not hypercolumn.has_semantic_encoder(plain)


def test_semantic_dropout_drops_lite0_channels_in_training_only(monkeypatch):
    """``SEMANTIC_DROPOUT`` (run S3) drops whole Lite0 channels in training (about that share of them,
    the rest scaled up to keep the mean) and nothing at inference, where the decoder with it colorizes
    exactly as the same weights without it."""
    keras.utils.set_random_seed(0)
    plain = hypercolumn.build_decoder(semantic=True)
    monkeypatch.setattr(hypercolumn, "SEMANTIC_DROPOUT", 0.5)
    dropped = hypercolumn.build_decoder(semantic=True)
    assert "semantic_dropout" not in [layer.name for layer in plain.layers]
    for layer in plain.layers:  # by name: the extra layer changes the functional model's weight order
        dropped.get_layer(layer.name).set_weights(layer.get_weights())
    rng = np.random.default_rng(1)
    blocks = [rng.uniform(0, 50, (2, 8 // s, 8 // s, c)).astype(np.float32) for s, c in ((1, 256), (2, 512), (4, 512))]
    semantic = rng.uniform(0, 6, (2, 2, 2, hypercolumn.SEMANTIC_CHANNELS)).astype(np.float32)
    inputs = [*blocks, semantic]
    for a, b in zip(dropped(inputs, training=False), plain(inputs, training=False)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)  # float32 rounding, as above
    probe = keras.Model(dropped.inputs, [dropped.get_layer("norm_semantic").output, dropped.get_layer("semantic_dropout").output])
    normed, out = (np.asarray(t) for t in probe(inputs, training=True))
    zeroed = np.all(out == 0, axis=(1, 2))                      # per photo and channel
    kept = np.all(np.isclose(out, 2 * normed, atol=1e-5), axis=(1, 2))
    assert np.all(zeroed ^ kept)                                # each channel either dropped whole or kept whole
    assert 0.4 < zeroed.mean() < 0.6, zeroed.mean()


@pytest.mark.slow
def test_lite0_tap_is_the_same_network_stopped_at_that_block():
    """``tap=11``: beside the last block, block 11's output (H/8 of the photo at 2×, 112 channels) — the
    same values a Lite0 cut after block 11 gives; the last block is unchanged by the tap."""
    rng = np.random.default_rng(0)
    l_norm = rng.uniform(-1, 1, (1, 32, 48, 1)).astype(np.float32)
    last, local = (np.asarray(t) for t in EfficientNetLite0Features(tap=11)(l_norm))
    np.testing.assert_allclose(last, np.asarray(EfficientNetLite0Features()(l_norm)), atol=1e-5)
    np.testing.assert_allclose(local, np.asarray(EfficientNetLite0Features(n_blocks=11)(l_norm)), atol=1e-5)
    assert local.shape == (1, 4, 6, 112) and last.shape == (1, 2, 3, 320)
    assert EfficientNetLite0Features(tap=11).compute_output_shape((1, 32, 48, 1)) == [(1, 2, 3, 320), (1, 4, 6, 112)]
    # A Lite0 stopped early says its own shape (it said the last block's, 320 channels at H/16, before session 39).
    assert EfficientNetLite0Features(n_blocks=11).compute_output_shape((1, 32, 48, 1)) == local.shape


@pytest.mark.slow
def test_local_semantic_warm_started_from_s1_starts_at_its_colors(monkeypatch):
    """``SEMANTIC_LOCAL`` (run S5): the encoder also gives Lite0's H/8 block, the decoder reads it beside
    VGG16 block 4, and warm-started from a decoder without it, it colorizes exactly as that one did."""
    from colorizer.train import warm_start

    keras.utils.set_random_seed(0)
    s1 = hypercolumn.build(32, semantic=True)
    monkeypatch.setattr(hypercolumn, "SEMANTIC_LOCAL", True)
    model = hypercolumn.build(32, semantic=True)
    assert hypercolumn.has_local_semantic(model) and not hypercolumn.has_local_semantic(s1)
    assert [t.shape[-1] for t in model.get_layer("decoder").inputs] == [256, 512, 512, 320, 112]
    assert [tuple(t.shape[1:3]) for t in model.get_layer("encoder")(np.zeros((1, 32, 32, 1), np.float32))] == \
        [(8, 8), (4, 4), (2, 2), (2, 2), (4, 4)]
    copied = warm_start(model.get_layer("decoder"), s1.get_layer("decoder"))
    assert "context_conv" in copied and "probs" in copied
    rng = np.random.default_rng(0)
    blocks = [rng.uniform(0, 50, (1, 8 // s, 8 // s, c)).astype(np.float32) for s, c in ((1, 256), (2, 512), (4, 512))]
    semantic = rng.uniform(0, 6, (1, 2, 2, 320)).astype(np.float32)
    local = rng.uniform(0, 6, (1, 4, 4, 112)).astype(np.float32)
    before = s1.get_layer("decoder")([*blocks, semantic])
    after = model.get_layer("decoder")([*blocks, semantic, local])
    for a, b in zip(after, before):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-5)  # float32 rounding, as above
    mid = model.get_layer("decoder").get_layer("mid_conv1")
    kernel, bias = mid.get_weights()
    assert kernel.shape[-2] == 128 + 128 + 64 and not kernel[..., 256:, :].any()  # Lite0's H/8 rows start at zero
    kernel[..., 256:, :] = rng.normal(0, 0.05, kernel[..., 256:, :].shape)         # as training will move them
    mid.set_weights([kernel, bias])
    read = model.get_layer("decoder")([*blocks, semantic, local])
    other = model.get_layer("decoder")([*blocks, semantic, local[:, ::-1]])      # the same block, elsewhere
    assert np.abs(np.asarray(read[0]) - np.asarray(other[0])).max() > 1e-4      # then where things are counts
