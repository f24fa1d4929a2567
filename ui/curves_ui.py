"""The Training curves page's UI (``curves_page_ui``); the page file ``pages/curves.py`` only runs it.

Every checkpoint's history.csv as plotly curves (``ui.charts.history_figure``), overlaid for
comparison, with each model card beside them (``ui.cards.card_ui``). Drawn at first: the shipped ones, the
operator's and the visitor's own; those other visitors shared are offered, not drawn (a class's shared models
are many), and at most ``MAX_CURVES`` are drawn at once. Widget keys are namespaced ``curves.*``.
"""
from __future__ import annotations

import streamlit as st

from colorizer import access
from colorizer.checkpoints import CheckpointError
from colorizer.models import ARCHITECTURES
from colorizer.models.losses import REGRESSION_WEIGHT
from ui import charts, loaders, widgets
from ui.cards import card_ui, soup_size
from ui.plain_text import plain, without_server_paths

LOG_SCALE_ALWAYS = {"learning_rate"}
# Checkpoints drawn at once: each is a curve in every chart and a card. Every visitor's shared models are listed
# here (a class of 20 sharing three each is 60; the disk quota allows ~375), and drawing 300 took 14 s of the
# server's CPU a view (session 29's audit).
MAX_CURVES = 12


def shared_by_others(folder, viewer: str) -> bool:
    """Whether the checkpoint in ``folder`` is another visitor's, shared on this server (not drawn by default)."""
    record = access.read_access(folder)  # once: a class's shared models are many
    return record is not None and not access.is_owner(record, viewer)


# What each kind of output is trained to lower (the architectures' OUTPUT_KIND; the 313-bin models' two heads: the
# history's loss is their weighted sum, ``two_head_losses``), and an architecture that adds a term of its own.
LOSS_OF_OUTPUT = {"ab313": f"cross-entropy over the 313 color bins + {REGRESSION_WEIGHT:g} × the regression head's "
                           "squared error of a and b",
                  "ab": "squared error of a and b", "rgb": "squared error of the RGB colors"}
LOSS_OF_ARCHITECTURE = {"vae": "squared error of a and b + β × the KL divergence of its code"}


def fine_tuned_from(card: dict) -> str | None:
    """What a checkpoint's training started from: the base a fine-tune's card names (``base.name``), or the
    checkpoint a run was initialized from (``training.initialized_from``: the shipped hint model, from run R2);
    None for a model trained from scratch."""
    base = card.get("base")
    if isinstance(base, dict) and card.get("finetunable") and base.get("name"):
        return base["name"]
    start = card.get("training", {}).get("initialized_from") if isinstance(card.get("training"), dict) else None
    words = str(start).split() if start else []
    if not words:
        return None
    # "run R2 (weights/hypercolumn at …)" → "run R2" (its first word alone read "starts from run's trained weights":
    # session 37's walkthrough); "weights/hypercolumn (…)" → "hypercolumn", as the sidebar names it.
    if words[0] == "run" and len(words) > 1:
        return f"run {words[1]}"
    return words[0].rstrip(",;:").split("/")[-1]


def started_caption(started: dict[str, tuple[str, bool]]) -> str:
    """The line under the curves for models that did not start from scratch: {name: (what it started from, whether
    it is a fine-tune)} → e.g. "hypercolumn started from an earlier trained model (run R2): epoch 1 went on with
    training done before, so its curve starts low." A teacher read the line it replaces as garbled (session 39)."""
    parts = [f"{name} is {base} fine-tuned on other photos (its dashed curve: measured on other photos too)"
             if fine_tune else f"{name} started from an earlier trained model ({base})"
             for name, (base, fine_tune) in started.items()]
    curves = "its curve starts" if len(parts) == 1 else "their curves start"
    return "; ".join(parts) + f": epoch 1 went on with training done before, so {curves} low."


def loss_kinds(names: list[str], available: dict | None = None) -> dict[str, list[str]]:
    """{what the loss measures: the checkpoints among ``names`` trained on it}, by their cards' architectures
    (a checkpoint made elsewhere, of no known architecture, is left out). ``available``: the listing the page holds."""
    kinds: dict[str, list[str]] = {}
    for name in names:
        arch = ARCHITECTURES.get(loaders.card_of(name, available).get("architecture", ""))
        kind = LOSS_OF_ARCHITECTURE.get(getattr(arch, "NAME", "")) or LOSS_OF_OUTPUT.get(getattr(arch, "OUTPUT_KIND", ""))
        if kind:
            kinds.setdefault(kind, []).append(name)
    return kinds


