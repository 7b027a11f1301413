"""The routes. Each is thin: read, hand to the scoring code, answer."""

from __future__ import annotations

import time
from typing import Annotated, Literal

import msgspec
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import ORJSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from fraudstream.config import Settings
from fraudstream.model_service import metrics
from fraudstream.model_service.live import LiveModels, Served
from fraudstream.model_service.problems import BatchTooLarge, EmptyBatch, NotReady
from fraudstream.model_service.schemas import (
    ErrorBody,
    Health,
    LoadedModelInfo,
    ModelsInfo,
    PredictItem,
)
from fraudstream.model_service.scoring import score_batch
from fraudstream.model_service.security import check_api_key, read_body
from fraudstream.model_service.shadow import ShadowScorer
from fraudstream.schema import Prediction
from fraudstream.wire import BatchDecoder

_decoder = BatchDecoder(PredictItem)


# The dependencies are coroutines although none awaits: FastAPI runs a plain function
# dependency in its thread pool, a round trip through another thread for each, on every request.


async def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def _live(request: Request) -> LiveModels:
    live: LiveModels = request.app.state.live
    return live


async def _shadow(request: Request) -> ShadowScorer | None:
    shadow: ShadowScorer | None = request.app.state.shadow
    return shadow


async def _authorised(request: Request, settings: Annotated[Settings, Depends(_settings)]) -> None:
    check_api_key(settings, request)


SettingsDep = Annotated[Settings, Depends(_settings)]
LiveDep = Annotated[LiveModels, Depends(_live)]
ShadowDep = Annotated[ShadowScorer | None, Depends(_shadow)]
Reasons = Literal["flagged", "all", "none"]

router = APIRouter()
scoring = APIRouter(dependencies=[Depends(_authorised)])

_REQUEST_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"$ref": "#/components/schemas/PredictItem"},
                }
            }
        },
    }
}
_ERRORS = {
    400: {"model": ErrorBody, "description": "the body is not JSON"},
    401: {"model": ErrorBody, "description": "missing or wrong API key"},
    413: {"model": ErrorBody, "description": "too many transactions, or too many bytes"},
    422: {
        "model": ErrorBody,
        "description": "invalid or unscorable transactions, each named; none scored",
    },
    503: {"model": ErrorBody, "description": "no model loaded yet"},
}


async def _score(
    request: Request,
    settings: Settings,
    live: LiveModels,
    shadow: ShadowScorer | None,
    reasons: Reasons,
) -> tuple[Served, list[Prediction]]:
    started = time.perf_counter()
    body = await read_body(request, settings.service.max_body_bytes)
    items = _decoder.decode(body)
    if not items:
        raise EmptyBatch
    if len(items) > settings.service.max_batch:
        raise BatchTooLarge(
            f"{len(items)} transactions; at most {settings.service.max_batch} per request"
        )
    served = live.champion  # read once: a swap during this request does not affect it
    if served is None:
        raise NotReady("no champion model is loaded yet")
    top = 0 if reasons == "none" else 3
    scored = score_batch(served.model, items, top=top, all_rows=reasons == "all")
    rows = scored.rows
    if shadow is not None:
        shadow.submit([item.trans_num for item in items], scored.features)
    metrics.BATCH_SIZE.observe(len(items))
    metrics.SCORED.inc(len(items))
    metrics.FLAGGED.inc(sum(r.is_fraud for r in rows))
    metrics.LATENCY.labels(request.url.path).observe(time.perf_counter() - started)
    return served, rows


@scoring.post(
    "/predict",
    response_model=list[Prediction],
    responses=_ERRORS,  # type: ignore[arg-type]
    openapi_extra=_REQUEST_BODY,
)
async def predict(
    request: Request,
    settings: SettingsDep,
    live: LiveDep,
    shadow: ShadowDep,
    reasons: Annotated[Reasons, Query(description="Which rows get their top reasons.")] = "flagged",
) -> Response:
    """Score a batch of transactions: a verdict per transaction, in order.

    Send the Sparkov columns of each transaction (``is_fraud`` is ignored) and, when you have
    it, the card's ``history``; a transaction without history is scored as the card's first.
    A batch with any invalid transaction is refused whole (422), every problem listed; so is a
    batch holding a transaction that cannot be scored (named, field ``transaction``).
    """
    _, rows = await _score(request, settings, live, shadow, reasons)
    return Response(msgspec.json.encode(rows), media_type="application/json")


@scoring.post(
    "/predict/labels",
    response_model=list[Literal[0, 1]],
    responses=_ERRORS,  # type: ignore[arg-type]
    openapi_extra=_REQUEST_BODY,
)
async def predict_labels(
    request: Request, settings: SettingsDep, live: LiveDep, shadow: ShadowDep
) -> Response:
    """The original contract: an array of transactions in, an array of 0/1 out."""
    _, rows = await _score(request, settings, live, shadow, "none")
    return Response(msgspec.json.encode([r.is_fraud for r in rows]), media_type="application/json")


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Alive: the process answers."""
    return Health(status="ok")


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}})
async def readyz(live: LiveDep) -> Response:
    """Ready: a champion is loaded and requests will be scored."""
    if live.champion is None:
        return ORJSONResponse(
            Health(status="not ready", detail="no champion loaded").model_dump(), 503
        )
    return ORJSONResponse(Health(status="ok").model_dump())


@router.get("/model", response_model=ModelsInfo)
async def model_info(live: LiveDep) -> ModelsInfo:
    """The champion and challenger this replica serves, swaps so far, refused versions."""

    def info(served: Served | None) -> LoadedModelInfo | None:
        if served is None:
            return None
        m = served.model
        return LoadedModelInfo(
            alias=served.alias,
            model_name=m.name,
            model_version=m.version,
            feature_version=m.feature_version,
            threshold=m.threshold,
            metrics=m.metrics,
            loaded_at=served.loaded_at,
        )

    return ModelsInfo(
        champion=info(live.champion),
        challenger=info(live.challenger),
        swaps=live.swaps,
        refused=dict(live.refused),
    )


@router.get("/metrics", include_in_schema=False)
async def prometheus() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
