"""Dead letters: which messages the stream set aside, and why."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from fraudstream.dashboard import auth, queries, ui


def main() -> None:
    auth.require("viewer")
    st.title("Dead letters")
    window = ui.window_picker(default="24 h", key="dead_window")
    dead_letters(window)
    ui.footer()


@st.fragment(run_every=ui.refresh_every())
def dead_letters(window: timedelta) -> None:
    reasons = ui.query(queries.dead_letter_reasons, window, 50)
    recent = ui.query(queries.recent_dead_letters, 100)
    total = int(reasons["messages"].sum()) if not reasons.empty else 0
    cols = st.columns(3)
    cols[0].metric("Dead letters in window", f"{total:,}")
    cols[1].metric("Distinct reasons", len(reasons))
    cols[2].metric(
        "Last one (UTC)", f"{recent['failed_at'].iloc[0]:%Y-%m-%d %H:%M:%S}" if len(recent) else "–"
    )
    if recent.empty:
        ui.no_data(
            "dead letters",
            "Malformed messages on the transactions topic land here with their reason.",
        )
        return
    if not reasons.empty:
        st.subheader("Reasons")
        st.dataframe(
            reasons,
            hide_index=True,
            column_config={
                "messages": st.column_config.ProgressColumn(
                    format="%d", min_value=0, max_value=int(reasons["messages"].max())
                ),
                "last_seen": st.column_config.DatetimeColumn("last seen (UTC)"),
            },
        )
    st.subheader("Latest")
    st.dataframe(
        recent,
        hide_index=True,
        column_config={"failed_at": st.column_config.DatetimeColumn("failed (UTC)")},
    )


main()
