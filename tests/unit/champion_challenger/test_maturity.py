"""Only mature labels judge a model: a chargeback once its window closed, an analyst at once."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fraudstream.champion_challenger.maturity import mature
from fraudstream.schema import LABEL_COLUMN
from fraudstream.storage.window import LABEL_SOURCE

pytestmark = pytest.mark.unit

CLOSED_BEFORE = datetime(2020, 6, 10)


def frame(rows: list[tuple[datetime, float | None, str]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trans_date_trans_time": pd.to_datetime([r[0] for r in rows]),
            LABEL_COLUMN: [np.nan if r[1] is None else r[1] for r in rows],
            LABEL_SOURCE: [r[2] for r in rows],
        }
    )


def test_a_young_chargeback_waits_an_analyst_does_not() -> None:
    hour = timedelta(hours=1)
    rows = frame(
        [
            (CLOSED_BEFORE - hour, 0.0, "chargeback"),  # window closed: mature
            (CLOSED_BEFORE + hour, 1.0, "chargeback"),  # early chargeback: not yet
            (CLOSED_BEFORE + hour, 0.0, "chargeback"),
            (CLOSED_BEFORE + hour, 1.0, "analyst"),  # an analyst's decision: at once
            (CLOSED_BEFORE - hour, 1.0, "analyst"),
            (CLOSED_BEFORE - hour, None, ""),  # no label at all
            (CLOSED_BEFORE, 0.0, "chargeback"),  # the boundary belongs to the open side
        ]
    )
    assert mature(rows, CLOSED_BEFORE).tolist() == [True, False, False, True, True, False, False]


@given(
    st.lists(
        st.tuples(
            st.integers(-1000, 1000),
            st.sampled_from([None, 0.0, 1.0]),
            st.sampled_from(["chargeback", "analyst"]),
        ),
        max_size=50,
    )
)
def test_no_chargeback_younger_than_its_window_ever_enters(
    drawn: list[tuple[int, float | None, str]],
) -> None:
    rows = frame(
        [(CLOSED_BEFORE + timedelta(minutes=m), y, s if y is not None else "") for m, y, s in drawn]
    )
    kept = rows[mature(rows, CLOSED_BEFORE).to_numpy()]
    young = kept["trans_date_trans_time"] >= pd.Timestamp(CLOSED_BEFORE)
    assert (kept.loc[young, LABEL_SOURCE] == "analyst").all()
    assert kept[LABEL_COLUMN].notna().all()
    expected = sum(1 for m, y, s in drawn if y is not None and (m < 0 or s == "analyst"))
    assert len(kept) == expected
