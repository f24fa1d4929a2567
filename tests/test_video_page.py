"""AppTest of the Video page (tiny checkpoints; the colorization itself is patched where it would be slow).

The browser test that uploads a clip and plays the result is in ``tests/test_browser.py``.
"""
from __future__ import annotations

import dataclasses
import os
import time
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from app_fixtures import app_checkpoints, as_read, assert_no_page_error, element_kinds, tiny_app_env  # noqa: F401  (pytest fixtures)
from colorizer.video import synthetic
from colorizer.video.io import VideoWriter
from colorizer.video.pipeline import VideoReport

ROOT = Path(__file__).resolve().parents[1]


def clip_bytes(tmp_path, frames: int = 6, size=(64, 48)) -> bytes:
    path = tmp_path / "clip.mp4"
    with VideoWriter(path, size, 12) as writer:
        for gray in synthetic.moving_square(frames=frames, size=size, side=12, step=2).gray:
            writer.write(np.repeat(gray[..., None], 3, 2))
    return path.read_bytes()


def own_clip_folder(tmp_path, monkeypatch):
    """The clip store in a folder of the test's own (→ a ``clip_folder`` stand-in): a test that removes a stored clip
    must not remove one another test run on this machine is using (session 39's review)."""
    from ui import clip_store, video_ui

    folder = tmp_path / "clips"
    folder.mkdir(exist_ok=True)
    monkeypatch.setattr(clip_store, "clip_folder", lambda: folder)
    monkeypatch.setattr(video_ui, "clip_folder", lambda: folder)
    return lambda: folder


def video_page(upload: tuple[str, bytes] | None = None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/video.py").run()
    if upload is not None:
        at.segmented_control(key="video.source").set_value("Upload a clip").run()
        at.file_uploader(key="video.upload").set_value([(upload[0], upload[1], "video/mp4")]).run()
    return at


def fake_colorize_video(calls):
    """Stands in for ``colorize_video``: writes a gray copy of the clip's size, reports progress."""
    def fake(source, destination, model, progress=None, **options):
        from colorizer.video.io import probe, read_frames

        calls.append({"source": source, "model": model.name, **options})
        info = probe(source)
        with VideoWriter(destination, (info.width, info.height), info.fps) as writer:
            for i, frame in enumerate(read_frames(source)):
                writer.write(frame)
                progress(i + 1, info.frames)
        n = writer.frames
        return VideoReport(frames=n, fps=float(info.fps), seconds=0.5, codec=writer.codec,
                           change_predicted=[float("nan")] + [2.0] * (n - 1), change_carried=[float("nan")] + [0.5] * (n - 1))
    return fake


@pytest.mark.slow
def test_video_page_uploads_a_clip_and_shows_the_result_and_the_chart(tiny_app_env, tmp_path, monkeypatch):
    from ui import video_ui

    calls = []
    monkeypatch.setattr(video_ui, "colorize_video", fake_colorize_video(calls))
    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    assert_no_page_error(at)
    assert not at.error, [as_read(e.value) for e in at.error]
    assert any("old.mp4: first frame of 6 (64×48, 12 fps" in as_read(c) for image in at.image for c in image.captions)
    at.button(key="video.run").click().run()
    assert_no_page_error(at)
    assert not at.error, [as_read(e.value) for e in at.error]
    assert len(calls) == 1 and calls[0]["max_pixels"] == video_ui.PAGE_BUDGET
    assert "video.stop" not in [button.key for button in at.button]   # done: nothing left to stop
    assert calls[0]["max_frames"] == video_ui.MAX_FRAMES   # tiny frames at a huge rate cannot run for hours
    assert calls[0]["max_frame_pixels"] == video_ui.MAX_FRAME_PIXELS   # nor large frames under a header claiming small
    assert calls[0]["max_seconds"] == video_ui.MAX_SECONDS   # nor a header that understates its frames
    assert calls[0]["max_bytes"] == video_ui.MAX_RESULT_MB * 2**20   # each result is held in memory
    assert "reference" not in calls[0] and "hints" not in calls[0]
    assert [b.label for b in at.get("download_button") if b.proto.label.startswith("Download the MP4")]
    assert at.get("plotly_chart")
    assert any("Mean change: 2.00 between the frames colorized alone, 0.50 a frame carried" in c.value
               for c in at.caption)
    result = at.session_state[video_ui.RESULT_KEY]
    assert result["mp4"][4:8] == b"ftyp" and result["report"].frames == 6
    # The next run draws the same elements as the run that colorized (its bar, Stop and waiting lines kept as
    # places), so the result's videos and chart are not drawn anew (session 31; ui.work_queue.waiting_line).
    colorized_now = element_kinds(at.main)
    assert element_kinds(at.run().main) == colorized_now


@pytest.mark.slow
def test_one_clip_at_a_time_a_visitor_and_a_cut_off_run_is_said_once(tiny_app_env, tmp_path, monkeypatch):
    """Session 38's class audit: one visitor queued a clip in five tabs and another visitor's clip waited 45 s, not
    5; and a reload mid-clip brought the page back on the sample without a word. A visitor's second clip, while one
    is queued or running, is one line and no run; a run that a reload, a trip or a changed setting cut off is said
    once when the visitor comes back."""
    import threading

    from ui import clip_runs, video_ui, visitor

    calls = []
    monkeypatch.setattr(video_ui, "colorize_video", fake_colorize_video(calls))
    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    owner = at.session_state[visitor._STATE_KEY]
    holding, release = threading.Event(), threading.Event()

    def other_tab():
        with clip_runs.claim(owner, "first.mp4") as claimed:
            assert claimed
            holding.set()
            release.wait(30)

    tab = threading.Thread(target=other_tab)
    tab.start()
    try:
        assert holding.wait(10)
        at.button(key="video.run").click().run()
        assert [as_read(w.value) for w in at.warning] == [
            "first.mp4 of yours is being colorized in another tab: wait for it there, or stop it, then press "
            "Colorize again."]
        assert not calls
    finally:
        release.set()
        tab.join()
    at.button(key="video.run").click().run()   # the other tab's clip done: this one runs
    assert len(calls) == 1 and not at.warning
    # A run ended by Streamlit (a reload's stop, a rerun), not by Stop: said once, then not again.
    with pytest.raises(KeyboardInterrupt):   # stands in for Streamlit's StopException: a BaseException too
        with clip_runs.claim(owner, "old.mp4"):
            raise KeyboardInterrupt
    with pytest.raises(RuntimeError):        # a clip that failed is not called cut off
        with clip_runs.claim("someone else", "x.mp4"):
            raise RuntimeError("boom")
    assert clip_runs.interrupted("someone else") is None
    at.run()
    assert [as_read(i.value) for i in at.info if "stopped before its end" in as_read(i.value)] == [
        "old.mp4 stopped before its end, when the page was reloaded, left or changed while it ran: nothing was kept. "
        "Colorize it again, and stay on the page until it ends."]
    at.run()
    assert not [i for i in at.info if "stopped before its end" in as_read(i.value)]
    # After a reload (a new session of the same visitor) the upload is gone and the page is on the sample: the clip
    # is to be uploaded again (session 42's walk-through: "Colorize it again" would have colorized the sample).
    with pytest.raises(KeyboardInterrupt):
        with clip_runs.claim(owner, "old.mp4"):
            raise KeyboardInterrupt
    reloaded = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=120)
    reloaded.session_state[visitor._STATE_KEY] = owner   # the browser's cookie
    reloaded.run()
    reloaded.switch_page("pages/video.py").run()
    assert [as_read(i.value) for i in reloaded.info if "stopped before its end" in as_read(i.value)] == [
        "old.mp4 stopped before its end, when the page was reloaded, left or changed while it ran: nothing was kept. "
        "Upload it again, press Colorize, and stay on the page until it ends."]
    # Colorize pressed again mid-clip cuts the old run off to start it again: not said (session 38's review).
    with pytest.raises(KeyboardInterrupt):
        with clip_runs.claim(owner, "old.mp4"):
            raise KeyboardInterrupt
    at.button(key="video.run").click().run()
    assert not [i for i in at.info if "stopped before its end" in as_read(i.value)] and len(calls) == 2


