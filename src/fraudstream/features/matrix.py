"""From raw columns and card history to the model's feature matrix: the one formula.

:func:`batch_features` (the trainer), :func:`transaction_features` (the model service) and
:func:`update_and_features` (one stream event) all end in :func:`assemble`, so a feature cannot
be computed one way in training and another way in serving.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from fraudstream.features.card import (
    CardHistory,
    CardState,
    HistoryArrays,
    advance,
    batch_history,
    histories_to_arrays,
)
from fraudstream.features.definition import FEATURE_NAMES, NO_HISTORY_SECONDS, WINDOWS
from fraudstream.features.inputs import (
    Columns,
    FloatArray,
    columns_from_frame,
    columns_from_transactions,
)
from fraudstream.schema import CATEGORIES, Transaction

EARTH_RADIUS_KM: Final = 6371.0088
_N_FEATURES: Final = len(FEATURE_NAMES)


def haversine_km(
    lat1: FloatArray, lon1: FloatArray, lat2: FloatArray, lon2: FloatArray
) -> FloatArray:
    """Great-circle distance in km between the customer's home and the merchant."""
    phi1, phi2 = np.radians(lat1), np.radians(lat2)
    half_dphi = (phi2 - phi1) / 2
    half_dlambda = np.radians(lon2 - lon1) / 2
    a = np.sin(half_dphi) ** 2 + np.cos(phi1) * np.cos(phi2) * np.sin(half_dlambda) ** 2
    distance: FloatArray = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return distance


def assemble(columns: Columns, history: HistoryArrays) -> npt.NDArray[np.float64]:
    """The feature matrix, shape (n, len(FEATURE_NAMES)), columns in FEATURE_NAMES order."""
    n = len(columns)
    out = np.empty((n, _N_FEATURES), dtype=np.float64)
    secs = columns.local_seconds
    out[:, 0] = columns.amt
    out[:, 1] = np.log1p(columns.amt)
    out[:, 2] = (secs // 3_600) % 24
    out[:, 3] = (secs // 86_400 + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    out[:, 4] = (secs / 86_400 - columns.dob_days) / 365.25
    out[:, 5] = haversine_km(columns.lat, columns.long, columns.merch_lat, columns.merch_long)
    out[:, 6] = np.log1p(columns.city_pop)
    out[:, 7] = columns.gender_m
    col = 8
    one_hot = columns.category[:, None] == np.arange(len(CATEGORIES))[None, :]
    out[:, col : col + len(CATEGORIES)] = one_hot
    col += len(CATEGORIES)

    has = history.n_prev > 0
    out[:, col] = has
    out[:, col + 1] = np.log1p(history.n_prev)
    out[:, col + 2] = np.where(
        has, np.log1p(np.maximum(history.secs_since_prev, 0)), NO_HISTORY_SECONDS
    )
    col += 3
    w = len(WINDOWS)
    out[:, col : col + w] = history.counts
    out[:, col + w : col + 2 * w] = np.log1p(history.cents / 100)
    col += 2 * w
    mean = history.total_cents / np.maximum(history.n_prev, 1) / 100
    out[:, col] = np.where(has, np.log1p(columns.amt) - np.log1p(mean), 0.0)
    out[:, col + 1] = history.new_merchant
    out[:, col + 2] = history.new_category
    return out


def batch_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Features of every row of a frame that passed ``schema.check_frame``, each row with the
    history of its card's earlier rows in the same frame; index and row order as the frame's.

    The trainer's path. Earlier transactions of a card that are not in the frame are unknown,
    so a frame that starts mid-history gives its first rows no-history values.
    """
    card, _ = pd.factorize(frame["cc_num"])
    columns = columns_from_frame(frame)
    matrix = assemble(columns, batch_history(columns, card.astype(np.int64)))
    return pd.DataFrame(matrix, index=frame.index, columns=list(FEATURE_NAMES))


def transaction_features(
    txns: Sequence[Transaction], histories: Sequence[CardHistory | None] | None = None
) -> npt.NDArray[np.float64]:
    """Features of validated transactions, given each one's card history (the stream sends it;
    ``None`` or no list at all means unknown: the first-transaction values).

    The model service's path. A caller without history pays for it in quality: every card
    looks new, which is what a fraudster's first use of a stolen card looks like; see
    docs/features.md for the measured cost.
    """
    if histories is None:
        histories = [None] * len(txns)
    if len(histories) != len(txns):
        raise ValueError(f"{len(txns)} transactions but {len(histories)} histories")
    return assemble(columns_from_transactions(txns), histories_to_arrays(histories))


def update_and_features(state: CardState, txn: Transaction) -> npt.NDArray[np.float64]:
    """One stream event: the transaction's feature row (1-D), then the card state updated."""
    row: npt.NDArray[np.float64] = transaction_features([txn], [advance(state, txn)])[0]
    return row
