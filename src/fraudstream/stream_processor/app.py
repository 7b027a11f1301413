"""The Faust app of the stream processor: two agents and the scorer task, wired once.

The ``transactions`` agent does as little per event as Faust allows: raw bytes in, one fast
decode, into the pending set (which waits when full: that is the back-pressure). Its events are
taken with ``noack_take`` and acknowledged by the scorer after their verdicts are stored, never
by Faust. ``stream_wait_empty=False`` lets a worker stop or give up partitions at once while
events are pending; their offsets were not committed, so their next owner replays them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import faust
from mode import Service

from fraudstream.config import Settings
from fraudstream.errors import FraudstreamError
from fraudstream.kafka.producer import Producer
from fraudstream.schema import LabelEvent
from fraudstream.storage.models import Label
from fraudstream.storage.repository import Repository
from fraudstream.stream_processor import metrics
from fraudstream.stream_processor.backoff import Backoff
from fraudstream.stream_processor.client import ModelClient
from fraudstream.stream_processor.incoming import Incoming, decode
from fraudstream.stream_processor.pending import Entry, Pending
from fraudstream.stream_processor.publish import Publisher
from fraudstream.stream_processor.reporter import Reporter
from fraudstream.stream_processor.scorer import Scorer

log = logging.getLogger(__name__)


def worker_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class Pipeline(Service):
    """The resources of one worker (pool, producer, HTTP client) and its scorer task."""

    def __init__(
        self,
        settings: Settings,
        pending: Pending[Incoming],
        lag: Callable[[], Awaitable[int]],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.pending = pending
        self.lag = lag
        self.scorer: Scorer | None = None
        self.repo: Repository | None = None
        self.publisher: Publisher | None = None
        self._stack = contextlib.AsyncExitStack()

    async def on_start(self) -> None:
        settings = self.settings
        self.repo = await self._connect()
        producer = self._stack.enter_context(Producer(settings))
        client = ModelClient(settings)
        self._stack.push_async_callback(client.aclose)
        self.publisher = Publisher(settings, producer)
        reporter = Reporter(settings, worker_name(), self.repo, self.pending, self.lag)
        self.scorer = Scorer(
            settings,
            self.pending,
            client,
            self.repo,
            self.publisher,
            _ack,
            observe_latency=reporter.observe_latency,
        )
        self.add_future(self.scorer.run())
        self.add_future(reporter.run())

    async def _connect(self) -> Repository:
        """Wait for PostgreSQL rather than crash: a worker started with the stack may come up
        before the database does."""
        backoff = Backoff(self.settings.stream_retry_base_seconds, 5.0)
        while True:
            try:
                return await self._stack.enter_async_context(
                    Repository.connect(self.settings, application="fraudstream-stream")
                )
            except FraudstreamError as exc:
                delay = backoff.next_delay()
                log.warning("PostgreSQL not reachable (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)

    async def on_stop(self) -> None:
        await self._stack.aclose()


def _ack(event: Any) -> None:
    event.ack()


def build_app(settings: Settings) -> faust.App:
    """The Faust app for these settings (a fresh one per call: tests run several)."""
    (settings.home / "faust").mkdir(parents=True, exist_ok=True)
    app = faust.App(
        settings.stream_app_id,
        broker=[f"kafka://{s}" for s in settings.kafka_bootstrap_servers.split(",")],
        key_serializer="raw",
        value_serializer="raw",
        stream_wait_empty=False,
        topic_disable_leader=True,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        broker_session_timeout=settings.stream_session_timeout_seconds,
        stream_buffer_maxsize=max(4096, settings.stream_batch_size * 2),
        web_enabled=settings.stream_web_port > 0,
        web_port=settings.stream_web_port or 6066,
        web_host="127.0.0.1",
        datadir=str(settings.home / "faust"),
        store="memory://",
    )
    pending: Pending[Incoming] = Pending(settings.stream_max_pending)

    async def lag() -> int:
        """Messages of our partitions of ``transactions`` not yet fetched by this worker."""
        consumer = app.consumer
        behind = 0
        for tp in consumer.assignment():
            if tp.topic != settings.topic_transactions:
                continue
            position = await consumer.position(tp)
            end = consumer.highwater(tp)
            if position is not None and end is not None:
                behind += max(0, end - position)
        return behind + len(pending)

    pipeline = Pipeline(settings, pending, lag)
    app.add_dependency(pipeline)
    transactions = app.topic(settings.topic_transactions, value_type=bytes, key_type=bytes)
    labels = app.topic(settings.topic_labels, value_type=bytes, key_type=bytes)

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
            settings.stream_batch_size, within=min(0.02, settings.stream_batch_seconds)
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
        backoff = Backoff(settings.stream_retry_base_seconds, settings.stream_retry_max_seconds)
        async for events in stream.noack_take(1000, within=1.0):
            rows: list[Label] = []
            letters: list[tuple[Incoming, str]] = []
            for event in events:
                message = event.message
                parsed = LabelEvent.parse_message(message.value)
                if isinstance(parsed, LabelEvent):
                    rows.append(Label(parsed.trans_num, parsed.is_fraud, parsed.labelled_at))
                else:
                    incoming = decode(
                        message.topic,
                        message.partition,
                        message.offset,
                        message.key,
                        message.value,
                        message.timestamp,
                    )
                    letters.append((incoming, f"not a label: {parsed}"))
            while True:
                repo, publisher = pipeline.repo, pipeline.publisher
                try:
                    if repo is None or publisher is None:
                        raise FraudstreamError("the worker is still starting")
                    await repo.store_labels(rows)
                    if letters:
                        await asyncio.to_thread(publisher.dead_letters, letters)
                    break
                except FraudstreamError as exc:
                    delay = backoff.next_delay()
                    log.warning("labels not stored (%s); retrying in %.1f s", exc, delay)
                    await asyncio.sleep(delay)
            backoff.reset()
            for event in events:
                event.ack()
            metrics.LABELS.inc(len(rows))
            metrics.DEAD_LETTERS.inc(len(letters))
            yield None

    @app.on_partitions_revoked.connect
    async def revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        """Sent by Faust with the revoked partitions, after it stopped fetching them."""
        scorer = pipeline.scorer
        if scorer is not None and args:
            await scorer.on_revoked({(tp.topic, tp.partition) for tp in args[0]})

    return app
