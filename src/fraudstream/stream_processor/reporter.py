"""Every few seconds, what this worker did: for Prometheus and for the dashboard's table.

The scorer counts in Prometheus metrics; the reporter samples them, turns the deltas into rates
and percentiles over the interval, and stores one ``stream_metrics`` row per interval, so the
dashboard can draw throughput, latency, lag and dead letters over time from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import numpy as np

from fraudstream.config import Settings
from fraudstream.errors import FraudstreamError
from fraudstream.storage.models import StreamMetrics
from fraudstream.storage.repository import Repository
from fraudstream.stream_processor import metrics
from fraudstream.stream_processor.incoming import Incoming
from fraudstream.stream_processor.pending import Pending

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 5.0


def _total(counter: object) -> float:
    return float(counter._value.get())  # type: ignore[attr-defined]  # prometheus' own counter


class Reporter:
    def __init__(
        self,
        settings: Settings,
        worker: str,
        repo: Repository,
        pending: Pending[Incoming],
        lag: Callable[[], Awaitable[int]] | None = None,
    ) -> None:
        self.settings = settings
        self.worker = worker
        self.repo = repo
        self.pending = pending
        self.lag = lag
        self.latencies: list[float] = []

    async def run(self) -> None:
        last = time.monotonic()
        scored, retries, dlq = (
            _total(c) for c in (metrics.SCORED, metrics.RETRIES, metrics.DEAD_LETTERS)
        )
        while True:
            await asyncio.sleep(INTERVAL_SECONDS)
            now = time.monotonic()
            s, r, d = (_total(c) for c in (metrics.SCORED, metrics.RETRIES, metrics.DEAD_LETTERS))
            lag = await self._lag()
            p50, p95, p99 = self._percentiles()
            sample = StreamMetrics(
                ts=datetime.now(UTC),
                worker=self.worker,
                batch_size=self.pending.high_water,
                throughput=(s - scored) / (now - last),
                lag=lag,
                retries=int(r - retries),
                dlq_count=int(d - dlq),
                latency_p50_ms=p50,
                latency_p95_ms=p95,
                latency_p99_ms=p99,
            )
            self.pending.high_water = len(self.pending)
            scored, retries, dlq, last = s, r, d, now
            try:
                await self.repo.record_stream_metrics([sample])
            except FraudstreamError as exc:
                log.warning("stream metrics not stored: %s", exc)

    async def _lag(self) -> int:
        """The consumer's lag; 0 while it cannot be known (a rebalance, the first fetch)."""
        if self.lag is None:
            return 0
        try:
            return await self.lag()
        except Exception:  # the report must never stop the worker
            log.debug("lag not available", exc_info=True)
            return 0

    def observe_latency(self, seconds: float) -> None:
        self.latencies.append(seconds)

    def _percentiles(self) -> tuple[float | None, float | None, float | None]:
        samples, self.latencies = self.latencies, []
        if not samples:
            return None, None, None
        p = np.percentile(np.asarray(samples) * 1000, [50, 95, 99])
        return float(p[0]), float(p[1]), float(p[2])
