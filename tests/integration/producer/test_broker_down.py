"""The broker dies under a running producer: it stops reading at the first lost message, and a
stop while the broker is gone waits for it, until a second stop gives up; both end in a
BrokerError with the counts complete. Each test has a broker of its own, to kill."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from fixtures.kafka import DedicatedBroker
from fraudstream.errors import BrokerError
from fraudstream.kafka.admin import ensure_topics, topic_specs
from fraudstream.producer.frames import simulated_items
from fraudstream.producer.run import ProduceRun, RunOptions, Source, Stop
from fraudstream.simulator import SimParams, Simulator

pytestmark = [pytest.mark.integration, pytest.mark.slow]


class Running:
    """A run in a thread, and what it raised."""

    def __init__(self, run: ProduceRun, source: Source) -> None:
        self.run = run
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._target, args=(source,), daemon=True)
        self.thread.start()

    def _target(self, source: Source) -> None:
        try:
            self.run.run(source)
        except BaseException as exc:
            self.error = exc

    def wait_until(self, condition: Callable[[], bool], timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            assert self.thread.is_alive(), self.error
            assert time.monotonic() < deadline, "the condition never came"
            time.sleep(0.05)


def start(broker: DedicatedBroker, delivery_timeout: float, stop: Stop) -> Running:
    settings = broker.settings(kafka_delivery_timeout_seconds=delivery_timeout)
    ensure_topics(settings.kafka, topic_specs(settings.topics))
    # the final error asks the dead broker why; not for the default 30 s
    settings = settings.replace(kafka_timeout_seconds=2.0)
    run = ProduceRun(
        settings, RunOptions(topic=settings.topics.transactions, rate=1_000.0), stop=stop
    )
    sim = Simulator(SimParams(customers=200), seed=3)
    running = Running(run, Source("simulator", simulated_items(sim, None)))
    running.wait_until(lambda: run.counts.delivered >= 1_000)
    return running


def test_the_first_lost_message_stops_the_run(dedicated_broker: DedicatedBroker) -> None:
    running = start(dedicated_broker, delivery_timeout=2.0, stop=Stop())
    dedicated_broker.kill()

    running.thread.join(timeout=60)  # nobody asks it to stop: the loss does

    assert not running.thread.is_alive()
    assert isinstance(running.error, BrokerError)
    counts = running.run.counts
    assert f"{counts.failed} of {counts.sent} messages were not delivered" in str(running.error)
    assert counts.failed > 0
    assert counts.delivered + counts.failed == counts.sent  # every message has its answer


def test_a_second_stop_gives_up_waiting_for_a_dead_broker(
    dedicated_broker: DedicatedBroker,
) -> None:
    stop = Stop()
    running = start(dedicated_broker, delivery_timeout=120.0, stop=stop)
    dedicated_broker.kill()
    time.sleep(1.0)  # a second of transactions queued for a broker that is gone

    stop.request()
    running.thread.join(timeout=2.0)
    assert running.thread.is_alive()  # the first stop waits for the broker to confirm them
    sent = running.run.counts.sent
    stop.request()
    running.thread.join(timeout=10.0)

    assert not running.thread.is_alive()
    assert isinstance(running.error, BrokerError)
    assert "were not delivered (stopped a second time)" in str(running.error)
    counts = running.run.counts
    assert counts.sent == sent  # nothing was read after the first stop
    assert counts.delivered < counts.sent
