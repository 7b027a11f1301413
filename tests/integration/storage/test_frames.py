"""Sync frame reads for the trainer and the dashboard, on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest

from fixtures.postgres import scored_transactions
from fraudstream.config import Settings
from fraudstream.errors import DatabaseUnavailable, DataError
from fraudstream.schema import KAGGLE_COLUMNS
from fraudstream.storage.frames import labelled_frame, query_frame
from fraudstream.storage.models import Label
from fraudstream.storage.repository import Repository

pytestmark = pytest.mark.integration


async def test_labelled_frame_has_the_kaggle_columns_then_the_verdict(
    database_settings: Settings, database_url: str
) -> None:
    async with Repository.connect(database_settings.database) as repo:
        await repo.store_verdicts(scored_transactions(10))
        await repo.store_labels(
            [Label(f"t{n}", int(n == 4), datetime(2026, 1, 1, tzinfo=UTC)) for n in (2, 4, 9)]
        )
    frame = labelled_frame(database_url, datetime(2020, 6, 1), datetime(2020, 6, 2))
    assert list(frame.columns[: len(KAGGLE_COLUMNS)]) == list(KAGGLE_COLUMNS)
    assert list(frame.columns[len(KAGGLE_COLUMNS) :]) == [
        "score",
        "is_fraud_pred",
        "model_name",
        "model_version",
        "scored_at",
        "labelled_at",
    ]
    assert frame["trans_num"].tolist() == ["t2", "t4", "t9"]
    assert frame["is_fraud"].tolist() == [0, 1, 0]
    assert pd.api.types.is_datetime64_any_dtype(frame["trans_date_trans_time"])
    assert pd.api.types.is_datetime64_any_dtype(frame["dob"])
    assert frame["amt"].dtype == "float64"
    assert frame["cc_num"].dtype == "int64"
    with pytest.raises(DataError, match="naive"):
        labelled_frame(database_url, datetime(2020, 6, 1, tzinfo=UTC), datetime(2020, 6, 2))


def test_query_frame_keeps_the_columns_of_an_empty_result(database_url: str) -> None:
    frame = query_frame(
        database_url,
        "SELECT trans_num, score FROM scored_transactions WHERE score > %s",
        (0.5,),
    )
    assert frame.empty
    assert list(frame.columns) == ["trans_num", "score"]


def test_query_frame_on_a_missing_server_names_it_without_the_password() -> None:
    with pytest.raises(DatabaseUnavailable) as caught:
        query_frame("postgresql://app:hunter2@127.0.0.1:9/fraud", "SELECT 1")
    assert "app:***@127.0.0.1:9" in str(caught.value)
    assert "hunter2" not in str(caught.value)
