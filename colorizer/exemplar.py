"""Colors from a reference photo: "make my old photo look like this one".

Exemplar-based colorization in the spirit of Welsh et al. (2002, match lightness and texture) and
He et al. ("Deep Exemplar-based Colorization", 2018, match deep features): the gray photo's cells are
matched to the reference photo's cells by the frozen VGG16 the flagship already has, and take their
colors from the best matches; where no match is confident, the automatic model's colors stay.

Steps (``reference_colorize``), on a 44×44 grid of the gray photo at 176 px (``MATCH_SIZE``; square, whatever the
flagship's own working size):
1. **Describe** every cell of the gray photo and of the reference(s) (with ``MIRRORED_VIEWS``, also
   their mirror images) by VGG16 blocks 3, 4 and 5 (``LEVEL_WEIGHTS``), each
   L2-normalized: block 3 is local texture, block 5 what the thing is. The reference keeps its aspect
   ratio; the gray photo is read as the flagship reads it.
2. **Match**: cosine similarity of every gray cell to every reference cell; the ``TOP_K`` best give a
   softmax-weighted mean color.
3. **Three sources, most specific first.** How related the reference is to the photo as a whole is
   the median best-match similarity (``RELATED_LOW`` → 0, ``RELATED_HIGH`` → 1). A cell whose best
   match is close (``MATCH_LOW`` → 0, ``MATCH_HIGH`` → 1) takes the matched colors, as far as the
   reference is related (a flat patch of an unrelated photo matches a flat patch of anything), smoothed
   over its neighbours by that trust. Where matches are weak, the colors come from what the reference
   says as a whole: its mean color at the cell's lightness (``lightness_palette``), again as far as it
   is related. Only the rest, what a reference that holds nothing like the photo cannot say, falls
   back to the automatic model's colors.
4. **Several references** (``match_references``): each speaks as far as it is related. A reference's
   similarities are lowered by how much less related it is than the most related one, so an unrelated
   photo added beside a good one lends neither matches nor palette, and two related ones share both
   (real pairs: a reference's two halves together beat either half; an unrelated second reference
   costs 0.02–0.15 dB instead of 0.7–0.9, docs/results.md).
5. **Hints** (a hint-taking model's): the user's word over the reference's, each hint's correction spread to the
   cells that look like its own, as the hint network spreads it (``hints.propagate_hints``).
6. **Join**: the blended colors reach the full-resolution L by the model's own upsampling.

The returned ``confidence`` says where each color came from: the share taken from the reference
(1 a match, ``related`` its palette, 0 the model's own guess).

Why this order: on real same-scene pairs, trusting the matches outright (nearest neighbours) beat
falling back to the automatic model wherever a match was only fair, and the reference's palette at a
lightness beats a guess from a model trained on other photos (docs/results.md, "Reference photos").

Entry points: ``Colorizer.colorize(image, reference=rgb)`` and ``reference_colorize(colorizer, image,
references)`` → ``ReferenceResult`` (the image, the automatic image, the confidence map).
"""
from __future__ import annotations

import os
import sys
import threading
from dataclasses import dataclass

import cv2
import numpy as np

from colorizer import lab8
from colorizer.color import normalize_l, resize, rgb_to_lab

__all__ = ["ReferenceResult", "ReferencePhotoError", "ReferenceCells", "reference_colorize", "reference_ab", "reference_cells",
           "reference_matcher", "match_references", "lightness_palette", "lightness_level", "nearest_present_level",
           "MATCH_SIZE", "MIN_REFERENCE_SIDE", "read_reference", "reference_shown", "too_small_reason",
           "usable_reference"]

