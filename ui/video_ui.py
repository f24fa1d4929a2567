"""The Video page's UI helpers (``*_ui()``); the video work itself is ``colorizer.video``.

The page: a clip (an upload within the hosted caps below, or a sample built from a gallery photo:
an old-film pan with grain and flicker), its first frame, optional colors for that frame (a reference
photo, or hints placed on it for a hint-taking model, as on the Colorize page), a Colorize button that runs through the server's work
queue (``ui.work_queue``) with a progress bar and a Stop button, then the input and the result side by
side (``st.video``), the MP4 download, and a chart of frame-to-frame color change: each frame's own
prediction against the colors carried along the motion.

Stop: pressing it reruns the page, which interrupts the run at its next progress update; the partial
file is removed and the queue's place given up (``colorizer.video.pipeline`` writes to a hidden file).
Clips are kept on disk while in use (``ui.clip_store``). Widget keys are namespaced ``video.*``; the first frame's
hints keep ``ui.hints_ui``'s own (``colorize.hint_*``): they are the Colorize page's hints for the same picture.
"""
from __future__ import annotations

import dataclasses
import functools
import json
import math
import tempfile
import time
import uuid
from pathlib import Path

import numpy as np
import streamlit as st

from colorizer import gallery
from colorizer.exemplar import ReferencePhotoError, usable_reference
from colorizer.imageio import SUPPORTED_EXTENSIONS, DecodedImage, ImageError
from colorizer.imageio_pixels import gray_and_color
from colorizer.video.frames import NETWORK_EVERY, unguidable_reason
from colorizer.video.io import VideoBudgetError, VideoError, check_budget, probe, read_frames
from colorizer.video.pipeline import VideoReport, colorize_video
from ui import callbacks, charts, clip_runs, loaders, visitor, widgets, work_queue
from ui.clip_store import VIDEO_TYPES, clip_folder, stored_clip
from ui.hints_ui import hints_json, hints_of, hints_ui, unused_hints_ui
from ui.plain_text import plain
from ui.reference_ui import kept_reference

__all__ = ["video_page_ui", "clip_ui", "guidance_ui", "guidance_key", "run_ui", "result_ui", "last_result_ui", "download_name",
           "flicker_figure", "fps_text", "MAX_UPLOAD_MB", "MAX_SECONDS", "MAX_FRAME_PIXELS", "PAGE_BUDGET", "MAX_RESULT_MB"]

# Hosted caps (a shared 2-core server; the CLI has its own, larger budget, COLORIZER_MAX_VIDEO_PIXELS):
MAX_UPLOAD_MB: float | None = None   # None: the server's limit on a file (server.maxUploadSize; 30 in the config)
MAX_SECONDS = 30                      # of clip
MAX_FRAME_PIXELS = 1280 * 720         # a frame
PAGE_BUDGET = 640 * 360 * 25 * 30     # frames × pixels: 30 s of 640×360 at 25 fps, about 2 minutes of CPU here
# Frames, whatever their size: each costs a flow estimate and an encode, every few a network pass at the model's
# working size, so tiny frames at a huge frame rate (or a header with no frame count) must not pass the pixel budget.
MAX_FRAMES = MAX_SECONDS * 30
# A result is held in memory while its tab is open (and Streamlit's media store serves it): honest 30-s clips come
# out at a few MB; a file of noise re-encoded at film quality could be ten times its upload.
MAX_RESULT_MB = 50
UPLOAD, SAMPLE = "Upload a clip", "Sample: an old-film pan"
NONE, REFERENCE, HINTS = "Automatic", "From a reference photo", "From hints"
SOURCE_KEY, RESULT_KEY, STOPPED_KEY, REQUEST_KEY = "video.source", "video.result", "video.stopped", "video.requested"
# The uploader; the clip it held (its name, its stored copy's file name); whether that clip is still used, the uploader
# empty since a trip to another page.
UPLOAD_KEY, CHOSEN_KEY, KEEPING_KEY = "video.upload", "video.upload_chosen", "video.upload_kept"
GUIDANCE_KEY = "video.guidance"
REFERENCE_GALLERY_KEY = "video.reference_gallery"
SAMPLE_NAME = "old_film_sample.mp4"


