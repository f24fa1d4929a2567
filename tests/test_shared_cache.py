"""ui.shared_cache: a byte budget, an age limit, values shared read-only, a miss computed once in its
turn, and a computation abandoned by its caller taken over by the next one."""
from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np
import pytest

from ui.shared_cache import SharedCache, nbytes_of


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_the_budget_keeps_the_most_recently_used():
    cache = SharedCache(max_bytes=3 * (1000 + 512))
    for key in "abc":
        cache.get(key, lambda: np.zeros(1000, np.uint8))
    cache.get("a", lambda: pytest.fail("a is stored"))  # used: now the most recent
    cache.get("d", lambda: np.zeros(1000, np.uint8))  # b, the least recently used, goes
    assert cache.peek("b") is None and cache.peek("a") is not None and cache.stats() == (3, 3 * 1512)
    huge = cache.get("huge", lambda: np.zeros(10_000, np.uint8))  # larger than the budget: returned, not kept
    assert huge.shape == (10_000,) and cache.peek("huge") is None


def test_models_are_weighed_by_their_parameters_not_counted():
    """Finding: the model cache counted entries (16), and a flagship-sized load holds ~140 MB: a Compare page
    of fine-tuned models reached gigabytes on a 2.7 GB host. Weighed, the budget holds what fits."""
    from ui.loaders import BYTES_PER_PARAMETER, MODEL_CACHE_MB, model_bytes

    class Loaded:  # what MODELS holds: a Colorizer, whose memory is TensorFlow's, not numpy's
        def __init__(self, param_count):
            self.param_count = param_count

    flagship = 18_662_603
    assert model_bytes(Loaded(flagship)) > flagship * BYTES_PER_PARAMETER > 140 * 2**20
    cache = SharedCache(MODEL_CACHE_MB * 2**20, weigh=model_bytes)
    for i in range(16):
        cache.get(("tuned", i), lambda: Loaded(flagship))
    entries, used = cache.stats()
    assert entries == MODEL_CACHE_MB * 2**20 // model_bytes(Loaded(flagship)) == 5 and used <= MODEL_CACHE_MB * 2**20
    assert cache.peek(("tuned", 15)) is not None and cache.peek(("tuned", 0)) is None  # the oldest went first


def test_an_entry_older_than_its_ttl_is_computed_again():
    clock = Clock()
    cache, calls = SharedCache(1 << 20, ttl_s=10, clock=clock), []
    cache.get("k", lambda: calls.append(1) or 1)
    clock.now = 9
    cache.get("k", lambda: calls.append(1) or 1)
    clock.now = 21
    cache.get("k", lambda: calls.append(1) or 1)
    assert len(calls) == 2


def test_values_are_shared_read_only_and_counted_once():
    cache = SharedCache(1 << 20)
    array = np.zeros(100, np.uint8)
    value = cache.get("k", lambda: {"a": (array, [array]), "n": 3})
    assert value is cache.get("k", lambda: None) and not array.flags.writeable
    assert nbytes_of(value) == 100 + 512


def test_none_and_errors():
    cache = SharedCache(1 << 20)
    assert cache.get("none", lambda: None) is None
    assert cache.get("none", lambda: pytest.fail("None is stored like any value")) is None
    with pytest.raises(ValueError, match="broken"):
        cache.get("bad", lambda: (_ for _ in ()).throw(ValueError("broken")))
    assert cache.get("bad", lambda: 7) == 7  # an error is not stored


def test_a_computation_abandoned_by_its_caller_is_taken_over():
    """A caller stopped while it waits for its turn (Streamlit stopping a script whose visitor left) must
    not leave the others waiting for nothing: the next caller computes it."""
    cache = SharedCache(1 << 20)
    waiting, release, results = threading.Event(), threading.Event(), []

    class Left(BaseException):
        pass

    @contextmanager
    def turn_then_leave():
        waiting.set()
        release.wait(5)
        raise Left
        yield  # pragma: no cover

    def first():
        try:
            cache.get("k", lambda: pytest.fail("the first caller left before computing"), turn=turn_then_leave)
        except Left:
            results.append("left")

    leaver = threading.Thread(target=first)
    leaver.start()
    assert waiting.wait(5)
    joiner = threading.Thread(target=lambda: results.append(cache.get("k", lambda: "made by the second")))
    joiner.start()
    release.set()
    for thread in (leaver, joiner):
        thread.join(5)
    assert sorted(results) == ["left", "made by the second"]
