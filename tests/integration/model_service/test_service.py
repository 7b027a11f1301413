"""The model service as a user runs it: a real uvicorn, a real MLflow store, real HTTP."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from fixtures.models import ServiceProcess, break_manifest, registry_settings_for
from fixtures.records import GOOD
from fraudstream.config import Settings
from fraudstream.registry import Registry

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ROW = {k: v for k, v in GOOD.items() if k != "is_fraud"}


def rows(n: int) -> list[dict[str, Any]]:
    return [{**ROW, "trans_num": f"{i:032x}", "amt": 1.0 + i % 900} for i in range(n)]


def with_fields(settings: Settings, **fields: object) -> Settings:
    return registry_settings_for(settings.home, **fields)


def test_predict_answers_each_transaction_in_order(
    registered: Settings, serve: Callable[[Settings], ServiceProcess]
) -> None:
    service = serve(registered)
    service.wait()
    batch = rows(50)
    answer = httpx.post(service.url + "/predict?reasons=all", json=batch, timeout=10)
    assert answer.status_code == 200
    verdicts = answer.json()
    assert [v["trans_num"] for v in verdicts] == [r["trans_num"] for r in batch]
    for v in verdicts:
        assert v["is_fraud"] == int(v["score"] >= v["threshold"])
        assert 0 <= v["score"] <= 1
        assert (v["model_name"], v["model_version"]) == ("fraudstream", "1")
        assert len(v["reasons"]) == 3
    plain = httpx.post(service.url + "/predict/labels", json=batch, timeout=10)
    assert plain.json() == [v["is_fraud"] for v in verdicts]
    # a night-time, far-from-home, large online purchase scores above a small daytime one
    night = {
        **ROW,
        "trans_num": "n" * 32,
        "trans_date_trans_time": "2019-01-01 23:30:00",
        "category": "shopping_net",
        "amt": 1077.0,
    }
    day = {
        **ROW,
        "trans_num": "d" * 32,
        "trans_date_trans_time": "2019-01-01 13:30:00",
        "category": "grocery_pos",
        "amt": 12.5,
    }
    night_v, day_v = httpx.post(service.url + "/predict", json=[night, day], timeout=10).json()
    assert night_v["score"] > day_v["score"]


def test_every_bad_input_gets_its_status_and_a_clean_message(
    registered: Settings, serve: Callable[[Settings], ServiceProcess]
) -> None:
    settings = with_fields(registered, service_max_batch=20, service_max_body_bytes=20_000)
    service = serve(settings)
    service.wait()
    post = lambda body, **kw: httpx.post(service.url + "/predict", timeout=10, **kw)  # noqa: E731

    bad = rows(3)
    bad[1] = {**bad[1], "amt": -5}
    bad[2] = {**bad[2], "lat": 123, "dob": "yesterday"}
    answer = post(None, json=bad)
    assert answer.status_code == 422
    body = answer.json()
    assert {(e["index"], e["field"]) for e in body["errors"]} == {
        (1, "amt"),
        (2, "lat"),
        (2, "dob"),
    }
    assert "none scored" in body["detail"]

    assert post(None, json=[]).status_code == 422
    assert post(None, json=rows(21)).status_code == 413
    assert post(None, content=b"x" * 30_000).status_code == 413
    not_json = post(None, content=b'[{"amt": ', headers={"Content-Type": "application/json"})
    assert not_json.status_code == 400
    assert post(None, json={"amt": 1}).status_code == 422
    for answer in (not_json, post(None, json=bad)):
        assert "Traceback" not in answer.text
        assert "/work" not in answer.text
        assert "site-packages" not in answer.text


def test_api_key_is_enforced_and_never_logged(
    registered: Settings, serve: Callable[[Settings], ServiceProcess]
) -> None:
    key = "s3cr3t-key-for-test"
    service = serve(with_fields(registered, api_key=key))
    service.wait()
    assert httpx.post(service.url + "/predict", json=rows(1)).status_code == 401
    wrong = httpx.post(service.url + "/predict", json=rows(1), headers={"X-API-Key": "nope"})
    assert wrong.status_code == 401
    good = httpx.post(service.url + "/predict", json=rows(1), headers={"X-API-Key": key})
    assert good.status_code == 200
    assert httpx.get(service.url + "/healthz").status_code == 200  # probes stay open
    service.stop()
    assert key not in service.log_file.read_text()


def test_alias_move_under_load_fails_no_request_and_changes_the_version(
    registered: Settings, serve: Callable[[Settings], ServiceProcess]
) -> None:
    service = serve(with_fields(registered, service_poll_seconds=0.3))
    service.wait()
    versions: Counter[str] = Counter()
    failures: list[str] = []
    stop = threading.Event()

    def load() -> None:
        with httpx.Client(base_url=service.url, timeout=10) as client:
            while not stop.is_set():
                answer = client.post("/predict", json=rows(200))
                if answer.status_code != 200:
                    failures.append(f"{answer.status_code} {answer.text[:200]}")
                    continue
                versions.update(v["model_version"] for v in answer.json())

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(2)
    Registry(registered.registry).set_alias("champion", "2")
    deadline = time.monotonic() + 30
    while versions["2"] < 2000 and time.monotonic() < deadline:
        time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    assert failures == []
    assert versions["1"] > 0
    assert versions["2"] >= 2000
    info = httpx.get(service.url + "/model").json()
    assert info["champion"]["model_version"] == "2"
    assert info["swaps"] == 1


def test_incompatible_model_is_refused_and_the_old_one_keeps_serving(
    registered: Settings, serve: Callable[[Settings], ServiceProcess]
) -> None:
    service = serve(with_fields(registered, service_poll_seconds=0.3))
    service.wait()
    break_manifest(registered, "2", feature_version="999", libraries={"xgboost": "99.0.0"})
    Registry(registered.registry).set_alias("champion", "2")
    deadline = time.monotonic() + 20
    info: dict[str, Any] = {}
    while time.monotonic() < deadline:
        info = httpx.get(service.url + "/model").json()
        if "2" in info["refused"]:
            break
        time.sleep(0.2)
    assert "2" in info["refused"]
    assert "999" in info["refused"]["2"] or "99.0.0" in info["refused"]["2"]
    answer = httpx.post(service.url + "/predict", json=rows(5), timeout=10)
    assert answer.status_code == 200
    assert {v["model_version"] for v in answer.json()} == {"1"}
    metrics = httpx.get(service.url + "/metrics").text
    assert "fraudstream_service_model_refusals_total 1.0" in metrics


def test_no_champion_means_not_ready_then_ready_when_one_appears(
    small_model: Any, tmp_path: Any, serve: Callable[[Settings], ServiceProcess]
) -> None:
    from fraudstream.trainer.tracking import log_run

    settings = registry_settings_for(tmp_path, service_poll_seconds=0.3)
    service = serve(settings)
    service.wait("/healthz")
    assert httpx.get(service.url + "/readyz").status_code == 503
    assert httpx.post(service.url + "/predict", json=rows(1)).status_code == 503
    log_run(small_model, settings, register_as="champion")
    service.wait("/readyz", timeout=30)
    assert httpx.post(service.url + "/predict", json=rows(1)).status_code == 200


def test_challenger_scores_are_stored_in_shadow(
    registered: Settings, database_url: str, serve: Callable[[Settings], ServiceProcess]
) -> None:
    import psycopg

    settings = with_fields(registered, database_url=database_url)
    service = serve(settings)
    service.wait()
    batch = rows(120)
    assert httpx.post(service.url + "/predict", json=batch, timeout=10).status_code == 200
    deadline = time.monotonic() + 20
    stored: list[tuple[Any, ...]] = []
    while time.monotonic() < deadline:
        with psycopg.connect(database_url) as conn:
            stored = conn.execute(
                "SELECT trans_num, model_version FROM shadow_scores ORDER BY trans_num"
            ).fetchall()
        if len(stored) == len(batch):
            break
        time.sleep(0.3)
    assert stored == sorted((r["trans_num"], "2") for r in batch)


def test_schemathesis_finds_no_server_error(
    registered: Settings, serve: Callable[[Settings], ServiceProcess], tmp_path: Any
) -> None:
    """Generated requests from the OpenAPI spec, valid and invalid: never a 5xx, and every
    answer matches the documented schema and status codes."""
    import subprocess
    import sys
    from pathlib import Path

    service = serve(registered)
    service.wait()
    schemathesis = Path(sys.executable).with_name("schemathesis")
    run = subprocess.run(
        [
            str(schemathesis),
            "run",
            f"{service.url}/openapi.json",
            "--checks",
            "not_a_server_error,status_code_conformance,response_schema_conformance",
            "--max-examples",
            "60",
            "--generation-deterministic",
        ],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "/predict" in run.stdout
