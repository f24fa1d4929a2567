"""Where the model was sure of its colors and where it guessed, beside the result (Colorize page).

A 313-bin model that blends by confidence (the flagship) knows, per pixel, whether it took its sure,
vivid color or fell back to a muted guess (``Colorizer.certainty``). Showing it tells a class why a
region stays muted, and where hints or a reference photo would help. A model with a colorfulness gate
(the shipped flagship, ``colorizer.colorfulness_gate``) also says how colorful it expects the scene to
be, and whether it toned its own colors down to that: a second reason a photo stays muted. The caption says
what "sure" is not: on the fresh set's things on plain ground the photos it was surest of were among its worst
(docs/results.md, "Sure is not right").
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from colorizer.imageio import DecodedImage
from ui import charts, loaders, widgets
from ui.reference_ui import confidence_image

if TYPE_CHECKING:
    from colorizer.colorfulness_gate import SceneColorfulness
    from colorizer.inference import Colorizer


def certainty_summary(certainty: np.ndarray, alpha: np.ndarray | None = None) -> tuple[float, float]:
    """Certainty h×w in [0, 1] → (share of the photo the model was sure of, share where it guessed); with the
    picture's ``alpha``, shares of what it shows (``charts.visible_cells``)."""
    # A pixel is "sure" at half its color the sure guess: the decoding's one definition. Imported here, not with the
    # page: the architectures import TensorFlow, and the page's first draw on a new server waited 10 s for it.
    from colorizer.models.hypercolumn_decoding import SURE

    sure = certainty >= SURE
    visible = charts.visible_cells(alpha, certainty.shape)
    share = float(np.mean(sure if visible is None else sure[visible]))
    return share, 1.0 - share



def guidance_hint(model: Colorizer) -> str:
    """Where to go to color what the model guessed, for this model."""
    if model.takes_hints:
        return "click the result to add a color hint there, or pick a reference photo above"
    return "pick a reference photo above, or choose hypercolumn_hints in the sidebar and click to add color hints"


def scene_line(scene: SceneColorfulness) -> str:
    """One line on what the colorfulness gate did: the scene's expected colorfulness, and whether the
    model's own colors were toned down to it."""
    expected = (f"How colorful a scene like this usually is, guessed from the gray photo: {scene.expected:.0f} "
                "(Hasler and Süsstrunk's colorfulness: 15 slightly colorful, 33 moderately, 59 quite, 82 highly).")
    # The allowance is said, not only the guess: "expected 56 … the model's (65) stay within that" read as a
    # contradiction (session 38's text audit); the ceiling is colorfulness_cap × the guess.
    allowed = f"up to {scene.ceiling:.0f} is allowed"
    if scene.held_back:
        return (f"{expected} The model's own colors came to {scene.painted:.0f}, where {allowed}: toned down to "
                f"{scene.ceiling:.0f}.")
    return f"{expected} The model's own colors ({scene.painted:.0f}) are kept as they are: {allowed}."


def certainty_ui(picture: DecodedImage, model: Colorizer, stamp: tuple, digest: str, temperature: float | None,
                 hints_json: str = "") -> None:
    """The certainty map at display size and a one-line summary; nothing for a model that cannot say."""
    if not model.has_certainty:
        return
    certainty, scene = loaders.certainty_and_scene(model, stamp, picture.pixels, digest, temperature, hints_json)
    if certainty is None:
        return
    sure, guessed = certainty_summary(certainty, picture.alpha)
    with st.expander(f"Where {model.name} was sure: {sure:.0%} of the photo", icon=":material/psychology:"):
        shown = widgets.display(picture.rgb, None, 480)
        # ≤ 480 px, and never past a phone's column. The explanation is a caption of its own: as the image's, its
        # width became the image's, and the map was drawn 874 px wide, blurred.
        certainty_map = widgets.display(confidence_image(certainty, shown.shape), widgets.display_alpha(picture, 480))
        st.image(certainty_map, width="content",
                 alt=f"Certainty map: {model.name} was sure of the color on {sure:.0%} of the photo")
        example = (" (hypercolumn painted a black device on white paper brown, 80 % of it sure: docs/results.md, "
                   "\"Sure is not right\")") if model.name == "hypercolumn" else ""  # measured on the flagship only
        st.caption("Yellow: sure of the color (vivid). Dark: it guessed, and its colors stay muted there. "
                   f"Sure is not right: on photos unlike its training photos it can be sure of wrong colors{example}.")
        if guessed >= 0.2:
            st.caption(f"It guessed on {guessed:.0%} of the photo. To color those parts: {guidance_hint(model)}.")
        if scene is not None and not hints_json:  # hints set the colors; the gate caps the automatic ones only
            st.caption(scene_line(scene))

