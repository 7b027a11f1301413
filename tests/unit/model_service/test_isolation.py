"""The service never answers 500 because of one item: the fast tier, ``create_app`` in process.

Each test serves the product's own logistic model with hand-written weights; the poison is a
transaction that model cannot score (its score comes out NaN), the model bug in miniature.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fixtures.inprocess import (
    StaticSource,
    broken_model,
    fails_on_amount,
    logistic_model,
    service_settings,
)
from fixtures.records import GOOD
from fraudstream.artifact import ScoringModel
from fraudstream.model_service.app import create_app

pytestmark = pytest.mark.unit

ROW = {k: v for k, v in GOOD.items() if k != "is_fraud"}


def batch(n: int, poison: set[int] = frozenset()) -> list[dict[str, Any]]:  # type: ignore[assignment]
    return [
        {**ROW, "trans_num": f"t{i:04d}", "amt": 0.0 if i in poison else 10.0 + i} for i in range(n)
    ]


@pytest.fixture
def serve() -> Iterator[Any]:
    clients: list[TestClient] = []

    def start(model: ScoringModel) -> TestClient:
        app = create_app(service_settings(), source=StaticSource(model))
        client = TestClient(app, raise_server_exceptions=False)
        client.__enter__()  # runs the lifespan: the champion is loaded
        clients.append(client)
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


def test_a_batch_without_poison_is_scored(serve: Any) -> None:
    client = serve(fails_on_amount(0.0))
    answer = client.post("/predict", json=batch(20))
    assert answer.status_code == 200
    assert [v["trans_num"] for v in answer.json()] == [f"t{i:04d}" for i in range(20)]


@pytest.mark.parametrize("poison", [{0}, {7}, {19}, {3, 11, 12}])
def test_items_that_cannot_be_scored_are_named_in_a_422(serve: Any, poison: set[int]) -> None:
    client = serve(fails_on_amount(0.0))
    answer = client.post("/predict", json=batch(20, poison))
    assert answer.status_code == 422
    body = answer.json()
    assert {e["index"] for e in body["errors"]} == poison
    assert {e["field"] for e in body["errors"]} == {"transaction"}
    assert all("cannot be scored" in e["problem"] for e in body["errors"])
    assert "none scored" in body["detail"]
    # the rest, sent again, is scored: what the stream does after dead-lettering the named ones
    rest = [r for i, r in enumerate(batch(20, poison)) if i not in poison]
    assert client.post("/predict", json=rest).status_code == 200


def test_a_batch_of_nothing_but_poison_is_still_a_422(serve: Any) -> None:
    client = serve(fails_on_amount(0.0))
    answer = client.post("/predict", json=batch(1, {0}))
    assert answer.status_code == 422
    assert [e["index"] for e in answer.json()["errors"]] == [0]


def test_a_model_that_cannot_score_a_known_good_transaction_is_a_500(serve: Any) -> None:
    client = serve(broken_model())
    answer = client.post("/predict", json=batch(5))
    assert answer.status_code == 500
    assert answer.json() == {"detail": "the model cannot score; see the log", "errors": []}


def test_bad_utf8_is_a_400_not_a_500(serve: Any) -> None:
    client = serve(logistic_model())
    answer = client.post(
        "/predict", content=b'[{"merchant": "\xff"}]', headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400


def test_every_answer_is_counted_by_route_and_status(serve: Any) -> None:
    from prometheus_client import REGISTRY

    def count(status: str) -> float:
        value = REGISTRY.get_sample_value(
            "fraudstream_service_requests_total", {"route": "/predict", "status": status}
        )
        return value or 0.0

    client = serve(fails_on_amount(0.0))
    before = {s: count(s) for s in ("200", "422")}
    client.post("/predict", json=batch(3))
    client.post("/predict", json=batch(3, {1}))
    client.post("/predict", json=batch(3, {1}))
    assert count("200") - before["200"] == 1
    assert count("422") - before["422"] == 2
