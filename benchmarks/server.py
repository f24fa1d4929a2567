"""Server benchmark: the app as visitors see it, in a real browser against a real server.

``python -m colorizer bench --server [--sessions 20] [--finetune-epochs 2] [--json FILE]`` prints a
Markdown report (and the same figures as JSON) of three measurements, each on a fresh server started
the way the Docker image starts it (``python -m ui.serve``; user checkpoints in a temporary folder):

- cold start: seconds from spawning the server process to the first colorized image decoded in a
  headless Chromium on the default page (default model, default photo); three times: with the
  background warm-up from server start (``python -m ui.serve``, the Docker image), with it from the
  first visit (plain ``streamlit run``, as Streamlit Community Cloud runs the app), and without it
  (``COLORIZER_WARMUP=0``: the model loads when the page asks for it);
- memory: the server process's peak resident set (``VmHWM`` in ``/proc/<pid>/status``, which counts
  every thread, TensorFlow's included) after one browser visited every page (the Compare page loads
  every model), then while a fine-tune runs from the Fine-tune page (``--finetune-epochs`` epochs of
  the default base on the gallery's colour photos), then a second one by the same visitor (what the first
  left behind adds to it); checked against ``MEMORY_LIMIT_MB``;
- a class at once: ``--sessions`` browser contexts (one browser) open the app and upload their own gray
  photo, all within a second or two; per session the seconds from its upload to its own colorized
  result, whether it saw only its own picture, no traceback, whether it was shown the queue; and the
  server's peak resident set at the end;
- two visitors (``two_visitors``): one uploads the four hostile files of issue 25 at once
  (``benchmarks.hostile.bombs``: 20,000 JPEG scans, a float TIFF, a WebP and a 16-bit PNG of
  7000×7000), another uploads an ordinary photo two seconds later; the seconds until the second one's
  result shows, the first one's one-line refusals, no exception box on either page, the server's peak.

``class_at_once`` and ``two_visitors`` are also what ``tests/test_browser.py`` drives (correctness only;
the time is reported here, never asserted); the server and browser helpers are ``benchmarks.browser``. Needs Playwright and Chromium (``$CHROMIUM``, default
``/usr/bin/chromium``, else Playwright's own); without them each figure says why it is "n/a".
Timings are wall clock on whatever else the machine is doing: the report records the load average.
The pages draw without CSS animations (``benchmarks.browser.NO_ANIMATIONS``), so that the browsers, which
share the server's cores here, do not spend them painting spinners as no real class's server would.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field

import numpy as np

from benchmarks.browser import (WAIT_MS, choose_upload, has_traceback, idle, launch_browser, open_app, png_bytes,
                                start_gallery_finetune, start_server, upload_photo, wait_until_healthy)
from colorizer.process import memory_mb

__all__ = [
    "MEMORY_LIMIT_MB", "PAGES", "class_photo", "cold_start", "memory_profile", "class_at_once", "two_visitors",
    "run_server_benchmark", "server_markdown", "server_bench_from_cli",
]

# The budget for Streamlit Community Cloud (its cap is near 2.7 GB): 2.5 GB = 2.5e9 bytes, in MiB, the
# unit of every memory figure here (VmHWM is in KiB).
MEMORY_LIMIT_MB = 2384
# Navigation title → text on the page once it has done its work.
PAGES = {
    "Colorize": "Colorized by",
    "L/a/b channels": "ab distribution over the 313 in-gamut bins",
    "Compare architectures": "Held-out evaluation",
    "Training curves": "Model cards",
    "Fine-tune": "Start fine-tuning",
}


def class_photo(i: int) -> np.ndarray:
    """Student ``i``'s gray photo: a crop of scikit-image's camera, each of its own size (so a result can
    be told apart by its size alone)."""
    from skimage.data import camera

    side_h, side_w = 200 + 6 * i, 240 + 8 * i
    top, left = (7 * i) % (512 - side_h), (11 * i) % (512 - side_w)
    return camera()[top:top + side_h, left:left + side_w]


# ---------------------------------------------------------------------------------------------- measurements


def cold_start(warmup: bool = True, plain: bool = False, timeout: float = 300) -> dict | str:
    """Seconds from spawning the server to the first colorized image decoded in the browser."""
    try:
        with launch_browser() as browser:  # the browser is up before the clock starts
            server = start_server(env=None if warmup else {"COLORIZER_WARMUP": "0"}, plain=plain,
                                  wait_healthy=False)
            try:
                health = wait_until_healthy(server, timeout)
                page = open_app(browser, server.url)
                page.get_by_text(PAGES["Colorize"]).first.wait_for(timeout=timeout * 1000)
                page.wait_for_function(
                    "() => Array.from(document.querySelectorAll('[data-testid=stImage]')).some(e => "
                    "e.innerText.includes('Colorized by') && e.querySelector('img') && "
                    "e.querySelector('img').complete && e.querySelector('img').naturalWidth > 0)",
                    timeout=timeout * 1000)
                first_image = time.perf_counter() - server.started
                return {"health_s": health, "first_image_s": first_image, "traceback": has_traceback(page),
                        **memory_mb(server.pid)}
            finally:
                server.stop()
    except Exception as err:  # noqa: BLE001 - a figure that cannot be measured says why
        return _na(err)


def _na(err: BaseException) -> str:
    return f"n/a ({type(err).__name__}: {' '.join(str(err).split())[:160]})"


def memory_profile(finetune_epochs: int = 2, timeout: float = 1800) -> dict | str:
    """The server's peak resident set after every page, then during a fine-tune (see the module docstring)."""
    try:
        with launch_browser() as browser:
            server = start_server()
            try:
                page = open_app(browser, server.url)
                page.get_by_text(PAGES["Colorize"]).first.wait_for(timeout=WAIT_MS)
                nav = page.locator('[data-testid="stSidebarNav"]')
                visited = {}
                for title, done_text in PAGES.items():
                    nav.get_by_role("link", name=title, exact=True).click()
                    page.get_by_text(done_text).first.wait_for(timeout=WAIT_MS * 3)
                    idle(page, WAIT_MS * 3)
                    visited[title] = memory_mb(server.pid)["peak_mb"]
                after_pages = memory_mb(server.pid)
                samples = _run_finetune(page, server.pid, finetune_epochs, timeout)
                after_finetune = memory_mb(server.pid)
                # The same visitor again, once the first is saved: a server that never restarts must not
                # keep what each fine-tune made (it kept ~250 MB a fine-tune until session 30).
                page.get_by_role("button", name="Start another fine-tune").click()
                idle(page)
                second = _run_finetune(page, server.pid, finetune_epochs, timeout)
                after_second = memory_mb(server.pid)
                peak = after_second["peak_mb"]
                return {"after_pages": after_pages, "per_page_peak_mb": visited, "finetune_epochs": finetune_epochs,
                        "finetune": samples, "after_finetune": after_finetune, "second_finetune": second,
                        "after_second_finetune": after_second, "peak_mb": peak, "limit_mb": MEMORY_LIMIT_MB,
                        "within_limit": peak is not None and peak < MEMORY_LIMIT_MB, "traceback": has_traceback(page)}
            finally:
                server.stop()
    except Exception as err:  # noqa: BLE001
        return _na(err)


