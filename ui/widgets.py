"""Shared widgets: the app's frame (navigation, sidebar, page runner) and small ``*_ui()`` helpers.

The entry file declares ``st.navigation(app_pages())``, calls ``sidebar_ui()`` (model picker and
image source) and ``mark_entry_ran()``, then runs the page; every page is one call,
``run_page(<page>_page_ui)`` (``entry_guard()`` first, then the page's function with a one-message
safety net). Pages read the sidebar's
choices with accessors that never raise:
- ``chosen_checkpoint()`` → the picked checkpoint name, or None when there is none;
- ``chosen_pictures()`` → (list of ``DecodedImage``, list of "file: reason" errors).
Widget keys are namespaced ``sidebar.*`` (the pages use ``<page>.*``). A page's settings take
``persist_state="session"``: Streamlit drops the value of a widget a page does not draw, so without it a trip
to another page set them back (file uploaders cannot keep theirs: a clip or fine-tune photos are chosen again).
Helpers that render: ``pictures_ui()`` (errors shown, good pictures returned), ``pick_picture_ui()``,
``multiselect_ui()`` (a multiselect whose choice survives options that come and go, and other pages),
``colorizer_ui(name)`` (the shared model, or a message and None), ``notes_ui(picture)``.
``chart_ui(figure, key, alt)`` (a ``ui.charts`` figure as every page draws it, in the visitor's theme);
``kept_chart_ui(name, digest, build, key, alt)`` (one that follows from what ``digest`` names alone, pictures or
histories: built once, not on every rerun).
Helpers: ``display(image, alpha)`` (display-size copy, pure); ``zip_of_pngs(results)``, ``png_of(result, alpha)``
(encoded in a turn of the work queue, whose waiting line they draw).
Per-session quotas of a public server: at most ``MAX_PICTURES`` pictures at a time and
``MAX_SESSION_PIXELS`` pixels in all (a line says which files were left out); results are not kept per
session: a download encodes its PNG or ZIP when it is asked for, in turns of the work queue.
Visitor text (file names, error lines quoting them) is escaped before it is rendered (``ui.plain_text``).
"""
from __future__ import annotations

import io
import logging
import zipfile
from datetime import datetime
from pathlib import Path, PureWindowsPath
from typing import TYPE_CHECKING, Callable

import numpy as np
import streamlit as st

from colorizer import ARCHITECTURE_NAMES, FLAGSHIP, checkpoints, gallery
from colorizer.checkpoints import CheckpointError
from colorizer import decode_budget, imageio
from colorizer.imageio import SUPPORTED_EXTENSIONS, DecodedImage, ImageError, encode_png
from colorizer.plain_words import PLAIN_WORDS
from ui import callbacks, charts, loaders, narrow_rows, server_tuning, tables, visitor, work_queue
from ui.plain_text import plain, without_server_paths

if TYPE_CHECKING:  # importing it loads Keras; the sidebar draws without it
    from colorizer.inference import Colorizer

__all__ = [
    "app_pages", "mark_entry_ran", "entry_guard", "run_page", "zip_of_pngs", "page_style", "STEADY_SCROLL_CSS", "ACCENT_TEXT_CSS", "CHART_TEXT_CSS", "CAPTION_CODE_CSS",
    "MODEL_KEY", "SOURCE_KEY", "GALLERY_KEY", "UPLOAD_KEY", "GALLERY", "UPLOAD", "DEFAULT_GALLERY_PHOTO",
    "sidebar_ui", "model_picker_ui", "in_plain_words", "image_source_ui", "chosen_checkpoint", "chosen_pictures",
    "pictures_ui", "pick_picture_ui", "multiselect_ui", "colorizer_ui", "no_checkpoint_ui", "notes_ui", "checkpoint_kind", "display",
    "default_checkpoint", "png_of", "time_text", "chart_ui", "kept_chart_ui", "KEPT_FIGURES", "dark_theme", "includes_getting_ready", "drawn_last_run", "display_alpha", "MAX_PICTURES", "MAX_SESSION_PIXELS",
]

_log = logging.getLogger(__name__)

