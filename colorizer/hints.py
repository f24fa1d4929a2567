"""User color hints (Zhang et al., "Real-Time User-Guided Image Colorization", SIGGRAPH 2017).

A hint is ``{"x": col, "y": row, "rgb": [r, g, b]}`` in the photo's own full-resolution pixel
coordinates, with an optional ``"radius"`` in pixels; a hint list is what ``Colorizer.colorize(image,
hints=...)`` and ``python -m colorizer colorize --hints HINTS.json`` take. A hint-taking network sees
them as a grid at its output resolution (``hint_grid``): three channels, a_norm·mask, b_norm·mask and
mask, zero everywhere without a hint, so no hints is the automatic mode of the same network.

- ``validate_hints(hints, shape, source)`` → the hints checked against an image (``HintError`` else);
- ``parse_hints_json(data, source)`` → the list in JSON text or bytes, checked for form;
  ``read_hints_file(path)`` → the same from a file;
Limits (a hints file is untrusted input): at most ``MAX_HINTS`` hints (each one costs the spreading a
row of a similarity matrix: 100,000 took 2.5 s a colorization), ``MAX_HINTS_JSON_BYTES`` of JSON nested at
most ``MAX_JSON_DEPTH`` deep (a list of objects holding a list is 3; Python's parser recurses once a
level, so ``[[[…]]]`` 100,000 deep raised RecursionError). Each refusal is one ``HintError`` line.
- ``hint_grid(hints, shape, grid_shape, lightness)`` → the network's hint input, each hint's color taken at the
  photo's lightness under it (``within_gamut``);
- ``simulate_grid_hints(ab_grid, rng, stride)`` → training hints, as the paper simulates them;
- ``sample_hints(rgb, n, seed)`` → evaluation hints: the truth's mean color in small patches.
"""
from __future__ import annotations

import functools
import json
import math
import numbers
from collections.abc import Callable, Sequence
from pathlib import Path

import cv2
import numpy as np

from colorizer.color import lab_to_rgb, normalize_ab, rgb_to_lab, unnormalize_ab

__all__ = ["HintError", "validate_hints", "parse_hints_json", "read_hints_file", "MAX_HINTS", "MAX_HINTS_JSON_BYTES",
           "MAX_JSON_DEPTH", "hint_grid", "simulate_grid_hints",
           "sample_hints", "hints_to_json", "propagate_hints", "within_gamut", "painted_color", "EVAL_RADIUS_SHARE"]

# Training hints (the paper's simulation): the number of points is geometric with p = 1/8 counted
# from zero (often none: automatic mode is trained too), each a square patch of side 1–9 px at the
# working size, centred by a Gaussian around the crop's centre (σ = a quarter of the side).
POINTS_P = 1 / 8
PATCH_SIDES = (1, 9)
# Evaluation hints: a patch whose radius is this share of the photo's short side (4 px at 400 px).
EVAL_RADIUS_SHARE = 0.01


# Enough for any guidance by hand (the paper's figures use tens; 20 already recover most of the truth).
MAX_HINTS = 300
MAX_HINTS_JSON_BYTES = 256 * 1024
MAX_JSON_DEPTH = 8


class HintError(ValueError):
    """A hint list that cannot be used; the message is one line naming the source and the reason."""


def _number(value, what: str, source: str) -> float:
    """``value`` as a finite float, or HintError; an integer too large for a float (JSON allows 10**40) is refused
    here, not by a TypeError in numpy further on."""
    try:
        number = float(value) if _is_real(value) else math.nan
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise HintError(f"{source}: {what} must be a number, got {_shown(value)}")
    return number


def _is_real(value) -> bool:
    """A real number, numpy's too (an np.int64 from an array's index, an np.uint8 from its pixels were refused:
    session 39's API audit), but not a bool, which is one to Python and no coordinate or color to a user."""
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


def _shown(value, limit: int = 40) -> str:
    """``repr(value)`` cut at ``limit`` characters, for an error line: a hostile file's value can be a 200 kB string
    or an integer past the 4,300 digits ``repr`` will write."""
    try:
        text = repr(value)
    except ValueError:
        return "a number too long to show"
    return text if len(text) <= limit else text[:limit] + "…"


