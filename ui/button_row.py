"""A row of columns whose last column holds a button, the button never cut short on a narrow screen.

Streamlit gives each column its share of the row, and a button in a share narrower than its label is cut with an
ellipsis: on a phone held sideways with the sidebar open (844 × 390) the hint list's "Remove 1" read "Re…" and the
typed point's "Pick this point" read "Pick t…", in rows of 171 and 261 px (session 41's walk-through). In a
``button_row`` the last column is never narrower than what it holds: where the row has no room for it, it moves
under the other columns, whole (Streamlit's rows are wrapping flex boxes already). Where there is room, nothing
changes.

- ``button_row(key, spec, swatch_first=False, **columns_options)``: ``st.columns(spec, …)`` inside a container
  ``BUTTON_ROW_CSS`` applies to. ``swatch_first``: the first column (a color swatch) keeps to the width of what it
  holds, so that a wrapped row's first line goes to the text beside it.
- ``BUTTON_ROW_CSS``: the rules, part of ``ui.widgets.page_style``.
"""
from __future__ import annotations

import streamlit as st

__all__ = ["BUTTON_ROW_CSS", "button_row"]

_KEY = "button_row_"
_SWATCH_KEY = f"{_KEY}swatch_"
_COLUMNS = '[data-testid="stHorizontalBlock"] > [data-testid="stColumn"]'
# ``max-content``: the button's label on one line; a flex item wider than the room left on its line wraps to the next.
BUTTON_ROW_CSS = (f'.stApp [class*="st-key-{_KEY}"] {_COLUMNS}:last-child {{ min-width: max-content; }}\n'
                  f'.stApp [class*="st-key-{_SWATCH_KEY}"] {_COLUMNS}:first-child {{ flex: 0 0 auto; }}')


def button_row(key: str, spec, swatch_first: bool = False, **columns_options) -> list:
    """``st.columns(spec, **columns_options)``, the last column kept whole (``key``: unique on the page)."""
    with st.container(key=f"{_SWATCH_KEY if swatch_first else _KEY}{key}"):
        return st.columns(spec, **columns_options)
