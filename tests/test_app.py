"""AppTest of every page of the Streamlit app, with tiny checkpoints (no trained weights needed).

Each test runs the real entry script (``streamlit_app.py``) in-process and asserts that no page
raises, that a gray upload gets a colorized result, that a broken upload gets an error naming the
file while a good one next to it still goes through, and that missing weights are a message.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ui.narrow_rows import NARROW_ROWS_CSS
from ui.tables import SWIPE_NOTE_CSS
from ui.widgets import ACCENT_TEXT_CSS, CAPTION_CODE_CSS, CHART_TEXT_CSS, STEADY_SCROLL_CSS

from app_fixtures import (  # noqa: F401  (pytest fixtures, registered by being imported)
    TUNED_NAME, as_read, assert_no_page_error, color_png, element_kinds, gray_png, no_checkpoints_env, tiny_app_env,
    app_checkpoints,
)

ROOT = Path(__file__).resolve().parents[1]
PAGES = ("pages/colorize.py", "pages/channels.py", "pages/compare.py", "pages/curves.py")
ALL_PAGES = (*PAGES, "pages/finetune.py", "pages/video.py")
TIMEOUT = 90  # the first run imports TensorFlow and loads models; later runs take a second or two


def app() -> AppTest:
    return AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)


def texts(elements) -> list[str]:
    return [element.value for element in elements]


def captions(at: AppTest) -> list[str]:
    return [caption for image in at.image for caption in image.captions]


def upload(at: AppTest, files: list[tuple[str, bytes, str]]) -> AppTest:
    """Switch the sidebar to uploads and upload ``files`` (name, bytes, mime)."""
    at.session_state["sidebar.source"] = "Upload"
    at.run()
    at.file_uploader(key="sidebar.upload").set_value(files)
    return at.run()


@pytest.mark.slow
def test_every_page_runs_with_tiny_checkpoints(tiny_app_env):
    at = app().run()
    assert_no_page_error(at)
    assert not at.error, texts(at.error)
    assert at.sidebar.selectbox(key="sidebar.model").options  # the shipped and fine-tuned checkpoints
    assert any("Colorized by" in c for c in captions(at))
    for page in PAGES[1:]:
        at.switch_page(page).run()
        assert_no_page_error(at, page)
        assert not at.error, (page, texts(at.error))
        # The page keeps its scroll when a rerun adds to it, text on the accent, in charts and code in captions is
        # readable in both themes, a table's swipe note shows on a phone only, a row's buttons and scores are never
        # cut short (ui.widgets.page_style; their effect: test_browser.py)
        styles = (STEADY_SCROLL_CSS, ACCENT_TEXT_CSS, CHART_TEXT_CSS, CAPTION_CODE_CSS, SWIPE_NOTE_CSS, NARROW_ROWS_CSS)
        assert any(all(css in html.proto.body for css in styles) for html in at.get("html")), page
    assert [t.value for t in at.title] == ["Training curves"]


@pytest.mark.parametrize("page", ALL_PAGES)
@pytest.mark.slow
def test_a_page_draws_the_same_elements_whether_its_results_were_made_now_or_held(tiny_app_env, page):
    """Session 31: a waiting line's placeholder was put on the page only by a run that had work to do, one element
    more, so the browser redrew everything after it and the page jumped while its images reloaded (the browser
    test of hints checks the photo stays put). ``work_queue.waiting_line`` holds the place on every run."""
    from ui import loaders

    at = app().run()
    if page != ALL_PAGES[0]:
        at.switch_page(page).run()
    loaders.CACHE.clear()
    made_now = element_kinds(at.run().main)
    assert_no_page_error(at, page)
    if page == ALL_PAGES[0]:
        assert "empty" in made_now  # the placeholders, kept on the page, empty
    assert element_kinds(at.run().main) == made_now


@pytest.mark.slow
def test_a_reference_upload_draws_the_same_elements_on_the_run_that_read_it_and_after(tiny_app_env):
    """The run that reads a reference upload shows its reading's waiting line (``loaders.decode_upload``); the runs
    after it, which find it read, keep that place, so the preview after it is not drawn anew."""
    from ui import reference_ui

    at = app().run()
    at.segmented_control(key="reference.source").set_value(reference_ui.UPLOAD).run()
    at.file_uploader(key="reference.upload").set_value([("ref.png", color_png(), "image/png")]).run()
    assert_no_page_error(at)
    assert at.session_state["reference.chosen"][0] == "upload"
    read_now = element_kinds(at.main)
    assert element_kinds(at.run().main) == read_now


def test_the_image_picker_folds_away_where_unused_and_uploads_survive_the_trip(tiny_app_env):
    """Training curves, Fine-tune and Video do not colorize the sidebar's pictures: there the picker is folded
    into an expander (still drawn, so Streamlit keeps the visitor's uploads for the way back)."""
    at = upload(app(), [("gray.png", gray_png(), "image/png")])
    assert not at.sidebar.expander and "**Image**" in [m.value for m in at.sidebar.markdown]
    # The uploader refuses a clip in the browser, before the app sees it: where clips go is said beside it.
    assert "Clips (MP4, MOV, AVI…) go on the Video page." in [c.value for c in at.sidebar.caption]
    at.switch_page("pages/curves.py").run()
    assert_no_page_error(at)
    assert [e.label for e in at.sidebar.expander] == ["Image (for Colorize, L/a/b channels, Compare architectures)"]
    assert "**Image**" not in [m.value for m in at.sidebar.markdown]
    at.switch_page("pages/colorize.py").run()
    assert_no_page_error(at)
    assert [f.name for f in at.file_uploader(key="sidebar.upload").value] == ["gray.png"]
    assert any("Colorized by" in c for c in captions(at))


def test_model_picker_lists_shipped_and_fine_tuned(tiny_app_env):
    at = app().run()
    options = at.sidebar.selectbox(key="sidebar.model").options
    assert {"cifar_ae", "vae", "unet313"} <= set(options)
    assert [o for o in options if o.endswith(f" · {TUNED_NAME}")] == [f"fine-tuned · cifar_ae · {TUNED_NAME}"], options


def test_a_chosen_model_that_is_gone_is_said_so_once(tiny_app_env):
    """Session 35's audit: a shared model deleted by its maker left the page on another model without a word."""
    at = app()
    at.session_state["sidebar.model"] = "cifar_ae-ft-0000deadbeef0000"
    at.run()
    assert_no_page_error(at)
    fallback = at.sidebar.selectbox(key="sidebar.model").value
    assert [as_read(i.value) for i in at.sidebar.info if "no longer" in i.value] == [
        f"cifar_ae-ft-0000deadbeef0000 is no longer on this server (deleted by its maker, or expired): showing "
        f"{fallback}."]
    at.run()
    assert not [i for i in at.sidebar.info if "no longer" in i.value]


def test_the_picker_says_what_the_model_does_in_plain_words(tiny_app_env):
    """Under the picker: the architecture's plain sentence, not the card's terms of the trade (those are one
    hover away, in the caption's help); a fine-tuned model says it learned from a visitor's own photos."""
    from colorizer.models import ARCHITECTURES

    at = app().run()
    at.sidebar.selectbox(key="sidebar.model").select("cifar_ae").run()
    shown = [c.value for c in at.sidebar.caption]
    assert ARCHITECTURES["cifar_ae"].IN_PLAIN_WORDS in shown, shown
    assert not any("autoencoder" in c for c in shown), shown
    at.sidebar.selectbox(key="sidebar.model").select(TUNED_NAME).run()
    shown = [c.value for c in at.sidebar.caption]
    assert f"{ARCHITECTURES['cifar_ae'].IN_PLAIN_WORDS} This copy was then fine-tuned on a visitor's own photos." in shown, shown


def test_the_chosen_model_is_kept_in_the_address_for_a_reload_or_a_shared_link(tiny_app_env):
    """Session 38 kept a reloaded page's hints, but the picker went back to the default model: the choice now
    lives in the address (``?model=NAME``), the default leaving it clean, a name no one may see ignored."""
    at = app().run()
    default = at.sidebar.selectbox(key="sidebar.model").value
    other = next(o for o in at.sidebar.selectbox(key="sidebar.model").options if o not in (default, TUNED_NAME))
    at.sidebar.selectbox(key="sidebar.model").select(other).run()
    assert at.query_params.get("model") in (other, [other])
    reloaded = app()  # a new session, as a reload starts, at the address the page had
    reloaded.query_params["model"] = other
    reloaded.run()
    assert_no_page_error(reloaded)
    assert reloaded.sidebar.selectbox(key="sidebar.model").value == other
    reloaded.sidebar.selectbox(key="sidebar.model").select(default).run()
    assert "model" not in reloaded.query_params
    stranger = app()
    stranger.query_params["model"] = "cifar_ae-ft-0000deadbeef0000"  # not on this server, or not this visitor's
    stranger.run()
    assert_no_page_error(stranger)
    assert stranger.sidebar.selectbox(key="sidebar.model").value == default and "model" not in stranger.query_params


def test_a_fine_tuned_model_in_the_picker_says_when_it_was_made(monkeypatch):
    """Session 35's audit: four "hypercolumn-ft-<hex>" options could not be told apart."""
    from ui import loaders, widgets

    monkeypatch.setattr(widgets, "checkpoint_kind", lambda name: "fine-tuned")
    monkeypatch.setattr(loaders, "card_of", lambda name, available=None: {"created": "2026-12-06T14:02:51+00:00",
                                                          "architecture": "hypercolumn"} if name == "a" else {})
    # What tells it apart first, within the 31 characters the sidebar's box shows (session 44: the time was cut off).
    assert widgets.checkpoint_label("a") == "fine-tuned 14:02 UTC 06 Dec · hypercolumn · a"
    assert widgets.checkpoint_label("a").index("14:02") < 31
    assert widgets.checkpoint_label("b") == "fine-tuned · model · b"  # no card: no time


def test_gray_upload_is_colorized(tiny_app_env, monkeypatch):
    """The picture shown as the result is the model's colorization of the upload: colored, with the upload's
    lightness, and what ``colorizer.load`` of the same checkpoint gives (not the input, not gray)."""
    import io

    import numpy as np
    from PIL import Image
    from streamlit.delta_generator import DeltaGenerator

    from colorizer.color import luminance, rgb_to_lab
    from colorizer.inference import load

    shown = {}
    draw = DeltaGenerator.image

    def spy(self, image, caption=None, *args, **kwargs):
        if isinstance(caption, str) and caption.startswith("Colorized by "):
            shown[caption] = np.asarray(image)
        return draw(self, image, caption, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "image", spy)
    at = upload(app(), [("gray.png", gray_png(), "image/png")])
    assert_no_page_error(at)
    assert not at.error, texts(at.error)
    assert any("Colorized by" in c for c in captions(at))
    assert at.get("download_button")  # the PNG download
    [(caption, result)] = shown.items()
    gray = np.asarray(Image.open(io.BytesIO(gray_png())))
    block = result.shape[0] // gray.shape[0]  # a small picture is shown enlarged, each pixel a block
    assert block > 1 and (result[block - 1::block, block - 1::block] == result[::block, ::block]).all()
    result = result[::block, ::block]
    model_name = caption.removeprefix("Colorized by ").split(" ")[0]
    np.testing.assert_array_equal(result, load(model_name).colorize(gray))
    # The upload's lightness (a strong color at the black and white ends leaves the gamut: compare the mean).
    assert np.abs(luminance(result) - luminance(np.dstack([gray] * 3))).mean() < 1.5
    assert np.hypot(*np.moveaxis(rgb_to_lab(result)[..., 1:], -1, 0)).mean() > 2  # and color


def test_broken_upload_names_the_file_and_others_still_go_through(tiny_app_env):
    files = [("broken.png", b"<html><body>not an image</body></html>", "image/png"),
             ("gray.png", gray_png(), "image/png"),
             ("empty.jpg", b"", "image/jpeg")]
    at = upload(app(), files)
    assert_no_page_error(at)
    errors = texts(at.error)
    assert any(e.startswith("broken.png: ") for e in errors), errors
    assert any(e.startswith("empty.jpg: ") for e in errors), errors
    assert sum("Colorized by" in c for c in captions(at)) == 1


def test_color_upload_shows_truth_metrics_and_zip(tiny_app_env):
    at = upload(app(), [("color.png", color_png(), "image/png"), ("gray.png", gray_png(), "image/png"),
                        ("color2.png", color_png(48), "image/png")])
    assert_no_page_error(at)
    assert any("already in color" in i for i in texts(at.info))
    assert "Truth (the original colors)" in captions(at)
    assert {"PSNR", "SSIM", "L2_ab (↓ better)", "Colorfulness"} <= {m.label for m in at.metric}
    assert len(at.metric) == 8   # each color photo its own row of scores (ui.narrow_rows keys each row)
    # Which way is better, in words where the label has room (its delta's "(lower is better)" was cut at 1300 px).
    assert all("(lower is better)" not in (m.proto.delta or "") for m in at.metric)
    assert any(b.label.endswith("(ZIP)") for b in at.get("download_button"))


def test_thin_color_upload_has_no_ssim_and_compare_scores_hue_and_auc(tiny_app_env):
    """A 300×6 color photo: SSIM's 11 px window does not fit ("–", not a crash); the other metrics,
    right-hue rate and AuC included, are in the Compare page's table, gray scoring no right hue, the
    training palette beside it as a second baseline."""
    import numpy as np

    thin = np.zeros((300, 6, 3), np.uint8)
    thin[:150] = (200, 40, 40)
    thin[150:] = (40, 60, 210)
    at = upload(app(), [("thin_color.png", _png(thin), "image/png")])
    assert_no_page_error(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["SSIM"] == "–" and metrics["PSNR"].endswith("dB")
    at.switch_page("pages/compare.py").run()
    assert_no_page_error(at)
    table = at.dataframe[0].value.set_index("model")
    assert {"right_hue", "auc", "auc_rebalanced"} <= set(table.columns)
    assert table.loc["gray (no color)", "right_hue"] == 0.0
    palette = table.loc["training palette"]   # the second baseline: a tint, scored like the models
    assert palette["kind"] == "baseline" and palette["l2_ab"] != table.loc["gray (no color)", "l2_ab"]
    assert table["auc"].between(0, 1).all() and table["ssim"].isna().all()
    # The baselines' rows say what they are, what they hold and what they cost: no empty cells.
    from colorizer.baselines import TrainingPalette
    baselines = table[table["kind"] == "baseline"]
    assert baselines[["architecture", "parameters", "time_ms"]].notna().all().all()
    assert baselines.loc["gray (no color)", "parameters"] == 0
    assert baselines.loc["training palette", "parameters"] == TrainingPalette().palette.size > 0
    assert (baselines["time_ms"] > 0).all() and baselines["architecture"].str.startswith("none").all()
    # Both tables lead with what a phone shows first: PSNR read beside colorfulness and right hue (session 38).
    results, evaluation = at.dataframe
    assert list(results.proto.column_order)[:4] == ["model", "psnr", "colorfulness_ratio", "right_hue"]
    assert list(evaluation.proto.column_order)[:3] == ["model", "psnr", "colorfulness_ratio"]  # 8th before (tiny cards'
    assert set(evaluation.proto.column_order) == set(evaluation.value.columns)                 # have no right hue)
    # Under each, a line that they swipe sideways, shown on a phone only (session 41's audit: 29 % in view at 360 px).
    from ui.tables import SWIPE_NOTE

    assert [c.value for c in at.caption].count(SWIPE_NOTE) == 2


@pytest.mark.parametrize("model, widget_key", [("unet313", "colorize.temperature"), ("vae", "colorize.samples")])
def test_model_specific_controls(tiny_app_env, model, widget_key):
    at = app()
    at.session_state["sidebar.model"] = model
    at.run()
    assert_no_page_error(at)
    assert at.slider(key=widget_key)
    if model == "vae":
        assert sum(c.startswith("seed ") for c in captions(at)) == 4
    at.slider(key=widget_key).set_value(0.2 if model == "unet313" else 2).run()
    assert_no_page_error(at)


@pytest.mark.parametrize("model", ["hypercolumn_hints", "unet313"])
def test_the_temperature_slider_says_what_it_does_to_each_model(tiny_app_env, model):
    """Session 34's audit: the slider read "Vividness: temperature T (lower = more vivid)", but on the flagship lower
    T gave less chroma on all five photos measured (it blends the annealed mean in only where it is sure, under its
    colorfulness cap), and on any 313-bin model a pixel whose likeliest bin is gray goes grayer."""
    at = app()
    at.session_state["sidebar.model"] = model
    at.run()
    slider = at.slider(key="colorize.temperature")
    assert slider.label == "Temperature T of the color bins" and "vivid" not in slider.label.lower()
    assert "T near 0 takes its likeliest bin" in slider.help
    # "Lower T is bolder" holds for unet313, not for the hypercolumn models (less color at lower T: session 39's
    # walk-through measured the default model's chroma 19.8 at T 0.05, 21.4 at 1); there the slider is folded away.
    assert ("Lower T is bolder" in slider.help) == (model == "unet313")
    assert [e.label for e in at.expander if e.label.startswith("Temperature T")] == (
        ["Temperature T (a small effect on this model)"] if model == "hypercolumn_hints" else [])
    assert ("hypercolumn_hints uses T only where it is sure of a color, so T changes its picture little."
            in slider.help) == (model == "hypercolumn_hints")
    # Beside the slider too (session 37's walkthrough: dragged in a demo, the flagship's picture did not visibly change).
    assert any(c.value.startswith(f"{model} uses T only where it is sure") for c in at.caption) == (
        model == "hypercolumn_hints")
    from types import SimpleNamespace

    from colorizer.models import ARCHITECTURES
    from ui.colorize_ui import temperature_help

    flagship = temperature_help(SimpleNamespace(arch=ARCHITECTURES["hypercolumn"], name="hypercolumn", default_temperature=0.38))
    # The flagship takes the annealed mean's hue where it guessed too: some photos change hue in whole regions
    # (session 38's text audit: the gallery's coffee cup, teal at T 0.05, pink at 1, under "T changes it little").
    assert flagship.endswith("hypercolumn: T sets each color's hue everywhere, and its vividness only where it is sure: "
                             "most photos change a little, some change hue in whole regions (try the gallery's coffee). "
                             "Its overall colorfulness is held within a cap.")


def test_the_default_models_page_says_colors_can_be_chosen_with_the_hint_model(tiny_app_env):
    """Session 39's walk-through: on the default model's page nothing said a visitor could choose colors; one line
    under the first result points to the hint model, and the hint model's own page does not repeat it."""
    pointer = "Want to choose the colors yourself? Pick **hypercolumn_hints** under Model in the sidebar"
    for model, shown in (("unet313", True), ("hypercolumn_hints", False)):
        at = app()
        at.session_state["sidebar.model"] = model
        at.run()
        assert_no_page_error(at)
        assert sum(c.value.startswith(pointer) for c in at.caption) == (1 if shown else 0), model
    # Two pictures: said once, under the first (session 39's mutants).
    at = app()
    at.session_state["sidebar.model"] = "unet313"
    upload(at, [("a.png", gray_png(40), "image/png"), ("b.png", gray_png(48), "image/png")])
    assert_no_page_error(at)
    assert sum("Colorized by" in c for c in captions(at)) == 2
    assert sum(c.value.startswith(pointer) for c in at.caption) == 1


def test_a_panorama_is_shown_stacked_and_its_slider_keeps_a_usable_height(tiny_app_env):
    """Session 34's walkthrough: a 4000×300 panorama was three 19-px strips side by side, and its before/after slider
    a 20-px strip on a phone with its labels cut. Far wider than tall, the input and result are stacked (no columns
    for them), and the slider is at least ``MIN_HEIGHT`` tall, the picture letterboxed in it."""
    import numpy as np

    from ui import compare_slider

    def image_columns(width: int) -> int:
        at = upload(app(), [("p.png", gray_png(40, width), "image/png")])
        assert_no_page_error(at)
        return len(at.columns)

    assert image_columns(40) - image_columns(40 * 13) == 2  # the square photo's input | result
    strip = np.zeros((30, 400, 3), np.uint8)
    page, height = compare_slider.before_after_html(strip, strip)
    assert "min-height: 64px" in page and height >= compare_slider.MIN_HEIGHT


def test_the_temperature_slider_reaches_the_colors_shown(tiny_app_env, monkeypatch):
    """The picture shown after moving the temperature slider is the 313-bin model's colorization at that
    temperature, not at the default (test_model_specific_controls only moves the slider)."""
    import io

    import numpy as np
    from PIL import Image
    from streamlit.delta_generator import DeltaGenerator

    from colorizer.inference import load

    shown, draw = [], DeltaGenerator.image

    def spy(self, image, caption=None, *args, **kwargs):
        if isinstance(caption, str) and caption.startswith("Colorized by unet313"):
            shown.append(np.asarray(image))
        return draw(self, image, caption, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "image", spy)
    at = app()
    at.session_state["sidebar.model"] = "unet313"
    at = upload(at, [("gray.png", gray_png(), "image/png")])
    at.slider(key="colorize.temperature").set_value(0.05).run()
    assert_no_page_error(at)
    gray = np.asarray(Image.open(io.BytesIO(gray_png())))
    model = load("unet313")
    vivid = model.colorize(gray, temperature=0.05)
    assert not np.array_equal(vivid, model.colorize(gray))  # the two temperatures give different pictures here
    block = shown[-1].shape[0] // gray.shape[0]  # a small picture may be shown enlarged, each pixel a block
    np.testing.assert_array_equal(shown[-1][::block, ::block], vivid)


def test_an_untouched_colorize_page_decodes_at_the_models_own_temperature(tiny_app_env, monkeypatch):
    """The contributor audit (session 37): the page passed the shared quantize.DEFAULT_TEMPERATURE to every 313-bin
    model, so a model whose DECODE says another temperature showed other colors on the Colorize and L/a/b pages than
    from the command line and Compare, and the L/a/b page did not say so."""
    import io

    import numpy as np
    from PIL import Image
    from streamlit.delta_generator import DeltaGenerator

    from colorizer.inference import load
    from colorizer.models import hypercolumn_hints

    monkeypatch.setitem(hypercolumn_hints.DECODE, "temperature", 0.9)
    shown, draw = [], DeltaGenerator.image

    def spy(self, image, caption=None, *args, **kwargs):
        if isinstance(caption, str) and caption.startswith("Colorized by hypercolumn_hints"):
            shown.append(np.asarray(image))
        return draw(self, image, caption, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "image", spy)
    at = app()
    at.session_state["sidebar.model"] = "hypercolumn_hints"
    at = upload(at, [("gray.png", gray_png(), "image/png")])
    assert_no_page_error(at)
    assert at.slider(key="colorize.temperature").value == pytest.approx(0.9)
    gray = np.asarray(Image.open(io.BytesIO(gray_png())))
    model = load("hypercolumn_hints")
    own = model.colorize(gray)
    assert not np.array_equal(own, model.colorize(gray, temperature=0.38))  # the temperature shows here
    block = shown[-1].shape[0] // gray.shape[0]
    np.testing.assert_array_equal(shown[-1][::block, ::block], own)
    at.switch_page("pages/channels.py").run()
    assert not any(c.startswith("Colored as on the Colorize page") for c in texts(at.caption))


@pytest.mark.slow
def test_the_channels_pages_charts_are_built_once_not_on_every_rerun(tiny_app_env, monkeypatch):
    """Session 46's profile: every rerun of the L/a/b page built its five plotly charts anew, 0.67 s of the server's
    CPU for each click there. They are kept by (chart, pictures, theme): a rerun draws the same charts and builds
    none; another picture's are built for it."""
    from ui import charts

    built = []
    for name in ("channel_histograms", "ab_distribution", "ab_error_map"):
        monkeypatch.setattr(charts, name, lambda *args, _real=getattr(charts, name), _name=name, **kwargs:
                            built.append(_name) or _real(*args, **kwargs))
    at = upload(app(), [("bands.png", color_png(40), "image/png"), ("larger.png", color_png(48), "image/png")])
    at.switch_page("pages/channels.py").run()
    assert_no_page_error(at)
    drawn = [chart.proto.spec for chart in at.get("plotly_chart")]
    # Truth and prediction: histograms and ab distribution each; the error map of a color picture.
    assert sorted(built) == ["ab_distribution"] * 2 + ["ab_error_map"] + ["channel_histograms"] * 2 and len(drawn) == 5
    built.clear()
    at.run()
    assert built == [] and [chart.proto.spec for chart in at.get("plotly_chart")] == drawn
    at.selectbox(key="channels.image").select_index(1).run()
    assert_no_page_error(at)
    assert sorted(built) == ["ab_distribution"] * 2 + ["ab_error_map"] + ["channel_histograms"] * 2
    assert all(spec not in drawn for spec in (chart.proto.spec for chart in at.get("plotly_chart")))


@pytest.mark.slow
def test_the_channels_page_shows_the_colors_made_on_the_colorize_page(tiny_app_env, monkeypatch):
    """Finding (session 28's walkthrough): a visitor who set the vividness on Colorize and opened L/a/b saw its
    channels of another picture, colored at the default temperature, under "Prediction". The L/a/b page now
    colors at the Colorize page's settings and says which."""
    import io

    import numpy as np
    from PIL import Image
    from streamlit.delta_generator import DeltaGenerator

    from colorizer.inference import load
    from ui import loaders, widgets

    shown, draw = [], DeltaGenerator.image

    def spy(self, image, *args, **kwargs):
        if str(kwargs.get("alt")).startswith("Prediction: ") and str(kwargs.get("alt")).endswith(", image"):
            shown.append(np.asarray(image))
        return draw(self, image, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "image", spy)
    at = app()
    at.session_state["sidebar.model"] = "unet313"
    at = upload(at, [("gray.png", gray_png(), "image/png")])
    at.slider(key="colorize.temperature").set_value(0.05).run()
    at.switch_page("pages/channels.py").run()
    assert_no_page_error(at)
    gray = np.asarray(Image.open(io.BytesIO(gray_png())))
    model = load("unet313")
    vivid, default = model.colorize(gray, temperature=0.05), model.colorize(gray)
    assert not np.array_equal(vivid, default)  # the two temperatures give different pictures here
    np.testing.assert_array_equal(shown[-1], widgets.display(vivid, max_side=480))
    assert "Colored as on the Colorize page: temperature T = 0.05." in texts(at.caption)
    # The model named under a short heading, not in it (a fine-tune's name wrapped the heading to three lines and set
    # the two columns' pictures apart: session 44), and the picture's name level with it on the other side.
    headings = [m.value for m in at.markdown if m.value.startswith("## ")]
    assert headings[:2] == ["## Input (gray)", "## Prediction"], headings
    assert {"By unet313", "gray.png"} <= set(texts(at.caption))
    # The picture's hints too, for a hint-taking model (placed on Colorize: here straight into the session).
    hint = {"x": 5, "y": 5, "rgb": [200, 30, 30]}
    at.session_state["colorize.hints"] = {loaders.image_digest(np.repeat(gray[..., None], 3, axis=2)): [hint]}
    at.sidebar.selectbox(key="sidebar.model").set_value("hypercolumn_hints").run()
    assert_no_page_error(at)
    hinted = load("hypercolumn_hints").colorize(gray, hints=[hint], temperature=0.05)
    assert not np.array_equal(hinted, load("hypercolumn_hints").colorize(gray, temperature=0.05))
    np.testing.assert_array_equal(shown[-1], widgets.display(hinted, max_side=480))
    assert "Colored as on the Colorize page: temperature T = 0.05, 1 hint." in texts(at.caption)


def test_gallery_black_and_white_photo(tiny_app_env):
    at = app()
    at.session_state["sidebar.gallery"] = "camera"
    at.run()
    assert_no_page_error(at)
    assert not any("already in color" in i for i in texts(at.info))
    at.switch_page("pages/compare.py").run()
    assert_no_page_error(at)
    assert any(c.startswith("**unet313**") for c in captions(at))


def test_every_page_without_any_checkpoint(no_checkpoints_env):
    at = app().run()
    assert_no_page_error(at)
    assert any("No trained model" in w for w in texts(at.warning))
    for page in PAGES[1:]:
        at.switch_page(page).run()
        assert_no_page_error(at, page)


def test_unusable_checkpoint_is_a_message(tiny_app_env, tmp_path, monkeypatch):
    """A checkpoint file that is not a model: an error that says what to do, the page still works."""
    broken = tmp_path / "user" / "broken_tune"
    broken.mkdir(parents=True)
    (broken / "model.keras").write_bytes(b"this is not a zip archive")
    monkeypatch.setenv("COLORIZER_CHECKPOINT_DIR", str(tmp_path / "user"))
    at = app()
    at.session_state["sidebar.model"] = "broken_tune"
    at.run()
    assert_no_page_error(at)
    assert any(e.startswith("model.keras: ") and "Pick another model" in e for e in texts(at.error)), texts(at.error)
    at.switch_page("pages/compare.py").run()
    assert_no_page_error(at)
    assert any(c.startswith("**cifar_ae**") for c in captions(at))  # the good ones still run


def _png(array, **save) -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG", **save)
    return buffer.getvalue()


def _animated_gif() -> bytes:
    import io

    from PIL import Image

    frames = [Image.new("L", (24, 16), value) for value in (40, 200, 120)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


def test_odd_but_valid_uploads_all_colorize_with_notes(tiny_app_env):
    import numpy as np

    rgba = np.zeros((20, 30, 4), np.uint8)
    rgba[..., :3], rgba[..., 3] = 128, np.linspace(0, 255, 30, dtype=np.uint8)[None, :]
    files = [
        ("one_pixel.png", _png(np.full((1, 1), 90, np.uint8)), "image/png"),
        ("thin.png", _png(np.tile(np.arange(6, dtype=np.uint8) * 40, (300, 1))), "image/png"),
        ("alpha.png", _png(rgba), "image/png"),
        ("sixteen.png", _png(np.linspace(0, 65535, 32 * 32).astype(np.uint16).reshape(32, 32)), "image/png"),
        ("animated.gif", _animated_gif(), "image/gif"),
    ]
    at = upload(app(), files)
    assert_no_page_error(at)
    assert not at.error, texts(at.error)
    assert sum("Colorized by" in c for c in captions(at)) == len(files)
    assert any("frame 1" in c.value for c in at.caption), [c.value for c in at.caption]


def test_a_download_is_named_by_the_uploads_bare_name_whatever_separators_it_sent():
    """Session 29's audit: a crafted upload named "..\\..\\x.png" kept its backslashes in the result's name (a ZIP
    entry a tool on Windows unpacks two folders up); a browser sends bare names, so this changes no honest name."""
    from types import SimpleNamespace

    from ui.colorize_ui import output_name
    from ui.video_ui import download_name

    model = SimpleNamespace(name="hypercolumn")
    names = ["..\\..\\x.png", "a/b/x.png", "C:x.png", "x.png"]
    assert {output_name(SimpleNamespace(name=n), model) for n in names} == {"x_hypercolumn.png"}
    assert {download_name(n.replace(".png", ".mp4")) for n in names} == {"x_colorized.mp4"}
    assert output_name(SimpleNamespace(name=""), model) == "image_hypercolumn.png"


def test_two_uploads_of_one_name_download_under_the_zips_names(tiny_app_env, monkeypatch):
    """The batch audit (session 36): two students' photo.jpg both downloaded as photo_<model>.png while the ZIP named
    the second photo_<model>_2.png, and nothing said which tile was which. Each download is named as its ZIP entry,
    and the second's heading says it."""
    from streamlit.delta_generator import DeltaGenerator

    offered, button = {}, DeltaGenerator.download_button

    def spy(self, label, data, file_name=None, *args, **kwargs):
        offered.setdefault(label, []).append(file_name)
        return button(self, label, data, file_name, *args, **kwargs)

    import streamlit as st

    monkeypatch.setattr(DeltaGenerator, "download_button", spy)
    monkeypatch.setattr(st, "download_button", lambda *args, **kwargs: spy(st._main, *args, **kwargs))  # bound at import
    at = upload(app(), [("photo.png", gray_png(40), "image/png"), ("photo.png", gray_png(48), "image/png")])
    at.switch_page("pages/colorize.py").run()
    assert_no_page_error(at)
    names = offered["Download PNG"][-2:]
    model = at.sidebar.selectbox(key="sidebar.model").value
    assert names == [f"photo_{model}.png", f"photo_{model}_2.png"], names
    assert f"## photo.png (saved as photo_{model}_2.png)" in [as_read(m.value) for m in at.markdown]
    # Gray uploads: no scores, and a word why (the batch audit: the metrics were simply absent).
    assert sum(c.value.startswith("No scores: this picture has no original colors") for c in at.caption) == 2
    color = upload(app(), [("color.png", color_png(40), "image/png")])
    assert any(c.value.startswith("Each change is against the same photo left gray") for c in color.caption)


def test_zip_of_pngs_keeps_alpha_and_makes_names_unique():
    import io
    import zipfile

    import numpy as np
    from PIL import Image

    from ui.widgets import zip_of_pngs

    rgb = np.zeros((4, 5, 3), np.uint8)
    alpha = np.full((4, 5), 7, np.uint8)
    archive = zipfile.ZipFile(io.BytesIO(zip_of_pngs([("a.png", rgb, alpha), ("a.png", rgb, None)])))
    assert archive.namelist() == ["a.png", "a_2.png"]
    with Image.open(io.BytesIO(archive.read("a.png"))) as image:
        assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 7
    with Image.open(io.BytesIO(archive.read("a_2.png"))) as image:
        assert image.mode == "RGB"
    # Past a name already taken (session 35's review: two entries named a_2.png), as the command line names them.
    archive = zipfile.ZipFile(io.BytesIO(zip_of_pngs([("a.png", rgb, None), ("a.png", rgb, None), ("a_2.png", rgb, None)])))
    assert archive.namelist() == ["a.png", "a_2.png", "a_2_2.png"]


def test_a_tiny_picture_is_shown_enlarged_in_blocks_and_a_large_one_shrunk():
    """The walkthrough: an 8×8 upload's three columns drew it as wide as each caption (152 to 207 px, blurred).
    Shown pictures under ``MIN_DISPLAY_SIDE`` are enlarged by a whole factor, each pixel a block of its color."""
    import numpy as np

    from ui.widgets import MIN_DISPLAY_SIDE, display

    tiny = np.random.default_rng(3).integers(0, 256, (8, 6, 3), dtype=np.uint8)
    alpha = np.arange(48, dtype=np.uint8).reshape(8, 6)
    shown = display(tiny, alpha)
    factor = MIN_DISPLAY_SIDE // 8
    assert shown.shape == (8 * factor, 6 * factor, 4)
    assert (shown[::factor, ::factor, :3] == tiny).all() and (shown[::factor, ::factor, 3] == alpha).all()
    assert (shown[factor - 1::factor, factor - 1::factor, :3] == tiny).all()  # whole blocks, no blending
    assert display(alpha).shape == (8 * factor, 6 * factor)  # an alpha plane alone: the same factor
    assert display(tiny, max_side=40).shape == (40, 30, 3)  # never past max_side
    assert display(np.zeros((300, 2, 3), np.uint8)).shape == (300, 2, 3)  # long enough already: as it is
    assert display(np.zeros((2000, 1000, 3), np.uint8)).shape == (1024, 512, 3)


def test_an_unexpected_failure_is_a_message_not_a_traceback(tiny_app_env, monkeypatch):
    from ui import charts

    def broken(*args, **kwargs):
        raise RuntimeError("plotting exploded")

    monkeypatch.setattr(charts, "channel_histograms", broken)
    at = app().run()
    at.switch_page("pages/channels.py").run()
    assert not at.exception, at.exception
    assert any(e.startswith("Something went wrong: RuntimeError: plotting exploded") for e in texts(at.error))
    with pytest.raises(AssertionError, match="plotting exploded"):  # what every other AppTest relies on
        assert_no_page_error(at)


def test_every_page_runs_through_run_page(tiny_app_env, monkeypatch):
    """One mechanism for every page: each runs its main through ``widgets.run_page`` (the entry guard
    that brings the sidebar to a deep link, then main with a one-message safety net)."""
    from ui import widgets

    assert sorted(ALL_PAGES) == sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))
    calls = []
    real = widgets.run_page
    monkeypatch.setattr(widgets, "run_page", lambda main: calls.append(main) or real(main))
    at = app()
    for page in ALL_PAGES:
        before = len(calls)
        at.switch_page(page).run()
        assert_no_page_error(at, page)
        assert len(calls) > before, f"{page} does not run through widgets.run_page"


def test_card_summary_and_evaluation_rows(tiny_app_env):
    from ui.cards import card_summary, evaluation_row_name, evaluation_rows, soup_size

    card = {"architecture": "cifar_ae", "working_size": 32, "description": "tiny",
            "parameters": {"total": 1234567, "trainable": 1000},
            "training": {"epochs": 4, "best_val_loss": 0.0123456, "wall_time_s": 300, "stopped_early": False},
            "data": {"train_photos": 4, "val_photos": 2, "sources": [
                {"package": "scratch", "license": "CC0", "photos": 3}, {"package": "scratch", "license": "MIT", "photos": 2}]}}
    assert card_summary(card).splitlines() == [
        "- **architecture**: cifar_ae · working size 32 px", "- tiny",
        "- **parameters**: total 1,234,567, trainable 1,000",
        "- **training**: epochs 4, best val loss 0.01235, wall time 5 min",
        "- **data**: 4 train photos, 2 val photos; scratch (5 photos)",
    ]
    # Cards that record their sources by split say which photos were learned from and which chose the epoch.
    by_split = {**card, "data": {**card["data"], "sources_by_split": {
        "train": [{"package": "scratch", "license": "CC0", "photos": 3}],
        "val": [{"package": "mate-backgrounds", "license": "GPL-2+", "photos": 2}]}}}
    assert card_summary(by_split).splitlines()[-1] == ("- **data**: 4 train photos, 2 val photos; trained on scratch "
                                                       "(3 photos); validated on mate-backgrounds (2 photos)")
    # Photos added by ``train --extra-photos`` are not among the folder's: the line names them too.
    extra = {**by_split, "data": {**by_split["data"], "extra_photos": {"folders": ["details"], "sources": [
        {"package": "plasma-workspace-wallpapers", "license": "LGPL", "photos": 7}]}}}
    assert card_summary(extra).splitlines()[-1].endswith("validated on mate-backgrounds (2 photos); "
                                                         "extra photos trained on: plasma-workspace-wallpapers (7 photos)")
    assert card_summary({**card, "data": {**card["data"], "extra_photos": None}}) == card_summary(card)
    assert soup_size(card) == 0 and soup_size({"training": {"soup": "x"}}) == 0
    soup = {**card, "training": {**card["training"], "soup": {"ingredients": [{"folder": "a"}, {"folder": "b"}]}}}
    assert soup_size(soup) == 2                       # a soup's curve is its first ingredient's: the card says so
    assert card_summary(soup).splitlines()[4] == ("- **weight soup**: the mean of 2 trained checkpoints' weights, "
                                                  "never trained itself; the training, data and curve shown are "
                                                  "its first ingredient's")
    rows, truths = evaluation_rows(["cifar_ae", TUNED_NAME])
    assert [r["model"] for r in rows] == ["gray (no color)", "cifar_ae", TUNED_NAME]  # the gray baseline once
    assert rows[1]["psnr"] == 22.5 and truths == {"the shipped models' held-out photos": 30.0}
    # A card's own variants keep their label; another label is named after the checkpoint it belongs to.
    assert [evaluation_row_name("unet313", label) for label in ("gray", "unet313", "unet313 (T=0.7)", "T=1")] == [
        "gray (no color)", "unet313", "unet313 (T=0.7)", "unet313: T=1"]


def test_a_fine_tuned_name_is_shortened_whole_in_tables_and_its_column_fits_it():
    """Session 44's walk-through: at 1280 px the pinned model column cut "hypercolumn-ft-3c7395e337ceb479" to
    "hypercolumn-ft-3c73", which read as a whole name, and its base's row to "hypercolumn (base o". A table shows the
    id's first six digits and "…", the base's row names the fine-tune by its id, and the column fits the longest."""
    from ui import tables

    name = "hypercolumn-ft-3c7395e337ceb479"
    assert tables.shown_name(name) == "hypercolumn-ft-3c7395…"
    assert tables.shown_name(f"{name}'s held-out photos") == "hypercolumn-ft-3c7395…'s held-out photos"
    assert tables.shown_name("vgg16_ae-ft-0123456789abcdef (T=1)") == "vgg16_ae-ft-012345… (T=1)"
    for plain_name in ("hypercolumn", "hc-ft", "unet313 (T=0.7)", "hypercolumn-ft-3c73"):   # not a checkpoint's id
        assert tables.shown_name(plain_name) == plain_name and tables.fine_tune_id(plain_name) == plain_name
    assert tables.fine_tune_id(name) == "ft-3c7395…"
    # The pattern is a second reading of the name a fine-tune is given (publishing.default_name): held to it here.
    from colorizer.finetune.publishing import default_name

    made = default_name("vgg16_ae")
    assert tables.shown_name(made) == made[:len("vgg16_ae-ft-") + 6] + "…"
    assert tables.fine_tune_id(made) == made[len("vgg16_ae-"):len("vgg16_ae-ft-") + 6] + "…"
    # Shipped names keep Streamlit's own width (a phone's numbers); a longer name widens the column to fit it.
    assert tables.metric_columns(["gray (no color)", "hypercolumn_hints"]) is tables.METRIC_COLUMNS
    base_row = "hypercolumn (base of ft-3c7395…)"
    widths = [tables.metric_columns(["vae", shown])["model"]["width"] for shown in (tables.shown_name(name), base_row)]
    assert 22 * 6 < widths[0] < widths[1] <= 240 and widths[1] >= len(base_row) * 6.5
    assert tables.metric_columns([base_row])["model"]["pinned"] is True


def test_a_fine_tunes_held_out_rows_say_they_are_measured_on_its_own_photos(monkeypatch):
    """Finding (session 28's walkthrough): with a fine-tune picked on Compare, the held-out table showed a second
    "gray (no color)" at 14.13 dB and the fine-tune's rows among the shipped models', measured on its one held-out
    photo, under a caption quoting the shipped set's truth alone. Each row now says what it was measured on, and
    the caption says to compare rows of one set only."""
    from ui import cards, loaders

    def card(gray_psnr, n, model, psnr, truth):
        return {"evaluation": {"gray": {"psnr": gray_psnr, "n_images": n}, model: {"psnr": psnr, "n_images": n},
                               "truth": {"colorfulness": truth}}}

    shipped = {"hypercolumn": card(21.65, 60, "hypercolumn", 23.37, 46.2),
               "vae": card(21.65, 60, "vae", 22.35, 46.2),
               "hc-ft": {"evaluation": {**card(14.13, 1, "hypercolumn", 18.15, 76.9)["evaluation"],
                                        "hc-ft": {"psnr": 21.74, "n_images": 1}},
                         "base": {"name": "hypercolumn"}, "finetunable": True}}
    monkeypatch.setattr(loaders, "card_of", lambda name: shipped[name])
    monkeypatch.setattr(cards.widgets, "checkpoint_kind", lambda name: "fine-tuned" if name == "hc-ft" else "shipped")
    rows, truths = cards.evaluation_rows(["hypercolumn", "vae", "hc-ft"])
    assert [(r["model"], r["measured on"], r["psnr"]) for r in rows] == [
        ("gray (no color)", "the shipped models' held-out photos", 21.65),
        ("hypercolumn", "the shipped models' held-out photos", 23.37),
        ("vae", "the shipped models' held-out photos", 22.35), ("gray (no color)", "hc-ft's held-out photos", 14.13),
        # Session 35: the base's row leads with what it is (a table cut "hc-ft: hypercolumn" to the fine-tune's name)
        ("hypercolumn (base of hc-ft)", "hc-ft's held-out photos", 18.15), ("hc-ft", "hc-ft's held-out photos", 21.74)]
    assert truths == {"the shipped models' held-out photos": 46.2, "hc-ft's held-out photos": 76.9}
    from ui.compare_ui import evaluation_caption

    assert evaluation_caption(truths, several=True).startswith(
        "Held-out validation photos (never trained on), each card's own: a row is comparable only with the rows "
        "measured on the same photos (a fine-tune holds out a few of its own). The truth's mean colorfulness: 46.2 on "
        "the shipped models' held-out photos; 76.9 on hc-ft's held-out photos.")
    only = {"the shipped models' held-out photos": 46.2}
    assert evaluation_caption(only, several=False).startswith(
        "Held-out validation photos (never trained on; the flagship's decoding was chosen on them). The truth's mean "
        "colorfulness is 46.2; PSNR, SSIM")


def test_the_error_map_keeps_black_for_right_colors():
    """Finding (session 23's browser audit): Δab ≈ 0 showed light pink, not black. Streamlit's Plotly theme
    swaps its placeholder colours ("#000001"…) for its own, and Inferno starts at one of them."""
    import re

    import numpy as np
    from streamlit.elements.lib import streamlit_plotly_theme

    from ui import charts

    placeholders = set(re.findall(r'"(#0000[0-9a-fA-F]{2})"', Path(streamlit_plotly_theme.__file__).read_text()))
    assert "#000004" in placeholders
    figure = charts.ab_error_map(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 3), np.uint8))
    stops = [color.lower() for _, color in figure.data[0].colorscale]
    assert not placeholders & set(stops), stops
    assert stops[0] == "#010004" and stops[-1] == "#fcffa4"  # still black to pale yellow


