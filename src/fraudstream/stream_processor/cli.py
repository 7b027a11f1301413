"""``fraudstream stream``: one stream worker (run several for more throughput)."""

from __future__ import annotations

import os

import typer

from fraudstream.config import load_settings


def register(app: typer.Typer) -> None:
    app.command()(stream)


def stream(
    web_port: int | None = typer.Option(
        None, help="Faust's web port (0: none; several workers on one host need distinct ports)."
    ),
    metrics_port: int = typer.Option(0, help="Serve Prometheus metrics on this port (0: off)."),
) -> None:
    """Score the transactions topic: micro-batches to the model service, verdicts to
    PostgreSQL and the verdicts topic, offsets committed only for stored verdicts."""
    from fraudstream import heap, logs

    overrides = {} if web_port is None else {"stream_web_port": web_port}
    settings = load_settings(**overrides)
    # Faust picks its event loop when it is first imported, from this variable
    os.environ.setdefault("FAUST_LOOP", settings.stream.loop)
    from fraudstream.stream_processor.app import build_app

    logs.configure(settings.log_level)
    heap.watch_collector()
    heap.collect_young_every(settings.gc_young_threshold)
    if metrics_port:
        from prometheus_client import start_http_server

        start_http_server(metrics_port, addr="127.0.0.1")
    app = build_app(settings, started=heap.freeze if settings.freeze_heap else lambda: None)
    worker = app.Worker(loglevel=settings.log_level, quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()
