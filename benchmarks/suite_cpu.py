"""Where the test suite's time goes: its CPU time by kind of process, and how busy the machine was.

    python -m benchmarks.suite_cpu                      # the full suite, as .ci/run runs it
    python -m benchmarks.suite_cpu tests/test_browser.py -n 0

Runs ``python -m pytest`` with the arguments given and, twice a second, reads ``/proc`` for every process
descended from it: its CPU time (user + system) by kind (the pytest processes, the app servers the browser tests
start, Chromium, Playwright's driver, other Python children such as the CLI's and the video opening checks).
At the end: a table of CPU seconds per kind, and the machine's mean utilization over the run (``/proc/stat``, every
core, whatever else ran). A process is read last up to half a second before it ends, and one shorter than that may
not be seen at all (the video opening checks' children, 0.2 s each): the table is a little under the truth.

Why: with two workers on two cores the suite's wall time is its CPU time over two when the machine stays busy; this
says whether it does (then only less CPU makes the suite shorter) and where that CPU goes. Linux only.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import defaultdict

SAMPLE_S = 0.5
KINDS = ("pytest", "app server", "Chromium", "Playwright driver", "other Python child", "other")


def kind_of(comm: str, cmdline: str) -> str:
    if "chrom" in comm or "/chromium" in cmdline:
        return "Chromium"
    if comm == "node" or ("playwright" in cmdline and "driver" in cmdline):
        return "Playwright driver"
    if "streamlit" in cmdline or "ui.serve" in cmdline:
        return "app server"
    # The root, or an xdist worker (a test's own child may name pytest's temporary folders: not one of these).
    if " -m pytest" in cmdline or "exec(eval(sys.stdin.readline()))" in cmdline:
        return "pytest"
    return "other Python child" if "python" in comm or "python" in cmdline.split(" ")[0] else "other"


def _processes() -> dict[int, tuple[int, str, str, float]]:
    """pid → (parent pid, comm, cmdline, CPU seconds) of every process now."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                text = stat.read()
            with open(f"/proc/{entry}/cmdline", "rb") as raw:
                cmdline = raw.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # gone meanwhile
            continue
        comm = text[text.index("(") + 1:text.rindex(")")]
        fields = text[text.rindex(")") + 2:].split()
        found[int(entry)] = (int(fields[1]), comm, cmdline, (int(fields[11]) + int(fields[12])) / ticks)
    return found


def _descendants(root: int, processes: dict) -> set[int]:
    children = defaultdict(list)
    for pid, (parent, *_rest) in processes.items():
        children[parent].append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children[pid])
    return found


def _busy_ticks() -> tuple[int, int]:
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    return sum(values) - values[3] - values[4], sum(values)  # (not idle nor waiting on I/O, all)


def measure(pytest_args: list[str]) -> dict:
    """Run the suite with ``pytest_args`` → {"returncode", "wall_s", "by_kind": {kind: [processes, CPU s]},
    "sampled_cpu_s", "machine_busy_s", "utilization"}."""
    busy_before, all_before = _busy_ticks()
    started = time.perf_counter()
    suite = subprocess.Popen([sys.executable, "-m", "pytest", *pytest_args])
    last: dict[int, tuple[str, float]] = {}  # pid → (kind, CPU seconds at its last sample)
    while suite.poll() is None:
        processes = _processes()
        for pid in _descendants(suite.pid, processes) & processes.keys():
            _parent, comm, cmdline, cpu = processes[pid]
            # Classified on what it runs now (a child read between fork and exec still shows its parent's
            # command), but a process ending shows an empty command line: it keeps its kind.
            kind = last[pid][0] if pid in last and not cmdline else kind_of(comm, cmdline)
            last[pid] = (kind, cpu)
        time.sleep(SAMPLE_S)
    wall = time.perf_counter() - started
    busy_after, all_after = _busy_ticks()
    by_kind = {kind: [0, 0.0] for kind in KINDS}
    for kind, cpu in last.values():
        by_kind[kind][0] += 1
        by_kind[kind][1] += cpu
    utilization = (busy_after - busy_before) / max(all_after - all_before, 1)
    return {"returncode": suite.returncode, "wall_s": wall, "by_kind": by_kind,
            "sampled_cpu_s": sum(cpu for _count, cpu in by_kind.values()),
            "machine_busy_s": utilization * (os.cpu_count() or 1) * wall, "utilization": utilization}


def report(result: dict) -> str:
    sampled = result["sampled_cpu_s"]
    lines = [f"wall {result['wall_s']:.0f} s; the machine busy {100 * result['utilization']:.1f} % of "
             f"{os.cpu_count()} cores ({result['machine_busy_s']:.0f} core-seconds, whatever ran); the suite's "
             f"processes {sampled:.0f} CPU seconds as sampled; pytest exit {result['returncode']}", "",
             "| process kind | processes | CPU s | share of the suite's |", "|---|---|---|---|"]
    for kind, (count, cpu) in sorted(result["by_kind"].items(), key=lambda item: -item[1][1]):
        if count:
            lines.append(f"| {kind} | {count} | {cpu:.0f} | {100 * cpu / max(sampled, 1e-9):.0f} % |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    result = measure(sys.argv[1:] if argv is None else argv)
    print(report(result), flush=True)
    return result["returncode"]


if __name__ == "__main__":
    sys.exit(main())
