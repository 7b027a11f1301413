"""Every run leaves two records: a row of ``challenger_decisions`` (with its drift report) in
PostgreSQL, where the dashboard reads the history, and a run in MLflow's
``challenger_experiment``, beside the training runs of the models it compared.

The MLflow run carries the figures as metrics (both metrics and their CIs, the difference, the
sample, the drift summary), the versions and the action as tags and params, and the whole
decision as ``decision.json``; it is tagged with the PostgreSQL row's id when there is one. A
run that failed is an MLflow run with status FAILED and the error as its reason.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from fraudstream.config import Settings
from fraudstream.errors import FraudstreamError, RegistryError
from fraudstream.registry import Registry
from fraudstream.storage.models import ChallengerDecision, DriftReport
from fraudstream.storage.repository import Repository

log = logging.getLogger(__name__)
T = TypeVar("T")


async def _store(
    settings: Settings, decision: ChallengerDecision, drift: DriftReport | None
) -> tuple[int, int | None]:
    async with (
        Repository.connect(settings, application="fraudstream-challenger") as repo,
        repo.transaction("recording a challenger decision") as writer,
    ):
        drift_id = None
        if drift is not None:
            drift_id = await writer.record_drift_report(drift)
            summary = {**(decision.drift or {}), "report_id": drift_id}
            decision = decision.model_copy(update={"drift": summary})
        return await writer.record_decision(decision), drift_id


def store_decision(
    settings: Settings, decision: ChallengerDecision, drift: DriftReport | None = None
) -> int:
    """Record the decision (and its drift report) in one transaction; returns the decision id."""
    decision_id, _ = asyncio.run(_store(settings, decision, drift))
    return decision_id


def store_drift_report(settings: Settings, report: DriftReport) -> int:
    """Record a drift report on its own (``fraudstream monitor drift``)."""

    async def store() -> int:
        async with Repository.connect(settings, application="fraudstream-monitor") as repo:
            return await repo.record_drift_report(report)

    return asyncio.run(store())


def _mlflow(settings: Settings, what: str, fn: Callable[..., T], *args: Any, **kw: Any) -> T:
    from mlflow.exceptions import MlflowException

    try:
        return fn(*args, **kw)
    except MlflowException as exc:
        raise RegistryError(
            f"{what}: MLflow at {settings.tracking_uri} failed: {exc.message}"
        ) from exc
    except OSError as exc:
        raise RegistryError(
            f"{what}: cannot reach MLflow at {settings.tracking_uri}: {exc}"
        ) from exc


def _figures(decision: ChallengerDecision) -> dict[str, float]:
    figures: dict[str, float] = {"n_rows": decision.n_rows, "n_frauds": decision.n_frauds}
    for name in ("champion", "challenger", "difference"):
        estimate = getattr(decision, name)
        if estimate is not None:
            figures[name] = estimate.value
            figures[f"{name}_ci_low"] = estimate.ci_low
            figures[f"{name}_ci_high"] = estimate.ci_high
    if decision.duration_seconds is not None:
        figures["duration_seconds"] = decision.duration_seconds
    for key in ("max_feature_psi", "score_psi", "fraud_rate"):
        value = (decision.drift or {}).get(key)
        if isinstance(value, int | float):
            figures[f"drift_{key}"] = float(value)
    return figures


def log_decision(
    settings: Settings, decision: ChallengerDecision, decision_id: int | None = None
) -> str:
    """Record the decision as an MLflow run; returns the run id (RegistryError when MLflow
    cannot take it)."""
    from mlflow.entities import Metric, Param, RunTag

    scoped = settings.model_copy(update={"mlflow_experiment": settings.challenger_experiment})
    registry = Registry(scoped)
    client = registry.client
    experiment = registry.experiment_id()
    tags = {
        "fraudstream.action": decision.action,
        "fraudstream.model_name": decision.model_name,
        "mlflow.note.content": decision.reason,
    }
    if decision_id is not None:
        tags["fraudstream.decision_id"] = str(decision_id)
    run = _mlflow(
        settings,
        "create the decision run",
        client.create_run,
        experiment,
        run_name=f"{decision.action}-{decision.champion_version}-vs-{decision.challenger_version}",
        tags=tags,
    )
    run_id: str = run.info.run_id
    now_ms = int(time.time() * 1000)
    params = {
        "metric": decision.metric,
        "champion_version": decision.champion_version,
        "challenger_version": decision.challenger_version,
        "new_champion_version": decision.new_champion_version,
        "new_challenger_version": decision.new_challenger_version,
        "scoring": decision.scoring,
        "window_start": decision.window_start,
        "window_end": decision.window_end,
        "action": decision.action,
    }
    _mlflow(
        settings,
        "log the decision",
        client.log_batch,
        run_id,
        metrics=[Metric(k, float(v), now_ms, 0) for k, v in _figures(decision).items()],
        params=[Param(k, str(v)) for k, v in params.items() if v is not None],
        tags=[RunTag("fraudstream.reason", decision.reason[:5000])],
    )
    _mlflow(
        settings,
        "log decision.json",
        client.log_dict,
        run_id,
        decision.model_dump(mode="json"),
        "decision.json",
    )
    status = "FAILED" if decision.action == "failed" else "FINISHED"
    _mlflow(settings, "close the decision run", client.set_terminated, run_id, status)
    return run_id


def log_decision_quietly(
    settings: Settings, decision: ChallengerDecision, decision_id: int | None = None
) -> str | None:
    """:func:`log_decision`, logging a warning instead of raising: the PostgreSQL row is the
    record of reference, and an MLflow outage must not turn a done run into a failed one."""
    try:
        return log_decision(settings, decision, decision_id)
    except FraudstreamError as exc:
        log.warning("the decision was not logged to MLflow: %s", exc)
        return None
