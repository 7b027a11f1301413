"""The analysts' loop, end to end on real parts (PostgreSQL, an MLflow store, the trainer):
a new fraud pattern appears, an analyst confirms some of its flagged transactions, the next
challenger learns from those decisions, and on later traffic it catches the pattern the champion
misses, enough for the job to promote it.

Chargebacks take ``label wait`` days here, so while the pattern is new the analysts' decisions
are its only labels. The counterfactual (the same retraining without them) shows that the
improvement is theirs. Labels are written as the stream's labels sink writes them: the road from
the dashboard to that sink is the browser test's.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fixtures.challenger import challenger_settings, drifted_traffic, scores_of, store_traffic
from fixtures.models import log_small_model
from fraudstream.champion_challenger.candidates import load_candidate
from fraudstream.champion_challenger.job import run_once
from fraudstream.champion_challenger.retrain import TrainingRows, retrain, training_rows
from fraudstream.config import Settings
from fraudstream.quality import pr_auc
from fraudstream.registry import Registry
from fraudstream.schema import LABEL_COLUMN
from fraudstream.simulator import Scenario, SimParams, Simulator
from fraudstream.spans import plan
from fraudstream.storage.models import Label
from fraudstream.storage.repository import Repository
from fraudstream.storage.window import stored_window
from fraudstream.trainer.pipeline import TrainingResult
from fraudstream.trainer.tracking import log_run

pytestmark = [pytest.mark.integration, pytest.mark.slow]

START = pd.Timestamp("2019-04-01")
PATTERN = START + pd.Timedelta(days=6)
"""Card testing takes every fraud streak from here on; the champion never saw it."""
LABEL_WAIT = 4.0
BUDGET = 150
"""Flagged transactions the analyst decides while the pattern is new."""
CASE = pd.Timedelta(hours=48)
"""How far back in a card's history an analyst looks for the rest of a case."""


def _traffic() -> pd.DataFrame:
    params = SimParams(
        start=START.to_pydatetime(),
        customers=1000,
        fraud_rate=0.05,
        drift_at=PATTERN.to_pydatetime(),
        drift_scenario=Scenario.CARD_TESTING,
        drift_weight=1.0,
    )
    frame = Simulator(params, seed=11).frame(50_000, scenario_column=True)
    frame["when"] = pd.to_datetime(frame["trans_date_trans_time"])
    return frame


def _chargebacks(rows: pd.DataFrame, now: pd.Timestamp) -> list[Label]:
    """The issuer's labels known at ``now``: those of transactions older than the label wait."""
    arrived = rows[rows["when"] < now - pd.Timedelta(days=LABEL_WAIT)]
    at = now.tz_localize("UTC").to_pydatetime()
    return [
        Label(str(t), int(y), at)  # type: ignore[arg-type]
        for t, y in zip(arrived["trans_num"], arrived[LABEL_COLUMN], strict=True)
    ]


def _analyst(
    rows: pd.DataFrame, scores: np.ndarray, threshold: float, since: pd.Timestamp
) -> list[Label]:
    """What an analyst working the Review queue decides: the flagged transactions since
    ``since``, highest score first, up to the budget, each truthfully; a confirmed fraud also
    labels the card's other frauds of the last two days (the rows she ticks in its history)."""
    recent = rows.assign(score=scores)[rows["when"] >= since]
    queue = recent[recent["score"] >= threshold].sort_values("score", ascending=False)
    decided: dict[str, int] = {}
    for case in queue.head(BUDGET).itertuples():
        decided[str(case.trans_num)] = int(case.is_fraud)
        if case.is_fraud:
            card = recent[
                (recent["cc_num"] == case.cc_num)
                & (recent["when"] <= case.when)
                & (recent["when"] > case.when - CASE)
                & (recent[LABEL_COLUMN] == 1)
            ]
            decided.update(dict.fromkeys(card["trans_num"].astype(str), 1))
    at = pd.Timestamp.now(tz="UTC").to_pydatetime()
    return [
        Label(t, y, at, "analyst", "ann")  # type: ignore[arg-type]
        for t, y in decided.items()
    ]


def _store_labels(settings: Settings, labels: list[Label]) -> None:
    async def write() -> None:
        async with Repository.connect(settings.database) as repo:
            await repo.store_labels(labels)

    asyncio.run(write())


