"""ui.work_queue: first come, first served turns, the waiting line's numbers, giving a place up; every
turn_ui call takes a turn (a cached result never asks for one: ``ui.shared_cache``)."""
from __future__ import annotations

import threading

import pytest

from conftest import PATIENCE_S, wait_until
from ui import work_queue
from ui.work_queue import WorkQueue, wait_text


class FakeClock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _start_in_order(queue: WorkQueue, n: int, work, on_wait=None) -> list[threading.Thread]:
    """n threads that join the queue one after another (each has its ticket before the next starts)."""
    threads = []
    for i in range(n):
        before = queue.snapshot()
        thread = threading.Thread(target=work, args=(i,), daemon=True)
        thread.start()
        wait_until(lambda: queue.snapshot()[:2] != before[:2])
        threads.append(thread)
    return threads


def test_jobs_run_one_at_a_time_in_arrival_order():
    queue = WorkQueue(slots=1)
    gate, order, inside, most_inside = threading.Event(), [], [0], [0]
    lock = threading.Lock()

    def job(i):
        with queue.turn(poll_s=0.01):
            with lock:
                inside[0] += 1
                most_inside[0] = max(most_inside[0], inside[0])
            if i == 0:
                gate.wait(PATIENCE_S)  # the first job holds its turn until every other one has queued
            order.append(i)
            with lock:
                inside[0] -= 1

    threads = _start_in_order(queue, 6, job)
    assert queue.snapshot()[:2] == (1, 5)
    gate.set()
    for thread in threads:
        thread.join(PATIENCE_S)
    assert order == list(range(6)) and most_inside[0] == 1
    assert queue.snapshot()[:2] == (0, 0)


def test_two_slots_run_two_jobs_at_once():
    queue = WorkQueue(slots=2)
    both_in, release = threading.Barrier(2, timeout=PATIENCE_S), threading.Event()

    def job(i):
        with queue.turn(poll_s=0.01):
            both_in.wait()  # would time out if the second job could not start beside the first
            release.wait(PATIENCE_S)

    threads = _start_in_order(queue, 2, job)
    wait_until(lambda: queue.snapshot()[0] == 2)  # with one slot the second job would never get in
    release.set()
    for thread in threads:
        thread.join(PATIENCE_S)


def test_the_waiting_line_counts_who_is_ahead_and_estimates_from_recent_durations():
    clock = FakeClock()
    queue = WorkQueue(slots=1, first_guess_s=2.0, clock=clock)
    # Three finished jobs of 1, 2 and 3 s: the mean is 2 s.
    for seconds in (1.0, 2.0, 3.0):
        with queue.turn():
            clock.now += seconds
    assert queue.mean_s() == pytest.approx(2.0)

    release = {0: threading.Event(), 1: threading.Event()}
    seen: dict[int, list] = {1: [], 2: []}

    def job(i):
        with queue.turn(on_wait=lambda ahead, eta: seen[i].append((ahead, eta)) if i in seen else None, poll_s=0.01):
            if i in release:
                release[i].wait(PATIENCE_S)

    threads = _start_in_order(queue, 3, job)
    wait_until(lambda: seen[1] and seen[2])
    assert seen[1][0] == (1, pytest.approx(2.0)) and seen[2][0] == (2, pytest.approx(4.0))
    release[0].set()
    # Once the first job ended, the third sees one fewer ahead of it (the second job holds its turn
    # until then, so a loaded machine cannot skip the moment).
    wait_until(lambda: any(ahead == 1 for ahead, _ in seen[2]))
    release[1].set()
    for thread in threads:
        thread.join(PATIENCE_S)


