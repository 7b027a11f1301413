"""One worker's resources and bookkeeping: its pool, transactional producer and HTTP client,
its scorer task and labels sink, and what a rebalance or a lag report asks of them.

A Faust ``Service`` that the app starts before its agents and stops after them; the Faust app
itself (:mod:`.app`) only wires topics and agents to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Final, TypeVar

from mode import Service

from fraudstream.backoff import Backoff
from fraudstream.config import Settings
from fraudstream.errors import BrokerError, FraudstreamError
from fraudstream.kafka.transactions import Offsets, TransactionalProducer
from fraudstream.storage.repository import Repository
from fraudstream.stream_processor import metrics
from fraudstream.stream_processor.client import ModelClient
from fraudstream.stream_processor.health import Health
from fraudstream.stream_processor.incoming import Incoming
from fraudstream.stream_processor.labels import LabelsSink
from fraudstream.stream_processor.pending import Pending
from fraudstream.stream_processor.publish import Publisher
from fraudstream.stream_processor.reporter import Reporter
from fraudstream.stream_processor.scorer import Scorer

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Pipeline(Service):
    """The resources of one worker (pool, transactional producer, HTTP client), its scorer task
    and its labels sink."""

    def __init__(
        self,
        settings: Settings,
        pending: Pending[Incoming],
        consumer: Callable[[], Any],
        started: Callable[[], None] = lambda: None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.pending = pending
        self.consumer = consumer
        self._when_started = started
        """Called once the worker's clients are built, before it scores (the process's
        entry point freezes its heap there: :func:`fraudstream.heap.freeze`)."""
        """The app's Faust consumer (created after the app: hence a getter)."""
        self.scorer: Scorer | None = None
        self.labels: LabelsSink | None = None
        self.ready = asyncio.Event()
        self._stack = contextlib.AsyncExitStack()

    async def on_start(self) -> None:
        settings = self.settings
        repo = await _retrying("PostgreSQL", self._connect)
        name = worker_name()
        producer = TransactionalProducer(
            settings.kafka,
            transactional_id=f"{settings.stream.app_id}-{name}",
            group_id=settings.stream.app_id,
            timeout_seconds=settings.stream.transaction_timeout_seconds,
        )
        self._stack.callback(producer.close)
        await _retrying("Kafka transactions", lambda: asyncio.to_thread(producer.start))
        client = ModelClient(settings.service, settings.stream.request_timeout_seconds)
        self._stack.push_async_callback(client.aclose)
        publisher = Publisher(producer, self.pending, asyncio.to_thread)
        health = Health()
        reporter = Reporter(name, repo, self.pending, self.lag, health)
        self.scorer = Scorer(
            settings.stream,
            settings.topics,
            self.pending,
            client,
            repo,
            publisher,
            health=health,
            observe_latency=reporter.observe_latency,
        )
        self.labels = LabelsSink(settings.stream, settings.topics.dlq, repo, publisher)
        self._when_started()
        self.add_future(self.scorer.run())
        self.add_future(reporter.run())
        self.ready.set()

    async def _connect(self) -> Repository:
        return await self._stack.enter_async_context(
            Repository.connect(self.settings.database, application="fraudstream-stream")
        )

    async def lag(self) -> dict[int, int]:
        """Per partition of ``transactions`` this worker owns: messages not yet done (behind the
        end of the partition, or fetched and still pending)."""
        consumer = self.consumer()
        waiting: dict[int, int] = {}
        for entry in self.pending.snapshot():
            waiting[entry.position[1]] = waiting.get(entry.position[1], 0) + 1
        behind: dict[int, int] = {}
        for tp in consumer.assignment():
            if tp.topic != self.settings.topics.transactions:
                continue
            position = await consumer.position(tp)
            end = consumer.highwater(tp)
            fetched = max(0, end - position) if position is not None and end else 0
            behind[tp.partition] = fetched + waiting.get(tp.partition, 0)
        return behind

    async def assigned(self, partitions: Collection[Any]) -> None:
        """The consumer's partitions after a rebalance, before Faust resumes the flow (see
        ``app.py``): their committed offsets become the floors below which an event is done,
        and ``Pending`` takes their events again (see :mod:`.pending`)."""
        topic = self.settings.topics.transactions
        ours = sorted((tp.topic, tp.partition) for tp in partitions if tp.topic == topic)
        floors: Offsets = {}
        if self.scorer is not None and ours:
            producer = self.scorer.publisher.producer
            try:  # bounded: a rebalance must not wait on a stuck coordinator request
                floors = await asyncio.wait_for(
                    asyncio.to_thread(producer.committed, ours),
                    self.settings.stream.transaction_timeout_seconds,
                )
            except (BrokerError, TimeoutError) as exc:  # the stored positions still guard
                log.warning("committed offsets not read at assignment: %r", exc)
        await self.pending.assign(ours, floors)
        metrics.PARTITIONS.set(len(ours))
        metrics.ASSIGNMENTS.inc()

    async def revoked(self, partitions: Collection[Any]) -> None:
        """The partitions Faust revoked, after it stopped fetching them."""
        if self.scorer is not None:
            await self.scorer.on_revoked({(tp.topic, tp.partition) for tp in partitions})

    async def on_stop(self) -> None:
        """Let the attempt in flight finish (its transaction commits or aborts whole), then
        close: an open Kafka transaction is aborted, so no consumer waits for it."""
        if self.scorer is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_STOP_PATIENCE):
                    await self.scorer.stop()
        await self._stack.aclose()


_STOP_PATIENCE: Final = 5.0
"""Seconds a stop waits for the attempt in flight (its PostgreSQL writes are idempotent and its
Kafka transaction is aborted if it has to be cut short)."""

T = TypeVar("T")


async def _retrying(what: str, start: Callable[[], Awaitable[T]]) -> T:
    """Wait for a server rather than crash: a worker started with the stack may come up before
    the database or the broker does."""
    backoff = Backoff(0.2, 5.0)
    while True:
        try:
            return await start()
        except FraudstreamError as exc:
            delay = backoff.next_delay()
            log.warning("%s not reachable (%s); retrying in %.1f s", what, exc, delay)
            await asyncio.sleep(delay)
