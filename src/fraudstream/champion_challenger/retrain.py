"""Retrain the loser: the trainer's whole pipeline on the recent labelled rows, registered as a
new version (no alias yet: the job moves the aliases only once everything else succeeded).

The rows: every stored transaction whose label arrived, from ``challenger_train_days`` before
the end of the evaluation window to its end, plus, when ``challenger_train_history`` names a
data source (the original training file, say), that source's rows from before the recent ones.
The search budget is ``challenger_search_seconds`` rather than the trainer's own, so that a
retraining fits in a scheduled cycle. The model is registered with its drift reference (see
:mod:`fraudstream.trainer.reference`), and its data report's source begins with
``db://labelled`` so that later runs keep its training rows out of their evaluation.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final

from fraudstream.config import Settings
from fraudstream.registry import Registry
from fraudstream.schema import KAGGLE_COLUMNS, LABEL_COLUMN, TIMESTAMP_FORMAT

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)
Progress = Callable[[str], None]

TRAINED_BY_TAG: Final = "fraudstream.trained_by"
TRAINED_BY: Final = "challenger-job"
_ISO: Final = "%Y-%m-%dT%H:%M:%S"


@dataclass(frozen=True)
class Retrained:
    """A newly registered version, not yet behind an alias."""

    version: str
    run_id: str
    family: str
    test_pr_auc: float
    rows: int
    frauds: int
    source: str
    trained_until: datetime | None


def recent_labelled(frame: pd.DataFrame, since: datetime, until: datetime) -> pd.DataFrame:
    """The Kaggle columns of the labelled rows of ``frame`` with ``since <= time < until``."""
    import pandas as pd

    times = frame["trans_date_trans_time"]
    keep = (times >= pd.Timestamp(since)) & (times < pd.Timestamp(until))
    keep &= frame[LABEL_COLUMN].notna()
    rows = frame.loc[keep, list(KAGGLE_COLUMNS)].copy()
    rows[LABEL_COLUMN] = rows[LABEL_COLUMN].astype("int64")
    return rows.reset_index(drop=True)


def with_history(recent: pd.DataFrame, source: str, settings: Settings) -> tuple[pd.DataFrame, int]:
    """``recent`` with the rows of ``source`` that are older than its first row put first;
    returns the frame and how many history rows were added."""
    import pandas as pd

    from fraudstream.sources import read_frame

    history = read_frame(source, settings)
    history["trans_date_trans_time"] = pd.to_datetime(
        history["trans_date_trans_time"], format=TIMESTAMP_FORMAT
    )
    if len(recent):
        history = history[history["trans_date_trans_time"] < recent["trans_date_trans_time"].min()]
    history = history[[c for c in KAGGLE_COLUMNS if c in history.columns]]
    return pd.concat([history, recent], ignore_index=True), len(history)


def retrain(
    recent: pd.DataFrame,
    settings: Settings,
    registry: Registry,
    *,
    since: datetime,
    until: datetime,
    progress: Progress | None = None,
) -> Retrained:
    """Train on ``recent`` (plus the history source of the settings), log the run, register
    the model with its drift reference; raise DataRefused when the rows cannot train a model."""
    from fraudstream.trainer.pipeline import train
    from fraudstream.trainer.reference import write_reference
    from fraudstream.trainer.tracking import log_run

    say = progress or (lambda message: log.info("%s", message))
    source = f"db://labelled?since={since:{_ISO}}&until={until:{_ISO}}"
    frame = recent
    if settings.challenger.train_history:
        frame, added = with_history(recent, settings.challenger.train_history, settings)
        source = f"{source} + {settings.challenger.train_history}"
        say(f"added {added:,} rows of history from {settings.challenger.train_history}")
    say(f"retraining on {len(frame):,} rows ({source})")
    budget = settings.replace(train_search_seconds=settings.challenger.search_seconds)
    with tempfile.TemporaryDirectory(prefix="fraudstream-retrain-") as tmp:
        result = train(frame, budget, source=source, workdir=Path(tmp), progress=say)
        logged = log_run(result, settings, register_as="none")
    version = registry.register(logged.model_uri, logged.run_id)
    registry.set_run_tag(logged.run_id, TRAINED_BY_TAG, TRAINED_BY)
    write_reference(
        registry,
        logged.run_id,
        frame,
        result.model,
        source=source,
        rows=settings.drift.reference_rows,
        description=f"version {version}, trained on {source}",
    )
    quality = f"test PR-AUC {result.test.pr_auc:.4f}"
    say(f"registered version {version} ({result.winner.family}, {quality})")
    return Retrained(
        version=version,
        run_id=logged.run_id,
        family=result.winner.family,
        test_pr_auc=result.test.pr_auc,
        rows=result.report.rows,
        frauds=result.report.frauds,
        source=source,
        trained_until=result.report.end,
    )
