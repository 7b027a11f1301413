"""The Review queue and the Audit trail, run by AppTest against a real, seeded PostgreSQL and
signed in through the real form, in each of their states. (Publishing a decision to a live
broker is the browser test's: tests/e2e/test_review_in_a_browser.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import fraudstream.dashboard
from fixtures.dashboard import Seeded
from fixtures.dashboard_users import sign_in
from fraudstream.dashboard.roles import Identity
from fraudstream.local.process import free_port

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("dashboard_users")]

APP = Path(fraudstream.dashboard.__file__).parent / "entry" / "main.py"


@pytest.fixture
def app_env(
    reader_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_streamlit_caches: None
) -> None:
    """The read-only login, no registry, and a labels topic on a broker that is not there."""
    monkeypatch.setenv("FRAUD_DATABASE_READONLY_URL", reader_url)
    monkeypatch.setenv("FRAUD_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'absent.db'}")
    monkeypatch.setenv("FRAUD_KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{free_port()}")
    monkeypatch.setenv("FRAUD_KAFKA_TIMEOUT_SECONDS", "1")


def open_as(user: str, page: str) -> AppTest:
    at = sign_in(AppTest.from_file(str(APP), default_timeout=60).run(), user)
    at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def button(at: AppTest, label: str) -> object:
    return next(b for b in at.button if b.label == label)


def texts(at: AppTest) -> str:
    """Every piece of text the page shows (markdown, captions, titles, metrics, tables)."""
    parts = [
        e.value for kind in ("markdown", "caption", "title", "subheader") for e in at.get(kind)
    ]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [frame.value.to_csv() for frame in at.dataframe]
    return "\n".join(str(p) for p in parts)


@pytest.mark.usefixtures("app_env")
def test_the_queue_shows_the_highest_scored_undecided_transaction_with_its_card(
    seeded: Seeded,
) -> None:
    at = open_as("analyst", "review")
    labelled = {label.trans_num for label in seeded.counted_labels()}
    waiting = [v for v in seeded.flagged if v.verdict.trans_num not in labelled]
    top = max(waiting, key=lambda v: (v.verdict.score, v.scored_at))
    assert at.metric[0].label == "Score"
    assert at.metric[0].value == f"{top.verdict.score:.3f}"
    assert f"…{str(top.transaction.cc_num)[-4:]}" in at.subheader[0].value
    assert f"${top.transaction.amt:,.2f}" in at.subheader[0].value
    assert f"{len(waiting):,} flagged transactions without a decision" in at.caption[0].value
    history = at.dataframe[0].value
    assert history["trans_num"].iloc[0] == top.verdict.trans_num
    assert {b.label for b in at.button} >= {"Confirm fraud", "Not fraud", "Skip"}
    shown = texts(at)
    for verdict in seeded.verdicts:  # no page shows a whole card number
        assert str(verdict.transaction.cc_num) not in shown


@pytest.mark.usefixtures("app_env")
def test_skip_shows_the_next_one_at_once(seeded: Seeded) -> None:
    at = open_as("analyst", "review")
    first = at.dataframe[0].value["trans_num"].iloc[0]
    button(at, "Skip").click().run()  # type: ignore[attr-defined]
    assert not at.exception
    assert at.dataframe[0].value["trans_num"].iloc[0] != first
    assert "1 decided or skipped in this session" in at.caption[0].value


@pytest.mark.usefixtures("app_env")
def test_a_decision_the_broker_did_not_take_is_one_line_and_the_transaction_stays(
    seeded: Seeded,
) -> None:
    at = open_as("analyst", "review")
    first = at.dataframe[0].value["trans_num"].iloc[0]
    button(at, "Confirm fraud").click().run()  # type: ignore[attr-defined]
    assert not at.exception
    assert len(at.error) == 1
    assert at.error[0].value.startswith("Not saved, try again:")
    assert at.dataframe[0].value["trans_num"].iloc[0] == first


@pytest.mark.usefixtures("app_env")
def test_my_reviews_lists_the_analysts_decisions_and_the_overruled_one(seeded: Seeded) -> None:
    at = open_as("analyst", "review")
    at.toggle(key="review_mine").set_value(True).run()
    mine = [label for label in seeded.reviews if label.author == "analyst"]
    shown = {m.label: m.value for m in at.metric}
    assert shown["Your decisions"] == f"{len(mine):,}"
    assert shown["Overruled by a chargeback"] == "1"
    assert set(at.dataframe[0].value["trans_num"]) == {label.trans_num for label in mine}


@pytest.mark.usefixtures("app_env")
def test_the_audit_trail_counts_every_label_and_shows_the_disagreement(seeded: Seeded) -> None:
    at = open_as("admin", "audit")
    shown = {m.label: m.value for m in at.metric}
    assert shown["Labels received"] == f"{len(seeded.labels) + len(seeded.reviews):,}"
    assert shown["Analysts' decisions"] == f"{len(seeded.reviews):,}"
    assert shown["Analysts deciding"] == str(len({label.author for label in seeded.reviews}))
    assert at.subheader[0].value == "Disagreements (1)"
    split = at.dataframe[1].value
    assert split["decisions"].iloc[0] == "analyst: not fraud → chargeback: fraud"


@pytest.mark.usefixtures("app_env")
@pytest.mark.parametrize("page", ["review", "audit"])
def test_an_empty_database_says_what_would_fill_the_page(page: str) -> None:
    at = open_as("analyst", page)
    assert not at.error
    assert any("yet" in info.value or "No " in info.value for info in at.info)


def test_a_viewer_has_no_review_actions(seeded: Seeded, app_env: None) -> None:
    """Not in a viewer's menu, and refused when its script runs anyway (by its address)."""
    at = sign_in(AppTest.from_file(str(APP), default_timeout=60).run(), "viewer")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("../pages/review.py")
    page = AppTest.from_file(str(APP.parents[1] / "pages" / "review.py"), default_timeout=60)
    page.session_state["identity"] = Identity(name="viewer", role="viewer", via="password")
    page.run()
    assert not [b for b in page.button if b.label in {"Confirm fraud", "Not fraud", "Skip"}]
    assert [e.value for e in page.error] == [
        "This page is for the analyst role and above; viewer is signed in as viewer."
    ]