@st.cache_resource(show_spinner="Building the sample clip…")
def sample_clip() -> tuple[str, bytes]:
    """The sample: 48 frames of 640×360, a pan over the Summer Palace (a gallery photo) in gray, with
    film grain and exposure flicker (``colorizer.video.synthetic``)."""
    from colorizer.video.measure import write_clip
    from colorizer.video.synthetic import camera_clip

    clip = camera_clip(gallery.load_photo("china"), frames=48, motion="pan", seed=7)
    with tempfile.TemporaryDirectory() as folder:
        write_clip(clip, Path(folder) / "sample.mp4")
        return SAMPLE_NAME, (Path(folder) / "sample.mp4").read_bytes()


@st.cache_data(max_entries=8, show_spinner=False)
def first_frame(path: str) -> np.ndarray:
    """The clip's first frame, held to the page's frame size as it is decoded (a header can understate it)."""
    return next(read_frames(path, max_frames=1, max_frame_pixels=MAX_FRAME_PIXELS))


def clip_upload_mb() -> float:
    """The largest clip the page takes, in MB: ``MAX_UPLOAD_MB``, by default the server's limit on any file (a 30
    here beside it drifted from ``server.maxUploadSize``, which deploy.md says sets it)."""
    from ui.server_tuning import largest_upload_mb

    return float(largest_upload_mb() if MAX_UPLOAD_MB is None else MAX_UPLOAD_MB)


def opened_clip(path: Path, name: str):
    """(header, first frame) of the stored clip at ``path`` within the page's caps; ``VideoError`` naming ``name``."""
    info = probe(path, max_frame_pixels=MAX_FRAME_PIXELS)
    if info.duration > MAX_SECONDS:
        raise VideoError(f"{name}: {info.duration:.0f} s, over this server's {MAX_SECONDS} s for a clip "
                         "(the command line takes longer clips: python -m colorizer video)")
    if info.frames > MAX_FRAMES:
        raise VideoError(f"{name}: {info.frames_text}, over this server's {MAX_FRAMES} for a clip "
                         "(the command line takes longer clips: python -m colorizer video)")
    try:
        check_budget(info, max_frames=MAX_FRAMES, max_pixels=PAGE_BUDGET, max_frame_pixels=MAX_FRAME_PIXELS)
    except VideoBudgetError:  # its own words name the command line's options and an operator's setting
        raise VideoError(f"{name}: {budget_refusal(info)}") from None
    return info, first_frame(str(path))


def _largest_frame() -> str:
    return "1280×720" if MAX_FRAME_PIXELS == 1280 * 720 else f"{MAX_FRAME_PIXELS:,} pixels a frame"


def budget_refusal(info) -> str:
    """Why a clip within the upload limits is too much for the page, and what the visitor can do about it."""
    if info.width * info.height > MAX_FRAME_PIXELS:
        return (f"its frames are {info.width}×{info.height}, over this server's {_largest_frame()}: export it smaller, "
                "or use the command line (python -m colorizer video)")
    fitting = PAGE_BUDGET // (info.width * info.height) / float(info.fps or 1)
    return (f"{info.duration:.1f} s of {info.width}×{info.height} is more than this server colorizes in one clip "
            f"(at this size, about {fitting:.2g} s): shorten it, export it smaller, or use the command line "
            "(python -m colorizer video)")


def limits_help() -> str:
    """The page's limits beside its uploader: the frame size and the time it holds at each size (a 10-s 720p clip
    was refused for a reason the label never named: session 36's audit)."""
    seconds = {size: PAGE_BUDGET / (w * h) / 25 for size, (w, h) in (("640×360", (640, 360)), ("1280×720", (1280, 720)))}
    return (f"Frames up to {_largest_frame()}. This server colorizes about {min(MAX_SECONDS, seconds['640×360']):.0f} s of a "
            f"640×360 clip at 25 fps, {seconds['1280×720']:.1f} s at 1280×720; the command line "
            "(python -m colorizer video) takes longer and larger clips.")


def _kept_clip(came_back: bool) -> tuple[str, bytes] | None:
    """The clip uploaded before a trip to another page (Streamlit's uploader lets its file go when its page is not
    drawn): (its name, its bytes) from its stored copy, with a line saying so, until another is uploaded; None when
    there is none, the visitor emptied the uploader on the page itself, or the stored copy is gone. A teacher going
    Video → Colorize → Video had to upload the clip again (session 39's walk-through)."""
    chosen = st.session_state.get(CHOSEN_KEY)
    if not (isinstance(chosen, tuple) and (came_back or st.session_state.get(KEEPING_KEY))):
        st.session_state.pop(KEEPING_KEY, None)
        return None
    try:
        data = (clip_folder() / chosen[1]).read_bytes()
    except OSError:
        st.session_state.pop(KEEPING_KEY, None)
        return None
    st.session_state[KEEPING_KEY] = True
    st.caption(plain(f"Still using {chosen[0]}; upload another clip to change it."))
    return chosen[0], data


