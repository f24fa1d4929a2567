"""The app in a real browser: a server on a free port and a headless Chromium driven by Playwright.

What ``benchmarks.server`` measures with and ``tests/test_browser.py`` checks with: ``start_server``
(``python -m ui.serve``, as the Docker image starts it, or plain ``streamlit run``) → ``Server``;
``launch_browser`` (Debian's Chromium at ``$CHROMIUM``, default ``/usr/bin/chromium``, else
Playwright's own); ``open_app`` (one page, one Streamlit session), ``idle`` (the script run is over),
``upload_files`` / ``upload_photo`` (the sidebar's uploader), ``image_loaded``, ``has_traceback``.
Playwright is imported only when a browser is launched.
"""
from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmarks.startup import stop_process

__all__ = ["CHROMIUM_ARGS", "NO_ANIMATIONS", "SCRIPT_STATE_CLOCK", "WAIT_MS", "Server", "free_port", "start_server", "wait_until_healthy", "chromium_path",
           "launch_browser", "open_app", "idle", "image_loaded", "has_traceback", "png_bytes", "choose_upload",
           "upload_files", "upload_photo", "start_gallery_finetune"]

REPO_ROOT = Path(__file__).resolve().parents[1]  # benchmarks/browser.py → the repository
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]
WAIT_MS = 120_000
# Every page opened here draws without CSS animations or transitions. Why: the browsers of a measured
# class run on the server's own two cores, and twenty tabs painting Streamlit's spinners and loading
# skeletons in software cost 85 % of the class test's CPU time (13-14 s per tab, the server 35 s), so
# the server waited on our harness. A student's browser runs on their own machine; nothing the tests
# check (pictures, text, sizes, tracebacks, memory) depends on an animation.
NO_ANIMATIONS = """document.addEventListener('DOMContentLoaded', () => {
  const style = document.createElement('style');
  style.textContent = '*, *::before, *::after { animation: none !important; transition: none !important; }';
  document.head.appendChild(style);
});"""

# When the app's script state last changed (``performance.now()``), for ``idle``: between a run that calls st.rerun()
# and the run after it the state reads "not running" for an instant (a click on the hint photo makes such a pair), and
# a wait that took that instant for the end read the first run's page (a review of the browser tests' races).
SCRIPT_STATE_CLOCK = """(() => {
  const watch = () => new MutationObserver(() => { window.__scriptStateSince = performance.now(); })
    .observe(document.documentElement, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
  document.documentElement ? watch() : document.addEventListener('DOMContentLoaded', watch);
})();"""


# ---------------------------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """A running app server: its URL, process and log; ``started`` is ``time.perf_counter()`` at spawn."""

    url: str
    process: subprocess.Popen
    log: Path
    started: float
    tmp: Path | None = None

    @property
    def pid(self) -> int:
        return self.process.pid

    def stop(self) -> None:
        stop_process(self.process, grace_s=15)
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)


def start_server(env: dict | None = None, plain: bool = False, checkpoint_dir: str | Path | None = None,
                 wait_healthy: bool = True, timeout: float = 120) -> Server:
    """Spawn the app on a free port: ``python -m ui.serve`` (warm-up at start), or ``plain``
    ``streamlit run streamlit_app.py``; user checkpoints in ``checkpoint_dir`` (default: a fresh temp dir)."""
    tmp = Path(tempfile.mkdtemp(prefix="colorizer-server-"))
    port, log = free_port(), tmp / "server.log"
    options = ["--server.headless", "true", "--server.port", str(port), "--server.address", "127.0.0.1",
               "--browser.gatherUsageStats", "false"]
    command = ([sys.executable, "-m", "streamlit", "run", "streamlit_app.py", *options] if plain
               else [sys.executable, "-m", "ui.serve", *options])
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2",
           "COLORIZER_CHECKPOINT_DIR": str(checkpoint_dir or tmp / "checkpoints"), **(env or {})}
    with open(log, "wb") as out:
        started = time.perf_counter()
        process = subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", process, log, started, tmp)
    if wait_healthy:
        try:
            wait_until_healthy(server, timeout)
        except BaseException:
            server.stop()
            raise
    return server


