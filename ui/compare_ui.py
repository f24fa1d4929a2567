"""The Compare architectures page's UI helpers (``*_ui()``); the page file ``pages/compare.py`` only
runs ``compare_page_ui``.

``names_ui`` picks the checkpoints (every shipped one, the fine-tuned ones the visitor chooses),
``run_all`` colorizes the picture with each, ``grid_ui`` and ``results_table_ui`` show the results
with time, size and metrics (``baseline_rows``: gray and the training palette beside them, described, sized
and timed like the models), ``evaluation_ui`` the cards' held-out table. Widget keys are namespaced
``compare.*``.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from colorizer.evaluate import gray_baseline
from colorizer.imageio import DecodedImage
from colorizer import checkpoints
from ui import callbacks, charts, loaders, widgets
from ui.cards import evaluation_rows, learned_photo_text
from ui.plain_text import plain
from ui.tables import GRAY_ROW, RESULT_COLUMNS, metric_columns, shown_name, swipe_note

GRID_COLUMNS = 3
TILE_SIDE = 640  # a tile's longest side: what a row keeps of each result
MAX_TUNED = 3  # fine-tuned models beside the shipped ones: each loaded one counts ~150 MB, and ui.loaders.MODEL_CACHE_MB
# holds the six and three (fewer places than the page sweeps made every rerun load them all again)


def run_all(picture: DecodedImage, names: list[str]) -> list[dict]:
    """Every checkpoint's colorization of the picture (a progress bar; a warning per unusable checkpoint)."""
    digest = loaders.image_digest(picture.rgb)
    available = loaders.available_checkpoints()
    progress = st.progress(0.0, text="Running every model…")
    rows = []
    for i, name in enumerate(names):
        progress.progress(i / len(names), text=f"Running {name} ({i + 1} of {len(names)})…")
        model = widgets.colorizer_ui(name)
        if model is None:
            continue
        stamp = loaders.checkpoint_stamp(name)
        try:
            result, seconds, first_of_shape = loaders.colorized(model, stamp, picture.pixels, digest)
        except Exception as err:  # one failing model must not hide the others
            st.error(plain(f"{name}: could not colorize {picture.name} ({callbacks.error_line(err, 200)})"))
            continue
        # The row keeps the tile as it is shown, not the full-size result: a 12 MP result is 34 MiB, held by every
        # row of every visitor's run outside the caches' bounds; four visitors on Compare took a server from 1.75 to
        # 3.0 GB, over Community Cloud's 2.7 (session 37's memory audit).
        row = {"model": name, "kind": widgets.checkpoint_kind(name),
               "architecture": model.arch.NAME if model.arch else "foreign", "parameters": model.param_count,
               "time_ms": seconds * 1000, "image": widgets.display(result, picture.alpha, max_side=TILE_SIDE),
               # as the tile's time_text says it: a quick first run is not marked
               "getting_ready": widgets.includes_getting_ready(seconds, first_of_shape),
               "learned_it": loaders.learned_photo(name, picture, digest, available)}
        if picture.was_color:
            row.update(loaders.metrics_of(picture.rgb, result, (digest, stamp, None), picture.alpha))
        rows.append(row)
    progress.empty()
    return rows


def grid_ui(picture: DecodedImage, rows: list[dict]) -> None:
    """Input (and truth), then one tile per model with its time and size."""
    # Each tile keeps the picture's transparency: what a transparent pixel hides is not part of the picture.
    tiles = [(gray_baseline(widgets.display(picture.rgb, max_side=TILE_SIDE)), widgets.display_alpha(picture, TILE_SIDE),
              "Input (L only)")]
    if picture.was_color:
        tiles.append((picture.rgb, picture.alpha, "Truth"))
    for row in rows:
        time = widgets.time_text(row["time_ms"] / 1000, row["getting_ready"], short=True)
        tiles.append((row["image"], None,   # at display size already, its alpha with it
                      f"**{row['model']}** · {time} · {row['parameters'] / 1e6:.2f} M params"
                      + (" · fine-tuned on this photo" if row["learned_it"] else "")))
    for start in range(0, len(tiles), GRID_COLUMNS):
        for column, (image, alpha, caption) in zip(st.columns(GRID_COLUMNS), tiles[start:start + GRID_COLUMNS]):
            column.image(widgets.display(image, alpha, max_side=TILE_SIDE), caption=caption,
                         alt=caption.replace("**", ""))


def baseline_rows(picture: DecodedImage) -> list[dict]:
    """The two baselines as table rows: what they are, the numbers they hold (gray none, the palette its
    fitted levels×2 table), their full-resolution time measured like a model's, and their metrics."""
    from colorizer.baselines import TrainingPalette

    digest = loaders.image_digest(picture.rgb)
    palette = TrainingPalette()
    rows = []
    for name, what, parameters, colorize, metrics in (
            (GRAY_ROW, "none: L kept, a = b = 0", 0, gray_baseline, loaders.gray_metrics),
            ("training palette", "none: training photos' mean ab at each L", palette.palette.size,
             palette.colorize, loaders.palette_metrics)):
        seconds = loaders.baseline_seconds(name, colorize, picture.pixels, digest)
        rows.append({"model": name, "kind": "baseline", "architecture": what, "parameters": parameters,
                     "time_ms": seconds * 1000, **metrics(picture.rgb, digest, picture.alpha)})
    return rows


