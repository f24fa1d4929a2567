"""colorizer.models: every architecture builds with named encoder/decoder submodels and no Lambda layer,
takes a training step (whole model and decoder-only), and a tiny model overfits one tiny sample."""
from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from colorizer import ARCHITECTURE_NAMES, FLAGSHIP, HINT_TAKING_NAMES, data, quantize
from colorizer.color import unnormalize_ab
from colorizer.models import ARCHITECTURES, architecture, hint_taking_architectures
from colorizer.models import losses
from conftest import TINY_SIZES, with_hints, make_photo

NAMES = sorted(ARCHITECTURES)


def all_layers(model):
    """Every layer of a model, descending into nested models."""
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from all_layers(layer)


def tiny_batch(name: str, n_photos: int = 2, per_photo: int = 2, seed: int = 0) -> dict:
    photos = [make_photo(48, 64, seed=seed + i) for i in range(n_photos)]
    return data.crop_batch(data.random_crops(photos, per_photo, TINY_SIZES[name], seed=seed))


def prior_for(name: str, batch: dict):
    return quantize.empirical_prior(unnormalize_ab(batch["ab_norm"])) if ARCHITECTURES[name].OUTPUT_KIND == "ab313" else None


def compiled(trainable, arch, prior, lr=1e-3, eager=True):
    loss, metrics, loss_weights = arch.loss_and_metrics(prior)
    # Eager for one step: tracing a train step costs seconds (tens on a busy CPU), a tiny eager step
    # well under one. Graph-mode training (model.fit) runs end to end in the CLI train test.
    trainable.compile(optimizer=keras.optimizers.Adam(lr), loss=loss, metrics=metrics, loss_weights=loss_weights,
                      run_eagerly=eager)
    return trainable


def test_every_architecture_says_what_it_does_in_plain_words():
    """The app's model picker shows ``IN_PLAIN_WORDS`` to a class (a teacher's walk-through, session 39: the cards'
    descriptions read "frozen VGG16 hypercolumns (blocks 3-5) → 313 ab bins + regression"): one short sentence
    or two, none of the trade's terms, each different."""
    jargon = ("VGG", "hypercolumn", "bins", "regression", "autoencoder", "VAE", "U-Net", "latent", "decoder", "encoder",
              "ImageNet", "ab ", "MSE", "KL")
    words = {name: arch.IN_PLAIN_WORDS for name, arch in ARCHITECTURES.items()}
    assert len(set(words.values())) == len(words)
    for name, text in words.items():
        assert 40 < len(text) < 240 and text.endswith("."), (name, text)
        assert not [term for term in jargon if term in text], (name, text)


def test_registry_has_the_flagship_first_then_the_four_seeds():
    assert list(ARCHITECTURES) == list(ARCHITECTURE_NAMES) == ["hypercolumn", "hypercolumn_hints", "cifar_ae", "vgg16_ae", "vae", "unet313"]
    assert list(HINT_TAKING_NAMES) == hint_taking_architectures() == ["hypercolumn_hints"]
    # The command line's early refusals read these by name, before TensorFlow: each must be what the model takes.
    from colorizer import MIRRORING_NAMES, SEEDED_NAMES, TEMPERATURE_NAMES
    from colorizer.models.contract import option_names

    takes = {name: option_names(arch) for name, arch in ARCHITECTURES.items()}
    assert list(MIRRORING_NAMES) == [n for n, options in takes.items() if "mirror" in options]
    assert list(TEMPERATURE_NAMES) == [n for n, options in takes.items() if "temperature" in options]
    assert list(SEEDED_NAMES) == [n for n, a in ARCHITECTURES.items() if a.STOCHASTIC] == [
        n for n, options in takes.items() if "seed" in options]
    assert FLAGSHIP == "hypercolumn"
    with pytest.raises(ValueError, match="cifar_ae"):
        architecture("resnet")


