"""Every kind of data source, read through real servers: files, S3 (moto), HTTP, PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from fixtures.frames import random_frame
from fixtures.postgres import scored_transactions
from fixtures.s3 import s3_client, s3_settings
from fraudstream.config import Settings
from fraudstream.errors import SourceError
from fraudstream.schema import KAGGLE_COLUMNS
from fraudstream.sources import read_frame
from fraudstream.storage.models import Label
from fraudstream.storage.repository import Repository

pytestmark = pytest.mark.integration


@pytest.fixture
def frame() -> pd.DataFrame:
    return random_frame(500, seed=11)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, home=tmp_path / "home")


def same_rows(loaded: pd.DataFrame, original: pd.DataFrame) -> None:
    assert list(loaded.columns) == list(KAGGLE_COLUMNS)
    assert len(loaded) == len(original)
    assert loaded["trans_num"].tolist() == original["trans_num"].tolist()
    assert loaded["amt"].tolist() == original["amt"].tolist()
    assert loaded["cc_num"].tolist() == original["cc_num"].tolist()


@pytest.mark.parametrize("name", ["data.csv", "data.csv.gz", "data.parquet"])
@pytest.mark.parametrize("with_index", [False, True])
def test_local_files_with_and_without_the_index_column(
    frame: pd.DataFrame, settings: Settings, tmp_path: Path, name: str, with_index: bool
) -> None:
    path = tmp_path / name
    if name.endswith(".parquet"):
        frame.to_parquet(path, index=with_index)
    else:
        frame.to_csv(path, index=with_index)
    same_rows(read_frame(str(path), settings), frame)


def test_a_missing_file_is_one_clear_error(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        read_frame(str(tmp_path / "nope.csv"), settings)


def test_a_file_that_is_not_csv(settings: Settings, tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet at all")
    with pytest.raises(SourceError, match="not a readable Parquet file"):
        read_frame(str(path), settings)


def test_unknown_scheme_names_the_accepted_ones(settings: Settings) -> None:
    with pytest.raises(SourceError, match="s3://bucket/key"):
        read_frame("ftp://example.org/x.csv", settings)


def test_s3_object_through_a_local_s3_server(
    frame: pd.DataFrame, s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> None:
    client = s3_client(s3_endpoint)
    client.put_object(Bucket=s3_bucket, Key="in/fraudTrain.csv", Body=frame.to_csv(index=True))
    settings = s3_settings(s3_endpoint, home=tmp_path)
    same_rows(read_frame(f"s3://{s3_bucket}/in/fraudTrain.csv", settings), frame)
    with pytest.raises(SourceError, match="check the bucket and key"):
        read_frame(f"s3://{s3_bucket}/in/missing.csv", settings)


def test_s3_server_that_does_not_answer(tmp_path: Path) -> None:
    settings = s3_settings("http://127.0.0.1:9", home=tmp_path)
    with pytest.raises(SourceError, match="cannot reach S3"):
        read_frame("s3://bucket/key.csv", settings)


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real HTTP server (the standard library's) serving a folder on a free port."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", folder
    server.shutdown()
    server.server_close()


def test_http_url(frame: pd.DataFrame, settings: Settings, http_root: tuple[str, Path]) -> None:
    base, folder = http_root
    frame.to_csv(folder / "feed.csv.gz", index=False)
    frame.to_parquet(folder / "feed.parquet")
    same_rows(read_frame(f"{base}/feed.csv.gz", settings), frame)
    same_rows(read_frame(f"{base}/feed.parquet", settings), frame)
    with pytest.raises(SourceError, match="HTTP 404"):
        read_frame(f"{base}/missing.csv", settings)


def test_simulator_source(settings: Settings) -> None:
    loaded = read_frame("sim://?rows=3000&seed=5&fraud_rate=0.02", settings)
    assert len(loaded) == 3000
    assert list(loaded.columns) == list(KAGGLE_COLUMNS)
    assert loaded["is_fraud"].sum() > 0
    again = read_frame("sim://?rows=3000&seed=5&fraud_rate=0.02", settings)
    assert loaded["trans_num"].tolist() == again["trans_num"].tolist()
    with pytest.raises(SourceError, match="unknown option"):
        read_frame("sim://?rows=10&colour=red", settings)


def test_simulator_source_drifts_only_when_asked(settings: Settings) -> None:
    """FRAUD_SIM_DRIFT_AT drifts the feed; a training source asks for drift on its own."""
    feed_drifts = settings.replace(sim_drift_at=datetime(2019, 1, 2))
    query = "sim://?rows=20000&seed=5&fraud_rate=0.02"

    def probes(frame: pd.DataFrame) -> int:  # card testing: tiny fraudulent charges
        return int(((frame["is_fraud"] == 1) & (frame["amt"] < 5)).sum())

    plain = read_frame(query, feed_drifts)
    assert plain["trans_num"].tolist() == read_frame(query, settings)["trans_num"].tolist()
    drifted = read_frame(f"{query}&drift_at=2019-01-02", feed_drifts)
    assert probes(drifted) > probes(plain) + 20
    with pytest.raises(SourceError, match="drift_at must be a date"):
        read_frame(f"{query}&drift_at=soon", settings)


def test_labelled_history_in_postgres(database_settings: Settings) -> None:
    rows = scored_transactions(40)
    labelled = rows[:30]  # the last ten have no label yet: not training data

    async def store() -> None:
        async with Repository.connect(database_settings.database) as repo:
            await repo.store_verdicts(rows)
            now = datetime.now(UTC)
            await repo.store_labels(
                Label(r.transaction.trans_num, 1 if i % 5 == 0 else 0, now)
                for i, r in enumerate(labelled)
            )

    asyncio.run(store())
    loaded = read_frame("db://labelled", database_settings)
    assert list(loaded.columns) == list(KAGGLE_COLUMNS)
    assert sorted(loaded["trans_num"]) == sorted(r.transaction.trans_num for r in labelled)
    assert loaded["is_fraud"].sum() == 6
    window = read_frame(
        "db://labelled?since=2020-06-01T12:10:00&until=2020-06-01T12:20", database_settings
    )
    assert len(window) == 10
    with pytest.raises(SourceError, match="db://labelled"):
        read_frame("db://everything", database_settings)
