"""Champion/challenger benchmark: wall time of one full cycle on 100,000 and 1,000,000 recent rows.

One cycle is what ``fraudstream challenger run-once`` does: read the stored window from
PostgreSQL, compute card-history features, score both models offline (the heavier of the two
scoring paths: no shadow scores are stored), the paired bootstrap and the decision, the drift
report, retrain the loser on the same recent rows (the trainer's full pipeline with the job's
search budget, ``FRAUD_CHALLENGER_SEARCH_SECONDS``, 30 s by default), register it with its drift
reference, move the alias and record the decision in PostgreSQL and MLflow.

Set-up (not timed): a local PostgreSQL on a free port, a throw-away MLflow store, a champion
trained on 100,000 simulated rows and registered twice (champion, with its drift reference, and
challenger, so the cycle keeps the champion and retrains the challenger), then N drifted
simulated rows (card testing joins the mix) stored with the champion's verdicts and their
labels by COPY.

Baseline measured in the same run: reading the same window with the generic sync reader
(``storage.frames.labelled_frame``: psycopg rows into pandas) against the COPY reader the job
uses. Target: one cycle on 1 M rows under 5 minutes on this 2-core machine.

Usage: ``.venv/bin/python bench/challenger.py [--rows 100000 1000000] [--database-url URL]``;
writes ``bench/results/challenger.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
from pydantic import SecretStr

from _common import versions, write_result
from fraudstream.artifact import ScoringModel
from fraudstream.champion_challenger.job import run_once
from fraudstream.config import Settings
from fraudstream.features import batch_features
from fraudstream.schema import FEED_COLUMNS
from fraudstream.simulator import Scenario, SimParams, Simulator
from fraudstream.sources import read_frame
from fraudstream.storage.frames import labelled_frame
from fraudstream.storage.models import SCORED_COLUMNS
from fraudstream.storage.window import stored_window
from fraudstream.trainer.pipeline import train
from fraudstream.trainer.reference import log_with_reference
from fraudstream.trainer.tracking import log_run

TARGET_SECONDS = 300.0
CHAMPION_SOURCE = "sim://?rows=100000&seed=3"
TRAFFIC_START = datetime(2019, 3, 1)

# the progress line of the job that ends each phase, in order (a phase runs from the end of the
# one before it); the last phase ends with the run
PHASES = (
    ("load_models", ("challenger version ",)),
    ("read", ("read ",)),
    ("drift_reference_and_features", ("features of ",)),
    ("drift_report", ("drift: ", "no drift report")),
    ("score_both_and_bootstrap", ("kept: ", "promoted: ", "no_decision: ")),
    ("retrain", ("test PR-AUC ",)),
    ("log_register_and_reference", ("registered version ",)),
    ("move_alias", ("challenger -> version ",)),
)
"""The drift phase reads the champion's drift reference (written at set-up, as the trainer
does) and featurises the window; after the alias move come the PostgreSQL record, the MLflow
decision run and the announcement, which waits up to FRAUD_KAFKA_TIMEOUT_SECONDS (2 s here) for
a broker the benchmark does not start."""


@contextlib.contextmanager
def database(url: str | None) -> Iterator[str]:
    """The given database, or a local server's fraudstream database started for the run."""
    from fraudstream.config import local_database_url
    from fraudstream.local.postgres import postgres_spec
    from fraudstream.local.process import free_port, running
    from fraudstream.storage.migrate import apply_migrations

    if url:
        apply_migrations(url)
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="fraudstream-bench-pg-") as folder:
        port = free_port()
        with running(postgres_spec(Settings(_env_file=None), Path(folder) / "pg", port)):
            target = local_database_url(port)
            apply_migrations(target)
            yield target


def _copy_csv(url: str, table: str, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False, header=False)
    columns = ", ".join(frame.columns)
    with (
        psycopg.connect(url) as conn,
        conn.cursor() as cursor,
        cursor.copy(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)".encode()) as copy,
    ):
        copy.write(buffer.getvalue())


def store(url: str, frame: pd.DataFrame, model: ScoringModel) -> None:
    """The rows as the stream and the labels agent would have stored them."""
    scores = model.score(batch_features(frame).to_numpy())
    now = datetime.now(UTC)
    scored = frame[list(FEED_COLUMNS)].copy()
    scored["score"] = scores
    scored["is_fraud_pred"] = (scores >= model.threshold).astype(int)
    scored["threshold"] = model.threshold
    scored["model_name"] = "fraudstream"
    scored["model_version"] = "1"
    scored["reasons"] = "[]"
    scored["produced_at"] = now
    scored["scored_at"] = now
    scored["kafka_partition"] = scored["kafka_offset"] = None  # not from a Kafka message
    _copy_csv(url, "scored_transactions", scored[list(SCORED_COLUMNS)])
    labels = pd.DataFrame(
        {"trans_num": frame["trans_num"], "is_fraud": frame["is_fraud"], "labelled_at": now}
    )
    _copy_csv(url, "labels", labels)