def test_a_run_ended_by_stop_is_not_called_cut_off_and_a_cut_off_is_said_at_once():
    """Session 38's browser check: Streamlit runs Stop's callback in the new page run while the old one unwinds its
    clip, in either order; the old run's end was then recorded as a cut-off and said on the next run ("when the page
    was reloaded…", after Stop). And a new run of the same session, or of a reloaded tab, waits for the old run to let
    go of its clip, so that a cut-off is said at once, not one run late."""
    import threading
    import time

    from ui import clip_runs

    def unwinding(owner, session, started, go):
        try:
            with clip_runs.claim(owner, "clip.mp4", session=session):
                started.set()
                go.wait(10)
                raise KeyboardInterrupt   # stands in for Streamlit's StopException
        except KeyboardInterrupt:
            pass

    for stop_first in (True, False):   # Stop's callback before the old run unwinds, and after
        started, go = threading.Event(), threading.Event()
        old_run = threading.Thread(target=unwinding, args=("stopper", "tab", started, go))
        old_run.start()
        assert started.wait(10)
        assert not clip_runs.wait_released("stopper", "tab", timeout=0.05)   # still held by this session's run
        assert clip_runs.wait_released("stopper", "another tab", timeout=0.05)
        if stop_first:
            clip_runs.stopping("stopper")
        go.set()
        began = time.monotonic()
        assert clip_runs.wait_released("stopper", "tab", timeout=5) and time.monotonic() - began < 2
        old_run.join()
        if not stop_first:
            clip_runs.stopping("stopper")
        assert clip_runs.interrupted("stopper") is None, stop_first
    # Without Stop, the same end is a cut-off, said once.
    started, go = threading.Event(), threading.Event()
    old_run = threading.Thread(target=unwinding, args=("reloader", "tab", started, go))
    old_run.start()
    assert started.wait(10)
    go.set()
    assert clip_runs.wait_released("reloader", "tab", timeout=5)
    old_run.join()
    assert clip_runs.interrupted("reloader") == "clip.mp4" and clip_runs.interrupted("reloader") is None
    # A reloaded tab (session 42's audit): the new session's first run waits for the run of the session the reload
    # left, and reads the cut-off then, not one click later; another tab still open is not waited for.
    started, go = threading.Event(), threading.Event()
    old_run = threading.Thread(target=unwinding, args=("reloaded", "old tab", started, go))
    old_run.start()
    assert started.wait(10)
    assert clip_runs.wait_released("reloaded", "new tab", timeout=0.05, gone=lambda session: False)
    began = time.monotonic()   # before the timer: a thread held a moment between the two would shorten the wait seen
    threading.Timer(0.3, go.set).start()
    assert clip_runs.wait_released("reloaded", "new tab", timeout=5, gone=lambda session: session == "old tab")
    assert time.monotonic() - began >= 0.25
    old_run.join()
    assert clip_runs.interrupted("reloaded") == "clip.mp4"


def test_a_damaged_clip_says_its_skipped_parts_not_all_colorized(tiny_app_env, tmp_path, monkeypatch):
    """Session 38's hostile-input audit: a clip damaged in its middle was said to hold fewer frames than its header,
    "all of them were colorized". Its skipped packets are said instead."""
    from ui import video_ui

    calls = []
    fake = fake_colorize_video(calls)
    monkeypatch.setattr(video_ui, "colorize_video",
                        lambda *a, **k: dataclasses.replace(fake(*a, **k), frames=4, damaged=2))
    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    at.button(key="video.run").click().run()
    assert [as_read(w.value) for w in at.warning] == [
        "old.mp4: 2 damaged parts could not be decoded and were skipped: the frames there are missing."]
    assert not [i for i in at.info if "all of them were colorized" in as_read(i.value)]


def test_a_clip_waits_in_the_clip_lane_then_gives_way_after_every_frame(tiny_app_env, tmp_path, monkeypatch):
    """Session 25's abuse audit: a clip held the server's one slot for its whole run, and a classmate's photo
    waited behind every clip in line (102 s behind three). A clip now takes a turn in the clip lane (one clip at a
    time: a paused clip keeps its buffers), then in the main line, where after each frame it offers the slot to
    whoever queued meanwhile (``Turn.give_way``; the queue's own tests show the photo going first)."""
    from ui import video_ui, work_queue

    lanes, offers = [], []
    turn = work_queue.WorkQueue.turn
    lane = {id(work_queue.QUEUE): "main", id(work_queue.CLIP_QUEUE): "clip"}
    monkeypatch.setattr(work_queue.WorkQueue, "turn", lambda queue, *a, **k: (lanes.append(lane.get(id(queue))),
                                                                              turn(queue, *a, **k))[1])
    # Which line the clip gives way in: in the clip lane, photos would wait for the whole clip (and two clips
    # would wait on each other, each holding what the other needs).
    def give_way(self, *, on_wait=None, part_s=1.0):  # as if others' work took 0.05 s after each frame
        offers.append((lane.get(id(self.queue)), part_s))
        self.waited_s += 0.05
        return True

    monkeypatch.setattr(work_queue.Turn, "give_way", give_way)
    monkeypatch.setattr(video_ui, "colorize_video", fake_colorize_video([]))
    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    lanes.clear()
    at.button(key="video.run").click().run()
    assert_no_page_error(at)
    assert "clip" in lanes and lanes[lanes.index("clip") + 1] == "main"  # the clip lane first, then the main line
    assert offers == [("main", 1.0)] * 6  # after each of the clip's six frames, in the main line
    # The clip's speed is its own: of the run's 0.5 s, 0.3 went to others' work (6 frames in 0.2 s, not 0.5).
    assert any("colorized at 30.0 frames a second" in c.value for c in at.caption), [c.value for c in at.caption]
    assert at.session_state[video_ui.RESULT_KEY]["report"].frames == 6


def test_the_runs_progress_and_stop_sit_right_under_the_colorize_button(tiny_app_env, tmp_path, monkeypatch):
    """Session 41's audit: on a phone, the estimate's caption between the button and the run's places put the
    progress bar at the screen's bottom edge and Stop under it, off the screen. During a run (held after its first
    frame) the bar, then Stop, come right after the button, the estimate after them, and the toolbar's Stop is hidden;
    after a Stop, what the bar's place says ("Stopped") comes right after the button too."""
    import streamlit as st

    from ui import video_ui

    def held_after_the_first_frame(source, destination, model, progress=None, **options):
        progress(1, 6)
        st.stop()  # the page as it is mid-run

    monkeypatch.setattr(video_ui, "colorize_video", held_after_the_first_frame)
    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    at.button(key="video.run").click().run()
    shown = _shown(at)
    button = shown.index(("button", "Colorize the clip"))
    assert shown[button + 1][0] == "progress" and shown[button + 1][1].startswith("Frame 1 of 6"), shown[button:]
    assert shown[button + 2] == ("button", "Stop"), shown[button:]
    assert shown[button + 3][1].startswith("Stay on this page") and shown[button + 4][1].startswith("Its 6 frames take"), \
        shown[button:]
    # Session 42's audit: Streamlit's own Stop (the toolbar's) ends the run where the page cannot be drawn again (as
    # st.stop here), the bar frozen at "Frame 33 of 400 · about 73 s left" until the next click. Hidden during a run.
    assert _toolbar_stop_hidden(at)

    at.session_state[video_ui.STOPPED_KEY] = True
    at.run()
    assert_no_page_error(at)
    shown = _shown(at)
    button = shown.index(("button", "Colorize the clip"))
    assert shown[button + 1][1].startswith("Stopped: nothing was kept"), shown[button:button + 4]
    assert shown[button + 2][1].startswith("Its 6 frames take"), shown[button:]
    assert not _toolbar_stop_hidden(at)  # no clip runs


def _toolbar_stop_hidden(at) -> bool:
    from ui.video_ui import TOOLBAR_STOP_HIDDEN_CSS

    return any(TOOLBAR_STOP_HIDDEN_CSS in html.proto.body for html in at.get("html"))


