"""``fraudstream train`` and ``fraudstream evaluate``."""

from __future__ import annotations

import json
import logging
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from fraudstream.config import load_settings
from fraudstream.errors import ConfigError

console = Console(stderr=True, log_path=False)
out = Console()

_ALIASES = ("auto", "champion", "challenger", "none")


def register(app: typer.Typer) -> None:
    app.command()(train)
    app.command()(evaluate)


def train(
    data: str = typer.Option(
        ..., "--data", help="CSV/Parquet path, s3://bucket/key, http(s)://... or sim://?rows=N"
    ),
    register_as: str = typer.Option(
        "auto",
        "--register-as",
        help="champion, challenger, none, or auto: champion when there is none, else challenger.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Train, choose and evaluate a model on labelled data; log it to MLflow and register it."""
    if register_as not in _ALIASES:
        raise ConfigError(f"--register-as must be one of {', '.join(_ALIASES)}, not {register_as}")
    from fraudstream import logs
    from fraudstream.sources import read_frame
    from fraudstream.trainer.pipeline import train as run_training
    from fraudstream.trainer.reference import log_with_reference
    from fraudstream.trainer.tracking import summary

    settings = load_settings()
    logs.configure("WARNING")
    logging.getLogger("mlflow").setLevel(logging.ERROR)  # its INFO lines would break the bars
    with console.status(f"reading {data}") as status:

        def progress(message: str) -> None:
            console.log(message)
            status.update(message)

        frame = read_frame(data, settings)
        progress(f"read {len(frame):,} rows from {data}")
        with tempfile.TemporaryDirectory(prefix="fraudstream-train-") as tmp:
            result = run_training(
                frame, settings, source=data, workdir=Path(tmp), progress=progress
            )
            status.update(f"logging the run and its reference to {settings.registry.tracking_uri}")
            logged = log_with_reference(
                result,
                settings,
                frame,
                source=data,
                register_as=register_as,  # type: ignore[arg-type]
            )
    figures = summary(result) | {
        "run_id": logged.run_id,
        "model": settings.registry.model_name,
        "version": logged.version,
        "alias": logged.alias,
    }
    if as_json:
        out.print_json(json.dumps(figures, default=str))
        return
    _candidates_table(figures["candidates"])
    _metrics_table("held-out test slice (latest rows)", figures["test"], figures)
    where = (
        f"{settings.registry.model_name} version {logged.version} is now the {logged.alias}"
        if logged.version
        else "not registered"
    )
    out.print(f"run {logged.run_id} in {settings.registry.tracking_uri}: {where}")


def evaluate(
    model: str = typer.Option(
        ..., "--model", help="models:/NAME@champion, models:/NAME/3, runs:/ID/model or a folder"
    ),
    data: str = typer.Option(..., "--data", help="Labelled transactions (as for train)."),
    since: Annotated[
        datetime | None,
        typer.Option(
            "--since",
            help="Score only rows from this transaction time on; earlier rows give card history.",
            formats=["%Y-%m-%d", "%Y-%m-%d %H:%M:%S"],
        ),
    ] = None,
    as_json: bool = typer.Option(False, "--json", help="Print the metrics as JSON."),
) -> None:
    """Score labelled data with a model at its own threshold and print the metrics."""
    from fraudstream.registry import load_model
    from fraudstream.sources import read_frame
    from fraudstream.trainer.evaluation import score_frame
    from fraudstream.trainer.validation import prepare

    settings = load_settings()
    with console.status(f"loading {model}"):
        scorer = load_model(model, settings.registry)
    with console.status(f"reading {data}"):
        frame, _ = prepare(read_frame(data, settings), data)
    with console.status(f"scoring {len(frame):,} rows"):
        metrics = score_frame(scorer, frame, since=since).metrics(scorer.threshold).model_dump()
    figures = {"model": scorer.name, "version": scorer.version, **metrics}
    if as_json:
        out.print_json(json.dumps(figures))
        return
    _metrics_table(f"{scorer.name} version {scorer.version} on {data}", metrics, {})


def _candidates_table(candidates: list[dict[str, Any]]) -> None:
    table = Table(title="candidates (validation slice)")
    for col in ("stage", "family", "PR-AUC", "fit s", "rows/s"):
        table.add_column(col, justify="right" if col not in {"stage", "family"} else "left")
    for c in candidates:
        table.add_row(
            c["stage"],
            c["family"],
            f"{c['valid_pr_auc']:.4f}",
            f"{c['fit_seconds']:.1f}",
            f"{c['score_rows_per_second']:,.0f}",
        )
    out.print(table)


def _metrics_table(title: str, metrics: dict[str, Any], extra: dict[str, Any]) -> None:
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("rows / frauds", f"{metrics['rows']:,} / {metrics['frauds']:,}"),
        ("PR-AUC", f"{metrics['pr_auc']:.4f}"),
        ("ROC-AUC", f"{metrics['roc_auc']:.4f}"),
        ("threshold", f"{metrics['threshold']:.4f}"),
        ("precision", f"{metrics['precision']:.4f}"),
        ("recall", f"{metrics['recall']:.4f}"),
        ("F1", f"{metrics['f1']:.4f}"),
        ("recall at 1 % FPR", f"{metrics['recall_at_1pct_fpr']:.4f}"),
        ("alert rate", f"{metrics['alert_rate']:.3%}"),
        (
            "fraud amount caught",
            f"{metrics['fraud_amount_caught']:,.2f} of {metrics['fraud_amount']:,.2f}",
        ),
    ]
    if "baseline_test_pr_auc" in extra:
        rows.append(("PR-AUC of amount alone", f"{extra['baseline_test_pr_auc']:.4f}"))
        rows.append(("PR-AUC without card history", f"{extra['no_history_test_pr_auc']:.4f}"))
        rows.append(
            ("scoring rows/s (batches of 1,000)", f"{extra['scoring_rows_per_second']:,.0f}")
        )
    for name, value in rows:
        table.add_row(name, value)
    out.print(table)
