"""The app's cached loaders, in one module, so what is shared and for how long is visible at a glance (the Video
page's sample clip and first frames are cached in ``ui.video_ui``, beside the clip store they read).

What a visitor may use: ``available_checkpoints()`` (the shipped checkpoints, the operator's, the ones
shared on this server and the visitor's own: ``colorizer.access``, ``ui.visitor``); ``checkpoint_stamp``
and everything keyed by it see only those.

Shared per server, each computed once in its turn of the work queue (``ui.shared_cache``: values shared
read-only, never copied per caller; a miss always queues; two sessions missing one key compute it once):
- ``load_colorizer(name)`` → ``colorizer.Colorizer``; keyed by the checkpoint's name, folder and
  ``model.keras`` mtime/size, so a fine-tuned checkpoint re-written in place is loaded afresh; kept within
  ``MODEL_CACHE_MB``, each model weighed by its parameters (``model_bytes``). A ``Colorizer`` is
  thread-safe (a lock around the forward pass), so sessions share one instance. Raises ``CheckpointError`` (one line) for a missing or unusable checkpoint.
- ``gallery_picture(key)`` / ``decode_upload(data, name)`` → ``DecodedImage`` (uint8 RGB H×W×3);
  ``decode_upload`` reads in ``work_queue.DECODE_QUEUE`` within the decode budget (a larger picture is
  shrunk while it decodes) and raises ``ImageError`` ("name: reason", remembered like a result, so a
  refused file is not decoded again on every rerun);
- ``colorized(model, stamp, image, digest, temperature, seed, hints_json)`` → ``inference.Timed`` (the uint8
  RGB H×W×3, the seconds of the run that computed it, whether it was the network's first at that shape); ``certainty_and_scene(...)`` → (h×w in [0, 1] or None, the colorfulness
  gate's ``SceneColorfulness`` or None); ``suggested_colors(model,
  stamp, image, digest, x, y, hints_json)`` → the model's most probable colors at a pixel;
  ``reference_colorized(model, stamp, image, digest, reference, reference_digest, temperature,
  hints_json, reference_alpha)`` → ``exemplar.ReferenceResult`` (from the pixels the reference shows); ``colorized_samples(model, stamp, image, digest, n, seed)``
  → list of uint8 RGB H×W×3; ``metrics_of(truth, predicted, key, alpha)`` / ``gray_metrics(truth, digest, alpha)`` /
  ``palette_metrics(truth, digest, alpha)`` → ``metrics.image_metrics`` dicts, over the pixels the alpha plane shows; ``baseline_seconds(name, colorize, image, digest)`` → seconds of one
  full-resolution baseline run. All of these, and the pictures, share ``CACHE`` (``CACHE_MB``,
  least recently used first out, each for at most ``RESULT_TTL_S``).
Memoized small data (``st.cache_data``): ``history_of(name)`` / ``card_of(name)`` → history rows / card
dict of a checkpoint ([] / {}; an unreadable history raises ``CheckpointError``, one line); ``history_stamp(name,
available)`` (not memoized): the history's identity, part of a chart's key; ``learned_photo(name,
picture, digest)``: whether a fine-tuned checkpoint trained on this picture (its card's photo prints).
``stamp`` is ``checkpoint_stamp(name)``: it makes cached results follow a re-written checkpoint.
Images are passed next to ``digest = image_digest(image)``, the key of their contents.
"""
from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from colorizer import checkpoints, evaluate, gallery, metrics, process
from colorizer.checkpoints import CheckpointError
from colorizer.decode_budget import OPERATOR_ADVICE
from colorizer.exemplar import reference_shown
from colorizer.imageio import DecodedImage, DecodeTimeoutError, ImageError, decode_image
from colorizer.photo_prints import card_prints, photo_print, same_photo
from ui import visitor, work_queue
from ui.shared_cache import SharedCache

if TYPE_CHECKING:  # Keras/TensorFlow load on the first model load, not when the sidebar draws
    from colorizer.inference import Colorizer

__all__ = [
    "available_checkpoints", "checkpoint_stamp", "load_colorizer", "image_digest", "alpha_key", "gallery_picture", "decode_upload", "colorized", "reference_colorized", "suggested_colors", "colorized_samples",
    "metrics_of", "gray_metrics", "palette_metrics", "baseline_seconds", "history_of", "history_stamp", "card_of", "certainty_and_scene", "CACHE", "MODELS", "viewer",
]

