"""Flagged: the latest transactions the model called fraud, where they happened, and how the
scores of all transactions spread."""

from __future__ import annotations

import altair as alt
import pandas as pd
import pydeck as pdk
import streamlit as st

from fraudstream.dashboard import auth, queries, ui
from fraudstream.schema import CATEGORIES

CUSTOMER_COLOUR = [220, 60, 60, 200]
MERCHANT_COLOUR = [40, 110, 220, 200]


def main() -> None:
    auth.require("viewer")
    st.title("Flagged transactions")
    filters = _filters()
    flagged(filters)
    ui.footer()


def _filters() -> queries.TransactionFilter:
    cols = st.columns([1, 2, 2, 1, 1])
    with cols[0]:
        window = ui.window_picker(default="1 h", key="flagged_window")
    categories = cols[1].multiselect("Category", CATEGORIES, key="flagged_categories")
    states = cols[2].multiselect(
        "State", ui.query(queries.flagged_states, window), key="flagged_states"
    )
    low = cols[3].number_input("Amount from ($)", min_value=0.0, value=0.0, key="flagged_min")
    high = cols[4].number_input(
        "Amount to ($, 0: any)", min_value=0.0, value=0.0, key="flagged_max"
    )
    return queries.TransactionFilter(
        window=window,
        categories=tuple(categories),
        states=tuple(states),
        amount_min=low or None,
        amount_max=high or None,
    )


@st.fragment(run_every=ui.refresh_every())
def flagged(filters: queries.TransactionFilter) -> None:
    rows = ui.query(queries.flagged, filters, 200)
    histogram = ui.query(queries.score_histogram, filters)
    scored = int(histogram["transactions"].sum())
    total_flagged = int(histogram["flagged"].sum())
    cols = st.columns(3)
    cols[0].metric("Flagged (filters applied)", f"{total_flagged:,}")
    cols[1].metric("Scored (filters applied)", f"{scored:,}")
    cols[2].metric("Flagged rate", f"{total_flagged / scored:.2%}" if scored else "–")
    if rows.empty:
        ui.no_data(
            "flagged transactions for these filters",
            "Widen the time window or clear a filter; verdicts appear as the stream scores.",
        )
        if scored:
            _histogram(histogram)
        return
    st.dataframe(
        rows.drop(columns=["lat", "long", "merch_lat", "merch_long"]),
        hide_index=True,
        height=320,
        column_config={
            "scored_at": st.column_config.DatetimeColumn(
                "scored (UTC)", format="YYYY-MM-DD HH:mm:ss"
            ),
            "trans_date_trans_time": st.column_config.DatetimeColumn("transaction time"),
            "amt": st.column_config.NumberColumn("amount", format="$%.2f"),
            "score": st.column_config.ProgressColumn(
                "score", min_value=0.0, max_value=1.0, format="%.3f"
            ),
            "threshold": st.column_config.NumberColumn(format="%.3f"),
            "model_version": st.column_config.TextColumn("model"),
        },
    )
    left, right = st.columns(2)
    with left:
        st.subheader("Where: cardholders (red) and merchants (blue)")
        _map(rows)
    with right:
        st.subheader("Score distribution")
        _histogram(histogram)


def _map(rows: pd.DataFrame) -> None:
    points = rows[["trans_num", "amt", "lat", "long", "merch_lat", "merch_long"]]
    layers = [
        pdk.Layer(
            "LineLayer",
            points,
            get_source_position=["long", "lat"],
            get_target_position=["merch_long", "merch_lat"],
            get_color=[120, 120, 120, 120],
            get_width=1,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            points,
            get_position=["long", "lat"],
            get_fill_color=CUSTOMER_COLOUR,
            get_radius=25_000,
            radius_min_pixels=3,
            pickable=True,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            points,
            get_position=["merch_long", "merch_lat"],
            get_fill_color=MERCHANT_COLOUR,
            get_radius=25_000,
            radius_min_pixels=3,
            pickable=True,
        ),
    ]
    view = pdk.ViewState(
        latitude=float(points["lat"].mean()), longitude=float(points["long"].mean()), zoom=3
    )
    st.pydeck_chart(
        pdk.Deck(layers=layers, initial_view_state=view, tooltip={"text": "{trans_num} ${amt}"}),
        height=360,
    )


def _histogram(histogram: pd.DataFrame) -> None:
    frame = histogram.assign(
        bin=histogram["low"].map(lambda low: f"{low:.2f}"),
        passed=histogram["transactions"] - histogram["flagged"],
    ).melt(
        id_vars=["bin"],
        value_vars=["passed", "flagged"],
        var_name="verdict",
        value_name="count",
    )
    chart = (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("bin:O", title="score (bin start)"),
            y=alt.Y("count:Q", scale=alt.Scale(type="symlog"), title="transactions"),
            color=alt.Color(
                "verdict:N",
                scale=alt.Scale(domain=["passed", "flagged"], range=["#9aa5b1", "#dc3c3c"]),
            ),
            tooltip=["bin", "verdict", "count"],
        )
        .properties(height=360)
    )
    st.altair_chart(chart, width="stretch")
    st.caption("Counted by PostgreSQL in 20 equal bins (width_bucket); log scale.")


main()
