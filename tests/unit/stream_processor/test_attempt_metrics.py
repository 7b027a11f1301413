"""What a worker tells operators about its attempts: how long each took, and how old its
batch was when it started (the part of the latency spent before the scorer)."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest
from prometheus_client import REGISTRY

from fixtures.stream_core import TOPIC, core, record
from fraudstream.stream_processor.incoming import decode
from fraudstream.stream_processor.pending import Entry

pytestmark = pytest.mark.unit

AGE = 3.0
"""Seconds between the messages' Kafka timestamp and the test putting them."""


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


async def test_an_attempt_records_its_duration_and_the_age_of_its_oldest_message() -> None:
    c = core()
    produced = datetime.now(UTC).timestamp() - AGE
    entries = [
        Entry((TOPIC, 0, i), None, decode(TOPIC, 0, i, b"k", orjson.dumps(record(i)), produced))
        for i in range(5)
    ]
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
