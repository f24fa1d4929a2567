#!/usr/bin/env python3
"""A nonparametric baseline: each pixel takes the colors of its nearest neighbours in a bank of
training-photo hypercolumns. No decoder is trained; it shows what the frozen VGG16 features alone
know about color, beside the flagship that learns a decoder on the same features.

Bank: the flagship's training crops (same photos, size and seed as ``train``, so the encoder
features come from the same on-disk cache), at the chroma grid (a quarter of the working size):
per pixel, the flagship encoder's blocks (VGG16 blocks 3, 4 and 5, and since run S1 EfficientNet-Lite0's
last block; the coarser ones repeated up to that grid), each block scaled by its RMS so no block
dominates, reduced to ``--dims`` principal components; ``--per-crop`` random pixels per crop with
their true ab. Query: the same hypercolumn of every pixel of the photo's grid; its ab is the mean of
the ``--k`` nearest bank pixels' ab, upsampled under L by the guided filter.

    python scripts/knn_baseline.py data/photos [--k 8 --dims 64 --per-crop 64] [--gallery]
    python scripts/knn_baseline.py data/photos --eval data/photos --eval gallery --eval data/eval/opencv

Prints ``colorizer.eval_report``'s table for the held-out split (or the gallery, or each ``--eval`` set:
a folder, or "gallery") with gray, the training palette and the flagship beside the baseline; the bank
is built once for all of them.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr, before the imports below
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

import colorizer  # noqa: E402
from colorizer import FLAGSHIP, data, train  # noqa: E402
from colorizer.baselines import TrainingPalette  # noqa: E402
from colorizer.color import join_lab_guided, luminance, normalize_l, resize, unnormalize_ab  # noqa: E402
from colorizer.eval_report import format_table  # noqa: E402
from colorizer.eval_sets import gallery_truths, held_out_truths  # noqa: E402
from colorizer.evaluate import evaluate_photos  # noqa: E402
from colorizer.features import FeatureCache, default_disk_dir  # noqa: E402
from colorizer.models import hypercolumn  # noqa: E402
from colorizer.upsample import guided_coefficients  # noqa: E402

GRID = hypercolumn.WORKING_SIZE // hypercolumn.OUTPUT_STRIDE


def hypercolumns(features: list[np.ndarray], scales: np.ndarray, rows=None) -> np.ndarray:
    """[block3 N×G×G×256, block4 N×G/2×G/2×512, block5 N×G/4×G/4×512] → N×G×G×1280 float32,
    each block divided by its RMS (``scales``); ``rows`` picks crops first (memory-mapped inputs)."""
    parts = []
    for block, scale in zip(features, scales):
        block = np.asarray(block if rows is None else block[rows], np.float32) / scale
        factor = GRID // block.shape[1]
        parts.append(block.repeat(factor, axis=1).repeat(factor, axis=2))
    return np.concatenate(parts, axis=-1)


class KnnColorizer:
    """``colorize(image)`` with the bank's nearest neighbours (see module docstring)."""

    def __init__(self, encoder, bank_x: np.ndarray, bank_ab: np.ndarray, scales, pca, k: int):
        from sklearn.neighbors import NearestNeighbors

        self.encoder, self.scales, self.pca, self.k = encoder, scales, pca, k
        self.bank_ab = bank_ab
        self.index = NearestNeighbors(n_neighbors=k).fit(bank_x)

    def colorize(self, image: np.ndarray) -> np.ndarray:
        L_full = luminance(image)
        x = normalize_l(resize(L_full, (hypercolumn.WORKING_SIZE,) * 2))[None, :, :, None].astype(np.float32)
        features = [np.asarray(f) for f in self.encoder(x, training=False)]
        query = self.pca.transform(hypercolumns(features, self.scales).reshape(-1, sum(f.shape[-1] for f in features)))
        _, neighbours = self.index.kneighbors(query)
        ab = self.bank_ab[neighbours].mean(axis=1).reshape(GRID, GRID, 2)
        return join_lab_guided(L_full, *guided_coefficients(L_full, ab))


def build_bank(model, data_dir: str, crops_per_photo: int, per_crop: int, dims: int, seed: int = 0):
    from sklearn.decomposition import PCA

    arch = hypercolumn
    _, _, train_crops, _ = train.crops(data_dir, arch.WORKING_SIZE, crops_per_photo, seed, print)
    batch = data.crop_batch(train_crops)
    x, ab_grid = batch["L_norm"], unnormalize_ab(arch._pool(batch["ab_norm"]))
    del batch
    features = FeatureCache(max_entries=0, disk_dir=default_disk_dir()).features(arch, model, x, train_crops, print)
    rng = np.random.default_rng(seed)
    sample = rng.choice(len(train_crops), size=min(200, len(train_crops)), replace=False)
    scales = np.array([np.sqrt(np.mean(np.square(np.asarray(f[np.sort(sample)], np.float32)))) for f in features])
    vectors, colors = [], []
    for start in range(0, len(train_crops), 64):
        chunk = np.arange(start, min(start + 64, len(train_crops)))
        columns = hypercolumns(features, scales, rows=chunk)
        for j, crop in enumerate(chunk):
            pick = rng.choice(GRID * GRID, size=per_crop, replace=False)
            vectors.append(columns[j].reshape(-1, columns.shape[-1])[pick])
            colors.append(ab_grid[crop].reshape(-1, 2)[pick])
    bank_x, bank_ab = np.concatenate(vectors), np.concatenate(colors).astype(np.float32)
    fit_rows = rng.choice(len(bank_x), size=min(20000, len(bank_x)), replace=False)
    pca = PCA(n_components=dims, random_state=seed).fit(bank_x[fit_rows])
    return pca.transform(bank_x).astype(np.float32), bank_ab, scales, pca


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="photo folder with train/ and val/ (scripts/fetch_photos.py)")
    parser.add_argument("--k", type=int, default=8)
    parser.add_argument("--dims", type=int, default=64)
    parser.add_argument("--per-crop", type=int, default=64)
    parser.add_argument("--crops-per-photo", type=int, default=10, help="as the flagship's training run (cache reuse)")
    parser.add_argument("--gallery", action="store_true", help="evaluate on the gallery instead of DIR/val")
    parser.add_argument("--eval", action="append", metavar="SET",
                        help="repeatable: a photo folder (its val/ split if it has one) or 'gallery'; default DIR")
    args = parser.parse_args(argv)
    started = time.time()
    flagship = colorizer.load(FLAGSHIP)
    bank_x, bank_ab, scales, pca = build_bank(flagship.model, args.dir, args.crops_per_photo, args.per_crop, args.dims)
    knn = KnnColorizer(flagship.model.get_layer("encoder"), bank_x, bank_ab, scales, pca, args.k)
    print(f"bank: {len(bank_x)} pixels × {bank_x.shape[1]} dims, built in {time.time() - started:.0f} s")
    sets = args.eval or ["gallery" if args.gallery else args.dir]
    for name in sets:
        photos = gallery_truths() if name == "gallery" else held_out_truths(name)
        summary = evaluate_photos(photos, {"baseline: training palette": TrainingPalette(),
                                           f"knn (k={args.k})": knn, FLAGSHIP: flagship})
        print(f"\n{len(photos)} photos ({name}), {time.time() - started:.0f} s in all")
        print(format_table(summary), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
