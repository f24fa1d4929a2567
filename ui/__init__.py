"""Streamlit UI support for the app (the only package besides the pages that imports streamlit).

- ``ui.loaders``: every ``st.cache_resource`` / ``st.cache_data`` loader (models, images, results);
- ``ui.widgets``: the shared sidebar (model picker, image source) and other ``*_ui()`` helpers;
- ``ui.charts``: plotly figure builders and channel renderings (no streamlit calls);
- ``ui.compare_slider``: an offline before/after slider (inline HTML/CSS/JS, images as data URLs).
- ``ui.tables``: the metric tables' columns: order, labels, help and number formats.
- ``ui.work_queue``: heavy work one job at a time per server, with the waiting line ("Queued: N ahead").
The pages in ``pages/`` hold layout only and call these; the model code lives in ``colorizer/``.
"""
