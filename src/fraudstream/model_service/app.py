"""The app factory: wires settings, the model source, the watcher and the routes.

Nothing here scores; it only decides what runs. The lifespan loads the champion before the
first request when it can, and otherwise starts anyway (``/readyz`` says 503 until a model
arrives), so a replica never crash-loops on a registry that is briefly away.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi

from fraudstream.config import Settings
from fraudstream.errors import StorageError
from fraudstream.model_service import api, metrics, problems
from fraudstream.model_service.live import LiveModels, ModelSource
from fraudstream.model_service.schemas import PredictItem
from fraudstream.model_service.shadow import ShadowScorer
from fraudstream.model_service.watcher import AliasWatcher
from fraudstream.schema import API_KEY_HEADER
from fraudstream.storage.models import ShadowScore
from fraudstream.storage.repository import Repository

log = logging.getLogger(__name__)


def create_app(
    settings: Settings,
    source: ModelSource | None = None,
    started: Callable[[], None] = lambda: None,
) -> FastAPI:
    """The FastAPI app. ``source`` defaults to the MLflow registry of the settings; tests that
    run the service in-process pass a source holding one model they trained, so no MLflow
    server is needed. Shadow scores always go to the PostgreSQL of the settings. ``started``
    is called once the champion is loaded (or known to be missing), before the first request."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        model_source = source or _registry_source(settings)
        live = LiveModels()
        watcher = AliasWatcher(
            settings.service, settings.kafka, settings.topics, model_source, live
        )
        app.state.live = live
        async with contextlib.AsyncExitStack() as stack:
            store = _LazyShadowStore(settings)
            stack.push_async_callback(store.aclose)
            shadow = ShadowScorer(live, store)
            app.state.shadow = shadow
            await watcher.sync()
            if live.champion is None:
                log.warning("no champion loaded yet; /readyz answers 503 until one is")
            started()
            tasks = [watcher.start(), asyncio.create_task(shadow.run(), name="shadow")]
            try:
                yield
            finally:
                try:
                    async with asyncio.timeout(5):
                        await shadow.drain()
                except TimeoutError:
                    log.warning("shadow scores still queued at shutdown were dropped")
                for task in tasks:
                    task.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)

    app = FastAPI(
        title="fraudstream model service",
        version="1",
        summary="Scores card transactions with the champion model of the registry.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.shadow = None
    app.state.live = LiveModels()
    problems.install(app)
    app.include_router(api.scoring)
    app.include_router(api.router)
    if settings.service.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.service.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", API_KEY_HEADER],
        )
    app.add_middleware(metrics.CountRequests)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema, plus the request item model the scoring routes read by hand."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title=app.title, version=app.version, summary=app.summary, routes=app.routes
        )
        item = PredictItem.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(item.pop("$defs", {}))
        components["PredictItem"] = item
        app.openapi_schema = schema
    return app.openapi_schema


def _registry_source(settings: Settings) -> ModelSource:
    from fraudstream.registry import Registry

    return Registry(settings.registry)


class _LazyShadowStore:
    """Shadow scores go to PostgreSQL, connected at first use and again after a failure, so
    a database that is down costs only shadow scores (counted), never answers or start-up."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._stack: contextlib.AsyncExitStack | None = None
        self._repo: Repository | None = None

    async def __call__(self, rows: Sequence[ShadowScore]) -> object:
        if self._repo is None:
            stack = contextlib.AsyncExitStack()
            self._repo = await stack.enter_async_context(
                Repository.connect(self.settings.database, application="fraudstream-model-service")
            )
            self._stack = stack
        try:
            return await self._repo.store_shadow_scores(rows)
        except StorageError:
            await self.aclose()
            raise

    async def aclose(self) -> None:
        stack, self._stack, self._repo = self._stack, None, None
        if stack is not None:
            await stack.aclose()
