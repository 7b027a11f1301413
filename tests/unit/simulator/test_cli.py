"""``fraudstream simulate``: writes a Kaggle file and labels; bad arguments get one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from fraudstream.schema import KAGGLE_COLUMNS

pytestmark = [pytest.mark.unit, pytest.mark.slow]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", "from fraudstream.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_simulate_writes_a_parquet_file_and_its_labels(tmp_path: Path) -> None:
    out, labels = tmp_path / "feed.parquet", tmp_path / "labels.jsonl"
    done = _run(
        "simulate",
        "--rows",
        "3000",
        "--out",
        str(out),
        "--seed",
        "3",
        "--fraud-rate",
        "0.02",
        "--fraud-mix",
        "night_spree=1,card_testing=1",
        "--labels-out",
        str(labels),
        "--customers",
        "200",
    )
    assert done.returncode == 0, done.stderr
    frame = pd.read_parquet(out)
    assert tuple(frame.columns) == KAGGLE_COLUMNS
    assert len(frame) == 3000
    assert frame["is_fraud"].sum() > 0
    lines = labels.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3000
    assert "wrote 3,000 rows" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--format", "xml"), "--format must be csv or parquet"),
        (("--drift-at", "soon"), "--drift-at must be a date"),
        (("--drift-scenario", "phishing", "--drift-at", "2019-02-01"), "--drift-scenario must"),
        (("--fraud-mix", "night_spree=lots"), "--fraud-mix takes name=weight"),
        (("--fraud-rate", "0.9"), "invalid simulator settings: fraud_rate"),
    ],
)
def test_bad_arguments_give_one_readable_line(
    tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    done = _run("simulate", "--rows", "10", "--out", str(tmp_path / "x.csv"), *args)
    assert done.returncode == 2
    assert message in done.stderr
    assert "Traceback" not in done.stderr
