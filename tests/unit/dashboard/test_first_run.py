"""The first start: three users with generated passwords, printed once on the starter's
terminal by ``fraudstream dashboard`` and by ``fraudstream up``, and never again."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fraudstream.config import load_settings
from fraudstream.dashboard import cli as dashboard_cli
from fraudstream.dashboard.first_run import first_run
from fraudstream.dashboard.users_file import UsersFile
from fraudstream.local import cli as local_cli
from fraudstream.local.process import free_port

pytestmark = pytest.mark.unit

PASSWORD_LINE = re.compile(r"^  (admin|analyst|viewer) +(\S+)   \((admin|analyst|viewer)\)$", re.M)


def printed_passwords(text: str) -> dict[str, str]:
    return {name: password for name, password, _ in PASSWORD_LINE.findall(text)}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FRAUD_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_the_first_start_creates_three_users_and_says_how_to_sign_in(home: Path) -> None:
    settings = load_settings().dashboard
    note = first_run(settings, "http://127.0.0.1:8501")
    assert note is not None
    assert "http://127.0.0.1:8501" in note
    assert str(settings.users_file) in note
    assert settings.users_file == (home / "dashboard-users.toml").resolve()
    passwords = printed_passwords(note)
    assert sorted(passwords) == ["admin", "analyst", "viewer"]
    store = UsersFile(settings.users_file)
    for name, password in passwords.items():
        user = store.verify(name, password)
        assert user is not None
        assert user.role == name
    assert stat.S_IMODE(settings.users_file.stat().st_mode) == 0o600
    assert first_run(settings, "http://127.0.0.1:8501") is None  # never a second time


def test_an_existing_users_file_prints_nothing(home: Path) -> None:
    settings = load_settings().dashboard
    UsersFile(settings.users_file).create([("admin", "admin", "a known password")])
    before = settings.users_file.read_text()
    assert first_run(settings, "http://127.0.0.1:8501") is None
    assert settings.users_file.read_text() == before


def _dashboard(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[str, list[str]]:
    """``fraudstream dashboard`` up to the exec of Streamlit: what it printed, what it ran."""
    ran: list[str] = []

    def execv(_path: str, argv: list[str]) -> None:
        ran.extend(argv)

    monkeypatch.setattr(os, "execv", execv)
    app = typer.Typer()
    dashboard_cli.register(app)
    app.command("unused")(lambda: None)  # two commands: typer keeps "dashboard" a sub-command
    result = CliRunner().invoke(app, ["dashboard", *args])
    assert result.exit_code == 0, result.output
    return result.stderr, ran


@pytest.mark.usefixtures("home")
def test_the_dashboard_command_prints_the_new_passwords_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port = free_port()
    first, argv = _dashboard(monkeypatch, "--port", str(port))
    assert f"dashboard on http://127.0.0.1:{port}" in first
    passwords = printed_passwords(first)
    assert sorted(passwords) == ["admin", "analyst", "viewer"]
    store = UsersFile(load_settings().dashboard.users_file)
    assert all(store.verify(name, password) for name, password in passwords.items())
    assert argv[1:4] == ["-m", "streamlit", "run"]
    assert argv[4].endswith(os.path.join("dashboard", "entry", "main.py"))
    assert not any(a.startswith("--secrets.files") for a in argv)

    second, _ = _dashboard(monkeypatch, "--port", str(port))
    assert printed_passwords(second) == {}
    assert not any(password in second for password in passwords.values())


def test_the_dashboard_command_hands_streamlit_a_file_not_a_secret(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FRAUD_DASHBOARD_OIDC_CLIENT_ID", "fraud-dashboard")
    monkeypatch.setenv("FRAUD_DASHBOARD_OIDC_CLIENT_SECRET", "client-s3cret")
    monkeypatch.setenv(
        "FRAUD_DASHBOARD_OIDC_SERVER_METADATA_URL",
        "https://login.example.com/.well-known/openid-configuration",
    )
    port = free_port()
    printed, argv = _dashboard(monkeypatch, "--port", str(port))
    secrets = [a.removeprefix("--secrets.files=") for a in argv if a.startswith("--secrets.")]
    assert secrets == [str(home.resolve() / "run" / f"dashboard-{port}-secrets.toml")]
    text = Path(secrets[0]).read_text()
    assert 'client_secret = "client-s3cret"' in text
    assert f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"' in text  # the given port
    assert not any("client-s3cret" in a for a in argv)
    assert "client-s3cret" not in printed


def test_up_prints_the_new_passwords_on_its_own_console_before_starting(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[str] = []

    class Supervisor:
        """Stands for the stack: records that it was started, starts nothing."""

        def __init__(self, *_: object) -> None:
            started.append(
                "users file existed"
                if (home / "dashboard-users.toml").exists()
                else "no users file yet"
            )

        def run(self, ready: object = None) -> None:
            del ready

    import fraudstream.local.stack
    from fraudstream import logs

    monkeypatch.setattr(fraudstream.local.stack, "Supervisor", Supervisor)
    monkeypatch.setattr(logs, "configure", lambda _level: None)
    app = typer.Typer()
    local_cli.register(app)
    result = CliRunner().invoke(app, ["up"])
    assert result.exit_code == 0, result.output
    assert started == ["users file existed"]  # made before the dashboard could start
    passwords = printed_passwords(result.stdout)
    assert sorted(passwords) == ["admin", "analyst", "viewer"]
    assert "http://127.0.0.1:8501" in result.stdout
    store = UsersFile(home.resolve() / "dashboard-users.toml")
    assert all(store.verify(name, password) for name, password in passwords.items())
