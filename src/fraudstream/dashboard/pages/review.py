"""Review queue: the flagged transactions no analyst has decided, highest score first, one at a
time with what a decision needs; each decision becomes a label on Kafka
(:mod:`fraudstream.dashboard.decisions`).

Keyboard first: F confirms fraud, N says not fraud, S skips (Streamlit ignores the keys while
the note field has the focus). The next transaction shows as soon as the broker has the label.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import altair as alt
import numpy as np
import pandas as pd
import streamlit as st

from fraudstream.dashboard import auth, queries, ui
from fraudstream.dashboard.decisions import DecisionDesk, Verdict, label_event
from fraudstream.errors import BrokerError
from fraudstream.features.matrix import haversine_km

# (a page script shows any bare string as text: comments, not attribute docstrings, here)
HIDDEN = "review_hidden"  # what this session decided or skipped: off its queue before PG knows
FAILED = "review_failed"


def main() -> None:
    identity = auth.require("analyst")
    st.title("Review queue")
    left, right = st.columns([1, 3])
    with left:
        window = ui.window_picker("Flagged within", default="24 h", key="review_window")
    mine = right.toggle("My reviews", key="review_mine", help="Your decisions, newest first.")
    if mine:
        _my_reviews(identity)
    else:
        _queue(identity, window)
    ui.footer()


@st.cache_resource(show_spinner=False)
def _desk() -> DecisionDesk:
    current = ui.settings()
    return DecisionDesk(current.kafka, current.topics.labels)


def _decide(
    identity: auth.Identity,
    row: dict[str, Any],
    verdict: Verdict | None,
    history: list[str],
) -> None:
    """A button's callback: publish the decision (None: skip), then take it off the queue.

    Confirming fraud also labels the card's transactions the analyst selected in its history:
    one case, one decision (a card-testing streak is a dozen small charges before the big one,
    and a model learns the pattern from the streak, not from its last charge).
    """
    trans_num = str(row["trans_num"])
    if verdict is not None:
        note = str(st.session_state.get(f"review_note_{trans_num}", ""))
        events = [label_event(trans_num, verdict, identity.name, note)]
        if verdict == "fraud":
            case = f"same case as {trans_num}" + (f": {note}" if note.strip() else "")
            events += [
                label_event(other, "fraud", identity.name, case)
                for other in _selected(trans_num, history)
                if other != trans_num
            ]
        try:
            _desk().publish(events, int(row["cc_num"]))
        except BrokerError as exc:
            st.session_state[FAILED] = f"Not saved, try again: {exc}"
            return
        said = "fraud" if verdict == "fraud" else "not fraud"
        more = f" (and {len(events) - 1} of the card's history)" if len(events) > 1 else ""
        st.toast(f"{row['card']} ${row['amt']:,.2f}: {said}{more}, saved", icon=":material/check:")
    st.session_state.setdefault(HIDDEN, []).append(trans_num)


def _selected(trans_num: str, history: list[str]) -> list[str]:
    """The history rows the analyst ticked, by trans_num."""
    state = st.session_state.get(f"review_history_{trans_num}")
    rows = state.selection.rows if state is not None else []
    return [history[i] for i in rows if 0 <= i < len(history)]


def _queue(identity: auth.Identity, window: timedelta) -> None:
    hidden = tuple(st.session_state.get(HIDDEN, []))
    rows = ui.query(queries.review_queue, window, hidden, 1)
    waiting = ui.query(queries.queue_size, window)
    st.caption(
        f"{waiting:,} flagged transactions without a decision in the window · "
        f"{len(hidden)} decided or skipped in this session"
    )
    if failure := st.session_state.pop(FAILED, None):
        st.error(failure, icon=":material/error:")
    if rows.empty:
        ui.no_data(
            "flagged transactions waiting for review",
            "Every flagged transaction of the window has a decision; widen the window, or wait "
            "for the stream to flag more.",
        )
        return
    row = {str(name): value for name, value in rows.iloc[0].items()}
    history = ui.query(queries.card_history, int(row["cc_num"]), row["trans_date_trans_time"], 10)
    _transaction(row)
    note_key = f"review_note_{row['trans_num']}"
    st.text_input("Note (optional)", key=note_key, max_chars=500)
    cols = st.columns([2, 1.5, 1, 3])
    cols[0].button(
        "Confirm fraud",
        type="primary",
        shortcut="F",
        icon=":material/gpp_bad:",
        on_click=_decide,
        args=(identity, row, "fraud", list(history["trans_num"])),
        key="review_fraud",
    )
    cols[1].button(
        "Not fraud",
        shortcut="N",
        icon=":material/verified_user:",
        on_click=_decide,
        args=(identity, row, "not_fraud", []),
        key="review_not_fraud",
    )
    cols[2].button(
        "Skip",
        shortcut="S",
        type="tertiary",
        on_click=_decide,
        args=(identity, row, None, []),
        key="review_skip",
    )
    _history(str(row["trans_num"]), history)


def _transaction(row: dict[str, Any]) -> None:
    st.subheader(f"{row['card']} · ${row['amt']:,.2f} at {row['merchant']} ({row['category']})")
    where = np.array([[row["lat"], row["long"], row["merch_lat"], row["merch_long"]]], float)
    distance = float(haversine_km(*where.T)[0])
    cols = st.columns(4)
    cols[0].metric("Score", f"{row['score']:.3f}", help=f"threshold {row['threshold']:.3f}")
    cols[1].metric("Amount", f"${row['amt']:,.2f}")
    cols[2].metric("Distance home → merchant", f"{distance:,.0f} km")
    cols[3].metric("Model version", str(row["model_version"]), help=str(row["model_name"]))
    st.caption(
        f"Transaction {row['trans_num']} in {row['city']}, {row['state']} at "
        f"{row['trans_date_trans_time']:%Y-%m-%d %H:%M:%S} (cardholder's clock), scored "
        f"{row['scored_at']:%Y-%m-%d %H:%M:%S} UTC"
    )
    reasons = pd.DataFrame(row["reasons"] or [], columns=["feature", "contribution"])
    if reasons.empty:
        st.caption("The model gave no reasons for this verdict.")
        return
    chart = (
        alt.Chart(reasons)
        .mark_bar()
        .encode(
            x=alt.X("contribution:Q", title="contribution to the score (log-odds)"),
            y=alt.Y("feature:N", sort="-x", title=None),
            color=alt.condition(
                "datum.contribution > 0", alt.value("#dc3c3c"), alt.value("#2f6fd6")
            ),
            tooltip=["feature", alt.Tooltip("contribution:Q", format="+.3f")],
        )
        .properties(height=alt.Step(28), title="Why the model flagged it")
    )
    st.altair_chart(chart, width="stretch")


def _history(trans_num: str, history: pd.DataFrame) -> None:
    st.subheader("The card's latest transactions")
    st.caption(
        "Tick the ones that belong to the same fraud: *Confirm fraud* labels them too. "
        "The transaction under review is the first row."
    )
    shown = history.assign(
        verdict=history["is_fraud_pred"].map({1: "flagged", 0: "passed"}),
        label=_labels(history["label"], history["label_source"]),
    ).drop(columns=["is_fraud_pred", "label_source"])
    st.dataframe(
        shown,
        hide_index=True,
        key=f"review_history_{trans_num}",
        on_select="rerun",
        selection_mode="multi-row",
        column_config={
            "trans_date_trans_time": st.column_config.DatetimeColumn("time"),
            "amt": st.column_config.NumberColumn("amount", format="$%.2f"),
            "score": st.column_config.ProgressColumn(
                "score", min_value=0.0, max_value=1.0, format="%.3f"
            ),
        },
    )


def _labels(values: pd.Series, sources: pd.Series) -> list[str]:
    """Each label as words with its source ("fraud (chargeback)"), a dash where none is known."""
    return [
        "–" if pd.isna(v) else f"{'fraud' if int(v) == 1 else 'not fraud'} ({s})"
        for v, s in zip(values, sources, strict=True)
    ]


def _my_reviews(identity: auth.Identity) -> None:
    reviews = ui.query(queries.my_reviews, identity.name, 200)
    if reviews.empty:
        ui.no_data(
            "decisions of yours",
            "Decide a transaction of the queue; it shows here once the stream has stored it.",
        )
        return
    overruled = (reviews["counts_source"] == "chargeback") & (
        reviews["counts"] != reviews["decision"]
    )
    cols = st.columns(3)
    cols[0].metric("Your decisions", f"{len(reviews):,}")
    cols[1].metric("Confirmed fraud", f"{int((reviews['decision'] == 1).sum()):,}")
    cols[2].metric("Overruled by a chargeback", f"{int(overruled.sum()):,}")
    st.dataframe(
        reviews.assign(
            decision=reviews["decision"].map({1: "fraud", 0: "not fraud"}),
            now_counts=_labels(reviews["counts"], reviews["counts_source"]),
        ).drop(columns=["counts", "counts_source"]),
        hide_index=True,
        column_config={
            "decided_at": st.column_config.DatetimeColumn(
                "decided (UTC)", format="YYYY-MM-DD HH:mm:ss"
            ),
            "amt": st.column_config.NumberColumn("amount", format="$%.2f"),
            "score": st.column_config.NumberColumn(format="%.3f"),
            "now_counts": st.column_config.TextColumn("label that counts"),
        },
    )


main()
