"""Both models' scores on exactly the same labelled rows.

Two ways, chosen per run:

- **stored**: the verdict the stream stored (the champion's score, when the row was scored by
  the current champion version) beside the shadow score the model service stored for the
  current challenger version. This is what each model said live, with the stream's full card
  history. Used when such pairs cover ``challenger_shadow_coverage`` (95 %) of the window's
  labelled rows; the uncovered rows (shadow work dropped under load, rows scored before an
  alias moved) are left out, and the decision record says how many were used.
- **offline**: both models score the rows again from features computed over the stored rows,
  each row's card history taken from the rows before it in the frame (the window plus
  ``challenger_history_days`` of look-back). A card's lifetime counters then start at the
  look-back, so figures can differ slightly from the live ones; both models see the very same
  features, so the comparison stays fair.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from fraudstream.champion_challenger.candidates import Candidate
from fraudstream.champion_challenger.decision import Paired
from fraudstream.schema import LABEL_COLUMN
from fraudstream.storage.window import SHADOW_SCORE

if TYPE_CHECKING:
    import pandas as pd

Method = Literal["stored", "offline"]


@dataclass(frozen=True)
class Scored:
    """The paired scores, how they were obtained, and how many labelled rows they cover."""

    paired: Paired
    method: Method
    eligible: int
    """Labelled rows in the evaluation window."""

    @property
    def left_out(self) -> int:
        return self.eligible - self.paired.rows


def _paired(
    rows: pd.DataFrame,
    champion: npt.NDArray[np.float64],
    challenger: npt.NDArray[np.float64],
    champion_model: Candidate,
    challenger_model: Candidate,
) -> Paired:
    """The rows' labels, amounts, cards and calendar days (of Sparkov's wall-clock transaction
    time, the day a review team works through) beside both models' scores."""
    days = np.asarray(rows["trans_date_trans_time"], dtype="datetime64[D]")
    return Paired(
        labels=rows[LABEL_COLUMN].to_numpy(dtype=np.int64),
        amounts=rows["amt"].to_numpy(dtype=np.float64),
        champion=np.asarray(champion, dtype=np.float64),
        challenger=np.asarray(challenger, dtype=np.float64),
        champion_threshold=champion_model.model.threshold,
        challenger_threshold=challenger_model.model.threshold,
        cards=rows["cc_num"].to_numpy(dtype=np.int64),
        days=days.astype(np.int64),
    )


def stored_scores(
    rows: pd.DataFrame,
    champion: Candidate,
    challenger: Candidate,
    *,
    model_name: str,
    coverage: float,
) -> Scored | None:
    """Scores as given live, or None when they cover less than ``coverage`` of ``rows``.

    ``rows`` are the window's labelled rows, with the verdict columns and ``shadow_score`` of
    the challenger's version (see :func:`fraudstream.storage.window.stored_window`).
    """
    pairs = (
        (rows["model_name"] == model_name)
        & (rows["model_version"] == champion.version)
        & rows[SHADOW_SCORE].notna()
    ).to_numpy()
    if len(rows) == 0 or pairs.sum() < coverage * len(rows):
        return None
    used = rows.loc[pairs]
    paired = _paired(
        used,
        used["score"].to_numpy(dtype=np.float64),
        used[SHADOW_SCORE].to_numpy(dtype=np.float64),
        champion,
        challenger,
    )
    return Scored(paired, "stored", len(rows))


def offline_scores(
    rows: pd.DataFrame,
    features: npt.NDArray[np.float64],
    champion: Candidate,
    challenger: Candidate,
) -> Scored:
    """Both models scored again on ``features`` (one row per row of ``rows``)."""
    paired = _paired(
        rows,
        champion.model.score(features),
        challenger.model.score(features),
        champion,
        challenger,
    )
    return Scored(paired, "offline", len(rows))
