"""AppTest of the Fine-tune page (``pages/finetune.py``, through the app's entry) with a tiny cifar_ae base.

Starts a real fine-tune from uploaded tiny photos (one of them broken), sees the progress bar and the
loss curve, stops it, and colorizes the held-out photo with the result; with another job holding the
server, queues gallery photos, sees its place in the queue and cancels; a failure is an error with a hint;
an unexpected error is one message, not a traceback (the page runs through ``run_page`` like every page).
"""
from __future__ import annotations

import json
import io
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from streamlit.testing.v1 import AppTest

from app_fixtures import as_read, assert_no_page_error
from conftest import make_photo

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 90  # the first run imports TensorFlow
TINY = 16


def png(seed: int) -> bytes:
    out = io.BytesIO()
    Image.fromarray(make_photo(40, 52, seed=seed)).save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def page_env(checkpoint_dir, no_shipped_weights, monkeypatch, tmp_path):
    """A user checkpoint folder holding only a tiny cifar_ae base (16 px, ~1 MB), a fresh job queue, and a folder of
    the test's own for the chosen photos' kept copies."""
    import keras

    from colorizer import checkpoints, finetune
    from colorizer.models import cifar_ae

    keras.utils.set_random_seed(0)
    model = cifar_ae.build(TINY)
    checkpoints.save_model_atomic(model, checkpoint_dir / "cifar_ae" / "model.keras")
    checkpoints.write_card(checkpoint_dir / "cifar_ae", {"name": "cifar_ae", "architecture": "cifar_ae", "working_size": TINY,
                                                         "parameters": {"total": int(model.count_params())}})
    queue = finetune.JobQueue()
    monkeypatch.setattr(finetune, "QUEUE", queue)
    from ui import photo_store

    (tmp_path / "kept").mkdir()
    monkeypatch.setattr(photo_store, "photo_folder", lambda: tmp_path / "kept")
    # A long job, so it cannot end between two page runs before the test has seen it train and stopped it
    # (at the public default of 20 epochs this tiny model finished first on a busy CI machine).
    import ui.finetune_ui

    monkeypatch.setattr(ui.finetune_ui, "LIMITS", finetune.FinetuneLimits(epochs=500))
    yield queue
    # A test that failed before its Stop leaves no 500-epoch job training beside the tests after it in this worker.
    queue.stop_all("test over", wait_s=60)


def page() -> AppTest:
    """The app, opened on the Fine-tune page (its URL), as a visitor's first request."""
    return AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT).switch_page("pages/finetune.py")


def start(at: AppTest, epochs: int) -> AppTest:
    at.run()
    assert_no_page_error(at)
    assert at.selectbox(key="finetune.base").value == "cifar_ae"
    # Named as the sidebar names models (it read "Base checkpoint", "cifar_ae (cifar_ae) · shipped": session 38).
    base = at.selectbox(key="finetune.base")
    assert base.label == "Base model" and base.options == ["fine-tuned · cifar_ae · cifar_ae"]  # a test env's model
    files = [(f"photo{i}.png", png(i), "image/png") for i in range(4)] + [("broken.png", b"not an image", "image/png")]
    at.file_uploader(key="finetune.uploads").set_value(files)
    at.number_input(key="finetune.epochs").set_value(epochs)
    at.select_slider(key="finetune.batch").set_value(4)
    at.run()
    return at.button(key="finetune.start").click().run()


def run_until(at: AppTest, done, timeout: float = 180.0) -> AppTest:
    deadline = time.monotonic() + timeout
    while True:
        at.run()
        assert_no_page_error(at)
        if done(at):
            return at
        assert time.monotonic() < deadline, "timed out waiting for the page"
        time.sleep(1.0)  # the job trains in this process: leave it the CPU between page runs


@pytest.mark.slow
def test_page_finetunes_shows_progress_stops_and_colorizes(page_env):
    from colorizer import checkpoints

    at = start(page(), epochs=500)
    assert_no_page_error(at)
    assert any("broken.png" in w.value for w in at.warning)  # the broken upload is named; the rest go on

    at = run_until(at, lambda a: len(a.get("plotly_chart")) > 0)  # after the first epoch: the loss curve
    progress = at.get("progress")[0].proto
    assert "Epoch" in progress.text and "step" in progress.text and "left" in progress.text
    assert any("Training on CPU" in c.value for c in at.caption)
    assert any("after epoch" in caption for image in at.image for caption in image.captions)  # the preview

    at.button(key="finetune.stop").click().run()
    at = run_until(at, lambda a: len(a.success) > 0)
    assert "Saved" in at.success[0].value and "stopped early" in at.success[0].value
    assert at.get("download_button")
    [name] = checkpoints.user_checkpoints().keys() - {"cifar_ae"}
    assert name.startswith("cifar_ae-ft-") and checkpoints.read_card(checkpoints.user_checkpoints()[name])["training"]["stopped_early"]

    at.toggle(key="finetune.show_held_out").set_value(True).run()
    assert_no_page_error(at)
    captions = [caption for image in at.image for caption in image.captions]
    assert any(c.startswith("Fine-tuned") for c in captions) and any(c.startswith("Truth") for c in captions)

    at.button(key="finetune.new").click().run()
    assert at.button(key="finetune.start")  # the form again


