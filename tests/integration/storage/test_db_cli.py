"""``fraudstream db migrate`` and ``fraudstream db status`` against a real database."""

from __future__ import annotations

import pytest
import typer
from typer.testing import CliRunner

from fraudstream.errors import DatabaseUnavailable
from fraudstream.storage import cli

pytestmark = pytest.mark.integration


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    cli.register(app)
    return app


def test_migrate_then_status(app: typer.Typer, empty_database_url: str) -> None:
    runner = CliRunner()
    env = {"FRAUD_DATABASE_URL": empty_database_url}

    before = runner.invoke(app, ["db", "status"], env=env)
    assert before.exit_code == 0, before.output
    assert "pending" in before.output
    assert "fraudstream db migrate" in before.output

    first = runner.invoke(app, ["db", "migrate"], env=env)
    assert first.exit_code == 0, first.output
    assert "applied 0001_initial" in first.output

    again = runner.invoke(app, ["db", "migrate"], env=env)
    assert again.exit_code == 0, again.output
    assert "is up to date" in again.output

    after = runner.invoke(app, ["db", "status"], env=env, terminal_width=200)
    assert after.exit_code == 0, after.output
    assert "pending" not in after.output
    for table in ("scored_transactions", "labels", "schema_migrations"):
        assert table in after.output


def test_an_unreachable_database_is_one_error(app: typer.Typer) -> None:
    env = {"FRAUD_DATABASE_URL": "postgresql://app:hunter2@127.0.0.1:9/fraud"}
    result = CliRunner().invoke(app, ["db", "status"], env=env)
    assert isinstance(result.exception, DatabaseUnavailable)
    assert "hunter2" not in str(result.exception)
