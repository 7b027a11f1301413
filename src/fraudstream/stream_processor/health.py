"""What the worker is doing, in the words an operator needs: flowing, retrying since when and
why, or isolating messages that broke a stage; and the last failure it saw.

The scorer reports here as it goes; the reporter copies it into each ``stream_metrics`` row (the
dashboard's Live page and ``fraudstream status`` read it there) and Prometheus has it as the
``fraudstream_stream_state`` gauge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import get_args

from fraudstream.storage.models import StreamState
from fraudstream.stream_processor import metrics


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Health:
    state: StreamState = "starting"
    since: datetime = field(default_factory=_now)
    reason: str | None = None
    """Why it retries (the outage) or isolates (what broke)."""
    isolating: int = 0
    last_failure: str | None = None
    last_failure_at: datetime | None = None

    def __post_init__(self) -> None:
        self._publish()

    def flowing(self) -> None:
        self._become("flowing", None)
        self.isolating = 0

    def retrying(self, why: str) -> None:
        """An outage: everything pending waits for the next attempt."""
        self.failed(why)
        self._become("retrying", why)

    def suspecting(self, count: int, why: str) -> None:
        """``count`` messages failed alone and are held back for another attempt."""
        self.isolating = count
        if count:
            self._become("isolating", why)
        else:
            self.flowing()

    def failed(self, why: str) -> None:
        self.last_failure, self.last_failure_at = why, _now()

    def _become(self, state: StreamState, reason: str | None) -> None:
        if state != self.state:
            self.state, self.since = state, _now()
            self._publish()
        self.reason = reason

    def _publish(self) -> None:
        for name in get_args(StreamState):
            metrics.STATE.labels(name).set(1 if name == self.state else 0)
