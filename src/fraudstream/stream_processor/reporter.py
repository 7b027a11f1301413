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

from fraudstream.errors import FraudstreamError
from fraudstream.storage.models import StreamMetrics
from fraudstream.storage.repository import Repository
from fraudstream.stream_processor import metrics
from fraudstream.stream_processor.health import Health
from fraudstream.stream_processor.incoming import Incoming
from fraudstream.stream_processor.pending import Pending

log = logging.getLogger(__name__)

INTERVAL_SECONDS = 5.0


class Reporter:
    def __init__(
        self,
        worker: str,
        repo: Repository,
        pending: Pending[Incoming],
        lag: Callable[[], Awaitable[dict[int, int]]] | None = None,
        health: Health | None = None,
    ) -> None:
        self.worker = worker
        self.repo = repo
        self.pending = pending
        self.lag = lag
        self.health = health or Health()
        self.latencies: list[float] = []

    async def run(self) -> None:
        last = time.monotonic()
        counters = (metrics.SCORED, metrics.RETRIES, metrics.DEAD_LETTERS)
        scored, retries, dlq = (metrics.total(c) for c in counters)
        while True:
            await asyncio.sleep(INTERVAL_SECONDS)
            now = time.monotonic()
            s, r, d = (metrics.total(c) for c in counters)
            lag = await self._lag()
            p50, p95, p99 = self._percentiles()
            health = self.health
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
                state=health.state,
                state_since=health.since,
                state_reason=health.reason,
                isolating=health.isolating,
                last_failure=health.last_failure,
                last_failure_at=health.last_failure_at,
            )
            self.pending.high_water = len(self.pending)
            scored, retries, dlq, last = s, r, d, now
            try:
                await self.repo.record_stream_metrics([sample])
            except FraudstreamError as exc:
                log.warning("stream metrics not stored: %s", exc)

    async def _lag(self) -> int:
        """The worker's lag, summed (and per partition in ``fraudstream_stream_lag``); 0 while
        it cannot be known (a rebalance, the first fetch)."""
        if self.lag is None:
            return 0
        try:
            per_partition = await self.lag()
        except Exception:  # the report must never stop the worker
            log.debug("lag not available", exc_info=True)
            return 0
        metrics.LAG.clear()  # partitions this worker no longer owns leave the gauge
        for partition, behind in per_partition.items():
            metrics.LAG.labels(str(partition)).set(behind)
        return sum(per_partition.values())

    def observe_latency(self, seconds: float) -> None:
        self.latencies.append(seconds)

    def _percentiles(self) -> tuple[float | None, float | None, float | None]:
        samples, self.latencies = self.latencies, []
        if not samples:
            return None, None, None
        p = np.percentile(np.asarray(samples) * 1000, [50, 95, 99])
        return float(p[0]), float(p[1]), float(p[2])
