"""The progress of a run: a live line on a terminal, a log line now and then otherwise.

Under ``fraudstream up`` the producer writes to a log file, where a live line would be noise;
there it logs its counts and rate every ``log_every`` seconds instead. Either way the check is
cheap enough to call for every message: it reads the clock and returns.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from types import TracebackType
from typing import Final

from rich.console import Console
from rich.live import Live
from rich.text import Text

from fraudstream.producer.counts import Counts

log = logging.getLogger(__name__)

_REFRESH_SECONDS: Final = 0.5
_RATE_WINDOW_SECONDS: Final = 5.0


class Progress:
    """Call :meth:`update` as often as you like; it shows something at most twice a second.

    ``console``: where the live line goes when it is a terminal; otherwise (or without one) a
    log line every ``log_every`` seconds.
    """

    def __init__(
        self,
        counts: Counts,
        console: Console | None = None,
        *,
        refresh: Callable[[], None] = lambda: None,
        log_every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.counts = counts
        self._refresh = refresh
        self._clock = clock
        self._console = console
        self._live: Live | None = None
        self._log_every = log_every
        self._next = 0.0
        self._next_log = clock() + log_every
        self._samples: deque[tuple[float, int]] = deque()

    def __enter__(self) -> Progress:
        if self._console is not None and self._console.is_terminal:
            self._live = Live(Text(""), console=self._console, transient=True, auto_refresh=False)
            self._live.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.stop()

    def rate(self) -> float:
        """Transactions sent per second over the last few seconds."""
        if len(self._samples) < 2:
            return 0.0
        (t0, n0), (t1, n1) = self._samples[0], self._samples[-1]
        return (n1 - n0) / (t1 - t0) if t1 > t0 else 0.0

    def update(self) -> None:
        """Show the counts if it is time to (``refresh`` brings them up to date first)."""
        now = self._clock()
        if now < self._next:
            return
        self._next = now + _REFRESH_SECONDS
        self._refresh()
        self._samples.append((now, self.counts.sent))
        while now - self._samples[0][0] > _RATE_WINDOW_SECONDS:
            self._samples.popleft()
        line = self.line()
        if self._live is not None:
            self._live.update(Text(line), refresh=True)
        elif now >= self._next_log:
            self._next_log = now + self._log_every
            log.info("%s", line)

    def line(self) -> str:
        c = self.counts
        text = (
            f"producing: sent {c.sent:,} ({self.rate():,.0f}/s) · delivered {c.delivered:,} · "
            f"invalid {c.invalid:,}"
        )
        if c.labels_sent:
            text += f" · labels {c.labels_sent:,}"
        if c.feed_errors:
            text += f" · feed errors {c.feed_errors:,}"
        return text
