"""A worker's state in one sentence: what an operator reads first when the rate drops."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from fraudstream.dashboard.wording import stream_state

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def row(**fields: object) -> pd.Series:
    empty = dict.fromkeys(
        ("state", "state_since", "state_reason", "isolating", "last_failure", "last_failure_at")
    )
    return pd.Series({"worker": "w1", **empty, **fields})


def test_an_outage_says_since_when_and_why() -> None:
    sentence = stream_state(
        row(state="retrying", state_since=NOW - timedelta(minutes=4), state_reason="PG down"),
        NOW,
    )
    assert sentence == "w1: retrying since 11:56:00 UTC (4 min ago) because PG down"


def test_isolation_counts_the_messages_under_suspicion() -> None:
    one = stream_state(row(state="isolating", isolating=1, state_reason="500"), NOW)
    many = stream_state(row(state="isolating", isolating=3), NOW)
    assert one == "w1: isolating 1 message (500)"
    assert many == "w1: isolating 3 messages"


def test_the_last_failure_follows_whatever_the_state() -> None:
    sentence = stream_state(
        row(
            state="flowing",
            state_since=NOW - timedelta(seconds=30),
            last_failure="poison at transactions[0]@7",
            last_failure_at=NOW - timedelta(hours=3),
        ),
        NOW,
    )
    assert sentence == (
        "w1: flowing since 11:59:30 UTC (30 s ago); "
        "last failure at 09:00:00 UTC (3 h ago): poison at transactions[0]@7"
    )


def test_times_without_a_zone_are_utc_as_in_the_dashboards_frames() -> None:
    naive = pd.Timestamp(NOW - timedelta(minutes=4)).tz_localize(None)
    sentence = stream_state(row(state="retrying", state_since=naive), NOW)
    assert sentence == "w1: retrying since 11:56:00 UTC (4 min ago)"


def test_a_report_from_before_states_were_recorded_is_unknown() -> None:
    assert stream_state(row(), NOW) == "w1: unknown"
