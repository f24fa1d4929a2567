#!/usr/bin/env python3
"""Average the stored weights of checkpoints of one architecture into one checkpoint (a weight soup,
Wortsman et al. 2022): an ensemble's colors at one network's cost.

    python scripts/soup_checkpoints.py weights/hypercolumn runs/z75bd/hypercolumn --out runs/soup

Why it can work here where averaging two runs from scratch fails (docs/results.md, "Model soups of S1's draws"):
each ingredient is the first one's decoder trained a little further (fine-tuned or distilled from it), so their
weights stay in one basin and their mean is a network there too. The shipped flagship is such a soup: run SD1
and a distilled detail-tiles run (docs/results.md, "The soup ships").

Writes ``OUT/<name of the first>/``: ``model.keras`` with every stored weight the element-wise mean of the
ingredients' (float64 sums), the first one's other files (its colorfulness gate, ``history.csv``), and its
card with ``training.soup``: each ingredient's folder, command and creation date, and the others' data and
training records (so ``data.check_shippable`` sees every source any of them learned from), and no ``evaluation`` (the first one's
numbers are not the soup's). A LiteRT template is not copied: ``python -m colorizer export-lite`` makes one.
"""
from __future__ import annotations

import argparse
import copy
import shlex
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr, before the imports below
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

from colorizer import checkpoints  # noqa: E402

# Files of a checkpoint folder the soup does not inherit: its own weights and card are written anew, and a
# LiteRT template was exported from the first ingredient's weights (export-lite makes the soup's).
NOT_COPIED = ("model.keras", "card.json", "lite_template.tflite.gz", "lite_template.json")


def mean_weights(weight_lists: list[list[np.ndarray]]) -> list[np.ndarray]:
    """The element-wise mean of several networks' weights (the same shapes, in the same order)."""
    first = weight_lists[0]
    for other in weight_lists[1:]:
        if len(other) != len(first) or any(a.shape != b.shape for a, b in zip(first, other)):
            raise ValueError("the checkpoints' weights differ in number or shape: not one architecture")
    return [(sum(w[i].astype(np.float64) for w in weight_lists) / len(weight_lists)).astype(first[i].dtype)
            for i in range(len(first))]


def ingredient(folder: Path, card: dict, first: bool = False) -> dict:
    """What the soup's card keeps of one ingredient: where it was, how it was made, what it learned from (for
    the first, whose card the soup's is, its data and training are the card's own)."""
    made = {"folder": str(folder), "command": card.get("command"), "created": card.get("created")}
    return made if first else {**made, "data": card.get("data"), "training": card.get("training")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoints", nargs="+", type=Path, help="checkpoint folders (model.keras, card.json); "
                        "the first one's card, gate and history are the soup's")
    parser.add_argument("--out", required=True, type=Path, help="folder for the soup's checkpoint")
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if len(args.checkpoints) < 2:
        print("error: a soup needs at least two checkpoints", file=sys.stderr)
        return 1
    cards = [checkpoints.read_card(folder) for folder in args.checkpoints]
    architectures = {card.get("architecture", folder.name) for card, folder in zip(cards, args.checkpoints)}
    if len(architectures) != 1:
        print(f"error: the checkpoints are of different architectures ({', '.join(sorted(architectures))})", file=sys.stderr)
        return 1
    models = [checkpoints.load_keras_model(checkpoints.checkpoint_file(folder)) for folder in args.checkpoints]
    weights = [model.get_weights() for model in models]
    try:
        soup = mean_weights(weights)
    except ValueError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    differ = sum(not all(np.array_equal(w[i], weights[0][i]) for w in weights[1:]) for i in range(len(soup)))
    models[0].set_weights(soup)

    first = args.checkpoints[0]
    folder = args.out / first.name
    checkpoints.save_model_atomic(models[0], folder / "model.keras")
    for path in sorted(first.iterdir()):
        if path.is_file() and path.name not in NOT_COPIED:
            checkpoints.atomic_write_bytes(folder / path.name, path.read_bytes())
    card = copy.deepcopy(cards[0])
    card.pop("evaluation", None)
    card.setdefault("training", {})["soup"] = {
        "ingredients": [ingredient(f, c, first=i == 0) for i, (f, c) in enumerate(zip(args.checkpoints, cards))],
        "weights_averaged": differ, "weights_total": len(soup)}
    card["command"] = f"python scripts/soup_checkpoints.py {shlex.join(argv)}"
    checkpoints.write_card(folder, card)
    print(f"wrote {folder}: the mean of {len(models)} checkpoints ({differ} of {len(soup)} weight arrays differed)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