def _shown(at) -> list[tuple[str, str]]:
    """(kind, label or text) of each element the page draws, in order."""
    def text(node) -> str:
        if str(getattr(node, "type", "")) == "progress":
            return node.proto.text
        return str(getattr(node, "label", getattr(node, "value", "")))

    return [(str(getattr(node, "type", "")), text(node)) for node in _in_order(at.main)]


def _in_order(node) -> list:
    """The page's elements in the order it draws them (blocks opened, empty places left out)."""
    found = []
    for child in getattr(node, "children", {}).values():
        if getattr(child, "children", None):
            found += _in_order(child)
        elif str(getattr(child, "type", "")) not in ("", "empty"):
            found.append(child)
    return found


@pytest.mark.slow
def test_a_clip_is_opened_in_the_uploads_lane_and_held_to_the_servers_file_limit(tiny_app_env, tmp_path, monkeypatch):
    """Session 34's audits: the page opened a clip (FFmpeg decodes a frame of each stream) outside every queue on every
    rerun, two visitors' at once; and its 30 MB cap was a constant of its own that ``server.maxUploadSize``, which
    deploy.md says sets it, did not move."""
    from ui import server_tuning, work_queue

    kinds, turn = [], work_queue.WorkQueue.turn
    monkeypatch.setattr(work_queue.WorkQueue, "turn", lambda queue, *a, **k: (
        kinds.append((queue is work_queue.DECODE_QUEUE, k.get("kind"))), turn(queue, *a, **k))[1])
    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    assert_no_page_error(at)
    assert (True, "opening a clip") in kinds
    assert "up to 30 MB" in at.get("file_uploader")[0].proto.label  # .streamlit/config.toml's maxUploadSize
    monkeypatch.setattr(server_tuning, "largest_upload_mb", lambda: 0.001)
    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    errors = [as_read(e.value) for e in at.error]
    assert len(errors) == 1 and "over this server's 0.001 MB for a clip" in errors[0], errors


@pytest.mark.slow
def test_a_clip_is_kept_on_a_trip_to_another_page_and_said_let_go_once_its_copy_is_gone(tiny_app_env, tmp_path,
                                                                                         monkeypatch):
    """Session 34's walkthrough: Video → Colorize → Video showed only "Upload a clip, or try the sample." (Streamlit
    lets an uploader's file go when a page does not draw it); session 39's: a teacher had to upload it again. The
    clip is now kept by its stored copy until another is uploaded; with that copy gone (other visitors' clips pushed
    it out), the page says it was let go, once."""
    clip_folder = own_clip_folder(tmp_path, monkeypatch)
    at = video_page(("my_film.mp4", clip_bytes(tmp_path)))
    assert_no_page_error(at)
    at.switch_page("pages/colorize.py").run()
    at.switch_page("pages/video.py").run()
    assert_no_page_error(at)
    kept = "Still using my_film.mp4; upload another clip to change it."
    assert kept in [as_read(c.value) for c in at.caption] and not at.info
    assert any(as_read(c).startswith("my_film.mp4: first frame of") for image in at.image for c in image.captions)
    at.run()  # still kept on the page's next runs
    assert kept in [as_read(c.value) for c in at.caption]
    # Another uploaded, then the uploader emptied on the page itself: nothing kept any more (session 39's mutants).
    at.file_uploader(key="video.upload").set_value([("other.mp4", clip_bytes(tmp_path, frames=7), "video/mp4")]).run()
    assert not [c for c in at.caption if as_read(c.value).startswith("Still using")]
    at.file_uploader(key="video.upload").set_value([]).run()
    assert not [c for c in at.caption if as_read(c.value).startswith("Still using")]
    assert [as_read(i.value) for i in at.info] == ["Upload a clip, or try the sample."]
    at.file_uploader(key="video.upload").set_value([("my_film.mp4", clip_bytes(tmp_path), "video/mp4")]).run()
    for stored in clip_folder().glob("*.mp4"):
        if stored.read_bytes() == clip_bytes(tmp_path):
            stored.unlink()
    at.switch_page("pages/colorize.py").run()
    at.switch_page("pages/video.py").run()
    assert [as_read(i.value) for i in at.info] == ["my_film.mp4 was let go when you left this page: upload it again."]
    at.run()  # said once: the next run is the page's usual invitation
    assert [as_read(i.value) for i in at.info] == ["Upload a clip, or try the sample."]
    # Switched to the sample and back on the page itself, the clip went with the switch: not "when you left".
    at.file_uploader(key="video.upload").set_value([("my_film.mp4", clip_bytes(tmp_path), "video/mp4")]).run()
    at.segmented_control(key="video.source").set_value("Sample: an old-film pan").run()
    at.segmented_control(key="video.source").set_value("Upload a clip").run()
    assert [as_read(i.value) for i in at.info] == ["Upload a clip, or try the sample."]


def test_a_clip_longer_than_its_header_said_is_cut_at_the_limit_and_says_so(tiny_app_env, tmp_path, monkeypatch):
    """Finding (session 23): the page's 30-s cap was read from the header, so a clip claiming one frame at 1/30 fps
    could run for hours of timeline and re-encode hours of sound. The run itself now stops at the limit."""
    import dataclasses

    from ui import video_ui

    monkeypatch.setattr(video_ui, "MAX_SECONDS", 0.25)   # 3 frames at 12 fps; the clip holds 6
    real_probe = video_ui.probe
    monkeypatch.setattr(video_ui, "probe",  # it lies
                        lambda path, **limits: dataclasses.replace(real_probe(path, **limits), frames=1))
    at = video_page(("liar.mp4", clip_bytes(tmp_path)))
    assert not at.error, [as_read(e.value) for e in at.error]
    at.button(key="video.run").click().run()
    assert_no_page_error(at)
    assert not at.error, [as_read(e.value) for e in at.error]
    assert at.session_state[video_ui.RESULT_KEY]["report"].frames == 3
    assert any("only its first 3 frames (0.2 s" in as_read(w.value) for w in at.warning), [w.value for w in at.warning]


@pytest.mark.slow
def test_a_clip_of_unevenly_spaced_frames_keeps_its_length_on_the_page(tiny_app_env, tmp_path):
    """The video audit (session 36): a variable-frame-rate clip came out a quarter of its length. Each frame keeps its
    own time; one frame is "1 frame"."""
    from test_video import played, write_uneven_clip

    from ui import video_ui

    at = video_page(("screen.mp4", write_uneven_clip(tmp_path / "screen.mp4").read_bytes()))
    at.button(key="video.run").click().run()
    assert_no_page_error(at)
    assert not at.warning, [w.value for w in at.warning]
    result = at.session_state[video_ui.RESULT_KEY]
    assert result["report"].written_seconds == pytest.approx(3.04, abs=1e-3)
    (tmp_path / "out.mp4").write_bytes(result["mp4"])
    assert played(tmp_path / "out.mp4")[:2] == (pytest.approx([0, 0.04, 0.08, 1.0, 2.0, 3.0], abs=1e-3),
                                                 pytest.approx(3.04, abs=0.01))
    one = video_page(("one.mp4", write_uneven_clip(tmp_path / "one.mp4", times_ms=(0,)).read_bytes()))
    one.button(key="video.run").click().run()
    assert any(c.value.startswith("1 frame at ") for c in one.caption), [c.value for c in one.caption]


