"""One drift report: recent traffic against a model's training reference, feature by feature.

Per feature, PSI (every feature) and KS (numeric ones): the model's features, as the model sees
them, with the 14 category one-hot columns read back as one categorical ``category``. Small
integer features (hour, weekday) and flags are categorical: their PSI compares the share of each
value, which quantile bins would blur. Then the score: PSI and KS of the serving model's scores
on recent rows against its scores on the reference, the first place a change the model cares
about shows. And the fraud rate among the recent rows already labelled, beside the training one.

A feature (or the score) has drifted when its PSI exceeds ``drift_psi_threshold`` (0.25 by
default, the usual "major shift" line; see :mod:`fraudstream.stats`). Three features
measure how long a card has been watched rather than what it does (``has_history``,
``log_n_prev``, ``new_category``: a card's whole past); a training file and a stream that has
run for months differ there by construction, so they are reported but do not make a report
"drifted".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt

from fraudstream.errors import DataError
from fraudstream.features import FEATURE_NAMES
from fraudstream.monitoring.reference import Reference
from fraudstream.schema import CATEGORIES
from fraudstream.stats import categorical_psi, ks, psi

FeatureKind = Literal["numeric", "categorical"]
CATEGORY: Final = "category"
CATEGORICAL: Final = frozenset(
    {"hour", "weekday", "gender_m", "has_history", "new_merchant", "new_category"}
)
LIFETIME: Final = frozenset({"has_history", "log_n_prev", "new_category"})
"""Features of a card's whole past: reported, not counted in the drift verdict."""
_ONE_HOT: Final = [FEATURE_NAMES.index(f"cat_{c}") for c in CATEGORIES]
_CATEGORY_NAMES: Final = np.array([*CATEGORIES, "other"], dtype=object)


def feature_kinds() -> dict[str, FeatureKind]:
    """Every monitored feature and its kind, in FEATURE_NAMES order (category where the
    one-hot columns begin)."""
    kinds: dict[str, FeatureKind] = {}
    for name in FEATURE_NAMES:
        if name.startswith("cat_"):
            kinds.setdefault(CATEGORY, "categorical")
        else:
            kinds[name] = "categorical" if name in CATEGORICAL else "numeric"
    return kinds


def _column(matrix: npt.NDArray[np.float64], name: str) -> npt.NDArray[Any]:
    if name == CATEGORY:
        one_hot = matrix[:, _ONE_HOT]
        index = np.where(one_hot.max(axis=1) > 0, one_hot.argmax(axis=1), len(CATEGORIES))
        return np.asarray(_CATEGORY_NAMES[index])
    return matrix[:, FEATURE_NAMES.index(name)]


@dataclass(frozen=True)
class FeatureDrift:
    """PSI of one feature, and for a numeric one the KS statistic and p-value."""

    kind: FeatureKind
    psi: float
    ks: float | None = None
    ks_pvalue: float | None = None

    def as_json(self, threshold: float, *, counted: bool = True) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "psi": round(self.psi, 6),
            "ks": None if self.ks is None else round(self.ks, 6),
            "ks_pvalue": self.ks_pvalue,
            "drifted": counted and self.psi > threshold,
            "counted": counted,
        }


@dataclass(frozen=True)
class DriftResult:
    """The drift of one window against one reference."""

    features: dict[str, FeatureDrift]
    score: FeatureDrift | None
    rows: int
    labelled_rows: int
    fraud_rate: float | None
    reference_fraud_rate: float
    threshold: float

    @property
    def drifted_features(self) -> list[str]:
        """Features above the PSI threshold, the most drifted first."""
        over = [
            (d.psi, n)
            for n, d in self.features.items()
            if d.psi > self.threshold and n not in LIFETIME
        ]
        return [name for _, name in sorted(over, reverse=True)]

    @property
    def score_drifted(self) -> bool:
        return self.score is not None and self.score.psi > self.threshold

    @property
    def drifted(self) -> bool:
        return bool(self.drifted_features) or self.score_drifted

    @property
    def max_psi(self) -> float:
        return max(d.psi for d in self.features.values())

    def features_json(self) -> dict[str, Any]:
        """Per feature, then ``score``: what ``drift_reports.features`` stores."""
        out = {
            name: d.as_json(self.threshold, counted=name not in LIFETIME)
            for name, d in self.features.items()
        }
        if self.score is not None:
            out["score"] = self.score.as_json(self.threshold)
        return out

    def summary(self) -> str:
        """One line an operator reads first."""
        drifted = self.drifted_features
        parts = [
            f"{len(drifted)} of {len(self.features) - len(LIFETIME)} features drifted "
            f"(PSI > {self.threshold:g})"
            + (
                ": " + ", ".join(f"{n} {self.features[n].psi:.2f}" for n in drifted[:5])
                if drifted
                else ""
            )
        ]
        if self.score is not None:
            parts.append(f"score PSI {self.score.psi:.3f}")
        rate = "n/a" if self.fraud_rate is None else f"{self.fraud_rate:.3%}"
        parts.append(
            f"fraud rate {rate} of {self.labelled_rows:,} labelled rows "
            f"(training {self.reference_fraud_rate:.3%})"
        )
        return f"{self.rows:,} rows: " + "; ".join(parts)

    def brief(self) -> dict[str, Any]:
        """The few numbers a challenger decision keeps about drift."""
        return {
            "drifted": self.drifted,
            "drifted_features": self.drifted_features,
            "max_feature_psi": round(self.max_psi, 6),
            "score_psi": None if self.score is None else round(self.score.psi, 6),
            "fraud_rate": self.fraud_rate,
            "reference_fraud_rate": self.reference_fraud_rate,
            "rows": self.rows,
            "labelled_rows": self.labelled_rows,
        }


def _drift(kind: FeatureKind, expected: npt.NDArray[Any], actual: npt.NDArray[Any]) -> FeatureDrift:
    if kind == "categorical":
        return FeatureDrift(kind, categorical_psi(expected, actual))
    test = ks(expected, actual)
    return FeatureDrift(kind, psi(expected, actual), test.statistic, test.pvalue)


def compare_to_reference(
    reference: Reference,
    features: npt.NDArray[np.float64],
    *,
    scores: npt.NDArray[np.float64] | None = None,
    labels: npt.ArrayLike | None = None,
    threshold: float = 0.25,
) -> DriftResult:
    """Drift of recent rows (``features`` in FEATURE_NAMES order, the serving model's
    ``scores`` on them, and ``labels`` with NaN where not yet known) against ``reference``."""
    matrix = np.atleast_2d(np.asarray(features, dtype=np.float64))
    if matrix.shape[0] == 0:
        raise DataError("no recent transactions to compare with the reference")
    result = {
        name: _drift(kind, _column(reference.features, name), _column(matrix, name))
        for name, kind in feature_kinds().items()
    }
    score = None
    if scores is not None and len(scores):
        score = _drift("numeric", reference.scores, np.asarray(scores, dtype=np.float64))
    known = np.zeros(0) if labels is None else np.asarray(labels, dtype=np.float64)
    known = known[~np.isnan(known)]
    return DriftResult(
        features=result,
        score=score,
        rows=matrix.shape[0],
        labelled_rows=int(known.size),
        fraud_rate=float(known.mean()) if known.size else None,
        reference_fraud_rate=reference.fraud_rate,
        threshold=threshold,
    )