def test_page_shows_queue_position_and_cancels(page_env):
    from types import SimpleNamespace

    class Holder:  # another session's job holding the server, 90 s from its end by its own estimate
        started_at, limits = None, None

        def status(self):
            return SimpleNamespace(eta_s=90.0)

    with page_env._cond:
        page_env._running = Holder()
    at = page()
    at.session_state["finetune.source"] = "Gallery color photos"  # this time, the gallery's photos
    at.run()
    at.multiselect(key="finetune.gallery").set_value(["chelsea", "coffee"]).run()
    at.button(key="finetune.start").click().run()
    at = run_until(at, lambda a: len(a.info) > 0 and "queue" in a.info[0].value)
    assert "1 job(s) ahead of it and starts by itself, in about 2 min." in at.info[0].value
    at.button(key="finetune.cancel").click().run()
    at = run_until(at, lambda a: len(a.warning) > 0 and any("cancelled" in w.value for w in a.warning))
    with page_env._cond:
        page_env._running = None
        page_env._cond.notify_all()


def test_page_failure_is_an_error_with_what_to_do(page_env, monkeypatch):
    from colorizer import finetune

    def unusable(base, **_):
        raise finetune.FinetuneError(f"{base}: this checkpoint has no separate decoder to fine-tune")

    monkeypatch.setattr(finetune.job, "load_base", unusable)
    at = run_until(start(page(), epochs=1), lambda a: len(a.error) > 0)
    assert "no separate decoder" in at.error[0].value and "Nothing was saved" in at.info[0].value


@pytest.mark.slow
def test_page_failure_never_shows_a_server_path(page_env, monkeypatch):
    """Session 24's review: an OSError raised while saving names the checkpoint's path on the server, and the
    page showed it as it was."""
    import errno

    from colorizer import checkpoints

    secret = "/srv/colorizer/user_checkpoints/.tmp-finetune/mine-abc/model.keras"

    def full_disk(model, path):
        raise OSError(errno.ENOSPC, "No space left on device", secret)

    monkeypatch.setattr(checkpoints, "save_model_atomic", full_disk)
    at = run_until(start(page(), epochs=1), lambda a: len(a.error) > 0)
    shown = as_read(at.error[0].value)
    assert "No space left on device" in shown and "<server path>" in shown and "/srv" not in shown, shown


def test_page_unexpected_error_is_a_message_not_a_traceback(page_env, monkeypatch):
    from colorizer import finetune

    def broken(*_):
        raise RuntimeError("the checkpoint folder vanished")

    monkeypatch.setattr(finetune, "finetunable_checkpoints", broken)
    at = page().run()
    assert not at.exception, at.exception  # the error is the expected outcome here
    assert [t.value for t in at.title] == ["Fine-tune"]
    assert any(e.value.startswith("Something went wrong: RuntimeError: the checkpoint folder vanished") for e in at.error)
    assert at.sidebar.selectbox(key="sidebar.model")  # the entry file ran: navigation and sidebar


def test_page_inside_the_app_navigation(page_env):
    at = AppTest.from_file(str(ROOT / "streamlit_app.py"), default_timeout=TIMEOUT).run()
    at.switch_page("pages/finetune.py").run()
    assert_no_page_error(at)
    assert [t.value for t in at.title] == ["Fine-tune"] and at.button(key="finetune.start")


def _result_page(folder: str) -> None:
    """The result view of a job stopped one step into its only epoch (as a Stop 20 s into a 1-epoch run leaves it)."""
    from pathlib import Path
    from types import SimpleNamespace

    from ui import finetune_ui

    status = SimpleNamespace(state="stopped", result=Path(folder), wall_time_s=28.0, device="CPU: test", history=(),
                             mixed_precision=False, message="", held_out_name="my_cat.png")
    finetune_ui.result_ui(SimpleNamespace(status=lambda: status, held_out_photo=None, stop_reason=None))


