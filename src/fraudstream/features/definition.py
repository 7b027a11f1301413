"""What the model sees: the feature names, their order, their version and the window sizes.

Bump :data:`FEATURE_VERSION` whenever a name, an order, a window or a formula changes: every
model artifact records the version it was trained with, and the loader refuses a model whose
version differs from the running code (a model fed features it was not trained on scores
garbage without any error).
"""

from __future__ import annotations

from typing import Final

from fraudstream.schema import CATEGORIES

FEATURE_VERSION: Final = "1"

WINDOWS: Final = (("1h", 3_600), ("24h", 86_400), ("7d", 604_800))
"""Per-card look-back windows (name, seconds): a transaction counts when it is earlier in the
card's order and its unix_time is within (t - seconds, t]."""

LONGEST_WINDOW: Final = max(seconds for _, seconds in WINDOWS)

MERCHANT_MEMORY_SECONDS: Final = 30 * 86_400
"""A merchant is "new" for a card when the card has not paid there in the last 30 days. A
lifetime set would grow without bound in the stream's state table (Sparkov cards pick a fresh
merchant almost every time); 30 days keeps the state to the card's recent activity."""

OTHER_CATEGORY: Final = len(CATEGORIES)
"""Category code shared by every category outside Sparkov's 14 (its one-hot columns are all
zero; for the card's new-category flag all unknown categories count as one)."""

NO_HISTORY_SECONDS: Final = -1.0
"""log_secs_since_prev of a card's first transaction: below every real value (log1p >= 0)."""

STATELESS_NAMES: Final = (
    "amt",
    "log_amt",
    "hour",
    "weekday",
    "age",
    "distance_km",
    "log_city_pop",
    "gender_m",
    *(f"cat_{c}" for c in CATEGORIES),
)
"""Features of the transaction alone: the model service computes them for any caller."""

CARD_NAMES: Final = (
    "has_history",
    "log_n_prev",
    "log_secs_since_prev",
    *(f"count_{name}" for name, _ in WINDOWS),
    *(f"log_sum_{name}" for name, _ in WINDOWS),
    "amt_vs_card_mean",
    "new_merchant",
    "new_category",
)
"""Features of the card's earlier transactions. A card with no history gets has_history=0,
counts and sums 0, log_secs_since_prev -1, amt_vs_card_mean 0, new_merchant and new_category 1."""

FEATURE_NAMES: Final = (*STATELESS_NAMES, *CARD_NAMES)
"""The model's input columns, in order."""
