"""Color hints for a hint-taking model (``Colorizer.takes_hints``): on the Colorize page for each picture, and on the
Video page for a clip's first frame.

Click the result to pick a point; the model's own color there is the color picker's default and its
most probable colors there (the top bins of its 313-bin distribution) are offered as swatches; "Add
hint" puts the point in the image's hint list, and the result is recomputed with it. Hints are kept
per image (by content digest) in the session, and for a while on the server per visitor (``ui.hint_store``: a
reload finds them again), listed with their colors, removable one by one or all
at once, and downloadable/uploadable as the JSON that ``python -m colorizer colorize --hints`` takes.
At most ``colorizer.hints.MAX_HINTS`` hints per image (Add is disabled at the cap; a longer hints file
is refused with one line, as a malformed or too deeply nested one is).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import numpy as np
import streamlit as st

from colorizer import HINT_TAKING_NAMES
from colorizer.color import luminance
from colorizer.color_names import color_name, hex_code, with_code
from colorizer.hints import MAX_HINTS, HintError, hints_to_json, painted_color, parse_hints_json, validate_hints
from ui import hint_store, loaders, visitor, widgets
from ui.callbacks import safe
from ui.click_image import Mark, clickable_image
from ui.narrow_rows import button_row, kept_pair, wrapping_labels
from ui.plain_text import plain

if TYPE_CHECKING:
    from colorizer.imageio import DecodedImage
    from colorizer.inference import Colorizer

__all__ = ["hints_json", "hints_of", "hints_ui", "unused_hints_ui"]

HINTS_KEY = "colorize.hints"        # digest → [hint, ...]
POINT_KEY = "colorize.hint_point"   # digest → (x, y): the clicked point waiting for a color
UPLOADED_KEY = "colorize.hint_files"  # digest → id of the hints file already applied
ADDED_KEY = "colorize.hint_added"    # what Add did, said once by the next run
CLICK_SIDE = 640                    # the clickable image's longest side, px
SUGGESTIONS = 6
# Hints listed one row each (a swatch, the point, a Remove button), the latest ones; earlier ones are one table and a
# number to remove. Every row is widgets a rerun draws: 300 of them made each click 5.9 s and the page 23,000 px tall
# (session 37's audit), on a server a class shares.
LISTED_HINTS = 10


def _store(key: str) -> dict:
    return st.session_state.setdefault(key, {})


def _known(digest: str) -> list[dict] | None:
    """The session's hints of the image, or the visitor's kept ones (``ui.hint_store``) the first time this session
    asks: read before the image is colorized, since they are its result's key."""
    store = _store(HINTS_KEY)
    if digest not in store:
        kept = hint_store.recall(visitor.token(), digest)
        if kept:
            store[digest] = kept
    return store.get(digest)


def hints_of(digest: str) -> list[dict]:
    _known(digest)
    return _store(HINTS_KEY).setdefault(digest, [])


def hints_json(digest: str) -> str:
    """The image's hints as JSON (the cache key of its result); "" when it has none."""
    hints = _known(digest) or []
    return json.dumps(hints, sort_keys=True) if hints else ""


def unused_hints_ui(digest: str, model: Colorizer) -> None:
    """A line on what becomes of this picture's hints under a model that takes none (nothing when it takes them, or
    there are none): switching to one made them vanish from the page without a word (session 37's audit)."""
    count = len(_known(digest) or [])
    if not count or model.takes_hints:
        return
    takers = ", ".join(HINT_TAKING_NAMES)  # colorizer's light copy: the page draws before TensorFlow has loaded
    st.caption(f"This picture's {count} hint{'s' * (count != 1)} {'are' if count != 1 else 'is'} kept, but "
               f"{model.name} takes no hints: choose {takers} in the sidebar to color with them.")


def _rgb(hex_color: str) -> list[int]:
    return [int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]


def share_text(probability: float) -> str:
    """A suggestion's probability as its button says it: whole percent from 10 %, a decimal under it. The
    313 bins share the probability thinly (the top ones hold 1 to 3 % on a photo), and whole percent labelled six
    suggestions "2%" alike, as if the model could not rank them."""
    return f"{probability:.0%}" if probability >= 0.095 else f"{probability:.1%}"


def _swatch_ui(container, rgb, side: int = 28) -> None:
    """A square of color ``rgb`` named for screen readers ("sky blue": its code, spelt out digit by digit, only in the
    tooltip). Drawn as HTML, not as an image: an image gets Streamlit's Fullscreen button, a tab stop and "Fullscreen"
    read out beside each of a dozen swatches."""
    code, name = hex_code(rgb), color_name(rgb)
    container.html(f'<div role="img" aria-label="{name}" title="{name} ({code})" '
                   f'style="width:{side}px;height:{side}px;'
                   f'background:{code};border:1px solid rgba(128,128,128,.6);border-radius:4px"></div>',
                   width=side + 2)


