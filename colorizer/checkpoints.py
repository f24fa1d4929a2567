"""Checkpoints on disk: where they live, how they are written (atomically) and read (as untrusted input).

A checkpoint folder holds ``model.keras`` (Keras 3 format), ``history.csv`` (one row per epoch:
epoch, loss, val_loss, learning_rate, metrics) and ``card.json`` (what the model is and how it was
made). Shipped ones live in ``weights/<arch>/`` and are never written by the app; user ones
(fine-tuned) live in ``user_checkpoint_dir()``: ``$COLORIZER_CHECKPOINT_DIR`` or
``~/.cache/colorizer/checkpoints``. Listing never creates or writes anything: a missing, unreadable or
read-only user folder lists no user checkpoints, and the shipped ones load as ever (only writers call
``user_checkpoint_dir()``, which creates it). ``available_checkpoints(viewer)`` lists what a visitor may
see (``colorizer.access``: their own fine-tuned checkpoints, shared ones, the operator's); ``viewer=None``
is the operator's view, every checkpoint. ``resolve(name_or_path, viewer)`` turns what a caller names
(a checkpoint's name, a folder, a file) into the model file to load: the one resolver of inference,
fine-tuning and training's ``--init-from``.

Metadata is read defensively: ``read_card`` is {} for a card that is missing, unreadable or not a JSON
object (``[]``, ``null``); ``card_problem`` says what is wrong with it in one line; ``read_history``
raises ``CheckpointError`` (one line) for a history that is not UTF-8 CSV or is over ``MAX_METADATA_BYTES``.

Loading treats every file as untrusted: ``safe_mode=True`` (no Lambda layers, no pickled code), a
size cap (``MAX_CHECKPOINT_BYTES``: ``$COLORIZER_MAX_CHECKPOINT_BYTES``, default 200 MB) on the file
and on what a ``.keras`` zip unpacks to, and a check that a ``.keras`` zip holds only the members
Keras writes, none of whose paths climbs out of the archive.
"""
from __future__ import annotations

import csv
import errno
import json
import logging
import math
import numbers
import os
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

from colorizer import access, staging
from colorizer.settings import number_from_env

__all__ = [
    "WEIGHTS_DIR", "MAX_CHECKPOINT_BYTES", "MAX_METADATA_BYTES", "CheckpointError", "user_checkpoint_dir",
    "user_checkpoint_root", "shipped_checkpoints", "card_problem",
    "user_checkpoints", "available_checkpoints", "atomic_write_bytes", "atomic_write_text", "save_model_atomic", "write_card",
    "error_naming", "check_writable", "in_weights", "card_architecture", "card_working_size", "read_card", "read_history", "load_keras_model", "checkpoint_file", "resolve",
]

WEIGHTS_DIR = Path(__file__).resolve().parent.parent / "weights"
MAX_CHECKPOINT_BYTES = number_from_env("COLORIZER_MAX_CHECKPOINT_BYTES", 200 * 1024 * 1024)
_KERAS_ZIP_MEMBERS = {"metadata.json", "config.json", "model.weights.h5", "model.weights.npz", "assets"}
# card.json and history.csv are a few kilobytes; anything far larger is not one.
MAX_METADATA_BYTES = 8 * 1024 * 1024
_log = logging.getLogger(__name__)


class CheckpointError(ValueError):
    """A checkpoint that cannot be used; str(err) is one line naming the file and the reason."""


def in_weights(path: str | Path, *, the_folder_itself: bool = True) -> bool:
    """Whether ``path`` (resolved) lies inside the shipped ``WEIGHTS_DIR``, or is that folder (``the_folder_itself``):
    the one rule of where the app, fine-tuning and the commands never write (only ``train --out weights`` and
    ``export-lite`` replace shipped checkpoints, on purpose)."""
    weights, target = Path(WEIGHTS_DIR).resolve(), Path(path).resolve()
    return weights in target.parents or (the_folder_itself and target == weights)


# A card's working size the network may run at: a checkpoint made elsewhere said "big", -16 or 4096 (session 38's code
# review: a TypeError, a plain ValueError, or a network run at any size).
WORKING_SIZE_RANGE = (16, 1024)


def card_architecture(card: dict, default=None):
    """The architecture name a card (read from elsewhere) gives, or ``default``: a name, never a list or a number."""
    named = card.get("architecture", default)
    return named if isinstance(named, str) else None


