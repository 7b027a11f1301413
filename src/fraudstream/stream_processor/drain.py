"""Faust's fetch loop without a task race per message.

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
the loop is Faust 0.15.3's ``Consumer._drain_messages`` with that one call changed. It builds on
:class:`~.seek.SeekingConsumer` (the seek after a rebalance mended), as Faust's own loop does
when ``FRAUD_STREAM_FAST_DRAIN=false``.
``docs/faust-drain.md`` shows the loop change as it would be proposed upstream;
``tests/unit/stream_processor/test_drain.py`` fails when Faust's version or any of the methods
this relies on changes, so an upgrade cannot silently run a stale copy.
"""

from __future__ import annotations

import asyncio
from typing import Any, Final, cast

from faust.transport.conductor import Conductor
from faust.transport.consumer import CONSUMER_FETCHING
from faust.types import TP, Message
from faust.types.transports import ConsumerCallback

from fraudstream.stream_processor import metrics
from fraudstream.stream_processor.seek import SeekingConsumer, SeekingTransport

FAUST_VERSION: Final = "0.15.3"
"""The faust-streaming release this loop was read from (pyproject pins it)."""
YIELD_EVERY: Final = 100
"""Messages delivered between two passes through the event loop (Faust's figure)."""


class DrainingConsumer(SeekingConsumer):
    """The seeking consumer whose fetch loop delivers without a race when it cannot wait."""

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


class DrainingTransport(SeekingTransport):
    """Faust's aiokafka transport with :class:`DrainingConsumer`."""

    Consumer = DrainingConsumer
