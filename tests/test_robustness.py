"""Issue 6 end to end: bad input, many users, untrusted checkpoints — nothing crashes, nothing is lost.

Decoding itself (every odd or broken file, random bytes, random images) is covered by
``test_imageio.py``; this file checks the paths around it:

1. odd-but-valid files colorize at their displayed size through ``colorizer.load(...).colorize`` and
   through the CLI, which keeps alpha (RGBA in → RGBA PNG out) and agrees with the API bit for bit;
2. broken files in a CLI batch (and a photo the memory left cannot hold): one
   ``error: <file>: <reason>`` line each, no traceback, the good files still written, exit status 1;
3. a 12 MP photo runs at the working size in memory proportional to its pixels, its own L joined back;
4. hostile or malformed checkpoints (given as a file, or dropped into the user checkpoint folder)
   are refused with one line naming the file, writing nothing;
5. concurrent sessions on one shared ``Colorizer`` each get exactly their own result while a
   fine-tune trains another model in the same process;
6. a process saving a checkpoint is SIGKILLed at random moments: the checkpoint always loads, old or
   new, never half-written, and no temporary file shows up as a checkpoint;
7. the upload size limit is explicit in ``.streamlit/config.toml``.

Models are tiny untrained ``cifar_ae`` checkpoints built in temporary folders; everything is seeded.
"""
from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO_ROOT = Path(__file__).resolve().parents[1]
for _path in (REPO_ROOT, Path(__file__).resolve().parent):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

import helpers_robustness as h  # noqa: E402

import colorizer  # noqa: E402
from colorizer import checkpoints, cli  # noqa: E402
from colorizer.checkpoints import CheckpointError  # noqa: E402
from colorizer.color import ab_of_rgb, lab_to_rgb, luminance, resize, rgb_to_lab  # noqa: E402
from colorizer.imageio import read_image  # noqa: E402

ODD_FILES = h.odd_but_valid_files()
BROKEN_FILES = h.broken_files()
CHECKPOINT_FILES = {"model.keras", "card.json", "history.csv"}


# --------------------------------------------------------------------------- shared fixtures


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> Path:
    """A tiny untrained cifar_ae checkpoint folder (32×32 working size)."""
    return h.save_cifar_checkpoint(tmp_path_factory.mktemp("robustness") / "tiny_cifar", seed=0)


@pytest.fixture(scope="module")
def shared_colorizer(tiny_checkpoint):
    """One loaded Colorizer, shared by every test as ``st.cache_resource`` shares it between sessions."""
    return colorizer.load(tiny_checkpoint)