def curves_page_ui() -> None:
    st.title("Training curves")
    available = loaders.available_checkpoints()  # once: each listing reads every fine-tuned model's access file
    names = list(available)
    if not names:
        widgets.no_checkpoint_ui()
        return
    stamps = {name: loaders.history_stamp(name, available) for name in names}  # before the rows (its docstring)
    histories = {}
    for name in names:
        try:
            histories[name] = loaders.history_of(name, available)
        except CheckpointError as err:  # a damaged history is one line; the others are drawn
            st.warning(plain(without_server_paths(str(err))), icon=":material/broken_image:")
            histories[name] = []
    with_history = [name for name in names if histories[name]]
    if not with_history:
        st.info("No checkpoint has a history.csv yet (training writes one per epoch).", icon=":material/info:")
    viewer = loaders.viewer()
    default = [name for name in with_history if not shared_by_others(available[name], viewer)][:MAX_CURVES]
    chosen = widgets.multiselect_ui("Checkpoints", with_history, default, "curves.checkpoints",
                                    max_selections=MAX_CURVES,
                                    format_func=lambda name: widgets.checkpoint_label(name, available),
                                    help=f"Up to {MAX_CURVES} at once; models other visitors shared are here too.")
    chosen = chosen[:MAX_CURVES]  # also against a tampered request: the widget alone caps it in the browser
    metrics = charts.metric_names({name: histories[name] for name in chosen})
    picked = widgets.multiselect_ui("Metrics", metrics, [m for m in ("loss", "learning_rate") if m in metrics], "curves.metrics",
                            help="Solid: training; dashed: validation (val_…).")
    log_losses = st.toggle(
        "Log scale for losses and metrics", value=True, key="curves.log", persist_state="session",
        help="Losses differ in kind between architectures (MSE on ab or RGB, cross-entropy over 313 bins): "
             "on a log axis they share a chart; compare their shapes rather than their levels.",
    )
    curves, cards = st.columns([3, 2], gap="large")
    with curves:
        shown = {name: histories[name] for name in chosen}
        for metric in picked:
            log_y = metric in LOG_SCALE_ALWAYS or log_losses
            widgets.kept_chart_ui(f"history: {metric}, log {log_y}", "|".join(stamps[name] for name in chosen),
                                  lambda: charts.history_figure(shown, metric, log_y=log_y),  # built here, or not at all
                                  key=f"curves.figure.{metric}", alt=charts.history_alt(shown, metric))
        if not chosen and with_history:
            st.info(f"Pick up to {MAX_CURVES} checkpoints above to draw their curves.", icon=":material/show_chart:")
        elif chosen and not picked:
            st.caption("Pick a metric to plot.")
        kinds = loss_kinds(chosen, available) if "loss" in picked else {}
        if len(kinds) > 1:  # said beside the chart, not only in the toggle's tooltip (session 34's audit)
            st.caption(plain("Their losses are not one measure: " + "; ".join(
                f"{', '.join(names)}: {kind}" for kind, names in kinds.items()) + ". Compare the curves' shapes, "
                "not their heights."))
        soups = [name for name in chosen if soup_size(loaders.card_of(name, available))]
        if soups and picked:  # a soup was never trained: say whose curve it is, not let it pass for its own
            st.caption(plain(f"{', '.join(soups)}: a weight soup, the mean of trained checkpoints' weights; "
                             "the curve drawn is its first ingredient's training; what came after it (the flagship's: "
                             "a mirror distillation) is not drawn (see the card)."))
        tuned = {name: base for name in chosen if (base := fine_tuned_from(loaders.card_of(name, available)))}
        if tuned and picked:  # its epoch 1 is not a start from scratch (session 35's audit: "fine-tuning learns faster")
            st.caption(plain(started_caption({name: (base, bool(loaders.card_of(name, available).get("finetunable")))
                                              for name, base in tuned.items()})))
    with cards:
        st.markdown("## Model cards")
        for i, name in enumerate(chosen or names[:MAX_CURVES]):
            card_ui(name, expanded=i == 0, available=available)