def _marks(hints: list[dict], point, shape: tuple[int, ...]) -> list[Mark]:
    """Each hint as a dot of its color and the pending point as a ring, centred on their photo pixels (``shape``: the
    photo's), as fractions of the photo: the page draws them at a fixed size over the picture however it is scaled."""
    height, width = shape[:2]

    def at(x: float, y: float) -> tuple[float, float]:  # the pixel's centre, however large the picture is drawn
        return (x + 0.5) / width, (y + 0.5) / height

    marks = [Mark(*at(hint["x"], hint["y"]), hex_code(hint["rgb"])) for hint in hints]
    if point is not None:
        marks.append(Mark(*at(*point)))
    return marks


def _take_click(digest: str, click: tuple[int, int] | None, shown_shape: tuple[int, ...],
                shape: tuple[int, ...]) -> None:
    """A click on the shown image (its own pixels) → the pending point, in the photo's own pixel coordinates."""
    if click is None:
        return
    height, width = shape[:2]
    # The photo pixel under the centre of the shown pixel clicked (a shown pixel covers several of a larger photo's).
    x = min(width - 1, int((click[0] + 0.5) * width / shown_shape[1]))
    y = min(height - 1, int((click[1] + 0.5) * height / shown_shape[0]))
    if _store(POINT_KEY).get(digest) == (x, y):
        # Already the pending point: a second click there, or a click value that outlives its run (AppTest keeps
        # it; a browser clears it): nothing to redraw, and no rerun that would take it again.
        return
    _store(POINT_KEY)[digest] = (x, y)
    x_key, y_key = _typed_keys(digest)
    st.session_state[x_key], st.session_state[y_key] = x, y  # the typed point's numbers show the click
    st.rerun()  # redraw with the point ringed and its controls shown


