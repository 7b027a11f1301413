"""A decision on a card metric, as the Models page shows it: the per-day values the job recorded
(``challenger_decisions.daily``) read back by the dashboard's query and drawn on the page, run by
Streamlit's AppTest against a real PostgreSQL as the read-only login.

The page runs on its own, its session already signed in as the viewer of
:mod:`fixtures.dashboard_users` (the sign-in itself is the page tests' subject, not this one's).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import fraudstream.dashboard
from fraudstream.config import Settings
from fraudstream.dashboard import auth, queries
from fraudstream.dashboard.roles import Identity
from fraudstream.storage.models import ChallengerDecision, DailyMetric, DayValues, MetricEstimate
from fraudstream.storage.readonly import ReadOnlyDatabase
from fraudstream.storage.repository import Repository

pytestmark = pytest.mark.integration

PAGE = Path(fraudstream.dashboard.__file__).with_name("pages") / "models.py"
DAYS = DailyMetric(
    cards_per_day=20,
    days=[
        DayValues(day=date(2020, 6, 1), champion=0.25, challenger=0.4),
        DayValues(day=date(2020, 6, 2), champion=0.1, challenger=0.35),
        DayValues(day=date(2020, 6, 3), champion=0.3, challenger=0.3),
    ],
)


def _decision(metric: str, age: timedelta, daily: DailyMetric | None) -> ChallengerDecision:
    estimate = MetricEstimate(value=0.2167, ci_low=0.1, ci_high=0.3)
    better = MetricEstimate(value=0.35, ci_low=0.25, ci_high=0.45)
    return ChallengerDecision(
        model_name="fraud-detector",
        metric=metric,
        champion_version="1",
        challenger_version="2",
        champion=estimate,
        challenger=better,
        difference=MetricEstimate(value=0.1333, ci_low=0.05, ci_high=0.2),
        window_start=datetime(2020, 6, 1),
        window_end=datetime(2020, 6, 4),
        n_rows=9_000,
        n_frauds=60,
        action="promoted",
        reason="challenger better",
        run_at=datetime.now(UTC) - age,
        daily=daily,
    )


def _record(url: str, *decisions: ChallengerDecision) -> list[int]:
    async def write() -> list[int]:
        settings = Settings(_env_file=None, database_url=url)
        async with Repository.connect(settings.database) as repo:
            return [await repo.record_decision(d) for d in decisions]

    return asyncio.run(write())


@pytest.fixture
def db(reader_url: str) -> Iterator[ReadOnlyDatabase]:
    database = ReadOnlyDatabase(reader_url, timeout_seconds=5)
    yield database
    database.close()


def test_the_days_read_back_one_row_per_day_and_model(
    database_url: str, db: ReadOnlyDatabase
) -> None:
    card, older = _record(
        database_url,
        _decision("cp_at_k", timedelta(hours=1), DAYS),
        _decision("pr_auc", timedelta(days=1), None),
    )
    frame = queries.decision_days(db, card)
    assert list(frame.columns) == ["day", "model", "value", "cards_per_day"]
    assert list(frame["day"]) == [d.day for d in DAYS.days for _ in range(2)]
    assert list(frame["model"]) == ["champion", "challenger"] * 3
    assert list(frame["value"]) == [v for d in DAYS.days for v in (d.champion, d.challenger)]
    assert set(frame["cards_per_day"]) == {20}
    assert queries.decision_days(db, older).empty


@pytest.fixture
def page_env(
    reader_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_streamlit_caches: None,
    dashboard_users: object,
) -> None:
    """The page reads as the read-only login, has no registry, and knows the viewer."""
    monkeypatch.setenv("FRAUD_DATABASE_READONLY_URL", reader_url)
    monkeypatch.setenv("FRAUD_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'absent.db'}")


def _open() -> AppTest:
    """The Models page, its session signed in as the viewer."""
    at = AppTest.from_file(str(PAGE), default_timeout=60)
    at.session_state[auth.SESSION_KEY] = Identity("viewer", "viewer", "password")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _day_chart(at: AppTest) -> dict[str, object] | None:
    """The spec of the page's per-day chart, None when the page has none."""
    for chart in at.get("vega_lite_chart"):
        spec = json.loads(chart.proto.spec)
        if spec.get("encoding", {}).get("x", {}).get("title") == "day (transaction time)":
            return dict(spec)
    return None


@pytest.mark.usefixtures("page_env")
def test_the_models_page_shows_a_card_metric_day_by_day(database_url: str) -> None:
    _record(
        database_url,
        _decision("pr_auc", timedelta(days=1), None),
        _decision("cp_at_k", timedelta(hours=1), DAYS),
        _decision("cp_at_k", timedelta(minutes=5), None).model_copy(  # nothing measured
            update={"champion": None, "challenger": None, "difference": None}
        ),
    )
    at = _open()
    assert "CP@20/day at the latest measured decision" in [h.value for h in at.subheader]
    shown = {m.label: m.value for m in at.metric}
    assert shown["champion (version 1)"] == "0.2167 [0.1000, 0.3000]"
    assert shown["challenger (version 2)"] == "0.3500 [0.2500, 0.4500]"
    assert shown["difference"] == "0.1333 [0.0500, 0.2000]"
    chart = _day_chart(at)
    assert chart is not None
    assert chart["encoding"]["y"]["title"] == "CP@20/day"


@pytest.mark.usefixtures("page_env")
def test_an_amount_shows_as_money(database_url: str) -> None:
    decision = _decision(
        "amount_at_k", timedelta(hours=2), DAYS.model_copy(update={"cards_per_day": 5})
    )
    money = MetricEstimate(value=12345.5, ci_low=9000.0, ci_high=15000.25)
    _record(database_url, decision.model_copy(update={"champion": money}))
    at = _open()
    assert "fraud amount in the top 5 cards a day at the latest measured decision" in [
        h.value for h in at.subheader
    ]
    shown = {m.label: m.value for m in at.metric}
    assert shown["champion (version 1)"] == "12,345.50 [9,000.00, 15,000.25]"


@pytest.mark.usefixtures("page_env")
def test_a_pr_auc_decision_shows_no_days(database_url: str) -> None:
    _record(
        database_url,
        _decision("cp_at_k", timedelta(hours=2), DAYS),
        _decision("pr_auc", timedelta(minutes=1), None),
    )
    at = _open()
    assert "difference" not in {m.label for m in at.metric}
    assert _day_chart(at) is None
    assert any("action" in frame.value.columns for frame in at.dataframe)  # the history
