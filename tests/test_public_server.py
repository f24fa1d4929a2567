"""The public server's protections, each shown failing without it (session 27's mutation audit of
``tests/test_abuse.py``): a visitor's quota of pictures and pixels, the decode budget and the metrics' size on the
app's own paths, one visitor's checkpoints kept from another's pages, the visitor's token, and the server's
ceiling on uploads when a file is sent again. Fast: no page runs but the token's one-line script.
"""
from __future__ import annotations

import re
import time
from types import SimpleNamespace

import numpy as np
import pytest

from benchmarks import hostile


# ----------------------------------------------------------------------------------------- a session's pictures


class _Upload:
    """What Streamlit's uploader hands a page: a name and the bytes."""

    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    def getvalue(self) -> bytes:
        return self._data


@pytest.fixture
def sidebar(monkeypatch):
    """``widgets.chosen_pictures`` over a plain session state (the sidebar's uploads) and a fresh result cache;
    → (set the uploads, the names decoded)."""
    from ui import loaders, widgets
    from ui.shared_cache import SharedCache

    monkeypatch.setattr(loaders, "CACHE", SharedCache(50 * 2**20))
    state = {widgets.SOURCE_KEY: widgets.UPLOAD}
    monkeypatch.setattr(widgets, "st", SimpleNamespace(session_state=state))
    decoded = []
    real = loaders.decode_image
    monkeypatch.setattr(loaders, "decode_image", lambda data, name, **k: decoded.append(name) or real(data, name, **k))

    def upload(files):
        state[widgets.UPLOAD_KEY] = [_Upload(name, data) for name, data in files]

    return upload, decoded


def _pngs(prefix: str, n: int, side: int = 16) -> list[tuple[str, bytes]]:
    return [(f"{prefix}{i}.png", hostile.gray_png(np.full((side, side), 40 + i, np.uint8))) for i in range(n)]


def test_a_session_colorizes_eight_pictures_at_a_time_and_names_the_rest_in_one_line(sidebar):
    """Twelve uploads: the first eight are read (the others never decoded), and one line names the first three
    left out, then "…" (a class's worth of names would fill the page)."""
    from ui import widgets

    upload, decoded = sidebar
    upload(_pngs("p", 12))
    pictures, errors = widgets.chosen_pictures()
    assert [p.name for p in pictures] == [f"p{i}.png" for i in range(8)] == decoded
    assert errors == ["p8.png, p9.png, p10.png, …: left out: this server colorizes 8 pictures at a time "
                      "(remove some to add others)"]


def test_uploads_the_server_let_go_while_the_browser_was_away_are_one_line(sidebar):
    """The state audit (session 36): after a connection drop of over two minutes (a laptop asleep) Streamlit had
    forgotten the session's files, its state held placeholders with no bytes, and every page failed with
    "'DeletedFile' object has no attribute 'getvalue'". They are one line; the files still held go on."""
    from streamlit.runtime.uploaded_file_manager import DeletedFile

    from ui import widgets

    upload, decoded = sidebar
    upload(_pngs("p", 2))
    widgets.st.session_state[widgets.UPLOAD_KEY] += [DeletedFile("gone-1"), DeletedFile("gone-2")]
    pictures, errors = widgets.chosen_pictures()
    assert [p.name for p in pictures] == ["p0.png", "p1.png"]
    assert errors == ["2 uploaded files were let go by the server while this page was away (over two minutes "
                      "without a connection: a laptop asleep, a phone locked): remove and upload them again"]


def test_a_refused_file_takes_no_pictures_place(sidebar):
    """Finding (session 28's walkthrough): of ten uploads, two broken, the page showed six pictures and said the
    last two good ones were "left out: this server colorizes 8 pictures at a time". Broken files are named, and
    eight pictures are read; the file past them is still left out unread."""
    from ui import widgets

    upload, decoded = sidebar
    good = _pngs("p", 9)
    upload([("broken.png", b"not an image at all"), *good[:3], ("empty.png", b""), *good[3:]])
    pictures, errors = widgets.chosen_pictures()
    assert [p.name for p in pictures] == [f"p{i}.png" for i in range(8)]
    assert "p8.png" not in decoded
    assert errors == ["broken.png: not an image (looks like a text file)", "empty.png: empty file",
                      "p8.png: left out: this server colorizes 8 pictures at a time (remove some to add others)"]


