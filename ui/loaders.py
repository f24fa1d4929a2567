"""Every cached loader of the app, in one module, so what is shared and for how long is visible at a glance.

Shared per server (``st.cache_resource``):
- ``load_colorizer(name)`` → ``colorizer.Colorizer``; keyed by the checkpoint's name, folder
  and ``model.keras`` mtime/size, so a fine-tuned checkpoint re-written in place is loaded afresh.
  A ``Colorizer`` is thread-safe (a lock around the forward pass), so sessions share one instance.
  Raises ``CheckpointError`` (one line) for a missing or unusable checkpoint.

Memoized data (``st.cache_data``, copies per caller, bounded by ``max_entries``):
- ``gallery_picture(key)`` / ``decode_upload(data, name)`` → ``DecodedImage`` (uint8 RGB H×W×3);
  ``decode_upload`` raises ``ImageError`` ("name: reason") for a broken file;
- ``colorized(model, stamp, image, digest, temperature, seed, hints_json)`` → (uint8 RGB H×W×3,
  seconds of the run that computed it); ``suggested_colors(model, stamp, image, digest, x, y,
  hints_json)`` → the model's most probable colors at a pixel; ``reference_colorized(model, stamp,
  image, digest, reference, reference_digest, temperature, hints_json)`` → ``exemplar.ReferenceResult``;
- ``colorized_samples(model, stamp, image, digest, n, seed)`` → list of uint8 RGB H×W×3;
- ``metrics_of(truth, predicted, key)`` / ``gray_metrics(truth, digest)`` → ``evaluate.image_metrics`` dicts;
- ``history_of(name)`` / ``card_of(name)`` → history rows / card dict of a checkpoint ([] / {}).
``stamp`` is ``checkpoint_stamp(name)``: it makes cached results follow a re-written checkpoint.
Heavy work waits its turn: ``decode_upload``, ``colorized``, ``reference_colorized`` and
``colorized_samples`` go through ``ui.work_queue`` (one job at a time per server, the waiting line shown
where they are called) unless the same result was made recently, which the cache answers at once.
Images are passed as ``_image`` (not hashed) next to ``digest = image_digest(image)``: Streamlit only
samples large arrays when hashing them, and two photos that differ in a few pixels must not collide.
"""
from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from colorizer import checkpoints, evaluate, gallery
from colorizer.checkpoints import CheckpointError
from colorizer.imageio import DecodedImage, decode_image
from ui import work_queue

if TYPE_CHECKING:  # Keras/TensorFlow load on the first model load, not when the sidebar draws
    from colorizer.inference import Colorizer

__all__ = [
    "available_checkpoints", "checkpoint_stamp", "load_colorizer", "image_digest", "gallery_picture", "decode_upload", "colorized", "reference_colorized", "suggested_colors", "colorized_samples",
    "metrics_of", "gray_metrics", "history_of", "card_of",
]

_log = logging.getLogger(__name__)

# Bounds on what a long-running server keeps: each model is tens of MB, each result a full-size image.
MODEL_CACHE_ENTRIES = 16
IMAGE_CACHE_ENTRIES = 48
RESULT_CACHE_ENTRIES = 64
RESULT_CACHE_TTL = "2h"
METRICS_MAX_SIDE = 2048


def available_checkpoints() -> dict[str, Path]:
    """name → folder of every checkpoint (``checkpoints.available_checkpoints``), falling back to the
    shipped ones alone when the user checkpoint folder cannot be made, e.g. a read-only home on a
    server: the shipped models still work."""
    try:
        return checkpoints.available_checkpoints()
    except OSError as err:
        _log.warning("user checkpoint folder unavailable: %s", err)
        return checkpoints.shipped_checkpoints()


def checkpoint_stamp(name: str) -> tuple[str, str, int, int]:
    """(name, folder, model.keras mtime_ns, size): the identity of a checkpoint's current contents."""
    folder = available_checkpoints().get(name)
    if folder is None:
        raise CheckpointError(
            f"{name}: no such checkpoint (train it: python -m colorizer train --arch ARCH, "
            "or fine-tune one on the Fine-tune page)"
        )
    try:
        stat = (Path(folder) / "model.keras").stat()
    except OSError as err:
        raise CheckpointError(f"{name}: cannot read model.keras ({err.strerror})") from None
    return name, str(folder), stat.st_mtime_ns, stat.st_size


