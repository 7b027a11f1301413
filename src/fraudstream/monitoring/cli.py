"""``fraudstream monitor drift``: one drift report of the serving champion, now."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

out = Console()


def register(app: typer.Typer) -> None:
    monitor = typer.Typer(help="Drift of recent traffic against the champion's training data.")
    monitor.command("drift")(drift)
    app.add_typer(monitor, name="monitor", no_args_is_help=True)


def drift(
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            help="End of the window (Sparkov time); defaults to the latest stored transaction.",
            formats=["%Y-%m-%d", "%Y-%m-%d %H:%M:%S"],
        ),
    ] = None,
    store: Annotated[bool, typer.Option(help="Record the report in drift_reports.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Compare the last FRAUD_DRIFT_WINDOW_DAYS of stored transactions with the champion's
    training reference: PSI per feature, KS per numeric feature, score drift, fraud rate."""
    from fraudstream import logs
    from fraudstream.config import load_settings
    from fraudstream.monitoring.run import check_drift

    settings = load_settings()
    logs.configure("WARNING")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    with out.status("finding the champion and the latest transaction") as status:
        check = check_drift(settings, as_of=as_of, store=store, progress=status.update)
    report, report_id = check.report, check.report_id
    start, now = report.window_start, report.window_end
    if as_json:
        out.print_json(json.dumps({"id": report_id, **report.model_dump(mode="json")}))
        return
    out.print(f"reference: {report.reference}", highlight=False, soft_wrap=True)
    table = Table(title=f"drift of {start} -> {now}")
    for column in ("feature", "kind", "PSI", "KS", "drifted"):
        table.add_column(column, justify="left" if column in {"feature", "kind"} else "right")
    for name, row in sorted(report.features.items(), key=lambda item: -item[1]["psi"]):
        ks = "" if row["ks"] is None else f"{row['ks']:.3f}"
        flag = "[red]yes[/]" if row["drifted"] else ""
        table.add_row(name, row["kind"], f"{row['psi']:.3f}", ks, flag)
    out.print(table)
    out.print(report.summary, highlight=False, soft_wrap=True)
    if report_id is not None:
        out.print(f"recorded as drift report {report_id}")
