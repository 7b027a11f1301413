"""Which PostgreSQL the settings choose: the local server unless FRAUD_DATABASE_URL says."""

from __future__ import annotations

import pytest

from fraudstream.config import Settings

pytestmark = pytest.mark.unit


def test_default_is_the_local_server_on_the_local_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_POSTGRES_PORT", "5544")
    settings = Settings(_env_file=None)
    assert settings.database.is_local
    assert settings.database.url.get_secret_value() == (
        "postgresql://fraudstream@127.0.0.1:5544/fraudstream"
    )
    assert settings.database.reader_url.get_secret_value() == (
        "postgresql://fraudstream_reader@127.0.0.1:5544/fraudstream"
    )


def test_a_database_url_switches_to_that_server(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_DATABASE_URL", "postgresql://app:pw@db.example:5432/fraud")
    settings = Settings(_env_file=None)
    assert not settings.database.is_local
    assert settings.database.safe_url == "postgresql://app:***@db.example:5432/fraud"
    assert settings.database.reader_url == settings.database.url
    assert "pw@" not in repr(settings)


def test_an_explicit_reader_url_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FRAUD_DATABASE_READONLY_URL", "postgresql://viewer@db.example/fraud")
    settings = Settings(_env_file=None)
    assert settings.database.reader_url.get_secret_value() == "postgresql://viewer@db.example/fraud"
