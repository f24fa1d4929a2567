"""Video: old film in, color film out, with colors that do not flicker (see the modules' docstrings)."""
