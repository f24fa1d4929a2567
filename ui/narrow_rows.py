"""Rows of columns on a narrow screen: what a column holds moves under the other columns, whole, instead of being cut.

Streamlit gives each column its share of the row, and text wider than its share is cut with an ellipsis: on a phone
held sideways with the sidebar open (844 × 390) the hint list's "Remove 1" read "Re…" and the typed point's "Pick
this point" read "Pick t…", in rows of 171 and 261 px (session 41's walk-through), and the Colorize page's scores read
"24.3…" and "+4.96 dB vs …" (session 42's sweep; "24.38…" at 1024 × 768 too). In these rows a column is never
narrower than what it holds on one line: where the row has no room for it, it wraps under the others (Streamlit's rows
are wrapping flex boxes already). Where there is room, the columns keep their shares.

- ``button_row(key, spec, swatch_first=False, **columns_options)``: ``st.columns(spec, …)`` whose last column (a
  button) is kept whole. ``swatch_first``: the first column (a color swatch) is as wide as what it holds at every
  width, so that a wrapped row's first line goes to the text beside it.
- ``metric_row(key, count)``: ``st.columns(count)`` of ``st.metric``s, every one kept whole.
- ``wrapping_labels(key)``: a container whose buttons' labels go on to a second line where they would be cut (a
  narrow column's "Download hints (J…", session 42's walk-through).
- ``kept_pair(container, key)``: a row of two things (a swatch and its button) that never part: the button's label
  wraps first (in a row that wrapped, the model's suggested colors stood as swatches stacked over cut buttons).
- ``NARROW_ROWS_CSS``: the rules, part of ``ui.widgets.page_style``.

A ``key`` is unique on the page (a container's key: two alike fail the page).
"""
from __future__ import annotations

import streamlit as st

__all__ = ["NARROW_ROWS_CSS", "button_row", "kept_pair", "metric_row", "wrapping_labels"]

_BUTTON_KEY = "button_row_"
_SWATCH_KEY = f"{_BUTTON_KEY}swatch_"
_METRIC_KEY = "metric_row_"
_LABELS_KEY = "wrapping_labels_"
_PAIR_KEY = "kept_pair_"
_COLUMNS = '[data-testid="stHorizontalBlock"] > [data-testid="stColumn"]'
_LABEL = 'button [data-testid="stMarkdownContainer"]'  # Streamlit's button label: one line, cut with "…"
# ``max-content``: what the column holds, each line unbroken; a flex item wider than the room left on its line wraps
# to the next.
NARROW_ROWS_CSS = (f'.stApp [class*="st-key-{_BUTTON_KEY}"] {_COLUMNS}:last-child, '
                   f'.stApp [class*="st-key-{_METRIC_KEY}"] {_COLUMNS} {{ min-width: max-content; }}\n'
                   f'.stApp [class*="st-key-{_SWATCH_KEY}"] {_COLUMNS}:first-child {{ flex: 0 0 auto; }}\n'
                   f'.stApp [class*="st-key-{_LABELS_KEY}"] {_LABEL}, '
                   f'.stApp [class*="st-key-{_LABELS_KEY}"] {_LABEL} p {{ white-space: normal; }}\n'
                   # No wider than its row, its button's box allowed to shrink (Streamlit's keeps its one-line width
                   # and stood out of the column) so that its label wraps.
                   f'.stApp [class*="st-key-{_PAIR_KEY}"] {{ flex-wrap: nowrap; max-width: 100%; }}\n'
                   f'.stApp [class*="st-key-{_PAIR_KEY}"] > :last-child {{ flex-shrink: 1; min-width: 0; }}')


def button_row(key: str, spec, swatch_first: bool = False, **columns_options) -> list:
    """``st.columns(spec, **columns_options)``, the last column kept whole."""
    with st.container(key=f"{_SWATCH_KEY if swatch_first else _BUTTON_KEY}{key}"):
        return st.columns(spec, **columns_options)


def metric_row(key: str, count: int) -> list:
    """``st.columns(count)``, every column kept whole."""
    with st.container(key=f"{_METRIC_KEY}{key}"):
        return st.columns(count)


def wrapping_labels(key: str):
    """``st.container()`` whose buttons' labels wrap on to more lines rather than be cut."""
    return st.container(key=f"{_LABELS_KEY}{key}")


def kept_pair(container, key: str):
    """A horizontal container in ``container`` as wide as what it holds, whose items never wrap apart (put it in a
    ``wrapping_labels`` container: its button's label wraps instead)."""
    return container.container(horizontal=True, width="content", gap="small", vertical_alignment="center",
                                key=f"{_PAIR_KEY}{key}")
