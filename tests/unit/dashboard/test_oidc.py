"""Sign-in through an identity provider: the settings, Streamlit's secrets, the roles.

No identity provider runs here: these tests check what the dashboard gives Streamlit and what
it makes of the claims Streamlit hands back, not the OpenID Connect exchange itself.
"""

from __future__ import annotations

import stat
import tomllib
from pathlib import Path

import pytest
from pydantic import SecretStr

from fraudstream.config import DashboardSettings, Settings
from fraudstream.dashboard.oidc import (
    Provider,
    cookie_secret,
    oidc_identity,
    provider,
    secrets_toml,
    write_secrets,
)
from fraudstream.dashboard.roles import ROLES, Identity
from fraudstream.errors import ConfigError

pytestmark = pytest.mark.unit

METADATA = "https://login.example.com/.well-known/openid-configuration"


def dashboard(**overrides: object) -> DashboardSettings:
    return Settings(_env_file=None, **overrides).dashboard


def configured(tmp_path: Path, **overrides: object) -> DashboardSettings:
    return dashboard(
        home=tmp_path,
        dashboard_oidc_client_id="fraud-dashboard",
        dashboard_oidc_client_secret='s3cret "quoted" \\ and ünïcode',
        dashboard_oidc_server_metadata_url=METADATA,
        **overrides,
    )


def test_no_provider_unless_configured_and_a_half_configured_one_is_named(
    tmp_path: Path,
) -> None:
    assert provider(dashboard(home=tmp_path)) is None
    half = dashboard(dashboard_oidc_client_id="fraud-dashboard")
    with pytest.raises(ConfigError) as caught:
        provider(half)
    message = str(caught.value)
    assert "FRAUD_DASHBOARD_OIDC_CLIENT_SECRET" in message
    assert "FRAUD_DASHBOARD_OIDC_SERVER_METADATA_URL" in message
    assert "FRAUD_DASHBOARD_OIDC_CLIENT_ID" not in message


def test_the_provider_is_named_by_its_host_and_redirects_to_the_dashboard(
    tmp_path: Path,
) -> None:
    chosen = provider(configured(tmp_path, dashboard_host="10.0.0.5", dashboard_port=8600))
    assert chosen is not None
    assert chosen.label == "login.example.com"
    assert chosen.redirect_uri == "http://10.0.0.5:8600/oauth2callback"
    given = provider(
        configured(tmp_path, dashboard_oidc_redirect_uri="https://fraud.example/oauth2callback")
    )
    assert given is not None
    assert given.redirect_uri == "https://fraud.example/oauth2callback"


def test_a_redirect_address_streamlit_would_refuse_is_a_setting_error() -> None:
    with pytest.raises(ConfigError, match="FRAUD_DASHBOARD_OIDC_REDIRECT_URI"):
        dashboard(dashboard_oidc_redirect_uri="https://fraud.example/callback")


def test_the_secrets_are_streamlit_s_auth_table_whatever_their_characters() -> None:
    chosen = Provider(
        client_id="fraud-dashboard",
        client_secret=SecretStr('a "quoted" \\ secret ünïcode\n'),
        server_metadata_url=METADATA,
        redirect_uri="http://127.0.0.1:8501/oauth2callback",
    )
    parsed = tomllib.loads(secrets_toml(chosen, SecretStr("cookie-secret")))
    assert parsed == {
        "auth": {
            "redirect_uri": "http://127.0.0.1:8501/oauth2callback",
            "cookie_secret": "cookie-secret",
            "client_id": "fraud-dashboard",
            "client_secret": 'a "quoted" \\ secret ünïcode\n',
            "server_metadata_url": METADATA,
        }
    }


def test_the_secrets_file_is_private_and_only_written_with_a_provider(tmp_path: Path) -> None:
    assert write_secrets(dashboard(home=tmp_path), 8501) is None
    assert not (tmp_path / "run").exists()
    settings = configured(tmp_path)
    path = write_secrets(settings, 8501)
    assert path is not None
    assert path.parent == tmp_path / "run"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    auth = tomllib.loads(path.read_text())["auth"]
    assert auth["client_secret"] == 's3cret "quoted" \\ and ünïcode'
    assert auth["cookie_secret"] == cookie_secret(settings).get_secret_value()


def test_the_cookie_secret_is_the_configured_one_or_one_kept_in_home(tmp_path: Path) -> None:
    given = dashboard(home=tmp_path, dashboard_oidc_cookie_secret="given-cookie-secret")
    assert cookie_secret(given).get_secret_value() == "given-cookie-secret"
    assert not (tmp_path / "dashboard-cookie-secret").exists()
    kept = dashboard(home=tmp_path)
    first = cookie_secret(kept).get_secret_value()
    assert len(first) >= 32
    assert cookie_secret(kept).get_secret_value() == first  # a restart keeps users signed in
    path = tmp_path / "dashboard-cookie-secret"
    assert path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_roles_come_from_the_verified_e_mail_else_the_default(tmp_path: Path) -> None:
    settings = configured(
        tmp_path, dashboard_oidc_roles="Alice@Example.com=analyst, bob@example.com=admin"
    )
    assert settings.oidc_roles == {"alice@example.com": "analyst", "bob@example.com": "admin"}
    alice = {"email": "ALICE@example.com", "email_verified": True, "sub": "1"}
    assert oidc_identity(alice, settings) == Identity("alice@example.com", "analyst", "oidc")
    assert oidc_identity({"email": "bob@example.com"}, settings) == Identity(
        "bob@example.com", "admin", "oidc"
    )
    carol = {"email": "carol@example.com", "email_verified": True}
    assert oidc_identity(carol, settings) == Identity("carol@example.com", "viewer", "oidc")
    # an e-mail the provider did not verify never gets a listed role
    forged = {"email": "bob@example.com", "email_verified": False}
    assert oidc_identity(forged, settings) == Identity("bob@example.com", "viewer", "oidc")
    assert oidc_identity({"sub": "user-42"}, settings) == Identity("user-42", "viewer", "oidc")
    assert oidc_identity({}, settings) is None


def test_a_default_role_of_none_turns_unlisted_users_away(tmp_path: Path) -> None:
    settings = configured(
        tmp_path,
        dashboard_oidc_roles="alice@example.com=analyst",
        dashboard_oidc_default_role="none",
    )
    assert oidc_identity({"email": "alice@example.com"}, settings) == Identity(
        "alice@example.com", "analyst", "oidc"
    )
    assert oidc_identity({"email": "mallory@example.com"}, settings) is None


@pytest.mark.parametrize(
    ("value", "problem"), [("alice@example.com", "not e-mail=role"), ("a@b.c=boss", "'viewer'")]
)
def test_a_malformed_role_list_names_its_variable(value: str, problem: str) -> None:
    with pytest.raises(ConfigError, match="FRAUD_DASHBOARD_OIDC_ROLES") as caught:
        dashboard(dashboard_oidc_roles=value)
    assert problem in str(caught.value)


def test_each_role_may_do_what_the_ones_below_it_may() -> None:
    assert ROLES == ("viewer", "analyst", "admin")
    viewer, analyst, admin = (Identity(role, role, "password") for role in ROLES)
    assert (viewer.may_review, analyst.may_review, admin.may_review) == (False, True, True)
    assert (viewer.is_admin, analyst.is_admin, admin.is_admin) == (False, False, True)
    assert admin.at_least("analyst")
    assert analyst.at_least("viewer")
    assert not analyst.at_least("admin")
    assert not viewer.at_least("analyst")
