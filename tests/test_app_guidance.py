"""AppTest of the Colorize page's two ways to guide the colors: click-to-color hints (a hint-taking
model) and colors from a reference photo (any model), with the tiny checkpoints of ``app_fixtures``."""
from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from app_fixtures import (  # noqa: F401  (pytest fixtures, registered by import)
    app_checkpoints, as_read, assert_no_page_error, color_png, gray_png, tiny_app_env,
)
from colorizer.imageio import decode_image
from ui.loaders import image_digest
from ui.widgets import MIN_DISPLAY_SIDE

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 90


def app_with_upload(model: str, data: bytes) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.session_state["sidebar.model"] = model
    at.session_state["sidebar.source"] = "Upload"
    at.run()
    at.file_uploader(key="sidebar.upload").set_value([("photo.png", data, "image/png")])
    return at.run()


def image_urls(at: AppTest) -> list[str]:
    """The media URL of every image shown (a content hash: a changed image gets a new URL)."""
    return [img.url for element in at.image for img in element.proto.imgs]


def result_url(at: AppTest) -> str:
    return next(img.url for element in at.image for img, caption in zip(element.proto.imgs, element.captions)
                if caption.startswith("Colorized by"))


def test_a_click_then_add_places_a_hint_and_changes_the_result(tiny_app_env):
    data = gray_png(48)
    at = app_with_upload("hypercolumn_hints", data)
    assert_no_page_error(at)
    assert not at.error, [e.value for e in at.error]
    before = result_url(at)
    digest = image_digest(decode_image(data, "photo.png").rgb)[:16]
    # What the click component sends back from the browser: a point in the shown image's pixels, reported on the
    # next run only. A 48 px photo is shown enlarged, each pixel a block (``widgets.MIN_DISPLAY_SIDE``): the click
    # lands inside the block of pixel (10, 30).
    block = MIN_DISPLAY_SIDE // 48
    at.session_state[f"colorize.hint_click.{digest}"] = {"click": {"x": 10 * block + 1, "y": 30 * block + block - 1}}
    at.run()
    at.session_state[f"colorize.hint_click.{digest}"] = {"click": None}
    assert_no_page_error(at)
    assert any(m.value.startswith("**Point** x = 10, y = 30") for m in at.markdown)
    # The click fills in the typed point's numbers (the keyboard's way to the same point).
    assert (at.number_input(key=f"colorize.hint_x.{digest}").value, at.number_input(key=f"colorize.hint_y.{digest}").value) == (10, 30)
    picker = at.color_picker(key=f"colorize.hint_color.{digest}.10.30")
    # The picker starts at the model's own color: added as it is, nothing changes to see; said (session 39).
    same = "This is the color the model already gives this point: pick another one"
    assert sum(c.value.startswith(same) for c in at.caption) == 1
    picker.set_value("#1e90ff").run()
    assert not [c for c in at.caption if c.value.startswith(same)]
    # Session 35: the color it paints at this point's lightness, beside the picker, when it differs from the picked.
    from colorizer.color import luminance
    from colorizer.hints import painted_color

    L = float(luminance(decode_image(data, "photo.png").rgb[30:31, 10:11])[0, 0])
    from colorizer.color_names import with_code

    painted_rgb = painted_color([0x1e, 0x90, 0xff], L)
    painted = "#{:02x}{:02x}{:02x}".format(*painted_rgb)
    assert [c.value for c in at.caption if c.value.startswith("Painted here as")] == [
        f"Painted here as {with_code(painted_rgb)}: the photo keeps its lightness at this point (L {L:.0f}), so the color takes "
        "that lightness, less vivid where a screen shows no more."]
    picker.set_value(painted).run()  # a color the point can show: nothing to say
    assert not [c for c in at.caption if c.value.startswith("Painted here as")]
    picker.set_value("#1e90ff").run()
    at.button(key=f"colorize.hint_color.{digest}.10.30.add").click().run()
    assert_no_page_error(at)
    assert any(m.value == "**1 hint**" for m in at.markdown)
    assert [t.value for t in at.toast] == [   # said where a screen reader reads it (session 38)
        "Hint 1 added at x = 10, y = 30: the picture is colored again with it."]
    assert result_url(at) != before  # the model took the hint
    # Remove all: back to the automatic result.
    at.button(key=f"colorize.hint_clear.{digest}").click().run()
    assert result_url(at) == before


def test_many_hints_list_the_latest_as_rows_and_the_rest_as_one_table(tiny_app_env):
    """Session 37's audit: every hint was a row of widgets, redrawn at each click: at 300 hints a click took 5.9 s
    and the page was 23,000 px tall. The last ``LISTED_HINTS`` are rows; the earlier ones one table, and one of them
    is removed by its number."""
    from ui.hints_ui import LISTED_HINTS

    data = gray_png(48)
    digest = image_digest(decode_image(data, "photo.png").rgb)
    hints = [{"x": k, "y": 2 * k, "rgb": [10 * k, 0, 0]} for k in range(LISTED_HINTS + 2)]
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.session_state["colorize.hints"] = {digest: [dict(h) for h in hints]}
    at.session_state["sidebar.model"] = "hypercolumn_hints"
    at.session_state["sidebar.source"] = "Upload"
    at.run()
    at.file_uploader(key="sidebar.upload").set_value([("photo.png", data, "image/png")]).run()
    assert_no_page_error(at)
    rows = [b.label for b in at.button if b.key.startswith(f"colorize.hint_remove.{digest[:16]}.")]
    assert rows == [f"Remove {k}" for k in range(3, LISTED_HINTS + 3)]
    def tables():
        return [d.value for d in at.dataframe if "hint" in d.value.columns]

    (table,) = tables()
    assert list(table["hint"]) == [1, 2] and list(table["x"]) == [0, 1] and list(table["color"]) == ["black (#000000)", "black (#0a0000)"]
    at.number_input(key=f"colorize.hint_number.{digest[:16]}").set_value(2).run()
    at.button(key=f"colorize.hint_remove_number.{digest[:16]}").click().run()
    assert_no_page_error(at)
    assert at.session_state["colorize.hints"][digest] == hints[:1] + hints[2:]   # hint 2 gone, the others kept
    assert [list(t["hint"]) for t in tables()] == [[1]]