def card_working_size(value, where: str | Path) -> int:
    """A working size (a card's, or the model's own fixed input) as a whole number in ``WORKING_SIZE_RANGE``;
    CheckpointError naming ``where`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value) or not (
            WORKING_SIZE_RANGE[0] <= int(value) <= WORKING_SIZE_RANGE[1]):
        raise CheckpointError(f"{where}: working_size {value!r} is not a size from {WORKING_SIZE_RANGE[0]} to "
                              f"{WORKING_SIZE_RANGE[1]} px")
    return int(value)


def user_checkpoint_root() -> Path:
    """Where fine-tuned checkpoints live (``$COLORIZER_CHECKPOINT_DIR``); not created: for readers."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "colorizer" / "checkpoints"
    return Path(os.environ.get("COLORIZER_CHECKPOINT_DIR", default))


def user_checkpoint_dir() -> Path:
    """Where fine-tuned checkpoints go (created on demand: for writers); never inside ``weights/``."""
    path = user_checkpoint_root()
    path.mkdir(parents=True, exist_ok=True)
    return path


def shipped_checkpoints() -> dict[str, Path]:
    """name → folder of each shipped checkpoint in ``weights/`` that has a model file, in
    ``ARCHITECTURE_NAMES`` order (the flagship first), any other folder after them by name."""
    from colorizer import ARCHITECTURE_NAMES

    if not WEIGHTS_DIR.is_dir():
        return {}
    rank = {name: i for i, name in enumerate(ARCHITECTURE_NAMES)}
    folders = sorted(WEIGHTS_DIR.iterdir(), key=lambda p: (rank.get(p.name, len(rank)), p.name))
    return {p.name: p for p in folders if _is_checkpoint_folder(p)}


def user_checkpoints(viewer: str | None = None) -> dict[str, Path]:
    """name → folder of each complete user checkpoint ``viewer`` may see (``colorizer.access``; None: all);
    {} when the folder is missing or unreadable (a half-written one has no model.keras yet)."""
    root = user_checkpoint_root()
    try:
        folders = sorted(root.iterdir())
    except FileNotFoundError:
        return {}
    except OSError as err:  # not a folder, no permission: the shipped checkpoints still work
        _log.warning("user checkpoint folder %s unreadable: %s", root, err.strerror or err)
        return {}
    return {p.name: p for p in folders if _is_checkpoint_folder(p) and access.visible(p, viewer)}


def available_checkpoints(viewer: str | None = None) -> dict[str, Path]:
    """name → folder of every checkpoint ``viewer`` can use: the shipped ones, then the user's (a user
    checkpoint never hides a shipped one of the same name)."""
    shipped = shipped_checkpoints()
    return {**shipped, **{k: v for k, v in user_checkpoints(viewer).items() if k not in shipped}}


def _is_checkpoint_folder(path: Path) -> bool:
    """A complete checkpoint: a visible folder with its model file (hidden ones are being written)."""
    try:
        return not path.name.startswith(".") and path.is_dir() and (path / "model.keras").is_file()
    except OSError:
        return False


@contextmanager
def _replacing(path: str | Path, suffix: str):
    """Yield a hidden temporary path beside ``path``; on success fsync it and rename it over ``path``
    (readers see the old file or the new one, never half of one); on any failure remove it.

    The temporary is held (``staging.hold``) while it is written, so the next write to ``path`` sweeps
    the temporaries a killed writer left (``.model.keras.*.keras``…) and never a live writer's."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        prefix = f".{path.name}."
        staging.sweep(path.parent, prefix)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=prefix, suffix=suffix)
    except OSError as err:
        raise error_naming(err, path) from err
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; a checkpoint is an ordinary shareable file
    try:
        with staging.hold(tmp):
            yield tmp
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
            os.replace(tmp, path)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise error_naming(err, path) from err
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def error_naming(err: OSError, path: str | Path) -> OSError:
    """``err`` naming ``path`` (same errno, so the same class: ``OSError`` picks it): for a failure on a hidden
    temporary written beside ``path``, which is no name to show a user."""
    return OSError(err.errno, err.strerror or str(err), str(path))


def check_writable(path: str | Path, folder: bool = False) -> None:
    """Before any work: raise OSError naming ``path`` (its ``filename``) unless a file can be written at ``path``,
    or with ``folder`` into the folder ``path`` (created later by the writer if missing). Creates nothing that
    stays: the nearest existing folder is tried with a hidden file, removed at once (permission bits say nothing
    to root, nor of a read-only mount)."""
    path = Path(path)
    if path.is_dir() and not folder:
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path))
    where = path if folder else path.parent
    while not where.exists() and where != where.parent:
        where = where.parent
    if not where.is_dir():
        reason = "is a file, not a folder" if where == path else f"{where} is a file, not a folder"
        raise NotADirectoryError(errno.ENOTDIR, reason, str(path))
    try:
        fd, probe = tempfile.mkstemp(dir=where, prefix=".write-check.")
    except OSError as err:
        raise error_naming(err, path) from None
    os.close(fd)
    os.unlink(probe)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see ``_replacing``)."""
    with _replacing(path, ".tmp") as tmp:
        Path(tmp).write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def _without_optimizer(model):
    """An uncompiled copy of a model that (or any of whose submodels) is compiled: a .keras file then
    also stores the optimizer's state (twice the weights again for Adam), which inference never needs."""
    nested = model._flatten_layers() if hasattr(model, "_flatten_layers") else []
    compiled = [m for m in [model, *nested] if getattr(m, "optimizer", None) is not None]
    if not compiled:  # (a submodel compiled for decoder-only training carries an optimizer too)
        return model
    # Rebuilt from its config, not keras.models.clone_model: in Keras 3.15 a clone is compiled like
    # its original, so the copy carried the optimizer into the file anyway (a 41 MB cifar_ae). A nested
    # model's config carries its compile_config too, so that goes before the copy is made.
    copy = type(model).from_config(_without_compile_config(model.get_config()))
    for target, source in zip(copy.weights, model.weights, strict=True):
        if target is not source:  # a frozen encoder's are the same variables (models.layers.fill_frozen_weights)
            target.assign(source)  # a variable at a time: get_weights() would copy them all at once
    return copy


