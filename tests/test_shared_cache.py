"""ui.shared_cache: a byte budget, an age limit, values shared read-only, a miss computed once in its
turn, and a computation abandoned by its caller taken over by the next one."""
from __future__ import annotations

import threading
from contextlib import contextmanager

import numpy as np
import pytest

from conftest import PATIENCE_S, wait_until

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
    # ...and it pushed nothing out: one visitor's oversized picture must not empty the cache for the class.
    assert cache.stats() == (3, 3 * 1512) and all(cache.peek(key) is not None for key in "acd")


def test_a_new_budget_is_kept_at_once_least_recently_used_out_first():
    cache = SharedCache(max_bytes=4 * 1512)
    for key in "abcd":
        cache.get(key, lambda: np.zeros(1000, np.uint8))
    cache.get("a", lambda: pytest.fail("a is stored"))  # now the most recent: b and c are the oldest
    cache.limit(2 * 1512)
    assert cache.stats() == (2, 2 * 1512) and cache.peek("d") is not None and cache.peek("a") is not None
    cache.get("e", lambda: np.zeros(1000, np.uint8))  # the new budget holds for what comes next
    assert cache.stats() == (2, 2 * 1512) and cache.peek("d") is None
    cache.limit(4 * 1512)  # back up: nothing returns, room for more
    cache.get("f", lambda: np.zeros(1000, np.uint8))
    assert cache.stats() == (3, 3 * 1512)


def test_the_results_hold_less_while_a_fine_tune_runs(monkeypatch):
    """Session 31: a full results cache beside a fine-tune, a 12 MP colorization and a decode took the server to
    2,734 MiB, past a 2.7 GB host's cap. ``process.big_job`` (a fine-tune runs in it) shrinks the app's cache to
    ``CACHE_MB_BESIDE_FINETUNE`` and gives it back its budget after; a callback that fails does not fail the job."""
    from colorizer import process
    from ui import loaders

    monkeypatch.setattr(process, "_big_job_callbacks", [*process._big_job_callbacks])
    monkeypatch.setattr(loaders, "CACHE", SharedCache(loaders.CACHE_MB * 2**20))
    for i in range(16):  # 16 × 12 MB: more than a fine-tune leaves room for, less than the whole budget
        loaders.CACHE.get(("result", i), lambda: np.ones(12 * 2**20, np.uint8))
    assert 16 * 12 > loaders.CACHE_MB_BESIDE_FINETUNE and loaders.CACHE.stats()[0] == 16
    process.on_big_job(lambda running: 1 / 0)
    with process.big_job():
        assert loaders.CACHE.max_bytes == loaders.CACHE_MB_BESIDE_FINETUNE * 2**20
        assert loaders.CACHE.stats()[1] <= loaders.CACHE_MB_BESIDE_FINETUNE * 2**20
        assert loaders.CACHE.peek(("result", 15)) is not None and loaders.CACHE.peek(("result", 0)) is None
        with process.big_job():  # a second at once (not in the app: one fine-tune at a time): nothing changes
            pass
        assert loaders.CACHE.max_bytes == loaders.CACHE_MB_BESIDE_FINETUNE * 2**20
    assert loaders.CACHE.max_bytes == loaders.CACHE_MB * 2**20


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
    assert entries == MODEL_CACHE_MB * 2**20 // model_bytes(Loaded(flagship)) == 6 and used <= MODEL_CACHE_MB * 2**20
    assert cache.peek(("tuned", 15)) is not None and cache.peek(("tuned", 0)) is None  # the oldest went first


def test_the_model_cache_holds_the_shipped_models_and_compares_its_fine_tuned_ones_without_reloading():
    """Session 34's audit: the six shipped models and Compare's three fine-tuned flagships (MAX_TUNED) counted 823 MiB
    against an 800 MiB budget, and Compare's sweep of the nine in one order through eight places missed every one on
    every rerun (8-9 s of loads a widget touch, the flagship pushed out for every visitor). Counted from the shipped
    cards' parameters, as ``model_bytes`` counts a loaded model's, two sweeps: the second loads nothing."""
    import json

    from ui.compare_ui import MAX_TUNED
    from colorizer.checkpoints import WEIGHTS_DIR
    from ui.loaders import MODEL_CACHE_MB, model_bytes

    class Loaded:
        def __init__(self, param_count):
            self.param_count = param_count

    shipped = {card.parent.name: json.loads(card.read_text())["parameters"]["total"]
               for card in sorted(WEIGHTS_DIR.glob("*/card.json"))}
    assert len(shipped) == 6
    largest = max(shipped.values())  # a fine-tuned model is its base's size; the flagship is the largest
    sweep = list(shipped.items()) + [(f"tuned-{i}", largest) for i in range(MAX_TUNED)]
    cache, loads = SharedCache(MODEL_CACHE_MB * 2**20, weigh=model_bytes), []
    for _ in range(2):
        for name, params in sweep:
            cache.get(name, lambda name=name, params=params: loads.append(name) or Loaded(params))
    assert loads == [name for name, _ in sweep]  # each loaded once, in the first sweep


