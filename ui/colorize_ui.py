"""The Colorize page's UI helpers (``*_ui()``); the page file ``pages/colorize.py`` only runs
``colorize_page_ui``.

Per picture (``picture_ui``): input and result side by side, a before/after slider, decoding notes as
captions, the truth and its metrics when the upload was in color (``metrics_ui``), the VAE's samples
(``samples_ui``), click-to-color hints for a hint-taking model (``ui.hints_ui``), colors from a
reference photo (``ui.reference_ui``), a PNG download. The model's own knobs are ``options_ui``.
Widget keys are namespaced ``colorize.*``.
"""
from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from colorizer import HINT_TAKING_NAMES
from colorizer.evaluate import gray_baseline
from colorizer.imageio import DecodedImage
from ui import callbacks, charts, loaders, narrow_rows, widgets
from ui.cards import learned_photo_text
from ui.certainty_ui import certainty_ui
from ui.compare_slider import before_after_ui
from ui.hints_ui import hints_json, hints_ui, unused_hints_ui
from ui.plain_text import plain
from ui.reference_ui import reference_picker_ui, reference_result_ui

if TYPE_CHECKING:
    from colorizer.inference import Colorizer


TEMPERATURE_KEY = "colorize.temperature"


def colorize_settings(model: Colorizer, digest: str) -> tuple[float | None, str]:
    """(temperature, hints as JSON) that the Colorize page colors the picture ``digest`` with: the temperature slider's
    value (its default where the visitor never moved it) for a 313-bin model, the picture's hints for a hint-taking
    one. The L/a/b page shows the same colors with them: at its own defaults it drew another picture than the one
    the visitor had just made, and called it the prediction."""
    temperature = None
    if model.has_temperature:
        temperature = float(st.session_state.get(TEMPERATURE_KEY, model.default_temperature))
    return temperature, hints_json(digest) if model.takes_hints else ""


def options_ui(model: Colorizer) -> dict:
    """The model's own knobs: temperature for the 313-bin model, samples and seed for the VAE."""
    options = {"temperature": None, "n_samples": 0, "seed": 0}
    if not (model.has_temperature or model.is_stochastic):
        return options
    left, right, _ = st.columns([2, 1, 2])
    # persist_state="session": a trip to another page keeps them (Streamlit drops an undrawn widget's value).
    if model.has_temperature:
        # Folded on the hypercolumn models: dragged across its range in a class demo, it changed the flagship's
        # picture by 2 levels of 255 on average and no one saw a difference (session 37), and at 1280×720 it pushed
        # the photo below the first screen (session 39's walk-through).
        slot = left.expander("Temperature T (a small effect on this model)") if _blends_where_sure(model) else left
        options["temperature"] = slot.slider(
            "Temperature T of the color bins", 0.05, 1.0, model.default_temperature, 0.01, key=TEMPERATURE_KEY,
            persist_state="session", help=temperature_help(model),
        )
        if _blends_where_sure(model):
            # Said beside the slider, not only in its tooltip; on some photos whole regions change hue (the coffee
            # cup: teal at 0.05, pink at 1: session 38's text audit).
            slot.caption(_temperature_effect(model) + " unet313 shows T most plainly.")
    if model.is_stochastic:
        options["n_samples"] = left.slider("Samples", 2, 8, 4, key="colorize.samples",
                                           persist_state="session", help="The VAE draws a different latent z for each sample.")
        options["seed"] = int(right.number_input("Seed", 0, 1_000_000, 0, key="colorize.seed", persist_state="session"))
    return options


def _blends_where_sure(model: Colorizer) -> bool:
    """The hypercolumn models' decoding: the annealed mean blended in only where the model is sure of a color."""
    return "confidence_low" in getattr(model.arch, "DECODE", {})


def temperature_help(model: Colorizer) -> str:
    """What the temperature does to this model's colors. Not "vividness": on the flagship, lower T gave less chroma
    on all five photos of session 34's audit (the blend uses T only where the model is sure, and its colorfulness cap
    holds the picture's), and on any 313-bin model a pixel whose likeliest bin is gray goes grayer as T falls."""
    text = ("Each pixel's color is a mix of the 313 color bins the model weighs (the annealed mean): T near 0 takes "
            "its likeliest bin, T = 1 their plain mean.")
    if not _blends_where_sure(model):  # on the hypercolumn models lower T gave less color, not bolder (session 39)
        text += " Lower T is bolder where one color clearly leads, and grayer where the likeliest color is gray."
    text += " The paper's default is 0.38."
    if round(model.default_temperature, 2) != 0.38:
        text += f" {model.name} decodes at {model.default_temperature:g} by default."
    if _blends_where_sure(model):
        capped = model.arch.DECODE.get("colorfulness_cap", 0) > 0
        text += " " + _temperature_effect(model) + (" Its overall colorfulness is held within a cap." if capped else "")
    return text


