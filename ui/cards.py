"""Model cards (``card.json``) as the app shows them; formatting only, the pages place them.

- ``card_summary(card)`` → Markdown lines of a card's main facts (architecture, parameters, training,
  data and its sources, creation time), and a line when the model is a weight soup (``soup_size``): its
  curve is then an ingredient's, not its own;
- ``card_ui(name, expanded, available)``: a checkpoint's card in an expander (summary, command, the full JSON),
  through ``public_card``: no server paths and no file names (a card may be a visitor's, shared with the
  class, or list photos skipped by name), and one line instead when card.json is damaged;
- ``evaluation_rows(names)`` → the cards' held-out "evaluation" entries as table rows, each with the set it was
  measured on (the gray baseline once a set), and each set's truth colorfulness;
- ``learned_photo_text(names)``: the line beside a photo's results when models were fine-tuned on that photo.
"""
from __future__ import annotations

import numpy as np
import streamlit as st

from colorizer import checkpoints
from ui import loaders, widgets
from ui.plain_text import plain, without_server_paths
from ui.tables import GRAY_ROW, METRIC_COLUMNS, fine_tune_id

__all__ = ["card_summary", "card_ui", "evaluation_row_name", "evaluation_rows", "learned_photo_text", "public_card",
           "soup_size"]

def public_card(card):
    """The card as any visitor may see it: every server path replaced by "<server path>", the names of
    skipped files by their count, "command" kept only without a path."""
    if isinstance(card, dict):
        out = {}
        for key, value in card.items():
            if key == "skipped" and isinstance(value, list):
                out[key] = len(value)
            elif key in ("path", "paths", "model_path", "folder", "folders", "out_dir"):
                continue
            else:
                out[key] = public_card(value)
        return out
    if isinstance(card, list):
        return [public_card(item) for item in card]
    if isinstance(card, str):
        return without_server_paths(card)
    return card


def _sources_line(sources) -> str:
    """Card data sources → "scratch (51 photos), gcompris-qt-data (108 photos)" (per-license rows summed)."""
    photos: dict[str, int] = {}
    for source in sources if isinstance(sources, list) else [sources]:
        if isinstance(source, dict):
            package = str(source.get("package") or source.get("name") or "?")
            photos[package] = photos.get(package, 0) + int(source.get("photos") or 0)
        else:
            photos.setdefault(str(source), 0)
    return ", ".join(f"{package} ({count} photo{'s' if count > 1 else ''})" if count else package
                     for package, count in photos.items())


def _fact(key: str, value) -> str:
    if key.endswith("_s") and isinstance(value, (int, float)):  # durations: wall_time_s
        return f"{key[:-2].replace('_', ' ')} {value / 60:.0f} min" if value >= 120 else f"{key[:-2].replace('_', ' ')} {value:.0f} s"
    return f"{key.replace('_', ' ')} {value:.4g}" if isinstance(value, float) else f"{key.replace('_', ' ')} {value}"


def _data_sources_text(data: dict) -> str:
    """The card's photo sources: "trained on …; validated on …" where it records them by split (cards since
    2026-12-05), else the whole folder's, both splits together, as older cards record them; then the photos
    ``train --extra-photos`` added to training, which the folder's sources do not count."""
    by_split = data.get("sources_by_split")
    if isinstance(by_split, dict) and by_split.get("train"):
        parts = [f"trained on {_sources_line(by_split['train'])}"]
        if by_split.get("val"):
            parts.append(f"validated on {_sources_line(by_split['val'])}")
    else:
        parts = [_sources_line(data["sources"])] if data.get("sources") else []
    extra = data.get("extra_photos")
    if isinstance(extra, dict) and extra.get("sources"):
        parts.append(f"extra photos trained on: {_sources_line(extra['sources'])}")
    return "; ".join(parts)


def card_summary(card: dict) -> str:
    """The card's main facts as Markdown lines (the full card is in the JSON view below it)."""
    params, training, data = (value if isinstance(value, dict) else {}
                              for value in (card.get("parameters"), card.get("training"), card.get("data")))
    lines = [f"- **architecture**: {card.get('architecture', '?')} · working size {card.get('working_size', '?')} px"]
    if card.get("description"):
        lines.append(f"- {card['description']}")
    if params:
        lines.append("- **parameters**: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in params.items()
                                                      if isinstance(v, int)))
    if training:
        facts = [_fact(k, v) for k, v in training.items() if not isinstance(v, (dict, list, bool))]
        lines.append("- **training**: " + ", ".join(facts))
    if ingredients := soup_size(card):
        lines.append(f"- **weight soup**: the mean of {ingredients} trained checkpoints' weights, never trained "
                     "itself; the training, data and curve shown are its first ingredient's")
    if isinstance(data, dict) and data:
        counts = [f"{data[k]} {k.replace('_', ' ')}" for k in ("train_photos", "val_photos", "held_out_photos",
                                                                "train_crops") if k in data]
        sources = _data_sources_text(data)
        lines.append("- **data**: " + "; ".join(part for part in (", ".join(counts), sources) if part))
    if card.get("created"):
        lines.append(f"- **created**: {card['created']}")
    return "\n".join(lines)