def _typed_point_ui(digest: str, shape: tuple[int, ...]) -> None:
    """The point as two numbers and a button: the photo takes mouse and touch only (a keyboard or a screen
    reader cannot click it), and a number is also the precise way. A click fills the numbers in."""
    height, width = shape[:2]
    x_key, y_key = _typed_keys(digest)
    st.session_state.setdefault(x_key, width // 2)
    st.session_state.setdefault(y_key, height // 2)
    x_column, y_column, pick = button_row(f"hint_pick_{digest[:16]}", [2, 2, 3], vertical_alignment="bottom")
    x_column.number_input("Point x (px)", 0, width - 1, key=x_key, help=f"0 (left) to {width - 1} (right)")
    y_column.number_input("Point y (px)", 0, height - 1, key=y_key, help=f"0 (top) to {height - 1} (bottom)")
    pick.button("Pick this point", key=f"colorize.hint_pick.{digest[:16]}", icon=":material/my_location:",
                on_click=safe(_pick_point), args=(digest,))


def _typed_keys(digest: str) -> tuple[str, str]:
    return f"colorize.hint_x.{digest[:16]}", f"colorize.hint_y.{digest[:16]}"


def _pick_point(digest: str) -> None:
    """The typed numbers as the pending point (read from the state: a number typed just before the click is
    there, not yet in the arguments the button was drawn with)."""
    x_key, y_key = _typed_keys(digest)
    _store(POINT_KEY)[digest] = (int(st.session_state[x_key]), int(st.session_state[y_key]))


def _add_hint(digest: str, point: tuple[int, int], picker_key: str) -> None:
    hints = hints_of(digest)
    if len(hints) < MAX_HINTS:  # the button is disabled at the cap; a stale click is dropped
        hints.append({"x": point[0], "y": point[1], "rgb": _rgb(st.session_state.get(picker_key, "#808080"))})
        # Said where it is read aloud (a toast, drawn by the run this click starts: ``_list_ui``): the rerun takes
        # the keyboard's focus to the page's start, and the new hint showed only in the list further down (session
        # 38's accessibility audit).
        st.session_state[ADDED_KEY] = (f"Hint {len(hints)} added at x = {point[0]}, y = {point[1]}: the picture is "
                                       "colored again with it.")
        _kept(digest)
    _store(POINT_KEY).pop(digest, None)


def _set_picker(picker_key: str, rgb) -> None:
    st.session_state[picker_key] = hex_code(rgb)


def _remove(digest: str, index: int | None) -> None:
    hints = hints_of(digest)
    if index is None:
        hints.clear()
    elif 0 <= index < len(hints):
        del hints[index]
    _kept(digest)


def _kept(digest: str) -> None:
    """The image's hints as they are now, kept for the visitor (``ui.hint_store``), by whatever changed them, at once:
    written once a run, after the picture was colored again, they were lost to a reload mid-run (Remove all undone),
    and another tab holding none erased them on its every run (session 38's review)."""
    hint_store.remember(visitor.token(), digest, hints_of(digest))


def _point_ui(model: Colorizer, stamp: tuple, picture: DecodedImage, digest: str, result: np.ndarray, point) -> None:
    """The pending point: suggested colors, a picker starting at the model's current color, Add."""
    x, y = point
    st.markdown(f"**Point** x = {x}, y = {y}")
    picker_key = f"colorize.hint_color.{digest[:16]}.{x}.{y}"
    suggestions = loaders.suggested_colors(model, stamp, picture.pixels, digest, x, y, hints_json(digest))[:SUGGESTIONS]
    if suggestions:
        st.caption("The model's most probable colors here (click one to use it):")
        # Each swatch held to its button, the pairs wrapping as the width allows: in columns, a phone stacked
        # them into twelve rows, swatches apart from their buttons.
        row = st.container(horizontal=True, gap="small")
        names = [color_name(s["rgb"]) for s in suggestions]
        for k, s in enumerate(suggestions):
            pair = kept_pair(row, f"hint_suggestion_{digest[:16]}_{k}")
            _swatch_ui(pair, s["rgb"])
            # The color in the label too: six buttons all named "2%" told a screen reader nothing, and its hex code
            # ("#6b7a3c · 34%") told a class little more (session 39's note); the code is in the help, and in the
            # label where two neighboring bins share a name (at L 30 all six were "brown": session 40's review).
            named = names[k] if names.count(names[k]) == 1 else with_code(s["rgb"])
            pair.button(f"{named} · {share_text(s['probability'])}", key=f"{picker_key}.suggest.{k}",
                        on_click=safe(_set_picker), args=(picker_key, s["rgb"]),
                        help=f"{with_code(s['rgb'])}: the model gives it {s['probability']:.1%}")
    # The picker's start set once through its state, not value=: both at once made Streamlit warn on every
    # suggestion clicked.
    st.session_state.setdefault(picker_key, hex_code(result[y, x]))
    st.color_picker("Hint color (starts at the model's current color here)", key=picker_key)
    _painted_ui(st.session_state[picker_key], float(luminance(picture.rgb[y:y + 1, x:x + 1])[0, 0]))
    full = len(hints_of(digest)) >= MAX_HINTS
    st.button("Add hint", key=f"{picker_key}.add", type="primary", icon=":material/add_location:",
              on_click=safe(_add_hint), args=(digest, point, picker_key), disabled=full)
    if not full and st.session_state[picker_key].lower() == hex_code(result[y, x]).lower():
        # Added as it starts, a hint changed nothing to see: a class clicked Add and the picture stayed as it was
        # (session 39's walk-through).
        st.caption("This is the color the model already gives this point: pick another one (or a swatch above) to "
                   "change it. Added as it is, it keeps this color here.")
    if full:
        st.caption(f"This image has {MAX_HINTS} hints, the most it takes: remove one to add another.")


# Picked and painted colors closer than this (CIE76 ΔE) look alike: nothing to say.
PAINTED_DELTA_E = 3.0


def _painted_ui(picked_hex: str, L: float) -> None:
    """The color the picked one paints at this point: the photo keeps its lightness, so a color much lighter or
    darker than the point is painted at the point's lightness, less vivid where a screen has no brighter version."""
    from colorizer.color import rgb_to_lab

    picked = _rgb(picked_hex)
    painted = painted_color(picked, L)
    labs = rgb_to_lab(np.array([[picked, painted]], np.uint8))[0]
    difference = float(np.linalg.norm(labs[0] - labs[1]))
    if difference < PAINTED_DELTA_E:
        return
    row = st.container(horizontal=True, gap="small", vertical_alignment="center")
    _swatch_ui(row, painted, 20)
    row.caption(f"Painted here as {with_code(painted)}: the photo keeps its lightness at this point (L {L:.0f}), so the "
                "color takes that lightness, less vivid where a screen shows no more.")


def _list_ui(digest: str, name: str) -> None:
    added = st.session_state.pop(ADDED_KEY, None)
    if added:
        st.toast(added, icon=":material/colorize:")
    hints = hints_of(digest)
    if not hints:
        st.caption("No hints yet: the result is the model's automatic colorization.")
        return
    st.markdown(f"**{len(hints)} hint{'s' if len(hints) != 1 else ''}**")
    earlier = max(0, len(hints) - LISTED_HINTS)
    if earlier:
        _earlier_ui(digest, hints[:earlier])
    for j, hint in enumerate(hints[earlier:], start=earlier):
        # The button's third of the row: at [1, 4, 2] it read "Remo…" at 1300 px (session 34's walkthrough).
        swatch, text, remove = button_row(f"hint_{digest[:16]}_{j}", [1, 3, 3], swatch_first=True,
                                          vertical_alignment="center")
        _swatch_ui(swatch, hint["rgb"], 20)
        text.write(f"Hint {j + 1}: x {hint['x']:g}, y {hint['y']:g} · {with_code(hint['rgb'])}")
        remove.button(f"Remove {j + 1}", key=f"colorize.hint_remove.{digest[:16]}.{j}", on_click=safe(_remove),
                      args=(digest, j), help=f"Remove hint {j + 1}")
    st.button("Remove all hints", key=f"colorize.hint_clear.{digest[:16]}", on_click=safe(_remove), args=(digest, None))
    st.download_button("Download hints (JSON)", data=hints_to_json(hints), file_name=f"{name}_hints.json",
                       mime="application/json", key=f"colorize.hint_download.{digest[:16]}", on_click="ignore",
                       icon=":material/download:")
    # A reload lost them (session 36's state audit said so; session 38 keeps them): say where they live and for how long.
    # (A browser that keeps no cookie for the site is a new visitor at each reload: ui.visitor.)
    st.caption(f"Hints are kept on this server for this browser for {hint_store.KEEP_S / 3600:.0f} hours: a reload "
               "or another tab finds them for the same picture (unless the browser keeps no cookie for this site). "
               "Download them to keep them longer, and load the file on the Colorize or Video page (or give it to the "
               "command line's --hints) to use them again.")


def _earlier_ui(digest: str, hints: list[dict]) -> None:
    """Hints 1 to ``len(hints)``, before the last ``LISTED_HINTS``: one table, and one of them removed by its number."""
    with st.expander(f"Hints 1–{len(hints)}"):
        st.dataframe({"hint": list(range(1, len(hints) + 1)), "x": [h["x"] for h in hints],
                      "y": [h["y"] for h in hints], "color": [with_code(h["rgb"]) for h in hints]},
                     hide_index=True)
        number_key = f"colorize.hint_number.{digest[:16]}"
        number = st.number_input("Hint number", 1, len(hints), 1, key=number_key)
        st.button(f"Remove hint {number}", key=f"colorize.hint_remove_number.{digest[:16]}", on_click=safe(_remove),
                  args=(digest, int(number) - 1))


def _upload_ui(digest: str, shape: tuple[int, ...]) -> None:
    """A hints JSON (as the CLI takes) replaces this image's hints; a bad one is one error line."""
    upload = st.file_uploader("Load hints (JSON)", type=["json"], key=f"colorize.hint_upload.{digest[:16]}",
                              max_upload_size=1)  # a hints file is at most 256 kB (colorizer.hints)
    if upload is None or _store(UPLOADED_KEY).get(digest) == upload.file_id:
        return
    try:
        hints = validate_hints(parse_hints_json(upload.getvalue(), upload.name), shape, source=upload.name)
    except HintError as err:
        st.error(plain(str(err)), icon=":material/error:")
        return
    _store(UPLOADED_KEY)[digest] = upload.file_id
    _store(HINTS_KEY)[digest] = hints
    _kept(digest)
    _store(POINT_KEY).pop(digest, None)
    st.rerun()


def hints_ui(picture: DecodedImage, model: Colorizer, stamp: tuple, digest: str, result: np.ndarray) -> None:
    """Click-to-color for one picture (see the module docstring)."""
    st.markdown("**Color hints**: click the result to pick a point (or type it under the photo), choose its color, "
                "add it. The model spreads each hint to the parts it takes to share that color, often far beyond "
                "the object you clicked (one hint can tint most of a photo): give each region that should keep its "
                "own color a hint of its own.")
    shown = widgets.display(result, picture.alpha, CLICK_SIDE)  # transparent where the picture is
    image_column, controls = st.columns([3, 2])
    with image_column:
        click = clickable_image(shown, key=f"colorize.hint_click.{digest[:16]}",
                                alt=f"{picture.name} colorized: click or tap a point to give it a color",
                                marks=_marks(hints_of(digest), _store(POINT_KEY).get(digest), picture.rgb.shape))
    _take_click(digest, click, shown.shape, picture.rgb.shape)  # before the typed point's inputs: it sets them
    with image_column:
        _typed_point_ui(digest, picture.rgb.shape)
    point = _store(POINT_KEY).get(digest)
    with controls, wrapping_labels(f"hints_{digest[:16]}"):   # a narrow column: labels on two lines, not cut
        if point is not None:
            _point_ui(model, stamp, picture, digest, result, point)
        _list_ui(digest, widgets.file_stem(picture.name))
        _upload_ui(digest, picture.rgb.shape)
