"""The L/a/b channels page's UI helpers (``*_ui()``); the page file ``pages/channels.py`` only runs
``channels_page_ui``.

``channels_ui`` draws one image's L, a, b renderings, histograms and ab distribution; ``prediction_of``
colorizes the picture with the sidebar's model, as the Colorize page does (its temperature, the picture's hints);
``error_map_ui`` shows where prediction and truth differ; ``reference_ui`` compares a reference photo's colors
with the result colored from it. Widget keys are namespaced ``channels.*``.
"""
from __future__ import annotations

import json

import numpy as np
import streamlit as st

from colorizer.color import fit_within
from colorizer.exemplar import ReferencePhotoError
from colorizer.imageio import DecodedImage
from ui import callbacks, charts, loaders, widgets
from ui.colorize_ui import colorize_settings
from ui.hints_ui import unused_hints_ui
from ui.plain_text import plain
from ui.reference_ui import chosen_reference, reference_problem

EXPLAINER = (
    "CIE Lab splits a photo into **L**, the lightness (all a gray photo keeps), and two color axes: "
    "**a** from green (−) to magenta (+) and **b** from blue (−) to yellow (+). A colorizer sees L and "
    "has to guess a and b. Below, a and b are drawn at a fixed lightness with the other axis at 0, "
    "so each shows only its own color."
)


def channels_ui(label: str, rgb: np.ndarray, key: str, has_color: bool = True, alpha: np.ndarray | None = None,
                note: str = "", alt_label: str | None = None) -> None:
    """One image's L, a, b renderings, histograms and ab distribution (plotly); with the picture's ``alpha``, its
    transparent pixels stay transparent in the renderings and out of the histograms (``charts.visible_at``).
    ``note``: a line under the heading (the model's name: in the heading, "Prediction: hypercolumn-ft-<hex>" wrapped
    to three lines and set the two columns' pictures 86 px apart, session 44's walk-through); ``alt_label``: the
    pictures' text alternative's start, ``label`` by default."""
    st.markdown(f"## {label}")  # h2 under the page's h1: a screen reader's outline skips no level (h3 skipped one)
    st.caption(note or "\u00a0")  # a line on both sides, so that the two columns' pictures start level
    label = alt_label or label
    lab = charts.lab_of(rgb)
    images = charts.channel_images(lab)
    small_alpha = None if alpha is None else fit_within(alpha, max(lab.shape[:2]))  # the renderings' size
    tiles = [(rgb, alpha, "image"), (images["L"], small_alpha, "L: lightness")]
    if has_color:
        tiles += [(images["a"], small_alpha, "a: green (−) ↔ magenta (+)"),
                  (images["b"], small_alpha, "b: blue (−) ↔ yellow (+)")]
    for row in range(0, len(tiles), 2):
        for column, (image, plane, caption) in zip(st.columns(2), tiles[row:row + 2]):
            column.image(widgets.display(image, plane, max_side=480), caption=caption, alt=f"{label}, {caption}")
    if not has_color:
        st.caption("This image is gray: a = b = 0 everywhere. All of its color has to come from the model.")
        return
    shown = lambda: charts.counted(lab, charts.visible_at(alpha))  # noqa: E731 - read only when a chart is built
    digest = loaders.image_digest(rgb) + loaders.alpha_key(alpha)
    widgets.kept_chart_ui("histograms", digest, lambda: charts.channel_histograms(shown()), key=f"channels.hist.{key}",
                          alt=f"{label}: histograms of L, a and b")
    share = charts.shown_share(alpha)
    if share is not None:
        st.caption(f"Histograms of the {share:.0%} of the picture that is not fully transparent.")
    widgets.kept_chart_ui("ab distribution", digest,
                          lambda: charts.ab_distribution(shown(), "ab distribution over the 313 in-gamut bins"),
                          key=f"channels.ab.{key}", alt=f"{label}: how its pixels spread over the 313 ab bins")


def prediction_of(picture: DecodedImage) -> tuple[str, np.ndarray] | None:
    """(model name, its colorization of the picture), or None (with a message) when there is no model; colored as
    the Colorize page colors it (its temperature, the picture's hints), with a line saying so where they are set."""
    model = widgets.colorizer_ui(widgets.chosen_checkpoint())
    if model is None:
        return None
    stamp = loaders.checkpoint_stamp(model.name)
    digest = loaders.image_digest(picture.rgb)
    temperature, hints = colorize_settings(model, digest)
    with st.spinner(f"Colorizing with {model.name}…"):
        try:
            result = loaders.colorized(model, stamp, picture.pixels, digest, temperature, hints_json=hints).image
        except Exception as err:
            st.error(plain(f"{picture.name}: could not colorize ({callbacks.error_line(err, 200)})"))
            return None
    settings = settings_text(temperature, hints, model.default_temperature)
    if settings:
        st.caption(f"Colored as on the Colorize page: {settings}.")
    unused_hints_ui(digest, model)
    return model.name, result


