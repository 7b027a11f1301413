"""Shared test set-up: a clean environment for every test, and the real-server fixtures.

The servers (Kafka, PostgreSQL, MLflow, S3) come from session fixtures in ``tests/fixtures``:
an external address from the environment first, testcontainers where a Docker engine answers,
the project's own local launcher otherwise. Never a fake broker.
"""

from __future__ import annotations

import os

import pytest

pytest_plugins: list[str] = [
    "fixtures.challenger",
    "fixtures.dashboard",
    "fixtures.dashboard_users",
    "fixtures.faulty",
    "fixtures.frames",
    "fixtures.kafka",
    "fixtures.models",
    "fixtures.pipeline",
    "fixtures.postgres",
    "fixtures.registry_server",
    "fixtures.s3",
]

# Variables the fixtures themselves read; everything else with the prefix is cleared per test.
_KEEP = {"FRAUD_TEST_KAFKA", "FRAUD_TEST_DATABASE_URL", "FRAUD_REAL_DATA"}


@pytest.fixture(autouse=True)
def _clean_fraud_env(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A developer's FRAUD_* variables or .env never change a test result."""
    for name in list(os.environ):
        if name.startswith("FRAUD_") and name not in _KEEP:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """CI must not pass when nothing was tested: a run where no test passed is a failure."""
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    passed = len(reporter.stats.get("passed", [])) if reporter else 0
    if exitstatus == 0 and passed == 0 and not session.config.option.collectonly:
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED
