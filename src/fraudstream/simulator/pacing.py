"""Pacing a stream at a fixed rate, with the clock and sleep injectable for tests."""

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
