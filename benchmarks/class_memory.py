"""Three visitors on one server, as a class meets it: a fine-tune, eight 12 MP color photos and a small photo at once.

``python -m benchmarks.class_memory [--epochs 3] [--runs 2] [--no-finetune] [--json PATH]`` is the scenario of
docs/deploy.md's "What that benchmark did not hold: a color photo's scores" (session 35), which
``benchmarks.finetune_memory`` does not hold: the Colorize page also scores a color upload against its truth. Each run,
on a fresh server (plain ``streamlit run streamlit_app.py``, as Streamlit Community Cloud starts the app; user
checkpoints in a fresh temporary folder) and one headless Chromium, each visitor its own browser context:

1. warm-up: visitor W opens Colorize (the flagship colorizes the default gallery picture);
2. visitor C uploads a small gray photo (``benchmarks.server.class_photo``) and waits for its result ("C alone");
3. visitor A fine-tunes the flagship on the gallery's color photos from the Fine-tune page (``--epochs`` epochs,
   batch 8, the page's defaults otherwise); with ``--no-finetune`` A only opens Colorize;
4. once A's first epoch has begun, visitor B uploads eight 12 MP (4000×3000) color JPEGs at once on Colorize
   (``big_color_jpegs``: the gallery's color photos enlarged, made here; the per-tab pixel quota,
   ``ui.widgets.MAX_SESSION_PIXELS``, keeps three); a second later C uploads another small gray photo;
5. it waits until C's photo and B's kept pictures are shown, then until A's fine-tune has ended.

Per run it prints, in MiB of the Streamlit server process (``/proc/<pid>/status``, every thread counted):
**idle** — its resident set (VmRSS) once W's first picture is shown and W's page is idle; **peak** — its high-water
mark (VmHWM) at the end of the run, the most it ever held, to set against ``benchmarks.server.MEMORY_LIMIT_MB``
(2,384 MiB, a 2.7 GB host's budget); **end** — its resident set at the end. In seconds: **C alone** and **C under
load**, from C's upload to its result decoded in C's page (the second while B's pictures and A's fine-tune run);
**B's page**, from B's upload to B's kept pictures all decoded in B's page. **B shown**: B's pictures shown, of those
the quota keeps. **traceback**: whether any visitor's page showed an exception box (the command then exits 1, as it
does when a run could not be measured or a picture was not shown within 10 minutes). Timings are wall clock on
whatever else the machine does: the load average is printed beside them. Needs Playwright and Chromium
(``benchmarks.browser``).
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import time
from functools import lru_cache

import numpy as np

from benchmarks.browser import WAIT_MS, choose_upload, has_traceback, idle, launch_browser, open_app, png_bytes, \
    start_gallery_finetune, start_server, upload_photo
from benchmarks.server import MEMORY_LIMIT_MB, PAGES, _RESULT_STATE, class_photo
from colorizer.process import memory_mb

__all__ = ["BIG_SIZE", "BIG_PHOTOS", "big_color_jpeg", "big_color_jpegs", "kept_of", "class_memory_run",
           "class_memory_table", "main"]

BIG_SIZE = (4000, 3000)  # width, height: 12 MP, a phone photo
BIG_PHOTOS = 8
# Per photo, the standard deviation (in 8-bit levels) of the seeded grain added to the enlarged gallery photo: an
# enlarged 640-pixel photo is smooth and compresses to less than a phone's JPEG; this grain spreads the files over
# 0.7-1.8 MB, as the phone-sized photos of session 35's measurement (0.6-1.8 MB).
_GRAIN = (0.0, 0.6, 1.2, 0.0, 1.6, 0.3, 0.9, 1.5)
_QUALITY = 90
_TIMEOUT_S = 600


# ---------------------------------------------------------------------------------------------- the photos


@lru_cache(maxsize=BIG_PHOTOS)
def big_color_jpeg(i: int) -> bytes:
    """Photo ``i`` of B's upload: JPEG bytes (quality 90) of a 4000×3000 RGB picture, the same bytes every call and
    every process (cached for this one): gallery color photo ``i`` (cycling; mirrored on the second round)
    center-cropped to 4:3, enlarged (bicubic) and given a seeded gray grain."""
    from PIL import Image

    from colorizer.gallery import color_keys, load_photo

    keys = color_keys()
    rgb = load_photo(keys[i % len(keys)])
    height, width = rgb.shape[:2]
    if width * 3 > height * 4:
        crop = height * 4 // 3
        rgb = rgb[:, (width - crop) // 2:(width - crop) // 2 + crop]
    else:
        crop = width * 3 // 4
        rgb = rgb[(height - crop) // 2:(height - crop) // 2 + crop]
    picture = Image.fromarray(rgb).resize(BIG_SIZE, Image.BICUBIC)
    if (i // len(keys)) % 2:
        picture = picture.transpose(Image.FLIP_LEFT_RIGHT)
    pixels = np.asarray(picture, dtype=np.float32)
    grain = np.random.default_rng(i).standard_normal((BIG_SIZE[1], BIG_SIZE[0], 1), dtype=np.float32)
    pixels += grain * _GRAIN[i % len(_GRAIN)]
    buffer = io.BytesIO()
    Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8)).save(buffer, format="JPEG", quality=_QUALITY)
    return buffer.getvalue()


def big_color_jpegs(n: int = BIG_PHOTOS) -> list[dict]:
    """B's upload: ``n`` files for Playwright's ``set_input_files`` ({"name": "big<i>.jpg", "mimeType", "buffer"})."""
    return [{"name": f"big{i}.jpg", "mimeType": "image/jpeg", "buffer": big_color_jpeg(i)} for i in range(n)]


def kept_of(files: int, pixels_each: int) -> int:
    """How many of ``files`` pictures of ``pixels_each`` pixels one browser tab gets colorized (``ui.widgets``'
    quotas: ``MAX_PICTURES`` at a time, ``MAX_SESSION_PIXELS`` together, each counted at most at the decode budget)."""
    with contextlib.redirect_stderr(io.StringIO()):  # Streamlit warns that no runtime runs this process
        from colorizer.imageio import MAX_PIXELS
        from ui.widgets import MAX_PICTURES, MAX_SESSION_PIXELS
    return min(files, MAX_PICTURES, MAX_SESSION_PIXELS // min(pixels_each, MAX_PIXELS))


# ---------------------------------------------------------------------------------------------- one run


def _shown(page, name: str, shape: tuple[int, ...]) -> bool:
    """Whether ``page`` shows the result of the upload ``name`` (its heading, and a decoded result of its size)."""
    state = page.evaluate(_RESULT_STATE)
    return name in state["headings"] and [shape[1], shape[0]] in state["ready"]


def _kept_shown(page, names: list[str]) -> int:
    """How many of the uploads ``names`` have their heading and a decoded result on ``page``."""
    state = page.evaluate(_RESULT_STATE)
    return min(sum(name in state["headings"] for name in names), len(state["ready"]))


def _upload_and_wait(page, name: str, photo: np.ndarray, timeout: float = _TIMEOUT_S) -> float | None:
    """Upload ``photo`` as ``name`` on ``page`` → seconds until its result is shown (None: not within ``timeout``)."""
    upload_photo(page, name, png_bytes(photo))
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if _shown(page, name, photo.shape):
            return time.perf_counter() - started
        if has_traceback(page):
            return None
        time.sleep(0.1)
    return None


def _start_finetune(page, epochs: int) -> None:
    """On the Fine-tune page: the gallery's color photos, ``epochs`` epochs, the other settings as the page offers
    them (batch 8), Start."""
    page.get_by_text(PAGES["Fine-tune"]).first.wait_for(timeout=WAIT_MS * 3)
    idle(page)
    start_gallery_finetune(page, epochs)


def _finetune_outcome(page, started: float, timeout: float = _TIMEOUT_S) -> dict:
    """Wait until A's fine-tune has ended → {"seconds" from Start, "saved", "failed"}."""
    saved = page.locator('[data-testid="stAlert"]', has_text="Saved")
    failed = page.get_by_text("Fine-tuning failed")
    while time.perf_counter() - started < timeout and not (saved.count() or failed.count() or has_traceback(page)):
        time.sleep(0.5)
    return {"seconds": round(time.perf_counter() - started, 1), "saved": saved.count() > 0,
            "failed": failed.count() > 0}


