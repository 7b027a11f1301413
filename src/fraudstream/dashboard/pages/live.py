"""Live: is the stream keeping up right now, and how has it done over the window."""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
import streamlit as st

from fraudstream.dashboard import auth, queries, ui, wording

START_HINT = "Start the stack with `fraudstream up` (or `fraudstream stream` and a producer)."


def main() -> None:
    auth.require("viewer")
    st.title("Live")
    window = ui.window_picker(key="live_window")
    live(window)
    ui.footer()


@st.fragment(run_every=ui.refresh_every())
def live(window: timedelta) -> None:
    now = ui.query(queries.live_now).iloc[0]
    counts = ui.query(queries.traffic, window).iloc[0]
    stream = ui.query(queries.stream_series, window)
    verdicts = ui.query(queries.verdict_series, window)
    scored, flagged = int(counts["scored"]), int(counts["flagged"])
    labelled, frauds = int(counts["labelled"]), int(counts["labelled_frauds"])

    top = st.columns(4)
    top[0].metric(
        "Throughput (tx/s)", f"{now['throughput']:,.1f}", chart_data=_spark(stream, "throughput")
    )
    top[1].metric(
        "End-to-end latency p95 (ms)",
        _ms(now["latency_p95_ms"]),
        chart_data=_spark(stream, "latency_p95_ms"),
    )
    top[2].metric(
        "Consumer lag (messages)", f"{int(now['lag']):,}", chart_data=_spark(stream, "lag")
    )
    top[3].metric("Stream workers", int(now["workers"]))
    bottom = st.columns(4)
    bottom[0].metric("Verdicts in window", f"{scored:,}")
    bottom[1].metric(
        "Flagged rate",
        _rate(flagged, scored),
        f"{flagged:,} flagged",
        delta_color="off",
        delta_arrow="off",
    )
    bottom[2].metric(
        "Confirmed fraud rate (labels)",
        _rate(frauds, labelled),
        f"{frauds:,} of {labelled:,} labels",
        delta_color="off",
        delta_arrow="off",
    )
    bottom[3].metric("Dead letters in window", f"{int(counts['dead_letters']):,}")

    _states(ui.query(queries.stream_states))

    if int(now["workers"]) == 0:
        last = now["last_report_ever"]
        if pd.isna(last):
            ui.no_data("stream metrics", START_HINT)
        else:
            st.warning(
                f"No stream worker reported in the last {queries.LIVE_WINDOW.seconds} s "
                f"(last report {last:%Y-%m-%d %H:%M:%S} UTC): is `fraudstream stream` running?",
                icon=":material/warning:",
            )

    if stream.empty and verdicts.empty:
        return
    left, right = st.columns(2)
    with left:
        st.subheader("Throughput (tx/s)")
        st.line_chart(stream, x="t", y="throughput", x_label="", y_label="tx/s", height=220)
        st.subheader("Consumer lag (messages)")
        st.area_chart(stream, x="t", y="lag", x_label="", y_label="messages", height=220)
    with right:
        st.subheader("End-to-end latency (ms)")
        latency = stream.rename(
            columns={"latency_p50_ms": "p50", "latency_p95_ms": "p95", "latency_p99_ms": "p99"}
        )
        st.line_chart(latency, x="t", y=["p50", "p95", "p99"], x_label="", height=220)
        st.subheader("Flagged rate and dead letters")
        rates = verdicts.assign(flagged_pct=verdicts["flagged_rate"] * 100)
        st.line_chart(rates, x="t", y="flagged_pct", x_label="", y_label="% flagged", height=110)
        st.bar_chart(stream, x="t", y="dlq_count", x_label="", y_label="dead letters", height=110)


def _states(states: pd.DataFrame) -> None:
    """One line per worker: green when flowing, amber when retrying or isolating."""
    for _, row in states.iterrows():
        sentence = wording.stream_state(row)
        if row["state"] in ("retrying", "isolating"):
            st.warning(sentence, icon=":material/sync_problem:")
        else:
            st.caption(sentence)


def _ms(value: float | None) -> str:
    return "–" if value is None or pd.isna(value) else f"{value:,.0f}"


def _spark(frame: pd.DataFrame, column: str) -> list[float] | None:
    """The window's values as a metric's sparkline (None draws none)."""
    values = frame[column].dropna().astype("float64").tolist()
    return values or None


def _rate(part: int, whole: int) -> str:
    return f"{part / whole:.2%}" if whole else "–"


main()
