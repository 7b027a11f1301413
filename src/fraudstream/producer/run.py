"""One producer run: items from a source to Kafka, paced, counted, and flushed to the last one.

Called by ``fraudstream produce`` (and by tests and benchmarks, with a source of their own).
The run owns its Kafka clients: one producer per topic it writes (transactions, labels,
dead letters), so that "delivered" counts exactly the broker's confirmations for each, which a
downstream reader can check against the topic. Every stop, whether the source ended, the limit
was reached, SIGTERM or Ctrl-C came, or the source failed, goes through the same final flush:
nothing handed to the Kafka client is dropped; a second signal gives up waiting. A message the
broker did not take (its delivery timeout passed) stops the run the same way: reading on would
only lose more.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal

from rich.console import Console

from fraudstream import dead_letters
from fraudstream.config import Settings
from fraudstream.errors import BrokerError
from fraudstream.kafka.admin import wait_for_topics
from fraudstream.kafka.producer import Producer
from fraudstream.producer.counts import Counts
from fraudstream.producer.items import Item, Outgoing, Rejected
from fraudstream.producer.labels import LabelSchedule
from fraudstream.producer.pacing import Pacer, ReplayPacer
from fraudstream.producer.progress import Progress

log = logging.getLogger(__name__)

SHOWN_INVALID: Final = 5
"""Invalid records listed one by one in the log; the others are only counted."""
_FLUSH_MARGIN_SECONDS: Final = 5.0

OnInvalid = Literal["skip", "dlq"]


@dataclass
class Stop:
    """Asks a run to stop: the first request stops reading, a second stops waiting for the flush.

    Signal handlers (see :mod:`.signals`) and tests call :meth:`request`; the run's waits
    (pacing, feed backoff) wake up at once when it is set.
    """

    requested: threading.Event = field(default_factory=threading.Event)
    forced: threading.Event = field(default_factory=threading.Event)

    def request(self) -> None:
        if self.requested.is_set():
            self.forced.set()
        self.requested.set()


@dataclass(frozen=True)
class Source:
    """Items to produce, and how to count the failures that brought none (an HTTP feed's)."""

    name: str
    items: Iterable[Item]
    errors: Callable[[], int] = lambda: 0


@dataclass(frozen=True)
class RunOptions:
    """How to produce: where to, how fast, how much, and what to do with invalid records."""

    topic: str
    on_invalid: OnInvalid = "dlq"
    rate: float = 0.0
    """Records per second taken from the source; 0: as fast as it gives them."""
    replay_speed: float | None = None
    """Pace by the records' own times, this many times faster (files)."""
    limit: int | None = None
    """Stop after so many records read (valid or not)."""


class ProduceRun:
    """Produces the items of one source; :attr:`counts` is readable while it runs and after."""

    def __init__(
        self,
        settings: Settings,
        options: RunOptions,
        *,
        labels: LabelSchedule | None = None,
        stop: Stop | None = None,
        console: Console | None = None,
    ) -> None:
        self.settings = settings
        self.options = options
        self.labels = labels
        self.stop = stop or Stop()
        self.counts = Counts()
        self._console = console
        self._transactions: Producer | None = None
        self._labels: Producer | None = None
        self._dead: Producer | None = None
        self._errors: Callable[[], int] = lambda: 0
        self._began = time.monotonic()
        self._topics_ready = False

    def check_topics(self) -> None:
        """Wait until every topic the run writes serves; a missing one is a BrokerError that
        says what to do. :meth:`run` calls it unless it was called already (the command calls
        it before it takes over SIGTERM, which until then simply ends the process)."""
        settings = self.settings
        topics = [self.options.topic]
        if self.labels is not None:
            topics.append(settings.topics.labels)
        if self.options.on_invalid == "dlq":
            topics.append(settings.topics.dlq)
        try:
            bootstrap, timeout = settings.kafka.bootstrap_servers, settings.kafka.timeout_seconds
            wait_for_topics(bootstrap, topics, timeout)
        except BrokerError as exc:
            raise BrokerError(
                f"{exc}; create fraudstream's topics with `fraudstream topics create`, "
                "or name an existing topic with --topic"
            ) from exc
        self._topics_ready = True

    def _nap(self, seconds: float) -> None:
        self.stop.requested.wait(seconds)

    def run(self, source: Source) -> Counts:
        """Produce until the source ends, the limit is reached or a stop is requested.

        Raises BrokerError when a topic is missing or the broker did not confirm everything
        (after the final flush, with :attr:`counts` complete), and whatever the source raised.
        """
        settings = self.settings
        if not self._topics_ready:
            self.check_topics()
        self._errors = source.errors
        self._transactions = Producer(settings.kafka)
        self._labels = Producer(settings.kafka) if self.labels is not None else None
        self._dead = Producer(settings.kafka) if self.options.on_invalid == "dlq" else None
        log.info("producing %s to %s", source.name, self.options.topic)
        try:
            with Progress(self.counts, self._console, refresh=self._sync) as progress:
                self._loop(source.items, self._transactions, progress)
                self._wait_for_labels(progress)
        except BaseException:
            self._close(quiet=True)
            raise
        self._close(quiet=False)
        return self.counts

    def _loop(self, items: Iterable[Item], producer: Producer, progress: Progress) -> None:
        counts, options, stop = self.counts, self.options, self.stop.requested
        pacer = Pacer(options.rate, sleep=self._nap) if options.rate > 0 else None
        speed = options.replay_speed
        replay = ReplayPacer(speed, sleep=self._nap) if speed else None
        topic, limit, labels = options.topic, options.limit, self.labels
        source = iter(items)
        while not stop.is_set() and (limit is None or counts.read < limit):
            if pacer is not None:
                pacer.wait()
                if stop.is_set():
                    break
            item = next(source, None)
            if item is None:
                break
            if not counts.read:  # the source's start-up (a simulator's population) aside
                self._began = time.monotonic()
            counts.read += 1
            if isinstance(item, Rejected):
                self._reject(item)
            else:
                if replay is not None:
                    replay.wait(item.event_time)
                producer.produce(topic, item.value, item.key)
                counts.sent += 1
                if labels is not None:
                    self._hold(labels, item)
            progress.update()

    def _hold(self, labels: LabelSchedule, item: Outgoing) -> None:
        labels.hold(item)
        self._emit_due(labels)

    def _emit_due(self, labels: LabelSchedule) -> None:
        producer = self._labels
        assert producer is not None  # created with the schedule
        topic = self.settings.topics.labels
        for key, value in labels.due():
            producer.produce(topic, value, key)
            self.counts.labels_sent += 1

    def _wait_for_labels(self, progress: Progress) -> None:
        """With labels on the real clock, the source's end is not theirs: wait until the last
        one is due (a stop request ends the wait; the rest are counted as pending)."""
        labels = self.labels
        while labels is not None and not self.stop.requested.is_set():
            wait = labels.seconds_to_next()
            if wait is None:
                return
            self._nap(wait)
            self._emit_due(labels)
            progress.update()

    def _reject(self, item: Rejected) -> None:
        counts = self.counts
        counts.invalid += 1
        if counts.invalid <= SHOWN_INVALID:
            action = "dead-lettered" if self._dead is not None else "skipped"
            log.warning("invalid, %s: %s: %s", action, item.where, item.reason)
            if counts.invalid == SHOWN_INVALID:
                log.warning("further invalid records are counted, not listed")
        if self._dead is None:
            return
        key = item.key.encode() if item.key else None
        found = dead_letters.letter(key, item.raw, item.reason, item.where, datetime.now(UTC))
        self._dead.produce(self.settings.topics.dlq, found.value, found.key, headers=found.headers)

    def _sync(self) -> None:
        """Copy the broker's answers so far into the counts; stop reading at the first loss."""
        counts = self.counts
        if self._transactions is not None:
            counts.delivered = self._transactions.delivered
            if self._transactions.failed and not counts.failed:
                log.error(
                    "the broker did not take %d transactions (%s): stopping, nothing more is read",
                    self._transactions.failed,
                    self._transactions.first_error,
                )
                self.stop.requested.set()
            counts.failed = self._transactions.failed
        if self._labels is not None:
            counts.labels_delivered = self._labels.delivered
        if self._dead is not None:
            counts.dead_lettered = self._dead.delivered
        if self.labels is not None:
            counts.labels_pending = len(self.labels)
        counts.feed_errors = self._errors()

    def _close(self, *, quiet: bool) -> None:
        """Flush every producer; the first failure is raised (logged when ``quiet``)."""
        deadline = time.monotonic() + self.settings.kafka.delivery_timeout_seconds
        deadline += _FLUSH_MARGIN_SECONDS
        counts, settings = self.counts, self.settings
        channels = (
            (self._transactions, self.options.topic, counts.sent),
            (self._labels, settings.topics.labels, counts.labels_sent),
            (self._dead, settings.topics.dlq, counts.invalid),
        )
        first: BrokerError | None = None
        for producer, topic, sent in channels:
            if producer is None:
                continue
            unconfirmed = sent - producer.delivered - producer.failed
            if unconfirmed:  # worth a line when a stop, not the source's end, cut the run
                level = logging.INFO if self.stop.requested.is_set() else logging.DEBUG
                log.log(
                    level, "waiting for %d message(s) to %s to be confirmed", unconfirmed, topic
                )
            try:
                self._drain(producer, deadline)
            except BrokerError as exc:
                first = first or exc
        self._sync()
        counts.seconds = time.monotonic() - self._began
        if first is not None:
            if not quiet:
                raise first
            log.warning("the final flush failed too: %s", first)

    def _drain(self, producer: Producer, deadline: float) -> None:
        """Wait for the broker's answers in short steps, so that a second signal is heard."""
        while len(producer) and not self.stop.forced.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            producer.poll(min(0.2, left))
        queued = len(producer)
        if queued and not producer.failed:
            why = (
                "stopped a second time"
                if self.stop.forced.is_set()
                else "the broker did not confirm them in time"
            )
            raise BrokerError(
                f"{queued} queued messages were not delivered ({why}); "
                f"is the broker at {self.settings.kafka.bootstrap_servers} up?"
            )
        producer.flush(0.0)
