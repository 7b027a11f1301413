"""Simulator throughput: a million Sparkov-like rows to a frame, to CSV and to Parquet.

Each figure comes with a baseline measured in the same run on the same rows, so the ratio
survives a change of machine: writing files is compared with pandas writing the finished
frame (the formatting and I/O floor), and generating with pandas reading the same CSV back
(what loading a real Kaggle file of that size costs).

Usage: ``.venv/bin/python bench/simulator.py [--rows 1000000] [--seed 42]``; writes
``bench/results/simulator.json``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

from _common import versions, write_result
from fraudstream.simulator import SimParams, Simulator


def _timed(action: Any) -> tuple[Any, float]:
    began = time.perf_counter()
    result = action()
    return result, time.perf_counter() - began


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    rows = args.rows

    sim = Simulator(SimParams(), seed=args.seed)
    _, population_s = _timed(lambda: sim.population)
    frame, frame_s = _timed(lambda: sim.frame(rows))
    figures: dict[str, Any] = {
        "rows": rows,
        "frauds": int(frame["is_fraud"].sum()),
        "customers": sim.params.customers,
        "population_seconds": round(population_s, 3),
        "frame_seconds": round(frame_s, 3),
        "frame_rows_per_s": round(rows / frame_s),
    }
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for kind in ("csv", "parquet"):
            path = folder / f"sim.{kind}"
            report, write_s = _timed(lambda p=path: Simulator(sim.params, args.seed).write(p, rows))
            base = folder / f"pandas.{kind}"
            _, base_s = _timed(
                lambda b=base, k=kind: (
                    frame.to_csv(b, index=False) if k == "csv" else frame.to_parquet(b, index=False)
                )
            )
            figures[kind] = {
                "seconds": round(write_s, 3),
                "rows_per_s": round(report.rows / write_s),
                "mib": round(path.stat().st_size / 2**20, 1),
                "pandas_write_seconds": round(base_s, 3),
                "ratio_to_pandas_write": round(write_s / base_s, 2),
            }
        _, read_s = _timed(lambda: pd.read_csv(folder / "sim.csv"))
        figures["pandas_read_csv_seconds"] = round(read_s, 3)
        figures["frame_vs_read_csv"] = round(frame_s / read_s, 2)
    figures["versions"] = versions("numpy", "pandas", "pyarrow", "faker", "zipcodes")
    path = write_result("simulator", figures)
    print(
        f"{rows:,} rows: frame {frame_s:.1f} s ({rows / frame_s:,.0f} rows/s, "
        f"{figures['frame_vs_read_csv']}x pandas reading the CSV), "
        f"csv {figures['csv']['seconds']:.1f} s, parquet {figures['parquet']['seconds']:.1f} s, "
        f"population {population_s:.1f} s -> {path}"
    )


if __name__ == "__main__":
    main()