_log = logging.getLogger(__name__)

# Cards and histories kept (small: a card is a few KB); models and results are bounded by MODEL_CACHE_MB and CACHE_MB.
CARD_CACHE_ENTRIES = 64
# Pictures and results together: twenty students' 12 MP photos and results would be ~1.7 GB; this
# keeps the most recent (a rerun finds them), and what falls out is computed again in its turn.
CACHE_MB = 300
RESULT_TTL_S = 2 * 3600
# A read stopped at its time limit says as much about the server's load then as about the file: kept a minute, not
# RESULT_TTL_S (an honest photo refused in a rush can be tried again), and not less (each widget touch reruns the
# page, and would spend the shared decode lane's 10 s again on the same file).
TIMED_OUT_TTL_S = 60
METRICS_MAX_SIDE = 2048
# What a visitor can do about a picture over the decode budget (the CLI's user is told to raise it instead).
VISITOR_ADVICE = "this server takes no larger one: shrink it and upload it again"

# Loaded models, weighed by their parameters: each load of a flagship-sized model (18.7 M parameters, its
# frozen encoders rebuilt with it) measured about 140 MB of the server's memory, so counting entries let a
# Compare page of fine-tuned models reach gigabytes. The six shipped models weigh about 400 MB. Since session 32
# the frozen encoders' weights are shared (models.layers.fill_frozen_weights) and a further flagship measures
# ~24 MiB: the weighing is conservative now, on purpose. Weighed by what each holds alone, this budget would keep
# ~21 fine-tuned flagships beside the shipped six for good (~500 MiB), past the cap beside a fine-tune; a smaller
# budget to go with it wants a benchmark with the model cache full (docs/deploy.md). 900, not 800: the six shipped
# models count 392 MiB and a fine-tuned flagship 143, so 800 held two of Compare's three (compare_ui.MAX_TUNED),
# and its sweep of nine models through eight places missed every one of them on every rerun: 8-9 s of loads a
# widget touch, in the line every visitor waits in, with the flagship itself pushed out (session 34's audit).
MODEL_CACHE_MB = 900
# The work queue's kind for every model load: a load (seconds) estimates the next one, whichever model it is, and
# the warm-up's load at a server's start gives the first estimate (not a 1 s colorization's).
MODEL_LOAD = "model load"
BYTES_PER_PARAMETER = 8


def model_bytes(model) -> int:
    """What a loaded ``Colorizer`` is counted as in ``MODELS``: its parameters × ``BYTES_PER_PARAMETER``."""
    return int(getattr(model, "param_count", 0)) * BYTES_PER_PARAMETER + 2**20


CACHE = SharedCache(CACHE_MB * 2**20, ttl_s=RESULT_TTL_S)
MODELS = SharedCache(MODEL_CACHE_MB * 2**20, weigh=model_bytes)

# While a fine-tune runs, pictures and results together hold this much: its training takes ~850 MiB above the
# server's resident set, and beside a full cache, a 12 MP colorization and a 12 MP decode the server peaked at
# 2,714 MiB, past a 2.7 GB host's cap (2,575); with 64 MB, 2,403 / 2,464, with 80 MB 2,448 / 2,564, with 128 MB
# 2,493 / 2,544 (docs/deploy.md, session 31). Since the frozen encoders are shared (session 32): 64 MB 2,005 /
# 2,087, 128 MB 2,065 / 2,160, 300 MB (no shrink) 2,229 / 2,308 against the 2,384 budget. 128 keeps a 12 MP
# picture and its result (72 MB) together, so a class's reruns do not colorize them again meanwhile; what falls
# out is made again in its turn when a page asks for it (a 12 MP reference result with its automatic one, over
# 128 MB, is not kept).
CACHE_MB_BESIDE_FINETUNE = 128


def _room_for_a_finetune(running: bool) -> None:
    CACHE.limit((CACHE_MB_BESIDE_FINETUNE if running else CACHE_MB) * 2**20)


process.on_big_job(_room_for_a_finetune)


