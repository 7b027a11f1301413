"""The service's start hook (its process freezes its heap there): once, with the champion in."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from fixtures.inprocess import StaticSource, logistic_model, service_settings
from fraudstream.model_service.app import create_app

pytestmark = pytest.mark.unit


def test_started_is_called_once_after_the_champion_is_loaded() -> None:
    seen: list[bool] = []
    app = create_app(
        service_settings(),
        source=StaticSource(logistic_model()),
        started=lambda: seen.append(app.state.live.champion is not None),
    )
    assert seen == []
    with TestClient(app) as client:
        assert client.get("/readyz").status_code == 200
    assert seen == [True]
