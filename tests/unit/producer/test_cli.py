"""``fraudstream produce`` refuses a bad argument with one readable line, before it touches
Kafka, and never with a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fraudstream.cli import _register, app
from fraudstream.errors import ConfigError, FraudstreamError, SourceError

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def cli() -> CliRunner:
    _register()
    return CliRunner()


@pytest.mark.parametrize(
    ("args", "kind", "message"),
    [
        (["--rate", "-5"], ConfigError, "--rate must be >= 0"),
        (["--replay-speed", "10"], ConfigError, "--replay-speed replays a file's own clock"),
        (["--source", "x.csv", "--rate", "5", "--replay-speed", "2"], ConfigError, "either"),
        (["--on-invalid", "drop"], ConfigError, "--on-invalid must be skip or dlq, got 'drop'"),
        (["--source", "x.csv", "--seed", "3"], ConfigError, "--seed: for the simulator only"),
        (["--drift-scenario", "aliens"], ConfigError, "must be one of night_spree, card_testing"),
        (["--drift-at", "yesterday"], ConfigError, "--drift-at must be a date or time"),
        (["--fraud-rate", "0.9"], ConfigError, "invalid simulator settings: fraud_rate"),
        (["--source", "missing.csv"], SourceError, "missing.csv: no such file"),
        (["--feed", "ftp://feed"], ConfigError, "--feed must be an http:// or https:// URL"),
        (["--source", "a.csv", "--feed", "http://f"], ConfigError, "either --source or --feed"),
        (["--no-labels", "--label-delay-seconds", "5"], ConfigError, "drop --no-labels"),
        (["--label-delay-seconds", "-1"], ConfigError, "--label-delay-seconds must be >= 0"),
    ],
)
def test_a_bad_argument_is_refused_before_any_work(
    cli: CliRunner, args: list[str], kind: type[FraudstreamError], message: str
) -> None:
    result = cli.invoke(app, ["produce", *args])
    assert isinstance(result.exception, kind), result.output
    assert message in str(result.exception)


def test_the_command_prints_one_line_and_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fraudstream", "produce", "--source", "nowhere/fraudTest.csv"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={"PATH": "/usr/bin:/bin", "FRAUD_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"},
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: nowhere/fraudTest.csv: no such file (give a CSV or Parquet path, s3:// or "
        "http(s)://)"
    ]
    assert done.stdout == ""
