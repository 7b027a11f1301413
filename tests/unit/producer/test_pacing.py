"""Pacing, counted on a fake clock: a file replayed at its own pace (the gaps between
transaction times, divided by the speed), a stream let through at a set rate (and on a real
clock once), and the rate each source gets when none is given."""

from __future__ import annotations

import time

import pytest

from fraudstream.config import Settings
from fraudstream.errors import ConfigError
from fraudstream.producer.cli import pacing
from fraudstream.producer.pacing import MAX_BACKLOG_SECONDS, Pacer, ReplayPacer, paced
from fraudstream.simulator import SimParams, Simulator

pytestmark = pytest.mark.unit


class FakeClock:
    """Time that moves only when the pacer sleeps, or when the test says so."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.slept.append(seconds)
        self.now += seconds


def played_at(events: list[float], speed: float, clock: FakeClock) -> list[float]:
    pacer = ReplayPacer(speed, clock=clock, sleep=clock.sleep)
    times = []
    for event in events:
        pacer.wait(event)
        times.append(clock.now)
    return times


def test_gaps_are_played_sped_up() -> None:
    clock = FakeClock()
    events = [0.0, 60.0, 60.0, 3_660.0, 3_720.0]  # a minute, a tie, an hour, a minute

    times = played_at(events, speed=60.0, clock=clock)

    assert [round(t - times[0], 6) for t in times] == [0.0, 1.0, 1.0, 61.0, 62.0]


def test_a_replay_that_fell_behind_does_not_burst() -> None:
    clock = FakeClock()
    pacer = ReplayPacer(10.0, clock=clock, sleep=clock.sleep)
    pacer.wait(0.0)
    clock.now += 30.0  # the process was paused: 300 s of the file's clock are overdue
    pacer.wait(10.0)
    assert clock.slept == []  # the overdue row goes at once...
    pacer.wait(20.0)
    # ...and the pace restarts from it instead of firing every overdue row in one burst
    assert clock.slept == [pytest.approx(1.0)]


def test_a_small_backlog_is_caught_up() -> None:
    clock = FakeClock()
    pacer = ReplayPacer(1.0, clock=clock, sleep=clock.sleep)
    pacer.wait(0.0)
    clock.now += MAX_BACKLOG_SECONDS / 2
    pacer.wait(0.1)  # overdue by less than the allowed backlog: no sleep, no new origin
    pacer.wait(2.0)
    assert clock.slept == [pytest.approx(2.0 - MAX_BACKLOG_SECONDS / 2)]


def test_a_row_out_of_order_goes_at_once_and_moves_nothing() -> None:
    clock = FakeClock()
    times = played_at([1_000.0, 1_010.0, 0.0, 1_020.0], speed=1.0, clock=clock)
    assert [t - times[0] for t in times] == [0.0, 10.0, 10.0, 20.0]


def test_a_replay_speed_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ReplayPacer(0.0)


def test_default_rates_per_source() -> None:
    settings = Settings(_env_file=None, produce_rate=250.0)
    assert pacing("sim", None, None, settings) == (250.0, None)
    assert pacing("feed", None, None, settings) == (250.0, None)
    assert pacing("file", None, None, settings) == (0.0, None)  # a file goes as fast as it can
    assert pacing("file", 40.0, None, settings) == (40.0, None)
    assert pacing("file", None, 60.0, settings) == (0.0, 60.0)
    assert pacing("sim", 0.0, None, settings) == (0.0, None)


@pytest.mark.parametrize(
    ("kind", "rate", "speed", "message"),
    [
        ("sim", -1.0, None, "--rate must be >= 0"),
        ("sim", None, 10.0, "--replay-speed replays a file's own clock"),
        ("feed", None, 10.0, "--replay-speed replays a file's own clock"),
        ("file", None, 0.0, "--replay-speed must be positive"),
        ("file", 5.0, 10.0, "either --rate or --replay-speed"),
    ],
)
def test_pacing_mistakes(kind: str, rate: float | None, speed: float | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        pacing(kind, rate, speed, Settings(_env_file=None))  # type: ignore[arg-type]


def _events_per_second(clock: FakeClock, pacer: Pacer, events: int) -> dict[int, int]:
    seconds: dict[int, int] = {}
    start = clock.now
    for _ in range(events):
        pacer.wait()
        second = int(clock.now - start + 1e-9)
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
    start = clock.now
    records = list(paced(sim.records(60, with_label=False), 20.0, pacer))
    assert len(records) == 60
    assert clock.now - start == pytest.approx(59 / 20)
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
    start = clock.now
    models = list(paced(sim.records(30, as_model=True), 10.0, Pacer(10.0, clock, clock.sleep)))
    assert [m.trans_num for m in models] == [r["trans_num"] for r in sim.records(30)]
    assert clock.now - start == pytest.approx(2.9)
    assert list(paced(range(5), 0)) == [0, 1, 2, 3, 4]
