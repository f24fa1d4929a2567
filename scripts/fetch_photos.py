#!/usr/bin/env python3
"""Build the training photo set offline from Debian packages.

What it does
------------
1. ``apt-get download`` a fixed list of Debian packages that ship real photographs
   (scratch, gcompris-qt-data, mate-backgrounds, lomiri-wallpapers-16.04/-20.04,
   plasma-workspace-wallpapers, palapeli-data) into a cache dir and unpack them
   with ``dpkg-deb -x``.  Nothing else touches the network.
2. Enumerates candidate images: plain files in the packages, plus files inside the
   Qt ``.rcc`` resource archives of gcompris-qt-data (parsed here, no Qt needed).
3. Filters out non-photos: name/folder rules first (activity allow-list, painting
   and drawing folders, icons, sprites), then pixel heuristics (tiny, transparent,
   grayscale, flat cartoon-like colour regions, few colours).
4. Removes near-duplicates with a 64-bit difference hash (Hamming distance <= 4),
   keeping the largest copy.
5. Splits train/val by a hash of (package, source_file) of each similarity group's
   canonical member, so the split is reproducible and similar images share a split.
6. Downscales (Lanczos, longer side <= --max-side), converts to RGB and saves JPEGs.

Output contract (``--out``, default ``data/photos``)
---------------------------------------------------
- ``{train,val}/<package>__<sanitized-original-name>.jpg``: RGB JPEG, quality 95,
  longer side <= --max-side.
- ``manifest.csv``: one row per saved photo, columns
  ``path,split,package,source_file,license,width,height``; ``path`` is relative to
  the out dir, ``source_file`` is the path inside the package (for .rcc members
  ``<rcc path>:<path inside the archive>``), ``license`` a short SPDX-like id taken
  from the package's machine-readable ``debian/copyright``, width/height after resizing.
- The out dir is rebuilt from scratch on every run (train/, val/, manifest.csv).

Usage::

    python scripts/fetch_photos.py [--out data/photos] [--max-side 800]
                                   [--val-share 0.15] [--seed 0]
                                   [--cache data/debs] [--sheets DIR]
"""
from __future__ import annotations

import argparse
import csv
import fnmatch
import hashlib
import io
import re
import shutil
import struct
import subprocess
import sys
import time
import warnings
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
from PIL import Image, ImageDraw, ImageOps

# Large wallpapers (5120x2880) trip Pillow's decompression-bomb guard. These are trusted Debian
# files, so main() lifts the limit for this script's run; importing the module changes nothing.
TRUSTED_MAX_PIXELS = None

PACKAGES = [
    "scratch",
    "gcompris-qt-data",
    "mate-backgrounds",
    "lomiri-wallpapers-16.04",
    "lomiri-wallpapers-20.04",
    "plasma-workspace-wallpapers",
    "palapeli-data",
]

RASTER_EXTS = {".jpg", ".jpeg", ".png", ".webp"}
MIN_SHORT_SIDE = 128
# Below this 95th percentile of max(RGB) − min(RGB) a photo is black and white. Quiet color photos
# (steel tools, cutlery, swans on gray water) stay: a model that never sees one paints every scene.
QUIET_CHROMA = 4
DEDUPE_MAX_DISTANCE = 4
# Slightly looser threshold only used to keep *similar* (not removed) images, e.g.
# re-crops or re-encodes, in the same split.  8x8 dHashes of unrelated smooth
# landscapes already come within 7 bits of each other, so stay below that.
SPLIT_GROUP_MAX_DISTANCE = 6

# ---------------------------------------------------------------------------
# Name / folder rules
# ---------------------------------------------------------------------------

# gcompris activities whose resources are (mostly) photographs.  Everything else
# in gcompris is drawings, SVG, or paintings (paintings, details, photo_hunter).
GCOMPRIS_PHOTO_ACTIVITIES = {
    "categorization",
    "explore_monuments",
    "erase",
    "explore_world_animals",
    "explore_farm_animals",
    "explore_world_music",
}