def test_the_suggested_colors_say_their_probabilities_apart(tiny_app_env):
    """Finding (session 28's walkthrough): the top bins hold 1 to 3 % each, and the six swatches' buttons all read
    "2%". Under 10 % a decimal tells them apart (here the tiny model's top bin holds 69 %, the others 1 to 2 %)."""
    from colorizer.inference import load
    from ui.hints_ui import share_text

    data = gray_png(48)
    at = app_with_upload("hypercolumn_hints", data)
    digest = image_digest(decode_image(data, "photo.png").rgb)[:16]
    at.number_input(key=f"colorize.hint_x.{digest}").set_value(10)
    at.number_input(key=f"colorize.hint_y.{digest}").set_value(30)
    at.button(key=f"colorize.hint_pick.{digest}").click().run()
    assert_no_page_error(at)
    from colorizer.color_names import color_name, with_code

    suggested = load("hypercolumn_hints").suggested_colors(decode_image(data, "photo.png").rgb, 10, 30)[:6]
    # Named as a class says a color, the hex code in the help, and beside a name two of them share (session 40).
    names = [color_name(s["rgb"]) for s in suggested]
    expected = [f"{name if names.count(name) == 1 else with_code(s['rgb'])} · {share_text(s['probability'])}"
                for name, s in zip(names, suggested)]
    buttons = [b for b in at.button if ".suggest." in str(b.key)]
    labels = [b.label for b in buttons]
    assert labels == expected and len(labels) == 6
    assert [b.help.split(":")[0] for b in buttons] == [with_code(s["rgb"]) for s in suggested]
    assert any(re.search(r" · \d\.\d%$", label) for label in labels), labels  # the thin ones, with their decimal
    assert [share_text(p) for p in (0.0177, 0.004, 0.094, 0.096, 0.234)] == ["1.8%", "0.4%", "9.4%", "10%", "23%"]
    # Each swatch is a square of its color named for a screen reader, not an image (whose Fullscreen button was
    # a tab stop read out beside each of them: session 34's accessibility walkthrough).
    swatches = [h.proto.body for h in at.get("html")]
    for s in suggested:
        code = "#{:02x}{:02x}{:02x}".format(*s["rgb"])
        assert any(f'aria-label="{color_name(s["rgb"])}"' in body and f'title="{with_code(s["rgb"])}"' in body
                   and f"background:{code}" in body for body in swatches), swatches
    assert not [img for element in at.image for img in element.proto.imgs if img.alt.startswith("#")]


@pytest.mark.parametrize("height,width,click,point", [
    (960, 960, (320, 639), (480, 959)),
    (480, 960, (638, 300), (957, 450)),
], ids=["square", "wide"])
def test_a_click_on_the_photo_shown_smaller_lands_on_the_photo_pixel_under_it(tiny_app_env, height, width, click, point):
    """The picture that takes clicks is at most ``CLICK_SIDE`` px (640) on a side; a click, in its pixels, is
    scaled to the photo's, to the photo pixel under the shown pixel's centre: the middle of a 960-px photo is its
    middle, the last row its last row. On a 960×480 photo (shown 640×320) x is scaled by the widths and y by the
    heights; a mix-up of the two, unseen on a square, would put the point at x 959, y 225 or x 478, y 479."""
    data = gray_png(height, width=width)
    at = app_with_upload("hypercolumn_hints", data)
    digest = image_digest(decode_image(data, "photo.png").rgb)[:16]
    at.session_state[f"colorize.hint_click.{digest}"] = {"click": {"x": click[0], "y": click[1]}}
    at.run()
    assert_no_page_error(at)
    expected = f"**Point** x = {point[0]}, y = {point[1]}"
    assert any(m.value.startswith(expected) for m in at.markdown), [m.value for m in at.markdown]


def test_a_typed_point_places_a_hint_without_a_click(tiny_app_env):
    """Session 24's accessibility audit: the photo takes mouse and touch only, so a keyboard could add no hint.
    Two numbers and "Pick this point" do what a click does; a number out of the photo is refused by its input."""
    data = gray_png(48)
    at = app_with_upload("hypercolumn_hints", data)
    digest = image_digest(decode_image(data, "photo.png").rgb)[:16]
    x_input, y_input = at.number_input(key=f"colorize.hint_x.{digest}"), at.number_input(key=f"colorize.hint_y.{digest}")
    assert (x_input.value, y_input.value, x_input.max, y_input.max) == (24, 24, 47, 47)  # the middle, within the photo
    x_input.set_value(5)
    y_input.set_value(41)
    at.button(key=f"colorize.hint_pick.{digest}").click().run()
    assert_no_page_error(at)
    assert any(m.value.startswith("**Point** x = 5, y = 41") for m in at.markdown)
    at.color_picker(key=f"colorize.hint_color.{digest}.5.41").set_value("#e03c28").run()
    at.button(key=f"colorize.hint_color.{digest}.5.41.add").click().run()
    assert any(m.value == "**1 hint**" for m in at.markdown)
    assert any("x 5, y 41 · red (#e03c28)" in m.value for m in at.markdown), [m.value for m in at.markdown]
    # Where they live, and for how long (session 36's state audit: a reload lost them unsaid).
    assert any(c.value.startswith("Hints are kept on this server for this browser for 6 hours: a reload") for c in at.caption)
    hinted = result_url(at)
    # Session 38: a reload (a new session of the same browser: its visitor key) finds them for the same picture, and
    # colors with them from its first run; another visitor does not.
    from ui import visitor

    again = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    again.session_state[visitor._STATE_KEY] = at.session_state[visitor._STATE_KEY]
    again.session_state["sidebar.model"] = "hypercolumn_hints"
    again.session_state["sidebar.source"] = "Upload"
    again.run()
    again.file_uploader(key="sidebar.upload").set_value([("photo.png", data, "image/png")]).run()
    assert any(m.value == "**1 hint**" for m in again.markdown) and result_url(again) == hinted
    stranger = app_with_upload("hypercolumn_hints", data)
    assert not any(m.value == "**1 hint**" for m in stranger.markdown) and result_url(stranger) != hinted


