"""The Fine-tune page's UI helpers (``*_ui()``); the training itself is ``colorizer.finetune``.

The page shows either the settings form (no job of this visitor) or the visitor's job. A job belongs to
the visitor who started it (``ui.visitor``: a token that survives a reload, so a reloaded page finds
its running job and its Stop button again) and no one else sees it. While the job is queued or running,
its view is an ``st.fragment`` re-run every second (the page itself stays responsive and survives
reruns: the job lives in a background thread, not in the script run); once it ends, one full rerun
shows the result, and the model picker includes the new checkpoint, for its maker only until they share it.

On a public server the form offers only what ``FinetuneLimits`` allows (photos, epochs, batch, crop),
the job stops at the time limit or when its visitor is gone, and a visitor keeps a few checkpoints for a
few days (``colorizer.access``): "Your fine-tuned models" lists them with their ZIP, Share (every visitor of
this server sees it from then on) and Delete. Callbacks run through ``ui.callbacks.safe``: a failure is one line.
Widget keys are namespaced ``finetune.*``.
"""
from __future__ import annotations

import functools
import logging
import math
import threading
import time
from datetime import datetime, timezone
from typing import Callable

import streamlit as st

from colorizer import access, checkpoints, finetune, gallery, process
from colorizer.finetune.config import FinetuneLimits
from colorizer.finetune.job_queue import SOON_S, duration_words
from colorizer.imageio import SUPPORTED_EXTENSIONS
from colorizer.models import ARCHITECTURES
from ui import callbacks, charts, loaders, photo_store, visitor, widgets, work_queue
from ui.callbacks import safe
from ui.cards import public_card
from ui.plain_text import plain
from ui.tables import GRAY_ROW, metric_columns, shown_name, swipe_note

__all__ = ["finetune_page_ui", "settings_ui", "photos_ui", "job_ui", "result_ui", "my_models_ui", "JOB_KEY", "LIMITS"]

JOB_KEY = "finetune.job_id"
START_ERRORS_KEY = "finetune.start_errors"
UPLOADS_KEY = "finetune.uploads"
KEPT_KEY = "finetune.uploads_kept"  # (name, stored name) of each photo chosen: ui.photo_store keeps their copies
STORED_KEY = "finetune.uploads_stored"  # the uploader's file ids → their stored names (each file stored once)
KEEPING_KEY = "finetune.uploads_keeping"  # the kept copies stand in for an uploader that let its files go
SWITCHED_KEY = "finetune.uploads_switched"  # the visitor went to the gallery's photos while the uploader held some
UPLOAD, GALLERY = "Upload photos", "Gallery color photos"
# Why a kept copy of a chosen photo is gone (ui.photo_store), as the page says it.
LET_GO_WHY = (f"this server keeps chosen photos {photo_store.KEEP_S / 3600:.0f} hours at most, and makes room for other "
              "visitors' photos")
LIMITS = FinetuneLimits.from_env()
BATCH_SIZES = (4, 8, 16, 32, 64)
# 8, not 16: the flagship's training activations at 16 crops a batch took ~180 MB more of a server whose
# cap on Streamlit Community Cloud is near 2.7 GB (python -m colorizer bench --server measures it).
DEFAULT_BATCH = 8
LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3)
CROP_SIZES = (32, 64, 96, 128, 160, 192, 256)
_log = logging.getLogger(__name__)


def owner_id() -> str:
    """The visitor who owns jobs and fine-tuned checkpoints (``ui.visitor``: survives a reload)."""
    return visitor.token()


# Ids of the ended jobs whose ending a page of their visitor has shown (process-wide, as the queue; the latest few
# hundred: the queue keeps 8 finished jobs): one that ended while none of its visitor's pages was open is shown once
# when they come back.
_SHOWN: dict[str, None] = {}
_SHOWN_LOCK = threading.Lock()
SHOWN_KEPT = 256


def current_job() -> finetune.FinetuneJob | None:
    """The visitor's active job (found again after a reload), else the one this session last showed, else one that
    ended while the visitor was away (it stops ``visitor.GRACE_S`` after their last page closed): the page had
    shown a blank form, and the half-trained model's reason nowhere (session 35's audit)."""
    owner = owner_id()
    jobs = finetune.QUEUE.jobs(owner)
    active = [job for job in jobs if job.status().active]
    if active:
        st.session_state[JOB_KEY] = active[-1].id
        return active[-1]
    job = finetune.QUEUE.get(st.session_state.get(JOB_KEY), owner)
    if job is None:
        unseen = [job for job in jobs if job.id not in _SHOWN]
        job = unseen[-1] if unseen else None
    if job is not None:  # ended: its result, or how it failed or stopped, is drawn now
        st.session_state[JOB_KEY] = job.id
        _shown(job.id)
    return job


