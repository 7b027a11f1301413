"""Sign-in through an identity provider (OpenID Connect), by Streamlit's own ``st.login``.

Streamlit reads its provider from the ``[auth]`` table of a secrets file. ``fraudstream
dashboard`` renders that table from the ``FRAUD_DASHBOARD_OIDC_*`` settings into a private file
(0600, in ``<home>/run``, a 0700 folder) and passes its path with ``--secrets.files``: no secret
is on a command line (which ``ps`` shows every user of the machine) or in the repository. The
cookie that keeps a user signed in is signed with ``FRAUD_DASHBOARD_OIDC_COOKIE_SECRET``, or
with a secret generated once and kept in ``<home>/dashboard-cookie-secret``, so a restart does
not sign everybody out.

The provider says who a user is; the dashboard decides what they may do: the role of their
e-mail in ``FRAUD_DASHBOARD_OIDC_ROLES``, else ``FRAUD_DASHBOARD_OIDC_DEFAULT_ROLE``. An
e-mail the provider itself marks unverified gets the default role, never a listed one.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import SecretStr

from fraudstream.config import DashboardSettings
from fraudstream.dashboard.private_files import locked, private_dir, write_private
from fraudstream.dashboard.roles import Identity
from fraudstream.errors import ConfigError

REQUIRED = ("oidc_client_id", "oidc_client_secret", "oidc_server_metadata_url")
"""The settings that together configure a provider: all three, or none."""


@dataclass(frozen=True)
class Provider:
    """The identity provider of the dashboard, as the settings configure it."""

    client_id: str
    client_secret: SecretStr
    server_metadata_url: str
    redirect_uri: str

    @property
    def label(self) -> str:
        """How the sign-in button names it: the host of its metadata address."""
        return urlsplit(self.server_metadata_url).hostname or self.server_metadata_url


def provider(settings: DashboardSettings) -> Provider | None:
    """The configured provider; None when none is; ConfigError when one is half-configured."""
    client_id = settings.oidc_client_id
    client_secret = settings.oidc_client_secret
    metadata = settings.oidc_server_metadata_url
    if not (client_id or client_secret or metadata):
        return None
    if not (client_id and client_secret and metadata):
        given = (client_id, client_secret, metadata)
        names = ", ".join(
            f"FRAUD_DASHBOARD_{name.upper()}"
            for name, value in zip(REQUIRED, given, strict=True)
            if not value
        )
        raise ConfigError(f"sign-in through an identity provider also needs {names}")
    return Provider(
        client_id=client_id,
        client_secret=client_secret,
        server_metadata_url=metadata,
        redirect_uri=settings.oidc_redirect_uri,
    )


def cookie_secret(settings: DashboardSettings) -> SecretStr:
    """The secret that signs the sign-in cookie: the configured one, else the one kept in
    ``<home>/dashboard-cookie-secret`` (generated on first use)."""
    if settings.oidc_cookie_secret is not None:
        return settings.oidc_cookie_secret
    path = settings.home / "dashboard-cookie-secret"
    with locked(path):
        try:
            kept = path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            kept = ""
        except OSError as exc:
            raise ConfigError(f"cannot read {path}: {exc.strerror}") from None
        if not kept:
            kept = secrets.token_urlsafe(32)
            write_private(path, kept + "\n")
    return SecretStr(kept)


def secrets_toml(chosen: Provider, cookie: SecretStr) -> str:
    """Streamlit's ``[auth]`` table for one unnamed provider (``st.login()`` with no name)."""
    values = {
        "redirect_uri": chosen.redirect_uri,
        "cookie_secret": cookie.get_secret_value(),
        "client_id": chosen.client_id,
        "client_secret": chosen.client_secret.get_secret_value(),
        "server_metadata_url": chosen.server_metadata_url,
    }
    # json.dumps writes an ASCII string with escapes: a valid TOML basic string
    return "[auth]\n" + "".join(f"{key} = {json.dumps(value)}\n" for key, value in values.items())


def write_secrets(settings: DashboardSettings, port: int) -> Path | None:
    """The private secrets file of the dashboard on ``port``; None when no provider is set."""
    chosen = provider(settings)
    if chosen is None:
        return None
    path = private_dir(settings.home / "run") / f"dashboard-{port}-secrets.toml"
    write_private(path, secrets_toml(chosen, cookie_secret(settings)))
    return path


def oidc_identity(user: Mapping[str, object], settings: DashboardSettings) -> Identity | None:
    """The identity of a user the provider signed in (the claims of ``st.user``); None when
    the default role is ``none`` and their e-mail is not listed, or no claim names them."""
    email = str(user.get("email") or "").strip().lower()
    name = email or str(user.get("sub") or "")
    if not name:
        return None
    listed = settings.oidc_roles.get(email) if user.get("email_verified") is not False else None
    role = listed or settings.oidc_default_role
    if role == "none":
        return None
    return Identity(name=name, role=role, via="oidc")