MATCH_SIZE = 176            # the gray photo's working size (the flagship's); cells are 4×4 px of it
STRIDE = 4                  # block 3's stride: one cell per 4×4 input pixels
# The reference is matched with its longest side at this size (multiples of 16, aspect kept), shrunk or enlarged:
# VGG16's features are not scale-invariant, and the gray photo is matched at MATCH_SIZE. A 64×48 reference (the truth's
# own colors) gave 15 % of a photo's colors at its own size and 100 % enlarged (22.07 → 28.44 dB; session 37).
REFERENCE_MAX_SIDE = 256
# ...unless its shortest side would then be under MATCHED_MIN_SIDE: a long strip is matched at that height, its
# longest side up to REFERENCE_LONGEST (the cells, and so the cost, of a 256×256 one: 1024×60 gave 0 % at 256×16).
MATCHED_MIN_SIDE = 64
REFERENCE_LONGEST = 1024
MAX_REFERENCE_ASPECT = 20   # longer than this many times its width, a strip gives little even so (1024×40: 0–15 %)
# The smallest side of a reference taken: under it, block 5 has a cell or two across, nothing matches, and the
# result was the automatic one without a word (a 1×1, an 8×8 thumbnail of the truth, a 1×300 strip: session 34).
MIN_REFERENCE_SIDE = 32
GRAY_REFERENCE = "it is gray: it has no colors to give; use a color photo"
LEVEL_WEIGHTS = {3: 0.45, 4: 0.35, 5: 0.20}
TOP_K = 8
MATCH_TEMPERATURE = 0.02    # softmax over cosine similarities of the top K (lower: trust the best more)
# Similarities of these descriptors (weighted cosines), median best match over a photo's cells: the
# photo against itself ≈ 0.9, another view of the same scene ≈ 0.8, an unrelated photo ≈ 0.7, a plain
# card ≈ 0.4. A cell's best match → trust in its matched colors; the median over the photo → how
# related the reference is at all (trust in its palette). Chosen on real pairs (docs/results.md).
MATCH_LOW, MATCH_HIGH = 0.6, 0.8
RELATED_LOW, RELATED_HIGH = 0.55, 0.7
SMOOTH_SIGMA = 1.0          # cells: trust-weighted smoothing of matched colors
# Also match against the references' mirror images (a flipped object keeps its colors)? It doubles
# the reference's VGG16 passes and the matching, 1.56× → 1.0× the yardstick's time at 1 MP, for
# 0.05–0.09 dB on real pairs (pairs 29.51 → 29.42 dB, pairs-tune 29.11 → 29.06): not worth it.
MIRRORED_VIEWS = False
SHOWN_CELL = 0.999          # a reference cell gives colors only when this share of it is shown (not transparent)
PALETTE_BINS = 20           # lightness levels (of 5 L units) of the reference's palette


class ReferencePhotoError(ValueError):
    """A reference photo that cannot be used (one line: what and why). Not ``ReferenceError``: that name
    is Python's own (a dead weak reference), and shadowing it misled readers."""


@dataclass
class ReferenceResult:
    """``image``: uint8 RGB H×W×3 colored from the reference; ``confidence``: float32 h×w in [0, 1] on
    the matching grid, the share of each cell's color taken from the reference (1: a match; between:
    the reference's palette; 0: the model's own guess), before any hints (a hint-taking model's hints are spread
    over these colors after: ``_with_hints``); ``automatic``: the model's own result (None when not asked for:
    joining it costs a full-resolution pass)."""

    image: np.ndarray
    confidence: np.ndarray
    automatic: np.ndarray | None = None
    # float32 h×w in [0, 1], the part of ``confidence`` that close matches gave (the rest of it is the palette's):
    # with a reference related as a whole, ``confidence`` is 1 everywhere, matched or not (session 44's walk-through).
    matched: np.ndarray | None = None