ENTRY_MARK = "app.entry_ran"
MODEL_KEY = "sidebar.model"
MODEL_QUERY = "model"  # the chosen model in the page's address: a reload keeps it
SOURCE_KEY = "sidebar.source"
GALLERY_KEY = "sidebar.gallery"
UPLOAD_KEY = "sidebar.upload"
GALLERY, UPLOAD = "Gallery", "Upload"
DEFAULT_GALLERY_PHOTO = "chelsea"
# The first choice when the session has none: the flagship, then the pretrained-encoder seed, the toy
# CIFAR one last.
PREFERRED_DEFAULTS = (FLAGSHIP, "vgg16_ae", "unet313", "vae", "cifar_ae")
# Per session: pictures at a time, and their pixels together (three photos at the decode budget).
MAX_PICTURES = 8
# Files read for each place to fill, at most: a refused file takes no place, but each costs a read (a decode in the
# shared lane) and a line on the page. The sidebar's pictures and Fine-tune's photos both hold to it.
READS_PER_PLACE = 2
MAX_FILES_READ = READS_PER_PLACE * MAX_PICTURES
# A picture smaller than this on its longer side is shown enlarged, pixels as blocks: left at its own size, each
# column drew it as wide as its caption (an 8×8 upload at 152, 199 and 207 px, blurred by the browser).
MIN_DISPLAY_SIDE = 256
MAX_SESSION_PIXELS = 3 * imageio.MAX_PIXELS
TRAIN_HINT = f"python -m colorizer train --arch {FLAGSHIP} --data data/photos"


# The pages that colorize the sidebar's pictures (the others have their own inputs, or none), by title.
COLORIZE, CHANNELS, COMPARE = "Colorize", "L/a/b channels", "Compare architectures"
PICTURE_PAGES = (COLORIZE, CHANNELS, COMPARE)


def app_pages() -> list:
    """The app's pages for ``st.navigation`` (paths relative to the entry file)."""
    pages = [
        st.Page("pages/colorize.py", title=COLORIZE, icon=":material/palette:", default=True),
        st.Page("pages/channels.py", title=CHANNELS, icon=":material/tune:"),
        st.Page("pages/compare.py", title=COMPARE, icon=":material/view_module:"),
        st.Page("pages/curves.py", title="Training curves", icon=":material/show_chart:"),
    ]
    pages.append(st.Page("pages/finetune.py", title="Fine-tune", icon=":material/model_training:"))
    pages.append(st.Page("pages/video.py", title="Video", icon=":material/movie:"))
    return pages


# The browser's scroll anchoring (CSS ``overflow-anchor``) keeps some element it picked fixed on screen while a rerun
# redraws the page around it, and it picked badly: the first hint point tapped (or typed) added its colors and
# buttons to the page, and the page jumped to its bottom, 480 px on a desktop and 1,400 on a phone, the photo just
# tapped off the screen (session 31; streamlit/streamlit#6953 is the same family). Without it the page stays
# where the visitor left it.
STEADY_SCROLL_CSS = '[data-testid="stMain"] { overflow-anchor: none; }'
# Text on the accent color (primary buttons, a multiselect's chosen chips) in the page's own background color: the
# dark theme's light accent made Streamlit's white text on it 2.5:1, where WCAG asks 4.5:1 for text (session 40's
# audit), and no accent can hold 4.5:1 both under white text and as text on the dark background. ``Canvas`` is the
# background of the color scheme Streamlit sets on .stApp for its theme: white on the light accent (6.4:1), near
# black on the dark one (7.5:1, measured in Chromium), and it follows a theme chosen from the app's menu, which
# reruns nothing.
ACCENT_TEXT_CSS = ('.stApp [data-testid^="stBaseButton-primary"]:not(:disabled), '
                   '.stApp [data-testid^="stBaseButton-primary"]:not(:disabled) *, '
                   '.stApp [data-testid="stMultiSelectTagsContainer"] [data-tag], '
                   '.stApp [data-testid="stMultiSelectTagsContainer"] [data-tag] * { color: Canvas !important; }')
# Chart text in the page's text color at 72 % (about 9:1 on either theme's background): ``ui.charts.readable`` colors
# it for the theme the run saw, which a theme chosen from the app's menu left behind until the next rerun (the light
# theme's gray on the dark background at 3.3:1, the dark's on white at 2.4:1: session 40's audit). The hover boxes
# keep their own colors.
CHART_TEXT_CSS = ('[data-testid="stPlotlyChart"] svg text:not(.hoverlayer text) '
                  '{ fill: currentColor !important; fill-opacity: .72 !important; }')

# Inline code in a caption in the caption's own color: Streamlit draws a caption at 60 % opacity, and code's green in
# it came to 3.1:1 on the light theme and 4.2:1 on the dark (session 41's audit: the Fine-tune page's command for a
# downloaded model); in the caption's color it reads as the caption does.
CAPTION_CODE_CSS = '[data-testid="stCaptionContainer"] code { color: inherit; }'


