"""The three model families of the mission, each with class imbalance handled, a default
configuration for the quick benchmark, and a random search space.

- logistic regression: standardised inputs, ``class_weight="balanced"``;
- random forest: ``class_weight="balanced_subsample"``, bounded depth and bootstrap size so a
  million rows fit the time and memory budget of a 2-core machine;
- XGBoost: ``hist`` trees, ``scale_pos_weight`` = the square root of the negative/positive
  ratio by default (on 200,000 simulated rows: the same held-out PR-AUC as the full ratio,
  0.878 vs 0.875, in a third of the time), the full ratio or none in the search; early
  stopping on the validation slice's PR-AUC.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from fraudstream.artifact import Kind, Manifest, write_forest, write_logistic, write_xgboost

Family = Literal["logistic_regression", "random_forest", "xgboost"]
FAMILIES: Final[tuple[Family, ...]] = ("logistic_regression", "random_forest", "xgboost")
Matrix = npt.NDArray[np.float64]
Labels = npt.NDArray[np.int64]

KINDS: Final[dict[Family, Kind]] = {
    "logistic_regression": "logistic",
    "random_forest": "forest",
    "xgboost": "xgboost",
}
"""How each family is stored (see :mod:`fraudstream.artifact`)."""

_FOREST_STEP: Final = 25
"""Trees added per step of a forest's growth (between two deadline checks)."""

DEFAULTS: Final[dict[Family, dict[str, Any]]] = {
    "logistic_regression": {"C": 1.0},
    "random_forest": {
        "n_estimators": 100,
        "max_depth": 14,
        "min_samples_leaf": 5,
        "max_features": "sqrt",
        "max_samples": 0.3,
    },
    "xgboost": {
        "n_estimators": 600,
        "learning_rate": 0.1,
        "max_depth": 6,
        "min_child_weight": 1.0,
        "subsample": 0.8,
        "colsample_bytree": 0.8,
        "reg_lambda": 1.0,
        "imbalance": "sqrt",
    },
}


def sample_params(family: Family, rng: np.random.Generator) -> dict[str, Any]:
    """One random configuration of the family's search space."""
    if family == "logistic_regression":
        return {"C": float(10 ** rng.uniform(-3, 1))}
    if family == "random_forest":
        return {
            "n_estimators": int(rng.choice([100, 200])),
            "max_depth": int(rng.choice([8, 12, 16, 20])),
            "min_samples_leaf": int(rng.choice([1, 5, 20])),
            "max_features": str(rng.choice(["sqrt", "0.3", "0.5"])),
            "max_samples": float(rng.choice([0.2, 0.3, 0.5])),
        }
    return {
        "n_estimators": 1000,
        "learning_rate": float(10 ** rng.uniform(-1.5, -0.5)),
        "max_depth": int(rng.integers(3, 11)),
        "min_child_weight": float(rng.choice([1.0, 5.0, 10.0])),
        "subsample": float(rng.uniform(0.6, 1.0)),
        "colsample_bytree": float(rng.uniform(0.5, 1.0)),
        "reg_lambda": float(10 ** rng.uniform(-1, 1)),
        "imbalance": str(rng.choice(["ratio", "sqrt", "none"])),
    }


@dataclass
class Fitted:
    """A trained model of one family, ready to score and to be written as an artifact."""

    family: Family
    params: dict[str, Any]
    estimator: Any
    fit_seconds: float
    cut: bool = False
    """Stopped by a deadline before its configured size (fewer trees or rounds)."""

    def score(self, features: Matrix) -> npt.NDArray[np.float64]:
        if self.family == "xgboost":
            return np.asarray(self.estimator.inplace_predict(features), dtype=np.float64)
        return np.asarray(self.estimator.predict_proba(features)[:, 1], dtype=np.float64)

    def write(self, directory: Path, *, threshold: float, metrics: dict[str, float]) -> Path:
        manifest = Manifest(
            kind=KINDS[self.family],
            family=self.family,
            threshold=threshold,
            metrics=metrics,
            params=self.params,
        )
        if self.family == "xgboost":
            return write_xgboost(directory, manifest, self.estimator)
        if self.family == "logistic_regression":
            return write_logistic(directory, manifest, self.estimator)
        return write_forest(directory, manifest, self.estimator)


