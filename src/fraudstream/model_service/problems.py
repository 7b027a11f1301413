"""The one place that maps errors to HTTP answers.

Scoring code raises domain errors; this module turns each into a status and an
:class:`ErrorBody`. Anything unexpected becomes a bare 500: no trace, no path, no library
message ever reaches a client (the log has them).
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import ORJSONResponse
from starlette.exceptions import HTTPException

from fraudstream.model_service import metrics
from fraudstream.model_service.schemas import ErrorBody, ItemError
from fraudstream.model_service.scoring import ModelBroken
from fraudstream.model_service.security import BodyTooLarge, Unauthorized
from fraudstream.wire import InvalidBatch, NotJson

log = logging.getLogger(__name__)


class EmptyBatch(Exception):
    """An empty array (HTTP 422)."""


class BatchTooLarge(Exception):
    """More items than ``service_max_batch`` (HTTP 413)."""


class NotReady(Exception):
    """No champion is loaded yet (HTTP 503)."""


def _answer(status: int, reason: str, body: ErrorBody) -> ORJSONResponse:
    metrics.REFUSED.labels(reason).inc()
    return ORJSONResponse(body.model_dump(), status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(InvalidBatch)
    async def invalid(_: Request, exc: InvalidBatch) -> ORJSONResponse:
        errors = [
            ItemError(index=e.index, field=p.field, problem=p.problem)
            for e in exc.errors
            for p in e.problems
        ]
        detail = (
            str(exc) if not errors else f"{len(exc.errors)} invalid transaction(s); none scored"
        )
        return _answer(422, "invalid", ErrorBody(detail=detail, errors=errors))

    @app.exception_handler(NotJson)
    async def not_json(_: Request, exc: NotJson) -> ORJSONResponse:
        return _answer(400, "not_json", ErrorBody(detail=str(exc)))

    @app.exception_handler(EmptyBatch)
    async def empty(_: Request, exc: EmptyBatch) -> ORJSONResponse:
        return _answer(422, "empty", ErrorBody(detail="the batch is empty"))

    @app.exception_handler(BatchTooLarge)
    async def too_many(_: Request, exc: BatchTooLarge) -> ORJSONResponse:
        return _answer(413, "batch_too_large", ErrorBody(detail=str(exc)))

    @app.exception_handler(BodyTooLarge)
    async def too_big(_: Request, exc: BodyTooLarge) -> ORJSONResponse:
        return _answer(413, "body_too_large", ErrorBody(detail=str(exc)))

    @app.exception_handler(Unauthorized)
    async def unauthorized(_: Request, exc: Unauthorized) -> ORJSONResponse:
        response = _answer(401, "unauthorized", ErrorBody(detail=str(exc)))
        response.headers["WWW-Authenticate"] = "ApiKey"
        return response

    @app.exception_handler(NotReady)
    async def not_ready(_: Request, exc: NotReady) -> ORJSONResponse:
        response = _answer(503, "not_ready", ErrorBody(detail=str(exc)))
        response.headers["Retry-After"] = "5"
        return response

    @app.exception_handler(RequestValidationError)
    async def bad_params(_: Request, exc: RequestValidationError) -> ORJSONResponse:
        errors = [
            ItemError(index=None, field=".".join(str(p) for p in e["loc"]), problem=e["msg"])
            for e in exc.errors()
        ]
        return _answer(422, "invalid", ErrorBody(detail="invalid request", errors=errors))

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> ORJSONResponse:
        return ORJSONResponse(ErrorBody(detail=str(exc.detail)).model_dump(), exc.status_code)

    @app.exception_handler(ModelBroken)
    async def broken(request: Request, exc: ModelBroken) -> ORJSONResponse:
        log.error("%s %s: %s", request.method, request.url.path, exc)
        return _answer(500, "model_broken", ErrorBody(detail="the model cannot score; see the log"))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> ORJSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return _answer(500, "internal", ErrorBody(detail="internal error; see the service log"))