def page_style() -> None:
    """Called by the entry file on every run: the page does not scroll by itself when a rerun adds to it
    (``STEADY_SCROLL_CSS``), and text on the accent and in charts is readable in both themes, even right after a
    theme chosen from the app's menu (``ACCENT_TEXT_CSS``, ``CHART_TEXT_CSS``), as is code in a caption
    (``CAPTION_CODE_CSS``); a note that a table swipes sideways shows on a phone only (``tables.SWIPE_NOTE_CSS``);
    a row's button or score is never cut short (``narrow_rows.NARROW_ROWS_CSS``). A style alone takes no room on
    the page (``st.html`` sends it apart)."""
    st.html(f"<style>{STEADY_SCROLL_CSS}\n{ACCENT_TEXT_CSS}\n{CHART_TEXT_CSS}\n{CAPTION_CODE_CSS}\n"
            f"{tables.SWIPE_NOTE_CSS}\n{narrow_rows.NARROW_ROWS_CSS}</style>")


def mark_entry_ran() -> None:
    """Called by the entry file before the page runs (see ``entry_guard``)."""
    st.session_state[ENTRY_MARK] = True


def entry_guard() -> None:
    """First line of every page: make sure the entry file (navigation, sidebar) ran before it.

    Because the app has a ``pages/`` folder, Streamlit emulates its old multipage mode (running
    ``pages/<page>.py`` alone, without the entry file) until ``st.navigation`` has been called once
    in the server process. That happens only when the first visitor after a start opens a page's
    own URL (and in every ``AppTest`` run of a page other than the default). Declaring the navigation
    here switches the server over for good; the rerun then goes through the entry file and lands on
    the same page (same URL path). A rerun drops what ``st.button`` returned, so pages act on a click
    in its ``on_click`` callback, which runs before any script does.
    """
    if st.session_state.pop(ENTRY_MARK, False):
        return
    st.navigation(app_pages())
    st.rerun()


def run_page(main: Callable[[], None]) -> None:
    """How every page runs: the entry guard, then ``main()``; an unexpected error becomes one message
    that says what to do (the traceback goes to the server log), never a traceback on the page."""
    entry_guard()
    try:
        callbacks.errors_ui()
        main()
    except Exception as err:  # Streamlit's rerun/stop signals are BaseExceptions and pass through
        _log.exception("page failed")
        st.error(f"Something went wrong: {plain(callbacks.error_line(err))}. "
                 "Try another image or model, or reload the page; the details are in the server log.",
                 icon=":material/error:")


def png_of(result, alpha: np.ndarray | None = None) -> bytes:
    """PNG bytes of ``result`` (uint8 RGB H×W×3, or a no-argument callable returning it: the result is
    then fetched, or made again, only now) in a turn of the work queue: a 12 MP PNG is a second of CPU."""
    rgb = result() if callable(result) else result
    with work_queue.turn_ui("Encoding the PNG"):
        return encode_png(rgb, alpha)


def zip_of_pngs(results: list[tuple[str, object, np.ndarray | None]]) -> bytes:
    """[(file name, uint8 RGB H×W×3 or a callable returning it, alpha H×W or None)] → ZIP bytes of PNGs
    (alpha kept), each encoded in its own turn of the work queue (others' colorizations go in between).

    Names are made unique (two uploads may share one; ``unique_names``): one entry each, as the command line's.
    """
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:  # PNG is compressed already
        for unique, (_, rgb, alpha) in zip(unique_names([name for name, _, _ in results]), results):
            archive.writestr(unique, png_of(rgb, alpha))
    return buffer.getvalue()


def unique_names(names: list[str]) -> list[str]:
    """The names made unique in order: ``a.png``, ``a_2.png``, …, past any name already taken (``a.png``, ``a.png``,
    ``a_2.png`` → ``a.png``, ``a_2.png``, ``a_2_2.png``). The Colorize page names each download so, and the ZIP's
    entries are the same names."""
    used, unique = set(), []
    for name in names:
        candidate, n = name, 1
        while candidate in used:
            n += 1
            candidate = f"{Path(name).stem}_{n}{Path(name).suffix}"
        used.add(candidate)
        unique.append(candidate)
    return unique


# A first run's time under this is not worth a note: getting ready cost nobody a wait.
COLD_NOTE_S = 0.25


def includes_getting_ready(seconds: float, first_of_shape: bool) -> bool:
    """Whether a colorization's time is shown as including getting the network ready: the model's first photo of
    its shape (``inference.Timed``) that took ``COLD_NOTE_S`` or more. The one rule for ``time_text`` and
    Compare's table column."""
    return first_of_shape and seconds >= COLD_NOTE_S


