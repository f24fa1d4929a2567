"""A clip opened first in a child process, its memory measured, before the server's own process opens it.

Why: FFmpeg allocates while it opens a file, on what the file's tables claim, before any check of ours can run.
``container_budget`` reads the claims it knows (sample tables, tracks) and refuses them with a clear line, but the
formats hold more: two reviews of it (session 34) made FFmpeg spend 767 MB to 2 GB from 1.5-3 kB files through tables
it does not read (a sample group description claiming 2^31 entries, encryption sample counts, an item location
table, edit lists repeating a track). A child that opens the file as ``io._av_open`` does measures it whatever the
format: if it grew past ``MAX_OPEN_MB``, died or hung, the clip is refused, and the server never opens it.

Contract
- ``check(path, options)``: ``options`` are ``av.open``'s, as the caller will open the file with them; raises
  ``OpenTooCostlyError`` (one line naming the file) when opening ``path``
  took a child process more than ``MAX_OPEN_MB`` of memory, more than ``TIMEOUT_S``, or killed it; a file FFmpeg
  merely cannot open passes (the caller's own open says why). Each file (its path, size and time of change) is
  tried once a process (``_verdicts``, the last ``KEPT`` files): a rerun of a page does not pay again.
- ``opening_cost(path, options)`` → (status, MB grown): "ok", "error", "memory", "died" or "timeout".
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections import OrderedDict
from pathlib import Path

__all__ = ["OpenTooCostlyError", "MAX_OPEN_MB", "TIMEOUT_S", "check", "opening_cost"]

# What opening an honest clip costs FFmpeg: 4-10 MB (a 30 s 720p H.264 with AAC; an hour of PCM sound), 150 MB at the
# worst allowed (16 streams of 2560×1440, a frame of each decoded); the crafted files 386 MB to 3 GB.
MAX_OPEN_MB = 256
TIMEOUT_S = 20.0
KEPT = 128
# The child: the file opened with the caller's options (JSON), and what it grew by, in MB. No limit on its memory: FFmpeg
# takes a failed allocation of an index in its stride (a raw sound track's 1.4 GB, refused under a limit, left the
# child at 3 MB and "ok", and the server then spent it). It is the first the kernel's out-of-memory killer takes
# (oom_score_adj 1000): on a small host a file that would have killed the server kills the child ("died").
_CHILD = r"""
import json, sys
def kb(field):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(field + ":"))
try:
    with open("/proc/self/oom_score_adj", "w") as adj:
        adj.write("1000")
except OSError:
    pass
import av
before = kb("VmRSS")
try:
    av.open(sys.argv[1], metadata_errors="ignore", options=json.loads(sys.argv[2])).close()
    status = "ok"
except MemoryError:
    status = "memory"
except Exception as err:
    status = "memory" if "Cannot allocate memory" in str(err) else "error"
print(status, (kb("VmHWM") - before) // 1024)
"""


class OpenTooCostlyError(ValueError):
    """A clip whose opening costs more than the server allows; str(err) is one line naming the file."""


_verdicts: OrderedDict[tuple, tuple[str, int]] = OrderedDict()
_lock = threading.Lock()


def check(path, options: dict[str, str]) -> None:
    """Raise ``OpenTooCostlyError`` when opening ``path`` with ``av.open``'s ``options`` costs more than the server
    allows (module docstring)."""
    status, grew = opening_cost(path, options)
    name = Path(path).name
    if status == "timeout":
        raise OpenTooCostlyError(f"{name}: took over {TIMEOUT_S:g} s just to open (a damaged or crafted file)")
    if status in ("memory", "died") or grew > MAX_OPEN_MB:
        raise OpenTooCostlyError(f"{name}: opening it takes more memory than this server gives a clip "
                                 f"({max(grew, MAX_OPEN_MB):,} MB or more; a damaged or crafted file)")


def opening_cost(path, options: dict[str, str]) -> tuple[str, int]:
    """(status, MB grown) of opening ``path`` with ``av.open``'s ``options`` in a child process (module docstring);
    once a file a process."""
    stat = os.stat(path)
    encoded = json.dumps(options, sort_keys=True)
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns, encoded)
    with _lock:
        if key in _verdicts:
            _verdicts.move_to_end(key)
            return _verdicts[key]
    verdict = _measured(str(path), encoded)
    with _lock:
        _verdicts[key] = verdict
        while len(_verdicts) > KEPT:
            _verdicts.popitem(last=False)
    return verdict


def _measured(path: str, options: str) -> tuple[str, int]:
    try:
        run = subprocess.run([sys.executable, "-c", _CHILD, path, options],
                             capture_output=True, text=True, timeout=TIMEOUT_S, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return "timeout", 0
    words = run.stdout.split()
    if run.returncode != 0 or len(words) != 2 or not words[1].lstrip("-").isdigit():
        return "died", 0
    return words[0], int(words[1])
