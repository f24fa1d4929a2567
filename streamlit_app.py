"""Colorizer studio: the entry of the Streamlit app (``streamlit run streamlit_app.py``).

It sets the page up, declares the navigation over the page files in ``pages/`` and draws the one
shared sidebar (model picker and image source); the pages read those choices from the session state
through ``ui.widgets``. Model code lives in ``colorizer/``, cached loaders in ``ui.loaders``.
"""
import streamlit as st

from ui.widgets import app_pages, mark_entry_ran, sidebar_ui

st.set_page_config(page_title="Colorizer studio", page_icon=":material/palette:", layout="wide")

navigation = st.navigation(app_pages())
sidebar_ui()
mark_entry_ran()
navigation.run()
