"""Who is using this dashboard session, and what they may see.

A user signs in on the sign-in page: with a name and a password of the users file
(:mod:`~fraudstream.dashboard.users_file`), or, where an identity provider is configured,
through it with Streamlit's ``st.login`` (:mod:`~fraudstream.dashboard.oidc`). A password
sign-in lasts as long as the browser tab's Streamlit session (a reload asks again); a
provider's sign-in is a signed cookie that Streamlit keeps across reloads.

A password user's identity is checked against the users file on every run, so a user an admin
removed is signed out, and a changed role applies, at their next click.

``app.py`` lists only the pages of the user's role; each page that needs more than ``viewer``
also calls :func:`require` with the lowest role that may see it, so that a page is guarded
by itself and not only by the menu that leads to it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final, NoReturn

import streamlit as st

from fraudstream.dashboard import oidc, ui
from fraudstream.dashboard.roles import Identity, Role
from fraudstream.dashboard.users_file import UsersFile
from fraudstream.errors import ConfigError

__all__ = ["Identity", "Role", "identity", "require", "sidebar", "sign_in_page"]

SESSION_KEY: Final = "identity"
"""Where a password sign-in keeps the session's :class:`Identity`."""
WRONG: Final = "Wrong user name or password."
_NAME: Final = "sign_in_name"
_PASSWORD: Final = "sign_in_password"  # noqa: S105  (a widget key, no secret)
_PROBLEM: Final = "sign_in_problem"


def identity() -> Identity | None:
    """The signed-in user of this Streamlit session, or None."""
    signed_in = st.session_state.get(SESSION_KEY)
    if isinstance(signed_in, Identity):
        return _current(signed_in)
    provider = _provider()
    if provider is None or not st.user.get("is_logged_in"):
        return None
    return oidc.oidc_identity(st.user.to_dict(), ui.settings().dashboard)


def require(role: Role) -> Identity:
    """The signed-in user when their role is ``role`` or higher; else one line, and the page
    stops there."""
    who = identity()
    if who is None:
        _refuse("Sign in to see this page.")
    if not who.at_least(role):
        _refuse(
            f"This page is for the {role} role and above; {who.name} is signed in as {who.role}."
        )
    return who


def sidebar(who: Identity) -> None:
    """Who is signed in, and the way out."""
    st.sidebar.caption(f"Signed in as {who.name} ({who.role})")
    st.sidebar.button(
        "Sign out", key="sign_out", icon=":material/logout:", on_click=_sign_out, args=(who,)
    )


def sign_in_page() -> None:
    """The only page of a signed-out session: the password form, and the provider's button
    beside it when one is configured."""
    st.title("Sign in")
    provider = _provider()
    if provider is not None and st.user.get("is_logged_in"):
        # signed in by the provider, but FRAUD_DASHBOARD_OIDC_DEFAULT_ROLE=none turns them away
        st.error(
            f"{st.user.get('email') or 'This account'} has no role here: ask an admin to add it "
            "to FRAUD_DASHBOARD_OIDC_ROLES.",
            icon=":material/block:",
        )
        st.button("Sign out", on_click=st.logout)
        return
    if provider is None:
        _password_form()
        return
    form, beside = st.columns(2)
    with form:
        _password_form()
    with beside:
        st.button(
            f"Sign in with {provider.label}",
            icon=":material/login:",
            on_click=st.login,
            width="stretch",
        )


def _password_form() -> None:
    with st.form("sign_in"):
        st.text_input("User name", key=_NAME, autocomplete="username")
        st.text_input("Password", key=_PASSWORD, type="password", autocomplete="current-password")
        st.form_submit_button("Sign in", type="primary", on_click=_check_password)
    problem = st.session_state.pop(_PROBLEM, None)
    if problem:
        st.error(problem, icon=":material/error:")
    elif not _users().exists():
        st.info(
            "No dashboard users yet: `fraudstream users add NAME --role admin` creates one "
            "(`fraudstream dashboard` creates three on its first start).",
            icon=":material/person_add:",
        )


def _check_password() -> None:
    """The form's callback, run before the page: sign in, or leave one line to show."""
    name = str(st.session_state.get(_NAME, "")).strip()
    password = str(st.session_state.get(_PASSWORD, ""))
    st.session_state[_PASSWORD] = ""  # a password is never kept in the session
    try:
        user = _users().verify(name, password)
    except ConfigError as exc:
        st.session_state[_PROBLEM] = str(exc)
        return
    if user is None:
        st.session_state[_PROBLEM] = WRONG
        return
    st.session_state[SESSION_KEY] = Identity(name=user.name, role=user.role, via="password")


def _sign_out(who: Identity) -> None:
    if who.via == "oidc":
        st.logout()
    else:
        st.session_state.pop(SESSION_KEY, None)


def _current(signed_in: Identity) -> Identity | None:
    """A password identity as the users file has it now: gone when the user was removed."""
    if signed_in.via != "password":
        return signed_in
    try:
        stored = _users().find(signed_in.name)
    except ConfigError as exc:
        ui.fail(exc)
    if stored is None:
        st.session_state.pop(SESSION_KEY, None)
        return None
    if stored.role != signed_in.role:
        signed_in = replace(signed_in, role=stored.role)
        st.session_state[SESSION_KEY] = signed_in
    return signed_in


def _users() -> UsersFile:
    return UsersFile(ui.settings().dashboard.users_file)


def _provider() -> oidc.Provider | None:
    try:
        return oidc.provider(ui.settings().dashboard)
    except ConfigError as exc:
        ui.fail(exc)


def _refuse(line: str) -> NoReturn:
    st.error(line, icon=":material/lock:")
    st.stop()
