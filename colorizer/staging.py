"""Hidden temporaries that know whether their writer still lives, and replacing a folder by another.

Every file or folder written in place of another is first built as a hidden temporary beside it. A
process killed mid-write leaves its temporary behind; these helpers tell such a leftover from the
temporary of a writer that is still at work, without guessing from its age:

- ``hold(path)``: the writer holds an exclusive ``flock`` on its temporary (file or folder) for as long
  as it writes. The kernel drops the lock when the process dies, however it dies.
- ``sweep(folder, prefix)``: removes the temporaries named ``prefix…`` in ``folder`` that no process
  holds and that are older than ``GRACE_S`` (the moment between creating a temporary and locking it).
  A live writer's temporary is never removed.
- ``replace_folder(new, final)``: ``final`` becomes ``new``; a reader, or a crash at any moment, finds
  the old folder or the new one at ``final``, never neither (Linux ``renameat2(RENAME_EXCHANGE)``
  swaps the two in one step). Where the system cannot swap, the old folder is set aside under a name
  that ``sweep`` recognizes and puts back if the process dies before the new one is in place.

No TensorFlow here: a test can kill a process at each step in a fraction of a second.
"""
from __future__ import annotations

import ctypes
import errno
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - not Linux/macOS: no locks, so nothing is ever swept
    fcntl = None

__all__ = ["hold", "is_held", "sweep", "replace_folder", "set_aside_name", "GRACE_S"]

GRACE_S = 60.0
SET_ASIDE = ".previous-"
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


@contextmanager
def hold(path: str | Path):
    """Hold an exclusive lock on the file or folder ``path`` while the block runs (its writer lives)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def is_held(path: str | Path) -> bool:
    """Whether a live process holds ``path`` (see ``hold``); False for a path that is gone."""
    if fcntl is None:
        return True  # cannot tell: treat every temporary as live
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False  # got it: nobody else holds it (closing fd releases it again)
    except OSError:
        return True
    finally:
        os.close(fd)


def sweep(folder: str | Path, prefix: str, grace_s: float = GRACE_S) -> list[Path]:
    """Remove the leftovers named ``prefix…`` in ``folder`` (see the module docstring) → what was removed.

    A set-aside old folder (``replace_folder``'s fallback) whose destination is missing is put back
    instead of removed: it is the only copy of that checkpoint."""
    folder, removed = Path(folder), []
    try:
        candidates = [p for p in folder.iterdir() if p.name.startswith(prefix)]
    except OSError:
        return removed
    for path in candidates:
        try:
            if time.time() - path.lstat().st_mtime < grace_s or is_held(path):
                continue
            if not _put_back(path):
                _remove(path)
                removed.append(path)
        except OSError:  # another sweeper got there first, or no permission: leave it
            continue
    return removed


def set_aside_name(final: Path) -> str:
    """The name prefix under which ``replace_folder``'s fallback sets ``final``'s old folder aside."""
    return f"{final.name}{SET_ASIDE}"


def _put_back(path: Path) -> bool:
    """A set-aside folder whose destination (named in its own name) is missing goes back there."""
    if SET_ASIDE not in path.name:
        return False
    # Set-aside folders live in a staging folder beside their destination: <parent>/<staging>/<name>.previous-…
    final = path.parent.parent / path.name.rsplit(SET_ASIDE, 1)[0]
    if final.exists():
        return False
    os.rename(path, final)
    return True


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _exchange(a: Path, b: Path) -> bool:
    """Swap ``a`` and ``b`` in one step → True; False where this system or file system cannot."""
    rename = getattr(ctypes.CDLL(None, use_errno=True), "renameat2", None)
    if rename is None:
        return False
    rename.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    if rename(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP):
        return False
    raise OSError(code, os.strerror(code), str(a), None, str(b))


def replace_folder(new: Path, final: Path, set_aside_dir: Path) -> None:
    """``final`` ← the complete folder ``new`` (both on one file system); the old ``final``, if any, is
    removed afterwards. Old or new at ``final`` at every moment (see the module docstring); the
    fallback sets the old one aside in ``set_aside_dir``, beside ``final``."""
    if not final.exists():
        os.rename(new, final)
    elif _exchange(new, final):
        shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the old folder
    else:
        _replace_in_two_steps(new, final, set_aside_dir)
    _fsync_dir(final.parent)


def _replace_in_two_steps(new: Path, final: Path, set_aside_dir: Path) -> None:
    import tempfile

    aside = Path(tempfile.mkdtemp(dir=set_aside_dir, prefix=set_aside_name(final)))
    # Held while aside: a crash between the two renames lets ``sweep`` put it back; a live writer's is left alone.
    with hold(final):
        os.replace(final, aside)  # rename over the new empty folder
        try:
            os.rename(new, final)
        except BaseException:
            os.rename(aside, final)
            raise
    shutil.rmtree(aside, ignore_errors=True)


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