def wait_until_healthy(server: Server, timeout: float = 120) -> float:
    """Seconds from spawn until ``/_stcore/health`` answers; RuntimeError (with the log's tail) if never."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"server exited with {server.process.returncode}:\n{server.log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - server.started
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"server not healthy after {timeout:.0f} s:\n{server.log.read_text()[-3000:]}")


# ---------------------------------------------------------------------------------------------- the browser


def chromium_path() -> str | None:
    path = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    return path if Path(path).exists() else None


@contextmanager
def launch_browser():
    """A headless Chromium through Playwright (Debian's when present)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        path = chromium_path()
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS) if path else \
            playwright.chromium.launch(args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def open_app(context_or_browser, url: str, path: str = "", viewport: tuple[int, int] = (1300, 1000),
             wait_until: str = "commit"):
    """A new page (a new Streamlit session) on the app at ``path``, drawn without animations
    (``NO_ANIMATIONS``); a browser's pages get a ``viewport`` (width, height) of their own, a context's
    pages its own."""
    if hasattr(context_or_browser, "new_context"):  # a Browser; a BrowserContext has its own viewport
        page = context_or_browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    else:
        page = context_or_browser.new_page()
    page.add_init_script(NO_ANIMATIONS)
    page.add_init_script(SCRIPT_STATE_CLOCK)
    page.goto(f"{url}/{path}", wait_until=wait_until)
    return page


# The app root's script state: "initial" until a freshly opened page's first run starts, so a page that has not
# begun running yet is not taken for one that has finished (its 'running' indicator is absent in both).
_SCRIPT_DONE = ", ".join(f'[data-testid="stApp"][data-test-script-state="{state}"]'
                         for state in ("notRunning", "compilationError"))


_HELD_MS = 250  # how long "not running" must have held (``SCRIPT_STATE_CLOCK``; pages opened without it: not waited)


def idle(page, timeout_ms: int = WAIT_MS) -> None:
    """Wait until the page's script run is over: its first run has started and ended, the state has held
    ``_HELD_MS`` (not the instant between a run and the one its st.rerun() starts), and Streamlit's 'running'
    indicator is gone (the 300 ms first give a click's rerun time to begin)."""
    page.wait_for_timeout(300)
    page.wait_for_function(f"""() => document.querySelector({_SCRIPT_DONE!r}) !== null
        && document.querySelector('[data-testid="stStatusWidget"]') === null
        && (window.__scriptStateSince === undefined || performance.now() - window.__scriptStateSince >= {_HELD_MS})""",
                           timeout=timeout_ms)


_DECODED = """caption => { const shown = [...document.querySelectorAll('[data-testid="stImage"]')]
    .find(e => e.innerText.includes(caption)); const img = shown && shown.querySelector('img');
    return Boolean(img && img.complete && img.naturalWidth > 0); }"""


def image_loaded(page, caption: str, timeout_ms: int | None = None) -> bool:
    """Whether the <img> of the image element captioned ``caption`` has decoded pixels (``timeout_ms``: wait up to that
    long for it to be there and decoded: a rerun giving an <img> a new picture leaves it undecoded a moment)."""
    if timeout_ms is None:
        return bool(page.evaluate(_DECODED, caption))
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(_DECODED, arg=caption, timeout=timeout_ms)
    except PlaywrightTimeout:
        return False
    return True


def has_traceback(page) -> bool:
    """Whether the page shows an exception box (Streamlit's traceback)."""
    return page.locator('[data-testid="stException"]').count() > 0


def png_bytes(array: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def choose_upload(page, at_once: bool = False) -> None:
    """Switch the sidebar's image source to Upload (its file input appears after the rerun). ``at_once``: the click
    is dispatched without Playwright's checks that the radio is visible, still and unobscured, which wait on the
    page's animation frames: with twenty tabs open they came about once a second (twenty clicks took 21 s, 4 s so)."""
    radio = page.locator('[data-testid="stSidebar"]').get_by_role("radio", name="Upload", exact=True)
    if at_once:
        radio.dispatch_event("click")
    else:
        radio.click()


def upload_files(page, files: list[dict], timeout_ms: int = WAIT_MS) -> None:
    """Give the sidebar's file input ``files`` (Playwright's {"name", "mimeType", "buffer"}), switching
    the source to Upload first if needed."""
    file_input = page.locator('[data-testid="stSidebar"] input[type="file"]')
    if file_input.count() == 0:
        choose_upload(page)
    file_input.wait_for(state="attached", timeout=timeout_ms)
    file_input.set_input_files(files)


def upload_photo(page, name: str, data: bytes) -> None:
    """Give the sidebar's file input one PNG (switching the source to Upload first if needed)."""
    upload_files(page, [{"name": name, "mimeType": "image/png", "buffer": data}])


def start_gallery_finetune(page, epochs: int) -> None:
    """On an open Fine-tune page: the gallery's color photos, ``epochs`` epochs, the other settings as the page
    offers them (the default base, batch 8), Start."""
    page.get_by_text("Gallery color photos").first.click()
    idle(page)
    field = page.get_by_label("Epochs", exact=True)
    field.fill(str(epochs))
    field.press("Enter")
    idle(page)
    page.get_by_role("button", name="Start fine-tuning").click()