def test_the_error_map_leaves_transparent_pixels_blank():
    """Where a picture is fully transparent the error map has no value (drawn blank), and its scale follows the
    visible pixels: the hidden half here is wildly wrong and would set the top of the scale."""
    import numpy as np

    from ui import charts

    truth = np.full((20, 20, 3), [150, 120, 100], np.uint8)
    predicted = truth.copy()
    predicted[:, 10:] = [0, 255, 0]  # wrong where hidden
    predicted[:, :10] = [140, 125, 105]  # a little off where shown
    alpha = np.zeros((20, 20), np.uint8)
    alpha[:, :10] = 255
    error = np.asarray(charts.ab_error_map(truth, predicted, alpha=alpha).data[0].z, float)
    assert np.isnan(error[:, 10:]).all() and np.isfinite(error[:, :10]).all() and (error[:, :10] > 1).all()
    assert np.isfinite(np.asarray(charts.ab_error_map(truth, predicted).data[0].z, float)).all()
    assert charts.visible_at(np.zeros((4, 4), np.uint8)) is None  # nothing shows: every pixel counts


def test_the_channels_page_draws_a_and_b_each_on_its_own_axis():
    """The L/a/b page's renderings and charts of one known color (a = +35, b = -25): the a image holds its a
    (b at 0), the b image its b (a at 0), the ab distribution's dark cell sits at x = a, y = b, the histograms
    put it at a on the a plot and b on the b plot, and the error map is that color's distance from gray (in a, b
    only: the same color lighter is no error)."""
    import numpy as np

    from colorizer.color import rgb_to_lab
    from conftest import flat_gray, lab_patch
    from ui import charts

    chroma, hue = np.hypot(35, 25), np.degrees(np.arctan2(-25, 35))
    rgb = lab_patch(8, 8, 60, chroma, hue)
    lab = charts.lab_of(rgb)
    a, b = np.median(lab[..., 1]), np.median(lab[..., 2])
    assert abs(a - 35) < 1.5 and abs(b + 25) < 1.5
    images = {name: np.median(rgb_to_lab(image)[..., 1:].reshape(-1, 2), axis=0) for name, image in charts.channel_images(lab).items()}
    np.testing.assert_allclose(images["a"], [a, 0], atol=1.5)
    np.testing.assert_allclose(images["b"], [0, b], atol=1.5)
    heatmap = charts.ab_distribution(lab).data[1]
    row, column = np.argwhere(np.isfinite(np.asarray(heatmap.z, float)))[0]  # z is transposed: rows are b, columns a
    assert abs(heatmap.x[column] - a) <= 5 and abs(heatmap.y[row] - b) <= 5
    bars = {bar.name: bar.x[np.argmax(bar.y)] for bar in charts.channel_histograms(lab).data}
    assert abs(bars["a"] - a) <= 2 and abs(bars["b"] - b) <= 2 and abs(bars["L"] - 60) <= 1
    # Two pictures' a and b histograms on one scale (session 34's audit: side by side, each picked its own, 0.001-10 %
    # beside 1-10 %), from one pixel of the largest picture counted to all of them.
    flat = charts.lab_of(flat_gray(rgb))
    big = charts.lab_of(np.random.default_rng(0).integers(0, 256, (600, 600, 3), dtype=np.uint8))
    for figure in (charts.channel_histograms(lab), charts.channel_histograms(flat), charts.channel_histograms(big)):
        assert [tuple(figure.layout[axis].range) for axis in ("yaxis2", "yaxis3")] == [(-3.5, 2.0)] * 2
    # Which panels are on a log scale (session 38's audit: nothing said so).
    assert [note.text for note in figure.layout.annotations] == ["L", "a (log scale)", "b (log scale)"]
    one_pixel = 100 / (big.shape[0] * big.shape[1])
    assert big.shape[:2] == (512, 512) and np.log10(one_pixel) > -3.5
    error = np.asarray(charts.ab_error_map(rgb, flat_gray(rgb)).data[0].z)
    np.testing.assert_allclose(error, np.hypot(a, b), atol=1.5)
    lighter = np.asarray(charts.ab_error_map(rgb, lab_patch(8, 8, 70, chroma, hue)).data[0].z)
    assert np.abs(lighter).max() < 1.5  # the same a, b ten units lighter: no ab error


