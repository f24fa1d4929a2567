"""Text that came from a visitor (a file name, an error line quoting one) shown as text, never as Markdown.

Streamlit renders Markdown in ``st.markdown``, ``st.caption``, ``st.error``/``st.warning``/``st.info``,
expander labels and image captions: an upload named ``[prize](https://evil.example).png`` would be a
link, ``![x](https://tracker.example/p.gif).png`` would fetch a remote image in every viewer's browser,
``:red[...]`` or ``$...$`` would be styled, ``*draft*.png`` shown as *draft*.png. ``plain(text)``
backslash-escapes the characters that open Markdown's links, images, emphasis, code, HTML, headings and
tables, Streamlit's directives (``:red[...]``: the bracket) and KaTeX (``$``), and folds line breaks, so
the text shows exactly as it was written (ordinary names such as ``photo.png: reason`` keep their source).
"""
from __future__ import annotations

import re

__all__ = ["plain"]

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~$])")
# What GitHub-flavoured Markdown turns into links by itself: "scheme://…" and "www.…".
_AUTOLINK = re.compile(r"(?i)(://|\bwww\.)")


def plain(text: object) -> str:
    """``text`` (made one line) with Markdown's special characters backslash-escaped."""
    escaped = _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
    return _AUTOLINK.sub(lambda m: ":\\/\\/" if m.group(1) == "://" else m.group(1)[:3] + "\\.", escaped)
