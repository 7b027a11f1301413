"""The Faust app of the stream processor: two topics, two agents and the worker, wired once.

The ``transactions`` agent does as little per event as Faust allows: raw bytes in, one fast
decode, into the pending set (which waits when full: that is the back-pressure). Faust does not
acknowledge or commit that topic (``acks=False``): the scorer commits its offsets itself, in the
Kafka transaction that publishes the verdicts, once they are stored. ``stream_wait_empty=False``
lets a worker stop or give up partitions at once while events are pending; their offsets were not
committed, so their next owner replays them. The labels agent keeps Faust's acknowledgements.
What a worker does (:mod:`.worker`), decodes (:mod:`.incoming`) and scores (:mod:`.scorer`)
lives in those modules: this one only wires them to Faust.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Final

import faust
from faust.types.transports import TransportT
from mode import ServiceT

from fraudstream.config import Settings
from fraudstream.stream_processor import metrics
from fraudstream.stream_processor.drain import DrainingTransport
from fraudstream.stream_processor.incoming import Incoming, entries
from fraudstream.stream_processor.pending import Pending
from fraudstream.stream_processor.seek import SeekingTransport
from fraudstream.stream_processor.worker import Pipeline

STREAM_BUFFER: Final = 65_536
"""Events the agent's stream may hold before Faust pauses fetching. When buffer pressure has
paused every partition, Faust's fetch loop sleeps a fixed second (MEASURED.md): hold more than
a second of a worker's rate. Memory stays bounded: this, plus ``FRAUD_STREAM_MAX_PENDING``."""
HAND_OVER: Final = 0.005
"""Seconds a take of the agent waits for more events before it hands them to the scorer (Faust
needs a window: without one a take waits for a full batch)."""


class _App(faust.App):
    """Faust's app with the draining consumer (:mod:`.drain`), or when that is switched off
    Faust's own loop in the seeking consumer (:mod:`.seek`, a rebalance's seek mended), and without
    Faust's Monitor sensor: it records every event's timings for Faust's web statistics, which
    the stream does not serve (its metrics are Prometheus'), at a cost on every message."""

    def __init__(self, *args: Any, fast_drain: bool, **kwargs: Any) -> None:
        self._fast_drain = fast_drain
        super().__init__(*args, **kwargs)

    def _new_transport(self) -> TransportT:
        transport = DrainingTransport if self._fast_drain else SeekingTransport
        return transport(self.conf.broker_consumer, self)

    def on_init_dependencies(self) -> Iterable[ServiceT]:
        dependencies = super().on_init_dependencies()  # adds the Monitor to the sensors
        self.sensors.remove(self.monitor)
        return dependencies


def faust_app(settings: Settings) -> faust.App:
    """Faust configured as the stream runs it, without topics or agents (the benchmark's Faust
    ceiling iterates with this very configuration)."""
    (settings.home / "faust").mkdir(parents=True, exist_ok=True)
    return _App(
        settings.stream.app_id,
        fast_drain=settings.stream.fast_drain,
        broker=[f"kafka://{s}" for s in settings.kafka.bootstrap_servers.split(",")],
        key_serializer="raw",
        value_serializer="raw",
        stream_wait_empty=False,
        topic_disable_leader=True,
        topic_allow_declare=False,
        consumer_auto_offset_reset="earliest",
        broker_commit_interval=1.0,
        broker_session_timeout=settings.stream.session_timeout_seconds,
        stream_buffer_maxsize=STREAM_BUFFER,
        # Faust's repaired Cython fast path: a stream takes the events already queued without
        # awaiting the queue (off by default in 0.15 only because it is new; MEASURED.md)
        cython_optimizations=True,
        web_enabled=settings.stream.web_port > 0,
        web_port=settings.stream.web_port or 6066,
        web_host="127.0.0.1",
        datadir=str(settings.home / "faust"),
        store="memory://",
    )


def build_app(settings: Settings, started: Callable[[], None] = lambda: None) -> faust.App:
    """The Faust app for these settings (a fresh one per call: tests run several); ``started``
    is called once the worker's clients are built, before it scores."""
    app = faust_app(settings)
    pending: Pending[Incoming] = Pending(settings.stream.max_pending)
    pipeline = Pipeline(settings, pending, lambda: app.consumer, started)
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
        # The scorer makes the micro-batches; the take only hands events over, so its window
        # is short (it adds to every transaction's latency).
        async for events in stream.noack_take(settings.stream.batch_size, within=HAND_OVER):
            started = time.perf_counter()
            decoded = entries(events, app.consumer.assignment())
            metrics.STAGE_SECONDS.labels("decode").inc(time.perf_counter() - started)
            await pending.put(decoded)
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

    @app.on_rebalance_complete.connect
    async def assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        """Sent by Faust's recovery after each rebalance, and awaited before it seeks to the
        committed offsets and resumes the flow. Not ``on_partitions_assigned``: Faust sends
        that beside the recovery, which may resume the flow first; events of a partition kept
        through the rebalance then reached ``Pending`` while it still held the partition for
        revoked, and were dropped (docs/stream.md, "What is done never comes back")."""
        await pipeline.assigned(app.consumer.assignment())

    @app.on_partitions_revoked.connect
    async def revoked(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        """Sent by Faust with the revoked partitions, after it stopped fetching them."""
        if args:
            await pipeline.revoked(args[0])

    return app
