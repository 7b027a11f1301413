"""A paced stream lets events through at the set rate: counted on a fake clock, then a real one."""

from __future__ import annotations

import time

import pytest

from fraudstream.producer.pacing import MAX_BACKLOG_SECONDS, Pacer, paced
from fraudstream.simulator import SimParams, Simulator

pytestmark = pytest.mark.unit


class FakeClock:
    """Time that moves only when the pacer sleeps, or when the test says so."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


def _events_per_second(clock: FakeClock, pacer: Pacer, events: int) -> dict[int, int]:
    seconds: dict[int, int] = {}
    for _ in range(events):
        pacer.wait()
        second = int(clock.now + 1e-9)
        seconds[second] = seconds.get(second, 0) + 1
    return seconds


def test_each_second_lets_through_the_rate() -> None:
    clock = FakeClock()
    pacer = Pacer(50.0, clock=clock, sleep=clock.sleep)
    counts = _events_per_second(clock, pacer, 500)
    assert [counts[s] for s in range(10)] == [50] * 10


def test_a_slow_consumer_catches_up_by_at_most_the_backlog() -> None:
    clock = FakeClock()
    pacer = Pacer(100.0, clock=clock, sleep=clock.sleep)
    pacer.wait()
    clock.now += 30.0  # the consumer stalls for half a minute
    burst = 0
    start = clock.now
    while clock.now == start:
        pacer.wait()
        burst += 1
    assert burst <= MAX_BACKLOG_SECONDS * 100 + 1


def test_a_pacer_needs_a_positive_rate() -> None:
    with pytest.raises(ValueError, match="positive rate"):
        Pacer(0)


def test_the_stream_is_paced_and_unpaced_on_request() -> None:
    sim = Simulator(SimParams(customers=100), seed=4)
    clock = FakeClock()
    pacer = Pacer(20.0, clock=clock, sleep=clock.sleep)
    records = list(paced(sim.records(60, with_label=False), 20.0, pacer))
    assert len(records) == 60
    assert clock.now == pytest.approx(59 / 20)
    assert "is_fraud" not in records[0]
    assert records == list(sim.records(60, with_label=False))

    began = time.monotonic()
    streamed = list(paced(sim.records(41, with_label=False), 200.0))
    # Only a lower bound: sleeping never returns early, while a busy machine may run late.
    assert time.monotonic() - began >= 40 / 200 * 0.95
    assert len(streamed) == 41


def test_any_iterable_can_be_paced_even_models() -> None:
    sim = Simulator(SimParams(customers=100), seed=4)
    clock = FakeClock()
    models = list(paced(sim.records(30, as_model=True), 10.0, Pacer(10.0, clock, clock.sleep)))
    assert [m.trans_num for m in models] == [r["trans_num"] for r in sim.records(30)]
    assert clock.now == pytest.approx(2.9)
    assert list(paced(range(5), 0)) == [0, 1, 2, 3, 4]
