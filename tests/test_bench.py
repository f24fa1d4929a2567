"""benchmarks and benchmarks.yardstick: the benchmark runs and reports every figure; the yardstick
(the ECCV16-shaped reference) has ECCV16's shape; the fast paths it relies on give the same results as the plain ones.

Correctness only: no test asserts a timing (the numbers live in the benchmark's output and README).
"""
from __future__ import annotations

import argparse

import json
import math
from pathlib import Path

import numpy as np
import pytest

import benchmarks as bench
from benchmarks import yardstick as reference
from colorizer import color
from colorizer.cli import build_parser, main

# The released ECCV16 model's trainable parameters, as PyTorch counts them (BatchNorm: scale and shift).
ECCV16_TRAINABLE = 32_236_011


@pytest.fixture(scope="module")
def reference_model():
    return reference.build()


def test_reference_has_eccv16_shape_and_parameter_count(reference_model):
    trainable = sum(int(np.prod(w.shape)) for w in reference_model.trainable_weights)
    assert trainable == ECCV16_TRAINABLE
    assert abs(trainable - reference.PUBLISHED_PARAMETERS) / reference.PUBLISHED_PARAMETERS < 0.01
    assert tuple(reference_model.inputs[0].shape) == (None, 256, 256, 1)
    out = np.asarray(reference_model(np.zeros((1, 256, 256, 1), np.float32), training=False))
    assert out.shape == (1, 64, 64, 2) and np.all(np.isfinite(out))
    dilated = [layer.name for layer in reference_model.layers if getattr(layer, "dilation_rate", (1, 1)) == (2, 2)]
    assert dilated == [f"conv{block}_{i}" for block in (5, 6) for i in (1, 2, 3)]


def test_reference_colorizer_runs_the_demo_recipe():
    ref = reference.yardstick_colorizer(size=64)  # same layers at a smaller working size: a quick test
    image = np.random.default_rng(0).integers(0, 256, (37, 53), dtype=np.uint8)
    out = ref.colorize(image)
    assert out.shape == (37, 53, 3) and out.dtype == np.uint8
    assert ref.predict_ab(ref.network_input(color.luminance(image))).shape == (1, 16, 16, 2)
    # The photo's own L survives the join (uint8 rounding and gamut clipping aside).
    assert np.abs(color.luminance(out) - color.luminance(image)).mean() < 1.0


def test_count_flops_matches_a_hand_count():
    import keras
    from keras import layers

    x = keras.Input((16, 16, 1))
    y = layers.Conv2D(8, 3, padding="same")(x)                                 # 16·16·(3·3·1)·8 MACs
    y = layers.Conv2D(8, 3, strides=2, dilation_rate=1, padding="same")(y)     # 8·8·(3·3·8)·8
    y = layers.Conv2D(8, 3, dilation_rate=2, padding="same")(y)                # 8·8·(3·3·8)·8
    y = layers.Conv2DTranspose(4, 4, strides=2, padding="same")(y)             # 8·8·(4·4·8)·4
    y = layers.Dense(5)(layers.Flatten()(y))                                    # (16·16·4)·5
    macs = 16 * 16 * 9 * 8 + 8 * 8 * 72 * 8 + 8 * 8 * 72 * 8 + 8 * 8 * 128 * 4 + 1024 * 5
    assert bench.count_flops(keras.Model(x, y), 16) == 2 * macs


def test_reference_flops_match_eccv16_layer_list(reference_model):
    convs = [  # (output side at a 256 input, kernel taps, in, out) of eccv16.py's convolutions
        (256, 9, 1, 64), (128, 9, 64, 64), (128, 9, 64, 128), (64, 9, 128, 128),
        (64, 9, 128, 256), (64, 9, 256, 256), (32, 9, 256, 256),
        (32, 9, 256, 512), *[(32, 9, 512, 512)] * 11,
        (64, 4, 512, 256),  # the 4×4 stride-2 transposed conv: 32² inputs × 16 taps = 64² outputs × 4 taps
        (64, 9, 256, 256), (64, 9, 256, 256), (64, 1, 256, 313), (64, 1, 313, 2),
    ]
    macs = sum(side * side * taps * c_in * c_out for side, taps, c_in, c_out in convs)
    assert bench.count_flops(reference_model, 256) == pytest.approx(2 * macs, rel=0.01)


