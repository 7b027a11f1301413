"""Delayed labels come out only once their time has come: on the source's clock by default, on
the real clock with a wall-clock delay; and each says when it became known, in UTC."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fraudstream.producer.items import Outgoing
from fraudstream.producer.labels import LabelSchedule, label_json
from fraudstream.schema import LabelEvent

pytestmark = pytest.mark.unit

T0 = int(datetime(2019, 1, 1, tzinfo=UTC).timestamp())
HOUR = 3_600


def sent(n: int, seconds: int, is_fraud: int | None = 0) -> Outgoing:
    return Outgoing(b"{}", f"{4_000_000_000_000_000 + n}", f"t{n}", T0 + seconds, is_fraud)


def emitted(schedule: LabelSchedule) -> list[tuple[str, LabelEvent]]:
    return [(key, LabelEvent.model_validate_json(value)) for key, value in schedule.due()]


def test_labels_wait_for_the_source_clock_to_pass_their_time() -> None:
    schedule = LabelSchedule(delay_days=1.0)
    schedule.hold(sent(1, 0, is_fraud=1))
    schedule.hold(sent(2, 6 * HOUR))
    assert emitted(schedule) == []
    schedule.hold(sent(3, 24 * HOUR - 1))
    assert emitted(schedule) == []  # one second short of the first label's day
    assert len(schedule) == 3

    schedule.hold(sent(4, 30 * HOUR))
    labels = emitted(schedule)

    assert [(key[-1], e.trans_num, e.is_fraud) for key, e in labels] == [
        ("1", "t1", 1),
        ("2", "t2", 0),
    ]
    assert labels[0][1].labelled_at == datetime(2019, 1, 2, tzinfo=UTC)
    assert labels[1][1].labelled_at == datetime(2019, 1, 2, 6, tzinfo=UTC)
    assert len(schedule) == 2
    assert schedule.seconds_to_next() is None  # no real clock: nothing comes due by waiting


def test_sources_without_labels_schedule_nothing_but_move_the_clock() -> None:
    schedule = LabelSchedule(delay_days=0.5)
    schedule.hold(sent(1, 0))
    schedule.hold(sent(2, 13 * HOUR, is_fraud=None))  # a feed without is_fraud
    assert [e.trans_num for _, e in emitted(schedule)] == ["t1"]
    assert len(schedule) == 0


def test_rows_out_of_order_come_out_in_order_of_their_time() -> None:
    schedule = LabelSchedule(delay_days=0.0)
    schedule.hold(sent(1, 50))
    schedule.hold(sent(2, 10))  # older than the clock already is: due at once
    schedule.hold(sent(3, 40))
    assert [e.trans_num for _, e in emitted(schedule)] == ["t2", "t3", "t1"]


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_a_wall_clock_delay_maps_days_to_seconds() -> None:
    clock = Clock()
    schedule = LabelSchedule(delay_days=3.0, wall_delay=2.0, clock=clock)
    schedule.hold(sent(1, 0))
    clock.now += 1.0
    schedule.hold(sent(2, 10 * 86_400))  # ten simulated days later, one real second later
    assert emitted(schedule) == []
    assert schedule.seconds_to_next() == pytest.approx(1.0)

    clock.now += 1.0
    first = emitted(schedule)
    clock.now += 1.0
    second = emitted(schedule)

    assert [e.trans_num for _, e in first] == ["t1"]
    assert [e.trans_num for _, e in second] == ["t2"]
    # labelled_at stays on the transactions' clock: the transaction time plus the delay
    assert first[0][1].labelled_at == datetime(2019, 1, 4, tzinfo=UTC)
    assert schedule.seconds_to_next() is None


@pytest.mark.parametrize("seconds", [T0, T0 + 0.2, T0 + 10_627.123456, 0.0])
@pytest.mark.parametrize("is_fraud", [0, 1])
def test_label_json_is_the_contract_byte_for_byte(seconds: float, is_fraud: int) -> None:
    event = LabelEvent(
        trans_num="2da90c7d74bd46a0caf3777415b3ebd3",
        is_fraud=is_fraud,  # type: ignore[arg-type]
        labelled_at=datetime.fromtimestamp(seconds, UTC),
    )
    assert label_json(event.trans_num, is_fraud, seconds) == event.model_dump_json().encode()
