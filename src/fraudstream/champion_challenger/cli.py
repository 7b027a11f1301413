"""``fraudstream challenger run-once`` and ``fraudstream challenger schedule``."""

from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console

from fraudstream.config import Settings, load_settings
from fraudstream.errors import FraudstreamError

out = Console()

_MLFLOW_RETRIES = {
    # MLflow's client retries a failing server for minutes by default; a scheduled job would
    # rather fail this run fast, record it, and try again at its next tick.
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
}


def register(app: typer.Typer) -> None:
    challenger = typer.Typer(
        help="The champion/challenger job: score both models on recent labelled data, promote "
        "the better, retrain the other."
    )
    challenger.command("run-once")(run_once)
    challenger.command("schedule")(schedule)
    app.add_typer(challenger, name="challenger", no_args_is_help=True)


def _prepare() -> Settings:
    from fraudstream import logs

    settings = load_settings()
    logs.configure(settings.log_level)
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    for name, value in _MLFLOW_RETRIES.items():
        os.environ.setdefault(name, value)
    return settings


def run_once(
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            help="Run as if the latest stored transaction were at this Sparkov time.",
            formats=["%Y-%m-%d", "%Y-%m-%d %H:%M:%S"],
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
) -> None:
    """One run now: decide, retrain the loser, move the aliases, record it.

    Exit code 2 when the run failed; the aliases are then where they were.
    """
    from fraudstream.champion_challenger.job import run_once as run
    from fraudstream.champion_challenger.schedule import describe

    settings = _prepare()
    outcome = run(settings, as_of=as_of)
    if as_json:
        decision = outcome.decision.model_dump(mode="json") if outcome.decision else None
        out.print_json(
            json.dumps(
                {"action": outcome.action, "decision_id": outcome.decision_id, "decision": decision}
            )
        )
    else:
        out.print(describe(outcome), highlight=False, soft_wrap=True)
    if outcome.error is not None:
        raise FraudstreamError(f"the run failed and changed nothing: {outcome.error}")


def schedule(
    every: Annotated[
        str | None,
        typer.Option(help="Period: 90s, 10m, 1h30m, 2d... Defaults to FRAUD_CHALLENGER_EVERY."),
    ] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Prometheus port (0: none). Defaults to FRAUD_CHALLENGER_METRICS_PORT."),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="Address of the metrics server.")] = "127.0.0.1",
) -> None:
    """Run every period until stopped; waits for PostgreSQL and MLflow instead of exiting."""
    import signal
    import threading

    from fraudstream.champion_challenger.schedule import parse_duration, start_metrics
    from fraudstream.champion_challenger.schedule import schedule as loop

    settings = _prepare()
    period = parse_duration(every or settings.challenger.every)
    port = settings.challenger.metrics_port if metrics_port is None else metrics_port
    start_metrics(port, metrics_host)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    loop(settings, period, stop=stop)
