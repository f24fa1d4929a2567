"""Fast tests of the pure parts of scripts/fetch_photos.py (no network, no apt)."""
from __future__ import annotations

import struct
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import load_script

fp = load_script("fetch_photos")


# ---------------------------------------------------------------------------
# Synthetic .rcc builder (Qt binary resource, version 2: 22-byte tree entries)
# ---------------------------------------------------------------------------


def build_rcc_v2(files: dict[str, tuple[bytes, bool]]) -> bytes:
    """Build a v2 .rcc holding files {"dir/sub/name": (payload, zlib?)}.

    Tree entries are laid out breadth-first so every directory's children are
    contiguous, as Qt's rcc does.
    """
    # Nested dict of the directory structure.
    root: dict = {}
    for path, value in files.items():
        node = root
        *dirs, leaf = path.split("/")
        for d in dirs:
            node = node.setdefault(d, {})
        node[leaf] = value

    names = bytearray()
    name_offsets: dict[str, int] = {}

    def name_off(name: str) -> int:
        if name not in name_offsets:
            name_offsets[name] = len(names)
            encoded = name.encode("utf-16-be")
            names.extend(struct.pack(">HI", len(name), 0) + encoded)
        return name_offsets[name]

    data = bytearray()
    entries: list[bytes] = []
    # Breadth-first over (entry index, name, node); index 0 is the root directory.
    entries.append(b"")  # placeholder for the root
    next_index = 1
    pending = [(0, "", root)]
    while pending:
        index, name, node = pending.pop(0)
        if isinstance(node, dict):
            children = sorted(node.items())
            first = next_index
            entries.extend([b""] * len(children))
            next_index += len(children)
            entries[index] = struct.pack(
                ">IHIIQ", name_off(name) if index else 0, fp.RCC_FLAG_DIRECTORY,
                len(children), first, 0,
            )
            for k, (child_name, child) in enumerate(children):
                pending.append((first + k, child_name, child))
        else:
            payload, compress = node
            if compress:
                blob = struct.pack(">I", len(payload)) + zlib.compress(payload)
            else:
                blob = payload
            offset = len(data)
            data.extend(struct.pack(">I", len(blob)) + blob)
            flags = fp.RCC_FLAG_COMPRESSED if compress else 0
            entries[index] = struct.pack(">IHHHIQ", name_off(name), flags, 0, 0, offset, 0)

    header_size = 20
    tree = b"".join(entries)
    tree_off = header_size
    data_off = tree_off + len(tree)
    names_off = data_off + len(data)
    header = b"qres" + struct.pack(">IIII", 2, tree_off, data_off, names_off)
    return header + tree + bytes(data) + bytes(names)


def test_parse_rcc_v2_zlib_and_plain_in_subdirectory():
    compressed_payload = b"hello photo " * 50
    plain_payload = b"\x00\x01raw bytes\xff"
    blob = build_rcc_v2(
        {
            "gcompris/a.bin": (compressed_payload, True),
            "gcompris/sub/dir/b.webp": (plain_payload, False),
        }
    )
    members = dict(fp.parse_rcc(blob))
    assert members == {
        "/gcompris/a.bin": compressed_payload,
        "/gcompris/sub/dir/b.webp": plain_payload,
    }


def test_parse_rcc_rejects_bad_magic():
    header = struct.pack(">4I", 2, 20, 20, 20)  # a valid version, so only the magic is wrong
    with pytest.raises(ValueError, match="missing 'qres' magic"):
        list(fp.parse_rcc(b"nope" + header))


def test_parse_rcc_skips_zstd_without_module(monkeypatch):
    blob = bytearray(build_rcc_v2({"x.bin": (b"abc", False)}))
    # Flip the file entry (index 1) to the zstd flag.
    tree_off = struct.unpack_from(">I", blob, 8)[0]
    struct.pack_into(">H", blob, tree_off + 22 + 4, fp.RCC_FLAG_COMPRESSED_ZSTD)
    monkeypatch.setitem(sys.modules, "zstandard", None)  # import -> ImportError
    with pytest.warns(UserWarning, match="zstd"):
        assert list(fp.parse_rcc(bytes(blob))) == []


