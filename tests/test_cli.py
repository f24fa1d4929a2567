"""The fixed command-line forms: archs, colorize, evaluate, train.

Most run in-process through ``colorizer.cli.main`` (TensorFlow is imported once per test session);
one real subprocess proves ``python -m colorizer`` itself works.
"""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from colorizer import ARCHITECTURE_NAMES, checkpoints
from colorizer.cli import main
from colorizer.evaluate import TRANSFER_NAMES
from colorizer.metrics import METRIC_NAMES
from conftest import REPO_ROOT, load_script, make_photo, write_png

ARCHS = ["hypercolumn", "hypercolumn_hints", "cifar_ae", "vgg16_ae", "vae", "unet313"]  # the flagship first


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error:")]


def test_archs_in_process(capsys):
    assert main(["archs"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines() == list(ARCHITECTURE_NAMES)
    assert sorted(out.split()) == sorted(ARCHS)


def test_help_says_what_each_input_is_and_what_a_plain_bench_measures(capsys):
    """Finding (session 28's walkthrough, as a new contributor): ``colorize --help`` listed IN and -o OUTDIR with no
    word on them, and ``bench --help`` gave no default for --sizes, --runs, --sessions or --finetune-epochs."""
    def help_of(command: str) -> str:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        return " ".join(capsys.readouterr().out.split())

    colorize = help_of("colorize")
    assert "IN image files (PNG, JPEG, WebP, BMP, GIF, TIFF; a color photo is turned gray first)" in colorize
    assert "the folder the PNGs go to (<stem>.png each; made if missing)" in colorize
    bench = help_of("bench")
    for default in ("(default: 0.25,1,4,12)", "median reported (default: 5)", "at once (default: 20)",
                    "measured (default: 2)"):
        assert default in bench, (default, bench)


def test_colorize_help_names_every_model_its_temperature_reaches(capsys):
    """``colorize --help`` said "hypercolumn, unet313: annealed-mean temperature", but hypercolumn_hints decodes its
    313 bins with the same annealed mean and takes ``temperature`` too (the app's vividness slider shows for it)."""
    from colorizer.models import ARCHITECTURES
    from colorizer.models.contract import option_names

    with pytest.raises(SystemExit):
        main(["colorize", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    start = "--temperature TEMPERATURE "
    help_text = text[text.index(start) + len(start):text.index("--seed SEED ")]
    takers = [name for name, arch in ARCHITECTURES.items() if "temperature" in option_names(arch)]
    assert takers and all(name in re.findall(r"\w+", help_text) for name in takers), help_text


@pytest.mark.slow
def test_archs_as_a_module_subprocess():
    result = subprocess.run([sys.executable, "-m", "colorizer", "archs"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ARCHS
    assert "Traceback" not in result.stderr
    # ``archs --hints`` asks the architectures, which import TensorFlow: quietly, as every other command does
    # (session 34's docs audit: six lines of TensorFlow's start-up log on stderr).
    as_run = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}  # conftest's 2 asks for the log
    hints = subprocess.run([sys.executable, "-m", "colorizer", "archs", "--hints"], cwd=REPO_ROOT, env=as_run,
                           capture_output=True, text=True, timeout=120)
    assert (hints.returncode, hints.stdout.split(), hints.stderr) == (0, ["hypercolumn_hints"], "")
    # The Python API too: a student's colorizer.load printed seven lines, "failed call to cuInit" among them.
    api = subprocess.run([sys.executable, "-c", "import colorizer; print(colorizer.load('cifar_ae').name)"],
                         cwd=REPO_ROOT, env=as_run, capture_output=True, text=True, timeout=120)
    assert (api.returncode, api.stdout.split(), api.stderr) == (0, ["cifar_ae"], "")


def test_a_bad_input_to_any_command_is_refused_before_tensorflow_loads(tmp_path):
    """Session 34's audit: a bad hints file, a reference too small or a missing clip were refused (exit 2) only
    after TensorFlow's 4-6 s of loading. Each is refused now with TensorFlow never imported."""
    photo = write_png(tmp_path / "photo.png", make_photo(24, 24, seed=3))
    (tmp_path / "bad.json").write_text('[{"x": 1}')
    write_png(tmp_path / "tiny.png", make_photo(8, 8, seed=4))
    absent, empty = str(tmp_path / "absent"), tmp_path / "empty"
    empty.mkdir()
    # Session 35: evaluate, train and finetune checked their folder (and finetune its --base) after TensorFlow too.
    argvs = (["colorize", str(photo), "-o", str(tmp_path / "o"), "--hints", str(tmp_path / "bad.json")],
             ["colorize", str(photo), "-o", str(tmp_path / "o"), "--reference", str(tmp_path / "tiny.png")],
             ["video", str(tmp_path / "absent.mp4"), "-o", str(tmp_path / "v.mp4")],
             ["evaluate", absent], ["train", "--arch", "cifar_ae", "--data", absent],
             # Session 35: a folder inside weights/ (only weights/ itself replaces a shipped checkpoint)
             ["train", "--arch", "cifar_ae", "--data", str(tmp_path), "--out", str(REPO_ROOT / "weights" / "mine")],
             ["finetune", "--data", absent, "--base", "cifar_ae", "--epochs", "1", "--out", str(tmp_path / "f")],
             ["finetune", "--data", str(tmp_path), "--base", "cifar_a", "--epochs", "1", "--out", str(tmp_path / "f")],
             ["finetune", "--data", str(empty), "--base", "cifar_ae", "--epochs", "1", "--out", str(tmp_path / "f")])
    # One fresh interpreter runs them in turn (each interpreter's start and colorizer import cost as much as the
    # check): after each one TensorFlow must still be absent, so the first command that loads it is the one named;
    # each one's stdout and stderr are its own, caught at the file descriptors as a process of its own would be.
    script = CHILD_RUNS_MAIN.format(argvs=list(argvs), captures=str(tmp_path / "captured"))
    run = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0 and "Traceback" not in run.stderr, run.stderr
    results = json.loads(run.stdout.splitlines()[-1])
    assert len(results) == len(argvs)
    for argv, (status, tensorflow_loaded, stdout, stderr) in zip(argvs, results):
        assert [status, tensorflow_loaded, stdout.split()] == [2, False, []] and stderr.startswith("error: "), \
            (argv, status, tensorflow_loaded, stdout, stderr)


CHILD_RUNS_MAIN = """
import json, os, sys
from colorizer.cli import main

results = []
for i, argv in enumerate({argvs!r}):
    files = [open({captures!r} + f"-{{i}}-{{fd}}", "w+") for fd in (1, 2)]
    saved = [os.dup(1), os.dup(2)]
    sys.stdout.flush(), sys.stderr.flush()
    os.dup2(files[0].fileno(), 1), os.dup2(files[1].fileno(), 2)
    try:
        status = main(argv)
    except BaseException as err:
        status = repr(err)
    sys.stdout.flush(), sys.stderr.flush()
    os.dup2(saved[0], 1), os.dup2(saved[1], 2)
    os.close(saved[0]), os.close(saved[1])
    texts = []
    for f in files:
        f.seek(0)
        texts.append(f.read())
        f.close()
    results.append([status, "tensorflow" in sys.modules, *texts])
print(json.dumps(results))
"""


@pytest.mark.slow
def test_colorize_writes_one_png_per_input_and_reports_broken_ones(tiny_checkpoints, tiny_colorizers, tmp_path, capsys):
    inputs = tmp_path / "in"
    street, gray = make_photo(37, 53, seed=1), make_photo(20, 31, seed=2)[..., 0]
    good = [write_png(inputs / "street.png", street), write_png(inputs / "gray.png", gray)]
    broken = inputs / "broken.png"
    broken.write_text("this is not a PNG\n")
    out_dir = tmp_path / "out"
    # vgg16_ae: its tiny checkpoint paints colors that depend on the input (the tiny cifar_ae's are one gray)
    status = main(["colorize", str(good[0]), str(broken), str(good[1]), "-o", str(out_dir),
                   "--checkpoint", str(tiny_checkpoints["vgg16_ae"])])
    captured = capsys.readouterr()
    assert status == 1
    lines = error_lines(captured.err)
    assert len(lines) == 1 and lines[0].startswith(f"error: {broken}: "), captured.err  # the path as given
    assert "Traceback" not in captured.err
    assert sorted(p.name for p in out_dir.iterdir()) == ["gray.png", "street.png"]
    # Each file holds its own input's colorization, pixel for pixel (not another input's, not channels swapped).
    model = tiny_colorizers["vgg16_ae"]
    np.testing.assert_array_equal(np.asarray(Image.open(out_dir / "street.png")), model.colorize(street))
    np.testing.assert_array_equal(np.asarray(Image.open(out_dir / "gray.png")), model.colorize(gray))
    assert np.abs(np.diff(model.colorize(street).astype(int), axis=2)).mean() > 1   # colors, not gray


def test_a_pipe_among_the_inputs_is_one_line_and_the_batch_goes_on(tiny_checkpoints, tmp_path, capsys):
    """Finding (session 33's audit): a named pipe among the inputs blocked the whole batch for good (read whole,
    it never ends; /dev/zero would fill the memory), and the photos after it were never colorized."""
    import os

    inputs = tmp_path / "in"
    good = write_png(inputs / "street.png", make_photo(37, 53, seed=1))
    pipe = inputs / "pipe.png"
    os.mkfifo(pipe)
    status = main(["colorize", str(pipe), str(good), "-o", str(tmp_path / "out"),
                   "--checkpoint", str(tiny_checkpoints["cifar_ae"])])
    captured = capsys.readouterr()
    assert status == 1 and error_lines(captured.err) == [
        f"error: {pipe}: not a regular file (a pipe, a device or a socket)"], captured.err
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["street.png"]


def test_colorize_all_good_exits_zero_with_arch_name(installed_tiny_checkpoints, tmp_path, capsys):
    photo = write_png(tmp_path / "photo.png", make_photo(24, 24, seed=3))
    assert main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--arch", "unet313", "--temperature", "0.5"]) == 0
    captured = capsys.readouterr()
    assert not error_lines(captured.err)
    assert captured.out.splitlines()[-1] == f"1 of 1 colorized into {tmp_path / 'out'}"
    assert (tmp_path / "out" / "photo.png").is_file()


def test_colorize_with_unusable_checkpoint_is_one_line(tmp_path, capsys):
    fake = tmp_path / "fake.keras"
    fake.write_text("not a model")
    photo = write_png(tmp_path / "photo.png", make_photo(8, 8))
    assert main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--checkpoint", str(fake)]) == 1
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "fake.keras" in lines[0]


def test_evaluate_prints_table_with_gray_row_and_writes_json(installed_tiny_checkpoints, photo_dir, tmp_path, capsys):
    report = tmp_path / "eval.json"
    status = main(["evaluate", str(photo_dir), "--arch", "cifar_ae", "--arch", "vae", "--json", str(report)])
    out = capsys.readouterr().out
    assert status == 0
    rows = {line.split("|")[1].strip() for line in out.splitlines() if line.startswith("| ")}
    assert {"gray", "baseline: training palette", "cifar_ae", "vae", "truth"} <= rows
    assert "PSNR" in out and "right hue" in out and "AuC" in out and "2 color photos" in out  # the val/ split only
    summary = json.loads(report.read_text())
    assert list(summary) == ["gray", "baseline: training palette", "cifar_ae", "vae", "truth"]
    palette = summary["baseline: training palette"]
    assert 0 < palette["colorfulness"] and palette["l2_ab"] != summary["gray"]["l2_ab"]   # a tint, not gray
    for label in ("gray", "baseline: training palette", "cifar_ae", "vae"):
        assert list(summary[label]) == [*METRIC_NAMES, "n_images", *TRANSFER_NAMES]
        assert summary[label]["n_images"] == 2
    assert summary["gray"]["colorfulness"] < 1.0 and summary["gray"]["l2_ab"] > 0


def test_evaluate_per_photo_lists_each_photo_lowest_gain_first(installed_tiny_checkpoints, photo_dir, tmp_path, capsys):
    report = tmp_path / "eval.json"
    assert main(["evaluate", str(photo_dir), "--arch", "cifar_ae", "--per-photo", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    listed = out.split("cifar_ae, lowest gain over gray first:")[1].strip().splitlines()[2:]
    saved = json.loads(report.read_text())["cifar_ae"]["photos"]
    assert sorted(line.split("|")[1].strip() for line in listed) == sorted(p["name"] for p in saved) and len(saved) == 2
    gains = [float(line.split("|")[2]) for line in listed]
    assert gains == sorted(gains) == sorted(round(p["gain_over_gray"], 2) for p in saved)


def test_an_option_the_model_would_ignore_is_refused_and_counts_are_checked_as_parsed(installed_tiny_checkpoints,
                                                                                      tmp_path, capsys, monkeypatch):
    """Session 34's audit: ``--temperature`` on cifar_ae or vae and ``--seed`` on cifar_ae were taken and ignored (the
    same picture each time, without a word), as ``--mirror`` on a model without it is not; ``finetune --crop 0`` ran a
    fine-tune at the default size, ``video --max-frames -4`` was refused only after TensorFlow loaded."""
    from colorizer import cli

    photo = write_png(tmp_path / "photo.png", make_photo(24, 24, seed=3))
    with monkeypatch.context() as nothing_loads:  # an --arch's options are known by name (session 39: after 9 s)
        nothing_loads.setattr(cli, "_load_model", lambda args: pytest.fail("loaded a model to refuse an option"))
        for arch, option, value in (("cifar_ae", "--temperature", "0.5"), ("vae", "--temperature", "0.05"),
                                    ("cifar_ae", "--seed", "3"), ("unet313", "--mirror", None)):
            assert main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--arch", arch, option,
                         *([value] if value else [])]) == 2
            [line] = error_lines(capsys.readouterr().err)
            assert line.startswith(f"error: {option}: {arch} ") and not (tmp_path / "out" / "photo.png").exists()
    # A checkpoint's architecture is known once it loads: refused then, as before.
    assert main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--checkpoint", "cifar_ae", "--seed", "3"]) == 2
    [line] = error_lines(capsys.readouterr().err)
    assert line == "error: --seed: cifar_ae draws no random colors; the VAE does (--arch vae)"
    assert main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--arch", "vae", "--seed", "3"]) == 0
    assert main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--arch", "unet313", "--temperature", "0.5"]) == 0
    for argv in (["finetune", "--base", "cifar_ae", "--data", str(tmp_path), "--epochs", "1", "--out", str(tmp_path / "f"),
                  "--crop", "0"], ["video", str(photo), "-o", str(tmp_path / "v.mp4"), "--max-frames", "-4"]):
        with pytest.raises(SystemExit) as usage:
            main(argv)
        assert usage.value.code == 2 and "expected a whole number" in capsys.readouterr().err


def test_the_python_api_checks_option_values_not_only_names():
    """Session 34's audit: ``temperature=float('nan')`` painted a photo gray, ``'high'`` failed deep in the decoding
    ("'<=' not supported between 'str' and 'int'"), ``seed=-1`` in numpy's words."""
    from colorizer.models.contract import check_option_values

    for value, kind in (("high", TypeError), (True, TypeError), (float("nan"), ValueError), (0, ValueError),
                        (float("inf"), ValueError), (1e-40, ValueError), (5, ValueError)):
        with pytest.raises(kind, match=r"^m: temperature must be (a number|from 0.01 to 1)"):
            check_option_values({"temperature": value}, "m")
    for value in (-1, 2.5, "3"):
        with pytest.raises(ValueError, match=r"^m: seed must be an integer of at least 0"):
            check_option_values({"seed": value}, "m")
    check_option_values({"temperature": np.float32(0.38), "seed": np.int64(3)}, "m")  # numpy's numbers are numbers
    from colorizer import load

    model, gray = load("unet313"), np.full((16, 16), 128, np.uint8)
    with pytest.raises(ValueError, match="unet313: temperature must be from 0.01 to 1"):
        model.colorize(gray, temperature=float("nan"))
    with pytest.raises(TypeError, match="unet313: temperature must be a number"):
        model.predict_ab(model.network_input(np.full((16, 16), 50.0, np.float32)), temperature="high")
    # None is "not given" all the way down (session 38's code review: unet313 compared it with a number), and the
    # certainty map checks its temperature as colorize does (NaN had mapped "no certainty" everywhere).
    np.testing.assert_array_equal(model.colorize(gray, temperature=None), model.colorize(gray))
    with pytest.raises(ValueError, match="hypercolumn: temperature must be from 0.01 to 1"):
        load("hypercolumn").certainty(np.full((16, 16), 128, np.uint8), temperature=float("nan"))


def test_an_interrupted_batch_says_how_far_it_got(installed_tiny_checkpoints, tmp_path, capsys, monkeypatch):
    """Session 34's audit: Ctrl-C left every written PNG whole but said only "error: interrupted"."""
    from colorizer import checkpoints

    photos = [write_png(tmp_path / f"p{i}.png", make_photo(16, 16, seed=i)) for i in range(3)]
    write, calls = checkpoints.atomic_write_bytes, []

    def write_then_interrupt(path, data):
        calls.append(path)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return write(path, data)

    monkeypatch.setattr(checkpoints, "atomic_write_bytes", write_then_interrupt)
    assert main(["colorize", *map(str, photos), "-o", str(tmp_path / "out"), "--arch", "cifar_ae"]) == 130
    captured = capsys.readouterr()
    assert f"1 of 3 colorized into {tmp_path / 'out'} before the interruption" in captured.out
    assert error_lines(captured.err) == ["error: interrupted"] and [p.name for p in (tmp_path / "out").iterdir()] == [
        "p0.png"]


def test_evaluate_scores_a_checkpoint_folder_and_refuses_options_that_add_no_row(installed_tiny_checkpoints, photo_dir,
                                                                                tmp_path, capsys):
    """Session 35's audit: a trained run's card said "evaluate DATA --arch NAME", which scored the shipped NAME, and
    evaluate could not take a checkpoint; --temperature (--mirror, --hints) for models without it printed the plain
    table without a word. --checkpoint scores the folder's own weights; an option no chosen model takes is one line."""
    import shutil

    run = tmp_path / "runs" / "cifar_ae"
    shutil.copytree(installed_tiny_checkpoints["cifar_ae"], run)
    report = tmp_path / "eval.json"
    assert main(["evaluate", str(photo_dir), "--checkpoint", str(run), "--arch", "cifar_ae", "--json", str(report)]) == 0
    summary = json.loads(report.read_text())
    assert list(summary) == ["gray", "baseline: training palette", "cifar_ae", str(run), "truth"]  # both, apart
    assert summary[str(run)]["psnr"] == summary["cifar_ae"]["psnr"]  # the same weights, copied
    capsys.readouterr()
    for option in (["--temperature", "0.2"], ["--mirror"], ["--hints", "0,5"]):
        assert main(["evaluate", str(photo_dir), "--arch", "cifar_ae", *option]) == 2
        lines = error_lines(capsys.readouterr().err)
        assert len(lines) == 1 and lines[0].startswith(f"error: {option[0]}: none of cifar_ae"), lines
    assert main(["evaluate", str(photo_dir), "--checkpoint", str(tmp_path / "typo")]) == 2
    capsys.readouterr()
    assert main(["evaluate", str(photo_dir), "--references", "--checkpoint", str(run)]) == 2  # its tables take --arch
    assert error_lines(capsys.readouterr().err) == [
        "error: --checkpoint: not taken with --references (its tables score --arch models, default the flagship)"]


@pytest.mark.slow
def test_mirror_averaging_is_the_flagships_option_in_colorize_and_evaluate(installed_tiny_checkpoints, photo_dir,
                                                                          tmp_path, capsys):
    """--mirror: refused in one line for a model without it; an extra evaluation row for the flagship,
    scored on its own colors (not a copy of the plain row)."""
    photo = write_png(tmp_path / "photo.png", make_photo(24, 24, seed=3))
    assert main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--arch", "unet313", "--mirror"]) == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "--mirror" in lines[0] and "unet313" in lines[0]
    assert main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--mirror"]) == 0
    assert (tmp_path / "out" / "photo.png").is_file()
    report = tmp_path / "eval.json"
    assert main(["evaluate", str(photo_dir), "--arch", "hypercolumn", "--arch", "cifar_ae", "--mirror", "--json", str(report)]) == 0
    summary = json.loads(report.read_text())
    assert "hypercolumn (mirror-averaged)" in summary and "cifar_ae (mirror-averaged)" not in summary
    assert summary["hypercolumn (mirror-averaged)"]["l2_ab"] != summary["hypercolumn"]["l2_ab"]


def test_evaluate_measures_a_transparent_picture_over_what_it_shows(installed_tiny_checkpoints, tmp_path, capsys):
    """A folder holding an RGBA picture with a vivid band under alpha 0: gray's PSNR is the visible part's, as the
    app measures it (counted, the band would put it about 15 dB lower), and the table says so; a picture that shows
    nothing at all is one line naming it, the others still measured."""
    from colorizer.evaluate import gray_baseline
    from colorizer.metrics import image_metrics

    shown = make_photo(36, 24, seed=5) // 4 + 96
    rgba = np.dstack([np.concatenate([np.full((12, 24, 3), [255, 0, 255], np.uint8), shown]),
                      np.concatenate([np.zeros((12, 24), np.uint8), np.full((36, 24), 255, np.uint8)])])
    Image.fromarray(rgba).save(tmp_path / "band.png")
    Image.fromarray(np.dstack([shown, np.zeros((36, 24), np.uint8)])).save(tmp_path / "hidden.png")
    report = tmp_path / "eval.json"
    assert main(["evaluate", str(tmp_path), "--arch", "cifar_ae", "--json", str(report)]) == 1   # one file skipped
    captured = capsys.readouterr()
    assert error_lines(captured.err) == ["error: hidden.png: every pixel is transparent, nothing to measure"]
    assert "1 of them with transparency: measured over their visible pixels only" in captured.out
    gray = json.loads(report.read_text())["gray"]
    assert gray["n_images"] == 1
    assert gray["psnr"] == pytest.approx(image_metrics(shown, gray_baseline(shown))["psnr"], rel=1e-9)


def test_evaluate_folder_without_color_photos(tmp_path, capsys):
    write_png(tmp_path / "gray.png", np.full((8, 8), 128, np.uint8))
    assert main(["evaluate", str(tmp_path), "--arch", "cifar_ae"]) == 1
    assert error_lines(capsys.readouterr().err) == [
        f"error: {tmp_path}: no color photos to evaluate (1 gray one left out, no color to measure against: gray.png)"]


def test_evaluate_names_the_gray_photos_it_leaves_out(installed_tiny_checkpoints, tmp_path, capsys):
    write_png(tmp_path / "color.png", make_photo(24, 24, seed=3))
    for name in ("b_gray.png", "a_gray.png"):
        write_png(tmp_path / name, np.full((24, 24), 90, np.uint8))
    assert main(["evaluate", str(tmp_path), "--arch", "cifar_ae"]) == 0  # a gray photo is not a failure
    out = capsys.readouterr().out
    assert ("1 color photo from " + str(tmp_path) + "; 2 gray ones left out, no color to measure against: "
            "a_gray.png, b_gray.png") in out


@pytest.mark.slow
def test_train_writes_model_history_and_card(photo_dir, tmp_path, capfd):
    out = tmp_path / "weights"
    argv = ["train", "--arch", "cifar_ae", "--data", str(photo_dir), "--out", str(out), "--epochs", "1",
            "--crops-per-photo", "2", "--batch-size", "8"]
    assert main(argv) == 0
    folder = out / "cifar_ae"
    assert sorted(p.name for p in folder.iterdir()) == ["card.json", "history.csv", "model.keras"]
    # Not a terminal (a log file, a pipe): one line an epoch, not Keras's bar redrawn at every step.
    printed = capfd.readouterr().out  # Keras writes past pytest's capsys
    epoch_lines = [line for line in printed.splitlines() if " - loss: " in line]
    assert len(epoch_lines) == 1 and "val_loss: " in epoch_lines[0], printed[-400:]
    assert "\r" not in printed and "━" not in printed, printed[-400:]

    with open(folder / "history.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert {"epoch", "loss", "val_loss", "learning_rate"} <= set(rows[0]) and len(rows) == 1
    assert np.isfinite(float(rows[0]["loss"])) and np.isfinite(float(rows[0]["val_loss"]))

    card = json.loads((folder / "card.json").read_text())
    assert {"name", "architecture", "description", "color_space", "working_size", "parameters", "data", "training",
            "command", "created", "versions", "evaluation"} <= set(card)
    assert card["name"] == card["architecture"] == "cifar_ae" and card["working_size"] == 32
    assert {"total", "trainable", "encoder", "decoder", "stored_in_checkpoint"} <= set(card["parameters"])
    assert card["parameters"]["total"] == card["parameters"]["encoder"] + card["parameters"]["decoder"]
    assert card["data"]["train_photos"] == 4 and card["data"]["val_photos"] == 2
    assert card["data"]["sources"] == [{"package": "synthetic-test-photos", "license": "CC0-1.0", "photos": 6}]
    assert card["data"]["sources_by_split"] == {  # only train/ is learned from: the card counts it apart
        "train": [{"package": "synthetic-test-photos", "license": "CC0-1.0", "photos": 4}],
        "val": [{"package": "synthetic-test-photos", "license": "CC0-1.0", "photos": 2}]}
    assert {"epochs", "best_epoch", "best_val_loss", "batch_size", "learning_rate", "wall_time_s", "device"} <= set(card["training"])
    assert card["training"]["epochs"] == 1 and card["training"]["best_epoch"] == 1
    assert card["command"] == "python -m colorizer " + " ".join(argv)
    assert {"gray", "cifar_ae", "truth"} <= set(card["evaluation"])
    assert {"psnr", "ssim", "l2_ab", "colorfulness", "colorfulness_ratio"} <= set(card["evaluation"]["gray"])

    model = checkpoints.load_keras_model(folder)  # loads back under safe_mode
    assert model.name == "cifar_ae"


@pytest.mark.slow
def test_train_takes_extra_photos_for_training_and_says_so_on_the_card(photo_dir, tmp_path, capsys):
    extra, everyday = tmp_path / "aerial", tmp_path / "everyday"
    for folder, count, package, license in ((extra, 3, "flightgear-data-base", "GPL-2+"),
                                            (everyday, 2, "labelme-examples", "GPL-3+")):
        folder.mkdir()
        for i in range(count):
            write_png(folder / f"town{i}.png", make_photo(40, 40, seed=20 + i))
        with open(folder / "manifest.csv", "w", newline="") as f:
            f.write("path,split,package,license\n" + "".join(f"town{i}.png,train,{package},{license}\n" for i in range(count)))
    out = tmp_path / "weights"
    assert main(["train", "--arch", "cifar_ae", "--data", str(photo_dir), "--out", str(out), "--epochs", "1",
                 "--crops-per-photo", "2", "--batch-size", "8", "--extra-photos", str(extra), str(everyday)]) == 0
    card = json.loads((out / "cifar_ae" / "card.json").read_text())
    assert card["data"]["train_photos"] == 4 + 3 + 2 and card["data"]["val_photos"] == 2
    assert card["data"]["train_crops"] == (4 + 3 + 2) * 2
    # The command that repeats the card's evaluation scores this run's weights (session 35: "--arch cifar_ae" scored
    # the shipped ones).
    assert card["evaluation_command"] == f"python -m colorizer evaluate {photo_dir} --checkpoint {out / 'cifar_ae'}"
    assert card["data"]["extra_photos"] == {"folders": [str(extra), str(everyday)], "sources": [
        {"package": "flightgear-data-base", "license": "GPL-2+", "photos": 3},
        {"package": "labelme-examples", "license": "GPL-3+", "photos": 2}]}
    # Both packages are kept for independent evaluation: the run says it cannot ship, naming them.
    assert "not shippable: cifar_ae: trained on flightgear-data-base, labelme-examples" in capsys.readouterr().out


@pytest.mark.slow
def test_train_adds_neutral_backdrops_and_says_so_on_the_card(photo_dir, tmp_path):
    """--backdrops: 10 % more crops, stamps on synthetic neutral ground; the card says so, and names no package (a
    synthetic ground is no source: it does not stop a checkpoint from shipping)."""
    from PIL import Image

    from colorizer import data

    stamps = tmp_path / "stamps"
    stamps.mkdir()
    stamp = np.zeros((12, 12, 4), np.uint8)
    stamp[2:10, 2:10] = (200, 30, 40, 255)
    Image.fromarray(stamp).save(stamps / "red.png")
    out = tmp_path / "weights"
    assert main(["train", "--arch", "cifar_ae", "--data", str(photo_dir), "--out", str(out), "--epochs", "1",
                 "--crops-per-photo", "5", "--batch-size", "8", "--stamps", str(stamps), "--backdrops"]) == 0
    card = json.loads((out / "cifar_ae" / "card.json").read_text())
    assert card["data"]["train_crops"] == 4 * 5 + 2
    assert card["data"]["backdrops"]["scenes_share_of_crops"] == data.SURFACE_SHARE
    assert card["command"].endswith("--backdrops") and "backdrops" not in (data.shipping_problem(card) or "")


def test_backdrops_without_stamps_is_a_usage_error(photo_dir, tmp_path, capsys):
    # Session 39: without stamps its "scenes" were blank gray crops, added to training without a word.
    assert main(["train", "--arch", "cifar_ae", "--data", str(photo_dir), "--out", str(tmp_path / "o"),
                 "--backdrops"]) == 2
    assert capsys.readouterr().err.strip() == (
        "error: --backdrops: pastes the --stamps on plain neutral ground; pass --stamps DIR too")


@pytest.mark.slow
def test_train_snapshots_average_to_the_mean_of_the_epochs(photo_dir, tmp_path):
    # --snapshots writes every epoch's weights; scripts/average_snapshots.py turns the chosen epochs into a
    # checkpoint whose weights are their mean (and one epoch alone gives that epoch back exactly).
    average = load_script("average_snapshots")

    out, snapshots = tmp_path / "run", tmp_path / "snapshots"
    assert main(["train", "--arch", "cifar_ae", "--data", str(photo_dir), "--out", str(out), "--epochs", "2",
                 "--crops-per-photo", "2", "--batch-size", "8", "--lr", "0.01", "--snapshots", str(snapshots)]) == 0
    assert sorted(p.name for p in snapshots.iterdir()) == ["epoch_01.weights.h5", "epoch_02.weights.h5"]

    def weights_of(path):
        model = checkpoints.load_keras_model(out / "cifar_ae")
        model.load_weights(str(path))
        return model.get_weights()

    first, second = weights_of(snapshots / "epoch_01.weights.h5"), weights_of(snapshots / "epoch_02.weights.h5")
    assert not all(np.allclose(a, b) for a, b in zip(first, second))  # training moved them

    assert average.main([str(out / "cifar_ae"), str(snapshots), "--epochs", "1-2", "--out", str(tmp_path / "avg")]) == 0
    mean = checkpoints.load_keras_model(tmp_path / "avg" / "cifar_ae").get_weights()
    for m, a, b in zip(mean, first, second):
        np.testing.assert_allclose(m, (a.astype(np.float64) + b) / 2, rtol=1e-6, atol=1e-7)
    card = json.loads((tmp_path / "avg" / "cifar_ae" / "card.json").read_text())
    assert card["training"]["averaged_epochs"] == [1, 2] and "evaluation" not in card
    assert card["command"].endswith(f"; python scripts/average_snapshots.py {out / 'cifar_ae'} {snapshots} --epochs 1-2 "
                                    f"--out {tmp_path / 'avg'}")

    assert average.main([str(out / "cifar_ae"), str(snapshots), "--epochs", "2", "--out", str(tmp_path / "one")]) == 0
    alone = checkpoints.load_keras_model(tmp_path / "one" / "cifar_ae").get_weights()
    assert all(np.array_equal(a, b) for a, b in zip(alone, second))
    assert average.main([str(out / "cifar_ae"), str(snapshots), "--epochs", "3", "--out", str(tmp_path / "x")]) == 1


def test_train_starts_from_the_seeds_weights(photo_dir, tmp_path, monkeypatch):
    """The seed fixes the network's initial weights too, not only the crops and batches: two runs of
    one command start from the same network, and another seed from another one. A fit that fails leaves
    no scratch folder behind (its history.csv was left in the temporary folder before session 24)."""
    import tempfile

    from colorizer import train

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    class Started(Exception):
        pass

    def first_weights(trainable, *args, **kwargs):
        raise Started(trainable.get_weights())

    monkeypatch.setattr(train, "fit", first_weights)

    def initial(seed):
        with pytest.raises(Started) as started:
            train.train_architecture("cifar_ae", photo_dir, tmp_path / "o", epochs=1, crops_per_photo=1,
                                     seed=seed, log=lambda line: None)
        return started.value.args[0]

    first, again, other = initial(3), initial(3), initial(4)
    assert all(np.array_equal(a, b) for a, b in zip(first, again))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other))
    assert not list(scratch.glob("train-cifar_ae-*"))


def test_a_misspelt_train_layer_fails_before_any_crop_is_made(photo_dir, tmp_path, capsys, monkeypatch):
    # Session 39: the name was checked after the crops (minutes on real data), and the error named no option.
    from colorizer import train

    def no_crops(*args, **kwargs):
        raise AssertionError("the crops were made before the layer names were checked")

    monkeypatch.setattr(train, "_training_sets", no_crops)
    assert main(["train", "--arch", "cifar_ae", "--data", str(photo_dir), "--out", str(tmp_path / "o"),
                 "--epochs", "1", "--train-layers", "latent,nope"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: --train-layers: no decoder layer named nope (known: ") and "\n" not in err


@pytest.mark.parametrize("layout", ["train/a.png", "a.png"])
def test_train_without_val_split_is_one_line(layout, tmp_path, capsys):
    # A flat folder must not silently validate on its own training photos. A usage error, said before any photo is
    # read (session 37's CLI audit: each bad file's line came twice, then this, exit 1).
    data_dir = tmp_path / "photos"
    write_png(data_dir / layout, make_photo(32, 32))
    (data_dir / "broken.png").write_bytes(b"nope")
    assert main(["train", "--arch", "cifar_ae", "--data", str(data_dir), "--out", str(tmp_path / "o"), "--epochs", "1"]) == 2
    lines = error_lines(capsys.readouterr().err)
    assert lines == [f"error: {data_dir}: no validation photos (expected a val/ folder beside train/; "
                     "scripts/fetch_photos.py makes both)"]
    assert not (tmp_path / "o").exists()
    # The other folders train reads, before TensorFlow: a missing --surfaces had said "no stamps (*.png)".
    (data_dir / "val").mkdir()
    for option in ("--stamps", "--surfaces", "--extra-photos"):
        assert main(["train", "--arch", "cifar_ae", "--data", str(data_dir), option, str(tmp_path / "nothere")]) == 2
        assert [line for line in error_lines(capsys.readouterr().err) if "nothere" in line], option


def test_unknown_architecture_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["train", "--arch", "resnet", "--data", "x"])
    assert caught.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_class_rebalancing_is_refused_where_there_is_none(photo_dir, tmp_path, capsys):
    """--class-rebalancing sets the flagship's loss; an architecture without that power says so in one line, at once,
    as a usage error (it was exit 1, found inside the training: session 37's CLI audit)."""
    out = tmp_path / "o"
    assert main(["train", "--arch", "cifar_ae", "--data", str(photo_dir), "--out", str(out), "--epochs", "1",
                 "--class-rebalancing", "0.5"]) == 2
    assert error_lines(capsys.readouterr().err) == [
        "error: --class-rebalancing: cifar_ae has no class-rebalancing power to set (hypercolumn has)"]
    assert not out.exists()


@pytest.mark.slow
def test_class_rebalancing_reaches_the_flagships_loss_and_card(photo_dir, tmp_path, monkeypatch):
    """Run Z75B (half the shipped soup) trained the bins' rebalancing at the power 0.75: the option must reach the
    loss (its weights are the default's to that power) and the card, so the command replays the run."""
    from colorizer.models import hypercolumn

    weights = []
    shipped = hypercolumn.loss_and_metrics

    def spy(prior=None, **kwargs):
        losses, metrics, loss_weights = shipped(prior, **kwargs)
        weights.append(np.array(losses["probs"].weights))
        return losses, metrics, loss_weights

    monkeypatch.setattr(hypercolumn, "loss_and_metrics", spy)
    cards = []
    for extra in ([], ["--class-rebalancing", "0.5"]):
        out = tmp_path / f"o{len(cards)}"
        assert main(["train", "--arch", "hypercolumn", "--data", str(photo_dir), "--out", str(out), "--size", "32",
                     "--epochs", "1", "--crops-per-photo", "1", "--batch-size", "4", *extra]) == 0
        cards.append(json.loads((out / "hypercolumn" / "card.json").read_text()))
    assert [c["training"]["class_rebalancing"] for c in cards] == [hypercolumn.CLASSIFICATION_REBALANCING, 0.5]
    assert cards[1]["command"].endswith("--class-rebalancing 0.5")
    default, half = weights
    assert not np.allclose(default, 1.0)  # the prior makes them differ, else the test shows nothing
    np.testing.assert_allclose(half, default ** 0.5, rtol=1e-5)


# -- the command-line audit: bad input is one line naming the file or option, nothing is silently destroyed --

def test_colorize_into_the_inputs_own_folder_keeps_the_photo(tiny_checkpoints, tiny_colorizers, tmp_path, capsys):
    """``colorize DIR/x.png -o DIR`` wrote x.png over the photo itself: an input in OUTDIR is a taken name."""
    photo = make_photo(30, 40, seed=4)
    source = write_png(tmp_path / "photo.png", photo)
    before = source.read_bytes()
    assert main(["colorize", str(source), "-o", str(tmp_path), "--checkpoint", str(tiny_checkpoints["vgg16_ae"])]) == 0
    captured = capsys.readouterr()
    assert source.read_bytes() == before
    assert captured.err.splitlines() == [f"note: {source} is written as photo_2.png (photo.png is an input)"]
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / "photo_2.png")),
                                  tiny_colorizers["vgg16_ae"].colorize(photo))


@pytest.mark.slow
def test_train_without_out_never_replaces_a_shipped_checkpoint(photo_dir, no_shipped_weights, tmp_path, capsys):
    """README's own ``train --arch hypercolumn --data data/photos`` replaced the shipped flagship; --out weights
    still replaces it on purpose (how maintainers make shipped weights). A folder without a model is no shipped
    checkpoint: the app's "train it" hints name a missing one, and that command trains."""
    shipped = no_shipped_weights / "cifar_ae"
    shipped.mkdir()
    argv = ["train", "--arch", "cifar_ae", "--data", str(photo_dir), "--epochs", "1", "--crops-per-photo", "1"]
    assert main(argv) == 0  # an empty folder: nothing shipped to replace
    capsys.readouterr()
    trained = (shipped / "model.keras").read_bytes()
    assert main(argv) == 2
    assert error_lines(capsys.readouterr().err) == [
        f"error: {shipped}: train without --out would replace this shipped checkpoint; pass --out "
        f"{no_shipped_weights} to replace it on purpose, or --out DIR for another folder"]
    assert (shipped / "model.keras").read_bytes() == trained
    assert main([*argv, "--out", str(no_shipped_weights), "--seed", "1"]) == 0
    assert (shipped / "model.keras").read_bytes() != trained
    assert checkpoints.read_card(shipped)["name"] == "cifar_ae" and (shipped / "model.keras").stat().st_size > 1000


@pytest.mark.parametrize("option,value", [("--epochs", "0"), ("--epochs", "-1"), ("--lr", "-1"), ("--lr", "nan"),
                                          ("--size", "0"), ("--size", "-5"), ("--batch-size", "0"),
                                          ("--batch-size", "-4"), ("--crops-per-photo", "0"), ("--seed", "-1")])
def test_train_options_out_of_range_are_usage_errors_naming_the_option(option, value, photo_dir, tmp_path, capsys):
    with pytest.raises(SystemExit) as caught:
        main(["train", "--arch", "cifar_ae", "--data", str(photo_dir), "--out", str(tmp_path / "o"), "--epochs", "1",
              "--crops-per-photo", "1", option, value])
    err = capsys.readouterr().err
    assert caught.value.code == 2 and f"error: argument {option}: expected " in err and repr(value) in err, err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("option,value", [("--sizes", "100000"), ("--sizes", "1,0"), ("--sizes", "abc"),
                                          ("--runs", "0"), ("--alternate", "0"), ("--sessions", "-1"),
                                          ("--finetune-epochs", "0")])
def test_bench_options_out_of_range_are_usage_errors_naming_the_option(option, value, capsys):
    """Finding (session 33's audit): ``bench --sizes 100000`` asked for a 400 GB synthetic photo and ended in
    OpenCV's traceback; ``--runs 0`` exited 1, not as the usage error an option out of range is elsewhere."""
    with pytest.raises(SystemExit) as caught:
        main(["bench", "--quick", option, value])
    err = capsys.readouterr().err
    assert caught.value.code == 2 and f"error: argument {option}: expected " in err and repr(value) in err, err


@pytest.mark.parametrize("argv,line", [
    (["--sessions", "5"], "--sessions (for --server): not read by the speed benchmark; leave it out"),
    (["--server", "--sizes", "4", "--runs", "3"],
     "--sizes (for the speed benchmark), --runs (for the speed benchmark): not read by --server; leave it out"),
    (["--alternate", "3", "--quick"], "--quick (for the speed benchmark): not read by --alternate; leave it out"),
    (["--alternate", "3", "--finetune-epochs", "4"],
     "--finetune-epochs (for --server): not read by --alternate; leave it out"),
    (["--server", "--alternate", "2"], "--server, --alternate: each is a benchmark of its own; give one"),
])
def test_bench_options_of_another_benchmark_are_refused_by_name_before_tensorflow_loads(argv, line, capsys, monkeypatch):
    """``bench --sessions 5`` measured speed and ``--server --sizes 4`` the server, each ignoring the other's option
    without a word (session 33's note): now one line naming the option and whose it is, before anything loads."""
    from colorizer import cli

    monkeypatch.setattr(cli, "import_tensorflow_quietly", lambda: pytest.fail("TensorFlow loaded for a usage error"))
    assert main(["bench", *argv]) == 2
    assert capsys.readouterr().err.strip() == f"error: {line}"


def test_bench_options_of_its_own_benchmark_pass_the_check():
    from colorizer.cli import _unused_bench_options, build_parser

    for argv in (["--sizes", "1", "--runs", "5", "--quick"], ["--server", "--sessions", "5", "--finetune-epochs", "1"],
                 ["--alternate", "9", "--json", "x.json"], ["--server", "--sizes", "0.25, 1,4.0,12"], []):
        assert _unused_bench_options(build_parser().parse_args(["bench", *argv])) is None, argv


@pytest.mark.parametrize("arch,size,multiple", [("cifar_ae", 12, 8), ("vae", 3, 8), ("hypercolumn", 24, 16)])
def test_train_size_the_encoder_cannot_take_is_refused_at_once(arch, size, multiple, photo_dir, tmp_path, capsys):
    """The smallest sizes that build and train: multiples of 8 (three halvings), 16 for VGG16's block 5."""
    assert main(["train", "--arch", arch, "--data", str(photo_dir), "--out", str(tmp_path / "o"), "--size", str(size)]) == 2
    assert error_lines(capsys.readouterr().err) == [
        f"error: --size: {arch} takes multiples of {multiple} (its encoder works down to 1/{multiple} of the size), got {size}"]
    assert not (tmp_path / "o").exists()


def test_train_architecture_refuses_a_size_the_encoder_cannot_take(photo_dir, tmp_path):
    """A Python caller with --size's rule broken got a Keras shape error deep inside the first epoch."""
    from colorizer.train import train_architecture

    with pytest.raises(ValueError) as caught:
        train_architecture("hypercolumn", photo_dir, tmp_path / "o", epochs=1, size=24, log=lambda line: None)
    assert str(caught.value) == "--size: hypercolumn takes multiples of 16 (its encoder works down to 1/16 of the size), got 24"
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("argv,option", [(["--temperature", "nan"], "--temperature"), (["--temperature", "1e9"], "--temperature"),
                                         (["--temperature", "-1"], "--temperature"), (["--temperature", "0"], "--temperature"),
                                         (["--seed", "-3"], "--seed"), (["--seed", "1.5"], "--seed")])
def test_colorize_decoding_options_are_checked_as_they_are_parsed(argv, option, installed_tiny_checkpoints, tmp_path, capsys):
    """--temperature nan colorized gray (exit 0), -1 failed after loading the model without naming the option."""
    photo = write_png(tmp_path / "photo.png", make_photo(16, 16))
    with pytest.raises(SystemExit) as caught:
        main(["colorize", str(photo), "-o", str(tmp_path / "out"), "--arch", "unet313", *argv])
    assert caught.value.code == 2 and f"error: argument {option}: expected " in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
    with pytest.raises(SystemExit):
        main(["evaluate", "gallery", "--arch", "unet313", "--temperature", "2"])
    assert "argument --temperature: expected a number in [0.01, 1], got '2'" in capsys.readouterr().err


def test_outputs_that_cannot_be_written_are_refused_before_any_work(photo_dir, tmp_path, capsys, monkeypatch):
    """colorize, train and evaluate failed after the work (a hidden temporary named, no summary): now at once, exit 2."""
    from colorizer import inference

    monkeypatch.setattr(inference, "load", lambda *a, **k: pytest.fail("loaded a model for an unwritable output"))
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    photo = write_png(tmp_path / "photo.png", make_photo(16, 16))
    runs = {"colorize": (["colorize", str(photo), "-o", str(blocker / "out")], blocker / "out"),
            "train": (["train", "--arch", "cifar_ae", "--data", str(photo_dir), "--out", str(blocker / "runs")], blocker / "runs"),
            "evaluate": (["evaluate", str(photo_dir), "--json", str(tmp_path)], tmp_path),
            "train into OUT/NAME": (["train", "--arch", "cifar_ae", "--data", str(photo_dir), "--out", str(tmp_path)],
                                    tmp_path / "cifar_ae")}
    (tmp_path / "cifar_ae").write_text("a file where the checkpoint's folder goes")
    for name, (argv, shown) in runs.items():
        assert main(argv) == 2, name
        captured = capsys.readouterr()
        reason = {"evaluate": "is a folder, not a file", "train into OUT/NAME": "is a file, not a folder"}.get(
            name, f"{blocker} is a file, not a folder")
        assert error_lines(captured.err) == [f"error: {shown}: {reason}"] and not captured.out, name


def test_evaluate_json_goes_into_a_folder_not_made_yet(photo_dir, installed_tiny_checkpoints, tmp_path, capsys):
    """The check before the work passes for a folder to be made, so the writer must make it: the JSON was
    lost after the whole evaluation ("No such file or directory", exit 1)."""
    target = tmp_path / "not" / "yet" / "eval.json"
    assert main(["evaluate", str(photo_dir), "--arch", "cifar_ae", "--json", str(target)]) == 0
    rows = json.loads(target.read_text())
    assert set(rows) == {"gray", "baseline: training palette", "cifar_ae", "truth"}
    assert rows["cifar_ae"]["n_images"] == 2 and 0 < rows["cifar_ae"]["psnr"] < 99


def test_a_result_that_cannot_be_written_names_the_file_and_the_batch_goes_on(tiny_checkpoints, tmp_path, capsys):
    """A write that fails midway named a hidden temporary (".x.png.q9e5qzb5.tmp") and stopped the batch."""
    first, second = (write_png(tmp_path / f"{n}.png", make_photo(16, 16, seed=i)) for i, n in enumerate(("first", "second")))
    out = tmp_path / "out"
    (out / "first.png").mkdir(parents=True)  # where first's result would go: a folder
    assert main(["colorize", str(first), str(second), "-o", str(out), "--checkpoint", str(tiny_checkpoints["cifar_ae"])]) == 1
    captured = capsys.readouterr()
    assert error_lines(captured.err) == [f"error: {out / 'first.png'}: Is a directory"]
    assert captured.out.splitlines()[-1] == f"1 of 2 colorized into {out}"
    assert sorted(p.name for p in out.iterdir()) == ["first.png", "second.png"] and (out / "second.png").is_file()


@pytest.mark.slow
def test_unreadable_photos_make_evaluate_and_train_exit_1_after_their_work(photo_dir, installed_tiny_checkpoints,
                                                                         tmp_path, capsys):
    """Both exited 0 with a photo left out, and train printed its error line on stdout."""
    import shutil

    data = tmp_path / "photos"
    shutil.copytree(photo_dir, data)
    (data / "val" / "val_1.png").unlink()  # one color photo left to evaluate: "1 color photo"
    for split in ("train", "val"):
        (data / split / "broken.png").write_text("not a photo")
    assert main(["evaluate", str(data), "--arch", "cifar_ae"]) == 1
    captured = capsys.readouterr()
    assert error_lines(captured.err) == [f"error: {data / 'val' / 'broken.png'}: not an image (looks like a text file)"]
    assert f"1 color photo from {data}\n" in captured.out and "| cifar_ae" in captured.out  # the table, then the status
    out = tmp_path / "o"
    assert main(["train", "--arch", "cifar_ae", "--data", str(data), "--out", str(out), "--epochs", "1",
                 "--crops-per-photo", "1"]) == 1
    captured = capsys.readouterr()
    assert error_lines(captured.err) == [f"error: {data / split / 'broken.png'}: not an image (looks like a text file)"
                                         for split in ("train", "val")]
    assert "error:" not in captured.out and ", 1 epoch\n" in captured.out
    assert checkpoints.read_card(out / "cifar_ae")["data"]["train_photos"] == 4  # trained without it


def test_a_file_where_a_folder_is_expected_says_so(tmp_path, capsys, monkeypatch):
    """evaluate FILE, train --data FILE and finetune --data FILE exited 1, as if a photo had failed: a usage error
    exits 2, before any model loads or any output is made."""
    from colorizer import inference

    photo = write_png(tmp_path / "photo.png", make_photo(8, 8))
    monkeypatch.setattr(inference, "load", lambda *a, **k: pytest.fail("loaded a model for a file given as a folder"))
    out = tmp_path / "o"
    for argv, given in ((["evaluate", str(photo)], photo), (["evaluate", str(photo), "--references"], photo),
                        (["evaluate", str(tmp_path / "missing")], tmp_path / "missing"),
                        (["train", "--arch", "cifar_ae", "--data", str(photo), "--out", str(out)], photo),
                        (["finetune", "--base", "cifar_ae", "--data", str(photo), "--epochs", "1", "--out", str(out)], photo)):
        assert main(argv) == 2, argv
        reason = "no such folder" if given.name == "missing" else "is a file, not a folder"
        assert error_lines(capsys.readouterr().err) == [f"error: {given}: {reason}"], argv
    assert not out.exists()


def test_same_named_broken_inputs_are_told_apart(tiny_checkpoints, tmp_path, capsys):
    """a/x.jpg and b/x.jpg gave "error: x.jpg: not an image" twice."""
    inputs = [tmp_path / "a" / "x.jpg", tmp_path / "b" / "x.jpg"]
    for path in inputs:
        path.parent.mkdir()
        path.write_text("not a photo")
    assert main(["colorize", *map(str, inputs), "-o", str(tmp_path / "out"), "--checkpoint", str(tiny_checkpoints["cifar_ae"])]) == 1
    assert error_lines(capsys.readouterr().err) == [f"error: {path}: not an image (looks like a text file)" for path in inputs]


@pytest.mark.slow
def test_tensorflow_start_up_chatter_stays_off_stderr(tiny_checkpoints, tmp_path):
    """``python -m colorizer`` sets TF_CPP_MIN_LOG_LEVEL=3 unless the user set it: "failed call to cuInit" and the
    CPU-instructions notice reached stderr, which holds only failed-file lines; and at 3 the lines TensorFlow's
    libraries print as they load, before they read the level (oneDNN, "Could not find cuda drivers"), are kept off
    too (session 25): a clean run's stderr is empty."""
    import os

    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    photo = write_png(tmp_path / "photo.png", make_photo(16, 16))
    result = subprocess.run([sys.executable, "-m", "colorizer", "colorize", str(photo), "-o", str(tmp_path / "out"),
                             "--checkpoint", str(tiny_checkpoints["cifar_ae"])], cwd=REPO_ROOT, env=env,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    show = ("import os, runpy, sys\nsys.argv = ['colorizer', 'archs']\ntry:\n    runpy.run_module('colorizer', run_name='__main__')\n"
            "except SystemExit:\n    print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'))")
    for given, kept in ((None, "3"), ("1", "1")):
        run_env = env if given is None else {**env, "TF_CPP_MIN_LOG_LEVEL": given}
        shown = subprocess.run([sys.executable, "-c", show], cwd=REPO_ROOT, env=run_env, capture_output=True, text=True, timeout=60)
        assert shown.stdout.splitlines()[-1] == kept, shown.stderr


def test_only_tensorflows_loading_chatter_is_kept_off_stderr(tmp_path):
    """Session 25's review: stderr was shut for the whole import, so anything else TensorFlow's libraries printed
    while loading was lost too. A stand-in ``tensorflow`` that prints the chatter and a line of its own, at level 3:
    only its own line reaches stderr. (At another level nothing is imported early: TensorFlow prints as it will.)"""
    import os

    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import os\n"
        "os.write(2, b'WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\\n')\n"
        "os.write(2, b'I0000 port.cc:153] oneDNN custom operations are on. You may see ...\\n')\n"
        "os.write(2, b'I0000 cudart_stub.cc:31] Could not find cuda drivers on your machine\\n')\n"
        "os.write(2, b'[libprotobuf WARNING] something the user should see\\n')\n")
    # Its Python logger's warnings too (session 33's audit: "5 out of the last 12 calls ... triggered tf.function
    # retracing" on an evaluate's stderr); its errors still show.
    script = ("from colorizer.quiet_tensorflow import import_tensorflow_quietly\nimport_tensorflow_quietly()\n"
              "import logging\nlogging.getLogger('tensorflow').warning('5 out of the last 12 calls triggered retracing')\n"
              "logging.getLogger('tensorflow').error('a real problem')\nprint('imported')")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO_ROOT)])}
    result = subprocess.run([sys.executable, "-c", script], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "imported", result.stderr
    assert result.stderr.splitlines() == ["[libprotobuf WARNING] something the user should see", "a real problem"]


@pytest.mark.slow
def test_a_script_keeps_tensorflows_loading_chatter_off_stderr():
    """``scripts/*.py`` that use TensorFlow print nothing of its loading on stderr (they printed six lines before
    their own output), as ``python -m colorizer`` does; a user's own level is kept (0: the lines come back)."""
    import os

    env = {key: value for key, value in os.environ.items() if key != "TF_CPP_MIN_LOG_LEVEL"}
    quiet = subprocess.run([sys.executable, "scripts/tune_decoding.py", "--help"], cwd=REPO_ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and "--checkpoint" in quiet.stdout
    assert quiet.stderr == ""
    loud = subprocess.run([sys.executable, "scripts/tune_decoding.py", "--help"], cwd=REPO_ROOT,
                          env={**env, "TF_CPP_MIN_LOG_LEVEL": "0"}, capture_output=True, text=True, timeout=120)
    assert loud.returncode == 0 and loud.stderr != ""


@pytest.mark.parametrize("argv,option,value", [
    (["train", "--arch", "cifar_ae", "--data", "d", "--lr"], "--lr", "1"),            # the open top of (0, 1)
    (["train", "--arch", "cifar_ae", "--data", "d", "--lr"], "--lr", "0"),            # the open bottom
    (["train", "--arch", "cifar_ae", "--data", "d", "--seed"], "--seed", str(2**32)),  # one past numpy's seeds
    (["finetune", "--base", "cifar_ae", "--data", "d", "--epochs", "1", "--out", "o", "--val-share"], "--val-share", "1"),
    (["evaluate", "gallery", "--hints"], "--hints", "0,-1,5"),                       # a negative count
])
def test_options_at_the_edges_of_their_ranges_are_usage_errors(argv, option, value, tmp_path, capsys, monkeypatch):
    """The ends of each range as documented: --lr in (0, 1), --seed up to 2**32 − 1, --val-share in [0, 1),
    --hints counts ≥ 0; each refused by argparse (exit 2, the option named) before anything is read or loaded."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main([*argv, value])
    err = capsys.readouterr().err
    assert caught.value.code == 2 and f"error: argument {option}: expected " in err and repr(value) in err, err


def test_the_largest_seed_and_edge_values_inside_the_ranges_are_taken():
    from colorizer.cli import build_parser

    args = build_parser().parse_args(["train", "--arch", "cifar_ae", "--data", "d", "--seed", str(2**32 - 1), "--lr", "0.999"])
    assert (args.seed, args.lr) == (2**32 - 1, 0.999)
    args = build_parser().parse_args(["finetune", "--base", "b", "--data", "d", "--epochs", "1", "--out", "o", "--val-share", "0"])
    assert args.val_share == 0.0
    assert build_parser().parse_args(["evaluate", "gallery", "--hints", "0,1,5"]).hints == [0, 1, 5]


def test_ctrl_c_exits_130_and_a_failure_names_its_file_not_an_errno(capsys, monkeypatch):
    """What ``main`` makes of an exception from a command: KeyboardInterrupt → "error: interrupted", exit 130; an
    OSError → "error: <file>: <reason>", exit 1 (never "[Errno 13] …")."""
    from colorizer import cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "cmd_archs", interrupted)
    assert main(["archs"]) == 130
    assert error_lines(capsys.readouterr().err) == ["error: interrupted"]

    def denied(args):
        raise PermissionError(13, "Permission denied", "/srv/photos/x.png")

    monkeypatch.setattr(cli, "cmd_archs", denied)
    assert main(["archs"]) == 1
    assert error_lines(capsys.readouterr().err) == ["error: /srv/photos/x.png: Permission denied"]


def test_sigterm_ends_a_command_as_ctrl_c_does_and_its_cleanup_runs(capsys, monkeypatch):
    """The video audit (session 36): SIGTERM (``timeout``, ``docker stop``) killed ``video`` outright (exit -15) and left
    its hidden partial file; it ends a command as Ctrl-C does, its ``finally`` run, and the handler is put back."""
    import os
    import signal
    import time

    from colorizer import cli

    cleaned = []

    def terminated(args):
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the signal arrives first
        finally:
            cleaned.append(True)

    before = signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr(cli, "cmd_archs", terminated)
    assert main(["archs"]) == 130 and cleaned == [True]
    assert error_lines(capsys.readouterr().err) == ["error: interrupted"]
    assert signal.getsignal(signal.SIGTERM) is before


@pytest.mark.slow
def test_evaluate_references_with_a_broken_reference_exits_1_after_its_table(installed_tiny_checkpoints, tmp_path, capsys):
    """A folder of real pairs where one reference is not an image: that pair is named and left out, the others
    are evaluated and tabled, and the exit status is 1 (as plain evaluate's)."""
    write_png(tmp_path / "good.png", make_photo(32, 32, seed=1))
    write_png(tmp_path / "good.ref.png", make_photo(32, 32, seed=2))
    write_png(tmp_path / "bad.png", make_photo(32, 32, seed=3))
    (tmp_path / "bad.ref.png").write_text("not a photo")
    assert main(["evaluate", str(tmp_path), "--references", "--arch", "cifar_ae"]) == 1
    captured = capsys.readouterr()
    assert error_lines(captured.err) == [f"error: {tmp_path / 'bad.ref.png'}: not an image (looks like a text file)"]
    assert f"1 pairs from {tmp_path}" in captured.out and "| cifar_ae + reference |" in captured.out


@pytest.mark.slow
def test_evaluate_references_measure_and_color_from_what_each_picture_shows(installed_tiny_checkpoints, tmp_path,
                                                                            capsys):
    """A real pair whose photo hides a magenta band under alpha 0 and whose reference hides magenta too: gray's PSNR
    is the shown part's, and the reference's lightness-mean baseline paints the shown green (counted, the hidden
    magenta pulls its mean ab error to about 40); the table says how the pair was taken."""
    from colorizer import color
    from colorizer.evaluate import gray_baseline
    from colorizer.metrics import image_metrics

    green = color.lab_to_rgb(np.array([[[57.0, -40.0, 35.0]]], np.float32))[0, 0]
    magenta = color.lab_to_rgb(np.array([[[57.0, 50.0, -35.0]]], np.float32))[0, 0]
    shown = np.full((48, 64, 3), green, np.uint8)
    photo = np.dstack([np.concatenate([shown, np.full((16, 64, 3), magenta, np.uint8)]),
                       np.concatenate([np.full((48, 64), 255, np.uint8), np.zeros((16, 64), np.uint8)])])
    reference = np.dstack([np.concatenate([np.full((64, 64, 3), magenta, np.uint8),
                                           np.full((64, 64, 3), green, np.uint8)]),
                           np.concatenate([np.zeros((64, 64), np.uint8), np.full((64, 64), 255, np.uint8)])])
    Image.fromarray(photo).save(tmp_path / "cut.png")
    Image.fromarray(reference).save(tmp_path / "cut.ref.png")
    report = tmp_path / "eval.json"
    assert main(["evaluate", str(tmp_path), "--references", "--arch", "cifar_ae", "--json", str(report)]) == 0
    assert "1 of them with transparency: measured over the photo's visible pixels" in capsys.readouterr().out
    table = json.loads(report.read_text())["real pairs (" + tmp_path.name + ")"]
    assert table["gray"]["psnr"] == pytest.approx(image_metrics(shown, gray_baseline(shown))["psnr"], rel=1e-9)
    assert table["baseline: the reference's mean color at each lightness"]["l2_ab"] < 2   # green, counted: 40 off


def test_the_same_file_given_twice_gets_one_result(capsys):
    """``output_names``: a file named twice is one result, not x.png and x_2.png; another file of that stem is x_2."""
    from colorizer.cli import output_names

    assert output_names(["a/x.png", "b/x.jpg", "a/x.png"]) == {"a/x.png": "x.png", "b/x.jpg": "x_2.png"}
    assert capsys.readouterr().err.splitlines() == ["note: b/x.jpg is written as x_2.png (x.png is another input's)"]


def test_a_training_run_stopped_early_says_so_on_its_card_and_in_its_last_line(tmp_path):
    """Session 35's audit: a Ctrl-C or SIGTERM 1 s into epoch 2 of 6 wrote a card with "epochs": 2 and the usual
    last line, nothing saying the run was cut short (a fine-tune's card says "stopped_early")."""
    from types import SimpleNamespace

    from colorizer import train

    history = tmp_path / "history.csv"
    history.write_text("epoch,loss,val_loss\n0,0.05,0.04\n1,0.04,0.036\n")
    arch = SimpleNamespace(FROZEN_ENCODER=False, CLASSIFICATION_REBALANCING=None)
    keep_best = SimpleNamespace(best_epoch=2, best=0.036, stopped=False)
    record = train._training_record(arch, keep_best, history, epochs=6, batch_size=8, lr=1e-3, seed=0, init_from=None,
                                    train_layers=(), wall_time=3.0, device="CPU", distributed={}, class_rebalancing=None)
    assert (record["epochs"], record["epochs_requested"], record["stopped_early"]) == (2, 6, True)
    lines = []
    card = {"training": record, "evaluation": {"cifar_ae": {"psnr": 22.0}, "gray": {"psnr": 21.0}}}
    train._log_outcome("cifar_ae", tmp_path / "cifar_ae", card, 3.0, keep_best, lines.append)
    assert lines[1].endswith("(best val_loss 0.0360 at epoch 2, stopped after 2 of 6 epochs)"), lines
    full = train._training_record(arch, keep_best, history, epochs=2, batch_size=8, lr=1e-3, seed=0, init_from=None,
                                  train_layers=(), wall_time=3.0, device="CPU", distributed={}, class_rebalancing=None)
    assert full["stopped_early"] is False
    keep_best.stopped = True  # a signal in the last epoch: Keras still wrote its row (a review)
    last = train._training_record(arch, keep_best, history, epochs=2, batch_size=8, lr=1e-3, seed=0, init_from=None,
                                  train_layers=(), wall_time=3.0, device="CPU", distributed={}, class_rebalancing=None)
    assert last["stopped_early"] is True


def test_no_command_writes_into_the_shipped_weights_folder(no_shipped_weights, tmp_path, capsys):
    """Session 37's CLI audit: only ``train --out`` and ``finetune --out`` were kept out of weights/; ``colorize -o``,
    ``evaluate --json``, ``video -o`` and ``train --snapshots`` each left a file there. Refused before any work."""
    photo = tmp_path / "photo.png"
    write_png(photo, make_photo(32, 32))
    weights = no_shipped_weights
    for argv in (["colorize", str(photo), "-o", str(weights / "hypercolumn")],
                 ["evaluate", str(tmp_path), "--json", str(weights / "e.json")],
                 ["video", str(photo), "-o", str(weights / "x.mp4")],
                 ["train", "--arch", "cifar_ae", "--data", str(tmp_path), "--out", str(tmp_path / "runs"),
                  "--snapshots", str(weights / "snaps")]):
        assert main(argv) == 2, argv
        assert error_lines(capsys.readouterr().err) == [
            f"error: {argv[-1]}: is inside the shipped weights/ folder, which holds the shipped checkpoints; write "
            "elsewhere"], argv
    assert list(weights.iterdir()) == []


def test_a_misspelt_checkpoint_is_a_usage_error_before_tensorflow(tmp_path, capsys):
    """Session 37's CLI audit: ``colorize --checkpoint`` and ``train --init-from`` with a missing path exited 1 after
    TensorFlow's 5 s, where video, evaluate and finetune exit 2 at once. ``archs --hints`` loaded TensorFlow too."""
    import subprocess
    import sys

    photo = tmp_path / "photo.png"
    write_png(photo, make_photo(32, 32))
    code = ("import sys; from colorizer.cli import main; "
            f"codes = [main(['colorize', {str(photo)!r}, '-o', {str(tmp_path / 'out')!r}, '--checkpoint', 'nothere']), "
            f"main(['train', '--arch', 'cifar_ae', '--data', {str(tmp_path)!r}, '--init-from', 'nothere']), "
            "main(['archs', '--hints'])]; "
            "print(codes, 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert done.stdout.split("\n")[-2] == "[2, 2, 0] False", (done.stdout, done.stderr[-2000:])
    assert [line for line in done.stderr.splitlines() if "nothere" in line and line.startswith("error:")]


def test_an_output_never_replaces_a_file_of_another_kind_and_says_what_it_replaced(installed_tiny_checkpoints,
                                                                                  photo_dir, tmp_path, capsys):
    """Session 38's CLI audit: ``evaluate --json`` wrote its report over a photo it read (or a checkpoint's
    model.keras), ``video -o`` over a PNG, and ``colorize -o DIR`` replaced DIR's photo.png beside photo.jpg without a
    word. A file of another kind is a usage error before any work; a file of the command's own kind is replaced, and
    colorize says which."""
    photo = write_png(tmp_path / "precious.png", make_photo(24, 24, seed=1))
    before = photo.read_bytes()
    for argv in (["evaluate", str(photo_dir), "--arch", "cifar_ae", "--json", str(photo)],
                 ["video", str(photo), "-o", str(photo), "--arch", "cifar_ae"]):
        assert main(argv) == 2
        assert error_lines(capsys.readouterr().err) == [
            f"error: {photo}: exists and is not a {'.json' if argv[0] == 'evaluate' else '.mp4'} file (it would be "
            "replaced); give a new file name"]
        assert photo.read_bytes() == before
    # A rerun of a first run that wrote its own kind under another name is no refusal (session 38's review).
    report = tmp_path / "report"
    assert main(["evaluate", str(photo_dir), "--arch", "cifar_ae", "--json", str(report)]) == 0
    assert main(["evaluate", str(photo_dir), "--arch", "cifar_ae", "--json", str(report)]) == 0
    capsys.readouterr()
    mine = tmp_path / "mine"
    write_png(mine / "photo.png", make_photo(24, 24, seed=2))
    Image.fromarray(make_photo(24, 24, seed=3)).save(mine / "photo.jpg")
    assert main(["colorize", str(mine / "photo.jpg"), "-o", str(mine), "--arch", "cifar_ae"]) == 0
    captured = capsys.readouterr()
    assert f"note: 1 file already in {mine} replaced: photo.png" in captured.err.splitlines()
    assert main(["colorize", str(mine / "photo.jpg"), "-o", str(tmp_path / "fresh"), "--arch", "cifar_ae"]) == 0
    assert "replaced" not in capsys.readouterr().err
    # A refusal after the model loads leaves no OUTDIR behind (it was made before the checks).
    assert main(["colorize", str(mine / "photo.jpg"), "-o", str(tmp_path / "never"), "--arch", "cifar_ae",
                 "--seed", "3"]) == 2
    assert not (tmp_path / "never").exists()


def test_train_refuses_an_out_inside_weights_without_probing_it_and_before_tensorflow(photo_dir, monkeypatch, capsys):
    """Session 38's CLI audit: ``train --out weights/cifar_ae`` was refused, but the write check's probe file went into
    weights/cifar_ae first; and ``train`` without --out on a shipped architecture was refused after TensorFlow's
    seconds, for a file test."""
    from colorizer import checkpoints

    probed = []
    real = checkpoints.check_writable
    monkeypatch.setattr(checkpoints, "check_writable", lambda path, folder=False: (probed.append(Path(path)),
                                                                                   real(path, folder))[1])
    assert main(["train", "--arch", "cifar_ae", "--data", str(photo_dir), "--out",
                 str(checkpoints.WEIGHTS_DIR / "cifar_ae")]) == 2
    assert "is inside the shipped weights/ folder" in capsys.readouterr().err
    assert not [p for p in probed if checkpoints.in_weights(p)]
    code = ("import sys; from colorizer.cli import main; status = main(['train', '--arch', 'hypercolumn', '--data', "
            f"{str(photo_dir)!r}]); print(status, 'tensorflow' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.stdout.split() == ["2", "False"] and "would replace this shipped checkpoint" in done.stderr
