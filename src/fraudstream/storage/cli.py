"""``fraudstream db migrate`` and ``fraudstream db status``."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def register(app: typer.Typer) -> None:
    db = typer.Typer(help="The PostgreSQL schema: migrate it, see where it stands.")
    db.command("migrate")(migrate)
    db.command("status")(status)
    app.add_typer(db, name="db", no_args_is_help=True)


def migrate() -> None:
    """Apply the pending migrations to FRAUD_DATABASE_URL (the local server by default)."""
    from fraudstream.config import load_settings
    from fraudstream.storage.migrate import migrate_sync

    settings = load_settings()
    applied = migrate_sync(settings.database)
    for migration in applied:
        console.print(f"applied {migration}")
    if not applied:
        console.print(f"{settings.database.safe_url} is up to date")


def status() -> None:
    """Show the applied and pending migrations and the size of each table."""
    from fraudstream.config import load_settings
    from fraudstream.storage.frames import query_frame
    from fraudstream.storage.migrate import migration_status

    settings = load_settings()
    url = settings.database.url.get_secret_value()
    state = migration_status(url)
    console.print(f"database: {settings.database.safe_url}")
    table = Table("migration", "state", "applied at")
    for applied in state.applied:
        table.add_row(f"{applied.version}_{applied.name}", "applied", f"{applied.applied_at:%c}")
    for pending in state.pending:
        table.add_row(str(pending), "[yellow]pending[/]", "")
    console.print(table)
    if state.pending:
        console.print("run `fraudstream db migrate` to apply the pending migrations")
    if not state.applied:
        return
    # Statistics counters, not count(*): a status line must stay instant on a large table.
    sizes = query_frame(
        url,
        "SELECT relname, n_live_tup, pg_size_pretty(pg_total_relation_size(relid))"
        " FROM pg_stat_user_tables WHERE schemaname = 'public' ORDER BY relname",
    )
    rows = Table("table", "rows (estimate)", "size on disk")
    for name, approx, size in sizes.itertuples(index=False):
        rows.add_row(str(name), f"{approx:,}", str(size))
    console.print(rows)