def time_text(seconds: float, first_of_shape: bool, short: bool = False) -> str:
    """A colorization's time as shown ("0.07 s"; ``short``: "70 ms"), said to include getting the network ready
    when ``includes_getting_ready``: a result is shared with every visitor who shows the same photo, so a cold
    start's seconds would otherwise stand as the model's speed."""
    text = f"{seconds * 1000:,.0f} ms" if short else f"{seconds:.2f} s"
    if not includes_getting_ready(seconds, first_of_shape):
        return text
    return f"{text}, first run at this shape" if short else \
        f"{text} (the model's first photo of this shape on this server: that includes getting it ready)"


def checkpoint_kind(name: str) -> str:
    """"shipped" (weights/, read-only) or "fine-tuned" (the user checkpoint folder)."""
    return "shipped" if name in checkpoints.shipped_checkpoints() else "fine-tuned"


def checkpoint_label(name: str, available: dict | None = None) -> str:
    """A shipped model's name; a fine-tuned one's time it was made first, then its architecture and its name (random
    hex: several of one visitor could not be told apart). The sidebar's box shows about 31 characters: "hypercolumn
    fine-tuned 07 Dec 1…" cut the time off, and two of one day read alike (session 44's walk-through).
    ``available``: the listing the picker holds (one listing reads every fine-tuned model's access file)."""
    if checkpoint_kind(name) == "shipped":
        return name
    card = loaders.card_of(name, available)
    try:
        made = datetime.fromisoformat(str(card.get("created"))).strftime(" %H:%M UTC %d %b")
    except ValueError:  # no card, or no time on it
        made = ""
    return f"fine-tuned{made} · {card.get('architecture') or 'model'} · {name}"


def default_checkpoint(names: list[str]) -> str | None:
    """The model a new session starts with: the first of ``PREFERRED_DEFAULTS`` there is, else the first."""
    return next((n for n in PREFERRED_DEFAULTS if n in names), names[0] if names else None)


def model_picker_ui() -> str | None:
    """Select box over every checkpoint (shipped + fine-tuned) → its name; a hint when there is none."""
    available = loaders.available_checkpoints()
    if not available:
        st.warning(
            "No trained model yet. Train one, e.g. `" + TRAIN_HINT + "`, then reload this page.",
            icon=":material/model_training:",
        )
        return None
    names = list(available)
    gone = st.session_state.get(MODEL_KEY)
    if gone not in names:
        # A checkpoint can disappear between runs (a fine-tune deleted by its maker, or expired); fall back to the
        # first, and say so: a page that changed model without a word (session 35's audit) reads as the model's doing.
        st.session_state.pop(MODEL_KEY, None)
    preferred = default_checkpoint(names)
    linked = st.query_params.get(MODEL_QUERY)
    if MODEL_KEY not in st.session_state and linked in names:  # a reload, or a link a teacher shared
        preferred = linked
    name = st.selectbox("Model", names, index=names.index(preferred), key=MODEL_KEY,
                        format_func=lambda option: checkpoint_label(option, available),
                        help="The models this app ships, your fine-tuned ones, and those other visitors shared.",
                        on_change=_chosen)
    _keep_in_address(name, default_checkpoint(names))
    if gone is not None and gone not in names:
        st.info(plain(f"{gone} is no longer on this server (deleted by its maker, or expired): showing {name}."),
                icon=":material/info:")
    card = loaders.card_of(name)
    # A class reads the plain sentence; the card's own description (its terms of the trade) is one hover away.
    st.caption(in_plain_words(name, card),
               help=f"{card.get('architecture', name)} · {checkpoint_kind(name)}. {card.get('description', '')}")
    missing = [a for a in ARCHITECTURE_NAMES if a not in checkpoints.shipped_checkpoints()]
    if missing:
        st.caption(f"Not trained yet: {', '.join(missing)}.")
    return name


def _keep_in_address(name: str, default: str | None) -> None:
    """The chosen model in the page's address (``?model=NAME``), unless it is the default: a reload kept every hint
    but went back to the default model, and a teacher can share a link that opens on the hint model. Only names
    this visitor may see are ever read from it (``model_picker_ui``): a fine-tuned model's name opens nothing for
    anyone else."""
    if name == default:
        if MODEL_QUERY in st.query_params:
            del st.query_params[MODEL_QUERY]
    elif st.query_params.get(MODEL_QUERY) != name:
        st.query_params[MODEL_QUERY] = name