FINETUNE_CALLS = []


def fake_time_epoch(base, photos, cached):
    """Stands in for ``benchmarks.epoch_timing.time_epoch`` (tested in tests/test_finetune.py): records the call."""
    FINETUNE_CALLS.append((base, len(photos), cached))
    return 1.0 if cached else 3.0


@pytest.fixture(scope="module")
def quick_result(tmp_path_factory):
    """One quick run on the smallest architecture and a small reference, every measurement included."""
    from benchmarks import epoch_timing
    from colorizer import checkpoints

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(checkpoints, "WEIGHTS_DIR", tmp_path_factory.mktemp("no_weights"))  # random weights
        patch.setattr(epoch_timing, "time_epoch", fake_time_epoch)
        config = bench.BenchConfig.quick_config(
            sizes_mp=(0.02, 0.05), architectures=("cifar_ae",), reference_size=64,
            cold_start_models=("cifar_ae",), finetune_models=("cifar_ae",), finetune_photos=2, xla=True,
            runs=1, warmup=0,  # one timed call per figure: the fields are checked, not the timings (~8 s less)
            command="python -m colorizer bench --quick")
        yield bench.run_benchmark(config)


def test_bench_calls_finetune_time_epoch_as_it_is_defined():
    import inspect

    from benchmarks import epoch_timing

    assert list(inspect.signature(epoch_timing.time_epoch).parameters)[:3] == ["base", "photos", "cached"]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value >= 0


def test_quick_bench_produces_every_field(quick_result):
    models = quick_result["models"]
    assert list(models) == ["cifar_ae", bench.REFERENCE]
    for name, data in models.items():
        assert set(bench.MODEL_FIELDS) <= set(data), name
        for key in ("parameters", "flops", "forward_ms", "forward_xla_ms", "batch_images_per_s"):
            assert _is_number(data[key]) and data[key] > 0, (name, key)
        assert data["traces"] == 1, "single images and batches must share one traced graph"
        assert list(data["sizes"]) == ["0.02", "0.05"]
        for size in data["sizes"].values():
            assert set(bench.SIZE_FIELDS) <= set(size)
            for key in ("end_to_end_ms", "pre_ms", "network_ms", "post_ms", "predict_ms", "numpy_peak_mb"):
                assert _is_number(size[key]) and size[key] > 0, (name, key)
            assert size["rss_peak_delta_mb"] is None or _is_number(size["rss_peak_delta_mb"])
            assert 0 < size["pre_post_share"] < 1
    cifar, ref = models["cifar_ae"], models[bench.REFERENCE]
    assert cifar["weights"].startswith("random weights") and cifar["working_size"] == 32
    assert ref["parameters"] == reference.build(64).count_params()
    assert ref["ratios"]["parameters"] == 1.0 and ref["ratios"]["sizes"]["0.05"]["end_to_end_ms"] == 1.0
    assert cifar["ratios"]["flops"] == pytest.approx(cifar["flops"] / ref["flops"])
    assert isinstance(cifar["cold_start_s"], dict), cifar["cold_start_s"]
    assert cifar["cold_start_s"]["total_s"] >= cifar["cold_start_s"]["first_colorize_s"] > 0
    assert ref["cold_start_s"] == "not measured (--quick)"
    assert cifar["finetune_epoch_s"] == {"cached": 1.0, "uncached": 3.0}
    assert [(n, cached) for _, n, cached in FINETUNE_CALLS] == [(2, True), (2, False)]
    assert ref["finetune_epoch_s"].startswith("n/a")
    machine = quick_result["machine"]
    for key in ("cpu", "cores", "python", "tensorflow", "keras", "numpy", "opencv"):
        assert machine[key], key
    assert isinstance(machine["bfloat16_fast"], bool)
    assert quick_result["goals"] == {"size_mp": 1.0, "measured": False}
    json.dumps(quick_result)  # JSON-able as it is