def _without_compile_config(config):
    """A model's config with every nested ``compile_config`` left out: ``from_config`` compiles a submodel whose
    config has one (a fresh optimizer, saved with it: a compiled decoder's checkpoint came out three times its
    size, session 32)."""
    if isinstance(config, dict):
        return {key: _without_compile_config(value) for key, value in config.items() if key != "compile_config"}
    if isinstance(config, list):
        return [_without_compile_config(value) for value in config]
    return config


def save_model_atomic(model, path: str | Path) -> None:
    """Save ``model`` (weights and architecture, no optimizer state) to ``path`` atomically."""
    with _replacing(path, ".keras") as tmp:  # Keras insists on the .keras suffix
        _without_optimizer(model).save(tmp)


def finite_or_none(value):
    """``value`` with every float that is not finite (NaN, ±inf; numpy's too) as None, through dicts and lists: what
    strict JSON can hold (``json.dumps`` writes NaN, which JavaScript's JSON.parse and strict readers refuse)."""
    if isinstance(value, dict):
        return {k: finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(v) for v in value]
    if isinstance(value, numbers.Real) and not math.isfinite(value):  # numpy's floats are Reals too
        return None
    return value


def write_card(folder: str | Path, card: dict) -> None:
    """card.json in ``folder``, atomically, in strict JSON (a metric that is not finite, such as a correlation over
    gray's constant colorfulness, is null: session 35's audit found NaN in every trained card)."""
    atomic_write_text(Path(folder) / "card.json", json.dumps(finite_or_none(card), indent=2, default=str,
                                                           allow_nan=False) + "\n")


def _card_and_problem(folder: str | Path) -> tuple[dict, str | None]:
    path = Path(folder) / "card.json"
    try:
        if path.stat().st_size > MAX_METADATA_BYTES:
            return {}, f"card.json is {path.stat().st_size / 2**20:,.0f} MB, not a model card"
        card = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, None
    except OSError as err:
        return {}, f"card.json unreadable ({err.strerror or type(err).__name__})"
    except (ValueError, RecursionError) as err:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = "not UTF-8 text" if isinstance(err, UnicodeDecodeError) else "not valid JSON"
        return {}, f"card.json unreadable ({reason})"
    if not isinstance(card, dict):
        return {}, f"card.json is not a model card (it holds {json.dumps(card)[:20] if card is None or not card else type(card).__name__})"
    return card, None


def read_card(folder: str | Path) -> dict:
    """The card of a checkpoint folder ({} when there is none, or it is unreadable or not a JSON object)."""
    return _card_and_problem(folder)[0]


def card_problem(folder: str | Path) -> str | None:
    """One line on what is wrong with a folder's card.json (None when it is fine or absent)."""
    return _card_and_problem(folder)[1]


def read_history(folder: str | Path) -> list[dict]:
    """Rows of ``history.csv`` with numeric values as floats ([] when there is none); ``CheckpointError``
    (one line) when it is unreadable: not UTF-8, not CSV, or far too large to be a history."""
    path = Path(folder) / "history.csv"
    where = f"{Path(folder).name}/history.csv"
    try:
        if not path.is_file():
            return []
        if path.stat().st_size > MAX_METADATA_BYTES:
            raise CheckpointError(f"{where}: {path.stat().st_size / 2**20:,.0f} MB, not a training history")
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except UnicodeDecodeError:
        raise CheckpointError(f"{where}: unreadable (not UTF-8 text)") from None
    except csv.Error as err:
        raise CheckpointError(f"{where}: unreadable (not CSV: {' '.join(str(err).split())[:80]})") from None
    except OSError as err:
        raise CheckpointError(f"{where}: unreadable ({err.strerror or type(err).__name__})") from None
    return [{str(k): _number(v) for k, v in row.items() if k is not None} for row in rows]


