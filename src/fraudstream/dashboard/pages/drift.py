"""Drift: how far recent traffic has moved from the training reference, feature by feature."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from fraudstream.dashboard import auth, queries, ui

PSI_MODERATE = 0.1
PSI_MAJOR = 0.25
NOT_COUNTED = "not counted (lifetime)"
LEVELS = ("stable (< 0.1)", "moderate", "major (≥ 0.25)", NOT_COUNTED)


def main() -> None:
    auth.require("viewer")
    st.title("Drift")
    drift()
    ui.footer()


@st.fragment(run_every=ui.refresh_every())
def drift() -> None:
    reports = ui.query(queries.drift_reports, 50)
    if reports.empty:
        ui.no_data(
            "drift report",
            "The champion/challenger job compares recent traffic with the training reference "
            "on every run (`fraudstream challenger run-once`).",
        )
        return
    labels = {
        int(id_): f"#{id_} · {created:%Y-%m-%d %H:%M} UTC" + (" · drifted" if drifted else "")
        for id_, created, drifted in zip(
            reports["id"], reports["created_at"], reports["drifted"], strict=True
        )
    }
    chosen = st.selectbox("Report", list(labels), format_func=labels.__getitem__, key="report")
    report = reports[reports["id"] == chosen].iloc[0]
    features = ui.query(queries.drift_features, int(chosen))
    # the report's own flags: a lifetime feature (how long a card has been watched) is shown
    # but never counted, since a training file and a long-running stream differ there anyway
    judged = features[features["counted"] & (features["feature"] != "score")]  # score: own tile
    cols = st.columns(4)
    cols[0].metric("Verdict", "drifted" if report["drifted"] else "stable")
    cols[1].metric("Features", len(features))
    cols[2].metric("Drifted features", f"{int(judged['drifted'].sum())} of {len(judged)}")
    cols[3].metric("Largest PSI (counted)", f"{judged['psi'].max():.3f}" if len(judged) else "–")
    more = st.columns(4)
    more[0].metric("Model version", str(report["model_version"] or "–"))
    more[1].metric("Score PSI", _number(report["score_psi"], "{:.3f}"))
    more[2].metric("Fraud rate (labelled)", _number(report["fraud_rate"], "{:.3%}"))
    more[3].metric("Fraud rate (training)", _number(report["reference_fraud_rate"], "{:.3%}"))
    st.caption(
        f"{report['summary']} — window {report['window_start']:%Y-%m-%d %H:%M} to "
        f"{report['window_end']:%Y-%m-%d %H:%M} (transaction time) against {report['reference']}"
    )
    if features.empty:
        return
    left, right = st.columns([3, 2])
    with left:
        _psi_bars(features)
        if not features["counted"].all():
            st.caption(
                f"{NOT_COUNTED}: "
                + ", ".join(features.loc[~features["counted"], "feature"])
                + ". They describe how long each card has been watched, which differs by "
                "construction between a training file and a stream that has run for months."
            )
    with right:
        st.dataframe(
            features,
            hide_index=True,
            column_config={
                "psi": st.column_config.NumberColumn("PSI", format="%.4f"),
                "ks": st.column_config.NumberColumn("KS", format="%.4f"),
                "ks_pvalue": st.column_config.NumberColumn("KS p-value", format="%.2e"),
            },
        )
    history = ui.query(queries.drift_history, 30)
    if history["created_at"].nunique() > 1:
        st.subheader("PSI over the latest reports")
        st.line_chart(history, x="created_at", y="psi", color="feature", x_label="", height=260)


def _number(value: float | None, form: str) -> str:
    return "–" if value is None or pd.isna(value) else form.format(value)


def _psi_bars(features: pd.DataFrame) -> None:
    shown = features.dropna(subset=["psi"]).assign(
        level=lambda f: (
            pd.cut(
                f["psi"],
                [-float("inf"), PSI_MODERATE, PSI_MAJOR, float("inf")],
                labels=list(LEVELS[:3]),
                right=False,
            )
            .astype(str)
            .where(f["counted"], NOT_COUNTED)
        )
    )
    chart = (
        alt.Chart(shown)
        .mark_bar()
        .encode(
            x=alt.X("psi:Q", title="PSI"),
            y=alt.Y("feature:N", sort="-x", title=None, axis=alt.Axis(labelLimit=200)),
            color=alt.Color(
                "level:N",
                scale=alt.Scale(
                    domain=list(LEVELS), range=["#6c9a5b", "#e0a31e", "#dc3c3c", "#b4b4b4"]
                ),
                title="shift",
            ),
            tooltip=["feature", "psi", "ks", "ks_pvalue", "counted"],
        )
        .properties(height=max(200, 30 * len(shown)))
    )
    st.altair_chart(chart, width="stretch")


main()