@pytest.mark.slow
def test_the_page_says_how_long_a_clip_will_take_before_it_runs(tiny_app_env, tmp_path, monkeypatch):
    """The video audit: nothing said how long a clip would take (a 30-s clip is minutes of a 2-core server). The
    estimate is the clip lane's pace per frame × its frames, said to be a guess until a clip ran here."""
    from ui import video_ui, work_queue

    now = [0.0]
    lane = work_queue.WorkQueue(slots=1, first_guess_s=0.1, clock=lambda: now[0])
    monkeypatch.setattr(work_queue, "CLIP_QUEUE", lane)
    at = video_page(("six.mp4", clip_bytes(tmp_path, frames=6)))
    assert "Its 6 frames take about 1 s on this server (a guess: no clip has run here yet)." in [
        c.value for c in at.caption], [c.value for c in at.caption]
    with lane.turn(kind=video_ui.CLIP_KIND, work=2):
        now[0] += 1.0  # 0.5 s a frame
    at.run()
    assert "Its 6 frames take about 3 s on this server, as recent clips ran here." in [c.value for c in at.caption]
    # Said again once the clip itself ran (session 37's walkthrough: "a guess: no clip has run here yet" stayed above
    # the result of the clip that had just run).
    monkeypatch.setattr(work_queue, "CLIP_QUEUE", work_queue.WorkQueue(slots=1, first_guess_s=0.1))
    at.run()
    assert any(c.value.endswith("(a guess: no clip has run here yet).") for c in at.caption)
    at.button(key="video.run").click().run()
    assert_no_page_error(at)
    assert at.session_state[video_ui.RESULT_KEY]["report"].frames == 6
    assert not any("a guess" in c.value for c in at.caption), [c.value for c in at.caption]


