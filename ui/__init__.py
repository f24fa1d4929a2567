"""Streamlit UI support for the app (the only package besides the pages that imports streamlit).

- ``ui.loaders``: the app's cached loaders (models, images, results: ``ui.shared_cache``; cards and histories);
  the Video page keeps its sample clip and first frames in ``ui.video_ui``;
- ``ui.widgets``: the shared sidebar (model picker, image source) and other ``*_ui()`` helpers;
- ``ui.charts``: plotly figure builders and channel renderings (no streamlit calls);
- ``ui.compare_slider``: an offline before/after slider (inline HTML/CSS/JS, images as data URLs).
- ``ui.tables``: the metric tables' columns: order, labels, help and number formats.
- ``ui.work_queue``: heavy work one job at a time per server, with the waiting line ("Queued: N ahead").
- ``ui.clip_store``: the Video page's clips on disk (content-addressed, the least recently used go first), in a
  folder of ``ui.temp_folders`` (the server user's alone);
  ``ui.photo_store``, the same for the Fine-tune page's chosen photos, so that a trip to another page keeps them.
- ``ui.<page>_ui`` (colorize, channels, compare, curves, finetune, video): one page's parts and its
  ``<page>_page_ui()``, which the page file ``pages/<page>.py`` runs through ``widgets.run_page``;
  ``hints_ui``, ``reference_ui``, ``certainty_ui``: parts of the Colorize page (the L/a/b page reads
  the reference photo chosen there).
The pages in ``pages/`` are thin scripts; the model code lives in ``colorizer/``.
"""
