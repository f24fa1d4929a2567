"""Fixtures for the app tests: tiny real checkpoints (seconds to build, kilobytes to megabytes on disk).

Imported by ``tests/test_app.py`` and ``tests/test_browser.py`` (``from app_fixtures import ...``);
the project's generic fixtures are in ``tests/conftest.py``. These add what the app needs: shipped
*and* fine-tuned stand-ins, cards with an "evaluation" and histories with several epochs.

- ``build_tiny_checkpoints(root)`` writes ``root/weights/{cifar_ae,vae,unet313}`` (stand-ins for the
  shipped checkpoints, at a 16 px working size) and ``root/user/cifar_ae_tuned`` (a stand-in for a
  fine-tuned one), each with model.keras, card.json (with an "evaluation") and history.csv;
- ``app_checkpoints`` (session): that folder;
- ``tiny_app_env`` (function): points ``colorizer.checkpoints.WEIGHTS_DIR`` and
  ``COLORIZER_CHECKPOINT_DIR`` at it for an in-process ``AppTest``;
- ``gray_png(size)`` / ``color_png(size)``: small test images as PNG bytes;
- ``assert_no_page_error(at)``: the page ran to its end. ``at.exception`` alone cannot tell:
  ``widgets.run_page`` turns a page's exception into an ``st.error`` (as do the sidebar's and the
  callbacks' safety nets): ``SAFETY_NET_ERRORS`` are how those messages start.
"""
from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

TINY_SIZE = 16
# How the app's safety nets start the st.error that replaces an unexpected exception: the page
# (``ui.widgets.run_page``), the sidebar (``ui.widgets.sidebar_ui``), a callback (``ui.callbacks.errors_ui``).
PAGE_FAILED = "Something went wrong: "
SAFETY_NET_ERRORS = (PAGE_FAILED, "The sidebar failed: ", "That did not work: ")
TINY_ARCHS = ("cifar_ae", "vae", "unet313", "hypercolumn_hints")
TUNED_NAME = "cifar_ae_tuned"


def _history_csv(epochs: int = 4) -> str:
    lines = ["epoch,learning_rate,loss,mae,val_loss,val_mae"]
    for e in range(epochs):
        loss = 0.05 / (e + 1)
        lines.append(f"{e},{1e-3 * 0.5 ** e},{loss},{loss * 3},{loss * 1.2},{loss * 3.3}")
    return "\n".join(lines) + "\n"


def _card(name: str, arch: str, params: int) -> dict:
    return {
        "name": name, "architecture": arch, "working_size": TINY_SIZE, "description": f"tiny {arch} for tests",
        "parameters": {"total": params, "trainable": params},
        "training": {"epochs": 4, "best_epoch": 4, "best_val_loss": 0.015, "device": "CPU"},
        "evaluation": {
            "gray": {"psnr": 22.0, "ssim": 0.9, "l2_ab": 12.0, "colorfulness": 0.0, "colorfulness_ratio": 0.0, "n_images": 3},
            name: {"psnr": 22.5, "ssim": 0.91, "l2_ab": 11.0, "colorfulness": 9.0, "colorfulness_ratio": 0.3, "n_images": 3},
            "truth": {"colorfulness": 30.0, "n_images": 3},
        },
    }


def build_tiny_checkpoints(root: Path) -> Path:
    """Write tiny untrained checkpoints under ``root`` (see the module docstring) → ``root``."""
    import keras

    from colorizer import checkpoints
    from colorizer.models import ARCHITECTURES

    keras.utils.set_random_seed(0)
    for arch in TINY_ARCHS:
        folder = root / "weights" / arch
        model = ARCHITECTURES[arch].build(TINY_SIZE)
        checkpoints.save_model_atomic(model, folder / "model.keras")
        checkpoints.write_card(folder, _card(arch, arch, model.count_params()))
        checkpoints.atomic_write_text(folder / "history.csv", _history_csv())
    tuned = root / "user" / TUNED_NAME
    shutil.copytree(root / "weights" / "cifar_ae", tuned)
    card = checkpoints.read_card(tuned)
    checkpoints.write_card(tuned, {**_card(TUNED_NAME, "cifar_ae", card["parameters"]["total"]), "base": "cifar_ae"})
    return root


@pytest.fixture(scope="session")
def app_checkpoints(tmp_path_factory) -> Path:
    return build_tiny_checkpoints(tmp_path_factory.mktemp("app_checkpoints"))


@pytest.fixture
def tiny_app_env(app_checkpoints, monkeypatch) -> Path:
    """In-process: shipped = the tiny weights, user checkpoints = the tiny fine-tuned one."""
    from colorizer import checkpoints

    monkeypatch.setattr(checkpoints, "WEIGHTS_DIR", app_checkpoints / "weights")
    monkeypatch.setenv("COLORIZER_CHECKPOINT_DIR", str(app_checkpoints / "user"))
    return app_checkpoints


@pytest.fixture
def no_checkpoints_env(tmp_path, monkeypatch) -> Path:
    """In-process: no shipped and no user checkpoints at all (weights not trained yet)."""
    from colorizer import checkpoints

    monkeypatch.setattr(checkpoints, "WEIGHTS_DIR", tmp_path / "no_weights")
    monkeypatch.setenv("COLORIZER_CHECKPOINT_DIR", str(tmp_path / "no_user"))
    return tmp_path


def _png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def gray_png(size: int = 40, width: int | None = None) -> bytes:
    """A gray gradient with a square: uint8 L PNG bytes, ``size`` px high and ``width`` (default ``size``) wide."""
    width = size if width is None else width
    y, x = np.mgrid[0:size, 0:width]
    gray = (x * 255 // max(1, width - 1)).astype(np.uint8)
    gray[size // 4: size // 2, size // 4: size // 2] = 30
    return _png(gray)


def color_png(size: int = 40) -> bytes:
    """A small color image (red, green, blue bands): RGB PNG bytes."""
    rgb = np.zeros((size, size, 3), np.uint8)
    third = size // 3
    rgb[:third, :, 0] = 220
    rgb[third:2 * third, :, 1] = 200
    rgb[2 * third:, :, 2] = 230
    return _png(rgb)


def as_read(text: str) -> str:
    """Text a page passed through ``ui.plain_text.plain``, as a visitor reads it (Markdown's backslash escapes
    removed): what the assertions compare."""
    import re

    return re.sub(r"\\(.)", r"\1", text)


def assert_no_page_error(at, context=None) -> None:
    """Fail when the last run of ``at`` (an ``AppTest``) raised, or when one of the app's safety nets
    caught an exception: an ``st.error`` (main area or sidebar) starting with ``SAFETY_NET_ERRORS``."""
    assert not at.exception, (context, at.exception)
    failed = [e.value for e in at.error if e.value.startswith(SAFETY_NET_ERRORS)]
    assert not failed, (context, failed)


def element_kinds(node) -> list[str]:
    """The page's elements and blocks in order, by kind: its layout as Streamlit's frontend diffs it."""
    kinds = [str(getattr(node, "type", type(node).__name__))]
    for child in getattr(node, "children", {}).values():
        kinds += element_kinds(child)
    return kinds