def test_an_entry_older_than_its_ttl_is_computed_again():
    """The age counts from when the value was computed, not from its last use: a result every session keeps
    asking for is still made afresh once its time is up."""
    clock = Clock()
    cache, calls = SharedCache(1 << 20, ttl_s=10, clock=clock), []
    cache.get("k", lambda: calls.append(1) or 1)
    clock.now = 9
    cache.get("k", lambda: calls.append(1) or 1)  # a hit: 9 s old
    assert len(calls) == 1
    clock.now = 10.5
    cache.get("k", lambda: calls.append(1) or 1)  # 10.5 s since it was made (1.5 s since it was last used)
    assert len(calls) == 2
    clock.now = 20
    cache.get("k", lambda: calls.append(1) or 1)
    clock.now = 21
    cache.get("k", lambda: calls.append(1) or 1)
    assert len(calls) == 3


def test_a_value_can_be_kept_for_less_than_the_caches_ttl_never_more():
    """``ttl_of(value)``: a refusal that depends on the server's load is kept a minute where results are kept two
    hours; a lifetime over ``ttl_s`` is held to it, and None is ``ttl_s``."""
    clock = Clock()
    cache, calls = SharedCache(1 << 20, ttl_s=100, clock=clock), []
    lifetime = {"short": 5, "long": 1000, "plain": None}
    for key in lifetime:
        cache.get(key, lambda key=key: calls.append(key) or key, ttl_of=lambda value: lifetime[value])
    clock.now = 6
    assert [cache.peek(key) for key in lifetime] == [None, "long", "plain"]
    clock.now = 101
    assert [cache.peek(key) for key in lifetime] == [None, None, None]


def test_a_read_stopped_at_its_time_limit_is_tried_again_after_a_minute(monkeypatch):
    """Session 29's audit: an upload refused for its decode time was remembered like any refusal, for two hours: an
    honest photo refused while the server was busy stayed refused for that visitor. A time refusal is kept
    ``TIMED_OUT_TTL_S`` (a page's reruns within it do not spend the decode lane again); other refusals as before."""
    from colorizer.imageio import DecodeTimeoutError, ImageError
    from ui import loaders

    clock, reads = Clock(), []
    monkeypatch.setattr(loaders, "CACHE", SharedCache(50 * 2**20, ttl_s=loaders.RESULT_TTL_S, clock=clock))

    def decode(data, name, fit):
        reads.append(name)
        if name == "busy.png" and len(reads) == 1:
            raise DecodeTimeoutError(name, "took too long to decode (stopped at the limit of 10 s)")
        raise ImageError(name, "not an image")

    monkeypatch.setattr(loaders, "decode_image", decode)
    for _ in range(2):   # the second, a rerun: from the cache
        with pytest.raises(ImageError, match="took too long"):
            loaders.decode_upload(b"photo", "busy.png")
        with pytest.raises(ImageError, match="not an image"):
            loaders.decode_upload(b"text", "broken.png")
    assert reads == ["busy.png", "broken.png"]
    clock.now = loaders.TIMED_OUT_TTL_S + 1
    with pytest.raises(ImageError, match="not an image"):   # read again: this time it decodes as far as it goes
        loaders.decode_upload(b"photo", "busy.png")
    with pytest.raises(ImageError, match="not an image"):
        loaders.decode_upload(b"text", "broken.png")
    assert reads == ["busy.png", "broken.png", "busy.png"]
    assert 10 < loaders.TIMED_OUT_TTL_S < loaders.RESULT_TTL_S


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
        release.wait(PATIENCE_S)
        raise Left
        yield  # pragma: no cover

    def first():
        try:
            cache.get("k", lambda: pytest.fail("the first caller left before computing"), turn=turn_then_leave)
        except Left:
            results.append("left")

    leaver = threading.Thread(target=first)
    leaver.start()
    assert waiting.wait(PATIENCE_S)
    joiner = threading.Thread(target=lambda: results.append(cache.get("k", lambda: "made by the second")))
    joiner.start()
    release.set()
    for thread in (leaver, joiner):
        thread.join(PATIENCE_S)
    assert sorted(results) == ["left", "made by the second"]