def test_every_picture_on_the_page_says_what_it_shows(tiny_app_env):
    """Session 24's accessibility audit: no image had a text alternative, so a screen reader said "image"."""
    at = app_with_upload("hypercolumn_hints", color_png(48))
    assert_no_page_error(at)
    alts = [img.alt for element in at.image for img in element.proto.imgs]
    assert alts and all(alts), alts
    assert {"photo.png in gray, as the model sees it", "photo.png colorized by hypercolumn_hints",
            "photo.png in its original colors"} <= set(alts), alts


def test_hint_file_upload_replaces_the_hints_and_a_bad_one_is_one_error(tiny_app_env):
    data = gray_png(48)
    at = app_with_upload("hypercolumn_hints", data)
    digest = image_digest(decode_image(data, "photo.png").rgb)[:16]
    hints = [{"x": 5, "y": 6, "rgb": [200, 30, 40]}, {"x": 40, "y": 40, "rgb": [30, 160, 60], "radius": 3}]
    at.file_uploader(key=f"colorize.hint_upload.{digest}").set_value(
        [("h.json", json.dumps(hints).encode(), "application/json")]).run()
    assert_no_page_error(at)
    assert any(m.value == "**2 hints**" for m in at.markdown)
    at.file_uploader(key=f"colorize.hint_upload.{digest}").set_value(
        [("far.json", json.dumps([{"x": 500, "y": 6, "rgb": [0, 0, 0]}]).encode(), "application/json")]).run()
    assert [e.value for e in at.error] == ["far.json: hint 1 at x=500, y=6 is outside the 48x48 image"]
    assert any(m.value == "**2 hints**" for m in at.markdown)  # the good ones are kept


def test_a_model_without_hints_shows_no_hint_controls(tiny_app_env):
    at = app_with_upload("cifar_ae", gray_png(32))
    assert not any("Color hints" in m.value for m in at.markdown)


def test_two_copies_of_one_photo_share_one_set_of_hints_and_the_batch_goes_through(tiny_app_env):
    """Finding (session 33's audit): with the hint model, a photo uploaded twice ("photo.png" and its copy
    "photo (1).png") drew the same hint widgets twice (keyed by the picture's content): the page failed with a
    duplicate-key error and the third picture was never colorized. The copy now says its hints are the first's."""
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.session_state["sidebar.model"] = "hypercolumn_hints"
    at.session_state["sidebar.source"] = "Upload"
    at.run()
    at.file_uploader(key="sidebar.upload").set_value([("photo.png", gray_png(32), "image/png"),
                                                      ("photo (1).png", gray_png(32), "image/png"),
                                                      ("other.png", color_png(32), "image/png")]).run()
    assert not at.exception and not at.error, (at.exception, [e.value for e in at.error])
    colorized = [c for element in at.image for c in element.captions if c.startswith("Colorized by")]
    assert len(colorized) == 3
    assert sum("Color hints" in m.value for m in at.markdown) == 2  # photo.png and other.png
    assert [c.value for c in at.caption if c.value.startswith("The same picture as")] == [
        "The same picture as photo.png: the hints given there color this one too."]


def test_hints_kept_under_a_model_that_takes_none_are_said_so(tiny_app_env):
    """Session 37's audit: with two hints on a photo, switching to a model without hints made them vanish from the
    Colorize and L/a/b pages without a word (switching back showed them again)."""
    data = gray_png(48)
    digest = image_digest(decode_image(data, "photo.png").rgb)
    at = app_with_upload("hypercolumn_hints", data)
    at.session_state["colorize.hints"] = {digest: [{"x": 5, "y": 5, "rgb": [200, 30, 30]},
                                                   {"x": 9, "y": 9, "rgb": [30, 30, 200]}]}
    at.sidebar.selectbox(key="sidebar.model").set_value("cifar_ae").run()
    assert_no_page_error(at)
    note = ("This picture's 2 hints are kept, but cifar_ae takes no hints: choose hypercolumn_hints in the sidebar to "
            "color with them.")
    assert [c.value for c in at.caption if "hints are kept" in c.value] == [note]
    at.switch_page("pages/channels.py").run()
    assert_no_page_error(at)
    assert [c.value for c in at.caption if "hints are kept" in c.value] == [note]
    at.switch_page("pages/colorize.py").run()
    at.sidebar.selectbox(key="sidebar.model").set_value("hypercolumn_hints").run()
    assert not [c for c in at.caption if "hints are kept" in c.value]


@pytest.mark.slow
def test_beside_a_reference_result_the_models_own_says_it_took_the_hints(tiny_app_env):
    """Session 37's audit: with hints, the column captioned "Automatic" beside the reference's result was the
    hinted result (both take the hints)."""
    data = gray_png(48)
    digest = image_digest(decode_image(data, "photo.png").rgb)
    at = app_with_upload("hypercolumn_hints", data)
    at.session_state["reference.source"] = "Upload a photo"
    at.run()
    at.file_uploader(key="reference.upload").set_value([("ref.png", color_png(64), "image/png")]).run()
    captions = [c for element in at.image for c in element.captions]
    assert "Automatic (hypercolumn_hints)" in captions
    at.session_state["colorize.hints"] = {digest: [{"x": 5, "y": 5, "rgb": [200, 30, 30]}]}
    at.run()
    assert_no_page_error(at)
    captions = [c for element in at.image for c in element.captions]
    assert "With your 1 hint, no reference (hypercolumn_hints)" in captions and not any(
        c.startswith("Automatic (") for c in captions)


