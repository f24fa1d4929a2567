"""A picture that tells where it was clicked or tapped, in its own pixels (the Colorize page's hint points).

Drawn by Streamlit's own components v2, in the page itself rather than in an iframe: the picture stretches to its
column and follows it when the sidebar opens or closes or a phone turns (the iframe of
``streamlit-image-coordinates``, used before, kept the height it had when the picture loaded, so its bottom was cut
off after the column widened), and a screen reader reads its ``alt``. No file is served: the picture travels as a
data URL, and the JavaScript below is all there is.

- ``clickable_image(image, key, alt)`` → the (x, y) clicked since the last run, in ``image``'s pixels, or None.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from ui.compare_slider import data_url

__all__ = ["clickable_image"]

# The point is measured on the picture as the page draws it, then scaled to the picture's own pixels: the column
# sets the drawn size, and it changes without a rerun. A trigger value is reported on the next run only, so a click
# is taken once, however often the page reruns after it.
_JS = """
export default function ({ data, parentElement, setTriggerValue }) {
  let picture = parentElement.querySelector("img");
  if (!picture) {
    picture = document.createElement("img");
    parentElement.appendChild(picture);
  }
  picture.alt = data.alt;  // a property, not markup: a file's name in it stays text
  // As wide as its column, but never taller than most of the window: a tall strip drawn at the column's width was
  // 15 screens high (session 35's audit). The drawn box keeps the picture's aspect, so the click maths holds.
  picture.style.width = `min(100%, calc(${MAX_HEIGHT_VH}vh * ${data.aspect}))`;
  if (picture.getAttribute("src") !== data.src) picture.setAttribute("src", data.src);
  picture.onclick = (event) => {
    const box = picture.getBoundingClientRect();
    const inside = (offset, drawn, own) => Math.min(own - 1, Math.max(0, Math.floor(offset * own / drawn)));
    setTriggerValue("click", {
      x: inside(event.clientX - box.left, box.width, picture.naturalWidth),
      y: inside(event.clientY - box.top, box.height, picture.naturalHeight),
    });
  };
}
"""
MAX_HEIGHT_VH = 80  # the tallest a picture is drawn, in hundredths of the window's height
_JS = _JS.replace("${MAX_HEIGHT_VH}", str(MAX_HEIGHT_VH))
_CSS = "img { display: block; width: 100%; height: auto; cursor: crosshair; border-radius: 0.5rem; }"

_component = st.components.v2.component("colorizer.clickable_image", js=_JS, css=_CSS)


def clickable_image(image: np.ndarray, key: str, alt: str) -> tuple[int, int] | None:
    """Show uint8 RGB (or RGBA) ``image`` across its column; return the point clicked since the last run, as (x, y) in
    ``image``'s pixels (0 ≤ x < width, 0 ≤ y < height), or None when there was no click."""
    aspect = image.shape[1] / max(image.shape[0], 1)  # width / height: the drawn width for a height cap
    result = _component(key=key, data={"src": data_url(image), "alt": alt, "aspect": round(aspect, 6)},
                        on_click_change=_ignore)
    return _point(result.get("click"), image.shape)


def _ignore() -> None:
    """A click needs a callback to be reported at all (components v2 reports only the events it is given); the
    rerun it starts is all the page needs."""


def _point(click, shape: tuple[int, ...]) -> tuple[int, int] | None:
    """The browser's report → a point within the picture, or None; what a browser sends is not trusted."""
    if not isinstance(click, dict):
        return None
    try:
        x, y = int(click["x"]), int(click["y"])
    except (KeyError, TypeError, ValueError, OverflowError):
        return None
    height, width = shape[:2]
    return min(width - 1, max(0, x)), min(height - 1, max(0, y))
