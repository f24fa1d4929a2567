"""A picture that tells where it was clicked or tapped, in its own pixels (the hint points of the Colorize page's
pictures and of the Video page's first frame).

Drawn by Streamlit's own components v2, in the page itself rather than in an iframe: the picture stretches to its
column and follows it when the sidebar opens or closes or a phone turns (the iframe of
``streamlit-image-coordinates``, used before, kept the height it had when the picture loaded, so its bottom was cut
off after the column widened), and a screen reader reads its ``alt``. No file is served: the picture travels as a
data URL, and the JavaScript below is all there is.

The hints' dots and the pending point's ring are drawn by the page over the picture, at a fixed size in CSS pixels:
drawn into the picture they shrank with it, to about 8 px across on a phone's 264-px column (session 40's audit), and
every click made a new picture, which the browser loaded again only to move a ring.

- ``clickable_image(image, key, alt, marks)`` → the (x, y) clicked since the last run, in ``image``'s pixels, or None.
- ``Mark``: a dot of a color (a hint) or a ring (the pending point) at a place given as fractions of the picture.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np
import streamlit as st

from ui.compare_slider import data_url

__all__ = ["Mark", "clickable_image", "DOT_PX", "RING_PX"]

# The point is measured on the picture as the page draws it, then scaled to the picture's own pixels: the column
# sets the drawn size, and it changes without a rerun. A trigger value is reported on the next run only, so a click
# is taken once, however often the page reruns after it.
_JS = """
export default function ({ data, parentElement, setTriggerValue }) {
  let frame = parentElement.querySelector(".frame");
  if (!frame) {
    frame = document.createElement("div");
    frame.className = "frame";
    frame.appendChild(document.createElement("img"));
    parentElement.appendChild(frame);
  }
  const picture = frame.querySelector("img");
  picture.alt = data.alt;  // a property, not markup: a file's name in it stays text
  // As wide as its column, but never taller than most of the window: a tall strip drawn at the column's width was
  // 15 screens high (session 35's audit). The drawn box keeps the picture's aspect, so the click maths holds.
  frame.style.width = `min(100%, calc(${MAX_HEIGHT_VH}vh * ${data.aspect}))`;
  if (picture.getAttribute("src") !== data.src) picture.setAttribute("src", data.src);
  // The marks, placed in percent of the picture: they follow it however wide it is drawn. One on an edge pixel is
  // kept within the picture (its centre at most half its size from the edge): centred on a corner, three quarters of
  // it hung in the margin beside the picture (session 41's walk-through).
  frame.querySelectorAll(".mark").forEach((old) => old.remove());
  for (const mark of data.marks) {
    const element = document.createElement("span");
    element.className = mark.color ? "mark dot" : "mark ring";
    const half = (mark.color ? ${DOT_PX} : ${RING_PX}) / 2;
    const within = (share) => `clamp(${half}px, ${100 * share}%, calc(100% - ${half}px))`;
    element.style.left = within(mark.across);
    element.style.top = within(mark.down);
    if (mark.color) element.style.background = mark.color;
    element.setAttribute("aria-hidden", "true");  // the hints' list says the same in words
    frame.appendChild(element);
  }
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
DOT_PX = 14   # a hint's dot across, CSS px, rims outside it: a fingertip covers it, the rims show it is there
RING_PX = 22  # the pending point's ring across, CSS px: open, so the color under it shows
for _name, _value in (("MAX_HEIGHT_VH", MAX_HEIGHT_VH), ("DOT_PX", DOT_PX), ("RING_PX", RING_PX)):
    _JS = _JS.replace("${%s}" % _name, str(_value))
# The rims are black inside white, to be seen on any color; a mark lets clicks through to the picture under it.
_CSS = f"""
.frame {{ position: relative; }}
img {{ display: block; width: 100%; height: auto; cursor: crosshair; border-radius: 0.5rem; }}
.mark {{ position: absolute; transform: translate(-50%, -50%); border-radius: 50%; pointer-events: none;
         box-sizing: border-box; }}
.dot {{ width: {DOT_PX}px; height: {DOT_PX}px; box-shadow: 0 0 0 1.5px #000, 0 0 0 3px #fff; }}
.ring {{ width: {RING_PX}px; height: {RING_PX}px; border: 3px solid #fff; box-shadow: 0 0 0 1px #000, inset 0 0 0 1px #000; }}
"""

_component = st.components.v2.component("colorizer.clickable_image", js=_JS, css=_CSS)


class Mark(NamedTuple):
    """A mark over the picture: its centre as fractions of the picture's width and height (0 to 1, from the top
    left), and a hint's color as ``#rrggbb``, or None for the pending point's open ring."""
    across: float
    down: float
    color: str | None = None


def clickable_image(image: np.ndarray, key: str, alt: str, marks: list[Mark] = ()) -> tuple[int, int] | None:
    """Show uint8 RGB (or RGBA) ``image`` across its column with ``marks`` over it; return the point clicked since the
    last run, as (x, y) in ``image``'s pixels (0 ≤ x < width, 0 ≤ y < height), or None when there was no click."""
    aspect = image.shape[1] / max(image.shape[0], 1)  # width / height: the drawn width for a height cap
    result = _component(key=key, data={"src": data_url(image), "alt": alt, "aspect": round(aspect, 6),
                                       "marks": [mark._asdict() for mark in marks]},
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
