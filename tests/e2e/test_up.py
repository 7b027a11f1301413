"""`fraudstream up` as a new user runs it: an empty state folder, every component started,
verdicts flowing to PostgreSQL and to the topic, an analyst signing in to the dashboard with
the password `up` printed and confirming a flagged transaction in a real Chromium (the label
reaches PostgreSQL through Kafka and the stream, with her name), and `down` leaving no process
behind."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil
import psycopg
import pytest

from fixtures.browser import Browser
from fixtures.kafka import drain
from fraudstream.config import Settings
from fraudstream.dashboard.auth import WRONG
from fraudstream.kafka.consumer import Consumer
from fraudstream.local.components import COMPONENTS
from fraudstream.local.process import free_port
from fraudstream.local.stack import read_state

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_up_scores_the_feed_serves_the_review_loop_and_down_stops_everything(
    tmp_path: Path,
) -> None:
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
        dashboard = f"http://127.0.0.1:{ports['FRAUD_DASHBOARD_PORT']}"
        assert httpx.get(f"{dashboard}/_stcore/health").status_code == 200
        _an_analyst_reviews_in_a_browser(up.stdout + up.stderr, dashboard, url, tmp_path)
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


def _an_analyst_reviews_in_a_browser(printed: str, dashboard: str, url: str, workdir: Path) -> None:
    """The README's way in: the passwords `up` printed once, a real headless Chromium."""
    passwords = dict(re.findall(r"^\s+(admin|analyst|viewer)\s+(\S+)\s+\(\1\)$", printed, re.M))
    assert set(passwords) == {"admin", "analyst", "viewer"}, printed
    waiting = (
        "SELECT count(*) FROM scored_transactions AS s WHERE is_fraud_pred = 1"
        " AND NOT EXISTS (SELECT 1 FROM labels AS l WHERE l.trans_num = s.trans_num)"
    )
    _wait(lambda: _one(url, waiting) > 0, "a flagged transaction to review")
    browser = Browser(workdir)
    try:
        with browser.tab() as tab:
            tab.open(dashboard)
            assert tab.refused("analyst", "not-" + passwords["analyst"]) == [WRONG]
            tab.open(dashboard)  # a new browser session
            tab.sign_in("viewer", passwords["viewer"])
            assert "Live" in tab.menu()
            assert "Review queue" not in tab.menu()
            tab.open(f"{dashboard}/review")  # a link to the queue: sign in, then the queue
            tab.sign_in("analyst", passwords["analyst"])
            shown = tab.text()
            found = re.search(r"Transaction (\w+) in ", shown)
            assert found is not None, shown
            trans_num = found.group(1)
            card = _one(
                url, "SELECT cc_num FROM scored_transactions WHERE trans_num = %s", trans_num
            )
            assert str(card) not in shown  # masked: the last four digits only
            assert f"…{str(card)[-4:]}" in shown
            clicked = time.monotonic()
            tab.click("Confirm fraud")
            decided = (
                "SELECT count(*) FROM label_decisions WHERE trans_num = %s"
                " AND is_fraud = 1 AND source = 'analyst' AND author = 'analyst'"
            )
            _wait(lambda: _one(url, decided, trans_num) == 1, "the analyst's label in PostgreSQL")
            took = time.monotonic() - clicked
            counted = "SELECT count(*) FROM labels WHERE trans_num = %s"
            assert _one(url, counted, trans_num) == 1
            assert trans_num not in tab.text()  # the next transaction is shown at once
            print(f"decision stored in PostgreSQL {took:.1f} s after the click")
    finally:
        browser.close()


def _one(url: str, query: str, *params: object) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(query.encode(), params).fetchone()
    assert row is not None
    return int(row[0])


def _wait(check: Callable[[], bool], what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"no {what} within {timeout:.0f} s"
        time.sleep(0.5)
