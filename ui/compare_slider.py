"""An offline before/after slider: two images stacked, a handle reveals one over the other.

No component from a CDN: the page is one inline HTML string (CSS + ~10 lines of JS) with both
images embedded as base64 data URLs, shown with ``st.iframe`` (the successor of the deprecated
``st.components.v1.html``). The handle is a native ``<input type="range">`` stretched over the
picture, so mouse, touch and keyboard (arrow keys) all work without any library.

- ``before_after_html(before, after, ...)`` → (html, height in px): uint8 RGB/RGBA H×W×3|4 images of
  the same aspect ratio (the smaller is resized to the larger's display size);
- ``before_after_ui(before, after, ...)``: renders it in the page.
"""
from __future__ import annotations

import base64
import html
import io

import numpy as np
import streamlit as st
from PIL import Image

from colorizer.color import fit_within

__all__ = ["before_after_html", "before_after_ui", "data_url"]

MAX_DISPLAY_WIDTH = 720
MAX_DISPLAY_HEIGHT = 480
_LABEL_ROOM = 0  # labels sit on the picture, so the frame is as tall as the picture


def data_url(image: np.ndarray) -> str:
    """uint8 image → "data:image/…;base64,…": JPEG (small), or WebP with its alpha kept exactly (a PNG of a
    640-px photo was about 1 MB, sent again with every click on the hint picture; WebP about 60 kB)."""
    mode = "RGBA" if image.ndim == 3 and image.shape[2] == 4 else "RGB"
    buffer = io.BytesIO()
    if mode == "RGBA":
        Image.fromarray(image, mode).save(buffer, format="WEBP", quality=90, alpha_quality=100)
        mime = "image/webp"
    else:
        Image.fromarray(image, mode).save(buffer, format="JPEG", quality=90)
        mime = "image/jpeg"
    return f"data:{mime};base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def _display_size(shape: tuple[int, ...]) -> tuple[int, int]:
    """(width, height) in CSS px that fits MAX_DISPLAY_WIDTH × MAX_DISPLAY_HEIGHT, never enlarging much."""
    h, w = shape[:2]
    scale = min(MAX_DISPLAY_WIDTH / w, MAX_DISPLAY_HEIGHT / h, 4.0)
    return max(1, round(w * scale)), max(1, round(h * scale))


# The slider's least height (the picture letterboxed in it): a 4000×300 panorama on a phone was a 20-px strip with
# its labels cut and the handle taller than the picture (session 34's walkthrough).
MIN_HEIGHT = 64


def before_after_html(before: np.ndarray, after: np.ndarray, before_label: str = "Before",
                      after_label: str = "After", start: float = 50.0) -> tuple[str, int]:
    """Two uint8 images → a self-contained HTML page with the slider, and the height it needs."""
    width, height = _display_size(after.shape)
    # Send no more pixels than are displayed (2× for sharp screens): the page stays light.
    longest = 2 * max(width, height)
    before_src, after_src = data_url(fit_within(before, longest)), data_url(fit_within(after, longest))
    page = _TEMPLATE.format(
        width=width, height=height, start=float(start), min_height=MIN_HEIGHT,
        before=before_src, after=after_src,
        before_label=html.escape(before_label), after_label=html.escape(after_label),
    )
    return page, max(height, MIN_HEIGHT) + _LABEL_ROOM + 4


def before_after_ui(before: np.ndarray, after: np.ndarray, before_label: str = "Before",
                    after_label: str = "After") -> None:
    """Show the before/after slider (input on the left of the handle, result on the right)."""
    page, _ = before_after_html(before, after, before_label, after_label)
    # "content": Streamlit measures the page, so a narrow column gets a shorter frame, not a gap.
    st.iframe(page, height="content", alt=f"Before/after slider: {before_label} and {after_label}")


# Doubled braces are literal CSS/JS braces (str.format template).
_TEMPLATE = """<!doctype html>
<html><head><meta charset="utf-8">
<style>
  html, body {{ margin: 0; padding: 0; background: transparent; font-family: sans-serif; }}
  .ba {{ position: relative; width: {width}px; max-width: 100%; aspect-ratio: {width} / {height};
         min-height: {min_height}px; margin: 0 auto; overflow: hidden; border-radius: 6px; user-select: none; }}
  .ba img {{ position: absolute; inset: 0; width: 100%; height: 100%; object-fit: contain;
             pointer-events: none; display: block; }}
  .ba .before {{ clip-path: inset(0 calc(100% - var(--pos)) 0 0); }}
  .ba .line {{ position: absolute; top: 0; bottom: 0; left: var(--pos); width: 2px; margin-left: -1px;
               background: #fff; box-shadow: 0 0 4px rgba(0,0,0,.6); pointer-events: none; }}
  .ba .knob {{ position: absolute; top: 50%; left: var(--pos); width: 30px; height: 30px; margin: -15px 0 0 -15px;
               border-radius: 50%; background: #fff; box-shadow: 0 0 5px rgba(0,0,0,.6); pointer-events: none;
               display: flex; align-items: center; justify-content: center; font-size: 14px; color: #333; }}
  .ba .label {{ position: absolute; top: 8px; padding: 2px 8px; border-radius: 4px; font-size: 13px;
                background: rgba(0,0,0,.55); color: #fff; pointer-events: none;
                /* each in its half: a fine-tuned model's name on a phone ran over "Gray input" (session 40) */
                max-width: calc(50% - 12px); box-sizing: border-box; white-space: nowrap; overflow: hidden;
                text-overflow: ellipsis; }}
  .ba .label.left {{ left: 8px; }}
  .ba .label.right {{ right: 8px; }}
  .ba input {{ position: absolute; inset: 0; width: 100%; height: 100%; margin: 0; opacity: 0;
               cursor: ew-resize; -webkit-appearance: none; appearance: none; }}
  .ba input:focus-visible ~ .knob {{ outline: 3px solid #4a90e2; }}
</style></head>
<body>
<div class="ba" id="ba" style="--pos: {start}%">
  <img class="after" src="{after}" alt="{after_label}">
  <img class="before" src="{before}" alt="{before_label}">
  <div class="line"></div>
  <span class="label left">{before_label}</span>
  <span class="label right">{after_label}</span>
  <input type="range" min="0" max="100" step="1" value="{start}" aria-label="Reveal: {before_label} (left) vs {after_label} (right)">
  <div class="knob">&#x2194;</div>
</div>
<script>
  const box = document.getElementById("ba");
  const range = box.querySelector("input");
  range.addEventListener("input", () => box.style.setProperty("--pos", range.value + "%"));
</script>
</body></html>
"""
