"""Figures for the app: Lab channel renderings and plotly charts (pure functions, no streamlit calls).

Channel renderings (uint8 RGB H×W×3 in → uint8 RGB H×W×3 out), the standard way to show a, b:
- L: the lightness alone (a = b = 0), a gray image;
- a: Lab(``CHANNEL_L``, a, 0) → green (a < 0) ↔ magenta/red (a > 0);
- b: Lab(``CHANNEL_L``, 0, b) → blue (b < 0) ↔ yellow (b > 0).
Plotly figures:
- ``channel_histograms(lab)``: L, a, b histograms whose bars wear the color of their value;
- ``ab_distribution(lab)``: the image's ab density over the 313 in-gamut bins (``quantize.AB_BINS``);
- ``ab_error_map(truth, predicted)``: per-pixel distance between the two images' (a, b);
- ``history_figure(histories, metric)``: one metric's curves, train solid and val dashed, per checkpoint.
"""
from __future__ import annotations

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from colorizer import quantize
from colorizer.color import AB_NORM, fit_within, lab_to_rgb, resize, rgb_to_lab

__all__ = [
    "CHANNEL_L", "visible_at", "visible_cells", "shown_share", "counted", "channel_images", "channel_histograms", "ab_distribution",
    "ab_error_map", "history_figure", "history_alt", "metric_names", "lab_of", "PLOTLY_CONFIG", "CHART_TEXT", "CHART_TEXT_DARK", "readable",
]

# Every chart without Plotly's toolbar: on a touch screen it stays shown, over the charts' titles, and a drag
# still zooms (a double tap resets).
PLOTLY_CONFIG = {"displayModeBar": False}
CHANNEL_L = 70.0          # light enough that both ends of a and b stay recognisable
AB_LIMIT = AB_NORM        # |a|, |b| range shown: the range the models' ab is normalized by
AB_HIST_STEP = 2.0        # ab histogram cell, in Lab units
_PALETTE = ("#636EFA", "#EF553B", "#00CC96", "#AB63FA", "#FFA15A", "#19D3F3", "#FF6692", "#B6E880")


def lab_of(rgb: np.ndarray, max_side: int = 512) -> np.ndarray:
    """uint8 RGB H×W×3 → float32 Lab at most ``max_side`` on a side (enough for histograms)."""
    return rgb_to_lab(fit_within(rgb, max_side))


def visible_at(alpha: np.ndarray | None, max_side: int = 512) -> np.ndarray | None:
    """A picture's alpha plane → bool at ``lab_of``'s size: the pixels not fully transparent (None without an
    alpha plane, or when every pixel is transparent: then all of them count). What a transparent pixel hides is
    in the file but not in the picture, so histograms and error maps leave it out, as the metrics do."""
    if alpha is None:
        return None
    visible = fit_within(alpha, max_side) > 0
    return visible if visible.any() else None


def shown_share(alpha: np.ndarray | None) -> float | None:
    """The share of a picture that is not fully transparent, when it hides part of itself; None when it hides
    nothing, or everything (then ``visible_at`` counts every pixel). What the pages say they measured."""
    if alpha is None:
        return None
    share = float(np.mean(alpha > 0))
    return share if 0.0 < share < 1.0 else None