def run_cli(argv: list[str]) -> tuple[int, str, str]:
    """``python -m colorizer ARGV`` in this process → (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(argv)
    return status, out.getvalue(), err.getvalue()


# --------------------------------------------------------------------------- 1. odd but valid files


@pytest.fixture(scope="module")
def odd_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("odd_files")
    for name, data, *_ in ODD_FILES:
        (folder / name).write_bytes(data)
    return folder


@pytest.fixture(scope="module")
def cli_batch(odd_dir, tiny_checkpoint, tmp_path_factory):
    """One CLI batch, as a user would run it on a messy folder: every odd file with every broken file
    in between → (exit status, stderr, output folder)."""
    for name, data, _ in BROKEN_FILES:
        if data is not None:
            (odd_dir / name).write_bytes(data)
    odd, broken = [odd_dir / name for name, *_ in ODD_FILES], [odd_dir / name for name, *_ in BROKEN_FILES]
    inputs = odd[:1] + broken + odd[1:]
    out_dir = tmp_path_factory.mktemp("batch_out")
    status, _, stderr = run_cli(["colorize", *map(str, inputs), "-o", str(out_dir), "--checkpoint", str(tiny_checkpoint)])
    return status, stderr, out_dir


@pytest.mark.parametrize("name,data,shape,has_alpha", ODD_FILES, ids=[c[0] for c in ODD_FILES])
def test_odd_but_valid_file_colorizes_at_its_displayed_size(name, data, shape, has_alpha, odd_dir,
                                                            shared_colorizer, cli_batch):
    decoded = read_image(odd_dir / name)
    assert decoded.rgb.shape == (*shape, 3)

    result = shared_colorizer.colorize(decoded.rgb)
    assert result.dtype == np.uint8 and result.shape == (*shape, 3)
    # Only the input's L is used, joined back at full resolution: the output keeps it.
    assert np.abs(luminance(result) - luminance(decoded.rgb)).mean() < 1.0

    _, stderr, out_dir = cli_batch
    assert not any(line.startswith(f"error: {name}:") for line in stderr.splitlines()), stderr
    written = Image.open(out_dir / f"{Path(name).stem}.png")
    assert written.size == (shape[1], shape[0])
    assert written.mode == ("RGBA" if has_alpha else "RGB")
    pixels = np.asarray(written)
    assert np.array_equal(pixels[..., :3], result), "the CLI and the Python API disagree"
    if has_alpha:
        assert np.array_equal(pixels[..., 3], decoded.alpha), "the alpha channel was not kept"


def test_already_color_image_is_colorized_from_its_L_only(odd_dir, shared_colorizer):
    decoded = read_image(odd_dir / "already_color.jpg")
    assert decoded.was_color
    lab = rgb_to_lab(decoded.rgb)
    lab[..., 1:] = 0
    gray_twin = lab_to_rgb(lab)  # same L, no color
    from_color, from_gray = shared_colorizer.colorize(decoded.rgb), shared_colorizer.colorize(gray_twin)
    assert np.abs(ab_of_rgb(from_color) - ab_of_rgb(from_gray)).mean() < 1.5


# --------------------------------------------------------------------------- 2. broken files in a CLI batch


@pytest.mark.parametrize("name,data,word", BROKEN_FILES, ids=[c[0] for c in BROKEN_FILES])
def test_broken_file_in_a_cli_batch_gets_one_error_line(name, data, word, odd_dir, cli_batch):
    _, stderr, out_dir = cli_batch
    lines = [line for line in stderr.splitlines() if line.startswith(f"error: {odd_dir / name}: ")]  # the path as given
    assert len(lines) == 1, stderr
    assert word.lower() in lines[0].lower(), lines[0]
    assert not (out_dir / f"{Path(name).stem}.png").exists()


def test_cli_batch_goes_on_past_broken_files_and_exits_1(cli_batch):
    status, stderr, out_dir = cli_batch
    assert status == 1
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == len(BROKEN_FILES) and all(line.startswith("error: ") for line in lines), stderr
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(f"{Path(name).stem}.png" for name, *_ in ODD_FILES)


def test_cli_batch_goes_on_when_one_photo_runs_out_of_memory(tiny_checkpoint, odd_dir, tmp_path, monkeypatch):
    from colorizer import inference

    real_colorize = inference.Colorizer.colorize

    def colorize(self, image, **options):
        if image.shape[1] == 3000:  # strip_wide.png: as if this machine had no memory left for it
            raise MemoryError
        return real_colorize(self, image, **options)

    monkeypatch.setattr(inference.Colorizer, "colorize", colorize)
    out_dir = tmp_path / "out"
    inputs = [str(odd_dir / "strip_wide.png"), str(odd_dir / "one_pixel.png")]
    status, stdout, stderr = run_cli(["colorize", *inputs, "-o", str(out_dir), "--checkpoint", str(tiny_checkpoint)])
    assert status == 1
    assert stderr == f"error: {inputs[0]}: not enough memory to colorize 3000x6 pixels\n"
    assert stdout.splitlines()[-1] == f"1 of 2 colorized into {out_dir}"
    assert [p.name for p in out_dir.iterdir()] == ["one_pixel.png"]


# --------------------------------------------------------------------------- 3. bounded memory


def _twelve_megapixels(kind: str) -> np.ndarray:
    """uint8 RGB 3000×4000×3 with fine noise: a gray photo as decode_image returns one, or a color one."""
    size, rng = (3000, 4000), np.random.default_rng(3)
    small = h.gray_photo(300, 400, seed=3) if kind == "gray" else h.gradient_photo(300, 400, seed=3)
    pixels = resize(small, size).astype(np.int16)
    pixels += rng.integers(-6, 7, pixels.shape, dtype=np.int16)
    pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    return np.repeat(pixels[..., None], 3, axis=2) if kind == "gray" else pixels


@pytest.mark.parametrize("kind", ["gray", "color"])
def test_large_photo_runs_at_working_size_in_bounded_memory(kind, shared_colorizer, monkeypatch):
    image = _twelve_megapixels(kind)
    height, width = image.shape[:2]
    inputs = []  # what the network is given (predict_ab's input)
    predict_ab = shared_colorizer.predict_ab
    monkeypatch.setattr(shared_colorizer, "predict_ab", lambda x, **kw: inputs.append(x) or predict_ab(x, **kw))

    tracemalloc.start()
    try:
        result = shared_colorizer.colorize(image)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert [x.shape for x in inputs] == [(1, 32, 32, 1)], "the network must run at its working size, not the photo's"
    assert result.shape == image.shape and result.dtype == np.uint8
    bytes_per_pixel = peak / (height * width)
    assert bytes_per_pixel < 40, f"colorizing a 12 MP photo peaked at {peak / 2**20:.0f} MB ({bytes_per_pixel:.0f} B/pixel)"
    # Full-resolution L joined back: the output's L is the input's (up to uint8 rounding and gamut clipping).
    step = (slice(None, None, 7), slice(None, None, 5))
    diff = np.abs(luminance(np.ascontiguousarray(result[step])) - luminance(np.ascontiguousarray(image[step])))
    assert diff.mean() < 0.5 and diff.max() < 1.0, (diff.mean(), diff.max())


# --------------------------------------------------------------------------- 4. untrusted checkpoints


@pytest.fixture(scope="module")
def keras_members() -> dict[str, bytes]:
    return h.small_keras_members()


def _written(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _not_a_model_h5(path: Path) -> Path:
    import h5py

    with h5py.File(path, "w") as f:
        f["weights"] = np.arange(10.0)
    return path


def _truncated_zip(path: Path, members: dict[str, bytes]) -> Path:
    data = h.write_zip(path, members).read_bytes()
    return _written(path, data[: len(data) // 2])


def _wrong_shapes(config: dict) -> dict:
    config["config"]["layers"][-1]["config"]["units"] = 5  # the stored kernel is 4×2, not 4×5
    return config


PICKLE = b"\x80\x04cos\nsystem\n."  # a pickle that would import os.system
POPEN_LAYER = {"module": "subprocess", "class_name": "Popen", "registered_name": "Popen",
               "config": {"args": ["touch", "pwned"]}}
_zip = h.write_zip

# (file name, build(path, members of a real tiny .keras) → path, word the message must contain, size cap or None)
HOSTILE_CHECKPOINTS = [
    ("lambda.keras", lambda p, m: h.lambda_model_file(p), "safe mode", None),
    ("lambda.h5", lambda p, m: h.lambda_model_file(p), "safe mode", None),
    ("climbs_out.keras", lambda p, m: _zip(p, {**m, "../evil.txt": b"pwned"}), "outside", None),
    ("absolute.keras", lambda p, m: _zip(p, {**m, "/tmp/evil.txt": b"pwned"}), "outside", None),
    ("assets_climb.keras", lambda p, m: _zip(p, {**m, "assets/../../evil.txt": b"pwned"}), "outside", None),
    ("unexpected_member.keras", lambda p, m: _zip(p, {**m, "payload.pkl": PICKLE}), "unexpected", None),
    ("no_config.keras", lambda p, m: _zip(p, {"metadata.json": m["metadata.json"]}), "no config.json", None),
    ("truncated.keras", _truncated_zip, "not a valid", None),
    ("random_bytes.keras", lambda p, m: _written(p, np.random.default_rng(6).bytes(4096)), "not a valid", None),
    ("not_a_model.h5", lambda p, m: _not_a_model_h5(p), "cannot load", None),
    ("random_bytes.h5", lambda p, m: _written(p, np.random.default_rng(7).bytes(4096)), "cannot load", None),
    ("oversized.keras", lambda p, m: _zip(p, m), "limit", 1024),
    ("zip_bomb.keras", lambda p, m: _zip(p, {**m, "assets/zeros.bin": bytes(4 << 20)}, zipfile.ZIP_DEFLATED),
     "unpack", 1 << 20),
    ("os_system.keras", lambda p, m: _zip(p, h.config_with(m, lambda c: h.OS_SYSTEM)), "cannot load", None),
    ("popen_layer.keras", lambda p, m: _zip(p, h.config_with(m, lambda c: h.with_layer(c, POPEN_LAYER))),
     "cannot load", None),
    ("bad_json.keras", lambda p, m: _zip(p, {**m, "config.json": b"{not json"}), "cannot load", None),
    ("wrong_shapes.keras", lambda p, m: _zip(p, h.config_with(m, _wrong_shapes)), "cannot load", None),
    ("model.pkl", lambda p, m: _written(p, PICKLE), "not a keras checkpoint", None),
]


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("name,build,word,cap", HOSTILE_CHECKPOINTS, ids=[c[0] for c in HOSTILE_CHECKPOINTS])
def test_untrusted_checkpoint_is_refused_with_one_line(name, build, word, cap, keras_members, tmp_path, monkeypatch):
    sandbox = tmp_path / "sandbox"
    cwd, scratch = sandbox / "work" / "deeper", sandbox / "scratch"
    cwd.mkdir(parents=True)
    scratch.mkdir()
    path = build(sandbox / name, keras_members)
    # Anything a loader unpacks or runs lands in the sandbox, where it would show.
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    if cap is not None:
        monkeypatch.setattr(checkpoints, "MAX_CHECKPOINT_BYTES", cap)
    outside, inside = sorted(os.listdir(tmp_path.parent)), _tree(sandbox)

    with pytest.raises(CheckpointError) as info:
        colorizer.load(path)

    message = str(info.value)
    assert name in message and "\n" not in message and len(message) < 500, message
    assert word in message.lower(), message
    assert _tree(sandbox) == inside, "loading a refused checkpoint wrote files"
    assert sorted(os.listdir(tmp_path.parent)) == outside, "loading a refused checkpoint wrote outside its folder"


def test_hostile_user_checkpoint_is_refused_by_name(tmp_path, monkeypatch):
    """A "fine-tuned" checkpoint someone dropped into the user folder: listed, but neither the
    Colorizer nor the fine-tuner will load it."""
    from colorizer import finetune

    folder = tmp_path / "user" / "evil_tune"
    folder.mkdir(parents=True)
    h.lambda_model_file(folder / "model.keras")
    checkpoints.write_card(folder, {"name": "evil_tune", "architecture": "cifar_ae", "working_size": 32})
    monkeypatch.setenv("COLORIZER_CHECKPOINT_DIR", str(tmp_path / "user"))
    assert "evil_tune" in checkpoints.user_checkpoints()
    for load in (colorizer.load, finetune.load_base):
        with pytest.raises(CheckpointError, match=r"^model\.keras: .*safe mode"):
            load("evil_tune")


def test_cli_refuses_a_hostile_checkpoint_with_one_line(tmp_path, odd_dir):
    path = h.lambda_model_file(tmp_path / "evil.keras")
    status, _, stderr = run_cli(["colorize", str(odd_dir / "one_pixel.png"), "-o", str(tmp_path / "out"),
                                 "--checkpoint", str(path)])
    assert status == 1
    assert stderr.startswith("error: evil.keras: ") and stderr.count("\n") == 1 and "Traceback" not in stderr
    assert not (tmp_path / "out" / "one_pixel.png").exists()


# --------------------------------------------------------------------------- 5. several users at once


CALLS_PER_SESSION = 4


@pytest.mark.slow
def test_concurrent_sessions_get_their_own_results_while_a_finetune_runs(shared_colorizer, tmp_path):
    from colorizer import finetune

    sizes = [(48, 64), (64, 48), (37, 91), (80, 80), (33, 120), (96, 40)]
    images = [h.gradient_photo(hh, ww, seed=20 + i) for i, (hh, ww) in enumerate(sizes)]
    expected = [shared_colorizer.colorize(image) for image in images]  # serial, before any concurrency
    weights_before = shared_colorizer.model.get_weights()

    # A fine-tune of a *different* model, in this process, as the app's job queue runs one.
    base = h.save_cifar_checkpoint(tmp_path / "finetune_base", seed=1)
    photos = [(f"photo{i}.png", h.gradient_photo(48, 56, seed=40 + i)) for i in range(3)]
    training = threading.Event()
    config = finetune.FinetuneConfig(base=base, epochs=1, batch_size=4, crops_per_photo=2, val_share=0.34,
                                     seed=0, out_dir=tmp_path / "finetuned")
    job = finetune.FinetuneJob(config, photos, cache=finetune.FeatureCache(),
                               on_update=lambda s: s.state == "running" and s.steps_per_epoch and training.set())
    tuner = threading.Thread(target=job.run, name="finetune", daemon=True)
    tuner.start()
    assert training.wait(60), f"the fine-tune never started training: {job.status()}"

    results: dict[int, list[np.ndarray]] = {i: [] for i in range(len(images))}
    errors: list[str] = []
    during_finetune = []
    barrier = threading.Barrier(len(images))

    def session(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(CALLS_PER_SESSION):
                tuning = tuner.is_alive()
                results[i].append(shared_colorizer.colorize(images[i]))
                during_finetune.append(tuning and tuner.is_alive())
        except BaseException as err:  # noqa: BLE001 — reported below, with the session number
            errors.append(f"session {i}: {type(err).__name__}: {err}")

    sessions = [threading.Thread(target=session, args=(i,), name=f"session-{i}", daemon=True) for i in range(len(images))]
    for thread in sessions:
        thread.start()
    for thread in [*sessions, tuner]:
        thread.join(timeout=90)
        assert not thread.is_alive(), f"{thread.name} did not finish: deadlock?"

    assert not errors, errors
    for i, outputs in results.items():
        assert len(outputs) == CALLS_PER_SESSION
        assert all(np.array_equal(out, expected[i]) for out in outputs), f"session {i} got someone else's result"
    assert any(during_finetune), "no colorization overlapped the fine-tune"
    status = job.status()
    assert status.state == "done", status.error
    assert CHECKPOINT_FILES <= {p.name for p in (tmp_path / "finetuned").iterdir()}
    assert all(np.array_equal(a, b) for a, b in zip(weights_before, shared_colorizer.model.get_weights()))


# --------------------------------------------------------------------------- 6. nothing lost under SIGKILL


def _save_versions(folder: Path, sources: Path) -> None:
    """Version 0 at ``folder``; versions 1-3 as real .keras files in ``sources``. Version v has every weight = v.

    The model is a small L → ab network made elsewhere (no card architecture: its contract is inferred),
    ~2.5 MB: big enough that a kill can land inside the write, small enough to reload in a blink.
    """
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((16, 16, 1)), keras.layers.Conv2D(32, 3, padding="same"),
                              keras.layers.Conv2D(256, 3, padding="same"), keras.layers.Conv2D(256, 3, padding="same"),
                              keras.layers.Conv2D(2, 3, padding="same", activation="tanh")], name="small_l_ab")
    for version in range(4):
        model.set_weights([np.full(w.shape, version, w.dtype) for w in model.get_weights()])
        target = folder / "model.keras" if version == 0 else sources / f"v{version}.keras"
        checkpoints.save_model_atomic(model, target)
    checkpoints.write_card(folder, {"name": folder.name, "working_size": 16, "version": 0})
    checkpoints.atomic_write_text(folder / "history.csv", "epoch,learning_rate,loss,val_loss\n")


def _version_at(path: Path) -> int:
    """The version a checkpoint holds; fails unless it loads and every weight carries the same version."""
    values = {float(v) for w in checkpoints.load_keras_model(path).get_weights() for v in np.unique(w)}
    assert len(values) == 1, f"{path.name} mixes versions {sorted(values)}: half-written"
    return int(values.pop())


def _events(stdout: str, kind: str) -> list[tuple[int, int]]:
    """(save index, version) of the child's ``start`` or ``saved`` lines."""
    rows = [line.split() for line in stdout.splitlines()]
    return [(int(row[1]), int(row[2])) for row in rows if len(row) == 3 and row[0] == kind]