@st.cache_resource(max_entries=MODEL_CACHE_ENTRIES, show_spinner=False)
def _colorizer_for(name: str, folder: str, mtime_ns: int, size: int) -> Colorizer:
    from colorizer import inference

    model = inference.load(Path(folder))
    try:
        # One tiny pass traces the graph now, so the first user's timing is not the tracing time.
        model.colorize(np.zeros((8, 8), np.uint8))
    except Exception as err:  # a foreign checkpoint that loads but does not fit its contract
        raise CheckpointError(f"{name}: loads but cannot colorize ({type(err).__name__}: {err})") from None
    return model


def load_colorizer(name: str) -> Colorizer:
    """The shared ``Colorizer`` of checkpoint ``name``; ``CheckpointError`` when it is missing or unusable."""
    return _colorizer_for(*checkpoint_stamp(name))


@st.cache_data(max_entries=IMAGE_CACHE_ENTRIES, show_spinner=False)
def gallery_picture(key: str) -> DecodedImage:
    """A gallery photo as a ``DecodedImage`` (gray photos as R = G = B with their ``gray`` levels,
    ``was_color`` False)."""
    photo = gallery.GALLERY[key]
    image = photo.load()
    gray = np.ascontiguousarray(image) if image.ndim == 2 else None
    rgb = image if gray is None else np.repeat(gray[..., None], 3, axis=2)
    return DecodedImage(name=f"{key}.png", rgb=rgb, alpha=None, was_color=photo.is_color,
                        notes=(f"Photo: {photo.credit}",), gray=gray)


@st.cache_data(max_entries=IMAGE_CACHE_ENTRIES, show_spinner=False)
def _decoded_upload(data: bytes, name: str) -> DecodedImage:
    return decode_image(data, name)


def decode_upload(data: bytes, name: str) -> DecodedImage:
    """Uploaded bytes → ``DecodedImage``; ``ImageError`` (not cached) for a broken file."""
    key = ("decode", name, hashlib.blake2b(data, digest_size=16).hexdigest())
    with work_queue.turn_ui(f"Reading {name}", key):
        return _decoded_upload(data, name)


def image_digest(image: np.ndarray) -> str:
    """A content hash of an array (shape, dtype and every byte): the cache key of an image."""
    image = np.ascontiguousarray(image)
    h = hashlib.blake2b(f"{image.shape}{image.dtype}".encode(), digest_size=16)
    h.update(memoryview(image).cast("B"))
    return h.hexdigest()


def _options_for(model: Colorizer, temperature: float | None, seed: int | None) -> dict:
    options = {}
    if model.has_temperature and temperature is not None:
        options["temperature"] = float(temperature)
    if model.is_stochastic and seed is not None:
        options["seed"] = int(seed)
    return options


@st.cache_data(max_entries=RESULT_CACHE_ENTRIES, ttl=RESULT_CACHE_TTL, show_spinner=False)
def _colorized(_model: Colorizer, stamp: tuple, _image: np.ndarray, digest: str,
               temperature: float | None, seed: int | None, hints_json: str) -> tuple[np.ndarray, float]:
    options = _options_for(_model, temperature, seed)
    if hints_json:
        options["hints"] = json.loads(hints_json)
    return _model.timed_colorize(_image, **options)


def colorized(model: Colorizer, stamp: tuple, image: np.ndarray, digest: str,
              temperature: float | None = None, seed: int | None = None, hints_json: str = "") -> tuple[np.ndarray, float]:
    """uint8 gray/RGB image → (uint8 RGB H×W×3, seconds); the model is identified by ``stamp``;
    ``hints_json``: the user's color hints (``colorizer.hints``) as JSON, "" for none."""
    key = ("colorized", stamp, digest, temperature, seed, hints_json)
    with work_queue.turn_ui(f"Colorizing with {model.name}", key):
        return _colorized(model, stamp, image, digest, temperature, seed, hints_json)


@st.cache_data(max_entries=RESULT_CACHE_ENTRIES, ttl=RESULT_CACHE_TTL, show_spinner=False)
def _certainty(_model: Colorizer, stamp: tuple, _image: np.ndarray, digest: str, temperature: float | None,
               hints_json: str) -> np.ndarray | None:
    return _model.certainty(_image, hints=json.loads(hints_json) if hints_json else None,
                            temperature=temperature if _model.has_temperature else None)


def certainty(model: Colorizer, stamp: tuple, image: np.ndarray, digest: str, temperature: float | None = None,
              hints_json: str = "") -> np.ndarray | None:
    """Where the model was sure of its colors (``Colorizer.certainty``: h×w in [0, 1]), None if it cannot say."""
    key = ("certainty", stamp, digest, temperature, hints_json)
    with work_queue.turn_ui(f"Measuring {model.name}'s certainty", key):
        return _certainty(model, stamp, image, digest, temperature, hints_json)