def settings_text(temperature: float | None, hints: str, default: float | None) -> str:
    """The Colorize page's settings that change the colors, in words ("" at its defaults: ``default`` is the model's
    own temperature)."""
    parts = []
    if temperature is not None and round(temperature, 2) != round(default, 2):
        parts.append(f"temperature T = {temperature:.2f}")
    count = len(json.loads(hints)) if hints else 0
    if count:
        parts.append(f"{count} hint{'s' if count != 1 else ''}")
    return ", ".join(parts)


def reference_ui(picture: DecodedImage) -> None:
    """With a reference photo chosen on the Colorize page: its ab distribution beside that of the
    result colored from it (the colors it gave, and the ones it did not)."""
    reference = chosen_reference()
    # One the matcher would refuse (gray, too small, shown too little) is not used: the Colorize page says why, and
    # the matcher would refuse it only after a turn in the queue.
    usable = reference is not None and reference_problem(reference) is None
    model = widgets.colorizer_ui(widgets.chosen_checkpoint()) if usable else None
    if model is None:
        return
    st.header(f"Colors from the reference photo {plain(reference.name)}")
    digest = loaders.image_digest(picture.rgb)
    temperature, hints = colorize_settings(model, digest)  # the Colorize page's result from this reference
    try:
        with st.spinner(f"Matching to {plain(reference.name)}…"):
            result = loaders.reference_colorized(model, loaders.checkpoint_stamp(model.name), picture.pixels, digest,
                                                 reference.rgb, loaders.image_digest(reference.rgb), temperature,
                                                 hints, reference.alpha)
    except ReferencePhotoError as err:  # e.g. one transparent all over: its line, as on the Colorize page
        st.error(plain(f"{picture.name} with reference {reference.name}: {err}"), icon=":material/error:")
        return
    left, right = st.columns(2, gap="large")
    for column, (label, rgb, alpha, key) in zip((left, right), (
            ("Reference", reference.rgb, reference.alpha, "reference"),
            ("Colored from the reference", result.image, picture.alpha, "from_reference"))):
        column.image(widgets.display(rgb, alpha, max_side=480), caption=label, alt=label)
        title = f"{label}: ab distribution"
        widgets.kept_chart_ui(title, loaders.image_digest(rgb) + loaders.alpha_key(alpha),  # built now or not at all
                              lambda: charts.ab_distribution(
                                  charts.counted(charts.lab_of(rgb), charts.visible_at(alpha)), title),
                              key=f"channels.ab.{key}", alt=title, where=column)


def error_map_ui(truth: np.ndarray, prediction: np.ndarray, alpha: np.ndarray | None = None) -> None:
    st.header("Where the colors went wrong")
    st.caption("Per-pixel distance between the true and the predicted (a, b), in Lab units (bright = far off)"
               + ("; fully transparent pixels are left blank." if charts.shown_share(alpha) is not None else "."))
    digest = loaders.image_digest(truth) + loaders.image_digest(prediction) + loaders.alpha_key(alpha)
    widgets.kept_chart_ui("error map", digest, lambda: charts.ab_error_map(truth, prediction, alpha=alpha),
                          key="channels.error",
                          alt="Map of the distance between the truth's and the prediction's a, b: bright where far off")


def channels_page_ui() -> None:
    st.title("L/a/b channels")
    st.markdown(EXPLAINER)
    picture = widgets.pick_picture_ui(widgets.pictures_ui(), "channels.image")
    if picture is None:
        return
    widgets.notes_ui(picture)
    predicted = prediction_of(picture)
    left, right = st.columns(2, gap="large")
    with left:
        channels_ui("Truth" if picture.was_color else "Input (gray)", picture.rgb, "truth", picture.was_color,
                    picture.alpha, note=plain(picture.name))
    if predicted is not None:
        name, prediction = predicted
        with right:
            channels_ui("Prediction", prediction, "prediction", alpha=picture.alpha, note=f"By {plain(name)}",
                        alt_label=f"Prediction: {name}")
        if picture.was_color:
            error_map_ui(picture.rgb, prediction, picture.alpha)
    reference_ui(picture)

