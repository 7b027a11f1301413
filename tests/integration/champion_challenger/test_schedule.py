"""``fraudstream challenger schedule`` as processes: two started at once act once between them,
and one started before its database waits for it instead of dying."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from fixtures.challenger import challenger_settings, drifted_traffic, scores_of, store_traffic
from fixtures.postgres import PostgresServer
from fraudstream.config import Settings
from fraudstream.local.components import settings_env
from fraudstream.registry import Registry
from fraudstream.trainer.pipeline import TrainingResult
from fraudstream.trainer.tracking import log_run

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class Scheduler:
    def __init__(self, settings: Settings, log_file: Path) -> None:
        self.log_file = log_file
        self._log = log_file.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fraudstream", "challenger", "schedule", "--every", "1h"],
            env={**os.environ, **settings_env(settings)},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(60)
        finally:
            self._log.close()


@pytest.fixture
def schedulers() -> Iterator[list[Scheduler]]:
    started: list[Scheduler] = []
    yield started
    for scheduler in started:
        if scheduler.proc.poll() is None:
            scheduler.proc.kill()
            scheduler.proc.wait()


def _wait(what: str, check: object, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _decisions(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        return [r[0] for r in conn.execute("SELECT action FROM challenger_decisions").fetchall()]


def _prepared(small_model: TrainingResult, settings: Settings) -> None:
    log_run(small_model, settings, register_as="champion")
    log_run(small_model, settings, register_as="challenger")
    traffic = drifted_traffic(6_000)
    scores = scores_of(small_model.model, traffic)
    store_traffic(settings, traffic, scores, model_version="1", shadow=("2", scores))


def test_two_schedulers_started_at_once_act_once(
    small_model: TrainingResult,
    database_url: str,
    tmp_path: Path,
    schedulers: list[Scheduler],
) -> None:
    settings = challenger_settings(
        tmp_path / "home", database_url, challenger_retrain=False, kafka_timeout_seconds=1
    )
    _prepared(small_model, settings)
    schedulers.extend(Scheduler(settings, tmp_path / f"scheduler-{i}.log") for i in range(2))

    def both_ran() -> bool:
        return all("skipped:" in s.log() or "kept in" in s.log() for s in schedulers)

    _wait("both schedulers' first run", both_ran)
    logs = [s.log() for s in schedulers]
    assert sum("skipped:" in log for log in logs) == 1, logs
    assert _decisions(database_url) == ["kept"]
    assert all(s.proc.poll() is None for s in schedulers)  # both wait for their next period
    assert [s.stop() for s in schedulers] == [0, 0]
    assert _decisions(database_url) == ["kept"]


def test_a_scheduler_waits_for_its_database(
    small_model: TrainingResult,
    postgres_server: PostgresServer,
    tmp_path: Path,
    schedulers: list[Scheduler],
) -> None:
    settings = challenger_settings(
        tmp_path / "home", postgres_server.url, challenger_retrain=False, kafka_timeout_seconds=1
    )
    _prepared(small_model, settings)
    postgres_server.stop()
    scheduler = Scheduler(settings, tmp_path / "scheduler.log")
    schedulers.append(scheduler)
    _wait("a refused start", lambda: "cannot start a run" in scheduler.log())
    time.sleep(2)
    assert scheduler.proc.poll() is None, scheduler.log()
    postgres_server.start()
    _wait("the first run once the database is back", lambda: _decisions(postgres_server.url))
    assert _decisions(postgres_server.url) == ["kept"]
    assert "Traceback" not in scheduler.log()
    assert Registry(settings.registry).get_alias_version("champion") == "1"
    assert scheduler.stop() == 0