def _check_form(hints, source: str) -> list[dict]:
    if not isinstance(hints, (list, tuple)):
        raise HintError(f"{source}: hints must be a list of {{\"x\", \"y\", \"rgb\"}} objects, got {type(hints).__name__}")
    if len(hints) > MAX_HINTS:
        raise HintError(f"{source}: {len(hints):,} hints; at most {MAX_HINTS} are taken per image")
    checked = []
    for i, hint in enumerate(hints):
        where = f"{source}: hint {i + 1}"
        if not isinstance(hint, dict) or not {"x", "y", "rgb"} <= set(hint):
            raise HintError(f"{where}: expected an object with \"x\", \"y\" and \"rgb\", got {_shown(hint)}")
        rgb = hint["rgb"]
        sequence = isinstance(rgb, Sequence) and not isinstance(rgb, (str, bytes)) or getattr(rgb, "ndim", 0) == 1
        if not sequence or len(rgb) != 3 or not all(_is_real(c) and 0 <= c <= 255 for c in rgb):
            raise HintError(f"{where}: \"rgb\" must be three numbers in 0–255, got {_shown(rgb)}")
        clean = {"x": _number(hint["x"], "\"x\"", where), "y": _number(hint["y"], "\"y\"", where),
                 "rgb": [int(round(c)) for c in rgb]}
        if hint.get("radius") is not None:
            clean["radius"] = _number(hint["radius"], "\"radius\"", where)
            if clean["radius"] < 0:
                raise HintError(f"{where}: \"radius\" must be ≥ 0, got {_shown(hint['radius'])}")
        checked.append(clean)
    return checked


def validate_hints(hints, shape: tuple[int, ...], source: str = "hints") -> list[dict]:
    """Hints checked for form and against an image of ``shape`` (H, W[, C]): each point inside it."""
    checked = _check_form(hints, source)
    height, width = shape[:2]
    for i, hint in enumerate(checked):
        if not (0 <= hint["x"] < width and 0 <= hint["y"] < height):
            raise HintError(f"{source}: hint {i + 1} at x={hint['x']:g}, y={hint['y']:g} is outside the "
                            f"{width}x{height} image")
    return checked


def _json_depth(text: str) -> int:
    """How deep brackets nest in JSON text (strings skipped), counted without parsing it, in one pass: a pattern
    for JSON strings took quadratic time on an unterminated one full of escaped quotes (a 256 kB upload held the
    server for minutes, session 25)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_hints_json(data: str | bytes, source: str = "hints") -> list[dict]:
    """JSON text or UTF-8 bytes (the form ``hints_to_json`` writes) → the hint list, checked for form;
    ``HintError`` (one line naming ``source``) for anything else, oversized or too deeply nested."""
    if len(data) > MAX_HINTS_JSON_BYTES:
        raise HintError(f"{source}: {len(data):,} bytes; a hints file is at most {MAX_HINTS_JSON_BYTES:,} bytes")
    try:
        # "utf-8-sig": a file saved "UTF-8 with BOM" (Windows Notepad's option) is UTF-8 text too (session 44's audit)
        text = data.decode("utf-8-sig") if isinstance(data, (bytes, bytearray)) else data.removeprefix("\ufeff")
    except UnicodeDecodeError:
        raise HintError(f"{source}: not a JSON hints file (not UTF-8 text)") from None
    if _json_depth(text) > MAX_JSON_DEPTH:
        raise HintError(f"{source}: not a hints file (JSON nested deeper than {MAX_JSON_DEPTH} levels)")
    try:
        content = json.loads(text)
    except (ValueError, RecursionError) as err:  # ValueError: malformed, or an integer of over 4,300 digits
        reason = (str(err).splitlines()[0] if isinstance(err, json.JSONDecodeError)
                  else "nested too deeply" if isinstance(err, RecursionError) else "a number with too many digits")
        raise HintError(f"{source}: not a JSON hints file ({reason})") from None
    return _check_form(content, source)


def read_hints_file(path: str | Path) -> list[dict]:
    """The hint list in a JSON file (the form ``hints_to_json`` writes), checked for form."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_HINTS_JSON_BYTES:
            raise HintError(f"{path}: {path.stat().st_size:,} bytes; a hints file is at most {MAX_HINTS_JSON_BYTES:,} bytes")
        data = path.read_bytes()
    except OSError as err:
        raise HintError(f"{path}: cannot read the hints file ({err.strerror or err})") from None
    return parse_hints_json(data, str(path))


def hints_to_json(hints: list[dict]) -> str:
    return json.dumps(_check_form(hints, "hints"), indent=1)


def _ab_of(rgb) -> np.ndarray:
    return rgb_to_lab(np.asarray(rgb, np.uint8).reshape(1, 1, 3))[0, 0, 1:]


# Chroma scales tried, largest first, for a hint's color at the photo's lightness (steps of 2.5 %).
_GAMUT_SCALES = np.linspace(1.0, 0.0, 41, dtype=np.float32)