def test_markdown_report_has_both_tables_and_the_command(quick_result):
    report = bench.markdown_report(quick_result)
    assert "| model | MP | end-to-end ms |" in report and "| model | weights | working size |" in report
    assert "python -m colorizer bench --quick" in report and quick_result["machine"]["cpu"] in report
    rows = [line for line in report.splitlines() if line.startswith("| cifar_ae |")]
    assert len(rows) == 3  # two sizes and the per-model row
    assert "(1.00×)" in next(line for line in report.splitlines() if line.startswith(f"| {bench.REFERENCE} |"))


def _one_mp_result(ratios: dict) -> dict:
    """A benchmark result at 1 MP with these end-to-end ratios to the reference (its own is 1)."""
    from benchmarks.measure import size_key

    key = size_key(1.0)
    models = {name: {"sizes": {key: {"pre_post_share": 0.1}}, "ratios": {"sizes": {key: {"end_to_end_ms": ratio}}}}
              for name, ratio in {**ratios, bench.REFERENCE: 1.0}.items()}
    return {"models": models}


def test_goals_judge_the_flagship_against_a_fifth_of_the_reference():
    """Issue 23's speed bar: the flagship at most 0.2× the reference at 1 MP, judged apart from the others."""
    from benchmarks.goals import goal_check

    within = goal_check(_one_mp_result({"hypercolumn": 0.19, "cifar_ae": 0.03, "unet313": 0.45}))
    assert within["flagship"] == "hypercolumn" and within["flagship_within_fifth"] is True
    assert within["every_within_half"] and within["fastest"] == "cifar_ae" and within["fastest_within_tenth"]
    over = goal_check(_one_mp_result({"hypercolumn": 0.21, "cifar_ae": 0.03}))
    assert over["flagship_within_fifth"] is False and over["every_within_half"]
    assert goal_check(_one_mp_result({"cifar_ae": 0.03}))["flagship_within_fifth"] is None  # not measured


def test_report_says_whether_the_vgg16_ran_in_bfloat16_and_judges_the_flagship(quick_result):
    from benchmarks.goals import goal_check

    result = {**quick_result, "goals": goal_check(_one_mp_result({"hypercolumn": 0.21, "cifar_ae": 0.03}))}
    for fast, phrase in ((True, "runs in it"), (False, "runs in float32")):
        report = bench.markdown_report({**result, "machine": {**quick_result["machine"], "bfloat16_fast": fast}})
        assert phrase in report
    assert "the flagship ≤ 0.2 — hypercolumn 0.21× ❌" in report


def test_cli_prints_markdown_and_writes_json(quick_result, monkeypatch, tmp_path, capsys):
    seen = {}

    def fake_run(config, progress=None):
        seen["config"] = config
        return quick_result

    monkeypatch.setattr(bench, "run_benchmark", fake_run)
    out = tmp_path / "bench.json"
    assert main(["bench", "--quick", "--json", str(out)]) == 0
    assert "| model | MP | end-to-end ms |" in capsys.readouterr().out
    assert json.loads(out.read_text())["models"].keys() == quick_result["models"].keys()
    assert seen["config"].quick and seen["config"].sizes_mp == (1.0,)
    # The command printed beside the tables is the one main() parsed, not this test runner's sys.argv.
    assert seen["config"].command == f"python -m colorizer bench --quick --json {out}"


def test_cli_arguments_become_a_config():
    parse = build_parser().parse_args
    config = bench.config_from_args(parse(["bench", "--sizes", "0.5,2", "--runs", "3"]))
    assert config.sizes_mp == (0.5, 2.0) and config.runs == 3 and not config.quick
    assert bench.config_from_args(parse(["bench"])).sizes_mp == (0.25, 1.0, 4.0, 12.0)
    # The parser refuses such options as usage errors (tests/test_cli.py); a config made in code is checked too.
    given = parse(["bench"])
    for sizes in ("0,-1", "abc", "nan,1"):  # "could not convert string to float" named no option; NaN passed
        with pytest.raises(ValueError, match="--sizes: expected positive megapixels"):
            bench.config_from_args(argparse.Namespace(**{**vars(given), "sizes": sizes}))
    with pytest.raises(ValueError, match="--runs: expected at least 1"):
        bench.config_from_args(argparse.Namespace(**{**vars(given), "runs": 0}))