def test_a_clip_whose_header_has_no_frame_count_is_not_called_one_of_0(tiny_app_env):
    """The video audit: a PNG named .mp4 (FFmpeg reads it as a one-picture clip) was "first frame of 0 (…, 0.0 s)"."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((48, 64, 3), 120, np.uint8)).save(buffer, format="PNG")
    at = video_page(("still.mp4", buffer.getvalue()))
    assert_no_page_error(at)
    captions = [as_read(c) for element in at.image for c in element.captions]
    assert any(c.startswith("still.mp4: first frame (its header gives no frame count; 64×48") for c in captions), captions
    assert not any("of 0" in c for c in captions)
    assert any(c.value.startswith("Its header gives no frame count: up to ") for c in at.caption)


def test_a_clip_refused_after_its_wait_is_named(tiny_app_env, tmp_path, monkeypatch):
    """The video audit: an error raised while the clip ran (its frames changed size) named "the clip", not the file."""
    from colorizer.video.io import VideoError
    from ui import video_ui

    def refuse(source, *args, **kwargs):
        raise VideoError(f"{Path(source).name}: frame 9 is 480x360, the first was 320x240")

    monkeypatch.setattr(video_ui, "colorize_video", refuse)
    at = video_page(("mine.mp4", clip_bytes(tmp_path)))
    at.button(key="video.run").click().run()
    assert [as_read(e.value) for e in at.error] == ["mine.mp4: frame 9 is 480x360, the first was 320x240"]


def test_a_broken_clip_is_one_error_naming_it(tiny_app_env):
    at = video_page(("broken.mp4", b"<html>not a video</html>"))
    assert_no_page_error(at)
    errors = [as_read(e.value) for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("broken.mp4: not a readable video"), errors


def test_a_clip_over_the_hosted_caps_is_refused(tiny_app_env, tmp_path, monkeypatch):
    from ui import video_ui

    monkeypatch.setattr(video_ui, "PAGE_BUDGET", 5 * 64 * 48)
    at = video_page(("long.mp4", clip_bytes(tmp_path, frames=8)))
    errors = [as_read(e.value) for e in at.error]
    # What a visitor can do, not the command line's options or an operator's setting (session 36's video audit).
    assert len(errors) == 1 and errors[0].startswith("long.mp4: ") and "is more than this server colorizes in one " \
        "clip (at this size, about " in errors[0] and "shorten it" in errors[0], errors
    assert "--max-frames" not in errors[0] and "COLORIZER_" not in errors[0]
    assert "video.run" not in [button.key for button in at.button]


def test_a_clip_longer_than_the_hosted_seconds_is_refused_from_its_header(tiny_app_env, tmp_path, monkeypatch):
    """A clip over MAX_SECONDS (here 1 s; the clip is 2 s of tiny frames, well within the frame and pixel budgets) is
    refused before a frame is colorized, in one line naming it, with no Colorize button."""
    from ui import video_ui

    monkeypatch.setattr(video_ui, "MAX_SECONDS", 1)
    at = video_page(("long.mp4", clip_bytes(tmp_path, frames=24)))
    errors = [as_read(e.value) for e in at.error]
    assert errors == ["long.mp4: 2 s, over this server's 1 s for a clip "
                      "(the command line takes longer clips: python -m colorizer video)"], errors
    assert "video.run" not in [button.key for button in at.button]


def test_a_clip_of_frames_over_the_hosted_frame_size_is_refused(tiny_app_env, tmp_path, monkeypatch):
    """MAX_FRAME_PIXELS (here one pixel under the clip's 64×48) refuses a clip of large frames however short it is:
    each frame is a network pass and a flow estimate at its size."""
    from ui import video_ui

    monkeypatch.setattr(video_ui, "MAX_FRAME_PIXELS", 64 * 48 - 1)
    at = video_page(("wide.mp4", clip_bytes(tmp_path)))
    errors = [as_read(e.value) for e in at.error]
    assert errors == ["wide.mp4: its frames are 64×48, over this server's 3,071 pixels a frame: export it smaller, "
                      "or use the command line (python -m colorizer video)"], errors
    assert "video.run" not in [button.key for button in at.button]


def test_a_header_that_understates_the_frame_size_is_refused_at_the_first_frame(tiny_app_env, tmp_path, monkeypatch):
    """The review: a header claiming 32×24 passed the page's frame-size check, and the preview decoded the real
    64×48 frame (a 12 MP one would have been held in the page's cache). The first frame is held to the page's
    limit as it is decoded: one line, no Colorize button."""
    from ui import video_ui

    monkeypatch.setattr(video_ui, "MAX_FRAME_PIXELS", 32 * 24)
    real_probe = video_ui.probe
    monkeypatch.setattr(video_ui, "probe",
                        lambda path, **limits: dataclasses.replace(real_probe(path, **limits), width=32, height=24))
    at = video_page(("small.mp4", clip_bytes(tmp_path, frames=5)))  # its own file: the preview is cached by it
    errors = [as_read(e.value) for e in at.error]
    assert errors == ["small.mp4: frame 0 is 64x48, over the limit of 768 pixels a frame"], errors
    assert "video.run" not in [button.key for button in at.button]


def test_a_clip_over_the_upload_size_is_refused_before_it_is_read(tiny_app_env, tmp_path, monkeypatch):
    from ui import video_ui

    stored, store = [], video_ui.stored_clip
    monkeypatch.setattr(video_ui, "stored_clip", lambda name, data: stored.append(name) or store(name, data))
    monkeypatch.setattr(video_ui, "MAX_UPLOAD_MB", 0.001)   # about 1 kB: the clip (a few kB) is over it
    at = video_page(("big.mp4", clip_bytes(tmp_path)))
    errors = [as_read(e.value) for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("big.mp4: ") and "over this server's 0.001 MB for a clip" in errors[0], errors
    assert "video.run" not in [button.key for button in at.button] and "big.mp4" not in stored


def test_a_clip_of_too_many_frames_is_refused_however_small_they_are(tiny_app_env, tmp_path, monkeypatch):
    from ui import video_ui

    monkeypatch.setattr(video_ui, "MAX_FRAMES", 7)   # well within the pixel budget: only the frame count refuses it
    at = video_page(("fast.mp4", clip_bytes(tmp_path, frames=8)))
    errors = [as_read(e.value) for e in at.error]
    assert errors == ["fast.mp4: 8 frames, over this server's 7 for a clip "
                      "(the command line takes longer clips: python -m colorizer video)"], errors
    assert "video.run" not in [button.key for button in at.button]

    # A file that gives no count (MKV, WebM) is said to hold "about" its length × rate (session 38's hostile-input
    # audit: 25 frames declaring 1,000 a second were refused as "24,001 frames", said as a fact).
    import av

    path = tmp_path / "counted.mkv"
    with av.open(str(path), "w", format="matroska") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for i in range(8):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), 30 * i, np.uint8), format="rgb24")
            frame.pts = i
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    at.file_uploader(key="video.upload").set_value([("uncounted.mkv", path.read_bytes(), "video/x-matroska")]).run()
    assert [as_read(e.value) for e in at.error] == [
        "uncounted.mkv: about 8 frames (its length at 25 a second: the file gives no count), over this server's 7 for "
        "a clip (the command line takes longer clips: python -m colorizer video)"]


@pytest.mark.slow
def test_an_oversized_or_deeply_nested_hints_file_is_refused_before_parsing(tiny_app_env, tmp_path, monkeypatch):
    # The size and nesting are checked on the bytes (``parse_hints_json``): a 50 MB "[{},{},…]" would take
    # over a gigabyte to parse, and deep nesting a RecursionError, before the hint count could refuse it.
    from colorizer import hints
    from ui import video_ui

    monkeypatch.setattr(video_ui, "colorize_video", fake_colorize_video([]))
    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    at.sidebar.selectbox(key="sidebar.model").set_value("hypercolumn_hints").run()
    at.radio(key="video.guidance").set_value(video_ui.HINTS).run()
    # Streamlit itself holds a hints upload to 1 MB (the page's default would let 200 MB sit in the session).
    assert hints_upload(at).proto.max_upload_size_mb == 1
    big = b"[" + b"{}," * (hints.MAX_HINTS_JSON_BYTES // 3) + b"{}]"
    hints_upload(at).set_value([("big.json", big, "application/json")]).run()
    assert_no_page_error(at)
    assert [as_read(e.value) for e in at.error] == [f"big.json: {len(big):,} bytes; a hints file is at most "
                                           f"{hints.MAX_HINTS_JSON_BYTES:,} bytes"]
    hints_upload(at).set_value([("deep.json", b"[" * 5000 + b"]" * 5000, "application/json")]).run()
    assert_no_page_error(at)
    assert len(at.error) == 1 and as_read(at.error[0].value).startswith("deep.json: not a hints file (JSON nested deeper")


def hints_upload(at):
    """The first frame's hints file uploader (``ui.hints_ui``'s, keyed by the frame's content)."""
    [key] = [u.key for u in at.file_uploader if str(u.key).startswith("colorize.hint_upload.")]
    return at.file_uploader(key=key)


@pytest.mark.slow
def test_hints_need_a_hint_taking_model_and_reach_the_run(tiny_app_env, tmp_path, monkeypatch):
    from ui import video_ui

    calls = []
    monkeypatch.setattr(video_ui, "colorize_video", fake_colorize_video(calls))
    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    at.radio(key="video.guidance").set_value(video_ui.HINTS).run()
    assert any("hint-taking model" in i.value for i in at.info)
    at.sidebar.selectbox(key="sidebar.model").set_value("hypercolumn_hints").run()
    # No hint yet: the run button waits, and a line says what it waits for (it vanished without a word).
    assert "video.run" not in [button.key for button in at.button]
    assert any("Add a hint to the first frame" in i.value for i in at.info), [i.value for i in at.info]
    hints_upload(at).set_value([("hints.json", b'[{"x": 10, "y": 20, "rgb": [200, 40, 40]}]', "application/json")]).run()
    assert not at.error, [as_read(e.value) for e in at.error]
    at.button(key="video.run").click().run()
    assert_no_page_error(at)
    assert calls and calls[-1]["hints"] == [{"x": 10, "y": 20, "rgb": [200, 40, 40]}]
    hints_upload(at).set_value([("bad.json", b'[{"x": 999, "y": 0, "rgb": [1, 2, 3]}]', "application/json")]).run()
    assert len(at.error) == 1 and as_read(at.error[0].value).startswith("bad.json")


@pytest.mark.slow
def test_a_hint_placed_on_the_first_frame_reaches_the_run(tiny_app_env, tmp_path, monkeypatch):
    """Session 41's audit: hints for a clip were made on the Colorize page only (the frame downloaded, uploaded in
    the sidebar, hints placed, downloaded, loaded here): a class looked for where to tap the frame. They are placed
    on the first frame here, as on the Colorize page, and the run is colored with them."""
    from ui import video_ui
    from ui.loaders import image_digest

    calls = []
    monkeypatch.setattr(video_ui, "colorize_video", fake_colorize_video(calls))
    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    at.sidebar.selectbox(key="sidebar.model").set_value("hypercolumn_hints").run()
    at.radio(key="video.guidance").set_value(video_ui.HINTS).run()
    digest = image_digest(video_ui.first_frame(str(tmp_path / "clip.mp4")))[:16]
    at.number_input(key=f"colorize.hint_x.{digest}").set_value(30)
    at.number_input(key=f"colorize.hint_y.{digest}").set_value(12)
    at.button(key=f"colorize.hint_pick.{digest}").click().run()
    assert_no_page_error(at)
    picker = next(c for c in at.color_picker if str(c.key).startswith("colorize.hint_color."))
    picker.set_value("#1e90ff").run()
    at.button(key=f"{picker.key}.add").click().run()
    assert_no_page_error(at)
    assert "Colorize the clip" in [b.label for b in at.button]
    at.button(key="video.run").click().run()
    assert_no_page_error(at)
    assert calls and calls[-1]["hints"] == [{"x": 30, "y": 12, "rgb": [30, 144, 255]}]
    assert "Colorized by hypercolumn_hints (1 hint)" in [as_read(c.value) for c in at.caption]
    # A model that takes no hints: what to do, and that the frame's hint is kept (the walk-through found neither).
    at.sidebar.selectbox(key="sidebar.model").set_value("cifar_ae").run()
    assert_no_page_error(at)
    assert any("or choose Automatic" in i.value for i in at.info), [i.value for i in at.info]
    assert any(as_read(c.value).startswith("This picture's 1 hint is kept, but cifar_ae takes no hints")
               for c in at.caption), [c.value for c in at.caption]


@pytest.mark.slow
def test_a_result_is_shown_only_for_the_guide_it_was_made_with(tiny_app_env, tmp_path, monkeypatch):
    """Finding (session 28's walkthrough): the result was kept under the guide's label, a reference's file name or
    the number of hints, so after another hints file of as many hints (or another photo named image.jpg) the page
    showed the last result as colored from it. Another guide of the same label shows no result until it is run."""
    from ui import video_ui

    calls = []
    monkeypatch.setattr(video_ui, "colorize_video", fake_colorize_video(calls))
    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    at.sidebar.selectbox(key="sidebar.model").set_value("hypercolumn_hints").run()
    at.radio(key="video.guidance").set_value(video_ui.HINTS).run()
    red, blue = (f'[{{"x": 10, "y": 20, "rgb": {rgb}}}]'.encode() for rgb in ("[200, 40, 40]", "[40, 40, 200]"))
    hints_upload(at).set_value([("hints.json", red, "application/json")]).run()
    at.button(key="video.run").click().run()
    assert_no_page_error(at)
    assert "Colorized by hypercolumn_hints (1 hint)" in [as_read(c.value) for c in at.caption]
    assert "video.download" in [b.key for b in at.get("download_button")]
    hints_upload(at).set_value([("hints.json", blue, "application/json")]).run()
    assert_no_page_error(at)
    assert "video.download" not in [b.key for b in at.get("download_button")]
    assert not [c.value for c in at.caption if as_read(c.value).startswith("Colorized")]
    # ... but the page says where it went (session 44: after a change of model it vanished without a word).
    assert [as_read(i.value) for i in at.info if "last result" in i.value] == [
        "This clip's last result was colorized by hypercolumn_hints (1 hint): choose that again to see it, or press "
        "Colorize the clip for these settings."]
    hints_upload(at).set_value([("hints.json", red, "application/json")]).run()
    assert "video.download" in [b.key for b in at.get("download_button")]  # the red hints' result is theirs
    assert not [i for i in at.info if "last result" in i.value]


@pytest.mark.slow
def test_a_references_transparency_reaches_the_run_and_tells_results_apart(tiny_app_env, tmp_path, monkeypatch):
    """A reference with a transparent band: the run is given the pixels it shows (alpha > 0), so what the band hides
    gives the first frame no color; the same colors with another transparency are another guide (no old result);
    a reference transparent all over is one line, and no run."""
    import io

    from PIL import Image

    from ui import video_ui

    calls = []
    monkeypatch.setattr(video_ui, "colorize_video", fake_colorize_video(calls))

    def rgba_png(hidden_rows: int) -> bytes:
        rgb = np.zeros((40, 60, 3), np.uint8)  # at least exemplar.MIN_REFERENCE_SIDE a side
        rgb[:] = [40, 160, 60]
        alpha = np.full((40, 60), 255, np.uint8)
        alpha[:hidden_rows] = 0
        buffer = io.BytesIO()
        Image.fromarray(np.dstack([rgb, alpha])).save(buffer, format="PNG")
        return buffer.getvalue()

    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    at.radio(key="video.guidance").set_value(video_ui.REFERENCE).run()
    at.file_uploader(key="video.reference").set_value([("ref.png", rgba_png(10), "image/png")]).run()
    at.button(key="video.run").click().run()
    assert_no_page_error(at)
    visible = calls[-1]["reference_visible"]
    assert visible.shape == (40, 60) and not visible[:10].any() and visible[10:].all()
    assert "video.download" in [b.key for b in at.get("download_button")]
    at.file_uploader(key="video.reference").set_value([("ref.png", rgba_png(16), "image/png")]).run()
    assert "video.download" not in [b.key for b in at.get("download_button")]   # another guide, not run yet
    at.file_uploader(key="video.reference").set_value([("ref.png", rgba_png(40), "image/png")]).run()
    assert [as_read(e.value) for e in at.error] == ["reference ref.png: it is transparent all over: no colors to give"]
    assert "video.run" not in [button.key for button in at.button]


@pytest.mark.slow
def test_an_uploaded_reference_replaces_the_gallery_box_and_the_gallery_choice_comes_back(tiny_app_env, tmp_path,
                                                                                           monkeypatch):
    """Session 42's audit: with a photo uploaded, the gallery box stayed, grayed, showing "Chelsea the cat", read as
    the photo in use. While an upload is used a line names it instead; removed, the gallery choice made before is
    back and is what the run gets."""
    import io

    from PIL import Image

    from colorizer import gallery
    from ui import loaders, reference_ui, video_ui

    calls = []
    monkeypatch.setattr(video_ui, "colorize_video", fake_colorize_video(calls))
    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 60, 3), [200, 30, 30], np.uint8)).save(buffer, format="PNG")
    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    at.radio(key="video.guidance").set_value(video_ui.REFERENCE).run()
    chosen = gallery.color_keys()[-1]
    at.selectbox(key=video_ui.REFERENCE_GALLERY_KEY).set_value(chosen).run()

    at.file_uploader(key="video.reference").set_value([("red.png", buffer.getvalue(), "image/png")]).run()
    assert_no_page_error(at)
    assert video_ui.REFERENCE_GALLERY_KEY not in [box.key for box in at.selectbox]
    assert "Using red.png; remove it to choose a gallery photo instead." in [as_read(c.value) for c in at.caption]
    at.button(key="video.run").click().run()
    assert np.array_equal(calls[-1]["reference"][0, 0], [200, 30, 30])

    at.file_uploader(key="video.reference").set_value([]).run()
    assert_no_page_error(at)
    assert at.selectbox(key=video_ui.REFERENCE_GALLERY_KEY).value == chosen
    assert not [c for c in at.caption if as_read(c.value).startswith("Using red.png")]
    at.button(key="video.run").click().run()
    assert np.array_equal(calls[-1]["reference"], reference_ui.kept_reference(loaders.gallery_picture(chosen)).rgb)