def test_a_references_decoding_notes_are_shown(tiny_app_env):
    """Session 37's audit: an animated GIF as the reference said nothing of the frame it used, as the photo does."""
    frames = [Image.fromarray(np.full((64, 64, 3), value, np.uint8)) for value in ((200, 40, 40), (40, 40, 200))]
    gif = io.BytesIO()
    frames[0].save(gif, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    at = _with_uploaded_reference("anim.gif", gif.getvalue())
    assert "animated GIF: used frame 1 of 2" in [c.value for c in at.caption]


def _with_uploaded_reference(name: str, data: bytes):
    """The Colorize page with a gray photo (cifar_ae) and ``data`` uploaded as its reference photo."""
    at = app_with_upload("cifar_ae", gray_png(48))
    at.session_state["reference.source"] = "Upload a photo"
    at.run()
    at.file_uploader(key="reference.upload").set_value([(name, data, "image/png")]).run()
    assert_no_page_error(at)
    return at


def test_an_uploaded_reference_colors_the_photo_and_shows_the_confidence(tiny_app_env):
    at = _with_uploaded_reference("ref.png", color_png(64))
    assert not at.error, [e.value for e in at.error]
    captions = [c for element in at.image for c in element.captions]
    assert "Colored from the reference" in captions
    where = [c for c in captions if c.startswith("Where colors came from")]
    shares = [int(p) for p in re.findall(r"\((\d+)%\)", where[0])]
    assert len(shares) == 3 and abs(sum(shares) - 100) <= 1, where   # matches, the palette, the model: each told
    assert "Reference: ref.png" in captions
    # The L/a/b page draws the reference's ab distribution beside the result's.
    at.switch_page("pages/channels.py").run()
    assert_no_page_error(at)
    assert any(s.value.startswith("Colors from the reference photo ref.png") for s in at.header)


def test_the_map_tells_close_matches_from_the_references_palette():
    """Session 44's walk-through: a reference related as a whole (the cat for the cameraman) gives every cell its
    colors, its palette's where nothing matched; the map drew both yellow and said "from the reference: 100 %". The
    shares now keep them apart, over the visible cells only, and the map draws the palette's cells green."""
    from colorizer.exemplar import ReferenceResult
    from ui.reference_ui import PALETTE_SHADE, confidence_image, source_shares

    confidence = np.ones((4, 4), np.float32)
    matched = np.zeros((4, 4), np.float32)
    matched[:, :1] = 1.0          # a quarter closely matched, the rest the palette's
    confidence[:, 3] = 0.0        # ... but the last column the model's own
    result = ReferenceResult(image=np.zeros((4, 4, 3), np.uint8), confidence=confidence, matched=matched)
    assert source_shares(result, None) == pytest.approx((0.25, 0.5, 0.25))
    visible = np.zeros((4, 4), bool)
    visible[:, :2] = True        # a match and a palette cell in each visible row
    assert source_shares(result, visible) == pytest.approx((0.5, 0.5, 0.0))
    shown = confidence_image(matched + PALETTE_SHADE * (confidence - matched), (4, 4))
    yellow, green, dark = shown[0, 0].astype(int), shown[0, 1].astype(int), shown[0, 3].astype(int)
    assert yellow[0] > 200 and yellow[1] > 200 and yellow[2] < 100            # viridis's top: yellow
    assert green[1] > green[0] + 60 and green[1] > green[2]                   # green, not yellow
    assert dark.sum() < 200                                                   # the model's: dark


def test_a_reference_too_small_to_match_is_one_line_before_any_work(tiny_app_env):
    """Session 34's audit: a tiny reference (an 8×8 thumbnail) gave the automatic colors without a word."""
    at = _with_uploaded_reference("thumb.png", color_png(16))
    assert [as_read(w.value) for w in at.warning if "too small" in w.value] == [
        "thumb.png: 16×16 px is too small to match the photo's parts against (at least 32 px a side)."]
    captions = [c for element in at.image for c in element.captions]
    assert "Colored from the reference" not in captions
    at.switch_page("pages/channels.py").run()  # not matched there either, after a turn in the queue
    assert_no_page_error(at)
    assert not at.error and not any(s.value.startswith("Colors from the reference") for s in at.header)


def test_a_gray_reference_is_one_line_before_any_work(tiny_app_env):
    at = _with_uploaded_reference("flat.png", gray_png(64))
    assert [as_read(w.value) for w in at.warning if "flat.png" in w.value] == [
        "flat.png: it is gray: it has no colors to give; use a color photo."]
    assert "Colored from the reference" not in [c for element in at.image for c in element.captions]


def test_a_reference_that_gives_no_color_is_one_line_before_any_work(tiny_app_env):
    """Review finding: a reference whose shown pixels give no color (every other pixel shown: no patch of it free
    of transparency) reached the L/a/b page's generic "Something went wrong ... reload the page". Session 35: the
    Colorize page says so under the reference, as for a gray or tiny one, before any turn in the queue, and neither
    page matches it."""
    alpha = np.zeros((64, 64), np.uint8)
    alpha[::2, ::2] = 255
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([np.full((64, 64, 3), [200, 40, 40], np.uint8), alpha])).save(buffer, format="PNG")
    at = app_with_upload("cifar_ae", gray_png(48))
    at.session_state["reference.source"] = "Upload a photo"
    at.run()
    at.file_uploader(key="reference.upload").set_value([("lace.png", buffer.getvalue(), "image/png")]).run()
    why = "too little of it is shown: its colors come from pixels with no transparent pixel beside them, and it has none"
    assert not at.error, [e.value for e in at.error]
    assert [as_read(w.value) for w in at.warning if "lace.png" in w.value] == [f"lace.png: {why}."]
    assert "Colored from the reference" not in [c for element in at.image for c in element.captions]
    at.switch_page("pages/channels.py").run()
    assert_no_page_error(at)
    assert not at.error and not any(s.value.startswith("Colors from the reference") for s in at.header)


