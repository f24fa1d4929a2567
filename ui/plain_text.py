"""Text that came from a visitor (a file name, an error line quoting one) shown as text, never as Markdown.

Streamlit renders Markdown in ``st.markdown``, ``st.caption``, ``st.error``/``st.warning``/``st.info``,
expander labels and image captions: an upload named ``[prize](https://evil.example).png`` would be a
link, ``![x](https://tracker.example/p.gif).png`` would fetch a remote image in every viewer's browser,
``:red[...]`` or ``$...$`` would be styled. ``plain(text)`` escapes every ASCII punctuation character
that Markdown, Streamlit's directives (``:material/...:``, ``:red[...]``) or KaTeX (``$``) read, and folds
line breaks, so the text shows exactly as it was written.
"""
from __future__ import annotations

import re

__all__ = ["plain"]

_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&=\"'^%@/])")


def plain(text: object) -> str:
    """``text`` (made one line) with Markdown's special characters backslash-escaped."""
    return _SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