def _shown(job_id: str) -> None:
    with _SHOWN_LOCK:  # every session's script thread writes it: two trimming at once could both take the oldest
        _SHOWN[job_id] = None
        while len(_SHOWN) > SHOWN_KEPT:
            _SHOWN.pop(next(iter(_SHOWN)), None)


def crop_choices(card: dict, most: int | None = None) -> list[int]:
    """Crop sizes a base accepts: its working size only when fixed, else ``CROP_SIZES`` up to its working size and
    the working size itself (at most ``most`` px, the server's limit, except the working size itself when that is
    all it takes).

    None over the working size, for the server's memory: the flagship at 160 instead of its 144, beside a class's
    colorizations and uploads, was the fine-tune that took a 2.7 GB host to its cap (docs/deploy.md). Since the
    frozen encoders are shared (session 32) the flagship would fit at 176 (2,258 MiB at worst), but unet313 at 160
    instead of its 64 peaks at 3,187: the working size stays the bound for all. (The shipped flagship was trained on
    176-px crops; a fine-tune of its decoder on a few photos at 144 is the page's default since issue 4.
    ``python -m colorizer finetune --crop`` takes any size.)"""
    try:  # a card made elsewhere: its size held to the rule load_base holds it to (a text one raised here)
        working = checkpoints.card_working_size(card.get("working_size") or 128, "card.json")
    except checkpoints.CheckpointError:
        working = 128
    arch = ARCHITECTURES.get(checkpoints.card_architecture(card))
    if arch is not None and arch.FIXED_SIZE:  # Dense layers (cifar_ae, vae): the input size is fixed at build time
        return [working]
    most = min(LIMITS.crop if most is None else most, working)
    return sorted(c for c in {*CROP_SIZES, working} if c <= most) or [most]


def default_crop(crops: list[int]) -> int:
    """The crop the form starts at: the largest offered. ``crop_choices`` offers none over the base's working size,
    so that is the working size, or the largest under it where the server's limit is lower (a limit of 160 for the
    hint model's 176 once started it at 32 px)."""
    return max(crops)


def _eta(seconds: float | None) -> str:
    if seconds is None:  # the first steps also build the training graph: they took 27 s on a class server (session 39)
        return "getting ready to train: the first steps take longest"
    seconds = int(round(seconds))
    return f"about {seconds // 60} min {seconds % 60:02d} s left" if seconds >= 60 else f"about {seconds} s left"


# --------------------------------------------------------------------------- the form

def base_ui(bases: dict) -> str:
    names = list(bases)
    chosen = widgets.chosen_checkpoint()
    index = names.index(chosen) if chosen in names else 0
    # Named as the sidebar's Model picker names it (session 38's audit: "Base checkpoint", "hypercolumn (hypercolumn)
    # · shipped", and a fine-tuned model by its bare hex name, for what the sidebar calls "cifar_ae fine-tuned …").
    return st.selectbox(
        "Base model", names, index=index, key="finetune.base",
        format_func=lambda n: widgets.checkpoint_label(n, bases),
        help="Any model with a separate decoder: the shipped ones, yours, and those other visitors shared. Its encoder "
             "stays frozen.",
    )


def photos_ui() -> tuple[list, list[str]] | None:
    """The photo source → a loader returning (photos, error lines), or None when nothing is chosen yet."""
    source = st.segmented_control("Photos", [UPLOAD, GALLERY], default=UPLOAD, key="finetune.source", required=True,
                                  persist_state="session")
    if source == GALLERY:
        if st.session_state.get(KEPT_KEY):  # the undrawn uploader lets its files go: their kept copies stand in
            st.session_state[SWITCHED_KEY] = True
        keys = gallery.color_keys()
        picked = st.multiselect("Gallery photos", keys, default=keys, key="finetune.gallery", persist_state="session",
                                format_func=lambda k: gallery.GALLERY[k].title,
                                help="The gallery's color photos (from scikit-image, scikit-learn and matplotlib).")
        return (lambda: _gallery_photos(picked)) if picked else None
    came_back = not widgets.drawn_last_run(UPLOADS_KEY)  # back from another page (or the gallery): its files let go
    uploads = st.file_uploader(
        "Color photos of one kind (landscapes, faces, flowers…)", type=list(SUPPORTED_EXTENSIONS),
        accept_multiple_files=True, key=UPLOADS_KEY,
        help=f"Twenty or so color photos are plenty (this server takes {LIMITS.photos} at most). "
             "Grayscale files are skipped: they have no color to learn. Transparent parts are filled with white.",
    )
    widgets.upload_room_ui()
    if uploads:
        st.session_state.pop(KEEPING_KEY, None)
        st.session_state.pop(SWITCHED_KEY, None)
        st.session_state[KEPT_KEY] = _kept_copies(uploads)
        files = [(u.name, u.getvalue) for u in uploads]
        st.caption(f"{len(uploads)} file(s) chosen.")
    else:
        files = _kept_files(came_back)
        if not files:
            return None
    if len(files) > LIMITS.photos:
        st.warning(f"This server fine-tunes on at most {LIMITS.photos} photos: the first {LIMITS.photos} usable color "
                   "photos are used.", icon=":material/photo_library:")
    return lambda: _uploaded_photos(files, most=LIMITS.photos)


