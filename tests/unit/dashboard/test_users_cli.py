"""``fraudstream users``: list, add, role, reset, remove, on the file the dashboard reads."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner, Result

from fraudstream.dashboard import users_cli
from fraudstream.dashboard.users_file import UsersFile
from fraudstream.errors import ConfigError

pytestmark = pytest.mark.unit

SHOWN = re.compile(r"password of (\S+) \(shown this once\): (\S+)")


@pytest.fixture
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> UsersFile:
    path = tmp_path / "users.toml"
    monkeypatch.setenv("FRAUD_DASHBOARD_USERS_FILE", str(path))
    users = UsersFile(path)
    users.create([("root", "admin", "the admin password")])
    return users


def users(*args: str, stdin: str | None = None) -> Result:
    app = typer.Typer()
    users_cli.register(app)
    return CliRunner().invoke(app, ["users", *args], input=stdin)


def test_list_shows_names_and_roles_never_hashes(store: UsersFile) -> None:
    done = users("list")
    assert done.exit_code == 0, done.output
    assert re.search(r"root\s+│\s+admin", done.stdout)
    assert "argon2" not in done.stdout
    assert str(store.path) in done.stdout


def test_add_prints_a_generated_password_once(store: UsersFile) -> None:
    done = users("add", "carol", "--role", "analyst")
    assert done.exit_code == 0, done.output
    shown = SHOWN.findall(done.stdout)
    assert len(shown) == 1
    name, password = shown[0]
    assert name == "carol"
    user = store.verify("carol", password)
    assert user is not None
    assert user.role == "analyst"


def test_add_takes_a_chosen_password_from_stdin_and_prints_none(store: UsersFile) -> None:
    done = users("add", "dave", "--role", "viewer", "--password-stdin", stdin="a chosen password\n")
    assert done.exit_code == 0, done.output
    assert "a chosen password" not in done.stdout
    assert not SHOWN.search(done.stdout)
    assert store.verify("dave", "a chosen password") is not None


def test_a_role_outside_the_three_is_refused(store: UsersFile) -> None:
    done = users("add", "eve", "--role", "root")
    assert done.exit_code == 2
    assert store.find("eve") is None


def test_role_reset_and_remove(store: UsersFile) -> None:
    users("add", "carol", "--role", "viewer")
    assert users("role", "carol", "admin").exit_code == 0
    carol = store.find("carol")
    assert carol is not None
    assert carol.role == "admin"

    done = users("reset", "carol")
    assert done.exit_code == 0, done.output
    (name, password), *_ = SHOWN.findall(done.stdout)
    assert name == "carol"
    assert store.verify("carol", password) is not None

    assert users("remove", "carol").exit_code == 0
    assert store.find("carol") is None


def test_the_last_admin_stays_an_admin(store: UsersFile) -> None:
    done = users("role", "root", "viewer")
    assert isinstance(done.exception, ConfigError)  # `fraudstream` prints it as one line
    assert "root is the last admin" in str(done.exception)
    done = users("remove", "root")
    assert isinstance(done.exception, ConfigError)
    root = store.find("root")
    assert root is not None
    assert root.role == "admin"


def test_a_short_chosen_password_is_refused(store: UsersFile) -> None:
    done = users("reset", "root", "--password-stdin", stdin="short\n")
    assert isinstance(done.exception, ConfigError)
    assert "12 characters" in str(done.exception)
    assert store.verify("root", "the admin password") is not None
