"""Words and pictures the survey pages share: labels, judge-facing texts, Markdown escaping, figures.

Judge texts are model output: they may hold ``$``, ``*`` or ``<unk>``, which Markdown would turn into
maths, emphasis or a dropped HTML tag: ``explorer.markup.md_escape`` keeps them literal.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from .repo import SurveyRow
from .stats import SHORT

KIND_LABELS = {"pairwise": "Pairwise reconstruction (A/B)", "makes_sense": '"Makes sense?" generation'}
INSTRUCTIONS = {
    "pairwise": (
        "You will see a sentence and two attempts to reproduce it. Pick the attempt that is closer to the "
        "original: in meaning first, then in wording. There is no right answer; go with your first impression."
    ),
    "makes_sense": (
        "You will see sentences, one at a time. Answer whether each one makes sense to you: could a person have "
        "written it and meant something by it? Ignore capitalisation and tokens such as <unk> or N."
    ),
}
ANSWER_LABELS = {
    "pairwise": {"left": "Reconstruction 1 is closer", "right": "Reconstruction 2 is closer"},
    "makes_sense": {"yes": "Makes sense", "no": "Does not make sense"},
}
SOURCE_LABELS = {"test": "the runs' test set", "pasted": "pasted below"}
NEXT_STATUS = {"draft": "open", "open": "closed", "closed": "open"}
ACTION_LABELS = {"draft": "Open to judges", "open": "Close (no more answers)", "closed": "Reopen"}


def survey_label(row: SurveyRow) -> str:
    """One line per survey in the admin pickers (admin only: it names the models)."""
    return f"#{row.id} {row.title} · {row.status} · {KIND_LABELS[row.kind]} · {', '.join(row.systems)}"


def ranking_figure(ranking: pd.DataFrame) -> go.Figure:
    """Bradley–Terry strengths with their 95 % intervals, best model on top."""
    r = ranking.iloc[::-1]
    error = {"type": "data", "symmetric": False, "array": r["CI high"] - r["strength"]}
    error["arrayminus"] = r["strength"] - r["CI low"]
    fig = go.Figure(
        go.Scatter(
            x=r["strength"],
            y=r["model"],
            mode="markers",
            marker={"size": 12},
            error_x=error,
            hovertemplate="%{y}: %{x:.2f}<extra></extra>",
        )
    )
    fig.add_vline(x=0, line_dash="dot", line_color="grey")
    fig.update_layout(
        height=140 + 40 * len(r),
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis_title="Bradley–Terry strength (log odds against the average model; 95 % interval)",
        title="Overall ranking",
    )
    return fig


def makes_sense_figure(table: pd.DataFrame) -> go.Figure:
    """% "makes sense" per model, short vs long sentences (the paper's Table 4 as bars)."""
    fig = go.Figure()
    for part in ("short", "long"):
        fig.add_bar(
            name=f"length ≤ {SHORT}" if part == "short" else f"length > {SHORT}",
            x=table["model"],
            y=table[f"pct_yes_{part}"],
            customdata=table[f"n_{part}"],
            hovertemplate="%{x}: %{y:.0f} % of %{customdata} answers<extra></extra>",
        )
    fig.update_layout(
        barmode="group",
        height=360,
        yaxis_title="% makes sense",
        yaxis_range=[0, 100],
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        title='"Makes sense" by length',
    )
    return fig