def test_analysts_decisions_teach_the_next_challenger_a_new_pattern(
    small_model: TrainingResult, database_url: str, tmp_path: Path
) -> None:
    settings = challenger_settings(
        tmp_path / "registry",
        database_url,
        challenger_label_wait_days=LABEL_WAIT,
        challenger_window_days=30,
        challenger_train_days=30,
    )
    log_small_model(small_model, settings, "champion")  # version 1
    log_run(small_model, settings, register_as="challenger")  # version 2, the same model
    champion = small_model.model
    traffic = _traffic()
    first_now = PATTERN + pd.Timedelta(days=3.5)
    early = traffic[traffic["when"] < first_now].reset_index(drop=True)
    later = traffic[traffic["when"] >= first_now].reset_index(drop=True)
    testing = (later["scenario"] == "card_testing").to_numpy()
    assert testing.sum() > 300  # the pattern keeps coming

    # the champion scores the stream; chargebacks arrive for the old rows only
    early_scores = scores_of(champion, early)
    store_traffic(settings, early, early_scores, model_version="1", labelled=False)
    _store_labels(settings, _chargebacks(early, first_now))
    window_end = first_now - pd.Timedelta(days=LABEL_WAIT)
    assert early.loc[early["when"] < window_end, "scenario"].ne("card_testing").all()
    reviews = _analyst(early, early_scores, champion.threshold, window_end)
    _store_labels(settings, reviews)
    confirmed = [r for r in reviews if r.is_fraud]
    assert 20 <= len(confirmed) <= 400, len(confirmed)  # a few dozen cases' worth, not the stream

    kept = run_once(settings)
    assert kept.decision is not None
    assert kept.decision.action == "kept", kept.decision.reason
    assert kept.decision.new_challenger_version == "3", kept.decision.reason
    registry = Registry(settings.registry)
    challenger = load_candidate(registry, "challenger")
    assert challenger is not None
    assert "fresh=" in challenger.source  # it learnt from the analysts' decisions
    assert challenger.seen_until is not None
    assert pd.Timestamp(challenger.seen_until) >= window_end  # so later runs hold those rows back

    # the counterfactual: the same retraining, without the analysts' decisions
    url = settings.database.url.get_secret_value()
    spans = plan(early["when"].max().to_pydatetime(), settings)
    frame = stored_window(url, spans.read_start, spans.read_end)
    rows = training_rows(frame, spans)
    assert len(rows.fresh) == len(reviews)
    without = retrain(
        TrainingRows(rows.labelled, rows.fresh.iloc[:0], rows.context),
        settings,
        registry,
        since=spans.train_start,
        until=spans.evaluate_end,
    )
    blind = registry.load(without.version)

    # measured on later traffic, which no model has seen
    labels = later[LABEL_COLUMN].to_numpy()
    with_stream = pd.concat([early, later], ignore_index=True)
    tail = slice(len(early), None)
    taught = scores_of(challenger.model, with_stream)[tail]
    old = scores_of(champion, with_stream)[tail]
    untaught = scores_of(blind, with_stream)[tail]
    gain = {name: pr_auc(labels, s) for name, s in (("champion", old), ("challenger", taught))}
    gain["without analysts"] = pr_auc(labels, untaught)
    recall = (taught[testing] >= challenger.model.threshold).mean()
    recall_champion = (old[testing] >= champion.threshold).mean()
    print(
        f"PR-AUC on later traffic: {gain}; card-testing recall "
        f"{recall_champion:.2f} -> {recall:.2f}"
    )
    assert gain["challenger"] > gain["champion"] + 0.2, gain
    assert gain["challenger"] > gain["without analysts"] + 0.15, gain
    assert recall > recall_champion + 0.3, (recall_champion, recall)

    # and the job sees it too: the later traffic's chargebacks arrive, the challenger is promoted
    store_traffic(
        settings, later, scores_of(champion, with_stream)[tail], model_version="1", labelled=False
    )
    second_now = later["when"].max()
    _store_labels(settings, _chargebacks(later, second_now + pd.Timedelta(seconds=1)))
    promoted = run_once(settings)
    decision = promoted.decision
    assert decision is not None
    assert decision.action == "promoted", decision.reason
    assert (decision.champion_version, decision.challenger_version) == ("1", "3")
    assert decision.window_start is not None
    assert decision.window_start > challenger.seen_until  # scored on rows it never learnt from
    assert timedelta(0) < decision.window_end - decision.window_start  # type: ignore[operator]


def test_no_chargeback_younger_than_its_window_enters_a_decision(
    small_model: TrainingResult, database_url: str, tmp_path: Path
) -> None:
    """Every row gets a chargeback, the young ones early (as the fastest frauds' do), and a few
    young rows only an analyst's decision: the decision counts the old rows and those few."""
    wait = 1.0
    settings = challenger_settings(
        tmp_path / "registry",
        database_url,
        challenger_label_wait_days=wait,
        challenger_window_days=30,
        challenger_retrain=False,
    )
    log_small_model(small_model, settings, "champion")
    log_run(small_model, settings, register_as="challenger")
    traffic = drifted_traffic(9_000)
    traffic["when"] = pd.to_datetime(traffic["trans_date_trans_time"])
    store_traffic(
        settings, traffic, scores_of(small_model.model, traffic), model_version="1", labelled=False
    )
    now = traffic["when"].max()
    young = traffic[traffic["when"] > now - pd.Timedelta(days=wait)]
    decided = young.sample(25, random_state=3)
    charged = traffic[~traffic["trans_num"].isin(decided["trans_num"])]
    at = pd.Timestamp.now(tz="UTC").to_pydatetime()
    _store_labels(
        settings,
        [
            Label(str(t), int(y), at)  # type: ignore[arg-type]
            for t, y in zip(charged["trans_num"], charged[LABEL_COLUMN], strict=True)
        ],
    )
    _store_labels(
        settings,
        [
            Label(str(t), int(y), at, "analyst", "analyst")  # type: ignore[arg-type]
            for t, y in zip(decided["trans_num"], decided[LABEL_COLUMN], strict=True)
        ],
    )
    assert len(young) > 1000  # plenty of young chargebacks that must stay out

    outcome = run_once(settings)
    decision = outcome.decision
    assert decision is not None
    mature_chargebacks = int((traffic["when"] <= now - pd.Timedelta(days=wait)).sum())
    assert decision.n_rows == mature_chargebacks + len(decided), decision.reason