@pytest.mark.parametrize("name", NAMES)
def test_module_interface(name):
    arch = ARCHITECTURES[name]
    assert arch.NAME == name
    assert arch.INPUT_KIND in {"gray01", "L"} and arch.OUTPUT_KIND in {"rgb", "ab", "ab313"}
    assert isinstance(arch.WORKING_SIZE, int) and arch.DESCRIPTION
    for function in ("build", "training_pairs", "loss_and_metrics", "inference_network", "predict_ab",
                     "encoder_features", "decoder_head"):
        assert callable(getattr(arch, function)), function
    # The optional part of the contract is declared (or defaulted) on every architecture.
    assert arch.UPSAMPLING in {"bilinear", "guided"} and arch.OUTPUT_STRIDE >= 1
    assert isinstance(arch.FROZEN_ENCODER, bool) and isinstance(arch.TAKES_HINTS, bool)
    assert (arch.augment_batch is not None) == arch.TAKES_HINTS == (arch.predict_outputs is not None)


def test_the_contract_declares_what_each_architecture_is():
    from types import ModuleType

    from colorizer.models.contract import CONTRACTS, contract_of, declare, feature_family

    declared = {name: (a.FROZEN_ENCODER, a.UPSAMPLING, a.OUTPUT_STRIDE, a.FIXED_SIZE, a.STOCHASTIC, a.TAKES_HINTS,
                       feature_family(a), contract_of(a)) for name, a in ARCHITECTURES.items()}
    assert declared == {
        "hypercolumn": (True, "guided", 4, False, False, False, "hypercolumn", "L_313"),
        "hypercolumn_hints": (True, "guided", 4, False, False, True, "hypercolumn", "L_313"),
        "cifar_ae": (False, "bilinear", 1, True, False, False, "cifar_ae", "gray01_rgb"),
        "vgg16_ae": (True, "bilinear", 1, False, False, False, "vgg16_ae", "L_ab"),
        "vae": (False, "bilinear", 1, True, True, False, "vae", "L_ab"),
        "unet313": (False, "bilinear", 2, False, False, False, "unet313", "L_313"),
    }
    assert {c.channels: c.name for c in CONTRACTS.values()} == {3: "gray01_rgb", 2: "L_ab", 313: "L_313"}
    incomplete = ModuleType("half_an_architecture")
    incomplete.NAME = "half"
    with pytest.raises(TypeError, match="half_an_architecture breaks the architecture contract: no WORKING_SIZE"):
        declare(incomplete)


@pytest.mark.parametrize("name", NAMES)
def test_builds_with_named_submodels_and_no_lambda(name, tiny_models):
    model = tiny_models[name]
    assert model.name == name
    for part in ("encoder", "decoder"):
        assert isinstance(model.get_layer(part), keras.Model), part
    layers = list(all_layers(model))
    assert not [layer.name for layer in layers if isinstance(layer, keras.layers.Lambda)]
    assert '"Lambda"' not in json.dumps(keras.saving.serialize_keras_object(model))


@pytest.mark.parametrize("name", NAMES)
def test_output_shapes_and_ranges(name, tiny_models):
    arch, size = ARCHITECTURES[name], TINY_SIZES[name]
    x, _ = arch.training_pairs(tiny_batch(name))
    out = tiny_models[name](with_hints(name, x), training=False)
    n = 4
    if arch.OUTPUT_KIND == "rgb":
        out = np.asarray(out)
        assert out.shape == (n, size, size, 3) and out.min() >= 0 and out.max() <= 1  # sigmoid
    elif arch.OUTPUT_KIND == "ab":
        out = np.asarray(out)
        assert out.shape == (n, size, size, 2) and np.abs(out).max() <= 1  # tanh, ab_norm
    else:  # the 313-bin models predict at 1/OUTPUT_STRIDE of the input (unet313: 1/2, hypercolumn: 1/4)
        probs, ab_reg = np.asarray(out["probs"]), np.asarray(out["ab_reg"])
        side = size // arch.OUTPUT_STRIDE
        assert probs.shape == (n, side, side, 313)
        np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-4)
        assert ab_reg.shape == (n, side, side, 2) and np.abs(ab_reg).max() <= 1


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.slow
def test_training_step_whole_model_then_decoder_only(name, build_tiny_model):
    """A step on the whole model (as ``train`` does), then one on the decoder head fed with cached
    encoder features (the frozen-encoder path training and fine-tuning use)."""
    arch = ARCHITECTURES[name]
    model = build_tiny_model(name)
    batch = tiny_batch(name)
    x, y = arch.training_pairs(batch)
    prior = prior_for(name, batch)
    frozen = arch.FROZEN_ENCODER
    encoder_before = [w.copy() for w in model.get_layer("encoder").get_weights()]
    logs = compiled(model, arch, prior).train_on_batch(with_hints(name, x), y, return_dict=True)
    assert np.isfinite(logs["loss"]) and logs["loss"] > 0
    if frozen:  # vgg16_ae: the VGG16 base must not move
        for before, after in zip(encoder_before, model.get_layer("encoder").get_weights()):
            np.testing.assert_array_equal(before, after)

    features = arch.encoder_features(model, x)
    head = compiled(arch.decoder_head(model), arch, prior)
    decoder = model.get_layer("decoder")
    decoder_before = [w.copy() for w in decoder.get_weights()]
    logs = head.train_on_batch(with_hints(name, features), y, return_dict=True)
    assert np.isfinite(logs["loss"])
    # the head shares the model's decoder: training it changes the model
    assert any(not np.array_equal(b, a) for b, a in zip(decoder_before, decoder.get_weights()))