def _kept_copies(uploads) -> list[tuple[str, str]]:
    """The uploader's files a fine-tune may read (``_uploaded_photos``) → (name, stored name) of each, its copy kept on
    disk (``ui.photo_store``) for a trip to another page. Each file is stored once (its upload id remembered), not
    hashed again on every rerun. A copy that cannot be written (a full disk) is None: the page works on with the
    uploads themselves, and names that photo as let go after a trip away."""
    before, stored = st.session_state.get(STORED_KEY, {}), {}
    for upload in uploads[:_files_read(LIMITS.photos)]:
        # Touched on every run (the most recently used go last), stored again if other visitors' photos pushed it out;
        # one that could not be written is not tried again on every rerun.
        if upload.file_id in before and (before[upload.file_id] is None or photo_store.kept_path(before[upload.file_id])):
            stored[upload.file_id] = before[upload.file_id]
            continue
        try:
            stored[upload.file_id] = photo_store.keep(upload.name, upload.getvalue())
        except OSError as err:
            _log.warning("a chosen photo's copy was not kept: %s", err)
            stored[upload.file_id] = None
    st.session_state[STORED_KEY] = stored
    return [(u.name, stored[u.file_id]) for u in uploads if u.file_id in stored]


def _kept_files(came_back: bool) -> list[tuple[str, Callable[[], bytes]]]:
    """The photos chosen before a trip to another page (or to the gallery's photos), from their kept copies, with a
    line saying so, until others are chosen: (name, its bytes when asked) of each still kept. Empty, with a line
    saying why, when none is: the visitor emptied the uploader on the page itself (nothing said), or other visitors'
    photos took their room."""
    kept = st.session_state.get(KEPT_KEY) or []
    if not (kept and (came_back or st.session_state.get(KEEPING_KEY))):
        _let_kept_go()
        return []
    paths = [(name, photo_store.kept_path(stored)) for name, stored in kept]
    found, gone = [(name, path) for name, path in paths if path], [name for name, path in paths if not path]
    if not found:
        when = "you switched to the gallery's photos" if st.session_state.get(SWITCHED_KEY) else "you left this page"
        _let_kept_go()
        st.info(f"The {len(kept)} photo(s) you chose were let go after {when}: {LET_GO_WHY}. Choose them again.",
                icon=":material/photo_library:")
        return []
    st.session_state[KEEPING_KEY] = True
    st.session_state[KEPT_KEY] = [(name, path.name) for name, path in found]
    # "Replace": the uploader's + invited adding one, and the one then chosen was all there was (session 40's walk).
    st.caption(plain(f"Still using the {len(found)} photo(s) you chose before ({widgets.first_names([n for n, _ in found])}). "
                     "Photos chosen above replace them: to add one, choose them all again."))
    st.button("Let them go", key="finetune.let_go", icon=":material/close:", on_click=_let_kept_go)
    if gone:
        st.info(plain(f"{widgets.first_names(gone)}: let go while you were away ({LET_GO_WHY}): choose them again to use "
                      "them."), icon=":material/photo_library:")
    return [(name, path.read_bytes) for name, path in found]


def _let_kept_go() -> None:
    """The session forgets the photos it chose (their copies go with time, or for others' photos)."""
    for key in (KEPT_KEY, STORED_KEY, KEEPING_KEY, SWITCHED_KEY):
        st.session_state.pop(key, None)


def _files_read(most: int) -> int:
    """The most files a fine-tune of at most ``most`` photos reads (a broken file takes no photo's place, but each costs
    a decode): what ``_uploaded_photos`` reads, and so what ``_kept_copies`` keeps."""
    return widgets.READS_PER_PLACE * most


def _uploaded_photos(files: list[tuple[str, Callable[[], bytes]]], most: int) -> tuple[list, list[str]]:
    """(name, its bytes when asked) of each upload → (photos, error lines), each decoded in its turn of the server's
    decode queue (within the decode budget: a large photo is shrunk while it decodes), until ``most`` photos are
    taken: a broken or gray file takes no photo's place (the first 20 files, two of them broken, trained on 18 while
    a good 21st waited). Each file costs a decode, so at most ``_files_read(most)`` are read, and the
    files never read are one line. A kept copy gone since the page showed it (``ui.photo_store``) is one line too."""
    photos, errors, read, most_read, seen = [], [], 0, _files_read(most), {}
    for name, content in files:
        if len(photos) >= most or read >= most_read:
            break
        read += 1
        try:
            data = content()
        except OSError:
            errors.append(f"{name}: let go since you chose it ({LET_GO_WHY}): choose it again")
            continue
        with work_queue.DECODE_QUEUE.turn():
            found, failed = finetune.photos_from_uploads([(name, data)], seen)  # a copy: one line
        photos += found
        errors += [loaders.for_visitor(line) for line in failed]
    if len(photos) < most and files[read:]:
        errors.append(f"{widgets.first_names([name for name, _ in files[read:]])}: not read: this server reads "
                      f"{most_read} files at most for a fine-tune (remove the broken ones and start again)")
    return photos, errors


