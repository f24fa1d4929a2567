"""Metric tables of the app: which columns, in what order, with what label, help and number format.

- ``METRIC_COLUMNS``: {key: ``st.column_config`` column} for every number a results or evaluation
  table shows: ``colorizer.metrics.METRIC_NAMES`` (rates and AuC as percentages) plus parameters,
  time and image count. A NaN (SSIM of an image under 11 px, right hue of a truth without color)
  shows as Streamlit's gray "None": a cell with no number, so rows fill every cell they can.
- ``RESULT_COLUMNS``: the Compare page's per-picture table, in display order.
- ``swipe_note(key)``: a line under a wide table, "swipe it sideways", shown only on a phone held upright
  (``SWIPE_NOTE_CSS``, part of ``ui.widgets.page_style``).
- ``GRAY_ROW``: the gray baseline's row name in every table.
"""
from __future__ import annotations

import re

import streamlit as st

__all__ = ["METRIC_COLUMNS", "RESULT_COLUMNS", "GRAY_ROW", "SWIPE_NOTE", "SWIPE_NOTE_CSS", "swipe_note", "shown_name",
           "fine_tune_id", "metric_columns"]

_number = st.column_config.NumberColumn
# The first numbers' width in pixels: beside the pinned model column, two whole ones and a part of the third show on
# a 360-px phone, the cut one saying there is more to swipe to. Streamlit's own widths showed one and a half there,
# "colorfulness vs truth" cut to "colorfulness vs tr" and 46.6 % to "46." (session 39's walk-through).
_NARROW = 76

METRIC_COLUMNS = {
    # Pinned: on a phone a swipe to the numbers left rows without their names (session 34's audit).
    "model": st.column_config.TextColumn("model", pinned=True),
    "parameters": _number("parameters", format="localized"),
    "time_ms": _number("time (ms)", format="%.0f"),
    "getting_ready": st.column_config.CheckboxColumn(
        "first run at this shape", help="The model's first photo of this shape on this server: its time includes "
                                        "getting the network ready (seconds), not only colorizing."),
    "psnr": _number("PSNR dB ↑", format="%.2f", width=_NARROW),
    "ssim": _number("SSIM ↑", format="%.4f", help="Wang et al.'s SSIM (11×11 Gaussian window, σ = 1.5); "
                    "empty for an image under 11 px on a side."),
    "l2_ab": _number("L2_ab ↓", format="%.2f"),
    "right_hue": _number("right hue ↑", format="percent", width=_NARROW,
                         help="Of the truth's colorful pixels (chroma > 15), the share given a color (chroma > 8) "
                              "within 30° of the true hue. Gray scores 0 %."),
    "auc": _number("AuC ↑", format="percent",
                   help="Zhang et al.'s area under the curve of the share of pixels whose ab error is at most t, "
                        "for t = 0 to 150. 100 % = exact colors."),
    "auc_rebalanced": _number("AuC rebalanced ↑", format="percent",
                              help="The AuC with each pixel weighted by the rarity of its true color, so vivid, "
                                   "rare colors count as much as common ones."),
    "colorfulness": _number("colorfulness", format="%.1f",
                            help="Hasler and Süsstrunk's colorfulness: 0 for a gray picture, about 100 for a vivid one."),
    # A percent, as the Colorize page says it ("85 % of the truth's"): "ratio to truth 0.85" beside PSNR read as a
    # ratio of PSNRs (session 38's audit).
    "colorfulness_ratio": _number("color vs truth", format="percent", width=_NARROW + 16,
                                  help="The result's colorfulness as a share of the truth's: 100 % is as colorful as "
                                       "the original, under 100 % more muted, over 100 % more vivid."),
    "n_images": _number("images", format="%d"),
}

# A fine-tuned checkpoint's name ends in 16 random hex digits (``colorizer.finetune.publishing.default_name``: not
# imported, it loads TensorFlow; tests/test_app.py holds the two together), so that no one guesses another's; a
# table shows the first six and "…". The pinned name column cut "hypercolumn-ft-3c7395e337ceb479" to
# "hypercolumn-ft-3c73" at 1280 px, which read as a whole name (session 44's walk-through); six digits still tell a
# server's models apart.
_FINE_TUNED = re.compile(r"\b(?:(\w+)-)?(ft-[0-9a-f]{6})[0-9a-f]{10}\b")
# The name column's width: Streamlit's own cut names past about 19 characters; wider only when a name needs it (on a
# phone every pixel of the pinned column is one less of the numbers), at most what a fine-tune's rows need.
_CHAR_PX, _NAME_PAD_PX, _NAME_MAX_PX, _NAME_FITS_CHARS = 6.6, 24, 240, 18


def shown_name(text: str) -> str:
    """``text`` with each fine-tuned checkpoint's name shortened as a table shows it: "hypercolumn-ft-3c7395…"."""
    return _FINE_TUNED.sub(lambda m: f"{m[1] + '-' if m[1] else ''}{m[2]}…", text)


def fine_tune_id(name: str) -> str:
    """A fine-tuned checkpoint's name without its architecture, "ft-3c7395…" (a row named after it: "hypercolumn
    (base of ft-3c7395…)"); any other name as it is."""
    match = _FINE_TUNED.fullmatch(name)
    return f"{match[2]}…" if match else name


def metric_columns(names) -> dict:
    """``METRIC_COLUMNS`` with the pinned model column wide enough for the longest of ``names`` (as shown)."""
    longest = max((len(name) for name in names), default=0)
    if longest <= _NAME_FITS_CHARS:
        return METRIC_COLUMNS
    width = int(min(longest * _CHAR_PX + _NAME_PAD_PX, _NAME_MAX_PX))
    return {**METRIC_COLUMNS, "model": st.column_config.TextColumn("model", pinned=True, width=width)}


# The gray baseline's row, in every table (a card's evaluation calls it "gray").
GRAY_ROW = "gray (no color)"

# The model and what it scored first: on a phone the first three columns are all that shows without a swipe.
# "first run at this shape" is left out: its boxes looked clickable, and each tile's caption says it.
RESULT_COLUMNS = ("model", "psnr", "colorfulness_ratio", "right_hue", "ssim", "time_ms", "l2_ab", "auc", "auc_rebalanced",
                  "colorfulness", "kind", "architecture", "parameters")

# On a phone a results table shows the pinned model and two or three numbers of ten, and nothing said the rest is a
# swipe away (session 41's audit: 29 % of Compare's table in view); wider screens show every column, or a scroll bar.
SWIPE_NOTE = "Swipe the table sideways for its other columns."
_SWIPE_KEY = "swipe_note_"
# A phone held upright (360-430 CSS px): there every one of these tables is cut. Held sideways (640 px and more) the
# Fine-tune table's five columns can fit, and a note would then say what is not so.
PHONE_MAX_WIDTH_PX = 480
SWIPE_NOTE_CSS = (f'@media (min-width: {PHONE_MAX_WIDTH_PX + 1}px) {{ .stApp [class*="st-key-{_SWIPE_KEY}"] '
                  '{ display: none; } }')


def swipe_note(key: str) -> None:
    """Under a wide table: ``SWIPE_NOTE``, shown on a screen at most ``PHONE_MAX_WIDTH_PX`` wide only (``key``: the
    table's, unique on the page)."""
    with st.container(key=f"{_SWIPE_KEY}{key}"):
        st.caption(SWIPE_NOTE)
