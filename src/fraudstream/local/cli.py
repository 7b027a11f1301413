"""``fraudstream up | down | status`` and ``fraudstream local fetch``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from fraudstream.config import Settings, load_settings
from fraudstream.errors import LocalStackError

console = Console()


def register(app: typer.Typer) -> None:
    app.command()(up)
    app.command()(down)
    app.command()(status)
    local = typer.Typer(help="Build inputs of the local stack.", no_args_is_help=True)
    local.command("fetch")(fetch)
    app.add_typer(local, name="local")


def up(
    detach: bool = typer.Option(False, "--detach", "-d", help="Run in the background."),
) -> None:
    """Start the local stack and keep it running (Ctrl-C, or `fraudstream down`, stops it)."""
    from fraudstream import logs
    from fraudstream.dashboard.first_run import first_run
    from fraudstream.local.components import dashboard_url, stack_components, stack_settings
    from fraudstream.local.stack import Supervisor, logs_dir, pid_alive, read_state

    settings = load_settings()
    previous = read_state(settings)
    if previous and previous.get("supervisor_pid") and pid_alive(previous["supervisor_pid"]):
        raise LocalStackError(
            f"a stack is already running from {settings.home} (supervisor pid "
            f"{previous['supervisor_pid']}); run `fraudstream down` first"
        )
    # here, on this terminal: the dashboard's own output goes to a log file of the stack
    note = first_run(settings.dashboard, dashboard_url(settings))
    if note is not None:
        console.print(note, markup=False, highlight=False, soft_wrap=True)
    if detach:
        _detach(settings, logs_dir(settings) / "supervisor.log")
        return
    logs.configure(settings.log_level)
    supervisor = Supervisor(stack_settings(settings), stack_components())
    supervisor.run(ready=lambda _s: _print_status(settings, ready=True))


def _detach(settings: Settings, path: Path) -> None:
    """Re-run ``up`` in a new session, wait until it reports ready, and return."""
    from fraudstream.local.stack import pid_alive, read_state

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fraudstream", "up"],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    console.print(f"supervisor started (pid {proc.pid}); log: {path}")
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        state = read_state(settings)
        if proc.poll() is not None:
            tail = "\n".join(path.read_text(errors="replace").splitlines()[-15:])
            raise LocalStackError(f"the stack failed to start; last lines of {path}:\n{tail}")
        comps = (state or {}).get("components", {})
        if (
            state
            and state.get("supervisor_pid") == proc.pid
            and comps
            and all(c.get("health") in {"ready", "done", "external"} for c in comps.values())
        ):
            _print_status(settings, ready=True)
            return
        time.sleep(0.5)
    if pid_alive(proc.pid):
        raise LocalStackError(f"the stack is not ready after 10 minutes; see {path}")


def down() -> None:
    """Stop the local stack started by `fraudstream up` and every process it runs."""
    from fraudstream.local.stack import read_state, stop_stack

    settings = load_settings()
    if read_state(settings) is None:
        console.print(f"no stack was started from {settings.home}")
        return
    for note in stop_stack(settings):
        console.print(note)
    console.print("stack stopped")


def status() -> None:
    """Show each component's health, address, pid and restarts."""
    _print_status(load_settings(), ready=False)


def _print_status(settings: Settings, *, ready: bool) -> None:
    from fraudstream.local.stack import pid_alive, read_state

    state = read_state(settings)
    if state is None:
        console.print(f"no stack was started from {settings.home}")
        return
    sup = state.get("supervisor_pid")
    running = bool(sup and pid_alive(sup))
    table = Table(
        title=f"fraudstream stack ({'running' if running else 'stopped'}) in {settings.home}"
    )
    for column in ("component", "health", "address", "pid", "restarts", "log / note"):
        table.add_column(column)
    for name, comp in state.get("components", {}).items():
        health = (
            comp.get("health", "?") if running or comp.get("health") == "external" else "stopped"
        )
        table.add_row(
            name,
            health,
            str(comp.get("address", "")),
            str(comp.get("pid") or ""),
            str(comp.get("restarts", "")),
            comp.get("note") or comp.get("log", ""),
        )
    console.print(table)
    if running:
        for line in key_figures(settings):
            console.print(line)
    if ready:
        console.print("stack ready: Ctrl-C or `fraudstream down` stops it")


def key_figures(settings: Settings) -> list[str]:
    """What an operator looks at first: verdicts flowing, the stream keeping up, the models.

    Each figure is read with a short timeout; one that cannot be read says so, never fails.
    """
    import pandas as pd

    from fraudstream.dashboard.queries import live_now, stream_states, traffic
    from fraudstream.dashboard.wording import stream_state
    from fraudstream.errors import FraudstreamError
    from fraudstream.local.components import stack_settings
    from fraudstream.registry import Registry
    from fraudstream.storage.readonly import ReadOnlyDatabase

    lines: list[str] = []
    # the dashboard's own queries: "now" means the same thing on the page and here
    db = ReadOnlyDatabase(settings.database.url.get_secret_value(), timeout_seconds=3)
    try:
        counts = traffic(db, timedelta(minutes=1)).iloc[0]
        lines.append(f"verdicts in the last minute: {counts.scored:,} ({counts.flagged:,} flagged)")
        now = live_now(db).iloc[0]
        if now.workers:
            p99 = "n/a" if pd.isna(now.latency_p99_ms) else f"{now.latency_p99_ms:.0f} ms"
            lines.append(
                f"stream ({now.workers} worker{'s' if now.workers > 1 else ''}): "
                f"{now.throughput:,.0f} tx/s, lag {now.lag:,}, p99 latency {p99}"
            )
        lines.extend(f"  {stream_state(row)}" for _, row in stream_states(db).iterrows())
    except FraudstreamError as exc:
        lines.append(f"verdicts: unavailable ({exc})")
    finally:
        db.close()
    # a status line must not wait for MLflow's retries (minutes) when the server is down
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "3")
    try:
        registry = Registry(stack_settings(settings).registry)
        versions = {a: registry.get_alias_version(a) for a in ("champion", "challenger")}
        lines.append(
            "models: " + ", ".join(f"{a} version {v or '(none)'}" for a, v in versions.items())
        )
    except FraudstreamError as exc:
        lines.append(f"models: unavailable ({exc})")
    return lines


def fetch() -> None:
    """Fetch the Kafka broker's jars from Maven Central into the cache (idempotent)."""
    from fraudstream.local.kafka import ensure_kafka_jars

    settings = load_settings()
    path = ensure_kafka_jars(settings)
    console.print(f"Kafka {settings.local.kafka_version} jars in {path}")