# Path fragments that mark drawings/art/UI rather than photos, in any package.
REJECT_PATH_PATTERNS = [
    r"/icons?/",
    r"/costumes/",  # scratch sprites (cartoons)
    r"paint",  # paintings, Painting-Colors, etc.
    r"draw",
    r"cartoon",
    r"/alphabets/",  # categorization letters
    r"/numbers/",  # categorization digits
    r"background\.(svg|png|webp)$",  # activity backdrops are drawings
    r"screenshot\.",  # plasma previews duplicate the full image
    r"/doc/",
    r"/mate/(abstract|desktop)/",  # mate artwork; only nature/ holds photos
    r"/palapeli/backgrounds/",  # puzzle-table textures, not scenes
    # lomiri wallpapers that are digital art (checked on a contact sheet)
    r"/(analogpattern|umang|fossa|infinite-sea)_by_",
]

# Sources known (by folder or by eye, on contact sheets) to be photographs.  They
# only get the cheap pixel checks (tiny / transparent / grayscale), because smooth
# skies and white studio backgrounds fool the drawing detectors.  Everything else
# (scratch backgrounds) must also pass the drawing detectors.
PLASMA_PHOTO_WALLPAPERS = [
    "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow",
    "FallenLeaf", "Grey", "Kite", "OneStandsOut", "Path", "summer_1am", "Volna",
]
TRUSTED_PHOTO_PATTERNS = {
    "gcompris-qt-data": [r"\.rcc:"],  # only photo activities are opened at all
    "mate-backgrounds": [r"/mate/nature/"],
    "lomiri-wallpapers-16.04": [r"/backgrounds/"],
    "lomiri-wallpapers-20.04": [r"/backgrounds/"],
    "palapeli-data": [r"/palapeli/collection/"],
    "plasma-workspace-wallpapers": [
        rf"/wallpapers/({'|'.join(PLASMA_PHOTO_WALLPAPERS)})/"
    ],
}

# debian/copyright authors/sources of illustrations that sit among photos
# (e.g. Duane Raver's USFWS fish paintings in gcompris categorization).
ILLUSTRATION_CREDIT_PATTERN = r"Duane Raver|openclipart"


def rejected_by_name(package: str, source_file: str) -> str | None:
    """Return a reason if the path says this is not a photo, else None."""
    low = "/" + source_file.lower()
    for pattern in REJECT_PATH_PATTERNS:
        if re.search(pattern, low):
            return f"name:{pattern}"
    return None


def is_trusted_photo(package: str, source_file: str) -> bool:
    return any(re.search(p, "/" + source_file) for p in TRUSTED_PHOTO_PATTERNS.get(package, []))


# ---------------------------------------------------------------------------
# Debian packages
# ---------------------------------------------------------------------------


def download_debs(packages: list[str], cache: Path) -> dict[str, Path]:
    """apt-get download each package into cache (reused if present)."""
    cache.mkdir(parents=True, exist_ok=True)
    debs = {}
    for pkg in packages:
        found = sorted(cache.glob(f"{pkg}_*.deb"))
        if not found:
            print(f"[download] {pkg}", flush=True)
            run_apt_download(pkg, cache)
            found = sorted(cache.glob(f"{pkg}_*.deb"))
        if not found:
            raise RuntimeError(f"apt-get download {pkg} produced no .deb")
        debs[pkg] = found[-1]
    return debs


def run_apt_download(pkg: str, cache: Path, attempts: int = 20) -> None:
    """apt-get download, retrying while another process holds the apt lock."""
    for attempt in range(attempts):
        proc = subprocess.run(
            ["apt-get", "download", pkg], cwd=cache, capture_output=True, text=True
        )
        if proc.returncode == 0:
            return
        if "lock" in proc.stderr.lower() and attempt + 1 < attempts:
            print(f"[download] apt locked, retrying {pkg} in 15 s", flush=True)
            time.sleep(15)
            continue
        raise RuntimeError(f"apt-get download {pkg} failed: {proc.stderr.strip()}")