def in_plain_words(name: str, card: dict) -> str:
    """What the model does, in a sentence a class can follow: its architecture's ``IN_PLAIN_WORDS`` (else the card's
    description), and for a fine-tuned one, that it learned from a visitor's own photos. Read without importing the
    architectures (TensorFlow): on a server's first visit the sidebar waited 10 s here for the warm-up's import."""
    words = PLAIN_WORDS.get(str(card.get("architecture") or name)) or str(card.get("description") or "")
    if checkpoint_kind(name) != "shipped":
        words = f"{words} This copy was then fine-tuned on a visitor's own photos.".strip()
    return plain(words)


def upload_room_ui() -> None:
    """Near the server's ceiling on a visitor's uploads (``server_tuning.cap_uploads``) a refused file shows
    only a red mark in the uploader, with the browser's "status code 413": say what happened and what to do.
    Every uploader's files count, as the ceiling counts them."""
    held = server_tuning.session_upload_bytes()
    if held is None:  # no ceiling is being kept
        return
    held_mb = held / 2**20
    room_mb = server_tuning.UPLOADS_PER_SESSION_MB - held_mb
    if room_mb < server_tuning.largest_upload_mb():
        st.warning(f"Your files take {held_mb:.1f} MB of the {server_tuning.UPLOADS_PER_SESSION_MB} MB this server "
                   f"keeps per visitor: a larger file is refused (marked with a red !). Remove some files to add more.",
                   icon=":material/cloud_off:")
        return
    # Every visitor's files share one ceiling: when others fill it, this visitor's upload is refused as well, and
    # the uploader says only "status code 413" (session 25's abuse audit filled it from five connections).
    everyone = server_tuning.server_upload_bytes()
    if everyone is None:
        return
    free_mb = server_tuning.UPLOADS_MB - everyone / 2**20
    if free_mb < server_tuning.largest_upload_mb():
        st.warning(f"This server holds nearly all the uploads it can ({server_tuning.UPLOADS_MB} MB, other visitors' "
                   f"files included): a file over {max(free_mb, 0):.1f} MB is refused (marked with a red !). Try again "
                   "in a few minutes, as other visitors' files are freed when they leave.", icon=":material/cloud_off:")


def image_source_ui() -> str:
    """Gallery pick or uploads (many files, every supported format) → the source chosen."""
    source = st.segmented_control("Image source", [GALLERY, UPLOAD], default=GALLERY, key=SOURCE_KEY,
                                  required=True)
    if source == UPLOAD:
        st.file_uploader(
            "Images", type=list(SUPPORTED_EXTENSIONS), accept_multiple_files=True, key=UPLOAD_KEY, on_change=_chosen,
            help="Gray or color photos: " + ", ".join(SUPPORTED_EXTENSIONS) + ". Color ones are turned gray first. "
                 f"This server keeps up to {server_tuning.UPLOADS_PER_SESSION_MB} MB of files per browser tab.",
        )
        # The uploader refuses a clip in the browser ("video/mp4 files are not allowed") before the app sees it, so
        # where clips go is said here (session 39's browser check).
        st.caption("Clips (MP4, MOV, AVI…) go on the Video page.")
        upload_room_ui()
    else:
        keys = list(gallery.GALLERY)
        st.selectbox(
            "Photo", keys, index=keys.index(DEFAULT_GALLERY_PHOTO), key=GALLERY_KEY,
            format_func=lambda k: gallery.GALLERY[k].title + ("" if gallery.GALLERY[k].is_color else " ★"), on_change=_chosen,
            help="Photos that ship inside scikit-image, scikit-learn and matplotlib. ★ = a real black-and-white photo.",
        )
    return source


def sidebar_ui(page_title: str | None = None) -> None:
    """The shared sidebar: model picker, then image source. Call once per run, before the page
    (``page_title``: the page about to run). On a page that does not use the sidebar's pictures the image
    source is folded away, not left out: a widget that is not drawn loses its state, and the visitor's
    uploads would be gone on the way back to Colorize."""
    with st.sidebar:
        try:
            # Bold, not headings: the sidebar comes before the page's h1, and its h3s began every page's outline
            # there (session 34's accessibility audit).
            st.markdown("**Model**")
            model_picker_ui()
            if page_title is None or page_title in PICTURE_PAGES:
                st.markdown("**Image**")
                image_source_ui()
            else:
                with st.expander(f"Image (for {', '.join(PICTURE_PAGES)})", expanded=False):
                    image_source_ui()
        except Exception as err:  # the entry file has no other safety net
            _log.exception("sidebar failed")
            st.error(f"The sidebar failed: {plain(callbacks.error_line(err, 200))}. Reload the page.")
        visitor.remember_ui()  # last: its (empty) element would move the sidebar's controls down on a first visit
        fold_on_a_phone_ui()


