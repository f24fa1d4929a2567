"""Training curves page: every checkpoint's history.csv as plotly curves, overlaid for comparison,
with each model card beside them. Layout only: the helpers are in ``ui.curves_ui``.
"""
from ui import widgets
from ui.curves_ui import curves_page_ui

widgets.run_page(curves_page_ui)
