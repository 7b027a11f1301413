"""How closely simulated rows resemble real Sparkov rows, feature by feature.

``fraudstream report fidelity`` compares the simulator's output (fresh, or a file) with the
real sample, separately for legitimate and fraudulent transactions: PSI for every feature,
KS for the numeric ones, and a table (JSON and CSV); the plots of the same samples are drawn by
:mod:`.plots`, which the command calls beside this module. The bounds are the calibration's
targets: PSI below 0.1 for legitimate rows and below 0.25 for frauds.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

import numpy as np
import pandas as pd

from fraudstream.schema import CATEGORIES
from fraudstream.simulator.calibration.calibrate import window_card_rates
from fraudstream.simulator.calibration.real_profile import (
    DENSE_WINDOWS,
    DenseWindow,
    calendar_reference,
    derived_columns,
    load_real,
)
from fraudstream.simulator.params import SimParams, default_calibration
from fraudstream.stats import DEFAULT_BINS, categorical_psi, ks, psi

if TYPE_CHECKING:
    from rich.console import Console

Label = Literal["legit", "fraud"]
BOUNDS: Final[dict[Label, float]] = {"legit": 0.1, "fraud": 0.25}
NUMERIC: Final = ("age", "distance_km", "city_pop")
CATEGORICAL: Final = ("hour", "weekday", "category", "gender")
MIN_PER_BIN: Final = 40
"""Adaptive bins: at least this many rows of the smaller sample per bin, so that PSI measures
the distributions rather than sampling noise (amounts of rare fraud categories)."""


@dataclass(frozen=True, slots=True)
class FeatureResult:
    """One row of the fidelity table."""

    feature: str
    label: Label
    n_real: int
    n_sim: int
    psi: float
    ks: float | None
    bound: float

    @property
    def ok(self) -> bool:
        return self.psi < self.bound

    @property
    def known_gap(self) -> str | None:
        """Why this feature may exceed its bound, when that is understood and accepted."""
        return KNOWN_GAPS.get(self.feature)


@dataclass(frozen=True, slots=True)
class Samples:
    """The rows compared, each with :func:`derived_columns`: the real sample, the simulated one,
    and the simulated rows over the dense windows (per-card rates need a card's full days)."""

    real: pd.DataFrame
    sim: pd.DataFrame
    windows: pd.DataFrame


@dataclass(frozen=True, slots=True)
class FidelityReport:
    """The whole table, and where its files went."""

    results: list[FeatureResult]
    sim_rows: int
    real_rows: int
    out: Path

    @property
    def failing(self) -> list[FeatureResult]:
        """Rows over their bound without a known reason."""
        return [r for r in self.results if not r.ok and r.known_gap is None]


def _bins(n_real: int, n_sim: int) -> int:
    return int(max(2, min(DEFAULT_BINS, min(n_real, n_sim) // MIN_PER_BIN)))


def _numeric(feature: str, label: Label, real: np.ndarray, sim: np.ndarray) -> FeatureResult:
    return FeatureResult(
        feature=feature,
        label=label,
        n_real=int(real.size),
        n_sim=int(sim.size),
        psi=round(psi(real, sim, bins=_bins(real.size, sim.size)), 4),
        ks=round(ks(real, sim).statistic, 4),
        bound=BOUNDS[label],
    )


def _categorical(feature: str, label: Label, real: np.ndarray, sim: np.ndarray) -> FeatureResult:
    return FeatureResult(
        feature=feature,
        label=label,
        n_real=int(real.size),
        n_sim=int(sim.size),
        psi=round(categorical_psi(real, sim), 4),
        ks=None,
        bound=BOUNDS[label],
    )


def covered_windows(derived: pd.DataFrame) -> list[DenseWindow]:
    """The dense windows a frame's rows span from start to end (a short file may miss some)."""
    if derived.empty:
        return []
    first, last = derived["ts"].min(), derived["ts"].max()
    slack = pd.Timedelta(hours=1)
    return [w for w in DENSE_WINDOWS if first <= w.start + slack and last >= w.end - slack]


def card_rates(derived: pd.DataFrame, windows: list[DenseWindow] | None = None) -> np.ndarray:
    """Per-card legitimate transactions per average day, in each of ``windows`` (default all)."""
    cal = default_calibration()
    rates = [
        window_card_rates(derived, window, cal.legit.hour_p, cal.legit.weekday_p).to_numpy()
        for window in (DENSE_WINDOWS if windows is None else windows)
    ]
    return np.concatenate(rates) if rates else np.empty(0)


KNOWN_GAPS: Final = {
    "card_daily_rate": "the real windows differ by season (2019-01: 1.97, 2020-03: 2.50, "
    "2020-06: 4.04 transactions per card per average day), so pooled they spread wider than "
    "the simulator's, which has no seasonality and runs every day at their mean (2.84); its "
    "PSI sits near the 0.1 bound and may cross it with the seed.",
}
"""Features expected over their bound, and why; the report prints the reason."""


def compare(real: pd.DataFrame, sim: pd.DataFrame, windows: pd.DataFrame) -> list[FeatureResult]:
    """Every feature of the report, all arguments being :func:`derived_columns` frames.

    ``windows`` holds simulated rows over the dense windows, for the per-card rate (it may be
    ``sim`` itself when that covers them).
    """
    results: list[FeatureResult] = []
    calendar = {"legit": calendar_reference(real), "fraud": real[real["is_fraud"] == 1]}
    for code, label in ((0, "legit"), (1, "fraud")):
        lab: Label = "legit" if label == "legit" else "fraud"
        r = real[real["is_fraud"] == code]
        s = sim[sim["is_fraud"] == code]
        if r.empty or s.empty:
            continue
        for category in CATEGORIES:
            ra = r.loc[r["category"] == category, "amt"].to_numpy()
            sa = s.loc[s["category"] == category, "amt"].to_numpy()
            if ra.size and sa.size:
                results.append(_numeric(f"amt:{category}", lab, ra, sa))
        results.extend(
            _categorical(f, lab, calendar[lab][f].to_numpy(), s[f].to_numpy())
            for f in ("hour", "weekday")
        )
        results.extend(
            _categorical(f, lab, r[f].to_numpy(), s[f].to_numpy()) for f in ("category", "gender")
        )
        results.extend(_numeric(f, lab, r[f].to_numpy(), s[f].to_numpy()) for f in NUMERIC)
    # Compare only windows the simulated rows cover, the same ones on both sides.
    covered = covered_windows(windows)
    real_rates, sim_rates = card_rates(real, covered), card_rates(windows, covered)
    if real_rates.size and sim_rates.size:
        results.append(_numeric("card_daily_rate", "legit", real_rates, sim_rates))
    return results


def dense_window_frame(params: SimParams, seed: int) -> pd.DataFrame:
    """Simulated rows over each dense window (each window simulated from its own midnight)."""
    from fraudstream.simulator.simulator import Simulator

    parts = []
    for window in DENSE_WINDOWS:
        midnight = window.start.replace(hour=0, minute=0, second=0)
        sim = Simulator(params.model_copy(update={"start": midnight}), seed=seed)
        parts.append(sim.frame(start=window.start, end=window.end))
    return pd.concat(parts, ignore_index=True)


def load_samples(
    real_path: Path,
    *,
    rows: int = 1_000_000,
    sim_path: Path | None = None,
    seed: int = 42,
    fraud_rate: float | None = None,
) -> Samples:
    """The real rows, and ``rows`` freshly simulated ones (or the file ``sim_path``)."""
    real = derived_columns(load_real(real_path))
    if sim_path is not None:
        sim = windows = derived_columns(load_real(sim_path))
    else:
        from fraudstream.simulator.simulator import Simulator

        params = SimParams() if fraud_rate is None else SimParams(fraud_rate=fraud_rate)
        sim = derived_columns(Simulator(params, seed=seed).frame(rows))
        windows = derived_columns(dense_window_frame(params, seed))
    return Samples(real, sim, windows)


def run_report(samples: Samples, out: Path) -> FidelityReport:
    """Compare, and write ``fidelity.json`` and ``fidelity.csv`` into ``out``."""
    results = compare(samples.real, samples.sim, samples.windows)
    report = FidelityReport(
        results, sim_rows=len(samples.sim), real_rows=len(samples.real), out=out
    )
    out.mkdir(parents=True, exist_ok=True)
    _write_tables(report)
    return report


def _write_tables(report: FidelityReport) -> None:
    rows = [asdict(r) | {"ok": r.ok, "known_gap": r.known_gap or ""} for r in report.results]
    payload = {
        "generated_at": datetime.now().isoformat(timespec="seconds"),
        "real_rows": report.real_rows,
        "sim_rows": report.sim_rows,
        "bounds": BOUNDS,
        "features": rows,
        "failing": [f"{r.feature} ({r.label})" for r in report.failing],
    }
    (report.out / "fidelity.json").write_text(json.dumps(payload, indent=1) + "\n", "utf-8")
    pd.DataFrame(rows).to_csv(report.out / "fidelity.csv", index=False)


def print_table(report: FidelityReport, console: Console) -> None:
    """The table as rich prints it, failing rows in red."""
    from rich.table import Table

    table = Table(title=f"fidelity: {report.sim_rows:,} simulated vs {report.real_rows:,} real")
    for name in ("feature", "class", "n real", "n sim", "PSI", "KS", "bound", ""):
        table.add_column(name, justify="left" if name in ("feature", "class") else "right")
    for r in report.results:
        table.add_row(
            r.feature,
            r.label,
            f"{r.n_real:,}",
            f"{r.n_sim:,}",
            f"{r.psi:.4f}",
            "" if r.ks is None else f"{r.ks:.3f}",
            f"{r.bound:g}",
            "[green]ok[/]" if r.ok else "[yellow]known[/]" if r.known_gap else "[red]over[/]",
        )
    console.print(table)
    for r in report.results:
        if not r.ok and r.known_gap:
            console.print(f"[yellow]{r.feature}[/] over its bound: {r.known_gap}")
