"""Poison messages of many kinds, interleaved with ordinary traffic on the SAME partition (one
card): every ordinary transaction scored, each poison in the dead-letter topic and table with a
reason that names the field or the stage, the partition committed to its end, and the operator
told what happened. Real broker, PostgreSQL, model service and workers.

Some kinds are refused when decoded (values no later stage could hold); the others pass the
decoder and break a later stage, as a bug would: PostgreSQL refusing a row (a constraint the
schema does not know), the service failing with a 500 for one transaction, a server answering
for the wrong transaction. Those are found by isolation.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import orjson
import psycopg
import pytest

from fixtures.faulty import FaultyProxy
from fixtures.pipeline import Pipeline, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def poisons(good: dict[str, Any]) -> dict[str, tuple[bytes, str]]:
    """name -> (message, words its dead letter's reason must hold)."""
    return {
        "unix_time beyond int64": (orjson.dumps({**good, "unix_time": 10**19}), "unix_time"),
        "a number beyond every type": (json.dumps({**good, "zip": 10**400}).encode(), "zip: "),
        "NUL in the merchant": (orjson.dumps({**good, "merchant": "fraud_\x00"}), "merchant"),
        "an amount of 1e300": (orjson.dumps({**good, "amt": 1e300}), "amt"),
        "not UTF-8": (b'{"merchant": "\xff\xfe"}', "not JSON"),
        "nested 100,000 deep": (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
        "a 10,000-character id": (orjson.dumps({**good, "trans_num": "x" * 10_000}), "trans_num"),
        "born in year 1": (orjson.dumps({**good, "dob": "0001-01-01"}), "dob"),
        "a 950 kB street": (orjson.dumps({**good, "street": "s" * 950_000}), "street"),
        "refused by PostgreSQL": (
            orjson.dumps({**good, "merchant": "fraud_poison_store"}),
            "refused the rows while storing verdicts",
        ),
        "a 500 from the service": (
            orjson.dumps({**good, "merchant": "fraud_poison_500"}),
            "service: the model service answered HTTP 500",
        ),
        "an answer for another transaction": (
            orjson.dumps({**good, "merchant": "fraud_poison_mismatch"}),
            "service: the model service's verdict",
        ),
    }


def test_poison_of_every_kind_is_isolated_and_the_partition_flows(
    pipeline: Pipeline, faulty_proxy: Callable[[str], FaultyProxy]
) -> None:
    settings = pipeline.settings
    with psycopg.connect(settings.database.url.get_secret_value(), autocommit=True) as conn:
        conn.execute(
            "ALTER TABLE scored_transactions ADD CONSTRAINT poison_for_the_test "
            "CHECK (merchant <> 'fraud_poison_store') NOT VALID"
        )
    service = pipeline.service()
    proxy = faulty_proxy(service.url)
    proxy.faults.fail_on = b"fraud_poison_500"
    proxy.faults.mismatch_on = b"fraud_poison_mismatch"
    worker = pipeline.worker(settings.replace(model_service_url=proxy.url))

    card = pipeline.transactions(1)[0]["cc_num"]
    ordinary = [{**r, "cc_num": card} for r in pipeline.transactions(600, seed=9)]
    kinds = poisons({**ordinary[0], "trans_num": "poison"})
    # one poison every 40 ordinary transactions, all on one card: one partition
    messages: list[bytes] = []
    expected: dict[int, tuple[str, str]] = {}  # position in the partition -> (kind, words)
    kind_list = list(kinds.items())
    for i, record in enumerate(ordinary):
        if i % 40 == 20 and kind_list:
            name, (raw, words) = kind_list.pop(0)
            expected[len(messages)] = (name, words)
            messages.append(raw)
        messages.append(orjson.dumps(record))
    assert not kind_list
    pipeline.produce_raw(messages, key=str(card))

    report = pipeline.reconcile(timeout=120)
    assert report.lost == 0, report.examples
    assert report.pending == 0, report  # the partition is committed to its end
    assert report.scored == len(ordinary), report
    assert report.dead_lettered == len(expected), report
    assert report.ok, report.examples
    assert set(pipeline.stored()) == {r["trans_num"] for r in ordinary}

    letters = pipeline.topic_messages(settings.topics.dlq, len(expected))
    assert len(letters) == len(expected)
    by_offset = {
        int(dict(m.headers())["fraudstream.source"].decode().rsplit(":", 1)[1]): m for m in letters
    }
    first = min(by_offset) - min(expected)  # offsets of this test's messages start here
    for position, (name, words) in expected.items():
        letter = by_offset[first + position]
        reason = dict(letter.headers())["fraudstream.reason"].decode()
        assert words in reason, f"{name}: {reason}"
    with psycopg.connect(settings.database.url.get_secret_value()) as conn:
        mirrored = conn.execute("SELECT reason FROM dead_letters").fetchall()
    assert len(mirrored) == len(expected)

    def latest_state() -> tuple[str, str | None] | None:
        with psycopg.connect(settings.database.url.get_secret_value()) as conn:
            row = conn.execute(
                "SELECT state, last_failure FROM stream_metrics ORDER BY ts DESC LIMIT 1"
            ).fetchone()
        return None if row is None else (row[0], row[1])

    wait_for(lambda: (latest_state() or ("", None))[0] == "flowing", 20, "a report of flowing")
    state = latest_state()
    assert state is not None
    assert state[1] is not None  # the last failure it met, for the operator
    assert (worker.metric('fraudstream_stream_dead_letters_total{kind="poison"}') or 0) == 3
    assert (worker.metric('fraudstream_stream_dead_letters_total{kind="malformed"}') or 0) == 9
