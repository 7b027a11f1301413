"""One drift check of a registered version: its stored reference against recent traffic.

:func:`measure_drift` is the step the challenger job and ``fraudstream monitor drift`` share;
the job gives it the rows and features it already read for its own scoring. :func:`check_drift`
is the whole one-off check around it: the champion, the latest stored transaction, the window
(:func:`fraudstream.spans.plan`, the same one a job run would check), the rows, and the report
stored in ``drift_reports``. The reference is only read, never built here (see
:mod:`.reference`): a version without one raises NoDriftReference.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from fraudstream.config import Settings
from fraudstream.errors import DataError
from fraudstream.monitoring.monitor import as_report, window_drift
from fraudstream.monitoring.reference import stored_reference
from fraudstream.monitoring.report import DriftResult
from fraudstream.spans import Spans, plan
from fraudstream.storage.models import DriftReport

if TYPE_CHECKING:
    import pandas as pd

    from fraudstream.artifact import ScoringModel
    from fraudstream.registry import Registry

Progress = Callable[[str], None]


@dataclass(frozen=True)
class DriftCheck:
    """The measured drift, the ``drift_reports`` row made of it, and its id once stored."""

    result: DriftResult
    report: DriftReport
    report_id: int | None = None


def measure_drift(
    registry: Registry,
    version: str,
    model: ScoringModel,
    frame: pd.DataFrame,
    features: npt.NDArray[np.float64],
    spans: Spans,
    settings: Settings,
) -> DriftCheck:
    """Drift of the rows of ``frame`` in the drift window of ``spans`` against the stored
    reference of ``version``; ``features`` are the frame's, computed over the whole frame so
    that the rows before the window give card history. Raises NoDriftReference (a ModelError)
    when the version has no reference, DataError when the window has no rows to compare."""
    reference = stored_reference(registry, version)
    result = window_drift(
        frame, features, spans.drift_start, model, reference, settings.drift.psi_threshold
    )
    report = as_report(
        result,
        start=spans.drift_start,
        end=spans.now,
        reference=reference,
        model_name=settings.registry.model_name,
        model_version=version,
    )
    return DriftCheck(result, report)


def check_drift(
    settings: Settings,
    *,
    as_of: datetime | None = None,
    store: bool = True,
    progress: Progress | None = None,
) -> DriftCheck:
    """One drift report of the serving champion, up to ``as_of`` (Sparkov time; default the
    latest stored transaction), recorded in ``drift_reports`` when ``store``."""
    from fraudstream.features import batch_features
    from fraudstream.registry import Registry
    from fraudstream.storage.window import latest_transaction_time, stored_window

    say = progress or (lambda _message: None)
    url = settings.database.url.get_secret_value()
    say("finding the champion and the latest transaction")
    registry = Registry(settings.registry)
    model = registry.load_alias("champion")
    now = as_of or latest_transaction_time(url)
    if now is None:
        raise DataError("no stored transactions yet: nothing to compare with the reference")
    spans = plan(now, settings)
    say("reading the recent window")
    frame = stored_window(url, spans.drift_start - spans.drift_history, spans.read_end)
    say(f"features of {len(frame):,} rows and the reference of version {model.version}")
    features = batch_features(frame).to_numpy()
    check = measure_drift(registry, model.version, model, frame, features, spans, settings)
    if not store:
        return check
    return DriftCheck(check.result, check.report, _store(settings, check.report))


def _store(settings: Settings, report: DriftReport) -> int:
    """Record a drift report on its own (the job records its report with its decision)."""
    from fraudstream.storage.repository import Repository

    async def store() -> int:
        async with Repository.connect(settings.database, application="fraudstream-monitor") as repo:
            return await repo.record_drift_report(report)

    return asyncio.run(store())
