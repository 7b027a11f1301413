"""The HTTP contract of the model service: request items, model info, errors.

What the stream reads of it lives in :mod:`fraudstream.schema` (the answer item
:class:`~fraudstream.schema.Prediction`, the API key's header). The request item stays here: its
``history`` is :class:`~fraudstream.features.CardHistory`, and the features build on the schema,
so the schema cannot import them; the stream writes the same two parts, the transaction and the
history, each serialised by its own model (``stream_processor.scorer.request_body``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from fraudstream.features import CardHistory
from fraudstream.schema import Transaction


class PredictItem(Transaction):
    """A Sparkov transaction (``is_fraud`` ignored), optionally with its card's history.

    The stream processor sends ``history``, computed from the card's earlier transactions. A
    direct caller may leave it out: the transaction is then scored as the card's first one,
    which costs quality (see docs/model_service.md).
    """

    history: CardHistory | None = None


class ItemError(BaseModel):
    """One problem of one item of a refused batch."""

    index: int | None
    field: str
    problem: str


class ErrorBody(BaseModel):
    """Every error answer: a sentence, and for a refused batch every problem found."""

    detail: str
    errors: list[ItemError] = []


class LoadedModelInfo(BaseModel):
    model_config = ConfigDict(protected_namespaces=())

    alias: str
    model_name: str
    model_version: str
    feature_version: str
    threshold: float
    metrics: dict[str, float]
    loaded_at: datetime


class ModelsInfo(BaseModel):
    """What this replica serves now, and what it refused."""

    champion: LoadedModelInfo | None
    challenger: LoadedModelInfo | None
    swaps: int
    refused: dict[str, str]
    """model version -> why it was refused."""


class Health(BaseModel):
    status: Literal["ok", "not ready"]
    detail: str = ""
