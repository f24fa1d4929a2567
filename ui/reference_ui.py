"""Colors from a reference photo (``colorizer.exemplar``) on the Colorize and L/a/b pages (and its size on the Video
page's: ``kept_reference``).

``reference_picker_ui()`` (Colorize page): upload a color photo or pick one of the gallery's; the
choice is kept in the session (not in widget state, which Streamlit drops on other pages), so the
L/a/b page finds it with ``chosen_reference()``. A session keeps one reference, shrunk to at most
``KEEP_SIDE`` px (the matcher reads it at 256 px, ``exemplar.REFERENCE_MAX_SIDE``; a strip at most at 1024): not the uploaded
file's bytes, which could be 50 MB per visitor. ``reference_result_ui(...)``: the automatic result,
the result colored from the reference and the match confidence as a map, side by side.
"""
from __future__ import annotations

import dataclasses
import functools
import json
from typing import TYPE_CHECKING

import cv2
import numpy as np
import streamlit as st

from colorizer import gallery
from colorizer.color import fit_within
from colorizer.exemplar import ReferencePhotoError, usable_reference
from colorizer.imageio import SUPPORTED_EXTENSIONS, DecodedImage, ImageError
from ui import callbacks, charts, loaders, widgets, work_queue
from ui.plain_text import plain

if TYPE_CHECKING:
    from colorizer.exemplar import ReferenceResult
    from colorizer.inference import Colorizer

__all__ = ["reference_picker_ui", "chosen_reference", "reference_result_ui", "confidence_image", "source_shares",
           "kept_reference"]

NONE, UPLOAD, GALLERY = "No reference", "Upload a photo", "A gallery photo"
SOURCE_KEY = "reference.source"
UPLOAD_KEY = "reference.upload"
KEPT_KEY = "reference.kept"  # the chosen upload outlived its uploader's file (a trip to another page)
CHOSEN_KEY = "reference.chosen"  # ("upload", file id, small DecodedImage) or ("gallery", key); survives page changes
KEEP_SIDE = 1024


def kept_reference(picture: DecodedImage) -> DecodedImage:
    """The reference as a session keeps it, and as the Video page gives it to a run: at most ``KEEP_SIDE`` px on a
    side (the same colors on both pages; not a 12 MP photo held by a queued clip)."""
    if max(picture.rgb.shape[:2]) <= KEEP_SIDE:
        return picture
    alpha = None if picture.alpha is None else fit_within(picture.alpha, KEEP_SIDE)  # what it shows, at its size
    return dataclasses.replace(picture, rgb=fit_within(picture.rgb, KEEP_SIDE), alpha=alpha, gray=None)


def chosen_reference() -> DecodedImage | None:
    """The reference photo chosen on the Colorize page, if any (None when it can no longer be read)."""
    chosen = st.session_state.get(CHOSEN_KEY)
    try:
        if chosen and chosen[0] == "upload":
            return chosen[2]
        if chosen and chosen[0] == "gallery":
            return loaders.gallery_picture(chosen[1])
    except (ImageError, KeyError):
        return None
    return None


def _choose(source: str) -> None:
    """Draw the chooser for ``source`` and record what it holds in ``CHOSEN_KEY``."""
    if source == UPLOAD:
        # Back from another page, the uploader has let its file go: the upload chosen before stays until another is
        # uploaded (KEPT_KEY: through the runs after that one).
        came_back = not widgets.drawn_last_run(UPLOAD_KEY)
        upload = st.file_uploader("Reference photo (in color)", type=list(SUPPORTED_EXTENSIONS), key=UPLOAD_KEY)
        chosen = st.session_state.get(CHOSEN_KEY)
        if upload is None:
            if chosen and chosen[0] == "upload" and (came_back or st.session_state.get(KEPT_KEY)):
                st.session_state[KEPT_KEY] = True
                st.caption(plain(f"Still using {chosen[2].name}; upload another photo to change it."))
                return
            st.session_state.pop(KEPT_KEY, None)
            st.session_state.pop(CHOSEN_KEY, None)
            return
        st.session_state.pop(KEPT_KEY, None)
        if chosen and chosen[0] == "upload" and chosen[1] == upload.file_id:
            # Read already. The place its reading's waiting line took (loaders.decode_upload) is kept, so that the
            # preview after it is not drawn anew, and the page not moved, on the next run (work_queue.waiting_line).
            work_queue.waiting_line()
            return
        try:
            picture = loaders.decode_upload(upload.getvalue(), upload.name)
        except ImageError as err:
            st.session_state.pop(CHOSEN_KEY, None)
            st.error(plain(f"reference {err}"), icon=":material/broken_image:")
            return
        st.session_state[CHOSEN_KEY] = ("upload", upload.file_id, kept_reference(picture))
    elif source == GALLERY:
        keys = gallery.color_keys()
        key = st.selectbox("Reference photo", keys, index=keys.index(first_reference(keys)), key="reference.gallery",
                           persist_state="session", format_func=lambda k: gallery.GALLERY[k].title)
        st.session_state[CHOSEN_KEY] = ("gallery", key)
    else:
        st.session_state.pop(CHOSEN_KEY, None)