def within_gamut(L: float, ab: np.ndarray) -> np.ndarray:
    """A color's a, b given at lightness ``L`` → the same hue at the most chroma (up to its own) that sRGB can show
    at that lightness. A swatch's a, b at the lightness of the pixel it is given to is often a color no screen
    shows: pure red (L 53) on a wall at L 81 was clipped in RGB to a red 15 L darker, and one hint darkened up to a
    quarter of a photo by 18-26 L (session 35's audit); with its chroma lowered, the photo keeps its lightness."""
    scales = _GAMUT_SCALES[:, None] * np.asarray(ab, np.float32)[None]
    lab = np.concatenate([np.full((len(scales), 1), L, np.float32), scales], axis=1)[None]
    rgb = cv2.cvtColor(lab, cv2.COLOR_Lab2RGB)  # float: clipped to [0, 1], so an out-of-gamut color comes back moved
    held = np.abs(rgb_to_lab(rgb)[0] - lab[0]).max(axis=1) < 1.0
    return scales[int(np.argmax(held))]  # gray (scale 0) always holds


def painted_color(rgb, L: float) -> list[int]:
    """The color a hint of ``rgb`` paints where the photo's lightness is ``L``: that L, the hint's hue, its chroma
    as far as sRGB holds it there (``within_gamut``); what a page shows beside its color picker."""
    ab = within_gamut(L, _ab_of(rgb))
    return [int(c) for c in lab_to_rgb(np.array([[[L, ab[0], ab[1]]]], np.float32))[0, 0]]


# A hint's square of more pixels than this is averaged from a summed-area table of the photo: its radius is the hints
# file's to say, and 300 hints of radius 1e9 on a 12-MP photo took 300 whole-picture means, 2 s of the server's one
# slot for each new file (session 44's audit); from the table every square costs four lookups.
LARGE_PATCH_PIXELS = 1 << 16


def _summed_area(lightness: np.ndarray) -> np.ndarray:
    """The photo's summed-area table, (H+1)×(W+1). float64: the sums of a 12-MP photo's L8 (up to 3e9) stay exact."""
    return cv2.integral(np.ascontiguousarray(lightness), sdepth=cv2.CV_64F)


def _lightness_under(lightness: np.ndarray, hint: dict, sums: Callable[[], np.ndarray]) -> float:
    """The photo's mean L over the hint's square (its radius, at least its own pixel); ``lightness`` is float L
    or uint8 L8 (``colorizer.lab8``), H×W; ``sums()``: its ``_summed_area``, which only a large square asks for
    (``hint_grid`` computes it once for all the hints)."""
    height, width = lightness.shape[:2]
    r = int(min(round(hint.get("radius") or 0.0), max(height, width)))  # beyond the photo: the whole photo
    y, x = int(hint["y"]), int(hint["x"])
    top, bottom, left, right = max(0, y - r), min(height, y + r + 1), max(0, x - r), min(width, x + r + 1)
    area = (bottom - top) * (right - left)
    if area <= LARGE_PATCH_PIXELS:
        mean = float(lightness[top:bottom, left:right].mean())
    else:
        table = sums()
        mean = float(table[bottom, right] - table[top, right] - table[bottom, left] + table[top, left]) / area
    return mean * 100 / 255 if lightness.dtype == np.uint8 else mean


def hint_grid(hints: list[dict], shape: tuple[int, ...], grid_shape: tuple[int, int],
              lightness: np.ndarray | None = None) -> np.ndarray:
    """Checked hints on an image of ``shape`` → float32 grid_h×grid_w×3 (a·mask, b·mask, mask).

    The photo is squeezed to the network's square input, so a point maps to its cell by each axis's
    own scale; a hint covers the cells within its radius (at least its own cell). Later hints win
    where two overlap. ``lightness``: the photo's full-resolution L (float, or uint8 L8), when known: each hint's
    color is then taken at the lightness under it (``within_gamut``); None: its a, b as given."""
    height, width = shape[:2]
    gh, gw = grid_shape
    grid = np.zeros((gh, gw, 3), np.float32)
    sums = functools.cache(lambda: _summed_area(lightness))  # once a hint's square is large, then for every hint
    for hint in hints:
        row, col = hint["y"] * gh / height, hint["x"] * gw / width
        ab = _ab_of(hint["rgb"])
        if lightness is not None:
            ab = within_gamut(_lightness_under(lightness, hint, sums), ab)
        radius = hint.get("radius") or 0.0
        dr, dc = radius * gh / height, radius * gw / width
        r0, r1 = int(np.clip(np.floor(row - dr), 0, gh - 1)), int(np.clip(np.floor(row + dr), 0, gh - 1))
        c0, c1 = int(np.clip(np.floor(col - dc), 0, gw - 1)), int(np.clip(np.floor(col + dc), 0, gw - 1))
        grid[r0:r1 + 1, c0:c1 + 1, :2] = normalize_ab(ab)
        grid[r0:r1 + 1, c0:c1 + 1, 2] = 1.0
    return grid


