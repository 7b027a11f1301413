"""The model on real Sparkov rows (issue 10, items 3 and 4).

1. The product's trainer (``fraudstream.trainer.pipeline.train``, default settings) on the real
   rows before 2020-06-21, scored on the rows from 2020-06-21 on (the fraudTest period), with
   every earlier row as card history, as the stream would have had it.
2. In the same run, the baseline of MEASURED.md: an XGBoost on raw per-transaction features only
   (amount, hour, weekday, age, distance, city population, gender, category; no card history),
   trained on the same rows (its last 20 % for early stopping) and scored on the same rows.
3. Transfer: the model trained only on simulated rows (``bench/train.py`` keeps it in
   ``bench/results/models/sim_<rows>``; trained here when absent), scored on the same rows.

Metrics: ROC-AUC; PR-AUC on the rows as they are (fraud-enriched: about 25 % fraud) and
re-weighted to the natural base rate of fraudTest (2,145 frauds among 555,719 rows): every fraud
weighs 1 and every non-fraud ``frauds * (1 - rate) / (rate * non_frauds)``, so that the
weighted fraud share equals the natural one (``fraudstream.quality.natural_rate_weights``).
Precision-like figures are not comparable with a natural-rate stream; ranking metrics are.

Usage: ``.venv/bin/python bench/real_data.py [--real PATH] [--sim-model PATH] [--sim-rows N]``;
writes ``bench/results/real_data.json``. Needs the real sample (``FRAUD_REAL_DATA``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from _common import RESULTS, versions, write_result
from fraudstream.artifact import read_artifact
from fraudstream.config import Settings
from fraudstream.features import STATELESS_NAMES, batch_features
from fraudstream.quality import natural_rate_weights, pr_auc, roc_auc
from fraudstream.sources import read_frame
from fraudstream.trainer.evaluation import Scored, score_frame
from fraudstream.trainer.families import DEFAULTS, fit
from fraudstream.trainer.pipeline import train
from fraudstream.trainer.validation import prepare

CUT = datetime(2020, 6, 21)
NATURAL_RATE = 2_145 / 555_719
DEFAULT_REAL = Path(__file__).resolve().parents[2] / "shared/data/sparkov-real/sparkov_real.csv"


def figures(labels: np.ndarray, scores: np.ndarray) -> dict[str, float]:
    weights = natural_rate_weights(labels, NATURAL_RATE)
    return {
        "roc_auc": round(roc_auc(labels, scores), 4),
        "pr_auc_as_is": round(pr_auc(labels, scores), 4),
        "pr_auc_natural_rate": round(pr_auc(labels, scores, weights), 4),
    }


def raw_feature_baseline(frame: pd.DataFrame, later: np.ndarray) -> np.ndarray:
    """XGBoost on the transaction's own fields only, trained before the cut."""
    x = batch_features(frame)[list(STATELESS_NAMES)].to_numpy()
    y = frame["is_fraud"].to_numpy(dtype=np.int64)
    early = np.flatnonzero(~later)
    stop = early[int(len(early) * 0.8)]
    fitted = fit(
        "xgboost",
        DEFAULTS["xgboost"],
        x[early[early < stop]],
        y[early[early < stop]],
        x[early[early >= stop]],
        y[early[early >= stop]],
        threads=os.cpu_count() or 1,
        seed=1,
    )
    return fitted.score(x[later])


def sim_model(path: Path, rows: int, settings: Settings, work: Path) -> tuple[Any, str]:
    if (path / "manifest.json").is_file():
        return read_artifact(path), f"{path} (from bench/train.py)"
    print(f"no simulated-data model at {path}: training one on {rows:,} simulated rows", flush=True)
    source = f"sim://?rows={rows}&seed=1"
    result = train(read_frame(source, settings), settings, source=source, workdir=work)
    return result.model, source


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--real", type=Path, default=Path(os.environ.get("FRAUD_REAL_DATA", DEFAULT_REAL))
    )
    parser.add_argument("--sim-rows", type=int, default=1_000_000)
    parser.add_argument("--sim-model", type=Path, default=None)
    args = parser.parse_args()
    if not args.real.is_file():
        raise SystemExit(f"{args.real}: no real Sparkov sample; set FRAUD_REAL_DATA")
    sim_path = args.sim_model or RESULTS / "models" / f"sim_{args.sim_rows}"

    with tempfile.TemporaryDirectory(prefix="bench-real-") as tmp:
        settings = Settings(_env_file=None, home=Path(tmp) / "home")
        frame, report = prepare(read_frame(str(args.real), settings), str(args.real))
        later = (frame["trans_date_trans_time"] >= pd.Timestamp(CUT)).to_numpy()
        before = frame.loc[~later]
        print(
            f"{len(before):,} rows before {CUT:%Y-%m-%d}, {later.sum():,} from then on", flush=True
        )

        start = time.perf_counter()
        result = train(
            before, settings, source="real rows before the cut", workdir=Path(tmp) / "real"
        )
        train_seconds = time.perf_counter() - start
        ours: Scored = score_frame(result.model, frame, since=CUT)
        alone = frame.assign(cc_num=np.arange(len(frame)))  # every row its own card: no history
        ours_no_history = score_frame(result.model, alone, since=CUT)

        baseline_scores = raw_feature_baseline(frame, later)
        transfer_model, transfer_source = sim_model(
            sim_path, args.sim_rows, settings, Path(tmp) / "sim"
        )
        transfer = score_frame(transfer_model, frame, since=CUT)

    ours_figures = figures(ours.labels, ours.scores)
    transfer_figures = figures(transfer.labels, transfer.scores)
    document = {
        "real_rows": report.rows,
        "real_frauds": report.frauds,
        "cut": f"{CUT:%Y-%m-%d}",
        "train_rows": len(before),
        "train_frauds": int(before["is_fraud"].sum()),
        "evaluated_rows": len(ours.labels),
        "evaluated_frauds": int(ours.labels.sum()),
        "natural_rate": NATURAL_RATE,
        "ours": {
            **ours_figures,
            "family": result.winner.family,
            "train_seconds": round(train_seconds, 1),
            "trainer_internal_test_pr_auc": round(result.test.pr_auc, 4),
        },
        "ours_without_card_history": figures(ours_no_history.labels, ours_no_history.scores),
        "raw_feature_xgboost": figures(ours.labels, baseline_scores),
        "transfer_sim_to_real": {**transfer_figures, "model": transfer_source},
        "transfer_gap": {k: round(ours_figures[k] - transfer_figures[k], 4) for k in ours_figures},
        "versions": versions("xgboost-cpu", "scikit-learn", "numpy", "pandas"),
    }
    path = write_result("real_data", document)
    for name in (
        "ours",
        "ours_without_card_history",
        "raw_feature_xgboost",
        "transfer_sim_to_real",
    ):
        row = document[name]
        print(
            f"{name:28s} ROC-AUC {row['roc_auc']:.4f}  PR-AUC {row['pr_auc_as_is']:.4f}  "
            f"PR-AUC at natural rate {row['pr_auc_natural_rate']:.4f}"
        )
    print(path)


if __name__ == "__main__":
    main()