def _uploaded_clip() -> tuple[str, bytes] | None:
    """The uploader, and what it holds: (name, bytes) of the clip uploaded, or of the one kept since a trip to another
    page (``_kept_clip``); None with a line saying why (nothing uploaded, or over the size this server takes)."""
    largest = clip_upload_mb()
    came_back = not widgets.drawn_last_run(UPLOAD_KEY)  # back from another page: its clip let go
    upload = st.file_uploader(f"A short clip (MP4, MOV, AVI, WebM, MKV or animated GIF; up to {largest:g} MB "
                              f"and {MAX_SECONDS} s)", type=VIDEO_TYPES, key=UPLOAD_KEY, help=limits_help())
    if upload is None:
        kept = _kept_clip(came_back)
        if kept is None:
            forgotten = st.session_state.pop(CHOSEN_KEY, None)
            if came_back and forgotten:  # its stored copy gone too (other visitors' clips pushed it out)
                st.info(plain(f"{forgotten[0]} was let go when you left this page: upload it again."),
                        icon=":material/movie:")
            else:
                st.info("Upload a clip, or try the sample.", icon=":material/movie:")
        return kept
    st.session_state.pop(KEEPING_KEY, None)
    if upload.size > largest * 1024 * 1024:
        st.error(plain(f"{upload.name}: {upload.size / 1024 / 1024:.0f} MB, over this server's {largest:g} MB for a clip "
                 "(the command line takes longer clips: python -m colorizer video)"), icon=":material/error:")
        return None
    return upload.name, upload.getvalue()


def clip_ui():
    """The clip within the caps: ((its name, path, info, bytes), its first frame: uint8 RGB), or None (with a message
    when it is refused)."""
    source = st.segmented_control("Clip", [UPLOAD, SAMPLE], default=SAMPLE, key=SOURCE_KEY, required=True,
                                  persist_state="session")
    if source == UPLOAD:
        uploaded = _uploaded_clip()
        if uploaded is None:
            return None
        name, data = uploaded
    else:
        st.session_state.pop(CHOSEN_KEY, None)  # the uploader's clip goes with the switch, not on a trip away
        st.session_state.pop(KEEPING_KEY, None)
        name, data = sample_clip()
    path = stored_clip(name, data)
    if source == UPLOAD:
        st.session_state[CHOSEN_KEY] = (name, path.name)   # kept, by its stored copy, for a trip to another page
    try:
        # In the uploads' lane, as a photo is read: opening a clip decodes a frame of each of its streams (up to
        # video.io.MAX_STREAMS), and every rerun of the page opens it again; two visitors' clips are not opened at once.
        with work_queue.DECODE_QUEUE.turn(kind="opening a clip"):
            info, frame = opened_clip(path, name)
    except VideoError as err:
        st.error(plain(str(err).replace(path.name, name)), icon=":material/broken_image:")
        return None
    # A header without a frame count (a still picture named .mp4) said "first frame of 0 (…, 0.0 s)".
    # A count from the clip's length is "about": 30 frames all stamped 0 read "first frame of 1" (session 44's audit).
    about = "about " if info.estimated else ""
    count = (f"first frame of {about}{info.frames} ({info.width}×{info.height}, {fps_text(info.fps)} fps, "
             f"{about}{info.duration:.1f} s"
             if info.frames else f"first frame (its header gives no frame count; {info.width}×{info.height}, "
                                 f"{fps_text(info.fps)} fps")
    st.image(widgets.display(frame, max_side=640), caption=plain(f"{name}: {count}"
             f"{', with sound' if info.has_audio else ''})"), alt=f"The first frame of {name}")
    if info.frames == 1 and not info.estimated:  # a still GIF or a one-frame clip: the Colorize page does more
        st.info(f"{name} holds a single picture: the Colorize page colors it with hints, a reference and metrics "
                "(this page makes a one-frame MP4 of it).", icon=":material/photo:")
    # Encoded when asked for, in a turn of the work queue, not on every rerun (70 ms for the sample's 640×360 frame:
    # session 46); a click reruns nothing.
    st.download_button("Download the first frame (PNG)", functools.partial(widgets.png_of, frame),
                       file_name=first_frame_name(name), mime="image/png", key="video.frame_download", on_click="ignore")
    return (name, path, info, data), frame


def first_frame_name(name: str) -> str:
    """The file name of the first frame of the clip ``name``, as its download and its hints call it."""
    return f"{widgets.file_stem(name, 'clip')}_frame1.png"


