"""The Fine-tune page's UI helpers (``*_ui()``); the training itself is ``colorizer.finetune``.

The page shows either the settings form (no job in this session) or this session's job, found by the
id kept in ``st.session_state["finetune.job_id"]`` and the session's owner id: a job belongs to the
session that started it and no other session sees it. While the job is queued or running, its view is
an ``st.fragment`` re-run every second (the page itself stays responsive and survives reruns: the job
lives in a background thread, not in the script run); once it ends, one full rerun shows the result,
and the model picker (which lists checkpoints on every run) includes the new checkpoint.
Widget keys are namespaced ``finetune.*``.
"""
from __future__ import annotations

import functools
import uuid

import streamlit as st

from colorizer import checkpoints, finetune, gallery
from colorizer.imageio import SUPPORTED_EXTENSIONS
from colorizer.models import ARCHITECTURES
from ui import charts, loaders, memory, widgets

__all__ = ["finetune_page_ui", "settings_ui", "photos_ui", "job_ui", "result_ui", "JOB_KEY", "OWNER_KEY"]

JOB_KEY = "finetune.job_id"
OWNER_KEY = "finetune.owner"
START_ERRORS_KEY = "finetune.start_errors"
UPLOAD, GALLERY = "Upload photos", "Gallery color photos"
EPOCH_CHOICES_MAX = 200
BATCH_SIZES = (4, 8, 16, 32, 64)
# 8, not 16: the flagship's training activations at 16 crops a batch took ~180 MB more of a server whose
# cap on Streamlit Community Cloud is near 2.7 GB (python -m colorizer bench --server measures it).
DEFAULT_BATCH = 8
LEARNING_RATES = (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3)
CROP_SIZES = (32, 64, 96, 128, 160, 192, 256)


def owner_id() -> str:
    """This session's owner id for the job queue (each session sees only its own jobs)."""
    if OWNER_KEY not in st.session_state:
        st.session_state[OWNER_KEY] = uuid.uuid4().hex
    return st.session_state[OWNER_KEY]


def current_job() -> finetune.FinetuneJob | None:
    return finetune.QUEUE.get(st.session_state.get(JOB_KEY), owner_id())


def crop_choices(card: dict) -> list[int]:
    """Crop sizes a base accepts: its working size only when fixed, else multiples of 8 around it."""
    working = int(card.get("working_size") or 128)
    arch = ARCHITECTURES.get(card.get("architecture"))
    if arch is not None and arch.FIXED_SIZE:  # Dense layers (cifar_ae, vae): the input size is fixed at build time
        return [working]
    return sorted({*CROP_SIZES, working})


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "estimating time left"
    seconds = int(round(seconds))
    return f"about {seconds // 60} min {seconds % 60:02d} s left" if seconds >= 60 else f"about {seconds} s left"


# --------------------------------------------------------------------------- the form

def base_ui(bases: dict) -> str:
    names = list(bases)
    chosen = widgets.chosen_checkpoint()
    index = names.index(chosen) if chosen in names else 0
    return st.selectbox(
        "Base checkpoint", names, index=index, key="finetune.base",
        format_func=lambda n: f"{n} ({checkpoints.read_card(bases[n]).get('architecture', '?')}) · {widgets.checkpoint_kind(n)}",
        help="Any checkpoint with a separate decoder: the shipped ones and your fine-tuned ones. Its encoder stays frozen.",
    )


def photos_ui() -> tuple[list, list[str]] | None:
    """The photo source → a loader returning (photos, error lines), or None when nothing is chosen yet."""
    source = st.segmented_control("Photos", [UPLOAD, GALLERY], default=UPLOAD, key="finetune.source", required=True)
    if source == GALLERY:
        keys = gallery.color_keys()
        picked = st.multiselect("Gallery photos", keys, default=keys, key="finetune.gallery",
                                format_func=lambda k: gallery.GALLERY[k].title,
                                help="The gallery's color photos (from scikit-image, scikit-learn and matplotlib).")
        return (lambda: _gallery_photos(picked)) if picked else None
    uploads = st.file_uploader(
        "Color photos of one kind (landscapes, faces, flowers…)", type=list(SUPPORTED_EXTENSIONS),
        accept_multiple_files=True, key="finetune.uploads",
        help="Twenty or so color photos are plenty. Grayscale files are skipped: they have no color to learn.",
    )
    if not uploads:
        return None
    st.caption(f"{len(uploads)} file(s) chosen.")
    return lambda: finetune.photos_from_uploads((u.name, u.getvalue()) for u in uploads)


def _gallery_photos(keys: list[str]) -> tuple[list, list[str]]:
    photos = [(f"{k}.png", finetune.shrink_photo(loaders.gallery_picture(k).rgb)) for k in keys]
    return photos, []


