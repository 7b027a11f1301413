"""Trainer benchmark: train on 1 M simulated rows with the default settings.

Measures what issue 4 asks: wall time and peak memory of the whole training run (validation,
features, the LR / RF / XGBoost benchmark, the time-bounded search, the threshold, the artifact;
then logging and registering in a throw-away MLflow store), the scoring speed of the chosen
model as the service runs it (batches of 1,000), and its metrics on the held-out, latest slice.

Baselines measured in the same run: PR-AUC of the trivial rule "bigger amount, more suspect"
and of a random guess (the fraud rate); the same model scored with every card history withheld
(what a raw caller of the model service gets); feature computation speed.

Targets on a 2-core machine: under 10 minutes and 8 GiB; held-out PR-AUC above 0.9.

Usage: ``.venv/bin/python bench/train.py [--rows 1000000] [--seed 1] [--search-seconds S]``;
writes ``bench/results/train.json`` and keeps the model in ``bench/results/models/sim_<rows>``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from _common import RESULTS, versions, write_result
from fraudstream.config import Settings
from fraudstream.sources import read_frame
from fraudstream.trainer.pipeline import train
from fraudstream.trainer.tracking import log_run

TARGET_SECONDS = 600.0
TARGET_GIB = 8.0


class PeakMemory:
    """Samples this process's resident memory every 50 ms; keeps the peak."""

    def __init__(self) -> None:
        self.process = psutil.Process()
        self.peak = self.process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.process.memory_info().rss)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--search-seconds", type=float, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-train-") as tmp:
        folder = Path(tmp)
        overrides: dict[str, Any] = {"home": folder / "home"}
        if args.search_seconds is not None:
            overrides["train_search_seconds"] = args.search_seconds
        settings = Settings(_env_file=None, **overrides)
        source = f"sim://?rows={args.rows}&seed={args.seed}"

        start = time.perf_counter()
        frame = read_frame(source, settings)
        simulate_seconds = time.perf_counter() - start
        print(f"simulated {len(frame):,} rows in {simulate_seconds:.1f} s", flush=True)

        rss_before = psutil.Process().memory_info().rss
        with PeakMemory() as memory:
            start = time.perf_counter()
            result = train(
                frame,
                settings,
                source=source,
                workdir=folder / "work",
                progress=lambda m: print(f"[{time.perf_counter() - start:6.1f} s] {m}", flush=True),
            )
            train_seconds = time.perf_counter() - start
            start = time.perf_counter()
            logged = log_run(result, settings)
            log_seconds = time.perf_counter() - start
        # kept for bench/real_data.py (the sim-to-real transfer figure); bench/results is ignored
        saved = RESULTS / "models" / f"sim_{args.rows}"
        shutil.rmtree(saved, ignore_errors=True)
        shutil.copytree(result.artifact_dir, saved)

    test = result.test
    families = [
        {
            "family": c.family,
            "valid_pr_auc": round(c.valid_pr_auc, 4),
            "fit_seconds": round(c.fit_seconds, 1),
            "score_rows_per_second": round(c.score_rows_per_second),
        }
        for c in result.candidates
        if c.stage == "benchmark"
    ]
    searched = [c for c in result.candidates if c.stage == "search"]
    total_seconds = train_seconds + log_seconds
    peak_gib = memory.peak / 2**30
    document = {
        "rows": args.rows,
        "seed": args.seed,
        "settings": {
            "train_search_seconds": settings.trainer.search_seconds,
            "threshold_strategy": settings.trainer.threshold_strategy,
            "validation_fraction": settings.trainer.validation_fraction,
            "test_fraction": settings.trainer.test_fraction,
        },
        "simulate_seconds": round(simulate_seconds, 1),
        "train_seconds": round(train_seconds, 1),
        "log_and_register_seconds": round(log_seconds, 1),
        "total_seconds": round(total_seconds, 1),
        "total_over_target": round(total_seconds / TARGET_SECONDS, 3),
        "peak_rss_gib": round(peak_gib, 2),
        "rss_before_training_gib": round(rss_before / 2**30, 2),
        "peak_over_target": round(peak_gib / TARGET_GIB, 3),
        "timings": {k: round(v, 1) for k, v in result.timings.items()},
        "data": {
            "rows": result.report.rows,
            "frauds": result.report.frauds,
            "split": result.split,
        },
        "families": families,
        "search": {
            "candidates": len(searched),
            "best_valid_pr_auc": round(max((c.valid_pr_auc for c in searched), default=0), 4),
            "families": sorted({c.family for c in searched}),
        },
        "winner": {"family": result.winner.family, "params": result.winner.params},
        "registered": {"version": logged.version, "alias": logged.alias},
        "artifact": str(saved.relative_to(RESULTS.parent)),
        "test": {
            k: round(v, 4) if isinstance(v, float) else v for k, v in test.model_dump().items()
        },
        "baselines": {
            "random_guess_pr_auc": round(test.frauds / test.rows, 4),
            "amount_rule_pr_auc": round(result.baseline_test_pr_auc, 4),
            "model_without_card_history_pr_auc": round(result.no_history_test_pr_auc, 4),
            "pr_auc_over_amount_rule": round(test.pr_auc / result.baseline_test_pr_auc, 2),
        },
        "scoring_rows_per_second": round(result.scoring_rows_per_second),
        "feature_rows_per_second": round(result.report.rows / result.timings["features_seconds"]),
        "versions": versions("xgboost-cpu", "scikit-learn", "numpy", "pandas", "mlflow"),
    }
    path = write_result("train", document)
    print(
        f"{args.rows:,} rows: {total_seconds:.0f} s (target {TARGET_SECONDS:.0f}), peak "
        f"{peak_gib:.2f} GiB; winner {result.winner.family}: test PR-AUC {test.pr_auc:.4f}, "
        f"ROC-AUC {test.roc_auc:.4f}; scoring {result.scoring_rows_per_second:,.0f} rows/s; {path}"
    )


if __name__ == "__main__":
    main()
