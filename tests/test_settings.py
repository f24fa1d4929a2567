"""colorizer.settings: a typo in an operator's environment never takes the app down or lifts a limit."""
from __future__ import annotations

import subprocess
import sys

import pytest

from colorizer import access
from colorizer.settings import number_from_env


@pytest.mark.parametrize("raw, kind, expected", [
    ("", int, 7), ("12", int, 12), (" 12 ", int, 12), ("1,000", int, 1000), ("12,000,000", int, 12_000_000),
    ("1_000", int, 1000), ("1.5", float, 1.5), ("1,500.5", float, 1500.5), ("9" * 400, int, int("9" * 400)),
])
def test_a_good_or_missing_value(monkeypatch, raw, kind, expected):
    monkeypatch.setenv("COLORIZER_TEST_LIMIT", raw)
    assert number_from_env("COLORIZER_TEST_LIMIT", 7, kind=kind) == expected


@pytest.mark.parametrize("raw, kind", [
    ("200MB", int), ("1.5", int), ("0", int), ("-3", int), ("nan", float), ("inf", float), ("-inf", float), ("lots", float),
    ("1,5", float),  # a decimal comma: dropping it would read a tenfold 15
    ("1e9", int),
])
def test_a_bad_value_keeps_the_default_with_a_warning_naming_it(monkeypatch, raw, kind):
    monkeypatch.setenv("COLORIZER_TEST_LIMIT", raw)
    with pytest.warns(RuntimeWarning, match=f"COLORIZER_TEST_LIMIT='{raw}' is not a finite"):
        assert number_from_env("COLORIZER_TEST_LIMIT", 7, kind=kind) == 7


def test_zero_where_zero_means_none(monkeypatch):
    monkeypatch.setenv("COLORIZER_TEST_LIMIT", "0")
    assert number_from_env("COLORIZER_TEST_LIMIT", 32.0, kind=float, zero_ok=True) == 0.0


@pytest.mark.slow
def test_the_app_still_imports_with_a_typo_in_a_limit():
    """Finding (session 23's review): ``COLORIZER_MAX_CHECKPOINT_BYTES=200MB`` raised at import, so the app
    could not start."""
    env = {"COLORIZER_MAX_CHECKPOINT_BYTES": "200MB", "COLORIZER_FEATURE_CACHE_GB": "nan", "COLORIZER_WORKERS": "two",
           "COLORIZER_MAX_VIDEO_PIXELS": "inf", "COLORIZER_UPLOADS_MB": "lots", "PATH": "/usr/bin:/bin"}
    code = ("from colorizer import checkpoints, features; from colorizer.video import io; "
            "from ui import server_tuning, work_queue; "
            "print(checkpoints.MAX_CHECKPOINT_BYTES, features.default_disk_budget(), work_queue.QUEUE.slots, "
            "io.max_video_pixels(), server_tuning.UPLOADS_MB)")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == [str(200 * 2**20), str(32 * 2**30), "1", "2000000000", "400"]
    for name in env:
        if name != "PATH":
            assert name in done.stderr  # each bad value named in the log


def test_checkpoint_limits_refuse_nan_and_infinity():
    """Finding: ``days=nan`` passed ``number <= 0`` and a checkpoint made then would never expire."""
    with pytest.warns(RuntimeWarning, match="days=nan"):
        limits = access.parse_limits(access.Limits(), "days=nan,disk_mb=10", "COLORIZER_CHECKPOINT_LIMITS")
    assert limits.days == access.Limits().days and limits.disk_mb == 10
