"""scripts/distill_mirror.py (run SD1): a decoder taught its own mirror averaging gives it in one pass."""
from datetime import datetime, timezone

import numpy as np
import pytest

from tests.conftest import load_script, make_photo, write_png


@pytest.mark.slow
def test_the_student_learns_the_mirror_average_its_teacher_needs_two_passes_for():
    """A toy decoder (a lopsided 3×3 convolution: its colors depend on which way the photo faces) is its own
    teacher; after distillation the student, reading each crop alone, gives the average of the teacher on the
    crop and on its mirror (flipped back), which the teacher itself does not."""
    import keras

    script = load_script("distill_mirror")
    keras.utils.set_random_seed(0)
    block = keras.Input((6, 6, 3))
    hidden = keras.layers.Conv2D(8, 3, padding="same", name="lopsided")(block)
    teacher = keras.Model([block], {"probs": keras.layers.Softmax()(keras.layers.Conv2D(5, 1)(hidden)),
                                    "ab_reg": keras.layers.Conv2D(2, 1)(hidden)})
    kernel, bias = teacher.get_layer("lopsided").get_weights()
    kernel[:, 0] += 0.5  # the left column of the kernel weighs more: mirror images get other colors
    teacher.get_layer("lopsided").set_weights([kernel, bias])
    rng = np.random.default_rng(0)
    features = [rng.normal(0, 1, (32, 6, 6, 3)).astype(np.float16)]
    mirror_features = [np.ascontiguousarray(features[0][:, :, ::-1])]

    def target(model):
        one, two = script.heads(model, [features[0].astype(np.float32)]), script.heads(model, [mirror_features[0].astype(np.float32)])
        return [(np.asarray(a) + np.asarray(b)[:, :, ::-1]) / 2 for a, b in zip(one, two)]

    probs_target, ab_target = target(teacher)
    gap = lambda model: float(np.mean((np.asarray(script.heads(model, [features[0].astype(np.float32)])[1]) - ab_target) ** 2))  # noqa: E731
    before = gap(teacher)
    student = script.distill(teacher, features, mirror_features, epochs=60, lr=1e-2, seed=0, log=lambda text: None)
    assert before > 1e-3  # the two views do differ
    assert gap(student) < 0.1 * before
    probs = np.asarray(script.heads(student, [features[0].astype(np.float32)])[0])
    assert np.abs(probs - probs_target).mean() < np.abs(np.asarray(script.heads(teacher, [features[0].astype(np.float32)])[0]) - probs_target).mean()
    assert gap(teacher) == before  # the teacher was not trained


@pytest.mark.slow
def test_the_extra_photos_crops_learn_from_the_extra_teacher_and_the_others_from_the_teacher():
    """Two toy decoders, the second the first with its colors shifted: after distillation the student gives the
    second's colors on the crops from ``extra_from`` on and keeps the first's on the others."""
    import keras

    script = load_script("distill_mirror")
    keras.utils.set_random_seed(0)
    block = keras.Input((6, 6, 3))
    hidden = keras.layers.Conv2D(4, 1)(block)  # 1×1: a crop and its mirror get mirrored colors
    teacher = keras.Model([block], {"probs": keras.layers.Softmax()(keras.layers.Conv2D(5, 1)(hidden)),
                                    "ab_reg": keras.layers.Conv2D(2, 1, name="ab")(hidden)})
    extra_teacher = keras.models.clone_model(teacher)
    extra_teacher.set_weights(teacher.get_weights())
    kernel, bias = extra_teacher.get_layer("ab").get_weights()
    extra_teacher.get_layer("ab").set_weights([kernel, bias + 0.5])  # the extra photos' colors, learned elsewhere
    rng = np.random.default_rng(1)
    features = [rng.normal(0, 1, (32, 6, 6, 3)).astype(np.float16)]
    features[0][..., 2] = 0
    features[0][24:, :, :, 2] = 3  # what sets the extra photos apart (an aerial view's look), for the student to see
    mirror_features = [np.ascontiguousarray(features[0][:, :, ::-1])]
    student = script.distill(teacher, features, mirror_features, epochs=40, lr=1e-2, seed=0, log=lambda text: None,
                             extra_teacher=extra_teacher, extra_from=24)
    inputs = [features[0].astype(np.float32)]
    ab = np.asarray(script.heads(student, inputs)[1])
    own, extra = np.asarray(script.heads(teacher, inputs)[1]), np.asarray(script.heads(extra_teacher, inputs)[1])
    np.testing.assert_allclose(extra - own, 0.5, atol=1e-5)  # the two teachers disagree by the shift
    assert np.abs(ab[24:] - extra[24:]).mean() < 0.1  # the extra crops took the extra teacher's colors
    assert np.abs(ab[:24] - own[:24]).mean() < 0.1    # and the others kept the teacher's