def _gallery_photos(keys: list[str]) -> tuple[list, list[str]]:
    photos = [(f"{k}.png", finetune.shrink_photo(loaders.gallery_picture(k).rgb)) for k in keys]
    return photos, []


def settings_ui(base_card: dict) -> dict:
    """Epochs, learning rate, batch size, crop size and validation share → keyword arguments of the config."""
    left, middle, right = st.columns(3)
    epochs = left.number_input("Epochs", 1, LIMITS.epochs, min(5, LIMITS.epochs), key="finetune.epochs",
                               persist_state="session",
                               help=f"At most {LIMITS.epochs} on this server; a fine-tune stops after "
                                    f"{LIMITS.minutes:g} min whatever it is doing, keeping its best epoch.")
    lr = middle.select_slider("Learning rate", LEARNING_RATES, value=3e-4, key="finetune.lr", persist_state="session",
                              format_func=lambda v: f"{v:.0e}",
                              help="How far each training step moves the decoder's weights (3e-04 is 0.0003). Higher "
                                   "learns faster and can overshoot, making the model worse; lower is slower and "
                                   "safer.")
    batches = [b for b in BATCH_SIZES if b <= LIMITS.batch] or [LIMITS.batch]
    batch = right.select_slider("Batch size", batches, value=min(DEFAULT_BATCH, batches[-1]), key="finetune.batch",
                              persist_state="session",
                              help="Crops the decoder sees at once before each step: larger steps are steadier and "
                                   "take more memory.")
    crops = crop_choices(base_card)
    crop = left.selectbox("Crop size (px)", crops, index=crops.index(default_crop(crops)),
                          key=f"finetune.crop.{base_card.get('name', '')}", persist_state="session",
                          disabled=len(crops) == 1,
                          help="Crops are cut at several scales, flipped half the time, and resized to this size. "
                               "Default: the model's working size, also the largest offered here (with the server's limit, "
                               "if lower): larger crops take the most memory.")
    share = middle.slider("Validation share", 0.0, 0.5, 0.2, 0.05, key="finetune.val_share", persist_state="session",
                          help="The share of your photos kept out of training (0.2: one in five) to measure progress, "
                               "preview each epoch and score the result on photos the model did not learn from.")
    return {"epochs": int(epochs), "lr": float(lr), "batch_size": int(batch), "crop": int(crop), "val_share": float(share)}


def start_ui(bases: dict, mine: dict) -> None:
    """The whole form and its Start button (Start queues the job: see ``_start``); ``mine``: the visitor's
    fine-tuned checkpoints (``_mine()``), Start disabled when they keep the most already."""
    base = base_ui(bases)
    card = checkpoints.read_card(bases[base])
    loader = photos_ui()
    settings = settings_ui(card)
    source = "gallery color photos" if st.session_state.get("finetune.source") == GALLERY else "photos uploaded in the app"
    most = access.Limits.from_env().per_visitor
    full = len(mine) >= most  # said here, not only after Start (session 35's audit)
    st.button("Start fine-tuning", type="primary", key="finetune.start", icon=":material/play_arrow:",
              disabled=loader is None or full, on_click=safe(_start), args=(base, loader, settings, source, owner_id()))
    if full:
        st.caption(f"You keep {most} fine-tuned models on this server, the most one visitor may: delete one below "
                   "(download its ZIP first to keep it) to make another.")
    elif loader is None:
        st.caption("Choose some color photos to start.")
    start_errors_ui()


def start_errors_ui() -> None:
    """What stopped the last Start, once: under the form, or over the job that refused it (a second tab's Start)."""
    for error in st.session_state.pop(START_ERRORS_KEY, []):
        st.error(plain(error), icon=":material/error:")