def visible_cells(alpha: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """``visible_at`` for the cells of an h×w map (the network's grid, a match-confidence map): bool, True where a
    cell covers a pixel the picture shows; None to count every cell (no alpha plane, or nothing visible)."""
    if alpha is None:
        return None
    visible = resize(alpha, (shape[0], shape[1])) > 0
    return visible if visible.any() else None


def counted(lab: np.ndarray, visible: np.ndarray | None) -> np.ndarray:
    """The Lab pixels histograms count: all of ``lab`` (H×W×3), or the ``visible`` ones (N×3)."""
    return lab if visible is None else lab[visible]


def channel_images(lab: np.ndarray) -> dict[str, np.ndarray]:
    """Lab H×W×3 → {"L", "a", "b"}: each channel rendered as uint8 RGB with its meaningful color map."""
    zeros = np.zeros(lab.shape[:2], np.float32)
    mid = np.full(lab.shape[:2], CHANNEL_L, np.float32)
    return {
        "L": lab_to_rgb(np.stack([lab[..., 0], zeros, zeros], axis=-1)),
        "a": lab_to_rgb(np.stack([mid, lab[..., 1], zeros], axis=-1)),
        "b": lab_to_rgb(np.stack([mid, zeros, lab[..., 2]], axis=-1)),
    }


def _css(rgb_row: np.ndarray) -> list[str]:
    return [f"rgb({r},{g},{b})" for r, g, b in rgb_row.reshape(-1, 3)]


def _bar_colors(channel: str, centres: np.ndarray) -> list[str]:
    """The color each histogram bar stands for (same color map as ``channel_images``)."""
    n = len(centres)
    lab = np.zeros((1, n, 3), np.float32)
    if channel == "L":
        lab[0, :, 0] = centres
    else:
        lab[0, :, 0] = CHANNEL_L
        lab[0, :, 1 if channel == "a" else 2] = centres
    return _css(lab_to_rgb(lab))


# log10 of the a and b histograms' y range (% of pixels): one pixel of a 512 × 512 picture (3.8e-4 %) to 100 %.
AB_SHARE_LOG_RANGE = (-3.5, 2.0)


# Chart text (ticks, axis and subplot titles, subtitles, color bars): Streamlit's theme draws it rgb(128, 132, 149),
# 3.72:1 on white against WCAG's 4.5:1 for text (session 34's audit); this gray is 5.5:1.
CHART_TEXT = "#646876"
# ...and on the dark theme's background (#0e1117 to #171614), where that gray is 3.3:1: this one is 7.6:1 or more
# (session 38's audit: a phone set to dark).
CHART_TEXT_DARK = "#a3a8b8"


def readable(fig: go.Figure, dark: bool = False) -> go.Figure:
    """``fig`` with its text in ``CHART_TEXT`` (``dark``: the dark theme's, ``CHART_TEXT_DARK``), set on each element
    the theme colors (a template's axis colors win over the layout's font). Every chart of the app goes through it,
    and again through ``ui.widgets.chart_ui`` with the visitor's theme."""
    color = CHART_TEXT_DARK if dark else CHART_TEXT
    fig.update_layout(font_color=color, title_subtitle_font_color=color)
    fig.update_xaxes(tickfont_color=color, title_font_color=color)
    fig.update_yaxes(tickfont_color=color, title_font_color=color)
    fig.update_annotations(font_color=color)  # subplot titles, a scene cut's label
    fig.update_traces(colorbar_tickfont_color=color, colorbar_title_font_color=color, selector={"type": "heatmap"})
    return fig


def channel_histograms(lab: np.ndarray, title: str = "") -> go.Figure:
    """Lab H×W×3 (or N×3, e.g. ``counted``'s) → three histograms (share of pixels per value) with bars in the
    value's color."""
    # The titles say which scale is log: a and b's ticks beside L's linear ones read as one scale (session 38's audit;
    # axis titles of their own overlapped the next panel in a 378-px column).
    fig = make_subplots(rows=1, cols=3, subplot_titles=("L", "a (log scale)", "b (log scale)"), horizontal_spacing=0.06)
    ranges = {"L": (0.0, 100.0, 2.0), "a": (-AB_LIMIT, AB_LIMIT, 4.0), "b": (-AB_LIMIT, AB_LIMIT, 4.0)}
    for col, (channel, (lo, hi, step)) in enumerate(ranges.items(), start=1):
        values = lab[..., col - 1].ravel()
        counts, edges = np.histogram(values, bins=np.arange(lo, hi + step, step))
        centres = (edges[:-1] + edges[1:]) / 2
        share = counts / max(1, values.size) * 100
        fig.add_trace(
            go.Bar(x=centres, y=share, width=step, marker_color=_bar_colors(channel, centres),
                   marker_line_width=0, name=channel, hovertemplate=f"{channel}=%{{x:.0f}}: %{{y:.2f}}% of pixels<extra></extra>"),
            row=1, col=col,
        )
        # a and b pile up near 0 with long colorful tails: a log axis (powers of ten) shows both. Its range is fixed,
        # from one pixel of the most ``lab_of`` keeps to all of them: the truth's and the prediction's, side by side,
        # each picked its own (0.001-10 % beside 1-10 %), so like bars meant unlike shares (session 34's audit).
        if channel == "L":
            fig.update_yaxes(type="linear", row=1, col=col)
        else:
            # Labels inside the panel, over its rarely filled left edge (|a|, |b| near 128): beside it they ran 6-21
            # px into the panel on their left, at any width (session 40's audit).
            fig.update_yaxes(type="log", dtick=1, range=list(AB_SHARE_LOG_RANGE), ticklabelposition="inside",
                             row=1, col=col)
    fig.update_yaxes(title_text="% of pixels", row=1, col=1)
    fig.update_layout(title=title or None, showlegend=False, height=260, margin=dict(l=10, r=10, t=50 if title else 30, b=10),
                      bargap=0)
    return readable(fig)


def _gamut_trace(marker_size: float) -> go.Scatter:
    """The 313 in-gamut ab bins as squares in their own color (at L = ``CHANNEL_L``)."""
    bins = quantize.AB_BINS
    lab = np.concatenate([np.full((1, len(bins), 1), CHANNEL_L, np.float32), bins[None]], axis=-1)
    return go.Scatter(
        x=bins[:, 0], y=bins[:, 1], mode="markers", name="313 in-gamut bins",
        marker=dict(symbol="square", size=marker_size, color=_css(lab_to_rgb(lab)), opacity=0.45, line_width=0),
        hovertemplate="bin a=%{x:.0f}, b=%{y:.0f}<extra></extra>",
    )


def ab_distribution(lab: np.ndarray, title: str = "", height: int = 420) -> go.Figure:
    """Lab H×W×3 (or N×3) → the (a, b) density (log scale, dark = many pixels) over the colored 313-bin gamut."""
    edges = np.arange(-AB_LIMIT, AB_LIMIT + AB_HIST_STEP, AB_HIST_STEP)
    counts, _, _ = np.histogram2d(lab[..., 1].ravel(), lab[..., 2].ravel(), bins=[edges, edges])
    density = np.where(counts > 0, np.log10(np.maximum(counts, 1) / max(1, counts.sum())), np.nan)
    centres = (edges[:-1] + edges[1:]) / 2
    # Plot area is about height - margins; one bin of 10 ab units spans 10/220 of it.
    marker_size = max(3.0, (height - 80) * _grid_share())
    fig = go.Figure(_gamut_trace(marker_size))
    fig.add_trace(go.Heatmap(
        x=centres, y=centres, z=density.T, name="pixels", zmin=np.nanmin(density) if np.isfinite(density).any() else -6,
        colorscale=[[0.0, "rgba(0,0,0,0.25)"], [1.0, "rgba(0,0,0,1)"]], showscale=False,
        hovertemplate="a=%{x:.0f}, b=%{y:.0f}: 10^%{z:.1f} of pixels<extra></extra>",
    ))
    axis = dict(range=[-AB_LIMIT, AB_LIMIT], zeroline=True, zerolinecolor="#999", showgrid=False)
    fig.update_layout(
        title=title or None, height=height, showlegend=False, plot_bgcolor="white",
        xaxis=dict(title="a (green ↔ magenta)", **axis), yaxis=dict(title="b (blue ↔ yellow)", scaleanchor="x", **axis),
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
    )
    return readable(fig)


def _grid_share() -> float:
    """Share of the ab axis one quantization cell spans (10 units of 2·AB_LIMIT)."""
    return quantize.GRID / (2 * AB_LIMIT)


# Inferno (black = right, bright = far off) with its first stop one step redder: Streamlit's Plotly theme treats
# "#000001"–"#000040" as placeholders for its own colours and drew Inferno's "#000004" light pink, so Δab ≈ 0
# looked brighter than a miss.
ERROR_COLORS = ["#01" + c[3:] if c.lower().startswith("#0000") else c for c in plotly.colors.sequential.Inferno]


def ab_error_map(truth: np.ndarray, predicted: np.ndarray, max_side: int = 512, height: int = 360,
                 alpha: np.ndarray | None = None) -> go.Figure:
    """uint8 RGB truth and prediction (same size) → heatmap of the per-pixel ab distance (Lab units); with the
    picture's ``alpha``, fully transparent pixels are left blank (``visible_at``)."""
    truth_lab, pred_lab = lab_of(truth, max_side), lab_of(predicted, max_side)
    error = np.linalg.norm(truth_lab[..., 1:] - pred_lab[..., 1:], axis=-1)
    visible = visible_at(alpha, max_side)
    if visible is not None:
        error = np.where(visible, error, np.nan)
    top = float(np.nanpercentile(error, 99))
    fig = go.Figure(go.Heatmap(z=error, colorscale=ERROR_COLORS, zmin=0, zmax=max(20.0, top),
                               colorbar=dict(title="Δab"), hovertemplate="x=%{x}, y=%{y}: Δab %{z:.1f}<extra></extra>"))
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10),
                      yaxis=dict(autorange="reversed", scaleanchor="x", visible=False), xaxis=dict(visible=False))
    return readable(fig)