def first_reference(keys: list[str]) -> str:
    """The gallery reference offered first: the first that is not the sidebar's gallery photo. Offered the photo
    itself (the cat, the app's first photo, was both), a class saw its own colors copied back, 35 dB and every hue
    right, and learned that a reference is a perfect answer; another photo shows what a reference does."""
    shown = st.session_state.get(widgets.GALLERY_KEY, widgets.DEFAULT_GALLERY_PHOTO)
    if st.session_state.get(widgets.SOURCE_KEY, widgets.GALLERY) != widgets.GALLERY:
        shown = None
    return next((key for key in keys if key != shown), keys[0])


def reference_picker_ui() -> DecodedImage | None:
    """The "Colors from a reference photo" chooser → the chosen reference, or None."""
    active = st.session_state.get(CHOSEN_KEY) is not None
    # Open while a source is picked, even before its photo arrives: an ``expanded`` that flipped between runs
    # (no photo yet → closed) folded the panel away under the visitor's upload, and its warnings with it.
    in_use = active or st.session_state.get(SOURCE_KEY) in (UPLOAD, GALLERY)
    with st.expander("Colors from a reference photo", expanded=in_use, icon=":material/palette:"):
        st.caption("A color photo of the same place or the same kind of thing: each part of your photo takes "
                   "the colors of the part of the reference that looks most like it; where nothing matches well, "
                   "the reference's own colors at that lightness; the model's colors only where the reference "
                   "is unrelated to the photo.")
        options = [NONE, UPLOAD, GALLERY]
        if st.session_state.get(SOURCE_KEY) not in options:
            st.session_state[SOURCE_KEY] = UPLOAD if (st.session_state.get(CHOSEN_KEY) or ("",))[0] == "upload" \
                else GALLERY if active else NONE
        _choose(st.segmented_control("Reference", options, key=SOURCE_KEY, persist_state="session", required=True))
        reference = chosen_reference()
        if reference is not None:
            st.image(widgets.display(reference.rgb, reference.alpha, 240), caption=f"Reference: {plain(reference.name)}",
                     alt=f"Reference photo {reference.name}")
            widgets.notes_ui(reference)  # "animated GIF: used frame 1 of 12", a gallery photo's credit
            problem = reference_problem(reference)
            if problem:  # before a turn in the queue: the matcher would refuse it after one
                st.warning(plain(f"{reference.name}: {problem}."), icon=":material/warning:")
                return None
        return reference


def reference_problem(reference: DecodedImage) -> str | None:
    """Why the matcher could not use this reference (gray, too small, transparent all over), or None: the Colorize
    and L/a/b pages' words for ``exemplar.usable_reference``."""
    try:
        usable_reference(reference.rgb.shape, reference.alpha, reference.was_color)
    except ReferencePhotoError as err:
        return str(err)
    return None


# Where the reference's palette gave a cell's color, on the map's viridis scale: green, between a match's yellow (1)
# and the model's dark guess (0).
PALETTE_SHADE = 0.6


