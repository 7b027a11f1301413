"""Faust's fetch loop without a task race per message, and its seek after a rebalance mended.

Faust's consumer hands every fetched message to the conductor through
``wait_first(callback(message), suspend_flow.wait())``: the delivery raced against the event a
rebalance sets, so that a delivery stuck on a full stream buffer is abandoned when partitions
move. The race creates four asyncio tasks per message and cancels three (38-42 µs of CPU on
asyncio's loop, 27 on uvloop: MEASURED.md), though a delivery almost never waits.

:class:`DrainingConsumer` awaits the delivery directly when nothing on its path can wait: the
consumer's flow and the app's flow control active, the producer buffer under its limit, the
conductor not rebuilding its callback map, and room in the queue of every channel the partition
feeds. Otherwise it races exactly as Faust does. Both paths deliver the same messages in the same
order; read offsets, gaps, the ``commit_every`` commit and acknowledgements stay Faust's, because
the loop is Faust 0.15.3's ``Consumer._drain_messages`` with that one call changed.
:meth:`DrainingConsumer.perform_seek` mends a second thing, a Faust bug: after a rebalance it
also seeks the partitions with nothing committed to their start, which Faust leaves where they
were (docs/stream.md says how that lost a kept partition's events; with
``FRAUD_STREAM_FAST_DRAIN=false`` Faust's own consumer runs, without this mend).
``docs/faust-drain.md`` shows the loop change as it would be proposed upstream;
``tests/unit/stream_processor/test_drain.py`` fails when Faust's version or any of the methods
this relies on changes, so an upgrade cannot silently run a stale copy.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final, cast

from faust.transport.conductor import Conductor
from faust.transport.consumer import CONSUMER_FETCHING, ensure_TP
from faust.transport.drivers import aiokafka
from faust.types import TP, Message
from faust.types.transports import ConsumerCallback

from fraudstream.stream_processor import metrics

FAUST_VERSION: Final = "0.15.3"
"""The faust-streaming release this loop was read from (pyproject pins it)."""
YIELD_EVERY: Final = 100
"""Messages delivered between two passes through the event loop (Faust's figure)."""


class DrainingConsumer(aiokafka.Consumer):
    """Faust's aiokafka consumer whose fetch loop delivers without a race when it cannot wait."""

    def can_deliver_without_waiting(self, tp: TP) -> bool:
        """Whether the conductor's delivery of a message of ``tp`` would finish without
        suspending: each ``await`` on its path (flow control, producer ebb, the callback lock,
        a full channel queue) returns at once in this state, and nothing else runs in between."""
        app = self.app
        conductor = cast(Conductor, app.topics)
        buffer = app.producer.buffer
        return bool(
            self.flow_active
            and not self.suspend_flow.is_set()
            and app.flow_control.is_active()
            and buffer.size <= buffer.max_messages
            and not conductor._tp_to_callback_lock.locked()
            and not any(channel.queue.full() for channel in conductor._tp_index.get(tp, ()))
        )

    async def deliver(self, callback: ConsumerCallback, message: Message) -> None:
        """Hand ``message`` to the conductor: directly when that cannot wait, else raced against
        a suspended flow as Faust does (a rebalance abandons a delivery stuck on a full buffer)."""
        if self.can_deliver_without_waiting(message.tp):
            await callback(message)
        else:
            metrics.RACED.inc()
            await self.wait_first(callback(message), self.suspend_flow.wait())

    async def perform_seek(self) -> None:
        """Faust's seek to the committed offsets after a rebalance, and to the start of each
        partition where none is committed.

        Faust seeks only where the committed offset is above 0. A partition the worker keeps
        through a rebalance keeps its fetch position, past every event it had fetched; the
        rebalance dropped those (Faust's buffers cleared, the stream's pending set emptied), so
        with nothing committed yet they were never fetched again, and the partition stood
        still until the next rebalance (a CI run: 2,946 of 6,000 never scored). The start is
        where Faust's ``earliest`` reset would go; a compacted or expired start is reset there
        by the client."""
        committed = await self.seek_to_committed()
        self._read_offset.update(
            {
                tp: offset if offset is not None and offset >= 0 else None
                for tp, offset in committed.items()
            }
        )
        self._committed_offset.update(
            {
                ensure_TP(tp): offset or None
                for tp, offset in committed.items()
                if offset is not None
            }
        )
        for tp, offset in committed.items():
            if not offset:  # None or 0: Faust's seek left the position where it was
                await self.seek(ensure_TP(tp), 0)

    async def _drain_messages(self, fetcher: Any) -> None:  # Faust's loop, one call changed
        callback = self.callback
        stopping = (self._stopped.is_set, fetcher._stopped.is_set)
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        since_yield = 0
        try:
            while not any(is_set() for is_set in stopping):
                self.diag.set_flag(CONSUMER_FETCHING)
                records = self.getmany(timeout=1.0)
                # getmany may return at once many times in a row: let the loop run in between
                await self.sleep(0)
                if self.should_stop:
                    continue
                async for tp, message in records:
                    since_yield += 1
                    if since_yield > YIELD_EVERY:
                        await asyncio.sleep(0)
                        since_yield = 0
                    offset = message.offset
                    last = read_offset[tp]
                    if last is not None and offset < last:
                        self.log.dev(
                            "DROPPED MESSAGE ROFF %r: k=%r v=%r", offset, message.key, message.value
                        )
                        continue
                    if last and offset - last > 1 and acks_enabled_for(message.topic):
                        await self._add_gap(tp, last + 1, offset)
                    if self._commit_every is not None and self._n_acked >= self._commit_every:
                        self._n_acked = 0
                        await self.commit()
                    await self.deliver(callback, message)
                    read_offset[tp] = offset
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)


class DrainingTransport(aiokafka.Transport):
    """Faust's aiokafka transport with :class:`DrainingConsumer`."""

    Consumer = DrainingConsumer
