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
- ``NARROW_ROWS_CSS``: the rules, part of ``ui.widgets.page_style``.

A row's ``key`` is unique on the page (a container's key: two alike fail the page).
"""
from __future__ import annotations

import streamlit as st

__all__ = ["NARROW_ROWS_CSS", "button_row", "metric_row"]

_BUTTON_KEY = "button_row_"
_SWATCH_KEY = f"{_BUTTON_KEY}swatch_"
_METRIC_KEY = "metric_row_"
_COLUMNS = '[data-testid="stHorizontalBlock"] > [data-testid="stColumn"]'
# ``max-content``: what the column holds, each line unbroken; a flex item wider than the room left on its line wraps
# to the next.
NARROW_ROWS_CSS = (f'.stApp [class*="st-key-{_BUTTON_KEY}"] {_COLUMNS}:last-child, '
                   f'.stApp [class*="st-key-{_METRIC_KEY}"] {_COLUMNS} {{ min-width: max-content; }}\n'
                   f'.stApp [class*="st-key-{_SWATCH_KEY}"] {_COLUMNS}:first-child {{ flex: 0 0 auto; }}')


def button_row(key: str, spec, swatch_first: bool = False, **columns_options) -> list:
    """``st.columns(spec, **columns_options)``, the last column kept whole."""
    with st.container(key=f"{_SWATCH_KEY if swatch_first else _BUTTON_KEY}{key}"):
        return st.columns(spec, **columns_options)


def metric_row(key: str, count: int) -> list:
    """``st.columns(count)``, every column kept whole."""
    with st.container(key=f"{_METRIC_KEY}{key}"):
        return st.columns(count)