def test_at_most_max_files_read_files_are_read_and_the_pixels_refusals_are_one_line(sidebar, monkeypatch):
    """A refused file takes no picture's place, but reading stops at MAX_FILES_READ files (twenty broken files were
    twenty error lines and twenty reads), and the files past the session's pixels are named in one line."""
    from ui import widgets

    upload, decoded = sidebar
    broken = [(f"b{i}.png", b"not an image") for i in range(widgets.MAX_FILES_READ + 2)]
    upload([*broken, *_pngs("p", 1)])
    pictures, errors = widgets.chosen_pictures()
    assert pictures == [] and len(errors) == widgets.MAX_FILES_READ + 1
    assert errors[-1] == (f"b{widgets.MAX_FILES_READ}.png, b{widgets.MAX_FILES_READ + 1}.png, p0.png: left out: this "
                          f"server reads {widgets.MAX_FILES_READ} files at a time (remove some to add others)")
    monkeypatch.setattr(widgets, "MAX_SESSION_PIXELS", 32 * 32)
    upload(_pngs("q", 5, side=32))
    pictures, errors = widgets.chosen_pictures()
    assert [p.name for p in pictures] == ["q0.png"]
    assert errors == ["q1.png, q2.png, q3.png, …: left out: your pictures together would pass 1,024 pixels, what this "
                      "server takes from one browser tab at a time (remove some, or upload smaller copies)"]


def test_pictures_past_the_sessions_pixels_are_left_out_from_their_header_before_decoding(sidebar, monkeypatch):
    """The session's pixels are counted from each file's header first: the picture that would pass
    MAX_SESSION_PIXELS (here two 32×32 pictures) is named and never decoded."""
    from ui import widgets

    upload, decoded = sidebar
    monkeypatch.setattr(widgets, "MAX_SESSION_PIXELS", 2 * 32 * 32)
    upload(_pngs("q", 3, side=32))
    pictures, errors = widgets.chosen_pictures()
    assert [p.name for p in pictures] == ["q0.png", "q1.png"] and decoded == ["q0.png", "q1.png"]
    assert errors == ["q2.png: left out: your pictures together would pass 2,048 pixels, what this server takes "
                      "from one browser tab at a time (remove some, or upload smaller copies)"]


def test_a_picture_whose_header_does_not_tell_its_size_is_counted_once_decoded(sidebar, monkeypatch):
    """A file whose header the pre-count cannot read (counted as 0 pixels) is still held to the session's pixels:
    counted once decoded, and left out if it passes them."""
    from ui import widgets

    upload, decoded = sidebar
    monkeypatch.setattr(widgets, "MAX_SESSION_PIXELS", 2 * 32 * 32)
    monkeypatch.setattr(widgets, "_expected_pixels", lambda data: 0)
    upload(_pngs("r", 3, side=32))
    pictures, errors = widgets.chosen_pictures()
    assert [p.name for p in pictures] == ["r0.png", "r1.png"]
    assert errors == ["r2.png: left out: your pictures together would pass 2,048 pixels, what this server takes "
                      "from one browser tab at a time (remove some, or upload smaller copies)"]


def test_an_upload_over_the_decode_budget_is_shrunk_while_it_is_read_not_refused(monkeypatch):
    """The app reads uploads with ``fit=True``: a photo over the decode budget (here 2,500 pixels) comes back
    shrunk to fit it, with a note, rather than refused; a visitor cannot raise the server's budget."""
    from colorizer import imageio
    from ui import loaders
    from ui.shared_cache import SharedCache

    monkeypatch.setattr(loaders, "CACHE", SharedCache(50 * 2**20))
    monkeypatch.setattr(imageio, "MAX_PIXELS", 2500)
    picture = loaders.decode_upload(hostile.gray_png(np.full((100, 100), 90, np.uint8)), "big.png")
    assert picture.rgb.shape == (50, 50, 3) and int(picture.rgb[..., 0].mean()) == 90
    assert any(note.startswith("shrunk from 100x100 to 50x50") for note in picture.notes), picture.notes


