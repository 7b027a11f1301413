"""The labels sink on real parts: a label is stored; what is not a label is a dead letter on the
topic AND a row of the dead-letter table, where the dashboard shows it (the same policy as the
scorer's dead letters). Real broker, PostgreSQL and worker; no model service is needed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from fixtures.pipeline import Pipeline, wait_for
from fraudstream.dashboard.queries import dead_letter_reasons, recent_dead_letters
from fraudstream.dead_letters import REASON_HEADER, SOURCE_HEADER
from fraudstream.kafka.producer import Producer
from fraudstream.schema import LabelEvent
from fraudstream.storage.readonly import ReadOnlyDatabase

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CARD = "4000000000000002"


def test_a_bad_label_shows_up_in_the_dead_letter_table(pipeline: Pipeline) -> None:
    settings = pipeline.settings
    url = settings.database.url.get_secret_value()
    good = LabelEvent(trans_num="labelled-1", is_fraud=1, labelled_at=datetime.now(UTC))
    bad = [
        b"not json at all",
        b'{"trans_num": "labelled-2", "is_fraud": 7, "labelled_at": "2020-01-01T00:00:00Z"}',
    ]
    pipeline.worker()
    with Producer(settings.kafka) as producer:  # one key: one partition, in this order
        producer.produce(settings.topics.labels, good.model_dump_json().encode(), CARD)
        for value in bad:
            producer.produce(settings.topics.labels, value, CARD)

    def mirrored() -> list[tuple[str, int, bytes, str]]:
        with psycopg.connect(url) as conn:
            return conn.execute(
                "SELECT topic, kafka_offset, payload, reason FROM dead_letters"
                " WHERE topic = %s ORDER BY kafka_offset",
                (settings.topics.labels,),
            ).fetchall()

    wait_for(lambda: len(mirrored()) >= len(bad), 120, "the bad labels in the dead-letter table")
    rows = mirrored()
    assert [bytes(payload) for _, _, payload, _ in rows] == bad
    assert all(reason.startswith("not a label: ") for _, _, _, reason in rows)
    assert "is_fraud" in rows[1][3]
    with psycopg.connect(url) as conn:
        labels = conn.execute("SELECT trans_num, is_fraud FROM labels").fetchall()
    assert labels == [("labelled-1", 1)]

    # the dashboard's own queries show them
    reader = ReadOnlyDatabase(url, timeout_seconds=5)
    try:
        recent = recent_dead_letters(reader)
        reasons = dead_letter_reasons(reader, timedelta(hours=1))
    finally:
        reader.close()
    assert (recent["topic"] == settings.topics.labels).sum() == len(bad)
    assert reasons["reason"].str.startswith("not a label: ").sum() == len(bad)

    # the topic carries the same dead letters, with the contract's headers
    messages = pipeline.topic_messages(settings.topics.dlq, len(bad))
    assert [m.value() for m in messages] == bad
    for message, (topic, offset, _, reason) in zip(messages, rows, strict=True):
        headers = dict(message.headers() or [])
        assert headers[REASON_HEADER].decode() == reason
        assert headers[SOURCE_HEADER].decode().startswith(f"{topic}:")
        assert headers[SOURCE_HEADER].decode().endswith(f":{offset}")