def test_near_the_upload_ceiling_the_sidebar_says_why_a_file_was_refused(tiny_app_env, monkeypatch):
    """Finding (session 23's browser audit): past the per-visitor ceiling the refused file showed only a red
    mark and "status code 413"; the page never said why. Near the ceiling a line now does."""
    from ui import server_tuning

    at = upload(app(), [("gray.png", gray_png(), "image/png")])
    assert not [w for w in at.sidebar.warning if "per visitor" in w.value]
    monkeypatch.setattr(server_tuning, "UPLOADS_PER_SESSION_MB", server_tuning.largest_upload_mb())  # a tiny file fills it
    at.run()
    [warning] = [w.value for w in at.sidebar.warning if "per visitor" in w.value]
    assert f"of the {server_tuning.largest_upload_mb()} MB this server keeps per visitor" in warning
    assert "Remove some files" in warning


def test_when_the_server_is_full_of_uploads_the_sidebar_says_so(tiny_app_env, monkeypatch):
    """Finding (session 25's abuse audit): five connections filled the server's upload ceiling, shared by every
    visitor, and a classmate's next file showed only a red mark and "status code 413"; the page said nothing,
    since it looked at the visitor's own files only. Near the server's ceiling a line now says why."""
    from ui import server_tuning

    at = upload(app(), [("gray.png", gray_png(), "image/png")])
    assert not [w for w in at.sidebar.warning if "holds nearly all" in w.value]
    monkeypatch.setattr(server_tuning, "UPLOADS_MB", server_tuning.largest_upload_mb())  # the photo leaves less room
    at.run()
    [warning] = [w.value for w in at.sidebar.warning if "holds nearly all" in w.value]
    held = server_tuning.largest_upload_mb() - len(gray_png()) / 2**20
    assert f"({server_tuning.UPLOADS_MB} MB, other visitors' files included): a file over {held:.1f} MB is refused" in warning


