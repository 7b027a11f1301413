"""``fraudstream dashboard``: the Streamlit server, headless, on the configured address."""

from __future__ import annotations

import typer

from fraudstream.config import load_settings


def register(app: typer.Typer) -> None:
    app.command()(dashboard)


def dashboard(
    port: int | None = typer.Option(None, help="Defaults to FRAUD_DASHBOARD_PORT (8501)."),
    host: str | None = typer.Option(None, help="Defaults to FRAUD_DASHBOARD_HOST (127.0.0.1)."),
) -> None:
    """Serve the dashboard (live stream, flagged transactions, models, drift, dead letters).

    It reads PostgreSQL as the read-only role (FRAUD_DATABASE_READONLY_URL) and the MLflow
    registry; the process becomes ``streamlit run``, so a stop signal reaches Streamlit itself.
    """
    import os
    import socket
    import sys
    from pathlib import Path

    from rich.console import Console

    from fraudstream.errors import ConfigError

    settings = load_settings()
    host = host or settings.dashboard.host
    port = port or settings.dashboard.port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror}); pass --port or set "
                "FRAUD_DASHBOARD_PORT to a free port, FRAUD_DASHBOARD_HOST to a local address"
            ) from None
    app = Path(__file__).with_name("app.py")
    argv = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(app),
        "--server.headless=true",
        f"--server.address={host}",
        f"--server.port={port}",
        "--server.fileWatcherType=none",
        "--server.runOnSave=false",
        "--browser.gatherUsageStats=false",
        "--global.developmentMode=false",
        "--client.toolbarMode=viewer",
        "--theme.base=light",
    ]
    Console(stderr=True).print(f"dashboard on http://{host}:{port}", highlight=False)
    sys.stderr.flush()
    os.execv(sys.executable, argv)  # noqa: S606  (our own interpreter, fixed arguments)
