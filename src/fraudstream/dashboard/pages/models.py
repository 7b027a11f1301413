"""Models: which versions are live, which ones scored, and every champion/challenger decision
with both metrics and their confidence intervals; for a decision on a card metric (CP@k/day,
the fraud amount in the top k), the days its figure is made of."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Final

import altair as alt
import pandas as pd
import streamlit as st

from fraudstream.dashboard import auth, queries, ui
from fraudstream.errors import FraudstreamError

MODEL_COLOURS: Final = alt.Scale(domain=["champion", "challenger"], range=["#2a6fdb", "#e08a1e"])
# The champion/challenger job's card metrics, titled with the k a decision was measured at (the
# dashboard reads the decisions' rows, not the job's code). A comment: a page script prints
# any bare string.
CARD_METRICS: Final = {
    "cp_at_k": "CP@{k}/day",
    "amount_at_k": "fraud amount in the top {k} cards a day",
}


def main() -> None:
    auth.require("viewer")
    st.title("Models")
    _aliases()
    window = ui.window_picker("Verdicts of the last", default="24 h", key="models_window")
    models(window)
    ui.footer()


@st.cache_data(ttl=30, show_spinner=False)
def _registry_view(tracking_uri: str, model_name: str) -> pd.DataFrame | str:
    """The aliases, or why the registry could not be read (cached either way)."""
    from fraudstream.dashboard.aliases import current_aliases

    settings = ui.settings()
    try:
        return current_aliases(settings)
    except FraudstreamError as exc:
        return str(exc)


def _aliases() -> None:
    settings = ui.settings()
    st.subheader(f"Registry: {settings.registry.model_name}")
    view = _registry_view(settings.registry.tracking_uri, settings.registry.model_name)
    if isinstance(view, str):
        st.info(f"Registry not reachable: {view}", icon=":material/cloud_off:")
    elif view.empty:
        ui.no_data(
            "champion or challenger in the registry",
            "Train one with `fraudstream train --data sim://?rows=200000`.",
        )
    else:
        st.dataframe(
            view,
            hide_index=True,
            column_config={
                "registered_at": st.column_config.DatetimeColumn(
                    "registered (UTC)", format="YYYY-MM-DD HH:mm:ss"
                ),
                "test_pr_auc": st.column_config.NumberColumn("test PR-AUC", format="%.4f"),
                "test_roc_auc": st.column_config.NumberColumn("test ROC-AUC", format="%.4f"),
            },
        )


@st.fragment(run_every=ui.refresh_every())
def models(window: timedelta) -> None:
    serving = ui.query(queries.serving_versions, window)
    if not serving.empty:
        st.subheader("Versions that gave verdicts")
        st.dataframe(serving, hide_index=True)

    st.subheader("Champion / challenger decisions")
    history = ui.query(queries.decisions, 100)
    if history.empty:
        ui.no_data(
            "champion/challenger decision",
            "The scheduled job (`fraudstream challenger schedule`) records one per run.",
        )
        return
    last = history.iloc[0]
    cols = st.columns(4)
    cols[0].metric("Decisions", len(history))
    cols[1].metric("Promotions", int((history["action"] == "promoted").sum()))
    cols[2].metric("Last decision", str(last["action"]))
    cols[3].metric("Champion after the last run", str(last["champion_after"] or "–"))
    _metric_chart(history)
    _card_metric(history)
    st.dataframe(
        history.drop(columns=["id", "model_name", "metric"]),
        hide_index=True,
        column_config={
            "run_at": st.column_config.DatetimeColumn("run (UTC)"),
            **{
                name: st.column_config.NumberColumn(format="%.4f")
                for name in history.columns
                if name.endswith(("_metric", "_ci_low", "_ci_high")) or name == "difference"
            },
        },
    )


def _metric_chart(history: pd.DataFrame) -> None:
    """Both models' metric per run, with the bootstrap interval as a bar around it; only the
    runs on the latest measured run's metric (a PR-AUC and an amount share no axis)."""
    frames = []
    for role in ("champion", "challenger"):
        part = history[["run_at", "metric"]].copy()
        part["model"] = role
        part["version"] = history[f"{role}_version"]
        part["value"] = history[f"{role}_metric"]
        part["low"] = history[f"{role}_ci_low"]
        part["high"] = history[f"{role}_ci_high"]
        frames.append(part)
    points = pd.concat(frames).dropna(subset=["value"])
    if points.empty:
        st.caption("No run measured both models yet (too few labelled frauds).")
        return
    points = points[points["metric"] == points["metric"].iloc[0]]
    base = alt.Chart(points).encode(
        x=alt.X("run_at:T", title="run"),
        color=alt.Color("model:N", scale=MODEL_COLOURS),
    )
    bands = base.mark_rule(strokeWidth=3, opacity=0.5).encode(
        y=alt.Y("low:Q", title=str(points["metric"].iloc[0])), y2="high:Q"
    )
    dots = base.mark_point(filled=True, size=60).encode(
        y="value:Q", tooltip=["run_at", "model", "version", "value", "low", "high"]
    )
    st.altair_chart((bands + dots).properties(height=260), width="stretch")


def _card_metric(history: pd.DataFrame) -> None:
    """When the latest decision that measured both models used a card metric: each model's
    figure and the difference with their bootstrap intervals, and the figure day by day (a bad
    day, or a model that wins only on some days, shows here and not in the window's figure)."""
    measured = history.dropna(subset=["champion_metric", "challenger_metric"])
    if measured.empty or measured["metric"].iloc[0] not in CARD_METRICS:
        return
    last = measured.iloc[0]
    days = ui.query(queries.decision_days, int(last["id"]))
    if days.empty:  # recorded before the decisions kept their days
        return
    metric = str(last["metric"])
    title = CARD_METRICS[metric].format(k=int(days["cards_per_day"].iloc[0]))
    st.subheader(f"{title} at the latest measured decision")
    cols = st.columns(3)
    for col, role in zip(cols[:2], ("champion", "challenger"), strict=True):
        col.metric(
            f"{role} (version {last[f'{role}_version']})",
            _with_interval(metric, last, f"{role}_metric", f"{role}_ci"),
        )
    cols[2].metric(
        "difference",
        _with_interval(metric, last, "difference", "difference_ci"),
        help="Challenger minus champion, paired bootstrap interval.",
    )
    days = days.assign(day=pd.to_datetime(days["day"]))
    lines = (
        alt.Chart(days)
        .mark_line(point=True)
        .encode(
            x=alt.X("day:T", title="day (transaction time)"),
            y=alt.Y("value:Q", title=title),
            color=alt.Color("model:N", scale=MODEL_COLOURS),
            tooltip=["day", "model", "value"],
        )
    )
    st.altair_chart(lines.properties(height=260), width="stretch")


def _with_interval(metric: str, row: Any, value: str, interval: str) -> str:
    """``value [low, high]``: CP@k as a share, the amount as money."""
    shown = "{:.4f}" if metric == "cp_at_k" else "{:,.2f}"
    low, high = row[f"{interval}_low"], row[f"{interval}_high"]
    return f"{shown.format(row[value])} [{shown.format(low)}, {shown.format(high)}]"


main()
