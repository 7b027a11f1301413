"""Audit trail: every label received, who gave it and when, never changed; the disagreements
between analysts and chargebacks; and what each analyst decided (``docs/labels.md``)."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from fraudstream.dashboard import auth, queries, ui

SOURCES = {"all": None, "analysts": "analyst", "chargebacks": "chargeback"}


def main() -> None:
    auth.require("analyst")
    st.title("Audit trail")
    cols = st.columns([1, 1, 3])
    with cols[0]:
        window = ui.window_picker("Received within", default="7 days", key="audit_window")
    source = cols[1].selectbox("Source", list(SOURCES), key="audit_source")
    summary(window)
    disagreements(window)
    trail(window, SOURCES[str(source)])
    ui.footer()


def summary(window: timedelta) -> None:
    who = ui.query(queries.review_summary, window)
    if who.empty:
        ui.no_data(
            "labels in this window",
            "Chargebacks arrive from the labels topic; analysts' decisions from the Review queue.",
        )
        return
    analysts = who[who["who"] != "chargeback"]
    cols = st.columns(3)
    cols[0].metric("Labels received", f"{int(who['decisions'].sum()):,}")
    cols[1].metric("Analysts' decisions", f"{int(analysts['decisions'].sum()):,}")
    cols[2].metric("Analysts deciding", f"{len(analysts):,}")
    st.dataframe(
        who,
        hide_index=True,
        column_config={
            "who": st.column_config.TextColumn("who"),
            "fraud": st.column_config.NumberColumn("said fraud"),
            "last_decision": st.column_config.DatetimeColumn(
                "last (UTC)", format="YYYY-MM-DD HH:mm:ss"
            ),
        },
    )


def disagreements(window: timedelta) -> None:
    split = ui.query(queries.disagreements, window, 100)
    st.subheader(f"Disagreements ({len(split):,})")
    if split.empty:
        st.caption("No transaction of the window has labels that disagree.")
        return
    st.caption(
        "A chargeback outranks an analyst's decision; between two of a kind the later counts. "
        "Every decision stays in the trail."
    )
    st.dataframe(
        split.assign(counts=split["counts"].map({1: "fraud", 0: "not fraud"})),
        hide_index=True,
        column_config={
            "decisions": st.column_config.TextColumn("decisions, in order"),
            "counts_source": st.column_config.TextColumn("counts: source"),
            "counts": st.column_config.TextColumn("counts: label"),
            "last_decision": st.column_config.DatetimeColumn(
                "last (UTC)", format="YYYY-MM-DD HH:mm:ss"
            ),
        },
    )


def trail(window: timedelta, source: str | None) -> None:
    rows = ui.query(queries.audit_trail, window, source, 500)
    st.subheader("Every label, newest first")
    if rows.empty:
        st.caption("Nothing received in this window.")
        return
    st.dataframe(
        rows.assign(is_fraud=rows["is_fraud"].map({1: "fraud", 0: "not fraud"})),
        hide_index=True,
        column_config={
            "stored_at": st.column_config.DatetimeColumn(
                "stored (UTC)", format="YYYY-MM-DD HH:mm:ss"
            ),
            "labelled_at": st.column_config.DatetimeColumn(
                "decided (UTC)", format="YYYY-MM-DD HH:mm:ss"
            ),
            "is_fraud": st.column_config.TextColumn("label"),
            "amt": st.column_config.NumberColumn("amount", format="$%.2f"),
            "score": st.column_config.NumberColumn(format="%.3f"),
        },
    )


main()