def guidance_ui(model, stamp: tuple, info, name: str, frame: np.ndarray) -> tuple[dict, str] | None:
    """Colors for the first frame of the clip ``name`` → (keyword arguments for ``colorize_video``, a label), or None
    while a chosen guide is missing or broken, or the clip's frames too small to guide (the error says which).
    ``frame``: the clip's first frame (uint8 RGB), where hints are placed; ``stamp``: the model's checkpoint's."""
    # Open while a guide is chosen: its photo or hints are what the run waits for (chosen, then the page left and
    # come back to, "From hints" showed no Colorize button and, folded, not why nor the frame to tap).
    with st.expander("Colors for the first frame (optional)", expanded=st.session_state.get(GUIDANCE_KEY, NONE) != NONE):
        how = st.radio("First frame's colors", [NONE, REFERENCE, HINTS], key=GUIDANCE_KEY, horizontal=True,
                       persist_state="session",
                       help="The colored first frame then guides the frames after it (its colors are matched to theirs).")
        unguidable = unguidable_reason((info.height, info.width)) if how != NONE else None
        if unguidable:  # here, not after the clip's wait in the queue
            st.error(plain(f"{name}: {unguidable}"), icon=":material/error:")
            return None
        if how == REFERENCE:
            upload = st.file_uploader("A color photo of the same place or kind", type=list(SUPPORTED_EXTENSIONS),
                                      key="video.reference")
            if upload is None:
                pick = st.selectbox("…or a gallery photo", gallery.color_keys(), key=REFERENCE_GALLERY_KEY,
                                    persist_state="session", format_func=lambda k: gallery.GALLERY[k].title)
            else:  # a gallery box still showing its photo, grayed, read as the photo in use (session 42's audit)
                st.caption(plain(f"Using {upload.name}; remove it to choose a gallery photo instead."))
            try:
                picture = kept_reference(loaders.decode_upload(upload.getvalue(), upload.name) if upload
                                         else loaders.gallery_picture(pick))
            except ImageError as err:
                st.error(plain(f"reference {err}"), icon=":material/error:")
                return None
            # What a transparent area of it hides gives no color; one gray, too small or shown too little is refused
            # here, not after the clip's wait in the queue (the matcher's own rules).
            try:
                visible = usable_reference(picture.rgb.shape, picture.alpha, picture.was_color)
            except ReferencePhotoError as err:
                st.error(plain(f"reference {picture.name}: {err}"), icon=":material/error:")
                return None
            return {"reference": picture.rgb, "reference_visible": visible}, f"reference {picture.name}"
        if how == HINTS:
            if not model.takes_hints:
                st.info("Hints need a hint-taking model: pick hypercolumn_hints in the sidebar, or choose Automatic "
                        "above to colorize the clip without them.", icon=":material/info:")
                unused_hints_ui(loaders.image_digest(frame), model)  # the frame's hints, if any: kept, and how to use
                return None
            return _first_frame_hints_ui(model, stamp, name, frame)
    return {}, "automatic"


def guidance_key(guidance: dict) -> str:
    """What the first frame's colors come from, by content: the label names a reference by its file name and
    hints by their count, so another photo of the same name (a phone calls every photo image.jpg) or another
    hints file of as many hints showed the last clip's result as theirs."""
    if "reference" in guidance:
        return loaders.image_digest(guidance["reference"]) + loaders.alpha_key(guidance.get("reference_visible"))
    if "hints" in guidance:
        return json.dumps(guidance["hints"], sort_keys=True)
    return ""


def _stop() -> None:
    st.session_state[STOPPED_KEY] = True
    clip_runs.stopping(visitor.token())   # its run's end is the visitor's Stop, not a cut-off


def _request() -> None:
    st.session_state[REQUEST_KEY] = True


CUT_OFF_WAIT_S = 3.0   # the longest a run waits for its session's last run (or a reloaded tab's) to let go of a clip
# The clip lane's kind: its jobs' time is remembered per frame (``work_queue``'s ``work``).
CLIP_KIND = "This clip"


def frames_to_colorize(info) -> int:
    """The frames a run will colorize: the header's count within the page's caps (``MAX_FRAMES``, ``MAX_SECONDS``)."""
    fitting = max(1, math.floor(MAX_SECONDS * float(info.fps))) if info.fps else MAX_FRAMES
    return max(1, min(info.frames or MAX_FRAMES, MAX_FRAMES, fitting))


