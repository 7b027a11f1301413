"""The scheduler's period and the model-events message."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from fraudstream.champion_challenger.announce import AliasMove, event
from fraudstream.champion_challenger.schedule import parse_duration
from fraudstream.errors import ConfigError

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", timedelta(seconds=90)),
        ("10m", timedelta(minutes=10)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("0.5h", timedelta(minutes=30)),
        ("45", timedelta(seconds=45)),
        (" 5M ", timedelta(minutes=5)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "ten minutes", "10x", "5m3", "0", "-3", "0s"])
def test_bad_durations_say_what_is_expected(text: str) -> None:
    with pytest.raises(ConfigError, match=r"duration|positive"):
        parse_duration(text)


def test_the_model_event_names_the_move() -> None:
    at = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    value = orjson.loads(event("fraudstream", AliasMove("champion", "7", "5"), "better", at))
    assert value == {
        "event": "alias_moved",
        "model_name": "fraudstream",
        "alias": "champion",
        "version": "7",
        "previous_version": "5",
        "reason": "better",
        "decided_at": "2026-01-02T03:04:05+00:00",
    }
