"""Training curves page: every checkpoint's history.csv as plotly curves, overlaid for comparison,
with each model card beside them."""
from __future__ import annotations

import streamlit as st

from ui import charts, loaders, widgets

LOG_SCALE_ALWAYS = {"learning_rate"}


def multiselect_ui(label: str, options: list[str], default: list[str], key: str, **kwargs) -> list[str]:
    """A multiselect whose remembered choice survives options that come and go (checkpoints, metrics)."""
    if key in st.session_state:
        st.session_state[key] = [o for o in st.session_state[key] if o in options]
    return st.multiselect(label, options, default=None if key in st.session_state else default, key=key, **kwargs)


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


def card_summary(card: dict) -> str:
    """The card's main facts as Markdown lines (the full card is in the JSON view below it)."""
    params, training, data = card.get("parameters", {}), card.get("training", {}), card.get("data", {})
    lines = [f"- **architecture**: {card.get('architecture', '?')} · working size {card.get('working_size', '?')} px"]
    if card.get("description"):
        lines.append(f"- {card['description']}")
    if params:
        lines.append("- **parameters**: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in params.items()
                                                      if isinstance(v, int)))
    if training:
        facts = [_fact(k, v) for k, v in training.items() if not isinstance(v, (dict, list, bool))]
        lines.append("- **training**: " + ", ".join(facts))
    if isinstance(data, dict) and data:
        counts = [f"{data[k]} {k.replace('_', ' ')}" for k in ("train_photos", "val_photos", "train_crops") if k in data]
        sources = _sources_line(data["sources"]) if data.get("sources") else ""
        lines.append("- **data**: " + "; ".join(part for part in (", ".join(counts), sources) if part))
    if card.get("created"):
        lines.append(f"- **created**: {card['created']}")
    return "\n".join(lines)


def card_ui(name: str, expanded: bool) -> None:
    card = loaders.card_of(name)
    with st.expander(f"{name} · {widgets.checkpoint_kind(name)}", expanded=expanded, icon=":material/badge:"):
        if not card:
            st.caption("This checkpoint has no card.json.")
            return
        st.markdown(card_summary(card))
        if card.get("command"):
            st.code(card["command"], language="bash", wrap_lines=True)
        st.json(card, expanded=False)


def main() -> None:
    st.title("Training curves")
    names = list(loaders.available_checkpoints())
    if not names:
        widgets.no_checkpoint_ui()
        return
    histories = {name: loaders.history_of(name) for name in names}
    with_history = [name for name in names if histories[name]]
    if not with_history:
        st.info("No checkpoint has a history.csv yet (training writes one per epoch).", icon=":material/info:")
    chosen = multiselect_ui("Checkpoints", with_history, with_history, "curves.checkpoints")
    metrics = charts.metric_names({name: histories[name] for name in chosen})
    picked = multiselect_ui("Metrics", metrics, [m for m in ("loss", "learning_rate") if m in metrics], "curves.metrics",
                            help="Solid: training; dashed: validation (val_…).")
    log_losses = st.toggle(
        "Log scale for losses and metrics", value=True, key="curves.log",
        help="Losses differ in kind between architectures (MSE on ab or RGB, cross-entropy over 313 bins): "
             "on a log axis they share a chart; compare their shapes rather than their levels.",
    )
    curves, cards = st.columns([3, 2], gap="large")
    with curves:
        for metric in picked:
            figure = charts.history_figure({name: histories[name] for name in chosen}, metric,
                                           log_y=metric in LOG_SCALE_ALWAYS or log_losses)
            st.plotly_chart(figure, key=f"curves.figure.{metric}")
        if chosen and not picked:
            st.caption("Pick a metric to plot.")
    with cards:
        st.markdown("##### Model cards")
        for i, name in enumerate(chosen or names):
            card_ui(name, expanded=i == 0)


widgets.run_page(main)