def test_the_student_is_saved_beside_its_sources_gate_and_history_from_a_file_or_a_folder(tmp_path):
    """A shipped name loads from ``weights/NAME/model.keras`` (``source`` is the file), a run's folder from
    the folder: either way the gate and history beside it go with the student, whose weights are what the
    model holds, a teacher that was itself distilled keeps that record inside the new round's, and the teacher's
    evaluation and creation date are not passed off as the student's."""
    import json
    from types import SimpleNamespace

    import keras

    script = load_script("distill_mirror")
    folder = tmp_path / "teacher"
    folder.mkdir()
    (folder / "colorfulness_gate.npz").write_bytes(b"gate bytes")
    (folder / "history.csv").write_text("epoch,loss\n1,3.6\n")
    keras.utils.set_random_seed(0)
    block = keras.Input((4, 4, 3))
    model = keras.Model(block, keras.layers.Conv2D(2, 1, name="decoder_conv")(block))
    card = {"arch": "hypercolumn", "training": {"epochs": 6, "distilled_from_mirror": {"seed": 5}},
            "evaluation": {"hypercolumn": {"psnr": 23.0}}, "created": "2020-01-02T03:04:05+00:00"}
    for n, source in enumerate([folder / "model.keras", folder]):
        out = script.save_student(SimpleNamespace(source=str(source), model=model, card=card), tmp_path / f"out{n}",
                                  {"seed": 6})
        assert (out / "colorfulness_gate.npz").read_bytes() == b"gate bytes"
        assert (out / "history.csv").read_text() == "epoch,loss\n1,3.6\n"
        saved = json.loads((out / "card.json").read_text())
        assert saved["training"]["epochs"] == 6
        assert saved["training"]["distilled_from_mirror"] == {
            "seed": 6, "teacher_created": "2020-01-02T03:04:05+00:00", "teacher_distilled": {"seed": 5}}
        made = datetime.fromisoformat(saved["created"])  # now, not the teacher's date
        assert abs((datetime.now(timezone.utc) - made).total_seconds()) < 600
        assert "evaluation" not in saved  # the teacher's held-out numbers are not the student's
        reloaded = keras.models.load_model(out / "model.keras")
        np.testing.assert_array_equal(reloaded.get_weights()[0], model.get_weights()[0])
    assert card["training"]["distilled_from_mirror"] == {"seed": 5}  # the source's card is not changed


def test_the_extra_photos_crops_come_after_the_photos_own_which_they_leave_alone(tmp_path):
    script = load_script("distill_mirror")
    (tmp_path / "photos" / "train").mkdir(parents=True)
    (tmp_path / "aerial").mkdir()
    for i in range(2):
        write_png(tmp_path / "photos" / "train" / f"{i}.png", make_photo(48, 64, seed=i))
    write_png(tmp_path / "aerial" / "town.png", np.full((48, 48, 3), 90, np.uint8))
    alone, count = script.crops_l(str(tmp_path / "photos"), 2, seed=3)
    both, photo_crops = script.crops_l(str(tmp_path / "photos"), 2, seed=3, extra_dir=str(tmp_path / "aerial"),
                                       extra_per_photo=5)
    assert count == photo_crops == 4 and len(both) == 4 + 5
    np.testing.assert_array_equal(both[:4], alone)                  # the photos' crops are those of a run without
    np.testing.assert_allclose(both[4:], both[4, 0, 0, 0], atol=1e-6)  # the flat gray town's, after them