def class_memory_run(epochs: int = 3, progress=print) -> dict:
    """One run of the scenario (module docstring) on a fresh server → its figures (MiB, seconds)."""
    photos = big_color_jpegs()  # made before the server starts: not in any figure
    expected = kept_of(len(photos), BIG_SIZE[0] * BIG_SIZE[1])
    with launch_browser() as browser:
        server = start_server(plain=True)
        try:
            visitors = {k: browser.new_context(viewport={"width": 1100, "height": 900}) for k in "WABC"}
            pages = {"W": open_app(visitors["W"], server.url)}
            pages["W"].get_by_text(PAGES["Colorize"]).first.wait_for(timeout=WAIT_MS * 3)
            idle(pages["W"], WAIT_MS * 3)
            result = {"epochs": epochs, "idle_rss_mb": memory_mb(server.pid)["rss_mb"]}
            progress(f"warm: {result['idle_rss_mb']:,.0f} MiB resident")

            pages["C"] = c = open_app(visitors["C"], server.url)
            c.get_by_text(PAGES["Colorize"]).first.wait_for(timeout=WAIT_MS * 3)
            idle(c)
            choose_upload(c)
            c.locator('[data-testid="stSidebar"] input[type="file"]').wait_for(state="attached", timeout=WAIT_MS)
            result["c_alone_s"] = _upload_and_wait(c, "first.png", class_photo(2))

            pages["A"] = a = open_app(visitors["A"], server.url, "finetune" if epochs else "")
            a_started = None
            if epochs:
                _start_finetune(a, epochs)
                a_started = time.perf_counter()
            pages["B"] = b = open_app(visitors["B"], server.url)
            b.get_by_text(PAGES["Colorize"]).first.wait_for(timeout=WAIT_MS * 3)
            idle(b)
            choose_upload(b)
            b_input = b.locator('[data-testid="stSidebar"] input[type="file"]')
            b_input.wait_for(state="attached", timeout=WAIT_MS)
            if epochs:
                a.get_by_text("Epoch 1/").first.wait_for(timeout=WAIT_MS * 3)  # past loading and the features
                progress(f"A's first epoch began: {memory_mb(server.pid)['rss_mb']:,.0f} MiB resident")

            b_input.set_input_files(photos)
            b_started = time.perf_counter()
            time.sleep(1.0)
            small = class_photo(5)
            upload_photo(c, "second.png", png_bytes(small))
            c_started = time.perf_counter()
            names = [photo["name"] for photo in photos]
            c_done = b_done = None
            while (c_done is None or b_done is None) and time.perf_counter() - b_started < _TIMEOUT_S:
                if c_done is None and _shown(c, "second.png", small.shape):
                    c_done = time.perf_counter()
                if b_done is None and _kept_shown(b, names) >= expected:
                    b_done = time.perf_counter()
                if any(has_traceback(page) for page in pages.values()):
                    break
                time.sleep(0.1)
            result["c_under_load_s"] = None if c_done is None else c_done - c_started
            result["b_page_s"] = None if b_done is None else b_done - b_started
            result["b_shown"], result["b_kept"] = _kept_shown(b, names), expected
            progress(f"C's second photo after {result['c_under_load_s'] or float('nan'):.1f} s, "
                     f"B's page after {result['b_page_s'] or float('nan'):.1f} s")
            result["finetune"] = None if a_started is None else _finetune_outcome(a, a_started)
            memory = memory_mb(server.pid)
            result.update(peak_mb=memory["peak_mb"], end_rss_mb=memory["rss_mb"],
                          within_limit=memory["peak_mb"] is not None and memory["peak_mb"] < MEMORY_LIMIT_MB,
                          tracebacks=[k for k, page in pages.items() if has_traceback(page)])
            return result
        finally:
            server.stop()


