"""``fraudstream reconcile``: account for every offset; exit 1 on any loss or duplicate."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.table import Table

from fraudstream.reconcile.ledger import Report

console = Console()


def register(app: typer.Typer) -> None:
    app.command()(reconcile)


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def reconcile(
    since: str | None = typer.Option(
        None, help="Only messages produced at or after this time (ISO 8601; UTC if no zone)."
    ),
    until: str | None = typer.Option(None, help="Only messages produced before this time."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Account for every message of the transactions topic (verdict stored, dead letter, or
    still pending), every verdict on the topic and every card's history: exits 1 when anything
    was lost or duplicated. Run it after an incident."""
    from fraudstream.config import load_settings
    from fraudstream.reconcile.audit import reconcile as run

    report = run(load_settings(), since=_when(since), until=_when(until))
    if as_json:
        typer.echo(json.dumps(report.as_dict(), indent=2))
    else:
        _print(report)
    if not report.ok:
        raise typer.Exit(1)


def _print(report: Report) -> None:
    table = Table(title=f"reconciliation of {report.topic}", show_header=False)
    rows = [
        ("messages", report.messages, ""),
        ("verdict stored", report.scored, ""),
        ("repeats (trans_num sent twice)", report.repeats, "acknowledged, one verdict"),
        ("dead-lettered", report.dead_lettered, ""),
        ("pending", report.pending, "not committed yet: still to be done"),
        ("LOST", report.lost, "committed, yet no verdict and no dead letter"),
        ("verdicts on the topic", report.verdicts, "read_committed"),
        ("verdicts duplicated", report.verdicts_duplicated, "extra copies"),
        ("verdicts missing", report.verdicts_missing, "stored and committed, not on the topic"),
        ("dead letters duplicated", report.dead_letters_duplicated, ""),
        ("cards", report.cards, ""),
        ("cards counted twice", report.cards_counted_twice, "state counts more than stored"),
        ("cards undercounted", report.cards_undercounted, "state counts fewer than stored"),
    ]
    for name, value, note in rows:
        table.add_row(name, f"{value:,}", note)
    console.print(table)
    for kind, examples in report.examples.items():
        console.print(f"{kind}: " + ", ".join(examples))
    verdict = "[green]nothing lost, nothing duplicated[/]" if report.ok else "[red]NOT OK[/]"
    console.print(verdict)