def soup_size(card: dict) -> int:
    """How many checkpoints' weights a card's model averages (``scripts/soup_checkpoints.py``), 0 when none."""
    training = card.get("training") if isinstance(card, dict) else None
    soup = training.get("soup") if isinstance(training, dict) else None
    ingredients = soup.get("ingredients") if isinstance(soup, dict) else None
    return len(ingredients) if isinstance(ingredients, list) else 0


def card_ui(name: str, expanded: bool, available: dict | None = None) -> None:
    """Checkpoint ``name``'s card in an expander; ``available``: the listing the page holds (one listing reads every
    fine-tuned model's access file)."""
    available = loaders.available_checkpoints() if available is None else available
    card = public_card(loaders.card_of(name, available))
    with st.expander(f"{plain(name)} · {widgets.checkpoint_kind(name)}", expanded=expanded, icon=":material/badge:"):
        folder = available.get(name)
        problem = checkpoints.card_problem(folder) if folder is not None else None
        if problem:
            st.warning(plain(f"{name}: {problem}"), icon=":material/broken_image:")
            return
        if not card:
            st.caption("This checkpoint has no card.json.")
            return
        st.markdown(card_summary(card))
        if card.get("command"):
            # No highlighting: its colors were 2.5-2.85:1 on the code block's ground (session 34's audit; WCAG 4.5:1).
            st.code(card["command"], language=None, wrap_lines=True)
        st.json(card, expanded=False)


def evaluation_row_name(name: str, label: str) -> str:
    """A card's evaluation label as a table row's name: "unet313 (T=0.7)" as it is, "T=0.7" as "unet313: T=0.7"."""
    if label == "gray":
        return GRAY_ROW
    return label if label == name or label.startswith(f"{name} ") else f"{name}: {label}"


def evaluation_rows(names: list[str]) -> tuple[list[dict], dict[str, float]]:
    """Rows of the cards' held-out "evaluation" entries, each saying what it was measured on ("measured on": the
    shipped models' held-out photos, or those of the first card measured on them; the gray baseline once a set),
    and each set's truth colorfulness → (rows, {set: colorfulness}). Cards share a set when their gray baselines
    match: the shipped ones do, a fine-tune's card holds its own few photos, and its rows (gray 14 dB on one
    photo) read as the shipped models' set otherwise."""
    rows, truths, sets = [], {}, {}
    for name in names:
        card = loaders.card_of(name)
        evaluation = card.get("evaluation")
        if not isinstance(evaluation, dict):
            continue
        base = card.get("base", {}).get("name") if isinstance(card.get("base"), dict) else None
        gray = evaluation.get("gray")
        signature = (tuple(round(float(gray.get(k, np.nan)), 4) for k in ("psnr", "n_images"))
                     if isinstance(gray, dict) else name)
        first = signature not in sets
        measured_on = sets.setdefault(signature, "the shipped models' held-out photos"
                                      if widgets.checkpoint_kind(name) == "shipped" else f"{name}'s held-out photos")
        for label, metrics in evaluation.items():
            if not isinstance(metrics, dict):
                continue
            if label == "truth":
                colorfulness = metrics.get("colorfulness")
                if isinstance(colorfulness, (int, float)):
                    truths.setdefault(measured_on, colorfulness)
                continue
            if label == "gray" and not first:
                continue
            # A fine-tune's card scores its base too: "cifar_ae (base of …)" leads with what it is, where
            # "<fine-tune>: cifar_ae" read as the fine-tune itself once a table cut it (session 35's audit).
            row_name = (f"{label} (base of {fine_tune_id(name)})" if base is not None and label == base
                        else evaluation_row_name(name, label))
            rows.append({"model": row_name, "measured on": measured_on,
                         **{k: metrics.get(k) for k in METRIC_COLUMNS if k in metrics}})
    return rows, truths


def learned_photo_text(names: list[str]) -> str:
    """What a photo's scores mean for the models fine-tuned on it (``loaders.learned_photo``; session 42's audit: a
    decoder fine-tuned on the gallery led Compare on the gallery's cat, at 99 % right hue, and nothing said it had
    learned that cat)."""
    it, its, was = ("it", "its", "was") if len(names) == 1 else ("they", "their", "were")
    return plain(f"{', '.join(names)} learned this photo when {it} {was} fine-tuned: {its} colors and scores here show "
                 f"what {it} remember{'s' if it == 'it' else ''}, not how well a photo never seen is colored. To see "
                 f"that, try a photo {it} {was} not fine-tuned on.")
