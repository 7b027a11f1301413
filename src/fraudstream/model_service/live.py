"""The models this replica serves, swapped atomically while requests are in flight.

A request reads ``live.champion`` once, at its start, and scores the whole batch with that
object; a swap only rebinds the attribute. So a request in flight finishes on the model it
started with, and no request ever sees half a swap or waits for one.
"""

from __future__ import annotations

import logging
import math
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Protocol

import numpy as np
import numpy.typing as npt

from fraudstream.artifact import ScoringModel
from fraudstream.registry import Alias
from fraudstream.schema import Prediction, Reason
from fraudstream.wire import struct_for

log = logging.getLogger(__name__)


class ModelSource(Protocol):
    """Where models come from: ``fraudstream.registry.Registry`` (MLflow) satisfies it."""

    def get_alias_version(self, alias: Alias) -> str | None:
        """The version the alias points at now, or None when the alias is not set."""
        ...

    def load(self, version: str) -> ScoringModel:
        """Load one version; raise ModelError (refused) or RegistryError (try later)."""
        ...


@dataclass(frozen=True)
class Served:
    model: ScoringModel
    alias: Alias
    loaded_at: datetime


@dataclass
class LiveModels:
    """The champion and the challenger this replica serves, and the history of swaps."""

    champion: Served | None = None
    challenger: Served | None = None
    swaps: int = 0
    refused: dict[str, str] = field(default_factory=dict)

    def install(self, alias: Alias, model: ScoringModel) -> None:
        served = Served(model, alias, datetime.now(UTC))
        previous = getattr(self, alias)
        setattr(self, alias, served)
        if alias == "champion" and previous is not None:
            self.swaps += 1
        log.info(
            "serving %s %s version %s (was %s)",
            alias,
            model.name,
            model.version,
            previous.model.version if previous else "none",
        )

    def retire(self, alias: Alias) -> None:
        """The alias was removed from the registry: stop serving it (never the champion)."""
        if alias == "challenger" and self.challenger is not None:
            log.info("challenger alias removed: shadow scoring stops")
            self.challenger = None

    def version_of(self, alias: Alias) -> str | None:
        served: Served | None = getattr(self, alias)
        return served.model.version if served else None


def verdict_rows(
    model: ScoringModel,
    trans_nums: Sequence[str],
    features: npt.NDArray[np.float64],
    top_reasons: int,
    *,
    all_rows: bool = False,
) -> list[Prediction]:
    """Score a feature matrix and shape one answer per row: :class:`Prediction`'s fast struct
    (its fields, checked by name when built; msgspec encodes it), since building the pydantic
    model for every row would cost more than scoring it.

    Reasons cost a tree walk per row, so by default only flagged rows (the ones an analyst
    reads) get them; ``all_rows`` explains every row.
    """
    scores = model.score(features)
    if not np.isfinite(scores).all():
        raise ValueError(f"{int((~np.isfinite(scores)).sum())} score(s) are not finite numbers")
    threshold = model.threshold
    flagged = scores >= threshold
    reasons: list[list[Reason]] = [[] for _ in trans_nums]
    explain = np.ones_like(flagged) if all_rows else flagged
    if top_reasons and explain.any():
        idx = np.flatnonzero(explain)
        for i, row in zip(idx, model.reasons(features[idx], top_reasons), strict=True):
            if not all(math.isfinite(r.contribution) for r in row):
                raise ValueError("a reason's contribution is not a finite number")
            reasons[i] = row
    name, version = model.name, model.version
    return [
        typing.cast(
            Prediction,
            _PredictionWire(
                trans_num=trans_nums[i],
                is_fraud=int(flagged[i]),
                score=float(scores[i]),
                threshold=threshold,
                model_name=name,
                model_version=version,
                reasons=[_ReasonWire(feature=r.feature, contribution=r.contribution) for r in row],
            ),
        )
        for i, row in enumerate(reasons)
    ]


_PredictionWire: Final = struct_for(Prediction)
_ReasonWire: Final = struct_for(Reason)
