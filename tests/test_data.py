"""colorizer.data: photo folders, seeded random crops with flips, centre crops, the float32 training arrays."""
from __future__ import annotations

import numpy as np
import pytest

from colorizer import color, data
from conftest import make_photo, write_png


def test_list_photos_by_split_and_flat_folder(photo_dir, tmp_path):
    train = data.list_photos(photo_dir, "train")
    val = data.list_photos(photo_dir, "val")
    assert [p.name for p in train] == ["train_0.png", "train_1.png", "train_2.png", "train_3.png"]
    assert [p.name for p in val] == ["val_0.png", "val_1.png"]
    write_png(tmp_path / "b.png", make_photo(8, 8))
    write_png(tmp_path / "a.png", make_photo(8, 8))
    (tmp_path / "notes.txt").write_text("not a photo")
    assert [p.name for p in data.list_photos(tmp_path, "train")] == ["a.png", "b.png"]
    with pytest.raises(FileNotFoundError):
        data.list_photos(tmp_path / "absent")


def test_load_photos_skips_and_reports_unreadable(photo_dir, tmp_path):
    broken = tmp_path / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    messages = []
    photos = data.load_photos([*data.list_photos(photo_dir, "val"), broken], on_error=messages.append)
    assert [p.shape for p in photos] == [(48, 60, 3), (44, 44, 3)]
    assert all(p.dtype == np.uint8 for p in photos)
    assert len(messages) == 1 and messages[0].startswith(f"error: {broken}: ")


def test_load_photos_learns_a_transparent_photo_as_it_looks_on_white(tmp_path):
    """Training learns what a picture shows: a magenta band under alpha 0 comes to training white, a band at alpha
    128 halfway to white, the opaque rest exactly as in the file."""
    from PIL import Image

    rgb = make_photo(40, 32, seed=4)
    alpha = np.full((40, 32), 255, np.uint8)
    rgb[:10], alpha[:10], alpha[10:20] = [255, 0, 255], 0, 128
    Image.fromarray(np.dstack([rgb, alpha])).save(tmp_path / "stamp.png")
    [learned] = data.load_photos([tmp_path / "stamp.png"])
    assert (learned[:10] == 255).all()
    half = np.rint(rgb[10:20] * (128 / 255) + 255 * (127 / 255))
    assert np.abs(learned[10:20].astype(int) - half).max() <= 1
    np.testing.assert_array_equal(learned[20:], rgb[20:])


def test_load_photos_skips_a_gray_and_a_tiny_photo_in_one_line_each(tmp_path):
    """Session 35's audit: ``train`` learned from a gray PNG, a 4×4 and a 1×1 photo without a word (fine-tuning
    refused them). Each is one line now, and the color photo beside them is read."""
    color = write_png(tmp_path / "color.png", make_photo(40, 48, seed=1))
    gray = write_png(tmp_path / "gray.png", make_photo(40, 48, seed=2)[..., 0])
    tiny = write_png(tmp_path / "tiny.png", make_photo(4, 4, seed=3))
    lines = []
    photos = data.load_photos([color, gray, tiny], on_error=lines.append, colors_to_learn=True)
    assert len(photos) == 1 and photos[0].shape == (40, 48, 3)
    assert [line.split(": ", 1)[1] for line in lines] == [
        f"{gray}: grayscale photo: it has no color to learn from",
        f"{tiny}: 4×4 px is too small to learn from (at least 32 px a side)"]


def test_random_crops_shapes_and_determinism():
    photos = [make_photo(48, 64, seed=0), make_photo(40, 30, seed=1)]
    crops = data.random_crops(photos, per_photo=5, size=16, seed=3)
    assert crops.shape == (10, 16, 16, 3) and crops.dtype == np.uint8
    np.testing.assert_array_equal(crops, data.random_crops(photos, per_photo=5, size=16, seed=3))
    assert not np.array_equal(crops, data.random_crops(photos, per_photo=5, size=16, seed=4))
    assert data.random_crops([], per_photo=5, size=16).shape == (0, 16, 16, 3)


def test_random_crops_flip_half_the_time():
    # With the only scale 1.0, a crop of a square photo is the whole photo, mirrored or not.
    photo = make_photo(32, 32, seed=5)
    crops = data.random_crops([photo], per_photo=40, size=32, seed=0, scales=(1.0,))
    plain = [np.array_equal(c, photo) for c in crops]
    mirrored = [np.array_equal(c, photo[:, ::-1]) for c in crops]
    assert all(p or m for p, m in zip(plain, mirrored))
    assert 8 <= sum(mirrored) <= 32  # both present, roughly half


