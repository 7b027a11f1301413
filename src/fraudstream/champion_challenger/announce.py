"""Tell every model-service replica that an alias moved: one message per move on ``model-events``.

Any message wakes a replica's watcher, which reads the registry and swaps within a second
(:mod:`fraudstream.model_service.watcher`); without the message it would converge at its next
poll. So the announcement is best effort: the aliases have moved and the decision is recorded
before it is sent, and a broker that is down costs only the delay until the next poll.

The message: key = the model name, value = JSON ::

    {"event": "alias_moved", "model_name": "fraudstream", "alias": "champion", "version": "7",
     "previous_version": "5", "reason": "...", "decided_at": "2026-11-25T10:00:00+00:00"}
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import orjson

from fraudstream.config import Settings
from fraudstream.errors import BrokerError
from fraudstream.registry import Alias

log = logging.getLogger(__name__)

ANNOUNCE_TIMEOUT_SECONDS: Final = 10.0
"""At most this long (or ``kafka_timeout_seconds`` if shorter) for the broker to take them."""


@dataclass(frozen=True)
class AliasMove:
    alias: Alias
    version: str
    previous_version: str | None


def event(model_name: str, move: AliasMove, reason: str, decided_at: datetime) -> bytes:
    """The JSON value of one ``model-events`` message."""
    return orjson.dumps(
        {
            "event": "alias_moved",
            "model_name": model_name,
            "alias": move.alias,
            "version": move.version,
            "previous_version": move.previous_version,
            "reason": reason,
            "decided_at": decided_at.isoformat(),
        }
    )


def announce(settings: Settings, moves: list[AliasMove], reason: str, decided_at: datetime) -> bool:
    """Send one message per move; False (logged) when the broker did not take them in time."""
    from fraudstream.kafka.producer import Producer

    if not moves:
        return True
    wait = min(ANNOUNCE_TIMEOUT_SECONDS, settings.kafka.timeout_seconds)
    timeout_ms = int(wait * 1000)
    try:
        producer = Producer(settings.kafka, overrides={"message.timeout.ms": timeout_ms})
        for move in moves:
            producer.produce(
                settings.topics.model_events,
                event(settings.registry.model_name, move, reason, decided_at),
                key=settings.registry.model_name,
            )
        producer.flush(wait + 5)
    except BrokerError as exc:
        log.warning(
            "could not announce %s on %s: %s; the model service picks the change up at its "
            "next registry poll",
            ", ".join(f"{m.alias} -> {m.version}" for m in moves),
            settings.topics.model_events,
            exc,
        )
        return False
    return True
