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
    On the first start (no users file yet) it creates three users and prints, once, how to sign
    in. With an identity provider configured (FRAUD_DASHBOARD_OIDC_*), Streamlit gets its
    secrets from a private file, never from the command line.
    """
    import os
    import socket
    import sys
    from pathlib import Path

    from rich.console import Console

    from fraudstream.dashboard.first_run import first_run
    from fraudstream.dashboard.oidc import write_secrets
    from fraudstream.errors import ConfigError

    overrides = {"dashboard_host": host, "dashboard_port": port}
    # the given address also makes the default OIDC redirect address
    settings = load_settings(**{name: value for name, value in overrides.items() if value})
    host, port = settings.dashboard.host, settings.dashboard.port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{port} ({exc.strerror}); pass --port or set "
                "FRAUD_DASHBOARD_PORT to a free port, FRAUD_DASHBOARD_HOST to a local address"
            ) from None
    secrets = write_secrets(settings.dashboard, port)
    app = Path(__file__).parent / "entry" / "main.py"  # not app.py: see entry/main.py
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
    if secrets is not None:
        argv.append(f"--secrets.files={secrets}")  # a path: the secrets stay in the 0600 file
    console = Console(stderr=True, highlight=False)
    url = f"http://{host}:{port}"
    console.print(f"dashboard on {url}")
    note = first_run(settings.dashboard, url)
    if note is not None:
        console.print(note, markup=False, soft_wrap=True)
    sys.stderr.flush()
    os.execv(sys.executable, argv)  # noqa: S606  (our own interpreter, fixed arguments)
