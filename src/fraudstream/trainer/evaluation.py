"""Score labelled data with a loaded model, the way it would have scored it live.

Each row's card history comes from the rows before it in the same data (never from its label),
so evaluating on a later window while giving the earlier rows as history is what the stream
would have seen. ``fraudstream evaluate`` and the real-data benchmark use it; the
champion/challenger job can too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import pandas as pd

from fraudstream.artifact import ScoringModel
from fraudstream.errors import DataRefused
from fraudstream.features import batch_features
from fraudstream.quality import Metrics, evaluate
from fraudstream.schema import LABEL_COLUMN


@dataclass(frozen=True)
class Scored:
    """Labels, scores and amounts of the evaluated rows, in time order."""

    labels: npt.NDArray[np.int64]
    scores: npt.NDArray[np.float64]
    amounts: npt.NDArray[np.float64]

    def metrics(self, threshold: float, weight: npt.NDArray[np.float64] | None = None) -> Metrics:
        return evaluate(self.labels, self.scores, threshold, amount=self.amounts, weight=weight)


def score_frame(
    model: ScoringModel, frame: pd.DataFrame, *, since: datetime | None = None
) -> Scored:
    """Score the rows of a prepared frame (see ``validation.prepare``) from ``since`` on
    (every row when None); the earlier rows only give card history."""
    features = batch_features(frame).to_numpy()
    keep = np.ones(len(frame), dtype=bool)
    if since is not None:
        keep = (frame["trans_date_trans_time"] >= pd.Timestamp(since)).to_numpy()
        if not keep.any():
            raise DataRefused(f"no rows on or after {since:%Y-%m-%d %H:%M:%S} to evaluate")
    return Scored(
        labels=frame.loc[keep, LABEL_COLUMN].to_numpy(dtype=np.int64),
        scores=model.score(features[keep]),
        amounts=frame.loc[keep, "amt"].to_numpy(dtype=np.float64),
    )