def confidence_image(confidence: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Confidence h×w in [0, 1] → uint8 RGB at ``shape``'s size (viridis: 1 yellow, ``PALETTE_SHADE`` green,
    0 dark)."""
    height, width = shape[:2]
    levels = np.clip(np.rint(confidence * 255), 0, 255).astype(np.uint8)
    levels = cv2.resize(levels, (width, height), interpolation=cv2.INTER_LINEAR)
    return cv2.cvtColor(cv2.applyColorMap(levels, cv2.COLORMAP_VIRIDIS), cv2.COLOR_BGR2RGB)


def source_shares(result: ReferenceResult, visible: np.ndarray | None) -> tuple[float, float, float]:
    """The shares of the picture's colors (over its ``visible`` cells, or all) that came from close matches, from the
    reference's palette and from the model: they add up to 1. A reference related as a whole gives every cell its
    colors (confidence 1), the palette's where nothing in it matched: "from the reference: 100 %" said a match."""
    def mean(values: np.ndarray) -> float:
        return float(values.mean() if visible is None else values[visible].mean())

    from_reference, matches = mean(result.confidence), mean(result.matched)
    return matches, from_reference - matches, 1.0 - from_reference


def reference_result_ui(i: int, picture: DecodedImage, model: Colorizer, stamp: tuple, digest: str,
                        reference: DecodedImage, temperature: float | None, hints_json: str = "") -> ReferenceResult | None:
    """Automatic result | colored from the reference | match confidence, with a download."""
    try:
        with st.spinner(f"Matching {plain(picture.name)} to {plain(reference.name)}…"):
            result = loaders.reference_colorized(model, stamp, picture.pixels, digest, reference.rgb,
                                                 loaders.image_digest(reference.rgb), temperature, hints_json, reference.alpha)
    except Exception as err:  # never a traceback: say which files and why
        st.error(plain(f"{picture.name} with reference {reference.name}: could not colorize "
                       f"({callbacks.error_line(err, 200)})"))
        return None
    st.markdown(f"**Colors from the reference** ({plain(reference.name)})")
    automatic, matched, confidence = st.columns(3)
    # With hints, the model's own result beside the reference's is the hinted one (both take the hints).
    count = len(json.loads(hints_json)) if hints_json else 0
    own = f"With your {count} hint{'s' * (count != 1)}, no reference" if count else "Automatic"
    automatic.image(widgets.display(result.automatic, picture.alpha), caption=f"{own} ({model.name})",
                    alt=f"{picture.name} colorized {'with your hints' if count else 'automatically'} by {model.name}")
    matched.image(widgets.display(result.image, picture.alpha), caption="Colored from the reference",
                  alt=f"{picture.name} colored from the reference photo")
    shown = widgets.display(result.image)
    matches, palette, guess = source_shares(result, charts.visible_cells(picture.alpha, result.confidence.shape))
    sources = result.matched + PALETTE_SHADE * (result.confidence - result.matched)
    match_map = widgets.display(confidence_image(sources, shown.shape), widgets.display_alpha(picture))
    confidence.image(match_map, caption=(
        f"Where colors came from: yellow, close matches in the reference ({matches:.0%}); green, the reference's "
        f"colors at that lightness ({palette:.0%}); dark, the model's own guess ({guess:.0%})"),
        alt=f"Map of where the colors came from: {matches:.0%} close matches, {palette:.0%} the reference's colors "
            f"by lightness, {guess:.0%} the model")
    if picture.was_color:  # the truth is known: how the reference's colors score against it
        key = (digest, stamp, temperature, hints_json, "reference", loaders.image_digest(reference.rgb),
               loaders.alpha_key(reference.alpha))
        m = loaders.metrics_of(picture.rgb, result.image, key, picture.alpha)
        st.caption(f"Colored from the reference, against the truth: PSNR {m['psnr']:.2f} dB, "
                   f"right hue {m['right_hue']:.0%}, colorfulness {m['colorfulness_ratio']:.0%} of the truth's.")
    alpha, name = picture.alpha, f"{widgets.file_stem(picture.name)}_{model.name}_reference.png"
    again = functools.partial(_reference_image, model, stamp, picture.pixels, digest, reference, temperature, hints_json)
    st.download_button("Download PNG (from the reference)", data=functools.partial(widgets.png_of, again, alpha),
                       file_name=name, mime="image/png", key=f"colorize.reference_download.{i}", on_click="ignore",
                       icon=":material/download:")
    return result


def _reference_image(model: Colorizer, stamp: tuple, pixels: np.ndarray, digest: str, reference: DecodedImage,
                     temperature: float | None, hints_json: str) -> np.ndarray:
    """The picture colored from the reference, from the server's results (made again if it was dropped)."""
    return loaders.reference_colorized(model, stamp, pixels, digest, reference.rgb, loaders.image_digest(reference.rgb),
                                       temperature, hints_json, reference.alpha).image
