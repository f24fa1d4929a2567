"""``colorizer.staging`` with real processes killed (SIGKILL) mid-write: no TensorFlow in the children, so
each takes a fraction of a second.

- Replacing a checkpoint folder (what ``finetune.publish`` does to an existing ``--out``): killed at
  each step, the destination holds the old checkpoint or the new one, complete; the next job's sweep
  clears what the dead process left (at once, not a day later) and never touches the destination.
- A killed save leaves a hidden ``.model.keras.*.keras`` temporary; the next save of that file sweeps
  it, while the temporary of a writer that is still alive stays.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from colorizer import checkpoints, staging

ROOT = Path(__file__).resolve().parents[1]
OLD = {"model.keras": b"old model", "history.csv": b"epoch\n0\n", "card.json": b'{"name": "old"}'}
NEW = {"model.keras": b"new model", "history.csv": b"epoch\n0\n1\n", "card.json": b'{"name": "new"}'}

# The child replaces FINAL by NEW as finetune.publish does, and kills itself (SIGKILL: no cleanup
# runs) at the step named by its first argument.
REPLACE_CHILD = r"""
import os, signal, sys
from pathlib import Path
from colorizer import staging

step, new, final = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
die = lambda *_: os.kill(os.getpid(), signal.SIGKILL)
exchange, rmtree, replace = staging._exchange, staging.shutil.rmtree, os.replace
if step == "before the swap":
    staging._exchange = die
elif step == "after the swap":
    staging._exchange = lambda a, b: exchange(a, b) and die()
elif step == "removing the old folder":
    def half_rmtree(path, ignore_errors=False):
        next(Path(path).iterdir()).unlink()
        die()
    staging.shutil.rmtree = half_rmtree
elif step == "before the fsync":
    staging._fsync_dir = die
elif step == "set aside (no swap)":
    staging._exchange = lambda a, b: False
    def replace_then_die(src, dst):
        replace(src, dst)
        if staging.SET_ASIDE in Path(dst).name:
            die()
    os.replace = replace_then_die
with staging.hold(new):
    staging.replace_folder(new, final, new.parent)
print("finished")
"""


def child_env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True)
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return folder


def contents(folder: Path) -> dict[str, bytes] | None:
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else None


@pytest.mark.parametrize("step, after_sweep", [
    ("before the swap", OLD), ("after the swap", NEW), ("removing the old folder", NEW),
    ("before the fsync", NEW), ("set aside (no swap)", OLD),
])
def test_replacing_a_checkpoint_killed_at_each_step_leaves_old_or_new(tmp_path, step, after_sweep):
    final = write_folder(tmp_path / "mine", OLD)
    root = tmp_path / ".tmp-finetune"
    new = write_folder(root / "mine-x1y2", NEW)
    child = subprocess.run([sys.executable, "-c", REPLACE_CHILD, step, str(new), str(final)], cwd=ROOT,
                           env=child_env(), capture_output=True, text=True, timeout=60)
    assert child.returncode == -signal.SIGKILL, child.stderr
    if step == "set aside (no swap)":
        # Only where the system cannot swap two folders in one step is there a moment without one;
        # the set-aside old checkpoint is then put back by the next sweep.
        assert contents(final) is None
    else:
        assert contents(final) in (OLD, NEW)  # old or new, never neither, never half of one
    staging.sweep(root, "", grace_s=0)  # what the next fine-tune does when it stages
    assert contents(final) == after_sweep
    assert list(root.iterdir()) == []  # nothing of the dead process is left


def test_sweep_leaves_a_live_jobs_staging_folder(tmp_path):
    root = tmp_path / ".tmp-finetune"
    live, dead = write_folder(root / "a-live", NEW), write_folder(root / "b-dead", NEW)
    past = time.time() - 3 * 24 * 3600
    for folder in (live, dead):
        os.utime(folder, (past, past))  # both old: only the lock tells them apart
    with staging.hold(live):
        assert staging.sweep(root, "") == [dead]
    assert [p.name for p in root.iterdir()] == ["a-live"] and contents(live) == NEW


SAVE_CHILD = r"""
import os, signal, sys
from pathlib import Path
from colorizer import checkpoints

mode, target = sys.argv[1], Path(sys.argv[2])

class Model:  # stands in for a keras.Model: save() writes the file in stages
    def save(self, path):
        Path(path).write_bytes(mode.encode() + b": half a model")
        if mode == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        print("writing", flush=True)
        sys.stdin.read()  # alive and writing until the parent closes stdin
        Path(path).write_bytes(b"the live writer's model")

