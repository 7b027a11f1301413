"""Transactions in, verdicts stored and published: the stream on real parts, no fault."""

from __future__ import annotations

import orjson
import pytest

from fixtures.pipeline import Pipeline, wait_for
from fraudstream.schema import Verdict

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_every_transaction_is_stored_once_and_published(pipeline: Pipeline) -> None:
    records = pipeline.transactions(3000)
    pipeline.service()
    worker = pipeline.worker()
    pipeline.produce(records)
    stored = pipeline.wait_stored(len(records))
    assert set(stored) == {r["trans_num"] for r in records}
    # the metrics an operator scrapes are fed: every partition's lag back to 0, the state
    partitions = pipeline.settings.topics.transactions_partitions
    lags = [f'fraudstream_stream_lag{{partition="{p}"}}' for p in range(partitions)]
    wait_for(lambda: all(worker.metric(lag) == 0 for lag in lags), 30, "every lag at 0")
    assert worker.metric("fraudstream_stream_scored_total") == len(records)
    assert worker.metric('fraudstream_stream_state{state="flowing"}') == 1
    assert set(stored.values()) == {1}
    messages = pipeline.topic_messages(pipeline.settings.topics.verdicts, len(records))
    verdicts = [Verdict.model_validate_json(m.value()) for m in messages]
    assert {v.trans_num for v in verdicts} == set(stored)
    by_trans = {r["trans_num"]: r for r in records}
    for message, verdict in zip(messages, verdicts, strict=True):
        assert message.key() == str(by_trans[verdict.trans_num]["cc_num"]).encode()
        assert verdict.model_version == "1"
    assert orjson.loads(messages[0].value())["schema_version"] == 1


def test_a_downstream_consumer_that_is_not_ours_reads_the_contract(pipeline: Pipeline) -> None:
    """Debian's kcat reads the verdicts topic; every value validates against the published
    JSON Schema and carries the key the contract names (the card number as text)."""
    import json
    import shutil
    import subprocess
    from pathlib import Path

    import jsonschema

    kcat = shutil.which("kcat")
    if kcat is None:
        pytest.skip("kcat is not installed (scripts/system-deps.sh installs it)")
    records = pipeline.transactions(500, seed=4)
    pipeline.service()
    pipeline.worker()
    pipeline.produce(records)
    pipeline.wait_stored(len(records))
    read = subprocess.run(
        [
            kcat,
            "-b",
            pipeline.settings.kafka.bootstrap_servers,
            "-C",
            "-t",
            pipeline.settings.topics.verdicts,
            "-o",
            "beginning",
            # as many as were produced, then exit: kcat reads committed messages only, and a
            # verdict is in the database a moment before its Kafka transaction commits, so
            # stopping at the partitions' end (-e) raced that commit
            "-c",
            str(len(records)),
            "-q",
            "-f",
            "%k\t%s\n",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    schema = json.loads(
        (Path(__file__).resolve().parents[3] / "docs" / "verdict.schema.json").read_text()
    )
    cards = {r["trans_num"]: str(r["cc_num"]) for r in records}
    seen = set()
    for line in read.stdout.splitlines():
        key, value = line.split("\t", 1)
        verdict = json.loads(value)
        jsonschema.validate(verdict, schema)
        assert key == cards[verdict["trans_num"]]
        seen.add(verdict["trans_num"])
    assert seen == set(cards)