def extract_deb(deb: Path, dest: Path) -> Path:
    """dpkg-deb -x into dest (skipped if already unpacked)."""
    marker = dest / ".extracted"
    if not marker.exists():
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run(["dpkg-deb", "-x", str(deb), str(dest)], check=True)
        marker.write_text(deb.name)
    return dest


# ---------------------------------------------------------------------------
# Qt .rcc resource archives
# ---------------------------------------------------------------------------

RCC_FLAG_COMPRESSED = 0x01
RCC_FLAG_DIRECTORY = 0x02
RCC_FLAG_COMPRESSED_ZSTD = 0x04


def parse_rcc(blob: bytes) -> Iterator[tuple[str, bytes]]:
    """Yield (path, data) for every file in a Qt binary resource (.rcc), version 1-3.

    Layout: b"qres", then big-endian u32 version, tree, data and names offsets
    (v3 adds a u32 of global flags).  The tree is an array of fixed-size entries
    rooted at index 0; directories point at a contiguous run of children.
    Zstd entries are skipped with a warning when the zstandard module is missing.
    """
    if blob[:4] != b"qres":
        raise ValueError("not a Qt rcc archive (missing 'qres' magic)")
    version, tree_off, data_off, names_off = struct.unpack_from(">4I", blob, 4)
    if version not in (1, 2, 3):
        raise ValueError(f"unsupported rcc version {version}")
    # v2+ entries carry an extra u64 last-modified timestamp.
    entry_size = 14 if version == 1 else 22

    def entry(index: int) -> tuple[int, int, int, int]:
        """(name offset, flags, a, b): dirs give (child count, first child index),
        files give (data offset, 0) -- their u16 country/language are skipped."""
        pos = tree_off + index * entry_size
        name_off, flags = struct.unpack_from(">IH", blob, pos)
        if flags & RCC_FLAG_DIRECTORY:
            count, first = struct.unpack_from(">II", blob, pos + 6)
            return name_off, flags, count, first
        (data_rel,) = struct.unpack_from(">I", blob, pos + 10)
        return name_off, flags, data_rel, 0

    def name(name_off: int) -> str:
        pos = names_off + name_off
        (length,) = struct.unpack_from(">H", blob, pos)
        return blob[pos + 6 : pos + 6 + 2 * length].decode("utf-16-be")

    def walk(index: int, prefix: str) -> Iterator[tuple[str, bytes]]:
        name_off, flags, a, b = entry(index)
        path = prefix if index == 0 else f"{prefix}/{name(name_off)}"
        if flags & RCC_FLAG_DIRECTORY:
            count, first = a, b
            for child in range(first, first + count):
                yield from walk(child, path)
            return
        data = read_rcc_data(blob, data_off + a, flags, path)
        if data is not None:
            yield path, data

    yield from walk(0, "")


def read_rcc_data(blob: bytes, pos: int, flags: int, path: str) -> bytes | None:
    """Decode one file payload: u32 size, then raw / zlib / zstd bytes."""
    (size,) = struct.unpack_from(">I", blob, pos)
    raw = blob[pos + 4 : pos + 4 + size]
    if flags & RCC_FLAG_COMPRESSED_ZSTD:
        try:
            import zstandard  # optional: not installed by default
        except ImportError:
            warnings.warn(f"skipping zstd-compressed rcc entry {path} (no zstandard)")
            return None
        return zstandard.ZstdDecompressor().decompress(raw, max_output_size=1 << 30)
    if flags & RCC_FLAG_COMPRESSED:
        # qCompress format: 4-byte big-endian uncompressed length, then zlib stream.
        return zlib.decompress(raw[4:])
    return raw


# ---------------------------------------------------------------------------
# Licenses from machine-readable debian/copyright
# ---------------------------------------------------------------------------