def _max_features(value: str) -> str | float:
    return value if value == "sqrt" else float(value)


def fit(
    family: Family,
    params: dict[str, Any],
    x_train: Matrix,
    y_train: Labels,
    x_valid: Matrix,
    y_valid: Labels,
    *,
    threads: int,
    seed: int,
    deadline: float | None = None,
) -> Fitted:
    """Train one configuration (XGBoost stops early on the validation slice's PR-AUC).

    ``deadline`` (a ``time.perf_counter()`` value) cuts a forest or a boosted model short: a
    forest stops adding trees, XGBoost stops adding rounds, and the model trained so far is
    returned (``Fitted.cut`` is then True). The search uses it to keep its time budget.
    """
    start = time.perf_counter()
    cut = False
    if family == "logistic_regression":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        estimator: Any = make_pipeline(
            StandardScaler(),
            LogisticRegression(C=params["C"], class_weight="balanced", max_iter=300),
        )
        estimator.fit(x_train, y_train)
    elif family == "random_forest":
        from sklearn.ensemble import RandomForestClassifier

        target = int(params["n_estimators"])
        estimator = RandomForestClassifier(
            n_estimators=min(_FOREST_STEP, target),
            max_depth=params["max_depth"],
            min_samples_leaf=params["min_samples_leaf"],
            max_features=_max_features(str(params["max_features"])),
            max_samples=params["max_samples"],
            class_weight="balanced_subsample",
            n_jobs=threads,
            random_state=seed,
            warm_start=True,  # grown in steps, so a deadline can stop it between steps
        )
        with warnings.catch_warnings():
            # scikit-learn warns about balanced weights with warm_start when the data could
            # change between steps; every step here sees the very same rows
            warnings.filterwarnings("ignore", message="class_weight presets", category=UserWarning)
            estimator.fit(x_train, y_train)
            while estimator.n_estimators < target:
                if deadline is not None and time.perf_counter() > deadline:
                    cut = True
                    break
                estimator.n_estimators = min(estimator.n_estimators + _FOREST_STEP, target)
                estimator.fit(x_train, y_train)
    else:
        estimator, cut = _fit_xgboost(
            params, x_train, y_train, x_valid, y_valid, threads, seed, deadline
        )
    return Fitted(family, dict(params), estimator, time.perf_counter() - start, cut)


def _fit_xgboost(
    params: dict[str, Any],
    x_train: Matrix,
    y_train: Labels,
    x_valid: Matrix,
    y_valid: Labels,
    threads: int,
    seed: int,
    deadline: float | None,
) -> tuple[Any, bool]:
    import xgboost as xgb

    class Deadline(xgb.callback.TrainingCallback):
        """Stops boosting once the search's time budget is spent."""

        cut = False

        def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
            self.cut = deadline is not None and time.perf_counter() > deadline
            return self.cut

    positives = max(int(y_train.sum()), 1)
    ratio = (len(y_train) - positives) / positives
    weight = {"ratio": ratio, "sqrt": math.sqrt(ratio), "none": 1.0}[params["imbalance"]]
    booster_params = {
        "objective": "binary:logistic",
        "eval_metric": "aucpr",
        "tree_method": "hist",
        "learning_rate": params["learning_rate"],
        "max_depth": params["max_depth"],
        "min_child_weight": params["min_child_weight"],
        "subsample": params["subsample"],
        "colsample_bytree": params["colsample_bytree"],
        "reg_lambda": params["reg_lambda"],
        "scale_pos_weight": weight,
        "nthread": threads,
        "seed": seed,
    }
    train = xgb.QuantileDMatrix(x_train, label=y_train)
    valid = xgb.QuantileDMatrix(x_valid, label=y_valid, ref=train)
    booster = xgb.train(
        booster_params,
        train,
        num_boost_round=params["n_estimators"],
        evals=[(valid, "valid")],
        early_stopping_rounds=50,
        verbose_eval=False,
        callbacks=[stop := Deadline()],
    )
    # keep only the trees up to the best round: the saved model then scores as validated (a
    # deadline on the very first rounds can stop boosting before early stopping names a best)
    best = booster.attributes().get("best_iteration")
    rounds = int(best) + 1 if best is not None else booster.num_boosted_rounds()
    return booster[:rounds], stop.cut