def test_vae_adds_its_kl_term(tiny_models):
    model = tiny_models["vae"]
    x, _ = ARCHITECTURES["vae"].training_pairs(tiny_batch("vae"))
    model(x, training=True)
    assert len(model.losses) >= 1 and all(np.isfinite(float(loss)) for loss in model.losses)


def test_the_313_bin_loss_weights_rare_colors_more():
    loss_fn = losses.RebalancedSoftCrossEntropy(weights=np.linspace(0.5, 2.0, 313))
    ab_norm = np.array([[[[0.0, 0.0]]], [[[0.0, 0.0]]]], np.float32)
    target = losses.soft_targets(ab_norm)
    assert target.shape == (2, 1, 1, 2 * quantize.NEIGHBOURS)
    uniform = np.full((2, 1, 1, 313), 1 / 313, np.float32)
    per_pixel = np.asarray(loss_fn.call(target, uniform))
    # uniform prediction: cross-entropy log(313), times the nearest bin's weight
    k = quantize.nearest_bin(np.zeros((1, 2)))[0]
    np.testing.assert_allclose(per_pixel, np.log(313) * np.linspace(0.5, 2.0, 313)[k], rtol=1e-4)


def test_flagship_regression_loss_weights_each_pixel_by_its_true_bin():
    hc = ARCHITECTURES["hypercolumn"]
    batch = {"L_norm": np.zeros((1, 8, 8, 1), np.float32),
             "ab_norm": np.concatenate([np.full((1, 8, 4, 2), [0.0, 0.0]), np.full((1, 8, 4, 2), [0.52, -0.31])], axis=2).astype(np.float32)}
    _, y = hc.training_pairs(batch)
    assert y["ab_reg"].shape == (1, 2, 2, 3)  # a, b and the nearest bin
    # The target is the crop's own a, b pooled to the output grid, in order: the left half (0, 0), the right
    # half (0.52, −0.31); swapped, mis-pooled or mirrored targets fail here.
    np.testing.assert_allclose(y["ab_reg"][0, :, 0, :2], 0.0)
    np.testing.assert_allclose(y["ab_reg"][0, :, 1, :2], [[0.52, -0.31]] * 2, atol=1e-6)
    bins = y["ab_reg"][..., 2].astype(int)
    np.testing.assert_array_equal(bins, quantize.nearest_bin(unnormalize_ab(y["ab_reg"][..., :2]).reshape(-1, 2)).reshape(1, 2, 2))
    weights = np.linspace(0.5, 2.0, 313).astype(np.float32)
    predicted = np.zeros((1, 2, 2, 2), np.float32)
    per_pixel = np.asarray(losses.RebalancedMSE(weights).call(y["ab_reg"], predicted))
    squared = np.mean(y["ab_reg"][..., :2] ** 2, axis=-1)
    np.testing.assert_allclose(per_pixel, squared * weights[bins], rtol=1e-5)
    np.testing.assert_allclose(np.asarray(losses.RebalancedMSE(None).call(y["ab_reg"], predicted)), squared, rtol=1e-5)  # plain MSE
    # The regression's weights: the rebalancing weights to a power, mean 1 over the training colors.
    prior = np.random.default_rng(0).dirichlet(np.ones(313))
    for power in (0.0, 0.5, 1.0):
        w = losses.regression_weights(prior, power)
        assert abs(float(np.sum(prior * w)) - 1.0) < 1e-5
    np.testing.assert_allclose(losses.regression_weights(prior, 0.0), 1.0, rtol=1e-5)
    full, half = losses.regression_weights(prior, 1.0), losses.regression_weights(prior, 0.5)
    assert np.ptp(half) < np.ptp(full)  # milder: a smaller spread between common and rare colors