@dataclass
class CopyrightIndex:
    """Files: globs -> (short license, credit text), in file order (last match
    wins, per DEP-5).  Credit = Copyright + Comment fields, used to spot illustrators."""

    rules: list[tuple[list[str], str, str]] = field(default_factory=list)
    fallback: str = "unknown"

    def license_for(self, path: str) -> str:
        return self.lookup(path)[0]

    def lookup(self, path: str) -> tuple[str, str]:
        # Pass 1: source-tree globs against installed-path suffixes.  Pass 2 (only if
        # pass 1 found nothing more specific than a wildcard): match by file name,
        # because some packages install files in a flatter layout than the source
        # (lomiri "16.04/x.jpg" is installed as "usr/share/backgrounds/x.jpg").
        result, specific = None, False
        for globs, lic, credit in self.rules:
            for g in globs:
                if glob_matches(g, path):
                    result, specific = (lic, credit), not is_wildcard_basename(g)
        if not specific:
            for globs, lic, credit in self.rules:
                if any(basename_matches(g, path) for g in globs):
                    result = (lic, credit)
        return result or (self.fallback, "")


def parse_copyright(text: str) -> CopyrightIndex:
    """Parse DEP-5 paragraphs into glob rules; multi-line Files: fields supported."""
    index = CopyrightIndex()
    for para in re.split(r"\n\s*\n", text):
        fields = parse_dep5_paragraph(para)
        lic = fields.get("license", "").split("\n")[0].strip()
        if not lic:
            continue
        if "files" in fields:
            credit = fields.get("copyright", "") + "\n" + fields.get("comment", "")
            index.rules.append((fields["files"].split(), lic, credit))
        elif index.fallback == "unknown":
            index.fallback = lic  # header or first stand-alone License paragraph
    if index.rules and index.fallback == "unknown":
        index.fallback = index.rules[0][1]
    return index


