"""scripts/fetch_details.py on synthetic originals: tiles are the training originals' own pixels, the validation
split's originals are never opened, and every tile's manifest row names its package (no apt, no network)."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from conftest import load_script

fd = load_script("fetch_details")


def _noise(width: int, height: int, seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8))


def _row(name: str, split: str = "train", package: str = "mate-backgrounds", source: str | None = None) -> dict:
    return {"path": f"{split}/{name}.jpg", "split": split, "package": package,
            "source_file": source or f"usr/share/backgrounds/{name}.png", "license": "GPL-2+",
            "width": "800", "height": "500"}


def test_tiles_are_the_originals_pixels_at_their_own_resolution():
    originals = {"big": _noise(1200, 900, 1), "wide": _noise(2000, 720, 2)}
    rows = [_row("big"), _row("wide")]
    tiles = fd.detail_tiles(rows, lambda row: originals[Path(row["path"]).stem], tiles=3, side=300,
                            min_short=700, seed=5)
    assert len(tiles) == 6
    for tile, row in tiles:
        left, top, width, height = map(int, row["box"].split(","))
        assert (width, height) == (300, 300) == tile.size
        source = np.asarray(originals[row["path"].split("__")[0]])
        assert np.array_equal(np.asarray(tile), source[top:top + 300, left:left + 300])
        assert row["split"] == "train" and row["package"] == "mate-backgrounds" and row["license"] == "GPL-2+"
    # Tiles land at different places (a constant corner would pass the pixel check above).
    assert len({row["box"] for _, row in tiles}) == 6


def test_validation_originals_are_never_opened_and_small_ones_are_skipped():
    opened = []

    def open_original(row):
        opened.append(row["path"])
        return _noise(1000, 500 if "small" in row["path"] else 800, 3)

    rows = [_row("kept"), _row("small"), _row("held", split="val")]
    tiles = fd.detail_tiles(rows, open_original, tiles=2, side=400, min_short=700, seed=0)
    assert "val/held.jpg" not in opened
    assert [row["path"] for _, row in tiles] == ["kept__detail0.jpg", "kept__detail1.jpg"]


def test_the_same_seed_gives_the_same_tiles():
    originals = {"a": _noise(1500, 1000, 4)}
    make = lambda seed: [row["box"] for _, row in fd.detail_tiles(  # noqa: E731
        [_row("a")], lambda row: originals["a"], tiles=4, side=256, min_short=700, seed=seed)]
    assert make(9) == make(9) != make(10)


def _manifest(path: Path, rows: list[dict]) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_only_training_list_packages_are_taken(tmp_path):
    rows = [_row("ok"), _row("elsewhere", package="opencv-doc"), _row("val-only", split="val", package="stellarium-data")]
    with pytest.raises(ValueError, match="opencv-doc"):
        fd.training_rows(_manifest(tmp_path / "manifest.csv", rows))
    rows.pop(1)
    assert [row["path"] for row in fd.training_rows(_manifest(tmp_path / "manifest.csv", rows))] == ["train/ok.jpg"]


def test_originals_read_plain_files_and_qt_archives(tmp_path, monkeypatch):
    mate, gcompris = tmp_path / "mate", tmp_path / "gcompris"
    (mate / "usr/share/backgrounds").mkdir(parents=True)
    _noise(40, 30, 5).save(mate / "usr/share/backgrounds/plain.png")
    packed = io.BytesIO()
    _noise(20, 10, 6).save(packed, "PNG")
    (gcompris / "usr/share/gcompris-qt/rcc").mkdir(parents=True)
    (gcompris / "usr/share/gcompris-qt/rcc/erase.rcc").write_bytes(b"qres")
    parsed = []

    def fake_parse(blob):
        parsed.append(blob)
        return iter([("/gcompris/a.png", packed.getvalue())])

    # The module iter_candidates lives in (tests/test_fetch_photos.py may load another copy under the same name).
    monkeypatch.setitem(fd.iter_candidates.__globals__, "parse_rcc", fake_parse)
    originals = fd.Originals({"mate-backgrounds": mate, "gcompris-qt-data": gcompris})
    plain = originals({"package": "mate-backgrounds", "source_file": "usr/share/backgrounds/plain.png"})
    inner = {"package": "gcompris-qt-data", "source_file": "usr/share/gcompris-qt/rcc/erase.rcc:/gcompris/a.png"}
    assert plain.size == (40, 30)
    assert originals(inner).size == (20, 10) and originals(inner).size == (20, 10)
    assert len(parsed) == 1  # each archive is parsed once


def test_written_folder_reads_as_extra_photos_with_their_packages(tmp_path):
    from colorizer import data
    from colorizer.train import extra_photos_card

    originals = {"a": _noise(900, 800, 7)}
    tiles = fd.detail_tiles([_row("a")], lambda row: originals["a"], tiles=2, side=300, min_short=700, seed=1)
    fd.write_tiles(tiles, tmp_path / "details")
    photos, crops = data.extra_photo_crops(tmp_path / "details", per_photo=2, size=32, seed=0)
    assert len(photos) == 2 and crops.shape == (4, 32, 32, 3)
    card = {"data": {"extra_photos": extra_photos_card(tmp_path / "details")}}
    assert data.shipping_problem(card) is None
    assert data.trained_on_packages(card) == {"mate-backgrounds"}
