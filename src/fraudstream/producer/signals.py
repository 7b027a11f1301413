"""SIGTERM and Ctrl-C become a polite stop: the run stops reading and flushes what it queued.

Without handlers, SIGTERM (what ``fraudstream up``, systemd and Docker send) kills the process
with messages still in librdkafka's queue, and Ctrl-C raises KeyboardInterrupt wherever the
loop happens to be. The handlers only set an event, so they are safe at any point; a second
signal tells the run to stop waiting for the broker.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from fraudstream.producer.run import Stop

log = logging.getLogger(__name__)

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stop_on_signals(stop: Stop) -> Iterator[Stop]:
    """Install the handlers for the duration of the block (main thread only)."""

    def handle(signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.requested.is_set():
            log.warning("%s again: no longer waiting for the broker", name)
        else:
            log.info("%s: stopping; queued messages are flushed (again to give up)", name)
        stop.request()

    previous = {sig: signal.signal(sig, handle) for sig in _SIGNALS}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