def simulate_grid_hints(ab_grid: np.ndarray, rng: np.random.Generator, stride: int) -> np.ndarray:
    """Truth ab_norm N×h×w×2 at the output grid (cells of stride×stride working-size pixels) → hint
    grids N×h×w×3, simulated as the paper does (see ``POINTS_P``, ``PATCH_SIDES``): each patch's
    mean true color over the cells it covers."""
    n, gh, gw, _ = ab_grid.shape
    size_h, size_w = gh * stride, gw * stride
    out = np.zeros((n, gh, gw, 3), np.float32)
    for i in range(n):
        for _ in range(rng.geometric(POINTS_P) - 1):
            side = int(rng.integers(PATCH_SIDES[0], PATCH_SIDES[1] + 1))
            top = int(np.clip(rng.normal(size_h / 2, size_h / 4) - side / 2, 0, size_h - side))
            left = int(np.clip(rng.normal(size_w / 2, size_w / 4) - side / 2, 0, size_w - side))
            rows = slice(top // stride, (top + side - 1) // stride + 1)
            cols = slice(left // stride, (left + side - 1) // stride + 1)
            out[i, rows, cols, :2] = ab_grid[i, rows, cols].reshape(-1, 2).mean(axis=0)
            out[i, rows, cols, 2] = 1.0
    return out


def sample_hints(rgb: np.ndarray, n: int, seed: int = 0, radius: float | None = None) -> list[dict]:
    """``n`` hints at seeded uniform random points of a color photo, each the truth's mean color in
    the (2·radius+1)² patch around it (radius: ``EVAL_RADIUS_SHARE`` of the short side by default)."""
    height, width = rgb.shape[:2]
    radius = max(1, round(EVAL_RADIUS_SHARE * min(height, width))) if radius is None else radius
    rng = np.random.default_rng(seed)
    hints = []
    for _ in range(n):
        y, x = int(rng.integers(height)), int(rng.integers(width))
        r = int(radius)
        patch = rgb[max(0, y - r):y + r + 1, max(0, x - r):x + r + 1].reshape(-1, 3).astype(np.float64)
        hints.append({"x": x, "y": y, "rgb": [int(round(c)) for c in patch.mean(axis=0)], "radius": float(radius)})
    return hints


# Spreading hints by feature similarity (``propagate_hints``): a hinted cell's correction reaches the
# cells that look like it (cosine similarity of VGG16 descriptors, softened by SPREAD_SHARPNESS) and
# are near it (a Gaussian of SPREAD_DISTANCE cells); SPREAD_DAMPING keeps cells like no hint as they were.
# Chosen on the held-out split with 10 simulated hints (docs/results.md has the grid): sharper
# similarity or shorter reach leaves most cells uncorrected, blunter spreads a hint across objects.
SPREAD_SHARPNESS = 0.1
SPREAD_DISTANCE = 30.0
SPREAD_DAMPING = 0.01


def propagate_hints(ab: np.ndarray, grid: np.ndarray, descriptors: np.ndarray, replace: bool = False) -> np.ndarray:
    """Predicted ab h×w×2 (raw units), its hint grid h×w×3 and unit cell descriptors (h·w)×D → ab with
    each hint's correction (hint color − predicted color there) spread to the cells that look like
    its cell, weighted by similarity and distance (``replace``: spread the hint color itself)."""
    h, w = ab.shape[:2]
    hinted = np.flatnonzero(grid[..., 2].ravel() > 0)
    if hinted.size == 0:
        return ab
    flat_ab = ab.reshape(-1, 2)
    hint_ab = unnormalize_ab(grid[..., :2].reshape(-1, 2)[hinted])  # the mask is 1 there: a·mask = a
    values = hint_ab if replace else hint_ab - flat_ab[hinted]
    rows, cols = np.divmod(np.arange(h * w), w)
    distance2 = (rows[:, None] - rows[hinted][None]) ** 2 + (cols[:, None] - cols[hinted][None]) ** 2
    similarity = descriptors @ descriptors[hinted].T
    weights = np.exp((similarity - 1.0) / SPREAD_SHARPNESS - distance2 / (2 * SPREAD_DISTANCE ** 2))
    total = weights.sum(axis=1, keepdims=True)
    spread = (weights @ values) / (total + SPREAD_DAMPING)
    share = total / (total + SPREAD_DAMPING)
    out = (1 - share) * flat_ab + spread if replace else flat_ab + spread
    return out.reshape(h, w, 2).astype(np.float32)
