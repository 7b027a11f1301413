"""The improvement loop on real parts: PostgreSQL, an MLflow store, Kafka and the model service
as a process of its own. The stream is replaced by writing what it would store (the service's
own verdicts, the shadow scores the service stores itself, the labels) through the repository.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import orjson
import psycopg
import pytest

from fixtures.challenger import (
    ask,
    challenger_settings,
    drifted_traffic,
    scores_of,
    store_traffic,
    with_histories,
)
from fixtures.kafka import drain, unique
from fixtures.models import ServiceProcess, log_small_model
from fraudstream.champion_challenger.job import run_once
from fraudstream.config import Settings
from fraudstream.kafka.admin import ensure_topics, topic_specs
from fraudstream.kafka.consumer import Consumer
from fraudstream.quality import pr_auc
from fraudstream.registry import Registry
from fraudstream.trainer.pipeline import TrainingResult
from fraudstream.trainer.tracking import log_run

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def _rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql.encode()).fetchall()


def _wait_for(what: str, check: Callable[[], bool], timeout: float = 60.0) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
    return time.monotonic() - started


def _served(service: ServiceProcess, alias: str) -> str | None:
    info = httpx.get(service.url + "/model", timeout=5).json()
    return None if info[alias] is None else str(info[alias]["model_version"])


def _through_service(
    service: ServiceProcess, settings: Settings, items: list[dict[str, Any]], frame: Any
) -> list[dict[str, Any]]:
    """What the stream does for these rows: ask the service, store its verdicts and the
    labels; the service stores the challenger's shadow scores itself."""
    answers = ask(service.url, items)
    [version] = {a["model_version"] for a in answers}
    store_traffic(settings, frame, [a["score"] for a in answers], model_version=version)
    url = settings.database.url.get_secret_value()
    wanted = list(frame["trans_num"])

    def shadowed() -> bool:
        with psycopg.connect(url) as conn:
            row = conn.execute(
                "SELECT count(*) FROM shadow_scores WHERE trans_num = ANY(%s)", (wanted,)
            ).fetchone()
        return row is not None and row[0] == len(wanted)

    _wait_for("the service's shadow scores", shadowed)
    return answers


def test_a_new_fraud_pattern_is_learnt_promoted_and_served(
    small_model: TrainingResult,
    database_url: str,
    kafka_settings: Settings,
    serve: Callable[[Settings], ServiceProcess],
    tmp_path: Path,
) -> None:
    settings = challenger_settings(
        tmp_path / "registry",
        database_url,
        kafka_bootstrap_servers=kafka_settings.kafka.bootstrap_servers,
        topic_model_events=kafka_settings.topics.model_events,
        service_poll_seconds=600.0,  # only a model-events message can make it swap in time
    )
    ensure_topics(settings.kafka, topic_specs(settings.topics))
    log_small_model(small_model, settings, "champion")  # version 1, as `fraudstream train`
    log_run(small_model, settings, register_as="challenger")  # version 2, the same model
    service = serve(settings)
    service.wait()

    # card testing takes 80 % of the fraud streaks from the first day on: the champion, trained
    # on night sprees only, has never seen it
    traffic = drifted_traffic(36_000)
    items = with_histories(traffic)
    first, second, third = (slice(i * 12_000, (i + 1) * 12_000) for i in range(3))

    _through_service(service, settings, items[first], traffic.iloc[first])
    kept = run_once(settings)
    assert kept.decision is not None
    assert kept.decision.action == "kept", kept.decision.reason
    assert kept.decision.scoring == "stored"
    assert kept.decision.difference is not None
    assert kept.decision.difference.value == pytest.approx(0.0)  # the same model twice
    assert kept.decision.new_champion_version == "1"
    assert kept.decision.new_challenger_version == "3"  # retrained on the drifted rows
    _wait_for("the service to shadow version 3", lambda: _served(service, "challenger") == "3")

    _through_service(service, settings, items[second], traffic.iloc[second])
    before = ask(service.url, items[third])  # the champion's answers on rows it never saw
    promoted = run_once(settings)
    decision = promoted.decision
    assert decision is not None
    assert decision.action == "promoted", decision.reason
    assert decision.scoring == "stored"
    assert (decision.champion_version, decision.challenger_version) == ("1", "3")
    assert (decision.new_champion_version, decision.new_challenger_version) == ("3", "4")
    assert decision.challenger is not None
    assert decision.champion is not None
    assert decision.challenger.ci_low > decision.champion.ci_high
    registry = Registry(settings.registry)
    assert registry.get_alias_version("champion") == "3"
    assert registry.get_alias_version("challenger") == "4"

    swap = _wait_for("the service to serve version 3", lambda: _served(service, "champion") == "3")
    assert swap < 30  # the model-events message, not the 600 s poll
    after = ask(service.url, items[third])
    assert {a["model_version"] for a in after} == {"3"}

    # quality on the new pattern, measured on the same unseen rows, old verdicts vs new
    labels = traffic["is_fraud"].to_numpy()[third]
    testing = (traffic["scenario"] == "card_testing").to_numpy()[third]
    old = np.array([a["score"] for a in before])
    new = np.array([a["score"] for a in after])
    old_flags = np.array([a["is_fraud"] for a in before])
    new_flags = np.array([a["is_fraud"] for a in after])
    assert testing.sum() > 50
    recall_old, recall_new = old_flags[testing].mean(), new_flags[testing].mean()
    assert recall_new > recall_old + 0.3, (recall_old, recall_new)
    assert pr_auc(labels, new) > pr_auc(labels, old) + 0.2

    # every run recorded, with its drift report, and announced
    url = settings.database.url.get_secret_value()
    recorded = _rows(
        url,
        "SELECT action, scoring, n_frauds, champion_ci_low, challenger_ci_high, drift"
        " FROM challenger_decisions ORDER BY id",
    )
    assert [r[0] for r in recorded] == ["kept", "promoted"]
    assert all(r[2] >= 30 for r in recorded)
    assert all(r[5]["report_id"] for r in recorded)
    reports = _rows(url, "SELECT model_version, features ? 'amt', n_rows FROM drift_reports")
    assert len(reports) == 2
    assert all(r[1] and r[2] > 0 for r in reports)
    with Consumer(settings.kafka, unique("events"), auto_offset_reset="earliest") as consumer:
        consumer.subscribe([settings.topics.model_events])
        events = [orjson.loads(m.value() or b"") for m in drain(consumer, 3, timeout=30)]
    assert [(e["alias"], e["version"]) for e in events] == [
        ("challenger", "3"),
        ("champion", "3"),
        ("challenger", "4"),
    ]
    runs = registry.client.search_runs(
        [registry.client.get_experiment_by_name(settings.challenger.experiment).experiment_id]
    )
    assert sorted(r.data.tags["fraudstream.action"] for r in runs) == ["kept", "promoted"]


