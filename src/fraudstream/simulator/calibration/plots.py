"""The fidelity report's pictures: real against simulated, one PNG per feature."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd

from fraudstream.schema import CATEGORIES
from fraudstream.simulator.calibration.fidelity import Samples, card_rates, covered_windows
from fraudstream.simulator.calibration.real_profile import calendar_reference

_REAL: Final = "#1f77b4"
_SIM: Final = "#ff7f0e"
_CLASSES: Final = ((0, "legitimate"), (1, "fraud"))


def _figure(ncols: int, nrows: int = 1, width: float = 5.0) -> tuple[Any, Any]:
    """A figure outside pyplot's registry (nothing to close, no GUI backend)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width * ncols, 3.4 * nrows))
    return fig, fig.subplots(nrows, ncols, squeeze=False)


def _save(fig: Any, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=90)


def _bars(ax: Any, real: pd.Series, sim: pd.Series, labels: list[Any], title: str) -> None:
    r = real.value_counts(normalize=True).reindex(labels, fill_value=0)
    s = sim.value_counts(normalize=True).reindex(labels, fill_value=0)
    x = np.arange(len(labels))
    ax.bar(x - 0.2, r.to_numpy(), 0.4, label="real", color=_REAL)
    ax.bar(x + 0.2, s.to_numpy(), 0.4, label="simulated", color=_SIM)
    ax.set_xticks(x, [str(v) for v in labels], rotation=90 if len(labels) > 8 else 0, fontsize=7)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)


def _hist(ax: Any, real: np.ndarray, sim: np.ndarray, title: str, log: bool = False) -> None:
    both = np.concatenate([real, sim])
    both = both[np.isfinite(both)]
    if log:
        both = both[both > 0]
        from matplotlib.ticker import NullFormatter

        edges = np.geomspace(max(both.min(), 1e-2), both.max(), 40)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(NullFormatter())
    else:
        edges = np.linspace(both.min(), both.max(), 40)
    ax.hist(real, bins=edges, density=True, alpha=0.55, label="real", color=_REAL)
    ax.hist(sim, bins=edges, density=True, alpha=0.55, label="simulated", color=_SIM)
    ax.tick_params(labelsize=7)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)


def plot_all(samples: Samples, out: Path) -> list[Path]:
    """Every plot of the report, written into ``out``; returns their paths."""
    real, sim, windows = samples.real, samples.sim, samples.windows
    written: list[Path] = []
    calendar = {0: calendar_reference(real), 1: real[real["is_fraud"] == 1]}

    for feature, labels in (
        ("hour", list(range(24))),
        ("weekday", list(range(7))),
        ("category", list(CATEGORIES)),
        ("gender", ["F", "M"]),
    ):
        fig, axes = _figure(2)
        for ax, (code, name) in zip(axes[0], _CLASSES, strict=True):
            source = calendar[code] if feature in ("hour", "weekday") else real
            r = source.loc[source["is_fraud"] == code, feature]
            s = sim.loc[sim["is_fraud"] == code, feature]
            _bars(ax, r, s, labels, f"{feature}, {name}")
        written.append(out / f"{feature}.png")
        _save(fig, written[-1])

    for feature, log in (("age", False), ("distance_km", False), ("city_pop", True)):
        fig, axes = _figure(2)
        for ax, (code, name) in zip(axes[0], _CLASSES, strict=True):
            _hist(
                ax,
                real.loc[real["is_fraud"] == code, feature].to_numpy(),
                sim.loc[sim["is_fraud"] == code, feature].to_numpy(),
                f"{feature}, {name}",
                log=log,
            )
        written.append(out / f"{feature}.png")
        _save(fig, written[-1])

    for code, name in _CLASSES:
        fig, axes = _figure(7, nrows=2, width=2.6)
        for ax, category in zip(axes.ravel(), CATEGORIES, strict=True):
            ra = real.loc[(real["is_fraud"] == code) & (real["category"] == category), "amt"]
            sa = sim.loc[(sim["is_fraud"] == code) & (sim["category"] == category), "amt"]
            if len(ra) and len(sa):
                _hist(ax, ra.to_numpy(), sa.to_numpy(), category, log=True)
        fig.suptitle(f"amount per category, {name} (log scale)", fontsize=10)
        written.append(out / f"amount_{'legit' if code == 0 else 'fraud'}.png")
        _save(fig, written[-1])

    fig, axes = _figure(1)
    covered = covered_windows(windows)
    r_rates, s_rates = card_rates(real, covered), card_rates(windows, covered)
    if r_rates.size and s_rates.size:
        _hist(axes[0][0], r_rates, s_rates, "legitimate transactions per card per average day")
    written.append(out / "card_daily_rate.png")
    _save(fig, written[-1])
    return written