def metric_names(histories: dict[str, list[dict]]) -> list[str]:
    """Base metric names found in the histories (``loss``, ``mae``, ``learning_rate``…; no ``val_`` twins)."""
    names: list[str] = []
    for rows in histories.values():
        for row in rows[:1]:
            for key, value in row.items():
                base = key[4:] if key.startswith("val_") else key
                if key != "epoch" and isinstance(value, float) and base not in names:
                    names.append(base)
    order = {"loss": 0, "learning_rate": 2}
    return sorted(names, key=lambda n: (order.get(n, 1), names.index(n)))


def _logged(rows: list[dict], key: str) -> list[dict]:
    """The history rows that logged ``key`` (a metric a run did not log is missing or empty in its rows)."""
    return [r for r in rows if isinstance(r.get(key), float)]


# A marker shape per checkpoint besides its color: blue and violet, green and cyan are hard to tell apart.
_SYMBOLS = ("circle", "square", "diamond", "triangle-up", "x", "star", "cross", "pentagon")


VALIDATED_SUBTITLE = "solid, filled: training · dashed, open: validation"


def history_figure(histories: dict[str, list[dict]], metric: str, log_y: bool = False, height: int = 330) -> go.Figure:
    """{checkpoint: history rows} → curves of ``metric`` (solid, filled markers) and ``val_<metric>`` (dashed, open
    markers) per checkpoint. One legend entry per checkpoint (clicking it hides both its curves); the title says which
    line is which. Open markers: a one-epoch fine-tune has a point each, no line, and two like dots read as one."""
    fig = go.Figure()
    for i, (name, rows) in enumerate(histories.items()):
        color = _PALETTE[i % len(_PALETTE)]
        for key, dash, fill in ((metric, "solid", ""), (f"val_{metric}", "dash", "-open")):
            points = [(r.get("epoch"), r[key]) for r in _logged(rows, key)]
            if not points:
                continue
            epochs = [e + 1 if isinstance(e, float) else j + 1 for j, (e, _) in enumerate(points)]
            fig.add_trace(go.Scatter(
                x=epochs, y=[v for _, v in points], mode="lines+markers", name=name, legendgroup=name,
                showlegend=not any(trace.legendgroup == name for trace in fig.data),
                line=dict(color=color, dash=dash), marker=dict(size=7, symbol=_SYMBOLS[i % len(_SYMBOLS)] + fill),
                hovertemplate=f"{name}<br>epoch %{{x}}: {key} = %{{y:.4g}}<extra></extra>",
            ))
    # The legend below the plot, two checkpoints a row (one where a name is long), the figure taller by its rows:
    # at the side, twelve entries squeezed the curves to a third of the width; "name · val_loss" entries two a
    # row were cut at a phone's edge.
    # A half row at 360 px holds about 14 characters: "hypercolumn_hints" two a row read "hypercolumn_hir" (session 37).
    names = [trace.name for trace in fig.data if trace.showlegend]
    per_row = 2 if all(len(n) <= 14 for n in names) else 1
    legend_rows = -(-len(names) // per_row)
    validated = any(trace.line.dash == "dash" for trace in fig.data)
    # "by epoch" in the title, not under the axis: on a phone the legend wraps one a row and rose into that label.
    fig.update_layout(
        title=dict(text=f"{metric} by epoch", subtitle=dict(text=VALIDATED_SUBTITLE if validated else "")),
        # 12 px more at the top with the subtitle: it sat on the top tick's label (session 40's walk-through).
        height=height + 24 * legend_rows, margin=dict(l=10, r=10, t=72 if validated else 60, b=10 + 24 * legend_rows),
        hovermode="x unified", yaxis=_metric_axis(fig, metric, log_y), xaxis=_epoch_axis(fig),
        # traceorder "normal": with legend groups Plotly's default ("grouped") put each group on a row of its own.
        legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0, entrywidth=1 / per_row,
                    entrywidthmode="fraction", traceorder="normal"),
    )
    return readable(fig)


