"""Users (admins only): who signs in with a password, and with which role.

Every change is a form whose callback edits the users file before the page is drawn again, so
the list below, and the menu of a user whose role changed, show the file as it now is. A
generated password is shown once, on the run right after the change, and kept nowhere else:
the file holds its hash. The users file refuses to remove or demote the last admin.
Users of an identity provider are not listed: their roles come from FRAUD_DASHBOARD_OIDC_ROLES.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, NotRequired, TypedDict

import pandas as pd
import streamlit as st

from fraudstream.dashboard import auth, ui
from fraudstream.dashboard.roles import ROLES, Role
from fraudstream.dashboard.users_file import UsersFile, new_password
from fraudstream.errors import ConfigError

NOTICE = "users_notice"


class Notice(TypedDict):
    """What the last change did, for the next run to show once. A plain dict at run time: this
    script is executed afresh on every run, so a class of its own would be a new class each
    time, and a value kept from the last run would not be an instance of it."""

    kind: Literal["success", "error"]
    text: str
    password: NotRequired[str]


def main() -> None:
    auth.require("admin")
    st.title("Users")
    _show_notice()
    try:
        users = _store().users()
    except ConfigError as exc:
        ui.fail(exc)
    st.dataframe(
        pd.DataFrame([{"name": u.name, "role": u.role} for u in users], columns=["name", "role"]),
        hide_index=True,
    )
    names = [u.name for u in users]
    add, role, reset, remove = st.tabs(["Add", "Change role", "Reset password", "Remove"])
    with add, st.form("users_add"):
        st.text_input("User name", key="users_add_name", max_chars=64)
        st.selectbox("Role", ROLES, key="users_add_role")
        st.form_submit_button("Add user", on_click=_add, icon=":material/person_add:")
    with role, st.form("users_role"):
        st.selectbox("User", names, key="users_role_name")
        st.selectbox("New role", ROLES, key="users_role_role")
        st.form_submit_button("Change role", on_click=_set_role)
    with reset, st.form("users_reset"):
        st.selectbox("User", names, key="users_reset_name")
        st.form_submit_button("Reset password", on_click=_reset, icon=":material/key:")
    with remove, st.form("users_remove"):
        st.selectbox("User", names, key="users_remove_name")
        st.checkbox("Yes, remove this user", key="users_remove_sure")
        st.form_submit_button("Remove user", on_click=_remove, icon=":material/person_remove:")
    st.caption(
        f"{ui.settings().dashboard.users_file} (FRAUD_DASHBOARD_USERS_FILE) · users of an "
        "identity provider get their role from FRAUD_DASHBOARD_OIDC_ROLES"
    )


def _show_notice() -> None:
    notice: Notice | None = st.session_state.pop(NOTICE, None)
    if notice is None:
        return
    if notice["kind"] == "error":
        st.error(notice["text"], icon=":material/error:")
        return
    st.success(notice["text"], icon=":material/check:")
    if "password" in notice:
        st.code(notice["password"], language=None)
        st.caption("Shown this once (the file keeps only its hash): hand it over now.")


def _store() -> UsersFile:
    return UsersFile(ui.settings().dashboard.users_file)


def _apply(change: Callable[[UsersFile], None], done: Notice) -> None:
    """Make a change; the next run shows ``done``, or what stopped the change."""
    try:
        change(_store())
    except ConfigError as exc:
        st.session_state[NOTICE] = Notice(kind="error", text=str(exc))
        return
    st.session_state[NOTICE] = done


def _add() -> None:
    name = str(st.session_state.get("users_add_name", "")).strip()
    role: Role = st.session_state["users_add_role"]
    password = new_password()
    _apply(
        lambda store: store.add(name, role, password),
        Notice(kind="success", text=f"Added {name} ({role}). Their password:", password=password),
    )


def _set_role() -> None:
    name = st.session_state.get("users_role_name")
    role: Role = st.session_state["users_role_role"]
    if name is None:
        return
    _apply(
        lambda store: store.set_role(name, role),
        Notice(kind="success", text=f"{name} is now {role}."),
    )


def _reset() -> None:
    name = st.session_state.get("users_reset_name")
    if name is None:
        return
    password = new_password()
    _apply(
        lambda store: store.set_password(name, password),
        Notice(kind="success", text=f"New password of {name}:", password=password),
    )


def _remove() -> None:
    name = st.session_state.get("users_remove_name")
    if name is None:
        return
    if not st.session_state.get("users_remove_sure"):
        st.session_state[NOTICE] = Notice(kind="error", text=f"Tick the box to remove {name}.")
        return
    st.session_state["users_remove_sure"] = False
    _apply(lambda store: store.remove(name), Notice(kind="success", text=f"Removed {name}."))


main()