def parse_dep5_paragraph(para: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    key = None
    for line in para.splitlines():
        if line[:1] in (" ", "\t") and key:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
    return fields


def _stem(path: str) -> str:
    return re.sub(r"\.(jpe?g|png|webp|svg)$", "", path, flags=re.I)


def is_wildcard_basename(glob: str) -> bool:
    return any(ch in glob.rsplit("/", 1)[-1] for ch in "*?[")


def glob_matches(glob: str, path: str) -> bool:
    """Match a debian/copyright glob against an installed path.

    Globs are relative to the *source* tree while we see *installed* paths, so try
    every path suffix ("usr/share/scratch/Media/x.jpg" matches "Media/*").  gcompris
    converts images when packing .rcc files (fish1.jpg -> fish1.webp), so specific
    globs are also compared without their image extension.
    """
    parts = path.strip("/").split("/")
    suffixes = ["/".join(parts[i:]) for i in range(len(parts))]
    if any(fnmatch.fnmatchcase(s, glob) for s in suffixes):
        return True
    if is_wildcard_basename(glob):
        return False
    return any(_stem(s) == _stem(glob) for s in suffixes)


def basename_matches(glob: str, path: str) -> bool:
    """Specific glob whose file name equals the path's file name (ignoring ext)."""
    if is_wildcard_basename(glob):
        return False
    return _stem(glob.rsplit("/", 1)[-1]) == _stem(path.rsplit("/", 1)[-1])


def load_copyright(root: Path, package: str) -> CopyrightIndex:
    path = root / "usr/share/doc" / package / "copyright"
    if not path.exists():
        return CopyrightIndex()
    return parse_copyright(path.read_text(encoding="utf-8", errors="replace"))


# ---------------------------------------------------------------------------
# Candidate enumeration
# ---------------------------------------------------------------------------


@dataclass
class Candidate:
    package: str
    source_file: str  # path inside the package, or "<rcc>:<member>"
    load: Callable[[], bytes]
    license: str = "unknown"


def iter_candidates(package: str, root: Path) -> Iterator[Candidate]:
    """All raster images of a package, with per-package folder rules applied."""
    if package == "gcompris-qt-data":
        yield from iter_gcompris(root)
        return
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.suffix.lower() not in RASTER_EXTS or not path.is_file():
            continue
        if not package_path_allowed(package, rel, root):
            continue
        yield Candidate(package, rel, path.read_bytes)


def package_path_allowed(package: str, rel: str, root: Path) -> bool:
    """Folder rules for the plain-file packages (why: each keeps photos elsewhere)."""
    if package == "scratch":
        return "/Media/Backgrounds/" in rel  # Costumes are cartoon sprites
    if package == "palapeli-data":
        return "/palapeli/" in rel and "/icons/" not in rel
    if package == "plasma-workspace-wallpapers":
        # Most plasma wallpapers are vector art; only the listed ones are photos.
        return is_trusted_photo(package, rel) and is_largest_plasma_variant(root, rel)
    return "/backgrounds/" in rel  # mate, lomiri


def is_largest_plasma_variant(root: Path, rel: str) -> bool:
    """Plasma ships one photo at several crops (5120x2880, 1080x1920, ...); keep the
    largest landscape one per images/ or images_dark/ folder, since crops of the
    same photo are not caught by a whole-image hash."""
    m = re.search(r"/images(_dark)?/(\d+)x(\d+)\.\w+$", rel)
    if not m:
        return False
    sizes = []
    for sibling in (root / rel).parent.iterdir():
        sm = re.match(r"(\d+)x(\d+)$", sibling.stem)
        if sm:
            sizes.append(int(sm.group(1)) * int(sm.group(2)))
    return int(m.group(2)) * int(m.group(3)) == max(sizes)


def iter_gcompris(root: Path) -> Iterator[Candidate]:
    """Images inside the .rcc archives of the photo activities."""
    rcc_dir = root / "usr/share/gcompris-qt/rcc"
    for activity in sorted(GCOMPRIS_PHOTO_ACTIVITIES):
        rcc = rcc_dir / f"{activity}.rcc"
        if not rcc.exists():
            print(f"[warn] missing {rcc}", file=sys.stderr)
            continue
        rel_rcc = rcc.relative_to(root).as_posix()
        for member, data in parse_rcc(rcc.read_bytes()):
            if Path(member).suffix.lower() not in RASTER_EXTS:
                continue
            yield Candidate(
                "gcompris-qt-data", f"{rel_rcc}:{member}", (lambda d=data: d)
            )


# ---------------------------------------------------------------------------
# Photo heuristics
# ---------------------------------------------------------------------------


@dataclass
class Stats:
    width: int
    height: int
    alpha_frac: float  # share of (partly) transparent pixels
    chroma_p95: float  # 95th percentile of max(RGB)-min(RGB)
    flat_frac: float  # share of pixels with zero local gradient
    colors_per_px: float  # unique colours / pixels on a 5-bit quantised thumbnail
    mid_grad_frac: float  # share of small-but-nonzero gradients (photo texture)


def compute_stats(img: Image.Image) -> Stats:
    """Cheap statistics on a <=256 px thumbnail that separate photos from art."""
    width, height = img.size
    alpha_frac = 0.0
    if img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info:
        alpha = np.asarray(img.convert("RGBA").getchannel("A"))
        alpha_frac = float((alpha < 250).mean())
    thumb = img.convert("RGB")
    thumb.thumbnail((256, 256), Image.Resampling.BILINEAR)
    rgb = np.asarray(thumb).astype(np.int16)
    chroma = rgb.max(axis=2) - rgb.min(axis=2)
    gray = rgb.sum(axis=2)
    grad = np.abs(np.diff(gray, axis=1))[:-1, :] + np.abs(np.diff(gray, axis=0))[:, :-1]
    q = (rgb >> 3).reshape(-1, 3)
    uniq = np.unique(q[:, 0] * 1024 + q[:, 1] * 32 + q[:, 2]).size
    return Stats(
        width=width,
        height=height,
        alpha_frac=alpha_frac,
        chroma_p95=float(np.percentile(chroma, 95)),
        flat_frac=float((grad <= 1).mean()),
        colors_per_px=uniq / q.shape[0],
        mid_grad_frac=float(((grad > 1) & (grad <= 24)).mean()),
    )


def reject_by_pixels(s: Stats, trusted: bool) -> str | None:
    """Return a reason if the pixels look like a non-photo, else None.

    Thresholds were tuned on contact sheets: photos of the scratch backgrounds have
    flat_frac <= 0.17, its drawings >= 0.39.  Colour counts alone do not separate
    JPEG drawings from photos (JPEG noise adds colours), so that test only catches
    palette-like PNG art.
    """
    if min(s.width, s.height) < MIN_SHORT_SIDE:
        return "tiny"
    if s.alpha_frac > 0.02:
        return "transparent"  # sprites/cut-outs: not a full photo
    if s.chroma_p95 < QUIET_CHROMA:
        return "grayscale"  # nothing to learn colour from
    if trusted:
        return None
    if s.flat_frac > 0.30:
        return "flat"  # large uniform regions: drawing / vector art
    if s.colors_per_px < 0.004:
        return "few-colors"
    if s.mid_grad_frac < 0.10:
        return "no-texture"  # photos have fine gradients almost everywhere
    return None


# ---------------------------------------------------------------------------
# Perceptual hash, dedupe and split
# ---------------------------------------------------------------------------


def dhash(img: Image.Image, size: int = 8) -> int:
    """64-bit difference hash: sign of horizontal gradients of a 9x8 gray image."""
    gray = img.convert("L").resize((size + 1, size), Image.Resampling.BOX)
    px = np.asarray(gray, dtype=np.int16)
    bits = (px[:, 1:] > px[:, :-1]).flatten()
    return int("".join("1" if b else "0" for b in bits), 2)


def hamming_matrix(hashes: list[int]) -> np.ndarray:
    """Pairwise Hamming distances of 64-bit hashes, vectorised with numpy."""
    arr = np.array(hashes, dtype=np.uint64)
    bits = np.unpackbits(arr.view(np.uint8).reshape(-1, 8), axis=1).astype(bool)
    return (bits[:, None, :] != bits[None, :, :]).sum(axis=2)


def group_by_distance(hashes: list[int], max_distance: int) -> list[int]:
    """Union-find over pairs within max_distance; returns a group id per item."""
    parent = list(range(len(hashes)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    if hashes:
        close = np.argwhere(hamming_matrix(hashes) <= max_distance)
        for i, j in close:
            if i < j:
                parent[find(int(i))] = find(int(j))
    return [find(i) for i in range(len(hashes))]


def split_for(package: str, source_file: str, val_share: float, seed: int) -> str:
    """Fixed split from a hash of (seed, package, source_file): order-independent."""
    digest = hashlib.sha1(f"{seed}\0{package}\0{source_file}".encode()).digest()
    fraction = int.from_bytes(digest[:8], "big") / 2**64
    return "val" if fraction < val_share else "train"


def assign_splits(
    keys: list[tuple[str, str]], groups: list[int], val_share: float, seed: int
) -> list[str]:
    """Every member of a group takes the split of the group's smallest key."""
    canonical: dict[int, tuple[str, str]] = {}
    for key, g in zip(keys, groups):
        canonical[g] = min(canonical.get(g, key), key)
    return [split_for(*canonical[g], val_share, seed) for g in groups]


# ---------------------------------------------------------------------------
# Output
# ---------------------------------------------------------------------------


def sanitized_name(package: str, source_file: str) -> str:
    """Readable, filesystem-safe name from the interesting tail of the path."""
    tail = source_file
    for prefix in (
        "usr/share/gcompris-qt/rcc/",
        "usr/share/scratch/Media/",
        "usr/share/wallpapers/",
        "usr/share/backgrounds/",
        "usr/share/palapeli/",
    ):
        tail = tail.replace(prefix, "")
    tail = re.sub(r"\.rcc:/gcompris/src/activities/[^/]+/", "_", tail)
    tail = re.sub(r"/(contents|resource)/", "/", tail)
    tail = re.sub(r"\.\w+$", "", tail)
    name = re.sub(r"[^A-Za-z0-9.-]+", "_", tail).strip("_")
    if len(name) > 100:
        name = name[:90] + "-" + hashlib.sha1(tail.encode()).hexdigest()[:8]
    return f"{package}__{name}"


def resize_to_max_side(img: Image.Image, max_side: int) -> Image.Image:
    img = img.convert("RGB")
    if max(img.size) > max_side:
        scale = max_side / max(img.size)
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        img = img.resize(size, Image.Resampling.LANCZOS)
    return img


def make_contact_sheet(items: list[tuple[Image.Image, str]], path: Path, cell: int = 160) -> None:
    """Grid of thumbnails with a caption each, for eyeballing the filters."""
    cols = 8
    rows = max(1, -(-len(items) // cols))
    sheet = Image.new("RGB", (cols * cell, rows * (cell + 24)), "white")
    draw = ImageDraw.Draw(sheet)
    for k, (img, text) in enumerate(items):
        thumb = ImageOps.contain(img.convert("RGB"), (cell - 4, cell - 4))
        x, y = (k % cols) * cell, (k // cols) * (cell + 24)
        sheet.paste(thumb, (x + 2, y + 2))
        for line_no, line in enumerate((text[:26], text[26:52])):
            draw.text((x + 2, y + cell + line_no * 11), line, fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


# ---------------------------------------------------------------------------
# Pipeline
# ---------------------------------------------------------------------------


@dataclass
class Kept:
    cand: Candidate
    image: Image.Image  # already resized, RGB
    stats: Stats
    hash: int


def open_image(data: bytes, max_side: int) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    # JPEG only: decode at a reduced DCT scale that still covers max_side on both
    # axes -- several times faster on the 5120 px wallpapers, no visible loss.
    img.draft("RGB", (max_side, max_side))
    img.load()
    return img


def evaluate(
    cand: Candidate, copyright_index: CopyrightIndex, max_side: int
) -> tuple[str | None, Image.Image | None, Stats | None]:
    """Decide on one candidate: (reject reason or None, decoded image, stats).

    Cheap rules (name, copyright credit) run before decoding the image.
    """
    cand.license, credit = copyright_index.lookup(cand.source_file.split(":")[-1])
    reason = rejected_by_name(cand.package, cand.source_file)
    if reason is None and re.search(ILLUSTRATION_CREDIT_PATTERN, credit):
        reason = "credit:illustration"
    if reason is not None:
        return reason, None, None
    try:
        img = open_image(cand.load(), max_side)
    except Exception as exc:  # corrupt/unsupported file: skip it, don't abort the run
        return f"unreadable:{type(exc).__name__}", None, None
    stats = compute_stats(img)
    return reject_by_pixels(stats, is_trusted_photo(cand.package, cand.source_file)), img, stats


def collect(
    packages: list[str], cache: Path, max_side: int, sheets: Path | None
) -> tuple[list[Kept], Counter]:
    """Download, unpack, enumerate and filter; returns kept images and reject counts."""
    debs = download_debs(packages, cache)
    kept: list[Kept] = []
    rejects: Counter = Counter()
    rejected_samples: list[tuple[Image.Image, str]] = []
    for pkg in packages:
        root = extract_deb(debs[pkg], cache / "unpacked" / pkg)
        copyright_index = load_copyright(root, pkg)
        n_before = len(kept)
        for cand in iter_candidates(pkg, root):
            reason, img, stats = evaluate(cand, copyright_index, max_side)
            if reason is not None:
                rejects[(pkg, reason.split(":")[0])] += 1
                if sheets is not None and img is not None:
                    rejected_samples.append((img, f"{reason} {caption(cand, stats)}"))
                continue
            small = resize_to_max_side(img, max_side)
            kept.append(Kept(cand, small, stats, dhash(small)))
        print(f"[collect] {pkg}: kept {len(kept) - n_before}", flush=True)
    if sheets is not None:
        write_sheets(sheets, kept, rejected_samples)
    return kept, rejects


def caption(cand: Candidate, s: Stats) -> str:
    name = cand.source_file.rsplit("/", 1)[-1]
    return f"f{s.flat_frac:.2f} c{s.colors_per_px:.2f} m{s.mid_grad_frac:.2f} s{s.chroma_p95:.0f} {name}"


def write_sheets(sheets: Path, kept: list[Kept], rejected: list[tuple[Image.Image, str]]) -> None:
    page = 96  # cells per sheet keeps each PNG viewable
    kept_items = [(k.image, caption(k.cand, k.stats)) for k in kept]
    for name, items in (("kept", kept_items), ("rejected", rejected)):
        for start in range(0, len(items), page):
            make_contact_sheet(items[start : start + page], sheets / f"{name}_{start // page:02d}.png")


def dedupe(kept: list[Kept]) -> tuple[list[Kept], int]:
    """Keep the largest image of each near-duplicate group."""
    groups = group_by_distance([k.hash for k in kept], DEDUPE_MAX_DISTANCE)
    best: dict[int, Kept] = {}
    for k, g in zip(kept, groups):
        area = k.stats.width * k.stats.height
        if g not in best or area > best[g].stats.width * best[g].stats.height:
            best[g] = k
    unique = [k for k in kept if any(k is b for b in best.values())]
    return unique, len(kept) - len(unique)


def write_output(kept: list[Kept], out: Path, val_share: float, seed: int) -> list[dict]:
    """Save JPEGs and manifest.csv; returns the manifest rows."""
    for sub in ("train", "val"):
        shutil.rmtree(out / sub, ignore_errors=True)
        (out / sub).mkdir(parents=True, exist_ok=True)
    keys = [(k.cand.package, k.cand.source_file) for k in kept]
    groups = group_by_distance([k.hash for k in kept], SPLIT_GROUP_MAX_DISTANCE)
    splits = assign_splits(keys, groups, val_share, seed)
    rows, used = [], set()
    for k, split in sorted(zip(kept, splits), key=lambda t: (t[0].cand.package, t[0].cand.source_file)):
        name = unique_name(sanitized_name(k.cand.package, k.cand.source_file), used)
        rel = f"{split}/{name}.jpg"
        k.image.save(out / rel, "JPEG", quality=95)
        rows.append(
            dict(path=rel, split=split, package=k.cand.package, source_file=k.cand.source_file,
                 license=k.cand.license, width=k.image.width, height=k.image.height)
        )
    with open(out / "manifest.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["path"])
        writer.writeheader()
        writer.writerows(rows)
    return rows


def unique_name(name: str, used: set[str]) -> str:
    candidate, n = name, 1
    while candidate.lower() in used:
        n += 1
        candidate = f"{name}-{n}"
    used.add(candidate.lower())
    return candidate


def print_summary(rows: list[dict], rejects: Counter, n_dupes: int, seconds: float) -> None:
    print("\n== photos per package and split")
    per = Counter((r["package"], r["split"]) for r in rows)
    for pkg in sorted({p for p, _ in per}):
        print(f"  {pkg:30s} train {per[(pkg, 'train')]:4d}  val {per[(pkg, 'val')]:4d}")
    splits = Counter(r["split"] for r in rows)
    print(f"  {'TOTAL':30s} train {splits['train']:4d}  val {splits['val']:4d}  all {len(rows)}")
    print("== photos per license")
    for lic, n in Counter(r["license"] for r in rows).most_common():
        print(f"  {lic:30s} {n:4d}")
    print("== rejected (package, reason)")
    for (pkg, reason), n in sorted(rejects.items()):
        print(f"  {pkg:30s} {reason:14s} {n:4d}")
    print(f"== near-duplicates removed: {n_dupes}")
    print(f"== done in {seconds:.0f} s")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("data/photos"))
    ap.add_argument("--max-side", type=int, default=800)
    ap.add_argument("--val-share", type=float, default=0.15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache", type=Path, default=Path("data/debs"), help="where .debs are downloaded and unpacked")
    ap.add_argument("--sheets", type=Path, default=None, help="write kept/rejected contact sheets here")
    ap.add_argument("--packages", nargs="*", default=PACKAGES, help="subset of packages (debugging)")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    Image.MAX_IMAGE_PIXELS = TRUSTED_MAX_PIXELS
    t0 = time.time()
    kept, rejects = collect(args.packages, args.cache, args.max_side, args.sheets)
    unique, n_dupes = dedupe(kept)
    rows = write_output(unique, args.out, args.val_share, args.seed)
    print_summary(rows, rejects, n_dupes, time.time() - t0)


if __name__ == "__main__":
    main()
