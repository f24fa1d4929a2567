"""What a rerun of each page costs the server: every click, slider move or upload reruns the visitor's page, and on a
2-core server a class's reruns share the same cores. Each page is run in-process (Streamlit's ``AppTest``, the
shipped models, the gallery's photo), twice untimed (a first run loads the models and fills the caches), then
``reruns`` times with nothing changed: what a widget touch that changes nothing on the page costs at least.

    python -m benchmarks.reruns [--reruns 5]

prints one markdown row a page: its median rerun and the slowest, in seconds of wall clock on an otherwise idle machine.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

__all__ = ["PAGES", "rerun_seconds", "main"]

REPO_ROOT = Path(__file__).resolve().parents[1]
PAGES = ("pages/colorize.py", "pages/channels.py", "pages/compare.py", "pages/curves.py", "pages/finetune.py",
         "pages/video.py")


def rerun_seconds(page: str, reruns: int) -> list[float]:
    """Seconds of each of ``reruns`` reruns of ``page`` after two untimed runs; RuntimeError when the page fails or
    shows an error."""
    from streamlit.testing.v1 import AppTest

    app = AppTest.from_file(str(REPO_ROOT / "streamlit_app.py"), default_timeout=600)
    app.run()
    app.switch_page(page)
    times = []
    for run in range(2 + reruns):
        start = time.perf_counter()
        app.run()
        failed = [element.value for element in (*app.exception, *app.error)]
        if failed:  # a page's own failures are messages (``widgets.run_page``), not exceptions
            raise RuntimeError(f"{page}: {failed[0]}")
        if run >= 2:
            times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.reruns", description=__doc__.split("\n\n")[0])
    parser.add_argument("--reruns", type=int, default=5, help="timed reruns a page (default 5)")
    args = parser.parse_args(argv)
    print("| page | rerun, median (s) | slowest (s) |\n|---|---|---|")
    for page in PAGES:
        times = rerun_seconds(page, args.reruns)
        print(f"| {Path(page).stem} | {statistics.median(times):.3f} | {max(times):.3f} |", flush=True)


if __name__ == "__main__":
    main()