def _run_finetune(page, pid: int, epochs: int, timeout: float) -> dict:
    """Start a fine-tune on the Fine-tune page (gallery photos, default base) and sample memory until it ends."""
    start_gallery_finetune(page, epochs)
    started, peak_rss = time.perf_counter(), 0.0
    done = page.locator('[data-testid="stAlert"]', has_text="Saved")
    failed = page.get_by_text("Fine-tuning failed")
    while time.perf_counter() - started < timeout:
        now = memory_mb(pid)["rss_mb"] or 0.0
        peak_rss = max(peak_rss, now)
        if done.count() or failed.count():
            break
        page.wait_for_timeout(500)
    return {"seconds": time.perf_counter() - started, "saved": done.count() > 0, "failed": failed.count() > 0,
            "sampled_peak_rss_mb": peak_rss}


@dataclass
class Session:
    index: int
    name: str
    size: tuple[int, int]
    page: object = None
    uploaded_at: float | None = None
    done_at: float | None = None
    saw_queue: bool = False
    problems: list[str] = field(default_factory=list)

    @property
    def wait_s(self) -> float | None:
        return None if self.done_at is None or self.uploaded_at is None else self.done_at - self.uploaded_at


_RESULT_STATE = """() => {
  const headings = Array.from(document.querySelectorAll('h2')).map(h => h.innerText.trim());  // each picture's heading (its name, an h2) on the Colorize page
  const images = Array.from(document.querySelectorAll('[data-testid=stImage]'))
    .filter(e => e.innerText.includes('Colorized by')).map(e => e.querySelector('img'));
  const ready = images.filter(img => img && img.complete && img.naturalWidth > 0);
  return {headings, ready: ready.map(img => [img.naturalWidth, img.naturalHeight]),
          queued: document.body.innerText.includes('Queued:'),
          exception: document.querySelectorAll('[data-testid=stException]').length > 0,
          running: document.querySelectorAll('[data-testid=stStatusWidget]').length > 0};
}"""


