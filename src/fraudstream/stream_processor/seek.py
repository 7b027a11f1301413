"""Faust's aiokafka consumer with its seek after a rebalance mended.

Faust seeks to the committed offsets after a rebalance only where one is above 0. A partition a
worker keeps through a rebalance keeps its fetch position, past every event it had fetched; the
rebalance dropped those (Faust's buffers cleared, the stream's pending set emptied), so with
nothing committed yet they were never fetched again and the partition stood still until the
next rebalance (a CI run: 2,946 of 6,000 never scored; docs/stream.md). The stream runs this
consumer whichever fetch loop it uses (:mod:`.drain` builds on it);
``tests/unit/stream_processor/test_drain.py`` pins the Faust method restated here.
"""

from __future__ import annotations

from faust.transport.consumer import ensure_TP
from faust.transport.drivers import aiokafka


class SeekingConsumer(aiokafka.Consumer):
    """Faust's aiokafka consumer that also seeks partitions with nothing committed to their
    start after a rebalance."""

    async def perform_seek(self) -> None:
        """Faust's seek to the committed offsets, and to the start of each partition where none
        is committed. The start is where Faust's ``earliest`` reset would go; a compacted or
        expired start is reset there by the client. Restated rather than called and followed by
        a second seek: calling it would read the committed offsets twice."""
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


class SeekingTransport(aiokafka.Transport):
    """Faust's aiokafka transport with :class:`SeekingConsumer`."""

    Consumer = SeekingConsumer
