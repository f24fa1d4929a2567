#!/usr/bin/env python3
"""Score decodings of a flagship checkpoint through the shipped path, on several sets, by the bars.

Unlike ``tune_flagship.py`` (cached network outputs, no colorfulness cap), every variant here runs
``Colorizer.colorize`` with its decoding options: the photo's own aspect, the colorfulness gate's cap,
the edge-guided join, exactly what the app and ``python -m colorizer evaluate`` do. A variant costs one
network pass per photo (a few seconds a set).

    python scripts/tune_decoding.py data/photos --checkpoint runs/s1/hypercolumn [--size 144]
        [--sets val,gallery,opencv,opencv-docs] [--choose-on val,gallery,opencv]
        [--grid '[{"regression_gain": 1.0}, {"confidence_low": 0.3, "confidence_high": 0.7}, {"mirror": true}]'] [--json out.json]
        [--ensemble runs/s3/hypercolumn]

Prints ``tune_flagship``'s per-set table (gain over gray / colorfulness ratio / right hue / quieter half /
worst quiet photo), then per variant the bars met on the choosing sets and the worst margin over them
(``tune_flagship.margin``). How run S1's decoding was chosen: docs/results.md, "Run S1".
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr, before the imports below
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

from colorizer.eval_report import write_json  # noqa: E402
from colorizer.evaluate import WithOptions, evaluate_photos  # noqa: E402
from colorizer.inference import load  # noqa: E402
from tune_flagship import BARS, format_sets_table, margin, photo_set  # noqa: E402


def averaged_forward(model, members: list):
    """``model.forward`` with the 313-bin probabilities and the regression averaged over ``model`` and
    ``members`` (each on its own encoder pass; the rest, the gate's prediction included, is ``model``'s):
    an ensemble of decoders, measured, not shipped (docs/results.md, "S1 and S3 together")."""
    first = model.forward

    def forward(x):
        outputs = dict(first(x))
        every = [outputs] + [member.forward(x) for member in members]
        for key in ("probs", "ab_reg"):
            outputs[key] = np.mean([np.asarray(o[key]) for o in every], axis=0)
        return outputs

    forward.traced, forward.other_shapes = getattr(first, "traced", None), getattr(first, "other_shapes", {})
    return forward


def bars_met(metrics: dict) -> int:
    return sum(metrics[key] >= floor for key, (floor, _) in BARS.items())


def label(options: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items()) or "as shipped"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", help="photo folder with a val/ split (scripts/fetch_photos.py)")
    parser.add_argument("--checkpoint", default="hypercolumn", help="name or folder (default: the shipped flagship)")
    parser.add_argument("--size", type=int, help="run at this working size instead of the card's")
    parser.add_argument("--ensemble", action="append", metavar="CHECKPOINT",
                        help="repeatable: average these checkpoints' outputs with --checkpoint's (its gate stays)")
    parser.add_argument("--sets", default="val,gallery,opencv,opencv-docs")
    parser.add_argument("--choose-on", default="val,gallery,opencv", help="the sets bars and margins are counted on")
    parser.add_argument("--grid", default="[{}]", help="a JSON list of decoding-option dicts ({} = as shipped)")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    model = load(args.checkpoint)
    if args.size:  # a new Colorizer, so its forward pass is traced for the new size
        model = dataclasses.replace(model, working_size=args.size)
    if args.ensemble:
        members = [load(name) for name in args.ensemble]
        members = [dataclasses.replace(m, working_size=model.working_size) for m in members]
        model.forward = averaged_forward(model, members)
    variants = {label(options): WithOptions(model, **options) for options in json.loads(args.grid)}
    summaries = {name: evaluate_photos(photo_set(name, args.dir), variants) for name in args.sets.split(",")}
    print(format_sets_table(summaries, list(variants)))
    choose = args.choose_on.split(",")
    for name in variants:
        met = sum(bars_met(summaries[s][name]) for s in choose)
        worst = min(margin(summaries[s][name]) for s in choose)
        print(f"{name}: bars met on {'+'.join(choose)} {met} of {len(BARS) * len(choose)}, worst margin {worst:+.2f}")
    if args.json:
        write_json(summaries, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