def test_metrics_are_measured_at_most_metrics_max_side(monkeypatch):
    """SSIM's float64 buffers on a 50 MP photo would take gigabytes: the truth and the result are measured at most
    METRICS_MAX_SIDE px on a side (here 16), the baselines' too."""
    from ui import loaders
    from ui.shared_cache import SharedCache

    monkeypatch.setattr(loaders, "CACHE", SharedCache(50 * 2**20))
    monkeypatch.setattr(loaders, "METRICS_MAX_SIDE", 16)
    shapes = []
    monkeypatch.setattr(loaders.metrics, "image_metrics",
                        lambda truth, predicted, visible=None: shapes.append((truth.shape, predicted.shape)) or {})
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 256, (40, 64, 3), dtype=np.uint8)
    loaders.metrics_of(truth, truth[::-1].copy(), ("t", "m"))
    loaders.gray_metrics(truth, loaders.image_digest(truth))
    assert shapes == [((10, 16, 3), (10, 16, 3))] * 2


# ----------------------------------------------------------------------------------------- private checkpoints


def _checkpoint(folder):
    folder.mkdir(parents=True)
    (folder / "model.keras").write_bytes(b"x" * 100)
    return folder


@pytest.fixture
def alices_model(checkpoint_dir, no_shipped_weights):
    from colorizer import access

    folder = _checkpoint(checkpoint_dir / "hypercolumn-ft-00112233aabbccdd")
    access.grant(folder, "alice-token-0123456789ab")
    return folder


def _in_a_page_as(monkeypatch, token: str) -> None:
    from ui import visitor, work_queue

    monkeypatch.setattr(work_queue, "_in_a_page", lambda: True)
    monkeypatch.setattr(visitor, "token", lambda: token)


def test_another_visitors_checkpoint_cannot_be_loaded_by_its_name(alices_model, monkeypatch):
    """The model picker lists only a visitor's own checkpoints, but a name can reach the loaders another way (a
    page's state, a stale choice): the loaders look it up among what the visitor may see, not the server's."""
    from colorizer.checkpoints import CheckpointError
    from ui import loaders

    name = alices_model.name
    _in_a_page_as(monkeypatch, "bob-token-0123456789abcd")
    assert name not in loaders.available_checkpoints()
    with pytest.raises(CheckpointError, match=f"^{name}: no such checkpoint"):
        loaders.checkpoint_stamp(name)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        loaders.load_colorizer(name)
    _in_a_page_as(monkeypatch, "alice-token-0123456789ab")
    assert loaders.checkpoint_stamp(name)[:2] == (name, str(alices_model))


def test_outside_a_page_only_shared_and_operators_checkpoints_are_listed(alices_model, checkpoint_dir):
    """Work done outside a page's script (a download made on click) has no visitor: it sees what every visitor
    does, not the operator's view of everyone's checkpoints."""
    from ui import loaders

    _checkpoint(checkpoint_dir / "teacher-made")
    assert set(loaders.available_checkpoints()) == {"teacher-made"}


@pytest.mark.parametrize("content", ["{bad", "[]", '"shared"'], ids=["not-json", "a-list", "a-string"])
def test_a_damaged_access_file_hides_the_checkpoint_from_every_visitor(alices_model, content):
    """An access file that cannot be read never widens who sees a checkpoint (read as the operator's, it would be
    everyone's): no visitor lists it, its maker included, no one may share or delete it; only the operator sees
    it, and the next sweep removes it as expired."""
    from colorizer import access, checkpoints

    (alices_model / access.ACCESS_FILE).write_text(content)
    for viewer in ("alice-token-0123456789ab", "bob-token-0123456789abcd"):
        assert alices_model.name not in checkpoints.available_checkpoints(viewer)
        assert not access.share(alices_model, viewer) and not access.delete(alices_model, viewer)
    assert alices_model.name in checkpoints.available_checkpoints()  # the operator
    assert access.sweep_expired(alices_model.parent) == [alices_model] and not alices_model.exists()