def _number(value: str):
    try:
        return float(value)
    except (TypeError, ValueError):
        return value


def checkpoint_file(path: str | Path) -> Path:
    """A checkpoint folder or file → its model file (``model.keras``, or the ``.keras``/``.h5`` given)."""
    path = Path(path)
    if path.is_dir():
        path = path / "model.keras"
    if not path.is_file():
        raise CheckpointError(f"{path}: no such checkpoint file")
    if path.suffix not in (".keras", ".h5"):
        raise CheckpointError(f"{path}: not a Keras checkpoint (expected .keras or .h5)")
    return path


def resolve(name_or_path: str | Path, viewer: str | None = None) -> tuple[Path, str]:
    """A checkpoint name (shipped or fine-tuned: one of ``available_checkpoints(viewer)``), folder, or
    ``.keras``/``.h5`` file → (its model file, its label: the name, the folder's name or the file's stem).

    CheckpointError (one line): an architecture's name without a trained checkpoint (saying how to train
    one); any other name when ``viewer`` is given (a visitor names checkpoints, never paths on the
    server); a path that is no checkpoint file."""
    from colorizer import ARCHITECTURE_NAMES

    known = available_checkpoints(viewer)
    if isinstance(name_or_path, str) and name_or_path in known:
        return known[name_or_path] / "model.keras", name_or_path
    if viewer is not None:
        raise CheckpointError(f"{name_or_path}: no such checkpoint")
    if isinstance(name_or_path, str) and name_or_path in ARCHITECTURE_NAMES and not Path(name_or_path).exists():
        raise CheckpointError(f"{name_or_path}: no trained checkpoint in weights/{name_or_path}/ "
                              f"(train it: python -m colorizer train --arch {name_or_path} --data data/photos)")
    bare = isinstance(name_or_path, str) and not any(sep in name_or_path for sep in ("/", "\\", "."))
    if bare and not Path(name_or_path).exists():  # a name, not a path: say which names there are
        listed = sorted(known)
        names = ", ".join(listed[:12]) + (f" and {len(listed) - 12} more" if len(listed) > 12 else "") or "none"
        raise CheckpointError(f"{name_or_path}: no checkpoint of that name (known: {names}), nor a file or folder")
    path = checkpoint_file(name_or_path)
    return path, (path.parent.name if path.name == "model.keras" else path.stem)


def _check_keras_zip(path: Path) -> None:
    """Refuse a .keras archive with unexpected members or paths that climb out of it."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except zipfile.BadZipFile:
        raise CheckpointError(f"{path.name}: not a valid .keras file (not a zip archive)") from None
    names = [member.filename for member in members]
    # A zip bomb: a small file whose members inflate to gigabytes. zipfile never inflates a member past
    # its declared size, so capping the declared sizes caps what loading can unpack.
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"{path.name}: refused, its contents unpack to {unpacked / 2**20:.0f} MB, over the "
                              f"{MAX_CHECKPOINT_BYTES / 2**20:.0f} MB checkpoint limit")
    for name in names:
        if name.startswith("/") or ".." in Path(name).parts or "\\" in name:
            raise CheckpointError(f"{path.name}: refused, archive member {name!r} points outside the archive")
        if name.split("/")[0] not in _KERAS_ZIP_MEMBERS:
            raise CheckpointError(f"{path.name}: refused, unexpected archive member {name!r}")
    if "config.json" not in names:
        raise CheckpointError(f"{path.name}: not a Keras 3 model file (no config.json)")


def load_keras_model(path: str | Path):
    """Load a ``.keras`` or legacy ``.h5`` model as untrusted input → ``keras.Model`` (uncompiled)."""
    import keras

    import colorizer.models  # noqa: F401  (registers the custom layers)

    path = checkpoint_file(path)
    size = path.stat().st_size
    if size > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"{path.name}: {size / 2**20:.0f} MB is over the {MAX_CHECKPOINT_BYTES / 2**20:.0f} MB checkpoint limit")
    if path.suffix == ".keras":
        _check_keras_zip(path)
    try:
        return keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as err:  # Keras raises many types; all mean "this file is not a usable model"
        reason = " ".join(str(err).split())[:300]
        if "Lambda" in reason or "safe_mode" in reason:
            reason = "refused: it contains code (a Lambda layer or pickled function), which safe mode does not run"
        raise CheckpointError(f"{path.name}: cannot load: {reason}") from None
