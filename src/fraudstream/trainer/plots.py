"""The pictures of a training run (PNG via MLflow): PR curve, confusion matrix, importances."""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from fraudstream.features import FEATURE_NAMES
from fraudstream.quality import Metrics, pr_curve
from fraudstream.trainer.families import Fitted


def _figure(width: float = 6.0, height: float = 4.5) -> tuple[Any, Any]:
    """A figure outside pyplot's registry: nothing to close, so a scheduler that retrains for
    weeks does not keep every run's plots alive, and no GUI backend is ever chosen."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    return fig, fig.subplots()


def pr_curve_figure(
    labels: npt.NDArray[np.int64], scores: npt.NDArray[np.float64], metrics: Metrics
) -> Any:
    precision, recall, _ = pr_curve(labels, scores)
    fig, ax = _figure()
    ax.step(recall, precision, where="post")
    ax.scatter([metrics.recall], [metrics.precision], color="red", zorder=3, label="threshold")
    ax.set(xlabel="recall", ylabel="precision", xlim=(0, 1), ylim=(0, 1.02))
    ax.set_title(f"Test slice: PR-AUC {metrics.pr_auc:.4f}")
    ax.legend(loc="lower left")
    fig.tight_layout()
    return fig


def confusion_figure(metrics: Metrics) -> Any:
    cells = np.array(
        [
            [metrics.true_negatives, metrics.false_positives],
            [metrics.false_negatives, metrics.true_positives],
        ]
    )
    fig, ax = _figure(4.5, 4.0)
    ax.imshow(np.log1p(cells), cmap="Blues")
    for (i, j), value in np.ndenumerate(cells):
        ax.text(j, i, f"{value:,.0f}", ha="center", va="center")
    ax.set_xticks([0, 1], ["legitimate", "flagged"])
    ax.set_yticks([0, 1], ["legitimate", "fraud"])
    ax.set(xlabel="predicted", ylabel="actual")
    ax.set_title(f"Test slice at threshold {metrics.threshold:.3f}")
    fig.tight_layout()
    return fig


def importances(fitted: Fitted) -> npt.NDArray[np.float64]:
    """Per feature: gain (XGBoost), impurity decrease (forest) or |coefficient| (logistic)."""
    if fitted.family == "xgboost":
        gain = fitted.estimator.get_score(importance_type="gain")
        return np.array([gain.get(f"f{i}", 0.0) for i in range(len(FEATURE_NAMES))])
    if fitted.family == "random_forest":
        return np.asarray(fitted.estimator.feature_importances_, dtype=np.float64)
    return np.abs(np.asarray(fitted.estimator[-1].coef_[0], dtype=np.float64))


def importance_figure(fitted: Fitted, top: int = 20) -> Any:
    values = importances(fitted)
    order = np.argsort(values)[-top:]
    fig, ax = _figure(6.0, 6.0)
    ax.barh([FEATURE_NAMES[i] for i in order], values[order])
    ax.set_title(f"{fitted.family}: feature importance")
    fig.tight_layout()
    return fig
