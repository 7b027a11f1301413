"""The labels sink: chargebacks and analysts' decisions into PostgreSQL, for the
champion/challenger job and the audit trail.

The dashboard publishes an analyst's decision here rather than writing it (it keeps its
read-only database login), so every label, whoever gave it, takes the same road. Labels are few
and idempotent (the one that counts is chosen by precedence, a replay adds nothing to the audit
trail), so they keep Faust's own acknowledgements. What is not a label goes to the
dead-letter topic and its PostgreSQL mirror exactly as the scorer's dead letters do
(:class:`~fraudstream.stream_processor.publish.DeadLetters`), in a Kafka transaction of its
own. Should PostgreSQL refuse a batch, its labels are stored one by one and those it refuses
alone are dead-lettered, provided a known-good label still goes through; an outage is retried
for ever.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Final

from fraudstream.backoff import Backoff
from fraudstream.config import StreamSettings
from fraudstream.errors import FraudstreamError, RowsRefused
from fraudstream.schema import EXAMPLE_RECORD, LabelEvent
from fraudstream.storage.models import Label
from fraudstream.storage.repository import Repository
from fraudstream.stream_processor import metrics
from fraudstream.stream_processor.incoming import Incoming, decode
from fraudstream.stream_processor.publish import DeadLetters, Publisher

log = logging.getLogger(__name__)

_PROBE: Final = Label(str(EXAMPLE_RECORD["trans_num"]), 0, datetime(2020, 1, 1, tzinfo=UTC))


class LabelsSink:
    """Stores the labels of a batch of Faust events, dead-letters the rest, acknowledges all."""

    def __init__(
        self, stream: StreamSettings, dlq: str, repo: Repository, publisher: Publisher
    ) -> None:
        self.repo = repo
        self.dead_letters = DeadLetters(dlq, repo, publisher)
        self.backoff = Backoff(stream.retry_base_seconds, stream.retry_max_seconds)

    async def handle(self, events: Sequence[Any]) -> None:
        """Returns once every event is stored or dead-lettered; retries outages meanwhile."""
        labels: list[tuple[Incoming, Label]] = []
        letters: list[tuple[Incoming, str]] = []
        for event in events:
            m = event.message
            incoming = decode(m.topic, m.partition, m.offset, m.key, m.value, m.timestamp)
            parsed = LabelEvent.parse_message(m.value)
            if isinstance(parsed, LabelEvent):
                label = Label(
                    parsed.trans_num,
                    parsed.is_fraud,
                    parsed.labelled_at,
                    parsed.source,
                    parsed.author,
                    parsed.note,
                )
                labels.append((incoming, label))
            else:
                letters.append((incoming, f"not a label: {parsed}"))
        while True:
            try:
                refused = await self._store(labels)
                await self.dead_letters.send([*letters, *refused])
                break
            except FraudstreamError as exc:
                delay = self.backoff.next_delay()
                log.warning("labels not stored (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
        self.backoff.reset()
        metrics.LABELS.inc(len(labels) - len(refused))
        metrics.DEAD_LETTERS.labels("label").inc(len(letters) + len(refused))

    async def _store(self, labels: list[tuple[Incoming, Label]]) -> list[tuple[Incoming, str]]:
        """Store the labels; those PostgreSQL refuses alone come back with the reason."""
        try:
            await self.repo.store_labels([label for _, label in labels])
            return []
        except Exception as exc:
            if not _content(exc):
                raise
            log.warning("%d labels refused (%s); storing them one by one", len(labels), exc)
        refused: list[tuple[Incoming, str]] = []
        for incoming, label in labels:
            try:
                await self.repo.store_labels([label])
            except Exception as exc:
                if not _content(exc):
                    raise
                refused.append((incoming, f"labels: {type(exc).__name__}: {exc}"))
        if len(refused) == len(labels):
            async with self.repo.rehearsal() as writer:  # raises (an outage) if this fails too
                await writer.store_labels([_PROBE])
        return refused


def _content(exc: Exception) -> bool:
    """Whether a failed write may be the labels' fault: PostgreSQL refused the rows, or the
    driver raised on a value. Any other fraudstream error is an outage."""
    return isinstance(exc, RowsRefused) or not isinstance(exc, FraudstreamError)