def _shared(key: tuple, what: str, compute, queue: work_queue.WorkQueue | None = None, ttl_of=None):
    """``CACHE.get`` with the turn shown on the page, and a toast when another visitor's identical
    request is already in line (the result is then shared). The line's place is kept whether the result is
    held already or not (``work_queue.waiting_line``)."""
    line = work_queue.waiting_line()
    with _waiting_on_another(what, line) as on_wait:
        return CACHE.get(key, compute, turn=lambda: work_queue.turn_ui(what, queue=queue, line=line),
                         on_join=lambda: _toast(f"{what}: another visitor asked for the same; their result is shared"),
                         on_wait=on_wait, ttl_of=ttl_of)


@contextmanager
def _waiting_on_another(what: str, line):
    """``SharedCache.get``'s ``on_wait`` for a page: the waiting line says, each second, that another visitor's identical
    request is under way (drawing also lets this visitor's clicks through: a silent wait froze the page for as long
    as the other request waited its turn, 6 s behind three jobs in session 33's audit), and is cleared once the wait is
    over. None outside a page."""
    if line is None:
        yield None
        return
    shown = [-1]

    def on_wait(seconds: float) -> None:
        if int(seconds) != shown[0]:
            shown[0] = int(seconds)
            line.info(f"{what}: another visitor asked for the same first; their result is shared when it is ready "
                      f"({int(seconds)} s)", icon=":material/hourglass_top:")
    try:
        yield on_wait
    finally:
        if shown[0] >= 0:
            try:
                line.empty()
            except Exception:  # noqa: BLE001 - the page is going away (rerun, stop): nothing left to clear
                pass


def _toast(text: str) -> None:
    if work_queue._in_a_page():
        try:
            st.toast(text, icon=":material/group:")
        except Exception:  # noqa: BLE001 - the page is going away: nothing to tell
            pass


def viewer() -> str:
    """Whose checkpoints the running page may list: the visitor's token ("" outside a page: only the
    shipped, the operator's and the shared ones)."""
    return visitor.token() if work_queue._in_a_page() else ""


def available_checkpoints() -> dict[str, Path]:
    """name → folder of every checkpoint this visitor may use (``checkpoints.available_checkpoints``):
    a missing or read-only user checkpoint folder lists none of its own, and the shipped ones still work."""
    return checkpoints.available_checkpoints(viewer())


def checkpoint_stamp(name: str) -> tuple[str, str, int, int]:
    """(name, folder, model.keras mtime_ns, size): the identity of a checkpoint's current contents."""
    folder = available_checkpoints().get(name)
    if folder is None:
        raise CheckpointError(
            f"{name}: no such checkpoint (train it: python -m colorizer train --arch ARCH --data data/photos, "
            "or fine-tune one on the Fine-tune page)"
        )
    try:
        stat = (Path(folder) / "model.keras").stat()
    except OSError as err:
        raise CheckpointError(f"{name}: cannot read model.keras ({err.strerror})") from None
    return name, str(folder), stat.st_mtime_ns, stat.st_size


def _colorizer_for(name: str, folder: str, mtime_ns: int, size: int) -> Colorizer:
    from colorizer import inference

    model = inference.load(Path(folder))
    try:
        # One tiny pass traces the graph now, so the first user's timing is not the tracing time.
        model.colorize(np.zeros((8, 8), np.uint8))
    except Exception as err:  # a foreign checkpoint that loads but does not fit its contract
        raise CheckpointError(f"{name}: loads but cannot colorize ({type(err).__name__}: {err})") from None
    if Path(folder).parent == checkpoints.WEIGHTS_DIR:
        # A shipped model serves every visitor: on LiteRT where that is faster, its flatbuffer filled from the
        # template beside it and checked in the background (TensorFlow meanwhile). Never converted here: a
        # conversion's peak memory would break the server's budget (colorizer/lite.py).
        model.use_lite()
    return model


def load_colorizer(name: str) -> Colorizer:
    """The shared ``Colorizer`` of checkpoint ``name`` (loaded in its turn of the work queue: a load is
    seconds of both cores); ``CheckpointError`` when it is missing or unusable."""
    stamp = checkpoint_stamp(name)
    line = work_queue.waiting_line()
    with _waiting_on_another(f"Loading model {name}", line) as on_wait:
        return MODELS.get(("model", *stamp), lambda: _colorizer_for(*stamp),
                          turn=lambda: work_queue.turn_ui(f"Loading model {name}", line=line, kind=MODEL_LOAD),
                          on_wait=on_wait)