def _temperature_effect(model: Colorizer) -> str:
    """What T does to a hypercolumn model's picture, by its decoding: the flagship takes the annealed mean's hue
    everywhere (``hue_of_annealed``), so T moves hues where it guessed too."""
    if model.arch.DECODE.get("hue_of_annealed"):
        return (f"{model.name}: T sets each color's hue everywhere, and its vividness only where it is sure: most "
                "photos change a little, some change hue in whole regions (try the gallery's coffee).")
    return f"{model.name} uses T only where it is sure of a color, so T changes its picture little."


def metrics_ui(truth: np.ndarray, result: np.ndarray, key: tuple, alpha: np.ndarray | None = None,
               place: int = 0) -> None:
    """PSNR, SSIM, L2_ab and colorfulness against the truth, each with its change over "no color", over the
    pixels ``alpha`` (the picture's, when it has one) does not hide: a line then says how many those are. ``place``:
    the picture's on the page (each picture's row of scores is its own)."""
    m = loaders.metrics_of(truth, result, key, alpha)
    gray = loaders.gray_metrics(truth, key[0], alpha)
    psnr, ssim, l2, colorful = narrow_rows.metric_row(f"scores_{place}", 4)
    psnr.metric("PSNR", f"{m['psnr']:.2f} dB", f"{m['psnr'] - gray['psnr']:+.2f} dB vs gray",
                help="Peak signal-to-noise ratio against the truth (higher is better).")
    has_ssim = np.isfinite(m["ssim"])  # NaN under 11 px on a side: SSIM's window does not fit
    ssim.metric("SSIM", f"{m['ssim']:.4f}" if has_ssim else "–",
                f"{m['ssim'] - gray['ssim']:+.4f} vs gray" if has_ssim else None,
                help="Structural similarity against the truth (higher is better); needs 11 px on each side.")
    # "lower is better" in words: green for a fall told it by color alone (session 24's accessibility audit); in the
    # label, as "↓ better", since the delta's "(lower is better)" was cut at 1300 px (session 34's).
    l2.metric("L2_ab (↓ better)", f"{m['l2_ab']:.2f}", f"{m['l2_ab'] - gray['l2_ab']:+.2f} vs gray",
              delta_color="inverse",
              help="Mean distance between predicted and true (a, b), in Lab units (lower is better).")
    ratio = m["colorfulness_ratio"]
    colorful.metric("Colorfulness", f"{m['colorfulness']:.1f}",
                    f"{ratio:.0%} of the truth's" if np.isfinite(ratio) else "truth is gray", delta_color="off",
                    delta_arrow="off",  # a share, not a change: an up arrow beside a low 26 % read as good
                    help="Hasler & Süsstrunk's colorfulness: 0 for gray; a timid model scores far below the truth.")
    # "−0.40 dB vs gray" in red on most photos needs its baseline said (session 36's batch audit).
    st.caption("Each change is against the same photo left gray (its lightness, no color): the baseline a model has "
               "to beat. A wrong color costs more than none, so a cautious model often scores near gray.")
    share = charts.shown_share(alpha)
    if share is not None:
        st.caption(f"Measured over the {share:.0%} of the picture that is not fully transparent: "
                   "the colors hidden under the rest are in the file but not in the picture.")


def samples_ui(model: Colorizer, stamp: tuple, picture: DecodedImage, digest: str, options: dict) -> None:
    """The VAE's several plausible colorizations of the same photo."""
    samples = loaders.colorized_samples(model, stamp, picture.pixels, digest, options["n_samples"], options["seed"])
    st.markdown("**Samples** (one latent z each)")
    columns = st.columns(min(4, len(samples)))
    for i, sample in enumerate(samples):
        columns[i % len(columns)].image(widgets.display(sample, picture.alpha, 512),
                                        caption=f"seed {options['seed'] + i}",
                                        alt=f"{picture.name}, sample with seed {options['seed'] + i}")


