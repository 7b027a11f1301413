"""The stream's HTTP client of the model service: one place with explicit timeouts and limits.

It sorts every answer into what the scorer does next:

- verdicts: a 200 whose body is one well-formed :class:`~fraudstream.schema.Prediction` per
  transaction, for exactly the transactions asked, in order;
- items the service named (a 422 naming them): dead-letter those, score the rest;
- an outage: no answer at all (refused connection), 503 (no model yet), 401/403 (the key is
  wrong): retry for ever, the batch growing;
- anything else, a suspect: a 5xx from a service that answers, a timeout, a 200 whose body does not
  match the request, a 4xx naming nothing. One message's content may be behind it, or the service
  may be failing for everybody; the scorer tells the two apart with a one-item probe.

It never raises for an answer; it raises only for programming errors.
"""

from __future__ import annotations

import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import httpx
import msgspec

from fraudstream.config import ServiceSettings
from fraudstream.schema import API_KEY_HEADER, Prediction
from fraudstream.wire import struct_for

PredictionWire = struct_for(Prediction)


class _ItemError(msgspec.Struct):
    index: int | None
    field: str
    problem: str


class _ErrorBody(msgspec.Struct):
    detail: str
    errors: list[_ItemError] = []


_predictions = msgspec.json.Decoder(list[PredictionWire])  # type: ignore[valid-type]
_errors = msgspec.json.Decoder(_ErrorBody)
_OUTAGE_STATUS: Final = frozenset({401, 403, 503})


@dataclass(frozen=True)
class Answer:
    """What one request achieved."""

    verdicts: list[Prediction] | None = None
    """One per item, in order, when the service answered 200 for exactly these items."""
    invalid: dict[int, str] = field(default_factory=dict)
    """Index -> reason, for items the service refused (422 naming them)."""
    failure: str | None = None
    """Why no verdict came back (status, timeout, connection, a body that does not match)."""
    outage: bool = False
    """The failure says the service is away for everybody (not a suspect)."""


class ModelClient:
    """POST /predict with keep-alive, bounded connections and explicit timeouts."""

    def __init__(
        self,
        service: ServiceSettings,
        timeout_seconds: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        headers = {"Content-Type": "application/json"}
        if service.api_key is not None:
            headers[API_KEY_HEADER] = service.api_key.get_secret_value()
        self.max_batch = service.max_batch
        """The most items the service takes in one request."""
        self._client = httpx.AsyncClient(
            base_url=service.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout_seconds, connect=2.0),
            limits=httpx.Limits(max_connections=4, max_keepalive_connections=4),
            transport=transport,
        )

    async def predict(
        self, body: bytes, trans_nums: Sequence[str], *, explain_all: bool = False
    ) -> Answer:
        """Score the request ``body`` (the transactions ``trans_nums``, in order); with
        ``explain_all`` every verdict carries its reasons, not only the flagged ones."""
        params = {"reasons": "all"} if explain_all else None
        try:
            response = await self._client.post("/predict", content=body, params=params)
        except httpx.TimeoutException:
            return Answer(failure="the model service did not answer in time")
        except httpx.TransportError as exc:
            return Answer(
                failure=f"the model service is unreachable ({type(exc).__name__})", outage=True
            )
        status = response.status_code
        if status == 200:
            return _verdicts(response.content, trans_nums)
        if status == 422:
            invalid = _named_items(response.content, len(trans_nums))
            if invalid:
                return Answer(invalid=invalid)
        return Answer(
            failure=f"the model service answered HTTP {status}", outage=status in _OUTAGE_STATUS
        )

    async def aclose(self) -> None:
        await self._client.aclose()


def _verdicts(content: bytes, trans_nums: Sequence[str]) -> Answer:
    try:
        verdicts = typing.cast(list[Prediction], _predictions.decode(content))
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        return Answer(failure=f"the model service's answer is unreadable: {exc}")
    if len(verdicts) != len(trans_nums):
        return Answer(
            failure=f"the model service answered {len(verdicts)} verdicts "
            f"for {len(trans_nums)} transactions"
        )
    for i, (verdict, asked) in enumerate(zip(verdicts, trans_nums, strict=True)):
        if verdict.trans_num != asked:
            return Answer(
                failure=f"the model service's verdict {i} is for {verdict.trans_num!r}, "
                f"not {asked!r}"
            )
    return Answer(verdicts=verdicts)


def _named_items(content: bytes, n_items: int) -> dict[int, str]:
    try:
        body = _errors.decode(content)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return {}
    invalid: dict[int, list[str]] = {}
    for err in body.errors:
        if err.index is not None and 0 <= err.index < n_items:
            invalid.setdefault(err.index, []).append(f"{err.field}: {err.problem}")
    return {i: "; ".join(reasons) for i, reasons in invalid.items()}
