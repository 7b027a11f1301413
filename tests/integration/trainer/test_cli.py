"""``fraudstream train`` and ``fraudstream evaluate`` as a user runs them, on the default local
MLflow store; and every mistake is one readable line, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fraudstream.cli import _register, app
from fraudstream.config import load_settings
from fraudstream.sources import read_frame

pytestmark = [pytest.mark.integration, pytest.mark.slow]


@pytest.fixture(scope="module")
def cli() -> CliRunner:
    _register()
    return CliRunner()


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "fraudTrain.csv"
    frame = read_frame("sim://?rows=30000&seed=4&fraud_rate=0.02", load_settings())
    frame.to_csv(path)  # with the unnamed index column, as in the Kaggle copies
    return path


def test_train_then_evaluate(
    cli: CliRunner, data_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("FRAUD_TRAIN_SEARCH_SECONDS", "0")
    trained = cli.invoke(app, ["train", "--data", str(data_file)])
    assert trained.exit_code == 0, trained.output
    assert "fraudstream version 1 is now the champion" in trained.output
    assert "held-out test slice" in trained.output
    assert (tmp_path / "home" / "mlflow" / "mlflow.db").is_file()

    again = cli.invoke(app, ["train", "--data", str(data_file), "--json"])
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout)
    assert (summary["version"], summary["alias"]) == ("2", "challenger")
    assert summary["test"]["pr_auc"] > 0.5

    evaluated = cli.invoke(
        app,
        ["evaluate", "--model", "models:/fraudstream@champion", "--data", str(data_file), "--json"],
    )
    assert evaluated.exit_code == 0, evaluated.output
    metrics = json.loads(evaluated.stdout)
    assert metrics["version"] == "1"
    assert metrics["rows"] == 30_000
    assert metrics["pr_auc"] > 0.5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--data", "missing.csv"], "missing.csv: no such file"),
        (["train", "--data", "x.csv", "--register-as", "boss"], "--register-as must be one of"),
        (["train", "--data", "sim://?rows=200&fraud_rate=0"], "0 frauds among 200 rows"),
        (["evaluate", "--model", "models:/fraudstream@champion", "--data", "x.csv"], "champion"),
    ],
)
def test_mistakes_are_one_line(args: list[str], message: str, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fraudstream", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={"FRAUD_HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    # progress lines may come first; the error itself is the one last line
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, done.stderr
    assert message in errors[0]
    assert done.stderr.strip().splitlines()[-1] == errors[0]