def output_name(picture: DecodedImage, model: Colorizer) -> str:
    return f"{widgets.file_stem(picture.name)}_{model.name}.png"


# Width over height past which a picture's input, result and truth are stacked rather than side by side.
WIDE_ASPECT = 3


def picture_ui(i: int, picture: DecodedImage, model: Colorizer, stamp: tuple, options: dict,
               slider_open: bool, reference: DecodedImage | None = None,
               hinted: dict[str, tuple[int, str]] | None = None,
               file_name: str | None = None) -> tuple[str, object, np.ndarray | None] | None:
    """One picture's results → (file name, a callable returning its RGB, alpha) for the ZIP, or None when it
    failed. Downloads hold no full-size result: they fetch it (or make it again) when clicked. ``hinted``: digest →
    (index, name) of the picture of this run showing that content's hints (a copy shows them once, above).
    ``file_name``: its download's name (default ``output_name``; the page makes a batch's unique, as the ZIP's)."""
    file_name = file_name or output_name(picture, model)
    heading = picture.name if file_name == output_name(picture, model) else f"{picture.name} (saved as {file_name})"
    st.markdown(f"## {plain(heading)}")  # h2 under the page's h1: no level skipped (h3 skipped one)
    widgets.notes_ui(picture)
    if picture.was_color:
        st.info("This image is already in color: it was turned gray first (the model sees only its lightness L). "
                "The original is shown as the truth, with metrics.", icon=":material/info:")
    digest = loaders.image_digest(picture.rgb)
    hints = hints_json(digest) if model.takes_hints else ""
    try:
        result, seconds, first_of_shape = loaders.colorized(model, stamp, picture.pixels, digest, options["temperature"],
                                                            hints_json=hints)
    except Exception as err:  # never a traceback: say which file and why
        st.error(plain(f"{picture.name}: could not colorize ({callbacks.error_line(err, 200)})"))
        return None
    # What the model sees (L, no color), at display size: the full-size one is never shown. Each display
    # copy is made once (the slider shows the same two).
    gray = widgets.display(gray_baseline(widgets.display(picture.rgb)), widgets.display_alpha(picture))
    shown = widgets.display(result, picture.alpha)
    # Side by side, unless the picture is far wider than tall: three 13:1 panoramas in columns were 19-px strips
    # (session 34's walkthrough); stacked, each takes the page's width.
    count = 3 if picture.was_color else 2
    wide = picture.rgb.shape[1] > WIDE_ASPECT * picture.rgb.shape[0]
    columns = [st.container() for _ in range(count)] if wide else st.columns(count)
    columns[0].image(gray, caption="Input as the model sees it (L only)", alt=f"{picture.name} in gray, as the model sees it")
    typical = " (z = 0, its typical colorization)" if model.is_stochastic else ""
    columns[1].image(shown, caption=f"Colorized by {model.name}{typical} in {widgets.time_text(seconds, first_of_shape)}",
                      alt=f"{picture.name} colorized by {model.name}")
    if picture.was_color:
        columns[2].image(widgets.display(picture.rgb, picture.alpha), caption="Truth (the original colors)",
                          alt=f"{picture.name} in its original colors")
    with st.expander("Before / after slider", expanded=slider_open):
        before_after_ui(gray, shown, "Gray input", f"{model.name}")
    if i == 0 and not model.takes_hints and HINT_TAKING_NAMES[0] in loaders.available_checkpoints():
        # Nothing else on the default model's page said the colors can be chosen (session 39's walk-through).
        st.caption(f"Want to choose the colors yourself? Pick **{HINT_TAKING_NAMES[0]}** under Model in the sidebar, "
                   "then click the photo; or pick a reference photo above.")
    certainty_ui(picture, model, stamp, digest, options["temperature"], hints_json(digest) if model.takes_hints else "")
    unused_hints_ui(digest, model)
    if model.takes_hints:
        with st.container(border=True):
            # Hints belong to a picture's content, and their widgets are keyed by it: a second copy of the same
            # photo in one upload (photo.png, "photo (1).png") drew the same widgets twice and failed the page.
            first, name = (hinted if hinted is not None else {}).setdefault(digest, (i, picture.name))
            if first == i:
                hints_ui(picture, model, stamp, digest, result)
            else:
                st.caption(plain(f"The same picture as {name}: the hints given there color this one too."))
    if picture.was_color:
        metrics_ui(picture.rgb, result, (digest, stamp, options["temperature"], hints_json(digest)), picture.alpha, i)
        if loaders.learned_photo(model.name, picture, digest):
            st.warning(learned_photo_text([model.name]), icon=":material/school:")
    else:  # a gray upload has no truth to score against: say so rather than show nothing
        st.caption("No scores: this picture has no original colors to compare with (upload a color photo to see how "
                   "close the model comes).")
    if model.is_stochastic:
        samples_ui(model, stamp, picture, digest, options)
    if reference is not None:
        reference_result_ui(i, picture, model, stamp, digest, reference, options["temperature"],
                            hints_json(digest) if model.takes_hints else "")
    again = functools.partial(_result_of, model, stamp, picture.pixels, digest, options["temperature"], hints)
    st.download_button(
        "Download PNG", data=functools.partial(widgets.png_of, again, picture.alpha), file_name=file_name,
        mime="image/png", key=f"colorize.download.{i}", on_click="ignore", icon=":material/download:",
    )
    return file_name, again, picture.alpha