def _hold_compute(started: threading.Event, release: threading.Event, calls: list, outcome):
    def compute():
        calls.append(1)
        started.set()
        assert release.wait(PATIENCE_S)
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome
    return compute


def _compute_then_join(ask, compute, started: threading.Event, release: threading.Event, calls: list):
    """``ask(compute)`` in one thread; once it computes, ``ask`` again in another, which must join it (computing, it
    would add "again" to ``calls``); then ``release`` the first and wait for both → the two threads."""
    first = threading.Thread(target=ask, args=(compute,))
    first.start()
    assert started.wait(PATIENCE_S)
    joined = threading.Event()
    second = threading.Thread(target=ask, args=(lambda: calls.append("again") or "again",),
                              kwargs={"on_join": joined.set, "wait_poll_s": 0.01})
    second.start()
    assert joined.wait(PATIENCE_S)
    release.set()
    for thread in (first, second):
        thread.join(PATIENCE_S)
    return first, second


def test_two_callers_missing_one_key_compute_it_once_and_the_second_is_told():
    """Two visitors ask for the same result at once, no queue in between (``turn`` None): the second waits for the
    first's computation (and is told once that another visitor asked for the same) rather than computing it too."""
    cache = SharedCache(1 << 20)
    started, release, calls, joined, results = threading.Event(), threading.Event(), [], [], []
    first = threading.Thread(target=lambda: results.append(cache.get("k", _hold_compute(started, release, calls, "made"))))
    first.start()
    assert started.wait(PATIENCE_S)
    second = threading.Thread(target=lambda: results.append(
        cache.get("k", lambda: calls.append("again") or "again", on_join=lambda: joined.append(1), wait_poll_s=0.01)))
    second.start()
    wait_until(lambda: joined or len(calls) > 1)  # the second waits on the first's computation (or, wrongly, computes)
    release.set()
    for thread in (first, second):
        thread.join(PATIENCE_S)
    assert calls == [1] and results == ["made", "made"] and joined == [1]


def test_an_error_reaches_everyone_who_waited_for_it_and_is_not_kept():
    """A broken computation's error is the waiting visitor's too (one line on their page, not a second run of the
    same failing work), and the next request computes afresh."""
    cache = SharedCache(1 << 20)
    started, release, calls, errors = threading.Event(), threading.Event(), [], []

    def ask(compute, **kwargs):
        try:
            cache.get("k", compute, **kwargs)
        except ValueError as err:
            errors.append(str(err))

    _compute_then_join(ask, _hold_compute(started, release, calls, ValueError("broken")), started, release, calls)
    assert calls == [1] and errors == ["broken", "broken"]
    assert cache.get("k", lambda: "fixed") == "fixed" and cache.stats()[0] == 1