# ---------------------------------------------------------------------------
# Dedupe hash
# ---------------------------------------------------------------------------


def _textured_image(seed: int, size=(320, 240)) -> Image.Image:
    """Smooth random colour field: photo-like structure, deterministic."""
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, size=(6, 8, 3), dtype=np.uint8)
    return Image.fromarray(small).resize(size, Image.Resampling.BICUBIC)


def _distance(a: int, b: int) -> int:
    return bin(a ^ b).count("1")


def test_dhash_resized_copy_collides():
    img = _textured_image(1)
    resized = img.resize((301, 226), Image.Resampling.LANCZOS)
    assert _distance(fp.dhash(img), fp.dhash(resized)) <= fp.DEDUPE_MAX_DISTANCE


def test_dhash_different_images_differ():
    a, b = fp.dhash(_textured_image(1)), fp.dhash(_textured_image(2))
    assert _distance(a, b) > fp.DEDUPE_MAX_DISTANCE


def test_hamming_matrix_and_grouping():
    hashes = [0, 0b111, (1 << 64) - 1, 0b1]
    dist = fp.hamming_matrix(hashes)
    assert dist[0, 1] == 3 and dist[0, 2] == 64 and dist[1, 3] == 2
    groups = fp.group_by_distance(hashes, 4)
    assert groups[0] == groups[1] == groups[3] != groups[2]


# ---------------------------------------------------------------------------
# Split
# ---------------------------------------------------------------------------


def test_split_is_deterministic_and_near_share():
    keys = [("pkg", f"dir/file{i}.jpg") for i in range(2000)]
    first = [fp.split_for(p, f, 0.15, 0) for p, f in keys]
    again = [fp.split_for(p, f, 0.15, 0) for p, f in reversed(keys)][::-1]
    assert first == again
    share = first.count("val") / len(first)
    assert 0.12 < share < 0.18
    other_seed = [fp.split_for(p, f, 0.15, 1) for p, f in keys]
    assert other_seed != first


def test_assign_splits_keeps_groups_together_and_ignores_order():
    keys = [("pkg", f"f{i}") for i in range(300)]
    groups = [i // 3 for i in range(300)]  # groups of three
    splits = fp.assign_splits(keys, groups, 0.15, 0)
    for g in range(100):
        assert len(set(splits[3 * g : 3 * g + 3])) == 1
    reversed_splits = fp.assign_splits(keys[::-1], groups[::-1], 0.15, 0)[::-1]
    assert reversed_splits == splits


# ---------------------------------------------------------------------------
# Licenses
# ---------------------------------------------------------------------------

COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/

Files: *
Copyright: Someone
License: GPL-3+

Files: src/activities/fish/resource/fish1.jpg
Copyright: Photographer
License: CC-BY-SA-3.0

Files: Media/*
 Help/*
License: CC-BY-SA-3.0

Files: 16.04/Wine_by_X.jpg
License: CC-BY-4.0

License: GPL-3+
 long text
"""


@pytest.mark.parametrize(
    "path, expected",
    [
        ("usr/share/x.rcc:/gcompris/src/activities/fish/resource/fish1.webp", "CC-BY-SA-3.0"),
        ("usr/share/scratch/Help/page.png", "CC-BY-SA-3.0"),
        ("usr/share/backgrounds/Wine_by_X.jpg", "CC-BY-4.0"),
        ("usr/share/other/file.png", "GPL-3+"),
    ],
)
def test_license_lookup(path, expected):
    assert fp.parse_copyright(COPYRIGHT).license_for(path) == expected


def test_sanitized_name_is_safe():
    name = fp.sanitized_name(
        "gcompris-qt-data",
        "usr/share/gcompris-qt/rcc/erase.rcc:/gcompris/src/activities/erase/resource/red panda (1).webp",
    )
    assert name.startswith("gcompris-qt-data__")
    assert "/" not in name and " " not in name