def class_at_once(browser, url: str, n: int = 20, pid: int | None = None, timeout: float = 240) -> dict:
    """``n`` sessions open the app, then upload their own photo in quick succession; → per-session waits
    and checks (see the module docstring). ``pid``: the server process, for its memory."""
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    sessions = [Session(i, f"class{i:02d}.png", class_photo(i).shape[:2]) for i in range(n)]
    try:
        for s in sessions:  # every tab its own session (own websocket); one context shares the HTTP cache
            s.page = open_app(context, url)
        for s in sessions:
            s.page.get_by_text(PAGES["Colorize"]).first.wait_for(timeout=timeout * 1000)
        photos = {s.index: png_bytes(class_photo(s.index)) for s in sessions}
        for s in sessions:  # every file input ready first, so that the uploads themselves come together
            choose_upload(s.page, at_once=True)
        for s in sessions:
            s.page.locator('[data-testid="stSidebar"] input[type="file"]').wait_for(state="attached", timeout=timeout * 1000)
        upload_start = time.perf_counter()
        for s in sessions:
            upload_photo(s.page, s.name, photos[s.index])
            s.uploaded_at = time.perf_counter()
        upload_spread = time.perf_counter() - upload_start
        deadline = time.perf_counter() + timeout
        pending = list(sessions)
        while pending and time.perf_counter() < deadline:
            for s in list(pending):
                state = s.page.evaluate(_RESULT_STATE)
                s.saw_queue |= state["queued"]
                if state["exception"]:
                    s.problems.append("traceback on the page")
                    pending.remove(s)
                elif s.name in state["headings"] and [s.size[1], s.size[0]] in state["ready"]:
                    s.done_at = time.perf_counter()
                    pending.remove(s)
            time.sleep(0.1)
        for s in sessions:  # every page once more, now that everything is drawn
            state = s.page.evaluate(_RESULT_STATE)
            others = [h for h in state["headings"] if h.startswith("class") and h != s.name]
            if s.done_at is None:
                s.problems.append("no result within the timeout")
            if others:
                s.problems.append(f"sees other sessions' pictures: {others}")
            if s.done_at is None and state["ready"]:
                s.problems.append(f"a result of another size than its upload: {state['ready']} vs {list(s.size[::-1])}")
            if state["exception"]:
                s.problems.append("traceback on the page")
        waits = [s.wait_s for s in sessions if s.wait_s is not None]
        finished = [s.done_at for s in sessions if s.done_at is not None]
        return {
            "sessions": n, "upload_spread_s": upload_spread,
            "all_done_after_first_upload_s": max(finished) - upload_start if finished else None,
            "waits_s": [None if s.wait_s is None else round(s.wait_s, 2) for s in sessions],
            "last_wait_s": max(waits) if waits else None,
            "median_wait_s": float(np.median(waits)) if waits else None,
            "all_own_result": all(not s.problems for s in sessions),
            "problems": {s.name: s.problems for s in sessions if s.problems},
            "sessions_shown_the_queue": sum(s.saw_queue for s in sessions),
            **(memory_mb(pid) if pid else {}),
        }
    finally:
        context.close()


_MIME = {".jpg": "image/jpeg", ".tif": "image/tiff", ".webp": "image/webp", ".png": "image/png"}