def test_a_value_that_cannot_be_weighed_fails_its_waiters_instead_of_hanging_them():
    """A ``weigh`` (or ``ttl_of``) that raises once the value is made: the caller and whoever waited for the same key
    get the error, and the key is not left "being computed" for good (the next request computes afresh)."""
    cache = SharedCache(1 << 20, weigh=lambda value: len(value) if value != "unweighable" else 1 // 0)
    started, release, calls, errors = threading.Event(), threading.Event(), [], []

    def ask(compute, **kwargs):
        try:
            errors.append(("got", cache.get("k", compute, **kwargs)))
        except ZeroDivisionError:
            errors.append("weigh failed")

    threads = _compute_then_join(ask, _hold_compute(started, release, calls, "unweighable"), started, release, calls)
    assert not any(thread.is_alive() for thread in threads)
    assert calls == [1] and errors == ["weigh failed", "weigh failed"]
    assert cache.get("k", lambda: "fine") == "fine" and cache.stats() == (1, 4)


class _Rerun(BaseException):
    """Stands in for Streamlit's RerunException: what drawing on a page raises once the visitor touched a widget."""


def test_a_value_made_before_a_rerun_is_kept_and_given_to_its_waiters():
    """Finding (session 33's audit): a visitor touched a widget while their picture was colorized; leaving the work
    queue's turn then drew on the page, which raised Streamlit's rerun, and the finished result was thrown away as
    if abandoned: the rerun colorized it again, and a classmate waiting on it made it a third time. A value made
    is kept whatever ends the call after it; the rerun still goes through."""
    cache = SharedCache(1 << 20)
    started, release, calls = threading.Event(), threading.Event(), []

    @contextmanager
    def turn_left_by_a_rerun():
        yield
        raise _Rerun()

    outcome = {}

    def first():
        try:
            cache.get("k", _hold_compute(started, release, calls, "made"), turn=turn_left_by_a_rerun)
        except _Rerun:
            outcome["first"] = "rerun"

    thread = threading.Thread(target=first)
    thread.start()
    assert started.wait(PATIENCE_S)
    joined = threading.Event()
    waiter = threading.Thread(target=lambda: outcome.update(waiter=cache.get(
        "k", lambda: calls.append("again") or "again", on_join=joined.set, wait_poll_s=0.01)))
    waiter.start()
    assert joined.wait(PATIENCE_S)
    release.set()
    for t in (thread, waiter):
        t.join(PATIENCE_S)
    assert outcome == {"first": "rerun", "waiter": "made"} and calls == [1]
    assert cache.get("k", lambda: "made again") == "made"  # the rerun finds it


def test_a_visitor_waiting_on_anothers_computation_can_leave_it_at_a_click():
    """Finding (session 33's audit): a page waiting for another visitor's identical request made no Streamlit call,
    so its visitor's clicks waited as long as that request did (6.2 s behind three jobs; at a server's start, 8.5 s
    behind the warm-up's model load). ``on_wait`` is called at every poll (the page draws its line there, where a
    click's rerun comes through); the waiter leaves, the computation goes on and is kept."""
    cache = SharedCache(1 << 20)
    started, release, calls, waited = threading.Event(), threading.Event(), [], []
    owner = threading.Thread(target=lambda: cache.get("k", _hold_compute(started, release, calls, "made")))
    owner.start()
    assert started.wait(PATIENCE_S)

    def on_wait(seconds: float) -> None:
        waited.append(seconds)
        if len(waited) == 3:  # the visitor clicks: the page's next drawing raises the rerun
            raise _Rerun()

    left = []

    def waiter():
        try:
            cache.get("k", lambda: calls.append("again") or "again", on_wait=on_wait, wait_poll_s=0.01)
        except _Rerun:
            left.append(True)

    thread = threading.Thread(target=waiter)
    thread.start()
    thread.join(PATIENCE_S)
    assert left == [True] and len(waited) == 3 and waited == sorted(waited) and not release.is_set()
    release.set()
    owner.join(PATIENCE_S)
    assert calls == [1] and cache.get("k", lambda: "made again") == "made"


def test_the_page_says_once_a_second_that_another_visitors_request_is_under_way():
    """``ui.loaders``' ``on_wait``: the waiting line says whose request the page waits on, redrawn once a second (not
    at every poll), and is cleared when the wait is over; nothing outside a page."""
    from ui import loaders

    class Line:
        def __init__(self):
            self.shown = []

        def info(self, text, icon=None):
            self.shown.append(text)

        def empty(self):
            self.shown.append("")

    line = Line()
    with loaders._waiting_on_another("Colorizing cat.png", line) as on_wait:
        for seconds in (0.01, 0.3, 0.9, 1.2, 1.5, 2.05):
            on_wait(seconds)
    assert line.shown == [f"Colorizing cat.png: another visitor asked for the same first; their result is shared when "
                          f"it is ready ({s} s)" for s in (0, 1, 2)] + [""]  # cleared once the wait is over (a review)
    untouched = Line()
    with loaders._waiting_on_another("Colorizing", untouched):
        pass
    assert untouched.shown == []  # no wait: the line is the turn's, left alone
    with loaders._waiting_on_another("Colorizing", None) as outside_a_page:
        assert outside_a_page is None


def test_the_servers_model_cache_weighs_models_by_their_parameters():
    """``loaders.MODELS`` itself (not a cache built by the test): a loaded model counts as its parameters, so the
    800 MB budget holds five flagship-sized models, not sixteen."""
    from ui import loaders

    class Loaded:
        param_count = 18_662_603

    before = loaders.MODELS.stats()
    key = ("model", "test-weighed", object())
    model = loaders.MODELS.get(key, Loaded)
    try:
        assert loaders.MODELS.stats() == (before[0] + 1, before[1] + loaders.model_bytes(model))
        assert loaders.MODELS.max_bytes == loaders.MODEL_CACHE_MB * 2**20
    finally:
        with loaders.MODELS._lock:
            loaders.MODELS._drop(key)


def test_the_servers_result_cache_keeps_results_for_a_limited_time():
    """``loaders.CACHE``: within ``CACHE_MB``, each result kept at most ``RESULT_TTL_S`` (a result nobody asks for
    again is not held for the server's lifetime)."""
    from ui import loaders

    assert loaders.CACHE.max_bytes == loaders.CACHE_MB * 2**20
    assert loaders.CACHE.ttl_s == loaders.RESULT_TTL_S and 0 < loaders.RESULT_TTL_S <= 24 * 3600