def test_a_reference_reaches_the_run_at_the_size_the_colorize_page_keeps(tiny_app_env, tmp_path, monkeypatch):
    """Session 29's audit: the Video page handed a run the reference as decoded (up to 12 MP, 36 MB held by a queued
    clip), where the Colorize page keeps it at most KEEP_SIDE px on a side (here 64): the same colors on both pages.
    Its transparency is shrunk with it."""
    import io

    from PIL import Image

    from ui import reference_ui, video_ui

    calls = []
    monkeypatch.setattr(video_ui, "colorize_video", fake_colorize_video(calls))
    monkeypatch.setattr(reference_ui, "KEEP_SIDE", 64)
    rgba = np.zeros((80, 160, 4), np.uint8)
    rgba[:] = [40, 160, 60, 255]
    rgba[:, :80, 3] = 0
    buffer = io.BytesIO()
    Image.fromarray(rgba).save(buffer, format="PNG")
    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    at.radio(key="video.guidance").set_value(video_ui.REFERENCE).run()
    at.file_uploader(key="video.reference").set_value([("wide.png", buffer.getvalue(), "image/png")]).run()
    at.button(key="video.run").click().run()
    assert_no_page_error(at)
    reference, visible = calls[-1]["reference"], calls[-1]["reference_visible"]
    assert reference.shape == (32, 64, 3) and np.array_equal(reference[0, -1], [40, 160, 60])
    assert visible.shape == (32, 64) and not visible[:, :31].any() and visible[:, 33:].all()


def test_a_reference_that_shows_too_little_is_one_line_before_the_run(tiny_app_env, tmp_path, monkeypatch):
    """Review finding: a reference showing every other pixel passed the page's "any pixel shown" check, waited for
    its turn, then failed in the matcher (no patch of it wholly shown) as the page's generic "Something went
    wrong", calling it transparent all over. The page now asks the matcher's rule first: one line, and no run."""
    import io

    from PIL import Image

    from ui import video_ui

    calls = []
    monkeypatch.setattr(video_ui, "colorize_video", fake_colorize_video(calls))
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[:] = [40, 160, 60]
    lace = np.zeros((40, 60), np.uint8)
    lace[::2, ::2] = 255
    buffer = io.BytesIO()
    Image.fromarray(np.dstack([rgb, lace])).save(buffer, format="PNG")
    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    at.radio(key="video.guidance").set_value(video_ui.REFERENCE).run()
    at.file_uploader(key="video.reference").set_value([("lace.png", buffer.getvalue(), "image/png")]).run()
    assert [as_read(e.value) for e in at.error] == [
        "reference lace.png: too little of it is shown: its colors come from pixels with no transparent pixel beside "
        "them, and it has none"]   # a 60×40 reference is matched enlarged: a patch is a pixel and its neighbours
    assert "video.run" not in [button.key for button in at.button] and not calls
    # Too small to match (session 34's review: it failed after the clip's wait, as "Something went wrong").
    buffer = io.BytesIO()
    Image.fromarray(rgb[:20, :30]).save(buffer, format="PNG")
    at.file_uploader(key="video.reference").set_value([("small.png", buffer.getvalue(), "image/png")]).run()
    assert [as_read(e.value) for e in at.error] == [
        "reference small.png: 30×20 px is too small to match the photo's parts against (at least 32 px a side)"]
    assert "video.run" not in [button.key for button in at.button] and not calls
    # Gray (session 35: the API refused it only after the clip's wait, as "Something went wrong").
    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 60), 128, np.uint8)).save(buffer, format="PNG")
    at.file_uploader(key="video.reference").set_value([("gray.png", buffer.getvalue(), "image/png")]).run()
    assert [as_read(e.value) for e in at.error] == [
        "reference gray.png: it is gray: it has no colors to give; use a color photo"]
    assert "video.run" not in [button.key for button in at.button] and not calls


def test_a_clip_too_small_to_guide_is_one_line_before_the_run(tiny_app_env, tmp_path, monkeypatch):
    """Session 38's review: the colored first frame of a 24×24 clip is matched as a reference photo is, and failed
    after the clip's wait in the queue as the page's "Something went wrong: reference 1: …". Now one line at once,
    for hints as for a reference; automatic colors still run."""
    from ui import video_ui

    calls = []
    monkeypatch.setattr(video_ui, "colorize_video", fake_colorize_video(calls))
    at = video_page(("tiny.mp4", clip_bytes(tmp_path, size=(24, 24))))
    at.radio(key="video.guidance").set_value(video_ui.REFERENCE).run()
    assert [as_read(e.value) for e in at.error] == [
        "tiny.mp4: frames of 24×24 px are too small or too narrow to carry a reference's or hints' colors (at least "
        "32 px a side, at most 20 times as long as wide); colorize it automatically"]
    assert "video.run" not in [button.key for button in at.button]
    at.radio(key="video.guidance").set_value(video_ui.NONE).run()
    assert not at.error and "video.run" in [button.key for button in at.button]