def _result_of(model: Colorizer, stamp: tuple, pixels: np.ndarray, digest: str, temperature, hints: str) -> np.ndarray:
    """The colorized picture, from the server's results (made again in its turn if it was dropped)."""
    return loaders.colorized(model, stamp, pixels, digest, temperature, hints_json=hints).image


def model_caption(model: Colorizer) -> str:
    arch = model.arch.NAME if model.arch else "foreign checkpoint"
    size = (f"about {model.working_size}×{model.working_size} px in your photo's own aspect" if model.keep_aspect
            else f"{model.working_size}×{model.working_size} px")
    return (f"Model **{model.name}** ({arch}, {widgets.checkpoint_kind(model.name)}): {model.param_count:,} parameters, "
            f"runs at {size} on {model.runtime}; its a, b are joined to your photo's full-resolution L.")


def colorize_page_ui() -> None:
    st.title("Colorize")
    if st.session_state.get(widgets.SOURCE_KEY) == widgets.GALLERY:  # a phone hides the sidebar behind »
        st.caption("A gallery photo. To colorize your own, choose Upload in the sidebar (on a phone, » at the top left).")
    pictures = widgets.pictures_ui()
    model = widgets.colorizer_ui(widgets.chosen_checkpoint())
    if model is None:
        for picture in pictures:  # the page stays useful: show what was read
            st.image(widgets.display(picture.rgb, picture.alpha, 512), caption=plain(picture.name), alt=picture.name)
        return
    st.caption(model_caption(model))
    if not pictures:
        return
    stamp = loaders.checkpoint_stamp(model.name)
    options = options_ui(model)
    reference = reference_picker_ui()
    zip_slot = st.empty()
    progress = st.progress(0.0, text=f"Colorizing {len(pictures)} images…") if len(pictures) > 1 else None
    results, hinted, failed = [], {}, []
    # Two students' IMG_0001.jpg: each download named as its ZIP entry, and the second's heading says so.
    file_names = widgets.unique_names([output_name(picture, model) for picture in pictures])
    for i, picture in enumerate(pictures):
        with st.container(border=True), st.spinner(f"Colorizing {plain(picture.name)}…"):
            outcome = picture_ui(i, picture, model, stamp, options, slider_open=(i == 0), reference=reference,
                                 hinted=hinted, file_name=file_names[i])
        if outcome:
            results.append(outcome)
        else:
            failed.append(picture.name)
        if progress:
            progress.progress((i + 1) / len(pictures), text=f"Colorized {i + 1} of {len(pictures)}")
    if progress:
        progress.empty()
    if len(results) > 1:
        slot = zip_slot.container()
        slot.download_button(
            f"Download all {len(results)} results (ZIP)", data=lambda: widgets.zip_of_pngs(results),
            file_name=f"colorized_{model.name}.zip", mime="application/zip", key="colorize.zip",
            on_click="ignore", icon=":material/folder_zip:", type="primary",
        )
        if failed:  # the ZIP held the good ones without a word of the rest (session 36's batch audit)
            slot.caption(f"Not in the ZIP: {plain(', '.join(failed))} (could not be colorized; the reason is below).")