@st.cache_data(max_entries=RESULT_CACHE_ENTRIES, ttl=RESULT_CACHE_TTL, show_spinner=False)
def _reference_colorized(_model: Colorizer, stamp: tuple, _image: np.ndarray, digest: str, _reference: np.ndarray,
                         reference_digest: str, temperature: float | None, hints_json: str):
    options = _options_for(_model, temperature, None)
    hints = json.loads(hints_json) if hints_json else None
    return _model.colorize_with_reference(_image, _reference, hints=hints, **options)


def reference_colorized(model: Colorizer, stamp: tuple, image: np.ndarray, digest: str, reference: np.ndarray,
                        reference_digest: str, temperature: float | None = None, hints_json: str = ""):
    """The image colored from a reference photo → ``exemplar.ReferenceResult`` (image, automatic, confidence)."""
    key = ("reference", stamp, digest, reference_digest, temperature, hints_json)
    with work_queue.turn_ui(f"Colorizing from the reference with {model.name}", key):
        return _reference_colorized(model, stamp, image, digest, reference, reference_digest, temperature, hints_json)


@st.cache_data(max_entries=RESULT_CACHE_ENTRIES, ttl=RESULT_CACHE_TTL, show_spinner=False)
def suggested_colors(_model: Colorizer, stamp: tuple, _image: np.ndarray, digest: str, x: int, y: int,
                     hints_json: str = "") -> list[dict]:
    """The model's most probable colors at pixel (x, y) (``Colorizer.suggested_colors``)."""
    return _model.suggested_colors(_image, x, y, hints=json.loads(hints_json) if hints_json else None)


@st.cache_data(max_entries=RESULT_CACHE_ENTRIES, ttl=RESULT_CACHE_TTL, show_spinner=False)
def _colorized_samples(_model: Colorizer, stamp: tuple, _image: np.ndarray, digest: str,
                       n_samples: int, seed: int) -> list[np.ndarray]:
    return _model.colorize_samples(_image, n_samples=n_samples, seed=seed)


def colorized_samples(model: Colorizer, stamp: tuple, image: np.ndarray, digest: str,
                      n_samples: int, seed: int) -> list[np.ndarray]:
    """Several colorizations (the VAE's seeds seed, seed+1, …); one for a deterministic model."""
    with work_queue.turn_ui(f"Sampling with {model.name}", ("samples", stamp, digest, n_samples, seed)):
        return _colorized_samples(model, stamp, image, digest, n_samples, seed)


def _metric_size(image: np.ndarray) -> np.ndarray:
    from ui.charts import fit_within

    return fit_within(image, METRICS_MAX_SIDE)


@st.cache_data(max_entries=RESULT_CACHE_ENTRIES, ttl=RESULT_CACHE_TTL, show_spinner=False)
def metrics_of(_truth: np.ndarray, _predicted: np.ndarray, key: tuple) -> dict[str, float]:
    """``evaluate.image_metrics`` of a prediction against the color truth (every ``METRIC_NAMES``).

    ``key`` identifies the pair, e.g. (truth digest, stamp, options). Both images are first brought
    to at most ``METRICS_MAX_SIDE`` px (SSIM's float64 buffers would need gigabytes on a 50 MP photo).
    """
    return evaluate.image_metrics(_metric_size(_truth), _metric_size(_predicted))


@st.cache_data(max_entries=RESULT_CACHE_ENTRIES, ttl=RESULT_CACHE_TTL, show_spinner=False)
def gray_metrics(_truth: np.ndarray, digest: str) -> dict[str, float]:
    """The metrics of "no color at all" (the truth's L with a = b = 0): the baseline to beat."""
    truth = _metric_size(_truth)
    return evaluate.image_metrics(truth, evaluate.gray_baseline(truth))


def _file_stamp(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


@st.cache_data(max_entries=RESULT_CACHE_ENTRIES, show_spinner=False)
def _history(folder: str, mtime_ns: int) -> list[dict]:
    return checkpoints.read_history(folder)


@st.cache_data(max_entries=RESULT_CACHE_ENTRIES, show_spinner=False)
def _card(folder: str, mtime_ns: int) -> dict:
    return checkpoints.read_card(folder)


def history_of(name: str) -> list[dict]:
    """Rows of checkpoint ``name``'s history.csv ([] when it has none)."""
    folder = available_checkpoints().get(name)
    return _history(str(folder), _file_stamp(folder / "history.csv")) if folder else []


def card_of(name: str) -> dict:
    """Checkpoint ``name``'s card.json ({} when it has none)."""
    folder = available_checkpoints().get(name)
    return _card(str(folder), _file_stamp(folder / "card.json")) if folder else {}
