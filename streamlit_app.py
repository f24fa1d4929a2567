"""Colorizer studio: the entry of the Streamlit app (``streamlit run streamlit_app.py``).

It starts the default model loading in the background (``ui.warmup``, once per server process), sets
the page up, declares the navigation over the page files in ``pages/`` and draws the one shared
sidebar (model picker and image source); the pages read those choices from the session state through
``ui.widgets``. Model code lives in ``colorizer/``, cached loaders in ``ui.loaders``.
"""
from colorizer import process
from ui import server_tuning, warmup

process.limit_malloc_arenas()  # before the threads it concerns exist (see colorizer/process.py)
server_tuning.keep_keras_state()  # Streamlit clears Keras's session after every run otherwise (ui/server_tuning.py)
server_tuning.cap_uploads()  # Streamlit keeps every upload of a session in memory otherwise

import streamlit as st  # noqa: E402

from ui.widgets import app_pages, mark_entry_ran, page_style, sidebar_ui  # noqa: E402

st.set_page_config(page_title="Colorizer studio", page_icon=":material/palette:", layout="wide")
page_style()
# Then TensorFlow imports in the background while the rest of the page draws. Not before the page's first element:
# Streamlit's first one in a process walks the call stack's modules (inspect.stack), and beside TensorFlow's import
# of thousands of modules that took 3 s of a new server's first visit (session 44's walk-through).
warmup.start()

navigation = st.navigation(app_pages())
sidebar_ui(navigation.title)
mark_entry_ran()
navigation.run()