def _first_frame_hints_ui(model, stamp: tuple, name: str, frame: np.ndarray) -> tuple[dict, str] | None:
    """Hints placed on the first frame as on the Colorize page (``ui.hints_ui``: click, choose a color, add; or load
    a hints file) → the run's guidance and label, or None while there are none. They were made only on the Colorize
    page, downloaded and loaded here (session 41's audit: a class looked for where to tap the frame). They are kept
    by the frame's content, so the Colorize page finds them too for the same picture."""
    picture = DecodedImage(first_frame_name(name), frame, None, was_color=gray_and_color(frame, None)[1], notes=())
    digest = loaders.image_digest(frame)
    try:
        result = loaders.colorized(model, stamp, frame, digest, hints_json=hints_json(digest)).image
    except Exception as err:  # never a traceback: say which picture and why (as the Colorize page does)
        st.error(plain(f"{picture.name}: could not colorize ({callbacks.error_line(err, 200)})"), icon=":material/error:")
        return None
    hints_ui(picture, model, stamp, digest, result)
    hints = hints_of(digest)
    if not hints:
        st.info("Add a hint to the first frame to colorize the clip with it.", icon=":material/colorize:")
        return None
    return {"hints": [dict(hint) for hint in hints]}, f"{len(hints)} hint{'s' if len(hints) != 1 else ''}"


# Streamlit's own Stop, in the toolbar, hidden while a clip runs: it ends the run where no line of the page can be
# drawn again, and the bar stayed as it was ("Frame 33 of 400 · about 73 s left"), the page's Stop beside it, until
# the next click (session 42's audit). The page's Stop, right under the bar, stops the clip and says so.
TOOLBAR_STOP_HIDDEN_CSS = '[data-testid="stStatusWidget"] button { display: none; }'


def run_ui(model, clip: tuple, guidance: dict, label: str, key: tuple) -> None:
    """The Colorize button; a run in the work queue with a progress bar and Stop; its result kept in the session.
    ``clip``: ``clip_ui``'s (name, path, info, bytes)."""
    name, path, info, clip_bytes = clip
    frames = frames_to_colorize(info)
    st.button("Colorize the clip", type="primary", key="video.run", icon=":material/play_arrow:", on_click=_request)
    # The run's places, made on every run, used or not: a run that colorized drew four elements more than the next,
    # and Streamlit then drew the result's videos and chart after them anew (work_queue.waiting_line). The bar and
    # Stop right under the button pressed: with the estimate between them, on a phone the bar sat at the screen's
    # bottom edge and Stop under it (session 41's audit).
    bar = st.empty()
    clip_line, colorize_line = work_queue.waiting_line(), work_queue.waiting_line()  # while it waits: under the bar
    stop = st.empty()
    estimate = st.empty()   # said again once this clip has run: "a guess: no clip has run here yet" had stayed
    estimate.caption(estimate_text(info, frames))
    if not st.session_state.pop(REQUEST_KEY, False):
        if st.session_state.pop(STOPPED_KEY, False):
            bar.info("Stopped: nothing was kept. Press Colorize to start again.", icon=":material/stop_circle:")
        return
    owner = visitor.token()
    with clip_runs.claim(owner, name, session=visitor.session_id()) as claimed:
        if not claimed:  # one clip at a time a visitor: five tabs held a class's clips back 45 s (session 38)
            bar.warning(plain(f"{clip_runs.running(owner) or 'A clip'} of yours is being colorized in another tab: "
                              "wait for it there, or stop it, then press Colorize again."), icon=":material/tab:")
            return
        _run(model, clip, guidance, label, key, frames, estimate, bar, stop, clip_line, colorize_line)


