"""The abuse suite: one test (at least) per finding of issue 25, "a public demo that one visitor cannot
take down, and a class that gets its colors in seconds". Each test's docstring names its finding; each
failed on the code before the fix. Hostile files are generated here, at test time, small on disk
(``colorizer.bench.hostile``). The browser's two-visitor case is in ``tests/test_browser.py``.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _streamlit_config() -> dict:
    return tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())


# ----------------------------------------------------------------------------------------- throughput


def test_streamlit_no_longer_clears_the_keras_session_after_every_run(monkeypatch):
    """Finding: a class of 20 waited 33.9 s; one upload took 3.1 s for 0.1 s of network. Profiled: after
    every script run Streamlit calls keras.backend.clear_session() (a full gc.collect() over TensorFlow's
    heap, and every shared model's kernel cache cleared). ``server_tuning`` keeps the matplotlib half."""
    import keras
    from streamlit.runtime.scriptrunner import script_runner

    from ui import server_tuning

    cleared, closed = [], []
    monkeypatch.setattr(keras.backend, "clear_session", lambda *a, **k: cleared.append(1))
    monkeypatch.setattr(script_runner, "_clean_problem_modules", script_runner._clean_problem_modules)
    monkeypatch.setattr(server_tuning, "_done", False)
    script_runner._clean_problem_modules()
    assert cleared == [1], "Streamlit's own hook clears Keras's session (what made the class wait)"
    assert server_tuning.keep_keras_state()
    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "close", lambda which: closed.append(which))
    script_runner._clean_problem_modules()
    assert cleared == [1] and closed == ["all"]


def test_hosted_config_runs_no_per_run_collection_or_file_watcher():
    """Finding (throughput): after every run Streamlit also ran gc.collect(2) and walked ~5,000 module
    paths on the event loop (the file watcher), stalling every other session."""
    config = _streamlit_config()
    assert config["runner"]["postScriptGC"] is False
    assert config["server"]["fileWatcherType"] == "none"
    for entry in ("streamlit_app.py", "ui/serve.py"):
        assert "server_tuning.keep_keras_state()" in (ROOT / entry).read_text(), entry
