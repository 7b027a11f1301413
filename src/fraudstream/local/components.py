"""What ``fraudstream up`` runs, in order, and how each part is found by the others.

Servers whose address the user configured (``FRAUD_KAFKA_BOOTSTRAP_SERVERS``,
``FRAUD_DATABASE_URL``) are used as they are and not launched. Every child process receives the
supervisor's settings through ``FRAUD_*`` variables, so all of them agree on ports and paths.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from fraudstream.config import ENV_PREFIX, Settings
from fraudstream.local.process import ProcessSpec
from fraudstream.local.stack import Component


def settings_env(settings: Settings) -> dict[str, str]:
    """The settings as FRAUD_* variables, for child processes (paths made absolute)."""
    env: dict[str, str] = {}
    for name, value in settings.model_dump(mode="json").items():
        if value is None:
            continue
        raw = getattr(settings, name)
        if hasattr(raw, "get_secret_value"):
            value = raw.get_secret_value()
        elif isinstance(raw, Path):
            value = str(raw.resolve())
        elif isinstance(value, list | dict):
            value = json.dumps(value)
        env[ENV_PREFIX + name.upper()] = str(value)
    return env


def kafka_port(settings: Settings) -> int:
    first = settings.kafka_bootstrap_servers.split(",")[0]
    return int(first.rsplit(":", 1)[1])


def database_port(settings: Settings) -> int:
    return urlsplit(settings.database_url.get_secret_value()).port or 5432


def _external(field: str, what: str) -> Callable[[Settings], str | None]:
    def skip(settings: Settings) -> str | None:
        if field in settings.model_fields_set:
            return f"external {what} configured by {ENV_PREFIX}{field.upper()}"
        return None

    return skip


def _kafka(settings: Settings) -> ProcessSpec:
    from fraudstream.local.kafka import kafka_spec

    return kafka_spec(settings, settings.home / "kafka", port=kafka_port(settings))


def _topics(settings: Settings) -> None:
    from fraudstream.kafka.admin import ensure_topics

    ensure_topics(settings)


def _postgres(settings: Settings) -> ProcessSpec:
    from fraudstream.local.postgres import postgres_spec

    return postgres_spec(settings, settings.home / "postgres", port=database_port(settings))


def _migrate(settings: Settings) -> None:
    from fraudstream.storage.migrate import migrate_sync

    migrate_sync(settings)


def stack_components() -> list[Component]:
    """The components of the local stack, in the order a reader would list them."""
    return [
        Component(
            "kafka",
            _kafka,
            after_ready=_topics,
            skip=_external("kafka_bootstrap_servers", "Kafka"),
        ),
        Component(
            "postgres",
            _postgres,
            after_ready=_migrate,
            skip=_external("database_url", "PostgreSQL"),
        ),
    ]