def _run(model, clip: tuple, guidance: dict, label: str, key: tuple, frames: int, estimate, bar, stop, clip_line,
         colorize_line) -> None:
    """``run_ui``'s run, in the places it made: the clip in the clip lane, its result kept in the session."""
    name, path, info, clip_bytes = clip
    st.session_state.pop(RESULT_KEY, None)
    st.session_state[STOPPED_KEY] = False
    bar = bar.progress(0.0, text="Waiting for the first frame…")
    with stop.container():  # only while the clip runs
        st.button("Stop", key="video.stop", on_click=_stop, icon=":material/stop:")
        st.caption("Stay on this page until it ends: reloading, leaving or changing a setting stops the clip.")
    st.html(f"<style>{TOOLBAR_STOP_HIDDEN_CSS}</style>")

    output = clip_folder() / f".result-{uuid.uuid4().hex}.mp4"   # this run's own: others may run the same clip
    try:
        # The clip's frames are its size in the clip lane: those behind it are told its time, not the mean clip's.
        with work_queue.turn_ui(CLIP_KIND, queue=work_queue.CLIP_QUEUE, line=clip_line, work=frames) as clip_turn, \
                work_queue.turn_ui("Colorizing this clip", line=colorize_line) as turn:
            started = time.monotonic()

            clip_turn.did(0)  # until a frame is done: a clip that fails before tells no pace

            def progress(done: int, total: int) -> None:
                clip_turn.did(done)  # a clip stopped or failed part way took its done frames' time
                left = (time.monotonic() - started) / done * (total - done) if done else 0.0
                bar.progress(min(done / max(total, 1), 1.0), text=f"Frame {done} of {total}"
                             + (f" · {work_queue.about_text(left)} left" if done < total else ""))
                # A clip holds the server's one slot for up to a minute: each second, whoever queued meanwhile (a
                # photo, another clip) goes first, so a class's photos wait for a second of frames, not a clip.
                turn.give_way()

            path = stored_clip(name, clip_bytes)   # back if other visitors' clips pushed it out while this one waited
            report = colorize_video(path, output, model, max_frames=MAX_FRAMES, max_pixels=PAGE_BUDGET,
                                    max_frame_pixels=MAX_FRAME_PIXELS, max_seconds=MAX_SECONDS,
                                    max_bytes=MAX_RESULT_MB * 2**20, progress=progress, **guidance)
            # The clip's own speed: the time it waited while others' work went first is not the model's.
            report = dataclasses.replace(report, seconds=max(report.seconds - turn.waited_s, 1e-6))
        data = output.read_bytes()
    except VideoError as err:
        stop.empty()
        bar.empty()
        st.error(plain(str(err).replace(path.name, name)), icon=":material/error:")  # the visitor's file, by name
        return
    except Exception:  # the page's "Something went wrong" follows: no progress bar nor Stop left beside it
        stop.empty()
        bar.empty()
        raise
    finally:
        output.unlink(missing_ok=True)
    st.session_state.pop(STOPPED_KEY, None)
    bar.empty()
    stop.empty()
    st.session_state[RESULT_KEY] = {"key": key, "mp4": data, "report": report, "label": label, "model": model.name,
                                    "header_frames": 0 if info.estimated else info.frames, "name": name,
                                    "uploaded": st.session_state.get(SOURCE_KEY) == UPLOAD}
    estimate.caption(estimate_text(info, frames))


def estimate_text(info, frames: int) -> str:
    """How long the clip's frames take on this server, by the clip lane's pace, and whether that is a guess."""
    lane = work_queue.CLIP_QUEUE
    if not info.frames:  # frames_to_colorize's count is then the page's cap
        what = f"Its header gives no frame count: up to {frames} frames take"
    else:
        what = "Its 1 frame takes" if frames == 1 else f"Its {frames} frames take"
    return (f"{what} {work_queue.about_text(lane.expected_s(CLIP_KIND, frames))} on this server"
            + (", as recent clips ran here" if lane.has_measured(CLIP_KIND) else " (a guess: no clip has run here yet)")
            + ".")


def flicker_figure(report: VideoReport, height: int = 320):
    """Frame-to-frame change of a, b (motion undone) of each frame's own prediction and of the colors shown."""
    import plotly.graph_objects as go

    frames = list(range(1, len(report.change_carried) + 1))
    clean = lambda values: [None if v is None or math.isnan(v) else v for v in values]
    figure = go.Figure()
    # The network colors one frame in NETWORK_EVERY: its own colors change from one such frame to the next, so the
    # red line's points are that many frames apart (the legend says so), the blue line's one.
    figure.add_trace(go.Scatter(x=frames, y=clean(report.change_predicted),
                                name=f"colorized alone (one frame in {NETWORK_EVERY}, from the last such)",
                                mode="lines+markers", connectgaps=True, line={"color": "#d62728"}))
    figure.add_trace(go.Scatter(x=frames, y=clean(report.change_carried), name="colors carried along the motion (shown)",
                                mode="lines", line={"color": "#1f77b4", "width": 3}))
    for cut in report.cuts:
        figure.add_vline(x=cut + 1, line_dash="dot", annotation_text="scene cut")
    # The legend between the title and the plot (below it, it covered the x axis's title), with room for its two
    # entries on two rows and a title short enough for a phone, where they wrap.
    figure.update_layout(height=height, margin={"l": 10, "r": 10, "t": 90, "b": 10},
                         legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "left", "x": 0},
                         xaxis_title="frame", yaxis_title="mean |Δab|, motion undone",
                         title="Flicker: color change per frame")
    return charts.readable(figure)