def _start(base: str, loader, settings: dict, source: str, owner: str) -> None:
    """On Start (a callback: it runs before the page, so no rerun can drop the click): check the
    visitor's room for another checkpoint and the queue's for their job, read the photos, queue the job and
    remember its id; what stops it (no usable photo, no room, a full queue, a job running already) is a line on
    the form. Both rooms are asked before the photos are read: 20 photos are seconds of the decode lane that every
    visitor's uploads wait behind, spent for nothing when the job is then refused."""
    try:
        access.check_room(checkpoints.user_checkpoint_dir(), owner)
        finetune.QUEUE.check_room(owner)
    except (access.CheckpointQuotaError, finetune.FinetuneError, OSError) as err:
        st.session_state[START_ERRORS_KEY] = [f"Cannot start: {err}"]
        return
    photos, errors = loader()
    if not photos:
        st.session_state[START_ERRORS_KEY] = [*errors, "No usable color photos: upload color photos (PNG, JPEG, "
                                              "WebP…) or use the gallery."]
        return
    config = finetune.FinetuneConfig(base=base, data_label=source, **settings)
    try:
        job = finetune.QUEUE.submit(config, photos, owner=owner, skipped=errors, limits=LIMITS, private=True,
                                    presence=visitor.presence_of(owner),
                                    on_update=process.release_when_done)  # a server's memory back once it ends
    except finetune.FinetuneError as err:
        st.session_state[START_ERRORS_KEY] = [f"Cannot start: {err}"]
        return
    st.session_state[JOB_KEY] = job.id


# --------------------------------------------------------------------------- the running job

def device_line(status: finetune.JobStatus) -> str:
    if not status.device:
        return ""
    if status.device.startswith("GPU"):
        return f"Training on the {status.device}" + (" with mixed precision" if status.mixed_precision else "")
    return f"Training on CPU: {status.device.removeprefix('CPU: ')}. No GPU found, so it is slower."


def progress_ui(status: finetune.JobStatus) -> None:
    # Stopping, scoring, writing: what happens after the last step takes the time-left's place in the bar's text.
    # "about 0 s left" stood there for 11 s of a 36-s job while it scored and wrote (session 37's audit).
    after = bool(status.message) and not status.message.startswith("training on")
    if status.steps_per_epoch:
        text = (f"Epoch {max(status.epoch, 1)}/{status.epochs} · step {status.step}/{status.steps_per_epoch} · "
                + (f"{status.message.rstrip('…')}…" if after else _eta(status.eta_s)))
    else:
        text = status.message or "preparing…"
    # Before the first step, the encoder's feature pass: its bar stood empty for ~45 s on a class server (session 39).
    st.progress(status.fraction if status.steps_per_epoch else status.preparing, text=text)
    line = device_line(status)
    if line:
        st.caption(line)


def curves_ui(status: finetune.JobStatus, key: str) -> None:
    if not status.history:
        st.caption("The loss curves appear after the first epoch.")
        return
    history = {"fine-tune": list(status.history)}
    widgets.chart_ui(charts.history_figure(history, "loss", height=300), key=key,
                     alt=charts.history_alt(history, "loss"))


def preview_ui(status: finetune.JobStatus) -> None:
    if status.preview is not None:  # at most 360 px, and never past a phone's column
        st.image(widgets.display(status.preview, None, 360), width="content",
                 caption=plain(f"Held-out photo {status.held_out_name} after epoch {status.preview_epoch}"),
                 alt=f"Held-out photo {status.held_out_name} colorized after epoch {status.preview_epoch}")


def queued_ui(job: finetune.FinetuneJob) -> None:
    ahead = finetune.QUEUE.position(job)
    wait = finetune.QUEUE.wait(job)  # each job ahead: its own estimate, recent jobs' times, or the time limit
    # Under SOON_S it is the running job's last seconds (scoring, saving) or an estimate run out: "0 s" read wrong.
    # A bound (time limits, nothing measured yet) is said as one: jobs end well within them.
    when = ("" if wait is None else ", any moment now" if wait.seconds < SOON_S
            else f", within {duration_words(wait.seconds)} (the time limit of the jobs ahead; they usually end sooner)"
            if wait.bound else f", in about {duration_words(wait.seconds)}")
    st.info(f"Another fine-tune is running on this server; one runs at a time. Yours is in the queue with "
            f"{ahead or 0} job(s) ahead of it and starts by itself{when}.", icon=":material/hourglass_top:")
    st.button("Cancel", key="finetune.cancel", on_click=safe(job.stop))


def _job_fragment(job: finetune.FinetuneJob) -> None:
    status = job.status()
    if not status.active:
        st.rerun()  # one full rerun: the final view, and the model picker lists the new checkpoint
    if status.state == "queued":
        queued_ui(job)
        return
    progress = st.container()  # above the button, drawn after it
    st.button("Stop", key="finetune.stop", icon=":material/stop:", disabled=status.state == "stopping", on_click=safe(job.stop),
              help="Ends after the current step, keeps the best weights so far and saves them.")
    with progress:
        progress_ui(status)
    curves, preview = st.columns([3, 2])
    with curves:
        curves_ui(status, key="finetune.curve.live")
    with preview:
        preview_ui(status)