def test_result_of_a_stop_inside_an_epoch_says_so(tmp_path):
    """Stopped one step into a 1-epoch fine-tune, the page said "Saved … after 1 epoch(s)" over a caption saying
    it "stopped before an epoch was complete": the success line now counts the full epochs and the steps."""
    from colorizer import checkpoints

    folder = tmp_path / "cifar_ae-ft-1234"
    checkpoints.write_card(folder, {"name": folder.name, "training": {
        "epochs_requested": 1, "epochs": 1, "stopped_early": True, "last_epoch_steps": 1, "steps_per_epoch": 3,
        "time_per_epoch_s": None, "feature_time_s": 6.7}})
    (folder / "model.keras").write_bytes(b"x")  # the result is still on the server
    at = AppTest.from_function(_result_page, args=(str(folder),), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    [success] = at.success
    assert "after 0 full epoch(s) and 1 of 3 steps of epoch 1 (stopped early" in success.value
    assert any("stopped before an epoch was complete" in c.value for c in at.caption)


# One held-out photo is an example (session 37's walkthrough: "+3.96 dB on the held-out photos", from one photo).
ONE_PHOTO = "on the held-out photo (one photo: an example, not a measurement)"


@pytest.mark.parametrize("tuned_psnr, verdict", [(11.75, "worse"), (14.0, "better"), (13.2391, "same")])
def test_a_fine_tune_that_scores_below_its_base_says_so_beside_the_scores(tmp_path, tuned_psnr, verdict):
    """Finding (session 34's audit): 3 photos and 1 epoch gave 11.75 dB against the base's 13.24 on its one held-out
    photo, shown under a green "Saved" in a table without arrows and without the photo count: a class took it for
    an improvement. The heading counts the photos, the columns say which way is better, and a line says how the
    fine-tuned model compares with its base."""
    from colorizer import checkpoints

    folder = tmp_path / "hypercolumn-ft-1234"
    scores = lambda psnr: {"psnr": psnr, "ssim": 0.8, "l2_ab": 30.0, "colorfulness": 20.0, "n_images": 1}
    checkpoints.write_card(folder, {
        "name": folder.name, "base": {"name": "hypercolumn"}, "data": {"held_out": True, "held_out_photos": 1},
        "training": {"epochs_requested": 1, "epochs": 1, "time_per_epoch_s": 3.0, "feature_time_s": 6.7},
        "evaluation": {"gray": scores(15.31), "hypercolumn": scores(13.24), folder.name: scores(tuned_psnr)}})
    (folder / "model.keras").write_bytes(b"x")
    at = AppTest.from_function(_result_page, args=(str(folder),), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    # The one held-out photo named (session 42's walk-through: the photo to try the model on elsewhere).
    assert "## On the 1 held-out photo (my\\_cat.png)" in [m.value for m in at.markdown]
    [table] = at.dataframe
    assert list(table.value.columns) == ["model", "psnr", "ssim", "l2_ab", "colorfulness"]
    # Compare's columns (session 41's audit: on a phone the fine-tuned model's long name left PSNR and a cut SSIM in
    # view, and nothing kept the names when swiped): the model pinned, the labels and arrows Compare's.
    columns = json.loads(table.proto.columns)
    assert columns["model"]["pinned"] is True, columns
    assert [columns[k]["label"] for k in ("psnr", "ssim", "l2_ab")] == ["PSNR dB ↑", "SSIM ↑", "L2_ab ↓"], columns
    assert table.value["psnr"].tolist() == [15.31, 13.24, tuned_psnr if verdict != "same" else 13.24]
    assert table.value["model"].tolist() == ["gray (no color)", "hypercolumn", folder.name]  # as Compare names gray
    warnings, captions = [as_read(w.value) for w in at.warning], [as_read(c.value) for c in at.caption]
    if verdict == "worse":
        assert warnings == ["The fine-tuned model is 1.49 dB below its base hypercolumn on the held-out photo (one "
                            "photo: an example, not a measurement): it learned less than it lost. More photos of one kind, more epochs or a lower learning rate "
                            "may help; the base is still in your model picker."]
    elif verdict == "better":
        assert not warnings and (f"The fine-tuned model is 0.76 dB above its base hypercolumn {ONE_PHOTO}." in captions)
    else:  # within 0.05 dB: neither "below" nor "above" (a review: −0.0009 dB read "0.00 dB below")
        assert not warnings and (f"The fine-tuned model scores about as its base hypercolumn {ONE_PHOTO} "
                                 "(-0.00 dB).") in captions


def test_the_result_of_a_deleted_fine_tune_offers_no_download(tmp_path):
    """Finding (session 29's audit): after Delete under "Your fine-tuned models" (or its expiry), the result view
    still said "Saved … after ? epoch(s). It is in your model picker now" and its Download gave a 22-byte empty ZIP
    (3.75 MB before the Delete, in a browser). It now says the model was deleted, and offers nothing to download."""
    folder = tmp_path / "cifar_ae-ft-1234"  # deleted: nothing left of it
    at = AppTest.from_function(_result_page, args=(str(folder),), default_timeout=TIMEOUT).run()
    assert not at.exception, at.exception
    assert [as_read(i.value) for i in at.info] == [
        "cifar_ae-ft-1234 was deleted from this server, so there is nothing to download."]
    assert not at.success and not at.get("download_button")


def test_each_of_your_fine_tuned_models_downloads_as_a_zip_and_a_deleted_one_says_so(page_env, checkpoint_dir,
                                                                                   monkeypatch):
    """Finding (session 33's audit): the ZIP was offered only beside a job's result, so after a reload or another
    fine-tune "Your fine-tuned models" told the visitor to download the ZIP and offered Share and Delete alone; and a
    ZIP asked for after its model was deleted in another tab came out empty (22 bytes), without a word."""
    import io
    import zipfile

    from colorizer import access, finetune
    from ui import visitor

    token = "erin-token-0123456789abcd"
    folder = checkpoint_dir / "cifar_ae-ft-00112233aabbccdd"
    folder.mkdir()
    (folder / "model.keras").write_bytes(b"weights")
    (folder / "card.json").write_text("{}")
    access.grant(folder, token)
    monkeypatch.setattr(visitor, "_sent_cookies", lambda: {visitor.COOKIE: token})
    at = page()
    at.run()
    assert_no_page_error(at)
    [download] = [d for d in at.get("download_button") if d.proto.id and "cifar_ae-ft-00112233aabbccdd" in str(d.proto)]
    assert download.proto.label == "ZIP"
    names = zipfile.ZipFile(io.BytesIO(finetune.checkpoint_zip(folder))).namelist()
    assert names == ["cifar_ae-ft-00112233aabbccdd/card.json", "cifar_ae-ft-00112233aabbccdd/model.keras"]
    (folder / "model.keras").unlink()  # deleted in another tab since the page drew
    with pytest.raises(FileNotFoundError, match="cifar_ae-ft-00112233aabbccdd: this checkpoint is gone"):
        finetune.checkpoint_zip(folder)


def test_a_job_that_stopped_while_its_visitor_was_away_is_shown_once_when_they_come_back(page_env, checkpoint_dir,
                                                                                          monkeypatch):
    """Session 35's audit: a fine-tune stops 45 s after its visitor's last page closes; coming back, the visitor saw
    a blank form and a third model in the list, nothing saying it was cut short or why. Its result is shown once,
    with the reason, then the form."""
    from types import SimpleNamespace

    from colorizer import access, checkpoints
    from ui import finetune_ui, visitor

    token = "dora-token-0123456789abcd"
    folder = checkpoint_dir / "cifar_ae-ft-0011223344556677"
    checkpoints.write_card(folder, {"name": folder.name, "training": {
        "epochs_requested": 20, "epochs": 13, "stopped_early": True, "time_per_epoch_s": 2.5, "feature_time_s": 6.7}})
    (folder / "model.keras").write_bytes(b"weights")
    access.grant(folder, token)
    status = SimpleNamespace(state="stopped", result=folder, wall_time_s=40.0, device="CPU: test", history=(),
                             mixed_precision=False, message="", skipped=(), active=False, held_out_name="")
    job = SimpleNamespace(id="ended-while-away", owner=token, status=lambda: status, held_out_photo=None,
                          stop_reason="its visitor left")
    with page_env._cond:
        page_env._jobs[job.id] = job
    monkeypatch.setattr(finetune_ui, "_SHOWN", {})
    monkeypatch.setattr(visitor, "_sent_cookies", lambda: {visitor.COOKIE: token})
    at = page().run()
    assert_no_page_error(at)
    [success] = at.success
    assert "after 13 epoch(s) (stopped early: its visitor left; the best epoch's weights were kept)" in success.value
    again = page().run()  # once: a second visit has the form, which says a visitor's leaving stops a fine-tune
    assert not again.success and again.button(key="finetune.start")
    assert any("Keep this page open" in c.value for c in again.caption)


def _progress_page(message: str, eta_s: float | None):
    from colorizer.finetune.job import JobStatus
    from ui.finetune_ui import progress_ui

    progress_ui(JobStatus("job", None, state="running", epoch=1, epochs=1, step=4, steps_per_epoch=4, eta_s=eta_s,
                          message=message))


def test_the_bar_says_what_runs_after_the_last_step_not_0_s_left():
    """Session 37's audit: after the last step the bar read "about 0 s left" for 11 s of a 36-s job while the
    fine-tuned model was scored and written. The stage takes the time-left's place."""
    at = AppTest.from_function(_progress_page, args=("scoring the fine-tuned checkpoint on the held-out photos", 0.0),
                               default_timeout=TIMEOUT).run()
    assert at.get("progress")[0].proto.text == (
        "Epoch 1/1 · step 4/4 · scoring the fine-tuned checkpoint on the held-out photos…")
    at = AppTest.from_function(_progress_page, args=("training on CPU", 12.0), default_timeout=TIMEOUT).run()
    assert at.get("progress")[0].proto.text.startswith("Epoch 1/1 · step 4/4 · ") and "left" in at.get(
        "progress")[0].proto.text


def test_a_fine_tuned_models_line_says_what_tells_it_apart(tmp_path):
    """Session 35's audit: four "hypercolumn-ft-<hex>" lines could not be told apart (nor the one cut short)."""
    from colorizer import checkpoints
    from ui.finetune_ui import model_line

    checkpoints.write_card(tmp_path, {"data": {"photos": 8}, "training": {"epochs": 13, "stopped_early": True}})
    record = {"created": 1796562000.0, "expires": 1796734800.0, "shared": False}
    assert model_line("hypercolumn-ft-00aa", tmp_path, record) == (
        "**hypercolumn-ft-00aa** · made 2026-12-06 13:00 UTC · 8 photos · 13 epochs (stopped early) · private · "
        "kept until 2026-12-08 13:00 UTC")
    # Session 37's audit: "5 photos" here, "fine-tuned on 4 photos" in the card's description: both counts said.
    checkpoints.write_card(tmp_path, {"data": {"photos": 5, "train_photos": 4, "held_out_photos": 1},
                                      "training": {"epochs": 1}})
    assert " · 4 photos + 1 held out · 1 epoch · " in model_line("hypercolumn-ft-00aa", tmp_path, record)


def test_epochs_done_counts_whole_epochs_when_none_was_cut():
    from ui.finetune_ui import epochs_done

    assert epochs_done({"epochs": 3, "last_epoch_steps": 5, "steps_per_epoch": 5}) == "3 epoch(s)"
    assert epochs_done({"epochs": 4}) == "4 epoch(s)"  # a card without step counts
    # A card written before session 36: "epochs" were those asked for, "epochs_run" those run (kept for days).
    assert epochs_done({"epochs": 20, "epochs_run": 13}) == "13 epoch(s)"
    assert epochs_done({}) == "? epoch(s)"


def test_page_settings_survive_a_trip_to_another_page(page_env):
    """A visitor who set the epochs, learning rate, batch size, validation share and photo source, then looked at
    another page, came back to the defaults (Streamlit drops the value of a widget a page does not draw)."""
    from colorizer import gallery
    from ui import finetune_ui

    at = page().run()
    assert_no_page_error(at)
    at.number_input(key="finetune.epochs").set_value(3)
    at.select_slider(key="finetune.lr").set_value(1e-3)
    at.select_slider(key="finetune.batch").set_value(4)
    at.slider(key="finetune.val_share").set_value(0.3)
    at.run()
    at.switch_page("pages/curves.py").run()
    at.switch_page("pages/finetune.py").run()
    assert_no_page_error(at)
    assert at.number_input(key="finetune.epochs").value == 3
    assert at.select_slider(key="finetune.lr").value == pytest.approx(1e-3)
    assert at.select_slider(key="finetune.batch").value == 4
    assert at.slider(key="finetune.val_share").value == pytest.approx(0.3)
    # The photo source and the gallery photos, which the docstring names too.
    at.segmented_control(key="finetune.source").set_value(finetune_ui.GALLERY).run()
    keys = gallery.color_keys()
    at.multiselect(key="finetune.gallery").set_value(keys[:2]).run()
    at.switch_page("pages/curves.py").run()
    at.switch_page("pages/finetune.py").run()
    assert_no_page_error(at)
    assert at.segmented_control(key="finetune.source").value == finetune_ui.GALLERY
    assert at.multiselect(key="finetune.gallery").value == keys[:2]


def _kept_line(at: AppTest) -> list[str]:
    return [as_read(c.value) for c in at.caption if "Still using" in c.value]


def _submitted_photos(page_env, monkeypatch) -> list:
    """Start's photos as the queue is handed them, (name, pixels) each, the job then refused (nothing trains)."""
    from colorizer import finetune

    submitted = []

    def submit(config, photos, owner=None, **options):
        submitted.append(photos)
        raise finetune.FinetuneError("recorded by the test")

    monkeypatch.setattr(page_env, "submit", submit)
    return submitted


def test_photos_chosen_before_a_trip_to_another_page_are_still_used(page_env, monkeypatch):
    """Streamlit's uploader keeps its files only while its page is shown: back from another page, the form was empty
    and the visitor had to choose every photo again (session 39's note). Their copies are now kept
    (``ui.photo_store``): the page says the photos chosen before are still used, Start trains on them, and "Let them
    go" or an uploader the visitor empties forgets them."""
    from ui import photo_store

    submitted = _submitted_photos(page_env, monkeypatch)
    kept, keep = [], photo_store.keep
    monkeypatch.setattr(photo_store, "keep", lambda name, data: kept.append(name) or keep(name, data))
    at = page().run()
    at.file_uploader(key="finetune.uploads").set_value([(f"photo{i}.png", png(i), "image/png") for i in range(3)]).run()
    at.run()
    assert kept == ["photo0.png", "photo1.png", "photo2.png"]  # each stored once, not again on the next rerun
    at.switch_page("pages/curves.py").run()
    at.switch_page("pages/finetune.py").run()
    assert_no_page_error(at)
    assert _kept_line(at) == ["Still using the 3 photo(s) you chose before (photo0.png, photo1.png, photo2.png). Photos "
                              "chosen above replace them: to add one, choose them all again."]
    assert not [i for i in at.info if "let go" in i.value]
    at.run()  # and on the page's next run, as long as no others are chosen
    assert len(_kept_line(at)) == 1 and not at.button(key="finetune.start").disabled
    at.button(key="finetune.start").click().run()
    [photos] = submitted
    assert [name for name, _ in photos] == ["photo0.png", "photo1.png", "photo2.png"]
    # The very pixels uploaded (the photos are smaller than the fine-tune's largest side: not shrunk).
    assert all(np.array_equal(pixels, np.asarray(Image.open(io.BytesIO(png(i))))) for i, (_, pixels) in enumerate(photos))

    at.button(key="finetune.let_go").click().run()
    assert not _kept_line(at) and at.button(key="finetune.start").disabled
    at.switch_page("pages/curves.py").run()
    at.switch_page("pages/finetune.py").run()
    assert not _kept_line(at) and not [i for i in at.info if "let go" in i.value]

    # Others chosen replace them; an uploader emptied on the page forgets them, without a word.
    at.file_uploader(key="finetune.uploads").set_value([("other.png", png(5), "image/png")]).run()
    at.switch_page("pages/curves.py").run()
    at.switch_page("pages/finetune.py").run()
    assert _kept_line(at) == ["Still using the 1 photo(s) you chose before (other.png). Photos chosen above replace "
                              "them: to add one, choose them all again."]
    at.file_uploader(key="finetune.uploads").set_value([("photo.png", png(6), "image/png")]).run()
    at.file_uploader(key="finetune.uploads").set_value([]).run()
    assert not _kept_line(at) and at.button(key="finetune.start").disabled


def test_photos_kept_through_a_switch_to_the_gallery_and_said_when_others_took_their_room(page_env, tmp_path):
    """Uploads, then the gallery's photos, then Upload again: the uploads are still used. When other visitors' photos
    took their copies' room meanwhile, the page says so, naming the switch (session 39's review), or the trip."""
    from ui import finetune_ui, photo_store

    def away_and_back(at, emptied: bool = False):
        at.switch_page("pages/curves.py").run()
        if emptied:
            for path in photo_store.photo_folder().iterdir():
                path.unlink()
        return at.switch_page("pages/finetune.py").run()

    at = page().run()
    at.file_uploader(key="finetune.uploads").set_value([(f"photo{i}.png", png(i), "image/png") for i in range(3)]).run()
    at.segmented_control(key="finetune.source").set_value(finetune_ui.GALLERY).run()
    at.segmented_control(key="finetune.source").set_value(finetune_ui.UPLOAD).run()
    assert_no_page_error(at)
    assert len(_kept_line(at)) == 1 and not [i for i in at.info if "let go" in i.value]

    at.segmented_control(key="finetune.source").set_value(finetune_ui.GALLERY).run()
    for path in photo_store.photo_folder().iterdir():
        path.unlink()
    at.segmented_control(key="finetune.source").set_value(finetune_ui.UPLOAD).run()
    assert [i.value for i in at.info if "let go" in i.value] == [
        f"The 3 photo(s) you chose were let go after you switched to the gallery's photos: {finetune_ui.LET_GO_WHY}. "
        "Choose them again."]
    away_and_back(at)
    assert not [i for i in at.info if "let go" in i.value] and not _kept_line(at)  # nothing chosen since

    at.file_uploader(key="finetune.uploads").set_value([(f"photo{i}.png", png(i), "image/png") for i in range(2)]).run()
    away_and_back(at, emptied=True)
    assert [i.value for i in at.info if "let go" in i.value] == [
        f"The 2 photo(s) you chose were let go after you left this page: {finetune_ui.LET_GO_WHY}. Choose them again."]
    at.run()
    assert not [i for i in at.info if "let go" in i.value]

    # Some gone, some kept: the kept ones are used, the gone ones named once.
    at.file_uploader(key="finetune.uploads").set_value([(f"photo{i}.png", png(i), "image/png") for i in range(2)]).run()
    at.switch_page("pages/curves.py").run()
    stored = dict(at.session_state[finetune_ui.KEPT_KEY])
    (photo_store.photo_folder() / stored["photo1.png"]).unlink()
    at.switch_page("pages/finetune.py").run()
    assert _kept_line(at) == ["Still using the 1 photo(s) you chose before (photo0.png). Photos chosen above replace "
                              "them: to add one, choose them all again."]
    assert [as_read(i.value) for i in at.info if "let go" in i.value] == [
        f"photo1.png: let go while you were away ({finetune_ui.LET_GO_WHY}): choose them again to use them."]
    at.run()
    assert len(_kept_line(at)) == 1 and not [i for i in at.info if "let go" in i.value]


def test_a_copy_the_disk_cannot_take_leaves_the_page_working_and_is_named_after_a_trip(page_env, monkeypatch):
    """Session 40's review: a full disk under the kept copies failed the whole page ("Something went wrong: OSError"),
    Start and the visitor's models gone, though the uploads themselves were there. The page now works on with them,
    tries no copy again on every rerun, and after a trip away names the photos it could not keep."""
    from ui import finetune_ui, photo_store

    tried = []

    def full_disk(name, data):
        tried.append(name)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(photo_store, "keep", full_disk)
    at = page().run()
    at.file_uploader(key="finetune.uploads").set_value([(f"photo{i}.png", png(i), "image/png") for i in range(2)]).run()
    at.run()
    assert_no_page_error(at)
    assert not at.button(key="finetune.start").disabled and tried == ["photo0.png", "photo1.png"]
    at.switch_page("pages/curves.py").run()
    at.switch_page("pages/finetune.py").run()
    assert_no_page_error(at)
    assert [i.value for i in at.info if "let go" in i.value] == [
        f"The 2 photo(s) you chose were let go after you left this page: {finetune_ui.LET_GO_WHY}. Choose them again."]


def test_start_queues_a_private_job_within_the_servers_limits_that_stops_when_its_visitor_leaves(page_env, monkeypatch):
    """What Start hands the queue is what keeps a public server safe: the job is private to its visitor (their
    checkpoint is listed for no one else), held to the server's limits (here 2 photos: the first two of three are
    used, and the form says so), and stops when the visitor is gone (``presence``)."""
    from colorizer import finetune
    from ui import finetune_ui

    monkeypatch.setattr(finetune_ui, "LIMITS", finetune.FinetuneLimits(photos=2))
    submitted = []

    def submit(config, photos, owner=None, **options):
        submitted.append({"photos": [name for name, _ in photos], "owner": owner, **options})
        raise finetune.FinetuneError("recorded by the test")

    monkeypatch.setattr(page_env, "submit", submit)
    at = page().run()
    at.file_uploader(key="finetune.uploads").set_value([(f"photo{i}.png", png(i), "image/png") for i in range(3)]).run()
    assert [w.value for w in at.warning if "at most 2 photos" in w.value]
    at.button(key="finetune.start").click().run()
    assert_no_page_error(at)
    [job] = submitted
    assert job["photos"] == ["photo0.png", "photo1.png"]
    assert job["owner"] == at.session_state["app.visitor"] and job["private"] is True
    assert job["limits"] == finetune.FinetuneLimits(photos=2)
    assert callable(job["presence"]) and job["presence"]()  # the visitor is here now


def test_the_epochs_field_offers_no_more_than_the_server_allows(page_env, monkeypatch):
    """The form itself holds a visitor to the server's epochs (the job would refuse more, after the visitor waited in
    the queue): the field's ceiling and its help are the limit's, and a default over it comes down to it."""
    from colorizer import finetune
    from ui import finetune_ui

    monkeypatch.setattr(finetune_ui, "LIMITS", finetune.FinetuneLimits(epochs=3))
    at = page().run()
    assert_no_page_error(at)
    epochs = at.number_input(key="finetune.epochs")
    assert epochs.max == 3 and epochs.min == 1 and epochs.value == 3   # the default 5, held to 3
    assert "At most 3 on this server" in epochs.help


def test_a_broken_or_gray_upload_takes_no_place_among_the_servers_photos(page_env, monkeypatch):
    """Finding (session 28's walkthrough, as on the sidebar): at most N photos were the first N files, broken and
    gray ones included, so a fine-tune trained on fewer photos than the server allows while good ones were left
    out. The first N usable color photos are used; the broken and gray files are named as skipped."""
    from app_fixtures import gray_png
    from colorizer import finetune
    from ui import finetune_ui

    monkeypatch.setattr(finetune_ui, "LIMITS", finetune.FinetuneLimits(photos=2))
    submitted = []

    def submit(config, photos, owner=None, skipped=(), **options):
        submitted.append({"photos": [name for name, _ in photos], "skipped": list(skipped)})
        raise finetune.FinetuneError("recorded by the test")

    monkeypatch.setattr(page_env, "submit", submit)
    at = page().run()
    files = [("broken.png", b"not an image", "image/png"), ("gray.png", gray_png(), "image/png"),
             *[(f"photo{i}.png", png(i), "image/png") for i in range(3)]]
    at.file_uploader(key="finetune.uploads").set_value(files).run()
    at.button(key="finetune.start").click().run()
    assert_no_page_error(at)
    [job] = submitted
    assert job["photos"] == ["photo0.png", "photo1.png"]
    assert [line.split(":")[0] for line in job["skipped"]] == ["broken.png", "gray.png"], job["skipped"]


def test_a_batch_of_broken_uploads_costs_at_most_twice_the_photos_in_reads(page_env, monkeypatch):
    """A broken file takes no photo's place, but each costs a decode: at most twice the server's photos are read, and
    the files never read are one line naming them (here 2 photos: four broken files read, the good ones after them
    never read, and nothing submitted)."""
    from ui import finetune_ui

    reads = []

    def content(name, data):
        return lambda: reads.append(name) or data

    files = [(f"broken{i}.png", content(f"broken{i}.png", b"not an image")) for i in range(5)]
    files += [(f"photo{i}.png", content(f"photo{i}.png", png(i))) for i in range(2)]
    photos, errors = finetune_ui._uploaded_photos(files, most=2)
    assert photos == [] and reads == [f"broken{i}.png" for i in range(4)]
    assert [line.split(":")[0] for line in errors[:4]] == reads
    assert errors[4] == ("broken4.png, photo0.png, photo1.png: not read: this server reads 4 files at most for a "
                         "fine-tune (remove the broken ones and start again)")
    photos, errors = finetune_ui._uploaded_photos(files[3:], most=2)   # two photos taken: nothing said of the rest
    assert [name for name, _ in photos] == ["photo0.png", "photo1.png"] and len(errors) == 2


def test_a_copy_of_an_upload_is_one_line_and_takes_no_photos_place(page_env):
    """Session 35's audit: the page reads its uploads one by one, and a copy under another name could be held out
    while its original trained. It is a line naming both, and the next photo is taken in its place."""
    from ui import finetune_ui

    files = [("photo0.png", lambda: png(0)), ("photo0 (1).png", lambda: png(0)), ("photo1.png", lambda: png(1))]
    photos, errors = finetune_ui._uploaded_photos(files, most=2)
    assert [name for name, _ in photos] == ["photo0.png", "photo1.png"]
    assert errors == ["photo0 (1).png: the same picture as photo0.png: learned once"]


def test_start_with_no_room_for_another_checkpoint_says_so_before_reading_the_photos(page_env, checkpoint_dir, monkeypatch):
    """A visitor who keeps the most fine-tuned models a visitor may (3 by default) is told so before Start (session
    35's audit: only after it), with Start disabled; and on Start, as a second tab's click, in one line, before their
    photos are read or a job queued."""
    from colorizer import access
    from ui import finetune_ui

    token = "carol-token-0123456789ab"
    for i in range(access.Limits().per_visitor):
        folder = checkpoint_dir / f"cifar_ae-ft-{i:016x}"
        folder.mkdir()
        (folder / "model.keras").write_bytes(b"x")
        access.grant(folder, token)
    read = []
    monkeypatch.setattr(finetune_ui, "_gallery_photos", lambda keys: read.append(keys) or ([], []))
    monkeypatch.setattr(page_env, "submit", lambda *a, **k: pytest.fail("a job was queued"))
    from ui import visitor

    monkeypatch.setattr(visitor, "_sent_cookies", lambda: {visitor.COOKIE: token})  # the visitor's browser
    at = page()
    at.session_state["finetune.source"] = "Gallery color photos"
    at.run()
    assert at.button(key="finetune.start").disabled
    assert "You keep 3 fine-tuned models on this server, the most one visitor may: delete one below (download its " \
           "ZIP first to keep it) to make another." in [c.value for c in at.caption]
    assert any(c.value.startswith("3 of the 3 one visitor may keep") for c in at.caption)
    monkeypatch.setattr(finetune_ui, "_mine", lambda: {})  # the list as another tab drew it, before the third was made
    at.run()
    at.button(key="finetune.start").click().run()
    assert_no_page_error(at)
    assert [as_read(e.value) for e in at.error] == [
        "Cannot start: you have 3 fine-tuned models on this server, the most one visitor keeps: delete one "
        "(Fine-tune page) to make another"]
    assert read == []


@pytest.mark.parametrize("queue_state", ["full", "own job"])
def test_start_refused_by_the_queue_says_so_before_reading_the_photos(page_env, monkeypatch, queue_state):
    """Finding (session 29's audit): with the queue full, or a job of the visitor's running already (their second
    tab still showed the form), Start read every photo first, then was refused: twenty 12 MP JPEGs took 5.5 s of the
    decode lane that every visitor's uploads wait behind, for nothing. The queue is asked first (as the visitor's
    room for another checkpoint is), in one line, and no photo is read."""
    from colorizer import finetune
    from ui import finetune_ui

    token = "dave-token-0123456789abcd"
    queue = finetune.JobQueue(max_waiting=1, one_per_owner=True)
    if queue_state == "full":
        # Another visitor's job waiting: the line's one place is taken, behind one running for 4 of its 10 min.
        # Session 35's audit: "try again in a few minutes"; a place frees when the running job ends.
        limits = finetune.FinetuneLimits(minutes=10)
        queue._waiting.append(finetune.FinetuneJob(finetune.FinetuneConfig(base="cifar_ae"), [], owner="eve",
                                                   limits=limits))
        queue._running = finetune.FinetuneJob(finetune.FinetuneConfig(base="cifar_ae"), [], owner="fay", limits=limits)
        queue._running.started_at = time.monotonic() - 240
        expected = ("Cannot start: 1 fine-tunes are waiting already, the most this server queues: try again when the "
                    "running one ends (within 6 min, its time limit)")
    else:
        running = finetune.FinetuneJob(finetune.FinetuneConfig(base="cifar_ae"), [], owner=token)
        queue._jobs[running.id] = running  # queued: active
        expected = "Cannot start: you have a fine-tune queued or running already: stop it or wait for it to end"
    monkeypatch.setattr(finetune, "QUEUE", queue)
    read = []
    monkeypatch.setattr(finetune_ui, "_gallery_photos", lambda keys: read.append(keys) or ([], []))
    from ui import visitor

    monkeypatch.setattr(visitor, "_sent_cookies", lambda: {visitor.COOKIE: token})  # the visitor's browser
    at = page()
    at.session_state["finetune.source"] = "Gallery color photos"
    at.run()
    if queue_state == "own job":
        # The second tab's form: drawn before the job was queued; the run after the click finds the job, and the
        # refusal is said over it (it was kept for the next form, shown after the job, out of place).
        monkeypatch.setattr(finetune_ui, "current_job", lambda: None)
        at.run()
        monkeypatch.setattr(finetune_ui, "current_job", lambda: running)
    at.button(key="finetune.start").click().run()
    assert_no_page_error(at)
    assert [as_read(e.value) for e in at.error] == [expected]
    assert read == []


def test_the_form_starts_at_the_working_size_or_the_largest_crop_under_it(monkeypatch):
    """A server whose crop limit is under a base's working size (160 against the hint model's 176) started the
    form at the first size offered, 32 px: it starts at the largest one under the working size now."""
    from colorizer import finetune
    import ui.finetune_ui as form

    hints, flagship = ({"architecture": a, "working_size": w} for a, w in (("hypercolumn_hints", 176), ("hypercolumn", 144)))
    assert form.default_crop(form.crop_choices(hints)) == 176  # the public limit (176) offers it
    assert form.default_crop(form.crop_choices(flagship)) == 144
    monkeypatch.setattr(form, "LIMITS", finetune.FinetuneLimits(crop=160))
    crops = form.crop_choices(hints)
    assert crops == [32, 64, 96, 128, 160] and form.default_crop(crops) == 160
    assert form.default_crop([64]) == 64  # a base whose only size is over its working size (32): that one


def test_the_form_offers_no_crop_over_the_working_size():
    """Session 31: the flagship was offered 160 px crops (its working size 144), the fine-tune that took a 2.7 GB
    host to its cap beside a class. Sizes stop at the working size now."""
    import ui.finetune_ui as form

    flagship, hints = ({"architecture": a, "working_size": w} for a, w in (("hypercolumn", 144), ("hypercolumn_hints", 176)))
    assert form.crop_choices(flagship) == [32, 64, 96, 128, 144]
    assert form.crop_choices(hints) == [32, 64, 96, 128, 160, 176]  # the public limit is 176
    assert form.crop_choices({"architecture": "unet313", "working_size": 256}) == [32, 64, 96, 128, 160]  # the limit
    assert form.crop_choices(flagship, most=100) == [32, 64, 96]
    assert form.crop_choices({"architecture": "cifar_ae", "working_size": 32}) == [32]  # fixed size
