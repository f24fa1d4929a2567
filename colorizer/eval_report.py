"""Reporting ``colorizer.evaluate.evaluate_photos``' summaries: Markdown tables and strict JSON.

- ``format_table(summary)``: one row per model (``gray`` first, ``truth`` last), rates and AuC in percent.
- ``format_per_photo(summary)``: per model, its photos from the lowest gain over gray up.
- ``write_json(summary, path)``: the summary as it is, an infinite or undefined (NaN) number as null.
A table cell shows an undefined or missing value as "–".
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

__all__ = ["format_table", "format_per_photo", "write_json"]


def _cell(value: float | None, spec: str, scale: float = 1.0) -> str:
    """A table cell: "–" for an undefined (NaN or missing) value, "inf" stays "inf"."""
    return "–" if value is None or np.isnan(value) else format(value * scale, spec)


def format_table(summary: dict[str, dict]) -> str:
    """A Markdown table of ``evaluate_photos``' output (rates and AuC in percent, as Zhang et al. print them;
    the last column is ``colorfulness_corr``: "–" for gray, whose colorfulness is the same for every photo, as are
    its two columns against gray, itself)."""
    lines = [
        "| model | PSNR (dB) ↑ | SSIM ↑ | L2_ab ↓ | right hue (%) ↑ | AuC (%) ↑ | AuC rebal. (%) ↑ | colorfulness | ratio to truth "
        "| quieter half vs gray (dB) | worst quiet photo vs gray (dB) | colorfulness follows truth (r) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for label, m in summary.items():
        if label == "truth":
            continue
        cells = [_cell(m["psnr"], ".2f"), _cell(m["ssim"], ".4f"), _cell(m["l2_ab"], ".2f"),
                 *(_cell(m.get(k), ".1f", 100) for k in ("right_hue", "auc", "auc_rebalanced")),
                 _cell(m["colorfulness"], ".1f"), _cell(m["colorfulness_ratio"], ".2f"),
                 *(("–",) * 2 if label == "gray" else  # gray against itself: nothing to tell
                   (_cell(m.get("quiet_gain"), "+.2f"), _cell(m.get("worst_quiet_gain"), "+.2f"))),
                 _cell(m.get("colorfulness_corr"), "+.2f")]
        lines.append(f"| {label} | {' | '.join(cells)} |")
    truth = summary.get("truth")
    if truth:
        lines.append(f"| truth | – | – | – | – | – | – | {truth['colorfulness']:.1f} | 1.00 | – | – | – |")
    return "\n".join(lines)


def format_per_photo(summary: dict[str, dict], worst: int | None = None) -> str:
    """A Markdown table per model of ``evaluate_photos(..., per_photo=True)``'s photos, the lowest gain
    over gray first (``worst``: only that many): the photos a set's averages hide."""
    blocks = []
    for label, m in summary.items():
        if label in ("gray", "truth") or "photos" not in m:
            continue
        ranked = sorted(m["photos"], key=lambda p: (np.nan_to_num(p["gain_over_gray"], nan=np.inf), p["name"]))[:worst]
        lines = [f"{label}, lowest gain over gray first:",
                 "| photo | vs gray (dB) | colorfulness | truth's | quieter half | ab error over gray |",
                 "|---|---|---|---|---|---|"]
        lines += [f"| {p['name']} | {_cell(p['gain_over_gray'], '+.2f')} | {p['colorfulness']:.1f} | "
                  f"{p['truth_colorfulness']:.1f} | {'yes' if p['quiet'] else ''} | {_cell(p.get('ab_error_over_gray'), '+.1f')} |"
                  for p in ranked]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def write_json(summary: dict, path: str | Path) -> None:
    """Strict JSON: an infinite PSNR (identical images) or an undefined metric (NaN) becomes null. Written
    atomically, its folder made if missing (the CLI checked before the evaluation that it can be)."""
    from colorizer.checkpoints import atomic_write_text, finite_or_none

    atomic_write_text(path, json.dumps(finite_or_none(summary), indent=2, allow_nan=False) + "\n")
