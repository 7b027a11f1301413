"""docker-compose.yml and .env.example, checked where no Docker engine runs.

The file must validate against the Compose Specification's JSON schema (the copy that
check-jsonschema ships), run the same components as ``fraudstream up``, name only settings that
exist, and wire its start order so that ``docker compose up`` from nothing can succeed: every
``depends_on`` names a service, waits for health only where a health check exists, and for
completion only of one-shot jobs.
"""

from __future__ import annotations

import importlib.resources
import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from fraudstream.config import ENV_PREFIX, flat_names
from fraudstream.local.components import stack_components

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "docker-compose.yml"
ONE_SHOTS = {"bucket", "topics", "migrate", "trainer"}
"""Jobs that run to completion; ``trainer`` is also a component of ``fraudstream up``."""
EXTRA_SERVERS = {"s3"}
"""Servers compose runs that ``fraudstream up`` replaces with folders (MLflow's artifacts)."""
_FRAUD_NAME = re.compile(r"\b(" + ENV_PREFIX + r"[A-Z0-9_]+)")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def test_the_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendored / "compose-spec.json").read_text())
    validator = jsonschema.Draft7Validator(schema)  # its $schema: draft-07, spelt without "#"
    problems = [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(compose)
    ]
    assert problems == []


def test_a_wrong_file_fails_the_same_check() -> None:
    """The check has teeth: an unknown key and a bad condition are refused."""
    vendored = importlib.resources.files("check_jsonschema.builtin_schemas.vendor")
    schema = json.loads((vendored / "compose-spec.json").read_text())
    bad = {
        "services": {
            "a": {"image": "x", "restart_policy": "always"},
            "b": {"image": "x", "depends_on": {"a": {"condition": "service_ready"}}},
        }
    }
    validator = jsonschema.Draft7Validator(schema)
    assert len(list(validator.iter_errors(bad))) >= 2


def test_compose_runs_the_components_of_fraudstream_up(compose: dict[str, Any]) -> None:
    services = set(compose["services"])
    components = {component.name for component in stack_components()}
    assert services - ONE_SHOTS - EXTRA_SERVERS == components - ONE_SHOTS
    assert ONE_SHOTS & components <= services


def test_every_fraud_variable_is_a_setting() -> None:
    fields = {ENV_PREFIX + name.upper() for name in flat_names()}
    for path in (COMPOSE, ROOT / ".env.example"):
        used = set(_FRAUD_NAME.findall(path.read_text()))
        assert used, path
        assert used - fields == set(), f"{path.name} names settings that do not exist"


def test_the_app_services_reach_the_stack_by_service_name(compose: dict[str, Any]) -> None:
    env = compose["x-app"]["environment"]
    hosts = {
        "FRAUD_KAFKA_BOOTSTRAP_SERVERS": "kafka:9092",
        "FRAUD_DATABASE_URL": "@postgres:5432/",
        "FRAUD_DATABASE_READONLY_URL": "fraudstream_reader:",
        "FRAUD_MLFLOW_TRACKING_URI": "http://mlflow:5000",
        "FRAUD_S3_ENDPOINT_URL": "http://s3:9000",
        "FRAUD_MODEL_SERVICE_URL": "http://model-service:",
    }
    for name, part in hosts.items():
        assert part in env[name], name


def test_the_start_order_can_complete(compose: dict[str, Any]) -> None:
    services: dict[str, dict[str, Any]] = compose["services"]
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            condition = rule["condition"]
            target = services[dependency]
            if condition == "service_healthy":
                assert "healthcheck" in target, f"{name} waits for {dependency}'s health check"
            elif condition == "service_completed_successfully":
                assert dependency in ONE_SHOTS, f"{name} waits for {dependency} to finish"
                assert target.get("restart") == "no", f"{dependency} must not restart"
    for name in ONE_SHOTS:
        assert services[name].get("restart") == "no", name
    long_running = set(services) - ONE_SHOTS
    for name in long_running:
        assert services[name].get("restart", compose["x-app"]["restart"]) == "unless-stopped"


def test_state_lives_in_named_volumes(compose: dict[str, Any]) -> None:
    declared = set(compose["volumes"])
    mounted = {
        volume.split(":")[0]
        for service in compose["services"].values()
        for volume in service.get("volumes", [])
        if not volume.startswith(".")
    }
    assert mounted == declared == {"kafka-data", "postgres-data", "s3-data"}