# Up to this many epochs, a tick at each: Plotly's own ticks on a short run (a 2-epoch fine-tune) read 1, 1.2, 1.4, …,
# epochs that do not exist.
EVERY_EPOCH_TICKED = 12


def _epoch_axis(fig: go.Figure) -> dict:
    """The x axis of epochs: whole epochs only on a short run; Plotly's own ticks on a long one."""
    last = max((max(trace.x) for trace in fig.data if trace.x), default=0)
    return dict(dtick=1) if last <= EVERY_EPOCH_TICKED else {}


def history_alt(histories: dict[str, list[dict]], metric: str) -> str:
    """What ``history_figure`` shows, in words (a chart is invisible to a screen reader): each checkpoint's
    first and last ``metric``."""
    parts = []
    for name, rows in histories.items():
        values = [r[metric] for r in _logged(rows, metric)]
        if values:
            parts.append(f"{name} from {values[0]:.3g} to {values[-1]:.3g} over {len(values)} epochs")
    return f"{metric} by epoch: " + ("; ".join(parts) if parts else "no values")


def _metric_axis(fig: go.Figure, metric: str, log_y: bool) -> dict:
    """The y axis; on a log scale spanning a decade or more, a label at each power of ten only (Plotly's
    default there, "5 2 1 5 2 0.1 5 2", was unreadable on a phone). Within a decade its labels stay."""
    # Powers of ten as 10⁻⁴, not SI's "100μ" (a learning rate read as a hundred micro-somethings: session 35's audit)
    axis = dict(type="log" if log_y else "linear", title=metric, exponentformat="power")
    values = np.array([v for trace in fig.data for v in trace.y if v > 0], np.float64)
    if log_y and values.size and np.log10(values.max() / values.min()) >= 1:
        # ...from the power of ten below the lowest value to the one above the highest: a range ending between
        # two left curves above its last label (losses of 3.3–5.3 over a top label of 1: session 38's audit).
        axis.update(dtick=1, range=[np.floor(np.log10(values.min())), np.ceil(np.log10(values.max()))])
    return axis
