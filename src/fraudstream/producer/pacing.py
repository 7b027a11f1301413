"""Replaying a file at its own pace: the gaps between transaction times, sped up.

A fixed rate is the simulator's :class:`~fraudstream.simulator.pacing.Pacer`; this is the
other way to pace, for files: ``--replay-speed 60`` plays an hour of the file's clock in a
minute, bursts and quiet nights included. Like the fixed-rate pacer, a replay that fell behind
(a slow broker, a paused process) catches up at most a second of backlog and otherwise keeps
the pace from where it is, rather than firing the backlog in one burst.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from fraudstream.simulator.pacing import MAX_BACKLOG_SECONDS


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