def fps_text(fps) -> str:
    """A frame rate as people write it: 14.9999 (a header's 149999/10000) → "15", 30000/1001 → "29.97",
    24000/1001 → "23.976", 120000/1001 → "119.88"; never an exponent (a stream's 90000 time base as its rate).
    Three decimals, not four significant digits: those cut 23.976 and 119.88 and wrote 90000 as "9e+04"."""
    return f"{round(float(fps), 3):.15g}"


# The video codecs browsers play in an MP4, MOV or WebM: an OpenCV or old camera's MPEG-4 Part 2 ("mpeg4") clip was a
# black player with no duration (session 39's walk-through). By the codec's own name, not its decoder's (AV1's is
# "libdav1d": session 39's review).
BROWSER_CODECS = ("h264", "vp8", "vp9", "av1")


def browsers_play(decoder: str) -> bool:
    """Whether browsers play video of this codec, named by the decoder FFmpeg read it with (``VideoInfo.codec``)."""
    import av

    try:
        return av.Codec(decoder, "r").canonical_name in BROWSER_CODECS
    except Exception:  # a name PyAV does not know: say nothing against it, as before
        return True


def result_ui(name: str, path: Path, data: bytes, result: dict, codec: str | None = None) -> None:
    """Input and result side by side, the download, the run's figures and the flicker chart. ``codec``: the clip's
    video codec (``VideoInfo.codec``), when known."""
    report = result["report"]
    left, right = st.columns(2)
    kind = path.suffix.lower().lstrip(".")
    if kind in ("mp4", "m4v", "mov", "webm") and codec is not None and not browsers_play(codec):
        left.image(widgets.display(first_frame(str(path)), max_side=640),
                   caption=plain(f"The clip's first frame (browsers do not play this clip's video format, {codec}; "
                                 "the colorized clip plays)"), alt="The clip's first frame")
    elif kind in ("mp4", "m4v", "mov", "webm"):
        left.video(data, alt=f"{name} as uploaded")  # a name for a screen reader (session 34's audit: "Video")
        left.caption("The clip as uploaded")
    elif kind == "gif":
        left.image(data, caption="The clip as uploaded", alt="The clip as uploaded")
    else:  # AVI, MKV: browsers do not play them
        left.image(widgets.display(first_frame(str(path)), max_side=640),
                   caption=f"The clip's first frame (browsers do not play .{kind} files)",
                   alt="The clip's first frame")
    right.video(result["mp4"], alt=f"{name} colorized ({result['label']})")
    right.caption(plain(f"Colorized by {result.get('model', 'the model')} ({result['label']})"))
    sound = f", sound {report.audio}" if report.audio else ", without its sound" if report.sound_note else ""
    if report.sound_note:  # unreadable, refused by MP4 and AAC alike, cut partway, or all outside the frames kept
        sound += f" ({report.sound_note})"
    st.caption(f"{report.frames} frame{'s' * (report.frames != 1)} at {fps_text(report.fps)} fps, {report.codec}{sound}; colorized at "
               f"{report.frames_per_second:.1f} frames a second"
               + (f"; {len(report.cuts)} scene cut(s): colors started again" if report.cuts else ""))
    if report.cut_short:  # its header promised fewer frames, or a shorter time, than the file holds
        st.warning(f"The clip holds more than its header said: only its first {report.frames} frames "
                   f"({report.written_seconds:.1f} s, this server's limit) were colorized.", icon=":material/content_cut:")
    announced = result.get("header_frames", 0)
    if report.damaged:  # skipped as players skip them (the clip's damage, not its end)
        st.warning(plain(f"{name}: {report.damage_text}."), icon=":material/broken_image:")
    elif not report.cut_short and 0 < report.frames < announced:  # headers estimate; some (AVI's) overstate
        st.info(f"The clip held {report.frames} frames, not the {announced} its header announced: all of them were "
                "colorized.", icon=":material/info:")
    st.download_button("Download the MP4", result["mp4"], file_name=download_name(name),
                       mime="video/mp4", key="video.download", type="primary", icon=":material/download:")
    if any(not math.isnan(v) for v in report.change_carried):
        widgets.chart_ui(flicker_figure(report), key="video.flicker",
                         alt="Flicker: how much the colors change from one frame to the next, each frame colorized "
                            "alone against the colors carried along the motion (the mean of each is below)")
        alone = np.nanmean(report.change_predicted) if any(not math.isnan(v) for v in report.change_predicted) else float("nan")
        st.caption(f"Mean change: {alone:.2f} between the frames colorized alone, {np.nanmean(report.change_carried):.2f} "
                   f"a frame carried along the motion (Lab units, where the motion was followed). The network colors "
                   f"one frame in {NETWORK_EVERY} and every scene cut, so its own colors are compared {NETWORK_EVERY} "
                   "frames apart; the frames between carry the colors.")


