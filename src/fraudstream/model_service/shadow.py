"""Score each batch with the challenger too, outside the response path, and store the scores.

The champion/challenger job then compares both models on exactly the traffic the champion saw.
The queue is bounded: when storage is slow or down, shadow work is dropped and counted, never
allowed to slow an answer or grow memory.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

from fraudstream.errors import FraudstreamError
from fraudstream.model_service import metrics
from fraudstream.model_service.live import LiveModels
from fraudstream.storage.models import ShadowScore

log = logging.getLogger(__name__)


ShadowStore = Callable[[Sequence[ShadowScore]], Awaitable[object]]


class ShadowScorer:
    """A bounded queue of batches and one task that scores and stores them."""

    def __init__(self, live: LiveModels, store: ShadowStore, max_batches: int = 64) -> None:
        self.live = live
        self.store = store
        self._queue: asyncio.Queue[tuple[list[str], npt.NDArray[np.float64]]] = asyncio.Queue(
            max_batches
        )

    def submit(self, trans_nums: list[str], features: npt.NDArray[np.float64]) -> None:
        """Queue a batch if a challenger is served; drop it (counted) if the queue is full."""
        if self.live.challenger is None:
            return
        try:
            self._queue.put_nowait((trans_nums, features))
        except asyncio.QueueFull:
            metrics.SHADOW_DROPPED.inc(len(trans_nums))

    async def run(self) -> None:
        while True:
            trans_nums, features = await self._queue.get()
            try:
                await self._score(trans_nums, features)
            finally:
                self._queue.task_done()

    async def _score(self, trans_nums: list[str], features: npt.NDArray[np.float64]) -> None:
        served = self.live.challenger
        if served is None:
            return
        model = served.model
        try:
            scores = await asyncio.to_thread(model.score, features)
            now = datetime.now(UTC)
            rows = [
                ShadowScore(t, model.name, model.version, float(s), now)
                for t, s in zip(trans_nums, scores, strict=True)
                if math.isfinite(s)
            ]
            await self.store(rows)
            metrics.SHADOW_SCORED.inc(len(rows))
            metrics.SHADOW_DROPPED.inc(len(trans_nums) - len(rows))
        except FraudstreamError as exc:
            metrics.SHADOW_DROPPED.inc(len(trans_nums))
            log.warning("shadow scores of %d transactions lost: %s", len(trans_nums), exc)
        except Exception:  # the challenger failing on some batch must not end shadow scoring
            metrics.SHADOW_DROPPED.inc(len(trans_nums))
            log.exception("the challenger could not score %d transactions", len(trans_nums))

    async def drain(self) -> None:
        """Wait until queued shadow work is done (callers bound it with ``asyncio.timeout``)."""
        await self._queue.join()
