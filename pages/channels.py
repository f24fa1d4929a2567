"""L/a/b channels page: a picture split into L, a and b, their histograms and its ab distribution
over the 313-bin gamut; the model's prediction beside the truth, and where their colors differ; with a
reference photo chosen on the Colorize page, its ab distribution beside the result colored from it.
Layout only: the helpers are in ``ui.channels_ui``.
"""
from ui import widgets
from ui.channels_ui import channels_page_ui

widgets.run_page(channels_page_ui)
