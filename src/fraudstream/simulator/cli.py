"""``fraudstream simulate`` and ``fraudstream report calibrate | fidelity``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from fraudstream.errors import ConfigError

if TYPE_CHECKING:
    from fraudstream.simulator.simulator import FileFormat, Simulator

console = Console()

_REAL_HELP = "Real Sparkov rows (Kaggle layout, CSV or Parquet); default: $FRAUD_REAL_DATA."


def register(app: typer.Typer) -> None:
    app.command()(simulate)
    report = typer.Typer(help="Reports on data: calibration, fidelity.", no_args_is_help=True)
    report.command("calibrate")(calibrate)
    report.command("fidelity")(fidelity)
    app.add_typer(report, name="report")


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
        str | None,
        typer.Option(
            help="From this time on, --drift-scenario joins the fraud mix; "
            "default FRAUD_SIM_DRIFT_AT (none)."
        ),
    ] = None,
    drift_scenario: Annotated[
        str | None,
        typer.Option(help="The scenario that appears at drift; default: FRAUD_SIM_DRIFT_SCENARIO."),
    ] = None,
    drift_weight: Annotated[
        float | None, typer.Option(help="Share of fraud streaks it takes after drift (0.5).")
    ] = None,
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
    from fraudstream.config import load_settings
    from fraudstream.simulator.knobs import parse_mix, parse_scenario, parse_time, sim_params
    from fraudstream.simulator.simulator import Simulator

    if file_format not in (None, "csv", "parquet"):
        raise ConfigError(f"--format must be csv or parquet, got {file_format!r}")
    settings = load_settings()
    params = sim_params(
        settings.simulator,
        customers=customers or None,
        fraud_rate=fraud_rate,
        drift_at=parse_time(drift_at, "--drift-at"),
        drift_scenario=parse_scenario(drift_scenario, "--drift-scenario"),
        drift_weight=drift_weight,
        start=parse_time(start, "--start"),
        fraud_mix=parse_mix(fraud_mix),
    )
    sim = Simulator(params, seed=settings.simulator.seed if seed is None else seed)
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
    from fraudstream.simulator.calibration.real_profile import REAL_DATA_ENV

    found = real or load_settings().simulator.real_data
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
    from fraudstream.simulator.calibration.calibrate import calibrate as run
    from fraudstream.simulator.calibration.calibrate import default_output

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
    from fraudstream.simulator.calibration.fidelity import load_samples, print_table, run_report
    from fraudstream.simulator.calibration.plots import plot_all

    what = f"reading {sim}" if sim else f"simulating {rows:,} rows and the dense windows"
    with console.status(f"{what}, comparing with the real rows, plotting...") as status:
        samples = load_samples(_real_path(real), rows=rows, sim_path=sim, seed=seed)
        report = run_report(samples, out)
        status.update("plotting")
        plot_all(samples, out)
    print_table(report, console)
    console.print(f"table and plots in {out}")