def gallery_picture(key: str) -> DecodedImage:
    """A gallery photo as a ``DecodedImage`` (gray photos as R = G = B with their ``gray`` levels,
    ``was_color`` False). Read outside the work queue: a few shipped photos of known size, no visitor's file."""
    return CACHE.get(("gallery", key), lambda: _gallery_picture(key))


def _gallery_picture(key: str) -> DecodedImage:
    photo = gallery.GALLERY[key]
    image = photo.load()
    gray = np.ascontiguousarray(image) if image.ndim == 2 else None
    rgb = image if gray is None else np.repeat(gray[..., None], 3, axis=2)
    return DecodedImage(name=f"{key}.png", rgb=rgb, alpha=None, was_color=photo.is_color,
                        notes=(f"Photo: {photo.credit}",), gray=gray)


def _decoded_or_refused(data: bytes, name: str) -> DecodedImage | ImageError:
    try:
        return decode_image(data, name, fit=True)
    except ImageError as err:
        return err


def decode_upload(data: bytes, name: str) -> DecodedImage:
    """Uploaded bytes → ``DecodedImage`` (within the decode budget, in the decode queue); ``ImageError``
    for a file that cannot be used (remembered as a result is)."""
    key = ("decode", name, hashlib.blake2b(data, digest_size=16).hexdigest())
    outcome = _shared(key, f"Reading {name}", lambda: _decoded_or_refused(data, name), queue=work_queue.DECODE_QUEUE,
                      ttl_of=lambda outcome: TIMED_OUT_TTL_S if isinstance(outcome, DecodeTimeoutError) else None)
    if isinstance(outcome, ImageError):
        raise ImageError(outcome.name, for_visitor(outcome.reason))
    return outcome


def for_visitor(line: str) -> str:
    """An error line for a page: a visitor cannot set the server's environment, so the CLI's advice on the decode
    budget becomes what they can do."""
    return line.replace(OPERATOR_ADVICE, VISITOR_ADVICE)


_digests: dict[int, tuple[weakref.ref, str]] = {}
_digests_lock = threading.Lock()


def image_digest(image: np.ndarray) -> str:
    """A content hash of an array (shape, dtype and every byte): the cache key of an image. Remembered
    for a shared, read-only array (every rerun of every page asks again for the same picture: a 12 MP
    photo is 36 MB to hash)."""
    frozen = isinstance(image, np.ndarray) and not image.flags.writeable
    if frozen:
        with _digests_lock:
            known = _digests.get(id(image))
        if known is not None and known[0]() is image:
            return known[1]
    contiguous = np.ascontiguousarray(image)
    h = hashlib.blake2b(f"{contiguous.shape}{contiguous.dtype}".encode(), digest_size=16)
    h.update(memoryview(contiguous).cast("B"))
    digest = h.hexdigest()
    if frozen:
        key = id(image)
        with _digests_lock:
            _digests[key] = (weakref.ref(image, lambda _, key=key: _forget_digest(key)), digest)
    return digest


def _forget_digest(key: int) -> None:
    with _digests_lock:
        _digests.pop(key, None)


def _settings(model: Colorizer, temperature: float | None, seed: int | None) -> tuple[float | None, int | None]:
    """(temperature, seed) as far as they change this model's result: None for one it takes no such setting, and a
    temperature at its default is None too. The Colorize page passes its slider's default and Compare passes None:
    keyed apart, one picture was colorized twice by the same model (session 39's review)."""
    if not model.has_temperature or temperature is None or abs(float(temperature) - model.default_temperature) < 1e-9:
        temperature = None
    return (None if temperature is None else float(temperature),
            int(seed) if model.is_stochastic and seed is not None else None)


def _options_for(model: Colorizer, temperature: float | None, seed: int | None) -> dict:
    temperature, seed = _settings(model, temperature, seed)
    return {**({} if temperature is None else {"temperature": temperature}), **({} if seed is None else {"seed": seed})}


def colorized(model: Colorizer, stamp: tuple, image: np.ndarray, digest: str,
              temperature: float | None = None, seed: int | None = None, hints_json: str = ""):
    """uint8 gray/RGB image → ``inference.Timed`` (uint8 RGB H×W×3, seconds, whether the model met its shape
    for the first time then); the model is identified by ``stamp``; ``hints_json``: the user's color hints
    (``colorizer.hints``) as JSON, "" for none."""
    def compute():
        options = _options_for(model, temperature, seed)
        if hints_json:
            options["hints"] = json.loads(hints_json)
        return model.timed_colorize(image, **options)

    return _shared(("colorized", stamp, digest, *_settings(model, temperature, seed), hints_json),
                   f"Colorizing with {model.name}", compute)