def test_a_picture_over_the_budget_tells_the_visitor_what_they_can_do(tiny_app_env):
    """Finding (session 25's abuse audit): a refused picture told the visitor to "set the environment variable
    COLORIZER_MAX_PIXELS", advice for whoever runs the server. The page now says what a visitor can do; the
    good photo beside it still goes through."""
    from helpers_robustness import bomb_png
    from ui.loaders import VISITOR_ADVICE

    at = upload(app(), [("huge.png", bomb_png(20_000, 20_000), "image/png"), ("gray.png", gray_png(), "image/png")])
    shown = " ".join(e.value for e in at.error) + " ".join(w.value for w in at.warning)
    assert "huge.png" in shown and VISITOR_ADVICE in shown, shown
    assert "environment variable" not in shown
    assert any("Colorized by" in caption for image in at.image for caption in image.captions)
    # The Fine-tune page reads its photos its own way (the review found it still gave the operator's advice).
    from ui.finetune_ui import _uploaded_photos

    huge, color = bomb_png(20_000, 20_000), color_png(64)
    photos, errors = _uploaded_photos([("huge.png", lambda: huge), ("color.png", lambda: color)], most=20)
    assert len(photos) == 1 and len(errors) == 1 and errors[0].startswith("huge.png")
    assert VISITOR_ADVICE in errors[0] and "environment variable" not in errors[0], errors


