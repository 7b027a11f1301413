"""Delayed labels: each transaction's label goes out only once it would be known.

A chargeback arrives days after the transaction. The simulator knows every label at once, so
the producer holds each one back until ``label_delay_days`` after its transaction, on the
source's own clock (the latest transaction time sent so far): in a paced simulator run, labels
trail the transactions by that much simulated time, as they would in a bank. For a demo where
waiting days of simulated time is too long, ``wall_delay`` holds each label that many real
seconds after its transaction was sent instead. Either way the event says when the label became
known on the source's clock: ``labelled_at`` = transaction time + delay, in UTC.
"""

from __future__ import annotations

import heapq
import itertools
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import orjson

from fraudstream.producer.items import Outgoing

_DAY = 86_400.0


def label_json(trans_num: str, is_fraud: int, labelled_at: float) -> bytes:
    """A :class:`~fraudstream.schema.LabelEvent` as its ``model_dump_json()`` writes it, byte
    for byte (a unit test holds the two together), in a fifth of the time: the simulator sends
    one label per transaction, and building the model would cost more than the transaction's
    own checks."""
    event = {
        "trans_num": trans_num,
        "is_fraud": 1 if is_fraud else 0,
        "labelled_at": datetime.fromtimestamp(labelled_at, UTC),
        "source": "chargeback",
        "author": None,
        "note": None,
    }
    return orjson.dumps(event, option=orjson.OPT_UTC_Z)


class LabelSchedule:
    """Labels waiting for their time; :meth:`due` hands out those whose time has come."""

    def __init__(
        self,
        delay_days: float,
        wall_delay: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.delay_seconds = delay_days * _DAY
        self.wall_delay = wall_delay
        self._clock = clock
        self._now = float("-inf")
        """The source's clock: the latest transaction time held so far."""
        self._waiting: list[tuple[float, int, float, str, int, str]] = []
        """(due, tie-break, labelled_at, trans_num, is_fraud, key), a heap on ``due``."""
        self._order = itertools.count()

    def __len__(self) -> int:
        """Labels not yet due."""
        return len(self._waiting)

    def hold(self, item: Outgoing) -> None:
        """Keep the label of a transaction just sent (nothing when the source has none)."""
        self._now = max(self._now, item.event_time)
        if item.is_fraud is None:
            return
        labelled_at = item.event_time + self.delay_seconds
        due = labelled_at if self.wall_delay is None else self._clock() + self.wall_delay
        entry = (due, next(self._order), labelled_at, item.trans_num, item.is_fraud, item.key)
        heapq.heappush(self._waiting, entry)

    def due(self) -> Iterator[tuple[str, bytes]]:
        """(key, LabelEvent JSON) of every label whose time has come, earliest first."""
        now = self._now if self.wall_delay is None else self._clock()
        waiting = self._waiting
        while waiting and waiting[0][0] <= now:
            _, _, labelled_at, trans_num, is_fraud, key = heapq.heappop(waiting)
            yield key, label_json(trans_num, is_fraud, labelled_at)

    def seconds_to_next(self) -> float | None:
        """Real seconds until the next label is due, when the clock is the real one; else None
        (on the source's clock, no label comes due once the source has ended)."""
        if self.wall_delay is None or not self._waiting:
            return None
        return max(0.0, self._waiting[0][0] - self._clock())
