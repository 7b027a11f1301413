"""Signing in to the dashboard, and what each role then sees, by Streamlit's AppTest.

The app runs against the real read-only PostgreSQL of the fixtures (an empty database: these
tests are about who sees which page, not about the figures). A page a role may not see is not
in the session's navigation at all: ``AppTest.switch_page`` refuses it, as Streamlit would
answer "page not found" to a browser asking for its address.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import fraudstream.dashboard
from fixtures.dashboard_users import PASSWORDS, sign_in
from fraudstream.dashboard.auth import WRONG, Identity, Role
from fraudstream.dashboard.users_file import UsersFile

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("app_env")]

APP = Path(fraudstream.dashboard.__file__).parent / "entry" / "main.py"  # as the server runs it
MONITORING = ("live", "flagged", "models", "drift", "dead_letters")
REVIEW = ("review", "audit")


@pytest.fixture
def app_env(
    reader_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    fresh_streamlit_caches: None,
    dashboard_users: UsersFile,
) -> None:
    """The app reads as the read-only login, has no registry, and has the three users."""
    monkeypatch.setenv("FRAUD_DATABASE_READONLY_URL", reader_url)
    monkeypatch.setenv("FRAUD_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'absent.db'}")


def start() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=60).run()


def may_open(at: AppTest, page: str) -> bool:
    """Whether ``page`` is in the session's navigation."""
    try:
        at.switch_page(f"../pages/{page}.py")
    except ValueError:
        return False
    return True


def signed_in_line(at: AppTest) -> str | None:
    return next((c.value for c in at.sidebar.caption if c.value.startswith("Signed in")), None)


@pytest.mark.parametrize(
    ("name", "password"),
    [("viewer", "not-the-password"), ("nobody", PASSWORDS["viewer"]), ("", "")],
)
def test_a_wrong_name_or_password_is_one_line_and_no_page(name: str, password: str) -> None:
    at = sign_in(start(), name, password)
    assert not at.exception
    assert [e.value for e in at.error] == [WRONG]
    assert [t.value for t in at.title] == ["Sign in"]
    assert signed_in_line(at) is None
    assert not any(may_open(at, page) for page in (*MONITORING, *REVIEW, "users"))
    assert at.text_input(key="sign_in_password").value == ""  # not kept in the session


def test_a_viewer_sees_the_five_monitoring_pages_and_nothing_else() -> None:
    at = sign_in(start(), "viewer")
    assert not at.exception
    assert not at.error
    assert signed_in_line(at) == "Signed in as viewer (viewer)"
    assert at.title[0].value == "Live"  # the home page, right after signing in
    assert all(may_open(at, page) for page in MONITORING)
    assert not any(may_open(at, page) for page in (*REVIEW, "users"))


def test_an_analyst_also_sees_review_and_audit() -> None:
    at = sign_in(start(), "analyst")
    assert signed_in_line(at) == "Signed in as analyst (analyst)"
    assert all(may_open(at, page) for page in (*MONITORING, *REVIEW))
    assert not may_open(at, "users")


def test_an_admin_adds_a_user_whose_password_is_shown_once(dashboard_users: UsersFile) -> None:
    at = sign_in(start(), "admin")
    assert all(may_open(at, page) for page in (*MONITORING, *REVIEW, "users"))
    at.switch_page("../pages/users.py").run()
    assert [t.value for t in at.title] == ["Users"]
    assert list(at.dataframe[0].value["name"]) == ["admin", "analyst", "viewer"]

    at.text_input(key="users_add_name").input("carol")
    at.selectbox(key="users_add_role").set_value("analyst")
    next(b for b in at.button if b.label == "Add user").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Added carol (analyst). Their password:"]
    password = at.code[0].value
    stored = dashboard_users.verify("carol", password)
    assert stored is not None
    assert stored.role == "analyst"
    assert "carol" in list(at.dataframe[0].value["name"])

    at.run()  # any next run: the password is gone from the page
    assert not at.code
    assert not at.success


