"""Plotly figures for the pages. Each takes plain data (DataFrames, arrays) and returns a Figure."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from .labels import label
from .runs import curve_names

HOVER_LATENT = ["active_units", "log_det_cov", "mean_sq_norm", "C", "m", "beta"]  # data keys (explorer.labels)


def with_curves(table: pd.DataFrame) -> pd.DataFrame:
    """The table with a ``curve`` column: each row's rate–distortion curve under a short name (the group name
    of its runs, explorer.runs.curve_names); the full ``model`` string stays for the hover."""
    names = curve_names(table.to_dict("records"))
    return table.assign(curve=[names.get(m, m) for m in table["model"]])


def model_colors(table: pd.DataFrame) -> dict[str, str]:
    """One colour per curve name, the same in every chart of a page (plotly's own order depends on which
    rows each chart keeps)."""
    q = px.colors.qualitative  # Plotly's ten, then Dark24's that differ: a shipped set of runs has more than ten curves
    palette = list(dict.fromkeys(q.Plotly + q.Dark24))
    return {m: palette[i % len(palette)] for i, m in enumerate(sorted(table["curve"].dropna().unique()))}


def _hover(df: pd.DataFrame, columns: list[str]) -> dict[str, object]:
    """plotly hover_data: each column under its screen label, numbers to two decimals."""
    return {c: ":.2f" if df[c].dtype.kind == "f" else True for c in columns if c in df.columns}


def rate_distortion(table: pd.DataFrame) -> go.Figure:
    """D against R, one line per model (architecture and size) named by its runs' group, points ordered by R;
    hover: the model, R and D to two decimals, latent statistics.

    ``customdata[0]`` of each point is the run's path, so a click can select that run.
    """
    table = with_curves(table)
    df = table.dropna(subset=["kl", "rec"]).sort_values(["curve", "kl"])
    fig = px.line(
        df,
        x="kl",
        y="rec",
        color="curve",
        color_discrete_map=model_colors(table),
        markers=True,
        hover_name="run",
        hover_data={"curve": False, "model": True, "kl": ":.2f", "rec": ":.2f"} | _hover(df, HOVER_LATENT),
        custom_data=["path"],
        labels={c: label(c) for c in HOVER_LATENT}
        | {"kl": "rate R = KL (nats / sentence)", "rec": "distortion D (nats / sentence)", "curve": "runs"},
    )
    fig.update_traces(marker={"size": 10})
    fig.update_layout(clickmode="event+select", margin={"t": 30}, legend={"title": "", "orientation": "h", "y": -0.25})
    return fig


def kl_against_target(table: pd.DataFrame) -> go.Figure:
    """Achieved KL against the capacity C of β_C runs, with the target KL = C and the ±1 nat band. Points take
    their curve's colour from the rate–distortion chart beside it, whose legend names them."""
    table = with_curves(table)
    df = table.dropna(subset=["C", "kl"])
    fig = px.scatter(
        df,
        x="C",
        y="kl",
        color="curve",
        color_discrete_map=model_colors(table),
        hover_name="run",
        hover_data={"curve": True, "C": ":.2f", "kl": ":.2f"},
        custom_data=["path"],
        labels={"C": "capacity C (nats)", "kl": "achieved KL (nats / sentence)", "curve": "runs"},
    )
    fig.update_traces(showlegend=False)
    hi = float(max([1.0, *df["C"].tolist(), *df["kl"].tolist()])) * 1.05
    line = np.array([0.0, hi])
    fig.add_trace(go.Scatter(x=line, y=line, mode="lines", name="KL = C", line={"dash": "dash", "color": "grey"}))
    fig.add_trace(
        go.Scatter(
            x=np.r_[line, line[::-1]],
            y=np.r_[line - 1, line[::-1] + 1],
            fill="toself",
            mode="none",
            name="C ± 1",
            fillcolor="rgba(128,128,128,0.15)",
            hoverinfo="skip",
        )
    )
    fig.update_traces(marker={"size": 10}, selector={"mode": "markers"})
    fig.update_layout(clickmode="event+select", margin={"t": 30}, legend_title_text="")
    return fig


def history(records: pd.DataFrame, y: str, title: str) -> go.Figure:
    """One line per run of a training-log column against the optimizer step."""
    fig = px.line(records, x="step", y=y, color="run", labels={"step": "optimizer step", y: title})
    fig.update_layout(margin={"t": 30}, legend_title_text="")
    return fig


VALID_FIGURES = ("rec", "kl", "nll_bound")  # validation records' keys: D, R, −ELBO (explorer.labels)


