"""Text that came from a visitor (a file name, an error line quoting one) shown as text, never as Markdown.

Streamlit renders Markdown in ``st.markdown``, ``st.caption``, ``st.error``/``st.warning``/``st.info``,
expander labels and image captions: an upload named ``[prize](https://evil.example).png`` would be a
link, ``![x](https://tracker.example/p.gif).png`` would fetch a remote image in every viewer's browser,
``:red[...]`` or ``$...$`` would be styled, ``*draft*.png`` shown as *draft*.png. ``plain(text)``
backslash-escapes the characters that open Markdown's links, images, emphasis, code, HTML, headings and
tables, Streamlit's directives (``:red[...]``: the bracket) and KaTeX (``$``), and folds line breaks, so
the text shows exactly as it was written (ordinary names such as ``photo.png: reason`` keep their source).
``without_server_paths(text)``: every server path in an error line or a card's text made "<server path>".
"""
from __future__ import annotations

import re

__all__ = ["plain", "without_server_paths"]

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+!|<>~$])")
# A server path in a text: absolute (POSIX or Windows), in a home folder, or a file:// URL of one. Quoted (as an
# OSError quotes its files) it runs to the closing quote, spaces and all ("/srv/my app/x"); bare, to a space.
_START = r"(?:file://)?(?:/(?!/)|~/|[A-Za-z]:\\)"
_QUOTED_PATH = re.compile(r"(?P<lead>['\"])" + _START + r"(?:(?!(?P=lead))[^\n])*(?P=lead)")
_SERVER_PATH = re.compile(r"(?P<lead>^|[\s=:'\"(])" + _START + r"[^\s'\"]*")
# What GitHub-flavoured Markdown turns into links by itself: "scheme://…" and "www.…".
_AUTOLINK = re.compile(r"(?i)(://|\bwww\.)")


def plain(text: object) -> str:
    """``text`` (made one line) with Markdown's special characters backslash-escaped."""
    escaped = _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
    return _AUTOLINK.sub(lambda m: ":\\/\\/" if m.group(1) == "://" else m.group(1)[:3] + "\\.", escaped)


def without_server_paths(text: str) -> str:
    """``text`` with every server path replaced by "<server path>": what a page may say of an error or a card
    without telling every visitor how the server's disk is laid out."""
    quoted_scrubbed = _QUOTED_PATH.sub(r"\g<lead><server path>\g<lead>", text)
    return _SERVER_PATH.sub(r"\g<lead><server path>", quoted_scrubbed)
