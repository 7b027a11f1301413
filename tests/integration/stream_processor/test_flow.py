"""Transactions in, verdicts stored and published: the stream on real parts, no fault."""

from __future__ import annotations

import orjson
import pytest

from fixtures.pipeline import Pipeline
from fraudstream.schema import Verdict

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_every_transaction_is_stored_once_and_published(pipeline: Pipeline) -> None:
    records = pipeline.transactions(3000)
    pipeline.service()
    pipeline.worker()
    pipeline.produce(records)
    stored = pipeline.wait_stored(len(records))
    assert set(stored) == {r["trans_num"] for r in records}
    assert set(stored.values()) == {1}
    messages = pipeline.topic_messages(pipeline.settings.topic_verdicts, len(records))
    verdicts = [Verdict.model_validate_json(m.value()) for m in messages]
    assert {v.trans_num for v in verdicts} == set(stored)
    by_trans = {r["trans_num"]: r for r in records}
    for message, verdict in zip(messages, verdicts, strict=True):
        assert message.key() == str(by_trans[verdict.trans_num]["cc_num"]).encode()
        assert verdict.model_version == "1"
    assert orjson.loads(messages[0].value())["schema_version"] == 1