def _job_fragment_or_line(job: finetune.FinetuneJob) -> None:
    """The fragment's body; an error in it is one line (a fragment's rerun runs outside ``run_page``)."""
    try:
        _job_fragment(job)
    except Exception as err:  # Streamlit's rerun/stop signals are BaseExceptions and pass through
        _log.exception("fine-tune view failed")
        st.error(plain(f"The progress view failed ({callbacks.error_line(err, 200)}); reload the page: the job goes on."),
                 icon=":material/error:")


def job_ui(job: finetune.FinetuneJob) -> None:
    """The live view of an active job, refreshed every second by a fragment until the job ends; then one
    full rerun shows the result (so the fragment never stops refreshing on a stale view)."""
    st.fragment(run_every=1.0)(_job_fragment_or_line)(job)


# --------------------------------------------------------------------------- the result

def result_ui(job: finetune.FinetuneJob) -> None:
    status = job.status()
    if status.state == "failed":
        # An OSError names its file: a server path no visitor should see (public_card replaces it).
        st.error(plain(f"Fine-tuning failed: {public_card(status.error)}"), icon=":material/error:")
        st.info("Nothing was saved. Check that the photos are color photos, try another base checkpoint or a "
                "smaller batch size, then start again.", icon=":material/lightbulb:")
        return
    if status.result is None:
        st.warning(plain(status.message or "Stopped: nothing was saved."), icon=":material/stop_circle:")
        return
    if not (status.result / "model.keras").is_file():  # deleted below (Your fine-tuned models), or expired
        # Its download would be an empty ZIP, and its card "? epoch(s)" in a model picker that no longer has it.
        st.info(plain(f"{status.result.name} was deleted from this server, so there is nothing to download."),
                icon=":material/delete:")
        return
    card = checkpoints.read_card(status.result)
    training = card.get("training", {})
    stopped = " (stopped early; the best epoch's weights were kept)" if status.state == "stopped" else ""
    why = job.stop_reason
    if status.state == "stopped" and why:  # its visitor left, or the server's time limit: not the visitor's Stop
        stopped = f" (stopped early: {why}; the best epoch's weights were kept)"
    st.success(f"Saved **{status.result.name}** after {epochs_done(training)}{stopped}. "
               "It is in your model picker now, and on the Compare and Training-curves pages: only you see it "
               "until you share it (Your fine-tuned models, below).", icon=":material/check_circle:")
    per_epoch = training.get("time_per_epoch_s")
    pace = f"{per_epoch} s per epoch" if per_epoch else "stopped before an epoch was complete, so none was timed"
    # "In all" names what else it holds: "28 s in all · 1.07 s per epoch" left 25 s unexplained (session 44's walk).
    features = training.get("feature_time_s", "?")
    st.caption(f"{device_line(status)} · {status.wall_time_s:.0f} s in all, the base model's loading and the held-out "
               f"scores included · {pace} (encoder features computed once, in {features} s)")
    st.download_button("Download the checkpoint (ZIP)", functools.partial(finetune.checkpoint_zip, status.result),
                       file_name=f"{status.result.name}.zip", mime="application/zip", key="finetune.download",
                       on_click="ignore", icon=":material/download:",  # no rerun of the page for a download
                       help="model.keras, history.csv and card.json. A hosted app's disk is wiped on restart: keep a copy.")
    curves_ui(status, key="finetune.curve.final")
    scores_ui(card, status.held_out_name)
    held_out_ui(job, status)


def epochs_run(training: dict):
    """The epochs a fine-tune ran: its card's "epochs"; a card written before session 36 says them "epochs_run" (its
    "epochs" were those asked for), and a visitor's models are kept for days."""
    return training.get("epochs_run", training.get("epochs"))


def epochs_done(training: dict) -> str:
    """How much training the card's ``training`` records: "3 epoch(s)", or with a Stop inside an epoch (Keras
    still ends it, and history.csv has a row for it) "2 full epoch(s) and 1 of 3 steps of epoch 3"."""
    run, steps, last = epochs_run(training), training.get("steps_per_epoch"), training.get("last_epoch_steps")
    if not isinstance(run, int):
        return "? epoch(s)"
    if run and isinstance(steps, int) and isinstance(last, int) and 0 <= last < steps:
        return f"{run - 1} full epoch(s) and {last} of {steps} steps of epoch {run}"
    return f"{run} epoch(s)"