def two_visitors(browser, url: str, pid: int | None = None, delay_s: float = 2.0, timeout: float = 120) -> dict:
    """One visitor uploads the four hostile files at once, another an ordinary photo ``delay_s`` later →
    the second one's wait for its own result, what each page shows, the server's memory."""
    from benchmarks.hostile import bombs

    files = bombs()
    attacker = browser.new_context(viewport={"width": 1100, "height": 900})
    student = browser.new_context(viewport={"width": 1100, "height": 900})
    try:
        pages = {"attacker": open_app(attacker, url), "student": open_app(student, url)}
        for page in pages.values():
            page.get_by_text(PAGES["Colorize"]).first.wait_for(timeout=timeout * 1000)
            choose_upload(page)
            page.locator('[data-testid="stSidebar"] input[type="file"]').wait_for(state="attached", timeout=timeout * 1000)
        name, photo = "ordinary.png", class_photo(7)
        pages["attacker"].locator('[data-testid="stSidebar"] input[type="file"]').set_input_files(
            [{"name": n, "mimeType": _MIME[n[n.rindex("."):]], "buffer": data} for n, data in files.items()])
        bombs_at = time.perf_counter()
        time.sleep(delay_s)
        upload_photo(pages["student"], name, png_bytes(photo))
        uploaded_at = time.perf_counter()
        done_at, peak = None, 0.0
        while time.perf_counter() - uploaded_at < timeout:
            state = pages["student"].evaluate(_RESULT_STATE)
            peak = max(peak, (memory_mb(pid)["rss_mb"] or 0.0) if pid else 0.0)
            if name in state["headings"] and [photo.shape[1], photo.shape[0]] in state["ready"]:
                done_at = time.perf_counter()
                break
            time.sleep(0.1)
        idle(pages["attacker"], int(timeout * 1000))
        errors = [e.strip() for e in pages["attacker"].locator(
            '[data-testid="stAlertContentError"] [data-testid="stMarkdownContainer"]').all_inner_texts()]
        return {
            "files": {n: len(data) for n, data in files.items()},
            "ordinary_wait_s": None if done_at is None else done_at - uploaded_at,
            "ordinary_shown_after_bombs_s": None if done_at is None else done_at - bombs_at,
            "attacker_errors": errors,
            "exception_box": any(has_traceback(page) for page in pages.values()),
            "sampled_peak_rss_mb": peak or None,
            **(memory_mb(pid) if pid else {}),
        }
    finally:
        attacker.close()
        student.close()


def _on_fresh_server(measure) -> dict | str:
    """``measure(browser, url, pid)`` → its result on a server of its own, with ``within_limit`` (the peak
    under ``MEMORY_LIMIT_MB``); or why it could not run."""
    try:
        with launch_browser() as browser:
            server = start_server()
            try:
                result = measure(browser, server.url, server.pid)
                result["within_limit"] = result.get("peak_mb") is not None and result["peak_mb"] < MEMORY_LIMIT_MB
                return result
            finally:
                server.stop()
    except Exception as err:  # noqa: BLE001
        return _na(err)


def two_visitors_benchmark() -> dict | str:
    return _on_fresh_server(lambda browser, url, pid: two_visitors(browser, url, pid=pid))


def class_benchmark(n: int = 20) -> dict | str:
    return _on_fresh_server(lambda browser, url, pid: class_at_once(browser, url, n, pid=pid))


# ---------------------------------------------------------------------------------------------- run and report


def run_server_benchmark(sessions: int = 20, finetune_epochs: int = 2, progress=print) -> dict:
    """Every server measurement (cold start with and without warm-up, memory, a class at once)."""
    load = lambda: round(os.getloadavg()[0], 2)  # noqa: E731
    result = {"load_average_start": load(), "sessions": sessions, "finetune_epochs": finetune_epochs}
    progress("cold start (warm-up at server start)")
    result["cold_start"] = cold_start(warmup=True)
    progress("cold start (plain streamlit run: warm-up from the first visit)")
    result["cold_start_streamlit_run"] = cold_start(warmup=True, plain=True)
    progress("cold start (no warm-up: the model loads when the page asks for it)")
    result["cold_start_no_warmup"] = cold_start(warmup=False)
    progress(f"memory: every page, then a {finetune_epochs}-epoch fine-tune")
    result["memory"] = memory_profile(finetune_epochs)
    progress(f"a class at once: {sessions} sessions")
    result["class"] = class_benchmark(sessions)
    progress("two visitors: one uploads the four hostile files, the other an ordinary photo")
    result["two_visitors"] = two_visitors_benchmark()
    result["load_average_end"] = load()
    return result


def _fmt(value, unit: str = "", digits: int = 1) -> str:
    return value if isinstance(value, str) else "–" if value is None else f"{value:,.{digits}f}{unit}"


