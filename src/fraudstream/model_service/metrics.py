"""Prometheus metrics of the model service (one registry per process, scraped at /metrics)."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge, Histogram, Info

REQUESTS = Counter(
    "fraudstream_service_requests_total", "HTTP requests by route and status", ["route", "status"]
)
LATENCY = Histogram(
    "fraudstream_service_request_seconds",
    "Time to answer a scoring request",
    ["route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)
BATCH_SIZE = Histogram(
    "fraudstream_service_batch_size",
    "Transactions per scoring request",
    buckets=(1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000),
)
SCORED = Counter("fraudstream_service_scored_total", "Transactions scored by the champion")
FLAGGED = Counter("fraudstream_service_flagged_total", "Transactions answered is_fraud=1")
REFUSED = Counter("fraudstream_service_refused_total", "Requests refused, by reason", ["reason"])
MODEL_SWAPS = Counter("fraudstream_service_model_swaps_total", "Champion swaps since start")
MODEL_REFUSALS = Counter(
    "fraudstream_service_model_refusals_total", "Model versions that could not be loaded"
)
MODEL = Info("fraudstream_service_model", "The champion this replica serves")
CHAMPION_VERSION = Gauge(
    "fraudstream_service_champion_version", "Registry version number of the served champion"
)
SHADOW_SCORED = Counter(
    "fraudstream_service_shadow_scored_total", "Transactions scored by the challenger in shadow"
)
SHADOW_DROPPED = Counter(
    "fraudstream_service_shadow_dropped_total",
    "Transactions not shadow-scored because the shadow queue was full or storage failed",
)


def record_champion(name: str, version: str) -> None:
    MODEL.info({"name": name, "version": version})
    if version.isdigit():
        CHAMPION_VERSION.set(int(version))


class CountRequests:
    """ASGI middleware: every answer counted in :data:`REQUESTS` by route template (bounded
    cardinality: ``/predict``, never a raw path) and status, errors included."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def counted(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("route"), "path", "unmatched")
                REQUESTS.labels(route, str(message["status"])).inc()
            await send(message)

        await self.app(scope, receive, counted)