# Set when the visitor picks a model or a photo, or uploads: on a phone the sidebar then folds away (below).
_CHOSEN_KEY = "sidebar.chosen"
# Folds the sidebar on a narrow screen, as Streamlit does after a page is picked but not after a choice in it: on a
# phone the sidebar covered 300 of 360 px over the result until its close button was found (session 34's audit).
# The count makes each drawing new, so that the browser runs it again after the next choice.
_FOLD_SCRIPT = """<script>
(() => {  // choice {count}
  if (!window.matchMedia("(max-width: 640px)").matches) return;
  const button = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
  if (button) button.click();
})();
</script>"""


def _chosen() -> None:
    st.session_state[_CHOSEN_KEY] = st.session_state.get(_CHOSEN_KEY, 0) + 1


def fold_on_a_phone_ui() -> None:
    """After a choice in the sidebar, a line of script folding it away on a narrow screen (``_FOLD_SCRIPT``)."""
    count = st.session_state.get(_CHOSEN_KEY)
    if count and st.session_state.get(_CHOSEN_KEY + ".folded") != count:
        st.session_state[_CHOSEN_KEY + ".folded"] = count
        st.html(_FOLD_SCRIPT.replace("{count}", str(count)), unsafe_allow_javascript=True)


def chosen_checkpoint() -> str | None:
    """The checkpoint picked in the sidebar, if it still exists."""
    name = st.session_state.get(MODEL_KEY)
    available = loaders.available_checkpoints()
    if name in available:
        return name
    return next(iter(available), None)


def chosen_pictures() -> tuple[list[DecodedImage], list[str]]:
    """Decoded pictures of the sidebar's source and one "file: reason" line per broken upload."""
    if st.session_state.get(SOURCE_KEY, GALLERY) == UPLOAD:
        uploads, gone = _held_uploads(list(st.session_state.get(UPLOAD_KEY) or []))
        pictures, errors = _uploaded_pictures(uploads)
        if gone:
            errors.insert(0, f"{gone} uploaded file{'s were' if gone != 1 else ' was'} let go by the server "
                             "while this page was away (over two minutes without a connection: a laptop asleep, a "
                             "phone locked): remove and upload them again")
        return pictures, errors
    key = st.session_state.get(GALLERY_KEY, DEFAULT_GALLERY_PHOTO)
    key = key if key in gallery.GALLERY else DEFAULT_GALLERY_PHOTO
    try:
        return [loaders.gallery_picture(key)], []
    except Exception as err:  # e.g. the package that ships this photo is not installed
        return [], [f"{key}: cannot load this gallery photo ({callbacks.error_line(err, 200)}); pick another one"]


def _held_uploads(values: list) -> tuple[list, int]:
    """(the uploads the server still holds, how many it let go). Streamlit forgets a session's files once its browser
    has been away ``server.disconnectedSessionTTL`` (120 s); the widget's state, read here, then holds a placeholder
    with no name and no bytes (its ``DeletedFile``), and every page failed on it with "'DeletedFile' object has no
    attribute 'getvalue'" (session 36's state audit). The widget's own return value leaves them out."""
    held = [value for value in values if hasattr(value, "getvalue")]
    return held, len(values) - len(held)


def _uploaded_pictures(uploads: list) -> tuple[list[DecodedImage], list[str]]:
    """The uploads read in order until ``MAX_PICTURES`` pictures are taken or ``MAX_FILES_READ`` files read → (the
    pictures, lines). A place is a picture's: a file refused takes none (two broken files among ten left two good ones
    out, and the page said it colorizes 8 while it showed 6). A broken file is a line of its own; those past the
    session's pixels are one line, and so are the files never read."""
    pictures, errors, over_pixels, pixels, read = [], [], [], 0, 0
    for upload in uploads:
        if len(pictures) == MAX_PICTURES or read == MAX_FILES_READ:
            break
        read += 1
        data = upload.getvalue()
        if pixels + _expected_pixels(data) > MAX_SESSION_PIXELS:  # from the header: not even decoded
            over_pixels.append(upload.name)
            continue
        try:
            picture = loaders.decode_upload(data, upload.name)
        except ImageError as err:
            errors.append(str(err))
            continue
        if pixels + picture.rgb.shape[0] * picture.rgb.shape[1] > MAX_SESSION_PIXELS:
            over_pixels.append(picture.name)
            continue
        pixels += picture.rgb.shape[0] * picture.rgb.shape[1]
        pictures.append(picture)
    if over_pixels:
        errors.append(_over_session_pixels(first_names(over_pixels)))
    if uploads[read:]:
        limit = (f"colorizes {MAX_PICTURES} pictures" if len(pictures) == MAX_PICTURES
                 else f"reads {MAX_FILES_READ} files")
        errors.append(f"{first_names([u.name for u in uploads[read:]])}: left out: this server {limit} at a time "
                      "(remove some to add others)")
    return pictures, errors