def server_markdown(result: dict, command: str = "python -m colorizer bench --server") -> str:
    """The server measurements as Markdown (paste-ready for README's Deploy section)."""
    cold, cold0, memory, klass = (result[k] for k in ("cold_start", "cold_start_no_warmup", "memory", "class"))
    plain = result.get("cold_start_streamlit_run")
    lines = ["### Server benchmark", "",
             f"Command: `{command}`. Load average {result['load_average_start']} at start, "
             f"{result['load_average_end']} at end.", ""]
    if isinstance(cold, dict) and isinstance(cold0, dict):
        plain_text = (f"{plain['first_image_s']:.1f} s with plain `streamlit run` (warm-up from the first visit), "
                      if isinstance(plain, dict) else "")
        lines.append(f"- **Cold start** (spawn → first colorized image in Chromium): {cold['first_image_s']:.1f} s with "
                     f"the background warm-up from server start (`python -m ui.serve`), {plain_text}"
                     f"{cold0['first_image_s']:.1f} s without it (health endpoint after {cold['health_s']:.1f} s).")
    else:
        lines.append(f"- **Cold start**: {cold if isinstance(cold, str) else cold0}")
    if isinstance(memory, dict):
        pages = ", ".join(f"{k} {_fmt(v, ' MiB', 0)}" for k, v in memory["per_page_peak_mb"].items())
        lines.append(f"- **Server memory** (peak resident set, VmHWM): {_fmt(memory['after_pages']['peak_mb'], ' MiB', 0)} "
                     f"after every page ({pages}); {_fmt(memory['after_finetune']['peak_mb'], ' MiB', 0)} with a "
                     f"{memory['finetune_epochs']}-epoch fine-tune ({'saved' if memory['finetune']['saved'] else 'not finished'}, "
                     f"{memory['finetune']['seconds']:.0f} s; resident {_fmt(memory['after_finetune']['rss_mb'], ' MiB', 0)} "
                     f"after it), {_fmt(memory['after_second_finetune']['peak_mb'], ' MiB', 0)} after a second one "
                     f"({'saved' if memory['second_finetune']['saved'] else 'not finished'}; resident "
                     f"{_fmt(memory['after_second_finetune']['rss_mb'], ' MiB', 0)} after it); limit "
                     f"{memory['limit_mb']} MiB (2.5 GB): {'within' if memory['within_limit'] else '**over**'}.")
    else:
        lines.append(f"- **Server memory**: {memory}")
    if isinstance(klass, dict):
        lines.append(f"- **A class at once**: {klass['sessions']} sessions uploaded within {klass['upload_spread_s']:.1f} s; "
                     f"the longest wait from a session's upload to its own result was {_fmt(klass['last_wait_s'], ' s')} "
                     f"(median {_fmt(klass['median_wait_s'], ' s')}; all {klass['sessions']} done "
                     f"{_fmt(klass['all_done_after_first_upload_s'], ' s')} after the first upload); "
                     f"{'every one its own result' if klass['all_own_result'] else 'problems: ' + json.dumps(klass['problems'])}; "
                     f"{klass['sessions_shown_the_queue']} were shown their place in the queue; server peak "
                     f"{_fmt(klass.get('peak_mb'), ' MiB', 0)} ({'within' if klass.get('within_limit') else '**over**'} {MEMORY_LIMIT_MB} MiB).")
    else:
        lines.append(f"- **A class at once**: {klass}")
    two = result.get("two_visitors")
    if isinstance(two, dict):
        lines.append(f"- **Two visitors**: while one uploads the four hostile files at once ({', '.join(two['files'])}), "
                     f"another's ordinary photo, uploaded 2 s later, shows {_fmt(two['ordinary_wait_s'], ' s')} after its "
                     f"upload; the first sees {len(two['attacker_errors'])} one-line refusals; exception box: "
                     f"{'**yes**' if two['exception_box'] else 'none'}; server peak {_fmt(two.get('peak_mb'), ' MiB', 0)} "
                     f"({'within' if two.get('within_limit') else '**over**'} {MEMORY_LIMIT_MB} MiB).")
    elif two is not None:
        lines.append(f"- **Two visitors**: {two}")
    return "\n".join(lines) + "\n"


def server_bench_from_cli(args) -> int:
    """``python -m colorizer bench --server``: progress on stderr, Markdown on stdout, JSON to ``--json``."""
    sessions = getattr(args, "sessions", 20)
    epochs = getattr(args, "finetune_epochs", 2)
    result = run_server_benchmark(sessions, epochs, progress=lambda text: print(f"… {text}", file=sys.stderr, flush=True))
    from benchmarks import recorded_command

    command = recorded_command(args, "python -m colorizer bench --server")
    print(server_markdown(result, command))
    if args.json:
        from colorizer.checkpoints import atomic_write_text

        atomic_write_text(args.json, json.dumps(result, indent=2, default=str) + "\n")
    return 0