def test_a_broken_reference_is_one_error_naming_it(tiny_app_env):
    at = app_with_upload("cifar_ae", gray_png(32))
    at.session_state["reference.source"] = "Upload a photo"
    at.run()
    at.file_uploader(key="reference.upload").set_value([("broken.png", b"nope", "image/png")]).run()
    assert_no_page_error(at)
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("reference broken.png:"), errors
    assert any(c.startswith("Colorized by") for element in at.image for c in element.captions)


def test_the_certainty_map_shows_where_the_model_was_sure(tiny_app_env):
    at = app_with_upload("hypercolumn_hints", gray_png(48))
    assert_no_page_error(at)
    labels = [e.label for e in at.expander]
    assert any(label.startswith("Where hypercolumn_hints was sure: ") and label.endswith("% of the photo")
               for label in labels), labels
    assert any("Yellow: sure of the color" in c.value and "Sure is not right" in c.value for c in at.caption)
    # A model that cannot say shows no map.
    at = app_with_upload("cifar_ae", gray_png(48))
    assert not any(e.label.startswith("Where ") for e in at.expander)


def test_the_certainty_map_says_what_the_colorfulness_gate_did(tiny_app_env, monkeypatch):
    """The line on the scene's expected colorfulness sits under the certainty map (the tiny app weights
    hold no flagship and no gate: the measurement is stubbed, the page's wiring is what is checked)."""
    from colorizer.colorfulness_gate import SceneColorfulness
    from ui import loaders

    asked, measured = [], loaders.certainty_and_scene

    def stub(model, stamp, image, digest, temperature=None, hints_json=""):
        asked.append(model.name)
        certainty, _ = measured(model, stamp, image, digest, temperature, hints_json)
        return certainty, SceneColorfulness(expected=30.0, painted=45.0, ceiling=30.0)

    monkeypatch.setattr(loaders, "certainty_and_scene", stub)
    at = app_with_upload("hypercolumn_hints", gray_png(48))
    assert_no_page_error(at)
    captions = [c.value for c in at.caption]
    assert any("guessed from the gray photo: 30 " in c and "toned down to 30." in c for c in captions), captions
    assert asked and asked[0].startswith("hypercolumn_hints")


def test_an_uploaded_reference_is_still_used_after_a_trip_to_another_page(tiny_app_env):
    """The L/a/b page shows the reference, but back on Colorize the reference's uploader had forgotten its file
    (Streamlit drops an undrawn uploader's), and the page took that for the visitor removing it."""
    at = app_with_upload("cifar_ae", gray_png(48))
    at.session_state["reference.source"] = "Upload a photo"
    at.run()
    at.file_uploader(key="reference.upload").set_value([("ref.png", color_png(64), "image/png")]).run()
    at.switch_page("pages/channels.py").run()
    at.switch_page("pages/colorize.py").run()
    assert_no_page_error(at)
    captions = [c for element in at.image for c in element.captions]
    assert "Reference: ref.png" in captions and "Colored from the reference" in captions
    at.run()  # the next interaction: the uploader is drawn, and still empty
    assert "Reference: ref.png" in [c for element in at.image for c in element.captions]
    # Emptied by the visitor, on the page: the reference goes.
    at.file_uploader(key="reference.upload").set_value([("ref.png", color_png(64), "image/png")]).run()
    at.file_uploader(key="reference.upload").set_value([]).run()
    assert_no_page_error(at)
    assert "reference.chosen" not in at.session_state
    assert "Reference: ref.png" not in [c for element in at.image for c in element.captions]


def with_hidden_band(rgb: np.ndarray, hidden) -> bytes:
    """A 48×48 RGBA PNG of ``rgb`` whose top 12 rows hold ``hidden`` under alpha 0: colors in the file, not in
    the picture (rgb is changed in place, so a test can measure what the file holds)."""
    rgb[:12] = hidden
    alpha = np.full((48, 48), 255, np.uint8)
    alpha[:12] = 0
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([rgb, alpha])).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.slow
def test_metrics_of_a_picture_with_transparent_pixels_leave_them_out(tiny_app_env):
    """The walkthrough: on a PNG with a transparent band the metrics counted the hidden pixels too. They now measure
    what the picture shows, and say so: here the hidden band is vivid magenta under a gray-ish picture, so counted
    it would put gray's PSNR (the shown value less its "vs gray") far lower. An opaque picture gets no line."""
    from colorizer.evaluate import gray_baseline
    from colorizer.metrics import image_metrics

    rgb = np.zeros((48, 48, 3), np.uint8)
    rgb[:, :16], rgb[:, 16:32], rgb[:, 32:] = [150, 130, 120], [120, 140, 125], [120, 125, 150]  # muted bands
    png = with_hidden_band(rgb, [255, 0, 255])
    at = app_with_upload("cifar_ae", png)
    assert_no_page_error(at)
    assert any(c.value.startswith("Measured over the 75% of the picture that is not fully transparent")
               for c in at.caption)
    psnr = next(m for m in at.metric if m.label == "PSNR")
    shown_gray = float(psnr.value.split()[0]) - float(psnr.delta.split()[0])
    visible_gray = image_metrics(rgb[12:], gray_baseline(rgb)[12:])["psnr"]
    every_pixel_gray = image_metrics(rgb, gray_baseline(rgb))["psnr"]
    assert abs(shown_gray - visible_gray) <= 0.011 and abs(every_pixel_gray - visible_gray) > 3
    at.switch_page("pages/compare.py").run()  # its table measures the same pixels, and says so
    assert_no_page_error(at)
    table = at.dataframe[0].value  # the results table comes first
    assert table.loc[table["model"] == "gray (no color)", "psnr"].item() == pytest.approx(visible_gray, abs=1e-9)
    assert any("over the pixels that are not fully transparent" in c.value for c in at.caption)
    at = app_with_upload("cifar_ae", color_png(48))
    assert at.metric and not any(c.value.startswith("Measured over") for c in at.caption)