def test_the_operator_owns_no_visitors_checkpoint(alices_model):
    """``owned_by(folder, None)``: the operator's view lists everything but owns nothing, so a caller without a
    visitor (no token) cannot delete or share a visitor's checkpoint."""
    from colorizer import access

    assert access.owned_by(alices_model, "alice-token-0123456789ab")
    assert not access.owned_by(alices_model, None)
    assert not access.delete(alices_model, None) and alices_model.exists()


# ----------------------------------------------------------------------------------------- the visitor's token


@pytest.mark.parametrize("given,kept", [("a" * 22, True), ("Ab_-" * 16, True), ("short", False), ("a" * 65, False),
                                        ("a" * 21 + "/", False), ("../" * 10, False)],
                         ids=["22", "64", "short", "long", "slash", "climbing"])
def test_the_key_in_the_browsers_cookie_is_kept_only_if_it_is_as_unguessable_as_a_new_one(given, kept, monkeypatch):
    """The cookie holds the key to a visitor's models: one typed by hand ("short", "teacher") could be guessed by
    anyone, so only 22 to 64 URL-safe characters are taken; anything else gets a new random key. The page draws the
    line of script that keeps the key in the browser once a session (renewing it), and again on every run while
    the browser did not send that key."""
    from streamlit.testing.v1 import AppTest

    from ui import visitor

    monkeypatch.setattr(visitor, "_sent_cookies", lambda: {visitor.COOKIE: given})
    at = AppTest.from_function(_remember_script, default_timeout=30)
    at.run()
    assert not at.exception, at.exception
    token = at.session_state["app.visitor"]
    assert (token == given) is kept and re.fullmatch(r"[A-Za-z0-9_-]{22,64}", token)
    [script] = [element.proto.body for element in at.get("html")]
    assert f'"{visitor.COOKIE}"' in script and f'"{visitor.SECURE_COOKIE}"' in script
    assert f'"={token}; Path=/; Max-Age=2592000; "' in script and '"SameSite=Lax"' in script
    at.run()
    assert len(at.get("html")) == (0 if kept else 1)


def test_over_https_only_a_cookie_no_neighbour_can_set_is_a_key(monkeypatch):
    """A review's hardening (session 33): another site under the same parent domain (another Space on hf.space) can
    set a plain cookie for ours, and so plant a key it knows. Over HTTPS the key is read from the ``__Host-`` cookie
    alone, which browsers let only this very origin set; over HTTP (a local run) either name is read."""
    from ui import visitor

    key = "k" * 22
    for https, cookies, expected in [(True, {visitor.COOKIE: key}, None), (True, {visitor.SECURE_COOKIE: key}, key),
                                     (False, {visitor.COOKIE: key}, key), (False, {visitor.SECURE_COOKIE: key}, key)]:
        monkeypatch.setattr(visitor, "_over_https", lambda: https)
        monkeypatch.setattr(visitor, "_sent_cookies", lambda: cookies)
        assert visitor.browser_key() == expected, (https, cookies)


def test_a_key_in_the_address_is_nobodys_and_leaves_the_address():
    """Finding (session 33's audit): the key travelled in the address (``?visitor=…``), and an address is what people
    share: whoever opened a link a teacher copied for the class became the teacher (their private models listed,
    deletable; one fine-tune slot for the whole class), and a link could hand out a key of its maker's choosing.
    A key in the address is ignored and removed from it; the session gets its own."""
    from streamlit.testing.v1 import AppTest

    teachers = "T" * 22
    at = AppTest.from_function(_remember_script, default_timeout=30)
    at.query_params["visitor"] = teachers
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["app.visitor"] != teachers and "visitor" not in at.query_params


def _remember_script():
    from ui import visitor

    visitor.remember_ui()


# ----------------------------------------------------------------------------------------- the server's uploads