def file_stem(name: str, default: str = "image") -> str:
    """An upload's name → its stem, for every download's name: the part after its last / or \\ (or a drive's colon),
    without its extension; ``default`` when nothing is left. A browser sends a bare name, but a crafted upload can
    send "..\\..\\x.png", which a ZIP tool on Windows would unpack two folders up."""
    return PureWindowsPath(name).stem or default


def first_names(names: list[str]) -> str:
    """The first three names, then "…" (a class's worth of names would fill the page)."""
    return ", ".join(names[:3]) + (", …" if len(names) > 3 else "")


def _expected_pixels(data: bytes) -> int:
    """The pixels a file will keep once decoded (its declared size, at most the decode budget), read from
    its header; 0 when it cannot be told (the decoder then says what is wrong)."""
    try:
        structure = decode_budget.inspect(data)
    except Exception:  # noqa: BLE001  a pre-count only: the decoder refuses the file in one line naming it
        return 0
    return 0 if structure is None else min(structure.pixels, imageio.MAX_PIXELS)


def _over_session_pixels(name: str) -> str:
    # What to do, as the picture-count line says it (session 36's batch audit: this one said only what happened).
    return (f"{name}: left out: your pictures together would pass {MAX_SESSION_PIXELS:,} pixels, what this "
            "server takes from one browser tab at a time (remove some, or upload smaller copies)")


def pictures_ui() -> list[DecodedImage]:
    """Show an error per broken upload (the rest go on) and a hint when there is nothing; → good pictures."""
    with st.spinner("Reading images…"):
        pictures, errors = chosen_pictures()
    for error in errors:
        st.error(plain(error), icon=":material/broken_image:")
    if not pictures and not errors:
        st.info("Upload images in the sidebar, or switch the image source to the gallery.", icon=":material/upload:")
    return pictures


def drawn_last_run(key: str) -> bool:
    """Whether the widget ``key`` was drawn on the session's last run; ask before drawing it. Streamlit drops the
    state of a widget a run does not draw, key and all, and an uploader cannot keep its file (no
    ``persist_state``): an uploader that is empty and was not drawn came back from another page with its file let
    go, rather than emptied by the visitor."""
    return key in st.session_state


def pick_picture_ui(pictures: list[DecodedImage], key: str) -> DecodedImage | None:
    """One picture of several (a select box when there is a choice)."""
    if len(pictures) <= 1:
        return pictures[0] if pictures else None
    index = st.selectbox("Image", range(len(pictures)), format_func=lambda i: pictures[i].name, key=key,
                         persist_state="session")
    return pictures[index or 0]


def multiselect_ui(label: str, options: list[str], default: list[str], key: str, **kwargs) -> list[str]:
    """A multiselect whose remembered choice survives options that come and go (checkpoints, metrics) and a trip
    to another page: a choice not offered now (a metric the checkpoint picked now does not log) is kept aside and
    chosen again once it is offered again; only what the visitor unpicks goes."""
    hidden_key = f"{key}.not_offered"
    if key in st.session_state:
        chosen = list(st.session_state[key])
        wanted = chosen + [o for o in st.session_state.get(hidden_key, []) if o not in chosen]
        # Within the widget's cap, the visible picks first: a choice coming back over it failed the page for good.
        st.session_state[key] = [o for o in wanted if o in options][:kwargs.get("max_selections") or None]
        st.session_state[hidden_key] = [o for o in wanted if o not in options]
    return st.multiselect(label, options, default=None if key in st.session_state else default, key=key,
                          persist_state="session", **kwargs)


def no_checkpoint_ui() -> None:
    st.warning(
        "No trained model is available yet, so nothing can be colorized. Train one, e.g. `"
        + TRAIN_HINT + "`, or fine-tune one on the Fine-tune page, then reload.",
        icon=":material/model_training:",
    )