def test_compare_tiles_keep_a_pictures_transparency(tiny_app_env, monkeypatch):
    """Compare's tiles drew an RGBA upload's hidden colors (here magenta): every tile (input, truth, each model)
    now keeps the picture's alpha, as the Colorize page does."""
    from streamlit.delta_generator import DeltaGenerator

    rgb = np.full((48, 48, 3), [120, 110, 100], np.uint8)
    png = with_hidden_band(rgb, [255, 0, 255])
    at = app_with_upload("cifar_ae", png)
    shown, draw = {}, DeltaGenerator.image

    def spy(self, image, caption=None, *args, **kwargs):
        if isinstance(caption, str):
            shown[caption] = np.asarray(image)
        return draw(self, image, caption, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "image", spy)
    at.switch_page("pages/compare.py").run()
    assert_no_page_error(at)
    tiles = {caption: image for caption, image in shown.items() if caption in ("Input (L only)", "Truth")
             or caption.startswith("**")}
    assert len(tiles) >= 4, list(shown)  # input, truth and the tiny models
    for caption, image in tiles.items():
        block = image.shape[0] // 48  # shown enlarged, each pixel a block
        assert image.shape[2] == 4 and (image[:12 * block, :, 3] == 0).all() and (image[12 * block:, :, 3] == 255).all(), caption


@pytest.mark.slow
def test_compare_keeps_each_models_tile_not_its_full_size_result(tiny_app_env, monkeypatch):
    """Session 37's memory audit: every row of a Compare run held its model's full-size result (34 MiB at 12 MP)
    until the run ended, outside the caches' bounds: four visitors on Compare took a server past 2.7 GB. A row keeps
    the tile as shown; the scores are still the full-size result's."""
    from ui import compare_ui

    kept = []
    grid = compare_ui.grid_ui
    monkeypatch.setattr(compare_ui, "grid_ui", lambda picture, rows: kept.append(rows) or grid(picture, rows))
    big = Image.new("RGB", (1500, 1000), (150, 90, 60))
    buffer = io.BytesIO()
    big.save(buffer, format="PNG")
    at = app_with_upload("cifar_ae", buffer.getvalue())
    at.switch_page("pages/compare.py").run()
    assert_no_page_error(at)
    rows = kept[-1]
    assert rows and all(row["image"].shape[:2] == (427, 640) for row in rows), [row["image"].shape for row in rows]
    assert all("psnr" in row for row in rows)


def test_the_picture_that_takes_hint_clicks_keeps_its_transparency_and_the_marks_show(tiny_app_env, monkeypatch):
    """The clickable result of an RGBA upload drew the colors its transparent pixels hide; it is now transparent
    there too, and a hint on a transparent pixel is still marked (the page draws its dot over the picture)."""
    import ui.hints_ui as hints_ui
    from ui.click_image import Mark

    rgb = np.full((48, 48, 3), [120, 110, 100], np.uint8)
    png = with_hidden_band(rgb, [255, 0, 255])
    clickable, real = [], hints_ui.clickable_image

    def spy(image, key, alt, marks):
        clickable.append(np.asarray(image))
        return real(image, key, alt, marks)

    monkeypatch.setattr(hints_ui, "clickable_image", spy)
    at = app_with_upload("hypercolumn_hints", png)
    assert_no_page_error(at)
    shown = clickable[-1]
    block = shown.shape[0] // 48
    assert shown.shape[2] == 4 and (shown[:12 * block, :, 3] == 0).all() and (shown[12 * block:, :, 3] == 255).all()
    marks = hints_ui._marks([{"x": 24, "y": 4, "rgb": [0, 0, 255]}], None, (48, 48, 4))
    assert marks == [Mark(24.5 / 48, 4.5 / 48, "#0000ff")]  # in the transparent band: marked all the same


def test_the_picture_that_takes_hint_clicks_is_given_its_hints_and_pending_point_as_marks(tiny_app_env, monkeypatch):
    """The page draws the marks over the picture (``ui.click_image``) from what the page passes it: each of the
    picture's hints as a dot of its color, the point waiting for a color as a ring, at their pixels' centres."""
    import ui.hints_ui as hints_ui
    from ui.click_image import Mark

    data = gray_png(48)
    digest = image_digest(decode_image(data, "photo.png").rgb)
    passed = []
    real = hints_ui.clickable_image
    monkeypatch.setattr(hints_ui, "clickable_image", lambda image, key, alt, marks: (passed.append(marks),
                                                                                      real(image, key, alt, marks))[1])
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.session_state["colorize.hints"] = {digest: [{"x": 24, "y": 4, "rgb": [0, 0, 255]}, {"x": 0, "y": 47, "rgb": [200, 0, 0]}]}
    at.session_state["colorize.hint_point"] = {digest: (40, 10)}
    at.session_state["sidebar.model"] = "hypercolumn_hints"
    at.session_state["sidebar.source"] = "Upload"
    at.run()
    at.file_uploader(key="sidebar.upload").set_value([("photo.png", data, "image/png")]).run()
    assert_no_page_error(at)
    assert passed[-1] == [Mark(24.5 / 48, 4.5 / 48, "#0000ff"), Mark(0.5 / 48, 47.5 / 48, "#c80000"),
                          Mark(40.5 / 48, 10.5 / 48, None)], passed[-1]


