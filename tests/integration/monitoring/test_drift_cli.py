"""``fraudstream monitor drift`` on real parts, the reference ``fraudstream train`` writes for
it, and the one-line errors of the commands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from fixtures.challenger import challenger_settings, drifted_traffic, scores_of, store_traffic
from fixtures.models import TRAIN_SOURCE
from fraudstream.config import Settings
from fraudstream.local.components import settings_env
from fraudstream.monitoring.reference import REFERENCE_FILE
from fraudstream.registry import Registry
from fraudstream.trainer.pipeline import TrainingResult
from fraudstream.trainer.tracking import log_run

pytestmark = pytest.mark.integration


def _fraudstream(settings: Settings, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fraudstream", *args],
        env={**os.environ, **settings_env(settings), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_trainer_keeps_the_reference_and_one_drift_report_now_is_printed_and_stored(
    small_model: TrainingResult, database_url: str, tmp_path: Path
) -> None:
    settings = challenger_settings(tmp_path / "home", database_url)
    trained = _fraudstream(
        settings, "train", "--data", TRAIN_SOURCE, "--register-as", "champion", "--json"
    )
    assert trained.returncode == 0, trained.stderr
    assert json.loads(trained.stdout)["version"] == "1"
    registry = Registry(settings.registry)
    assert registry.run_file(registry.run_of("1"), REFERENCE_FILE, tmp_path) is not None
    traffic = drifted_traffic(8_000)
    store_traffic(settings, traffic, scores_of(small_model.model, traffic), model_version="1")

    done = _fraudstream(settings, "monitor", "drift", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["model_version"] == "1"
    assert report["features"]["amt"]["kind"] == "numeric"
    assert report["features"]["category"]["ks"] is None
    assert report["n_rows"] > 0
    # card testing is new to this model: its score and the card-velocity features move
    assert report["drifted"] is True
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT id, model_version, drifted FROM drift_reports").fetchone()
    assert row == (report["id"], "1", True)

    table = _fraudstream(settings, "monitor", "drift", "--no-store")
    assert table.returncode == 0, table.stderr
    assert "features drifted" in table.stdout
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM drift_reports").fetchone() == (1,)


def test_a_version_without_a_reference_has_no_drift_report(
    small_model: TrainingResult, database_url: str, tmp_path: Path
) -> None:
    """Registered without the trainer's reference: the monitor says so and rebuilds nothing."""
    settings = challenger_settings(tmp_path / "home", database_url)
    logged = log_run(small_model, settings, register_as="champion")
    traffic = drifted_traffic(2_000)
    store_traffic(settings, traffic, scores_of(small_model.model, traffic), model_version="1")

    done = _fraudstream(settings, "monitor", "drift")
    assert done.returncode == 2, done.stdout
    assert "no drift reference for version 1" in done.stderr
    assert "Traceback" not in done.stderr
    registry = Registry(settings.registry)
    assert registry.run_file(logged.run_id, REFERENCE_FILE, tmp_path) is None
    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT count(*) FROM drift_reports").fetchone() == (0,)


def test_bad_input_is_one_readable_line(tmp_path: Path) -> None:
    settings = challenger_settings(
        tmp_path / "home", "postgresql://nobody@127.0.0.1:1/nothing", database_timeout_seconds=1
    )
    for args, env, expected in (
        (("challenger", "schedule", "--every", "soon"), {}, "is not a duration"),
        (("challenger", "run-once"), {}, "PostgreSQL at postgresql://nobody@127.0.0.1:1"),
        (("monitor", "drift"), {}, "no champion"),
        (("challenger", "run-once"), {"FRAUD_CHALLENGER_METRIC": "recall"}, "CHALLENGER_METRIC"),
    ):
        done = _fraudstream(settings, *args, **env)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert expected in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr
