"""The fast window reader against a real PostgreSQL: labels, the shadow scores of one version,
transaction-time bounds, and the dtypes the feature code needs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from fixtures.frames import BASE_TIME
from fixtures.postgres import scored_transactions
from fraudstream.config import Settings
from fraudstream.errors import DataError, StorageError
from fraudstream.features import batch_features
from fraudstream.schema import FEED_COLUMNS
from fraudstream.storage.models import Label, ShadowScore
from fraudstream.storage.repository import Repository
from fraudstream.storage.window import WINDOW_COLUMNS, latest_transaction_time, stored_window

pytestmark = pytest.mark.integration

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def seed(settings: Settings) -> None:
    """100 transactions one minute apart; labels for the even ones; shadow scores of versions
    2 (first 50) and 3 (all)."""
    rows = scored_transactions(100)

    async def write() -> None:
        async with Repository.connect(settings.database) as repo:
            await repo.store_verdicts(rows)
            await repo.store_labels(
                [Label(f"t{i}", int(i % 10 == 0), NOW) for i in range(0, 100, 2)]  # type: ignore[arg-type]
            )
            await repo.store_shadow_scores(
                [ShadowScore(f"t{i}", "fraudstream", "2", 0.2, NOW) for i in range(50)]
                + [ShadowScore(f"t{i}", "fraudstream", "3", 0.3, NOW) for i in range(100)]
            )

    asyncio.run(write())


def test_window_rows_labels_and_one_versions_shadow_scores(database_settings: Settings) -> None:
    seed(database_settings)
    url = database_settings.database.url.get_secret_value()
    since, until = BASE_TIME + timedelta(minutes=10), BASE_TIME + timedelta(minutes=70)
    frame = stored_window(url, since, until, shadow_version="2")
    assert list(frame.columns) == list(WINDOW_COLUMNS)
    assert frame["trans_num"].tolist() == [f"t{i}" for i in range(10, 70)]  # [since, until)
    labelled = frame["is_fraud"].notna()
    assert labelled.sum() == 30
    assert frame.loc[frame["trans_num"] == "t20", "is_fraud"].item() == 1
    assert frame["shadow_score"].notna().sum() == 40  # version 2 covers t10..t49 only
    assert set(frame["shadow_score"].dropna()) == {0.2}
    assert frame["model_version"].unique().tolist() == ["1"]
    # typed as the feature code wants them
    assert str(frame["trans_date_trans_time"].dtype).startswith("datetime64")
    assert frame["cc_num"].dtype == np.int64
    assert batch_features(frame[list(FEED_COLUMNS)]).shape[0] == 60
    none = stored_window(url, since, until)
    assert none["shadow_score"].isna().all()


def test_latest_time_and_an_empty_window(database_settings: Settings) -> None:
    url = database_settings.database.url.get_secret_value()
    assert latest_transaction_time(url) is None
    empty = stored_window(url, BASE_TIME, BASE_TIME + timedelta(days=1))
    assert empty.empty
    assert list(empty.columns) == list(WINDOW_COLUMNS)
    seed(database_settings)
    assert latest_transaction_time(url) == BASE_TIME + timedelta(minutes=99)


def test_times_must_be_wall_clock_and_servers_named(database_settings: Settings) -> None:
    url = database_settings.database.url.get_secret_value()
    with pytest.raises(DataError, match="naive"):
        stored_window(url, NOW, NOW + timedelta(days=1))
    with pytest.raises(StorageError, match=r"127\.0\.0\.1:1"):
        stored_window("postgresql://nobody@127.0.0.1:1/none", BASE_TIME, BASE_TIME)