checkpoints.save_model_atomic(Model(), target)
"""


class BytesModel:
    def __init__(self, content: bytes):
        self.content = content

    def save(self, path):
        Path(path).write_bytes(self.content)


def temporaries(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(".model.keras."))


def test_a_killed_save_is_swept_by_the_next_save_but_a_live_writers_temporary_stays(tmp_path):
    target = tmp_path / "checkpoint" / "model.keras"
    live = subprocess.Popen([sys.executable, "-c", SAVE_CHILD, "live", str(target)], cwd=ROOT, env=child_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert live.stdout.readline().strip() == "writing"
        killed = subprocess.run([sys.executable, "-c", SAVE_CHILD, "killed", str(target)], cwd=ROOT, env=child_env(),
                                timeout=60)
        assert killed.returncode == -signal.SIGKILL
        leftovers = temporaries(target.parent)
        assert sorted(p.read_bytes() for p in leftovers) == [b"killed: half a model", b"live: half a model"]
        past = time.time() - 3600
        for path in leftovers:
            os.utime(path, (past, past))  # both old: only the lock tells them apart

        checkpoints.save_model_atomic(BytesModel(b"this process's model"), target)
        assert target.read_bytes() == b"this process's model"
        assert [p.read_bytes() for p in temporaries(target.parent)] == [b"live: half a model"]  # the dead one's is gone
    finally:
        live.stdin.close()
        assert live.wait(timeout=60) == 0
    assert target.read_bytes() == b"the live writer's model" and temporaries(target.parent) == []


def test_sweep_leaves_an_unheld_temporary_younger_than_the_grace_and_removes_it_after(tmp_path):
    """Between creating a temporary and locking it a writer holds nothing: ``GRACE_S`` covers that moment. An
    unheld leftover is removed only once it is older than the grace; other names are never touched."""
    young, old, other = tmp_path / ".x.young.tmp", tmp_path / ".x.old.tmp", tmp_path / "x.png"
    for path in (young, old, other):
        path.write_bytes(b"partial")
    past = time.time() - staging.GRACE_S - 5
    os.utime(old, (past, past))
    os.utime(other, (past, past))
    assert staging.sweep(tmp_path, ".x.") == [old]
    assert young.exists() and not old.exists() and other.exists()
    assert staging.sweep(tmp_path, ".x.", grace_s=0.0) == [young]


def test_a_failed_second_rename_puts_the_old_folder_back(tmp_path, monkeypatch):
    """The fallback without a swap: the old folder set aside, then the new one renamed into place. When that rename
    fails (a full disk, a permission), the old folder goes back to ``final`` and the error is raised."""
    final, staging_dir = tmp_path / "ckpt", tmp_path / ".staging"
    final.mkdir()
    (final / "model.keras").write_text("old")
    staging_dir.mkdir()
    new = staging_dir / "ckpt-new"
    new.mkdir()
    (new / "model.keras").write_text("new")
    monkeypatch.setattr(staging, "_exchange", lambda a, b: False)
    real_rename = os.rename

    def rename(src, dst):
        if Path(src) == new:
            raise OSError(28, "No space left on device", str(src))
        real_rename(src, dst)

    monkeypatch.setattr(staging.os, "rename", rename)
    with pytest.raises(OSError, match="No space left"):
        staging.replace_folder(new, final, staging_dir)
    assert (final / "model.keras").read_text() == "old" and (new / "model.keras").read_text() == "new"


def test_sweep_removes_a_set_aside_folder_whose_checkpoint_is_back_in_place(tmp_path):
    """A set-aside old folder goes back only where its checkpoint is missing; where the checkpoint is in place (the
    replacement finished, its clean-up did not) it is a leftover like any other, and the checkpoint is left alone."""
    final, staging_dir = tmp_path / "ckpt", tmp_path / ".staging"
    final.mkdir()
    (final / "model.keras").write_text("new")
    aside = staging_dir / f"{staging.set_aside_name(final)}abc"
    aside.mkdir(parents=True)
    (aside / "model.keras").write_text("old")
    past = time.time() - staging.GRACE_S - 5
    os.utime(aside, (past, past))
    assert staging.sweep(staging_dir, "") == [aside]
    assert not aside.exists() and (final / "model.keras").read_text() == "new"
