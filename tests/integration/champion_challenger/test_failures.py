"""A failed run changes nothing: the registry or the database failing mid-run leaves the aliases
where they were, and the error is recorded wherever a record can still be written."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from fixtures.challenger import challenger_settings, drifted_traffic, scores_of, store_traffic
from fixtures.postgres import PostgresServer
from fixtures.registry_server import RegistryServer
from fraudstream.champion_challenger.job import run_once
from fraudstream.config import Settings
from fraudstream.local.components import settings_env
from fraudstream.registry import Registry
from fraudstream.trainer.pipeline import TrainingResult
from fraudstream.trainer.tracking import log_run

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _decisions(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT action, reason, new_champion_version, new_challenger_version"
            " FROM challenger_decisions ORDER BY id"
        ).fetchall()


def _aliases(settings: Settings) -> tuple[str | None, str | None]:
    registry = Registry(settings.registry)
    return registry.get_alias_version("champion"), registry.get_alias_version("challenger")


def _decision_runs(settings: Settings) -> list[Any]:
    registry = Registry(settings.registry)
    experiment = registry.client.get_experiment_by_name(settings.challenger.experiment)
    if experiment is None:
        return []
    return list(registry.client.search_runs([experiment.experiment_id], order_by=["start_time"]))


def test_the_registry_failing_mid_run_moves_no_alias(
    small_model: TrainingResult,
    database_url: str,
    registry_server: RegistryServer,
    tmp_path: Path,
) -> None:
    settings = challenger_settings(
        tmp_path / "home",
        database_url,
        mlflow_tracking_uri=registry_server.proxy.url,
        mlflow_artifact_root=str(registry_server.artifacts),
        kafka_timeout_seconds=1,
    )
    direct = challenger_settings(
        tmp_path / "home",
        database_url,
        mlflow_tracking_uri=registry_server.url,
        mlflow_artifact_root=str(registry_server.artifacts),
    )
    log_run(small_model, settings, register_as="champion")
    log_run(small_model, settings, register_as="challenger")
    traffic = drifted_traffic(24_000)
    first, second = traffic.iloc[:12_000], traffic.iloc[12_000:]
    scores = scores_of(small_model.model, first)
    store_traffic(settings, first, scores, model_version="1", shadow=("2", scores))
    kept = run_once(settings)  # a clean run: keeps version 1, retrains version 3
    assert kept.decision is not None
    assert kept.decision.action == "kept"
    assert _aliases(direct) == ("1", "3")

    # the challenger would now win; the registry refuses to move the challenger alias, which
    # the job moves after the champion alias: the champion move must be undone
    new = Registry(direct.registry).load("3")
    store_traffic(
        settings,
        second,
        scores_of(small_model.model, second),
        model_version="1",
        shadow=("3", scores_of(new, second)),
    )
    registry_server.proxy.refuse = lambda method, path, body: (
        method == "POST" and path.endswith("/registered-models/alias") and b"challenger" in body
    )
    failed = run_once(settings)
    assert failed.decision is not None
    assert failed.decision.action == "failed"
    assert failed.error is not None
    assert registry_server.proxy.refused  # the fault did happen where it was meant to
    assert _aliases(direct) == ("1", "3")  # champion was moved to 3, then put back on 1
    action, reason, champion, challenger = _decisions(database_url)[-1]
    assert action == "failed"
    assert "set challenger" in reason
    assert "503" in reason
    assert "version 4 was registered by this run but no alias points to it" in reason
    assert (champion, challenger) == ("1", "3")
    assert (
        Registry(direct.registry)
        .client.get_model_version(settings.registry.model_name, "4")
        .aliases
        == []
    )

    # now the registry vanishes: the run fails at its first call, recorded in PostgreSQL
    registry_server.proxy.down()
    started = time.monotonic()
    gone = run_once(settings)
    assert time.monotonic() - started < 60
    assert gone.decision is not None
    assert gone.decision.action == "failed"
    assert "RegistryError" in gone.decision.reason
    assert str(registry_server.proxy.url.rsplit(":", 1)[1]) in gone.decision.reason
    assert _aliases(direct) == ("1", "3")
    assert [row[0] for row in _decisions(database_url)] == ["kept", "failed", "failed"]
    statuses = [(r.data.tags["fraudstream.action"], r.info.status) for r in _decision_runs(direct)]
    assert statuses == [("kept", "FINISHED"), ("failed", "FAILED")]  # the last could not be


def test_the_database_going_down_mid_run_moves_no_alias(
    small_model: TrainingResult, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    """``fraudstream challenger run-once`` as a process; PostgreSQL stops while it retrains."""
    settings = challenger_settings(tmp_path / "home", postgres_server.url, kafka_timeout_seconds=1)
    log_run(small_model, settings, register_as="champion")
    log_run(small_model, settings, register_as="challenger")
    traffic = drifted_traffic(12_000)
    scores = scores_of(small_model.model, traffic)
    store_traffic(settings, traffic, scores, model_version="1", shadow=("2", scores))

    log_file = tmp_path / "run.log"
    with log_file.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fraudstream", "challenger", "run-once"],
            env={**os.environ, **settings_env(settings), "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180
        while b"retraining on" not in log_file.read_bytes():
            assert proc.poll() is None, log_file.read_text()
            assert time.monotonic() < deadline, log_file.read_text()
            time.sleep(0.1)
        postgres_server.stop()
        code = proc.wait(180)
    output = log_file.read_text()
    assert code == 2, output
    last = output.strip().splitlines()[-1]
    assert last.startswith("error: the run failed and changed nothing"), output
    assert "PostgreSQL" in last
    assert "Traceback" not in output
    assert _aliases(settings) == ("1", "2")
    runs = _decision_runs(settings)
    assert [r.info.status for r in runs] == ["FAILED"]
    decision = orjson.loads(
        Path(
            Registry(settings.registry).client.download_artifacts(
                runs[0].info.run_id, "decision.json"
            )
        ).read_bytes()
    )
    assert decision["action"] == "failed"
    assert "PostgreSQL" in decision["reason"]
    assert "version 3 was registered" in decision["reason"]

    postgres_server.start()  # nothing reached the database
    assert _decisions(postgres_server.url) == []
