"""The ``fraudstream`` command: one typer app, one sub-command family per component.

Each component keeps its own commands in ``fraudstream/<component>/cli.py`` and imports its
heavy libraries (mlflow, faust, xgboost) inside the command, so ``fraudstream --help`` stays
fast. Every command turns a :class:`FraudstreamError` into one readable line and exit code 2.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from fraudstream.errors import FraudstreamError

app = typer.Typer(
    name="fraudstream",
    help="Kafka-native, real-time credit-card fraud scoring.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

_err = Console(stderr=True)


def _register() -> None:
    from fraudstream.champion_challenger import cli as challenger_cli
    from fraudstream.dashboard import cli as dashboard_cli
    from fraudstream.dashboard import users_cli
    from fraudstream.kafka import cli as kafka_cli
    from fraudstream.local import cli as local_cli
    from fraudstream.model_service import cli as service_cli
    from fraudstream.monitoring import cli as monitor_cli
    from fraudstream.producer import cli as producer_cli
    from fraudstream.reconcile import cli as reconcile_cli
    from fraudstream.simulator import cli as simulator_cli
    from fraudstream.storage import cli as storage_cli
    from fraudstream.stream_processor import cli as stream_cli
    from fraudstream.trainer import cli as trainer_cli

    for module in (
        local_cli,
        simulator_cli,
        kafka_cli,
        storage_cli,
        trainer_cli,
        service_cli,
        stream_cli,
        producer_cli,
        reconcile_cli,
        challenger_cli,
        monitor_cli,
        dashboard_cli,
        users_cli,
    ):
        module.register(app)


def main() -> None:
    """Console-script entry point."""
    _register()
    try:
        app()
    except FraudstreamError as exc:
        _err.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        _err.print("interrupted")
        sys.exit(130)
