"""The draining consumer (``stream_processor/drain.py``): pinned to the Faust it was read from,
and direct only when the conductor's delivery cannot wait. That both loops deliver and commit
the same on real Kafka is ``tests/integration/stream_processor/test_drain.py``."""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faust
import pytest
from faust.tables.recovery import Recovery
from faust.transport.conductor import Conductor, ConductorCompiler
from faust.transport.consumer import Consumer
from faust.transport.drivers import aiokafka
from faust.transport.producer import ProducerBuffer
from faust.types import TP, Message
from mode import Service
from mode.utils.queues import FlowControlEvent

from fraudstream.config import Settings
from fraudstream.stream_processor.app import build_app
from fraudstream.stream_processor.drain import FAUST_VERSION, DrainingConsumer
from fraudstream.stream_processor.seek import SeekingConsumer

pytestmark = pytest.mark.unit

RELIED_ON: dict[str, tuple[Callable[..., Any], str]] = {
    # the loop drain.py restates, one call changed
    "faust Consumer._drain_messages": (Consumer._drain_messages, "44a2500309e83c63"),
    # what a delivery awaits: flow control, producer ebb, full queues (build), the callback lock
    "faust ConductorCompiler.build": (ConductorCompiler.build, "837cf521368c1ee4"),
    "faust Conductor._compile_message_handler": (
        Conductor._compile_message_handler,
        "9fbc0538097aa4ec",
    ),
    "faust ProducerBuffer.wait_until_ebb": (ProducerBuffer.wait_until_ebb, "758dd5744044071b"),
    "mode FlowControlEvent.acquire": (FlowControlEvent.acquire, "ed0208e866e64d0b"),
    "mode FlowControlEvent.is_active": (FlowControlEvent.is_active, "262016a21cfe93de"),
    # the race the direct path skips
    "mode Service.wait_first": (Service.wait_first, "feade6a31f8a6789"),
    # the seek after a rebalance seek.py restates, to the start where nothing is committed
    "faust Consumer.perform_seek": (Consumer.perform_seek, "0e8c130ff4b0afd8"),
    # awaits on_rebalance_complete (the worker's assignment) before it seeks and resumes
    "faust Recovery._resume_streams": (Recovery._resume_streams, "d986a6710c1aca98"),
}


def digest(function: Callable[..., Any]) -> str:
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:16]


def test_faust_is_the_release_the_loop_was_read_from() -> None:
    assert faust.__version__ == FAUST_VERSION
    # the aiokafka driver runs the base class's loop: that is the one drain.py restates
    assert aiokafka.Consumer._drain_messages is Consumer._drain_messages


@pytest.mark.parametrize("name", RELIED_ON)
def test_the_faust_code_the_adapter_relies_on_is_unchanged(name: str) -> None:
    """Fails on any change to these methods: read the new source, carry the change into
    drain.py (or drop the adapter if upstream took it), then update the digest."""
    function, expected = RELIED_ON[name]
    assert digest(function) == expected, f"{name} changed: re-read it against drain.py"


@pytest.fixture
def app(tmp_path: Path) -> faust.App:
    settings = Settings(
        _env_file=None, home=tmp_path, topic_transactions="tx", kafka_bootstrap_servers="k:1"
    )
    app = build_app(settings)
    app.flow_control.resume()  # as Faust does once partitions are assigned
    return app


async def test_the_app_runs_the_draining_consumer_without_faust_s_monitor(app: faust.App) -> None:
    assert isinstance(app.consumer, DrainingConsumer)
    list(app.on_init_dependencies())
    assert app.monitor not in set(app.sensors)


async def test_off_the_app_runs_faust_s_own_loop_with_the_seek_mended(tmp_path: Path) -> None:
    settings = Settings(_env_file=None, home=tmp_path, stream_fast_drain=False)
    consumer = build_app(settings).consumer
    assert isinstance(consumer, SeekingConsumer)
    assert not isinstance(consumer, DrainingConsumer)
    assert type(consumer)._drain_messages is Consumer._drain_messages


async def test_direct_only_while_nothing_on_the_delivery_path_can_wait(app: faust.App) -> None:
    consumer: DrainingConsumer = app.consumer
    tp = TP("tx", 0)
    topic = app.topic("tx", value_type=bytes)  # a channel the partition feeds
    app.topics._tp_index[tp].add(topic)
    assert consumer.can_deliver_without_waiting(tp)

    consumer.stop_flow()  # a rebalance began
    assert not consumer.can_deliver_without_waiting(tp)
    consumer.resume_flow()
    app.flow_control.suspend()
    assert not consumer.can_deliver_without_waiting(tp)
    app.flow_control.resume()
    buffer = app.producer.buffer
    buffer.max_messages, limit = buffer.size - 1, buffer.max_messages
    assert not consumer.can_deliver_without_waiting(tp)
    buffer.max_messages = limit
    lock = app.topics._tp_to_callback_lock
    await lock.acquire()
    assert not consumer.can_deliver_without_waiting(tp)
    lock.release()
    while not topic.queue.full():
        topic.queue.put_nowait(None)
    assert not consumer.can_deliver_without_waiting(tp)
    assert consumer.can_deliver_without_waiting(TP("tx", 1))  # another partition's channels

    topic.queue.get_nowait()
    assert consumer.can_deliver_without_waiting(tp)


async def test_deliver_races_as_faust_does_when_it_could_wait(
    app: faust.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer: DrainingConsumer = app.consumer
    delivered: list[Any] = []
    raced: list[int] = []

    async def callback(message: Any) -> None:
        delivered.append(message)

    original = consumer.wait_first

    async def wait_first(*coros: Any, **kwargs: Any) -> Any:
        raced.append(len(coros))
        return await original(*coros, **kwargs)

    monkeypatch.setattr(consumer, "wait_first", wait_first)
    message = Message("tx", 0, 5, 0.0, 0, None, b"k", b"v", None, tp=TP("tx", 0))
    await consumer.deliver(callback, message)
    assert delivered == [message]
    assert raced == []
    consumer.stop_flow()
    # Faust's race: the suspended flow wins, the delivery waiting on a full buffer is abandoned
    await consumer.deliver(callback, message)
    assert raced == [2]


async def test_the_seek_after_a_rebalance_sends_partitions_with_nothing_committed_to_the_start(
    app: faust.App, monkeypatch: pytest.MonkeyPatch
) -> None:
    consumer: SeekingConsumer = app.consumer
    never, zero, past = TP("tx", 0), TP("tx", 1), TP("tx", 2)
    sought: list[tuple[TP, int]] = []

    async def seek_to_committed() -> dict[TP, int | None]:
        return {never: None, zero: 0, past: 7}

    async def seek(tp: TP, offset: int) -> None:
        sought.append((tp, offset))

    monkeypatch.setattr(consumer, "seek_to_committed", seek_to_committed)
    monkeypatch.setattr(consumer, "seek", seek)
    await consumer.perform_seek()
    # Faust's own seek (inside seek_to_committed) covers the partition with 7 committed
    assert sorted(sought) == [(never, 0), (zero, 0)]
    assert consumer._read_offset[past] == 7
    assert consumer._read_offset[never] is None
    assert consumer._committed_offset[past] == 7