def test_a_file_sent_again_near_the_servers_ceiling_replaces_itself_and_is_not_refused(monkeypatch):
    """A browser sends a file again (a retry, a reconnect): it replaces its own copy, so the server's ceiling counts
    it once. Here the server holds 0.9 of its 1 MB; the same 450 kB file sent again still lands, a new one is
    refused."""
    from starlette.exceptions import HTTPException
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.uploaded_file_manager import UploadedFileRec

    from ui import server_tuning

    original = getattr(MemoryUploadedFileManager.add_file, "original", MemoryUploadedFileManager.add_file)
    monkeypatch.setattr(MemoryUploadedFileManager, "add_file", original)
    assert server_tuning.cap_uploads(per_session_mb=10, total_mb=1)
    store = MemoryUploadedFileManager("/upload")
    kb450 = lambda file_id: UploadedFileRec(file_id=file_id, name=f"{file_id}.png", type="image/png",
                                            data=bytes(450 * 1024))
    store.add_file("a", kb450("one"))
    store.add_file("b", kb450("two"))
    store.add_file("b", kb450("two"))  # 0.9 MB before and after
    assert store._total_bytes == 900 * 1024
    with pytest.raises(HTTPException, match="try again in a few minutes"):
        store.add_file("b", kb450("three"))


# ----------------------------------------------------------------------------------------- fine-tunes


def test_a_fine_tune_past_its_time_budget_is_stopped_and_says_why():
    """``FinetuneJob.check`` (the queue's monitor calls it every second): a job that has run past
    ``FinetuneLimits.minutes`` stops as Stop does (keeping its best epoch), with the reason; one within it goes on,
    and a queued job's wait does not count against it."""
    from colorizer import finetune as fn

    job = fn.FinetuneJob(fn.FinetuneConfig(base="x"), [], "alice", limits=fn.FinetuneLimits(minutes=1))
    job.check(now=10**6)  # queued: it has not started, its budget has not either
    assert not job.stop_requested
    job._update(state="running")
    job.started_at = 100.0
    job.check(now=159.0)
    assert not job.stop_requested
    job.check(now=161.0)
    assert job.stop_requested and job.status().state == "stopping"
    assert job.status().message == "stopping after the current step (the server's limit of 1 min for a fine-tune)…"


def test_the_queues_monitor_stops_a_fine_tune_whose_visitor_left(monkeypatch):
    """A visitor who closed the tab does not keep the server's one fine-tune slot: the monitor asks each job's
    ``presence`` and stops the job once its visitor is gone."""
    import threading

    from colorizer import finetune as fn

    present, seen = threading.Event(), []
    present.set()

    def run(job):
        job._update(state="running")
        deadline = time.monotonic() + 10  # without the monitor's stop it ends here, unstopped
        while not job.stop_requested and time.monotonic() < deadline:
            seen.append(1)
            time.sleep(0.01)
        job._update(state="stopped")

    monkeypatch.setattr(fn.FinetuneJob, "run", run)
    queue = fn.JobQueue(monitor_s=0.01)
    job = queue.submit(fn.FinetuneConfig(base="x"), [], owner="alice", presence=present.is_set)
    from conftest import wait_until

    wait_until(lambda: len(seen) > 20)
    assert not job.stop_requested  # still here: it goes on
    present.clear()
    job.join(30)
    assert job.status().state == "stopped" and job.stop_reason == "its visitor left"


def test_at_most_max_hints_are_taken_per_image():
    """A hint list of MAX_HINTS + 1 (from a file or the API) is refused in one line; MAX_HINTS still are taken (the
    slow abuse test sends 100,000)."""
    from colorizer import hints

    hint = {"x": 1, "y": 2, "rgb": [10, 20, 30]}
    assert len(hints.validate_hints([hint] * hints.MAX_HINTS, (8, 8))) == 300
    with pytest.raises(hints.HintError, match=r"^h.json: 301 hints; at most 300 are taken per image$"):
        hints.validate_hints([hint] * 301, (8, 8), "h.json")


def test_the_apps_fine_tune_queue_is_the_public_one():
    """``colorizer.finetune.QUEUE``, the one the page submits to: one job per visitor and a bounded waiting line
    (a queue built by a test shows what those do; this is the app's own)."""
    from colorizer.finetune import FinetuneLimits, job_queue

    assert job_queue.QUEUE.one_per_owner is True
    assert job_queue.QUEUE.max_waiting == FinetuneLimits.from_env().queue
