"""The rows the repository stores: what they accept, and the record they give COPY."""

from __future__ import annotations

from datetime import UTC, datetime

import orjson
import pytest

from fixtures.postgres import scored_transactions
from fraudstream.errors import DataError
from fraudstream.schema import FEED_COLUMNS
from fraudstream.storage.models import SCORED_COLUMNS, Label, ScoredTransaction, ShadowScore

pytestmark = pytest.mark.unit

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


def test_record_follows_the_column_order() -> None:
    row = scored_transactions(1, start=8)[0]
    record = dict(zip(SCORED_COLUMNS, row.record(), strict=True))
    assert SCORED_COLUMNS[: len(FEED_COLUMNS)] == FEED_COLUMNS
    assert record["trans_num"] == "t8"
    assert record["cc_num"] == row.transaction.cc_num
    assert record["dob"] == row.transaction.dob
    assert record["is_fraud_pred"] == row.verdict.is_fraud == 1
    assert record["score"] == row.verdict.score
    assert orjson.loads(record["reasons"]) == [{"feature": "amt", "contribution": 0.25}]
    assert record["produced_at"] == row.produced_at


def test_a_verdict_paired_with_another_transaction_is_refused() -> None:
    first, second = scored_transactions(2)
    with pytest.raises(DataError, match="paired with transaction"):
        ScoredTransaction(first.transaction, second.verdict, NOW, NOW)


@pytest.mark.parametrize("field", ["produced_at", "scored_at"])
def test_system_times_must_carry_a_zone(field: str) -> None:
    row = scored_transactions(1)[0]
    times = {"produced_at": NOW, "scored_at": NOW, field: datetime(2026, 1, 1, 12)}
    with pytest.raises(DataError, match=f"{field} must carry a time zone"):
        ScoredTransaction(row.transaction, row.verdict, **times)


def test_labels_and_shadow_scores_need_zoned_times() -> None:
    with pytest.raises(DataError, match="labelled_at"):
        Label("t1", 1, datetime(2026, 1, 1))
    with pytest.raises(DataError, match="scored_at"):
        ShadowScore("t1", "m", "2", 0.5, datetime(2026, 1, 1))
    assert Label("t1", 1, NOW).is_fraud == 1
