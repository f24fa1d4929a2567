"""Shared fixtures: tiny synthetic photos, tiny checkpoints of every architecture, an isolated user
checkpoint folder. Everything is seeded and small enough for a CPU test to take seconds.

Generic on purpose, so any test file may use them:
- ``make_photo(h, w, seed)`` → uint8 RGB H×W×3: smooth gradients plus a few flat shapes;
- ``lab_patch(h, w, L, chroma, hue)`` → uint8 RGB H×W×3 of one Lab color, ``flat_gray(rgb)`` → R = G = B,
  ``measured_chroma_and_hue(rgb)``: colors with known metric answers (``test_metrics``, ``test_evaluate``);
- ``photo_dir`` (session) → a folder with ``train/`` (4 PNGs), ``val/`` (2 PNGs) and ``manifest.csv``;
- ``build_tiny_model(name, seed=0)`` → a freshly built, untrained model at ``TINY_SIZES[name]``;
- ``tiny_models`` (session) → {arch: the tiny model saved in ``tiny_checkpoints``} (read-only);
- ``tiny_checkpoints`` (session) → {arch: folder with model.keras, card.json, history.csv};
- ``tiny_checkpoint_root`` (session) → the folder holding those, one subfolder per architecture;
- ``installed_tiny_checkpoints`` → points ``COLORIZER_CHECKPOINT_DIR`` at the tiny checkpoints and
  hides any shipped ``weights/``, so ``colorizer.load("cifar_ae")`` loads the tiny one;
- ``checkpoint_dir`` → a fresh, empty ``COLORIZER_CHECKPOINT_DIR`` for one test;
- ``no_shipped_weights`` → ``checkpoints.WEIGHTS_DIR`` pointed at an empty folder for one test;
- ``wait_until(condition)`` → polls until it holds, failing after ``PATIENCE_S``: for waits on threads, which
  assert what a thread has reached rather than that nothing happened within a fixed time.
- Streamlit's scan of the installed packages for components runs once a session, not once an ``AppTest``; the app's
  kept charts are forgotten before each test;
- at the end of a run, the tests not marked slow that took over ``UNMARKED_SLOW_S`` are named (the fast tier's upkeep).

No test writes to the user's cache: for the whole session ``COLORIZER_CHECKPOINT_DIR`` points at a
temporary folder (unless the environment already set it, e.g. a CI sandbox).
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

# Before TensorFlow is imported anywhere: keep its C++ start-up chatter out of test output.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:  # the package is used from the checkout, not installed
    sys.path.insert(0, str(REPO_ROOT))

# Working sizes small enough for a training step in well under a second (multiples of 8 for the U-Nets,
# of 16 for the flagship's VGG16 blocks 3–5).
class _TinySizes(dict):
    """A new architecture without its entry fails with what to do, not a bare KeyError deep in a session fixture
    that breaks unrelated tests (session 39's contributor walk-through)."""

    def __missing__(self, name):
        raise KeyError(f"{name!r} has no tiny size: add it to TINY_SIZES in tests/conftest.py (README, Contributing)")


TINY_SIZES = _TinySizes({"hypercolumn": 32, "hypercolumn_hints": 32, "cifar_ae": 32, "vgg16_ae": 32, "vae": 16,
                         "unet313": 32})


# Generous: a thread on a loaded 2-core machine may wait seconds for its turn on a core; a test that
# passes never waits this long.
PATIENCE_S = 60


# A test not marked slow whose own run takes longer than this is named at the end of the run: the fast tier
# (-m "not slow") stays a few minutes only if long tests are marked (pyproject.toml: over about 3 s on the 2-core machine).
# Named only from 10 s: the first test of a worker to use something (Numba's compilation on a fresh clone, a TensorFlow
# trace) pays 5-9 s for it once, and marking that test would only hand the cost to the next one.
UNMARKED_SLOW_S = 10.0


def pytest_terminal_summary(terminalreporter):
    """Names the tests over ``UNMARKED_SLOW_S`` that the fast tier still runs, with what to add."""
    unmarked = sorted(((report.duration, report.nodeid) for report in terminalreporter.stats.get("passed", [])
                       if report.when == "call" and report.duration > UNMARKED_SLOW_S and "slow" not in report.keywords),
                      reverse=True)
    if unmarked:
        terminalreporter.section(f"tests the fast tier runs that took over {UNMARKED_SLOW_S:g} s: mark them @pytest.mark.slow")
        for duration, nodeid in unmarked:
            terminalreporter.write_line(f"{duration:5.1f} s  {nodeid}")


def wait_until(condition, timeout: float = PATIENCE_S):
    """Wait for ``condition()`` to hold (polling), failing after ``timeout`` seconds → the value it held with."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.005)
    return value


def make_photo(h: int, w: int, seed: int = 0) -> np.ndarray:
    """A seeded synthetic color "photo": uint8 RGB H×W×3, smooth gradients plus a disc and a rectangle.

    Smooth areas and sharp edges, saturated and muted colors: enough for crops, Lab and metrics to
    have something to chew on, deterministic for a given seed.
    """
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy, xx = yy / max(h - 1, 1), xx / max(w - 1, 1)
    phase = rng.uniform(0, 2 * np.pi, 3)
    image = np.stack([
        0.5 + 0.4 * np.sin(2 * np.pi * (xx * rng.uniform(0.5, 1.5)) + phase[0]),
        0.5 + 0.4 * np.cos(2 * np.pi * (yy * rng.uniform(0.5, 1.5)) + phase[1]),
        0.3 + 0.5 * (xx + yy) / 2 + 0.1 * np.sin(phase[2]),
    ], axis=-1)
    cy, cx, r = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7), rng.uniform(0.15, 0.3)
    image[(yy - cy) ** 2 + (xx - cx) ** 2 < r**2] = rng.uniform(0.1, 0.9, 3)
    top, left = rng.uniform(0.0, 0.5, 2)
    image[(yy > top) & (yy < top + 0.3) & (xx > left) & (xx < left + 0.2)] = rng.uniform(0.1, 0.9, 3)
    return np.clip(image * 255 + 0.5, 0, 255).astype(np.uint8)


def css_rgb(color: str) -> list[float]:
    """CSS's "rgb(r, g, b)" or "rgba(r, g, b, a)", as a browser computes a style → [r, g, b], 0-255."""
    return [float(v) for v in color[color.index("(") + 1:color.index(")")].split(",")[:3]]


def wcag_contrast(a, b) -> float:
    """WCAG's contrast ratio of two sRGB colors: (r, g, b) numbers 0-255, or CSS's "rgb(r, g, b)" as a browser
    computes a style."""
    def luminance(color) -> float:
        if isinstance(color, str):
            color = css_rgb(color)
        linear = [c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in color]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def lab_patch(h: int, w: int, L: float, chroma: float, hue_deg: float) -> np.ndarray:
    """A uint8 RGB h×w patch of one Lab color given as L, chroma and hue (degrees)."""
    from colorizer import color

    hue = np.radians(hue_deg)
    lab = np.broadcast_to(np.array([L, chroma * np.cos(hue), chroma * np.sin(hue)], np.float32), (h, w, 3))
    return color.lab_to_rgb(np.ascontiguousarray(lab))


def measured_chroma_and_hue(rgb: np.ndarray) -> tuple[float, float]:
    """The (chroma, hue in degrees) of ``rgb``'s top-left pixel, as ``colorizer.color`` measures them."""
    from colorizer import color

    a, b = color.ab_of_rgb(rgb)[0, 0]
    return float(np.hypot(a, b)), float(np.degrees(np.arctan2(b, a)))


def flat_gray(rgb: np.ndarray) -> np.ndarray:
    """R = G = B exactly (a = b = 0 to float precision), of about the same lightness."""
    from colorizer import color

    return np.repeat(color.to_gray(rgb)[..., None], 3, axis=-1)


def load_script(name: str):
    """``scripts/NAME.py`` imported as module ``NAME`` (the scripts folder is not a package). It is registered in
    ``sys.modules`` (dataclasses look their module up there) and ``scripts/`` is put on ``sys.path``, since the
    fetch scripts import each other by name."""
    import importlib.util

    scripts = Path(__file__).resolve().parents[1] / "scripts"
    if str(scripts) not in sys.path:
        sys.path.insert(0, str(scripts))
    spec = importlib.util.spec_from_file_location(name, scripts / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def write_png(path: Path, rgb: np.ndarray) -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path)
    return path


@pytest.fixture(scope="session", autouse=True)
def _session_checkpoint_dir(tmp_path_factory):
    """Keep every test away from ~/.cache/colorizer: user checkpoints go to a session temp folder."""
    if "COLORIZER_CHECKPOINT_DIR" in os.environ:
        yield Path(os.environ["COLORIZER_CHECKPOINT_DIR"])
        return
    folder = tmp_path_factory.mktemp("user_checkpoints")
    os.environ["COLORIZER_CHECKPOINT_DIR"] = str(folder)
    try:
        yield folder
    finally:
        os.environ.pop("COLORIZER_CHECKPOINT_DIR", None)


@pytest.fixture(scope="session", autouse=True)
def _installed_components_scanned_once():
    """Each ``AppTest`` scans every installed distribution's metadata for Streamlit components (0.3 s here, 167
    distributions; a server does it once at start). The installed packages do not change during a run, so the
    suite scans once: session 46's profile found the scans 8 % of the app tests' time."""
    import functools

    from streamlit.components.v2 import manifest_scanner

    real = manifest_scanner.scan_component_manifests
    manifest_scanner.scan_component_manifests = functools.cache(real)
    try:
        yield
    finally:
        manifest_scanner.scan_component_manifests = real


@pytest.fixture(autouse=True)
def _no_kept_charts():
    """The app's kept charts (``ui.widgets.kept_chart_ui``) live in the process, not in an ``AppTest``: a chart a test
    drew would be found by a later one that means to see it built (session 46's review). Each test starts without."""
    widgets = sys.modules.get("ui.widgets")  # not imported yet: nothing kept
    if widgets is not None:
        widgets._kept_figure.clear()


@pytest.fixture(autouse=True)
def _no_background_warmup(monkeypatch):
    """AppTest runs the entry file in this process, and its first run started ui.warmup's thread: the default
    model loading in the background while a test built its own raced Keras's global state (the review saw a
    warm-up fail inside network(x), once in four runs of test_finetune_page). Here the warm-up counts as done;
    the warm-up's own tests start it afresh (test_warmup's ``fresh_warmup``); the browser tests' servers are
    other processes and keep theirs."""
    from ui import warmup

    monkeypatch.setattr(warmup, "_current", warmup.Warmup(error="off in the tests", finished=0.0))


@pytest.fixture
def checkpoint_dir(tmp_path, monkeypatch) -> Path:
    """A fresh, empty user checkpoint folder for one test."""
    folder = tmp_path / "user_checkpoints"
    folder.mkdir()
    monkeypatch.setenv("COLORIZER_CHECKPOINT_DIR", str(folder))
    return folder


@pytest.fixture
def no_shipped_weights(tmp_path, monkeypatch) -> Path:
    """Hide the repo's weights/ (it fills up while the background training runs)."""
    from colorizer import checkpoints

    folder = tmp_path / "no_weights"
    folder.mkdir()
    monkeypatch.setattr(checkpoints, "WEIGHTS_DIR", folder)
    return folder


@pytest.fixture(scope="session")
def photo_dir(tmp_path_factory) -> Path:
    """``train/`` (4 photos) and ``val/`` (2 photos) of small synthetic color PNGs, plus a manifest."""
    root = tmp_path_factory.mktemp("photos")
    shapes = {"train": [(48, 64), (64, 48), (40, 40), (56, 72)], "val": [(48, 60), (44, 44)]}
    rows = ["package,file,license"]
    seed = 0
    for split, sizes in shapes.items():
        for i, (h, w) in enumerate(sizes):
            name = f"{split}_{i}.png"
            write_png(root / split / name, make_photo(h, w, seed=seed))
            rows.append(f"synthetic-test-photos,{split}/{name},CC0-1.0")
            seed += 1
    (root / "manifest.csv").write_text("\n".join(rows) + "\n")
    return root


def _build_tiny_model(name: str, seed: int = 0):
    import keras

    from colorizer.models import ARCHITECTURES

    keras.utils.set_random_seed(seed)
    return ARCHITECTURES[name].build(TINY_SIZES[name])


@pytest.fixture(scope="session")
def build_tiny_model():
    """``build_tiny_model(name, seed=0)`` → a fresh untrained model of architecture ``name`` at its tiny size."""
    return _build_tiny_model


def save_tiny_checkpoint(model, folder: Path, name: str, architecture: str | None, size: int) -> Path:
    """A checkpoint folder as training writes one: model.keras, card.json, history.csv."""
    from colorizer import checkpoints

    checkpoints.save_model_atomic(model, folder / "model.keras")
    card = {"name": name, "working_size": size, "parameters": {"total": int(model.count_params())}}
    if architecture:
        card["architecture"] = architecture
    checkpoints.write_card(folder, card)
    checkpoints.atomic_write_text(
        folder / "history.csv",
        "epoch,learning_rate,loss,mae,val_loss,val_mae\n0,0.001,0.5,0.4,0.6,0.5\n1,0.001,0.25,0.3,0.3,0.35\n",
    )
    return folder


def with_hints(name: str, x, seed: int = 0):
    """The inputs of architecture ``name``'s network for input ``x`` (L, or encoder features): a
    hint-taking one also gets a hint grid at its output size, simulated from random colors (seeded)."""
    from colorizer.hints import simulate_grid_hints
    from colorizer.models import ARCHITECTURES

    arch = ARCHITECTURES[name]
    if not arch.TAKES_HINTS:
        return x
    first = x[0] if isinstance(x, (list, tuple)) else x
    n, side = len(first), TINY_SIZES[name] // arch.OUTPUT_STRIDE
    rng = np.random.default_rng(seed)
    grid = simulate_grid_hints(rng.uniform(-0.4, 0.4, (n, side, side, 2)).astype(np.float32), rng, arch.OUTPUT_STRIDE)
    return [*(x if isinstance(x, (list, tuple)) else [x]), grid]


def _muted(model):
    """An untrained vgg16_ae (or hypercolumn) decoder sees raw VGG16 activations (hundreds) and saturates its tanh:
    ab ≈ ±110, mostly outside the sRGB gamut. Scaled down, its last conv predicts muted colors, as a
    trained checkpoint does, so tests of the join measure rounding rather than gamut clipping."""
    # hypercolumn_hints' extra inputs make its untrained distribution sure of vivid bins too: mute both heads.
    last_layers = {"vgg16_ae": ["ab_half"], "hypercolumn": ["ab_reg"], "hypercolumn_hints": ["ab_reg", "probs"]}.get(model.name, [])
    for name in last_layers:
        last = model.get_layer("decoder").get_layer(name)
        last.kernel.assign(last.kernel * 0.02)
    return model


@pytest.fixture(scope="session")
def tiny_models() -> dict:
    """{architecture name: the tiny untrained model saved in ``tiny_checkpoints``}. Shared: do not train
    or modify them (use ``build_tiny_model`` for a private one)."""
    from colorizer.models import ARCHITECTURES

    return {name: _muted(_build_tiny_model(name)) for name in ARCHITECTURES}


@pytest.fixture(scope="session")
def tiny_checkpoint_root(tmp_path_factory, tiny_models) -> Path:
    """A folder with one tiny, untrained checkpoint per architecture, each named like the architecture."""
    root = tmp_path_factory.mktemp("tiny_checkpoints")
    for name, model in tiny_models.items():
        save_tiny_checkpoint(model, root / name, name, name, TINY_SIZES[name])
    return root


@pytest.fixture(scope="session")
def tiny_checkpoints(tiny_checkpoint_root) -> dict[str, Path]:
    """{architecture name: checkpoint folder} of the tiny checkpoints."""
    return {p.name: p for p in sorted(tiny_checkpoint_root.iterdir()) if (p / "model.keras").is_file()}


@pytest.fixture
def installed_tiny_checkpoints(tiny_checkpoint_root, monkeypatch, no_shipped_weights) -> dict[str, Path]:
    """Make ``colorizer.load(<arch name>)`` and ``available_checkpoints()`` see only the tiny checkpoints."""
    monkeypatch.setenv("COLORIZER_CHECKPOINT_DIR", str(tiny_checkpoint_root))
    return {p.name: p for p in sorted(tiny_checkpoint_root.iterdir()) if (p / "model.keras").is_file()}


@pytest.fixture(scope="session")
def tiny_colorizers(tiny_checkpoints):
    """{architecture name: loaded ``Colorizer``} of the tiny checkpoints, loaded once per session."""
    from colorizer.inference import load

    return {name: load(folder) for name, folder in tiny_checkpoints.items()}