def test_a_single_picture_uploaded_as_a_clip_is_pointed_to_the_colorize_page(tiny_app_env):
    """A still GIF is a clip of one frame: it still colors here, and a line says the Colorize page does more with a
    picture; a clip of several frames gets no such line."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.full((40, 40, 3), 120, np.uint8)).save(buffer, format="GIF")
    at = video_page(("still.gif", buffer.getvalue()))
    assert_no_page_error(at)
    assert [i.value for i in at.info if "single picture" in i.value] == [
        "still.gif holds a single picture: the Colorize page colors it with hints, a reference and metrics (this page "
        "makes a one-frame MP4 of it)."]
    at = video_page(("moving.gif", _gif_of_frames(3)))
    assert not [i.value for i in at.info if "single picture" in i.value]


def test_a_frame_count_guessed_from_the_clips_length_is_about_and_never_a_single_picture(tiny_app_env, tmp_path,
                                                                                        monkeypatch):
    """Session 44's abuse audit: 30 frames all stamped 0 gave a length of one frame, and the page said "first frame of
    1" and "holds a single picture" of a clip that then colorized 30. A count guessed from the length says "about",
    and only a count the header gives makes a single picture."""
    import dataclasses

    from ui import video_ui

    opened = video_ui.opened_clip

    def guessed(path, name):
        info, frame = opened(path, name)
        return dataclasses.replace(info, frames=1, fps=Fraction(10), estimated=True), frame

    monkeypatch.setattr(video_ui, "opened_clip", guessed)
    at = video_page(("same_pts.mkv", clip_bytes(tmp_path)))
    assert_no_page_error(at)
    captions = [as_read(c) for element in at.image for c in element.captions]
    expected = "same_pts.mkv: first frame of about 1 (64×48, 10 fps, about 0.1 s"
    assert any(c.startswith(expected) for c in captions), captions
    assert not [i.value for i in at.info if "single picture" in i.value]


def _gif_of_frames(n: int) -> bytes:
    import io

    from PIL import Image

    frames = [Image.fromarray(np.full((40, 40, 3), 40 + 60 * k, np.uint8)) for k in range(n)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=100)
    return buffer.getvalue()


def test_a_clip_in_use_is_the_last_to_go_and_comes_back_for_its_run(tmp_path, monkeypatch):
    """Finding: the clip folder kept the 8 newest clips by when they were stored, so eight uploads from
    others while a visitor waited in the queue removed that visitor's clip, and the run failed."""
    from ui import clip_store

    folder = tmp_path / "clips"
    folder.mkdir()
    monkeypatch.setattr(clip_store, "clip_folder", lambda: folder)
    monkeypatch.setattr(clip_store, "KEPT_CLIPS", 3)
    mine = clip_store.stored_clip("mine.mp4", b"my clip")
    for i in range(2):
        clip_store.stored_clip(f"other{i}.mp4", f"clip {i}".encode())
    os.utime(mine, (1, 1))                                                    # stored long ago…
    clip_store.stored_clip("mine.mp4", b"my clip")                              # …and used again: the most recent now
    clip_store.stored_clip("other2.mp4", b"clip 2")
    assert mine.exists() and len(list(folder.glob("[!.]*"))) == 3
    mine.unlink()                                                             # pushed out all the same
    assert clip_store.stored_clip("mine.mp4", b"my clip") == mine and mine.read_bytes() == b"my clip"
    assert not list(folder.glob(".*"))                                        # no partial file left behind