def scores_ui(card: dict, held_out_name: str = "") -> None:
    """The held-out scores of gray, the base and the fine-tuned model, and in a line which did better. Why the line:
    a short fine-tune can make a model worse (session 34's audit: 3 photos, 1 epoch, 13.24 dB → 11.75 on its one
    held-out photo), and a green "Saved" above a table without arrows read as an improvement. ``held_out_name``: the
    one held-out photo's file, named in the heading (the card keeps no file names), a photo to try the model on
    elsewhere: the others it learned (session 42's walk-through)."""
    evaluation = {k: v for k, v in card.get("evaluation", {}).items() if k != "truth" and isinstance(v, dict)}
    if not evaluation:
        return
    def rounded(scores: dict, key: str, digits: int):  # None: not finite when measured (a card holds it as null)
        value = scores.get(key)
        return round(value, digits) if isinstance(value, (int, float)) else None

    rows = [{"model": GRAY_ROW if k == "gray" else shown_name(k), "psnr": rounded(v, "psnr", 2),
             "ssim": rounded(v, "ssim", 4), "l2_ab": rounded(v, "l2_ab", 2), "colorfulness": rounded(v, "colorfulness", 1)}
            for k, v in evaluation.items()]
    data = card.get("data", {})
    count = data.get("held_out_photos")
    if data.get("held_out"):
        photos = f"{count} held-out photo{'s' if count != 1 else ''}" if isinstance(count, int) else "held-out photos"
        named = f" ({plain(held_out_name)})" if count == 1 and held_out_name else ""   # a visitor's file name: as text
        st.markdown(f"## On the {photos}{named}")
    else:
        st.markdown("## On the training photo (none was held out)")
    # Compare's columns: the model pinned, the numbers narrow (on a phone a fine-tuned model's long name left PSNR and
    # a cut SSIM in view, and a swipe took the names away: session 41's audit), the same labels as there.
    st.dataframe(rows, hide_index=True, column_config=metric_columns([row["model"] for row in rows]))
    swipe_note("finetune_scores")
    verdict = scores_verdict(evaluation, card.get("base", {}).get("name"), card.get("name"), data.get("held_out"),
                             count if isinstance(count, int) else None)
    if verdict is not None and verdict[0] == "worse":
        st.warning(plain(verdict[1]), icon=":material/trending_down:")
    elif verdict is not None:
        st.caption(plain(verdict[1]))


# A PSNR change smaller than this is "about the same" (a review: −0.0009 dB read "0.00 dB below… it learned less than
# it lost").
SAME_DB = 0.05


def scores_verdict(evaluation: dict, base: str | None, tuned: str | None, held_out: bool | None,
                   count: int | None = None) -> tuple[str, str] | None:
    """("better" | "same" | "worse", a line saying how the fine-tuned model's PSNR compares with its base's), or None
    when either is missing. ``count``: the held-out photos it was measured on; one is an example, and the line says
    so ("+3.96 dB on the held-out photos", from one photo, read as a measurement: session 37's walkthrough)."""
    if not (base in evaluation and tuned in evaluation):
        return None
    scores = evaluation[tuned].get("psnr"), evaluation[base].get("psnr")
    if not all(isinstance(score, (int, float)) and math.isfinite(score) for score in scores):
        return None  # identical to the truth (inf, stored as null): nothing to compare
    change = scores[0] - scores[1]
    where = ("on the photo it trained on" if not held_out
             else "on the held-out photo (one photo: an example, not a measurement)" if count == 1
             else "on the held-out photos")
    if abs(change) < SAME_DB:
        return "same", f"The fine-tuned model scores about as its base {base} {where} ({change:+.2f} dB)."
    if change < 0:
        return "worse", (f"The fine-tuned model is {-change:.2f} dB below its base {base} {where}: it learned less "
                         "than it lost. More photos of one kind, more epochs or a lower learning rate may help; the "
                         "base is still in your model picker.")
    return "better", f"The fine-tuned model is {change:.2f} dB above its base {base} {where}."


def held_out_ui(job: finetune.FinetuneJob, status: finetune.JobStatus) -> None:
    """Colorize the held-out photo with the new checkpoint (and the base, when it is still available)."""
    photo = job.held_out_photo
    if photo is None:
        return
    if not st.toggle("Colorize the held-out photo with the result", key="finetune.show_held_out"):
        return
    shown = {"Truth": photo}
    visible = finetune.finetunable_checkpoints(owner_id())
    for label, name in ((f"Base ({job.config.base})", str(job.config.base)), ("Fine-tuned", status.result.name)):
        model = widgets.colorizer_ui(name) if name in visible else None
        if model is not None:
            shown[label] = loaders.colorized(model, loaders.checkpoint_stamp(name), photo, loaders.image_digest(photo)).image
    for column, (label, image) in zip(st.columns(len(shown)), shown.items()):
        column.image(widgets.display(image, max_side=512), caption=plain(f"{label} · {status.held_out_name}"),
                     alt=f"{label}: {status.held_out_name}")


# --------------------------------------------------------------------------- the page

