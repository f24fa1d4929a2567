"""Colorize page: the sidebar's pictures through the sidebar's model.

Per picture: input and result side by side, a before/after slider, decoding notes as captions,
the truth and its metrics when the upload was in color, the VAE's samples, click-to-color hints for
a hint-taking model, colors from a reference photo with the match confidence, a PNG download (alpha
kept); a ZIP of every result when there are several. A broken upload is one error line naming the
file; the other pictures still go through. Layout only: the helpers are in ``ui.colorize_ui``.
"""
from ui import widgets
from ui.colorize_ui import colorize_page_ui

widgets.run_page(colorize_page_ui)
