"""What ``fraudstream up`` runs, in order, and how each part finds the others.

kafka, postgres, mlflow, trainer (one-shot: the first champion, only when none exists),
model-service, stream, producer (the simulator feed), challenger (the scheduled job), dashboard.
The same names are the services of ``docker-compose.yml`` (a test keeps both in step).

A server whose address the user configured (``FRAUD_KAFKA_BOOTSTRAP_SERVERS``,
``FRAUD_DATABASE_URL``, ``FRAUD_MLFLOW_TRACKING_URI``) is used as it is and not launched. Every
child process gets the settings the user set plus the stack's own addresses as ``FRAUD_*``
variables, so all of them agree on ports and paths.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from pydantic import SecretStr
from pydantic_core import to_jsonable_python

from fraudstream.config import ENV_PREFIX, LOCAL_DATABASE, Settings
from fraudstream.local.process import ProcessSpec, port_open
from fraudstream.local.stack import Component, logs_dir

MLFLOW_DATABASE = "mlflow"
COMPONENTS = (
    "kafka",
    "postgres",
    "mlflow",
    "trainer",
    "model-service",
    "stream",
    "producer",
    "challenger",
    "dashboard",
)


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings a child must share, as FRAUD_* variables: the values that were set (by the
    user or by the stack) and the state folder, made absolute. Unset values stay unset, so the
    child derives the same defaults (a local database stays local)."""
    env: dict[str, str] = {}
    for variable, raw in settings.explicit().items():
        if raw is None:
            continue
        if isinstance(raw, SecretStr):
            value: object = raw.get_secret_value()
        elif isinstance(raw, Path):
            value = str(raw.resolve())
        else:
            value = to_jsonable_python(raw)
        env[variable] = json.dumps(value) if isinstance(value, list | dict) else str(value)
    env[f"{ENV_PREFIX}HOME"] = str(settings.home.resolve())
    return env


def database_port(settings: Settings) -> int:
    return urlsplit(settings.database.url.get_secret_value()).port or 5432


def _external(
    variable: str, what: str, ours: Callable[[Settings], str] | None = None
) -> Callable[[Settings], str | None]:
    """Skip the component when the user set its address to a server of their own (an address
    equal to the stack's own, as ``stack_settings`` sets it, is not external)."""

    def skip(settings: Settings) -> str | None:
        given = settings.explicit().get(variable)
        if given is None:
            return None
        if ours is not None and given == ours(settings):
            return None
        return f"external {what} configured by {variable}"

    return skip