def test_the_last_admin_cannot_be_demoted_or_removed(dashboard_users: UsersFile) -> None:
    at = sign_in(start(), "admin")
    at.switch_page("../pages/users.py").run()
    at.selectbox(key="users_role_name").set_value("admin")
    at.selectbox(key="users_role_role").set_value("viewer")
    next(b for b in at.button if b.label == "Change role").click().run()
    assert [e.value for e in at.error] == ["admin is the last admin: make another user admin first"]
    at.selectbox(key="users_remove_name").set_value("admin")
    at.checkbox(key="users_remove_sure").check()
    next(b for b in at.button if b.label == "Remove user").click().run()
    assert [e.value for e in at.error] == ["admin is the last admin: make another user admin first"]
    admin = dashboard_users.find("admin")
    assert admin is not None
    assert admin.role == "admin"


def test_a_role_change_or_a_removal_applies_at_the_next_click(
    dashboard_users: UsersFile,
) -> None:
    at = sign_in(start(), "viewer")
    assert not may_open(at, "review")
    dashboard_users.set_role("viewer", "analyst")
    at.run()
    assert signed_in_line(at) == "Signed in as viewer (analyst)"
    assert may_open(at, "review")
    dashboard_users.remove("viewer")
    at.run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert signed_in_line(at) is None


def test_signing_out_returns_to_the_sign_in_page() -> None:
    at = sign_in(start(), "analyst")
    at.sidebar.button(key="sign_out").click().run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert signed_in_line(at) is None
    assert not may_open(at, "flagged")


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> None:
    """An identity provider in the settings (never called: AppTest plays its signed-in user)."""
    monkeypatch.setenv("FRAUD_DASHBOARD_OIDC_CLIENT_ID", "dashboard")
    monkeypatch.setenv("FRAUD_DASHBOARD_OIDC_CLIENT_SECRET", "client-secret")
    monkeypatch.setenv(
        "FRAUD_DASHBOARD_OIDC_SERVER_METADATA_URL",
        "https://idp.example/.well-known/openid-configuration",
    )
    monkeypatch.setenv("FRAUD_DASHBOARD_OIDC_ROLES", "Alice@Example.com=analyst")


@pytest.mark.usefixtures("provider")
def test_the_sign_in_page_offers_the_provider_beside_the_form() -> None:
    at = start()
    assert [b.label for b in at.button] == ["Sign in", "Sign in with idp.example"]
    assert at.text_input(key="sign_in_name") is not None


@pytest.mark.usefixtures("provider")
def test_a_provider_user_gets_the_role_of_their_e_mail() -> None:
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.user = {"is_logged_in": True, "email": "alice@example.com", "email_verified": True}
    at.run()
    assert signed_in_line(at) == "Signed in as alice@example.com (analyst)"
    assert may_open(at, "review")
    assert not may_open(at, "users")


@pytest.mark.usefixtures("provider")
def test_an_unlisted_provider_user_is_turned_away_when_the_default_is_none(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FRAUD_DASHBOARD_OIDC_DEFAULT_ROLE", "none")
    at = AppTest.from_file(str(APP), default_timeout=60)
    at.user = {"is_logged_in": True, "email": "mallory@example.com", "email_verified": True}
    at.run()
    assert [e.value for e in at.error] == [
        "mallory@example.com has no role here: ask an admin to add it to "
        "FRAUD_DASHBOARD_OIDC_ROLES."
    ]
    assert signed_in_line(at) is None
    assert not may_open(at, "flagged")


@pytest.mark.parametrize(
    ("page", "role", "line"),
    [
        ("flagged", None, "Sign in to see this page."),
        (
            "users",
            "analyst",
            "This page is for the admin role and above; analyst is signed in as analyst.",
        ),
    ],
)
def test_a_page_run_on_its_own_still_asks_for_its_role(
    page: str, role: Role | None, line: str
) -> None:
    """As Streamlit would run a page script by its address if the app were not in the way."""
    at = AppTest.from_file(str(APP.parents[1] / "pages" / f"{page}.py"), default_timeout=60)
    if role is not None:
        at.session_state["identity"] = Identity(name=role, role=role, via="password")
    at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [line]
    assert not at.title  # stopped before the page drew anything