def test_every_chart_draws_its_text_at_a_readable_contrast():
    """Session 34's audit: Streamlit's theme drew ticks, axis and subplot titles and the curves' subtitle (the only key
    to their line styles) rgb(128, 132, 149), 3.72:1 on white; ``charts.readable`` sets them all (measured in
    Chromium after: 5.55:1)."""
    import numpy as np

    from ui import charts

    def contrast_on_white(hex_color: str) -> float:
        linear = [(c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4)
                  for c in (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))]
        return 1.05 / (0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2] + 0.05)

    assert contrast_on_white(charts.CHART_TEXT) >= 4.5
    rgb = np.random.default_rng(0).integers(0, 256, (24, 24, 3), dtype=np.uint8)
    rows = [{"epoch": 0.0, "loss": 1.0, "val_loss": 1.2}]
    for fig in (charts.channel_histograms(charts.lab_of(rgb)), charts.ab_distribution(charts.lab_of(rgb)),
                charts.ab_error_map(rgb, rgb[::-1]), charts.history_figure({"m": rows}, "loss")):
        axes = [fig.layout[name] for name in fig.layout if name.startswith(("xaxis", "yaxis"))]
        assert axes and all(a.tickfont.color == a.title.font.color == charts.CHART_TEXT for a in axes)
        assert all(note.font.color == charts.CHART_TEXT for note in fig.layout.annotations)
        assert fig.layout.font.color == charts.CHART_TEXT
    # The dark theme (a phone set to dark, session 38's audit): that gray was 3.3:1 on its background (#171614).
    def contrast(one: str, other: str) -> float:
        def luminance(hex_color: str) -> float:
            linear = [(c / 255 / 12.92 if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4)
                      for c in (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))]
            return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
        high, low = sorted((luminance(one), luminance(other)), reverse=True)
        return (high + 0.05) / (low + 0.05)

    assert contrast(charts.CHART_TEXT, "#171614") < 4.5 <= min(contrast(charts.CHART_TEXT_DARK, background)
                                                              for background in ("#0e1117", "#171614", "#262730"))
    dark = charts.readable(charts.channel_histograms(charts.lab_of(rgb)), dark=True)
    axes = [dark.layout[name] for name in dark.layout if name.startswith(("xaxis", "yaxis"))]
    assert all(a.tickfont.color == a.title.font.color == charts.CHART_TEXT_DARK for a in axes)
    assert all(note.font.color == charts.CHART_TEXT_DARK for note in dark.layout.annotations)


