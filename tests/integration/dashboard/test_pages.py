"""Every page of the dashboard, run by Streamlit's AppTest against a real, seeded PostgreSQL.

The app reads as a read-only login (as the stack's fraudstream_reader), and each test compares
what a page shows with the rows :func:`fixtures.dashboard.seed_dashboard` wrote. Each test
signs in first, through the sign-in form, as the viewer of :mod:`fixtures.dashboard_users`:
the pages are what the lowest role sees.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import fraudstream.dashboard
from fixtures.dashboard import DEAD_REASONS, DRIFT_FEATURES, LIFETIME_FEATURES, Seeded
from fixtures.dashboard_users import sign_in
from fraudstream.config import Settings

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("dashboard_users")]

APP = Path(fraudstream.dashboard.__file__).parent / "entry" / "main.py"  # as the server runs it
PAGES = ("live", "flagged", "models", "drift", "dead_letters")

Open = Callable[[str], AppTest]


@pytest.fixture
def app_env(
    reader_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_streamlit_caches: None
) -> None:
    """The app reads as the read-only login, and has no registry to talk to."""
    monkeypatch.setenv("FRAUD_DATABASE_READONLY_URL", reader_url)
    monkeypatch.setenv("FRAUD_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'absent.db'}")


def open_page(page: str) -> AppTest:
    """Run the app, sign in as the viewer, switch to ``page``, and fail on any exception the
    page raised."""
    at = sign_in(AppTest.from_file(str(APP), default_timeout=60).run(), "viewer")
    assert at.sidebar.caption[0].value == "Signed in as viewer (viewer)"
    if page != "live":
        at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.usefixtures("app_env")
def test_live_sums_the_latest_sample_of_each_worker_and_counts_the_window(seeded: Seeded) -> None:
    shown = metrics(open_page("live"))
    latest = seeded.latest_metrics()
    flagged, labels = len(seeded.flagged), seeded.counted_labels()
    frauds = sum(label.is_fraud for label in labels)
    assert shown["Throughput (tx/s)"] == f"{sum(m.throughput for m in latest):,.1f}"
    assert (
        shown["End-to-end latency p95 (ms)"] == f"{max(m.latency_p95_ms or 0 for m in latest):,.0f}"
    )
    assert shown["Consumer lag (messages)"] == f"{sum(m.lag for m in latest):,}"
    assert shown["Stream workers"] == "2"
    assert shown["Verdicts in window"] == f"{len(seeded.verdicts):,}"
    assert shown["Flagged rate"] == f"{flagged / len(seeded.verdicts):.2%}"
    assert shown["Confirmed fraud rate (labels)"] == f"{frauds / len(labels):.2%}"
    assert shown["Dead letters in window"] == str(len(seeded.dead_letters))


@pytest.mark.usefixtures("app_env")
def test_flagged_lists_every_flagged_transaction_of_the_window(seeded: Seeded) -> None:
    at = open_page("flagged")
    table = at.dataframe[0].value
    assert set(table["trans_num"]) == {v.verdict.trans_num for v in seeded.flagged}
    assert (table["score"] >= 0.5).all()
    assert list(table["scored_at"]) == sorted(table["scored_at"], reverse=True)
    assert table["card"].str.fullmatch(r"…\d{4}").all()  # never the whole card number
    assert metrics(at)["Flagged (filters applied)"] == str(len(seeded.flagged))
    assert metrics(at)["Scored (filters applied)"] == f"{len(seeded.verdicts):,}"


@pytest.mark.usefixtures("app_env")
def test_flagged_filters_by_category_state_and_amount(seeded: Seeded) -> None:
    at = open_page("flagged")
    category, _ = Counter(v.transaction.category for v in seeded.flagged).most_common(1)[0]
    at.multiselect(key="flagged_categories").set_value([category]).run()
    table = at.dataframe[0].value
    expected = {v.verdict.trans_num for v in seeded.flagged if v.transaction.category == category}
    assert set(table["trans_num"]) == expected
    assert metrics(at)["Flagged (filters applied)"] == str(len(expected))

    at.multiselect(key="flagged_categories").set_value([]).run()
    state, _ = Counter(v.transaction.state for v in seeded.flagged).most_common(1)[0]
    at.multiselect(key="flagged_states").set_value([state]).run()
    amounts = sorted(v.transaction.amt for v in seeded.flagged if v.transaction.state == state)
    floor = amounts[len(amounts) // 2]
    at.number_input(key="flagged_min").set_value(floor).run()
    expected = {
        v.verdict.trans_num
        for v in seeded.flagged
        if v.transaction.state == state and v.transaction.amt >= floor
    }
    assert set(at.dataframe[0].value["trans_num"]) == expected
    assert metrics(at)["Flagged (filters applied)"] == str(len(expected))


@pytest.mark.usefixtures("app_env")
def test_models_shows_every_decision_and_says_the_registry_is_absent(seeded: Seeded) -> None:
    at = open_page("models")
    shown = metrics(at)
    newest = max(seeded.decisions, key=lambda d: d.run_at or seeded.now)
    assert shown["Decisions"] == str(len(seeded.decisions))
    assert shown["Promotions"] == str(sum(d.action == "promoted" for d in seeded.decisions))
    assert shown["Last decision"] == newest.action
    assert shown["Champion after the last run"] == newest.new_champion_version
    tables = [df.value for df in at.dataframe]
    versions = next(t for t in tables if "verdicts" in t.columns)
    assert dict(zip(versions["model_version"], versions["verdicts"], strict=True)) == dict(
        Counter(v.verdict.model_version for v in seeded.verdicts)
    )
    history = next(t for t in tables if "action" in t.columns)
    assert list(history["action"]) == [
        d.action for d in sorted(seeded.decisions, key=lambda d: d.run_at, reverse=True)
    ]
    promoted = history[history["action"] == "promoted"].iloc[0]
    assert promoted["challenger_metric"] == pytest.approx(0.82)
    assert promoted["challenger_ci_low"] == pytest.approx(0.76)
    assert promoted["difference"] == pytest.approx(0.82 - 0.66)
    assert (promoted["champion_after"], promoted["challenger_after"]) == ("2", "3")
    assert any("no MLflow store" in info.value for info in at.info)


@pytest.mark.usefixtures("app_env")
def test_drift_shows_the_latest_report_feature_by_feature(seeded: Seeded) -> None:
    at = open_page("drift")
    shown = metrics(at)
    major = [name for name, (psi, _) in DRIFT_FEATURES.items() if psi >= 0.25]
    every = DRIFT_FEATURES | LIFETIME_FEATURES
    assert shown["Verdict"] == "drifted"
    assert shown["Features"] == str(len(every))
    # a lifetime feature far above 0.25 is shown, and named, but not counted
    assert shown["Drifted features"] == f"{len(major)} of {len(DRIFT_FEATURES)}"
    largest = max(p for p, _ in DRIFT_FEATURES.values())
    assert shown["Largest PSI (counted)"] == f"{largest:.3f}"
    assert any("log_n_prev" in c.value and "not counted" in c.value for c in at.caption)
    latest = max(seeded.drift, key=lambda r: r.created_at or seeded.now)
    assert shown["Score PSI"] == f"{latest.score_psi:.3f}"
    assert shown["Fraud rate (labelled)"] == f"{latest.fraud_rate:.3%}"
    assert shown["Model version"] == latest.model_version
    table = at.dataframe[0].value.set_index("feature")
    assert list(table.index) == sorted(every, key=lambda f: -every[f][0])
    for name, (psi, ks) in every.items():
        assert table.loc[name, "psi"] == pytest.approx(psi)
        assert table.loc[name, "counted"] == (name in DRIFT_FEATURES)
        if ks is None:
            assert table.loc[name, "ks"] != table.loc[name, "ks"]  # NaN: no KS for a category
        else:
            assert table.loc[name, "ks"] == pytest.approx(ks)
    assert len(at.selectbox(key="report").options) == len(seeded.drift)


@pytest.mark.usefixtures("app_env")
def test_drift_shows_an_older_report_when_chosen(seeded: Seeded) -> None:
    at = open_page("drift")
    oldest = at.selectbox(key="report").options[-1]
    at.selectbox(key="report").set_value(int(oldest.split()[0].lstrip("#"))).run()
    largest = 0.4 * max(p for p, _ in DRIFT_FEATURES.values())
    assert metrics(at)["Largest PSI (counted)"] == f"{largest:.3f}"
    assert metrics(at)["Verdict"] == "stable"  # 0.4 of each PSI: none reaches 0.25


@pytest.mark.usefixtures("app_env")
def test_dead_letters_count_each_reason(seeded: Seeded) -> None:
    at = open_page("dead_letters")
    shown = metrics(at)
    assert shown["Dead letters in window"] == str(sum(n for _, n in DEAD_REASONS))
    assert shown["Distinct reasons"] == str(len(DEAD_REASONS))
    reasons, recent = (df.value for df in at.dataframe)
    assert dict(zip(reasons["reason"], reasons["messages"], strict=True)) == dict(DEAD_REASONS)
    assert len(recent) == len(seeded.dead_letters)
    assert recent["payload"].str.contains("trans_num").all()
    assert (recent["key"] == "…0001").all()  # the key is a card number: its last four only
    assert not recent.astype(str).apply(lambda c: c.str.contains(r"\d{11}")).any().any()


@pytest.mark.usefixtures("app_env")
@pytest.mark.parametrize("page", PAGES)
def test_an_empty_database_renders_friendly_empty_states(page: str) -> None:
    at = open_page(page)
    assert not at.error
    assert any("yet" in info.value for info in at.info), [i.value for i in at.info]


@pytest.mark.parametrize("page", ["live", "flagged"])
def test_an_unreachable_database_is_one_readable_error(
    page: str, monkeypatch: pytest.MonkeyPatch, fresh_streamlit_caches: None
) -> None:
    from fraudstream.local.process import free_port

    monkeypatch.setenv(
        "FRAUD_DATABASE_READONLY_URL", f"postgresql://nobody@127.0.0.1:{free_port()}/none"
    )
    at = open_page(page)
    assert len(at.error) == 1
    assert "unavailable" in at.error[0].value
    assert "FRAUD_DATABASE_URL" in at.error[0].value  # says what to do


@pytest.mark.slow
def test_models_shows_the_registry_aliases(
    registered: Settings,
    reader_url: str,
    monkeypatch: pytest.MonkeyPatch,
    fresh_streamlit_caches: None,
) -> None:
    monkeypatch.setenv("FRAUD_DATABASE_READONLY_URL", reader_url)
    monkeypatch.setenv("FRAUD_MLFLOW_TRACKING_URI", registered.registry.tracking_uri)
    monkeypatch.setenv("FRAUD_MLFLOW_ARTIFACT_ROOT", registered.registry.artifact_root)
    at = open_page("models")
    aliases = at.dataframe[0].value
    assert dict(zip(aliases["alias"], aliases["version"], strict=True)) == {
        "champion": "1",
        "challenger": "2",
    }
    assert aliases["test_pr_auc"].between(0, 1).all()
    assert not at.error
