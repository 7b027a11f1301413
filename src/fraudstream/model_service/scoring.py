"""Score a batch so that no single item can fail the others, or make the service answer 500.

The fast path featurises and scores the whole batch at once (vectorised). Should anything raise
on the way, or a score come out non-finite, the items are tried again in halves, down to single
items, and the items that fail alone are named: the answer is a 422 listing them, exactly as for
an item the schema refused, and the caller (the stream) dead-letters those and sends the rest
again. Only when every item fails, and a known-good transaction fails too, is the model itself
broken: that, and only that, is a 500.

The schema's bounds (:mod:`fraudstream.schema`) keep every decodable transaction scorable today;
this module is what keeps that promise when a model, a feature or a library changes.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from fraudstream.artifact import ScoringModel
from fraudstream.errors import FieldProblem, InvalidTransaction
from fraudstream.features import transaction_features
from fraudstream.model_service.live import verdict_rows
from fraudstream.model_service.schemas import PredictItem
from fraudstream.schema import EXAMPLE_RECORD, Prediction
from fraudstream.wire import InvalidBatch

log = logging.getLogger(__name__)

Features = npt.NDArray[np.float64]

_CANARY = PredictItem.model_validate(EXAMPLE_RECORD)
"""A real Sparkov transaction every working model scores (the first row of fraudTrain.csv)."""


class ModelBroken(Exception):
    """The model fails on a transaction known to be good: the service, not the request, is at
    fault (HTTP 500)."""


@dataclass(frozen=True, slots=True)
class Scored:
    features: Features
    rows: list[Prediction]


def score_batch(
    model: ScoringModel, items: Sequence[PredictItem], *, top: int, all_rows: bool
) -> Scored:
    """The features and one verdict row per item, in order; or :class:`InvalidBatch` naming
    each item that cannot be scored; or :class:`ModelBroken`."""
    try:
        return _score(model, items, top, all_rows)
    except Exception:  # any failure: find the items behind it
        log.info("a batch of %d failed to score; isolating the items behind it", len(items))
    failures: dict[int, str] = {}
    scored = _isolate(model, items, list(range(len(items))), top, all_rows, failures)
    if not scored:
        try:
            _score(model, [_CANARY], top, all_rows)
        except Exception as exc:
            raise ModelBroken(f"the model fails on a known-good transaction: {exc!r}") from exc
    log.warning("%d of %d transaction(s) cannot be scored", len(failures), len(items))
    raise InvalidBatch(
        [
            InvalidTransaction([FieldProblem("transaction", f"cannot be scored: {why}")], index=i)
            for i, why in sorted(failures.items())
        ]
    )


def _score(model: ScoringModel, items: Sequence[PredictItem], top: int, all_rows: bool) -> Scored:
    features = transaction_features(items, [item.history for item in items])
    rows = verdict_rows(model, [item.trans_num for item in items], features, top, all_rows=all_rows)
    return Scored(features, rows)


def _isolate(
    model: ScoringModel,
    items: Sequence[PredictItem],
    indices: list[int],
    top: int,
    all_rows: bool,
    failures: dict[int, str],
) -> int:
    """Score ``indices`` in halves until each failure is a single item (recorded in
    ``failures``); return how many items scored."""
    try:
        _score(model, [items[i] for i in indices], top, all_rows)
    except Exception as exc:  # an item's content, or the model: told apart above
        if len(indices) == 1:
            failures[indices[0]] = _describe(exc)
            return 0
        middle = len(indices) // 2
        return _isolate(model, items, indices[:middle], top, all_rows, failures) + _isolate(
            model, items, indices[middle:], top, all_rows, failures
        )
    return len(indices)


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    text = text if len(text) <= 200 else text[:197] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