def certainty_and_scene(model: Colorizer, stamp: tuple, image: np.ndarray, digest: str, temperature: float | None = None,
                        hints_json: str = "") -> tuple:
    """(where the model was sure of its colors: h×w in [0, 1] or None if it cannot say; what its colorfulness
    gate did or None) from one network pass (``Colorizer.certainty_and_scene``)."""
    temperature = _settings(model, temperature, None)[0]

    def compute():
        return model.certainty_and_scene(image, hints=json.loads(hints_json) if hints_json else None,
                                         temperature=temperature)

    return _shared(("certainty", stamp, digest, temperature, hints_json), f"Measuring {model.name}'s certainty", compute)


def reference_colorized(model: Colorizer, stamp: tuple, image: np.ndarray, digest: str, reference: np.ndarray,
                        reference_digest: str, temperature: float | None = None, hints_json: str = "",
                        reference_alpha: np.ndarray | None = None):
    """The image colored from a reference photo → ``exemplar.ReferenceResult`` (image, automatic, confidence); with
    the reference's alpha plane, from the pixels it shows only (what its transparent pixels hide is no color of it)."""
    def compute():
        options = _options_for(model, temperature, None)
        hints = json.loads(hints_json) if hints_json else None
        visible = reference_shown(reference_alpha)  # the pixels it shows, by the matcher's rule
        return model.colorize_with_reference(image, reference, hints=hints, reference_visible=visible, **options)

    return _shared(("reference", stamp, digest, reference_digest, alpha_key(reference_alpha),
                    _settings(model, temperature, None)[0], hints_json),
                   f"Colorizing from the reference with {model.name}", compute)


def suggested_colors(model: Colorizer, stamp: tuple, image: np.ndarray, digest: str, x: int, y: int,
                     hints_json: str = "") -> list[dict]:
    """The model's most probable colors at pixel (x, y) (``Colorizer.suggested_colors``)."""
    return _shared(("suggested", stamp, digest, x, y, hints_json), f"Asking {model.name} for its colors",
                   lambda: model.suggested_colors(image, x, y, hints=json.loads(hints_json) if hints_json else None))


def colorized_samples(model: Colorizer, stamp: tuple, image: np.ndarray, digest: str,
                      n_samples: int, seed: int) -> list[np.ndarray]:
    """Several colorizations (the VAE's seeds seed, seed+1, …); one for a deterministic model."""
    return _shared(("samples", stamp, digest, n_samples, seed), f"Sampling with {model.name}",
                   lambda: model.colorize_samples(image, n_samples=n_samples, seed=seed))


def _metric_size(image: np.ndarray) -> np.ndarray:
    from colorizer.color import fit_within

    return fit_within(image, METRICS_MAX_SIDE)


def metrics_of(truth: np.ndarray, predicted: np.ndarray, key: tuple, alpha: np.ndarray | None = None) -> dict[str, float]:
    """``metrics.image_metrics`` of a prediction against the color truth (every ``METRIC_NAMES``), over the
    pixels ``alpha`` does not hide (the picture's alpha plane, if it has one).

    ``key`` identifies the pair, e.g. (truth digest, stamp, options). Both images are first brought
    to at most ``METRICS_MAX_SIDE`` px (SSIM's float64 buffers would need gigabytes on a 50 MP photo).
    """
    return _shared(("metrics", key, alpha_key(alpha)), "Measuring the result",
                   lambda: metrics.image_metrics(_metric_size(truth), _metric_size(predicted),
                                                 visible=_visible(alpha)))


def gray_metrics(truth: np.ndarray, digest: str, alpha: np.ndarray | None = None) -> dict[str, float]:
    """The metrics of "no color at all" (the truth's L with a = b = 0): the baseline to beat."""
    return _baseline_metrics("gray", evaluate.gray_baseline, truth, digest, alpha)


def palette_metrics(truth: np.ndarray, digest: str, alpha: np.ndarray | None = None) -> dict[str, float]:
    """The metrics of the training photos' mean color at each lightness (``baselines.TrainingPalette``):
    the baseline that knows the training set's palette and nothing of the scene."""
    from colorizer.baselines import TrainingPalette

    return _baseline_metrics("training palette", lambda small: TrainingPalette().colorize(small), truth, digest, alpha)