def settings_ui(base_card: dict) -> dict:
    """Epochs, learning rate, batch size, crop size and validation share → keyword arguments of the config."""
    left, middle, right = st.columns(3)
    epochs = left.number_input("Epochs", 1, EPOCH_CHOICES_MAX, 5, key="finetune.epochs")
    lr = middle.select_slider("Learning rate", LEARNING_RATES, value=3e-4, key="finetune.lr",
                              format_func=lambda v: f"{v:.0e}")
    batch = right.select_slider("Batch size", BATCH_SIZES, value=DEFAULT_BATCH, key="finetune.batch")
    crops = crop_choices(base_card)
    working = int(base_card.get("working_size") or crops[0])
    crop = left.selectbox("Crop size (px)", crops, index=crops.index(working) if working in crops else 0,
                          key=f"finetune.crop.{base_card.get('name', '')}", disabled=len(crops) == 1,
                          help="Crops are cut at several scales, flipped half the time, and resized to this size. "
                               "Default: the model's working size.")
    share = middle.slider("Validation share", 0.0, 0.5, 0.2, 0.05, key="finetune.val_share",
                          help="Photos held out to measure progress, preview each epoch and score the result.")
    return {"epochs": int(epochs), "lr": float(lr), "batch_size": int(batch), "crop": int(crop), "val_share": float(share)}


def start_ui(bases: dict) -> None:
    """The whole form and its Start button (Start queues the job: see ``_start``)."""
    base = base_ui(bases)
    card = checkpoints.read_card(bases[base])
    loader = photos_ui()
    settings = settings_ui(card)
    source = "gallery color photos" if st.session_state.get("finetune.source") == GALLERY else "photos uploaded in the app"
    st.button("Start fine-tuning", type="primary", key="finetune.start", icon=":material/play_arrow:",
              disabled=loader is None, on_click=_start, args=(base, loader, settings, source))
    if loader is None:
        st.caption("Choose some color photos to start.")
    for error in st.session_state.pop(START_ERRORS_KEY, []):
        st.error(error, icon=":material/error:")


def _start(base: str, loader, settings: dict, source: str) -> None:
    """On Start (a callback: it runs before the page, so no rerun can drop the click): read the photos,
    queue the job and remember its id; with no usable photo, say so on the form instead."""
    photos, errors = loader()
    if not photos:
        st.session_state[START_ERRORS_KEY] = [*errors, "No usable color photos: upload color photos (PNG, JPEG, "
                                              "WebP…) or use the gallery."]
        return
    config = finetune.FinetuneConfig(base=base, data_label=source, **settings)
    job = finetune.QUEUE.submit(config, photos, owner=owner_id(), skipped=errors,
                                on_update=memory.release_when_done)  # a server's memory back once it ends
    st.session_state[JOB_KEY] = job.id


# --------------------------------------------------------------------------- the running job

def device_line(status: finetune.JobStatus) -> str:
    if not status.device:
        return ""
    if status.device.startswith("GPU"):
        return f"Training on the {status.device}" + (" with mixed precision" if status.mixed_precision else "")
    return f"Training on CPU: {status.device.removeprefix('CPU: ')}. No GPU found, so it is slower."


def progress_ui(status: finetune.JobStatus) -> None:
    if status.steps_per_epoch:
        text = (f"Epoch {max(status.epoch, 1)}/{status.epochs} · step {status.step}/{status.steps_per_epoch} · "
                f"{_eta(status.eta_s)}")
    else:
        text = status.message or "preparing…"
    st.progress(status.fraction, text=text)
    line = device_line(status)
    if line:
        st.caption(line)
    if status.steps_per_epoch and status.message and not status.message.startswith("training on"):
        st.caption(status.message)  # stopping, scoring, writing: what happens after the last step


def curves_ui(status: finetune.JobStatus, key: str) -> None:
    if not status.history:
        st.caption("The loss curves appear after the first epoch.")
        return
    figure = charts.history_figure({"fine-tune": list(status.history)}, "loss", height=300)
    st.plotly_chart(figure, key=key)


def preview_ui(status: finetune.JobStatus) -> None:
    if status.preview is not None:
        st.image(status.preview, caption=f"Held-out photo {status.held_out_name} after epoch {status.preview_epoch}",
                 width=360)


def queued_ui(job: finetune.FinetuneJob) -> None:
    ahead = finetune.QUEUE.position(job)
    st.info(f"Another fine-tune is running on this server; one runs at a time. Yours is in the queue with "
            f"{ahead or 0} job(s) ahead of it and starts by itself.", icon=":material/hourglass_top:")
    st.button("Cancel", key="finetune.cancel", on_click=job.stop)


