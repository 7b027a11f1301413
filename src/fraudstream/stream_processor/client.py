"""The stream's HTTP client of the model service: one place with explicit timeouts and limits.

It sorts every answer into what the scorer does next: verdicts (200), items the service named
as invalid (422: dead-letter those, score the rest), or a failure worth retrying (anything
else: 5xx, 401 until the key is fixed, timeouts, refused connections). It never raises for an
answer; it raises only for programming errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx
import msgspec

from fraudstream.config import Settings
from fraudstream.model_service.security import API_KEY_HEADER


class ServiceVerdict(msgspec.Struct):
    """One item of the model service's answer (``model_service.schemas.Prediction``)."""

    trans_num: str
    is_fraud: int
    score: float
    threshold: float
    model_name: str
    model_version: str
    reasons: list[dict[str, object]]


class _ItemError(msgspec.Struct):
    index: int | None
    field: str
    problem: str


class _ErrorBody(msgspec.Struct):
    detail: str
    errors: list[_ItemError] = []


_verdicts = msgspec.json.Decoder(list[ServiceVerdict])
_errors = msgspec.json.Decoder(_ErrorBody)


@dataclass(frozen=True)
class Answer:
    """What one request achieved."""

    verdicts: list[ServiceVerdict] | None = None
    """One per item, in order, when the service answered 200."""
    invalid: dict[int, str] = field(default_factory=dict)
    """Index -> reason, for items the service refused (422 naming them)."""
    failure: str | None = None
    """Why the request must be retried (status, timeout, connection)."""


class ModelClient:
    """POST /predict with keep-alive, bounded connections and explicit timeouts."""

    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        headers = {"Content-Type": "application/json"}
        if settings.api_key is not None:
            headers[API_KEY_HEADER] = settings.api_key.get_secret_value()
        self._client = httpx.AsyncClient(
            base_url=settings.service_url,
            headers=headers,
            timeout=httpx.Timeout(settings.stream_request_timeout_seconds, connect=2.0),
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
            transport=transport,
        )

    async def predict(self, body: bytes, n_items: int) -> Answer:
        try:
            response = await self._client.post("/predict", content=body)
        except httpx.TimeoutException:
            return Answer(failure="timeout")
        except httpx.TransportError as exc:
            return Answer(failure=f"unreachable ({type(exc).__name__})")
        if response.status_code == 200:
            try:
                verdicts = _verdicts.decode(response.content)
            except msgspec.DecodeError as exc:
                return Answer(failure=f"unreadable answer: {exc}")
            if len(verdicts) != n_items:
                return Answer(failure=f"{len(verdicts)} verdicts for {n_items} transactions")
            return Answer(verdicts=verdicts)
        if response.status_code == 422:
            invalid = _named_items(response.content, n_items)
            if invalid:
                return Answer(invalid=invalid)
        return Answer(failure=f"HTTP {response.status_code}")

    async def aclose(self) -> None:
        await self._client.aclose()


def _named_items(content: bytes, n_items: int) -> dict[int, str]:
    try:
        body = _errors.decode(content)
    except msgspec.DecodeError:
        return {}
    invalid: dict[int, list[str]] = {}
    for err in body.errors:
        if err.index is not None and 0 <= err.index < n_items:
            invalid.setdefault(err.index, []).append(f"{err.field}: {err.problem}")
    return {i: "; ".join(reasons) for i, reasons in invalid.items()}


def encode_batch(items: Sequence[msgspec.Struct]) -> bytes:
    return msgspec.json.encode(items)
