"""The base checkpoint of a fine-tune: ``load_base(name | folder | file)`` → ``Base`` (a freshly loaded
model, safe to train, with its architecture and card), and which checkpoints can be one.

A checkpoint made elsewhere fine-tunes too when its model chains input → ``encoder`` → ``decoder``
(gray01 → RGB or L → ab): ``ForeignArchitecture`` adapts it to the architecture contract
(``colorizer.models.contract``), trained with MSE like the project's own autoencoders.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from colorizer import checkpoints
from colorizer.color import resize
from colorizer.finetune.config import FinetuneConfig, FinetuneError
from colorizer.finetune.photos import MAX_PHOTO_SIDE
from colorizer.models import ARCHITECTURES
from colorizer.models.contract import Defaults, contract_by_name, contract_of, features_in_batches

__all__ = ["Base", "ForeignArchitecture", "load_base", "finetunable_checkpoints", "crop_size"]


class ForeignArchitecture(Defaults):
    """The architecture contract for a checkpoint made elsewhere that chains input → encoder → decoder."""

    def __init__(self, model, label: str):
        from colorizer.inference import infer_contract

        contract, self.WORKING_SIZE = infer_contract(model)
        if contract == "L_313":
            raise FinetuneError(f"{label}: fine-tuning a 313-bin model made elsewhere is not supported")
        chain = [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
        if chain != ["encoder", "decoder"]:
            raise FinetuneError(f"{label}: this checkpoint has no separate decoder to fine-tune "
                                f"(expected input → encoder → decoder, found {', '.join(chain)})")
        self.NAME = model.name
        kinds = contract_by_name(contract)
        self.INPUT_KIND, self.OUTPUT_KIND = kinds.input_kind, kinds.output_kind
        self.DESCRIPTION = f"Checkpoint made elsewhere ({contract})."
        self._out_size = model.outputs[0].shape[1]

    def training_pairs(self, batch: dict):
        x = batch["gray01"] if self.INPUT_KIND == "gray01" else batch["L_norm"]
        y = batch["rgb01"] if self.OUTPUT_KIND == "rgb" else batch["ab_norm"]
        if self._out_size and self._out_size != y.shape[1]:
            y = np.stack([resize(t, (self._out_size, self._out_size)) for t in y])
        return x, y

    def loss_and_metrics(self, prior=None):
        return "mse", ["mae"], None

    def encoder_features(self, model, x, batch_size: int = 8) -> list[np.ndarray]:
        return features_in_batches(model.get_layer("encoder"), x, batch_size, np.float32)

    def decoder_head(self, model):
        return model.get_layer("decoder")


@dataclass
class Base:
    """A loaded base checkpoint: a fresh model copy (safe to train), its architecture and card."""

    name: str
    model_path: Path
    model: object
    arch: object
    card: dict
    working_size: int
    fixed_size: int | None

    @property
    def contract(self) -> str:
        return contract_of(self.arch)

    @property
    def known(self) -> bool:
        """One of the project's architectures (not a checkpoint made elsewhere)."""
        return ARCHITECTURES.get(self.arch.NAME) is self.arch


def load_base(base: str | Path, viewer: str | None = None) -> Base:
    """A checkpoint name, folder or file → ``Base`` (a freshly loaded model, never a shared one);
    ``viewer``: a visitor's token, who may start only from a checkpoint they can see, by name."""
    try:  # a visitor's job names a checkpoint it may see, never a path on the server
        path, label = checkpoints.resolve(base, viewer)
    except checkpoints.CheckpointError as err:
        raise FinetuneError(str(err)) from None
    model = checkpoints.load_keras_model(path)
    card = checkpoints.read_card(path.parent) if path.name == "model.keras" else {}
    names = {layer.name for layer in model.layers}
    if not {"encoder", "decoder"} <= names:
        raise FinetuneError(f"{label}: this checkpoint has no separate decoder to fine-tune "
                            "(its model has no 'encoder' and 'decoder' submodels)")
    arch = ARCHITECTURES.get(checkpoints.card_architecture(card, model.name)) or ForeignArchitecture(model, label)
    fixed = model.inputs[0].shape[1] if not isinstance(model.inputs, dict) else None
    try:  # a card made elsewhere is held to its fields, as inference.load holds it (session 38's review)
        working = checkpoints.card_working_size(card.get("working_size") or arch.WORKING_SIZE,
                                                path.parent / "card.json")
    except checkpoints.CheckpointError as err:
        raise FinetuneError(str(err)) from None
    return Base(card.get("name") or label, path, model, arch, card, working, fixed)


def finetunable_checkpoints(viewer: str | None = None) -> dict[str, Path]:
    """name → folder of every checkpoint ``viewer`` may see (None: all) whose card names a known
    architecture (shipped + fine-tuned)."""
    from colorizer.inference import available_checkpoints

    found = {}
    for name, folder in available_checkpoints(viewer).items():
        card = checkpoints.read_card(folder)
        if checkpoints.card_architecture(card) in ARCHITECTURES or card.get("finetunable"):
            found[name] = folder
    return found


def crop_size(config: FinetuneConfig, base: Base) -> int:
    """The crop size to train at: the config's, else the model's fixed input or working size."""
    crop = config.crop or base.fixed_size or base.working_size
    if base.fixed_size and crop != base.fixed_size:
        raise FinetuneError(f"--crop: {base.name} takes {base.fixed_size}×{base.fixed_size} inputs only: pass --crop "
                            f"{base.fixed_size} or leave it out")
    multiple = base.arch.SIZE_MULTIPLE  # 16 for the hypercolumn models (VGG16's block 5 at 1/16); Defaults: 8
    if crop < 16 or crop % multiple or crop > MAX_PHOTO_SIDE:
        raise FinetuneError(f"--crop: the crop size must be a multiple of {multiple} from 16 to {MAX_PHOTO_SIDE} (the side photos "
                            f"are read at) for {base.name}, got {crop}")
    return int(crop)
