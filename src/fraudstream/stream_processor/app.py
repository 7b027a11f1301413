"""The Faust app of the stream processor: two agents and the scorer task, wired once.

The ``transactions`` agent does as little per event as Faust allows: raw bytes in, one fast
decode, into the pending set (which waits when full: that is the back-pressure). Faust does not
acknowledge or commit that topic (``acks=False``): the scorer commits its offsets itself, in the
Kafka transaction that publishes the verdicts, once they are stored. ``stream_wait_empty=False``
lets a worker stop or give up partitions at once while events are pending; their offsets were not
committed, so their next owner replays them. The labels agent keeps Faust's acknowledgements.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Final, TypeVar

import faust
from mode import Service

from fraudstream.backoff import Backoff
from fraudstream.config import Settings
from fraudstream.errors import BrokerError, FraudstreamError
from fraudstream.kafka.transactions import Offsets, TransactionalProducer
from fraudstream.storage.repository import Repository
from fraudstream.stream_processor import metrics
from fraudstream.stream_processor.client import ModelClient
from fraudstream.stream_processor.health import Health
from fraudstream.stream_processor.incoming import Incoming, decode
from fraudstream.stream_processor.labels import LabelsSink
from fraudstream.stream_processor.pending import Entry, Pending
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
        lag: Callable[[], Awaitable[dict[int, int]]],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.pending = pending
        self.lag = lag
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
        self.add_future(self.scorer.run())
        self.add_future(reporter.run())
        self.ready.set()

    async def _connect(self) -> Repository:
        return await self._stack.enter_async_context(
            Repository.connect(self.settings.database, application="fraudstream-stream")
        )

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


def build_app(settings: Settings) -> faust.App:
    """The Faust app for these settings (a fresh one per call: tests run several)."""
    (settings.home / "faust").mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.stream.app_id,
        broker=[f"kafka://{s}" for s in settings.kafka.bootstrap_servers.split(",")],
        key_serializer="raw",
        value_serializer="raw",
        stream_wait_empty=False,
        topic_disable_leader=True,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        broker_session_timeout=settings.stream.session_timeout_seconds,
        stream_buffer_maxsize=max(4096, settings.stream.batch_size * 2),
        web_enabled=settings.stream.web_port > 0,
        web_port=settings.stream.web_port or 6066,
        web_host="127.0.0.1",
        datadir=str(settings.home / "faust"),
        store="memory://",
    )
    pending: Pending[Incoming] = Pending(settings.stream.max_pending)

    async def lag() -> dict[int, int]:
        """Per partition of ``transactions`` this worker owns: messages not yet done (behind the
        end of the partition, or fetched and still pending)."""
        consumer = app.consumer
        waiting: dict[int, int] = {}
        for entry in pending.snapshot():
            waiting[entry.position[1]] = waiting.get(entry.position[1], 0) + 1
        behind: dict[int, int] = {}
        for tp in consumer.assignment():
            if tp.topic != settings.topics.transactions:
                continue
            position = await consumer.position(tp)
            end = consumer.highwater(tp)
            fetched = max(0, end - position) if position is not None and end else 0
            behind[tp.partition] = fetched + waiting.get(tp.partition, 0)
        return behind

    pipeline = Pipeline(settings, pending, lag)
    app.add_dependency(pipeline)
    # acks=False: Faust never commits this topic; the scorer does, in its Kafka transactions
    transactions = app.topic(
        settings.topics.transactions, value_type=bytes, key_type=bytes, acks=False
    )
    labels = app.topic(settings.topics.labels, value_type=bytes, key_type=bytes)

    @app.agent(transactions)
    async def score(stream: Any) -> AsyncIterator[None]:
        """Pull and decode only; the scorer does the rest and acknowledges.

        (``stream`` is a Faust stream whose ``noack_take`` yields events, not values; Faust's
        annotations say values, hence ``Any``.)
        """
        consumer = app.consumer
        # The scorer makes the micro-batches; the take only hands events over, so its window
        # is short (it adds to every transaction's latency).
        async for events in stream.noack_take(
            settings.stream.batch_size, within=min(0.02, settings.stream.batch_seconds)
        ):
            started = time.perf_counter()
            assigned = consumer.assignment()
            entries = []
            for event in events:
                message = event.message
                if message.tp not in assigned:
                    continue  # fetched before a rebalance took its partition away
                incoming = decode(
                    message.topic,
                    message.partition,
                    message.offset,
                    message.key,
                    message.value,
                    message.timestamp,
                )
                position = (message.topic, message.partition, message.offset)
                entries.append(Entry(position, event, incoming))
            metrics.STAGE_SECONDS.labels("decode").inc(time.perf_counter() - started)
            await pending.put(entries)
            yield None

    @app.agent(labels)
    async def store_labels(stream: Any) -> AsyncIterator[None]:
        """Delayed chargebacks into PostgreSQL, for the champion/challenger job."""
        async for events in stream.noack_take(1000, within=1.0):
            await pipeline.ready.wait()  # the worker is still starting
            assert pipeline.labels is not None
            await pipeline.labels.handle(events)
            for event in events:
                event.ack()
            yield None

    @app.on_partitions_assigned.connect
    async def assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        """Sent by Faust with the partitions assigned: their committed offsets become the
        floors below which an event is done (see :mod:`.pending`)."""
        if not args:
            return
        topic = settings.topics.transactions
        # with what the consumer holds now: a partition kept through the rebalance is ours too
        held = {*args[0], *app.consumer.assignment()}
        ours = sorted((tp.topic, tp.partition) for tp in held if tp.topic == topic)
        floors: Offsets = {}
        if pipeline.scorer is not None and ours:
            producer = pipeline.scorer.publisher.producer
            try:  # bounded: a rebalance must not wait on a stuck coordinator request
                floors = await asyncio.wait_for(
                    asyncio.to_thread(producer.committed, ours),
                    settings.stream.transaction_timeout_seconds,
                )
            except (BrokerError, TimeoutError) as exc:  # the stored positions still guard
                log.warning("committed offsets not read at assignment: %r", exc)
        await pending.assign(ours, floors)

    @app.on_partitions_revoked.connect
    async def revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        """Sent by Faust with the revoked partitions, after it stopped fetching them."""
        scorer = pipeline.scorer
        if scorer is not None and args:
            await scorer.on_revoked({(tp.topic, tp.partition) for tp in args[0]})

    return app
