#!/usr/bin/env python3
"""Average the trained weights of several epochs of one run into a new checkpoint (weight averaging,
"SWA" in Izmailov et al. 2018): a cheap ensemble that costs one network at inference.

    python -m colorizer train --arch hypercolumn ... --out /tmp/run --snapshots /tmp/run/snapshots
    python scripts/average_snapshots.py /tmp/run/hypercolumn /tmp/run/snapshots --epochs 4-8 --out /tmp/run_avg

Why it can work where averaging two runs fails (docs/results.md, "E and C together"): the epochs of one
run start from the same weights and stay near one minimum, so their mean is a network in the same
basin, often a flatter and more general point of it. Two runs start from different random weights.
(For the flagship it did not pay: the mean painted less color and was no better at equal color,
docs/results.md, "Run G".)

Writes ``OUT/<name>/`` with ``model.keras`` (the run's checkpoint, its trained layers replaced by the
mean), the run's ``history.csv`` and its card, with ``training.averaged_epochs`` added. Evaluate it
like any checkpoint: ``python scripts/tune_flagship.py data/photos --checkpoint OUT/<name> --grid shipped``.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr, before the imports below
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

from colorizer import checkpoints  # noqa: E402
from colorizer.loop import SaveEachEpoch  # noqa: E402
from colorizer.models import ARCHITECTURES  # noqa: E402
from colorizer.train import trained_part  # noqa: E402
from soup_checkpoints import mean_weights as soup_mean  # noqa: E402


def epoch_range(text: str) -> list[int]:
    """"4-8" → [4, 5, 6, 7, 8]; "3,5,7" → [3, 5, 7]."""
    if "-" in text:
        first, last = (int(part) for part in text.split("-", 1))
        return list(range(first, last + 1))
    return [int(part) for part in text.split(",")]


def mean_weights(trainable, snapshot_paths: list[Path]) -> list:
    """The element-wise mean of ``trainable``'s weights over the snapshot files (``soup_checkpoints.mean_weights``)."""
    every = []
    for path in snapshot_paths:
        trainable.load_weights(str(path))
        every.append(trainable.get_weights())
    return soup_mean(every)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="the run's checkpoint folder (model.keras, card.json)")
    parser.add_argument("snapshots", type=Path, help="the run's --snapshots folder")
    parser.add_argument("--epochs", required=True, type=epoch_range, help='epochs to average: "4-8" or "3,5,7"')
    parser.add_argument("--out", required=True, type=Path, help="folder for the averaged checkpoint")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)

    paths = [SaveEachEpoch.path(args.snapshots, epoch) for epoch in args.epochs]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"{args.snapshots}: no snapshot for {', '.join(missing)}", file=sys.stderr)
        return 1
    card = checkpoints.read_card(args.checkpoint)
    arch = ARCHITECTURES[card.get("architecture", args.checkpoint.name)]
    model = checkpoints.load_keras_model(checkpoints.checkpoint_file(args.checkpoint))
    trainable = trained_part(arch, model)  # what the snapshots hold
    trainable.set_weights(mean_weights(trainable, paths))

    folder = args.out / args.checkpoint.name
    checkpoints.save_model_atomic(model, folder / "model.keras")
    checkpoints.atomic_write_bytes(folder / "history.csv", (args.checkpoint / "history.csv").read_bytes())
    card.setdefault("training", {})["averaged_epochs"] = args.epochs
    card.pop("evaluation", None)  # the run's numbers are not this checkpoint's
    this = f"python scripts/average_snapshots.py {shlex.join(argv)}"
    card["command"] = f"{card['command']}; {this}" if card.get("command") else this
    checkpoints.write_card(folder, card)
    print(f"wrote {folder}: the mean of epochs {', '.join(map(str, args.epochs))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
