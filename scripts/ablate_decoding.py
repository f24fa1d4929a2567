#!/usr/bin/env python3
"""Measure two decodings of the flagship that are not shipped, through ``tune_decoding.py``
(docs/results.md, "A per-photo wash taken out where the model guessed" and "The training prior put back").

``--wash STRENGTH`` takes each photo's wash out where the model guessed. A photo's wash is the mean ab of
the network's cells weighted by 1 − certainty (the map the Colorize page shows). After the lightness
ceiling and before the colorfulness cap, each cell loses STRENGTH × (1 − certainty) × the wash
(``--wash-mode subtracted``), or only the part of its color along the wash, never past it (``clipped``: no
cell turns the complementary hue), or every cell STRENGTH × the wash (``every``).

``--prior-correction TAU`` divides the 313-bin probabilities by the class-rebalancing weights to the power
TAU before decoding (with ``--only-where-guessed``, weighted by 1 − certainty; logit adjustment: a network trained with per-class loss weights w outputs about
w·p(c|x), so TAU = 1 gives back the training colors' own posterior; Menon et al. 2021). The weights are
computed from the training photos' colors (``quantize.empirical_prior`` of every 4th pixel of
``DATA/train``, as ``rebalancing_weights``).

The rest of the arguments, after ``--``, are ``tune_decoding.py``'s:

    python scripts/ablate_decoding.py --wash 0.3 -- data/photos --grid '[{}, {"regression_gain": 1.2}]'
    python scripts/ablate_decoding.py --prior-correction 0.25 -- data/photos --grid '[{}, {"regression_gain": 1.5}]'
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

if __name__ == "__main__":  # run as a script: TensorFlow's loading chatter kept off stderr, before the imports below
    from colorizer.quiet_tensorflow import quiet_tensorflow

    quiet_tensorflow()

from colorizer import color, data, quantize  # noqa: E402
from colorizer.models import hypercolumn_decoding  # noqa: E402


def without_wash(ab: np.ndarray, guessed: np.ndarray, strength: float, mode: str) -> np.ndarray:
    """ab N×h×w×2 (raw units), ``guessed`` N×h×w in [0, 1] (1 − certainty) → ab with the wash taken out."""
    wash = (guessed[..., None] * ab).sum(axis=(1, 2)) / np.maximum(guessed.sum(axis=(1, 2)), 1e-6)[:, None]
    wash = wash[:, None, None, :]
    if mode == "every":
        return (ab - strength * wash).astype(np.float32)
    if mode == "subtracted":
        return (ab - strength * guessed[..., None] * wash).astype(np.float32)
    size = np.linalg.norm(wash, axis=-1)
    unit = wash / np.maximum(size[..., None], 1e-6)
    along = np.clip((ab * unit).sum(-1), 0.0, size)
    return (ab - (strength * guessed * along)[..., None] * unit).astype(np.float32)


def training_rebalancing_weights(data_dir: str) -> np.ndarray:
    """The 313 class-rebalancing weights of the training photos' colors (every 4th pixel each way)."""
    photos = data.load_photos(data.list_photos(data_dir, "train"))
    ab = np.concatenate([color.rgb_to_lab(photo)[::4, ::4, 1:].reshape(-1, 2) for photo in photos])
    return quantize.rebalancing_weights(quantize.empirical_prior(ab)).astype(np.float32)


def with_wash_taken_out(strength: float, mode: str) -> None:
    shipped = hypercolumn_decoding.within_lightness_ceiling

    def ceiling_then_wash(ab, batch_input, outputs, options):
        ab = shipped(ab, batch_input, outputs, options)
        guessed = 1.0 - hypercolumn_decoding.certainty(np.asarray(outputs["probs"]), **options)
        return without_wash(ab, guessed, strength, mode)

    hypercolumn_decoding.within_lightness_ceiling = ceiling_then_wash  # predict_ab looks it up at call time


def with_prior_put_back(tau: float, weights: np.ndarray, where_guessed: bool = False) -> None:
    shipped, factor = hypercolumn_decoding.decode, weights ** np.float32(-tau)

    def decode(probs, ab_reg_norm, *args, **kwargs):
        probs = np.asarray(probs, np.float32)
        corrected = probs * factor
        ab = shipped(corrected / corrected.sum(-1, keepdims=True), ab_reg_norm, *args, **kwargs)
        if not where_guessed or kwargs.get("head", "blend") != "blend":
            return ab
        # The shipped colors where the model was sure, the corrected ones as far as it guessed.
        options = {key: value for key, value in kwargs.items() if key != "head"}
        sure = hypercolumn_decoding.certainty(probs, **options)[..., None]
        return sure * shipped(probs, ab_reg_norm, *args, **kwargs) + (1.0 - sure) * ab

    hypercolumn_decoding.decode = decode  # predict_ab looks it up at call time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wash", type=float, default=0.0, metavar="STRENGTH")
    parser.add_argument("--wash-mode", choices=("subtracted", "clipped", "every"), default="subtracted")
    parser.add_argument("--prior-correction", type=float, default=0.0, metavar="TAU")
    parser.add_argument("--only-where-guessed", action="store_true",
                        help="the prior correction weighted by 1 − certainty: sure colors as shipped")
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="tune_decoding.py's arguments, after --")
    args = parser.parse_args(argv)
    rest = args.rest[1:] if args.rest[:1] == ["--"] else args.rest
    if args.wash:
        with_wash_taken_out(args.wash, args.wash_mode)
    if args.prior_correction:
        with_prior_put_back(args.prior_correction, training_rebalancing_weights(rest[0]), args.only_where_guessed)
    import tune_decoding
    return tune_decoding.main(rest)


if __name__ == "__main__":
    sys.exit(main())