def test_an_uploaded_reference_is_kept_at_most_keep_side_pixels(tiny_app_env):
    """The session keeps the chosen reference past its uploader (a page trip), so it keeps a small copy: a
    1,500 × 600 upload is held at 1,024 × 410, its colors intact (the matcher reads it at 256 px anyway)."""
    from ui.reference_ui import CHOSEN_KEY, KEEP_SIDE

    wide = np.zeros((600, 1500, 3), np.uint8)
    wide[:, :750] = [200, 40, 40]
    wide[:, 750:] = [40, 40, 200]
    buffer = io.BytesIO()
    Image.fromarray(wide).save(buffer, format="PNG")
    at = app_with_upload("cifar_ae", gray_png(48))
    at.session_state["reference.source"] = "Upload a photo"
    at.run()
    at.file_uploader(key="reference.upload").set_value([("wide.png", buffer.getvalue(), "image/png")]).run()
    assert_no_page_error(at)
    kind, _, kept = at.session_state[CHOSEN_KEY]
    assert kind == "upload" and kept.rgb.shape == (410, KEEP_SIDE, 3) == (410, 1024, 3)
    assert (kept.rgb[:, :500] == [200, 40, 40]).all() and (kept.rgb[:, -500:] == [40, 40, 200]).all()


def test_a_large_reference_keeps_its_transparency_at_the_kept_size():
    """The review: ``_kept`` (now ``kept_reference``) dropped the alpha of a reference over 1,024 px, so the L/a/b
    page drew and counted the hidden part of a large RGBA reference and not of a small one."""
    from colorizer.imageio import DecodedImage
    from ui.reference_ui import kept_reference

    alpha = np.full((600, 1500), 255, np.uint8)
    alpha[:, :300] = 0
    picture = DecodedImage(name="ref.png", rgb=np.zeros((600, 1500, 3), np.uint8), alpha=alpha, was_color=True,
                           notes=(), gray=None)
    kept = kept_reference(picture)
    assert kept.rgb.shape == (410, 1024, 3) and kept.alpha.shape == (410, 1024)
    assert (kept.alpha[:, :200] == 0).all() and (kept.alpha[:, 210:] == 255).all()


def test_add_at_the_hint_cap_is_dropped(monkeypatch):
    """Add is disabled at ``MAX_HINTS``; a stale click (a button drawn before the cap was reached) adds nothing."""
    from types import SimpleNamespace

    import ui.hints_ui as hints_ui
    from colorizer.hints import MAX_HINTS

    state = {"picker": "#ff0000"}
    monkeypatch.setattr(hints_ui, "st", SimpleNamespace(session_state=state))
    hints = hints_ui.hints_of("d")
    hints.extend({"x": i % 10, "y": i // 10, "rgb": [0, 0, 0]} for i in range(MAX_HINTS - 1))
    hints_ui._add_hint("d", (5, 5), "picker")
    assert len(hints_ui.hints_of("d")) == MAX_HINTS and hints_ui.hints_of("d")[-1]["rgb"] == [255, 0, 0]
    del state[hints_ui.ADDED_KEY]
    hints_ui._add_hint("d", (6, 6), "picker")
    assert len(hints_ui.hints_of("d")) == MAX_HINTS and hints_ui.ADDED_KEY not in state   # a dropped click says nothing


def test_a_picture_with_transparency_is_sent_small_with_its_alpha_exact():
    """The review: the hint picture of an RGBA upload went to the browser as a PNG data URL, about 1 MB at 640 px,
    again after every click. It is WebP now: its alpha exact, its colors within a few levels, far smaller."""
    import base64

    from skimage import data

    from ui.compare_slider import data_url

    rgb = data.astronaut()
    alpha = np.full(rgb.shape[:2], 255, np.uint8)
    alpha[:, :100], alpha[:50, 200:260] = 0, 128
    url = data_url(np.dstack([rgb, alpha]))
    assert url.startswith("data:image/webp;base64,")
    sent = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))
    assert (sent[..., 3] == alpha).all() and np.abs(sent[..., :3].astype(int) - rgb)[alpha > 0].mean() < 4
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([rgb, alpha])).save(buffer, format="PNG")
    assert len(url) < len(buffer.getvalue()) / 4  # base64 and all


def test_the_certainty_share_counts_what_the_picture_shows():
    """The review: "Where the model was sure: N % of the photo" counted the cells over transparent pixels. Here the
    model is sure only under a hidden band (a quarter of the picture): of what the picture shows, it is sure of none."""
    from colorizer.models.hypercolumn_decoding import SURE
    from ui import charts
    from ui.certainty_ui import certainty_summary

    certainty = np.zeros((12, 16), np.float32)
    certainty[:3] = SURE  # sure only in the top quarter of the grid
    alpha = np.full((48, 64), 255, np.uint8)
    alpha[:12] = 0  # ... which the picture hides
    assert certainty_summary(certainty) == (0.25, 0.75)
    assert certainty_summary(certainty, alpha) == (0.0, 1.0)
    cells = charts.visible_cells(alpha, certainty.shape)
    assert cells.shape == (12, 16) and not cells[:3].any() and cells[3:].all()
    assert charts.visible_cells(np.zeros((48, 64), np.uint8), (12, 16)) is None  # nothing shows: every cell counts


def test_hint_marks_sit_on_the_centre_of_their_pixels_block():
    """The review: on a picture shown enlarged (an 8×8 upload, 32 px a pixel) the dots and the ring were drawn at
    the pixel's top-left corner, 23 px from where the visitor clicked; they sit on the block's centre, each hint a dot
    of its color, the pending point an open ring (no color)."""
    import ui.hints_ui as hints_ui
    from ui.click_image import Mark

    marks = hints_ui._marks([{"x": 2, "y": 3, "rgb": [0, 0, 255]}, {"x": 0, "y": 7, "rgb": [200, 40, 0]}], (7, 7),
                            (8, 8, 3))
    assert marks == [Mark(2.5 / 8, 3.5 / 8, "#0000ff"), Mark(0.5 / 8, 7.5 / 8, "#c82800"), Mark(7.5 / 8, 7.5 / 8, None)]
    drawn = 256  # the picture drawn 256 px wide: the first dot's centre is its pixel's block's
    assert (marks[0].across * drawn, marks[0].down * drawn) == (2 * 32 + 16, 3 * 32 + 16)


