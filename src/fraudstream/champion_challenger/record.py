"""Every run leaves two records: a row of ``challenger_decisions`` (with its drift report) in
PostgreSQL, where the dashboard reads the history, and a run in MLflow's
``challenger_experiment``, beside the training runs of the models it compared.

The MLflow run carries the figures as metrics (both metrics and their CIs, the difference, the
sample, the drift summary), the versions, the action and a card metric's k as tags and params,
and the whole decision (a card metric's per-day values too) as ``decision.json``; it is tagged
with the PostgreSQL row's id when there is one. A run that failed is an MLflow run with status
FAILED and the error as its reason.
"""

from __future__ import annotations

import asyncio
import logging

from fraudstream.config import Settings
from fraudstream.errors import FraudstreamError
from fraudstream.registry import RunRecord, log_run
from fraudstream.storage.models import ChallengerDecision, DriftReport
from fraudstream.storage.repository import Repository

log = logging.getLogger(__name__)


async def _store(
    settings: Settings, decision: ChallengerDecision, drift: DriftReport | None
) -> tuple[int, int | None]:
    async with (
        Repository.connect(settings.database, application="fraudstream-challenger") as repo,
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
    tags = {
        "fraudstream.action": decision.action,
        "fraudstream.model_name": decision.model_name,
        "fraudstream.reason": decision.reason[:5000],
        "mlflow.note.content": decision.reason,
    }
    if decision_id is not None:
        tags["fraudstream.decision_id"] = str(decision_id)
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
        "cards_per_day": decision.daily.cards_per_day if decision.daily else None,
    }
    record = RunRecord(
        name=f"{decision.action}-{decision.champion_version}-vs-{decision.challenger_version}",
        tags=tags,
        params={k: v for k, v in params.items() if v is not None},
        metrics=_figures(decision),
        documents={"decision.json": decision.model_dump(mode="json")},
    )
    logged = log_run(
        settings.registry,
        settings.challenger.experiment,
        record,
        failed=decision.action == "failed",
    )
    return logged.run_id


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