def _http_ok(url: str) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            return httpx.get(url, timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    return probe


def child(
    settings: Settings,
    name: str,
    *args: str,
    probe: Callable[[], bool] | None = None,
    address: str = "-",
    env: dict[str, str] | None = None,
) -> ProcessSpec:
    """``fraudstream <args>`` as a child of the stack, logging to ``<home>/logs/<name>.log``."""
    return ProcessSpec(
        name=name,
        argv=[sys.executable, "-m", "fraudstream", *args],
        log_file=logs_dir(settings) / f"{name}.log",
        probe=probe or (lambda: True),
        address=address,
        env={**settings_env(settings), **(env or {})},
        ready_timeout=180.0,
    )


# -- the servers -----------------------------------------------------------------------------


def _kafka(settings: Settings) -> ProcessSpec:
    from fraudstream.local.kafka import kafka_spec

    return kafka_spec(settings, settings.home / "kafka", port=settings.kafka.port)


def _topics(settings: Settings) -> None:
    from fraudstream.kafka.admin import ensure_topics, topic_specs

    ensure_topics(settings.kafka, topic_specs(settings.topics))


def _postgres(settings: Settings) -> ProcessSpec:
    from fraudstream.local.postgres import postgres_spec

    return postgres_spec(settings, settings.home / "postgres", port=database_port(settings))


def _migrate(settings: Settings) -> None:
    """Our schema, and the database the MLflow server keeps its store in."""
    from fraudstream.local.postgres import admin_url
    from fraudstream.storage.migrate import migrate_sync
    from fraudstream.storage.server import ensure_database

    migrate_sync(settings.database)
    ensure_database(admin_url(database_port(settings)), MLFLOW_DATABASE, LOCAL_DATABASE)


def mlflow_url(settings: Settings) -> str:
    return f"http://127.0.0.1:{settings.local.mlflow_port}"


def _mlflow(settings: Settings) -> ProcessSpec:
    """An MLflow tracking server with a PostgreSQL backend store, as the original system had."""
    from fraudstream.local.mlflow import mlflow_server_spec

    store = (
        f"postgresql+psycopg://fraudstream@127.0.0.1:{database_port(settings)}/{MLFLOW_DATABASE}"
    )
    artifacts = (settings.home / "mlflow" / "artifacts").resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    return mlflow_server_spec(
        store, str(artifacts), settings.local.mlflow_port, logs_dir(settings) / "mlflow.log"
    )


# -- the application --------------------------------------------------------------------------


def _has_champion(settings: Settings) -> str | None:
    from fraudstream.errors import FraudstreamError
    from fraudstream.registry import Registry

    try:
        version = Registry(settings.registry).get_alias_version("champion")
    except FraudstreamError:
        return None
    return f"champion is version {version}" if version else None


def _trainer(settings: Settings) -> ProcessSpec:
    """The first champion, on simulated history; a short search keeps the first start quick
    (the champion/challenger job improves on it later)."""
    source = f"sim://?rows={settings.local.up_train_rows}&seed={settings.simulator.seed}"
    env = {}
    if f"{ENV_PREFIX}TRAIN_SEARCH_SECONDS" not in settings.explicit():
        env[f"{ENV_PREFIX}TRAIN_SEARCH_SECONDS"] = "20"
    return child(
        settings, "trainer", "train", "--data", source, "--register-as", "champion", env=env
    )


def _service(settings: Settings) -> ProcessSpec:
    url = settings.service.base_url
    return child(settings, "model-service", "serve", probe=_http_ok(url + "/readyz"), address=url)


def _stream(settings: Settings) -> ProcessSpec:
    port = settings.stream.metrics_port
    return child(
        settings,
        "stream",
        "stream",
        "--web-port",
        "0",
        "--metrics-port",
        str(port),
        probe=lambda: port_open("127.0.0.1", port),
        address=f"http://127.0.0.1:{port}/metrics",
    )


def _producer(settings: Settings) -> ProcessSpec:
    return child(
        settings, "producer", "produce", "--source", "sim", "--rate", str(settings.producer.rate)
    )


def _challenger(settings: Settings) -> ProcessSpec:
    return child(
        settings, "challenger", "challenger", "schedule", "--every", settings.challenger.every
    )


def dashboard_url(settings: Settings) -> str:
    """Where the dashboard of the stack answers on this machine."""
    return f"http://127.0.0.1:{settings.dashboard.port}"


def _dashboard(settings: Settings) -> ProcessSpec:
    url = dashboard_url(settings)
    return child(
        settings, "dashboard", "dashboard", probe=_http_ok(url + "/_stcore/health"), address=url
    )


def stack_settings(settings: Settings) -> Settings:
    """The settings every child sees: the user's, plus the MLflow server of the stack."""
    if f"{ENV_PREFIX}MLFLOW_TRACKING_URI" in settings.explicit():
        return settings
    return settings.replace(mlflow_tracking_uri=mlflow_url(settings))


def stack_components() -> list[Component]:
    """The components of the local stack, in start order."""
    return [
        Component(
            "kafka",
            _kafka,
            after_ready=_topics,
            skip=_external(f"{ENV_PREFIX}KAFKA_BOOTSTRAP_SERVERS", "Kafka"),
        ),
        Component(
            "postgres",
            _postgres,
            after_ready=_migrate,
            skip=_external(f"{ENV_PREFIX}DATABASE_URL", "PostgreSQL"),
        ),
        Component(
            "mlflow",
            _mlflow,
            depends_on=("postgres",),
            skip=_external(f"{ENV_PREFIX}MLFLOW_TRACKING_URI", "MLflow", mlflow_url),
        ),
        Component("trainer", _trainer, depends_on=("mlflow",), oneshot=True, skip=_has_champion),
        Component("model-service", _service, depends_on=("trainer", "kafka")),
        Component("stream", _stream, depends_on=("model-service", "kafka", "postgres")),
        Component("producer", _producer, depends_on=("stream",)),
        Component("challenger", _challenger, depends_on=("model-service", "postgres")),
        Component("dashboard", _dashboard, depends_on=("postgres",)),
    ]