@pytest.mark.slow
def test_tiny_model_overfits_one_sample(build_tiny_model):
    """Deep-koalarization's sanity check: a network that cannot learn one image cannot learn many.

    vgg16_ae's decoder on cached frozen features is the cheapest (~2 s for 40 steps on CPU).
    """
    arch = ARCHITECTURES["vgg16_ae"]
    model = build_tiny_model("vgg16_ae")
    batch = data.crop_batch(data.center_crops([make_photo(40, 40, seed=11)], TINY_SIZES["vgg16_ae"]))
    x, y = arch.training_pairs(batch)
    head = compiled(arch.decoder_head(model), arch, None)
    features = arch.encoder_features(model, x)
    losses = [float(head.train_on_batch(features, y, return_dict=True)["loss"]) for _ in range(40)]
    assert losses[-1] < losses[0] / 20, losses[::5]


def test_flagship_runs_its_encoder_in_bfloat16_only_where_asked_and_agrees_with_float32(tiny_models, monkeypatch):
    """``COLORIZER_BFLOAT16`` switches the flagship's inference encoder between float32 (the model's own)
    and bfloat16; both give the same colors within bfloat16's rounding, and both return the encoder's
    blocks beside the two heads (the colorfulness gate pools blocks 4 and 5, or Lite0's too)."""
    from colorizer import quantize
    from colorizer.models import hypercolumn

    model = tiny_models["hypercolumn"]
    x, _ = hypercolumn.training_pairs(tiny_batch("hypercolumn"))
    monkeypatch.setenv("COLORIZER_BFLOAT16", "0")
    plain = hypercolumn.inference_network(model)
    assert plain.get_layer("encoder") is model.get_layer("encoder") and plain.get_layer("decoder") is model.get_layer("decoder")
    # The gate pools blocks 4-5 (colorfulness_gate.BLOCKS) and, where the model has it, Lite0's block.
    assert hypercolumn.has_semantic_encoder(model) == hypercolumn.SEMANTIC_ENCODER
    semantic = {"semantic"} if hypercolumn.SEMANTIC_ENCODER else set()
    assert set(plain(x, training=False)) == {"probs", "ab_reg", "block4", "block5"} | semantic
    monkeypatch.setenv("COLORIZER_BFLOAT16", "1")
    fast = hypercolumn.inference_network(model)
    assert fast is not model and fast.get_layer("decoder") is model.get_layer("decoder")
    vgg = fast.get_layer("encoder").encoder.get_layer("vgg16_features")  # the process-wide one (``SharedEncoder``)
    assert vgg.compute_dtype == "bfloat16"
    # Weights stored in bfloat16 (no cast of 14.7 M float32 weights per call), the same bits as the
    # mixed policy's float32 weights cast per call.
    assert {v.dtype for v in vgg.weights} == {"bfloat16"}
    mixed = hypercolumn.build_encoder("mixed_bfloat16")
    assert {v.dtype for v in mixed.get_layer("vgg16_features").weights} == {"float32"}
    for stored, cast in zip(fast.get_layer("encoder")(x), mixed(x)):
        assert np.array_equal(np.asarray(stored, np.float32), np.asarray(cast, np.float32))
    exact, rounded = model(x, training=False), fast(x, training=False)
    ab_exact = quantize.annealed_mean(np.asarray(exact["probs"]))
    ab_rounded = quantize.annealed_mean(np.asarray(rounded["probs"]))
    assert np.abs(ab_exact - ab_rounded).mean() < 2.0, np.abs(ab_exact - ab_rounded).mean()