def test_a_tall_strips_ring_sits_where_it_was_clicked():
    """Session 35's audit: a 24×4000 strip is shown 4×640 (the width rounded from 3.84), and one scale for both axes
    (4/24 across) put the ring of a click at row 3600 at shown row 600 instead of 576: the marks are placed as
    fractions of the photo on each axis, whatever size it is shown at."""
    import ui.hints_ui as hints_ui

    (ring,) = hints_ui._marks([], (12, 3600), (4000, 24, 3))
    assert ring.color is None and abs(ring.down * 640 - 576) <= 0.5 and ring.across == 12.5 / 24


def plotly_array(values) -> np.ndarray:
    """An array of a figure's JSON: a list, or Plotly 6's typed array ({"dtype", "bdata": base64})."""
    import base64

    if isinstance(values, dict):
        return np.frombuffer(base64.b64decode(values["bdata"]), values["dtype"])
    return np.asarray(values)


def test_the_channels_page_leaves_out_what_transparent_pixels_hide(tiny_app_env):
    """The L/a/b page drew an RGBA upload's hidden colors (here a white band) in its tiles and counted them in its
    histograms; now its L histogram holds only the visible lightness, and says what share it counts."""
    rgb = np.full((48, 48, 3), [120, 110, 100], np.uint8)  # L about 47 where it shows
    png = with_hidden_band(rgb, 255)  # hidden: white, L 100
    at = app_with_upload("cifar_ae", png)
    at.switch_page("pages/channels.py").run()
    assert_no_page_error(at)
    assert any(c.value.startswith("Histograms of the 75% of the picture that is not fully transparent")
               for c in at.caption)
    figures = [json.loads(chart.proto.spec) for chart in at.get("plotly_chart")]
    truth_histograms = next(f for f in figures if [a.get("text") for a in f["layout"].get("annotations", [])][:3] == ["L", "a (log scale)", "b (log scale)"])
    lightness = truth_histograms["data"][0]
    shares = dict(zip(plotly_array(lightness["x"]), plotly_array(lightness["y"])))
    assert sum(shares.values()) == pytest.approx(100)
    assert shares[99.0] == 0 and max(shares, key=shares.get) == pytest.approx(47, abs=3)


def test_the_pages_give_the_reference_only_the_pixels_it_shows(monkeypatch):
    """The Colorize and L/a/b pages' reference result (``loaders.reference_colorized``) is made from the pixels the
    reference shows, its alpha > 0 (``test_exemplar``: the colors hidden under the rest are given no more), and two
    references of the same colors but not the same transparency are two results."""
    from ui import loaders
    from ui.shared_cache import SharedCache

    monkeypatch.setattr(loaders, "CACHE", SharedCache(50 * 2**20))
    seen = []

    class Model:
        name, has_temperature, is_stochastic = "fake", False, False

        def colorize_with_reference(self, image, reference, hints=None, reference_visible=None, **options):
            seen.append(None if reference_visible is None else reference_visible.copy())
            return "result"

    photo, reference = np.zeros((8, 8), np.uint8), np.zeros((6, 10, 3), np.uint8)
    alpha = np.full((6, 10), 255, np.uint8)
    alpha[:2] = 0
    for plane in (alpha, None, alpha):
        loaders.reference_colorized(Model(), ("fake",), photo, "photo", reference, "ref", reference_alpha=plane)
    assert len(seen) == 2  # the third is the first's, shared
    np.testing.assert_array_equal(seen[0], alpha > 0)
    assert seen[1] is None


def _hint_tab(key: str, data: bytes) -> AppTest:
    """A tab of the browser whose visitor key is ``key``, on the Colorize page with ``data`` uploaded."""
    from ui import visitor

    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT)
    at.session_state[visitor._STATE_KEY] = key
    at.session_state["sidebar.model"] = "hypercolumn_hints"
    at.session_state["sidebar.source"] = "Upload"
    at.run()
    at.file_uploader(key="sidebar.upload").set_value([("photo.png", data, "image/png")])
    return at.run()


def _add_typed_hint(at: AppTest, digest: str, x: int, y: int) -> None:
    at.number_input(key=f"colorize.hint_x.{digest}").set_value(x)
    at.number_input(key=f"colorize.hint_y.{digest}").set_value(y)
    at.button(key=f"colorize.hint_pick.{digest}").click().run()
    at.button(key=f"colorize.hint_color.{digest}.{x}.{y}.add").click().run()


def _hint_count(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.endswith(("hint**", "hints**"))]


@pytest.mark.slow
def test_kept_hints_follow_what_the_visitor_did_not_what_a_run_reached(tiny_app_env, monkeypatch):
    """Session 38's review of the kept hints: written at the end of each run, another tab of the same browser that held
    none erased them on its every run, and Remove all was undone by a reload when the run after it stopped before its
    end (a reload mid-colorization, the next click, an error). They are kept by whatever changes them, at once."""
    from ui import loaders

    data = gray_png(48)
    digest = image_digest(decode_image(data, "photo.png").rgb)[:16]
    first, second = _hint_tab("K" * 30, data), _hint_tab("K" * 30, data)   # two tabs of one browser, same picture
    _add_typed_hint(first, digest, 5, 41)
    assert _hint_count(first) == ["**1 hint**"]
    second.run()                                                           # the other tab's rerun erases nothing
    assert _hint_count(_hint_tab("K" * 30, data)) == ["**1 hint**"]
    _add_typed_hint(first, digest, 10, 10)

    def stopped(*args, **kwargs):
        raise RuntimeError("stopped mid-colorization")

    with monkeypatch.context() as patched:
        patched.setattr(loaders, "colorized", stopped)
        first.button(key=f"colorize.hint_clear.{digest}").click().run()
    assert _hint_count(_hint_tab("K" * 30, data)) == []                   # Remove all holds after a reload