def test_synthetic_photo_is_gray_as_the_app_hands_one_to_the_colorizer():
    """A gray file's ``DecodedImage.pixels``: its levels, H×W."""
    import io

    from PIL import Image

    from colorizer.imageio import decode_image

    photo = bench.synthetic_photo(0.01)
    assert photo.dtype == np.uint8 and photo.ndim == 2 and photo.std() > 10
    assert abs(photo.shape[0] * photo.shape[1] - 10_000) < 200
    for mode in ("L", "RGB"):  # saved as a gray file, or as RGB with R = G = B
        buffer = io.BytesIO()
        Image.fromarray(photo).convert(mode).save(buffer, format="PNG")
        np.testing.assert_array_equal(decode_image(buffer.getvalue(), f"{mode}.png").pixels, photo)


# ------------------------------------------------------------ the fast paths equal the plain ones


def test_luminance_fast_paths_equal_the_plain_conversion(monkeypatch):
    monkeypatch.setattr(color, "_STRIP_PIXELS", 64)  # many strips on a small image
    rng = np.random.default_rng(1)
    gray = rng.integers(0, 256, (40, 30), dtype=np.uint8)
    mixed = np.repeat(gray[..., None], 3, axis=-1)
    mixed[25:] = rng.integers(0, 256, (15, 30, 3), dtype=np.uint8)  # gray strips on top, color ones below
    plain = lambda rgb: cv2_lab(rgb)[..., 0]  # noqa: E731
    np.testing.assert_array_equal(color.luminance(gray), plain(np.repeat(gray[..., None], 3, axis=-1)))
    np.testing.assert_array_equal(color.luminance(mixed), plain(mixed))
    assert color.luminance(mixed).flags.c_contiguous


def cv2_lab(rgb):
    import cv2

    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def test_join_lab_equals_the_plain_recipe_within_rounding():
    import cv2

    rng = np.random.default_rng(2)
    L = rng.uniform(0, 100, (45, 61)).astype(np.float32)
    ab = rng.normal(0, 40, (8, 8, 2)).astype(np.float32)
    ab_full = cv2.resize(ab, (61, 45), interpolation=cv2.INTER_LINEAR)
    rgb01 = cv2.cvtColor(np.dstack([L, ab_full]), cv2.COLOR_Lab2RGB)
    plain = np.clip(rgb01 * 255.0 + 0.5, 0, 255).astype(np.uint8)
    fast = color.join_lab(L, ab)
    assert fast.dtype == np.uint8 and fast.shape == (45, 61, 3)
    assert np.abs(fast.astype(int) - plain).max() <= 1  # only ties may round the other way
    assert np.mean(fast != plain) < 1e-3


def test_colorizer_traces_its_network_once(no_shipped_weights):
    colorizer, _ = bench.load_for_bench("cifar_ae")
    image = np.random.default_rng(3).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    colorizer.colorize(image)
    colorizer.colorize(image[:10])
    colorizer.predict_ab(np.zeros((3, 32, 32, 1), np.float64))  # another batch size and dtype
    assert colorizer.forward.traced.experimental_get_tracing_count() == 1


