"""``fraudstream serve``: the model service under uvicorn."""

from __future__ import annotations

import typer

from fraudstream.config import load_settings


def register(app: typer.Typer) -> None:
    app.command()(serve)


def serve(
    host: str | None = typer.Option(None, help="Defaults to FRAUD_SERVICE_HOST."),
    port: int | None = typer.Option(None, help="Defaults to FRAUD_SERVICE_PORT."),
    workers: int = typer.Option(1, min=1, help="Worker processes (each loads the models)."),
) -> None:
    """Serve POST /predict with the registry's champion; follows the alias as it moves."""
    import uvicorn

    from fraudstream import logs

    settings = load_settings()
    logs.configure(settings.log_level)
    uvicorn.run(
        "fraudstream.model_service.cli:app_from_env",
        factory=True,
        host=host or settings.service.host,
        port=port or settings.service.port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=10,
    )


def app_from_env() -> object:
    """uvicorn's factory: each worker process builds its app from the environment, its heap
    frozen once the champion is loaded (:mod:`fraudstream.heap`)."""
    from fraudstream import heap
    from fraudstream.model_service.app import create_app

    heap.watch_collector()
    settings = load_settings()
    heap.collect_young_every(settings.gc_young_threshold)
    return create_app(settings, started=heap.freeze if settings.freeze_heap else lambda: None)
