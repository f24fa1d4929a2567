"""ui.warmup (the default model loads in the background, once per process), colorizer.process (the
process's memory and glibc's malloc), and the pure parts of benchmarks.server (the browser-driven parts
run in tests/test_browser.py)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks import browser, server as serverbench
from conftest import wait_until
from colorizer import process
from ui import warmup


@pytest.fixture
def fresh_warmup(monkeypatch):
    monkeypatch.setattr(warmup, "_current", None)
    yield
    record = warmup.current()
    if record is not None:  # a warm-up still running would load into the next test's fixtures
        wait_until(lambda: record.finished is not None, timeout=120)


@pytest.mark.slow
def test_warm_up_loads_the_default_model_into_the_shared_cache_once(fresh_warmup, installed_tiny_checkpoints, monkeypatch):
    from ui import loaders, widgets, work_queue

    queue = work_queue.WorkQueue()
    monkeypatch.setattr(work_queue, "QUEUE", queue)
    # The first page's photo, far wider than tall: at the tiny models' size a gallery photo's aspect rounds to the
    # square the loading pass runs, and the check below could not fail.
    from colorizer.imageio import decode_image
    from app_fixtures import gray_png

    wide = decode_image(gray_png(40, width=200), "wide.png")
    monkeypatch.setattr(loaders, "gallery_picture", lambda key: wide)
    # What it makes ready besides the model, forgotten first (this process's other tests may have made it already).
    from colorizer import color_names, lab8

    monkeypatch.setattr(lab8, "_loops", None)
    monkeypatch.setattr(lab8, "_table", None)
    color_names._named_lab.cache_clear()
    first = warmup.start()
    assert warmup.start() is first  # once per process, whatever the number of runs
    wait_until(lambda: first.finished is not None, timeout=120)
    assert first.error is None and first.seconds is not None
    assert lab8._loops is not None and lab8._table is not None  # the join's kernels and table (session 45)
    assert color_names._named_lab.cache_info().currsize == 1    # the hint swatches' names
    assert first.name == widgets.default_checkpoint(list(loaders.available_checkpoints()))
    monkeypatch.setattr(loaders, "_colorizer_for", lambda *stamp: pytest.fail("loaded again: not a cache hit"))
    model = loaders.load_colorizer(first.name)  # a cache hit now
    assert model.name == first.name
    # Traced at the first page's photo's shape too: its first visitor's seconds are a warm run's (session 39).
    assert model.input_shape(wide.pixels.shape) != model.input_shape((8, 8))
    assert not model.timed_colorize(wide.pixels).first_of_shape
    # The warm-up's load is the first estimate for a visitor waiting behind any model's load (not a colorization's).
    (load_s,) = queue._durations_by_kind[loaders.MODEL_LOAD]
    assert 0 < load_s <= first.seconds


@pytest.mark.slow
def test_the_pages_and_the_sidebar_draw_before_tensorflow_has_loaded():
    """The warm-up imports TensorFlow in the background (10 s on a busy 2-core server) while the first visit draws:
    the sidebar's plain words and the Colorize, L/a/b, Video and Compare pages' modules imported the architectures,
    so the first visitor saw a blank page until that import was done (session 44's walk-through). In a fresh
    interpreter, importing them leaves TensorFlow and Keras unloaded, and the sidebar still has every model's words.
    Nor does the first page (the sidebar and Colorize) import Numba, matplotlib, scikit-image or SciPy: beside the
    warm-up's import of TensorFlow they held its heading back to 7.3–7.9 s (4.3–4.9 s without; session 45)."""
    import subprocess
    import sys

    script = ("import sys\n"
              "import ui.widgets, ui.colorize_ui\n"
              "first = sorted(m for m in ('numba', 'matplotlib', 'skimage', 'scipy') if m in sys.modules)\n"
              "import ui.channels_ui, ui.video_ui, ui.compare_ui\n"
              "from colorizer import ARCHITECTURE_NAMES\n"
              "words = [ui.widgets.in_plain_words(name, {}) for name in ARCHITECTURE_NAMES]\n"
              "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules), all(words), first)\n")
    env = {**os.environ, "COLORIZER_WARMUP": "0"}
    done = subprocess.run([sys.executable, "-c", script], cwd=Path(__file__).resolve().parents[1], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "[] True []", done.stdout


def test_warm_up_can_be_turned_off(fresh_warmup, monkeypatch):
    monkeypatch.setenv("COLORIZER_WARMUP", "0")
    record = warmup.start()
    assert record.finished is not None and "turned off" in record.error


def test_warm_up_failure_is_recorded_not_raised(fresh_warmup, monkeypatch):
    from ui import loaders

    monkeypatch.setattr(loaders, "available_checkpoints", lambda: (_ for _ in ()).throw(OSError("disk gone")))
    record = warmup.start()
    wait_until(lambda: record.finished is not None)
    assert record.error == "OSError: disk gone"


def test_default_checkpoint_prefers_the_flagship():
    from ui.widgets import default_checkpoint

    assert default_checkpoint(["cifar_ae", "hypercolumn", "vae"]) == "hypercolumn"
    assert default_checkpoint(["my-ft"]) == "my-ft"
    assert default_checkpoint([]) is None


def test_limit_malloc_arenas_is_harmless_to_call_twice():
    first = process.limit_malloc_arenas()
    assert first is (process._libc() is not None)  # glibc takes the cap; elsewhere there is none to set
    assert process.limit_malloc_arenas() is first


# ------------------------------------------------------------------------------ bench.server, no browser


def test_memory_of_this_process():
    figures = process.memory_mb(os.getpid())
    assert figures["rss_mb"] > 10 and figures["peak_mb"] >= figures["rss_mb"]
    assert process.memory_mb() == pytest.approx(figures, rel=0.5)  # "self": the same process
    assert process.memory_mb(2**22 + 12345) == {"rss_mb": None, "peak_mb": None}
    assert process.status("Umask") is not None and process.status("NoSuchField") is None


def test_class_photos_are_gray_and_each_of_its_own_size():
    photos = [serverbench.class_photo(i) for i in range(20)]
    assert all(p.ndim == 2 and p.dtype.name == "uint8" for p in photos)
    assert len({p.shape for p in photos}) == 20


def test_server_markdown_reports_every_measurement():
    result = {
        "load_average_start": 0.1, "load_average_end": 0.2, "sessions": 20, "finetune_epochs": 2,
        "cold_start": {"health_s": 0.8, "first_image_s": 6.2}, "cold_start_no_warmup": {"health_s": 0.5, "first_image_s": 8.4},
        "cold_start_streamlit_run": {"health_s": 0.6, "first_image_s": 7.5},
        "memory": {"after_pages": {"peak_mb": 1225.6}, "per_page_peak_mb": {"Colorize": 1149.2, "Fine-tune": 1225.6},
                   "finetune_epochs": 2, "finetune": {"saved": True, "seconds": 50.9},
                   "after_finetune": {"rss_mb": 1877.2, "peak_mb": 2064.9}, "second_finetune": {"saved": True, "seconds": 12.3},
                   "after_second_finetune": {"rss_mb": 1894.5, "peak_mb": 2174.8}, "peak_mb": 2174.8,
                   "limit_mb": serverbench.MEMORY_LIMIT_MB, "within_limit": True},
        "class": {"sessions": 20, "upload_spread_s": 1.2, "last_wait_s": 9.5, "median_wait_s": 6.1,
                  "all_done_after_first_upload_s": 10.1, "all_own_result": True, "problems": {},
                  "sessions_shown_the_queue": 17, "peak_mb": 1300.0, "within_limit": True},
    }
    text = serverbench.server_markdown(result)
    for needle in ("6.2 s with the background warm-up from server start", "7.5 s with plain `streamlit run`",
                   "8.4 s without it", "2,065 MiB with a 2-epoch fine-tune",
                   "resident 1,877 MiB after it), 2,175 MiB after a second one (saved; resident 1,894 MiB",
                   "longest wait from a session's upload to its own result was 9.5 s", "every one its own result",
                   "17 were shown their place in the queue"):
        assert needle in text, needle
    result["cold_start"] = "n/a (ModuleNotFoundError: No module named 'playwright')"
    assert "n/a (ModuleNotFoundError" in serverbench.server_markdown(result)


def test_bench_cli_has_the_server_options():
    from colorizer.cli import build_parser

    args = build_parser().parse_args(["bench", "--server", "--sessions", "5", "--finetune-epochs", "1"])
    assert args.server and args.sessions == 5 and args.finetune_epochs == 1
    assert not build_parser().parse_args(["bench"]).server


def test_the_server_bench_starts_servers_from_the_repository():
    # The servers it spawns run `python -m ui.serve` / `streamlit run streamlit_app.py` from here.
    assert (browser.REPO_ROOT / "streamlit_app.py").is_file() and (browser.REPO_ROOT / "ui" / "serve.py").is_file()


@pytest.mark.slow
def test_loading_a_model_puts_numpy_blas_on_one_thread(tiny_checkpoints, monkeypatch):
    """OpenBLAS's idle workers spin beside TensorFlow's next forward pass (process.one_blas_thread):
    loading a model asks for one BLAS thread, and afterwards numpy's BLAS has one."""
    from threadpoolctl import threadpool_info

    from colorizer import inference

    calls = []
    monkeypatch.setattr(inference, "one_blas_thread", lambda: calls.append("called") or True)
    inference.load(tiny_checkpoints["hypercolumn"])
    assert calls == ["called"]
    assert process.one_blas_thread() is True
    numpy_blas = [info for info in threadpool_info() if info["user_api"] == "blas" and "numpy" in info["filepath"]]
    assert numpy_blas and all(info["num_threads"] == 1 for info in numpy_blas), numpy_blas


@pytest.mark.slow
def test_malloc_keeps_large_buffers_after_fitting(monkeypatch):
    """Keras fit's tf.data sets glibc's trim threshold to 128 KB; loop.fit undoes it (process.keep_large_buffers)."""
    import keras
    import numpy as np

    from colorizer import loop

    assert process.keep_large_buffers() is (process._libc() is not None)
    calls = []
    monkeypatch.setattr(loop, "keep_large_buffers", lambda: calls.append("called") or True)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    x, y = np.zeros((4, 2), np.float32), np.zeros((4, 1), np.float32)
    loop.fit(model, x, y, (x, y), epochs=1, batch_size=2, lr=1e-3, loss="mse", verbose=0)
    assert calls == ["called"]
    # Without glibc there is nothing to tune, and no error.
    monkeypatch.setattr(process, "_libc", lambda: None)
    monkeypatch.setattr(process, "_arenas_limited", False)  # as in a fresh process
    assert process.keep_large_buffers() is False and process.limit_malloc_arenas() is False
    process.release_unused()
