"""``fraudstream simulate`` and ``fraudstream report calibrate | fidelity``."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from fraudstream.errors import ConfigError

if TYPE_CHECKING:
    from fraudstream.simulator.params import Scenario
    from fraudstream.simulator.simulator import FileFormat, Simulator

console = Console()

_REAL_HELP = "Real Sparkov rows (Kaggle layout, CSV or Parquet); default: $FRAUD_REAL_DATA."


def register(app: typer.Typer) -> None:
    app.command()(simulate)
    report = typer.Typer(help="Reports on data: calibration, fidelity.", no_args_is_help=True)
    report.command("calibrate")(calibrate)
    report.command("fidelity")(fidelity)
    app.add_typer(report, name="report")


def _parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(
            f"{option} must be a date or time like 2019-01-01 or 2020-06-21T12:00, got {value!r}"
        ) from None


def _parse_mix(value: str | None) -> dict[Scenario, float] | None:
    from fraudstream.simulator.params import Scenario

    if value is None:
        return None
    mix: dict[Scenario, float] = {}
    names = ", ".join(s.value for s in Scenario)
    for part in value.split(","):
        name, _, weight = part.partition("=")
        try:
            mix[Scenario(name.strip())] = float(weight or 1)
        except ValueError:
            raise ConfigError(
                f"--fraud-mix takes name=weight pairs of {names}; got {part!r}"
            ) from None
    return mix


def _scenario(value: str) -> Scenario:
    from fraudstream.simulator.params import Scenario

    try:
        return Scenario(value)
    except ValueError:
        names = ", ".join(s.value for s in Scenario)
        raise ConfigError(f"--drift-scenario must be one of {names}; got {value!r}") from None


def simulate(
    rows: Annotated[int, typer.Option("--rows", "-n", min=1, help="Transactions to write.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="File to write (.csv or .parquet).")],
    file_format: Annotated[
        str | None, typer.Option("--format", help="csv or parquet; default: from the file suffix.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed; default: FRAUD_SIM_SEED.")] = None,
    fraud_rate: Annotated[
        float | None,
        typer.Option(help="Share of fraud transactions; default: FRAUD_SIM_FRAUD_RATE (0.005)."),
    ] = None,
    fraud_mix: Annotated[
        str | None,
        typer.Option(
            help="Scenario weights, e.g. night_spree=1,card_testing=0.2 "
            "(night_spree, card_testing, far_from_home, streak_blocked)."
        ),
    ] = None,
    drift_at: Annotated[
        str | None, typer.Option(help="From this time on, --drift-scenario joins the fraud mix.")
    ] = None,
    drift_scenario: Annotated[
        str, typer.Option(help="The scenario that appears at drift.")
    ] = "card_testing",
    drift_weight: Annotated[
        float, typer.Option(help="Share of fraud streaks it takes after drift.")
    ] = 0.5,
    labels_out: Annotated[
        Path | None,
        typer.Option(
            help="Also write delayed labels (trans_num, cc_num, is_fraud, available_at) "
            "to a .csv or .jsonl file."
        ),
    ] = None,
    start: Annotated[
        str | None, typer.Option(help="Clock of the first transaction (2019-01-01).")
    ] = None,
    customers: Annotated[
        int | None, typer.Option(help="Cardholders; default FRAUD_SIM_CUSTOMERS.")
    ] = None,
    index_column: Annotated[
        bool, typer.Option(help="Add the unnamed leading index column many Kaggle copies carry.")
    ] = False,
) -> None:
    """Write a Sparkov-like file that loads exactly like fraudTrain.csv."""
    from pydantic import ValidationError

    from fraudstream.config import load_settings
    from fraudstream.simulator.params import SimParams
    from fraudstream.simulator.simulator import Simulator

    if file_format not in (None, "csv", "parquet"):
        raise ConfigError(f"--format must be csv or parquet, got {file_format!r}")
    settings = load_settings()
    knobs: dict[str, object] = {
        "customers": customers or settings.sim_customers,
        "merchants": settings.sim_merchants,
        "fraud_rate": settings.sim_fraud_rate if fraud_rate is None else fraud_rate,
        "label_delay_days": settings.sim_label_delay_days,
        "drift_at": _parse_time(drift_at, "--drift-at"),
        "drift_scenario": _scenario(drift_scenario),
        "drift_weight": drift_weight,
    }
    if (first := _parse_time(start, "--start")) is not None:
        knobs["start"] = first
    if (mix := _parse_mix(fraud_mix)) is not None:
        knobs["fraud_mix"] = mix
    try:
        params = SimParams.model_validate(knobs)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid simulator settings: {problems}") from None
    sim = Simulator(params, seed=settings.sim_seed if seed is None else seed)
    kind: FileFormat | None = (
        "parquet" if file_format == "parquet" else "csv" if file_format == "csv" else None
    )
    report = sim.write(out, rows, format=kind, index_column=index_column, progress=True)
    rate = report.rows / report.seconds if report.seconds else float("inf")
    console.print(
        f"wrote {report.rows:,} rows ({report.frauds:,} frauds, "
        f"{report.frauds / max(report.rows, 1):.3%}) to {report.path} in {report.seconds:.1f} s "
        f"({rate:,.0f} rows/s)"
    )
    if labels_out is not None:
        _write_labels(sim, rows, labels_out)


def _write_labels(sim: Simulator, rows: int, path: Path) -> None:
    import pandas as pd

    from fraudstream.errors import SourceError

    records = [label.to_record() for label in sim.labels(rows)]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".jsonl":
            with path.open("w", encoding="utf-8") as handle:
                for record in records:
                    handle.write(json.dumps(record) + "\n")
        else:
            pd.DataFrame.from_records(records).to_csv(path, index=False)
    except OSError as exc:
        raise SourceError(f"cannot write labels to {path}: {exc}") from exc
    console.print(f"wrote {len(records):,} labels to {path}")


def _real_path(real: Path | None) -> Path:
    from fraudstream.config import load_settings
    from fraudstream.simulator.reference import REAL_DATA_ENV

    found = real or load_settings().real_data
    if found is None:
        raise ConfigError(f"give --real PATH or set {REAL_DATA_ENV} to the real Sparkov rows")
    return found


def calibrate(
    real: Annotated[Path | None, typer.Option("--real", help=_REAL_HELP)] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write; default: the package's params.json."),
    ] = None,
) -> None:
    """Derive the simulator's default parameters from real rows (writes params.json)."""
    from fraudstream.simulator.calibrate import calibrate as run
    from fraudstream.simulator.calibrate import default_output

    calibration = run(_real_path(real), out)
    console.print(
        f"calibrated from {calibration.source_rows:,} real rows "
        f"({calibration.legit.rows:,} legitimate, {calibration.fraud.rows:,} frauds, "
        f"{calibration.streak.cards} complete fraud streaks) -> {out or default_output()}"
    )


def fidelity(
    real: Annotated[Path | None, typer.Option("--real", help=_REAL_HELP)] = None,
    rows: Annotated[
        int, typer.Option("--rows", min=1000, help="Simulated rows to compare.")
    ] = 1_000_000,
    sim: Annotated[
        Path | None, typer.Option("--sim", help="Compare this file instead of simulating.")
    ] = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the table and plots.")] = Path(
        "fidelity"
    ),
    seed: Annotated[int, typer.Option(help="Seed of the simulated rows.")] = 42,
) -> None:
    """Simulated rows against real ones: PSI and KS per feature, tables and plots."""
    from fraudstream.simulator.fidelity import print_table, run_report

    what = f"reading {sim}" if sim else f"simulating {rows:,} rows and the dense windows"
    with console.status(f"{what}, comparing with the real rows, plotting..."):
        report = run_report(_real_path(real), out, rows=rows, sim_path=sim, seed=seed)
    print_table(report, console)
    console.print(f"table and plots in {out}")
