"""A stream worker's state as one sentence, the same on the Live page and in ``fraudstream status``.

An operator who sees 0 tx/s needs the why at once: an outage being retried (since when, and
what failed), messages being isolated, or nothing wrong at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pandas as pd


def stream_state(row: Any, now: datetime | None = None) -> str:
    """``row`` is one of :func:`~fraudstream.dashboard.queries.stream_states`'s rows."""
    now = now or datetime.now(UTC)
    state = row["state"] if _present(row["state"]) else "unknown"
    since = _when(row["state_since"], now)
    reason = row["state_reason"] if _present(row["state_reason"]) else None
    if state == "retrying":
        sentence = f"retrying{since}" + (f" because {reason}" if reason else "")
    elif state == "isolating":
        count = int(row["isolating"]) if _present(row["isolating"]) else 0
        sentence = f"isolating {count} message{'s' if count != 1 else ''}{since}" + (
            f" ({reason})" if reason else ""
        )
    else:
        sentence = f"{state}{since}"
    if _present(row["last_failure"]):
        sentence += (
            f"; last failure{_when(row['last_failure_at'], now, 'at')}: {row['last_failure']}"
        )
    return f"{row['worker']}: {sentence}"


def _when(value: Any, now: datetime, word: str = "since") -> str:
    if not _present(value):
        return ""
    stamp = pd.Timestamp(value)  # the dashboard's frames carry UTC without a zone
    at = (stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp).to_pydatetime()
    return f" {word} {at:%H:%M:%S} UTC ({_ago(now - at)} ago)"


def _ago(elapsed: Any) -> str:
    seconds = max(0, int(elapsed.total_seconds()))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    return f"{seconds // 3600} h"


def _present(value: Any) -> bool:
    return bool(pd.notna(value))