@pytest.mark.slow
def test_sigkill_during_saves_never_loses_the_checkpoint(tmp_path, monkeypatch):
    root, sources = tmp_path / "user_checkpoints", tmp_path / "sources"
    folder = root / "killed"
    _save_versions(folder, sources)
    monkeypatch.setenv("COLORIZER_CHECKPOINT_DIR", str(root))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])}
    rng = random.Random(6)
    current, next_save, strays_seen = 0, 0, 0

    for kill in range(6):
        errors = tmp_path / f"child{kill}.err"
        with open(errors, "w") as stderr:
            child = subprocess.Popen([sys.executable, "-c", h.KILL_CHILD, str(folder), str(sources), str(next_save)],
                                     stdout=subprocess.PIPE, stderr=stderr, text=True, env=env)
        try:
            ready = child.stdout.readline().strip() == "ready"
            time.sleep(rng.uniform(0.0, 0.4))
        finally:
            child.send_signal(signal.SIGKILL)
            stdout = child.stdout.read()  # the same reader as readline: nothing it buffered is lost
            child.wait(timeout=30)
        assert ready and child.returncode == -signal.SIGKILL, errors.read_text()  # killed by us, not failed alone

        started, saved = _events(stdout, "start"), _events(stdout, "saved")
        allowed = {saved[-1][1] if saved else current}  # the last complete save…
        if started and (not saved or started[-1][0] != saved[-1][0]):
            allowed.add(started[-1][1])  # …or the one in flight, if its rename happened before the kill
        version = _version_at(folder / "model.keras")
        assert version in allowed, (version, allowed, stdout[-300:])
        current, next_save = version, (started[-1][0] + 1 if started else next_save)

        card = json.loads((folder / "card.json").read_text())
        assert card["working_size"] == 16
        with open(folder / "history.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        assert all(None not in row.values() and "" not in row.values() for row in rows)
        assert checkpoints.user_checkpoints() == {"killed": folder}
        strays = [p.name for p in folder.iterdir() if p.name not in CHECKPOINT_FILES]
        assert all(name.startswith(".") for name in strays), strays
        strays_seen += len(strays)

    assert strays_seen >= 1, "no kill landed in the middle of a write: the test proved nothing"
    colorized = colorizer.load("killed").colorize(h.gray_photo(8, 8))
    assert colorized.shape == (8, 8, 3)


# --------------------------------------------------------------------------- 7. upload size limit


def test_upload_size_limit_is_set_explicitly():
    path = REPO_ROOT / ".streamlit" / "config.toml"
    assert path.is_file(), "the app's settings (.streamlit/config.toml) are missing"
    limit = tomllib.loads(path.read_text()).get("server", {}).get("maxUploadSize")
    assert isinstance(limit, int) and not isinstance(limit, bool) and limit > 0, limit
    # No larger than what any page takes (Streamlit keeps every upload in memory), and large enough for it: the
    # Video page's cap on a clip is this setting (session 34: a constant of its own had drifted from it).
    from ui.video_ui import MAX_UPLOAD_MB, clip_upload_mb

    assert MAX_UPLOAD_MB is None and clip_upload_mb() == limit, (limit, clip_upload_mb())