def finetune_page_ui() -> None:
    st.title("Fine-tune")
    st.caption("Specialize a model to your photos: only the decoder trains (the encoder is frozen and its features "
               "are computed once), one job per server at a time. Keep this page open, or come back within "
               f"{visitor.GRACE_S:.0f} s: a fine-tune whose visitor has left stops, keeping its best epoch.")
    job = current_job()
    if job is not None:
        start_errors_ui()
        status = job.status()  # one snapshot: the job's thread moves on meanwhile
        for line in status.skipped:
            st.warning(plain(f"Skipped {line}"), icon=":material/broken_image:")
        if status.active:
            job_ui(job)
            return
        result_ui(job)
        st.button("Start another fine-tune", key="finetune.new", icon=":material/add:",
                  on_click=safe(lambda: st.session_state.pop(JOB_KEY, None)))
        my_models_ui()
        return
    bases = finetune.finetunable_checkpoints(owner_id())
    if not bases:
        widgets.no_checkpoint_ui()
        return
    mine = _mine()  # once a run: each listing reads the visitor's access files
    start_ui(bases, mine)
    my_models_ui(mine)


# --------------------------------------------------------------------------- the visitor's checkpoints

def _mine() -> dict:
    """name → (folder, access record) of the visitor's own fine-tuned checkpoints, the newest first."""
    owner = owner_id()
    mine = {name: (folder, access.read_access(folder))
            for name, folder in checkpoints.user_checkpoints(owner).items() if access.owned_by(folder, owner)}
    return dict(sorted(mine.items(), key=lambda item: -float((item[1][1] or {}).get("created") or 0)))


def model_line(name: str, folder, record: dict) -> str:
    """One of "Your fine-tuned models": its name (random, so that no one guesses another's), then what tells it
    apart: when it was made, from how many photos and epochs, private or shared, until when it is kept. Four
    "hypercolumn-ft-<hex>" names alone could not be told apart (session 35's audit)."""
    card = checkpoints.read_card(folder)
    made = datetime.fromtimestamp(float(record.get("created") or time.time()), tz=timezone.utc)
    expires = datetime.fromtimestamp(float(record.get("expires") or time.time()), tz=timezone.utc)
    data, training = card.get("data", {}), card.get("training", {})
    photos, trained, held_out = data.get("photos"), data.get("train_photos"), data.get("held_out_photos")
    what = [f"made {made:%Y-%m-%d %H:%M} UTC"]
    if isinstance(trained, int) and isinstance(held_out, int) and held_out:  # as the card's description counts them
        what.append(f"{trained} photo{'s' * (trained != 1)} + {held_out} held out")
    elif isinstance(photos, int):
        what.append(f"{photos} photo{'s' * (photos != 1)}")
    run = epochs_run(training)
    if isinstance(run, int):
        what.append(f"{run} epoch{'s' * (run != 1)}"
                    + (" (stopped early)" if training.get("stopped_early") else ""))
    what.append("shared on this server" if record.get("shared") else "private")
    what.append(f"kept until {expires:%Y-%m-%d %H:%M} UTC")
    return f"**{plain(name)}** · " + " · ".join(what)


def _share(folder, owner: str) -> None:
    access.share(folder, owner)


def _delete(folder, owner: str) -> None:
    access.delete(folder, owner)


def my_models_ui(mine: dict | None = None) -> None:
    """The visitor's fine-tuned checkpoints (``mine``: ``_mine()``'s listing, when the caller holds it): private or
    shared, when each expires, Share and Delete."""
    mine = _mine() if mine is None else mine
    if not mine:
        return
    st.header("Your fine-tuned models")
    limits = access.Limits.from_env()
    st.caption(f"{len(mine)} of the {limits.per_visitor} one visitor may keep, the newest first. Private to you (this "
               "browser keeps your key in a cookie) until you share one with every visitor of this server, e.g. a "
               f"teacher's model for the class. Each is kept {limits.days:g} days; download the ZIP to keep it longer "
               "(unzipped, it is a checkpoint folder for `python -m colorizer colorize --checkpoint FOLDER` or for "
               "your own run of this app: docs/training.md).")
    owner = owner_id()
    for name, (folder, record) in mine.items():
        label, zip_col, share_col, delete_col = st.columns([4, 1, 1, 1], vertical_alignment="center")
        label.markdown(model_line(name, folder, record))
        # Here too, not only beside the job's result: after a reload or another fine-tune that view is gone, and the
        # caption above tells the visitor to download the ZIP (made when clicked).
        zip_col.download_button("ZIP", functools.partial(finetune.checkpoint_zip, folder), file_name=f"{name}.zip",
                                mime="application/zip", key=f"finetune.zip.{name}", on_click="ignore",
                                icon=":material/download:", help="model.keras, history.csv and card.json")
        share_col.button("Share", key=f"finetune.share.{name}", disabled=bool(record.get("shared")),
                         on_click=safe(_share), args=(folder, owner), icon=":material/share:",
                         help="Every visitor of this server sees it in their model picker from then on.")
        delete_col.button("Delete", key=f"finetune.delete.{name}", on_click=safe(_delete), args=(folder, owner),
                          icon=":material/delete:")
