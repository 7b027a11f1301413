"""Retrain the loser: the trainer's whole pipeline on the recent labelled rows, registered as a
new version (no alias yet: the job moves the aliases only once everything else succeeded).

The rows: every stored transaction with a mature label (:class:`TrainingRows`), from
``challenger_train_days`` before the end of the evaluation window to its end, the analysts'
decisions since, plus, when ``challenger_train_history`` names a
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

from fraudstream.champion_challenger.maturity import mature
from fraudstream.config import Settings
from fraudstream.registry import Registry
from fraudstream.schema import KAGGLE_COLUMNS, LABEL_COLUMN, TIMESTAMP_FORMAT
from fraudstream.spans import Spans

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


@dataclass(frozen=True)
class TrainingRows:
    """What a retraining learns from (``docs/labels.md``).

    ``labelled``: the rows of ``[train_start, evaluate_end)`` whose chargeback window closed
    (and analysts' decisions among them); ``fresh``: analysts' decisions after the window's
    end, which only train; ``context``: every other row read, unlabelled or not yet mature,
    which only gives the labelled rows their card history. All in the Kaggle columns.
    """

    labelled: pd.DataFrame
    fresh: pd.DataFrame
    context: pd.DataFrame

    @property
    def latest(self) -> datetime | None:
        """The latest labelled transaction time the model will have learnt."""
        times = [f["trans_date_trans_time"].max() for f in (self.labelled, self.fresh) if len(f)]
        return max(times) if times else None


def training_rows(frame: pd.DataFrame, spans: Spans) -> TrainingRows:
    """Split a stored window into what a retraining may learn from and what only gives
    history; only mature labels teach (:func:`~.maturity.mature`)."""
    import pandas as pd

    times = frame["trans_date_trans_time"]
    learn = mature(frame, spans.evaluate_end) & (times >= pd.Timestamp(spans.train_start))
    fresh = learn & (times >= pd.Timestamp(spans.evaluate_end))
    columns = list(KAGGLE_COLUMNS)

    def take(mask: pd.Series) -> pd.DataFrame:
        rows = frame.loc[mask, columns].copy()
        rows[LABEL_COLUMN] = rows[LABEL_COLUMN].astype("int64")
        return rows.reset_index(drop=True)

    context = frame.loc[~learn, [c for c in columns if c != LABEL_COLUMN]]
    return TrainingRows(take(learn & ~fresh), take(fresh), context.reset_index(drop=True))


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
    rows: TrainingRows,
    settings: Settings,
    registry: Registry,
    *,
    since: datetime,
    until: datetime,
    progress: Progress | None = None,
) -> Retrained:
    """Train on ``rows`` (plus the history source of the settings), log the run, register
    the model with its drift reference; raise DataRefused when the rows cannot train a model."""
    from fraudstream.trainer.pipeline import train
    from fraudstream.trainer.reference import write_reference
    from fraudstream.trainer.tracking import log_run

    say = progress or (lambda message: log.info("%s", message))
    source = f"db://labelled?since={since:{_ISO}}&until={until:{_ISO}}"
    frame = rows.labelled
    if len(rows.fresh):
        source += f"&fresh={len(rows.fresh)}"
    if settings.challenger.train_history:
        frame, added = with_history(frame, settings.challenger.train_history, settings)
        source = f"{source} + {settings.challenger.train_history}"
        say(f"added {added:,} rows of history from {settings.challenger.train_history}")
    say(f"retraining on {len(frame) + len(rows.fresh):,} rows ({source})")
    budget = settings.replace(train_search_seconds=settings.challenger.search_seconds)
    with tempfile.TemporaryDirectory(prefix="fraudstream-retrain-") as tmp:
        result = train(
            frame,
            budget,
            source=source,
            workdir=Path(tmp),
            progress=say,
            fresh=rows.fresh,
            context=rows.context,
        )
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