def test_random_crops_use_several_scales():
    # A photo whose columns are all different: crops of smaller scales see fewer of them.
    photo = np.repeat(np.repeat(np.arange(64, dtype=np.uint8)[None, :, None] * 4, 64, axis=0), 3, axis=2)
    crops = data.random_crops([photo], per_photo=40, size=16, seed=1)
    spans = {int(c[..., 0].max()) - int(c[..., 0].min()) for c in crops}
    assert len(spans) >= 3


def test_center_crops():
    photos = [make_photo(30, 50, seed=6), make_photo(50, 30, seed=7)]
    crops = data.center_crops(photos, 20)
    assert crops.shape == (2, 20, 20, 3)
    np.testing.assert_array_equal(crops[0], color.resize(photos[0][:, 10:40], (20, 20)))
    np.testing.assert_array_equal(crops, data.center_crops(photos, 20))


def test_crop_batch_dtypes_shapes_and_ranges():
    crops = data.random_crops([make_photo(40, 40, seed=8), np.zeros((40, 40, 3), np.uint8),
                               np.full((40, 40, 3), 255, np.uint8)], per_photo=3, size=24, seed=0)
    batch = data.crop_batch(crops)
    assert set(batch) == {"gray01", "L_norm", "ab_norm", "rgb01"}
    shapes = {"gray01": 1, "L_norm": 1, "ab_norm": 2, "rgb01": 3}
    for key, channels in shapes.items():
        assert batch[key].shape == (9, 24, 24, channels) and batch[key].dtype == np.float32, key
    assert 0 <= batch["gray01"].min() and batch["gray01"].max() <= 1
    assert 0 <= batch["rgb01"].min() and batch["rgb01"].max() <= 1
    assert -1 - 1e-5 <= batch["L_norm"].min() and batch["L_norm"].max() <= 1 + 1e-5
    assert np.abs(batch["ab_norm"]).max() <= 1.0
    # black and white crops: L_norm at the ends, no color
    np.testing.assert_allclose(batch["L_norm"][3:6], -1, atol=1e-4)
    np.testing.assert_allclose(batch["L_norm"][6:9], 1, atol=1e-4)
    assert np.abs(batch["ab_norm"][3:9]).max() < 1e-3
    np.testing.assert_allclose(color.unnormalize_ab(batch["ab_norm"][0]), color.ab_of_rgb(crops[0]), atol=1e-4)


def test_crop_batch_of_nothing():
    batch = data.crop_batch(np.zeros((0, 8, 8, 3), np.uint8))
    assert batch["rgb01"].shape == (0, 8, 8, 3)


def test_training_gray_is_the_gray_inference_feeds():
    """One definition of gray: a crop's gray01 is what ``Colorizer`` derives from the same photo's L,
    and on a gray photo it is the photo's own gray level."""
    crops = data.random_crops([make_photo(40, 40, seed=9)], per_photo=2, size=24, seed=0)
    batch = data.crop_batch(crops)
    expected = np.stack([color.gray01_from_L(color.luminance(c)) for c in crops])
    np.testing.assert_allclose(batch["gray01"][..., 0], expected, atol=1e-6)
    levels = np.arange(256, dtype=np.uint8).reshape(16, 16)
    gray_photo = np.repeat(levels[..., None], 3, axis=-1)
    np.testing.assert_allclose(color.gray01_from_L(color.luminance(gray_photo)) * 255, levels, atol=0.6)


def test_validation_crops_are_the_centre_then_seeded_random_ones():
    photos = [make_photo(60, 80, seed=i) for i in range(3)]
    crops = data.validation_crops(photos, 32, 2, seed=5)
    assert crops.shape == (3 + 3 * 2, 32, 32, 3)
    np.testing.assert_array_equal(crops[:3], data.center_crops(photos, 32))
    np.testing.assert_array_equal(crops[3:], data.random_crops(photos, 2, 32, seed=5))
    np.testing.assert_array_equal(crops, data.validation_crops(photos, 32, 2, seed=5))    # the same every time
    assert not np.array_equal(crops[3:], data.validation_crops(photos, 32, 2, seed=6)[3:])