@pytest.mark.parametrize("global_context", [False, True])
def test_flagship_decoder_reads_the_whole_scene_only_with_global_context(monkeypatch, global_context):
    """``hypercolumn.GLOBAL_CONTEXT`` (run R5): a change in one corner of block 5 reaches the far corner of
    the output only through the scene vector; without it the far corner is out of the decoder's reach."""
    import keras

    from colorizer.models import hypercolumn

    monkeypatch.setattr(hypercolumn, "GLOBAL_CONTEXT", global_context)
    keras.utils.set_random_seed(0)
    decoder = hypercolumn.build_decoder(semantic=False)
    rng = np.random.default_rng(0)
    blocks = [rng.uniform(0, 1, (1, 64 // f, 64 // f, c)).astype(np.float32) for f, c in ((1, 256), (2, 512), (4, 512))]
    probs, ab = (np.asarray(t) for t in decoder(blocks, training=False))
    blocks[2][0, 0, 0, :] += 50.0  # the top-left cell of block 5
    probs2, ab2 = (np.asarray(t) for t in decoder(blocks, training=False))
    far = (slice(None), slice(-8, None), slice(-8, None))  # the bottom-right 8×8 output cells
    assert np.abs(probs2 - probs)[(0, 0, 0)].max() > 1e-4  # near the change: it matters either way
    if global_context:
        assert np.abs(probs2[far] - probs[far]).max() > 1e-6 and np.abs(ab2[far] - ab[far]).max() > 1e-6
    else:
        np.testing.assert_array_equal(probs2[far], probs[far])
        np.testing.assert_array_equal(ab2[far], ab[far])


def test_flagship_family_models_share_one_rebuilt_frozen_encoder(tiny_models, monkeypatch):
    """Every flagship-family model loaded rebuilt its own bfloat16 VGG16 (+ Lite0) for inference, and every
    fine-tune another for its features (~50 MiB each on a server). The encoder is frozen and always VGG16's and
    Lite0's own weights, so one per kind serves them all, and it computes what a fresh one does."""
    import weakref

    from colorizer.models import hypercolumn
    from colorizer.models import layers as model_layers

    monkeypatch.setattr(hypercolumn, "fast_encoder_dtype", lambda: "bfloat16")  # also on a host without fast bfloat16
    monkeypatch.setattr(hypercolumn, "_SAME_ENCODERS", {})  # none kept past this test
    flagship, hints = tiny_models["hypercolumn"], tiny_models["hypercolumn_hints"]
    shared = hypercolumn._same_encoder(flagship, "bfloat16")
    assert hypercolumn._same_encoder(hypercolumn.build(32), "bfloat16") is shared  # another flagship-family model
    assert hypercolumn._same_encoder(hints, "bfloat16") is not shared  # the hint network's has no Lite0
    assert hypercolumn._same_encoder(flagship, None) is not shared  # float32: another kind
    assert hypercolumn.inference_network(flagship).get_layer("encoder").encoder is shared
    x = np.random.default_rng(0).random((1, 32, 32, 1)).astype(np.float32)
    monkeypatch.setattr(model_layers, "_FROZEN", weakref.WeakValueDictionary())  # fresh: its own weights, from the files
    fresh = hypercolumn.build_encoder("bfloat16", hypercolumn.has_semantic_encoder(flagship),
                                      hypercolumn.has_local_semantic(flagship))
    assert fresh.get_layer("vgg16_features").kernels[0] is not shared.get_layer("vgg16_features").kernels[0]
    for got, expected in zip(shared(x), fresh(x)):
        np.testing.assert_array_equal(np.asarray(got, np.float32), np.asarray(expected, np.float32))


@pytest.mark.parametrize("name", ["hypercolumn", "hypercolumn_hints"])
@pytest.mark.slow
def test_a_dropped_model_is_freed_though_its_encoder_is_shared(name, installed_tiny_checkpoints, monkeypatch):
    """Session 31's first shared encoder was called on each new network's ``keras.Input``, which records a node on
    it pointing at that network's decoder, and through it the model's own encoder: they lived as long as the process
    (load and drop four times: +238 MiB). Loaded, colorizing, then dropped, a model must be freed whole, and the
    shared encoder keep no trace of it."""
    import gc
    import weakref

    import colorizer
    from colorizer.models import hypercolumn

    monkeypatch.setattr(hypercolumn, "fast_encoder_dtype", lambda: "bfloat16")  # also on a host without fast bfloat16
    photo = make_photo(40, 48, seed=3)
    first = colorizer.load(name)
    first.colorize(photo)  # the shared encoder exists, and has run once
    shared = hypercolumn._same_encoder(first.model, "bfloat16")
    nodes = len(shared._inbound_nodes), len(shared._outbound_nodes)
    model = colorizer.load(name)
    model.colorize(photo)
    parts = model.model, model.model.get_layer("encoder"), model.model.get_layer("decoder"), model.network
    gone = [weakref.ref(part) for part in parts]
    del model, parts
    gc.collect()
    assert [ref() for ref in gone] == [None] * 4  # the decoder and the model's own encoder too (~75 MiB)
    assert (len(shared._inbound_nodes), len(shared._outbound_nodes)) == nodes


def test_the_frozen_encoders_weights_are_read_per_build_and_not_kept(monkeypatch):
    """VGG16's and Lite0's weights were read once and kept for the process (~72 MB for good on a server, beside
    the variables each model fills from them). Read at each build now, the arrays are freed once the variables
    hold them, and the variables hold the files' weights: VGG16's first convolutions only, as many as it runs."""
    import gc
    import weakref

    from colorizer.models import efficientnet_lite, hypercolumn
    from colorizer.models import layers as model_layers

    refs = []

    def recording(read):
        def recorded(*args, **kwargs):
            arrays = read(*args, **kwargs)
            refs.extend(weakref.ref(array) for pair in arrays for array in pair)
            return arrays
        return recorded

    monkeypatch.setattr(model_layers, "_hed_vgg16_arrays", recording(model_layers._hed_vgg16_arrays))
    monkeypatch.setattr(efficientnet_lite, "lite0_arrays", recording(efficientnet_lite.lite0_arrays))
    monkeypatch.setattr(model_layers, "_FROZEN", weakref.WeakValueDictionary())  # none shared yet: the files are read
    vgg3 = model_layers.VGG16Features(blocks=(3,))
    vgg3.build((None, 32, 32, 3))
    assert len(refs) == 2 * 7  # blocks 1-3: 2 + 2 + 3 convolutions, read alone
    encoder = hypercolumn.build_encoder(semantic=True, local=True)
    gc.collect()
    kept = [ref for ref in refs if ref() is not None]
    assert len(refs) > 2 * (7 + 13) and len(kept) == 0, f"{len(kept)} of {len(refs)} arrays kept"
    expected = monkeypatch.undo() or model_layers._hed_vgg16_arrays()
    assert len(vgg3.kernels) == 7  # blocks 1-3: 2 + 2 + 3 convolutions
    for variables in (vgg3, encoder.get_layer("vgg16_features")):
        for (kernel, bias), variable, variable_bias in zip(expected, variables.kernels, variables.biases):
            np.testing.assert_array_equal(np.asarray(variable), kernel)
            np.testing.assert_array_equal(np.asarray(variable_bias), bias)
    lite0 = encoder.get_layer("lite0_features")
    for (kernel, bias), variable in zip(efficientnet_lite.lite0_arrays(), lite0.kernels):
        np.testing.assert_array_equal(np.asarray(variable), kernel)


def test_every_model_shares_one_copy_of_the_frozen_weights_freed_with_the_last(monkeypatch):
    """Every model loaded (flagship, hint network, vgg16_ae, each fine-tuned one, each fine-tune's base) held its
    own float32 VGG16 (59 MB) and Lite0 (13 MB), though frozen and always the files' weights. One copy per variable
    dtype now, freed when the last layer holding it goes; a strategy's models (multi-GPU training) keep their own."""
    import gc
    import weakref

    import tensorflow as tf

    from colorizer.models import hypercolumn, vgg16_ae
    from colorizer.models import layers as model_layers

    monkeypatch.setattr(model_layers, "_FROZEN", weakref.WeakValueDictionary())
    seed, flagship = vgg16_ae.build(32), hypercolumn.build(32)  # the shorter first: the flagship reads the rest
    vgg, seed_vgg = (m.get_layer("encoder").get_layer("vgg16_features") for m in (flagship, seed))
    assert 0 < len(seed_vgg.kernels) < len(vgg.kernels)  # vgg16_ae runs fewer blocks: it shares those it runs
    assert len(seed_vgg.weights) == 2 * len(seed_vgg.kernels) and len(vgg.weights) == 2 * len(vgg.kernels)
    assert all(a is b for a, b in zip(seed_vgg.weights, vgg.weights))
    other = hypercolumn.build_encoder()
    assert other.get_layer("lite0_features").weights[5] is flagship.get_layer("encoder").get_layer("lite0_features").weights[5]
    assert [w.path for w in vgg.weights] == [f"vgg16_features/{kind}_{i}" for i in range(13) for kind in ("kernel", "bias")]
    fast = hypercolumn.build_encoder("bfloat16").get_layer("vgg16_features")
    assert fast.kernels[0].dtype == "bfloat16" and fast.kernels[0] is not vgg.kernels[0]
    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        own = hypercolumn.build_encoder(semantic=False).get_layer("vgg16_features")
    assert own.kernels[0] is not vgg.kernels[0]
    np.testing.assert_array_equal(np.asarray(own.kernels[3]), np.asarray(vgg.kernels[3]))
    assert len(model_layers._FROZEN) > 0
    del flagship, seed, vgg, seed_vgg, other, fast, own
    gc.collect()
    assert len(model_layers._FROZEN) == 0
    # A variable keeps the name it was made with (the LiteRT template checks it): a layer of another name, made
    # first, shares nothing with the flagship's.
    short = model_layers.VGG16Features(blocks=(1,), name="short")
    short.build((None, 32, 32, 3))
    later = hypercolumn.build(32).get_layer("encoder").get_layer("vgg16_features")
    assert [w.path for w in short.weights] == ["short/kernel_0", "short/bias_0", "short/kernel_1", "short/bias_1"]
    assert [w.path for w in later.weights[:2]] == ["vgg16_features/kernel_0", "vgg16_features/bias_0"]


@pytest.mark.parametrize("name, dtype", [("vgg16_ae", np.float16), ("unet313", np.float32), ("hypercolumn", np.float16)])
@pytest.mark.slow
def test_encoder_features_come_batch_by_batch_as_the_encoder_gives_them(name, dtype, tiny_models, monkeypatch):
    """``encoder_features`` ran ``predict`` for vgg16_ae and unet313: every batch's float32 outputs kept, then joined
    (and vgg16_ae's cast to float16 after it), at batches of 16 and 32: vgg16_ae's fine-tune beside a class peaked
    at 2,406 / 2,488 MiB, over the budget. Batch by batch into arrays made once now, the same values, in the dtype
    each decoder was trained on; 12 crops make a full batch and a partial one."""
    import keras

    monkeypatch.setenv("COLORIZER_BFLOAT16", "0")  # the flagship's own float32 encoder, as predict runs it
    arch, model = ARCHITECTURES[name], tiny_models[name]
    x, _ = arch.training_pairs(tiny_batch(name, n_photos=3, per_photo=4))
    assert len(x) == 12
    expected = model.get_layer("encoder").predict(x, batch_size=5, verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    monkeypatch.setattr(keras.Model, "predict", lambda *a, **k: pytest.fail("predict keeps every batch"))
    features = arch.encoder_features(model, x)
    assert len(features) == len(expected) > 0
    for got, want in zip(features, expected):
        assert got.dtype == dtype and got.shape == want.shape
        scale = float(np.abs(want).max())
        assert scale > 0  # features, not zeros
        tolerance = 2e-3 if dtype == np.float16 else 1e-5  # float16's rounding; float32's batch-size noise
        np.testing.assert_allclose(got.astype(np.float32), want, rtol=tolerance, atol=tolerance * scale)