def test_the_wait_is_estimated_by_kind_and_counts_down_while_the_job_ahead_runs():
    """Session 33's note: the estimate was jobs ahead × the mean of recent jobs of any kind, so a visitor behind a
    model load (8 s) after a few colorizations (1 s) was told "about 3 s", and the figure never fell while the load
    ran. Now each job ahead counts as its own kind's mean, less the time a running one has run already."""
    clock = FakeClock()
    queue = WorkQueue(slots=1, first_guess_s=1.0, clock=clock)
    for kind, seconds in (("load", 8.0), ("colorize", 1.0), ("colorize", 1.0), ("colorize", 1.0)):
        with queue.turn(kind=kind):
            clock.now += seconds
    assert queue.mean_s() == pytest.approx(2.75)  # what the old estimate said for any job ahead

    release, seen = threading.Event(), {1: [], 2: []}

    def job(i):
        kind = ("load", "colorize", "never seen")[i]
        with queue.turn(on_wait=lambda ahead, eta: seen[i].append((ahead, eta)) if i in seen else None,
                        poll_s=0.01, kind=kind):
            if i == 0:
                release.wait(PATIENCE_S)

    threads = _start_in_order(queue, 3, job)
    wait_until(lambda: seen[1] and seen[2])
    assert seen[1][0] == (1, pytest.approx(8.0))  # behind a load: 8 s, not 2.75
    assert seen[2][0] == (2, pytest.approx(9.0))  # behind the load and a colorization
    clock.now += 5.0  # the load has run 5 of its 8 s
    wait_until(lambda: seen[1][-1][1] == pytest.approx(3.0) and seen[2][-1][1] == pytest.approx(4.0))
    clock.now += 10.0  # running past its estimate: nothing left of it, not a negative wait
    wait_until(lambda: seen[1][-1][1] == pytest.approx(0.0) and seen[2][-1][1] == pytest.approx(1.0))
    release.set()
    for thread in threads:
        thread.join(PATIENCE_S)
    # A kind never finished before estimates by every kind's mean; the kinds remembered are bounded.
    for i in range(WorkQueue.MAX_KINDS + 10):
        with queue.turn(kind=("visitor model", i)):
            pass
    assert len(queue._durations_by_kind) == WorkQueue.MAX_KINDS


def test_a_job_of_many_units_is_expected_to_take_its_units_times_the_kinds_pace():
    """The video audit (session 36): the clip lane's estimate was the mean of recent clips, so a visitor behind a
    250-frame clip, after short ones, was told "about 1 s" and waited 10. Clips give their frames as ``work``: their
    time is remembered per frame, and a job ahead counts as its frames × that."""
    clock = FakeClock()
    queue = WorkQueue(slots=1, first_guess_s=0.1, clock=clock)
    assert not queue.has_measured("clip") and queue.expected_s("clip", 30) == pytest.approx(3.0)  # the first guess
    for frames, seconds in ((10, 0.5), (20, 1.0)):  # 0.05 s a frame
        with queue.turn(kind="clip", work=frames):
            clock.now += seconds
    assert queue.has_measured("clip") and queue.expected_s("clip", 250) == pytest.approx(12.5)

    release, seen = threading.Event(), []

    def job(i):
        with queue.turn(on_wait=lambda ahead, eta: seen.append(eta) if i == 1 else None, poll_s=0.01,
                        kind="clip", work=(250, 12)[i]):
            if i == 0:
                release.wait(PATIENCE_S)

    threads = _start_in_order(queue, 2, job)
    wait_until(lambda: seen)
    assert seen[0] == pytest.approx(12.5)  # the long clip's 250 frames, not the mean clip's 0.75 s
    clock.now += 10.0
    wait_until(lambda: seen[-1] == pytest.approx(2.5))
    release.set()
    for thread in threads:
        thread.join(PATIENCE_S)
    assert queue.expected_s("clip", 1) == pytest.approx((0.05 + 0.05 + 10 / 250 + 0.0) / 4)  # per frame, each run

    # A clip stopped at frame 10 of 250 did 10 frames' work, one that failed at frame 10 too; one that did nothing
    # tells no pace (the diff review: a class pressing Stop halved the estimate for everyone).
    pace = queue.expected_s("clip", 1)
    with queue.turn(kind="clip", work=250) as turn:
        clock.now += 10 * pace
        turn.did(10)
    with pytest.raises(RuntimeError):
        with queue.turn(kind="clip", work=250) as turn:
            clock.now += 10 * pace
            turn.did(10)
            raise RuntimeError("the visitor left")
    with queue.turn(kind="clip", work=250) as turn:
        turn.did(0)
        clock.now += 5.0
    assert queue.expected_s("clip", 1) == pytest.approx(pace)


def test_no_wait_means_no_waiting_line():
    queue, calls = WorkQueue(), []
    with queue.turn(on_wait=lambda ahead, eta: calls.append(ahead)):
        pass
    assert calls == []