def test_the_pages_draw_their_charts_in_the_visitors_theme(tiny_app_env, monkeypatch):
    """Every page's chart goes through ``widgets.chart_ui``, which reads the visitor's theme (session 38's audit)."""
    import json

    from ui import charts, widgets

    monkeypatch.setattr(widgets, "dark_theme", lambda: True)
    at = app()
    at.switch_page("pages/channels.py").run()
    assert_no_page_error(at)
    figures = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    assert figures and all(f["layout"]["font"]["color"] == charts.CHART_TEXT_DARK for f in figures)
    drawn_elsewhere = [path.name for folder in ("ui", "pages") for path in (ROOT / folder).glob("*.py")
                       if "plotly_chart(" in path.read_text() and path.name != "widgets.py"]
    assert drawn_elsewhere == []


def test_training_curves_keep_their_legend_below_and_whole():
    """Finding (session 23's browser audit): twelve legend entries at the side squeezed the curves to a third of
    the width; below them, two a row, a long name was cut at the edge. Session 24's phone audit: "name ·
    val_loss" entries were cut even so. One entry per checkpoint, its two curves in its group, the title saying
    which line is which (not an axis title the wrapped legend rose into); on a log scale over decades, a label at each power of ten only."""
    from ui import charts

    rows = [{"epoch": 0.0, "loss": 1.0, "val_loss": 1.2, "learning_rate": 1e-3},
            {"epoch": 1.0, "loss": 0.05, "val_loss": 0.09, "learning_rate": 5e-4}]
    histories = {name: rows for name in ("hypercolumn", "hypercolumn_hints", "cifar_ae")}
    loss = charts.history_figure(histories, "loss", log_y=True)
    assert loss.layout.legend.orientation == "h" and loss.layout.legend.y < 0 and loss.layout.legend.traceorder == "normal"
    assert [t.name for t in loss.data if t.showlegend] == list(histories)
    assert [(t.legendgroup, t.line.dash) for t in loss.data][:2] == [("hypercolumn", "solid"), ("hypercolumn", "dash")]
    assert (loss.layout.title.text, loss.layout.title.subtitle.text) == ("loss by epoch",
                                                                         "solid, filled: training · dashed, open: validation")
    # A one-epoch run is a point each, no line: its validation point is open, not a second like dot (session 34).
    one = charts.history_figure({"ft": rows[:1]}, "loss")
    assert [(t.line.dash, t.marker.symbol, t.x) for t in one.data] == [("solid", "circle", (1,)), ("dash", "circle-open", (1,))]
    # hypercolumn_hints does not fit half a 360-px row (it read "hypercolumn_hir": session 37): one entry a row.
    assert loss.layout.legend.entrywidth == 1 and loss.layout.height == 330 + 24 * 3
    short = charts.history_figure({name: rows for name in ("hypercolumn", "cifar_ae", "unet313")}, "loss")
    assert short.layout.legend.entrywidth == 0.5 and short.layout.height == 330 + 24 * 2   # 3 entries, 2 a row
    assert loss.layout.yaxis.type == "log" and loss.layout.yaxis.dtick == 1            # 0.05 to 1.2: over a decade
    assert tuple(loss.layout.yaxis.range) == (-2, 1)   # a label below and above every curve (1.2 had none above it)
    rate = charts.history_figure(histories, "learning_rate", log_y=True)                # 5e-4 to 1e-3: within one
    assert rate.layout.title.subtitle.text == "" and rate.layout.yaxis.dtick is None  # no validation curve
    # A shape per checkpoint besides its color, and the chart in words for a screen reader (session 24's audit).
    assert [t.marker.symbol for t in loss.data if t.showlegend] == ["circle", "square", "diamond"]
    assert charts.history_alt({"hypercolumn": rows}, "loss") == "loss by epoch: hypercolumn from 1 to 0.05 over 2 epochs"
    long = charts.history_figure({"a_checkpoint_named_at_length": rows}, "loss")
    assert long.layout.legend.entrywidth == 1 and long.layout.yaxis.type == "linear"


def test_a_short_runs_curves_tick_whole_epochs_only():
    """Finding (session 28's walkthrough): a 2-epoch fine-tune's loss curve had ticks at epochs 1, 1.2, 1.4, 1.6 and
    1.8. A run of up to EVERY_EPOCH_TICKED epochs gets a tick at each epoch; a long one keeps Plotly's own."""
    from ui import charts

    two = [{"epoch": float(e), "loss": 3.0 - e} for e in range(2)]
    figure = charts.history_figure({"fine-tune": two}, "loss")
    assert list(figure.data[0].x) == [1, 2] and figure.layout.xaxis.dtick == 1
    thirty = [{"epoch": float(e), "loss": 1.0 / (e + 1)} for e in range(30)]
    assert charts.history_figure({"cifar_ae": thirty, "fine-tune": two}, "loss").layout.xaxis.dtick is None


def test_every_uploader_counts_toward_the_upload_ceiling(tiny_app_env, monkeypatch):
    """The ceiling counts all a session holds (``cap_uploads``), so the warning does too: a reference photo's
    bytes, not only the sidebar's files (session 23's final review)."""
    import io

    import numpy as np
    from PIL import Image

    from ui import reference_ui, server_tuning

    noise = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (700, 700, 3), dtype=np.uint8)).save(noise, "PNG")
    assert noise.tell() > 1.2 * 2**20  # noise does not compress: over a megabyte
    monkeypatch.setattr(server_tuning, "UPLOADS_PER_SESSION_MB", server_tuning.largest_upload_mb() + 1)
    at = upload(app(), [("gray.png", gray_png(), "image/png")])
    assert not [w for w in at.sidebar.warning if "per visitor" in w.value]  # a small file: room for a large one
    at.session_state[reference_ui.SOURCE_KEY] = reference_ui.UPLOAD
    at.run()
    at.file_uploader(key="reference.upload").set_value([("ref.png", noise.getvalue(), "image/png")]).run()
    assert_no_page_error(at)
    assert [w for w in at.sidebar.warning if "per visitor" in w.value], "the reference's bytes were not counted"


def test_colorize_knobs_survive_a_trip_to_another_page(tiny_app_env):
    """A visitor who set the vividness (or the VAE's samples and seed), looked at another page and came
    back found them at their defaults again: Streamlit drops a widget's value on a page where it is not drawn."""
    at = app()
    at.session_state["sidebar.model"] = "unet313"
    at.run()
    at.slider(key="colorize.temperature").set_value(0.2).run()
    at.switch_page("pages/curves.py").run()
    at.switch_page("pages/colorize.py").run()
    assert_no_page_error(at)
    assert at.slider(key="colorize.temperature").value == pytest.approx(0.2)
    at.sidebar.selectbox(key="sidebar.model").set_value("vae").run()
    at.slider(key="colorize.samples").set_value(3).run()
    at.number_input(key="colorize.seed").set_value(7).run()
    at.switch_page("pages/channels.py").run()
    at.switch_page("pages/colorize.py").run()
    assert_no_page_error(at)
    assert (at.slider(key="colorize.samples").value, at.number_input(key="colorize.seed").value) == (3, 7)


def test_curves_choices_survive_a_trip_to_another_page(tiny_app_env):
    """The Training-curves page's checkpoints, metrics and log scale were back at their defaults after a visit to
    another page (Streamlit drops the value of a widget a page does not draw)."""
    at = app().switch_page("pages/curves.py").run()
    names = at.multiselect(key="curves.checkpoints").options
    at.multiselect(key="curves.checkpoints").set_value(names[:1]).run()
    at.multiselect(key="curves.metrics").set_value(["loss"]).run()
    at.toggle(key="curves.log").set_value(False).run()
    at.switch_page("pages/channels.py").run()
    at.switch_page("pages/curves.py").run()
    assert_no_page_error(at)
    assert at.multiselect(key="curves.checkpoints").value == names[:1]
    assert at.multiselect(key="curves.metrics").value == ["loss"]
    assert at.toggle(key="curves.log").value is False


def test_curves_are_built_once_and_again_when_a_history_grows(tiny_app_env, tmp_path, monkeypatch):
    """Session 46's profile: a rerun of the Training-curves page built its charts anew (0.25 s a rerun). They are kept
    by the histories' identity (folder, history.csv's time of change), metric and scale: a rerun builds none, a new
    epoch in a history (a fine-tune writing as it goes) draws its curve again."""
    import csv
    import os
    import shutil

    from colorizer import checkpoints
    from ui import charts

    weights = shutil.copytree(tiny_app_env / "weights", tmp_path / "weights")  # this test writes a history: a copy
    monkeypatch.setattr(checkpoints, "WEIGHTS_DIR", weights)
    built = []
    real = charts.history_figure
    monkeypatch.setattr(charts, "history_figure", lambda *args, **kwargs: built.append(args[1]) or real(*args, **kwargs))
    at = app().switch_page("pages/curves.py").run()
    at.multiselect(key="curves.checkpoints").set_value(["cifar_ae"]).run()
    at.multiselect(key="curves.metrics").set_value(["loss"]).run()
    assert_no_page_error(at)
    drawn = [chart.proto.spec for chart in at.get("plotly_chart")]
    built.clear()
    at.run()
    assert built == [] and [chart.proto.spec for chart in at.get("plotly_chart")] == drawn
    history = weights / "cifar_ae" / "history.csv"
    with history.open() as file:
        rows = list(csv.DictReader(file))
    rows.append({**rows[-1], "epoch": str(len(rows)), "loss": "0.001"})
    with history.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    os.utime(history, ns=(history.stat().st_atime_ns, history.stat().st_mtime_ns + 10**9))  # a clock's later tick
    at.run()
    assert_no_page_error(at)
    assert built == ["loss"] and [chart.proto.spec for chart in at.get("plotly_chart")] != drawn


