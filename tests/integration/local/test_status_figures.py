"""`fraudstream status`'s key figures on a real, seeded PostgreSQL: the stream's rate is each
worker's latest sample summed (as on the dashboard's Live page), not every recent sample."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from fixtures.dashboard import OUTAGE, Seeded
from fraudstream.config import Settings
from fraudstream.local.cli import key_figures

pytestmark = pytest.mark.integration


def test_the_stream_line_sums_each_workers_latest_sample(
    database_url: str, seeded: Seeded, tmp_path: Path
) -> None:
    settings = Settings(
        _env_file=None,
        home=tmp_path,
        database_url=SecretStr(database_url),
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
    )
    lines = key_figures(settings)

    latest = seeded.latest_metrics()
    throughput = sum(m.throughput for m in latest)
    lag = sum(m.lag for m in latest)
    worst_p99 = max(m.latency_p99_ms for m in latest if m.latency_p99_ms is not None)
    assert lines[0].startswith("verdicts in the last minute: ")
    assert lines[1] == (
        f"stream (2 workers): {throughput:,.0f} tx/s, lag {lag:,}, p99 latency {worst_p99:.0f} ms"
    )
    # each worker says what it does, the one in an outage since when and why
    assert lines[2].startswith("  worker-a: flowing since ")
    assert lines[3].startswith("  worker-b: retrying since ")
    assert f" min ago) because {OUTAGE}; last failure at " in lines[3]
    assert lines[3].endswith(f"ago): {OUTAGE}")
    assert lines[4].startswith("models: ")


def test_an_unreachable_database_is_one_line_not_a_failure(tmp_path: Path) -> None:
    settings = Settings(
        _env_file=None,
        home=tmp_path,
        database_url=SecretStr("postgresql://nobody:secret@127.0.0.1:1/nowhere"),
        mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
    )
    lines = key_figures(settings)
    assert lines[0].startswith("verdicts: unavailable (")
    assert "secret" not in lines[0]
    assert lines[1].startswith("models: ")
