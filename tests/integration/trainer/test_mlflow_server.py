"""The production shape of the registry, as the original system had it: an MLflow tracking
server (a real ``mlflow server`` process) with a PostgreSQL backend store, and the artifacts in
S3 (a local moto server). Training runs log and register through it; the service's loader
reads the champion back from S3."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import numpy as np
import pytest

from fixtures.s3 import TEST_KEY_ID, TEST_SECRET, s3_client, s3_settings
from fraudstream.config import Settings
from fraudstream.local.mlflow import mlflow_server_spec
from fraudstream.local.process import free_port, running
from fraudstream.registry import Registry, load_model
from fraudstream.trainer.pipeline import TrainingResult
from fraudstream.trainer.tracking import log_run

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_MLFLOW_ENV = ("MLFLOW_S3_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


@pytest.fixture
def mlflow_server(
    empty_database_url: str, s3_endpoint: str, s3_bucket: str, tmp_path: Path
) -> Iterator[str]:
    """``mlflow server`` on a free port: PostgreSQL backend store, S3 default artifact root."""
    parts = urlsplit(empty_database_url)
    store = urlunsplit(parts._replace(scheme="postgresql+psycopg"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    spec = mlflow_server_spec(
        store,
        f"s3://{s3_bucket}/mlflow",
        port,
        tmp_path / "mlflow.log",
        env={
            "MLFLOW_S3_ENDPOINT_URL": s3_endpoint,
            "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", TEST_KEY_ID),
            "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", TEST_SECRET),
        },
    )
    with running(spec):
        yield url


@pytest.fixture
def server_settings(
    mlflow_server: str,
    s3_endpoint: str,
    s3_bucket: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    for name in _MLFLOW_ENV:  # registry.configure exports these; undo it after the test
        monkeypatch.setenv(name, "unset")
    return s3_settings(
        s3_endpoint,
        home=tmp_path,
        mlflow_tracking_uri=mlflow_server,
        mlflow_artifact_root=f"s3://{s3_bucket}/mlflow",
    )


def test_register_and_load_through_a_tracking_server_with_s3_artifacts(
    small_model: TrainingResult,
    server_settings: Settings,
    s3_endpoint: str,
    s3_bucket: str,
) -> None:
    first = log_run(small_model, server_settings)
    second = log_run(small_model, server_settings)
    assert (first.version, first.alias) == ("1", "champion")
    assert (second.version, second.alias) == ("2", "challenger")

    registry = Registry(server_settings.registry)
    champion = registry.load_alias("champion")
    features = small_model.example.to_numpy()
    np.testing.assert_array_equal(champion.score(features), small_model.model.score(features))
    assert load_model("models:/fraudstream@challenger", server_settings.registry).version == "2"

    keys = [o["Key"] for o in s3_client(s3_endpoint).list_objects_v2(Bucket=s3_bucket)["Contents"]]
    assert sum(k.endswith("manifest.json") for k in keys) == 2
    assert any(k.endswith("plots/pr_curve.png") for k in keys)