class _Matcher:
    """The frozen VGG16 (blocks 3–5, as the flagship's encoder) and the matching, as TensorFlow
    graphs: in bfloat16 where it is fast (AMX/AVX512-BF16 CPUs without a GPU), else float32. The
    matching is one matrix product (thousands × thousands of cells × 1,280 features): in numpy it
    took seconds, in TensorFlow's oneDNN bfloat16 path tens of milliseconds."""

    def __init__(self):
        import tensorflow as tf

        from colorizer.models import hypercolumn

        dtype = hypercolumn.fast_encoder_dtype()
        self.encoder = hypercolumn.build_encoder(dtype, semantic=False)
        self.match_dtype = tf.bfloat16 if dtype else tf.float32
        self._describe = tf.function(self._describe_graph, input_signature=[tf.TensorSpec((1, None, None, 1), tf.float32)])
        self._top = tf.function(self._top_graph, input_signature=[tf.TensorSpec((None, None), tf.float32),
                                                                  tf.TensorSpec((None, None), tf.float32)])
        self._lock = threading.Lock()

    def _describe_graph(self, l_norm):
        return _cell_descriptors(self.encoder(l_norm, training=False))

    def _top_graph(self, target, cells):
        import tensorflow as tf

        similarity = tf.matmul(tf.cast(target, self.match_dtype), tf.cast(cells, self.match_dtype), transpose_b=True)
        return tf.math.top_k(tf.cast(similarity, tf.float32), k=tf.minimum(TOP_K, tf.shape(cells)[0]))

    def descriptors(self, L: np.ndarray) -> np.ndarray:
        """L (h×w in [0, 100], multiples of 16) → float32 (h/4·w/4)×D cell descriptors, unit length."""
        with self._lock:
            return self._describe(normalize_l(L)[None, :, :, None].astype(np.float32)).numpy()

    def top_matches(self, target: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Descriptors M×D and N×D → (similarities M×k, indices M×k) of each target's k best cells, best first."""
        with self._lock:
            values, indices = self._top(target, cells)
        return values.numpy(), indices.numpy()


def _cell_descriptors(blocks):
    """VGG16 blocks 3–5 of one image (TensorFlow tensors, 1×h/4×w/4×256, 1×h/8×w/8×512,
    1×h/16×w/16×512) → float32 (h/4·w/4)×D cell descriptors, unit length (a graph function)."""
    import tensorflow as tf

    grid = tf.shape(blocks[0])[1:3]
    parts = []
    for level, block in zip((3, 4, 5), blocks):
        block = tf.cast(block, tf.float32)
        if level != 3:  # blocks 4 and 5 are coarser: bilinear onto block 3's grid
            block = tf.image.resize(block, grid, method="bilinear")
        parts.append(tf.math.l2_normalize(block, axis=-1) * float(np.sqrt(LEVEL_WEIGHTS[level])))
    features = tf.concat(parts, axis=-1)
    return tf.reshape(features, (-1, features.shape[-1]))  # dot products = weighted sum of per-level cosines


_describe_blocks = None
_describe_blocks_lock = threading.Lock()


def descriptors_of_blocks(blocks) -> np.ndarray:
    """VGG16 blocks 3–5 of one image, already computed (arrays or tensors, batch of 1) → the cell
    descriptors ``_Matcher.descriptors`` would compute from its lightness: for a network whose own
    encoder is this VGG16 (``hypercolumn_hints``), without a second pass through it."""
    global _describe_blocks
    import tensorflow as tf

    with _describe_blocks_lock:
        if _describe_blocks is None:
            _describe_blocks = tf.function(lambda b3, b4, b5: _cell_descriptors((b3, b4, b5)), reduce_retracing=True)
        return _describe_blocks(*(tf.convert_to_tensor(block) for block in blocks)).numpy()


_matcher: _Matcher | None = None
_matcher_lock = threading.Lock()


def reference_matcher() -> _Matcher:
    global _matcher
    with _matcher_lock:
        if _matcher is None:
            _matcher = _Matcher()
        return _matcher


def _reference_size(shape: tuple[int, ...]) -> tuple[int, int]:
    """(h, w) of the resized reference: aspect kept, longest side REFERENCE_MAX_SIDE, or shortest side
    MATCHED_MIN_SIDE where that is longer (the longest side at most REFERENCE_LONGEST), multiples of 16."""
    height, width = shape[:2]
    scale = max(REFERENCE_MAX_SIDE / max(height, width), MATCHED_MIN_SIDE / min(height, width))
    scale = min(scale, REFERENCE_LONGEST / max(height, width))
    return tuple(max(16, int(round(side * scale / 16)) * 16) for side in (height, width))


def _checked_reference(reference, index: int) -> np.ndarray:
    reference = np.asarray(reference)
    if reference.dtype != np.uint8 or reference.ndim != 3 or reference.shape[2] != 3 or min(reference.shape[:2]) < 1:
        raise ReferencePhotoError(f"reference {index + 1}: expected a uint8 RGB H×W×3 photo, got {reference.dtype} "
                             f"array of shape {reference.shape}")
    small = too_small_reason(reference.shape)
    if small:
        raise ReferencePhotoError(f"reference {index + 1}: {small}")
    return reference


def _refuse_gray(reference: np.ndarray, index: int, visible=None) -> None:
    """``ReferencePhotoError`` for a gray reference photo (R = G = B wherever it shows: ``visible``, None for every
    pixel), as the command line and the pages refuse its file: given to the Python API it drained the result's colors
    without a word (session 34's audit)."""
    mask = None if visible is None else np.asarray(visible, bool)
    shown = reference if mask is None or mask.shape != reference.shape[:2] else reference[mask]
    if shown.size and np.array_equal(shown[..., 0], shown[..., 1]) and np.array_equal(shown[..., 1], shown[..., 2]):
        raise ReferencePhotoError(f"reference {index + 1}: {GRAY_REFERENCE}")


def too_small_reason(shape: tuple[int, ...]) -> str | None:
    """Why a reference of ``shape`` (H×W…) is too small to match against, or None: the one rule the command line, the
    Colorize page and ``reference_cells`` share."""
    if min(shape[:2]) < MIN_REFERENCE_SIDE:
        return (f"{shape[1]}×{shape[0]} px is too small to match the photo's parts against (at least "
                f"{MIN_REFERENCE_SIDE} px a side)")
    if max(shape[:2]) > MAX_REFERENCE_ASPECT * min(shape[:2]):
        return (f"{shape[1]}×{shape[0]} px is too narrow a strip to match the photo's parts against (at most "
                f"{MAX_REFERENCE_ASPECT} times as long as it is wide)")
    return None


@dataclass
class ReferenceCells:
    """Every cell of the reference photo(s) (and their mirror images, ``MIRRORED_VIEWS``): ``descriptors`` N×D (unit length),
    ``ab`` N×2 and ``lightness`` N (raw Lab units)."""

    descriptors: np.ndarray
    ab: np.ndarray
    lightness: np.ndarray
    source: np.ndarray | None = None  # N: which reference photo each cell comes from (0, 1, …)

    def __iter__(self):  # unpacks as (descriptors, ab, lightness): reference_ab(colorizer, L, *cells)
        return iter((self.descriptors, self.ab, self.lightness))


def read_reference(path) -> tuple[np.ndarray, np.ndarray | None]:
    """A reference photo's file (the command line's) → (uint8 RGB, the pixels it shows: ``reference_shown``), for
    ``reference_colorize``'s ``visible``; ``ImageError`` (one line naming the file) when it cannot be read, is gray,
    is too small (``too_small_reason``) or what it shows gives no color."""
    from colorizer.imageio import ImageError, read_image

    image = read_image(path)
    try:  # before any model loads
        return image.rgb, usable_reference(image.rgb.shape, image.alpha, image.was_color)
    except ReferencePhotoError as err:
        raise ImageError(str(path), str(err)) from None


def usable_reference(shape: tuple[int, ...], alpha: np.ndarray | None, was_color: bool) -> np.ndarray | None:
    """A decoded reference photo (its RGB's ``shape``, its alpha plane or None, whether its file held colors) → the
    pixels it shows (``reference_shown``; None when opaque); ``ReferencePhotoError`` with the reason when the
    matcher could not use it: what it shows gives no color, it is gray, or it is too small (``too_small_reason``).
    The one check the command line and the Colorize, L/a/b and Video pages make before a model or a queue's turn
    (the Video page checked all but gray, and a gray reference failed after the clip's wait: session 35)."""
    shown = reference_shown(alpha)
    if not was_color:  # a gray reference drained the result's colors, silently
        raise ReferencePhotoError(GRAY_REFERENCE)
    small = too_small_reason(shape)
    if small:
        raise ReferencePhotoError(small)
    return shown


def reference_shown(alpha: np.ndarray | None) -> np.ndarray | None:
    """A reference's alpha plane (uint8 H×W; None for an opaque photo) → the pixels it shows (alpha > 0; None when
    opaque): the one rule the command line, the pages and ``reference_cells`` share. ``ReferencePhotoError`` when
    they give no color: checked here, before any matching, with ``reference_cells``' own test (a reference that
    showed a few pixels but no whole cell passed a check of "any pixel shown", then failed in the matcher, after
    its wait in the queue, saying it was transparent all over)."""
    if alpha is None:
        return None
    shown = np.asarray(alpha) > 0
    if not _shown_cells(shown, _reference_size(shown.shape)).any():
        raise ReferencePhotoError(_no_colors(shown))
    return shown


def _shown_cells(shown: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The pixels a reference shows (bool H×W) → which of its cells at the matcher's ``size`` are wholly shown
    (bool grid): only those give colors (a cell's color is a mean over its pixels, hidden ones too)."""
    grid = (size[0] // STRIDE, size[1] // STRIDE)
    return resize(np.ascontiguousarray(resize(shown.astype(np.float32), size)), grid) >= SHOWN_CELL


def _no_colors(shown: np.ndarray) -> str:
    """Why a reference whose cells are none of them wholly shown gives no color, in words."""
    if not shown.any():
        return "it is transparent all over: no colors to give"
    side = STRIDE * max(shown.shape) / max(_reference_size(shown.shape))
    if side < 2:  # enlarged to the matcher's scale (a small reference): a patch is a pixel and its neighbours
        return ("too little of it is shown: its colors come from pixels with no transparent pixel beside them, and it "
                "has none")
    return (f"too little of it is shown: its colors come from patches of about {side:.0f}×{side:.0f} px with no "
            "transparent pixel, and it has none")


def reference_cells(references: list[np.ndarray], visible: list | None = None) -> ReferenceCells:
    """Reference photos (and their mirror images, ``MIRRORED_VIEWS``) → their cells' descriptors, colors and lightness.

    ``visible``: per reference, None or a bool H×W of the pixels it shows (a PNG's alpha > 0). A cell not wholly
    shown is left out (its color is a mean over its pixels, hidden ones too): the colors under a transparent area
    are in the file but not in the photo (a cutout's hidden magenta painted a face pink); ``ReferencePhotoError``
    when a reference shows none of its cells."""
    if visible is not None and (isinstance(visible, np.ndarray) or len(visible) != len(references)):
        raise ReferencePhotoError(f"{len(references)} reference photo(s) and visible pixels for "
                                  f"{'one' if isinstance(visible, np.ndarray) else len(visible)}: give one per photo")
    matcher = reference_matcher()
    descriptors, colors, lightness, source = [], [], [], []
    for i, reference in enumerate(references):
        reference = _checked_reference(reference, i)
        shown = None if visible is None or visible[i] is None else np.asarray(visible[i], bool)
        if shown is not None and shown.shape != reference.shape[:2]:  # a mask stretched onto the photo would lie
            raise ReferencePhotoError(f"reference {i + 1}: its visible pixels are {shown.shape[1]}×{shown.shape[0]}, "
                                      f"the photo {reference.shape[1]}×{reference.shape[0]}")
        size = _reference_size(reference.shape)
        small = resize(reference, size)
        keep = None if shown is None else _shown_cells(shown, size)
        if keep is not None and not keep.any():  # before the VGG16 pass: nothing of it would be used
            raise ReferencePhotoError(f"reference {i + 1}: {_no_colors(shown)}")
        views = [(small, keep)]
        if MIRRORED_VIEWS:
            views.append((np.ascontiguousarray(small[:, ::-1]), None if keep is None else keep[:, ::-1]))
        for view, view_keep in views:
            lab = rgb_to_lab(view)
            grid = (view.shape[0] // STRIDE, view.shape[1] // STRIDE)
            kept = np.ones(grid[0] * grid[1], bool) if view_keep is None else view_keep.reshape(-1)
            descriptors.append(matcher.descriptors(lab[..., 0])[kept])
            cells = resize(lab, grid).reshape(-1, 3)[kept]
            colors.append(cells[:, 1:])
            lightness.append(cells[:, 0])
            source.append(np.full(len(cells), i, np.int32))
    return ReferenceCells(np.concatenate(descriptors), np.concatenate(colors), np.concatenate(lightness),
                          np.concatenate(source))


def match(target: np.ndarray, cells: np.ndarray, colors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Target descriptors M×D against reference cells N×D (ab N×2) → (ab M×2: the softmax-weighted mean
    color of the ``TOP_K`` best matches; M: the best match's similarity)."""
    top_similarity, top = reference_matcher().top_matches(target, cells)     # M×k weighted cosines, best first
    weights = np.exp((top_similarity - top_similarity.max(axis=1, keepdims=True)) / MATCH_TEMPERATURE)
    weights /= weights.sum(axis=1, keepdims=True)
    mean = np.einsum("mk,mkc->mc", weights, colors[top])
    return mean.astype(np.float32), top_similarity[:, 0].astype(np.float32)


def match_references(target: np.ndarray, cells: np.ndarray, colors: np.ndarray,
                     sources: np.ndarray) -> tuple[np.ndarray, np.ndarray, dict[int, float]]:
    """``match`` against several references, each as far as it is related to the photo: a reference's
    similarities are lowered by how much less related it is (median best match) than the most related
    one, so an unrelated photo added beside a good reference lends neither its matches nor its palette.
    → (ab M×2, best similarity M after that lowering, {reference: its palette's weight}, weights
    summing to 1, a softmax of the relatedness gaps at ``MATCH_TEMPERATURE``). ``sources``: N, which
    reference each cell comes from. One reference: ``match``."""
    if len(np.unique(sources)) == 1:
        return (*match(target, cells, colors), {int(sources[0]): 1.0})
    per_reference = {int(r): match(target, cells[sources == r], colors[sources == r]) for r in np.unique(sources)}
    related = {r: float(np.median(similarity)) for r, (_, similarity) in per_reference.items()}
    gaps = {r: max(related.values()) - value for r, value in related.items()}
    lowered = np.stack([per_reference[r][1] - gaps[r] for r in per_reference])          # R×M
    choice = np.exp((lowered - lowered.max(axis=0)) / MATCH_TEMPERATURE)
    choice /= choice.sum(axis=0)
    ab = np.einsum("rm,rmc->mc", choice, np.stack([per_reference[r][0] for r in per_reference]))
    palette = {r: float(np.exp(-gap / MATCH_TEMPERATURE)) for r, gap in gaps.items()}
    total = sum(palette.values())
    return ab.astype(np.float32), lowered.max(axis=0).astype(np.float32), {r: w / total for r, w in palette.items()}


def lightness_level(lightness: np.ndarray, bins: int = PALETTE_BINS) -> np.ndarray:
    """L (0–100, any shape) → the index of its level among ``bins`` lightness levels of equal width."""
    return np.clip((np.asarray(lightness) / 100.0 * bins).astype(int), 0, bins - 1)


def nearest_present_level(present: np.ndarray, bins: int = PALETTE_BINS) -> np.ndarray:
    """The levels that hold pixels (sorted, non-empty) → for each of the ``bins`` levels, the nearest of them."""
    return present[np.argmin(np.abs(np.arange(bins)[:, None] - present[None]), axis=1)]


def lightness_palette(lightness: np.ndarray, ab: np.ndarray, bins: int = PALETTE_BINS) -> np.ndarray:
    """The reference's cells (L N, ab N×2) → its mean color at each of ``bins`` lightness levels
    (bins×2): what the reference says a part of that lightness looks like, whatever it is. A level the
    reference lacks takes the nearest level it has."""
    index = lightness_level(lightness, bins)
    counts = np.bincount(index, minlength=bins).astype(np.float64)
    sums = np.stack([np.bincount(index, weights=ab[:, c], minlength=bins) for c in range(2)], axis=1)
    present = np.flatnonzero(counts)
    if not len(present):
        return np.zeros((bins, 2), np.float32)
    nearest = nearest_present_level(present, bins)
    return (sums[nearest] / counts[nearest, None]).astype(np.float32)


def _ramp(value, low: float, high: float):
    return np.clip((value - low) / max(high - low, 1e-6), 0.0, 1.0)


def _smoothed(ab: np.ndarray, confidence: np.ndarray) -> np.ndarray:
    """Confidence-weighted Gaussian smoothing of matched colors (normalized convolution)."""
    weight = cv2.GaussianBlur(confidence, (0, 0), SMOOTH_SIGMA) + 1e-6
    return cv2.GaussianBlur(ab * confidence[..., None], (0, 0), SMOOTH_SIGMA) / weight[..., None]


def reference_colorize(colorizer, image: np.ndarray, references, hints=None, with_automatic: bool = True,
                       visible=None, **options) -> ReferenceResult:
    """A ``Colorizer`` (its automatic colors fill in), a uint8 gray/RGB photo and one reference (uint8
    RGB, any size) or a list of them → ``ReferenceResult`` (``with_automatic``: also the automatic image).
    ``visible``: the pixels each reference shows (one bool H×W, or a list beside the references; see
    ``reference_cells``)."""
    single = isinstance(references, np.ndarray) or _is_pil(references)
    references = [_reference_pixels(r) for r in ([references] if single else _listed(references))]
    if not references:
        raise ReferencePhotoError("no reference photo given")
    if visible is not None and single and isinstance(visible, np.ndarray):  # one mask; a list of one is taken as is
        visible = [visible]
    if visible is not None and (isinstance(visible, np.ndarray) or len(visible) != len(references)):
        # as reference_cells says it, before any indexing (one mask beside several references, or too few)
        raise ReferencePhotoError(f"{len(references)} reference photo(s) and visible pixels for "
                                  f"{'one' if isinstance(visible, np.ndarray) else len(visible)}: give one per photo")
    for i, reference in enumerate(references):  # the photos given (a video's keyframe may be gray: not here)
        _refuse_gray(_checked_reference(reference, i), i, None if visible is None else visible[i])
    cells = reference_cells(references, visible)
    # 8-bit lightness, as ``Colorizer.colorize`` takes it: the automatic image shown beside is then exactly what the
    # model gives without a reference (float L moved it by up to 5 levels, 0.7 on average: session 35).
    L_full = lab8.lightness8(image)
    hint_grid = colorizer.hint_grid(hints, image.shape, L_full)
    blended, confidence, automatic_ab, matched = reference_ab(colorizer, L_full, *cells, sources=cells.source,
                                                              hint_grid=hint_grid, **options)
    return ReferenceResult(image=colorizer.join(L_full, blended), confidence=confidence,
                           automatic=colorizer.join(L_full, automatic_ab) if with_automatic else None, matched=matched)


def _is_pil(value) -> bool:
    pil = sys.modules.get("PIL.Image")   # imported wherever a PIL image exists
    return pil is not None and isinstance(value, pil.Image)


def _listed(references) -> list:
    """The references given as a list, tuple or other iterable; TypeError for a file's name, which ``list`` split into
    its characters (each then "a <U1 array of shape ()": session 39's API audit)."""
    if isinstance(references, (str, bytes, os.PathLike)) or references is None:
        raise TypeError(_NOT_PIXELS.format(type(references).__name__))
    return list(references)


def _reference_pixels(reference):
    """One reference as an array: a PIL image's pixels (``inference.pixels_of_pil``: a palette image as RGB), a file's
    name a TypeError; anything else as given, for ``_checked_reference`` to judge."""
    if isinstance(reference, (str, bytes, os.PathLike)) or reference is None:
        raise TypeError(_NOT_PIXELS.format(type(reference).__name__))
    if _is_pil(reference):
        from colorizer.inference import pixels_of_pil

        return pixels_of_pil(reference)
    return reference


_NOT_PIXELS = ("expected the reference photo's pixels (a uint8 RGB H×W×3 array, or a PIL image), not {}: read a file "
               "with colorizer.imageio.read_image(path).rgb")


def reference_ab(colorizer, L_full: np.ndarray, cells: np.ndarray, colors: np.ndarray,
                 lightness: np.ndarray | None = None, hint_grid=None, sources: np.ndarray | None = None,
                 **options) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The colors before the join, for callers that match many images against one set of reference
    cells (``reference_cells``; a video's frames against its keyframe): full-resolution L (float H×W in
    [0, 100], or uint8 L8 of ``colorizer.lab8``) and the reference cells' descriptors, ab and lightness
    (without it, no palette: weak matches fall back to the model) → (blended ab float32 on the matching
    grid, h×w×2; confidence h×w in [0, 1] and the part of it close matches gave, see ``ReferenceResult``; the
    model's automatic ab at its output size)."""
    size = (MATCH_SIZE, MATCH_SIZE)
    L_match = lab8.L_of(lab8.shrink(L_full, size)) if L_full.dtype == np.uint8 else resize(L_full, size)
    grid = (MATCH_SIZE // STRIDE, MATCH_SIZE // STRIDE)
    sources = np.zeros(len(cells), np.int32) if sources is None else sources  # one reference
    photo_cells = reference_matcher().descriptors(L_match)
    matched, similarity, weights = match_references(photo_cells, cells, colors, sources)
    matched, similarity = matched.reshape(*grid, 2), similarity.reshape(grid)
    automatic_ab = colorizer.predict_ab(colorizer.network_input(L_full), hint_grid=hint_grid, **options)[0]
    automatic_on_grid = resize(np.asarray(automatic_ab, np.float32), grid)
    # A reference unrelated to the photo as a whole has no say, not even where a flat patch of it
    # happens to match a flat patch of the photo.
    related = float(_ramp(np.median(similarity), RELATED_LOW, RELATED_HIGH))
    local = (_ramp(similarity, MATCH_LOW, MATCH_HIGH) * related).astype(np.float32)
    fallback = automatic_on_grid
    if lightness is None:  # no palette to fall back on: weak matches take the model's colors
        related = 0.0
    if related > 0:
        palette = sum(w * lightness_palette(lightness[sources == r], colors[sources == r]) for r, w in weights.items())
        cell_lightness = resize(L_match, grid)
        palette_ab = palette[lightness_level(cell_lightness)]
        fallback = related * palette_ab + (1.0 - related) * automatic_on_grid
    blended = local[..., None] * _smoothed(matched, local) + (1.0 - local[..., None]) * fallback
    confidence = local + (1.0 - local) * related
    if hint_grid is not None and np.asarray(hint_grid)[..., 2].any():
        blended = _with_hints(blended, np.asarray(hint_grid)[0], photo_cells)
    return blended.astype(np.float32), confidence.astype(np.float32), automatic_ab, local


def _with_hints(blended: np.ndarray, hint_grid: np.ndarray, photo_cells: np.ndarray) -> np.ndarray:
    """The user's hints over the reference's colors: each hint's correction spread to the cells that look like its
    own, as the hint network spreads it (``hints.propagate_hints``). The matched colors replaced the model's wherever
    a match was sure, and the hints, which only the model had read, went with them without a word (session 35)."""
    from colorizer.hints import propagate_hints

    grid = blended.shape[:2]
    if hint_grid.shape[:2] != grid:  # the hint network's grid, squeezed as the matching grid is
        # Each hinted cell to the cell of the matching grid it falls in, its color whole (a later one wins, as in
        # ``hints.hint_grid``): nearest resizing dropped about half the one-cell hints of a finer grid, and area
        # averaging mixed neighbouring hints into a color no one gave (session 35's reviews).
        rows, cols = np.nonzero(hint_grid[..., 2] > 0)
        moved = np.zeros((*grid, 3), np.float32)
        moved[rows * grid[0] // hint_grid.shape[0], cols * grid[1] // hint_grid.shape[1]] = hint_grid[rows, cols]
        hint_grid = moved
    return propagate_hints(blended, hint_grid, photo_cells)
