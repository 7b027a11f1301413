"""``fraudstream users``: the dashboard's password users, from the terminal.

The same file and the same rules as the dashboard's Users page (the last admin stays an admin),
for the first admin of a home, a forgotten admin password, or a script. A generated password is
printed once, to this terminal; ``--password-stdin`` takes one from a pipe instead, so that a
chosen password is never an argument (which ``ps`` and the shell's history would show).
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from fraudstream.config import load_settings
from fraudstream.dashboard.roles import Role
from fraudstream.dashboard.users_file import UsersFile, new_password

console = Console(highlight=False)

FromStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="Read the password from standard input (12+ chars)."),
]
Name = Annotated[str, typer.Argument(help="An existing user.")]


def register(app: typer.Typer) -> None:
    users = typer.Typer(
        help="Users of the dashboard who sign in with a password.", no_args_is_help=True
    )
    users.command("list")(list_users)
    users.command("add")(add)
    users.command("role")(role)
    users.command("reset")(reset)
    users.command("remove")(remove)
    app.add_typer(users, name="users")


def _store() -> UsersFile:
    return UsersFile(load_settings().dashboard.users_file)


def _password(from_stdin: bool) -> tuple[str, bool]:
    """The password to set, and whether it was generated here (and so is to be printed)."""
    if from_stdin:
        return sys.stdin.read().removesuffix("\n").removesuffix("\r"), False
    return new_password(), True


def _print_once(name: str, password: str) -> None:
    console.print(f"password of {name} (shown this once): {password}", markup=False)


def list_users() -> None:
    """List the users and their roles (never a hash)."""
    store = _store()
    users = store.users()
    if not users:
        console.print(f"no users in {store.path}", markup=False)
        return
    console.print(str(store.path), markup=False)
    table = Table()
    table.add_column("name")
    table.add_column("role")
    for user in users:
        table.add_row(user.name, user.role)
    console.print(table)


def add(
    name: Annotated[str, typer.Argument(help="Letters, digits and . _ @ + - (e-mails fit).")],
    role: Annotated[Role, typer.Option("--role", help="viewer, analyst or admin.")],
    password_stdin: FromStdin = False,
) -> None:
    """Add a user; prints a generated password once, unless --password-stdin gives one."""
    password, generated = _password(password_stdin)
    store = _store()
    store.add(name, role, password)
    console.print(f"added {name} ({role}) to {store.path}", markup=False)
    if generated:
        _print_once(name, password)


def role(
    name: Name,
    new_role: Annotated[Role, typer.Argument(metavar="ROLE", help="viewer, analyst or admin.")],
) -> None:
    """Change a user's role (the last admin stays an admin)."""
    _store().set_role(name, new_role)
    console.print(f"{name} is now {new_role}", markup=False)


def reset(
    name: Name,
    password_stdin: FromStdin = False,
) -> None:
    """Give a user a new password; prints a generated one once, unless --password-stdin."""
    password, generated = _password(password_stdin)
    _store().set_password(name, password)
    console.print(f"new password set for {name}", markup=False)
    if generated:
        _print_once(name, password)


def remove(name: Name) -> None:
    """Remove a user (never the last admin)."""
    _store().remove(name)
    console.print(f"removed {name}", markup=False)
