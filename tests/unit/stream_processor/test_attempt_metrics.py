"""What a worker tells operators about its attempts: how long each took, and how old its
batch was when it started (the part of the latency spent before the scorer)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from fixtures.stream_core import core, entry, record

pytestmark = pytest.mark.unit

AGE = 3.0
"""Seconds between the messages' Kafka timestamp and the test putting them."""


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_an_attempt_records_its_duration_and_the_age_of_its_oldest_message() -> None:
    c = core()
    produced = datetime.now(UTC).timestamp() - AGE
    entries = [entry(record(i), i, produced=produced) for i in range(5)]
    before = {
        name: sample(name)
        for name in (
            "fraudstream_stream_attempt_seconds_count",
            "fraudstream_stream_attempt_seconds_sum",
            "fraudstream_stream_batch_age_seconds_count",
            "fraudstream_stream_batch_age_seconds_sum",
        )
    }
    await c.put(entries)
    assert await c.attempt() is None
    assert len(c.pending) == 0
    after = {name: sample(name) - value for name, value in before.items()}

    assert after["fraudstream_stream_attempt_seconds_count"] == 1
    assert after["fraudstream_stream_attempt_seconds_sum"] > 0
    assert after["fraudstream_stream_batch_age_seconds_count"] == 1
    assert AGE <= after["fraudstream_stream_batch_age_seconds_sum"] < AGE + 5


async def test_an_attempt_over_the_threshold_is_logged_with_each_step(
    caplog: pytest.LogCaptureFixture,
) -> None:
    c = core(stream_slow_attempt_seconds=AGE - 1)
    fresh = datetime.now(UTC).timestamp()
    await c.put([entry(record(0), 0, produced=fresh)])
    assert await c.attempt() is None
    assert "slow attempt" not in caplog.text  # neither slow nor old

    await c.put([entry(record(1), 1, produced=fresh - AGE)])
    assert await c.attempt() is None
    [line] = [r.getMessage() for r in caplog.records if "slow attempt" in r.getMessage()]
    assert "for 1 transaction(s)" in line
    for step in ("features", "service", "store", "publish"):
        assert f"{step} " in line
    waited = int(line.rsplit("waited ", 1)[1].split(" ms")[0])
    assert AGE * 1000 <= waited < (AGE + 5) * 1000