def results_table_ui(picture: DecodedImage, rows: list[dict]) -> None:
    table = pd.DataFrame([{k: v for k, v in row.items() if k != "image"} for row in rows])
    if picture.was_color:
        table = pd.concat([pd.DataFrame(baseline_rows(picture)), table], ignore_index=True)
    table["model"] = table["model"].map(shown_name)
    st.dataframe(table, hide_index=True, column_config=metric_columns(table["model"]), key="compare.results",
                 column_order=[c for c in RESULT_COLUMNS if c in table.columns])
    swipe_note("compare_results")
    st.caption("Time: one colorization of this picture at full resolution on this server (network at its working "
               "size, then the join with the full-resolution L; a baseline's is its rule alone). Parameters: every "
               "number of the model, a frozen pretrained encoder's included (most of the flagship's are its frozen "
               "ImageNet encoders'; a card says how many were trained; the palette's: its table of mean colors)."
               + (" Metrics compare each result with the original colors"
                  + (", over the pixels that are not fully transparent" if charts.shown_share(picture.alpha) is not None else "")
                  + ". Baselines: gray keeps the picture's L "
                  "with no color; the training palette paints each pixel the training photos' mean color at its "
                  "lightness. PSNR, SSIM and the plain AuC reward safe, brownish guesses (on a quiet scene gray often "
                  "wins them): read them with colorfulness and the right-hue rate; a model that beats neither "
                  "baseline on any of them has learned little about this scene."
                  if picture.was_color else
                  " This picture is gray, so there is no truth to score against."))


def evaluation_ui(names: list[str]) -> None:
    st.header("Held-out evaluation (from the model cards)")
    rows, truths = evaluation_rows(names)
    if not rows:
        st.info("No model card has an evaluation yet. Training writes one; or run "
                "`python -m colorizer evaluate DIR --arch NAME`.", icon=":material/info:")
        return
    table = pd.DataFrame(rows)
    table["model"], table["measured on"] = table["model"].map(shown_name), table["measured on"].map(shown_name)
    several = table["measured on"].nunique() > 1
    if not several:  # one set (the shipped cards'): the column would say nothing
        table = table.drop(columns="measured on")
    else:  # last: on a phone the model and this long column filled the width before any number (session 35's audit)
        table = table[[c for c in table.columns if c != "measured on"] + ["measured on"]]
    # The results table's order: colorfulness and right hue, which the caption says to read PSNR with, were its 8th
    # and 9th columns, off a phone's screen (session 38's audit).
    order = [c for c in RESULT_COLUMNS if c in table.columns]
    st.dataframe(table, hide_index=True, column_config=metric_columns(table["model"]), key="compare.evaluation",
                 column_order=order + [c for c in table.columns if c not in order])
    swipe_note("compare_evaluation")
    st.caption(evaluation_caption(truths, several))


def evaluation_caption(truths: dict[str, float], several: bool) -> str:
    """What the held-out table measures: one set, or ``several`` (then compare rows of one set only)."""
    reading = ("PSNR, SSIM and the plain AuC reward safe, brownish guesses, so read them with colorfulness, the "
               "right-hue rate and the rebalanced AuC.")
    if not several:
        truth = f" The truth's mean colorfulness is {next(iter(truths.values())):.1f};" if truths else ""
        return (f"Held-out validation photos (never trained on; the flagship's decoding was chosen on them).{truth} "
                f"{reading}")
    sets = "; ".join(f"{colorfulness:.1f} on {name}" for name, colorfulness in truths.items())
    return ("Held-out validation photos (never trained on), each card's own: a row is comparable only with the rows "
            "measured on the same photos (a fine-tune holds out a few of its own)."
            + (f" The truth's mean colorfulness: {sets}." if sets else "") + f" {reading}")


def names_ui() -> list[str]:
    """The shipped checkpoints, then the fine-tuned ones the visitor picks (none by default)."""
    available = loaders.available_checkpoints()  # once: each listing reads every fine-tuned model's access file
    shipped = [n for n in available if n in checkpoints.shipped_checkpoints()]
    tuned = [n for n in available if n not in shipped]
    picked = widgets.multiselect_ui("Fine-tuned models to compare too", tuned, [], "compare.tuned",
                                    max_selections=MAX_TUNED,
                                    format_func=lambda name: widgets.checkpoint_label(name, available),
                                    help=f"Yours and those shared on this server, up to {MAX_TUNED}: each one is "
                                         "loaded to run it, and takes some of the server's memory.") if tuned else []
    return shipped + picked[:MAX_TUNED]  # also against a tampered request: the widget alone caps it in the browser


def compare_page_ui() -> None:
    st.title("Compare architectures")
    picture = widgets.pick_picture_ui(widgets.pictures_ui(), "compare.image")
    names = names_ui()
    if not names:
        widgets.no_checkpoint_ui()
    elif picture is not None:
        widgets.notes_ui(picture)
        rows = run_all(picture, names)
        grid_ui(picture, rows)
        learned = [row["model"] for row in rows if row["learned_it"]]
        if learned:  # under the tiles, where a class looks first (the table's numbers are far below)
            st.warning(learned_photo_text(learned), icon=":material/school:")
        # The L/a/b page colors as the Colorize page does; here each model runs as shipped (session 36's state
        # audit: a hint model's tile was its automatic result, under the name the visitor had hinted).
        st.caption("Each model's automatic colorization at its default settings: a temperature or hints set on the "
                   "Colorize page are not applied here.")
        if rows:
            results_table_ui(picture, rows)
    evaluation_ui(names)