@pytest.mark.slow
def test_the_first_frames_png_is_encoded_when_asked_for_not_on_every_rerun(tiny_app_env, monkeypatch):
    """Session 46's profile: every rerun of the Video page encoded the first frame's PNG for its download button
    (70 ms of the sample's frame). The button now holds a deferred call that encodes it when a visitor asks for it."""
    import io

    from PIL import Image
    from streamlit.runtime.media_file_manager import MediaFileManager

    from ui import widgets
    from ui.video_ui import first_frame_name, sample_clip

    encoded, deferred = [], {}
    real_encode, real_defer = widgets.encode_png, MediaFileManager.add_deferred
    monkeypatch.setattr(widgets, "encode_png", lambda *args, **kwargs: encoded.append(1) or real_encode(*args, **kwargs))

    def defer(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        deferred[file_name] = data_callable
        return real_defer(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", defer)
    at = video_page()
    at.run()
    assert_no_page_error(at)
    name = first_frame_name(sample_clip()[0])
    assert "Download the first frame (PNG)" in [button.proto.label for button in at.get("download_button")]
    assert encoded == [] and name in deferred            # two runs of the page, nothing encoded
    png = Image.open(io.BytesIO(deferred[name]()))       # a visitor's click
    assert encoded == [1] and png.format == "PNG"
    frame = np.asarray(png.convert("RGB"))
    assert frame.shape[:2] == (360, 640) and frame.std() > 10   # the sample's frame, not a blank picture


def test_a_rerun_with_the_same_clip_does_not_open_it_in_a_child_process_again(tmp_path, monkeypatch):
    """Session 46's profile: storing the clip again on each rerun marked it used by its modification time, and what
    is remembered of a file by its modification time (its opening cost, measured in a child process; its rotation)
    was measured again: 0.24 s on every rerun of the page. Use is the access time now; the content's time stays."""
    from colorizer.video import open_check
    from ui import clip_store
    from ui.video_ui import opened_clip, sample_clip

    folder = tmp_path / "clips"
    folder.mkdir()
    monkeypatch.setattr(clip_store, "clip_folder", lambda: folder)
    children = []
    real_measured = open_check._measured
    monkeypatch.setattr(open_check, "_measured", lambda *args: children.append(args) or real_measured(*args))
    name, data = sample_clip()
    path = clip_store.stored_clip(name, data)
    first = opened_clip(path, name)
    written = path.stat().st_mtime_ns
    os.utime(path, ns=(written - 10**9, written))                      # its last use a second before it was written
    for _ in range(3):                                                  # three reruns
        assert clip_store.stored_clip(name, data) == path
        info, frame = opened_clip(path, name)
        assert info == first[0] and np.array_equal(frame, first[1])
    assert len(children) == 1                                           # opened in a child once, on the first run
    assert path.stat().st_mtime_ns == written and path.stat().st_atime_ns > written   # used now, content unchanged


def test_results_left_by_a_server_stopped_mid_run_are_swept_when_a_clip_is_stored(tmp_path, monkeypatch):
    """Session 29's audit: a server killed mid-run leaves its hidden partial result (up to 50 MB) in the clip folder,
    and the trim of old clips skipped hidden files, so they stayed for good. One untouched for over STALE_HIDDEN_S
    goes the next time a clip is stored or used again; a run's own, written as it goes, stays, and so does a folder."""
    from ui import clip_store

    folder = tmp_path / "clips"
    folder.mkdir()
    monkeypatch.setattr(clip_store, "clip_folder", lambda: folder)
    left = folder / ".result-0123.mp4"
    running = folder / ".result-4567.mp4"
    left.write_bytes(b"half a result")
    running.write_bytes(b"being written")
    os.utime(left, (time.time() - clip_store.STALE_HIDDEN_S - 60,) * 2)
    os.utime(running, (time.time() - clip_store.STALE_HIDDEN_S + 60,) * 2)
    (folder / ".a-folder").mkdir()
    os.utime(folder / ".a-folder", (time.time() - clip_store.STALE_HIDDEN_S - 60,) * 2)
    clip_store.stored_clip("new.mp4", b"a new clip")
    assert not left.exists() and running.exists() and (folder / ".a-folder").is_dir()
    left.write_bytes(b"another half result")
    os.utime(left, (time.time() - clip_store.STALE_HIDDEN_S - 60,) * 2)
    clip_store.stored_clip("new.mp4", b"a new clip")   # stored already: used again
    assert not left.exists()


@pytest.mark.slow
def test_video_page_choices_survive_a_trip_to_another_page(tiny_app_env):
    """The first frame's guidance and the clip source were back at their defaults after a visit to another page
    (Streamlit drops the value of a widget a page does not draw)."""
    at = video_page()
    assert_no_page_error(at)
    guidance = at.radio(key="video.guidance").options[1]
    at.radio(key="video.guidance").set_value(guidance).run()
    at.switch_page("pages/curves.py").run()
    at.switch_page("pages/video.py").run()
    assert_no_page_error(at)
    assert at.radio(key="video.guidance").value == guidance
    at.segmented_control(key="video.source").set_value("Upload a clip").run()
    at.switch_page("pages/channels.py").run()
    at.switch_page("pages/video.py").run()
    assert_no_page_error(at)
    assert at.segmented_control(key="video.source").value == "Upload a clip"


def test_a_clip_shorter_than_its_header_is_said_so_and_rates_read_as_people_write_them(tiny_app_env, tmp_path,
                                                                                          monkeypatch):
    """The walkthrough's tree.avi: the page said "first frame of 444 (…, 14.9999 fps, …)", then "68 frames"
    with no word on why. Headers estimate (an AVI's may overstate): the result now says the clip held fewer
    frames than announced, and were all colorized; a rate reads "15", not "14.9999"."""
    from ui import video_ui

    assert [video_ui.fps_text(f) for f in (Fraction(149999, 10000), Fraction(30000, 1001), 25)] == ["15", "29.97", "25"]
    # Film's and high-speed rates as written, and no exponent for a rate that is a stream's time base
    assert [video_ui.fps_text(f) for f in (Fraction(24000, 1001), Fraction(120000, 1001), 90000)] == [
        "23.976", "119.88", "90000"]
    calls = []
    fake = fake_colorize_video(calls)

    def fewer(source, destination, model, progress=None, **options):
        return dataclasses.replace(fake(source, destination, model, progress, **options), frames=4)

    monkeypatch.setattr(video_ui, "colorize_video", fewer)
    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    at.button(key="video.run").click().run()
    assert_no_page_error(at)
    assert [as_read(i.value) for i in at.info if "not the 6 its header announced" in as_read(i.value)] == [
        "The clip held 4 frames, not the 6 its header announced: all of them were colorized."]


def test_the_last_colorized_clip_is_still_there_after_a_trip_to_another_page(tiny_app_env, tmp_path, monkeypatch):
    """The walkthrough: after a visit to another page the Video page had forgotten the upload (Streamlit's
    uploader cannot keep it) and with it the colorized clip, a minute of work. The clip is kept (session 39), and
    its result shown beside it; with the clip's stored copy gone, the result alone."""
    from ui import video_ui

    clip_folder = own_clip_folder(tmp_path, monkeypatch)
    monkeypatch.setattr(video_ui, "colorize_video", fake_colorize_video([]))
    at = video_page(("old.mp4", clip_bytes(tmp_path)))
    at.button(key="video.run").click().run()
    made = at.session_state[video_ui.RESULT_KEY]["mp4"]
    at.switch_page("pages/curves.py").run()
    at.switch_page("pages/video.py").run()
    assert_no_page_error(at)
    assert at.segmented_control(key="video.source").value == "Upload a clip"
    assert any(as_read(c.value).startswith("Colorized by") for c in at.caption)  # beside the clip, as before the trip
    download = [b for b in at.get("download_button") if b.proto.label.startswith("Download the MP4")]
    assert download and at.session_state[video_ui.RESULT_KEY]["mp4"] == made
    for stored in clip_folder().glob("*.mp4"):
        if stored.read_bytes() == clip_bytes(tmp_path):
            stored.unlink()
    at.switch_page("pages/curves.py").run()
    at.switch_page("pages/video.py").run()
    assert any("old.mp4, colorized" in as_read(c.value) for c in at.caption)


def test_a_clip_browsers_cannot_play_is_shown_by_its_first_frame(tiny_app_env, tmp_path, monkeypatch):
    """Session 39's walk-through: an OpenCV-made MP4 (MPEG-4 Part 2 video) showed a black player with no duration as
    "the clip as uploaded"; its first frame is shown instead, saying why, and the colorized clip plays beside it."""
    import av

    from ui import video_ui

    path = tmp_path / "opencv.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for gray in synthetic.moving_square(frames=6, size=(64, 48), side=12, step=2).gray:
            frame = av.VideoFrame.from_ndarray(np.repeat(gray[..., None], 3, 2), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    monkeypatch.setattr(video_ui, "colorize_video", fake_colorize_video([]))
    at = video_page(("opencv.mp4", path.read_bytes()))
    at.button(key="video.run").click().run()
    assert_no_page_error(at)
    assert [as_read(c) for image in at.image for c in image.captions if "browsers do not play" in c] == [
        "The clip's first frame (browsers do not play this clip's video format, mpeg4; the colorized clip plays)"]
    assert len(at.get("video")) == 1  # the colorized clip only
    # By the codec's own name, not its decoder's: AV1 is read by "libdav1d" (session 39's review).
    assert [video_ui.browsers_play(name) for name in ("libdav1d", "h264", "vp9", "mpeg4")] == [True, True, True, False]


@pytest.mark.slow
def test_the_samples_result_is_not_offered_as_a_clip_to_upload_again(tiny_app_env, monkeypatch):
    """The last result is shown when its upload is gone; the sample's result (the sample is always there, and
    shows its result beside it) was shown under "Upload a clip" as "Your last colorized clip", with
    "old_film_sample.mp4 … Upload it again to see it beside the original": a file the visitor never had."""
    from ui import video_ui

    monkeypatch.setattr(video_ui, "colorize_video", fake_colorize_video([]))
    at = video_page()
    at.button(key="video.run").click().run()
    assert at.session_state[video_ui.RESULT_KEY]["mp4"]
    at.segmented_control(key="video.source").set_value("Upload a clip").run()
    assert_no_page_error(at)
    assert not [s.value for s in at.header if "last colorized clip" in s.value]
    assert not [c.value for c in at.caption if "Upload it again" in as_read(c.value)]


def test_a_clip_of_a_jpeg_frame_built_to_stall_the_decoder_is_one_line_at_once(tiny_app_env, tmp_path):
    """Session 33's audit: one MJPEG frame of 2,400,000 empty progressive scans took 27.6 s of the server's CPU to
    show as the first frame. Each JPEG-based frame is held to the image path's 100 scans before FFmpeg decodes it."""
    from test_video import progressive_mjpeg

    at = video_page(("storm.mov", progressive_mjpeg(tmp_path / "storm.mov", scans=300).read_bytes()))
    assert_no_page_error(at)
    errors = [as_read(e.value) for e in at.error]
    assert errors == ["storm.mov: frame 0: JPEG with more than 100 scans (each one costs the decoder a pass over the "
                      "whole picture); re-save the clip as H.264"], errors
    assert "video.run" not in [button.key for button in at.button]


@pytest.mark.slow
def test_a_clip_with_sound_at_192_khz_is_colorized_with_its_sound(tiny_app_env, tmp_path):
    """Session 33's audit: sound at 192 kHz failed the run at its first frame with FFmpeg's own error, which the page
    showed as "Something went wrong", naming nothing. The sound is resampled to a rate AAC takes (the real run)."""
    from test_video import clip_with_pcm

    at = video_page(("field.mkv", clip_with_pcm(tmp_path / "field.mkv", 192_000).read_bytes()))
    at.button(key="video.run").click().run()
    assert_no_page_error(at)
    assert not at.error, [as_read(e.value) for e in at.error]
    assert at.session_state["video.result"]["report"].audio == "re-encoded to AAC"
    assert any("sound re-encoded to AAC" in c.value for c in at.caption), [c.value for c in at.caption]
