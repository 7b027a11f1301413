"""The search's time budget reaches inside a fit: forests and boosted models stop growing."""

from __future__ import annotations

import time

import numpy as np
import pytest

from fraudstream.features import FEATURE_NAMES
from fraudstream.trainer.families import DEFAULTS, fit, sample_params

pytestmark = pytest.mark.unit


def data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURE_NAMES)))
    y = (x[:, 0] + rng.normal(size=n) > 2).astype(np.int64)
    return x, y


def test_a_spent_deadline_cuts_forests_and_boosting_short() -> None:
    x, y = data(3_000, 0)
    xv, yv = data(1_000, 1)
    past = time.perf_counter() - 1
    forest = fit(
        "random_forest", DEFAULTS["random_forest"], x, y, xv, yv, threads=1, seed=0, deadline=past
    )
    assert forest.cut
    assert len(forest.estimator.estimators_) == 25  # one growth step
    boosted = fit("xgboost", DEFAULTS["xgboost"], x, y, xv, yv, threads=1, seed=0, deadline=past)
    assert boosted.cut
    assert boosted.estimator.num_boosted_rounds() == 1


def test_without_a_deadline_the_configuration_is_trained_in_full() -> None:
    x, y = data(3_000, 0)
    xv, yv = data(1_000, 1)
    params = {**DEFAULTS["random_forest"], "n_estimators": 60}
    forest = fit("random_forest", params, x, y, xv, yv, threads=1, seed=0)
    assert not forest.cut
    assert len(forest.estimator.estimators_) == 60


@pytest.mark.parametrize("family", ["logistic_regression", "random_forest", "xgboost"])
def test_sampled_configurations_train(family: str) -> None:
    x, y = data(2_000, 2)
    xv, yv = data(500, 3)
    params = sample_params(family, np.random.default_rng(0))  # type: ignore[arg-type]
    params = {**params, "n_estimators": 30} if "n_estimators" in params else params
    fitted = fit(family, params, x, y, xv, yv, threads=1, seed=0)  # type: ignore[arg-type]
    scores = fitted.score(xv)
    assert scores.shape == (500,)
    assert ((scores >= 0) & (scores <= 1)).all()
