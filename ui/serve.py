"""``python -m ui.serve [streamlit run options]``: ``streamlit run streamlit_app.py`` with the default
model already loading while the server starts (``ui.warmup``), not from the first visit on.

The Docker image runs the app this way. ``streamlit run streamlit_app.py`` (Streamlit Community Cloud,
local runs) works too; there the warm-up starts with the first visitor's page, the earliest moment a
plain ``streamlit run`` runs any of the app's code.
"""
from __future__ import annotations

import sys
from pathlib import Path

ENTRY = Path(__file__).resolve().parent.parent / "streamlit_app.py"


def main(argv: list[str] | None = None) -> None:
    from colorizer import process
    from ui import server_tuning, warmup

    process.limit_malloc_arenas()
    server_tuning.keep_keras_state()
    server_tuning.cap_uploads()
    warmup.start()
    from streamlit.web.cli import main as streamlit_main

    sys.argv = ["streamlit", "run", str(ENTRY), *(sys.argv[1:] if argv is None else argv)]
    streamlit_main()


if __name__ == "__main__":
    main()
