"""`fraudstream up` as a new user runs it: an empty state folder, every component started,
verdicts flowing to PostgreSQL and to the topic, the dashboard answering, and `down` leaving
no process behind."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from fixtures.kafka import drain
from fraudstream.config import Settings
from fraudstream.kafka.consumer import Consumer
from fraudstream.local.components import COMPONENTS
from fraudstream.local.process import free_port
from fraudstream.local.stack import read_state

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_up_scores_the_feed_and_down_stops_everything(tmp_path: Path) -> None:
    home = tmp_path / "state"
    ports = {
        "FRAUD_KAFKA_PORT": str(free_port()),
        "FRAUD_POSTGRES_PORT": str(free_port()),
        "FRAUD_MLFLOW_PORT": str(free_port()),
        "FRAUD_SERVICE_PORT": str(free_port()),
        "FRAUD_STREAM_METRICS_PORT": str(free_port()),
        "FRAUD_DASHBOARD_PORT": str(free_port()),
    }
    env = {
        **os.environ,
        **ports,
        "FRAUD_HOME": str(home),
        "FRAUD_UP_TRAIN_ROWS": "20000",
        "FRAUD_TRAIN_SEARCH_SECONDS": "0",
        "FRAUD_PRODUCE_RATE": "300",
    }
    fraudstream = [sys.executable, "-m", "fraudstream"]
    up = subprocess.run(
        [*fraudstream, "up", "--detach"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert up.returncode == 0, up.stdout[-3000:] + up.stderr[-3000:]
    try:
        state = read_state(Settings(_env_file=None, home=home))
        assert state is not None
        assert set(state["components"]) == set(COMPONENTS)
        settings = Settings(
            _env_file=None,
            home=home,
            postgres_port=int(ports["FRAUD_POSTGRES_PORT"]),
            kafka_port=int(ports["FRAUD_KAFKA_PORT"]),
        )
        url = settings.database.url.get_secret_value()
        deadline = time.monotonic() + 120
        stored = 0
        while time.monotonic() < deadline and stored < 500:
            with psycopg.connect(url) as conn:
                stored = conn.execute("SELECT count(*) FROM scored_transactions").fetchone()[0]
            time.sleep(1)
        assert stored >= 500
        with Consumer(settings.kafka, "e2e-check") as consumer:
            consumer.subscribe([settings.topics.verdicts])
            assert len(drain(consumer, 100, timeout=60)) >= 100
        dashboard = httpx.get(f"http://127.0.0.1:{ports['FRAUD_DASHBOARD_PORT']}/_stcore/health")
        assert dashboard.status_code == 200
        status = subprocess.run(
            [*fraudstream, "status"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert "model-service" in status.stdout
        assert "running" in status.stdout
        pids = [c["pid"] for c in read_state(settings)["components"].values() if c.get("pid")]  # type: ignore[index]
        pids.append(state["supervisor_pid"])
    finally:
        down = subprocess.run(
            [*fraudstream, "down"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert down.returncode == 0, down.stderr
    time.sleep(1)
    left = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert left == []
    leftovers = [
        p.info["cmdline"]
        for p in psutil.process_iter(["cmdline"])
        if p.info["cmdline"] and str(home) in " ".join(p.info["cmdline"])
    ]
    assert leftovers == []
