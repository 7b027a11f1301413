"""Pacing the feed, two ways, with the clock and sleep injectable for tests.

:class:`Pacer` lets transactions through at a fixed rate (``--rate``, the simulator's and the
feed's default); :class:`ReplayPacer` plays a file at its own pace sped up: ``--replay-speed
60`` plays an hour of the file's clock in a minute, bursts and quiet nights included. A feed
that fell behind (a slow broker, a paused process) catches up at most
``MAX_BACKLOG_SECONDS`` of backlog either way and otherwise keeps the pace from where it is,
rather than firing the backlog in one burst. Pacing is the producer's business: the simulator
generates rows as fast as asked and knows no wall clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import Final, TypeVar

T = TypeVar("T")

MAX_BACKLOG_SECONDS: Final = 1.0
"""A consumer that fell behind catches up by at most this much, never by a long burst."""


class Pacer:
    """Lets events through at ``rate`` per second: call :meth:`wait` before each one."""

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate <= 0:
            raise ValueError("a pacer needs a positive rate; use no pacer for an unpaced stream")
        self.interval = 1.0 / rate
        self._clock = clock
        self._sleep = sleep
        self._due: float | None = None

    def wait(self) -> None:
        """Block until the next event is due."""
        now = self._clock()
        if self._due is None or now - self._due > MAX_BACKLOG_SECONDS:
            self._due = now
        elif self._due > now:
            self._sleep(self._due - now)
        self._due += self.interval


def paced(items: Iterable[T], rate: float, pacer: Pacer | None = None) -> Iterator[T]:
    """``items`` at ``rate`` per second (0 and no pacer: as fast as they come).

    For any iterable: ``paced(sim.records(as_model=True), 200)`` paces Transaction models.
    """
    if rate <= 0 and pacer is None:
        yield from items
        return
    pace = pacer or Pacer(rate)
    for item in items:
        pace.wait()
        yield item


class ReplayPacer:
    """Holds each transaction until its time on the file's clock, divided by ``speed``, comes."""

    def __init__(
        self,
        speed: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if speed <= 0:
            raise ValueError("a replay speed must be positive")
        self.speed = speed
        self._clock = clock
        self._sleep = sleep
        self._origin: tuple[float, float] | None = None
        """(wall-clock time, event time) that the pace is measured from."""
        self._latest = float("-inf")

    def wait(self, event_time: float) -> None:
        """Block until the transaction of ``event_time`` (seconds on the file's clock) is due.

        A row earlier than one already played (a file not quite in time order) goes at once and
        moves nothing: the rows after it keep their pace.
        """
        now = self._clock()
        if self._origin is None:
            self._origin = (now, event_time)
        else:
            wall0, event0 = self._origin
            due = wall0 + (event_time - event0) / self.speed
            if due > now:
                self._sleep(due - now)
            elif now - due > MAX_BACKLOG_SECONDS and event_time >= self._latest:
                self._origin = (now, event_time)
        self._latest = max(self._latest, event_time)