def validation_history(records: pd.DataFrame, figure: str) -> go.Figure:
    """One line per run of a validation figure (a key of VALID_FIGURES: D, R or −ELBO per sentence on the
    validation set).

    Against the epoch when every run validated once an epoch (runs of different batch sizes then line up),
    else against the optimizer step (``train.val_every`` validates within an epoch, whose number repeats).
    """
    if figure not in VALID_FIGURES:
        raise KeyError(f"{figure!r}: one of {VALID_FIGURES}")
    y = figure
    df = records.dropna(subset=[y])
    x = "epoch" if not df.duplicated(["run", "epoch"]).any() else "step"
    fig = px.line(
        df.sort_values(["run", x]),
        x=x,
        y=y,
        color="run",
        markers=True,
        labels={"epoch": "epoch", "step": "optimizer step", y: f"{label(y)} (validation, nats / sentence)"},
    )
    fig.update_layout(margin={"t": 30}, legend_title_text="")
    return fig


def latent_scatter(
    coords: np.ndarray,
    lengths: np.ndarray,
    is_prior: np.ndarray,
    hover: list[str],
    title: str,
    labels: list[str] | None = None,
) -> go.Figure:
    """Posterior points coloured by sentence length (or, given ``labels`` per posterior point, by label),
    prior samples as crosses on top.

    Each point's ``customdata`` is its row in the map, so a click can decode that point's latent.
    """
    rows = np.arange(len(coords))
    post, prior = ~is_prior, is_prior
    fig = go.Figure()
    if labels is None:
        groups = [("z ~ q(z|x)", rows[post], {"color": lengths[post], "colorscale": "Viridis",
                                             "colorbar": {"title": "tokens", "thickness": 12}})]  # fmt: skip
    else:
        names = sorted(set(labels), key=lambda v: (len(v), v))  # "2" before "10"
        palette = px.colors.qualitative.Dark24
        groups = [
            (f"label {name}", rows[post][[lab == name for lab in labels]], {"color": palette[i % len(palette)]})
            for i, name in enumerate(names)
        ]
    for name, idx, colour in groups:
        fig.add_trace(
            go.Scattergl(
                x=coords[idx, 0],
                y=coords[idx, 1],
                mode="markers",
                name=name,
                marker={"size": 5, "opacity": 0.75, **colour},
                customdata=idx,
                text=[hover[i] for i in idx],
                hovertemplate="%{text}<extra></extra>",
            )
        )
    fig.add_trace(
        go.Scattergl(
            x=coords[prior, 0],
            y=coords[prior, 1],
            mode="markers",
            name="z ~ p(z)",
            marker={"size": 6, "symbol": "x", "color": "rgba(220,60,60,0.7)"},
            customdata=rows[prior],
            text=[hover[i] for i in rows[prior]],
            hovertemplate="prior: %{text}<extra></extra>",
        )
    )
    fig.update_layout(
        title=title,
        clickmode="event+select",
        margin={"t": 40, "l": 10, "r": 10, "b": 10},
        height=480,
        legend={"orientation": "h", "y": -0.05},
        xaxis={"visible": False},
        yaxis={"visible": False},
    )
    return fig


def lens_bars(
    mu: np.ndarray,
    sigma: np.ndarray,
    kl: np.ndarray,
    active: np.ndarray | None,
    parts: list[tuple[str, int, int]] | None = None,
) -> go.Figure:
    """Per-dimension μ (with ±σ bars) and KL; inactive units drawn faded. ``parts`` (name, start, stop) of a
    ladder's layers or a feature map's positions are marked by dotted lines and named above the bars."""
    dims = np.arange(len(mu))
    colour = ["#1f77b4" if active is None or a else "#c7c7c7" for a in (active if active is not None else dims)]
    fig = go.Figure()
    for name, start, stop in parts if parts and len(parts) > 1 else []:
        if start > 0:
            fig.add_vline(x=start - 0.5, line_dash="dot", line_color="#7f7f7f")
        fig.add_annotation(x=(start + stop - 1) / 2, y=1.0, yref="paper", text=name, showarrow=False, yshift=8)
    fig.add_trace(go.Bar(x=dims, y=mu, error_y={"array": sigma}, name="μ ± σ", marker_color=colour))
    fig.add_trace(go.Scatter(x=dims, y=kl, mode="markers+lines", name="KL (nats)", yaxis="y2", marker_color="#d62728"))
    fig.update_layout(
        xaxis={"title": "latent dimension", "dtick": 1 if len(mu) <= 40 else None},
        yaxis={"title": "μ"},
        yaxis2={"title": "KL (nats)", "overlaying": "y", "side": "right", "rangemode": "tozero"},
        legend={"orientation": "h", "y": 1.12},
        margin={"t": 30},
        height=360,
    )
    return fig