def download_name(name: str) -> str:
    """A colorized clip's file name: the upload's (or the sample's) stem, then ``_colorized.mp4``."""
    return f"{widgets.file_stem(name, 'clip')}_colorized.mp4"


def last_result_ui() -> None:
    """The visitor's last colorized clip, when its upload is gone: an uploader forgets its file on a trip to
    another page, but the result (a minute of the server's work) stays in the session until the next run.
    Not the sample's: the sample is always there, its result beside it."""
    result = st.session_state.get(RESULT_KEY)
    if result is None or not result.get("uploaded"):
        return
    name = result.get("name", "your clip")
    st.header("Your last colorized clip")
    st.video(result["mp4"], alt=f"{name} colorized ({result['label']})")
    st.caption(plain(f"{name}, colorized by {result.get('model', 'the model')} ({result['label']}). Upload it again to "
                     "see it beside the original."))
    st.download_button("Download the MP4", result["mp4"], file_name=download_name(name),
                       mime="video/mp4", key="video.last_download", icon=":material/download:")


def _left(session: str) -> bool:
    """Whether page session ``session`` is no longer connected (its tab reloaded or closed)."""
    from streamlit import runtime

    return runtime.exists() and not runtime.get_instance().is_active_session(session)


def cut_off_ui() -> None:
    """Once, the visitor's clip whose run a reload, a trip to another page or a setting changed mid-clip ended (Stop
    says so itself): the page had come back without a word, on the sample clip."""
    owner = visitor.token()
    # Streamlit starts this run while the one it replaces may still be unwinding its clip: wait for it to let go
    # (the next frame's progress, well under a second), or the cut-off was said one run late (session 38); a
    # reloaded tab's run too, in the session the reload left.
    clip_runs.wait_released(owner, visitor.session_id(), timeout=CUT_OFF_WAIT_S, gone=_left)
    cut_off = clip_runs.interrupted(owner)
    # Stop says so itself, and Colorize pressed again mid-clip starts it again (session 38's review: the page said
    # "stopped before its end" above the new run's result).
    if cut_off and not st.session_state.get(STOPPED_KEY) and not st.session_state.get(REQUEST_KEY):
        # A reload forgets the upload, and the page starts on the sample: "Colorize it again" would have colorized
        # the sample (session 42's walk-through). A trip to another page or a changed setting keeps it.
        kept = cut_off == SAMPLE_NAME or st.session_state.get(SOURCE_KEY) == UPLOAD
        st.info(plain(f"{cut_off} stopped before its end, when the page was reloaded, left or changed while it ran: "
                      f"nothing was kept. {'Colorize it again' if kept else 'Upload it again, press Colorize'}, and "
                      "stay on the page until it ends."), icon=":material/stop_circle:")


def video_page_ui() -> None:
    st.title("Video")
    st.caption("Old film in, color film out: each frame's colors are carried to the next along the motion "
               "(optical flow), so they do not flicker; scene cuts start afresh; the sound is kept.")
    cut_off_ui()
    checkpoint = widgets.chosen_checkpoint()
    model = widgets.colorizer_ui(checkpoint)
    if model is None:
        return
    opened = clip_ui()
    if opened is None:
        last_result_ui()
        return
    clip, frame = opened
    name, path, info, data = clip
    stamp = loaders.checkpoint_stamp(checkpoint)
    chosen = guidance_ui(model, stamp, info, name, frame)
    if chosen is None:
        return
    guidance, label = chosen
    key = (path.name, stamp, label, guidance_key(guidance))
    run_ui(model, clip, guidance, label, key)
    result = st.session_state.get(RESULT_KEY)
    if result is not None and result["key"] == key:
        result_ui(name, path, data, result, info.codec)
    elif result is not None and result["key"][0] == path.name:  # this clip's result, made with another model or guide
        # It was hidden without a word after a change of model in the sidebar (session 44's walk-through).
        st.info(plain(f"This clip's last result was colorized by {result.get('model', 'another model')} "
                      f"({result['label']}): choose that again to see it, or press Colorize the clip for these "
                      "settings."),
                icon=":material/history:")