def _job_fragment(job: finetune.FinetuneJob) -> None:
    status = job.status()
    if not status.active:
        st.rerun()  # one full rerun: the final view, and the model picker lists the new checkpoint
    if status.state == "queued":
        queued_ui(job)
        return
    progress = st.container()  # above the button, drawn after it
    st.button("Stop", key="finetune.stop", icon=":material/stop:", disabled=status.state == "stopping", on_click=job.stop,
              help="Ends after the current step, keeps the best weights so far and saves them.")
    with progress:
        progress_ui(status)
    curves, preview = st.columns([3, 2])
    with curves:
        curves_ui(status, key="finetune.curve.live")
    with preview:
        preview_ui(status)


def job_ui(job: finetune.FinetuneJob) -> None:
    """The live view of an active job, refreshed every second by a fragment until the job ends; then one
    full rerun shows the result (so the fragment never stops refreshing on a stale view)."""
    st.fragment(run_every=1.0)(_job_fragment)(job)


# --------------------------------------------------------------------------- the result

def result_ui(job: finetune.FinetuneJob) -> None:
    status = job.status()
    if status.state == "failed":
        st.error(f"Fine-tuning failed: {status.error}", icon=":material/error:")
        st.info("Nothing was saved. Check that the photos are color photos, try another base checkpoint or a "
                "smaller batch size, then start again.", icon=":material/lightbulb:")
        return
    if status.result is None:
        st.warning(status.message or "Stopped: nothing was saved.", icon=":material/stop_circle:")
        return
    card = checkpoints.read_card(status.result)
    training = card.get("training", {})
    stopped = " (stopped early; the best epoch's weights were kept)" if status.state == "stopped" else ""
    st.success(f"Saved **{status.result.name}** after {training.get('epochs_run', '?')} epoch(s){stopped}. "
               "It is in the model picker now, and on the Compare and Training-curves pages.",
               icon=":material/check_circle:")
    st.caption(f"{device_line(status)} · {status.wall_time_s:.0f} s in all · "
               f"{training.get('time_per_epoch_s') or '–'} s per epoch (encoder features computed once, "
               f"in {training.get('feature_time_s', '?')} s)")
    st.download_button("Download the checkpoint (ZIP)", functools.partial(finetune.checkpoint_zip, status.result),
                       file_name=f"{status.result.name}.zip", mime="application/zip", key="finetune.download",
                       icon=":material/download:",
                       help="model.keras, history.csv and card.json. A hosted app's disk is wiped on restart: keep a copy.")
    curves_ui(status, key="finetune.curve.final")
    scores_ui(card)
    held_out_ui(job, status)


def scores_ui(card: dict) -> None:
    evaluation = {k: v for k, v in card.get("evaluation", {}).items() if k != "truth" and isinstance(v, dict)}
    if not evaluation:
        return
    rows = [{"model": k, "PSNR (dB)": round(v["psnr"], 2), "SSIM": round(v["ssim"], 4), "L2_ab": round(v["l2_ab"], 2),
             "colorfulness": round(v["colorfulness"], 1)} for k, v in evaluation.items()]
    held_out = card.get("data", {}).get("held_out")
    st.markdown("##### On the held-out photos" if held_out else "##### On the training photo (none was held out)")
    st.dataframe(rows, hide_index=True)


def held_out_ui(job: finetune.FinetuneJob, status: finetune.JobStatus) -> None:
    """Colorize the held-out photo with the new checkpoint (and the base, when it is still available)."""
    photo = job.held_out_photo
    if photo is None:
        return
    if not st.toggle("Colorize the held-out photo with the result", key="finetune.show_held_out"):
        return
    shown = {"Truth": photo}
    for label, name in ((f"Base ({job.config.base})", str(job.config.base)), ("Fine-tuned", status.result.name)):
        model = widgets.colorizer_ui(name) if name in finetune.finetunable_checkpoints() else None
        if model is not None:
            shown[label], _ = loaders.colorized(model, loaders.checkpoint_stamp(name), photo, loaders.image_digest(photo))
    for column, (label, image) in zip(st.columns(len(shown)), shown.items()):
        column.image(widgets.display(image, max_side=512), caption=f"{label} · {status.held_out_name}")


# --------------------------------------------------------------------------- the page

def finetune_page_ui() -> None:
    st.title("Fine-tune")
    st.caption("Specialize a model to your photos: only the decoder trains (the encoder is frozen and its features "
               "are computed once), in the background, one job per server at a time.")
    job = current_job()
    if job is not None:
        status = job.status()  # one snapshot: the job's thread moves on meanwhile
        for line in status.skipped:
            st.warning(f"Skipped {line}", icon=":material/broken_image:")
        if status.active:
            job_ui(job)
            return
        result_ui(job)
        st.button("Start another fine-tune", key="finetune.new", icon=":material/add:",
                  on_click=lambda: st.session_state.pop(JOB_KEY, None))
        return
    bases = finetune.finetunable_checkpoints()
    if not bases:
        widgets.no_checkpoint_ui()
        return
    start_ui(bases)