# ---------------------------------------------------------------------------------------------- the table


def _fmt(value, digits: int = 0) -> str:
    return "–" if value is None else f"{value:,.{digits}f}"


def class_memory_table(runs: list[dict]) -> str:
    """The runs as a Markdown table (MiB and seconds; a run that could not be measured says why)."""
    lines = ["| run | idle (MiB) | peak VmHWM (MiB) | end (MiB) | C alone (s) | C under load (s) | B's page (s) "
             "| B shown | fine-tune | traceback |", "|---|---|---|---|---|---|---|---|---|---|"]
    for i, run in enumerate(runs, 1):
        if "error" in run:
            lines.append(f"| {i} | n/a ({run['error']}) |" + " |" * 8)
            continue
        finetune = run["finetune"]
        tuned = "–"
        if finetune is not None:
            ended = "saved" if finetune["saved"] else "failed" if finetune["failed"] else "not ended"
            tuned = f"{ended}, {finetune['seconds']:.0f} s"
        lines.append(f"| {i} | {_fmt(run['idle_rss_mb'])} | {_fmt(run['peak_mb'])} | {_fmt(run['end_rss_mb'])} "
                     f"| {_fmt(run['c_alone_s'], 2)} | {_fmt(run['c_under_load_s'], 2)} | {_fmt(run['b_page_s'], 1)} "
                     f"| {run['b_shown']}/{run['b_kept']} | {tuned} | {', '.join(run['tracebacks']) or 'none'} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=3, help="epochs of visitor A's fine-tune (default 3)")
    parser.add_argument("--runs", type=int, default=2, help="runs, each on a fresh server (default 2)")
    parser.add_argument("--no-finetune", action="store_true", help="visitor A only opens Colorize")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.epochs < 1:
        parser.error("--runs and --epochs: at least 1")
    epochs = 0 if args.no_finetune else args.epochs
    command = "python -m benchmarks.class_memory " + " ".join(sys.argv[1:] if argv is None else argv)
    progress = lambda text: print(f"… {text}", file=sys.stderr, flush=True)  # noqa: E731
    load_start, runs = round(os.getloadavg()[0], 2), []
    for i in range(1, args.runs + 1):
        progress(f"run {i}/{args.runs}: {'a ' + str(epochs) + '-epoch fine-tune' if epochs else 'no fine-tune'}")
        try:
            runs.append(class_memory_run(epochs, progress))
        except Exception as err:  # noqa: BLE001 - a run that cannot be measured says why; the others still run
            runs.append({"error": f"{type(err).__name__}: {' '.join(str(err).split())[:160]}"})
    load_end = round(os.getloadavg()[0], 2)
    print(f"Command: `{command.strip()}`. Load average {load_start} at start, {load_end} at end. Server: plain "
          f"`streamlit run`; memory of its process in MiB (budget {MEMORY_LIMIT_MB:,}).\n")
    print(class_memory_table(runs))
    if args.json:
        from colorizer.checkpoints import atomic_write_text

        atomic_write_text(args.json, json.dumps({"command": command.strip(), "load_average_start": load_start,
                                                 "load_average_end": load_end, "runs": runs}, indent=2) + "\n")
    # A run whose fine-tune failed or never ended is no "with A's fine-tune" figure either (session 35's review).
    failed = any("error" in run or run["tracebacks"] or run["c_under_load_s"] is None or run["b_shown"] < run["b_kept"]
                 or (run.get("finetune") is not None and not run["finetune"].get("saved")) for run in runs)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