def test_alternating_ratio_is_taken_within_each_round_so_drift_cancels(monkeypatch):
    """``bench --alternate``: the host slows down 3× over the run; each round's ratio is still 0.2, and the
    report judges the flagship's goal from it."""
    from types import SimpleNamespace

    from benchmarks import alternate

    clock = {"now": 0.0, "calls": 0}
    cost = {"hypercolumn": 0.02, bench.REFERENCE: 0.1}

    def loader(name):
        def colorize(photo):
            assert photo.ndim == 2 and photo.size >= 1_000_000 * 0.99
            clock["calls"] += 1
            clock["now"] += cost[name] * (1 + (clock["calls"] - 1) // 2)  # each round slower than the last
        return SimpleNamespace(colorize=colorize), "fake"

    monkeypatch.setattr(alternate.time, "perf_counter", lambda: clock["now"])
    result = alternate.alternating_ratios(7, loader=loader)
    flagship, reference = result["models"]["hypercolumn"], result["models"][bench.REFERENCE]
    assert clock["calls"] == 2 * (7 + alternate.WARMUP)
    assert reference["ratio"] == 1.0 and flagship["ratio"] == pytest.approx(0.2, rel=1e-9)
    assert reference["end_to_end_ms"] == pytest.approx(100 * (1 + 3 + 3), rel=1e-9)  # the middle round's, 7× slower than at first
    machine = {"cpu": "AMD EPYC", "usable_cores": 2, "bfloat16_fast": False, "load_average_start": 0.5}
    report = alternate.alternating_report({**result, "machine": machine}, "python -m colorizer bench --alternate 7")
    assert "| hypercolumn |" in report and "--alternate 7" in report and "runs in float32" in report
    assert ("✅" if flagship["ratio"] <= 0.2 else "❌") in report.splitlines()[-1]
    with pytest.raises(ValueError, match="--alternate"):
        alternate.alternating_ratios(0, loader=loader)


@pytest.mark.slow
def test_class_memory_photos_are_12_mp_color_jpegs_the_same_every_time():
    """benchmarks.class_memory's visitor B uploads phone-sized color JPEGs made from the gallery, byte for byte the
    same in every process (the benchmark's figures depend on what it decodes and scores)."""
    import io

    from PIL import Image

    from benchmarks.class_memory import BIG_SIZE, big_color_jpeg, big_color_jpegs

    first = big_color_jpeg(4)
    big_color_jpeg.cache_clear()
    assert big_color_jpeg(4) == first
    picture = Image.open(io.BytesIO(first))
    assert (picture.format, picture.mode, picture.size) == ("JPEG", "RGB", BIG_SIZE) == ("JPEG", "RGB", (4000, 3000))
    assert 0.6e6 < len(first) < 1.9e6  # a phone's 12 MP JPEG, as session 35 measured with
    chroma = np.asarray(picture.convert("YCbCr").reduce(8), np.float32)[..., 1:] - 128
    assert np.abs(chroma).mean() > 5  # a color photo: the page scores it against its truth
    files = big_color_jpegs(2)
    assert [f["name"] for f in files] == ["big0.jpg", "big1.jpg"] and files[0]["buffer"] != files[1]["buffer"]


def test_the_suites_cpu_is_told_apart_by_kind_of_process():
    from benchmarks.suite_cpu import kind_of

    assert kind_of("python", "/usr/bin/python -m pytest -q") == "pytest"
    assert kind_of("python", "/usr/bin/python -u -c import sys;exec(eval(sys.stdin.readline())) ") == "pytest"  # xdist
    assert kind_of("python", "/usr/bin/python -m ui.serve --server.port 1") == "app server"
    assert kind_of("python", "/usr/bin/python -m streamlit run streamlit_app.py") == "app server"
    assert kind_of("chromium", "/usr/lib/chromium/chromium --type=renderer") == "Chromium"
    assert kind_of("node", "/x/playwright/driver/node /x/cli.js run-driver") == "Playwright driver"
    assert kind_of("python", "/usr/bin/python -m colorizer colorize photo.png") == "other Python child"
    # a test's child that names pytest's temporary folder is not pytest
    assert kind_of("python", "/usr/bin/python -c ... /tmp/pytest-of-root/pytest-1/clip.mp4") == "other Python child"
    assert kind_of("sh", "/bin/sh -c true") == "other"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/stat").exists(), reason="reads Linux's /proc")
def test_the_suites_cpu_counts_a_test_that_spins_in_a_child(tmp_path):
    """A one-test suite whose test runs a Python child busy for about 1.5 s of CPU: the child is counted as an other
    Python child, the machine was busy at least that long, and the report has its row."""
    from benchmarks.suite_cpu import measure, report

    (tmp_path / "test_spin.py").write_text(
        "import subprocess, sys\n"
        "def test_spin():\n"
        "    code = 'import time\\nend = time.process_time() + 1.5\\nwhile time.process_time() < end: pass'\n"
        "    subprocess.run([sys.executable, '-c', code], check=True)\n")
    result = measure([str(tmp_path / "test_spin.py"), "-n", "0", "-q", "-p", "no:cacheprovider",
                      "--rootdir", str(tmp_path)])
    assert result["returncode"] == 0
    processes, cpu = result["by_kind"]["other Python child"]
    assert processes == 1 and 1.0 <= cpu <= 2.5, result["by_kind"]
    assert result["sampled_cpu_s"] >= cpu and 0 < result["utilization"] <= 1 and result["machine_busy_s"] >= cpu
    assert "| other Python child | 1 |" in report(result)
