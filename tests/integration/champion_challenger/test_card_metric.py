"""A run of the job on CP@k/day: real PostgreSQL and MLflow store, no broker (the announcement of
the moves is best effort and goes to a closed port). The figures it records are the Fraud
Detection Handbook's definition read on the stored rows, day by day."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import psycopg
import pytest

from fixtures.challenger import challenger_settings, drifted_traffic, scores_of, store_traffic
from fraudstream.champion_challenger.job import run_once
from fraudstream.registry import Registry
from fraudstream.storage.models import DailyMetric
from fraudstream.trainer.pipeline import TrainingResult
from fraudstream.trainer.tracking import log_run

pytestmark = [pytest.mark.integration, pytest.mark.slow]

K = 10


def _cp_at_k(rows: pd.DataFrame, score: str) -> pd.Series:
    """CP@k per calendar day, read literally: each card scored by its highest score of the
    day, the k highest reviewed (ties by card number)."""
    card_days = (
        rows.groupby(["day", "cc_num"])
        .agg(score=(score, "max"), fraud=("is_fraud", "max"))
        .reset_index()
        .sort_values(["day", "score", "cc_num"], ascending=[True, False, True])
    )
    top = card_days.groupby("day").head(K).groupby("day")["fraud"].sum()
    return top / np.minimum(card_days.groupby("day").size(), K)


def test_a_challenger_that_ranks_fraud_cards_first_is_promoted_on_cp_at_k(
    small_model: TrainingResult, database_url: str, tmp_path: Path
) -> None:
    settings = challenger_settings(
        tmp_path / "registry",
        database_url,
        challenger_metric="cp_at_k",
        challenger_cards_per_day=K,
        challenger_retrain=False,
        kafka_bootstrap_servers="127.0.0.1:9",
        kafka_timeout_seconds=1,
    )
    log_run(small_model, settings, register_as="champion")  # version 1
    log_run(small_model, settings, register_as="challenger")  # version 2
    traffic = drifted_traffic(12_000)  # card testing, which the champion never saw
    champion = scores_of(small_model.model, traffic)
    fraud = traffic["is_fraud"].to_numpy() == 1
    # the challenger's shadow scores put every fraud above every legitimate row
    challenger = np.where(fraud, 0.5 + champion / 2, champion / 2)
    store_traffic(settings, traffic, champion, model_version="1", shadow=("2", challenger))

    outcome = run_once(settings)

    decision = outcome.decision
    assert decision is not None
    assert decision.action == "promoted", decision.reason
    assert decision.metric == "cp_at_k"
    assert decision.scoring == "stored"
    assert f"CP@k/day (k = {K} cards a day)" in decision.reason
    assert decision.window_start is not None
    assert decision.window_end is not None
    times = pd.to_datetime(traffic["trans_date_trans_time"])
    rows = traffic.assign(champion=champion, challenger=challenger, day=times.dt.date).loc[
        (times >= decision.window_start) & (times < decision.window_end)
    ]
    expected = pd.DataFrame({m: _cp_at_k(rows, m) for m in ("champion", "challenger")})
    assert decision.daily is not None
    assert decision.daily.cards_per_day == K
    assert [d.day for d in decision.daily.days] == list(expected.index)
    assert [d.champion for d in decision.daily.days] == pytest.approx(list(expected["champion"]))
    assert [d.challenger for d in decision.daily.days] == pytest.approx(
        list(expected["challenger"])
    )
    assert decision.champion is not None
    assert decision.challenger is not None
    assert decision.champion.value == pytest.approx(expected["champion"].mean())
    assert decision.challenger.value == pytest.approx(expected["challenger"].mean())
    assert decision.challenger.value > decision.champion.value

    url = settings.database.url.get_secret_value()
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT metric, challenger_metric, daily FROM challenger_decisions"
        ).fetchone()
    assert row is not None
    metric, challenger_metric, daily = row
    assert (metric, challenger_metric) == ("cp_at_k", decision.challenger.value)
    assert DailyMetric.model_validate(daily) == decision.daily
    registry = Registry(settings.registry)
    assert registry.get_alias_version("champion") == "2"