def test_curves_say_when_their_losses_differ_in_kind_and_what_to_do_with_none_picked(tiny_app_env):
    """Session 34's audit: cross-entropy over 313 bins (about 3.5) and squared errors (about 0.02) shared the loss
    chart with the warning only in a toggle's tooltip, so cifar_ae read 100× better; and with every checkpoint
    unpicked the chart column was blank."""
    at = app().switch_page("pages/curves.py").run()
    at.multiselect(key="curves.checkpoints").set_value(["cifar_ae", "vae", "unet313"]).run()
    at.multiselect(key="curves.metrics").set_value(["loss"]).run()
    assert_no_page_error(at)
    # Session 35's review: a 313-bin model's loss is both heads' (3.785 + 10 × 0.0210 ≈ 3.997 in the flagship's
    # history), and the VAE's adds its KL term.
    assert ("Their losses are not one measure: cifar_ae: squared error of the RGB colors; vae: squared error of a and "
            "b + β × the KL divergence of its code; unet313: cross-entropy over the 313 color bins + 10 × the "
            "regression head's squared error of a and b. Compare the curves' shapes, not their heights."
            ) in [as_read(c.value) for c in at.caption]
    at.multiselect(key="curves.checkpoints").set_value(["unet313", "hypercolumn_hints"]).run()
    assert not any("not one measure" in c.value for c in at.caption)  # one kind: nothing to say
    at.multiselect(key="curves.checkpoints").set_value([]).run()
    assert_no_page_error(at)
    assert [i.value for i in at.info] == ["Pick up to 12 checkpoints above to draw their curves."]


@pytest.mark.slow
def test_reference_gallery_choice_survives_a_trip_to_another_page(tiny_app_env):
    """A gallery reference photo the visitor picked became the gallery's first photo after a visit to another page:
    the undrawn select box was dropped, drawn again at its default, and that default recorded as the reference."""
    from colorizer import gallery
    from ui import reference_ui

    at = app().run()
    at.segmented_control(key="reference.source").set_value(reference_ui.GALLERY).run()
    last = gallery.color_keys()[-1]
    at.selectbox(key="reference.gallery").set_value(last).run()
    assert at.session_state["reference.chosen"] == ("gallery", last)
    at.switch_page("pages/curves.py").run()
    at.switch_page("pages/colorize.py").run()
    assert_no_page_error(at)
    assert at.selectbox(key="reference.gallery").value == last
    assert at.session_state["reference.chosen"] == ("gallery", last)


@pytest.mark.slow
def test_the_gallery_reference_offered_first_is_another_photo_than_the_one_colorized(tiny_app_env):
    """Session 31: "A gallery photo" offered the cat as the reference for the cat (the app's first photo), and the
    page showed its own colors copied back (35 dB, every hue right). The first offered is now another photo; the
    photo itself can still be picked."""
    from colorizer import gallery
    from ui import reference_ui, widgets

    at = app().run()
    assert at.session_state[widgets.GALLERY_KEY] == widgets.DEFAULT_GALLERY_PHOTO == gallery.color_keys()[0]
    at.segmented_control(key="reference.source").set_value(reference_ui.GALLERY).run()
    assert_no_page_error(at)
    offered = at.selectbox(key="reference.gallery").value
    assert offered != widgets.DEFAULT_GALLERY_PHOTO and offered in gallery.color_keys()
    assert at.session_state["reference.chosen"] == ("gallery", offered)
    assert any("Colored from the reference" in c for c in captions(at))

    other = app()  # a visitor whose sidebar photo is another one: the cat is offered to them
    other.session_state[widgets.GALLERY_KEY] = offered
    other.run()
    other.segmented_control(key="reference.source").set_value(reference_ui.GALLERY).run()
    assert other.selectbox(key="reference.gallery").value == gallery.color_keys()[0]
    other.selectbox(key="reference.gallery").set_value(offered).run()  # the photo itself, on purpose
    assert other.session_state["reference.chosen"] == ("gallery", offered)


def test_a_time_that_includes_getting_the_network_ready_says_so():
    """The first photo of a shape (the default photo, on a fresh server) took seconds; its result is shared, so
    every later visitor read those seconds as the model's speed. Such a time now says what it includes."""
    from ui import widgets

    assert widgets.time_text(0.0712, False) == "0.07 s"
    assert widgets.time_text(8.41, True).startswith("8.41 s (the model's first photo of this shape")
    assert widgets.time_text(0.0712, False, short=True) == "71 ms"
    assert widgets.time_text(8.41, True, short=True) == "8,410 ms, first run at this shape"
    assert widgets.time_text(0.012, True) == "0.01 s"  # ready at once: nothing worth saying


def test_compare_marks_a_first_runs_time_as_its_tile_does(tiny_app_env, monkeypatch):
    """Compare's table ticked "first run at this shape" (help: its time includes getting the network ready,
    seconds) beside 12 ms, where the tile above it, through ``widgets.time_text``, rightly said nothing: a first
    run that cost nobody a wait is not worth the note in either (``widgets.COLD_NOTE_S``)."""
    import numpy as np

    from colorizer.inference import Timed
    from ui import loaders

    monkeypatch.setattr(loaders, "colorized", lambda model, stamp, image, digest, *a, **k: Timed(
        np.dstack([image] * 3) if image.ndim == 2 else image, 0.012 if model.name == "unet313" else 8.41, True))
    at = app().switch_page("pages/compare.py").run()
    assert_no_page_error(at)
    table = at.dataframe[0].value.set_index("model")
    tiles = [c for c in captions(at) if c.startswith("**unet313**") or c.startswith("**cifar_ae**")]
    assert any("· 12 ms ·" in c for c in tiles) and any("8,410 ms, first run at this shape" in c for c in tiles)
    assert not table.loc["unet313", "getting_ready"] and table.loc["cifar_ae", "getting_ready"]


def test_the_zip_says_which_pictures_it_left_out(tiny_app_env, monkeypatch):
    """Session 36's batch audit: a picture that could not be colorized was left out of the ZIP without a word there."""
    from ui import loaders

    made = loaders.colorized

    def fails_on_the_tall_one(model, stamp, image, *args, **kwargs):
        if image.shape[0] == 48:
            raise ValueError("something went wrong")
        return made(model, stamp, image, *args, **kwargs)

    monkeypatch.setattr(loaders, "colorized", fails_on_the_tall_one)
    at = upload(app(), [("a.png", gray_png(40), "image/png"), ("tall.png", gray_png(48, 40), "image/png"),
                        ("b.png", gray_png(32), "image/png")])
    assert_no_page_error(at)
    assert at.get("download_button")[0].proto.label == "Download all 2 results (ZIP)"
    assert "Not in the ZIP: tall.png (could not be colorized; the reason is below)." in texts(at.caption)


def test_a_models_failure_on_compare_and_channels_names_no_server_path(tiny_app_env, monkeypatch):
    """Finding (session 33's review): Compare's and L/a/b's per-model error lines printed the exception as it was, and
    an OSError names the files it failed on: the server's disk layout, shown to every visitor. One line, no path."""
    from ui import loaders

    def broken(model, *a, **k):
        raise FileNotFoundError(2, "No such file or directory", "/srv/app/checkpoints/secret/model.keras")

    monkeypatch.setattr(loaders, "colorized", broken)
    for page in ("pages/compare.py", "pages/channels.py"):
        at = app().switch_page(page).run()
        assert_no_page_error(at)
        lines = [e.value for e in at.error]
        assert lines and all("could not colorize" in line and "/srv" not in line and "server path" in line
                             for line in lines), lines


def _metrics_script():
    import streamlit as st

    from ui import widgets

    widgets.multiselect_ui("Metrics", st.session_state.get("offered", ["loss", "mae"]), ["loss"], key="metrics",
                           max_selections=st.session_state.get("cap"))


def test_a_choice_not_offered_for_a_moment_comes_back_when_it_is():
    """Finding (session 33's audit): on Training curves, loss and mae picked for cifar_ae, then hypercolumn (which
    logs no mae) picked for a moment, then cifar_ae again: mae was gone for good (the remembered choice was cut to
    the options of the moment). It is kept aside and comes back; only what the visitor unpicks goes."""
    at = AppTest.from_function(_metrics_script, default_timeout=30).run()
    at.multiselect(key="metrics").set_value(["loss", "mae"]).run()
    at.session_state["offered"] = ["loss"]
    at.run()
    assert at.multiselect(key="metrics").value == ["loss"]
    at.session_state["offered"] = []
    at.run()
    at.session_state["offered"] = ["loss", "mae"]
    at.run()
    assert at.multiselect(key="metrics").value == ["loss", "mae"]
    at.session_state["offered"] = ["loss"]
    at.run()
    at.multiselect(key="metrics").set_value([]).run()  # unpicked while mae is not offered
    at.session_state["offered"] = ["loss", "mae"]
    at.run()
    assert at.multiselect(key="metrics").value == ["mae"]
    # A review's finding: with a cap (Compare's 3, Curves' 12), a choice coming back over it failed the page for
    # good (Streamlit refuses more than max_selections). The visible picks come first; what does not fit goes.
    capped = AppTest.from_function(_metrics_script, default_timeout=30)
    capped.session_state["cap"], capped.session_state["offered"] = 2, ["loss", "mae", "psnr"]
    capped.run()
    capped.multiselect(key="metrics").set_value(["loss", "mae"]).run()
    capped.session_state["offered"] = ["mae", "psnr"]
    capped.run()
    capped.multiselect(key="metrics").set_value(["mae", "psnr"]).run()
    capped.session_state["offered"] = ["loss", "mae", "psnr"]
    capped.run()
    capped.run()
    assert not capped.exception and capped.multiselect(key="metrics").value == ["mae", "psnr"]


def test_compare_choices_survive_a_trip_to_another_page(tiny_app_env):
    """The persist change named Compare's picture and fine-tuned models among the settings that survive a trip to
    another page, but no test set them: here the second of two pictures and the fine-tuned model."""
    at = upload(app(), [("first.png", gray_png(40), "image/png"), ("second.png", gray_png(48), "image/png")])
    at.switch_page("pages/compare.py").run()
    # Each tile is the model as shipped, and says so (a hint model's tile had no word of the visitor's hints).
    assert any(c.value.startswith("Each model's automatic colorization at its default settings") for c in at.caption)
    # Labelled as the sidebar labels it (session 35: the bare random name here, the architecture there).
    assert at.multiselect(key="compare.tuned").options == [f"fine-tuned · cifar_ae · {TUNED_NAME}"]
    at.selectbox(key="compare.image").set_value(1)
    at.multiselect(key="compare.tuned").set_value([TUNED_NAME]).run()
    at.switch_page("pages/curves.py").run()
    at.switch_page("pages/compare.py").run()
    assert_no_page_error(at)
    assert at.selectbox(key="compare.image").value == 1
    assert at.multiselect(key="compare.tuned").value == [TUNED_NAME]