def test_with_two_slots_the_wait_shown_is_divided_between_them():
    """The waiting line a visitor reads: with two jobs running on two slots, the next one starts when either ends,
    so its wait is 2 ahead × 4 s ÷ 2 slots = 4 s, not 8 (COLORIZER_WORKERS=2 would otherwise double every wait)."""
    queue = WorkQueue(slots=2, first_guess_s=4.0, clock=FakeClock())
    release, seen = threading.Event(), []

    def job(i):
        with queue.turn(on_wait=lambda ahead, eta: seen.append((ahead, eta)), poll_s=0.01):
            if i < 2:
                release.wait(PATIENCE_S)

    threads = _start_in_order(queue, 3, job)
    wait_until(lambda: seen)
    assert seen[0] == (2, pytest.approx(4.0))
    release.set()
    for thread in threads:
        thread.join(PATIENCE_S)


@pytest.mark.parametrize("lane", ["CLIP_QUEUE", "DECODE_QUEUE"])
def test_the_clip_and_upload_lanes_run_one_job_at_a_time(lane):
    """The server's own lanes, not a queue made for the test: a second clip waits while one runs (a paused clip
    keeps its reader, writer and frames: two at once held both), and a second upload is read after the first (the
    decode budget is one decode's memory)."""
    queue = getattr(work_queue, lane)
    assert queue.snapshot()[:2] == (0, 0)
    entered = threading.Event()

    def second():
        with queue.turn(poll_s=0.01):
            entered.set()

    with queue.turn():
        thread = threading.Thread(target=second, daemon=True)
        thread.start()
        wait_until(lambda: entered.is_set() or queue.snapshot()[1] == 1)
        assert not entered.is_set() and queue.snapshot()[:2] == (1, 1)  # waiting, not running beside the first
    assert entered.wait(PATIENCE_S)
    thread.join(PATIENCE_S)
    assert queue.snapshot()[:2] == (0, 0)


def test_the_first_estimate_is_the_first_guess_divided_by_slots():
    """Before any job finished, each job ahead counts as ``first_guess_s``, shared among the slots."""
    queue = WorkQueue(slots=2, first_guess_s=3.0, clock=FakeClock())
    assert queue.mean_s() == 3.0
    release, seen = threading.Event(), []

    def job(i):
        with queue.turn(on_wait=lambda ahead, eta: seen.append((ahead, eta)) if i == 4 else None, poll_s=0.01):
            if i < 4:
                release.wait(PATIENCE_S)

    threads = _start_in_order(queue, 5, job)
    wait_until(lambda: seen)
    assert seen[0] == (4, pytest.approx(6.0))  # two running, two waiting: (3 + 3 + 3 + 3) s over 2 slots
    release.set()
    for thread in threads:
        thread.join(PATIENCE_S)


def test_a_waiter_that_leaves_gives_its_place_up():
    queue = WorkQueue(slots=1)
    release, left, order = threading.Event(), threading.Event(), []

    class Left(Exception):
        pass

    def leave(ahead, eta):
        left.set()
        raise Left  # as Streamlit raises in a script whose visitor went away

    def job(i):
        try:
            with queue.turn(on_wait=leave if i == 1 else None, poll_s=0.01):
                if i == 0:
                    release.wait(PATIENCE_S)
                order.append(i)
        except Left:
            order.append("left")

    first = _start_in_order(queue, 1, job)
    leaver = threading.Thread(target=job, args=(1,), daemon=True)
    leaver.start()
    assert left.wait(PATIENCE_S)
    leaver.join(PATIENCE_S)
    last = _start_in_order(queue, 1, lambda i: job(2))
    assert queue.snapshot()[:2] == (1, 1)  # job 0 runs, job 2 waits: the leaver holds no place
    release.set()
    for thread in first + last:
        thread.join(PATIENCE_S)
    assert order == ["left", 0, 2]
    assert queue.snapshot()[:2] == (0, 0)


def test_an_error_in_the_work_frees_the_turn_and_counts_its_time():
    clock = FakeClock()
    queue = WorkQueue(clock=clock)
    with pytest.raises(ValueError):
        with queue.turn():
            clock.now += 5
            raise ValueError("broken file")
    assert queue.snapshot() == (0, 0, pytest.approx(5.0))
    with queue.turn():
        pass


