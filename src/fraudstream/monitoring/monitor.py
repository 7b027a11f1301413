"""From stored transactions to a drift report: the glue the challenger job and
``fraudstream monitor drift`` share.

Recent rows need card history for their features, so the frame given here starts
``LONGEST_WINDOW`` (7 days) before the drift window; those earlier rows only give history.
Scores are recomputed offline with the serving model from the same features, so they are
comparable with the reference's scores (also offline), whatever the stream's card state held.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from fraudstream.monitoring.reference import Reference
from fraudstream.monitoring.report import DriftResult, compare_to_reference
from fraudstream.schema import LABEL_COLUMN
from fraudstream.storage.models import DriftReport

if TYPE_CHECKING:
    import pandas as pd

    from fraudstream.artifact import ScoringModel


def window_drift(
    frame: pd.DataFrame,
    features: npt.NDArray[np.float64],
    start: datetime,
    model: ScoringModel,
    reference: Reference,
    threshold: float,
) -> DriftResult:
    """Drift of the rows of ``frame`` from ``start`` on; ``features`` are the frame's (one row
    each, computed over the whole frame so that earlier rows give card history)."""
    import pandas as pd

    recent = (frame["trans_date_trans_time"] >= pd.Timestamp(start)).to_numpy()
    matrix = features[recent]
    return compare_to_reference(
        reference,
        matrix,
        scores=model.score(matrix) if len(matrix) else None,
        labels=frame.loc[recent, LABEL_COLUMN].to_numpy(dtype=np.float64),
        threshold=threshold,
    )


def as_report(
    result: DriftResult,
    *,
    start: datetime,
    end: datetime,
    reference: Reference,
    model_name: str,
    model_version: str,
) -> DriftReport:
    """The row ``drift_reports`` stores for one result."""
    return DriftReport(
        window_start=start,
        window_end=end,
        reference=f"{model_name} {reference.description}; {len(reference.scores):,} of "
        f"{reference.training_rows:,} training rows",
        features=result.features_json(),
        drifted=result.drifted,
        summary=result.summary(),
        model_name=model_name,
        model_version=model_version,
        score_psi=None if result.score is None else result.score.psi,
        max_feature_psi=result.max_psi,
        n_rows=result.rows,
        labelled_rows=result.labelled_rows,
        fraud_rate=result.fraud_rate,
        reference_fraud_rate=result.reference_fraud_rate,
    )