CURVES = (  # (column of metrics.jsonl, panel title); validation points share the first three panels
    ("rec", "D (distortion, nats / sentence)"),
    ("kl", "KL (rate, nats / sentence)"),
    ("nll_bound", "−ELBO (nats / sentence)"),
    ("beta", "β(t)"),
    ("kl_share", "KL share of the objective"),
    ("tok_per_s", "tokens / s"),
    ("mu_shift", "‖mean μ‖² of a batch (codes moved alike)"),
    ("mu_spread", "Σ Var μ in a batch (codes that differ)"),
    ("grad_norm", "gradient norm"),
)
OPTIONAL_CURVES = (  # drawn only for runs that log them (train.aggressive; an lr schedule)
    ("lr", "learning rate"),
    ("enc_updates", "encoder-only updates before a step"),
    ("mi", "I(x; z) on validation (ends the aggressive phase)"),
)


def part_kl_bars(part_kl: dict[str, float], what: str) -> go.Figure:
    """KL per latent part (nats): per ladder layer (z1 decoded … zL top) or per feature-map position."""
    fig = go.Figure(go.Bar(x=list(part_kl), y=list(part_kl.values()), marker_color="#d62728"))
    fig.update_layout(
        xaxis={"title": what}, yaxis={"title": "KL (nats)", "rangemode": "tozero"}, margin={"t": 30}, height=260
    )
    return fig


def training_curves(records: list[dict], capacity: float | None = None, max_points: int = 1500) -> go.Figure:
    """A live run's curves against the step: train records as lines, validation records as markers, and
    the capacity C as a dashed line on the KL panel."""
    from plotly.subplots import make_subplots

    train = [r for r in records if r.get("split") == "train" and "loss" in r]
    train = [{**r, "nll_bound": -r["elbo"]} if "elbo" in r else r for r in train]  # −ELBO of the batch
    thinned = train[:: max(1, len(train) // max_points)]
    train = thinned + train[-1:] if train and thinned[-1] is not train[-1] else thinned  # the last step drawn once
    valid = [r for r in records if r.get("split") == "valid"]
    curves = CURVES + tuple(c for c in OPTIONAL_CURVES if any(r.get(c[0]) is not None for r in train + valid))
    rows = math.ceil(len(curves) / 3)
    fig = make_subplots(rows=rows, cols=3, subplot_titles=[title for _, title in curves], horizontal_spacing=0.07)
    for i, (key, _) in enumerate(curves):
        row, col = i // 3 + 1, i % 3 + 1
        xs = [r["step"] for r in train if r.get(key) is not None]
        ys = [r[key] for r in train if r.get(key) is not None]
        fig.add_trace(
            go.Scatter(x=xs, y=ys, mode="lines", name="train", line={"color": "#1f77b4"}, showlegend=i == 0),
            row=row,
            col=col,
        )
        points = [(r["step"], r[key]) for r in valid if r.get(key) is not None]
        if points:
            fig.add_trace(
                go.Scatter(
                    x=[p[0] for p in points],
                    y=[p[1] for p in points],
                    mode="markers+lines",
                    name="validation",
                    marker={"color": "#d62728", "size": 8 if len(points) <= 40 else 3},  # many: small, train seen
                    line={"dash": "dot", "color": "#d62728"},
                    showlegend=i == 0,
                ),
                row=row,
                col=col,
            )
        ramp = [(r["step"], r["C"]) for r in train if r.get("C") is not None]
        if key == "kl" and ramp and ramp[0][1] != ramp[-1][1]:  # a capacity schedule: draw C(t) itself
            fig.add_trace(
                go.Scatter(x=[p[0] for p in ramp], y=[p[1] for p in ramp], mode="lines", name="C(t)",
                           line={"dash": "dash", "color": "grey"}),
                row=row,
                col=col,
            )  # fmt: skip
        if key == "kl" and capacity is not None:
            fig.add_hline(y=capacity, line={"dash": "dash", "color": "grey"}, row=row, col=col)
            fig.add_annotation(
                text=f"C = {capacity:g}", xref="x2 domain", yref="y2", x=1, y=capacity, xanchor="right",
                yanchor="bottom", showarrow=False,
            )  # fmt: skip
    fig.update_xaxes(title_text="step", row=rows)
    fig.update_layout(
        height=290 * rows,
        margin={"t": 70, "l": 10, "r": 10, "b": 10},
        legend={"orientation": "h", "y": 1 + 0.42 / rows, "x": 0},
    )
    return fig