def test_equal_models_do_not_flap_over_ten_runs(
    small_model: TrainingResult,
    other_small_model: TrainingResult,
    database_url: str,
    tmp_path: Path,
) -> None:
    """Two models of the same recipe and rows, trained with other seeds: their difference is
    within the margin, so the champion stays every time, and the same rows give the very same
    figures ten times."""
    settings = challenger_settings(
        tmp_path / "registry",
        database_url,
        challenger_retrain=False,
        challenger_margin=0.02,
        kafka_timeout_seconds=1,
    )
    log_run(small_model, settings, register_as="champion")
    log_run(other_small_model, settings, register_as="challenger")
    traffic = drifted_traffic(20_000, weight=0.01)  # the pattern both models learnt
    store_traffic(settings, traffic, scores_of(small_model.model, traffic), model_version="9")
    outcomes = [run_once(settings) for _ in range(10)]
    decisions = [o.decision for o in outcomes]
    assert [d.action if d else o.skipped for d, o in zip(decisions, outcomes, strict=True)] == [
        "kept"
    ] * 10
    assert {d.scoring for d in decisions if d} == {"offline"}  # no stored pair for version 1
    assert len({(d.difference, d.champion, d.challenger) for d in decisions if d}) == 1
    first = decisions[0]
    assert first is not None
    assert first.difference is not None
    assert abs(first.difference.value) < settings.challenger.margin
    assert first.difference.ci_low < settings.challenger.margin
    registry = Registry(settings.registry)
    assert registry.get_alias_version("champion") == "1"
    assert registry.get_alias_version("challenger") == "2"
    url = settings.database.url.get_secret_value()
    assert _rows(url, "SELECT count(*), count(DISTINCT action) FROM challenger_decisions") == [
        (10, 1)
    ]


def test_too_few_labels_is_no_decision_recorded(
    small_model: TrainingResult, database_url: str, tmp_path: Path
) -> None:
    settings = challenger_settings(
        tmp_path / "registry", database_url, challenger_min_frauds=500, kafka_timeout_seconds=1
    )
    log_run(small_model, settings, register_as="champion")
    log_run(small_model, settings, register_as="challenger")
    traffic = drifted_traffic(5_000)
    scores = scores_of(small_model.model, traffic)
    store_traffic(settings, traffic, scores, model_version="1", shadow=("2", scores))
    outcome = run_once(settings)
    assert outcome.decision is not None
    assert outcome.decision.action == "no_decision"
    assert "at least 500" in outcome.decision.reason
    assert outcome.decision.new_challenger_version == "2"  # no retraining without a decision
    url = settings.database.url.get_secret_value()
    [(action, n_rows, n_frauds, champion_metric, reason)] = _rows(
        url,
        "SELECT action, n_rows, n_frauds, champion_metric, reason FROM challenger_decisions",
    )
    assert action == "no_decision"
    assert n_rows == len(traffic)
    assert n_frauds == int(traffic["is_fraud"].sum()) < 500
    assert champion_metric is None
    assert "FRAUD_CHALLENGER_MIN_FRAUDS" in reason
    registry = Registry(settings.registry)
    assert (registry.get_alias_version("champion"), registry.get_alias_version("challenger")) == (
        "1",
        "2",
    )