def test_a_long_job_gives_way_between_parts_to_those_who_queued_meanwhile():
    """Session 25's abuse audit: one clip held the server's one slot for its whole run (40 s), and with three tabs a
    classmate's photo waited 102 s. A long job now gives way between parts: the photo queued during the clip's
    first part runs before its second, and the clip waits at the back of the line, its wait shown."""
    clock = FakeClock()
    queue = WorkQueue(slots=1, clock=clock)
    order, photo_queued, waits = [], threading.Event(), []

    def clip(i):
        with queue.turn(poll_s=0.01) as turn:
            order.append("clip part 1")
            clock.now += 0.5
            assert not turn.give_way(part_s=1.0)  # nobody waits yet, and the part is short: it goes on
            assert photo_queued.wait(PATIENCE_S)
            assert not turn.give_way(part_s=1.0)  # someone waits, but the part has run 0.5 s only
            clock.now += 0.5
            assert turn.give_way(on_wait=lambda ahead, eta: waits.append(ahead), part_s=1.0)
            assert turn.waited_s == pytest.approx(2.0)  # the photo's 2 s: the clip's own speed leaves them out
            order.append("clip part 2")

    def photo(i):
        with queue.turn(poll_s=0.01):
            order.append("photo")
            clock.now += 2.0

    clip_thread = _start_in_order(queue, 1, clip)
    wait_until(lambda: order == ["clip part 1"])
    photo_thread = _start_in_order(queue, 1, photo)
    photo_queued.set()
    for thread in clip_thread + photo_thread:
        thread.join(PATIENCE_S)
    assert order == ["clip part 1", "photo", "clip part 2"]
    assert waits and all(ahead <= 1 for ahead in waits)
    assert queue.snapshot()[:2] == (0, 0)
    # The estimate counts the photo only (2 s; with the clip's parts it would be 1 s): a clip holds those behind it
    # for a part at a time, not for its whole run.
    assert queue.snapshot()[2] == pytest.approx(2.0)


def test_a_job_that_leaves_while_it_gives_way_frees_its_place():
    """The visitor stops a clip (or leaves) while it waits between parts: its place is given up, nothing is
    left running, and the queue goes on."""
    queue = WorkQueue(slots=1)
    photo_in, photo_may_finish = threading.Event(), threading.Event()

    class Left(Exception):
        pass

    def leave(ahead, eta):
        raise Left

    def photo():
        with queue.turn(poll_s=0.01):
            photo_in.set()
            photo_may_finish.wait(PATIENCE_S)

    with queue.turn(poll_s=0.01) as turn:
        photo_thread = threading.Thread(target=photo, daemon=True)
        photo_thread.start()
        wait_until(lambda: queue.snapshot()[1] == 1)
        with pytest.raises(Left):
            turn.give_way(on_wait=leave, part_s=0.0)
    assert photo_in.wait(PATIENCE_S)
    assert queue.snapshot()[:2] == (1, 0)  # the photo runs; the clip holds nothing
    photo_may_finish.set()
    photo_thread.join(PATIENCE_S)
    assert queue.snapshot()[:2] == (0, 0)
    with queue.turn():
        pass


@pytest.mark.parametrize("ahead,eta,text", [
    (1, 0.2, "Queued: 1 ahead of you, about 1 s"),
    (3, 4.2, "Queued: 3 ahead of you, about 5 s"),
    (19, 150.0, "Queued: 19 ahead of you, about 3 min"),
])
def test_wait_text(ahead, eta, text):
    assert wait_text(ahead, eta) == text


def test_turn_ui_always_takes_a_turn():
    """Nothing skips the line (a key once did, and let a result the cache had dropped be recomputed beside the job
    holding the slot): outside a page, turn_ui waits quietly for its turn."""
    busy, entered = WorkQueue(), threading.Event()

    def other():
        with work_queue.turn_ui("Colorizing", queue=busy):
            entered.set()

    with busy.turn():
        thread = threading.Thread(target=other, daemon=True)
        thread.start()
        # In the line, not past it: a wait of fixed length could pass on a loaded machine with the bug there.
        wait_until(lambda: busy.snapshot()[1] == 1)
        assert not entered.is_set(), "turn_ui went past the job holding the slot"
    assert entered.wait(PATIENCE_S)
    thread.join(PATIENCE_S)


def test_reading_uploads_has_a_lane_of_its_own():
    assert work_queue.DECODE_QUEUE is not work_queue.QUEUE and work_queue.DECODE_QUEUE.slots == work_queue.DECODE_SLOTS


def test_workers_from_the_environment(monkeypatch):
    monkeypatch.setenv(work_queue.WORKERS_ENV, "3")
    assert work_queue._slots_from_env() == 3
    monkeypatch.setenv(work_queue.WORKERS_ENV, "many")
    with pytest.warns(RuntimeWarning, match=work_queue.WORKERS_ENV):
        assert work_queue._slots_from_env() == 1
