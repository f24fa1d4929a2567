"""Inference: any image in, a full-resolution color image out.

``load(name_or_path)`` → ``Colorizer``. ``Colorizer.colorize(image)`` takes uint8 gray H×W or RGB
H×W×3 (an RGB image is turned gray first: only its L is used) and returns uint8 RGB H×W×3. The
network runs at its working size (S×S, or about S² pixels in the photo's own aspect for an
architecture with ``KEEP_ASPECT``, see ``aspect_shape``); its a, b are upsampled and joined to the
input's own full-resolution L, so the output keeps every detail and the input's luminance (to within rounding, but
where a color outside sRGB is clipped: ``colorizer.color``).

Contracts a checkpoint can have (``colorizer.models.contract.CONTRACTS``; inferred from its
input/output shapes when it was made elsewhere): ``gray01_rgb`` (the CIFAR-10 report's code), ``L_ab``
and ``L_313`` (the 313 ab bins, decoded by annealed mean).
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np

from colorizer import colorfulness_gate, lab8, lite, quantize
from colorizer.hints import HintError, hint_grid, validate_hints, within_gamut
from colorizer.checkpoints import (CheckpointError, available_checkpoints, card_architecture, card_working_size,
                                   load_keras_model, read_card, resolve)
from colorizer.color import (ab_of_rgb, gray01_from_L, join_lab, join_lab_guided, lab_to_rgb, luminance, normalize_l, resize,
                             unnormalize_ab, unnormalize_l)
from colorizer.process import keep_large_buffers, one_blas_thread, release_unused
from colorizer.upsample import guided_coefficients
from colorizer.models import ARCHITECTURES, hint_taking_architectures
from colorizer.models.contract import (COMMON_OPTIONS, CONTRACTS, check_option_values, check_options, contract_of,
                                       default_temperature, is_whole_number, option_names)

__all__ = ["Colorizer", "Timed", "load", "HintError", "available_checkpoints", "infer_contract", "compiled_forward", "aspect_shape",
           "validated_image", "DEFAULT_FOREIGN_SIZE", "JIT_COMPILE", "MAX_ASPECT"]

_log = logging.getLogger(__name__)

DEFAULT_FOREIGN_SIZE = 256
# Architectures whose forward pass runs XLA-compiled (``jit_compile=True``; works on CPU). Measured
# on the project's 2-core CPU, XLA was within noise of TensorFlow's oneDNN graph for every
# architecture and slower for the ECCV16-sized reference, while adding 1–2 s of compilation to the
# first colorization: none is listed. ``python -m colorizer bench`` times both ways per architecture
# ("forward ms, XLA"); add ``name: True`` here where it shows a clear gain.
JIT_COMPILE: dict[str, bool] = {}
# The widest aspect ratio a KEEP_ASPECT network is run at; a panorama beyond it is squeezed to it.
MAX_ASPECT = 3.0


def aspect_shape(shape: tuple[int, ...], size: int, stride: int = 16, max_aspect: float = MAX_ASPECT) -> tuple[int, int]:
    """A photo's (H, W, ...) → the (h, w) to run a network at: about ``size``² pixels in the photo's own
    aspect ratio (clipped to ``max_aspect``), each side a multiple of ``stride``. A square photo gets
    (size, size) when ``size`` is a multiple of ``stride``.

    Why: the networks train on square crops of undistorted photos, and squeezing a 4:3 photo into a
    square makes everything in it a quarter narrower than anything seen in training (docs/results.md,
    "The photo's own aspect"). The same pixel budget keeps the time. The shapes form a small fixed set
    (one width per height, a portrait the landscape shape turned), so a network traced per shape is
    traced a bounded number of times whatever photos arrive.
    """
    if shape[0] > shape[1]:  # portrait: the landscape shape, turned
        w, h = aspect_shape((shape[1], shape[0]), size, stride, max_aspect)
        return h, w
    ratio = min(shape[1] / max(shape[0], 1), max_aspect)
    area = float(size * size)
    lowest = max(stride, int(size / np.sqrt(max_aspect) / stride) * stride)
    candidates = []
    for h in range(lowest, int(size * np.sqrt(max_aspect)) + stride + 1, stride):
        w = max(stride, int(round(area / h / stride)) * stride)
        candidates.append((abs(np.log(w / h / ratio)), abs(h * w - area), h, w))
    _, _, h, w = min(candidates)
    return h, w


def infer_contract(model, source: str | None = None) -> tuple[str, int]:
    """A foreign keras.Model → (contract name, working size); CheckpointError (naming ``source``, the
    file, when given, else the model) when none fits."""
    name = source or model.name
    inputs = model.inputs
    if len(inputs) != 1 or len(model.outputs) != 1:
        raise CheckpointError(
            f"{name}: fits no known contract: expected one input and one output, "
            f"got {len(inputs)} inputs and {len(model.outputs)} outputs"
        )
    in_shape, out_shape = tuple(inputs[0].shape), tuple(model.outputs[0].shape)
    if len(in_shape) != 4 or len(out_shape) != 4 or in_shape[-1] != 1:
        raise CheckpointError(
            f"{name}: fits no known contract: input {in_shape} → output {out_shape}; "
            "expected a 1-channel image in (gray or L) and 3 (RGB), 2 (ab) or 313 (ab bins) channels out"
        )
    contracts = {c.channels: c.name for c in CONTRACTS.values()}
    if out_shape[-1] not in contracts:
        raise CheckpointError(f"{name}: fits no known contract: {out_shape[-1]} output channels (expected 3, 2 or 313)")
    size = in_shape[1] or DEFAULT_FOREIGN_SIZE
    return contracts[out_shape[-1]], int(size)


class Timed(NamedTuple):
    """``Colorizer.timed_colorize``'s answer. ``first_of_shape``: the network had not run this input shape
    (``Colorizer.input_shape``) to the end before, by any call (the app's loading pass runs the square working
    size), so ``seconds`` include getting the network ready for it (a TensorFlow trace of the photo's aspect:
    seconds on two cores, where the next photo of that shape takes a tenth of a second)."""
    image: np.ndarray
    seconds: float
    first_of_shape: bool


@dataclass
class Colorizer:
    """A loaded model ready to colorize; safe to share between threads (one forward pass at a time).

    Derived attributes: ``arch`` (the architecture module, or None for a foreign model), ``network``
    (the part that runs at inference, e.g. the VAE's decoder), ``jit_compile`` (XLA or not, see
    ``JIT_COMPILE``), ``tf_forward`` (that network traced once, see ``compiled_forward``), ``forward``
    (what colorizing runs: ``tf_forward``, or LiteRT's after ``use_lite``, with the gate's prediction added),
    ``runtime`` and ``lite_status`` (which of the two, and why) and ``options`` (the option names
    ``colorize`` takes: ``contract.COMMON_OPTIONS`` and the architecture's own).
    """

    name: str
    model: object
    contract: str
    working_size: int
    card: dict = field(default_factory=dict)
    source: str = ""

    def __post_init__(self):
        keep_large_buffers()  # full-resolution arrays reused, not page-faulted anew (after any training too)
        one_blas_thread()  # numpy's small products must not leave a spinning thread beside TensorFlow
        self.arch = ARCHITECTURES.get(self.card.get("architecture", self.model.name))
        self.network = self.arch.inference_network(self.model) if self.arch else self.model
        self.jit_compile = JIT_COMPILE.get(self.arch.NAME if self.arch else "", False)
        # Runs at about working_size² pixels in the photo's own aspect (``aspect_shape``) or at S×S.
        self.keep_aspect = self.arch is not None and self.arch.KEEP_ASPECT
        # The traced network (see ``compiled_forward``); predict_ab runs it under the lock.
        self.tf_forward = compiled_forward(self.network, self.working_size, jit_compile=self.jit_compile)
        # A checkpoint's colorfulness gate (the shipped flagship's) adds its prediction to the outputs.
        self.gate = colorfulness_gate.beside(self.source) if self.arch is not None and self.source else None
        self.forward = self._gated(self.tf_forward)
        # Which runtime ``forward`` runs on; ``use_lite`` may switch it to LiteRT.
        self.runtime, self.lite_status = "TensorFlow", "not asked for"
        # The options the architecture's predict_ab takes by name; the common ones it lacks are ignored.
        self._arch_options = option_names(self.arch) if self.arch else frozenset()
        self.options = frozenset(COMMON_OPTIONS) | self._arch_options
        self._lock = threading.Lock()
        self._shapes_run: set[tuple[int, int]] = set()  # network input shapes a pass has finished (``_ran``)

    def _gated(self, forward):
        return forward if self.gate is None else colorfulness_gate.with_prediction(forward, self.gate)

    def _ran(self, x: np.ndarray) -> None:
        """Note that the network finished a pass at network input ``x``'s shape (N×h×w×1), which is ready now
        (``timed_colorize``'s ``first_of_shape``). Called under the lock, after the pass."""
        self._shapes_run.add((int(x.shape[1]), int(x.shape[2])))

    def use_lite(self, wait: bool = False, convert: bool = False) -> threading.Thread | None:
        """Switch ``forward`` to LiteRT's XNNPACK kernels where that is faster (``colorizer.lite``: the flagship
        on a CPU without fast bfloat16): its flatbuffer rebuilt from the template ``export_lite`` wrote beside
        the checkpoint and this model's own weights, then checked against TensorFlow on a probe; in a daemon
        thread (``colorize`` runs on TensorFlow until then), or now with ``wait``. ``convert``: where there is
        no template, convert in this process (seconds, and ``lite.CONVERSION_MB`` of peak memory: for tools,
        not for a server). → the thread, or None when the path does not apply. ``lite_status`` says what
        happened; on any failure TensorFlow simply stays."""
        why = lite.unwanted(self.arch.NAME if self.arch else None)
        if why is not None:
            self.lite_status = why
            return None
        self.lite_status = "switching"
        thread = threading.Thread(target=self._switch_to_lite, args=(convert,), name=f"lite-{self.name}", daemon=True)
        thread.start()
        if wait:
            thread.join()
        return thread

    def export_lite(self) -> tuple[Path, float, dict]:
        """Convert this checkpoint's network for LiteRT (float32) and write its template beside the checkpoint
        (``lite.TEMPLATE``, ``lite.INDEX``), where ``use_lite`` looks → (the template, the largest difference
        from TensorFlow on a probe relative to each output's scale, the index). ``LiteError`` when it cannot
        be converted or disagrees; ValueError for a model that was not loaded from a checkpoint file."""
        folder = self._checkpoint_folder()
        if folder is None:
            raise ValueError(f"{self.name}: not loaded from a checkpoint file, nowhere to put a template")
        blob, names = lite.convert(self.network)
        error = lite.check(lite.LiteForward(blob, names), self.tf_forward, self._lite_probe())
        template, index = lite.make_template(blob, names, self.network)
        lite.save_template(folder, template, index)
        return folder / lite.TEMPLATE, error, index

    def _checkpoint_folder(self) -> Path | None:
        return Path(self.source).parent if self.source and Path(self.source).is_file() else None

    def _lite_probe(self) -> np.ndarray:
        # A smooth 3:4 gray picture: any input shows a wrong conversion; this one runs at a photo's shape.
        return self.network_input(np.linspace(0, 100, 96 * 128, dtype=np.float32).reshape(96, 128))

    def _switch_to_lite(self, convert: bool):
        start = time.perf_counter()
        try:
            folder = self._checkpoint_folder()
            filled = lite.fill_template(folder, self.network) if folder is not None else None
            if filled is not None:
                forward, where = lite.LiteForward(*filled), f"filled from {lite.TEMPLATE}"
            elif convert:
                forward, where = lite.LiteForward(*lite.convert(self.network)), "converted in this process"
            else:
                self.lite_status = (f"TensorFlow kept: no {lite.TEMPLATE} beside the checkpoint "
                                    "(python -m colorizer export-lite --checkpoint … writes it)")
                return
            lite.check(forward, self.tf_forward, self._lite_probe())
        except (lite.LiteError, OSError) as err:
            self.lite_status = f"TensorFlow kept: {err}"
            _log.warning("%s: %s", self.name, self.lite_status)
            return
        except Exception as err:  # noqa: BLE001 - a background thread: whatever LiteRT raised, TensorFlow stays
            self.lite_status = f"TensorFlow kept: {type(err).__name__}: {err}"
            _log.exception("%s: switching to LiteRT failed", self.name)
            return
        with self._lock:
            self.forward = self._gated(forward)
            self.runtime = "LiteRT (XNNPACK)"
        release_unused()  # the rebuilt flatbuffer's and a conversion's temporary copies go back to the system
        self.lite_status = f"{where}, switched in {time.perf_counter() - start:.1f} s"

    @property
    def param_count(self) -> int:
        return int(self.card.get("parameters", {}).get("total") or self.model.count_params())

    @property
    def is_stochastic(self) -> bool:
        return self.arch is not None and self.arch.STOCHASTIC

    @property
    def has_temperature(self) -> bool:
        return self.contract == "L_313"

    @property
    def default_temperature(self) -> float | None:
        """The temperature it decodes at when none is given (``contract.default_temperature``); None without one."""
        return default_temperature(self.arch) if self.has_temperature else None

    @property
    def takes_hints(self) -> bool:
        """True for a hint-taking architecture (``TAKES_HINTS``): ``colorize(image, hints=[...])``."""
        return self.arch is not None and self.arch.TAKES_HINTS

    def hint_grid(self, hints, shape: tuple[int, ...], lightness: np.ndarray | None = None) -> np.ndarray | None:
        """User hints on an image of ``shape`` → the network's 1×h×w×3 hint input; None for a model
        without hints (an empty list is fine there; any hint is a ``HintError``). ``lightness``: the image's L
        (float or uint8 L8), so that each hint's color is one the photo can show at its lightness
        (``hints.within_gamut``)."""
        hints = self._checked_hints(hints, shape)
        if not self.takes_hints:
            return None
        return hint_grid(hints, shape, self.arch.hint_grid_shape(self.working_size), lightness)[None]

    def _checked_hints(self, hints, shape: tuple[int, ...]) -> list[dict]:
        """``hints`` checked against an image of ``shape`` (``HintError``, also for any hint to a model without
        hints): what ``colorize`` asks before its work, the grid made once the lightness is known."""
        hints = validate_hints([] if hints is None else hints, shape, source=self.name)
        if hints and not self.takes_hints:
            raise HintError(f"{self.name}: this model takes no color hints (hint-taking: "
                            f"{', '.join(hint_taking_architectures())})")
        return hints

    def input_shape(self, shape: tuple[int, ...]) -> tuple[int, int]:
        """A photo's (H, W, ...) → the (h, w) this network runs it at: ``aspect_shape`` for an architecture
        with ``KEEP_ASPECT``, else the square working size."""
        if self.keep_aspect:
            return aspect_shape(shape, self.working_size)
        return self.working_size, self.working_size

    def network_input(self, L_full: np.ndarray) -> np.ndarray:
        """Full-resolution lightness → 1×h×w×1 network input (``input_shape``). ``L_full``: float L
        (H×W, [0, 100]) or uint8 L8 (``lab8.lightness8``), which is shrunk in 8 bits, 4-6× faster."""
        size = self.input_shape(L_full.shape)
        L_small = lab8.L_of(lab8.shrink(L_full, size)) if L_full.dtype == np.uint8 else resize(L_full, size)
        return self._input_of(L_small)

    def prepared(self, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 gray H×W or RGB H×W×3 → (its full-resolution lightness, uint8 L8 H×W for ``join``
        (``colorizer.lab8``: L·255/100, rounded); the network input, as ``network_input(L8)``): what
        ``colorize`` computes before the network, in one pass over a gray photo's pixels
        (``lab8.lightness8_and_shrunk``)."""
        L8, L8_small = lab8.lightness8_and_shrunk(image, self.input_shape(image.shape))
        return L8, self._input_of(lab8.L_of(L8_small))

    def _input_of(self, L_small: np.ndarray) -> np.ndarray:
        """float L (h×w, [0, 100]) → the network's 1×h×w×1 input, per its contract."""
        if self.contract == "gray01_rgb":
            x = gray01_from_L(L_small)  # the same gray the model was trained on (colorizer.data)
        else:
            x = normalize_l(L_small)
        return x[None, :, :, None].astype(np.float32)

    def predict_ab(self, x: np.ndarray, hint_grid: np.ndarray | None = None, **options) -> np.ndarray:
        """N×h×w×1 network input (``prepared``, ``network_input``: h×w is ``input_shape``, the square working size
        or the photo's own aspect) → raw ab N×h'×w'×2 at the network's output size (``hint_grid``: the
        hint input of a hint-taking model, see ``hint_grid``). ``options``: names in ``self.options``
        (TypeError for any other); those this model does not use are ignored."""
        check_options(options, self.options, self.name)
        check_option_values(options, self.name, self.arch)
        # temperature or seed None is "not given", as check_option_values reads it: passed on, unet313 and a model made
        # elsewhere compared None with a number (session 38's code review). (spread=None means something: no spreading.)
        options = {k: v for k, v in options.items() if v is not None or k not in NOT_GIVEN_WHEN_NONE}
        with self._lock:
            if self.arch is not None:
                used = {k: v for k, v in options.items() if k in self._arch_options}
                if hint_grid is not None:
                    used["hint_grid"] = hint_grid
                ab = self.arch.predict_ab(self.forward, x, **used)
                self._ran(x)
                return ab
            outputs = np.asarray(self.forward(x))
            self._ran(x)
        if self.contract == "gray01_rgb":
            return np.stack([ab_of_rgb(np.clip(img, 0, 1)) for img in outputs])
        if self.contract == "L_ab":
            return unnormalize_ab(outputs)
        return quantize.annealed_mean(outputs, options.get("temperature", quantize.DEFAULT_TEMPERATURE))

    def colorize(self, image: np.ndarray, hints: list[dict] | None = None, reference=None, reference_visible=None,
                 **options) -> np.ndarray:
        """uint8 gray H×W or RGB H×W×3 → uint8 RGB H×W×3. A gray photo gives the same result either way,
        fastest as H×W (a gray file's ``DecodedImage.pixels``).

        ``options``: ``temperature`` (313-bin models), ``seed`` (stochastic ones), ``head`` (a 313-bin
        model's decoding), ``spread`` (hint-taking ones), ``mirror`` (the flagship: True also runs the mirror image
        and averages, twice the time), and the keys of the architecture's ``DECODE``; each model ignores those that
        do not apply to it, any other name is a TypeError, and a value it cannot take (``contract.check_option_values``)
        a TypeError or ValueError naming it. ``image``: also a PIL image (any mode but RGBA or a palette image with
        transparency; a gray one's alpha is dropped).

        ``hints``: ``[{"x": col, "y": row, "rgb": [r, g, b]}, ...]`` (optional ``"radius"``, pixels) in
        the image's own coordinates, for a hint-taking model (``takes_hints``); see ``colorizer.hints``.
        ``reference``: a uint8 RGB photo (any size) or a list of them to take the colors from, this
        model's colors filling in where nothing matches, and ``reference_visible`` the pixels it shows (None: all of
        them); see ``colorize_with_reference``."""
        check_options(options, self.options, self.name)
        check_option_values(options, self.name, self.arch)
        image = validated_image(image)
        if reference is not None:
            return self.colorize_with_reference(image, reference, hints=hints, with_automatic=False,
                                                reference_visible=reference_visible, **options).image
        hints = self._checked_hints(hints, image.shape)  # a bad hint is refused before any work
        L8, x = self.prepared(image)
        grid = self.hint_grid(hints, image.shape, L8)
        return self.join(L8, self.predict_ab(x, hint_grid=grid, **options)[0])

    def colorize_with_reference(self, image: np.ndarray, reference, hints: list[dict] | None = None,
                                with_automatic: bool = True, reference_visible=None, **options):
        """→ ``exemplar.ReferenceResult``: the image colored from the reference photo(s), the match
        confidence map and (``with_automatic``) this model's automatic result (``colorizer.exemplar``).
        ``reference_visible``: the pixels a reference shows (bool H×W, e.g. its PNG alpha > 0; a list for several):
        the colors its transparent pixels hide are not given."""
        from colorizer.exemplar import reference_colorize

        return reference_colorize(self, validated_image(image), reference, hints=hints, with_automatic=with_automatic,
                                  visible=reference_visible, **options)

    def suggested_colors(self, image: np.ndarray, x: float, y: float, hints: list[dict] | None = None,
                         count: int = 8) -> list[dict]:
        """The ``count`` most probable of the 313 ab bins at pixel (x=col, y=row), as colors at that
        pixel's lightness: ``[{"rgb": [r, g, b], "probability": p}, ...]``, most probable first (the
        palette of iDeepColor: what the network hesitates between there)."""
        # Checked before any answer: count=0 failed in OpenCV, -1 gave 312 colors, and a point outside the picture
        # was an empty answer from a model without the 313 bins, an error from one with them (session 39's audit).
        if not is_whole_number(count, 1):
            raise ValueError(f"{self.name}: count must be an integer of at least 1, not {count!r}")
        image = validated_image(image)
        validate_hints([{"x": x, "y": y, "rgb": [0, 0, 0]}], image.shape, source=self.name)
        if self.contract != "L_313" or self.arch is None or self.arch.predict_outputs is None:
            return []
        L_full = luminance(image)
        x_in = self.network_input(L_full)
        with self._lock:
            probs = self.arch.predict_outputs(self.forward, x_in, self.hint_grid(hints, image.shape, L_full))["probs"][0]
            self._ran(x_in)
        gh, gw = probs.shape[:2]
        cell = probs[min(int(y * gh / image.shape[0]), gh - 1), min(int(x * gw / image.shape[1]), gw - 1)]
        top = np.argsort(cell)[::-1][:count]
        # Each bin at the point's lightness with its chroma held within sRGB (``within_gamut``), as a hint of that
        # swatch paints: clipped in RGB, a vivid bin on a pale wall showed a darker, other-hued color than it painted.
        L = float(L_full[int(y), int(x)])
        lab = np.array([[L, *within_gamut(L, quantize.AB_BINS[i])] for i in top], np.float32)
        colors = lab_to_rgb(lab[None])[0]
        return [{"rgb": [int(c) for c in rgb], "probability": float(cell[i])} for rgb, i in zip(colors, top)]

    @property
    def has_certainty(self) -> bool:
        """True when the model can say where it was sure of its colors (``certainty``)."""
        return self.arch is not None and self.arch.certainty is not None

    def certainty(self, image: np.ndarray, hints: list[dict] | None = None, temperature: float | None = None) -> np.ndarray | None:
        """uint8 gray/RGB image → float32 h×w in [0, 1] at the network's output grid: where the decoding took
        the model's sure color (1) and where it guessed (0, muted colors); None for a model that cannot say."""
        return self.certainty_and_scene(image, hints, temperature)[0]

    def scene_colorfulness(self, image: np.ndarray, temperature: float | None = None) -> colorfulness_gate.SceneColorfulness | None:
        """uint8 gray/RGB image → how colorful the gate expects the scene to be, how colorful the model's
        own colors were, and the ceiling the shipped decoding holds them to (``colorfulness_gate``);
        None for a model without a gate."""
        return self.certainty_and_scene(image, temperature=temperature)[1]

    def certainty_and_scene(self, image: np.ndarray, hints: list[dict] | None = None, temperature: float | None = None
                            ) -> tuple[np.ndarray | None, colorfulness_gate.SceneColorfulness | None]:
        """(``certainty``, ``scene_colorfulness``) of one network pass: the Colorize page shows both."""
        if not self.has_certainty:
            return None, None
        check_option_values({"temperature": temperature}, self.name, self.arch)   # as colorize: NaN mapped "no certainty" anywhere
        image = validated_image(image)
        hints = self._checked_hints(hints, image.shape)  # a bad hint is refused before any work
        L8, x = self.prepared(image)
        grid = self.hint_grid(hints, image.shape, L8)
        with self._lock:
            outputs = self.arch.predict_outputs(self.forward, x, grid) if self.takes_hints else self.forward(x)
            self._ran(x)
        probs = np.asarray(outputs["probs"])
        certainty = self.arch.certainty(probs[0], temperature).astype(np.float32)
        if self.gate is None:
            return certainty, None
        options = {} if temperature is None else {"temperature": temperature}
        uncapped = self.arch.uncapped_ab  # the flagship's colors before its cap, as colorizing paints them
        ab = (uncapped(outputs, x, self.arch.decode_options_of(options)) if uncapped is not None
              else self.arch.decode(probs, np.asarray(outputs["ab_reg"]), **options))[0]
        expected = float(outputs[colorfulness_gate.OUTPUT][0])
        painted = colorfulness_gate.output_colorfulness(ab, unnormalize_l(x[0, ..., 0]))
        return certainty, colorfulness_gate.SceneColorfulness(expected, painted, self.arch.DECODE["colorfulness_cap"] * expected)

    def join(self, L_full: np.ndarray, ab: np.ndarray) -> np.ndarray:
        """Predicted ab (network output size) joined to the full-resolution lightness: bilinear, or
        guided by L's edges for architectures that declare ``UPSAMPLING = "guided"``. ``L_full``: uint8
        L8 (``lab8.lightness8``: the table-lookup join of ``colorizer.lab8``) or float L (``colorizer.color``'s
        float conversion, exact to float precision)."""
        guided = self.arch is not None and self.arch.UPSAMPLING == "guided"
        if L_full.dtype == np.uint8:
            return lab8.join_guided(L_full, *guided_coefficients(L_full, ab)) if guided else lab8.join(L_full, ab)
        if guided:
            return join_lab_guided(L_full, *guided_coefficients(L_full, ab))
        return join_lab(L_full, ab)

    def colorize_samples(self, image: np.ndarray, n_samples: int = 4, seed: int = 0, **options) -> list[np.ndarray]:
        """Several colorizations: different z for the VAE (seeds seed, seed+1, …); one otherwise."""
        # Before either branch: n_samples 0 gave [], seed "1" a str + int TypeError (session 39's API audit).
        if not is_whole_number(n_samples, 1):
            raise ValueError(f"{self.name}: n_samples must be an integer of at least 1, not {n_samples!r}")
        check_option_values({"seed": seed}, self.name, self.arch)
        seed = 0 if seed is None else seed   # None: not given, as colorize reads it
        if not self.is_stochastic:
            return [self.colorize(image, **options)]
        L8, x = self.prepared(validated_image(image))
        return [self.join(L8, self.predict_ab(x, seed=seed + i, **options)[0]) for i in range(n_samples)]

    def timed_colorize(self, image: np.ndarray, **options) -> Timed:
        """``colorize`` → ``Timed`` (the image, its seconds, whether the network had not run its shape before).
        Read before the pass: of two calls at a new shape at once, the second waits out the first's trace on the
        lock, so both times include it. A call that fails before the network leaves the shape new."""
        image = validated_image(image)   # before its shape is read: None was an IndexError
        first = self.input_shape(image.shape) not in self._shapes_run
        start = time.perf_counter()
        result = self.colorize(image, **options)
        return Timed(result, time.perf_counter() - start, first)


def compiled_forward(network, working_size: int, jit_compile: bool = False):
    """A Keras network → ``forward(x)``: a ``tf.function`` with a fixed input signature, traced once.

    ``x`` is one array (or a list, for several inputs) of any batch size; unknown spatial sizes are
    fixed at ``working_size`` (bilinear upsampling needs them static). A one-input network given
    another spatial shape runs a graph traced for that shape (``forward.other_shapes``). Inputs are cast to float32
    first, so no call can retrace on a dtype. A traced graph instead of ``model.predict``: predict's
    per-call overhead dwarfs a small network. ``jit_compile=True`` compiles it with XLA (CPU too);
    ``forward.traced`` is the ``tf.function``, for ``experimental_get_tracing_count()``.
    """
    import tensorflow as tf

    try:
        specs = [tf.TensorSpec((None, *(working_size if d is None else d for d in t.shape[1:])), tf.float32)
                 for t in network.inputs]
    except (AttributeError, TypeError, ValueError):  # a model without symbolic inputs: shape-relaxed tracing
        specs = None

    def call(x):
        return network(x, training=False)

    if specs is None:
        traced = tf.function(call, reduce_retracing=True, jit_compile=jit_compile)
    else:
        traced = tf.function(call, input_signature=[specs if len(specs) > 1 else specs[0]], jit_compile=jit_compile)

    # One-input networks also run at other spatial shapes (``aspect_shape``'s): one graph per shape,
    # traced on first use. The shapes come from a small fixed set, so the graphs stay few.
    other_shapes: dict[tuple[int, int], object] = {}
    lock = threading.Lock()

    def traced_at(spatial: tuple[int, int]):
        with lock:
            if spatial not in other_shapes:
                spec = tf.TensorSpec((None, *spatial, *specs[0].shape[3:]), tf.float32)
                other_shapes[spatial] = tf.function(call, input_signature=[spec], jit_compile=jit_compile)
            return other_shapes[spatial]

    def forward(x):
        if isinstance(x, (list, tuple)):
            return traced([np.asarray(part, np.float32) for part in x])
        x = np.asarray(x, np.float32)
        if specs is not None and len(specs) == 1 and tuple(x.shape[1:3]) != tuple(specs[0].shape[1:3]):
            return traced_at(tuple(int(d) for d in x.shape[1:3]))(x)
        return traced(x)

    forward.traced = traced
    forward.other_shapes = other_shapes
    return forward


NOT_GIVEN_WHEN_NONE = ("temperature", "seed")   # options whose None is "the model's own" (check_option_values)


def validated_image(image: np.ndarray) -> np.ndarray:
    """``image`` (a uint8 array or a PIL image) → uint8 gray H×W or RGB H×W×3; TypeError for a file's name or None,
    ValueError for any other array. What every entry point (``Colorizer``'s, a video's frames) asks first."""
    if image is None or isinstance(image, (str, bytes, os.PathLike)):
        # np.asarray made "x.png" a string array ("got dtype <U27"), None an object one (session 39's API audit).
        raise TypeError(f"expected the image's pixels (a uint8 H×W or H×W×3 array, or a PIL image), not "
                        f"{type(image).__name__}: read a file with colorizer.imageio.read_image(path).pixels")
    pil = sys.modules.get("PIL.Image")   # imported wherever a PIL image exists
    image = pixels_of_pil(image) if pil is not None and isinstance(image, pil.Image) else np.asarray(image)
    if image.dtype != np.uint8:
        raise ValueError(f"expected a uint8 image, got dtype {image.dtype}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[..., 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)) or min(image.shape[:2]) < 1:
        raise ValueError(f"expected a gray H×W or RGB H×W×3 image, got shape {image.shape}")
    return image


def pixels_of_pil(image) -> np.ndarray:
    """A PIL image → its pixels as ``colorize`` takes them: np.asarray gave a palette ("P") image's indices, which it
    took for gray levels (lightness inverted on an adaptive palette: session 39's API audit), and a 16-bit one's
    values. Palette images as RGB, or RGBA where they have transparency (refused below, as an RGBA image is);
    any other mode as a file of it is read (``imageio_pixels.to_arrays``: 16-bit and float scaled, CMYK to RGB, a gray
    picture's alpha dropped)."""
    if image.mode in ("L", "RGB", "RGBA"):
        return np.asarray(image)
    if image.mode in ("P", "PA"):
        return np.asarray(image.convert("RGBA" if image.mode == "PA" or "transparency" in image.info else "RGB"))
    from colorizer.imageio_pixels import to_arrays

    rgb, gray, _, _, _ = to_arrays(image, sixteen_bit=False)
    return rgb if gray is None else gray


def load(name_or_path: str | Path) -> Colorizer:
    """A checkpoint name (shipped or fine-tuned), folder, or ``.keras``/``.h5`` file → ``Colorizer``
    (``checkpoints.resolve``; CheckpointError, one line, when it names none)."""
    path, label = resolve(name_or_path)
    model = load_keras_model(path)
    card = read_card(path.parent) if path.name == "model.keras" else {}
    arch = ARCHITECTURES.get(card_architecture(card, model.name))
    if arch is not None:
        contract = contract_of(arch)
        # A file without a card (e.g. a .keras passed directly) may have been trained at another size:
        # a fixed input size in the model itself beats the architecture's default.
        size = card_working_size(card.get("working_size") or model.inputs[0].shape[1] or arch.WORKING_SIZE,
                                 path.parent / "card.json" if card else path)
    else:
        contract, size = infer_contract(model, source=Path(path).name)
    return Colorizer(name=label, model=model, contract=contract, working_size=size, card=card, source=str(path))
