"""The model's features, defined once for the trainer, the stream and the model service.

Who calls what:

- the trainer: :func:`batch_features` over a whole frame;
- the stream processor: :func:`advance` per event on the card's :class:`CardState` (kept in its
  row in PostgreSQL), sending the returned :class:`CardHistory` along with the transaction;
- the model service: :func:`transaction_features` over a batch of transactions and their
  histories (``None`` where unknown).

:func:`update_and_features` does both steps for one event. ``FEATURE_VERSION`` travels with
every model; the loader refuses a model built on another version.
"""

from fraudstream.features.card import (
    NO_HISTORY,
    CardHistory,
    CardState,
    advance,
)
from fraudstream.features.definition import (
    CARD_NAMES,
    FEATURE_NAMES,
    FEATURE_VERSION,
    STATELESS_NAMES,
    WINDOWS,
)
from fraudstream.features.matrix import (
    batch_features,
    transaction_features,
    update_and_features,
)

__all__ = [
    "CARD_NAMES",
    "FEATURE_NAMES",
    "FEATURE_VERSION",
    "NO_HISTORY",
    "STATELESS_NAMES",
    "WINDOWS",
    "CardHistory",
    "CardState",
    "advance",
    "batch_features",
    "transaction_features",
    "update_and_features",
]