def test_curves_page_draws_each_history_warns_of_a_damaged_one_and_names_a_soup(tmp_path, monkeypatch):
    """The Training curves page over checkpoints made on the spot (no model needed: only the folders' files are read):
    a damaged history.csv is one warning naming it while the others are drawn, and so is a damaged card.json; a checkpoint without a history is not
    offered; the default metrics are loss and the learning rate, the learning rate on a log axis even with the
    toggle off; a weight soup's curve is said to be its first ingredient's."""
    import json

    from colorizer import checkpoints

    weights = tmp_path / "weights"
    rows = "epoch,learning_rate,loss,val_loss\n0,0.001,1.0,1.2\n1,0.0005,0.5,0.6\n"
    for name, history, card in [
        ("alpha", rows, {"architecture": "cifar_ae"}),
        ("broken", b"epoch,loss\n0,\xff\xfe0.5\n", {"architecture": "cifar_ae"}),
        ("nohistory", None, {"architecture": "cifar_ae"}),
        ("souped", rows, {"architecture": "cifar_ae", "training": {"soup": {"ingredients": [{"folder": "a"}, {"folder": "b"}]}}}),
        ("torn", rows, "{not json"),
    ]:
        (weights / name).mkdir(parents=True)
        (weights / name / "model.keras").write_bytes(b"not loaded by this page")
        (weights / name / "card.json").write_text(card if isinstance(card, str) else json.dumps(card))
        if history is not None:
            (weights / name / "history.csv").write_bytes(history if isinstance(history, bytes) else history.encode())
    monkeypatch.setattr(checkpoints, "WEIGHTS_DIR", weights)
    monkeypatch.setenv("COLORIZER_CHECKPOINT_DIR", str(tmp_path / "user"))

    def page():
        from ui.curves_ui import curves_page_ui

        curves_page_ui()

    at = AppTest.from_function(page, default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert [w.value.replace("\\", "") for w in at.warning] == ["broken/history.csv: unreadable (not UTF-8 text)",
                                                                "torn: card.json unreadable (not valid JSON)"]
    assert at.multiselect(key="curves.checkpoints").options == ["alpha", "souped", "torn"]
    assert at.multiselect(key="curves.metrics").value == ["loss", "learning_rate"]
    assert any(c.value.startswith("souped: a weight soup") for c in at.caption), [c.value for c in at.caption]

    def axis_types(at):
        figures = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
        return {f["layout"]["title"]["text"].split(" by ")[0]: f["layout"]["yaxis"].get("type") for f in figures}

    assert axis_types(at) == {"loss": "log", "learning_rate": "log"}
    at.toggle(key="curves.log").set_value(False).run()
    assert axis_types(at) == {"loss": "linear", "learning_rate": "log"}  # a learning rate spans decades: always log
    at.multiselect(key="curves.checkpoints").set_value(["alpha"]).run()
    assert not any("weight soup" in c.value for c in at.caption)


def test_card_summary_reads_counts_and_durations_as_words():
    """A card's facts as the app words them: one photo is "1 photo", several "N photos"; a duration under two minutes
    in seconds, from two minutes on in minutes; a label that only starts like the checkpoint's name is another's."""
    from ui.cards import card_summary, evaluation_row_name

    card = {"architecture": "cifar_ae", "working_size": 32,
            "training": {"epochs": 3, "wall_time_s": 90, "feature_time_s": 120.0, "learning_rate": 0.001},
            "data": {"train_photos": 1, "sources": [{"package": "scratch", "photos": 1}, {"package": "other", "photos": 2}]}}
    assert card_summary(card).splitlines()[1:] == [
        "- **training**: epochs 3, wall time 90 s, feature time 2 min, learning rate 0.001",
        "- **data**: 1 train photos; scratch (1 photo), other (2 photos)"]
    assert evaluation_row_name("unet313", "unet313_old") == "unet313: unet313_old"
    assert evaluation_row_name("unet313", "unet313 (T=0.7)") == "unet313 (T=0.7)"


def test_a_card_hides_home_folder_and_windows_paths_too():
    from ui.cards import public_card

    card = {"command": "python -m colorizer train --data ~/photos/mine --out C:\\runs\\x", "note": "from /srv/data/a.png"}
    assert public_card(card) == {"command": "python -m colorizer train --data <server path> --out <server path>",
                                 "note": "from <server path>"}


def test_a_fine_tunes_curve_is_said_to_start_from_its_base_and_rates_read_as_powers_of_ten():
    """Session 35's audit: a fine-tune's curve began at "epoch 1" with a low loss beside its base's from scratch
    (read as "fine-tuning learns faster"), and the learning-rate axis read "100μ"."""
    import plotly.graph_objects as go

    from ui import charts
    from ui.curves_ui import fine_tuned_from

    assert fine_tuned_from({"finetunable": True, "base": {"name": "hypercolumn"}}) == "hypercolumn"
    assert fine_tuned_from({"base": "cifar_ae"}) is None and fine_tuned_from({}) is None  # trained from scratch
    assert fine_tuned_from({"training": {"initialized_from": "weights/hypercolumn (run R2, …)"}}) == "hypercolumn"
    # The shipped flagship's card: "run's trained weights" was all a teacher read (session 37's walkthrough).
    assert fine_tuned_from({"training": {"initialized_from": "run R2 (weights/hypercolumn at commit c575700; …)"}}) \
        == "run R2"
    # The two shipped models that started from run R2, then a fine-tune: one line a class can read (session 39).
    from ui.curves_ui import started_caption

    assert started_caption({"hypercolumn": ("run R2", False), "hypercolumn_hints": ("run R2", False)}) == (
        "hypercolumn started from an earlier trained model (run R2); hypercolumn_hints started from an earlier trained "
        "model (run R2): epoch 1 went on with training done before, so their curves start low.")
    assert started_caption({"mine": ("hypercolumn", True)}) == (
        "mine is hypercolumn fine-tuned on other photos (its dashed curve: measured on other photos too): epoch 1 "
        "went on with training done before, so its curve starts low.")
    figure = go.Figure(go.Scatter(x=[1, 2], y=[1e-4, 1e-3]))
    assert charts._metric_axis(figure, "learning_rate", log_y=True)["exponentformat"] == "power"


def test_the_first_metric_columns_fit_a_phone_beside_the_model():
    """Session 39's walk-through at 360 px: Streamlit's own widths showed the model and one and a half numbers,
    "colorfulness vs truth" cut to "colorfulness vs tr" and 46.6 % to "46.". The three numbers read first are given
    widths that show two whole beside the pinned model column (checked in Chromium at 360 px), and labels that fit
    them; the "first run" checkboxes, which looked clickable, are left to the tiles' captions."""
    from ui.tables import METRIC_COLUMNS, RESULT_COLUMNS

    assert RESULT_COLUMNS[:4] == ("model", "psnr", "colorfulness_ratio", "right_hue")
    first = [METRIC_COLUMNS[key] for key in RESULT_COLUMNS[1:4]]
    assert all(isinstance(c.get("width"), int) and c["width"] <= 100 for c in first), first
    assert sum(c["width"] for c in first[:2]) <= 180 and all(len(c["label"]) <= 14 for c in first), first
    assert "getting_ready" not in RESULT_COLUMNS


@pytest.mark.slow
def test_scores_of_a_photo_a_model_was_fine_tuned_on_say_so(tiny_app_env, tmp_path, monkeypatch):
    """Session 42's audit: a decoder fine-tuned on the gallery led Compare on the gallery's cat (99 % right hue) and
    nothing said it had learned that cat. A fine-tune's card lists its photos' prints (``colorizer.photo_prints``):
    under that photo's scores, Colorize and Compare say the model learned it (Compare on its tile too), and under
    another photo's they do not."""
    import shutil

    from app_fixtures import TUNED_NAME
    from colorizer import checkpoints
    from colorizer.finetune.photos import shrink_photo
    from colorizer.gallery import load_photo
    from colorizer.photo_prints import photo_print
    from ui.cards import learned_photo_text
    from ui.widgets import DEFAULT_GALLERY_PHOTO

    user = tmp_path / "user"
    shutil.copytree(tiny_app_env / "user", user)
    card = checkpoints.read_card(user / TUNED_NAME)
    # As a fine-tune reads its photos: at most 1,024 px (the page shows the photo at its own size).
    learned = [photo_print(shrink_photo(load_photo(name))) for name in ("coffee", DEFAULT_GALLERY_PHOTO)]
    checkpoints.write_card(user / TUNED_NAME, {**card, "data": {"trained_photo_prints": learned}})
    monkeypatch.setenv("COLORIZER_CHECKPOINT_DIR", str(user))

    def said(at) -> list[str]:
        return [w.value for w in at.warning if "learned this photo" in w.value]

    at = app().run()
    at.sidebar.selectbox(key="sidebar.model").set_value(TUNED_NAME).run()
    assert_no_page_error(at)
    assert said(at) == [learned_photo_text([TUNED_NAME])]
    at.sidebar.selectbox(key="sidebar.model").set_value("cifar_ae").run()   # a shipped model learned no visitor's photo
    assert said(at) == []

    at.switch_page("pages/compare.py").run()
    at.multiselect(key="compare.tuned").set_value([TUNED_NAME]).run()
    assert_no_page_error(at)
    assert said(at) == [learned_photo_text([TUNED_NAME])]
    marked = [c for image in at.image for c in image.captions if "fine-tuned on this photo" in c]
    assert len(marked) == 1 and marked[0].startswith(f"**{TUNED_NAME}**"), marked

    at.session_state["sidebar.gallery"] = "astronaut"  # a photo it did not learn
    at.run()
    assert said(at) == [] and not [c for image in at.image for c in image.captions if "fine-tuned on this photo" in c]


def test_a_transparent_photo_is_known_as_a_fine_tune_learned_it_on_white(tmp_path):
    """Session 42's review: a fine-tune learns (and prints) a transparent photo as it looks on white, and the pages
    printed the pixels under its transparent part (black here), 16 bits apart: never said. Both print it on white."""
    import io

    import numpy as np
    from PIL import Image

    from colorizer import checkpoints
    from colorizer.finetune.photos import decode_photo
    from colorizer.imageio import decode_image
    from colorizer.photo_prints import photo_print
    from skimage.data import chelsea
    from ui import loaders

    rgba = np.dstack([chelsea(), np.full(chelsea().shape[:2], 255, np.uint8)])
    rgba[:, : rgba.shape[1] // 3] = 0   # the left third transparent, black under it
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG")
    _, learned = decode_photo(buffer.getvalue(), "cat.png")      # as the Fine-tune page reads an upload
    folder = tmp_path / "cat-ft"
    folder.mkdir()
    checkpoints.write_card(folder, {"data": {"trained_photo_prints": [photo_print(learned)]}})
    picture = decode_image(buffer.getvalue(), "cat.png")           # as the Colorize and Compare pages read it
    assert picture.alpha is not None and photo_print(picture.rgb) != photo_print(learned)
    digest = loaders.image_digest(picture.rgb)
    assert loaders.learned_photo("cat-ft", picture, digest, available={"cat-ft": folder})


def test_the_rerun_benchmark_times_each_rerun_of_a_page(tiny_app_env):
    """``python -m benchmarks.reruns`` (docs/deploy.md, "What a rerun costs"): the seconds of each timed rerun."""
    from benchmarks import reruns

    times = reruns.rerun_seconds("pages/curves.py", 2)
    assert len(times) == 2 and all(0 < seconds < 60 for seconds in times)
    assert set(reruns.PAGES) == {f"pages/{page.name}" for page in (ROOT / "pages").glob("*.py")}  # every page
