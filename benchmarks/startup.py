"""What a fresh process costs: the cold start of a model (spawn → first colorized photo) and of the
Streamlit app (spawn → health endpoint and first page), and the machine the benchmark ran on."""
from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np

from benchmarks.measure import load_for_bench, synthetic_photo

__all__ = ["COLD_START_MP", "cold_start_child", "cold_start", "streamlit_cold_start", "machine_description", "load_average",
           "stop_process"]

REPO_ROOT = Path(__file__).resolve().parents[1]
COLD_START_MP = 1.0


# ---------------------------------------------------------------------------------------------- cold start


_COLD_START_CHILD = """
import time
start = time.perf_counter()
from benchmarks import cold_start_child
cold_start_child({name!r}, {mp!r}, start)
"""


def cold_start_child(name: str, megapixels: float, start: float) -> None:
    """In a fresh process: import, load (or build) ``name``, colorize one photo; print timings as JSON."""
    from colorizer import inference  # noqa: F401 - imports TensorFlow, as the app must

    imported = time.perf_counter()
    colorizer, _ = load_for_bench(name, lite=False)  # the app's first colorization runs on TensorFlow
    loaded = time.perf_counter()
    colorizer.colorize(synthetic_photo(megapixels))
    done = time.perf_counter()
    print("COLD_START " + json.dumps({"import_s": imported - start, "load_s": loaded - imported,
                                      "first_colorize_s": done - loaded}), flush=True)


def _child_env() -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), env.get("PYTHONPATH", "")) if p)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


def cold_start(name: str, megapixels: float = COLD_START_MP, timeout: float = 300) -> dict | str:
    """Seconds from spawning ``python`` to its first colorized photo (interpreter start included)."""
    code = _COLD_START_CHILD.format(name=name, mp=megapixels)
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code], cwd=REPO_ROOT, env=_child_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in process.stdout:
            if line.startswith("COLD_START "):
                total = time.perf_counter() - start
                process.wait(timeout=timeout)
                return {"total_s": total, **json.loads(line.split(" ", 1)[1])}
        process.wait(timeout=timeout)
        last = (process.stderr.read().strip().splitlines() or ["no output"])[-1]
        return f"n/a (child failed: {last[:160]})"
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return f"n/a (no image within {timeout:.0f} s)"


def streamlit_cold_start(timeout: float = 120) -> dict | str:
    """``streamlit run streamlit_app.py`` until ``/_stcore/health`` answers and ``/`` is served."""
    app = REPO_ROOT / "streamlit_app.py"
    if not app.is_file():
        return "n/a (no streamlit_app.py)"
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.headless", "true",
               "--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO_ROOT, env=_child_env(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        healthy = _wait_for(f"http://127.0.0.1:{port}/_stcore/health", start, timeout, process)
        if healthy is None:
            return "n/a (server did not answer)"
        page = _wait_for(f"http://127.0.0.1:{port}/", start, timeout, process)
        return {"health_s": healthy, "index_s": page}
    finally:
        stop_process(process, grace_s=10)


def stop_process(process: subprocess.Popen, grace_s: float) -> None:
    """Ask a child process to end (SIGTERM), and kill it if it has not within ``grace_s`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _wait_for(url: str, start: float, timeout: float, process) -> float | None:
    while time.perf_counter() - start < timeout and process.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    response.read()
                    return time.perf_counter() - start
        except OSError:
            time.sleep(0.05)
    return None


# ---------------------------------------------------------------------------------------------- machine


def machine_description() -> dict:
    """CPU model, cores, OS and the versions of everything on the hot path."""
    import cv2
    import keras
    import tensorflow as tf

    from colorizer.hardware import bfloat16_is_fast, cpu_model

    cpu = cpu_model()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "cpu": cpu, "cores": os.cpu_count(), "usable_cores": usable, "os": platform.platform(),
        "python": platform.python_version(), "tensorflow": tf.__version__, "keras": keras.__version__,
        "numpy": np.__version__, "opencv": cv2.__version__,
        "bfloat16_fast": bfloat16_is_fast(),
        "load_average_start": load_average(),
    }


def load_average() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None