def _baseline_metrics(name: str, colorize, truth: np.ndarray, digest: str, alpha: np.ndarray | None) -> dict[str, float]:
    """``metrics.image_metrics`` of a baseline's colorization of the truth, at the metrics' size, once per picture."""
    def compute():
        small = _metric_size(truth)
        return metrics.image_metrics(small, colorize(small), visible=_visible(alpha))

    return _shared((f"{name} metrics", digest, alpha_key(alpha)), f"Measuring the {name} baseline", compute)


def _visible(alpha: np.ndarray | None) -> np.ndarray | None:
    """The pixels metrics count, at the metrics' size: ``charts.visible_at``'s rule (those not fully transparent;
    all of them without an alpha plane, or when every one is transparent: there is nothing else to measure)."""
    from ui.charts import visible_at

    return visible_at(alpha, METRICS_MAX_SIDE)


def alpha_key(alpha: np.ndarray | None) -> str:
    """An alpha (or visible-pixels) plane's part of a cache key, "" without one: two pictures of the same colors
    with different transparency measure different pixels, and two references give different colors."""
    return "" if alpha is None else image_digest(alpha)


def baseline_seconds(name: str, colorize, image: np.ndarray, digest: str) -> float:
    """Seconds of one full-resolution run of a baseline's ``colorize`` on ``image`` (measured once per
    picture, like a model's time on the Compare page)."""
    def compute():
        start = time.perf_counter()
        colorize(image)
        return time.perf_counter() - start

    return _shared((f"{name} time", digest), f"Timing the {name} baseline", compute)


def _file_stamp(path: Path) -> int:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return 0


@st.cache_data(max_entries=CARD_CACHE_ENTRIES, show_spinner=False)
def _history(folder: str, mtime_ns: int) -> list[dict]:
    return checkpoints.read_history(folder)


@st.cache_data(max_entries=CARD_CACHE_ENTRIES, show_spinner=False)
def _card(folder: str, mtime_ns: int) -> dict:
    return checkpoints.read_card(folder)


def history_of(name: str, available: dict[str, Path] | None = None) -> list[dict]:
    """Rows of checkpoint ``name``'s history.csv ([] when it has none; ``CheckpointError``, one line,
    when it is unreadable). ``available``: a listing the caller holds (``available_checkpoints()``), so that a
    page reading every checkpoint's history lists them once, not once a checkpoint."""
    folder = (available_checkpoints() if available is None else available).get(name)
    return _history(str(folder), _file_stamp(folder / "history.csv")) if folder else []


def history_stamp(name: str, available: dict[str, Path]) -> str:
    """The identity of checkpoint ``name``'s history as it is now (its folder, and history.csv's time of change, the
    stamp ``history_of``'s rows are cached by): part of the key of a chart drawn from those rows. Read before the
    rows: a history written between the two then costs a chart built again, not a chart kept without its last epoch."""
    return f"{name}:{available[name]}:{_file_stamp(available[name] / 'history.csv')}"


def learned_photo(name: str, picture: DecodedImage, digest: str, available: dict[str, Path] | None = None) -> bool:
    """Whether checkpoint ``name`` was fine-tuned on this picture (``digest``: its ``rgb``'s content hash): its card
    lists the prints of the photos it trained on (``colorizer.photo_prints``); a shipped model's lists none.
    ``available``: a listing the caller holds, as for ``card_of``."""
    prints = card_prints(card_of(name, available))
    if not prints:
        return False
    mine = _photo_print((digest, alpha_key(picture.alpha)), picture)
    return any(same_photo(mine, other) for other in prints)


@st.cache_data(max_entries=64, show_spinner=False)
def _photo_print(key: tuple, _picture: DecodedImage) -> str:
    return photo_print(_picture.on_white)   # as a fine-tune learns a picture with transparency


def card_of(name: str, available: dict[str, Path] | None = None) -> dict:
    """Checkpoint ``name``'s card.json ({} when it has none). ``available``: a listing the caller holds, as for
    ``history_of`` (a model picker labelling every checkpoint lists them once)."""
    folder = (available_checkpoints() if available is None else available).get(name)
    return _card(str(folder), _file_stamp(folder / "card.json")) if folder else {}
