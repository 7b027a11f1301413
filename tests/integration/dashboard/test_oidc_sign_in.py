"""Signing in through an identity provider, end to end: a real OpenID Connect provider
(:mod:`fixtures.oidc_provider`), ``fraudstream dashboard`` as a process, a real headless Chromium.

The unit tests check the ``[auth]`` table the command writes and the role mapping, and AppTest
plays a signed-in ``st.user``; here nothing is played. The browser clicks "Sign in with
<provider>", Streamlit sends it to the provider's authorization page, the test fills that page's
form as a person would, the provider sends the browser back with a code, Streamlit exchanges
the code for a signed ID token (with the registered client's secret, at the registered
redirect address) and keeps the user in its cookie; the sidebar then says who is signed in, with
the role the dashboard gave their e-mail. Signing out goes through the provider's end-session
page and back.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from fixtures.browser import MAIN, SIDEBAR, Browser, Tab
from fixtures.oidc_provider import MockProvider, mock_provider
from fraudstream.local.process import ProcessSpec, free_port, running

BROWSERS = (os.environ.get("CHROMIUM") or "chromium", "chromium-browser")

pytestmark = [
    pytest.mark.integration,
    pytest.mark.slow,
    pytest.mark.skipif(
        not any(shutil.which(name) for name in BROWSERS),
        reason="Debian's chromium is not installed (scripts/system-deps.sh installs it)",
    ),
]

SIGN_IN_WITH = "Sign in with 127.0.0.1"
"""The provider's button: its label is the host of the metadata address."""


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/_stcore/health", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def dashboard(
    port: int, workdir: Path, reader_url: str, client: tuple[str, str], provider: MockProvider
) -> ProcessSpec:
    """``fraudstream dashboard`` on ``port`` with the provider's client and one listed e-mail."""
    url = f"http://127.0.0.1:{port}"
    client_id, client_secret = client
    return ProcessSpec(
        name="dashboard",
        argv=[sys.executable, "-m", "fraudstream", "dashboard", "--port", str(port)],
        log_file=workdir / "dashboard.log",
        probe=lambda: _healthy(url),
        address=url,
        env={
            "FRAUD_HOME": str(workdir / "home"),
            "FRAUD_DATABASE_READONLY_URL": reader_url,
            "FRAUD_MLFLOW_TRACKING_URI": f"sqlite:///{workdir / 'no-registry.db'}",
            "FRAUD_DASHBOARD_REFRESH_SECONDS": "0",  # no timer: a run ends, the page settles
            "FRAUD_DASHBOARD_USERS_FILE": str(workdir / "dashboard-users.toml"),
            "FRAUD_DASHBOARD_OIDC_CLIENT_ID": client_id,
            "FRAUD_DASHBOARD_OIDC_CLIENT_SECRET": client_secret,
            "FRAUD_DASHBOARD_OIDC_SERVER_METADATA_URL": provider.metadata_url,
            "FRAUD_DASHBOARD_OIDC_ROLES": "alice@example.com=analyst",
        },
        cwd=workdir,
        ready_timeout=90,
    )


def sign_in_through(tab: Tab, provider: MockProvider, dashboard_url: str, subject: str) -> None:
    """From the dashboard's sign-in page: the provider's button, its authorization form filled
    in as ``subject``, and back on the dashboard once its run has settled."""
    tab.press(SIGN_IN_WITH, within=MAIN)
    tab.wait_for_url(f"{provider.url}/oauth2/authorize?")
    tab.wait_for("!!document.querySelector('input[name=\"sub\"]')", "the provider's form")
    tab.fill('input[name="sub"]', subject)
    tab.press("Authorize")
    tab.wait_for_url(f"{dashboard_url}/")
    tab.settle(f"the dashboard after {subject} signed in at the provider")


def sign_out_through(tab: Tab, provider: MockProvider, dashboard_url: str) -> None:
    """The sidebar's "Sign out", the provider's end-session page, and back on the sign-in page."""
    tab.press("Sign out", within=SIDEBAR)
    tab.wait_for_url(f"{provider.url}/oauth2/end_session?")
    tab.press("End session")
    tab.wait_for_url(f"{dashboard_url}/")
    tab.settle("the dashboard after signing out at the provider")


def signed_in_line(tab: Tab) -> str | None:
    return next((line for line in tab.text().splitlines() if line.startswith("Signed in as")), None)


def title(tab: Tab) -> str:
    return str(tab.evaluate("document.querySelector('[data-testid=\"stMain\"] h1').innerText"))


def test_provider_users_sign_in_with_the_role_of_their_email(
    reader_url: str, tmp_path: Path
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with mock_provider() as provider:
        client = provider.register(f"{url}/oauth2callback")
        # alice's sub is no e-mail: the dashboard must name her by the email claim
        provider.add_user(
            "alice-7f3a", {"email": "alice@example.com", "email_verified": True, "name": "Alice"}
        )
        # someone whose provider says the same e-mail but has not verified it
        provider.add_user("mallory-02c1", {"email": "alice@example.com", "email_verified": False})
        with running(dashboard(port, tmp_path, reader_url, client, provider)) as app:
            # the client secret reached Streamlit through the private file, not its command line
            assert app.pid is not None
            assert client[1] not in " ".join(psutil.Process(app.pid).cmdline())
            secrets = tmp_path / "home" / "run" / f"dashboard-{port}-secrets.toml"
            assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
            assert client[1] in secrets.read_text()

            browser = Browser(tmp_path)
            try:
                with browser.tab() as tab:
                    tab.open(url)
                    assert title(tab) == "Sign in"
                    assert signed_in_line(tab) is None

                    sign_in_through(tab, provider, url, "alice-7f3a")
                    assert signed_in_line(tab) == "Signed in as alice@example.com (analyst)"
                    assert title(tab) == "Live"
                    assert "Review queue" in tab.menu()
                    assert "Users" not in tab.menu()
                    # a new browser session (a reload, a link) is still hers: Streamlit's cookie
                    tab.open(f"{url}/review")
                    assert title(tab) == "Review queue"
                    assert signed_in_line(tab) == "Signed in as alice@example.com (analyst)"

                    sign_out_through(tab, provider, url)
                    assert title(tab) == "Sign in"
                    assert signed_in_line(tab) is None
                    tab.open(url)  # the cookie is gone, not only this session's copy of it
                    assert title(tab) == "Sign in"

                    # a subject the provider did not know: its e-mail is the subject typed
                    sign_in_through(tab, provider, url, "bob@example.com")
                    assert signed_in_line(tab) == "Signed in as bob@example.com (viewer)"
                    assert "Live" in tab.menu()
                    assert "Review queue" not in tab.menu()
                    sign_out_through(tab, provider, url)

                    # alice's e-mail, unverified by the provider: the default role, not hers
                    sign_in_through(tab, provider, url, "mallory-02c1")
                    assert signed_in_line(tab) == "Signed in as alice@example.com (viewer)"
                    assert "Review queue" not in tab.menu()
            finally:
                browser.close()