def traffic(rows: int) -> pd.DataFrame:
    params = SimParams(
        start=TRAFFIC_START,
        drift_at=TRAFFIC_START,
        drift_scenario=Scenario.CARD_TESTING,
        drift_weight=0.5,
    )
    return Simulator(params, seed=11).frame(rows)


def one_size(rows: int, admin_url: str | None, champion: Any, folder: Path) -> dict[str, Any]:
    with database(admin_url) as url:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "TRUNCATE scored_transactions, labels, shadow_scores, challenger_decisions,"
                " drift_reports"
            )
        home = folder / f"rows_{rows}"
        settings = Settings(
            _env_file=None,
            home=home,
            database_url=SecretStr(url),
            mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}",
            mlflow_artifact_root=str(home / "artifacts"),
            challenger_window_days=3650,
            challenger_train_days=3650,
            challenger_label_wait_days=0,
            challenger_metrics_port=0,
            kafka_timeout_seconds=2,
        )
        # as `fraudstream train` does, with the drift reference: the job only reads it
        trained_on = read_frame(CHAMPION_SOURCE, settings)
        log_with_reference(
            champion, settings, trained_on, source=CHAMPION_SOURCE, register_as="champion"
        )
        log_run(champion, settings, register_as="challenger")
        started = time.perf_counter()
        frame = traffic(rows)
        store(url, frame, champion.model)
        setup = time.perf_counter() - started
        print(f"{rows:,} rows stored in {setup:.0f} s; one cycle...", flush=True)

        marks: list[tuple[float, str]] = []

        def progress(message: str) -> None:
            marks.append((time.perf_counter(), message))
            print(f"  {marks[-1][0] - began:7.1f} s  {message[:110]}", flush=True)

        began = time.perf_counter()
        outcome = run_once(settings, progress=progress)
        total = time.perf_counter() - began
        decision = outcome.decision
        assert decision is not None, outcome.skipped
        assert outcome.error is None, outcome.error

        phases: dict[str, float] = {}
        previous = began
        for name, prefixes in PHASES:
            end = next((t for t, m in marks if m.startswith(prefixes)), None)
            if end is not None:
                phases[name] = round(end - previous, 2)
                previous = end
        phases["record_log_announce"] = round(began + total - previous, 2)

        # the baseline: the same window through the generic row-by-row reader
        since = datetime(1970, 1, 1)
        until = datetime(2100, 1, 1)
        t0 = time.perf_counter()
        fast = stored_window(url, since, until)
        copy_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        plain = labelled_frame(url, since, until)
        rows_seconds = time.perf_counter() - t0
        assert len(fast) == len(plain) == rows
        return {
            "rows": rows,
            "frauds": int(frame["is_fraud"].sum()),
            "span": f"{frame['trans_date_trans_time'].min()} -> "
            f"{frame['trans_date_trans_time'].max()}",
            "setup_seconds": round(setup, 1),
            "cycle_seconds": round(total, 1),
            "cycle_over_target": round(total / TARGET_SECONDS, 3),
            "phases_seconds": phases,
            "action": decision.action,
            "scoring": decision.scoring,
            "champion_pr_auc": decision.champion.value if decision.champion else None,
            "challenger_pr_auc": decision.challenger.value if decision.challenger else None,
            "difference": decision.difference.model_dump() if decision.difference else None,
            "new_challenger_version": decision.new_challenger_version,
            "drift": decision.drift,
            "reader": {
                "copy_seconds": round(copy_seconds, 2),
                "row_fetch_seconds": round(rows_seconds, 2),
                "speedup": round(rows_seconds / copy_seconds, 2),
            },
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--database-url", help="A migrated database to use (emptied first).")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="fraudstream-bench-challenger-") as tmp:
        folder = Path(tmp)
        settings = Settings(_env_file=None, home=folder, train_search_seconds=0)
        print(f"champion: {CHAMPION_SOURCE}", flush=True)
        champion = train(
            read_frame(CHAMPION_SOURCE, settings),
            settings,
            source=CHAMPION_SOURCE,
            workdir=folder / "champion",
        )
        results = [one_size(rows, args.database_url, champion, folder) for rows in args.rows]
    defaults = Settings(_env_file=None)
    path = write_result(
        "challenger",
        {
            "target_seconds": TARGET_SECONDS,
            "load_average": os.getloadavg(),
            "settings": {
                "challenger_search_seconds": defaults.challenger.search_seconds,
                "challenger_bootstrap": defaults.challenger.bootstrap,
                "drift_reference_rows": defaults.drift.reference_rows,
            },
            "champion": {"source": CHAMPION_SOURCE, "test_pr_auc": champion.test.pr_auc},
            "sizes": results,
            "versions": versions("xgboost-cpu", "scikit-learn", "numpy", "pandas", "mlflow"),
            "baseline_note": "reader.speedup: the generic row reader's time over the COPY reader's",
        },
    )
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