def colorizer_ui(name: str | None) -> Colorizer | None:
    """The shared Colorizer for ``name`` (a spinner while it loads); a clear message and None on failure."""
    if name is None:
        no_checkpoint_ui()
        return None
    try:
        with st.spinner(f"Loading model {name}…"):
            return loaders.load_colorizer(name)
    except CheckpointError as err:
        st.error(f"{plain(without_server_paths(str(err)))}. Pick another model in the sidebar, or re-create this checkpoint "
                 "(re-train or re-run the fine-tune).", icon=":material/error:")
    except Exception as err:  # an unexpected Keras/TensorFlow failure: still a message, not a traceback
        st.error(f"{plain(name)}: could not load the model ({plain(callbacks.error_line(err))}).",
                 icon=":material/error:")
    return None


def notes_ui(picture: DecodedImage) -> None:
    """Decoding notes (e.g. "animated GIF: used frame 1 of 12") and credits, as captions."""
    for note in picture.notes:
        st.caption(plain(note))


def display(image: np.ndarray, alpha: np.ndarray | None = None, max_side: int = 1024) -> np.ndarray:
    """An image to show (not to download): alpha re-attached, at most ``max_side`` px on a side; one under
    ``MIN_DISPLAY_SIDE`` enlarged by a whole factor, each pixel a block (an alpha plane alone: the same factor)."""
    from colorizer.color import fit_within

    if alpha is not None:
        image = np.dstack([image, alpha])
    factor = min(MIN_DISPLAY_SIDE, max_side) // max(image.shape[:2])
    if factor > 1:
        return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)
    return fit_within(image, max_side)


def display_alpha(picture: DecodedImage, max_side: int = 1024) -> np.ndarray | None:
    """The picture's alpha plane as ``display`` shows the picture at ``max_side`` (None without one): for what is
    drawn at display size over it (its gray input, a map) to keep its transparency."""
    return None if picture.alpha is None else display(picture.alpha, max_side=max_side)


def dark_theme() -> bool:
    """Whether the visitor's browser shows the dark theme (False where Streamlit cannot tell)."""
    try:
        return st.context.theme.type == "dark"
    except Exception:  # noqa: BLE001 - outside a page run, or a Streamlit without it: the light theme's colors
        return False


def chart_ui(figure, key: str, alt: str, where=None) -> None:
    """A ``ui.charts`` figure as every page draws it: no toolbar (``PLOTLY_CONFIG``), its text readable in the
    visitor's theme (the light theme's gray was 3.3:1 on the dark one's background: session 38's audit), ``alt`` for
    a screen reader; in ``where`` (a column; default the page)."""
    _draw_chart(charts.readable(figure, dark=dark_theme()), key, alt, where)


# A chart that follows from pictures or histories alone is kept by (chart, their digests, theme): the L/a/b page built
# its five charts anew on every rerun (plotly takes about 0.1 s a figure), 0.67 s of a 2-core server's CPU for each
# click there (session 46's profile); a kept one is drawn in 0.01 s. The L/a/b page keeps 5 a photo and model (7 with a
# reference photo), the curves page one a metric: 64 are about a dozen photos' pages. A photo's five weigh about 1.7 MB
# (an error map 1.1 MB, its 512×512 distances; a histogram or an ab distribution 0.1-0.2 MB): about 22 MB in all, at most
# 70 MB were every one an error map.
KEPT_FIGURES = 64


def kept_chart_ui(name: str, digest: str, build: Callable[[], object], key: str, alt: str, where=None) -> None:
    """``chart_ui`` for ``build()``'s figure, built once for (``name``, ``digest``, the visitor's theme) and shared by
    every rerun and session that draws it: ``name`` says which chart (with any title it is given), ``digest`` names
    everything ``build`` reads (pictures: ``loaders.image_digest``; histories: ``loaders.history_stamp``)."""
    _draw_chart(_kept_figure(name, digest, dark_theme(), build), key, alt, where)


@st.cache_resource(max_entries=KEPT_FIGURES, show_spinner=False)
def _kept_figure(name: str, digest: str, dark: bool, _build: Callable[[], object]):
    """``_build()``'s figure in the theme's text color (``_build`` is not part of the key: the other arguments name
    it). Sessions draw it at once, so it is never changed after: ``readable`` is applied here, not at drawing."""
    return charts.readable(_build(), dark=dark)


def _draw_chart(figure, key: str, alt: str, where=None) -> None:
    (where or st).plotly_chart(figure, key=key, config=charts.PLOTLY_CONFIG, alt=alt)
